#!/usr/bin/env bats
# zk-snap: every subcommand and exit status; zk-tree's snapshots end to
# end on a real node (started on a free port, stopped by pid).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

setup() {
	D=$BATS_TEST_TMPDIR
	SNAP=$ZK_BIN/zk-snap
	NODEPID=
}

teardown() {
	node_stop
	local p
	for p in $(pgrep -f -- "$D/" || true); do
		kill -9 "$p" 2>/dev/null || true
	done
}

# kz 'python with zk connected' : run kazoo code against $ZK_HOSTS
kz() {
	/usr/bin/python3 -c "
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts='$ZK_HOSTS', timeout=10); zk.start()
$1
zk.stop()"
}

# snapafter 'python' : run it with kz, then take a snapshot of the
# running node in $D/n; prints the snapshot's path
snapafter() {
	kz "$1" && "$SNAP" take "$D/n/data/rundir"
}

# fellback OLD NEW : start the node in $D/n again and check that it
# found snapshot NEW bad (said so once) and loaded OLD
fellback() {
	node_start "$D/n" snapCount=1000000
	run -0 grep -c "$2: .*not loaded, trying the one before" "$D/n/node.err"
	assert_output 1
	grep -q "loaded $1" "$D/n/node.err"
}

# a small snapshot as lines: 1 + 4 nodes, 1 session
lines() {
	cat <<-'EOF'
	# zk-snap 1 zxid=0x2a time=1700000000000
	node path=/ data= acl=31:world:anyone stat=0x0,0x0,0,0,0,1,0,0x0,0,3,0x5 ctr=2
	node path=/a data=hi\sthere acl=31:world:anyone stat=0x3,0x3,5,5,0,0,0,0x0,8,0,0x3 ctr=0
	node path=/e data= acl=1:world:anyone stat=0x5,0x5,5,5,0,0,0,0x1,0,0,0x5 ctr=0
	node path=/zookeeper data= acl=31:world:anyone stat=0x0,0x0,0,0,0,-2,0,0x0,0,2,0x0 ctr=0
	node path=/zookeeper/quota data= acl=31:world:anyone stat=0x0,0x0,0,0,0,0,0,0x0,0,0,0x0 ctr=0
	node path=/zookeeper/config data= acl=1:world:anyone stat=0x0,0x0,0,0,0,0,-1,0x0,0,0,0x0 ctr=0
	session session=0x1 timeout=10000 passwd=00ff eph=1
	end nodes=6 sessions=1
	EOF
}

newest() {
	"$SNAP" list "$1" | tail -n 1 | cut -d' ' -f1
}

@test "zk-snap: usage" {
	run -64 "$SNAP"
	assert_output --partial 'usage: zk-snap list dir'
	run -64 "$SNAP" frobnicate
	run -64 "$SNAP" cat
	run -64 "$SNAP" purge -n x "$D"
}

@test "zk-snap write, list, cat, verify: a round trip" {
	run -0 "$SNAP" write "$D/data" < <(lines)
	assert_output "$D/data/zk/snapshot.000000000000002a"
	run -0 "$SNAP" list "$D/data"
	assert_output --regexp "^$D/data/zk/snapshot.000000000000002a zxid=0x2a size=[0-9]+ date=[0-9T:-]+Z$"
	run -0 "$SNAP" verify "$D/data/zk/snapshot.000000000000002a"
	assert_output --partial 'ok zxid=0x2a nodes=6 sessions=1'
	"$SNAP" cat "$D/data/zk/snapshot.000000000000002a" >"$D/out"
	lines | diff - "$D/out"
	zstd -q -d -c "$D/data/zk/snapshot.000000000000002a" | diff - "$D/out"
	run -0 sh -c "'$SNAP' cat '$D/data/zk/snapshot.000000000000002a' | '$ZK_BIN/zk-tree' load -c"
	assert_output 'zxid=0x2a nodes=6 sessions=1 ephemerals=1 datasize=56 end=yes problems=0'
}

@test "zk-snap write: no header, no end line, bad counts: 65, no file" {
	run -65 "$SNAP" write "$D/data" < <(lines | sed 1d)
	run -65 "$SNAP" write "$D/data" < <(lines | sed '$d')
	assert_output --partial 'no end line'
	run -65 "$SNAP" write "$D/data" < <(lines | sed 's/end nodes=6/end nodes=7/')
	run -65 "$SNAP" write "$D/data" < <(lines; echo 'node path=/x')
	run -0 "$SNAP" list "$D/data"
	assert_output ''
	[ -z "$(ls "$D/data/zk")" ]
}

