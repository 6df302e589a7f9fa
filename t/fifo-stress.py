#!/usr/bin/python3
"""Pipelined reads and writes from several sessions against one server,
every reply checked against a model: replies in request order, each read
seeing exactly the writes its session sent before it.  Now and then a
session's connection is dropped with a batch in flight and the session
taken over by a new connection whose xids start at 1 again (as kazoo's
do); the model is then read back from the server.

    fifo-stress.py PORT [SEED [ROUNDS]]

Each session works in a directory of its own (/fifo/sN), so the model of
one session is exact.  Exit 0 when every reply matched; 1, with the first
mismatch, when one did not.  Standard library only.
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
        self.buf = b""

    def recv(self):
        def exact(n):
            b = b""
            while len(b) < n:
                c = self.s.recv(n - len(b))
                if not c:
                    raise EOFError("closed")
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
        while True:
            r = self.recv()
            xid, _, err = struct.unpack(">iqi", r[:16])
            if xid != -1:       # not a watch event
                return xid, err, r[16:]


def model_op(rnd, d, model):
    """A random op on session directory d: (op, body, expected)."""
    k = "%s/k%d" % (d, rnd.randrange(KEYS))
    c = rnd.random()
    if c < 0.2:
        v = b"c%d" % rnd.randrange(1000)
        exp = (NODEEXISTS, None) if k in model else (0, k)
        if k not in model:
            model[k] = v
        return CREATE, ustr(k) + ustr(v) + OPEN_ACL + struct.pack(">i", 0), exp
    if c < 0.4:
        v = b"s%d" % rnd.randrange(1000)
        exp = (0, None) if k in model else (NONODE, None)
        if k in model:
            model[k] = v
        return SETDATA, ustr(k) + ustr(v) + struct.pack(">i", -1), exp
    if c < 0.5:
        exp = (0, None) if k in model else (NONODE, None)
        model.pop(k, None)
        return DELETE, ustr(k) + struct.pack(">i", -1), exp
    if c < 0.6:
        kids = sorted(x.rsplit("/", 1)[1] for x in model)
        return GETCHILDREN, ustr(d) + b"\0", (0, kids)
    if c < 0.7:
        return EXISTS, ustr(k) + b"\0", ((0, None) if k in model else (NONODE, None))
    return GETDATA, ustr(k) + bytes([rnd.randrange(2)]), \
        ((0, model[k]) if k in model else (NONODE, None))


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
    """The model of d read back from the server."""
    c.send([(GETCHILDREN, ustr(d) + b"\0")])
    _, err, body = c.reply()
    kids = parse(GETCHILDREN, err, body)
    model = {}
    for k in kids:
        c.send([(GETDATA, ustr(d + "/" + k) + b"\0")])
        _, err, body = c.reply()
        model[d + "/" + k] = parse(GETDATA, err, body)
    return model


def main():
    port = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    rnd = random.Random(seed)
    setup = Conn(port)
    setup.send([(CREATE, ustr("/fifo") + ustr(None) + OPEN_ACL + struct.pack(">i", 0))])
    setup.reply()
    conns, models, dirs = [], [], []
    for i in range(SESSIONS):
        d = "/fifo/s%d-%d" % (i, seed)
        setup.send([(CREATE, ustr(d) + ustr(None) + OPEN_ACL + struct.pack(">i", 0))])
        xid, err, _ = setup.reply()
        if err != 0:
            print("setup: create %s: err %d" % (d, err))
            return 1
        conns.append(Conn(port))
        models.append({})
        dirs.append(d)
    checked = takeovers = 0
    for rd in range(rounds):
        sent = []
        for i, c in enumerate(conns):
            batch = [model_op(rnd, dirs[i], models[i]) for _ in range(BATCH)]
            xids = c.send([(op, body) for op, body, _ in batch])
            sent.append(list(zip(xids, batch)))
            if rnd.random() < 0.1:      # drop it, its batch in flight
                c.s.close()
                n = Conn(port, c.sid, c.pw)
                if n.sid != c.sid:
                    print("takeover of 0x%x refused" % c.sid)
                    return 1
                conns[i] = n
                models[i] = resync(n, dirs[i])
                sent[i] = []
                takeovers += 1
        for i, c in enumerate(conns):
            for xid, (op, _, exp) in sent[i]:
                rxid, err, body = c.reply()
                got = (err, parse(op, err, body))
                if rxid != xid or got != exp:
                    print("round %d session %d: xid %d op %d: got xid %d %r, "
                          "expected %r" % (rd, i, xid, op, rxid, got, exp))
                    return 1
                checked += 1
    print("ok: %d replies checked, %d takeovers" % (checked, takeovers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
