#!/usr/bin/env bats
# zk-node: the supervisor, first with fake programs (shell scripts in a
# copy of the checkout layout), then with the real ones end to end.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer	# reap

PROGS="zk-tree zk-log zk-sessiond zk-gate"

setup() {
	BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
	BIN=$(cd "$BIN" && pwd)
	D=$BATS_TEST_TMPDIR
	NODE=
	export TMPDIR=$D
}

teardown() {
	[ -z "$NODE" ] || reap "$NODE"
	# anything left over (a failed test, kill -9): stop it by pid
	for p in $(pgrep -f -- "$D/" || true); do
		kill -9 "$p" 2>/dev/null || true
	done
}

freeport() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py"
}

# a checkout layout under $D/co with fake programs: each runs $D/<name>.sh
# when that exists, else sleeps
fakes() {
	mkdir -p "$D/co/cmd"
	cp "$BIN/zk-node" "$D/co/cmd/zk-node"
	# zk-elect must be there too, though a standalone node never runs it
	for p in $PROGS zk-elect; do
		cat >"$D/co/cmd/$p" <<EOF
#!/bin/sh
[ "\$1" = -n ] && exit 0	# zk-node's check of zoo.cfg: good
echo "\$\$" >>"$D/$p.starts"
[ -f "$D/$p.sh" ] && . "$D/$p.sh"
exec sleep 1000
EOF
		chmod +x "$D/co/cmd/$p"
	done
	printf 'dataDir=%s/data\n' "$D" >"$D/zoo.cfg"
}

# a checkout layout with the real programs
reals() {
	local p
	mkdir -p "$D/co/cmd"
	for p in zk-node $PROGS zk-elect; do
		ln -s "$BIN/$p" "$D/co/cmd/$p"
	done
}

