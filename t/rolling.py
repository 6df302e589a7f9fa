#!/usr/bin/python3
"""A write load for a rolling restart: rolling.py HOSTS STOPFILE [THREADS [DIR]]

THREADS writers (default 4), each a kazoo client of its own on the
connection string HOSTS, create DIR/wT-K (DIR default /roll) one at a
time until the file
STOPFILE exists, or for at most 120 s (a try that is not answered within
10 s fails).  A create that meets connection
loss is tried again, as a client's retry policy does (up to 5 times, 20
ms apart; NodeExists on a retry means the first try went through): a
server that is stopped closes its connections, and kazoo fails what it
had sent or queued on one.  A write fails when it still fails then.  The
first 2 s are the baseline.  Afterwards it checks that every create that
was acknowledged is there, and prints:

    writes N failed F lost L retried R base_p999_ms B max_ms M max_stayed_ms S p999_ms P
    failed: wT-K ExceptionName at T after D ms   (one line per failed write)

where a write's time (for p99.9 and the max) runs from its first try to
its answer, and S is the worst of those whose client was connected when
the write began and kept its connection meanwhile (a client of a node
that stayed up: what a change of leader costs it), M of all (also those
that moved to another server, or began while their client looked for
one), and P the p99.9 of the whole run (of a run with nothing
restarted, the load's own p99.9 over as many writes as it made).  Exit 0 when no write failed and none was lost, 1 otherwise.
With ROLLTRACE=FILE in the environment, each acknowledged write is also
a line of FILE (see below), to set beside the nodes' debug lines.
"""
import os
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import ConnectionLoss, NodeExistsError

hosts, stopfile = sys.argv[1], sys.argv[2]
nthreads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
root = sys.argv[4] if len(sys.argv) > 4 else "/roll"
LIMIT = 120.0
BASE = 2.0
TRIES = 5
WAIT = 10.0     # s, a try's answer at most

lock = threading.Lock()
acked, failed, lats = [], [], []  # lats: (start, seconds)
retried = [0]
t0 = time.monotonic()
# ROLLTRACE=FILE: a line per acknowledged write, "START MS MOVED WRITER"
# (START the wall clock when it began; MOVED 1 for a client that moved)
trace = open(os.environ["ROLLTRACE"], "w") if os.environ.get("ROLLTRACE") \
    else None


def create(c, path):
    for k in range(TRIES):
        try:
            # bounded: a write that is never answered fails the run
            c.create_async(path, b"x").get(timeout=WAIT)
            return
        except ConnectionLoss:
            with lock:
                retried[0] += 1
            if k == TRIES - 1:
                raise
            time.sleep(0.02)
        except NodeExistsError:
            if k == 0:
                raise
            return  # an earlier try went through


def writer(t):
    c = KazooClient(hosts=hosts, timeout=10)
    drops = [0]  # connection losses of this client

    def listen(state):
        if state != KazooState.CONNECTED:
            drops[0] += 1
    c.add_listener(listen)
    c.start(timeout=20)
    k = 0
    while not os.path.exists(stopfile) and time.monotonic() - t0 < LIMIT:
        name = "w%d-%d" % (t, k)
        k += 1
        s = time.monotonic()
        # a client already cut off counts as moved: the write waits for
        # kazoo to find another server, which is no stall of a server's
        d0 = drops[0] if c.connected else -1
        try:
            create(c, root + "/" + name)
        except Exception as e:  # every failure counts, whatever it is
            with lock:
                failed.append((name, type(e).__name__, time.time(),
                               time.monotonic() - s))
            continue
        d = time.monotonic() - s
        with lock:
            acked.append(name)
            lats.append((s - t0, d, drops[0] != d0))
            if trace:
                trace.write("%.4f %.2f %d %d\n" % (time.time() - d, d * 1000,
                                                  drops[0] != d0, t))
    c.stop()
    c.close()


setup = KazooClient(hosts=hosts, timeout=10)
setup.start(timeout=20)
setup.ensure_path(root)
ths = [threading.Thread(target=writer, args=(t,)) for t in range(nthreads)]
for th in ths:
    th.start()
for th in ths:
    th.join()

have = set()
for _ in range(50):
    try:
        have = set(setup.get_children(root))
        break
    except Exception:
        time.sleep(0.2)
lost = [n for n in acked if n not in have]
setup.stop()
setup.close()

base = sorted(d for s, d, m in lats if s < BASE)
p999 = base[min(len(base) - 1, int(len(base) * 0.999))] if base else 0.0
worst = max((d for s, d, m in lats), default=0.0)
stayed = max((d for s, d, m in lats if not m), default=0.0)
whole = sorted(d for s, d, m in lats)
wp999 = whole[min(len(whole) - 1, int(len(whole) * 0.999))] if whole else 0.0
print("writes %d failed %d lost %d retried %d base_p999_ms %.1f max_ms %.1f "
      "max_stayed_ms %.1f p999_ms %.1f" %
      (len(acked) + len(failed), len(failed), len(lost), retried[0],
       p999 * 1000, worst * 1000, stayed * 1000, wp999 * 1000))
for n, e, w, d in failed:
    print("failed: %s %s at %.3f after %.1f ms" % (n, e, w, d * 1000))
for n in lost[:20]:
    print("lost: %s" % n)
sys.exit(0 if not failed and not lost else 1)
