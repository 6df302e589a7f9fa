#!/usr/bin/env bats
# Crash tests: a client writes continuously (creates, setData, multi)
# and records every acknowledged write; the whole node is killed with
# SIGKILL at random moments; after each restart every acknowledged write
# must be there and no multi half applied (t/crashload.py check).

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load crash

setup() {
	D=$BATS_TEST_TMPDIR
	: >"$D/acks"
}

teardown() {
	crash_teardown
}

# ROUNDS kills while the writer runs; the check after every restart
rounds() {
	local r
	for r in $(seq "$1"); do
		cnode_start
		[ "$r" -eq 1 ] || check $((r - 1))
		writer_start "$r"
		pause
		cnode_kill
		writer_kill
	done
	cnode_start
	check "$1"
	cnode_stop
	run -0 "$ZK_BIN/zk-log" verify "$D/data"
}

@test "crash: kill -9 while writing, 64 KiB segments (9 kills)" {
	export ZK_LOG_SEGSIZE=65536
	cnode_cfg
	rounds 9
	[ "$(ls "$D/data/zk" | grep -c '^log\.')" -gt 1 ]
}

@test "crash: kill -9 while writing and taking snapshots (9 kills)" {
	cnode_cfg snapCount=200
	local r i insnap=0
	for r in $(seq 9); do
		cnode_start
		[ "$r" -eq 1 ] || check $((r - 1))
		writer_start "$r"
		sleep 0.3
		# kill as a snapshot is being written, when one is seen in time
		for i in $(seq 200); do
			if compgen -G "$D/data/zk/snapshot.*.tmp" >/dev/null; then
				insnap=$((insnap + 1))
				break
			fi
			[ $((RANDOM % 100)) -eq 0 ] && break
			sleep 0.005
		done
		cnode_kill
		writer_kill
	done
	cnode_start
	check 9
	cnode_stop
	echo "# $insnap of 9 kills while a snapshot was being written" >&3
	[ "$insnap" -ge 1 ]
	run -0 "$ZK_BIN/zk-log" verify "$D/data"
	run -0 "$ZK_BIN/zk-snap" list "$D/data"
	[ "${#lines[@]}" -ge 1 ]
}

@test "crash: kill -9 during recovery (5 kills), then recover" {
	cnode_cfg
	cnode_start
	writer_start 1
	sleep 2
	cnode_kill
	writer_kill
	local r
	for r in $(seq 5); do
		cnode_spawn
		sleep "$(printf '0.%03d' $((RANDOM % 400)))"
		cnode_kill
	done
	cnode_start
	check 1
	cnode_stop
	run -0 "$ZK_BIN/zk-log" verify "$D/data"
}
