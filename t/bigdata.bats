#!/usr/bin/env bats
# Values near jute.maxbuffer through a whole node (zk-tree's text stream,
# zk-gate's frames): every byte value survives, and replies and events
# written behind a client that reads slowly keep their framing.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

setup_file() {
	node_start "$BATS_FILE_TMPDIR/node"
}

teardown_file() {
	node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
}

# python with fakepeers.py's client helpers and kazoo; the script on stdin
zkpy() {
	TDIR=$BATS_TEST_DIRNAME /usr/bin/python3 -c "import sys, os, struct, time
sys.path.insert(0, os.environ['TDIR'])
from fakepeers import *
from kazoo.client import KazooClient
PORT = int(os.environ['PORT'])
# half text, half every byte value: both of zkl_escape's paths
BIG = b'abcdefghij' * 50000 + bytes(i % 256 for i in range(500000))
def kazoo():
    zk = KazooClient(hosts='127.0.0.1:%d' % PORT, timeout=10)
    zk.start()
    return zk
$(cat)"
}

@test "a value of 1 MB with every byte value: create, get, set, get again, children" {
	run -0 zkpy <<'EOF'
zk = kazoo()
zk.create("/big1", BIG)
d, st = zk.get("/big1")
print(d == BIG, st.dataLength)
zk.set("/big1", BIG[::-1])
d, st = zk.get("/big1")
print(d == BIG[::-1], st.version)
zk.create("/big1/" + "c" * 200)
print(zk.get_children("/big1") == ["c" * 200])
zk.stop()
EOF
	assert_output $'True 1000000\nTrue 1\nTrue'
}

@test "20 pipelined 1 MB getData and an event to a client with a 4 kB receive buffer: all whole, in order" {
	run -0 zkpy <<'EOF'
zk = kazoo()
zk.create("/big2", BIG)
zk.create("/w", b"0")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(30)
s.connect(("127.0.0.1", PORT))
s.sendall(connreq())
recvframe(s)
s.sendall(req(1, 3, ustr("/w") + b"\1"))	# exists, watch
print("exists", hdr(recvframe(s))[2])
s.sendall(b"".join(req(x, 4, ustr("/big2") + b"\0") for x in range(2, 22)))
time.sleep(1)			# the gate's output fills and slides
zk.set("/w", b"1")		# the event lands behind the replies
zk.stop()
good = events = 0
for _ in range(21):
    time.sleep(0.01)
    r = recvframe(s)
    xid, zxid, err = hdr(r)
    if xid == -1:
        t, st, plen = struct.unpack(">iii", r[16:28])
        events += t == 3 and r[28:28 + plen] == b"/w"
        continue
    n = struct.unpack(">i", r[16:20])[0]
    good += (xid == good + 2 and err == 0 and n == len(BIG) and
        r[20:20 + n] == BIG and len(r) == 20 + n + 68)
print("replies", good, "events", events)
EOF
	assert_output $'exists 0\nreplies 20 events 1'
}
