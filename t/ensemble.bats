#!/usr/bin/env bats
# A three-node ensemble on loopback (zk-node composing zk-elect and the
# quorum side of zk-log): one leader, writes through any node read back
# on every node, and no acknowledged write lost when the leader is
# killed, when it comes back, or when every node restarts.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ensemble

setup() {
	command -v socat >/dev/null || skip "no socat"
	D=$BATS_TEST_TMPDIR
}

teardown() {
	ens_teardown
}

# every path in $@ is on node i, with its data (a follower applies a
# commit a moment after the leader answered: asked again for up to 10 s)
# node I's zk-log and zk-gate PIDs (the gate holds its clients): the
# same ones when the node did not start again
daemons() {
	pgrep -g "${ENS_PID[$1]}" -x 'zk-log|zk-gate' | sort | tr '\n' ' '
}

has() {
	local i=$1 p k out
	shift
	for p in "$@"; do
		for k in $(seq 50); do
			out=$(timeout 10 "$ZK_BIN/zk-cli" -t 5 \
			    -z "127.0.0.1:${ENS_PORT[i]}" get "$p" 2>&1) &&
			    [ "$out" = "data of $p" ] && break
			sleep 0.2
		done
		[ "$out" = "data of $p" ] ||
		    fail "node $i, $p: $out"
	done
}

# rolling.py's four writers on the servers HOSTS, till load_end
load_start() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/rolling.py" "$1" "$D/stop" 4 \
	    >"$D/load.out" 2>&1 &
	load=$!
}

# stop them; their figures to the TAP stream; fail if rolling.py did
load_end() {
	local rc=0

	touch "$D/stop"
	wait "$load" || rc=$?
	grep -v "^Connection dropped\|^Transition to\|^Zookeeper connection" \
	    "$D/load.out" | sed "s/^/# /" >&3 || true
	[ "$rc" = 0 ] || fail "rolling.py: exit $rc"
}

# three nodes that allow reconfig, /before written, and ports for a
# fourth (ENS_*[4]), not started
three_and_a_fourth() {
	ENS_EXTRA='reconfigEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU='
	[ -z "${1:-}" ] || ENS_EXTRA="$ENS_EXTRA
$1"
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	ens_write 1 create /before "data of /before"
	ENS_HOST[4]=127.0.0.1
	ENS_PORT[4]=$(freeport)
	ENS_QPORT[4]=$(freeport)
	ENS_EPORT[4]=$(freeport)
}

@test "three nodes elect one leader; a write through any node is on every node" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	# a quorum may settle before the third node heard of it (its
	# election connections still backing off): it joins a moment later
	for i in 1 2 3; do
		ens_await "$D" "$i" "leading|following" || true
	done
	n=0
	for i in 1 2 3; do
		case $(ens_role "$D" "$i") in
		*state=leading*) n=$((n + 1)) ;;
		*state=following*leader=$leader*) ;;
		*) fail "node $i: $(ens_role "$D" "$i")" ;;
		esac
	done
	[ "$n" = 1 ]
	for i in 1 2 3; do
		ens_write "$i" create "/w$i" "data of /w$i"
	done
	for i in 1 2 3; do
		has "$i" /w1 /w2 /w3
	done
	# each log holds one history: the shortest is a prefix of the others
	# (the commit points each writer knew differ: not compared)
	min=
	for i in 1 2 3; do
		"$ZK_BIN/zk-log" dump "$D/n$i/data" |
		    sed 's/ commit=0x[0-9a-f]*$//' >"$D/log$i"
		n=$(wc -l <"$D/log$i")
		[ -z "$min" ] || [ "$n" -lt "$min" ] && min=$n
	done
	for i in 2 3; do
		cmp <(head -n "$min" "$D/log1") <(head -n "$min" "$D/log$i")
	done
	run -0 grep -c '^create ' "$D/log1"
	assert_output 3
	# each write names the node it came through, whose zk-tree alone
	# answers it (via=); the others' gates still learn how far their
	# tree applied: every srvr comes to say the same Zxid
	for i in 1 2 3; do
		grep -q "^create .* via=$i path=/w$i " "$D/log1" ||
		    fail "/w$i: no via=$i"
	done
	for k in $(seq 50); do
		zx=$(for i in 1 2 3; do ens_srvr "$i" | sed -n 's/^Zxid: //p'
		    done | sort -u)
		[ "$(echo "$zx" | wc -l)" = 1 ] && break
		sleep 0.1
	done
	[ "$(echo "$zx" | wc -l)" = 1 ] || fail "Zxids: $zx"
}

@test "kill -9 the leader: a new one is elected, nothing acknowledged is lost, the old one catches up" {
	ens_start "$D" 3
	old=$(ens_leader "$D")
	for k in 1 2 3 4 5; do
		ens_write $(((k % 3) + 1)) create "/a$k" "data of /a$k"
	done
	ens_kill "$old"
	survivor=$((old % 3 + 1))
	ens_write "$survivor" create /after "data of /after"
	new=$(ens_leader "$D")
	[ "$new" != "$old" ]
	for i in 1 2 3; do
		[ "$i" = "$old" ] && continue
		has "$i" /a1 /a2 /a3 /a4 /a5 /after
	done
	# back as a follower of the new epoch, synced by DIFF
	ens_node "$D" "$old"
	ens_await "$D" "$old" following || true
	run ens_role "$D" "$old"
	assert_output --partial "state=following leader=$new"
	ens_write "$new" create /later "data of /later"
	has "$old" /a1 /a2 /a3 /a4 /a5 /after /later
	run -0 "$ZK_BIN/zk-log" verify "$D/n$old/data"
}

@test "every node killed and restarted: the ensemble comes back with all of it" {
	ens_start "$D" 3
	ens_leader "$D" >/dev/null
	for k in 1 2 3 4 5 6; do
		ens_write $(((k % 3) + 1)) create "/r$k" "data of /r$k"
	done
	for i in 1 2 3; do
		ens_kill "$i"
	done
	for i in 1 2 3; do
		ens_node "$D" "$i"
	done
	ens_leader "$D" >/dev/null
	ens_write 1 create /back "data of /back"
	for i in 1 2 3; do
		has "$i" /r1 /r2 /r3 /r4 /r5 /r6 /back
	done
}

