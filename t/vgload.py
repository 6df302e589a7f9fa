#!/usr/bin/python3
"""vgload.py: one pass over most of what a node does, for t/valgrind.bats.

    vgload.py PORT [MPORT]

Through kazoo and raw sockets: every create mode (TTL and container
included), get/set/delete with versions, stat, children, watches (one-shot,
persistent, recursive, removed), multi that commits and multi that fails,
multiRead, ACLs with digest and SASL DIGEST-MD5 auth, sync, getEphemerals,
getAllChildrenNumber, 1 MB values (zk-tree's shared ring), a session that
closes and one that expires with ephemerals, a session taken over by a
new connection, a malformed frame and an oversized one (each closes its
own connection only), the four-letter words, and /metrics on MPORT.
Every answer is checked; the first one that is wrong ends the script with
a message and exit 1.  Exit 0 when all were right.
"""
import os
import socket
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakepeers import (closed, connect, createbody, hdr,  # noqa: E402
                       recvframe, req, session, ustr)
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError)
from kazoo.protocol.states import EventType
from kazoo.security import make_digest_acl

PORT = int(sys.argv[1])
MPORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
HOSTS = "127.0.0.1:%d" % PORT
# valgrind makes the server 20 to 50 times slower
TIMEOUT = 30


def check(cond, what):
    if not cond:
        print("vgload: wrong: %s" % what, file=sys.stderr)
        sys.exit(1)


def client(**kw):
    zk = KazooClient(hosts=HOSTS, timeout=kw.pop("timeout", TIMEOUT), **kw)
    zk.start(timeout=TIMEOUT)
    return zk


def wait(ev, what):
    check(ev.wait(TIMEOUT), "no " + what)


def fourlw(word):
    with socket.create_connection(("127.0.0.1", PORT), timeout=TIMEOUT) as s:
        s.sendall(word.encode())
        return s.makefile("rb").read().decode()


class Raw:
    """a session on a raw socket: call() sends one request and reads up
    to its reply, collecting the watch events that come before it"""

    def __init__(self, timeout=TIMEOUT * 1000):
        self.s = session(PORT, timeout=timeout)[0]
        self.s.settimeout(TIMEOUT)
        self.xid = 0

    def call(self, op, body=b""):
        """(err, reply body, [(event type, path), ...])"""
        self.xid += 1
        self.s.sendall(req(self.xid, op, body))
        events = []
        while True:
            r = recvframe(self.s)
            xid, _, err = hdr(r)
            if xid == -1:
                typ, _, n = struct.unpack(">iii", r[16:28])
                events.append((typ, r[28:28 + n].decode()))
            elif xid == self.xid:
                return err, r[16:], events

    def close(self):
        check(self.call(-11)[0] == 0, "closeSession")
        self.s.close()


def closed_after(payload):
    """send payload on a new connection: True if the server closes it"""
    s = connect(PORT)
    s.settimeout(TIMEOUT)
    s.sendall(payload)
    r = closed(s)
    s.close()
    return r


