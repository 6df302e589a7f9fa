#!/usr/bin/env bats
# zk-log alone, with t/peer.py as zk-tree and as the gate.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer

setup() {
	BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
	PEER="/usr/bin/python3 $BATS_TEST_DIRNAME/peer.py"
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/run" "$D/data"
	printf 'tickTime=2000\ndataDir=%s/data\nclientPort=2181\n' "$D" \
	    >"$D/zoo.cfg"
	pids=
}

teardown() {
	stop_pids
}

# a fake zk-tree that says it loaded a snapshot at ${1:-0x0}
start_tree() {
	: >"$D/tree.log"
	printf 'loaded zxid=%s\n' "${1:-0x0}" >"$D/feed"
	$PEER serve "$D/run/tree.sock" "$D/tree.log" "$D/feed" &
	TREE=$!
	pids="$pids $TREE"
}

start_log() {
	"$BIN/zk-log" serve "$@" -c "$D/zoo.cfg" -r "$D/run" 2>>"$D/log.err" &
	LOG=$!
	pids="$pids $LOG"
	waitfor "$D/tree.log" '^ready '
}

# as zk-gate: the lines, then a moment for what zk-log says back (its
# fsyncstats) to find the connection still open
gate() {
	$PEER talk "$D/run/log.sock" 'hello role=gate' "$@" '@sleep 0.3'
}

# store two txns, stop zk-log and the fake tree; $f is the segment
two_txns() {
	start_tree
	start_log
	gate 'create session=0x1 xid=1 path=/a data=hi acl=31:world:anyone flags=0' \
	    'create session=0x1 xid=2 path=/b data=hi acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" 'xid=2 '
	kill "$LOG" "$TREE"
	wait "$LOG" "$TREE" || true
	f=$D/data/zk/log.0000000000000001
}

@test "zk-log: reports its fsync times to the gate, at most once a second, never to zk-tree" {
	start_tree
	start_log
	sleep 1.1
	run -0 gate 'create session=0x1 xid=1 path=/a data=hi acl=31:world:anyone flags=0' \
	    'create session=0x1 xid=2 path=/b data=hi acl=31:world:anyone flags=0' \
	    '@sleep 0.3' \
	    'create session=0x1 xid=3 path=/c data=hi acl=31:world:anyone flags=0' \
	    '@drain 0.5'
	assert_line --index 0 --regexp '^fsyncstats count=[12] sumus=[0-9]+ minus=[0-9]+ maxus=[0-9]+ hist=([0-9]+,){31}[0-9]+$'
	[ "${#lines[@]}" -eq 1 ]
	waitfor "$D/tree.log" 'xid=3 '
	run -0 sleep 1.1
	run -0 gate 'create session=0x1 xid=4 path=/d data=hi acl=31:world:anyone flags=0' \
	    '@drain 0.5'
	assert_line --index 0 --regexp '^fsyncstats count=[34] sumus=[0-9]+ minus=[0-9]+ maxus=[0-9]+ hist=([0-9]+,){31}[0-9]+$'
	[ "${#lines[@]}" -eq 1 ]
	waitfor "$D/tree.log" 'xid=4 '
	run -1 grep -c fsyncstats "$D/tree.log"
}

