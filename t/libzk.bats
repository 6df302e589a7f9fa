#!/usr/bin/env bats
# libzk unit tests through the t/libzk-test driver.
# ZK_BIN (default cmd) names the build's cmd/ directory; the driver is
# built next to it, in ../t/ (make testprogs, or make san for build/san).
bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	bin=${ZK_BIN:-$top/cmd}
	case $bin in /*) ;; *) bin=$top/$bin ;; esac
	drv=$(dirname "$bin")/t/libzk-test
	[ -x "$drv" ] || skip "$drv not built (make testprogs)"
	cfg=$BATS_TEST_TMPDIR/zoo.cfg
	mkdir -p "$BATS_TEST_TMPDIR/data"
}

@test "jute: primitives, stat, null and bad lengths round trip" {
	run -0 "$drv" jute
	[ "$output" = "ok jute" ]
}

@test "framing: negative, zero, over maxbuffer refused; exactly maxbuffer accepted" {
	run -0 "$drv" frame
	[ "$output" = "ok frame" ]
}

@test "line codec: every byte 0..255 survives escape and unescape" {
	run -0 "$drv" escape
	[ "$output" = "ok escape" ]
}

@test "line codec: records, repeated keys, numbers, bad fields, getters over a field range" {
	run -0 "$drv" line
	[ "$output" = "ok line" ]
}

@test "hex codec: every byte round trips; odd, long, short and non-hex input refused" {
	run -0 "$drv" hex
	[ "$output" = "ok hex" ]
}

@test "shm: the big-value ring: put, full, release, skip the end, reset, parse, its fd over a socket" {
	run -0 "$drv" shm
	[ "$output" = "ok shm" ]
}

@test "zkl_parseint: decimal, hex, sign, range; junk refused" {
	run -0 "$drv" int
	[ "$output" = "ok int" ]
}

@test "zk_connect_unix: waits for a peer that binds later, gives up after the wait" {
	run -0 "$drv" connect
	[ "$output" = "ok connect" ]
}

@test "the loop wakes at once when its supervisor dies, a zombie one too (pidfd)" {
	run -0 env -u ZK_NODE_PID "$drv" orphan
	[ "$output" = "ok orphan" ]
}

@test "zk_connect_unix: under a live supervisor waits past the bound; a dead one is EOWNERDEAD" {
	run -0 env ZK_NODE_PID=$$ "$drv" connect-sup
	[ "$output" = "ok connect-sup" ]
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	run -0 env ZK_NODE_PID=$dead "$drv" connect-sup
	[ "$output" = "ok connect-sup" ]
}

@test "zkl_putd, zkl_putx, zkl_putstat: what snprintf prints, random values, INT64_MIN" {
	run -0 "$drv" fmt
	[ "$output" = "ok fmt" ]
}

@test "zk_crc32c: the bitwise definition, random lengths, alignments, seeds" {
	run -0 "$drv" crc
	[ "$output" = "ok crc" ]
	ZK_CRC_SOFT=1 run -0 "$drv" crc
	[ "$output" = "ok crc" ]
}

@test "zkl_parsestat: round trip and malformed stats" {
	run -0 "$drv" stat
	[ "$output" = "ok stat" ]
}

@test "zk_digest_id: alice:secret" {
	run -0 "$drv" digest alice:secret
	[ "$output" = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" ]
}

@test "zk_digest_id: kazoo's super:test digest" {
	run -0 "$drv" digest super:test
	[ "$output" = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" ]
}

@test "zkcfg_load: a good zoo.cfg" {
	cat >"$cfg" <<-EOF
	# comment
	tickTime=500
	  initLimit = 4
	syncLimit=2
	dataDir=$BATS_TEST_TMPDIR/data
	clientPort=21810
	clientPortAddress=127.0.0.1
	4lw.commands.whitelist=ruok, stat
	zookeeper.extendedTypesEnabled=true
	zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
	znode.container.checkIntervalMs=100
	server.1=localhost:2888:3888
	server.2=10.0.0.2:2889:3889:observer;127.0.0.1:2182
	EOF
	echo 2 >"$BATS_TEST_TMPDIR/data/myid"
	run -0 "$drv" cfg "$cfg"
	[[ "$output" == *$'\ntickTime=500\n'* || "$output" == tickTime=500$'\n'* ]]
	[[ "$output" == *$'\ninitLimit=4\n'* ]]
	[[ "$output" == *$'\nminSessionTimeout=1000\nmaxSessionTimeout=10000\n'* ]]
	[[ "$output" == *$'\ndataLogDir='"$BATS_TEST_TMPDIR/data"$'\n'* ]]
	[[ "$output" == *$'\nclientPort=21810\nclientPortAddress=127.0.0.1\n'* ]]
	[[ "$output" == *$'\nextendedTypesEnabled=1\n'* ]]
	[[ "$output" == *$'\nsuperDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n'* ]]
	[[ "$output" == *$'\ncontainerCheckMs=100\n'* ]]
	[[ "$output" == *$'\nmyid=2\n'* ]]
	[[ "$output" == *$'\nnservers=2\n'* ]]
	[[ "$output" == *$'\nserver.1=localhost:2888:3888 observer=0 client=:0\n'* ]]
	[[ "$output" == *$'\nserver.2=10.0.0.2:2889:3889 observer=1 client=127.0.0.1:2182\n'* ]]
	[[ "$output" == *$'\n4lw.ruok=1\n4lw.srvr=1' ]]
}

@test "zkcfg_load: defaults are Apache's" {
	printf 'dataDir=%s\n' "$BATS_TEST_TMPDIR/data" >"$cfg"
	run -0 "$drv" cfg "$cfg"
	[[ "$output" == tickTime=2000$'\n'* ]]
	[[ "$output" == *$'\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n'* ]]
	[[ "$output" == *$'\nclientPort=2181\n'* ]]
	[[ "$output" == *$'\nmaxClientCnxns=60\n'* ]]
	[[ "$output" == *$'\nmaxbuffer=1048575\n'* ]]
	[[ "$output" == *$'\nmyid=0\n'* ]]
	[[ "$output" == *$'\n4lw.ruok=0\n4lw.srvr=1' ]]
	# but one: an observer fsyncs at most once a second (zk-log(1))
	[[ "$output" == *$'\nsyncEnabled=0\n'* ]]
}

@test "zkcfg_load: syncEnabled by Apache's zoo.cfg key, or its system property's name with or without zookeeper." {
	for k in syncEnabled observer.syncEnabled zookeeper.observer.syncEnabled; do
		printf 'dataDir=/tmp\n%s=true\n' "$k" >"$cfg"
		run --separate-stderr -0 "$drv" cfg "$cfg"
		[[ "$output" == *$'\nsyncEnabled=1\n'* ]]
		[ -z "$stderr" ]
		printf 'dataDir=/tmp\n%s=false\n' "$k" >"$cfg"
		run -0 "$drv" cfg "$cfg"
		[[ "$output" == *$'\nsyncEnabled=0\n'* ]]
	done
}

@test "zkcfg_load: a line without '=' is reported as file:line:" {
	printf 'dataDir=/tmp\n\ntickTime 2000\n' >"$cfg"
	run -1 "$drv" cfg "$cfg"
	[ "$output" = "$cfg:3: expected key=value" ]
}

@test "zkcfg_load: a bad value is reported as file:line: key" {
	printf 'dataDir=/tmp\nclientPort=70000\n' >"$cfg"
	run -1 "$drv" cfg "$cfg"
	[[ "$output" == "$cfg:2: clientPort: "* ]]
}

@test "zkcfg_load: a bad server line is reported as file:line:" {
	printf 'dataDir=/tmp\nserver.1=host:2888\n' >"$cfg"
	run -1 "$drv" cfg "$cfg"
	[[ "$output" == "$cfg:2: server.1: "* ]]
	printf 'dataDir=/tmp\nserver.1=host:2888:3888:bogus:junk\n' >"$cfg"
	run -1 "$drv" cfg "$cfg"
	[[ "$output" == "$cfg:2: server.1: "* ]]
}

@test "zkcfg_standalone: two server lines are an ensemble, refused at the second's line" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo 2 >"$BATS_TEST_TMPDIR/d/myid"
	printf 'dataDir=%s\nserver.1=a:2888:3888\n# c\nserver.2=b:2888:3888:observer\n' \
	    "$BATS_TEST_TMPDIR/d" >"$cfg"
	run -1 "$drv" standalone "$cfg"
	[ "$output" = "$cfg:4: server.2: 2 servers make an ensemble, not a standalone node: keep at most one server.N line to run standalone" ]
}

@test "zkcfg_standalone: one server line is ignored, as Apache's standalone mode does (myid too)" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo 5 >"$BATS_TEST_TMPDIR/d/myid"
	printf 'dataDir=%s\nserver.5=a:2888:3888\n' "$BATS_TEST_TMPDIR/d" >"$cfg"
	run -0 "$drv" cfg "$cfg"
	[[ "$output" == *$'\nmyid=5\npeerTypeObserver=0\nnservers=1\n'* ]]
	run -0 "$drv" standalone "$cfg"
	[ "$output" = "nservers=0 myid=0" ]
	printf 'dataDir=%s\n' "$BATS_TEST_TMPDIR/d" >"$cfg"
	run -0 "$drv" standalone "$cfg"
	[ "$output" = "nservers=0 myid=0" ]
}

@test "zkcfg_load: no dataDir is an error" {
	printf 'tickTime=2000\n' >"$cfg"
	run -1 "$drv" cfg "$cfg"
	[[ "$output" == *"dataDir"* ]]
}

@test "zkcfg_load: an unknown key warns and still loads" {
	printf 'dataDir=/tmp\nadmin.serverPort=8080\ntickTime=100\n' >"$cfg"
	run --separate-stderr -0 "$drv" cfg "$cfg"
	[[ "$output" == tickTime=100$'\n'* ]]
	[[ "$stderr" == *"$cfg:2: admin.serverPort"* ]]
}

@test "zkcfg_load: a missing file names the file" {
	run -1 "$drv" cfg "$BATS_TEST_TMPDIR/nonexistent.cfg"
	[[ "$output" == "$BATS_TEST_TMPDIR/nonexistent.cfg: "* ]]
}

@test "zabwire: every peer message through zab_put and zab_parse; bad verbs, fields and data refused" {
	run -0 "$drv" zabwire
	[ "$output" = "ok zabwire" ]
}

@test "zabquorum: a leader with one follower of two commits only what that follower acknowledged" {
	run -0 "$drv" zabquorum
	[ "$output" = "ok zabquorum" ]
}

@test "members: server specs, the config text, reconfig's changes and refusals, observers joining a leader's slots" {
	run -0 "$drv" members
	[ "$output" = "ok members" ]
}

@test "seg: list, append, scan good/torn/damaged, failed appends, online truncate in and across segments, then Z+1" {
	run -0 "$drv" seg
	[ "$output" = "ok seg" ]
}

@test "epochs: updated in place by turns; a torn newest block gives the one before; both bad or a wrong size refused; the legacy files taken over once" {
	run -0 "$drv" epochs
	[ "$output" = "ok epochs" ]
}

@test "elect: a settled peer's better vote stops the no-wait settle; all votes in and none better settles at once" {
	run -0 "$drv" elect
	[ "$output" = "ok elect" ]
}

@test "loop: ondrain is asked for more of a stream each time the output is all written; 4 MB arrive in order" {
	run -0 "$drv" drain
	[ "$output" = "ok drain" ]
}
