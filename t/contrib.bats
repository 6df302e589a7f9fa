#!/usr/bin/env bats
# contrib/: the systemd unit, the example configs and the use-case
# examples (naming, configuration push, membership, master election),
# each run against a real node.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

C=$BATS_TEST_DIRNAME/../contrib
X=$C/examples

setup_file() {
	node_start "$BATS_FILE_TMPDIR/node"
}

teardown_file() {
	node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
}

setup() {
	D=$BATS_TEST_TMPDIR
	export ZK_CLI="$ZK_BIN/zk-cli"
	CLI=$ZK_CLI
}

teardown() {
	bgkill
}



# wait until a command's output equals the expected text
until_output() {
	local want=$1 i
	shift
	for i in $(seq 100); do
		[ "$("$@" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.1
	done
	echo "never got: $want; last: $("$@" 2>&1)" >&2
	return 1
}

@test "naming.sh: unique ids, counting up from 0 per namespace" {
	run -0 "$X/naming.sh" orders
	assert_output 0
	run -0 "$X/naming.sh" orders
	assert_output 1
	run -0 "$X/naming.sh" invoices
	assert_output 0
	# concurrent callers never share an id
	for i in 1 2 3 4 5 6; do
		"$X/naming.sh" orders >"$D/id.$i" &
	done
	wait
	run sort -n "$D"/id.*
	assert_output "$(seq 2 7)"
	run -0 "$CLI" ls /naming/orders
	assert_output ""
	run -64 "$X/naming.sh"
}

@test "config-push.sh: followers get each push and run the command" {
	printf 'threads=4\n' >"$D/v1"
	printf 'threads=8\nmode=fast\n' >"$D/v2"
	run -0 "$X/config-push.sh" push app "$D/v1"
	bg f "$X/config-push.sh" follow app "$D/app.conf" "echo reloaded >>'$D/reloads'"
	until_output "threads=4" cat "$D/app.conf"
	run -0 "$X/config-push.sh" push app "$D/v2"
	until_output "$(cat "$D/v2")" cat "$D/app.conf"
	until_output "$(printf 'reloaded\nreloaded')" cat "$D/reloads"
	run -0 "$CLI" get /config/app
	assert_output "$(cat "$D/v2")"
	run -64 "$X/config-push.sh" push app
}

@test "membership.sh: members are ephemeral and leave when they stop" {
	bg a "$X/membership.sh" join web alpha "10.0.0.1:80"
	bg b "$X/membership.sh" join web beta "10.0.0.2:80"
	until_output "$(printf 'alpha\nbeta')" "$X/membership.sh" list web
	run -0 "$CLI" get /members/web/alpha
	assert_output "10.0.0.1:80"
	run -0 "$CLI" stat /members/web/beta
	refute_line ephemeralOwner=0x0
	kill "$(cat "$D/a.bgpid")"
	waitbg a
	[ "$status" -eq 0 ]
	until_output beta "$X/membership.sh" list web
	run -64 "$X/membership.sh" join web
}

@test "membership.sh watch: a line per change of the member list" {
	"$CLI" create -p /members/db >/dev/null
	bg w "$X/membership.sh" watch db
	lines "$D/w.out" 1
	bg a "$X/membership.sh" join db one
	until_output one "$X/membership.sh" list db
	lines "$D/w.out" 2
	run tail -n 1 "$D/w.out"
	assert_output "members: one "
}

@test "master.sh: one master at a time; the next takes over when it dies" {
	bg m1 "$X/master.sh" run svc sh -c 'echo one; exec sleep 60'
	lines "$D/m1.out" 1
	bg m2 "$X/master.sh" run svc sh -c 'echo two; exec sleep 60'
	until_output 2 sh -c "'$CLI' ls /election/svc | wc -l"
	[ ! -s "$D/m2.out" ]
	run -0 "$X/master.sh" who svc
	assert_output --regexp ":$(cat "$D/m1.bgpid")\$"
	# the master dies; when its session expires, m2 takes over
	cmd=$(pgrep -P "$(cat "$D/m1.bgpid")")
	kill -9 "$(cat "$D/m1.bgpid")"
	kill "$cmd"
	for i in $(seq 600); do
		[ -s "$D/m2.out" ] && break
		sleep 0.1
	done
	run cat "$D/m2.out"
	assert_output two
	run -0 "$X/master.sh" who svc
	assert_output --regexp ":$(cat "$D/m2.bgpid")\$"
	run -1 "$X/master.sh" who nosuch
}

@test "zoo.cfg.standalone serves, with its dataDir and port replaced, without a warning" {
	local p=$PORT
	sed -e "s|^dataDir=.*|dataDir=$D/data|" \
	    -e "s|^clientPort=.*|clientPort=$(freeport)|" \
	    -e "s|^metricsProvider.httpPort=.*|metricsProvider.httpPort=0|" \
	    "$C/zoo.cfg.standalone" >"$D/zoo.cfg"
	PORT=$(sed -n 's/^clientPort=//p' "$D/zoo.cfg")
	"$ZK_BIN/zk-node" "$D/zoo.cfg" 2>"$D/node.err" 3>&- &
	echo $! >"$D/node.bgpid"
	until_output imok fourlw ruok
	run -0 "$CLI" -z "127.0.0.1:$PORT" create /x y
	PORT=$p
	run -0 cat "$D/node.err"
	assert_line --index 0 --regexp '^zk-node: starting with '
	assert_equal "${#lines[@]}" 1
}

@test "zoo.cfg.ensemble: zk-node runs it as a member of an ensemble, zk-elect included" {
	local port line i
	port=$(freeport)
	mkdir -p "$D/edata"
	echo 1 >"$D/edata/myid"
	sed -e "s|^dataDir=.*|dataDir=$D/edata|" \
	    -e "s|^clientPort=.*|clientPort=$port|" \
	    -e "s|^metricsProvider.httpPort=.*|metricsProvider.httpPort=0|" \
	    -e "s|^server\.\([0-9]\)=.*|server.\1=127.0.0.1:$(freeport):$(freeport)|" \
	    "$C/zoo.cfg.ensemble" >"$D/ens.cfg"
	# without its myid a member does not know which server it is
	mv "$D/edata/myid" "$D/edata/myid.no"
	run -78 timeout 60 "$ZK_BIN/zk-node" "$D/ens.cfg"
	assert_output --partial "3 server.N lines make an ensemble, but $D/edata/myid does not say which server this is"
	mv "$D/edata/myid.no" "$D/edata/myid"
	setsid "$ZK_BIN/zk-node" "$D/ens.cfg" >"$D/ens.err" 2>&1 </dev/null 3>&- &
	pid=$!
	for i in $(seq 100); do
		[ -S "$D/edata/rundir/elect.sock" ] && break
		sleep 0.1
	done
	run timeout 5 socat -t1 - "UNIX-CONNECT:$D/edata/rundir/elect.sock" </dev/null
	kill -TERM -- "-$pid"
	wait "$pid" || true
	# alone of three, it looks for a leader
	assert_line --index 0 --partial "role state=looking"
}

# a base port p with p..p+2, p+707..p+709 and p+1707..p+1709 all free
ensemble_base() {
	/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 40000)
    ok = True
    for q in [p + k for off in (0, 707, 1707) for k in (off, off + 1, off + 2)]:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        s.close()
    if ok:
        print(p)
        break
PY
}

