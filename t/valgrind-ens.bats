#!/usr/bin/env bats
# The quorum side of the plain build under valgrind's memcheck: a
# three-node ensemble whose zk-log and zk-elect (the programs only an
# ensemble runs) are under memcheck on every node, under a write load
# (t/ensload.py), the leader stopped with SIGTERM and started again, a
# reconfig adding and removing an observer; then every acknowledged
# write is checked, every node stopped, and every memcheck log must end
# with no error and no definite or indirect leak.  (The other daemons
# run plain: t/valgrind.bats has them under memcheck on one node.)
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ensemble

PLAIN=${ZK_PLAIN_BIN:-$BATS_TEST_DIRNAME/../cmd}
PLAIN=$(cd "$PLAIN" && pwd)
VGOPTS="--tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
 --errors-for-leak-kinds=definite,indirect"

setup() {
	command -v socat >/dev/null || skip "no socat"
	command -v valgrind >/dev/null || skip "no valgrind"
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/vg" "$D/vglog"
	for p in zk-log zk-elect; do
		cat >"$D/vg/$p" <<-EOF
		#!/bin/sh
		exec valgrind $(echo $VGOPTS) --log-file=$D/vglog/$p.%p "$PLAIN/$p" "\$@"
		EOF
		chmod +x "$D/vg/$p"
	done
	for p in zk-node zk-tree zk-gate zk-sessiond zk-snap zk-cli; do
		ln -s "$PLAIN/$p" "$D/vg/$p"
	done
	ZK_BIN=$D/vg
	# memcheck is slow: limits a node under it keeps to
	ENS_EXTRA='tickTime=1000
initLimit=20
syncLimit=10
reconfigEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU='
}

teardown() {
	[ -z "${LOADPID:-}" ] || kill "$LOADPID" 2>/dev/null || true
	ens_teardown
}

@test "ensemble under memcheck: zk-log and zk-elect of three nodes through load, a leader restart and a reconfig; no error, no leak" {
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i" || fail "node $i does not serve"; done
	mkdir -p "$D/hist"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/ensload.py" run "$(ens_hosts)" \
	    "$D/hist" 20 2 >"$D/load.out" 2>&1 &
	LOADPID=$!
	sleep 6
	l=$(ens_leader "$D")
	ens_kill "$l" TERM
	ens_node "$D" "$l"
	# the reconfig once every node serves again (an election under
	# memcheck takes a while; a client of a node in one is disconnected)
	for i in 1 2 3; do ens_serving "$D" "$i" || fail "node $i does not serve"; done
	obs="server.9=127.0.0.1:$(freeport):$(freeport):observer;127.0.0.1:$(freeport)"
	run -0 timeout 120 "$ZK_BIN/zk-cli" -t 60 -z "$(ens_hosts)" \
	    -a digest:super:test reconfig -add "$obs"
	run -0 timeout 120 "$ZK_BIN/zk-cli" -t 60 -z "$(ens_hosts)" \
	    -a digest:super:test reconfig -remove 9
	for k in $(seq 600); do
		[ -e "$D/hist/holding" ] && break
		kill -0 "$LOADPID" 2>/dev/null || break
		sleep 0.1
	done
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/ensload.py" check \
	    "$(ens_hosts)" "$D/hist"
	assert_output --partial "ensload: ok"
	kill "$LOADPID" 2>/dev/null || true
	wait "$LOADPID" 2>/dev/null || true
	LOADPID=
	ens_stop
	bad=0 n=0
	for f in "$D"/vglog/*; do
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			echo "$f:" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	echo "# $n memcheck logs" >&3
	[ "$n" -ge 8 ]		# 3 zk-log, 3 zk-elect, and the restarted pair
	[ "$bad" = 0 ]
}