@test "zk-log: stamps writes, forwards them after storing; a gate's reads and syncs go in between, in order, unstored; nothing else does" {
	start_tree
	start_log
	assert_equal "$(sed -n 1,2p "$D/tree.log")" "hello role=log
ready zxid=0x0"
	gate 'create session=0x1 xid=1 auth=ip:127.0.0.1 path=/a data=hi acl=31:world:anyone flags=0' \
	    'sync session=0x1 xid=2 path=/a' \
	    'getData session=0x1 xid=3 auth=ip:127.0.0.1 path=/a watch=1' \
	    'setData session=0x1 xid=4 path=/a data=x version=-1' \
	    'multiRead session=0x1 xid=5 op=getData path=/a op=getChildren path=/' \
	    'gone session=0x1' \
	    'delete session=0x1 xid=6 path=/a version=-1'
	# a read from anyone but a gate is no request of a client
	$PEER talk "$D/run/log.sock" 'hello role=sessiond' \
	    'getData session=0x2 xid=1 path=/a'
	waitfor "$D/tree.log" '^delete '
	run -0 sed -n '3,$p' "$D/tree.log"
	assert_line -n 0 --regexp '^create zxid=0x1 time=[0-9]+ session=0x1 xid=1 auth=ip:127.0.0.1 path=/a data=hi acl=31:world:anyone flags=0$'
	assert_line -n 1 'sync session=0x1 xid=2 path=/a'
	assert_line -n 2 'getData session=0x1 xid=3 auth=ip:127.0.0.1 path=/a watch=1'
	assert_line -n 3 --regexp '^setData zxid=0x2 time=[0-9]+ session=0x1 xid=4 path=/a data=x version=-1$'
	assert_line -n 4 'multiRead session=0x1 xid=5 op=getData path=/a op=getChildren path=/'
	assert_line -n 5 --regexp '^delete zxid=0x3 time=[0-9]+ session=0x1 xid=6 path=/a version=-1$'
	[ "${#lines[@]}" -eq 6 ]
	run -0 cat "$D/log.err"
	assert_output --partial 'gone: not a transaction, dropped'
	assert_output --partial 'getData: not a transaction, dropped'
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_equal "$output" "$(grep ' time=' "$D/tree.log")"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x3
	run -0 "$BIN/zk-log" verify "$D/data"
	assert_output ''
	[ -f "$D/data/zk/log.0000000000000001" ]
}

@test "zk-log: writes from the tree and from zk-sessiond are txns too" {
	start_tree
	start_log
	$PEER talk "$D/run/log.sock" 'hello role=sessiond' 'closeSession session=0x5'
	waitfor "$D/tree.log" '^closeSession '
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_output --regexp '^closeSession zxid=0x1 time=[0-9]+ session=0x5$'
}

@test "zk-log: kill -9 and restart replays every forwarded txn" {
	start_tree
	start_log
	for i in $(seq 50); do
		echo "create session=0x1 xid=$i path=/n$i data=$i acl=31:world:anyone flags=0"
	done >"$D/reqs"
	mapfile -t reqs <"$D/reqs"
	gate "${reqs[@]}" &
	gate 'setData session=0x2 xid=1 path=/x data=y version=-1' \
	    'setData session=0x2 xid=2 path=/x data=z version=-1'
	wait $!
	waitfor "$D/tree.log" 'xid=50 '
	waitfor "$D/tree.log" 'session=0x2 xid=2'
	kill -9 "$LOG"
	wait "$LOG" || true
	grep ' time=' "$D/tree.log" >"$D/acked"
	assert_equal "$(wc -l <"$D/acked")" 52
	kill "$TREE"
	wait "$TREE" || true
	start_tree
	start_log
	run -0 sed -n '2,$p' "$D/tree.log"
	assert_equal "$(sed '$d' <<<"$output")" "$(cat "$D/acked")"
	assert_line 'ready zxid=0x34'
	gate 'delete session=0x1 xid=51 path=/n1 version=-1'
	waitfor "$D/tree.log" '^delete zxid=0x35 '
}

@test "zk-log: exits 75 when the tree connection closes" {
	start_tree
	start_log
	kill "$TREE"
	rc=0
	wait "$LOG" || rc=$?
	assert_equal "$rc" 75
	run -0 cat "$D/log.err"
	assert_output --partial 'tree connection closed'
}

@test "zk-log: segments roll by size and replay in order" {
	start_tree
	start_log -s 4096
	for i in $(seq 40); do
		gate "create session=0x1 xid=$i path=/node-with-a-long-name-$i data=0123456789012345678901234567890123456789 acl=31:world:anyone flags=0"
	done
	waitfor "$D/tree.log" 'xid=40 '
	run -0 ls "$D/data/zk"
	[ "${#lines[@]}" -gt 1 ]
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_equal "$output" "$(grep ' time=' "$D/tree.log")"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x28
}

