#!/usr/bin/python3
"""Differential tests: the same operations against Apache ZooKeeper 3.8
(Debian's jars) and zk-node, results compared after masking what may
legitimately differ (session ids, zxid values, times).

    zkdiff.py start DIR        start both servers (ports and PIDs in DIR)
    zkdiff.py run DIR NAME...  run scenarios against both, compare
    zkdiff.py stop DIR         stop both servers by PID
    zkdiff.py list             scenario names
    zkdiff.py all              start, run every scenario, stop

A scenario is a function of one server address that returns a list of
records: every reply, error code and watch event each of its connections
received, in the order received.  zxids are replaced by their rank among
the zxids the scenario saw (0 stays 0), times by whether they are set, and
session ids by the scenario's own connection numbers.  A difference prints
both transcripts as a unified diff and exits 1.

Standard library only; speaks the wire protocol over raw sockets.
Environment: ZK_BIN (zk-node's directory, default cmd/ of this tree);
ZKDIFF_ZK=apache compares Apache with itself (checks the scenarios are
deterministic).
"""
import bisect
import difflib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAVA_CP = "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf"
SUPER = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="      # super:test
CHECK_MS = 200

# opcodes and codes (wire-protocol.md)
CREATE, DELETE, EXISTS, GETDATA, SETDATA, GETACL, SETACL, GETCHILDREN = 1, 2, 3, 4, 5, 6, 7, 8
SYNC, PING, GETCHILDREN2, CHECK, MULTI, CREATE2 = 9, 11, 12, 13, 14, 15
CHECKWATCHES, REMOVEWATCHES, CREATECONTAINER, CREATETTL, MULTIREAD = 17, 18, 19, 21, 22
AUTH, SETWATCHES, GETEPHEMERALS, GETALLCHILDREN, SETWATCHES2 = 100, 101, 103, 104, 105
ADDWATCH, WHOAMI, CLOSE = 106, 107, -11
OPEN = [(31, "world", "anyone")]
WRITES = {CREATE, DELETE, SETDATA, SETACL, MULTI, CREATE2, CREATECONTAINER,
          CREATETTL, CLOSE}


class Closed(Exception):
    pass


# ---------------------------------------------------------------- jute

def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def boolean(v): return b"\1" if v else b"\0"


def buf(b):
    if b is None:
        return i32(-1)
    if isinstance(b, str):
        b = b.encode()
    return i32(len(b)) + b


def strvec(v): return i32(len(v)) + b"".join(buf(s) for s in v)