@test "two nodes of three keep serving; one alone takes no write" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	ens_write 1 create /x "data of /x"
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	ens_kill "$f1"
	ens_write "$leader" create /y "data of /y"
	ens_kill "$f2"
	# the leader alone loses its quorum and leaves its role
	ens_await "$D" "$leader" looking || true
	run ens_role "$D" "$leader"
	assert_output --partial "state=looking"
	run -69 timeout 10 "$ZK_BIN/zk-cli" -t 3 \
	    -z "127.0.0.1:${ENS_PORT[leader]}" create /z "data of /z"
	ens_node "$D" "$f1"
	ens_write "$f1" create /z2 "data of /z2"
	has "$leader" /x /y /z2
	has "$f1" /x /y /z2
	run -1 timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[f1]}" get /z
}

# fourlw WORD I: node I's answer to a four-letter word
fourlw() {
	printf '%s' "$1" | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[$2]}" 2>/dev/null
}

# srvr_until I REGEX: node I's srvr has a line matching REGEX within 3 s
srvr_until() {
	local k
	for k in $(seq 30); do
		fourlw srvr "$1" | grep -q -- "$2" && break
		sleep 0.1
	done
	run fourlw srvr "$1"
	assert_line --regexp "$2"
}

@test "a follower's zk-log stopped past syncLimit reads what the leader sent before it looks at the clock: it finds the connection closed, not the leader silent" {
	# the leader closes the silent follower after syncLimit (2.5 s);
	# its pings and the close wait in the follower's socket.  A node
	# that judged the leader before reading them would blame the leader
	# for its own stall (as a long fdatasync, or a stalled machine,
	# makes one), and a leader so judging its followers would give up a
	# quorum it has.
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	log=$(pgrep -g "${ENS_PID[f]}" -x zk-log)
	kill -STOP "$log"
	sleep 4
	kill -CONT "$log"
	ens_serving "$D" "$f"
	ens_write "$f" create /after "data of /after"
	run cat "$D/n$f/node.err"
	assert_output --partial "looking for a leader: the connection to the leader closed"
	refute_output --partial "fell silent"
	[ "$(ens_leader "$D")" = "$leader" ]
}

@test "srvr and mntr say who leads; a node without its quorum serves no one, as Apache says it" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	ens_write "$f1" create /m "data of /m"
	run fourlw srvr "$leader"
	assert_line "Mode: leader"
	run fourlw srvr "$f1"
	assert_line "Mode: follower"
	refute_line --partial "Proposal sizes"
	# the leader's txn sizes, as Apache's leader shows them (zk-log
	# tells its gate at most once a second, so a report already on its
	# way may come after srst); srst starts them again
	sizes='^Proposal sizes last/min/max: [1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*$'
	srvr_until "$leader" "$sizes"
	run fourlw stat "$leader"
	assert_line --regexp "$sizes"
	[ "$(fourlw srst "$leader")" = "Server stats reset." ]
	srvr_until "$leader" '^Proposal sizes last/min/max: -1/-1/-1$'
	ens_write "$f1" set /m "new data of /m"
	srvr_until "$leader" "$sizes"
	for k in $(seq 50); do
		fourlw mntr "$leader" | grep -qx 'zk_synced_followers.2' && break
		sleep 0.1
	done
	run fourlw mntr "$leader"
	assert_line "zk_server_state	leader"
	assert_line "zk_peer_state	leading - broadcast"
	assert_line "zk_learners	2"
	assert_line "zk_synced_followers	2"
	assert_line "zk_pending_syncs	0"
	assert_line "zk_quorum_size	3"
	run fourlw mntr "$f1"
	assert_line "zk_peer_state	following - broadcast"
	refute_line --partial "zk_synced_followers"
	# alone: ruok and isro still answer, the rest says it does not serve
	ens_kill "$leader"
	ens_kill "$f2"
	ens_await "$D" "$f1" looking
	for k in $(seq 50); do
		[ "$(fourlw isro "$f1")" = null ] && break
		sleep 0.1
	done
	[ "$(fourlw ruok "$f1")" = imok ]
	[ "$(fourlw isro "$f1")" = null ]
	for w in srvr stat mntr cons conf wchs dump; do
		[ "$(fourlw $w "$f1")" = "This ZooKeeper instance is not currently serving requests" ]
	done
	# and a client's handshake is closed: it would try the next server
	run timeout 10 "$ZK_BIN/zk-cli" -t 3 -z "127.0.0.1:${ENS_PORT[f1]}" get /m
	assert_failure
	assert_output --partial "closed the connection while opening the session"
}

@test "a session held through a follower outlives its timeout; when its client dies, its ephemeral goes on every node" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	ens_write "$f" create /up "data of /up"
	# a 4 s session through the follower, held 9 s, then killed unclosed
	/usr/bin/python3 - "127.0.0.1:${ENS_PORT[f]}" >"$D/hold.out" 2>&1 <<'PY' &
import os, signal, sys, time
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=4.0)
c.start()
c.create("/eph", b"x", ephemeral=True)
print("created", flush=True)
time.sleep(9)
os.kill(os.getpid(), signal.SIGKILL)
PY
	hold=$!
	for k in $(seq 100); do
		grep -q created "$D/hold.out" && break
		sleep 0.1
	done
	sleep 7
	# past its timeout, kept alive by the follower's touches
	for i in 1 2 3; do
		run timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[i]}" stat /eph
		assert_success
	done
	wait "$hold" || true
	# the leader expires it: gone everywhere within its timeout and a bit
	for i in 1 2 3; do
		for k in $(seq 100); do
			timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[i]}" \
			    stat /eph >/dev/null 2>&1 || break
			sleep 0.1
		done
		run -1 timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[i]}" \
		    stat /eph
	done
}

