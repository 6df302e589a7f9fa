#!/usr/bin/env bats
# Apache's own clients drive zk: zkCli.sh (Debian's zookeeper package)
# and cli_mt (zookeeper-bin), their output as against Apache.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

ZKCLI=/usr/share/zookeeper/bin/zkCli.sh
CLIMT=/usr/lib/zookeeper/bin/cli_mt

setup_file() {
	node_start "$BATS_FILE_TMPDIR/node"
}

teardown_file() {
	node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
}

setup() {
	CLI="$ZK_BIN/zk-cli"
	T=/c$BATS_TEST_NUMBER
}

# zkCli.sh one command (it joins its arguments with spaces: no spaces in
# data); its banner and watcher lines dropped, results and errors kept
zkcli() {
	[ -x "$ZKCLI" ] || skip "no $ZKCLI (Debian package zookeeper)"
	local rc=0
	timeout 120 "$ZKCLI" -server "127.0.0.1:$PORT" "$@" \
	    >"$BATS_TEST_TMPDIR/zkcli.out" 2>&1 || rc=$?
	grep -v '^Connecting to\|^WATCHER::\|^WatchedEvent\|^SLF4J: \|^$' \
	    "$BATS_TEST_TMPDIR/zkcli.out" || true
	return "$rc"
}

# cli_mt in batch mode (it prints on stderr); session and timing lines dropped
climt() {
	[ -x "$CLIMT" ] || skip "no $CLIMT (Debian package zookeeper-bin)"
	timeout 60 "$CLIMT" "127.0.0.1:$PORT" "cmd:$*" \
	    >"$BATS_TEST_TMPDIR/climt.out" 2>&1 || true
	grep -v '^Batch mode\|^Watcher SESSION_EVENT\|^Got a new session\|^time = \|ZOO_\|^$' \
	    "$BATS_TEST_TMPDIR/climt.out" || true
}

@test "zkCli.sh: create, get, set, ls, stat, delete, deleteall" {
	run -0 zkcli create "$T" hello
	assert_output "Created $T"
	run -0 zkcli get "$T"
	assert_output hello
	run -0 zkcli set "$T" world
	assert_output ""
	run -0 "$CLI" get "$T"
	assert_output world
	run -0 zkcli create "$T/k" v
	run -0 zkcli ls "$T"
	assert_output "[k]"
	run -0 zkcli stat "$T"
	assert_line "dataVersion = 1"
	assert_line "numChildren = 1"
	assert_line "dataLength = 5"
	assert_line --regexp '^cZxid = 0x[0-9a-f]+$'
	run -1 zkcli delete "$T"
	assert_output "Node not empty: $T"
	run -0 zkcli deleteall "$T"
	run -1 "$CLI" stat "$T"
	run -1 zkcli get "$T"
	assert_output "Node does not exist: $T"
}

@test "zkCli.sh: sequential and ephemeral nodes, ACLs, errors" {
	run -0 zkcli create "$T" x
	run -0 zkcli create -s "$T/s-" x
	assert_output "Created $T/s-0000000000"
	run -0 zkcli create -e "$T/e" x
	assert_output "Created $T/e"
	# zkCli.sh exits without closing its session, as against Apache:
	# the ephemeral stays until the session expires
	run -0 "$CLI" ls "$T"
	assert_output "$(printf 'e\ns-0000000000')"
	run -0 "$CLI" stat "$T/e"
	refute_line ephemeralOwner=0x0
	run -1 zkcli create "$T" again
	assert_output "Node already exists: $T"
	run -0 zkcli setAcl "$T" world:anyone:r
	run -0 zkcli getAcl "$T"
	assert_output "$(printf "'world,'anyone\n: r")"
	run -0 "$CLI" getacl "$T"
	assert_output world:anyone:r
	run -1 zkcli set "$T" y
	assert_output "Insufficient permission : $T"
}

@test "zkCli.sh reads what zk-cli wrote and the other way round" {
	"$CLI" create -p "$T/a/b" "from zk-cli" >/dev/null
	run -0 zkcli get "$T/a/b"
	assert_output "from zk-cli"
	run -0 zkcli ls -R "$T"
	assert_output "$(printf '%s\n' "$T" "$T/a" "$T/a/b")"
	zkcli set "$T/a" from-zkCli.sh
	run -0 "$CLI" get "$T/a"
	assert_output from-zkCli.sh
}

@test "cli_mt: create, get, set, ls, delete" {
	run climt create "$T"
	assert_line "[$T]: rc = 0"
	assert_line --partial "name = $T"
	run climt get "$T"
	assert_line "$T: rc = 0"
	assert_line " value_len = 3"
	assert_line new
	assert_line --regexp '^	version=0	aversion=0$'
	run climt set "$T" abc
	assert_line --regexp "^$T: rc = 0 Stat:"
	assert_line --regexp '^	version=1	aversion=0$'
	run -0 "$CLI" get "$T"
	assert_output abc
	run climt create "$T/k"
	run climt ls "$T"
	assert_line "$T: rc = 0"
	assert_line "	k"
	run climt create "$T"
	assert_line "[$T]: rc = -110"
	run climt delete "$T"
	assert_line "$T: rc = -111"
	run climt delete "$T/k"
	assert_line "$T/k: rc = 0"
	run climt delete "$T"
	assert_line "$T: rc = 0"
	run climt get "$T"
	assert_line "$T: rc = -101"
	run -1 "$CLI" stat "$T"
}
