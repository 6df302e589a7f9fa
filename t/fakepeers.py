#!/usr/bin/python3
"""Fake zk-tree, zk-log and zk-sessiond for testing zk-gate alone.

    fakepeers.py RUNDIR            serve tree.sock, log.sock, sess.sock

Every line received is appended to RUNDIR/peers.log as "<sock> <line>".
Canned behaviour (see t/zk-gate.bats):
  tree: answers `hello` with `ready zxid=0x5`; reads and sync get fixed
        answers; getData /ev first sends a watch event; getData /slow is
        answered after 0.5 s; `gone` is echoed, 0.3 s late and after an
        event (/old) for its session when getData /arm came before;
        getData /bad gets a reply the gate cannot encode; getData /big
        gets 1 MB of data; getData /flood first sends 20000 events of
        a 1000-byte path; `stats` and `text` get fixed text.
  log:  every write becomes an `r` from tree with the next zxid; a read
        or sync (sent behind a write) is answered as tree answers it,
        in order (anything else is logged as "log.sock NOT A TXN");
        a create of /slow is answered after 0.5 s; a create
        of /fail gets `fail` back on the log connection, as zk-log
        answers a write it could not store; setData /expire sends
        `closed session=..` instead; closeSession sends r then closed.
  sess: mints sessions 0x100000000000001.., password 00..0f, clamps the
        timeout to 4000..40000; attach checks the password.

Imported by the tests for the client helpers at the bottom.
"""
import os
import re
import socket
import struct
import sys
import threading
import time

READS = ("exists", "getData", "getACL", "getChildren", "getChildren2",
         "getAllChildrenNumber", "getEphemerals", "multiRead",
         "checkWatches", "removeWatches", "addWatch", "setWatches",
         "setWatches2")
STAT = "0x5,0x6,1700000000000,1700000000001,1,2,3,0x0,5,0,0x7"


def esc(s):
    out = []
    for b in s.encode() if isinstance(s, str) else s:
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == " ":
            out.append("\\s")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 0x21 <= b < 0x7f:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return "".join(out)


def parse(line):
    parts = line.split(" ")
    fields = []
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            fields.append((k, v))
    return parts[0], fields


def get(fields, key, default=None):
    for k, v in fields:
        if k == key:
            return v
    return default