@test "a follower behind the start of the leader's log (purged) is synced by SNAP, then by DIFF; it takes the members the snapshot holds" {
	export ZK_LOG_SEGSIZE=4096	# many small segments to purge
	ENS_EXTRA='reconfigEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU='
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	o=$((f % 3 + 1))
	ens_write "$leader" create /s0 "data of /s0"
	has "$f" /s0
	# o too, before f goes: one that came late and synced by SNAP
	# starts again on it, and meanwhile the leader would have no quorum
	has "$o" /s0
	ens_kill "$f"
	# an observer joins while f is away: the reconfig's record is purged
	# below, and f learns of it from the SNAP alone
	obs="server.100=127.0.0.1:$(freeport):$(freeport):observer;127.0.0.1:$(freeport)"
	run -0 timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[leader]}" \
	    -a digest:super:test reconfig -add "$obs"
	cat >"$D/big.py" <<'PY'
import hashlib
def big(k):
    h, out = str(k).encode(), []
    while len(out) < 128:
        h = hashlib.sha256(h).hexdigest().encode()
        out.append(h)
    return b"".join(out)
PY
	# 120 writes (a few dozen segments) and four snapshots, the log
	# before the oldest kept purged (zk-snap purge keeps 3 at least)
	for r in 0 1 2 3; do
		/usr/bin/python3 - "127.0.0.1:${ENS_PORT[leader]}" "$r" \
		    "$D/big.py" <<'PY'
import sys
from kazoo.client import KazooClient
exec(open(sys.argv[3]).read())
c = KazooClient(hosts=sys.argv[1])
c.start()
r = int(sys.argv[2])
for k in range(30 * r + 1, 30 * r + 31):
    c.create("/s%d" % k, ("data of /s%d" % k).encode())
    # and 8 KB of hex more each, which zstd halves at most: the SNAP
    # (~0.5 MB) goes out in several rounds
    c.create("/b%d" % k, big(k))
c.stop()
PY
		for i in "$leader" "$o"; do
			run -0 "$ZK_BIN/zk-snap" take "$D/n$i/data/rundir"
		done
	done
	for i in "$leader" "$o"; do
		# the oldest segment (epoch 1's first, unless the start took
		# two elections)
		first=$(cd "$D/n$i/data/zk" && ls log.* | head -n 1)
		[ -n "$first" ]
		run -0 "$ZK_BIN/zk-snap" purge -n 3 "$D/n$i/data"
		assert_output --partial "/zk/$first"
	done
	ens_node "$D" "$f"
	ens_await "$D" "$f" following
	has "$f" /s0 /s1 /s60 /s120
	grep -qxF "$obs" "$D/n$f/data/zoo.cfg.dynamic" ||
	    fail "f's zk-log goes by members without the observer"
	/usr/bin/python3 - "127.0.0.1:${ENS_PORT[f]}" "$D/big.py" <<'PY'
import sys
from kazoo.client import KazooClient
exec(open(sys.argv[2]).read())
c = KazooClient(hosts=sys.argv[1])
c.start()
for k in range(1, 121):
    assert c.get("/b%d" % k)[0] == big(k), k
c.stop()
PY
	grep -q "loaded a SNAP at" "$D/n$f/node.err"
	# more than SNAPQUEUE (256 KB): read and sent in rounds
	grep "sent peer $f a SNAP" "$D/n$leader/node.err" |
	    awk '{ gsub(/[()]/, ""); if ($(NF - 1) > 300000) ok = 1 }
	    END { exit !ok }'
	# and it goes on as a follower: a write through it reaches all
	ens_write "$f" create /after "data of /after"
	for i in 1 2 3; do
		has "$i" /after
	done
}

@test "an observer: synced, takes writes (through the leader) and reads, counts for no quorum, says Mode: observer" {
	ENS_OBSERVERS=4 ens_start "$D" 4
	leader=$(ens_leader "$D")
	ens_await "$D" 4 observing
	ens_write 4 create /o1 "data of /o1"
	for i in 1 2 3 4; do
		has "$i" /o1
	done
	run fourlw srvr 4
	assert_line "Mode: observer"
	for k in $(seq 50); do
		fourlw mntr "$leader" | grep -qx 'zk_synced_observers.1' && break
		sleep 0.1
	done
	run fourlw mntr "$leader"
	assert_line "zk_synced_observers	1"
	assert_line "zk_synced_followers	2"
	assert_line "zk_quorum_size	3"
	# two voters down: the leader and the observer are no quorum
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	ens_kill "$f1"
	ens_kill "$f2"
	ens_await "$D" "$leader" looking
	run -69 timeout 10 "$ZK_BIN/zk-cli" -t 3 -z "127.0.0.1:${ENS_PORT[4]}" \
	    create /o2 "data of /o2"
	# one back: the observer follows the new quorum and has it all
	ens_node "$D" "$f1"
	ens_write 4 create /o3 "data of /o3"
	has "$f1" /o1 /o3
	has 4 /o1 /o3
}

# writes N FROM I: create /wFROM.. /w(FROM+N-1) one at a time through node
# I (each its own batch, fsync and all)
writes() {
	/usr/bin/python3 - "127.0.0.1:${ENS_PORT[$3]}" "$1" "$2" <<'PY'
import sys
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1])
c.start()
n, first = int(sys.argv[2]), int(sys.argv[3])
for k in range(first, first + n):
    c.create("/w%d" % k, ("data of /w%d" % k).encode())
c.stop()
PY
}

# fsyncs I: node I's zk_cnt_fsynctime (mntr), once its zk-log reported
# after the last write (at most once a second, after a batch)
fsyncs() {
	sleep 1.2
	ens_write "$1" create "/f$RANDOM$RANDOM" x >/dev/null
	fourlw mntr "$1" | sed -n 's/^zk_cnt_fsynctime\t//p'
}

# damage I: zero 64 bytes inside the records of node I's newest segment
# (node I is down), the rest left whole: as a machine's crash may leave
# a page not written back before later ones that were
damage() {
	/usr/bin/python3 - "$D/n$1/data/zk" <<'PY'
import glob, os, sys
seg = sorted(glob.glob(sys.argv[1] + "/log.*"))[-1]
b = bytearray(open(seg, "rb").read())
end = len(b.rstrip(b"\0"))
assert end > 4096, (seg, end)
at = end // 2
b[at:at + 64] = bytes(64)
open(seg, "r+b").write(b)
PY
}

