#!/usr/bin/python3
"""backlog.py: what clients that read nothing make a server hold.

    backlog.py PORT PID... [--watchers]

Against a server on 127.0.0.1:PORT whose processes are PID... (zk-gate
and zk-tree, or Apache's java): makes /backlog-big a 1 MB node, then
three raw connections each pipeline 1500 getData of it and read no
reply; after 10 s prints the summed resident memory (VmRSS) of PID...
With --watchers, five connections set a persistent recursive watch on
/backlog and read nothing while one client makes 20000 writes under it,
then the memory again.  Bounded in count and time; loopback only.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "t"))
from fakepeers import session, req, ustr, recvframe  # noqa: E402


def rss_mb(pids):
    total = 0
    for p in pids:
        with open("/proc/%s/status" % p) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024.0


def create(s, xid, path, data):
    acl = struct.pack(">i", 1) + struct.pack(">i", 31) + ustr("world") + \
        ustr("anyone")
    body = ustr(path) + struct.pack(">i", len(data)) + data + acl + \
        struct.pack(">i", 0)
    s.sendall(req(xid, 1, body))
    recvframe(s)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) < 2:
        sys.exit(__doc__)
    port, pids = int(args[0]), args[1:]
    c, _, _ = session(port)
    c.settimeout(30)
    create(c, 1, "/backlog-big", b"x" * ((1 << 20) - 1024))
    print("before: %.0f MB" % rss_mb(pids))
    hogs = []
    for _ in range(3):
        s, _, _ = session(port)
        s.sendall(b"".join(req(i, 4, ustr("/backlog-big") + b"\0")
                           for i in range(1, 1501)))
        hogs.append(s)
    peak = 0.0
    for _ in range(20):
        time.sleep(0.5)
        peak = max(peak, rss_mb(pids))
    print("3 x 1500 pipelined 1 MB getData, unread: %.0f MB (peak)" % peak)
    for s in hogs:
        s.close()
    if "--watchers" not in sys.argv:
        return
    time.sleep(2)
    c, _, _ = session(port)		# the first one's session timed out
    c.settimeout(30)
    create(c, 2, "/backlog", b"")
    ws = []
    for _ in range(5):
        s, _, _ = session(port)
        s.sendall(req(1, 106, ustr("/backlog") + struct.pack(">i", 1)))
        ws.append(s)
    create(c, 3, "/backlog/n", b"")
    peak = 0.0
    batch = b"".join(req(10 + i, 5, ustr("/backlog/n") + ustr("v" * 100) +
                         struct.pack(">i", -1)) for i in range(500))
    t0 = time.time()
    for _ in range(40):			# 20000 sets, 500 in flight
        c.sendall(batch)
        for _ in range(500):
            recvframe(c)
        peak = max(peak, rss_mb(pids))
        if time.time() - t0 > 120:
            break
    print("5 recursive watchers, unread, 20000 writes: %.0f MB (peak)" % peak)


if __name__ == "__main__":
    main()