@test "zk-log verify: a flipped byte is corrupt input (65)" {
	two_txns
	# flip a byte inside the first record's line
	printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
	run -65 "$BIN/zk-log" verify "$D/data"
	assert_output --partial "$f: bad record at offset 0"
	run -65 "$BIN/zk-log" dump "$D/data"
	# and serve refuses to start
	start_tree
	run -65 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
	assert_output --partial "$f: bad record at offset 0"
}

@test "zk-log: a torn tail is cut back to the last whole record" {
	two_txns
	"$BIN/zk-log" dump "$D/data" >"$D/dump"
	end=$(( $(wc -c <"$D/dump") + 8 * $(wc -l <"$D/dump") ))
	# half a record after the last one, as a crash in write(2) leaves it
	printf '\0\0\0\100\1\2\3\4create zxid=0x3 ti' |
	    dd of="$f" bs=1 seek="$end" conv=notrunc status=none
	run -65 "$BIN/zk-log" verify "$D/data"
	assert_output --partial "$f: bad record at offset $end"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_line 0x2
	start_tree
	start_log
	run -0 cat "$D/log.err"
	assert_output --partial "torn tail at offset $end cut off"
	gate 'create session=0x1 xid=3 path=/c data=hi acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" '^create zxid=0x3 '
	run -0 "$BIN/zk-log" verify "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x3
}

@test "zk-log: a bad record before good ones is not a torn tail" {
	two_txns
	# zero the first record's length: a lost write, not the end
	printf '\0\0\0\0' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
	start_tree
	run -65 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
	assert_output --partial "$f: bad record at offset 0"
}

@test "zk-log: a damaged last record is refused, not cut as a torn tail" {
	two_txns
	"$BIN/zk-log" dump "$D/data" >"$D/dump"
	end=$(( $(wc -c <"$D/dump") + 8 * $(wc -l <"$D/dump") ))
	off=$(( $(head -n 1 "$D/dump" | wc -c) + 8 ))
	cp "$f" "$D/seg"
	# its length, a byte of its line, its newline: it was written whole
	# (zeros follow it), so the write was acknowledged
	for at in $((off + 2)) $((end - 5)) $((end - 1)); do
		cp "$D/seg" "$f"
		printf 'X' | dd of="$f" bs=1 seek="$at" conv=notrunc status=none
		run -65 "$BIN/zk-log" last "$D/data"
		assert_output --partial "$f: bad record at offset $off"
		start_tree
		run timeout 20 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
		assert_equal "$status" 65
		assert_output --partial "$f: bad record at offset $off"
		refute_output --partial 'torn tail'
		kill "$TREE"
		wait "$TREE" || true
		# nothing cut
		[ "$(stat -c %s "$f")" = "$(stat -c %s "$D/seg")" ]
	done
}

@test "zk-log: a failed append answers fail to its sender, and later writes go on" {
	start_tree
	ZK_LOG_FAULT=write:2 start_log
	gate 'create session=0x1 xid=1 path=/a data=hi acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" 'xid=1 '
	run -0 gate 'create session=0x1 xid=2 path=/b data=hi acl=31:world:anyone flags=0' \
	    '@read'
	assert_line -n 0 'fail session=0x1 xid=2 zxid=0x1 err=-1'
	gate 'create session=0x1 xid=5 path=/c data=hi acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" 'xid=5 '
	run -0 sed -n '3,$p' "$D/tree.log"
	assert_line -n 1 --regexp '^create zxid=0x2 time=[0-9]+ session=0x1 xid=5 '
	[ "${#lines[@]}" -eq 2 ]
	run -0 cat "$D/log.err"
	assert_output --partial 'not stored'
	run -0 "$BIN/zk-log" verify "$D/data"
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_equal "${#lines[@]}" 2
	refute_output --partial 'path=/b'
}