@test "zk-snap verify: flipped byte, truncated, missing end line are 65; none is 66" {
	"$SNAP" write "$D/data" < <(lines)
	f=$D/data/zk/snapshot.000000000000002a
	size=$(stat -c %s "$f")
	cp "$f" "$D/flip"
	printf '\377' | dd of="$D/flip" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	run -65 "$SNAP" verify "$D/flip"
	run -65 "$SNAP" cat "$D/flip"
	head -c $((size - 5)) "$f" >"$D/cut"
	run -65 "$SNAP" verify "$D/cut"
	assert_output --partial truncated
	lines | sed '$d' | zstd -q --check >"$D/noend"
	run -65 "$SNAP" verify "$D/noend"
	assert_output --partial 'no end line'
	: >"$D/empty"
	run -65 "$SNAP" verify "$D/empty"
	run -66 "$SNAP" verify "$D/nonexistent"
	run -66 "$SNAP" cat "$D/nonexistent"
	cp "$f" "$D/data/zk/snapshot.0000000000000001"
	run -65 "$SNAP" verify "$D/data/zk/snapshot.0000000000000001"
	assert_output --partial 'header says zxid 0x2a'
}

@test "zk-snap: a line that never ends is refused past 16 MiB, not read whole" {
	{ printf '# zk-snap 1 zxid=0x1 time=0\nnode path=/a data='
	  head -c 200000000 /dev/zero | tr '\0' a; } | zstd -q -1 >"$D/snapshot.0000000000000001"
	run -65 /usr/bin/time -f 'maxrss=%M' "$SNAP" verify "$D/snapshot.0000000000000001"
	assert_output --partial "line 2 longer than 16777216 bytes"
	rss=$(printf '%s\n' "$output" | sed -n 's/^maxrss=//p')
	[ "$rss" -lt 150000 ]
	# a header's maxline= lets longer lines through, and write keeps to it
	{ printf '# zk-snap 1 zxid=0x2 time=0\nnode path=/ data='
	  head -c 17000000 /dev/zero | tr '\0' a
	  printf ' acl=31:world:anyone stat=0x0,0x0,0,0,0,0,0,0x0,17000000,0,0x0 ctr=0\nend nodes=1 sessions=0\n'; } >"$D/long"
	run -65 "$SNAP" write "$D/w" <"$D/long"
	assert_output --partial "stdin: a line longer than 16777216 bytes"
	sed '1s/$/ maxline=17000200/' "$D/long" >"$D/long2"
	run -0 "$SNAP" write "$D/w" <"$D/long2"
	run -0 "$SNAP" verify "$D/w/zk/snapshot.0000000000000002"
}

@test "zk-tree load -c: an inconsistent tree is 65" {
	run -65 sh -c "'$SNAP' write '$D/x' </dev/null"
	lines | sed 's/^node path=\/a /node path=\/nope\/a /' >"$D/orphan"
	run -65 "$ZK_BIN/zk-tree" load -c <"$D/orphan"
	assert_output --partial 'parent missing'
	lines | sed 's/0,3,0x5 ctr=2/0,4,0x5 ctr=2/' >"$D/count"
	run -65 "$ZK_BIN/zk-tree" load --check <"$D/count"
	assert_output --partial '/: numChildren 4, has 3'
	lines | sed '/^session/d; s/sessions=1/sessions=0/' >"$D/noowner"
	run -65 "$ZK_BIN/zk-tree" load -c <"$D/noowner"
	assert_output --partial '/e: owner 0x1 has no session'
	run -0 "$ZK_BIN/zk-tree" load <"$D/noowner"
	assert_output --partial 'problems=1'
}

