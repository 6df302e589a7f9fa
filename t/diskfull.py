#!/usr/bin/python3
"""diskfull.py: the client side of t/diskfull.bats (kazoo).

  diskfull.py fill HOSTS ACKS    create /full/nI (1000 bytes each) until a
                                 write fails; acknowledged paths go to ACKS;
                                 prints "failed: ERROR after N"
  diskfull.py read HOSTS ACKS    every path in ACKS is readable (exit 1 if not)
  diskfull.py write HOSTS ACKS   one more create, retried for 10 s; appended
                                 to ACKS when acknowledged
"""
import os
import sys
import time

from kazoo.client import KazooClient

DATA = b"x" * 1000


def main():
    cmd, hosts, acks = sys.argv[1], sys.argv[2], sys.argv[3]
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    zk.ensure_path("/full")
    if cmd == "fill":
        fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for i in range(100000):
            path = "/full/n%d" % i
            try:
                zk.create(path, DATA)
            except Exception as e:
                print("failed: %s after %d" % (type(e).__name__, i))
                break
            os.write(fd, (path + "\n").encode())
        else:
            sys.exit("diskfull.py: the disk never filled")
    elif cmd == "read":
        with open(acks) as f:
            paths = f.read().split()
        for p in paths:
            if zk.get(p)[0] != DATA:
                sys.exit("diskfull.py: %s is wrong" % p)
        print("read: %d" % len(paths))
    elif cmd == "write":
        end = time.time() + 10
        while True:
            try:
                path = zk.create("/full/after-", DATA, sequence=True)
                break
            except Exception as e:
                if time.time() > end:
                    sys.exit("diskfull.py: writes did not resume: %r" % e)
                time.sleep(0.2)
        with open(acks, "a") as f:
            f.write(path + "\n")
        print("wrote: " + path)
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
