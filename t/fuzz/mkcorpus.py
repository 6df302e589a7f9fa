#!/usr/bin/python3
"""Write the fuzzers' seed corpora: t/fuzz/corpus-req (request frame
bodies, jute, no length prefix), t/fuzz/corpus-line (internal lines),
t/fuzz/corpus-sasl (DIGEST-MD5 digest-responses) and t/fuzz/corpus-seg
(log segments after fuzz-seg's flags and name bytes, and an epochs
file's block).

    /usr/bin/python3 t/fuzz/mkcorpus.py      (from the top of the tree)
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\1" if v else b"\0"


def buf(b):
    if b is None:
        return i32(-1)
    if isinstance(b, str):
        b = b.encode()
    return i32(len(b)) + b


def strvec(v):
    return i32(len(v)) + b"".join(buf(s) for s in v)


def acls(v):
    return i32(len(v)) + b"".join(i32(p) + buf(s) + buf(i) for p, s, i in v)


OPEN = [(31, "world", "anyone")]
MIXED = [(1, "world", "anyone"), (31, "digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="),
         (3, "ip", "127.0.0.1/8"), (31, "auth", "")]


def hdr(xid, op):
    return i32(xid) + i32(op)


def create(path, data, acl, flags):
    return buf(path) + buf(data) + acls(acl) + i32(flags)


reqs = {
    "create": hdr(1, 1) + create("/a", "hi", OPEN, 0),
    "create-seq-eph": hdr(2, 1) + create("/a/b-", b"\0\n \\x", MIXED, 3),
    "create-null-data": hdr(3, 1) + create("/n", None, OPEN, 0),
    "create2": hdr(4, 15) + create("/c2", "", OPEN, 0),
    "createContainer": hdr(5, 19) + create("/cont", "", OPEN, 4),
    "createTTL": hdr(6, 21) + create("/ttl", "x", OPEN, 5) + i64(5000),
    "delete": hdr(7, 2) + buf("/a") + i32(-1),
    "exists": hdr(8, 3) + buf("/a") + boolean(True),
    "getData": hdr(9, 4) + buf("/a") + boolean(False),
    "setData": hdr(10, 5) + buf("/a") + buf(bytes(range(256))) + i32(3),
    "getACL": hdr(11, 6) + buf("/a"),
    "setACL": hdr(12, 7) + buf("/a") + acls(MIXED) + i32(-1),
    "getChildren": hdr(13, 8) + buf("/") + boolean(True),
    "sync": hdr(14, 9) + buf("/"),
    "ping": hdr(-2, 11),
    "getChildren2": hdr(15, 12) + buf("/a") + boolean(False),
    "check": hdr(16, 13) + buf("/a") + i32(2),
    "checkWatches": hdr(17, 17) + buf("/a") + i32(3),
    "removeWatches": hdr(18, 18) + buf("/a") + i32(1),
    "getEphemerals": hdr(19, 103) + buf("/"),
    "getAllChildrenNumber": hdr(20, 104) + buf("/"),
    "addWatch": hdr(21, 106) + buf("/w") + i32(1),
    "whoAmI": hdr(22, 107),
    "closeSession": hdr(23, -11),
    "auth": hdr(-4, 100) + i32(0) + buf("digest") + buf("alice:secret"),
    "setWatches": hdr(-8, 101) + i64(0x10) + strvec(["/a", "/b"]) +
    strvec(["/e"]) + strvec(["/"]),
    "setWatches2": hdr(-8, 105) + i64(0x10) + strvec(["/a"]) + strvec([]) +
    strvec(["/c"]) + strvec(["/p"]) + strvec(["/r", "/r/s"]),
    "truncated": hdr(24, 1) + buf("/a")[:5],
    "unknown-op": hdr(25, 99) + buf("/a"),
    "bad-length": hdr(26, 4) + i32(-7) + b"/a",
}


def multihdr(op, done, err):
    return i32(op) + boolean(done) + i32(err)


reqs["multi"] = (hdr(30, 14)
                 + multihdr(1, False, -1) + create("/m", "x", OPEN, 0)
                 + multihdr(13, False, -1) + buf("/m") + i32(0)
                 + multihdr(5, False, -1) + buf("/m") + buf("y") + i32(-1)
                 + multihdr(2, False, -1) + buf("/m") + i32(-1)
                 + multihdr(15, False, -1) + create("/m2", "", OPEN, 2)
                 + multihdr(21, False, -1) + create("/t", "", OPEN, 5) + i64(100)
                 + multihdr(-1, True, -1))
reqs["multiRead"] = (hdr(31, 22)
                     + multihdr(4, False, -1) + buf("/a")
                     + multihdr(8, False, -1) + buf("/")
                     + multihdr(-1, True, -1))
reqs["multi-bad-subop"] = (hdr(32, 14)
                           + multihdr(4, False, -1) + buf("/a") + boolean(False)
                           + multihdr(-1, True, -1))

lines = {
    "create": b"create session=0x1 xid=3 auth=ip:127.0.0.1 path=/a data=hi acl=31:world:anyone flags=0",
    "committed": b"create zxid=0x5 time=1700000000123 session=0x1 xid=3 auth=ip:127.0.0.1 path=/a\\sb data=\\000\\n\\\\ acl=31:world:anyone flags=0",
    "multi": b"multi session=0x1 xid=9 auth=ip:127.0.0.1 op=create path=/a data=x acl=31:world:anyone flags=0 op=check path=/a version=0 op=delete path=/b version=-1",
    "reply": b"r session=0x1 xid=4 zxid=0x6 err=0 path=/a stat=0x5,0x6,100,200,1,2,3,0x0,4,5,0x7",
    "stat": b"0x5,0x6,1700000000123,1700000000123,1,2,3,-0x1,4,5,0x7",
    "events": b"ev session=0x1 type=3 path=/a\nclosed session=0x1\nready zxid=0x5\n",
    "text": b"text word=wchc data=0x1\\n\\t/a\\n",
    "bad": b"verb novalue \\q k=\\777",
}

# digest-responses for fuzz-sasl ("@N": the challenge's nonce), right in
# every part but the response itself, and a few that fail earlier
R = b"0123456789abcdef0123456789abcdef"
sasl = {
    "full": b'charset=utf-8,username="alice",realm="zk-sasl-md5",nonce="@N",'
            b'nc=00000001,cnonce="c0ffee",digest-uri="zookeeper/zk-sasl-md5",'
            b'maxbuf=65536,response=' + R + b',qop=auth',
    "spaces": b' username = "bob" , nonce="@N",nc=00000001 ,, cnonce=x,'
              b'digest-uri="zookeeper/zk-sasl-md5",response=' + R,
    "quoted": b'username="al\\"ice",nonce="@N",nc=00000001,cnonce="a,b",'
              b'digest-uri="zookeeper/zk-sasl-md5",response="' + R + b'"',
    "twice": b'username=alice,username=bob,nonce="@N"',
    "authzid": b'username=alice,nonce="@N",nc=00000001,cnonce=c,'
               b'digest-uri=zookeeper/zk-sasl-md5,authzid="bob",response=' + R,
    "empty": b"",
}



def crc32c(b):
    crc = 0xffffffff
    for c in b:
        crc ^= c
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def record(z, extra=b""):
    line = b"create zxid=0x%x time=1700000000123 session=0x1 xid=%d " \
        b"path=/n%d data=hi acl=31:world:anyone flags=0%s\n" % (z, z, z, extra)
    return struct.pack(">II", len(line), crc32c(line)) + line


def segment(flags, first, body, zeros=64):
    return bytes([flags, first]) + body + b"\0" * zeros


three = record(5) + record(6) + record(7)
flipped = bytearray(three)
flipped[len(record(5)) + 20] ^= 0x20
flippedlast = bytearray(three)
flippedlast[-3] ^= 0x20
segs = {
    "good": segment(1, 5, three),
    "good-floor": segment(1 | 2 | 5 << 2, 5, three),
    "gap": segment(1 | 2 | 2 << 2, 5, three),
    "torn": segment(1, 5, three[:-7], 0),
    "torn-not-last": segment(0, 5, three[:-7], 0),
    "flipped": segment(1, 5, bytes(flipped)),
    "flipped-last": segment(1, 5, bytes(flippedlast)),
    "after-end": segment(1, 5, record(5) + b"\0" * 16 + record(6), 0),
    "wrong-name": segment(1, 4, three),
    "skips": segment(1, 5, record(5) + record(7)),
    "no-zxid": segment(1, 5, struct.pack(">II", 6, crc32c(b"check\n")) +
                       b"check\n"),
    "empty": segment(1, 1, b"", 0),
}
# an epochs file's block (libzk/epochs.c), which fuzz-seg also tries
eline = b"zk-epochs 1 seq=3 accepted=5 current=4"
eblock = eline + b" crc=%08x\n" % crc32c(eline)
segs["epochs-block"] = eblock + b"\0" * (4096 - len(eblock))

for name, corpus in (("corpus-req", reqs), ("corpus-line", lines),
                     ("corpus-sasl", sasl), ("corpus-seg", segs)):
    d = os.path.join(here, name)
    os.makedirs(d, exist_ok=True)
    for k, v in corpus.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
