#!/usr/bin/env bats
# The plain build (cmd/, what `make` builds and `make run` runs) under
# valgrind's memcheck: the four daemons of a node through t/vgload.py's
# pass over what a node does, then a restart that recovers what they
# wrote, then the data tools and zk-cli on it.  Any memcheck error, or a
# definite or indirect leak, fails.  (make check runs the other tests on
# the ASan/UBSan build; valgrind cannot run that one.)

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

PLAIN=${ZK_PLAIN_BIN:-$BATS_TEST_DIRNAME/../cmd}
PLAIN=$(cd "$PLAIN" && pwd)
VGOPTS="--tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
 --errors-for-leak-kinds=definite,indirect --trace-children=yes"

# vg PROG ARGS...: a one-shot program under memcheck, exit 99 on an error
vg() {
	local p=$1
	shift
	# shellcheck disable=SC2086
	valgrind -q $VGOPTS --error-exitcode=99 "$PLAIN/$p" "$@"
}

setup_file() {
	local d=$BATS_FILE_TMPDIR p
	mkdir -p "$d/vg" "$d/vglog"
	# zk-node runs the programs found beside it: wrappers that exec each
	# daemon under memcheck, a log per process (snapshot children too)
	for p in zk-tree zk-log zk-sessiond zk-gate zk-elect; do
		cat >"$d/vg/$p" <<-EOF
		#!/bin/sh
		exec valgrind $(echo $VGOPTS) --log-file=$d/vglog/$p.%p "$PLAIN/$p" "\$@"
		EOF
		chmod +x "$d/vg/$p"
	done
	cp "$PLAIN/zk-node" "$PLAIN/zk-snap" "$d/vg/"
	cat >"$d/jaas.conf" <<-'EOF'
	Server {
		org.apache.zookeeper.server.auth.DigestLoginModule required
		user_vguser="vgpw";
	};
	EOF
	MPORT=$(freeport)
	echo "$MPORT" >"$d/mport"
	ZK_BIN=$d/vg
	node_start "$d/node" snapCount=100 extendedTypesEnabled=true \
	    znode.container.checkIntervalMs=500 "metricsProvider.httpPort=$MPORT" \
	    "java.security.auth.login.config=$d/jaas.conf"
	echo "$PORT" >"$d/port"
}

# both nodes, the first and the restarted one, whatever failed
teardown_file() {
	local f
	for f in "$BATS_FILE_TMPDIR"/node*/node.pid; do
		[ -f "$f" ] && node_stop "$(cat "$f")"
	done
	true
}

setup() {
	D=$BATS_FILE_TMPDIR
	PORT=$(cat "$D/port")
	MPORT=$(cat "$D/mport")
	ZK_HOSTS=127.0.0.1:$PORT
	export PORT MPORT ZK_HOSTS
}

# every memcheck log of the daemons: a summary with no error (a process
# killed before its summary has none, and fails too)
logs_clean() {
	local f bad=0 n=0
	for f in "$D"/vglog/*; do
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			echo "$f:"
			cat "$f"
			bad=1
		fi
	done
	echo "$n logs"
	[ $bad = 0 ]
}

@test "a node's daemons under memcheck: the whole workload is answered right" {
	run -0 env VG_SASL=1 /usr/bin/python3 "$BATS_TEST_DIRNAME/vgload.py" \
	    "$PORT" "$MPORT"
	assert_output --partial "vgload: ok"
	# every daemon is running under memcheck, none was restarted
	for p in zk-tree zk-log zk-sessiond zk-gate; do
		ls "$D"/vglog/$p.* >/dev/null
	done
	run grep 'exited with status' "$D/node/node.err"
	assert_failure
}

@test "zk-cli under memcheck, against the node" {
	run -0 vg zk-cli -z "$ZK_HOSTS" ls /vg
	assert_output --partial "acl"
	run -0 vg zk-cli -z "$ZK_HOSTS" get /vg/p
	assert_output --partial "m"
	run -0 vg zk-cli -z "$ZK_HOSTS" create /vg/cli hello
	run -0 vg zk-cli -z "$ZK_HOSTS" stat /vg/cli
	assert_output --partial "dataLength=5"
	run -0 vg zk-cli -z "$ZK_HOSTS" rm /vg/cli
}

@test "stopped: every daemon's memcheck log is clean, snapshots were taken" {
	node_stop "$(cat "$D/node/node.pid")"
	run logs_clean
	assert_success
	ls "$D"/node/data/zk/snapshot.* >/dev/null
}

@test "restarted under memcheck: the data is all back, and the logs stay clean" {
	local old
	old=$(ls "$D"/vglog | wc -l)
	ZK_BIN=$D/vg
	node_start "$D/node2" "dataDir=$D/node/data"
	run -0 /usr/bin/python3 - "$PORT" <<-'EOF'
	import sys
	from kazoo.client import KazooClient
	zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=30)
	zk.start(timeout=30)
	kids = zk.get_children("/vg")
	print(zk.get("/vg/p")[0].decode(), len([k for k in kids if k[0] == "n"]))
	zk.stop()
	EOF
	assert_output "m 200"
	node_stop
	[ "$(ls "$D"/vglog | wc -l)" -gt "$old" ]
	run logs_clean
	assert_success
}

@test "zk-log and zk-snap under memcheck, on what the node wrote" {
	local data=$D/node/data snap
	run -0 vg zk-log verify "$data"
	run -0 vg zk-log dump "$data"
	assert_output --partial "path=/vg/p"
	run -0 vg zk-log last "$data"
	run -0 vg zk-snap list "$data"
	snap=$(ls "$data"/zk/snapshot.* | tail -n 1)
	run -0 vg zk-snap verify "$snap"
	run -0 vg zk-snap cat "$snap"
	assert_output --partial "/vg"
	run -0 vg zk-snap restore "$snap" "$D/restored"
	run -0 vg zk-snap purge -n 1 "$D/restored"
}