@test "an observer fsyncs its log at most once a second (syncEnabled=true: every batch); after a crash left its log damaged it cuts the log there and gets the rest from the leader; with syncEnabled=true it refuses" {
	ENS_OBSERVERS=4 ens_start "$D" 4
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	ens_await "$D" 4 observing
	writes 300 1 "$leader"
	nf=$(fsyncs "$f")
	no=$(fsyncs 4)
	echo "fsyncs: follower $nf, observer $no" >&3
	[ "$nf" -ge 300 ]
	[ "$no" -lt 50 ]
	# a crash, with a page of its log lost: cut there, the rest synced
	ens_kill 4
	damage 4
	ens_node "$D" 4
	ens_await "$D" 4 observing
	ens_write 4 create /o1 "data of /o1"
	has 4 /w1 /w150 /w300 /o1
	grep -q "an observer's log, not fsynced at every write: cut after" \
	    "$D/n4/node.err"
	# syncEnabled=true, as Apache's observers by default: every batch
	ens_kill 4 TERM
	echo syncEnabled=true >>"$D/n4/zoo.cfg"
	ens_node "$D" 4
	ens_await "$D" 4 observing
	has 4 /o1
	writes 300 301 "$leader"
	no=$(fsyncs 4)
	echo "fsyncs with syncEnabled=true: observer $no" >&3
	[ "$no" -ge 300 ]
	# and the same damage is refused
	ens_kill 4
	damage 4
	: >"$D/n4/node.err"
	ens_node "$D" 4
	for k in $(seq 200); do
		kill -0 "${ENS_PID[4]}" 2>/dev/null || break
		sleep 0.1
	done
	run wait "${ENS_PID[4]}"
	[ "$status" -eq 65 ]
	grep -q "bad record at offset" "$D/n4/node.err"
	! grep -q "cut after" "$D/n4/node.err"
}

@test "digests: replicas compare trees with the leader; one that diverged leaves the ensemble (65) instead of serving" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	o=$((f % 3 + 1))
	ens_write "$leader" create /d0 "data of /d0"
	has "$f" /d0
	has "$o" /d0
	# f again, now skipping the 2nd txn it applies after its start (the
	# create of /d0, replayed from its own log)
	ens_kill "$f"
	: >"$D/n$f/node.err"
	ZK_TREE_FAULT=skip:2 ens_node "$D" "$f"
	ens_serving "$D" "$f"
	for k in 1 2 3 4 5 6; do
		ens_write "$leader" create "/d$k" "data of /d$k"
	done
	# the next digest (5 s) finds it out; zk-node does not restart it
	for k in $(seq 150); do
		grep -q 'this replica diverged' "$D/n$f/node.err" && break
		sleep 0.1
	done
	run cat "$D/n$f/node.err"
	assert_output --partial "not applied"
	assert_output --partial "this replica diverged, and leaves the ensemble"
	for k in $(seq 100); do
		kill -0 "${ENS_PID[f]}" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "${ENS_PID[f]}" 2>/dev/null
	# the one that applied everything agrees with the leader: still there
	kill -0 "${ENS_PID[o]}"
	ens_write "$o" create /d7 "data of /d7"
	has "$o" /d1 /d6 /d7
}

# node I's epochs as its epochs file's newest block has them: "A C"
epochs_of() {
	tr -d '\000' <"$D/n$1/data/zk/epochs" | sort -t= -k2n | tail -n 1 |
	    sed -n 's/^zk-epochs 1 seq=[0-9]* accepted=\([0-9]*\) current=\([0-9]*\) crc=[0-9a-f]*$/\1 \2/p'
}

@test "epochs: an earlier version's acceptedEpoch and currentEpoch are taken over once, then hold a guard that version refuses; a corrupt epochs file is refused (65), naming it, and left as it is" {
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	ens_write "$leader" create /e1 "data of /e1"
	has "$f" /e1
	read -r a c <<<"$(epochs_of "$f")"
	[ -n "$a" ] && [ "$a" -ge 1 ] && [ "$c" = "$a" ]
	# f as an earlier version left it
	ens_kill "$f" TERM
	rm "$D/n$f/data/zk/epochs"
	echo "$a" >"$D/n$f/data/zk/acceptedEpoch"
	echo "$c" >"$D/n$f/data/zk/currentEpoch"
	: >"$D/n$f/node.err"
	ens_node "$D" "$f"
	ens_serving "$D" "$f"
	[ "$(epochs_of "$f")" = "$a $c" ]
	# they now hold no number: an earlier zk-log refuses the directory
	# rather than take its epochs as 0
	[ "$(cat "$D/n$f/data/zk/acceptedEpoch")" = "in ./epochs (a newer zk-log)" ]
	[ "$(cat "$D/n$f/data/zk/currentEpoch")" = "in ./epochs (a newer zk-log)" ]
	! grep -q "raised" "$D/n$f/node.err"
	ens_write "$f" create /e2 "data of /e2"
	has "$f" /e1 /e2
	# both blocks damaged: nothing is taken from it, nothing written
	ens_kill "$f" TERM
	printf 'X' | dd of="$D/n$f/data/zk/epochs" bs=1 seek=20 conv=notrunc \
	    status=none
	printf 'X' | dd of="$D/n$f/data/zk/epochs" bs=1 seek=4116 \
	    conv=notrunc status=none
	cp "$D/n$f/data/zk/epochs" "$D/epochs.bad"
	: >"$D/n$f/node.err"
	ens_node "$D" "$f"
	for k in $(seq 100); do
		kill -0 "${ENS_PID[f]}" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "${ENS_PID[f]}" 2>/dev/null
	run cat "$D/n$f/node.err"
	assert_output --partial "/zk/epochs: neither block is valid"
	assert_output --partial "zk-log exited with status 65"
	cmp "$D/epochs.bad" "$D/n$f/data/zk/epochs"
}

@test "sync on a follower goes through the leader: after it, a write made through another node is read; with the leader stopped, it waits for a new leader" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	ens_serving "$D" "$f1"
	ens_serving "$D" "$f2"
	echo "${ENS_PID[leader]}" >"$D/leader.pid"
	LEADERPID=$D/leader.pid run -0 /usr/bin/python3 - \
	    "127.0.0.1:${ENS_PORT[f1]}" "127.0.0.1:${ENS_PORT[f2]}" <<'PY'