ruok() {
	local i
	for i in $(seq 100); do
		[ "$(printf ruok | socat -t1 - "TCP:127.0.0.1:$1" 2>/dev/null)" = imok ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

waitfile() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "zk-node: SIGTERM stops every program and exits 0" {
	fakes
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	for p in $PROGS; do
		waitfile "$D/$p.starts"
	done
	[ -d "$D/data" ]
	run -0 pgrep -f -- "$D/"
	kill -TERM "$NODE"
	rc=0
	wait "$NODE" || rc=$?
	NODE=
	assert_equal "$rc" 0
	run -1 pgrep -f -- "$D/"
	# the run directory is gone
	run -0 find "$D" -maxdepth 1 -name 'zk-node.*'
	assert_output ''
}

@test "zk-node: SIGINT stops it too" {
	fakes
	# a background job starts with SIGINT ignored (and a shell cannot
	# trap what it got ignored): undo that, as a terminal's ^C finds it
	/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	waitfile "$D/zk-gate.starts"
	kill -INT "$NODE"
	rc=0
	wait "$NODE" || rc=$?
	NODE=
	assert_equal "$rc" 0
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: a program that dies restarts the whole node" {
	fakes
	# zk-log dies once, at its first start
	cat >"$D/zk-log.sh" <<EOF
[ "\$(wc -l <"$D/zk-log.starts")" -eq 1 ] && { sleep 0.3; exit 75; }
EOF
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	for i in $(seq 50); do
		[ "$(wc -l <"$D/zk-tree.starts" 2>/dev/null)" = 2 ] && break
		sleep 0.1
	done
	assert_equal "$(wc -l <"$D/zk-tree.starts")" 2
	# the first zk-tree was stopped
	first=$(head -1 "$D/zk-tree.starts")
	run -1 kill -0 "$first"
	run -0 cat "$D/err"
	assert_output --partial 'zk-log exited with status 75'
	assert_output --partial 'restarting'
}

@test "zk-node: a node that keeps dying gives up with 1" {
	fakes
	echo 'exit 75' >"$D/zk-gate.sh"
	run -1 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	assert_output --partial 'giving up'
	assert_equal "$(wc -l <"$D/zk-gate.starts")" 5
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: a bad config line is 78 with file:line, no restart" {
	reals
	printf 'tickTime=2000\ndataDir=%s/data\nclientPort=nope\n' "$D" \
	    >"$D/zoo.cfg"
	run -78 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	assert_output --partial "$D/zoo.cfg:3: clientPort"
	refute_output --partial 'zk-node: restarting'
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: status 65 from a program (corrupt log) is not retried" {
	fakes
	echo 'exit 65' >"$D/zk-log.sh"
	run -65 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	assert_equal "$(wc -l <"$D/zk-log.starts")" 1
}

@test "zk-node: usage, a missing zoo.cfg, a missing program" {
	fakes
	run -64 "$D/co/cmd/zk-node" a b
	assert_output --partial usage
	run -66 "$D/co/cmd/zk-node" "$D/nonexistent.cfg"
	rm "$D/co/cmd/zk-sessiond"
	run -69 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	assert_output --partial zk-sessiond
}

@test "zk-node: runs under dash" {
	fakes
	dash "$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	waitfile "$D/zk-gate.starts"
	kill -TERM "$NODE"
	rc=0
	wait "$NODE" || rc=$?
	NODE=
	assert_equal "$rc" 0
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: reads dataDir, dataLogDir and autopurge as the programs do: blanks trimmed, last wins, exact keys" {
	fakes
	printf '#!/bin/sh\necho "$*" >>"%s/zk-snap.args"\n' "$D" \
	    >"$D/co/cmd/zk-snap"
	chmod +x "$D/co/cmd/zk-snap"
	# a key is matched exactly (a '.' in it is no wildcard), the last
	# value wins, a last line without a newline counts, and 08 hours is
	# decimal
	printf '%s\n' "# dataDir=$D/comment" "dataDir=$D/first" \
	    "$(printf ' \tdataDir \t= \t%s/data \t' "$D")" "dataDirX=$D/x" \
	    'autopurge.purgeInterval = 08 ' ' autopurge.snapRetainCount=4' \
	    'autopurge_snapRetainCount=9' "dataLogDir=$D/log" >"$D/zoo.cfg"
	printf 'dataLogDir = %s/log2  ' "$D" >>"$D/zoo.cfg"
	ZK_PURGE_UNIT=0 "$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	waitfile "$D/zk-gate.starts"
	waitfile "$D/zk-snap.args"
	run -0 readlink "$D/data/rundir"
	assert_output --regexp "^$D/zk-node\.[^/]+\$"
	[ -d "$D/log2" ]
	for d in comment first x log; do
		[ ! -e "$D/$d" ]
	done
	run -0 head -1 "$D/zk-snap.args"
	assert_output "purge -n 4 $D/data $D/log2"
	kill -TERM "$NODE"
	wait "$NODE"
	NODE=
	[ ! -e "$D/data/rundir" ]

	# autopurge off: autopurge_purgeInterval is some other key
	rm "$D/zk-snap.args" "$D/zk-gate.starts"
	printf 'dataDir=%s/data\nautopurge.purgeInterval=0\nautopurge_purgeInterval=1\n' \
	    "$D" >"$D/zoo.cfg"
	ZK_PURGE_UNIT=0 "$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	waitfile "$D/zk-gate.starts"
	sleep 1.5
	[ ! -e "$D/zk-snap.args" ]
}

# End to end: these need every real program.

@test "zk-node: the default config serves on ZK_NODE_PORT, data in var/data" {
	reals
	port=$(freeport)
	ZK_NODE_PORT=$port "$D/co/cmd/zk-node" 2>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	[ -d "$D/co/var/data/zk" ]
	run -0 cat "$D"/zk-node.*/zoo.cfg
	assert_line "dataDir=$D/co/var/data"
	assert_line "clientPort=$port"
	assert_line '4lw.commands.whitelist=*'
	kill -TERM "$NODE"
	rc=0
	wait "$NODE" || rc=$?
	NODE=
	assert_equal "$rc" 0
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: kazoo's zoo.cfg; create/get; kill -9 and restart keeps acked writes" {
	reals
	port=$(freeport)
	mkdir -p "$D/data"
	echo 1 >"$D/data/myid"
	cat >"$D/zoo.cfg" <<EOF

tickTime=2000
dataDir=$D/data
clientPort=$port
maxClientCnxns=0
admin.serverPort=$(freeport)
authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
4lw.commands.whitelist=*
reconfigEnabled=true
EOF
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	run -0 /usr/bin/python3 - "$port" <<'EOF'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1])
zk.start(timeout=10)
zk.create("/app", b"hello")
for i in range(100):
    zk.create("/app/n", str(i).encode(), sequence=True)
zk.set("/app", b"world")
print(zk.get("/app")[0].decode())
EOF
	assert_output world
	# kill -9 the whole node: the supervisor, its wrappers, the programs
	for p in $(pgrep -f -- "$D/"); do
		kill -9 "$p" 2>/dev/null || true
	done
	wait "$NODE" 2>/dev/null || true
	NODE=
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	run -0 /usr/bin/python3 - "$port" <<'EOF'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1])
zk.start(timeout=10)
print(zk.get("/app")[0].decode(), len(zk.get_children("/app")))
EOF
	assert_output 'world 100'
}

