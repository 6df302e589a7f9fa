#!/usr/bin/env bats
# Differential tests: the same operations against Apache ZooKeeper 3.8
# (java, Debian's jars) and zk-node, compared by t/diff/zkdiff.py.
# Both servers are started once for the file, on free ports, and stopped
# by PID.  ZK_BIN names zk-node's directory (default cmd).
bats_require_minimum_version 1.5.0

zkdiff() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/diff/zkdiff.py" "$@"
}

setup_file() {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	bin=${ZK_BIN:-$top/cmd}
	case $bin in /*) ;; *) bin=$top/$bin ;; esac
	export ZK_BIN=$bin
	export ZKDIFF_DIR=$BATS_FILE_TMPDIR/servers
	if [ ! -x "$ZK_BIN/zk-node" ]; then
		export ZKDIFF_SKIP="$ZK_BIN/zk-node not built yet"
		return 0
	fi
	if ! command -v java >/dev/null || [ ! -e /usr/share/java/zookeeper.jar ]; then
		export ZKDIFF_SKIP="Apache ZooKeeper (java, zookeeper.jar) not installed"
		return 0
	fi
	zkdiff start "$ZKDIFF_DIR" >&3 2>&3 || {
		tail -n 20 "$ZKDIFF_DIR"/*/server.log >&3 2>&1
		zkdiff stop "$ZKDIFF_DIR"
		return 1
	}
}

teardown_file() {
	[ -n "${ZKDIFF_SKIP:-}" ] || zkdiff stop "$ZKDIFF_DIR"
}

scenario() {
	[ -z "${ZKDIFF_SKIP:-}" ] || skip "$ZKDIFF_SKIP"
	run zkdiff run "$ZKDIFF_DIR" "$1"
	echo "$output"		# the diff, shown when the test fails
	[ "$status" -eq 0 ]
	[[ "$output" == "zkdiff: $1: same ("* ]]
}

@test "diff: create, create2, sequential, ephemeral" { scenario create_modes; }
@test "diff: containers and TTL nodes" { scenario container_ttl; }
@test "diff: setData and versions, check" { scenario setdata_versions; }
@test "diff: delete errors" { scenario delete_errors; }
@test "diff: bad paths" { scenario bad_paths; }
@test "diff: ACLs world/digest/ip/auth/super, NOAUTH, whoAmI" { scenario acl_checks; }
@test "diff: multi success and failure, multiRead" { scenario multi_ops; }
@test "diff: data/exist/child, persistent and recursive watches" { scenario watches; }
@test "diff: setWatches and setWatches2 replay on reconnect" { scenario setwatches_replay; }
@test "diff: getEphemerals, getAllChildrenNumber, sync, whoAmI" { scenario ephemerals_counts; }
@test "diff: four-letter words" { scenario fourletterwords; }
@test "diff: pipelined reads and writes of one session, in order" { scenario pipelined; }

@test "diff: every scenario has a test here" {
	[ -z "${ZKDIFF_SKIP:-}" ] || skip "$ZKDIFF_SKIP"
	run -0 zkdiff list
	n=$(grep -c '^@test .*{ scenario ' "$BATS_TEST_FILENAME")
	[ "${#lines[@]}" -eq "$n" ]
}
