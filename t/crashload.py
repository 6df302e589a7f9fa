#!/usr/bin/python3
"""crashload.py: a writer and a checker for t/crash.bats and t/diskfull.bats.

  crashload.py write HOSTS ROUND ACKS
      Write through kazoo until killed, up to 32 requests in flight:
      creates /crash/c/ROUND-I, setData /crash/s/K (K = 0..3, values
      rising), and multis (create /crash/m/ROUND-I-a and -b, setData
      /crash/mv).  Each acknowledged write is appended to ACKS at once,
      one line per write (O_APPEND, unbuffered, so kill -9 loses none):
          c ROUND-I          s K VALUE          m ROUND-I VALUE

  crashload.py check HOSTS ACKS [ROUND]
      Read the tree: every acknowledged write must be there (creates
      exist with their data, each /crash/s/K at least its last
      acknowledged value), every multi all or nothing, /crash/mv the
      value of a multi that is there.  The data of ROUND's creates is
      read back.  Prints a summary; exits 1 with the first problems.
"""
import os
import sys
import threading
import time

from kazoo.client import KazooClient

WINDOW = 32


def connect(hosts):
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    return zk


def write(hosts, rnd, ackpath):
    rnd = int(rnd)
    fd = os.open(ackpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    zk = connect(hosts)
    for p in ("/crash/c", "/crash/m", "/crash/s/0", "/crash/s/1",
              "/crash/s/2", "/crash/s/3", "/crash/mv"):
        zk.ensure_path(p)
    window = threading.Semaphore(WINDOW)
    i = 0
    while True:
        window.acquire()
        i += 1
        name = "%d-%d" % (rnd, i)
        value = rnd * 10_000_000 + i
        kind = i % 3
        if kind == 0:
            ar = zk.create_async("/crash/c/" + name, name.encode())
            ack = "c %s\n" % name
        elif kind == 1:
            k = i % 4
            ar = zk.set_async("/crash/s/%d" % k, str(value).encode())
            ack = "s %d %d\n" % (k, value)
        else:
            t = zk.transaction()
            t.create("/crash/m/%s-a" % name, b"a")
            t.create("/crash/m/%s-b" % name, b"b")
            t.set_data("/crash/mv", str(value).encode())
            ar = t.commit_async()
            ack = "m %s %d\n" % (name, value)

        def done(ar, ack=ack, multi=kind == 2):
            try:
                ok = ar.successful()
                if ok and multi:
                    ok = not any(isinstance(r, Exception) for r in ar.value)
                if ok:
                    os.write(fd, ack.encode())
                else:
                    time.sleep(0.01)
            finally:
                window.release()

        ar.rawlink(done)


def check(hosts, ackpath, rnd=None):
    problems = []
    creates, multis, sets = [], {}, {}
    with open(ackpath) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "c":
                creates.append(w[1])
            elif w[0] == "s":
                sets[w[1]] = max(sets.get(w[1], 0), int(w[2]))
            elif w[0] == "m":
                multis[w[1]] = int(w[2])
    zk = connect(hosts)
    have = set(zk.get_children("/crash/c")) if zk.exists("/crash/c") else set()
    for name in creates:
        if name not in have:
            problems.append("acknowledged create /crash/c/%s is missing" % name)
    if rnd is not None:
        mine = [n for n in have if n.startswith(rnd + "-")]
        rs = [(n, zk.get_async("/crash/c/" + n)) for n in mine]
        for n, ar in rs:
            data = ar.get(timeout=10)[0]
            if data != n.encode():
                problems.append("/crash/c/%s holds %r" % (n, data))
    for k, v in sets.items():
        data = zk.get("/crash/s/%s" % k)[0]
        if int(data or b"0") < v:
            problems.append("/crash/s/%s is %s, below the acknowledged %d"
                            % (k, data, v))
    ms = set(zk.get_children("/crash/m")) if zk.exists("/crash/m") else set()
    ids = {n[:-2] for n in ms}
    for i in ids:
        if i + "-a" not in ms or i + "-b" not in ms:
            problems.append("multi %s is half applied" % i)
    for i in multis:
        if i + "-a" not in ms:
            problems.append("acknowledged multi %s is missing" % i)
    mv = 0
    if zk.exists("/crash/mv"):
        mv = int(zk.get("/crash/mv")[0] or b"0")
    if multis and mv < max(multis.values()):
        problems.append("/crash/mv is %d, below the acknowledged %d"
                        % (mv, max(multis.values())))
    if mv:
        i = "%d-%d" % divmod(mv, 10_000_000)
        if i + "-a" not in ms:
            problems.append("/crash/mv is %d but multi %s is not there"
                            % (mv, i))
    zk.stop()
    zk.close()
    print("check: %d creates, %d sets, %d multis acknowledged; %d nodes, "
          "%d multis present" % (len(creates), len(sets), len(multis),
                                 len(have), len(ids)))
    if problems:
        for p in problems[:20]:
            print("check: " + p)
        sys.exit(1)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3],
              sys.argv[4] if len(sys.argv) == 5 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
