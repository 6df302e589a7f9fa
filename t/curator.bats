#!/usr/bin/env bats
# Apache Curator 5.4 (Debian's libcurator-recipes-java) against zk: the
# recipes applications use (locks, leader latch, barriers, queues,
# counters, CuratorCache, group membership, TTL and container nodes,
# ACLs), through t/curator/CuratorCheck.java, one check per test.
#
# ZK_CURATOR_SERVER=apache runs the same checks against Apache ZooKeeper
# 3.8 (Debian's zookeeper package) instead, for a baseline.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

JARS="curator-recipes curator-framework curator-client zookeeper
zookeeper-jute guava slf4j-api slf4j-simple"

setup_file() {
	local j cp=
	for j in $JARS; do
		if [ ! -e "/usr/share/java/$j.jar" ]; then
			export CURATOR_SKIP="no /usr/share/java/$j.jar (Debian package libcurator-recipes-java)"
			return 0
		fi
		cp=$cp${cp:+:}/usr/share/java/$j.jar
	done
	if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
		export CURATOR_SKIP="no java and javac (Debian package default-jdk-headless)"
		return 0
	fi
	mkdir -p "$BATS_FILE_TMPDIR/classes"
	javac -Xlint:all,-path -d "$BATS_FILE_TMPDIR/classes" -cp "$cp" \
	    "$BATS_TEST_DIRNAME/curator/CuratorCheck.java" >&3 2>&1
	export CURATOR_CP=$BATS_FILE_TMPDIR/classes:$cp
	if [ "${ZK_CURATOR_SERVER:-zk}" = apache ]; then
		apache_start "$BATS_FILE_TMPDIR/node" \
		    -Dzookeeper.extendedTypesEnabled=true \
		    -Dznode.container.checkIntervalMs=100
	else
		node_start "$BATS_FILE_TMPDIR/node" \
		    zookeeper.extendedTypesEnabled=true \
		    znode.container.checkIntervalMs=100
	fi
}

teardown_file() {
	[ -e "$BATS_FILE_TMPDIR/node/node.pid" ] &&
	    node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
	return 0
}

# curator CHECK: run one check, its client log (warnings) shown on failure
curator() {
	[ -z "${CURATOR_SKIP:-}" ] || skip "$CURATOR_SKIP"
	run --separate-stderr timeout 150 java \
	    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
	    -Dorg.slf4j.simpleLogger.logFile="$BATS_TEST_TMPDIR/client.log" \
	    -cp "$CURATOR_CP" CuratorCheck "$ZK_HOSTS" "$1"
	if [ "$status" -ne 0 ]; then
		echo "$stderr"
		tail -n 40 "$BATS_TEST_TMPDIR/client.log"
	fi
	assert_success
	assert_output --regexp "^ok $1: "
}

@test "curator: CRUD, versions, BadVersion/NodeExists/NoNode/NotEmpty, Stats, namespace" { curator crud; }
@test "curator: transactions commit whole or not at all" { curator txn; }
@test "curator: InterProcessMutex across 5 clients, reentrant" { curator mutex; }
@test "curator: InterProcessReadWriteLock and InterProcessSemaphoreV2" { curator locks; }
@test "curator: LeaderLatch elects one of 3 and hands over on close" { curator leader; }
@test "curator: DistributedDoubleBarrier and DistributedBarrier" { curator barrier; }
@test "curator: SimpleDistributedQueue and DistributedQueue, in order" { curator queue; }
@test "curator: SharedCount and DistributedAtomicLong give exact totals" { curator counter; }
@test "curator: CuratorCache (addWatch persistent recursive) events" { curator cache; }
@test "curator: one-shot and persistent recursive watches, removeWatches" { curator watch; }
@test "curator: ephemeral, sequential, PersistentNode, gone on session close" { curator ephemeral; }
@test "curator: GroupMember membership" { curator group; }
@test "curator: session expiry, PersistentNode re-created" { curator expiry; }
@test "curator: TTL and container nodes" { curator ttl; }
@test "curator: digest auth, CREATOR_ALL_ACL, NoAuth, setACL" { curator acl; }
@test "curator: create2 Stat, sync, session timeout, getConfig" { curator misc; }

@test "curator: every check has a test here" {
	[ -z "${CURATOR_SKIP:-}" ] || skip "$CURATOR_SKIP"
	run -0 java -cp "$CURATOR_CP" CuratorCheck list
	n=$(grep -c '^@test .*{ curator [a-z]*; }' "$BATS_TEST_FILENAME")
	[ "${#lines[@]}" -eq "$n" ]
	for c in "${lines[@]}"; do
		grep -q "{ curator $c; }" "$BATS_TEST_FILENAME"
	done
}