@test "zk-node: pipelined reads and writes of 4 sessions, connections dropped mid-batch and taken over: every reply and watch event as the model says (t/fifo-stress.py)" {
	reals
	port=$(freeport)
	printf 'dataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=ruok\n' \
	    "$D" "$port" >"$D/zoo.cfg"
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	for seed in 1 2 3; do
		run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/fifo-stress.py" "$port" "$seed" 40
		assert_output --regexp '^ok: [0-9]+ replies checked, [1-9][0-9]* takeovers$'
	done
}

@test "zk-node: its programs stop by themselves when zk-node is killed with -9" {
	reals
	port=$(freeport)
	ZK_NODE_PORT=$port "$D/co/cmd/zk-node" 2>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	run -0 pgrep -f -- "$D/co/cmd/zk-tree"
	kill -9 "$NODE"
	wait "$NODE" 2>/dev/null || true
	NODE=
	# each program looks for its supervisor once a second
	for i in $(seq 50); do
		pgrep -f -- "$D/co/cmd/zk-" >/dev/null || break
		sleep 0.1
	done
	run -1 pgrep -f -- "$D/co/cmd/zk-"
	run -1 socat -t1 - "TCP:127.0.0.1:$port" </dev/null
}

@test "zk-node: after kill -9 of the node, a new start links dataDir/rundir to its own run directory" {
	reals
	port=$(freeport)
	printf 'dataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\n' \
	    "$D" "$port" >"$D/zoo.cfg"
	echo '4lw.commands.whitelist=*' >>"$D/zoo.cfg"
	setsid "$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err1" &
	NODE=$!
	ruok "$port" || { cat "$D/err1"; false; }
	old=$(readlink "$D/data/rundir")
	[ -d "$old" ]
	kill -9 -- -"$NODE"		# the whole group: no cleanup runs
	wait "$NODE" 2>/dev/null || true
	NODE=
	[ -d "$old" ]
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err2" &
	NODE=$!
	ruok "$port" || { cat "$D/err2"; false; }
	new=$(sed -n 's/.*(run directory \(.*\))$/\1/p' "$D/err2")
	[ -n "$new" ] && [ "$new" != "$old" ]
	run -0 readlink "$D/data/rundir"
	assert_output "$new"
	[ ! -e "$old/rundir.tmp" ] && [ ! -e "$old/zk-node.${new##*.}" ]
	run -0 "$BIN/zk-snap" take "$D/data/rundir"
	[ -f "$output" ]
}

@test "zk-node: a zoo.cfg without clientPort is 78 naming the file, said once, nothing served" {
	reals
	printf 'dataDir=%s/data\nclientport=2181\n' "$D" >"$D/zoo.cfg"
	run -78 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	assert_line "zk-gate: $D/zoo.cfg: clientPort is not set"
	assert_equal "$(grep -c 'clientPort is not set' <<<"$output")" 1
	refute_output --partial 'zk-node: restarting'
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: a client port in use is final at once: 78 naming the address, no restart" {
	reals
	port=$(freeport)
	/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(60)' "$port" &
	busy=$!
	printf 'dataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\n' \
	    "$D" "$port" >"$D/zoo.cfg"
	sleep 0.5
	run -78 "$D/co/cmd/zk-node" "$D/zoo.cfg"
	kill "$busy"
	assert_line --partial "zk-gate: 127.0.0.1:$port: Address already in use"
	refute_output --partial 'zk-node: restarting'
	run -1 pgrep -f -- "$D/"
}

@test "zk-node: a config error or warning is said once, not by every program" {
	reals
	port=$(freeport)
	printf 'dataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\n' \
	    "$D" "$port" >"$D/zoo.cfg"
	printf '4lw.commands.whitelist=*\nnoSuchKey=1\n' >>"$D/zoo.cfg"
	"$D/co/cmd/zk-node" "$D/zoo.cfg" 2>"$D/err" &
	NODE=$!
	ruok "$port" || { cat "$D/err"; false; }
	kill -TERM "$NODE"
	wait "$NODE"
	NODE=
	assert_equal "$(grep -c 'noSuchKey is not used by zk' "$D/err")" 1

	printf 'dataDir=%s/data\nclientPort=%s\ntickTime=abc\n' "$D" "$port" \
	    >"$D/bad.cfg"
	run -78 "$D/co/cmd/zk-node" "$D/bad.cfg"
	assert_equal "$(grep -c "$D/bad.cfg:3: tickTime" <<<"$output")" 1
	run -1 pgrep -f -- "$D/"
}
