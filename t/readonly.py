#!/usr/bin/python3
"""Read-only mode through kazoo, as t/ensemble.bats drives it.

    t/readonly.py HOST:PORT DIR

HOST:PORT is the node that will be left alone.  Steps, each told to the
test by a file in DIR, each waited for (30 s at most):
  1. a read-only client (kazoo read_only=True) connects while the
     ensemble serves: read-write, its session global; touches DIR/rw
  2. once DIR/cut exists (the test stopped the other nodes): the client
     is back as read-only (CONNECTED_RO) on the same session; it reads
     /before; create and setData get NotReadOnly; a second read-only
     client gets a session of its own, read-only too; touches DIR/ro
  3. once DIR/healed exists (the others run again): the first client is
     read-write on its session again and creates /after; the second
     client's session was the node's alone: it is gone, and kazoo makes
     a new one, read-write.  Exit 0; any failure exits 1 with a reason.
"""
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.protocol.states import KeeperState


def fail(why):
    print("readonly.py: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


def await_(what, cond, secs=30):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    fail("no %s in %d s" % (what, secs))


def main():
    host, d = sys.argv[1], sys.argv[2]
    touch = lambda name: open(os.path.join(d, name), "w").close()  # noqa
    there = lambda name: os.path.exists(os.path.join(d, name))  # noqa

    c1 = KazooClient(hosts=host, read_only=True, timeout=10)
    c1.start(timeout=30)
    if c1.client_state != KeeperState.CONNECTED:
        fail("first client: %s, not read-write" % c1.client_state)
    sid = c1.client_id[0]
    print("rw session 0x%x" % sid, flush=True)
    touch("rw")

    await_("cut", lambda: there("cut"), 60)
    await_("read-only state",
           lambda: c1.client_state == KeeperState.CONNECTED_RO)
    if c1.client_id[0] != sid:
        fail("read-only on session 0x%x, not 0x%x" % (c1.client_id[0], sid))
    data, _ = c1.get("/before")
    if data != b"data of /before":
        fail("/before: %r" % data)
    if "before" not in c1.get_children("/"):
        fail("no /before among /'s children")
    for what, call in (("create", lambda: c1.create("/nope", b"x")),
                       ("setData", lambda: c1.set("/before", b"y"))):
        try:
            call()
            fail("%s answered on a read-only session" % what)
        except NotReadOnlyCallError:
            pass
    c2 = KazooClient(hosts=host, read_only=True, timeout=10)
    c2.start(timeout=30)
    if c2.client_state != KeeperState.CONNECTED_RO:
        fail("second client: %s, not read-only" % c2.client_state)
    sid2 = c2.client_id[0]
    if sid2 == sid:
        fail("second client on the first's session")
    if c2.get("/before")[0] != b"data of /before":
        fail("second client: /before")
    print("ro sessions 0x%x 0x%x" % (sid, sid2), flush=True)
    touch("ro")

    await_("healed", lambda: there("healed"), 120)
    await_("read-write state again",
           lambda: c1.client_state == KeeperState.CONNECTED, 60)
    if c1.client_id[0] != sid:
        fail("read-write on session 0x%x, not 0x%x" % (c1.client_id[0], sid))
    c1.create("/after", b"data of /after")
    await_("second client read-write",
           lambda: c2.client_state == KeeperState.CONNECTED, 60)
    if c2.client_id[0] == sid2:
        fail("the read-only session 0x%x outlived read-only mode" % sid2)
    print("rw again: 0x%x, and 0x%x for 0x%x" % (sid, c2.client_id[0],
                                                 sid2), flush=True)
    c2.stop()
    c1.stop()


if __name__ == "__main__":
    main()