@test "zk-log: a failed fsync answers fail, to the read behind the write too" {
	start_tree
	ZK_LOG_FAULT=fsync:2 start_log
	# one write(2): the read is in the write's batch
	run -0 gate $'create session=0x1 xid=1 path=/a data=hi acl=31:world:anyone flags=0\ngetData session=0x1 xid=2 path=/a' \
	    '@read' '@read'
	assert_line -n 0 'fail session=0x1 xid=1 zxid=0x0 err=-1'
	assert_line -n 1 'fail session=0x1 xid=2 zxid=0x0 err=-1'
	gate 'create session=0x1 xid=2 path=/b data=hi acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" '^create zxid=0x1 .* xid=2 '
	run -1 grep -c '^fail\|^getData' "$D/tree.log"
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_equal "${#lines[@]}" 1
}

@test "zk-log: usage and bad config" {
	run -64 "$BIN/zk-log"
	assert_output --partial usage
	run -64 "$BIN/zk-log" dump
	run -66 "$BIN/zk-log" dump "$D/nonexistent"
	printf 'tickTime=abc\ndataDir=%s/data\n' "$D" >"$D/bad.cfg"
	run -78 "$BIN/zk-log" serve -c "$D/bad.cfg" -r "$D/run"
	assert_output --partial "$D/bad.cfg:1: tickTime"
}

@test "zk-log: an empty log" {
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x0
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_output ''
	run -0 "$BIN/zk-log" verify "$D/data"
}

@test "zk-log: a second zk-log on the same directory is refused (75)" {
	start_tree
	start_log
	run -75 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
	assert_output --partial 'in use'
}

# n creates /n1../nN from session 0x1 through a running zk-log
creates() {
	local i reqs=()
	for i in $(seq "$1"); do
		reqs+=("create session=0x1 xid=$i path=/n$i data=$i acl=31:world:anyone flags=0")
	done
	gate "${reqs[@]}"
	waitfor "$D/tree.log" "xid=$1 "
}

stop_both() {
	kill "$LOG" "$TREE"
	wait "$LOG" "$TREE" || true
}

@test "zk-log: waits for loaded, replays only the records after it" {
	start_tree
	start_log
	creates 5
	stop_both
	start_tree 0x3
	start_log
	run -0 cat "$D/tree.log"
	assert_equal "${#lines[@]}" 4
	assert_line -n 0 'hello role=log'
	assert_line -n 1 --regexp '^create zxid=0x4 .* xid=4 '
	assert_line -n 2 --regexp '^create zxid=0x5 .* xid=5 '
	assert_line -n 3 'ready zxid=0x5'
	run -0 "$BIN/zk-log" replay --after 0x3 "$D/data"
	assert_equal "$output" "$(sed -n 2,3p "$D/tree.log")"
	run -0 "$BIN/zk-log" replay --after 0 "$D/data"
	assert_equal "${#lines[@]}" 5
	run -0 "$BIN/zk-log" replay --after 0x5 "$D/data"
	assert_output ''
}

@test "zk-log: without loaded nothing is replayed" {
	start_tree
	start_log
	creates 2
	stop_both
	: >"$D/tree.log"
	$PEER serve "$D/run/tree.sock" "$D/tree.log" &
	TREE=$!
	pids="$pids $TREE"
	"$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run" 2>>"$D/log.err" &
	LOG=$!
	pids="$pids $LOG"
	waitfor "$D/tree.log" '^hello role=log'
	sleep 0.3
	run -0 cat "$D/tree.log"
	assert_output 'hello role=log'
	echo 'loaded zxid=0x0' >"$D/feed"
	kill "$TREE"
	wait "$TREE" || true
}