import os, signal, sys, time
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
w = KazooClient(hosts=sys.argv[1]); w.start()
r = KazooClient(hosts=sys.argv[2], command_retry=KazooRetry(max_tries=0))
r.start()
seen = 0
for k in range(50):
    w.create("/y%d" % k, b"x")
    r.sync("/")
    seen += r.exists("/y%d" % k) is not None
print("seen after sync: %d of 50" % seen)
# the leader stopped: a follower's sync cannot be answered by it
pgid = int(open(os.environ["LEADERPID"]).read())
os.killpg(pgid, signal.SIGSTOP)
t0 = time.time()
try:
    r.sync("/")
    out = "answered"
except Exception as e:
    out = type(e).__name__
took = time.time() - t0
os.killpg(pgid, signal.SIGCONT)
print("sync with the leader stopped: %s after %.1f s" % (out, took))
PY
	assert_line "seen after sync: 50 of 50"
	# not answered while the leader is stopped: once the others have
	# elected a new one (after syncLimit, 2.5 s), by it, the sync held
	# in the outbox; or lost with the connection
	assert_line --regexp "^sync with the leader stopped: (answered after ([2-9]|[1-9][0-9])\.|(ConnectionLoss|ConnectionClosedError|SessionExpiredError|OperationTimeoutError))"
}

@test "pipelined reads and writes of 4 sessions through the leader and through a follower, connections dropped mid-batch and taken over: every reply and watch event as the model says (t/fifo-stress.py)" {
	ens_start "$D" 3
	leader=$(ens_leader "$D")
	f=$((leader % 3 + 1))
	ens_serving "$D" "$f"
	# a session's reads behind its writes wait in zk-log's outbox on
	# the follower until those writes come back committed
	for i in "$leader" "$f"; do
		for seed in $((i * 10 + 1)) $((i * 10 + 2)); do
			run /usr/bin/python3 "$BATS_TEST_DIRNAME/fifo-stress.py" \
			    "${ENS_PORT[i]}" "$seed" 30
			[ "$status" = 0 ] || fail "node $i (leader $leader), seed $seed: $output"
			assert_output --regexp '^ok: [0-9]+ replies checked, [1-9][0-9]* takeovers$'
		done
	done
}

@test "reconfig: /zookeeper/config lists the members; the super user adds and removes an observer on every node, with Apache's refusals; the members outlive a restart" {
	ENS_EXTRA='reconfigEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU='
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	rc() { timeout 60 /usr/bin/python3 "$BATS_TEST_DIRNAME/reconfig.py" "$@"; }
	# before any reconfig: zoo.cfg's servers at version 0, as each node
	# reads them
	want=$(for j in 1 2 3; do
		printf 'server.%s=127.0.0.1:%s:%s:participant\n' "$j" \
		    "${ENS_QPORT[j]}" "${ENS_EPORT[j]}"
	done; echo version=0)
	for i in 1 2 3; do
		run -0 rc "127.0.0.1:${ENS_PORT[i]}" config
		[ "$output" = "$want" ] || fail "node $i: $output"
	done
	# through a follower: its request goes to the leader, which decides
	f=1
	[ "$(ens_leader "$D")" != 1 ] || f=2
	obs="server.100=127.0.0.1:$(freeport):$(freeport):observer;127.0.0.1:$(freeport)"
	run -0 rc "127.0.0.1:${ENS_PORT[f]}" observer "$obs"
	final=$output
	echo "$final" | grep -qxF "$obs"
	echo "$final" | grep -q '^version=1[0-9a-f]\{8\}$'
	for i in 1 2 3; do
		run -0 rc "127.0.0.1:${ENS_PORT[i]}" config
		[ "$output" = "$final" ] || fail "node $i: $output"
		# zoo.cfg.dynamic holds it, for the next start
		[ "$(cat "$D/n$i/data/zoo.cfg.dynamic")" = "$final" ]
	done
	ens_stop
	for i in 1 2 3; do ens_node "$D" "$i"; done
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	for i in 1 2 3; do
		run -0 rc "127.0.0.1:${ENS_PORT[i]}" config
		[ "$output" = "$final" ] || fail "node $i after restart: $output"
	done
	# the leader's members include the observer: srvr/mntr are unchanged,
	# and a leader elected from these members serves
	run -0 ens_write 1 create /after "data of /after"
	# zk-cli's config and reconfig, as zkCli's
	cli() { timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[1]}" "$@"; }
	run -0 cli config
	[ "$output" = "$final" ]
	obs2="server.101=127.0.0.1:$(freeport):$(freeport):observer;127.0.0.1:$(freeport)"
	run -4 cli reconfig -add "$obs2"
	run -0 cli -a digest:super:test reconfig -add "$obs2"
	echo "$output" | grep -qxF "$obs2"
	v=$(echo "$output" | sed -n 's/^version=//p')
	[ -n "$v" ]
	run -3 cli -a digest:super:test reconfig -v 1 -remove 101
	run -0 cli -a digest:super:test reconfig -v "$v" -remove 101
	refute_output --partial "server.101="
	# one at a time, as Apache's leader: its followers stopped, the
	# leader's first reconfig waits for a quorum, and a second is refused
	leader=$(ens_leader "$D")
	pg=
	for i in 1 2 3; do
		[ "$i" = "$leader" ] || pg=$pg${pg:+,}${ENS_PID[i]}
	done
	run rc "127.0.0.1:${ENS_PORT[leader]}" inprogress "$obs2" "$pg"
	[ "$status" = 0 ] || fail "inprogress: $output"
	echo "$output" | grep -qxF "$obs2"
	run -0 cli config
	assert_line "$obs"
	assert_line "$obs2"
}

