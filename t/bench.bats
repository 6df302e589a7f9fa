#!/usr/bin/env bats
# contrib/bench/zk-null, the do-nothing server the bench's floor is
# measured on: its canned replies, in order, with and without -f (its
# records, made durable before the replies), and its usage.  A raw client
# speaks to it through the client helpers of t/fakepeers.py.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

NULL="$BATS_FILE_TMPDIR/zk-null"
USAGE="usage: zk-null [-f file] -p port"

setup_file() {
	cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
	    -fsanitize=address,undefined -o "$BATS_FILE_TMPDIR/zk-null" \
	    "$BATS_TEST_DIRNAME/../contrib/bench/zk-null.c"
}

setup() {
	export TDIR="$BATS_TEST_DIRNAME"
	export F="$BATS_TEST_TMPDIR/log"
	NULLPID=
}

teardown() {
	node_stop "$NULLPID"
}

# start_null [zk-null options...]: on a free port, PORT and NULLPID set
start_null() {
	local i

	PORT=$(freeport)
	export PORT
	"$NULL" -p "$PORT" "$@" 2>"$BATS_TEST_TMPDIR/null.err" &
	NULLPID=$!
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
		kill -0 "$NULLPID" || return 1
		sleep 0.05
	done
	return 1
}

# the script on stdin, in python, with the client helpers of
# t/fakepeers.py and these
zkpy() {
	python3 -c "import os, sys
sys.path.insert(0, os.environ['TDIR'])
from fakepeers import *
PORT, F = int(os.environ['PORT']), os.environ['F']

def setdata(xid, path):
    return req(xid, 5, ustr(path) + ustr(b'v' * 100) + struct.pack('>i', -1))

def getdata(xid, path):
    return req(xid, 4, ustr(path) + b'\0')

def replies(s, n):
    for _ in range(n):
        r = recvframe(s)
        print(*hdr(r)[::2], len(r) - 16)

def setget(path):
    \"\"\"a session, a setData and a getData of path: the socket\"\"\"
    s = connect(PORT)
    s.sendall(connreq())
    r = recvframe(s)
    print(len(r), struct.unpack('>iiq', r[:16]))
    s.sendall(setdata(1, path))
    replies(s, 1)
    s.sendall(getdata(2, path))
    replies(s, 1)
    return s
$(cat)"
}

# the server still up, and no sanitizer report from it
null_ok() {
	kill -0 "$NULLPID"
	run cat "$BATS_TEST_TMPDIR/null.err"
	assert_output ""
}

@test "zk-null: a session, a setData and a getData" {
	start_null
	run zkpy <<'EOF'
setget("/a")
EOF
	assert_success
	assert_output $'37 (0, 10000, 1)\n1 0 68\n2 0 172'
	null_ok
}

@test "zk-null -f: the writes' records in the file, their replies after them" {
	start_null -f "$F"
	run zkpy <<'EOF'
s = setget("/null-f")
s.sendall(req(3, -11))
replies(s, 1)
print(closed(s))
# the records: the frames of the ConnectRequest, the setData and the
# closeSession, one after the other from offset 0; the getData none
recs = connreq() + setdata(1, "/null-f") + req(3, -11)
with open(F, "rb") as f:
    b = f.read(len(recs) + 64)
print(b[:len(recs)] == recs, b[len(recs):] == bytes(64))
print(os.path.getsize(F))
EOF
	assert_success
	assert_output $'37 (0, 10000, 1)\n1 0 68\n2 0 172\n3 0 0\nTrue\nTrue True\n67108864'
	null_ok
}

@test "zk-null: pipelined requests answered in order, with and without -f" {
	for opt in "" "-f $F"; do
		# shellcheck disable=SC2086
		start_null $opt
		run zkpy <<'EOF'
s = connect(PORT)
b = connreq()
for xid in range(1, 41):
    b += setdata(xid, "/p%d" % xid) if xid % 3 else getdata(xid, "/p")
b += req(41, 1, ustr("/new") + ustr(b"x") + struct.pack(">i", 0) +
         struct.pack(">i", 0))
b += req(42, 2, ustr("/new") + struct.pack(">i", -1))
b += req(43, 3, ustr("/p") + b"\0")
s.sendall(b)
print(len(recvframe(s)))
replies(s, 43)
EOF
		assert_success
		assert_line -n 0 37
		for xid in $(seq 1 40); do
			if [ $((xid % 3)) -eq 0 ]; then
				assert_line -n "$xid" "$xid 0 172"
			else
				assert_line -n "$xid" "$xid 0 68"
			fi
		done
		assert_line -n 41 "41 0 8"
		assert_line -n 42 "42 0 0"
		assert_line -n 43 "43 0 68"
		null_ok
		node_stop "$NULLPID"
		NULLPID=
	done
}

@test "zk-null -f: a connection gone with its replies held harms no other" {
	start_null -f "$F"
	run zkpy <<'EOF'
for round in range(20):
    s = connect(PORT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.sendall(connreq() + b"".join(setdata(x, "/g") for x in range(1, 200)))
    s.close()               # a reset, the replies unread
s = connect(PORT)
s.sendall(connreq() + setdata(1, "/g"))
print(len(recvframe(s)))
replies(s, 1)
EOF
	assert_success
	assert_output $'37\n1 0 68'
	null_ok
}

@test "zk-null: a bad option or no port is a usage error" {
	run -64 "$NULL" -x
	assert_line "$USAGE"
	run -64 "$NULL"
	assert_output "$USAGE"
	run -64 "$NULL" -f "$F"
	assert_output "$USAGE"
	run -64 "$NULL" -p 1 extra
	assert_output "$USAGE"
}
