#!/usr/bin/env python3
# Write a small Apache ZooKeeper snapshot (FileSnap, uncompressed) as
# jute lays it out: the header, no sessions, no ACLs, the nodes given,
# the "/" end and one Adler32 seal.  Each node is PATH or PATH:CTR
# (the persisted cversion); the root "" comes first by itself.  Prints
# the byte offset where each node's record starts, one per line.
#	apsnap.py FILE NODE...
import struct
import sys
import zlib


def buf(b):
    return struct.pack('>i', len(b)) + b


def main():
    out = bytearray()
    out += struct.pack('>iiq', 0x5a4b534e, 2, 0)	# ZKSN, version, dbid
    out += struct.pack('>i', 0)				# sessions
    out += struct.pack('>i', 0)				# ACL cache
    offsets = []
    for spec in [''] + sys.argv[2:]:
        path, _, ctr = spec.partition(':')
        offsets.append(len(out))
        out += buf(path.encode())
        out += buf(b'some data')
        out += struct.pack('>q', -1)			# ACL: open
        out += struct.pack('>qqqq', 1, 1, 0, 0)		# czxid mzxid ctime mtime
        out += struct.pack('>iii', 0, int(ctr or 0), 0)	# version cversion aversion
        out += struct.pack('>qq', 0, 1)			# owner pzxid
    out += buf(b'/')
    out += struct.pack('>q', zlib.adler32(bytes(out)))
    out += buf(b'/')
    with open(sys.argv[1], 'wb') as f:
        f.write(out)
    for o in offsets[1:]:
        print(o)


main()