def main():
    zk = client()
    zk.ensure_path("/vg")

    # every create mode
    check(zk.create("/vg/p", b"v0") == "/vg/p", "create")
    s1 = zk.create("/vg/s-", b"", sequence=True)
    s2 = zk.create("/vg/s-", b"", sequence=True)
    check(s1 < s2 and s1.startswith("/vg/s-00"), "sequential %s %s" % (s1, s2))
    zk.create("/vg/e", b"eph", ephemeral=True)
    zk.create("/vg/es-", b"", ephemeral=True, sequence=True)
    # container and TTL: kazoo has no call for them, a raw session does
    raw = Raw()
    check(raw.call(19, createbody("/vg/c", 4))[0] == 0, "createContainer")
    zk.create("/vg/c/kid", b"")
    check(raw.call(21, createbody("/vg/t", 5) +
                   struct.pack(">q", 60000))[0] == 0,
          "createTTL")
    try:
        zk.create("/vg/p", b"")
        check(False, "create over an existing node")
    except NodeExistsError:
        pass

    # data, versions, stat, children
    d, st = zk.get("/vg/p")
    check(d == b"v0" and st.version == 0, "get")
    zk.set("/vg/p", b"v1", version=0)
    try:
        zk.set("/vg/p", b"v2", version=0)
        check(False, "set with a stale version")
    except BadVersionError:
        pass
    check(zk.exists("/vg/p").version == 1, "exists")
    check(zk.exists("/vg/none") is None, "exists of nothing")
    kids = sorted(zk.get_children("/vg"))
    check(len(kids) == 7 and "p" in kids, "children %r" % kids)
    try:
        zk.delete("/vg/c")
        check(False, "delete of a node with a child")
    except NotEmptyError:
        pass
    try:
        zk.get("/vg/none")
        check(False, "get of nothing")
    except NoNodeError:
        pass

    # one-shot watches: data, child, exists
    got = []
    ev = threading.Event()

    def onevent(e):
        got.append((e.type, e.path))
        if len(got) == 3:
            ev.set()
    zk.get("/vg/p", watch=onevent)
    zk.get_children("/vg/c", watch=onevent)
    zk.exists("/vg/w", watch=onevent)
    zk.set("/vg/p", b"v2")
    zk.create("/vg/c/kid2", b"")
    zk.create("/vg/w", b"")
    wait(ev, "one-shot events")
    check(sorted(got) == sorted([(EventType.CHANGED, "/vg/p"),
                                 (EventType.CHILD, "/vg/c"),
                                 (EventType.CREATED, "/vg/w")]),
          "events %r" % got)

    # a recursive watch, then removed; a persistent one left set
    check(raw.call(106, ustr("/vg/r") + struct.pack(">i", 1))[0] == 0,
          "addWatch")
    zk.create("/vg/r", b"")
    zk.create("/vg/r/a", b"")
    zk.set("/vg/r/a", b"x")
    err, _, events = raw.call(3, ustr("/vg/r/a") + b"\0")    # exists
    check(err == 0 and events == [(1, "/vg/r"), (1, "/vg/r/a"),
                                  (3, "/vg/r/a")], "recursive %r" % events)
    check(raw.call(18, ustr("/vg/r") + struct.pack(">i", 3))[0] == 0,
          "removeWatches")
    zk.set("/vg/r/a", b"y")
    err, _, events = raw.call(3, ustr("/vg/r/a") + b"\0")
    check(err == 0 and events == [], "events after removeWatches %r" % events)
    check(raw.call(106, ustr("/vg/p") + struct.pack(">i", 0))[0] == 0,
          "addWatch persistent")

    # multi: one that commits, one that fails whole
    t = zk.transaction()
    t.create("/vg/m1", b"a")
    t.set_data("/vg/p", b"m")
    t.check("/vg/p", 3)
    res = t.commit()
    check(res[0] == "/vg/m1", "multi %r" % res)
    t = zk.transaction()
    t.create("/vg/m2", b"")
    t.delete("/vg/none")
    res = t.commit()
    check(isinstance(res[1], NoNodeError) and zk.exists("/vg/m2") is None,
          "failed multi %r" % res)

    # sync, and the reads kazoo has no call for, on a raw session:
    # getAllChildrenNumber, getEphemerals, multiRead
    zk.sync("/vg")
    err, r, _ = raw.call(104, ustr("/vg/c"))
    check(err == 0 and struct.unpack(">i", r[:4])[0] == 2,
          "getAllChildrenNumber")
    for name in ("/vg/re1", "/vg/re2"):
        check(raw.call(1, createbody(name, 1))[0] == 0, "ephemeral create")
    err, r, _ = raw.call(103, ustr("/vg"))
    check(err == 0 and struct.unpack(">i", r[:4])[0] == 2,
          "getEphemerals %r" % r)
    mr = (struct.pack(">i?i", 4, False, -1) + ustr("/vg/p") + b"\0" +
          struct.pack(">i?i", 8, False, -1) + ustr("/vg") + b"\0" +
          struct.pack(">i?i", 4, False, -1) + ustr("/vg/none") + b"\0" +
          struct.pack(">i?i", -1, True, -1))
    err, r, _ = raw.call(22, mr)
    check(err == 0 and r.startswith(struct.pack(">i?ii", 4, False, 0, 1) + b"m")
          and struct.pack(">i?ii", -1, False, -101, -101) in r,
          "multiRead %r" % r[:64])
    raw.close()

    # ACLs: digest, auth, getACL/setACL, a denied read
    acl = make_digest_acl("vguser", "pw", all=True)
    zk.create("/vg/acl", b"secret", acl=[acl])
    other = client()
    try:
        other.get("/vg/acl")
        check(False, "read without auth")
    except NoAuthError:
        pass
    other.add_auth("digest", "vguser:pw")
    check(other.get("/vg/acl")[0] == b"secret", "read with auth")
    acls, _ = other.get_acls("/vg/acl")
    check(acls[0].id.scheme == "digest", "getACL %r" % acls)
    other.set_acls("/vg/acl", [acl, make_digest_acl("x", "y", read=True)])
    check(len(other.get_acls("/vg/acl")[0]) == 2, "setACL")
    other.stop()
    other.close()

    # SASL DIGEST-MD5 (the node has a JAAS file with vguser)
    if os.environ.get("VG_SASL"):
        sz = client(sasl_options={"mechanism": "DIGEST-MD5",
                                  "username": "vguser", "password": "vgpw"})
        sz.create("/vg/sasl", b"", acl=[])
        sz.stop()
        sz.close()
        # a wrong password: its answer is held 200 ms (zk-gate's auth.c),
        # once with the client there, once with the client gone before
        for stay in (True, False):
            s, _, _ = session(PORT)
            s.settimeout(TIMEOUT)
            s.sendall(req(1, 102, ustr(b"")))
            check(hdr(recvframe(s))[2] == 0, "SASL challenge")
            s.sendall(req(2, 102, ustr(b"username=\"vguser\",response=0")))
            if stay:
                check(hdr(recvframe(s))[2] == -115 and closed(s),
                      "SASL failure: -115, then close")
            s.close()

    # 1 MB values: through the ring, and many at once
    big = bytes(i % 251 for i in range(1000000))
    zk.create("/vg/big", big)
    asyncs = [zk.get_async("/vg/big") for _ in range(20)]
    for a in asyncs:
        check(a.get(timeout=TIMEOUT)[0] == big, "1 MB get")
    zk.set("/vg/big", big[::-1])
    check(zk.get("/vg/big")[0] == big[::-1], "1 MB get after set")

    # many small writes pipelined: snapshots (snapCount) and group commits
    asyncs = [zk.create_async("/vg/n%04d" % i, b"x" * 100) for i in range(400)]
    for a in asyncs:
        a.get(timeout=TIMEOUT)
    asyncs = [zk.delete_async("/vg/n%04d" % i) for i in range(0, 400, 2)]
    for a in asyncs:
        a.get(timeout=TIMEOUT)
    kids = zk.get_children("/vg")
    check(len([k for k in kids if k.startswith("n")]) == 200,
          "children after the bulk")

    # a session that closes: its ephemerals go
    e = client()
    e.create("/vg/eclose", b"", ephemeral=True)
    e.stop()
    e.close()
    check(zk.exists("/vg/eclose") is None, "ephemeral after close")

    # a session that expires: a raw session with the shortest timeout
    # makes an ephemeral, then sends nothing more; the ephemeral goes
    x = Raw(timeout=4000)
    check(x.call(1, createbody("/vg/eexp", 1))[0] == 0, "ephemeral create")
    gone = threading.Event()
    check(zk.exists("/vg/eexp", watch=lambda ev: gone.set()) is not None,
          "the ephemeral is there")
    wait(gone, "the expired session's ephemeral to go")
    check(zk.exists("/vg/eexp") is None, "ephemeral after expiry")
    x.s.close()

    # a session taken over by a new connection (kazoo reconnects with
    # the same session id after its socket drops)
    y = client()
    y.create("/vg/ey", b"", ephemeral=True)
    sid = y.client_id
    y._connection._socket.shutdown(socket.SHUT_RDWR)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            if y.exists("/vg/ey") is not None:
                break
        except Exception:
            time.sleep(0.2)
    check(y.client_id[0] == sid[0] and y.exists("/vg/ey") is not None,
          "session taken over")
    y.stop()
    y.close()

    # bad input closes only its own connection
    check(closed_after(struct.pack(">i", -5) + b"junk"), "negative length")
    check(closed_after(struct.pack(">i", 0x7fffffff) + b"x" * 100),
          "oversized frame")
    check(closed_after(struct.pack(">i", 8) + b"\0" * 8), "short connect")

    # four-letter words
    check(fourlw("ruok") == "imok", "ruok")
    for w in ("stat", "srvr", "mntr", "cons", "wchs", "wchc", "wchp", "dump",
              "envi", "conf", "isro", "crst", "srst", "dirs"):
        check(len(fourlw(w)) > 0, "4lw " + w)

    if MPORT:
        r = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % MPORT,
                                   timeout=TIMEOUT)
        check(b"znode_count" in r.read(), "/metrics")

    # still serving after all of it
    check(zk.get("/vg/p")[0] == b"m", "final get")
    zk.delete("/vg/big")
    zk.stop()
    zk.close()
    print("vgload: ok")


main()
