#!/usr/bin/env bats
# Disk full: dataLogDir on a 2 MiB tmpfs.  Writes fail with an error to
# the client, reads go on, nothing acknowledged is lost, and writes
# resume when space returns.  (t/zk-log.bats covers the same paths with
# ZK_LOG_FAULT where no tmpfs can be mounted.)

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load crash

setup() {
	D=$BATS_TEST_TMPDIR
	FULL="/usr/bin/python3 $BATS_TEST_DIRNAME/diskfull.py"
	MNT=
	mkdir -p "$D/txlog"
	if ! mount -t tmpfs -o size=2m tmpfs "$D/txlog" 2>"$D/mount.err"; then
		skip "cannot mount a tmpfs for dataLogDir: $(cat "$D/mount.err")"
	fi
	MNT=$D/txlog
}

teardown() {
	crash_teardown
	[ -z "$MNT" ] || umount "$MNT"
}

# fill the log's disk, check the failure, free space, write again
fill_and_resume() {
	run -0 $FULL fill "127.0.0.1:$PORT" "$D/acks"
	echo "# $output" >&3
	assert_output --regexp '^failed: [A-Za-z]+Error after [0-9]+$'
	refute_output --partial 'after 0'
	run -0 cat "$D/node.err"
	assert_output --partial 'txns not stored'
	assert_output --partial 'No space left on device'
	# reads go on while the disk is full, and a write still fails
	run -0 $FULL read "127.0.0.1:$PORT" "$D/acks"
	run -0 "$ZK_BIN/zk-log" verify "$D/txlog"
	# space returns
	rm "$MNT/filler"
	run -0 $FULL write "127.0.0.1:$PORT" "$D/acks"
	run -0 $FULL read "127.0.0.1:$PORT" "$D/acks"
}

@test "diskfull: ENOSPC on append: fail, reads go on, resume, nothing lost" {
	head -c 1200000 /dev/zero >"$MNT/filler"
	cnode_cfg "dataLogDir=$MNT"
	cnode_start
	fill_and_resume
	# and all of it after a restart
	cnode_stop
	run -0 "$ZK_BIN/zk-log" verify "$MNT"
	cnode_start
	run -0 $FULL read "127.0.0.1:$PORT" "$D/acks"
	echo "# $output" >&3
}

@test "diskfull: ENOSPC preallocating a new segment on roll" {
	head -c 1500000 /dev/zero >"$MNT/filler"
	export ZK_LOG_SEGSIZE=131072
	cnode_cfg "dataLogDir=$MNT"
	cnode_start
	fill_and_resume
	run -0 cat "$D/node.err"
	assert_output --partial 'preallocate: No space left on device'
	[ "$(ls "$MNT/zk" | wc -l)" -gt 1 ]
	cnode_stop
	run -0 "$ZK_BIN/zk-log" verify "$MNT"
	cnode_start
	run -0 $FULL read "127.0.0.1:$PORT" "$D/acks"
}

@test "diskfull: a new session that cannot be logged is refused, and zk-cli says so" {
	# the first batch zk-log writes, this createSession, meets ENOSPC
	export ZK_LOG_FAULT=write:1
	cnode_cfg
	cnode_start
	run -69 --separate-stderr timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:$PORT" ls /
	[ "$stderr" = "zk-cli: 127.0.0.1:$PORT: the server refused to open a session (its log says why: a full disk, say)" ]
	run -0 cat "$D/node.err"
	assert_output --partial 'txns not stored'
	assert_output --partial 'No space left on device'
	# the next one is stored
	run -0 timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:$PORT" ls /
}