@test "reconfig: an observer joined by reconfig starts, finds the leader, syncs and serves; the others learn of it without a restart; with skipACL=yes anyone may reconfig" {
	three_and_a_fourth skipACL=yes
	spec="server.4=127.0.0.1:${ENS_QPORT[4]}:${ENS_EPORT[4]}:observer;127.0.0.1:${ENS_PORT[4]}"
	run -0 timeout 60 /usr/bin/python3 - "127.0.0.1:${ENS_PORT[2]}" "$spec" <<'EOF'
import sys
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1])	# no super user: skipACL
c.start(timeout=20)
data, _ = c.reconfig(joining=sys.argv[2], leaving=None, new_members=None)
print(data.decode())
EOF
	echo "$output" | grep -qxF "$spec"
	# the new server's zoo.cfg: the ensemble and itself, as an observer
	mkdir -p "$D/n4/data"
	echo 4 >"$D/n4/data/myid"
	sed -e "s|/n1/data|/n4/data|" -e "s|^clientPort=.*|clientPort=${ENS_PORT[4]}|" \
	    "$D/n1/zoo.cfg" >"$D/n4/zoo.cfg"
	printf 'server.4=127.0.0.1:%s:%s:observer\n' "${ENS_QPORT[4]}" \
	    "${ENS_EPORT[4]}" >>"$D/n4/zoo.cfg"
	ENS_N=4
	ens_node "$D" 4
	ens_await "$D" 4 observing || fail "node 4: $(ens_role "$D" 4)"
	ens_serving "$D" 4
	printf srvr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[4]}" | grep -qx 'Mode: observer'
	ens_write 4 create /through4 "data of /through4"
	has 4 /before /through4
	has 1 /through4
	# it holds the members it was synced to, the reconfig's
	run -0 timeout 60 /usr/bin/python3 "$BATS_TEST_DIRNAME/reconfig.py" \
	    "127.0.0.1:${ENS_PORT[4]}" config
	echo "$output" | grep -qxF "$spec"
}

@test "SessionMoved: once a session's client reconnected through another node, a write still sent on its old connection is refused with -118 on every node" {
	ENS_EXTRA='reconfigEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU='
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	l=$(ens_leader "$D")
	a=$((l % 3 + 1))		# a follower
	b=$((a % 3 + 1))		# and the other node (maybe the leader)
	run -0 timeout 60 /usr/bin/python3 - "${ENS_PORT[a]}" "${ENS_PORT[b]}" \
	    "$BATS_TEST_DIRNAME" <<'EOF'
import struct, sys, time
sys.path.insert(0, sys.argv[3])
from fakepeers import *
pa, pb = int(sys.argv[1]), int(sys.argv[2])
def create(s, xid, path):
    s.sendall(req(xid, 1, createbody(path)))
    r = recvframe(s)
    return struct.unpack(">iqi", r[:16])[2]
def reconfig(s, xid, joining):
    s.sendall(req(xid, 16, ustr(joining) + ustr(None) + ustr(None) +
                  struct.pack(">q", -1)))
    r = recvframe(s)
    return struct.unpack(">iqi", r[:16])[2]
A, sid, pw = session(pa)
A.sendall(req(-4, 100, struct.pack(">i", 0) + ustr("digest") +
              ustr("super:test")))   # the super user: reconfig allowed
recvframe(A)
print("before", create(A, 1, "/on-a"))
B = connect(pb)                       # the client moves to b
B.sendall(connreq(sid=sid, passwd=pw))
r = recvframe(B)
print("attached", struct.unpack(">iiq", r[:16])[2] == sid)
time.sleep(1)                         # b's attach reaches the leader
print("old", create(A, 2, "/stale"))  # its old connection, still open
# a reconfig refused as moved changes no node's members
print("oldreconfig", reconfig(A, 3, "server.9=127.0.0.1:1:2:observer;3"))
print("new", create(B, 1, "/on-b"))
EOF
	assert_line -n 0 "before 0"
	assert_line -n 1 "attached True"
	assert_line -n 2 "old -118"
	assert_line -n 3 "oldreconfig -118"
	assert_line -n 4 "new 0"
	for i in 1 2 3; do
		[ ! -e "$D/n$i/data/zoo.cfg.dynamic" ] ||
		    fail "node $i took a refused reconfig's members"
		run timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[i]}" sync /
		run -0 timeout 10 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[i]}" ls /
		assert_output --partial on-a
		assert_output --partial on-b
		refute_output --partial stale
	done
}

