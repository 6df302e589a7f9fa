#!/usr/bin/python3
"""freeport.py [N]: N (default 1) free TCP ports of 127.0.0.1, one a line.

Picked at random below the kernel's ephemeral range
(net.ipv4.ip_local_port_range) and checked free by binding them: a port
that bind(port 0) hands out lies in that range, where any outgoing
connection (a client, a peer dialing) may take it before the server the
port is meant for binds it, and the server then fails (EADDRINUSE).
Ports listed in $FREEPORT_AVOID (given out already, their servers not
yet up) are not picked.
"""
import os
import random
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
except (OSError, ValueError):
    lo, hi = 32768, 60999
pool = range(10000, lo) if lo > 12000 else range(hi + 1, 65536)
avoid = set(int(x) for x in os.environ.get("FREEPORT_AVOID", "").split()
            if x.isdigit())
got = []
for _ in range(1000):
    if len(got) == n:
        break
    p = random.choice(pool) if len(pool) > 1000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        p = s.getsockname()[1] if p == 0 else p
        s.close()
    if p not in got and p not in avoid:
        got.append(p)
if len(got) < n:
    sys.exit("freeport.py: no free port")
print("\n".join(str(p) for p in got))
