#!/usr/bin/python3
"""Pipelined reads and writes from several sessions against one server,
every reply checked against a model: replies in request order, each read
seeing exactly the writes its session sent before it, the watch events
its reads set coming right before the reply of the write that fires
them.  Now and then a
session's connection is dropped with a batch in flight and the session
taken over by a new connection whose xids start at 1 again (as kazoo's
do); the model is then read back from the server.

    fifo-stress.py PORT [SEED [ROUNDS]]

Each session works in a directory of its own (/fifo/sN), so the model of
one session is exact.  Exit 0 when every reply matched; 1, with the first
mismatch, when one did not.  Standard library only.  The model is
Apache's: run against Apache ZooKeeper 3.8, it passes too.
"""
import random
import socket
import struct
import sys

CREATE, DELETE, EXISTS, GETDATA, SETDATA, GETCHILDREN = 1, 2, 3, 4, 5, 8
NONODE, NODEEXISTS = -101, -110
SESSIONS, KEYS, BATCH = 4, 5, 60


def ustr(b):
    if b is None:
        return struct.pack(">i", -1)
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">i", len(b)) + b


def frame(b):
    return struct.pack(">i", len(b)) + b


OPEN_ACL = struct.pack(">i", 1) + struct.pack(">i", 31) + ustr("world") + ustr("anyone")


class Conn:
    def __init__(self, port, sid=0, pw=b"\0" * 16):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.s.sendall(frame(struct.pack(">iqiq", 0, 0, 10000, sid) +
                             ustr(pw) + b"\0"))
        r = self.recv()
        _, _, self.sid = struct.unpack(">iiq", r[:16])
        self.pw = r[20:36]
        self.xid = 0
        self.events = []

    def recv(self):
        def exact(n):
            b = b""
            while len(b) < n:
                c = self.s.recv(n - len(b))
                if not c:
                    raise EOFError("closed by the server")
                b += c
            return b
        return exact(struct.unpack(">i", exact(4))[0])

    def send(self, reqs):
        out = b""
        xids = []
        for op, body in reqs:
            self.xid += 1
            xids.append(self.xid)
            out += frame(struct.pack(">ii", self.xid, op) + body)
        self.s.sendall(out)
        return xids

    def reply(self):
        """The next reply; the watch events before it pile up in events."""
        while True:
            r = self.recv()
            xid, _, err = struct.unpack(">iqi", r[:16])
            if xid != -1:
                return xid, err, r[16:]
            etype, _, n = struct.unpack(">iii", r[16:28])
            self.events.append((etype, r[28:28 + n].decode()))


class Model:
    """A session's directory d: its nodes and the watches it set there
    (Apache's: one data watch a path, set by getData or exists, and fired
    by create, setData or delete; child watches fired by a child's create
    or delete, after the child's own event)."""

    def __init__(self, d):
        self.d = d
        self.nodes = {}
        self.dwatch = set()
        self.cwatch = False

    def fire(self, k, etype, child):
        ev = []
        if k in self.dwatch:
            self.dwatch.discard(k)
            ev.append((etype, k))
        if child and self.cwatch:
            self.cwatch = False
            ev.append((4, self.d))
        return ev

    def op(self, rnd):
        """A random op: (op, body, expected reply, expected events)."""
        k = "%s/k%d" % (self.d, rnd.randrange(KEYS))
        w = rnd.randrange(2)
        c = rnd.random()
        if c < 0.2:
            v = b"c%d" % rnd.randrange(1000)
            if k in self.nodes:
                exp, ev = (NODEEXISTS, None), []
            else:
                self.nodes[k] = v
                exp, ev = (0, k), self.fire(k, 1, True)
            return (CREATE, ustr(k) + ustr(v) + OPEN_ACL + struct.pack(">i", 0),
                    exp, ev)
        if c < 0.4:
            v = b"s%d" % rnd.randrange(1000)
            if k in self.nodes:
                self.nodes[k] = v
                exp, ev = (0, None), self.fire(k, 3, False)
            else:
                exp, ev = (NONODE, None), []
            return SETDATA, ustr(k) + ustr(v) + struct.pack(">i", -1), exp, ev
        if c < 0.5:
            if k in self.nodes:
                del self.nodes[k]
                exp, ev = (0, None), self.fire(k, 2, True)
            else:
                exp, ev = (NONODE, None), []
            return DELETE, ustr(k) + struct.pack(">i", -1), exp, ev
        if c < 0.6:
            self.cwatch = self.cwatch or w == 1
            kids = sorted(x.rsplit("/", 1)[1] for x in self.nodes)
            return GETCHILDREN, ustr(self.d) + bytes([w]), (0, kids), []
        if c < 0.7:
            if w:
                self.dwatch.add(k)      # on a missing node too
            return EXISTS, ustr(k) + bytes([w]), \
                ((0, None) if k in self.nodes else (NONODE, None)), []
        if k in self.nodes:
            if w:
                self.dwatch.add(k)
            return GETDATA, ustr(k) + bytes([w]), (0, self.nodes[k]), []
        return GETDATA, ustr(k) + bytes([w]), (NONODE, None), []