@test "zk-snap list and purge: keep the newest N and the segments they need" {
	mkdir -p "$D/data/zk" "$D/log/zk"
	for z in 10 20 30 40 50; do
		lines | sed "1s/zxid=0x2a/zxid=0x$z/" |
		    "$SNAP" write "$D/data" >/dev/null
	done
	for z in 01 15 25 31 45; do
		: >"$D/log/zk/log.00000000000000$z"
	done
	run -0 "$SNAP" list "$D/data"
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --partial 'snapshot.0000000000000010 zxid=0x10'
	assert_line --index 4 --partial 'snapshot.0000000000000050 zxid=0x50'
	run -0 "$SNAP" purge -n 3 "$D/data" "$D/log"
	run -0 "$SNAP" list "$D/data"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --partial 'zxid=0x30'
	# the oldest kept is 0x30: replay starts at 0x31, the first of log.31
	run ls "$D/log/zk"
	assert_output "$(printf 'log.0000000000000031\nlog.0000000000000045')"
	run -0 "$SNAP" purge -n 1 "$D/data" "$D/log"
	assert_output --partial 'raised to 3'
	run -0 "$SNAP" list "$D/data"
	assert_equal "${#lines[@]}" 3
	run -66 "$SNAP" purge "$D/nonexistent"
}

@test "zk-snap restore: a new dataDir a node starts from" {
	"$SNAP" write "$D/data" < <(lines) >/dev/null
	run -0 "$SNAP" restore "$D/data/zk/snapshot.000000000000002a" "$D/new/data"
	assert_output "$D/new/data/zk/snapshot.000000000000002a"
	run -73 "$SNAP" restore "$D/data/zk/snapshot.000000000000002a" "$D/new/data"
	assert_output --partial 'holds snapshots or logs already'
	printf 'garbage' >"$D/bad"
	run -65 "$SNAP" restore "$D/bad" "$D/other"
	[ ! -e "$D/other" ]
	node_start "$D/new"
	run -0 kz 'print(zk.get("/a")[0], zk.get("/a")[1].czxid, sorted(zk.get_children("/")))'
	assert_output "b'hi there' 3 ['a', 'e', 'zookeeper']"
	grep -q 'loaded .*snapshot.000000000000002a' "$D/new/node.err"
}

@test "zk-tree: a snapshot request whose sender shut its write side still gets its answer" {
	node_start "$D/n" snapCount=1000000
	kz 'zk.create("/a", b"x")'
	sock=$(readlink "$D/n/data/rundir")/tree.sock
	run -0 /usr/bin/python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.sendall(b'snapshot\n'); s.shutdown(socket.SHUT_WR)
out = b''
while True:
    b = s.recv(4096)
    if not b: break
    out += b
sys.stdout.write(out.decode())" "$sock"
	assert_output --regexp "^snapshot file=$D/n/data/zk/snapshot\.[0-9a-f]{16} zxid=0x[0-9a-f]+$"
	run -0 timeout 30 sh -c "printf 'snapshot\n' | socat - 'UNIX-CONNECT:$sock'"
	assert_output --regexp "^snapshot file=$D/n/data/zk/snapshot\.[0-9a-f]{16} zxid=0x[0-9a-f]+$"
	# the node goes on serving
	kz 'zk.create("/b", b"y")'
	run -0 "$SNAP" take "$D/n/data/rundir"
}

@test "zk-snap take: a running node's snapshot, loaded at restart" {
	node_start "$D/n" snapCount=1000000
	kz 'for i in range(20): zk.create("/k%d" % i, b"v%d" % i)
zk.create("/s/q-", b"", sequence=True, makepath=True)
zk.create("/s/q-", b"", sequence=True)
zk.delete("/s/q-0000000000")
zk.create("/null", None)'
	run -0 "$SNAP" take "$D/n/data/rundir"
	assert_output --regexp "^$D/n/data/zk/snapshot\.[0-9a-f]{16}$"
	f=$output
	run -0 "$SNAP" verify "$f"
	run -0 "$SNAP" take "$(readlink "$D/n/data/rundir")"
	kz 'zk.create("/after", b"x")'
	node_stop
	run -69 "$SNAP" take "$D/n/data"
	node_start "$D/n" snapCount=1000000
	run -0 kz 'print(len(zk.get_children("/")), zk.get("/k7")[0], zk.get("/null")[0], zk.get("/after")[0])
print(zk.create("/s/q-", b"", sequence=True), zk.get("/s")[1].cversion)'
	assert_line "24 b'v7' None b'x'"
	assert_line "/s/q-0000000002 4"
	grep -q "loaded $f" "$D/n/node.err"
}

