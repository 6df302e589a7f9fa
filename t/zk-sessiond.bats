#!/usr/bin/env bats
# zk-sessiond alone: t/peer.py plays zk-tree (feeding sess lines), zk-log
# (recording what it is sent) and the gate.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer

PW=000102030405060708090a0b0c0d0e0f
BADPW=000102030405060708090a0b0c0d0eff

setup() {
	BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
	PEER="/usr/bin/python3 $BATS_TEST_DIRNAME/peer.py"
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/run" "$D/data"
	# tickTime 200: min/max session timeout 400/4000 ms
	printf 'tickTime=200\ndataDir=%s/data\n' "$D" >"$D/zoo.cfg"
	printf 'sess session=0x77 timeout=3000 passwd=%s\nready\n' "$PW" \
	    >"$D/feed"
	: >"$D/log.log"
	pids=
}

teardown() {
	stop_pids
}


start() {
	$PEER serve "$D/run/tree.sock" "$D/tree.log" "$D/feed" &
	TREE=$!
	pids="$pids $!"
	$PEER serve "$D/run/log.sock" "$D/log.log" &
	pids="$pids $!"
	"$BIN/zk-sessiond" -c "$D/zoo.cfg" -r "$D/run" 2>>"$D/err" &
	SESSD=$!
	pids="$pids $SESSD"
	waitfor "$D/log.log" '^hello role=sessiond$'
}

gate() {
	$PEER talk "$D/run/sess.sock" 'hello role=gate' "$@"
}

# the gate touches session $1 every 200 ms, $2 times
touches() {
	local steps=() i
	for i in $(seq "$2"); do
		steps+=("touch session=$1" '@sleep 0.2')
	done
	gate "${steps[@]}"
}

@test "zk-sessiond: new mints an id, a password and a clamped timeout" {
	start
	run -0 gate 'new conn=7 timeout=1' @read 'new conn=8 timeout=99999' @read \
	    'new conn=9 timeout=1000' @read 'new conn=10 timeout=-5' @read
	assert_line -n 0 --regexp '^new conn=7 session=0x1[0-9a-f]{10}0000 passwd=[0-9a-f]{32} timeout=400$'
	assert_line -n 1 --regexp '^new conn=8 session=0x1[0-9a-f]{14} passwd=[0-9a-f]{32} timeout=4000$'
	assert_line -n 2 --regexp ' timeout=1000$'
	assert_line -n 3 --regexp ' timeout=400$'
	# ids go up by one, passwords differ
	s0=$(sed -n '1s/.*session=\(0x[0-9a-f]*\).*/\1/p' <<<"$output")
	s1=$(sed -n '2s/.*session=\(0x[0-9a-f]*\).*/\1/p' <<<"$output")
	assert_equal "$((s1 - s0))" 1
	p0=$(sed -n '1s/.*passwd=\([0-9a-f]*\).*/\1/p' <<<"$output")
	p1=$(sed -n '2s/.*passwd=\([0-9a-f]*\).*/\1/p' <<<"$output")
	[ "$p0" != "$p1" ]
	grep -q '^hello role=sessiond$' "$D/tree.log"
}

@test "zk-sessiond: attach checks the password; a wrong one does not kill the session" {
	start
	run -0 gate "attach conn=1 session=0x77 passwd=$BADPW timeout=2000" @read \
	    "attach conn=2 session=0x77 passwd=$PW timeout=2000" @read \
	    "attach conn=3 session=0x99 passwd=$PW timeout=2000" @read \
	    "attach conn=4 session=0x77 passwd=$PW timeout=100000" @read
	assert_line -n 0 'attach conn=1 session=0x77 ok=0 timeout=0'
	assert_line -n 1 'attach conn=2 session=0x77 ok=1 timeout=2000'
	assert_line -n 2 'attach conn=3 session=0x99 ok=0 timeout=0'
	assert_line -n 3 'attach conn=4 session=0x77 ok=1 timeout=4000'
}

@test "zk-sessiond: a minted session can attach with its password" {
	start
	run -0 gate 'new conn=1 timeout=3000' @read
	sid=$(sed 's/.*session=\(0x[0-9a-f]*\).*/\1/' <<<"$output")
	pw=$(sed 's/.*passwd=\([0-9a-f]*\).*/\1/' <<<"$output")
	run -0 gate "attach conn=2 session=$sid passwd=$pw timeout=3000" @read
	assert_output "attach conn=2 session=$sid ok=1 timeout=3000"
}