def parse(op, err, body):
    if err != 0:
        return None
    if op == CREATE:
        n = struct.unpack(">i", body[:4])[0]
        return body[4:4 + n].decode()
    if op == GETDATA:
        n = struct.unpack(">i", body[:4])[0]
        return body[4:4 + n]
    if op == GETCHILDREN:
        n = struct.unpack(">i", body[:4])[0]
        out, p = [], 4
        for _ in range(n):
            m = struct.unpack(">i", body[p:p + 4])[0]
            out.append(body[p + 4:p + 4 + m].decode())
            p += 4 + m
        return sorted(out)
    return None


def resync(c, d):
    """The model of d read back from the server, watching all of it at
    once: the old connection's watches went with it, and its `gone` must
    not take these along."""
    c.send([(GETCHILDREN, ustr(d) + b"\1")])
    _, err, body = c.reply()
    kids = parse(GETCHILDREN, err, body)
    m = Model(d)
    m.cwatch = True
    for k in kids:
        c.send([(GETDATA, ustr(d + "/" + k) + b"\1")])
        _, err, body = c.reply()
        if err == 0:
            m.nodes[d + "/" + k] = parse(GETDATA, err, body)
            m.dwatch.add(d + "/" + k)
    c.events = []       # the old connection's, delivered before its gone
    return m


def main():
    port = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    rnd = random.Random(seed)
    setup = Conn(port)
    setup.send([(CREATE, ustr("/fifo") + ustr(None) + OPEN_ACL + struct.pack(">i", 0))])
    setup.reply()
    conns, models = [], []
    for i in range(SESSIONS):
        d = "/fifo/s%d-%d" % (i, seed)
        setup.send([(CREATE, ustr(d) + ustr(None) + OPEN_ACL + struct.pack(">i", 0))])
        xid, err, _ = setup.reply()
        if err != 0:
            print("setup: create %s: err %d" % (d, err))
            return 1
        conns.append(Conn(port))
        models.append(Model(d))
    checked = takeovers = 0
    for rd in range(rounds):
        sent = []
        for i, c in enumerate(conns):
            batch = [models[i].op(rnd) for _ in range(BATCH)]
            xids = c.send([(op, body) for op, body, _, _ in batch])
            sent.append(list(zip(xids, batch)))
            if rnd.random() < 0.1:      # drop it, its batch in flight
                c.s.close()
                n = Conn(port, c.sid, c.pw)
                if n.sid != c.sid:
                    print("takeover of 0x%x refused" % c.sid)
                    return 1
                conns[i] = n
                models[i] = resync(n, models[i].d)
                sent[i] = []
                takeovers += 1
        for i, c in enumerate(conns):
            for xid, (op, _, exp, ev) in sent[i]:
                rxid, err, body = c.reply()
                got = (err, parse(op, err, body))
                if rxid != xid or got != exp or c.events != ev:
                    print("round %d session %d: xid %d op %d: got xid %d %r "
                          "after events %r, expected %r after %r" %
                          (rd, i, xid, op, rxid, got, c.events, exp, ev))
                    return 1
                c.events = []
                checked += 1
    print("ok: %d replies checked, %d takeovers" % (checked, takeovers))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, OSError) as e:
        print("connection: %s" % e)
        sys.exit(1)