def acls(v):
    return i32(len(v)) + b"".join(i32(p) + buf(s) + buf(i) for p, s, i in v)


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if self.o + n > len(self.b):
            raise ValueError("short record")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def int(self): return struct.unpack(">i", self.take(4))[0]
    def long(self): return struct.unpack(">q", self.take(8))[0]
    def bool(self): return self.take(1) != b"\0"

    def buf(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def str(self):
        b = self.buf()
        return None if b is None else b.decode("utf-8", "replace")

    def strvec(self):
        n = self.int()
        return None if n < 0 else [self.str() for _ in range(n)]

    def stat(self):
        f = ("czxid mzxid ctime mtime version cversion aversion "
             "ephemeralOwner dataLength numChildren pzxid").split()
        v = [self.long(), self.long(), self.long(), self.long(), self.int(),
             self.int(), self.int(), self.long(), self.int(), self.int(),
             self.long()]
        return dict(zip(f, v))

    def acls(self):
        n = self.int()
        return [(self.int(), self.str(), self.str()) for _ in range(n)]


def create_rec(path, data=b"", acl=OPEN, flags=0):
    return buf(path) + buf(data) + acls(acl) + i32(flags)


# ---------------------------------------------------------------- client

class Conn:
    """One client connection; every reply and event lands in log."""

    def __init__(self, t, name, session=0, passwd=b"\0" * 16, timeout=10000,
                 lastzxid=0):
        self.t, self.name = t, name
        self.xid = 0
        self.lastzxid = lastzxid
        self.sock = socket.create_connection(t.addr, timeout=10)
        self.send(i32(0) + i64(lastzxid) + i32(timeout) + i64(session) +
                  buf(passwd) + boolean(False))
        r = Reader(self.recv())
        r.int()
        self.timeout = r.int()
        self.session = r.long()
        self.passwd = r.buf()
        if self.session:
            t.sessions.setdefault(self.session, "S%d" % (len(t.sessions) + 1))
        t.log.append((name, "connect", "timeout>0" if self.timeout > 0 else "expired",
                      t.sid(self.session)))

    def send(self, body):
        self.sock.sendall(i32(len(body)) + body)

    def recv(self):
        def exact(n):
            b = b""
            while len(b) < n:
                c = self.sock.recv(n - len(b))
                if not c:
                    raise Closed()
                b += c
            return b
        n = struct.unpack(">i", exact(4))[0]
        return exact(n)

    def call(self, op, rec=b"", parse=None, xid=None, label=None):
        """Send one request, log events that come first, log the reply."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(i32(xid) + i32(op) + rec)
        return self.reply(op, xid, parse, label)

    def pipeline(self, reqs):
        """Send (op, rec, parse, label) requests at once, without waiting,
        then log their replies (and the events before each) as call does."""
        out, sent = b"", []
        for op, rec, parse, label in reqs:
            self.xid += 1
            body = i32(self.xid) + i32(op) + rec
            out += i32(len(body)) + body
            sent.append((op, self.xid, parse, label))
        self.sock.sendall(out)
        return [self.reply(*x) for x in sent]

    def reply(self, op, xid, parse, label):
        """Log events until the next reply, then that reply."""
        while True:
            try:
                body = self.recv()
            except Closed:
                self.t.log.append((self.name, label or op, "closed"))
                return None
            r = Reader(body)
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:           # watch event
                etype, state, path = r.int(), r.int(), r.str()
                self.t.log.append((self.name, "event", etype, state, path))
                continue
            if zxid > 0:
                self.lastzxid = max(self.lastzxid, zxid)
            res = None
            if err == 0 and parse:
                res = parse(r)
            # A successful write's zxid is a txn both servers made; any
            # other reply carries "the last zxid", which Apache also bumps
            # for failed writes and invisible txns (createSession):
            # rendered relative to the txns seen (see render).
            write = (err == 0 and op in WRITES and not
                     (op == MULTI and any(x[0] == "error" for x in res or ())))
            rec = (self.name, label or op, "xid" if rxid == xid else "xid=%d" % rxid,
                   self.t.z(zxid) if write else ("rzxid", zxid), err)
            if res is not None:
                rec += (self.t.norm(res),)
            self.t.log.append(rec)
            return err, res

    def events(self):
        """Log events already sent to us (a ping flushes them)."""
        self.call(PING, xid=-2, label="ping")

    def close(self):
        self.call(CLOSE, label="closeSession")
        self.sock.close()

    def drop(self):
        self.sock.close()


# ---------------------------------------------------------------- masking

class Transcript:
    def __init__(self, addr):
        self.addr = addr
        self.log = []
        self.sessions = {}
        self.zxids = set()

    def sid(self, s):
        if s == 0:
            return "0"
        return self.sessions.get(s, "S?")

    def z(self, v):
        self.zxids.add(v)
        return ("zxid", v)

    def norm(self, v):
        if isinstance(v, dict) and "czxid" in v:
            s = dict(v)
            for k in ("czxid", "mzxid", "pzxid"):
                s[k] = self.z(s[k])
            s["ctime"] = "T" if s["ctime"] > 0 else s["ctime"]
            s["mtime"] = "T" if s["mtime"] > 0 else s["mtime"]
            s["mtime>=ctime"] = v["mtime"] >= v["ctime"]
            s["ephemeralOwner"] = self.sid(v["ephemeralOwner"])
            return tuple(sorted(s.items()))
        if isinstance(v, (list, tuple)):
            return tuple(self.norm(x) for x in v)
        if isinstance(v, bytes):
            return v
        return v

    def render(self):
        anchors = sorted(self.zxids - {0})
        rank = {z: i for i, z in enumerate(anchors, 1)}
        rank[0] = 0

        def fix(x):
            if isinstance(x, tuple) and len(x) == 2 and x[0] == "zxid":
                if x[1] < 0:
                    return "zxid:%d" % x[1]
                return "z%d" % rank[x[1]]
            if isinstance(x, tuple) and len(x) == 2 and x[0] == "rzxid":
                if x[1] <= 0:
                    return "zxid:%d" % x[1]
                return "~z%d" % bisect.bisect_right(anchors, x[1])
            if isinstance(x, tuple):
                return tuple(fix(y) for y in x)
            return x
        return ["%r" % (fix(rec),) for rec in self.log]


# ---------------------------------------------------------------- helpers

def stat_of(r): return r.stat()
def data_stat(r): return (r.buf(), r.stat())
def path_of(r): return r.str()
def path_stat(r): return (r.str(), r.stat())
def children(r): return sorted(r.strvec())
def children2(r): return (sorted(r.strvec()), r.stat())
def acl_stat(r): return (r.acls(), r.stat())


def whoami(r):
    n = r.int()
    return sorted((r.str(), r.str()) for _ in range(n))


def multi_results(r):
    out = []
    while True:
        t, done, err = r.int(), r.bool(), r.int()
        if done:
            return out
        if t == CREATE:
            out.append(("create", err, r.str()))
        elif t == CREATE2:
            out.append(("create2", err, r.str(), r.stat()))
        elif t in (DELETE, CHECK):
            out.append((t, err))
        elif t == SETDATA:
            out.append(("setData", err, r.stat()))
        elif t == GETDATA:
            out.append(("getData", err, r.buf(), r.stat()))
        elif t == GETCHILDREN:
            out.append(("getChildren", err, sorted(r.strvec())))
        elif t == -1:
            out.append(("error", err, r.int()))
        else:
            out.append(("?", t, err))


def mh(op): return i32(op) + boolean(False) + i32(-1)


MEND = i32(-1) + boolean(True) + i32(-1)


def create(c, path, data=b"", acl=OPEN, flags=0, op=CREATE, ttl=None):
    rec = create_rec(path, data, acl, flags)
    if ttl is not None:
        rec += i64(ttl)
    parse = path_of if op == CREATE else path_stat
    return c.call(op, rec, parse, label="create%d:%s" % (op, path))


def getdata(c, path, watch=False):
    return c.call(GETDATA, buf(path) + boolean(watch), data_stat, label="getData:" + path)


def exists(c, path, watch=False):
    return c.call(EXISTS, buf(path) + boolean(watch), stat_of, label="exists:" + path)


def setdata(c, path, data, version=-1):
    return c.call(SETDATA, buf(path) + buf(data) + i32(version), stat_of,
                  label="setData:" + path)


def delete(c, path, version=-1):
    return c.call(DELETE, buf(path) + i32(version), label="delete:" + path)


def getchildren(c, path, watch=False):
    return c.call(GETCHILDREN, buf(path) + boolean(watch), children,
                  label="getChildren:" + path)


def addauth(c, scheme, auth):
    return c.call(AUTH, i32(0) + buf(scheme) + buf(auth), xid=-4,
                  label="auth:" + scheme)


def wait_gone(c, path, secs=15):
    """Poll (unlogged) until path is gone; log the outcome only."""
    end = time.monotonic() + secs
    n = len(c.t.log)
    gone = False
    while time.monotonic() < end:
        err, _ = c.call(EXISTS, buf(path) + boolean(False), label="poll")
        del c.t.log[n:]
        if err == -101:
            gone = True
            break
        time.sleep(0.1)
    c.t.log.append((c.name, "eventually-gone:" + path, gone))


# ---------------------------------------------------------------- scenarios

SCENARIOS = {}


def scenario(f):
    SCENARIOS[f.__name__] = f
    return f


@scenario
def create_modes(t):
    c = Conn(t, "A")
    create(c, "/cm")
    create(c, "/cm/p", b"data")
    create(c, "/cm/p", b"again")                       # NODEEXISTS
    create(c, "/cm/none/x")                            # NONODE
    create(c, "/cm/null", None)
    getdata(c, "/cm/null")
    create(c, "/cm/c2", b"x", op=CREATE2)
    create(c, "/cm/seq-", b"", flags=2)
    create(c, "/cm/seq-", b"", flags=2, op=CREATE2)
    create(c, "/cm/eseq-", b"", flags=3)
    create(c, "/cm/eph", b"e", flags=1)
    create(c, "/cm/eph/child")                         # NOCHILDRENFOREPHEMERALS
    getchildren(c, "/cm")
    c.call(GETCHILDREN2, buf("/cm") + boolean(False), children2, label="getChildren2")
    exists(c, "/cm")
    create(c, "/cm/bigseq-", flags=2)
    c.close()
    c2 = Conn(t, "B")
    getchildren(c2, "/cm")                              # ephemerals gone
    exists(c2, "/cm")
    c2.close()


@scenario
def container_ttl(t):
    c = Conn(t, "A")
    create(c, "/ct")
    create(c, "/ct/box", flags=4, op=CREATECONTAINER)
    create(c, "/ct/box2", flags=4, op=CREATE2)         # flag 4 through create2
    create(c, "/ct/box/kid")
    delete(c, "/ct/box/kid")
    wait_gone(c, "/ct/box")
    create(c, "/ct/ttl", b"t", flags=5, op=CREATETTL, ttl=2000)
    create(c, "/ct/ttlseq-", b"t", flags=6, op=CREATETTL, ttl=2000)
    create(c, "/ct/badttl", flags=5, op=CREATETTL, ttl=0)     # BADARGUMENTS
    create(c, "/ct/badttl", flags=0, op=CREATETTL, ttl=100)   # not a TTL mode
    create(c, "/ct/ttlflag", flags=5, op=CREATE)              # TTL mode without ttl
    exists(c, "/ct/ttl")
    wait_gone(c, "/ct/ttl")
    exists(c, "/ct/box2")
    c.close()


@scenario
def setdata_versions(t):
    c = Conn(t, "A")
    create(c, "/sv", b"0")
    setdata(c, "/sv", b"1")
    setdata(c, "/sv", b"2", 1)
    setdata(c, "/sv", b"3", 1)                           # BADVERSION
    setdata(c, "/sv", b"", 2)
    setdata(c, "/sv", None)
    getdata(c, "/sv")
    setdata(c, "/nonexistent-sv", b"x")
    setdata(c, "/sv", b"x" * 1000)
    getdata(c, "/sv")
    # (a standalone check that succeeds gets no reply from Apache: quirk)
    c.call(CHECK, buf("/sv") + i32(9), label="check-bad")
    c.call(CHECK, buf("/nonexistent-sv") + i32(0), label="check-nonode")
    c.close()


@scenario
def delete_errors(t):
    c = Conn(t, "A")
    create(c, "/de")
    create(c, "/de/kid")
    delete(c, "/de")                                     # NOTEMPTY
    delete(c, "/de/kid", 5)                              # BADVERSION
    delete(c, "/de/kid", 0)
    delete(c, "/de/kid")                                 # NONODE
    delete(c, "/")                                       # root
    delete(c, "/zookeeper")
    delete(c, "/de")
    exists(c, "/de")
    c.close()


@scenario
def bad_paths(t):
    c = Conn(t, "A")
    for p in ["", "a", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/.", "/..",
              "/a\0b", "/zookeeper/quota/x/y"]:
        create(c, p)
    for p in ["", "a", "/a/"]:          # error codes only (no results)
        c.call(GETDATA, buf(p) + boolean(False), label="getData:" + p)
        c.call(EXISTS, buf(p) + boolean(False), label="exists:" + p)
        c.call(GETCHILDREN, buf(p) + boolean(False), label="getChildren:" + p)
        delete(c, p)
        c.call(SETDATA, buf(p) + buf(b"") + i32(-1), label="setData:" + p)
    create(c, "/", b"")
    getdata(c, "/zookeeper")
    getchildren(c, "/zookeeper")
    create(c, "/bp-seq/", b"")                           # parent missing
    create(c, "/bp")
    create(c, "/bp/", flags=2)                           # sequential on a slash
    getchildren(c, "/bp")
    c.close()


@scenario
def acl_checks(t):
    c = Conn(t, "A")
    create(c, "/acl")
    create(c, "/acl/world-read", b"r", [(1, "world", "anyone")])
    getdata(c, "/acl/world-read")
    setdata(c, "/acl/world-read", b"x")                  # NOAUTH
    create(c, "/acl/nocreate", b"", [(31 & ~4, "world", "anyone")])
    create(c, "/acl/nocreate/kid")                       # NOAUTH
    create(c, "/acl/bad", b"", [(31, "digest", "nocolon")])   # INVALIDACL
    create(c, "/acl/bad", b"", [(31, "nosuch", "x")])         # INVALIDACL
    create(c, "/acl/bad", b"", [])                            # INVALIDACL
    create(c, "/acl/auth", b"", [(31, "auth", "")])            # INVALIDACL: no ids
    create(c, "/acl/ip", b"i", [(31, "ip", "127.0.0.1")])
    getdata(c, "/acl/ip")
    create(c, "/acl/ipnet", b"i", [(31, "ip", "10.0.0.0/8")])
    getdata(c, "/acl/ipnet")                             # NOAUTH
    addauth(c, "digest", "alice:secret")
    c.call(WHOAMI, parse=whoami, label="whoAmI")
    create(c, "/acl/auth", b"a", [(31, "auth", "")])
    c.call(GETACL, buf("/acl/auth"), acl_stat, label="getACL")
    create(c, "/acl/digest", b"d",
           [(31, "digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=")])
    getdata(c, "/acl/digest")
    c.call(SETACL, buf("/acl/world-read") + acls(OPEN) + i32(5), stat_of,
           label="setACL-badversion")
    c.call(SETACL, buf("/acl/digest") + acls([(1, "world", "anyone")]) + i32(0),
           stat_of, label="setACL")
    c.call(GETACL, buf("/acl/digest"), acl_stat, label="getACL2")
    b = Conn(t, "B")
    getdata(b, "/acl/auth")                              # NOAUTH
    exists(b, "/acl/auth")                               # exists needs no READ
    c.call(GETACL, buf("/acl/auth"), acl_stat, label="getACL-any")
    addauth(b, "digest", "alice:wrong")
    getdata(b, "/acl/auth")                              # NOAUTH
    b.call(WHOAMI, parse=whoami, label="whoAmI")
    addauth(b, "digest", "super:test")
    getdata(b, "/acl/auth")                              # super reads all
    setdata(b, "/acl/world-read", b"super")
    b.call(WHOAMI, parse=whoami, label="whoAmI-super")
    b.close()
    x = Conn(t, "X")
    addauth(x, "nosuchscheme", "x")                      # AUTHFAILED + close
    getdata(x, "/acl")
    x.drop()
    c.close()


@scenario
def multi_ops(t):
    c = Conn(t, "A")
    create(c, "/mu")
    ok = (mh(CREATE) + create_rec("/mu/a", b"x") +
          mh(CREATE2) + create_rec("/mu/b", b"y") +
          mh(CREATECONTAINER) + create_rec("/mu/c", b"", OPEN, 4) +
          mh(CREATETTL) + create_rec("/mu/t", b"", OPEN, 5) + i64(60000) +
          mh(CREATE) + create_rec("/mu/s-", b"", OPEN, 2) +
          mh(CHECK) + buf("/mu/a") + i32(0) +
          mh(SETDATA) + buf("/mu/a") + buf(b"z") + i32(0) +
          mh(DELETE) + buf("/mu/b") + i32(-1) + MEND)
    c.call(MULTI, ok, multi_results, label="multi-ok")
    bad = (mh(CREATE) + create_rec("/mu/d", b"") +
           mh(CHECK) + buf("/mu/a") + i32(1) +
           mh(DELETE) + buf("/mu/missing") + i32(-1) +
           mh(SETDATA) + buf("/mu/a") + buf(b"q") + i32(-1) + MEND)
    c.call(MULTI, bad, multi_results, label="multi-fail")
    exists(c, "/mu/d")
    c.call(MULTI, MEND, multi_results, label="multi-empty")
    c.call(MULTI, mh(GETDATA) + buf("/mu/a") + boolean(False) + MEND,
           multi_results, label="multi-readop")
    no = boolean(False)
    rd = (mh(GETDATA) + buf("/mu/a") + no + mh(GETCHILDREN) + buf("/mu") + no +
          mh(GETDATA) + buf("/mu/missing") + no +
          mh(GETCHILDREN) + buf("/nope") + no + MEND)
    c.call(MULTIREAD, rd, multi_results, label="multiRead")
    c.call(MULTIREAD, mh(CREATE) + create_rec("/mu/w") + MEND, multi_results,
           label="multiRead-writeop")
    getdata(c, "/mu/a")
    c.close()


@scenario
def watches(t):
    a, b = Conn(t, "A"), Conn(t, "B")
    create(b, "/wa")
    create(b, "/wa/n", b"0")
    getdata(a, "/wa/n", True)
    exists(a, "/wa/new", True)
    getchildren(a, "/wa", True)
    exists(a, "/wa/n", True)
    setdata(b, "/wa/n", b"1")
    a.events()
    setdata(b, "/wa/n", b"2")                             # watch was one-shot
    a.events()
    create(b, "/wa/new")
    a.events()
    getdata(a, "/wa/n", True)
    getchildren(a, "/wa", True)
    delete(b, "/wa/n")
    a.events()
    getdata(a, "/wa/new", True)
    a.call(CHECKWATCHES, buf("/wa/new") + i32(2), label="checkWatches-data")
    a.call(CHECKWATCHES, buf("/wa/new") + i32(1), label="checkWatches-child")
    a.call(REMOVEWATCHES, buf("/wa/new") + i32(3), label="removeWatches")
    a.call(REMOVEWATCHES, buf("/wa/new") + i32(3), label="removeWatches-again")
    setdata(b, "/wa/new", b"x")
    a.events()
    # persistent and recursive
    a.call(ADDWATCH, buf("/wa") + i32(0), label="addWatch-persistent")
    a.call(ADDWATCH, buf("/wa/r") + i32(1), label="addWatch-recursive")
    create(b, "/wa/r")
    create(b, "/wa/r/x")
    create(b, "/wa/r/x/y", b"1")
    setdata(b, "/wa/r/x/y", b"2")
    setdata(b, "/wa", b"p1")
    setdata(b, "/wa", b"p2")
    delete(b, "/wa/r/x/y")
    a.events()
    a.call(REMOVEWATCHES, buf("/wa") + i32(3), label="removeWatches-persistent")
    setdata(b, "/wa", b"p3")
    a.events()
    # closing a session fires deletes of its ephemerals
    e = Conn(t, "E")
    create(e, "/wa/eph", flags=1)
    exists(a, "/wa/eph", True)
    e.close()
    a.events()
    a.close()
    b.close()


@scenario
def setwatches_replay(t):
    a, b = Conn(t, "A"), Conn(t, "B")
    create(b, "/sw")
    for n in ("d", "dd", "c", "cd", "same"):
        create(b, "/sw/" + n, b"0")
    exists(a, "/sw", False)
    rel = a.lastzxid
    sess, pw = a.session, a.passwd
    a.drop()
    setdata(b, "/sw/d", b"1")
    delete(b, "/sw/dd")
    create(b, "/sw/c/kid")
    delete(b, "/sw/cd")
    create(b, "/sw/born")
    a2 = Conn(t, "A2", session=sess, passwd=pw, lastzxid=rel)
    sw = (i64(rel) + strvec(["/sw/d", "/sw/dd", "/sw/same"]) +
          strvec(["/sw/born", "/sw/unborn", "/sw/same"]) +
          strvec(["/sw/c", "/sw/cd", "/sw/same"]))
    a2.call(SETWATCHES, sw, xid=-8, label="setWatches")
    setdata(b, "/sw/same", b"1")
    create(b, "/sw/unborn")
    a2.events()
    rel = a2.lastzxid
    a2.drop()
    create(b, "/sw/p")
    a3 = Conn(t, "A3", session=sess, passwd=pw, lastzxid=rel)
    sw2 = (i64(rel) + strvec([]) + strvec([]) + strvec([]) +
           strvec(["/sw/p"]) + strvec(["/sw/c"]))
    a3.call(SETWATCHES2, sw2, xid=-8, label="setWatches2")
    setdata(b, "/sw/p", b"1")
    setdata(b, "/sw/p", b"2")
    create(b, "/sw/c/kid/deep")
    a3.events()
    a3.close()
    Conn(t, "A4", session=sess, passwd=pw)               # closed: expired
    b.close()
    # wrong password (Apache also kicks C's live connection: a quirk, so
    # C is not used again)
    c = Conn(t, "C")
    Conn(t, "C2", session=c.session, passwd=b"\1" * 16)
    Conn(t, "C3", session=c.session, passwd=c.passwd).close()


@scenario
def ephemerals_counts(t):
    a, b = Conn(t, "A"), Conn(t, "B")
    create(a, "/ec")
    create(a, "/ec/x")
    create(a, "/ec/x/y")
    create(a, "/ec/e1", flags=1)
    create(a, "/ec/x/e2", flags=1)
    create(a, "/ecz", flags=1)
    create(b, "/ec/b1", flags=1)
    a.call(GETEPHEMERALS, buf("/ec"), children, label="getEphemerals:/ec")
    a.call(GETEPHEMERALS, buf("/ec/x"), children, label="getEphemerals:/ec/x")
    a.call(GETEPHEMERALS, buf("/nomatch"), children, label="getEphemerals:none")
    b.call(GETEPHEMERALS, buf("/ec"), children, label="getEphemerals:B")
    a.call(GETALLCHILDREN, buf("/ec"), lambda r: r.int(), label="count:/ec")
    a.call(GETALLCHILDREN, buf("/ec/x/y"), lambda r: r.int(), label="count:leaf")
    a.call(GETALLCHILDREN, buf("/nope"), lambda r: r.int(), label="count:none")
    a.call(SYNC, buf("/ec"), path_of, label="sync")
    a.call(SYNC, buf("/nope"), path_of, label="sync-missing")
    a.call(WHOAMI, parse=whoami, label="whoAmI")
    a.close()
    b.call(GETEPHEMERALS, buf("/"), children, label="getEphemerals:/")
    getchildren(b, "/ec")
    b.close()


@scenario
def pipelined(t):
    """Reads and writes of one session sent at once: replies in order, each
    read sees the writes sent before it, events before the reply of the
    write that fired them; a second session pipelines against the first."""
    a, b = Conn(t, "A"), Conn(t, "B")
    create(a, "/pl")

    def cr(path, data=b""):
        return (CREATE, create_rec(path, data), path_of, "create:" + path)

    def gd(path, watch=False):
        return (GETDATA, buf(path) + boolean(watch), data_stat, "getData:" + path)

    def sd(path, data, version=-1):
        return (SETDATA, buf(path) + buf(data) + i32(version), stat_of,
                "setData:" + path)

    def ex(path, watch=False):
        return (EXISTS, buf(path) + boolean(watch), stat_of, "exists:" + path)

    def gc(path, watch=False):
        return (GETCHILDREN, buf(path) + boolean(watch), children,
                "getChildren:" + path)

    def dl(path, version=-1):
        return (DELETE, buf(path) + i32(version), None, "delete:" + path)

    a.pipeline([gd("/pl", True), cr("/pl/k", b"0"), gd("/pl/k", True),
                sd("/pl/k", b"1"), gd("/pl/k"), ex("/pl/x", True),
                gc("/pl", True), cr("/pl/x"), gc("/pl"), ex("/pl/x"),
                sd("/pl/k", b"2", 1), sd("/pl/k", b"3", 1), gd("/pl/k"),
                (SYNC, buf("/pl"), path_of, "sync"), gd("/pl/k"),
                dl("/pl/x"), ex("/pl/x"), gd("/pl", True)])
    b.pipeline([gd("/pl/k", True), sd("/pl", b"b"), gc("/pl")])
    a.events()
    a.pipeline([(MULTI, mh(CREATE) + create_rec("/pl/m") + mh(SETDATA) +
                 buf("/pl/k") + buf(b"m") + i32(-1) + MEND, multi_results,
                 "multi"),
                (MULTIREAD, mh(GETDATA) + buf("/pl/k") + boolean(False) +
                 mh(GETCHILDREN) + buf("/pl") + boolean(False) + MEND,
                 multi_results, "multiRead"),
                dl("/pl/m"), gc("/pl")])
    b.events()
    a.close()
    b.close()


def fourletter(addr, word):
    s = socket.create_connection(addr, timeout=10)
    s.sendall(word.encode())
    out = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        out += c
    s.close()
    return out.decode("utf-8", "replace")


def shape(text):
    """Keys of a 4lw answer, values masked."""
    import re
    out = []
    for line in text.split("\n"):
        m = re.match(r"^([A-Za-z_. /]+?)\s*[:=\t]", line)
        line = m.group(1) if m else re.sub(r"0x[0-9a-f]+|[0-9]+", "#", line)
        if out and line == out[-1] and line.startswith(" /"):
            continue                # one line per connection: collapse
        out.append(line)
    return out


@scenario
def fourletterwords(t):
    a = Conn(t, "A")
    create(a, "/fl")
    getdata(a, "/fl", True)
    for w in ("ruok", "isro", "gtmk", "crst", "srst"):
        t.log.append(("4lw", w, fourletter(t.addr, w)))
    for w in ("srvr", "stat", "wchs", "dirs"):
        t.log.append(("4lw", w, tuple(shape(fourletter(t.addr, w)))))
    # conf's key order is an Apache quirk
    t.log.append(("4lw", "conf", tuple(sorted(shape(fourletter(t.addr, "conf"))))))
    wchc = fourletter(t.addr, "wchc")
    t.log.append(("4lw", "wchc", wchc.replace("0x%x" % a.session, "S1")))
    wchp = fourletter(t.addr, "wchp")
    t.log.append(("4lw", "wchp", wchp.replace("0x%x" % a.session, "S1")))
    mntr = dict(l.split("\t", 1) for l in fourletter(t.addr, "mntr").splitlines() if "\t" in l)
    for k in ("zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency",
              "zk_min_latency", "zk_packets_received", "zk_packets_sent",
              "zk_num_alive_connections", "zk_outstanding_requests",
              "zk_znode_count", "zk_watch_count", "zk_ephemerals_count",
              "zk_approximate_data_size", "zk_open_file_descriptor_count",
              "zk_max_file_descriptor_count", "zk_global_sessions",
              "zk_local_sessions", "zk_uptime"):
        t.log.append(("mntr", k, k in mntr))
    t.log.append(("mntr", "zk_server_state", mntr.get("zk_server_state")))
    t.log.append(("mntr", "zk_watch_count", mntr.get("zk_watch_count")))
    t.log.append(("4lw", "abcd", fourletter(t.addr, "abcd")))
    a.close()


# ---------------------------------------------------------------- servers

_taken = set()


def free_port():
    """A port nobody listens on, never one handed out before (the two
    servers start at once: the first has not bound its port yet)."""
    while True:  # below the ephemeral range: t/freeport.py
        p = int(subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(
                os.path.abspath(__file__)), "..", "freeport.py")],
            stdout=subprocess.PIPE, text=True, check=True).stdout)
        if p not in _taken:
            _taken.add(p)
            return p


def write_cfg(d, port, extra):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    path = os.path.join(d, "zoo.cfg")
    with open(path, "w") as f:
        f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\n"
                "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n"
                "4lw.commands.whitelist=*\n%s" % (d, port, extra))
    return path


def start_apache(d):
    port = free_port()
    cfg = write_cfg(d, port, "admin.enableServer=false\n")
    log = open(os.path.join(d, "server.log"), "wb")
    p = subprocess.Popen(
        ["java", "-cp", JAVA_CP, "-Dzookeeper.extendedTypesEnabled=true",
         "-Dznode.container.checkIntervalMs=%d" % CHECK_MS,
         "-Dzookeeper.DigestAuthenticationProvider.superDigest=" + SUPER,
         "-Dzookeeper.log.dir=" + d, "-Dzookeeper.root.logger=INFO,CONSOLE",
         "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        cwd=d, start_new_session=True)
    return p.pid, port


def start_zk(d):
    if os.environ.get("ZKDIFF_ZK") == "apache":    # self-test: Apache twice
        return start_apache(d)
    port = free_port()
    cfg = write_cfg(d, port, "zookeeper.extendedTypesEnabled=true\n"
                    "znode.container.checkIntervalMs=%d\n"
                    "zookeeper.DigestAuthenticationProvider.superDigest=%s\n"
                    % (CHECK_MS, SUPER))
    node = os.path.join(os.environ.get("ZK_BIN", os.path.join(TOP, "cmd")), "zk-node")
    log = open(os.path.join(d, "server.log"), "wb")
    p = subprocess.Popen([node, cfg], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, cwd=d, start_new_session=True)
    return p.pid, port


def wait_ready(port, pid, secs=60):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "exited"
        try:
            if fourletter(("127.0.0.1", port), "ruok") == "imok":
                # and a session can be made
                t = Transcript(("127.0.0.1", port))
                Conn(t, "probe").close()
                return None
        except (OSError, Closed, ValueError, struct.error):
            pass
        time.sleep(0.2)
    return "not ready after %ds" % secs


def stop_pid(pid):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.05)
        else:
            continue
        break
    try:
        os.killpg(pid, signal.SIGKILL)        # the server's own group
    except (ProcessLookupError, PermissionError):
        pass


def cmd_start(d):
    os.makedirs(d, exist_ok=True)
    servers = {}
    for name, fn in (("apache", start_apache), ("zk", start_zk)):
        sd = os.path.join(d, name)
        os.makedirs(sd, exist_ok=True)
        pid, port = fn(sd)
        with open(os.path.join(d, name + ".pid"), "w") as f:
            f.write("%d\n" % pid)
        with open(os.path.join(d, name + ".port"), "w") as f:
            f.write("%d\n" % port)
        servers[name] = (pid, port)
    bad = 0
    for name, (pid, port) in servers.items():
        why = wait_ready(port, pid)
        if why:
            sys.stderr.write("zkdiff: %s server %s; log %s/%s/server.log\n"
                             % (name, why, d, name))
            bad = 1
    return bad


def cmd_stop(d):
    for name in ("apache", "zk"):
        try:
            with open(os.path.join(d, name + ".pid")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            continue
        stop_pid(pid)
        os.unlink(os.path.join(d, name + ".pid"))
    return 0


def transcript(port, name):
    t = Transcript(("127.0.0.1", port))
    try:
        SCENARIOS[name](t)
    except (Closed, OSError, ValueError, struct.error) as e:
        t.log.append(("aborted", type(e).__name__))
    return t.render()


def cmd_run(d, names):
    ports = {}
    for name in ("apache", "zk"):
        with open(os.path.join(d, name + ".port")) as f:
            ports[name] = int(f.read())
    rc = 0
    for n in names:
        if n not in SCENARIOS:
            sys.stderr.write("zkdiff: no scenario %s\n" % n)
            return 64
        want = transcript(ports["apache"], n)
        got = transcript(ports["zk"], n)
        if want != got:
            rc = 1
            print("zkdiff: %s: zk differs from Apache" % n)
            sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
                want, got, "apache", "zk", lineterm="", n=3))
        else:
            print("zkdiff: %s: same (%d records)" % (n, len(want)))
    return rc


def main(argv):
    if len(argv) >= 1 and argv[0] == "list":
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) == 2 and argv[0] == "start":
        return cmd_start(argv[1])
    if len(argv) == 2 and argv[0] == "stop":
        return cmd_stop(argv[1])
    if len(argv) >= 3 and argv[0] == "run":
        return cmd_run(argv[1], argv[2:])
    if len(argv) >= 1 and argv[0] == "all":
        d = tempfile.mkdtemp(prefix="zkdiff.")
        try:
            rc = cmd_start(d)
            if rc == 0:
                rc = cmd_run(d, argv[1:] or list(SCENARIOS))
        finally:
            cmd_stop(d)
        return rc
    sys.stderr.write("usage: zkdiff.py start DIR | run DIR NAME... | stop DIR "
                     "| list | all [NAME...]\n")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