@test "reconfig: a fourth voter joins and serves; a voter leaves while another sleeps, which then learns the members from the votes; then the leader leaves; no other node starts again, and the rest elect among themselves and serve" {
	three_and_a_fourth
	spec="server.4=127.0.0.1:${ENS_QPORT[4]}:${ENS_EPORT[4]}:participant;127.0.0.1:${ENS_PORT[4]}"
	mkdir -p "$D/n4/data"
	echo 4 >"$D/n4/data/myid"
	sed -e "s|/n1/data|/n4/data|" -e "s|^clientPort=.*|clientPort=${ENS_PORT[4]}|" \
	    "$D/n1/zoo.cfg" >"$D/n4/zoo.cfg"
	printf 'server.4=127.0.0.1:%s:%s\n' "${ENS_QPORT[4]}" "${ENS_EPORT[4]}" \
	    >>"$D/n4/zoo.cfg"
	ENS_N=4
	ens_node "$D" 4		# no member yet: it finds no one
	sleep 1
	case $(ens_role "$D" 4) in
	*state=looking*) ;;
	*) fail "node 4 before the reconfig: $(ens_role "$D" 4)" ;;
	esac
	for i in 1 2 3; do
		pids[i]=$(daemons "$i")
		[ "$(echo ${pids[i]} | wc -w)" = 2 ] || fail "$i: ${pids[i]}"
	done
	cli() { timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[$1]}" \
	    -a digest:super:test "${@:2}"; }
	# a removed node answers, then exits 78
	gone() {
		for k in $(seq 100); do
			kill -0 "${ENS_PID[$1]}" 2>/dev/null || break
			sleep 0.1
		done
		! kill -0 "${ENS_PID[$1]}" 2>/dev/null || fail "node $1 still runs"
		grep -q "no longer a member" "$D/n$1/node.err"
	}
	run -0 cli 2 reconfig -add "$spec"
	echo "$output" | grep -qxF "$spec"
	for i in 1 2 3 4; do
		ens_serving "$D" "$i" || fail "node $i does not serve"
	done
	for i in 1 2 3 4; do
		grep -qxF "$spec" "$D/n$i/data/zoo.cfg.dynamic" 2>/dev/null ||
		    [ "$i" = 4 ]
	done
	ens_write 4 create /through4 "data of /through4"
	for i in 1 2 3 4; do has "$i" /before /through4; done
	# every node counts four voters (mntr's zk_quorum_size, as Apache's)
	for i in 1 2 3 4; do
		printf mntr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[i]}" |
		    grep -qx $'zk_quorum_size\t4' || fail "$i: not four voters"
	done
	for i in 1 2 3; do
		[ "$(daemons "$i")" = "${pids[i]}" ] ||
		    fail "node $i started again: ${pids[i]}-> $(daemons "$i")"
	done
	! grep -q "starting again" "$D"/n[123]/node.err
	# x sleeps through the removal of y: started again on four voters
	# of which two answer, it learns the three from their votes
	# (zk-elect's config=), finds the leader and serves
	leader=$(ens_leader "$D")
	others=()
	for i in 1 2 3 4; do [ "$i" = "$leader" ] || others+=("$i"); done
	x=${others[0]}
	y=${others[1]}
	ens_kill "$x"
	run -0 cli "$leader" reconfig -remove "$y"
	refute_output --partial "server.$y="
	gone "$y"
	ens_node "$D" "$x"
	ens_serving "$D" "$x" || fail "node $x does not serve"
	has "$x" /before /through4
	! grep -q "^server.$y=" "$D/n$x/data/zoo.cfg.dynamic" ||
	    fail "node $x still goes by server.$y"
	printf mntr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[x]}" |
	    grep -qx $'zk_quorum_size\t3' || fail "$x: not three voters"
	# the leader leaves: it answers, then exits; its followers elect
	leader=$(ens_leader "$D")
	rest=()
	for i in 1 2 3 4; do
		[ "$i" = "$leader" ] || [ "$i" = "$y" ] && continue
		rest+=("$i")
		pids[i]=$(daemons "$i")
	done
	run -0 cli "$leader" reconfig -remove "$leader"
	refute_output --partial "server.$leader="
	gone "$leader"
	for i in "${rest[@]}"; do
		ens_serving "$D" "$i"
		printf mntr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[i]}" |
		    grep -qx $'zk_quorum_size\t2' || fail "$i: not two voters"
	done
	[ "$(ens_leader "$D")" != "$leader" ]
	ens_write "${rest[1]}" create /after "data of /after"
	for i in "${rest[@]}"; do
		has "$i" /before /through4 /after
		[ "$(daemons "$i")" = "${pids[i]}" ] ||
		    fail "node $i started again: ${pids[i]}-> $(daemons "$i")"
	done
	! grep -q "starting again" "$D"/n[1234]/node.err
}

@test "reconfig: the leader made an observer answers, starts again as one and serves; its followers elect between them and do not start again" {
	three_and_a_fourth
	leader=$(ens_leader "$D")
	rest=()
	for i in 1 2 3; do [ "$i" = "$leader" ] || rest+=("$i"); done
	for i in "${rest[@]}"; do pids[i]=$(daemons "$i"); done
	spec="server.$leader=127.0.0.1:${ENS_QPORT[leader]}:${ENS_EPORT[leader]}:observer;127.0.0.1:${ENS_PORT[leader]}"
	run -0 timeout 30 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[leader]}" \
	    -a digest:super:test reconfig -add "$spec"
	echo "$output" | grep -qxF "$spec"
	for k in $(seq 100); do
		grep -q "zk-log exited with status 75" "$D/n$leader/node.err" &&
		    break
		sleep 0.1
	done
	grep -q "this node is now an observer" "$D/n$leader/node.err"
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	for k in $(seq 100); do
		printf srvr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[leader]}" |
		    grep -qx "Mode: observer" && break
		sleep 0.1
	done
	printf srvr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[leader]}" |
	    grep -qx "Mode: observer" || fail "node $leader is no observer"
	[ "$(ens_leader "$D")" != "$leader" ]
	ens_write "$leader" create /through "data of /through"
	for i in 1 2 3; do has "$i" /before /through; done
	for i in "${rest[@]}"; do
		[ "$(daemons "$i")" = "${pids[i]}" ] ||
		    fail "node $i started again: ${pids[i]}-> $(daemons "$i")"
		printf mntr | socat -t2 - "TCP:127.0.0.1:${ENS_PORT[i]}" |
		    grep -qx $'zk_quorum_size\t2' || fail "$i: not two voters"
	done
}

@test "read-only mode: a node alone serves reads to read-only clients (NotReadOnly for writes, isro ro, Mode: read-only), refuses the rest, and sends them back to read-write when its quorum returns" {
	command -v /usr/bin/python3 >/dev/null || skip "no python3"
	/usr/bin/python3 -c 'import kazoo' 2>/dev/null || skip "no kazoo"
	ENS_EXTRA='readonlymode.enabled=true'
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	ens_write 1 create /before "data of /before"
	# node 1 is the one left: whether it leads or follows
	/usr/bin/python3 "$BATS_TEST_DIRNAME/readonly.py" \
	    "127.0.0.1:${ENS_PORT[1]}" "$D" >"$D/ro.out" 2>&1 &
	ro=$!
	for k in $(seq 300); do [ -e "$D/rw" ] && break; sleep 0.1; done
	[ -e "$D/rw" ] || { cat "$D/ro.out"; fail "no read-write session"; }
	[ "$(fourlw isro 1)" = rw ]
	ens_kill 2
	ens_kill 3
	touch "$D/cut"
	for k in $(seq 300); do [ -e "$D/ro" ] && break; sleep 0.1; done
	[ -e "$D/ro" ] || { kill "$ro"; cat "$D/ro.out"; fail "not read-only"; }
	[ "$(fourlw isro 1)" = ro ]
	run fourlw srvr 1
	assert_line "Mode: read-only"
	run fourlw mntr 1
	assert_line "zk_server_state	read-only"
	# a client that did not ask for read-only is closed at its handshake
	run timeout 10 "$ZK_BIN/zk-cli" -t 3 -z "127.0.0.1:${ENS_PORT[1]}" \
	    get /before
	assert_failure
	assert_output --partial "closed the connection while opening the session"
	ens_node "$D" 2
	ens_node "$D" 3
	touch "$D/healed"
	rc=0
	wait "$ro" || rc=$?
	cat "$D/ro.out"
	[ "$rc" = 0 ] || fail "readonly.py: exit $rc"
	[ "$(fourlw isro 1)" = rw ]
	has 2 /after
	has 3 /before /after
}