@test "zk-ensemble: one command runs three nodes that elect a leader and replicate; SIGTERM stops them all" {
	local base i k
	base=$(ensemble_base)
	[ -n "$base" ]
	ZK_NODE=$ZK_BIN/zk-node "$C/zk-ensemble" -n 3 -p "$base" "$D/ens" \
	    2>"$D/ens.err" &
	pid=$!
	for k in $(seq 200); do
		[ "$(printf srvr | socat -t1 - TCP:127.0.0.1:$base 2>/dev/null |
		    grep -c '^Mode: \(leader\|follower\)')" = 1 ] && break
		sleep 0.1
	done
	for k in $(seq 40); do
		timeout 10 "$CLI" -z "127.0.0.1:$((base + 1))" create /e hi \
		    2>/dev/null && break
		sleep 0.5
	done
	for i in 0 1 2; do
		for k in $(seq 50); do
			[ "$(timeout 10 "$CLI" -z "127.0.0.1:$((base + i))" get /e \
			    2>/dev/null)" = hi ] && break
			sleep 0.2
		done
		run -0 timeout 10 "$CLI" -z "127.0.0.1:$((base + i))" get /e ||
		    tail -n 30 "$D"/ens/n*/node.err >&2
		assert_output hi
	done
	run -0 grep -c '^Mode: leader' <(for i in 0 1 2; do
		printf srvr | socat -t1 - TCP:127.0.0.1:$((base + i)); done)
	assert_output 1
	grep -qx "server.3=127.0.0.1:$((base + 709)):$((base + 1709))" "$D/ens/n1/zoo.cfg"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ]
	grep -q 'zk-ensemble: stopped' "$D/ens.err"
	for i in 1 2 3; do
		[ ! -e "$D/ens/n$i/data/rundir" ]
	done
	run -64 "$C/zk-ensemble" -n x
}

@test "zk-node.service: the journal, no log files; systemd accepts it" {
	grep -qx 'StandardError=journal' "$C/zk-node.service"
	! grep -qi 'log.*file\|\.log\b' "$C/zk-node.service" ||
	    ! grep -i '^[A-Z].*\.log' "$C/zk-node.service"
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	# with ExecStart pointing at this build
	mkdir -p "$D/u"
	sed "s|^ExecStart=.*|ExecStart=$ZK_BIN/zk-node $C/zoo.cfg.standalone|" \
	    "$C/zk-node.service" >"$D/u/zk-node.service"
	# (the man pages are not installed here: ignore that complaint)
	systemd-analyze verify "$D/u/zk-node.service" 2>&1 |
	    grep -v "Command 'man " >"$D/verify" || true
	run cat "$D/verify"
	refute_output --partial "zk-node.service:"
}