@test "zk-log: a snapshot ahead of the log: numbering goes on after it" {
	start_tree
	start_log
	creates 2
	stop_both
	start_tree 0x10
	start_log
	assert_equal "$(cat "$D/tree.log")" "hello role=log
ready zxid=0x10"
	run -0 cat "$D/log.err"
	assert_output --partial 'ends at 0x2, before the snapshot'
	gate 'create session=0x1 xid=9 path=/z data= acl=31:world:anyone flags=0'
	waitfor "$D/tree.log" '^create zxid=0x11 '
	[ -f "$D/data/zk/log.0000000000000011" ]
	stop_both
	# the next start from the same snapshot replays 0x11
	start_tree 0x10
	start_log
	run -0 sed -n 2,3p "$D/tree.log"
	assert_line -n 0 --regexp '^create zxid=0x11 '
	assert_line -n 1 'ready zxid=0x11'
	stop_both
	# without the snapshot the hole 0x3..0x10 is damage
	start_tree 0x0
	run -65 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
	assert_output --partial 'log.0000000000000011: bad record at offset 0: zxids 0x3 to 0x10 are missing'
	run -65 "$BIN/zk-log" verify "$D/data"
}

@test "zk-log: an empty log and a restored snapshot" {
	start_tree 0x7
	start_log
	assert_equal "$(cat "$D/tree.log")" "hello role=log
ready zxid=0x7"
	gate 'delete session=0x1 xid=1 path=/a version=-1'
	waitfor "$D/tree.log" '^delete zxid=0x8 '
	run -0 ls "$D/data/zk"
	assert_output log.0000000000000008
}

