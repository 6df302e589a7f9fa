#!/usr/bin/python3
"""ensload.py: a write load on an ensemble under faults, and its checks.

usage: ensload.py run HOSTS DIR [SECS [CLIENTS [PIN]]]
       ensload.py check HOSTS DIR [MODEL]

run: CLIENTS (default 4) kazoo clients, each on all of HOSTS (h:p,...),
for SECS seconds (default 20) and at most 50000 operations each:
sequential creates under /seq (data "client:k"), compare-and-set and
plain reads of the register /reg, and one ephemeral /live/cN per client.
Every outcome is recorded in DIR: acked.jsonl (creates the server
acknowledged), hist.jsonl (the register's history, as t/lincheck.py
reads it), live.json (each client's session and whether it kept it),
unexpected.txt (answers no client should get, SessionMoved say: each
fails the check).
PIN (host:port) adds a reader that stays on that one server: a session
of its own (the longest timeout the server grants), a read of /reg
every 0.2 s without waiting for the answers (at most 50 unanswered),
each read in the history as a client of its own.  Pinned to a leader
that is then stopped, its reads pile up in the leader's socket and are
answered when it resumes: Jepsen's stale-read hazard, which
linearizable reads must close.
A failed call is retried by the next operation, not by kazoo: an
operation whose outcome is unknown (connection lost, timeout) is
recorded as such ("info").

check: once every node is back, on each node alone:
  - every acknowledged create is there, with its data;
  - the nodes hold the same /seq children (one history);
  - each client's acknowledged sequence numbers grow in the order it
    got them, and no name was handed out twice;
  - the register history is linearizable for its writes and
    sequentially consistent for its reads (t/lincheck.py --model
    sequential: plain reads may be stale, as ZooKeeper promises), or
    linearizable for all of it with MODEL linearizable (an ensemble
    with linearizableReads=true);
  - the ephemeral of a client that kept its session is on every node.
Exit 0 when all hold, 1 with what failed on standard output, 2 usage.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, ConnectionLoss,
                              NodeExistsError, NoNodeError,
                              OperationTimeoutError, SessionExpiredError)
from kazoo.retry import KazooRetry

MAXOPS = 50000
UNKNOWN = (ConnectionLoss, OperationTimeoutError, SessionExpiredError)


def client(hosts):
    # no retries of our own operations: an outcome is what happened
    return KazooClient(hosts=hosts, timeout=6.0,
                       connection_retry=KazooRetry(max_tries=-1, delay=0.1,
                                                   max_delay=0.5),
                       command_retry=KazooRetry(max_tries=0))


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.hist = []
        self.acked = []
        self.unexpected = []

    def event(self, proc, typ, f, value):
        with self.lock:
            self.hist.append({"proc": proc, "type": typ, "f": f,
                              "value": value, "time": time.monotonic()})


def worker(i, hosts, secs, rec, live):
    rnd = random.Random(i)
    zk = client(hosts)
    zk.start(timeout=30)
    zk.ensure_path("/seq")
    zk.ensure_path("/live")
    sid = zk.client_id[0]
    try:
        zk.create("/live/c%d" % i, b"live", ephemeral=True)
        live[i] = {"session": sid, "eph": True}
    except Exception:
        live[i] = {"session": sid, "eph": False}
    end = time.monotonic() + secs
    for k in range(MAXOPS):
        if time.monotonic() >= end:
            break
        op = rnd.random()
        try:
            if op < 0.5:
                data = ("%d:%d" % (i, k)).encode()
                path = zk.create("/seq/n-", data, sequence=True)
                with rec.lock:
                    rec.acked.append({"client": i, "k": k, "path": path,
                                      "data": data.decode()})
            elif op < 0.75:
                rec.event(i, "invoke", "read", None)
                try:
                    v, st = zk.get("/reg")
                except NoNodeError:
                    rec.event(i, "ok", "read", {"value": None,
                                                "version": -1})
                else:
                    rec.event(i, "ok", "read", {"value": v.decode(),
                                                "version": st.version})
            else:
                try:
                    _, st = zk.get("/reg")
                    ver = st.version
                except NoNodeError:
                    continue
                val = "%d:%d" % (i, k)
                rec.event(i, "invoke", "cas", {"expect": ver, "value": val})
                try:
                    st = zk.set("/reg", val.encode(), version=ver)
                except BadVersionError:
                    rec.event(i, "fail", "cas", None)
                else:
                    rec.event(i, "ok", "cas", {"version": st.version})
        except UNKNOWN:
            with rec.lock:
                last = [e for e in rec.hist if e["proc"] == i]
            if last and last[-1]["type"] == "invoke":
                rec.event(i, "info", last[-1]["f"], None)
            time.sleep(0.05)
        except Exception as e:       # an answer we do not expect: fails
            print("client %d: %r" % (i, e), flush=True)
            with rec.lock:
                rec.unexpected.append("client %d: %r" % (i, e))
                last = [e for e in rec.hist if e["proc"] == i]
            if last and last[-1]["type"] == "invoke":
                rec.event(i, "info", last[-1]["f"], None)
            time.sleep(0.05)
    try:
        live[i]["kept"] = zk.client_id is not None and \
            zk.client_id[0] == sid and zk.connected
    except Exception:
        live[i]["kept"] = False
    live[i]["zk"] = zk


def pinned(pin, secs, rec):
    """reads of /reg on the one server pin, every 0.2 s, not waiting;
    what is unanswered 5 s after the end stays open in the history"""
    zk = KazooClient(hosts=pin, timeout=30.0,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.1,
                                                 max_delay=0.5),
                     command_retry=KazooRetry(max_tries=0))
    zk.start(timeout=30)
    sem = threading.Semaphore(50)
    closed = []

    def done(proc, a):
        try:
            v, st = a.get()
        except NoNodeError:
            ev = ("ok", {"value": None, "version": -1})
        except Exception:
            ev = ("info", None)
        else:
            ev = ("ok", {"value": v.decode(), "version": st.version})
        with rec.lock:
            if not closed:
                rec.hist.append({"proc": proc, "type": ev[0], "f": "read",
                                 "value": ev[1], "time": time.monotonic()})
        sem.release()

    end = time.monotonic() + secs
    for k in range(MAXOPS):
        if time.monotonic() >= end:
            break
        if not sem.acquire(timeout=0.2):
            continue
        proc = "pin-%d" % k
        rec.event(proc, "invoke", "read", None)
        try:
            zk.get_async("/reg").rawlink(lambda a, p=proc: done(p, a))
        except Exception:
            rec.event(proc, "info", "read", None)
            sem.release()
        time.sleep(0.2)
    # the last answers, for 5 s at most
    last = time.monotonic() + 5
    for _ in range(50):
        if not sem.acquire(timeout=max(0, last - time.monotonic())):
            break
    with rec.lock:
        closed.append(True)
    try:
        zk.stop()
        zk.close()
    except Exception:
        pass


def run(hosts, d, secs, n, pin=None):
    zk = client(hosts)
    zk.start(timeout=30)
    zk.ensure_path("/seq")
    try:
        zk.create("/reg", b"init")
    except NodeExistsError:
        pass
    zk.stop()
    rec = Recorder()
    # the register starts as "init", version 0
    live = {}
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i, hosts, secs, rec, live))
          for i in range(n)]
    pt = threading.Thread(target=pinned, args=(pin, secs, rec))
    for t in ts:
        t.start()
    if pin:
        pt.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t0     # the load's, without the tail
    if pin:
        pt.join()
    with open(os.path.join(d, "acked.jsonl"), "w") as f:
        for a in rec.acked:
            f.write(json.dumps(a) + "\n")
    with open(os.path.join(d, "hist.jsonl"), "w") as f:
        for e in rec.hist:
            f.write(json.dumps(e) + "\n")
    # the ephemerals of clients that kept their sessions, then stop them
    out = {}
    for i, l in live.items():
        out[i] = {k: v for k, v in l.items() if k != "zk"}
    with open(os.path.join(d, "live.json"), "w") as f:
        json.dump(out, f)
    with open(os.path.join(d, "unexpected.txt"), "w") as f:
        for u in rec.unexpected:
            f.write(u + "\n")
    reads = sum(1 for e in rec.hist if e["f"] == "read" and
                e["type"] == "ok")
    cas = sum(1 for e in rec.hist if e["f"] == "cas" and e["type"] == "ok")
    unknown = sum(1 for e in rec.hist if e["type"] == "info")
    pinreads = sum(1 for e in rec.hist if e["f"] == "read" and
                   e["type"] == "ok" and str(e["proc"]).startswith("pin-"))
    print("ensload: %d creates acknowledged, %d reads, %d cas, %d unknown, "
          "%d clients, %.1f s%s" % (
              len(rec.acked), reads, cas, unknown, n, elapsed,
              ", %d reads pinned to %s" % (pinreads, pin) if pin else ""),
          flush=True)
    # kept sessions stay open until check (their ephemerals are checked
    # there): this process waits, the test kills it after the check
    if any(l.get("kept") and l.get("eph") for l in live.values()):
        with open(os.path.join(d, "holding"), "w") as f:
            f.write("%d\n" % os.getpid())
        sys.stdout.flush()
        time.sleep(300)
    for l in live.values():
        try:
            l["zk"].stop()
        except Exception:
            pass


def check(hosts, d, model="sequential"):
    bad = []
    acked = [json.loads(l) for l in open(os.path.join(d, "acked.jsonl"))]
    live = json.load(open(os.path.join(d, "live.json")))
    for u in open(os.path.join(d, "unexpected.txt")):
        bad.append("an answer the load did not expect: " + u.strip())
    names = [a["path"] for a in acked]
    if len(set(names)) != len(names):
        bad.append("a sequential name acknowledged twice")
    last = {}
    for a in acked:
        n = int(a["path"].rsplit("-", 1)[1])
        if a["client"] in last and n <= last[a["client"]]:
            bad.append("client %d got %s after %d" % (a["client"],
                                                      a["path"],
                                                      last[a["client"]]))
        last[a["client"]] = n
    kids = {}
    for h in hosts.split(","):
        zk = client(h)
        zk.start(timeout=30)
        zk.sync("/")
        kids[h] = set(zk.get_children("/seq"))
        for a in acked:
            try:
                v, _ = zk.get(a["path"])
                if v.decode() != a["data"]:
                    bad.append("%s on %s holds %r, not %r" %
                               (a["path"], h, v.decode(), a["data"]))
            except NoNodeError:
                bad.append("%s acknowledged, missing on %s" % (a["path"], h))
        for i, l in live.items():
            if l.get("kept") and l.get("eph") and \
                    zk.exists("/live/c%s" % i) is None:
                bad.append("client %s kept its session, its ephemeral is "
                           "missing on %s" % (i, h))
        zk.stop()
    first = kids[hosts.split(",")[0]]
    for h, k in kids.items():
        if k != first:
            bad.append("/seq differs on %s: %d children, not %d" %
                       (h, len(k), len(first)))
    lc = subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(__file__),
                                      "lincheck.py"), "--model", model,
         "--initial-value", json.dumps("init"), "--initial-version", "0",
         os.path.join(d, "hist.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if lc.returncode != 0:
        bad.append("register history: lincheck exit %d: %s" %
                   (lc.returncode, lc.stdout.strip()[-400:]))
    for b in bad[:50]:
        print("ensload: " + b)
    if bad:
        return 1
    print("ensload: ok, %d creates on %d nodes, register history checked "
          "(%s)" % (len(acked), len(kids), model))
    return 0


def main(argv):
    if 3 <= len(argv) <= 6 and argv[0] == "run":
        secs = float(argv[3]) if len(argv) > 3 else 20
        n = int(argv[4]) if len(argv) > 4 else 4
        run(argv[1], argv[2], secs, n, argv[5] if len(argv) > 5 else None)
        return 0
    if len(argv) == 3 and argv[0] == "check":
        return check(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "check" and \
            argv[3] in ("sequential", "linearizable"):
        return check(argv[1], argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