@test "zk-tree: snapshots every snapCount txns, consistent while writes go on" {
	node_start "$D/n" snapCount=40
	kz 'import threading
for i in range(1000): zk.create("/w%d" % i, b"x" * 100)' &
	writer=$!
	for i in 1 2 3; do
		"$SNAP" take "$D/n/data/rundir" >/dev/null
	done
	wait "$writer"
	run -0 "$SNAP" list "$D/n/data"
	[ "${#lines[@]}" -ge 5 ]
	for f in $("$SNAP" list "$D/n/data" | cut -d' ' -f1); do
		"$SNAP" verify "$f"
		run -0 sh -c "'$SNAP' cat '$f' | '$ZK_BIN/zk-tree' load -c"
		assert_output --partial 'problems=0'
	done
}

@test "zk-tree: a bad newest snapshot falls back to the one before plus the log" {
	node_start "$D/n" snapCount=1000000
	old=$(snapafter 'for i in range(10): zk.create("/a%d" % i, b"1")')
	new=$(snapafter 'for i in range(10): zk.create("/b%d" % i, b"2")')
	kz 'zk.create("/c", b"3")'
	node_stop
	size=$(stat -c %s "$new")
	printf '\377\377' | dd of="$new" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	fellback "$old" "$new"
	run -0 kz 'print(len(zk.get_children("/")), zk.get("/b9")[0], zk.get("/c")[0])'
	assert_output "22 b'2' b'3'"
}

@test "zk-tree: a snapshot found bad after lines were loaded is thrown away whole" {
	node_start "$D/n" snapCount=1000000
	old=$(snapafter 'zk.create("/keep", b"old")')
	# many zstd blocks of random data: the first ones decode and load
	# before the cut is found, so the tree has to be thrown away
	new=$(snapafter '
import os
zk.create("/big")
for i in range(3000): zk.create("/big/n%04d" % i, os.urandom(300))
zk.set("/keep", b"new")')
	kz 'zk.create("/c", b"3"); zk.delete("/big/n0000")'
	node_stop
	size=$(stat -c %s "$new")
	[ "$size" -gt 600000 ]
	truncate -s $((size * 2 / 3)) "$new"
	fellback "$old" "$new"
	run -0 kz 'print(len(zk.get_children("/big")), zk.exists("/big/n0000"), zk.get("/keep")[0], zk.get("/c")[0], zk.get("/big")[1].numChildren)'
	assert_output "2999 None b'new' b'3' 2999"
}

@test "zk-tree: after its exec, no snapshot left before the bad one is 65, not an empty tree" {
	node_start "$D/n" snapCount=1000000
	f=$(snapafter 'zk.create("/a", b"1")')
	node_stop
	mkdir "$D/run"
	# as if zk-tree had found $f bad and exec'd itself, and the older
	# snapshots it would fall back to were gone meanwhile
	run -65 timeout 10 env ZK_TREE_BELOW=0x${f##*.} "$ZK_BIN/zk-tree" -c "$D/n/zoo.cfg" -r "$D/run"
	assert_output --partial "no snapshot before 0x"
	[ ! -e "$D/run/tree.sock" ]
}

@test "zk-node: every snapshot bad is exit 65 naming the file" {
	node_start "$D/n" snapCount=1000000
	f=$("$SNAP" take "$D/n/data/rundir")
	node_stop
	truncate -s 10 "$f"
	run -65 "$ZK_BIN/zk-node" "$D/n/zoo.cfg"
	assert_output --partial "$f"
	assert_output --partial 'no snapshot in'
}

@test "zk-node: autopurge keeps snapRetainCount snapshots" {
	node_start "$D/n" snapCount=1000000 autopurge.purgeInterval=1 autopurge.snapRetainCount=3
	node_stop
	for i in 1 2 3 4 5; do
		lines | sed "1s/zxid=0x2a/zxid=0x$i/" |
		    "$SNAP" write "$D/n/data" >/dev/null
	done
	export ZK_PURGE_UNIT=1
	node_start "$D/n" snapCount=1000000 autopurge.purgeInterval=1 autopurge.snapRetainCount=3
	for i in $(seq 50); do
		[ "$("$SNAP" list "$D/n/data" | wc -l)" -le 3 ] && break
		sleep 0.1
	done
	run -0 "$SNAP" list "$D/n/data"
	assert_equal "${#lines[@]}" 3
}