class Peers:
    def __init__(self, rundir):
        self.rundir = rundir
        self.lock = threading.Lock()
        self.tree = None
        self.zxid = 5
        self.arm = False
        self.nextsess = 0x100000000000001
        self.sessions = {}
        self.logf = open(os.path.join(rundir, "peers.log"), "a")

    def log(self, who, line):
        with self.lock:
            self.logf.write("%s %s\n" % (who, line))
            self.logf.flush()

    def send_tree(self, line):
        with self.lock:
            self.tree.sendall((line + "\n").encode())
            self.logf.write("sent %s\n" % line[:400])   # big values cut
            self.logf.flush()

    def serve(self, name, handler):
        path = os.path.join(self.rundir, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(4)

        def run():
            while True:
                c, _ = s.accept()
                threading.Thread(target=self.conn, args=(name, c, handler),
                                 daemon=True).start()
        threading.Thread(target=run, daemon=True).start()

    def conn(self, name, c, handler):
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                return
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.decode("latin-1")
                self.log(name, line)
                handler(c, line)

    def on_tree(self, c, line):
        verb, f = parse(line)
        if verb == "hello" and get(f, "role") == "shm":
            c.shutdown(socket.SHUT_RDWR)    # no ring: values in the lines
            return
        if verb == "hello":
            self.tree = c
            self.send_tree("ready zxid=0x%x" % self.zxid)
            return
        if verb == "stats":
            self.send_tree("stats nodes=5 watches=2 ephemerals=1 "
                           "datasize=42 zxid=0x%x sessions=1 watchpaths=2 "
                           "watchsessions=1" % self.zxid)
            return
        if verb == "text":
            w = get(f, "word")
            self.send_tree("text word=%s data=%s" %
                           (w, esc("%s from tree\n" % w)))
            return
        if verb == "gone":          # echoed, as zk-tree does
            if self.arm:            # an event of the gone connection first
                self.arm = False
                time.sleep(0.3)
                self.send_tree("ev session=%s type=3 path=/old" %
                               get(f, "session"))
            self.send_tree("gone session=%s" % get(f, "session"))
            return
        sess, xid = get(f, "session"), get(f, "xid")
        head = "r session=%s xid=%s zxid=0x%x" % (sess, xid, self.zxid)
        path = get(f, "path")
        if verb == "getData":
            if path == "/slow":
                time.sleep(0.5)
            if path == "/ev":
                self.send_tree("ev session=%s type=3 path=/ev" % sess)
            if path == "/arm":
                self.arm = True
            if path == "/bad":
                self.send_tree(head + " err=0 data=x")
                return
            if path == "/big":
                self.send_tree(head + " err=0 data=%s stat=%s" %
                               ("x" * (1 << 20), STAT))
                return
            if path == "/flood":
                ev = "ev session=%s type=3 path=/%s" % (sess, "f" * 999)
                for _ in range(20000):
                    self.send_tree(ev)
            if path == "/missing":
                self.send_tree(head + " err=-101")
                return
            self.send_tree(head + " err=0 data=%s stat=%s" %
                           (esc("data of " + path), STAT))
        elif verb == "exists":
            self.send_tree(head + " err=0 stat=" + STAT)
        elif verb == "sync":
            self.send_tree(head + " err=0 path=" + path)
        elif verb in ("getChildren",):
            self.send_tree(head + " err=0 child=a child=b")
        elif verb == "multiRead":
            self.send_tree(head + " err=0 op=getData err=0 data=x stat=" +
                           STAT + " op=error err=-101")
        else:
            self.send_tree(head + " err=0")

    def on_log(self, c, line):
        verb, f = parse(line)
        if verb == "hello":
            return
        if verb in READS or verb == "sync":
            self.on_tree(c, line)   # held behind the writes before it
            return
        if verb == "gone":
            self.log("log.sock", "NOT A TXN")
            return
        sess, xid, path = get(f, "session"), get(f, "xid"), get(f, "path")
        if verb == "create" and path == "/slow":
            time.sleep(0.5)
        if verb == "create" and path == "/fail":
            c.sendall(("fail session=%s xid=%s err=-1\n" %
                       (sess, xid)).encode())
            return
        if verb == "setData" and path == "/expire":
            self.send_tree("closed session=%s" % sess)
            return
        with self.lock:
            self.zxid += 1
            z = self.zxid
        head = "r session=%s xid=%s zxid=0x%x err=0" % (sess, xid, z)
        if verb == "create":
            self.send_tree(head + " path=" + path)
        elif verb in ("create2", "createContainer", "createTTL"):
            self.send_tree(head + " path=%s stat=%s" % (path, STAT))
        elif verb in ("setData", "setACL"):
            self.send_tree(head + " stat=" + STAT)
        elif verb == "multi":
            self.send_tree(head + " op=create err=0 path=/m op=setData "
                           "err=0 stat=" + STAT + " op=delete err=0")
        elif verb == "closeSession":
            self.send_tree(head)
            self.send_tree("closed session=%s" % sess)
        else:
            self.send_tree(head)

    def on_sess(self, c, line):
        verb, f = parse(line)
        if verb == "new":
            to = max(4000, min(40000, int(get(f, "timeout"))))
            with self.lock:
                sid = self.nextsess
                self.nextsess += 1
                self.sessions[sid] = "000102030405060708090a0b0c0d0e0f"
            c.sendall(("new conn=%s session=0x%x passwd=%s timeout=%d\n" %
                       (get(f, "conn"), sid, self.sessions[sid], to)
                       ).encode())
        elif verb == "attach":
            to = max(4000, min(40000, int(get(f, "timeout"))))
            sid = int(get(f, "session"), 16)
            ok = 1 if self.sessions.get(sid) == get(f, "passwd") else 0
            c.sendall(("attach conn=%s session=0x%x ok=%d timeout=%d\n" %
                       (get(f, "conn"), sid, ok, to)).encode())
        elif verb == "text":
            c.sendall(("text word=dump data=%s\n" %
                       esc("SessionTracker dump:\n")).encode())


def main():
    rundir = sys.argv[1]
    p = Peers(rundir)
    p.serve("tree.sock", p.on_tree)
    p.serve("log.sock", p.on_log)
    p.serve("sess.sock", p.on_sess)
    open(os.path.join(rundir, "peers.up"), "w").close()
    while True:
        time.sleep(3600)


# ---- client helpers for the tests ----

def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    return s


def frame(body):
    return struct.pack(">i", len(body)) + body


def ustr(s):
    if s is None:
        return struct.pack(">i", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">i", len(b)) + b


def connreq(sid=0, passwd=b"\0" * 16, timeout=10000, lastzxid=0, ro=True):
    b = struct.pack(">iqiq", 0, lastzxid, timeout, sid) + ustr(passwd)
    if ro:
        b += b"\0"
    return frame(b)


def req(xid, op, body=b""):
    return frame(struct.pack(">ii", xid, op) + body)


def createbody(path, flags=0):
    """A create request's body: null data, world:anyone, the create mode
    flags (0 persistent, 1 ephemeral, 4 container, 5 persistent with TTL:
    append the TTL)."""
    return (ustr(path) + ustr(None) + struct.pack(">i", 1) +
            struct.pack(">i", 31) + ustr("world") + ustr("anyone") +
            struct.pack(">i", flags))


def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += d
    return b


def recvframe(s):
    n = struct.unpack(">i", recvn(s, 4))[0]
    return recvn(s, n)


def closed(s):
    """True if the server closed the connection without sending more."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def session(port, timeout=10000):
    s = connect(port)
    s.sendall(connreq(timeout=timeout))
    r = recvframe(s)
    _, to, sid = struct.unpack(">iiq", r[:16])
    return s, sid, r[20:36]


def fourletter(port, word):
    """A four-letter word's whole answer."""
    m = socket.create_connection(("127.0.0.1", port))
    m.sendall(word.encode())
    out = b""
    while True:
        x = m.recv(65536)
        if not x:
            return out.decode()
        out += x


def hdr(r):
    return struct.unpack(">iqi", r[:16])


if __name__ == "__main__":
    main()