@test "SIGTERM to a leader whose one follower left makes no quorum without it: it does not hand off; that follower never leads, looks for a leader and goes read-only" {
	ENS_EXTRA='readonlymode.enabled=true'
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	ens_write "$f1" create /before "data of /before"
	ens_kill "$f2" TERM
	kill -TERM -- "-${ENS_PID[leader]}"
	# a handoff would have f1 elected by the leader's vote, leading no
	# one in discovery for initLimit (5 s), neither serving nor looking
	ro=0
	for k in $(seq 150); do
		[[ $(ens_role "$D" "$f1") == *state=leading* ]] &&
		    fail "node $f1 leads: $(ens_role "$D" "$f1")"
		[ "$(fourlw isro "$f1")" = ro ] && { ro=1; break; }
		sleep 0.1
	done
	[ "$ro" = 1 ] || fail "node $f1 not read-only: $(ens_role "$D" "$f1")"
	ens_kill "$leader" TERM
	grep -q "not handing leadership off: the followers up are no quorum" \
	    "$D/n$leader/node.err"
	! grep -q "handing leadership off to" "$D/n$leader/node.err"
}

@test "leader handoff: the hand word moves leadership to a caught-up follower, which then leads; a follower refuses it and names the leader" {
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	for i in 1 2 3; do
		ens_write "$i" create "/h$i" "data of /h$i"
	done
	f=$((leader % 3 + 1))
	run -0 sh -c "printf hand | socat -t5 - TCP:127.0.0.1:${ENS_PORT[f]}"
	assert_output "not the leader: $leader leads"
	run -0 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[f]},127.0.0.1:${ENS_PORT[leader]}" handoff
	assert_output --regexp "^handed leadership off to [0-9]+$"
	to=${output##* }
	[ "$to" != "$leader" ]
	ens_await "$D" "$to" leading
	[ "$(ens_leader "$D")" = "$to" ]
	ens_await "$D" "$leader" following
	grep -q "handing leadership off to $to" "$D/n$leader/node.err"
	# the same history everywhere, and writes go on
	ens_write "$leader" create /after "data of /after"
	for i in 1 2 3; do
		has "$i" /h1 /h2 /h3 /after
	done
}

@test "rolling restart under writes (SIGTERM, one node at a time, the leader last): the leader hands off first; no write fails, none is lost" {
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	load_start "$(ens_hosts)"
	sleep 3
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	for i in "$f1" "$f2" "$leader"; do
		ens_kill "$i" TERM
		ens_node "$D" "$i"
		ens_serving "$D" "$i"
		sleep 1
	done
	load_end
	grep -q "^writes [1-9][0-9]* failed 0 lost 0 " "$D/load.out"
	grep -q "handing leadership off to" "$D/n$leader/node.err"
	[ "$(ens_leader "$D")" != "$leader" ]
}

@test "SIGTERM to the leader: a write its own client had in flight is answered by it, in its epoch, before it hands off" {
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	[[ $(ens_role "$D" "$leader") =~ epoch=([0-9]+) ]]
	epoch=${BASH_REMATCH[1]}
	f=$((leader % 3 + 1))
	# a session open on the leader; then its write waits in log.sock
	# while the leader's zk-log is stopped, so that SIGTERM comes before
	# zk-log has read it
	mkfifo "$D/cmds"
	timeout 30 "$ZK_BIN/zk-cli" -t 10 -z "127.0.0.1:${ENS_PORT[leader]}" \
	    <"$D/cmds" >"$D/held.out" 2>&1 &
	cli=$!
	exec 7>"$D/cmds"
	echo "stat /" >&7
	for k in $(seq 100); do
		grep -q czxid "$D/held.out" && break
		sleep 0.1
	done
	grep -q czxid "$D/held.out" || fail "no session: $(cat "$D/held.out")"
	log=$(pgrep -g "${ENS_PID[leader]}" -x zk-log)
	kill -STOP "$log"
	echo "create /held 'data of /held'" >&7
	sleep 1
	kill -TERM -- "-${ENS_PID[leader]}"
	kill -CONT "$log"
	exec 7>&-
	wait "$cli" || fail "create: $(cat "$D/held.out")"
	grep -qx /held "$D/held.out" || fail "create: $(cat "$D/held.out")"
	ens_kill "$leader" TERM
	grep -q "handing leadership off to" "$D/n$leader/node.err"
	has "$f" /held
	run -0 "$ZK_BIN/zk-cli" -z "127.0.0.1:${ENS_PORT[f]}" stat /held
	[[ $output =~ czxid=(0x[0-9a-f]+) ]] || fail "$output"
	[ $((BASH_REMATCH[1] >> 32)) = "$epoch" ] ||
	    fail "/held written in epoch $((BASH_REMATCH[1] >> 32)), not $epoch"
}

@test "kill -9 of the leader under writes through the followers: their clients keep their connections; no write fails, none is lost, none is applied twice" {
	# the followers hold their clients for tickTime: 2 s, well past a
	# failover, so that none has to retry
	ENS_EXTRA='tickTime=2000'
	ens_start "$D" 3
	for i in 1 2 3; do ens_serving "$D" "$i"; done
	leader=$(ens_leader "$D")
	f1=$((leader % 3 + 1))
	f2=$((f1 % 3 + 1))
	load_start "127.0.0.1:${ENS_PORT[f1]},127.0.0.1:${ENS_PORT[f2]}"
	sleep 3
	ens_kill "$leader"
	new=$(ens_leader "$D")
	[ -n "$new" ] && [ "$new" != "$leader" ]
	sleep 1
	load_end
	grep -q "^writes [1-9][0-9]* failed 0 lost 0 retried 0 " "$D/load.out"
	# once each: every create acknowledged once is in the log once
	ens_node "$D" "$leader"
	ens_serving "$D" "$leader"
	"$ZK_BIN/zk-log" dump "$D/n$new/data" |
	    sed -n 's/^create .* path=\(\/roll\/[^ ]*\) .*/\1/p' |
	    sort | uniq -d >"$D/twice"
	[ ! -s "$D/twice" ] || fail "created twice: $(head -3 "$D/twice")"
}