@test "zk-sessiond: a silent session expires with one closeSession; touch keeps one alive" {
	start
	run -0 gate 'new conn=1 timeout=400' @read
	quiet=$(sed 's/.*session=\(0x[0-9a-f]*\).*/\1/' <<<"$output")
	# 0x77 (3000 ms, loaded from the tree) is touched every 200 ms for 4 s
	touches 0x77 20
	run -0 cat "$D/log.log"
	assert_line "closeSession session=$quiet"
	refute_line 'closeSession session=0x77'
	assert_equal "$(grep -c "closeSession session=$quiet" "$D/log.log")" 1
	# a closing session cannot be attached
	run -0 gate "attach conn=2 session=$quiet passwd=00 timeout=400" @read
	assert_output --partial ok=0
	# without touches 0x77 expires after its 3 s
	waitfor "$D/log.log" '^closeSession session=0x77$'
}

@test "zk-sessiond: expiry takes timeout to timeout + tickTime" {
	start
	t0=$(date +%s%N)
	gate 'new conn=1 timeout=1000' @read >/dev/null
	waitfor "$D/log.log" '^closeSession session=0x1'
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "expired after $ms ms" >&2
	[ "$ms" -ge 1000 ]
	[ "$ms" -le 1800 ]
}

@test "zk-sessiond: stopped past a session's timeout, it reads the touches that came meanwhile before it checks; a silent session still expires" {
	start
	run -0 gate 'new conn=1 timeout=1000' @read
	busy=$(sed 's/.*session=\(0x[0-9a-f]*\).*/\1/' <<<"$output")
	run -0 gate 'new conn=2 timeout=1000' @read
	quiet=$(sed 's/.*session=\(0x[0-9a-f]*\).*/\1/' <<<"$output")
	# busy is touched every 200 ms for 5 s; zk-sessiond is stopped
	# for 2 s of them, twice the timeout
	touches "$busy" 25 &
	toucher=$!
	pids="$pids $toucher"
	sleep 0.5
	kill -STOP "$SESSD"
	sleep 2
	kill -CONT "$SESSD"
	wait "$toucher"
	waitfor "$D/log.log" "^closeSession session=$quiet\$"
	run -0 cat "$D/log.log"
	refute_line "closeSession session=$busy"
	run -0 cat "$D/err"
	assert_output --partial "did not run for"
	# and without touches busy expires after its timeout
	waitfor "$D/log.log" "^closeSession session=$busy\$"
}

@test "zk-sessiond: unsess forgets a session" {
	start
	run -0 gate "attach conn=1 session=0x77 passwd=$PW timeout=3000" @read
	assert_output --partial ok=1
	echo 'unsess session=0x77' >>"$D/feed"
	sleep 0.5
	run -0 gate "attach conn=1 session=0x77 passwd=$PW timeout=3000" @read
	assert_output --partial ok=0
}

@test "zk-sessiond: text word=dump is the SessionTracker dump" {
	start
	run -0 gate 'new conn=1 timeout=4000' @read 'text word=dump' @read
	sid=$(sed -n '1s/.*session=\(0x[0-9a-f]*\).*/\1/p' <<<"$output")
	line=$(sed -n 2p <<<"$output")
	[[ "$line" == "text word=dump data="* ]]
	text=$(printf '%b' "$(sed 's/^text word=dump data=//; s/\\s/ /g' <<<"$line")")
	run -0 echo "$text"
	assert_line -n 0 'SessionTracker dump:'
	assert_line -n 1 'Session Sets (2)/(2):'
	assert_line --regexp '^1 expire at [A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} [A-Z]+ [0-9]{4}:$'
	assert_line "	0x77"
	assert_line "	$sid"
}

@test "zk-sessiond: exits 75 when zk-tree goes away" {
	start
	kill "$TREE"
	rc=0
	wait "$SESSD" || rc=$?
	assert_equal "$rc" 75
}

@test "zk-sessiond: usage and bad config" {
	run -64 "$BIN/zk-sessiond"
	assert_output --partial usage
	printf 'dataDir=%s/data\nmaxSessionTimeout=x\n' "$D" >"$D/bad.cfg"
	run -78 "$BIN/zk-sessiond" -c "$D/bad.cfg" -r "$D/run"
	assert_output --partial "$D/bad.cfg:2: maxSessionTimeout"
}

@test "zk-sessiond -n: checks zoo.cfg only: 0 good (its warnings said), 78 bad, 64 with -r" {
	printf 'dataDir=%s/data\nnoSuchKey=1\n' "$D" >"$D/good.cfg"
	run -0 "$BIN/zk-sessiond" -n -c "$D/good.cfg"
	assert_output "zk-sessiond: $D/good.cfg:2: noSuchKey is not used by zk, ignored"
	run -0 env ZK_CFG_QUIET=1 "$BIN/zk-sessiond" -n -c "$D/good.cfg"
	assert_output ''
	printf 'dataDir=%s/data\nmaxSessionTimeout=x\n' "$D" >"$D/bad.cfg"
	run -78 "$BIN/zk-sessiond" -n -c "$D/bad.cfg"
	assert_output --partial "$D/bad.cfg:2: maxSessionTimeout"
	run -64 "$BIN/zk-sessiond" -n -c "$D/good.cfg" -r "$D/run"
}