@test "zk-log: segments purged beyond the snapshot: refuses to start (65)" {
	start_tree
	start_log -s 4096
	for i in $(seq 30); do
		gate "create session=0x1 xid=$i path=/node-with-a-long-name-$i data=0123456789012345678901234567890123456789 acl=31:world:anyone flags=0"
	done
	waitfor "$D/tree.log" 'xid=30 '
	stop_both
	first=$(ls "$D/data/zk" | head -n 1)
	second=$(ls "$D/data/zk" | sed -n 2p)
	rm "$D/data/zk/$first"
	start_tree 0x0
	run -65 "$BIN/zk-log" serve -c "$D/zoo.cfg" -r "$D/run"
	assert_output --partial "$D/data/zk: the snapshot is at 0x0 but the log goes on at 0x"
	run -65 "$BIN/zk-log" replay --after 0 "$D/data"
	assert_output --partial 'no zxid 0x1 after 0x0'
	# a snapshot that covers the purged segment is fine
	z=$(printf '0x%x' $((16#${second#log.} - 1)))
	kill "$TREE"
	wait "$TREE" || true
	start_tree "$z"
	start_log
	run -0 tail -n 1 "$D/tree.log"
	assert_output 'ready zxid=0x1e'
	run -0 "$BIN/zk-log" verify "$D/data"
}

@test "zk-log dump: filters by zxid, session and path prefix" {
	start_tree
	start_log
	gate 'create session=0x1 xid=1 path=/app/a data=1 acl=31:world:anyone flags=0' \
	    'create session=0x2 xid=1 path=/other data=2 acl=31:world:anyone flags=0' \
	    'multi session=0x2 xid=2 op=create path=/x data= acl=31:world:anyone flags=0 op=setData path=/app/b data=q version=-1' \
	    'setData session=0x1 xid=2 path=/app\sspace data=x version=-1' \
	    'closeSession session=0x2 xid=3'
	waitfor "$D/tree.log" '^closeSession '
	run -0 "$BIN/zk-log" dump --path-prefix /app/ "$D/data"
	assert_equal "${#lines[@]}" 2
	assert_line -n 0 --regexp '^create zxid=0x1 .* path=/app/a '
	assert_line -n 1 --regexp '^multi zxid=0x3 '
	run -0 "$BIN/zk-log" dump --path-prefix '/app sp' "$D/data"
	assert_line -n 0 --regexp '^setData zxid=0x4 '
	assert_equal "${#lines[@]}" 1
	run -0 "$BIN/zk-log" dump --session 0x2 "$D/data"
	assert_equal "${#lines[@]}" 3
	run -0 "$BIN/zk-log" dump --from 0x2 --to 3 "$D/data"
	assert_equal "${#lines[@]}" 2
	assert_line -n 0 --regexp '^create zxid=0x2 '
	run -0 "$BIN/zk-log" dump --session 0x2 --path-prefix / --from 0x3 "$D/data"
	assert_equal "${#lines[@]}" 1
	assert_line -n 0 --regexp '^multi zxid=0x3 '
	run -64 "$BIN/zk-log" dump --from zz "$D/data"
	run -64 "$BIN/zk-log" dump --after 1 "$D/data"
	run -64 "$BIN/zk-log" replay "$D/data"
	run -64 "$BIN/zk-log" truncate "$D/data"
}

@test "zk-log truncate: cuts after a zxid, across segments; serve goes on" {
	start_tree
	start_log -s 4096
	for i in $(seq 40); do
		gate "create session=0x1 xid=$i path=/node-with-a-long-name-$i data=0123456789012345678901234567890123456789 acl=31:world:anyone flags=0"
	done
	waitfor "$D/tree.log" 'xid=40 '
	run -75 "$BIN/zk-log" truncate --to 0x10 "$D/data"
	assert_output --partial 'in use'
	stop_both
	nseg=$(ls "$D/data/zk" | wc -l)
	run -0 "$BIN/zk-log" truncate --to 0x10 "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x10
	run -0 "$BIN/zk-log" verify "$D/data"
	[ "$(ls "$D/data/zk" | wc -l)" -lt "$nseg" ]
	run -0 "$BIN/zk-log" dump "$D/data"
	assert_equal "$output" "$(grep ' time=' "$D/tree.log" | head -n 16)"
	# nothing after the end: no change
	run -0 "$BIN/zk-log" truncate --to 0x99 "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x10
	start_tree
	start_log -s 4096
	gate 'delete session=0x1 xid=41 path=/a version=-1'
	waitfor "$D/tree.log" '^delete zxid=0x11 '
	stop_both
	run -0 "$BIN/zk-log" truncate --to 0 "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x0
	run -0 ls "$D/data/zk"
	assert_output ''
}

@test "zk-log truncate: damage before the cut is refused, after it cut" {
	two_txns
	cp "$f" "$D/seg"
	printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
	run -65 "$BIN/zk-log" truncate --to 0x1 "$D/data"
	assert_output --partial "$f: bad record at offset 0"
	cp "$D/seg" "$f"
	# damage the second record: the first one is kept
	off=$(( $(head -c 4 "$f" | od -An -tu1 | awk '{print $4}') + 8 ))
	printf 'X' | dd of="$f" bs=1 seek=$((off + 20)) conv=notrunc status=none
	run -65 "$BIN/zk-log" verify "$D/data"
	assert_output --partial "$f: bad record at offset $off"
	run -0 "$BIN/zk-log" truncate --to 0x1 "$D/data"
	run -0 "$BIN/zk-log" verify "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x1
}

@test "zk-log: dataLogDir apart from dataDir" {
	printf 'tickTime=2000\ndataDir=%s/data\ndataLogDir=%s/txlog\nclientPort=2181\n' \
	    "$D" "$D" >"$D/zoo.cfg"
	start_tree
	start_log
	creates 3
	[ -f "$D/txlog/zk/log.0000000000000001" ]
	[ ! -e "$D/data/zk" ]
	run -0 "$BIN/zk-log" last "$D/txlog"
	assert_output 0x3
}

@test "zk-log: a failed preallocation only costs speed" {
	start_tree
	ZK_LOG_FAULT=prealloc:1 start_log -s 4096
	creates 40
	run -0 cat "$D/log.err"
	assert_output --partial 'preallocate: No space left on device'
	run -0 "$BIN/zk-log" verify "$D/data"
	run -0 "$BIN/zk-log" last "$D/data"
	assert_output 0x28
}
