#!/usr/bin/env bats
# Fault schedules on a three-node ensemble under a write load
# (t/ensload.py: sequential creates, compare-and-set and reads of a
# register, an ephemeral per client), each bounded in time: the leader
# killed again and again, a minority killed, the leader's process group
# stopped past the sync limit then resumed, every node killed and
# restarted, the leader cut off from the majority by a silent partition
# (network namespaces the test makes: t/netns.bash), and on five nodes
# a bridge, a ring and a minority partition (the leader and one
# follower cut off from three), the minority and the bridge with
# linearizableReads=true.  Afterwards, on every node: every acknowledged
# create, one history, sequence numbers in order, the register history
# checked (t/lincheck.py: reads sequentially consistent, or linearizable
# for the runs with linearizableReads=true), the ephemerals of kept
# sessions.  ZK_FAULT_SECS sets the load's length
# (default 15 s).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ensemble
load netns

setup() {
	command -v socat >/dev/null || skip "no socat"
	D=$BATS_TEST_TMPDIR
	SECS=${ZK_FAULT_SECS:-15}
}

teardown() {
	[ -z "${LOADPID:-}" ] || kill "$LOADPID" 2>/dev/null || true
	[ "${BATS_TEST_COMPLETED:-}" = 1 ] || tail -n 20 "$D/load.out" >&2 ||
	    true
	ens_teardown
	ns_teardown
}

# the load in the background, for SECS seconds; PIN (host:port): with
# a reader on that server alone
load_start() {
	mkdir -p "$D/hist"
	# not through the ens_client function: $! must be python's own pid
	${ENS_NETNS:+ip netns exec "$(ns_name c)"} \
	    /usr/bin/python3 "$BATS_TEST_DIRNAME/ensload.py" run "$(ens_hosts)" \
	    "$D/hist" "$SECS" 4 ${PIN:+"$PIN"} >"$D/load.out" 2>&1 &
	LOADPID=$!
}

# wait for the load to end its operations (it then holds its sessions
# for the check), every node running; then check, then let it go
load_check() {
	local k
	for k in $(seq $((SECS * 10 + 600))); do
		[ -e "$D/hist/holding" ] && break
		kill -0 "$LOADPID" 2>/dev/null || break
		sleep 0.1
	done
	for k in $(seq "$ENS_N"); do
		ens_serving "$D" "$k"
	done
	run ens_client /usr/bin/python3 "$BATS_TEST_DIRNAME/ensload.py" \
	    check "$(ens_hosts)" "$D/hist" "${MODEL:-sequential}"
	assert_success		# (says the check's output if not)
	assert_output --partial "ensload: ok"
	grep '^ensload: ' "$D/load.out" >&3 || true
	# it ran through the faults: for its whole time
	grep -qE "clients, ($SECS|$((SECS + 1))|$((SECS + 2)))\.[0-9] s" "$D/load.out"
	# the load did something
	[ "$(wc -l <"$D/hist/acked.jsonl")" -gt 20 ]
	# the linearizable runs went through the read index
	if [ "${MODEL:-}" = linearizable ]; then
		local rounds=0 r
		for k in $(seq "$ENS_N"); do
			r=$(printf mntr | ens_client socat -t1 - \
			    "TCP:${ENS_HOST[k]}:${ENS_PORT[k]}" 2>/dev/null |
			    awk '$1 == "zk_read_index_rounds" { print $2 }')
			rounds=$((rounds + ${r:-0}))
		done
		echo "read index rounds: $rounds" >&3
		[ "$rounds" -gt 0 ]
	fi
	kill "$LOADPID" 2>/dev/null || true
	wait "$LOADPID" 2>/dev/null || true
	LOADPID=
}

@test "fault: kill -9 the leader three times under a write load" {
	ens_start "$D" 3
	ens_leader "$D" >/dev/null
	load_start
	for r in 1 2 3; do
		sleep 2
		l=$(ens_leader "$D")
		ens_kill "$l"
		sleep 1
		ens_node "$D" "$l"
	done
	load_check
}

@test "fault: a minority killed and brought back under a write load" {
	ens_start "$D" 3
	l=$(ens_leader "$D")
	load_start
	f=$((l % 3 + 1))
	sleep 2
	ens_kill "$f"
	sleep 3
	ens_node "$D" "$f"
	load_check
}

# the epoch of the Zxid in srvr answer S, -1 if none
zxepoch() {
	if [[ $1 =~ Zxid:\ (0x[0-9a-f]+) ]]; then
		echo $((BASH_REMATCH[1] >> 32))
	else
		echo -1
	fi
}

# wait up to 20 s for node I's srvr to say it does not serve (out: the
# last answer); with EPOCH, a node that serves in a later epoch (a
# quorum it is part of elected a new leader) does too (moved: 1)
unserving() {
	local k
	moved=0
	for k in $(seq 200); do
		out=$(ens_srvr "$1")
		case $out in
		*"not currently serving"*) return 0 ;;
		*Mode:\ leader*|*Mode:\ follower*)
			if [ -n "${2:-}" ] && [ "$(zxepoch "$out")" -gt "$2" ]
			then
				moved=1
				return 0
			fi
			;;
		esac
		sleep 0.1
	done
	return 1
}

# the leader's process group stopped past the sync limit, then resumed;
# a reader pinned to it sends reads all along, which the leader finds
# in its socket when it resumes
sched_pause() {
	ens_start "$D" 3
	l=$(ens_leader "$D")
	PIN=${ENS_HOST[l]}:${ENS_PORT[l]} load_start
	sleep 2
	# syncLimit 5 x tickTime 500 ms: 2.5 s; stopped for 6
	ens_kill "$l" STOP
	sleep 6
	ens_kill "$l" CONT
	load_check
	# the others went on without it: a new leader took over
	[ "$(ens_leader "$D")" != "" ]
}

@test "fault: the leader's process group stopped past the sync limit, then resumed" {
	sched_pause
}

@test "fault, linearizableReads: the leader stopped past the sync limit, then resumed; plain reads too are linearizable" {
	ENS_EXTRA=linearizableReads=true MODEL=linearizable sched_pause
}

@test "fault: every node killed and restarted under a write load" {
	ens_start "$D" 3
	ens_leader "$D" >/dev/null
	load_start
	sleep 3
	for i in 1 2 3; do
		ens_kill "$i"
	done
	sleep 1
	for i in 1 2 3; do
		ens_node "$D" "$i"
	done
	load_check
}

# the leader cut off from the majority by a silent partition, healed;
# a reader pinned to it, which keeps its link to the leader
sched_cut() {
	ns_setup 3
	ens_start "$D" 3
	l=$(ens_leader "$D")
	PIN=${ENS_HOST[l]}:${ENS_PORT[l]} load_start
	sleep 2
	# the old leader keeps its clients' link; its peers' packets vanish
	for j in 1 2 3; do
		[ "$j" = "$l" ] || ns_cut "$l" "$j"
	done
	# the majority elects a leader of its own; the old one, past the
	# sync limit without a quorum, stops serving (and says so)
	nl=
	for k in $(seq 200); do
		for j in 1 2 3; do
			[ "$j" != "$l" ] || continue
			case $(ens_role "$D" "$j") in
			*state=leading*) nl=$j ;;
			esac
		done
		[ -z "$nl" ] || break
		sleep 0.1
	done
	[ -n "$nl" ] || fail "no leader among the majority"
	unserving "$l" || fail "the cut-off leader still serves: $out"
	sleep 3
	for j in 1 2 3; do
		[ "$j" = "$l" ] || ns_heal "$l" "$j"
	done
	load_check
	# healed, the old leader follows the new one
	ens_await "$D" "$l" following
}

@test "fault: the leader cut off from the majority (network namespaces, packets dropped) under a write load, then healed" {
	sched_cut
}

@test "fault, linearizableReads: the leader cut off from the majority, then healed; plain reads too are linearizable" {
	ENS_EXTRA=linearizableReads=true MODEL=linearizable sched_cut
}

# five nodes, the partition $1 around the leader (the node at position 1
# of five, in myid order from it) for 5 s under a write load, then
# healed: bridge, two pairs that see only the middle node (the leader in
# one pair); ring, each node sees its two neighbours only; minority, the
# leader and one follower cut off from the other three; a reader pinned
# to the leader
sched_five() {
	local p k j a b n out nl epoch two
	ns_setup 5
	ens_start "$D" 5
	l=$(ens_leader "$D")
	PIN=${ENS_HOST[l]}:${ENS_PORT[l]} load_start
	sleep 2
	epoch=$(zxepoch "$(ens_srvr "$l")")
	[ "$epoch" -gt 0 ] || fail "no epoch in the leader's srvr"
	for k in 1 2 3 4 5; do
		p[k]=$(((l + k - 2) % 5 + 1))
	done
	case $1 in
	bridge) cuts="1,4 1,5 2,4 2,5" ;;
	ring) cuts="1,3 1,4 2,4 2,5 3,5" ;;
	minority) cuts="1,3 1,4 1,5 2,3 2,4 2,5" ;;
	esac
	for a in $cuts; do
		ns_cut "${p[${a%,*}]}" "${p[${a#*,}]}"
	done
	case $1 in
	minority)
		# the three elect a leader of their own; the old leader and
		# its follower, two of five, stop serving past the sync limit
		nl=
		for k in $(seq 200); do
			for j in 3 4 5; do
				case $(ens_role "$D" "${p[j]}") in
				*state=leading*) nl=${p[j]} ;;
				esac
			done
			[ -z "$nl" ] || break
			sleep 0.1
		done
		[ -n "$nl" ] || fail "no leader among the three"
		for j in 1 2; do
			unserving "${p[j]}" ||
			    fail "node ${p[j]}, in the minority, still serves: $out"
		done
		;;
	*)
		# the node at position 4 lost the leader: it stops serving,
		# past the sync limit.  Unless the middle node left the old
		# leader too (it found it silent for syncLimit: a stalled
		# machine does that), so that the three of them are a quorum
		# and elect a leader of a later epoch, whom it then serves
		# under, rightly
		unserving "${p[4]}" "$epoch" ||
		    fail "node ${p[4]}, cut off from the leader of epoch $epoch, still serves: $out"
		[ "$moved" = 0 ] || echo "# node ${p[4]} serves in epoch" \
		    "$(zxepoch "$out") after epoch $epoch: the middle node" \
		    "left the old leader" >&3
		;;
	esac
	# meanwhile: two nodes serve as leader only while the old one has
	# yet to find, within syncLimit (2.5 s), that its quorum is gone
	two=0
	for k in $(seq 25); do
		n=0
		for j in 1 2 3 4 5; do
			case $(ens_srvr "$j") in
			*"Mode: leader"*) n=$((n + 1)) ;;
			esac
		done
		if [ "$n" -le 1 ]; then
			two=0
		elif [ "$two" = 0 ]; then
			two=$(date +%s%N)
		elif [ $(($(date +%s%N) - two)) -gt 4000000000 ]; then
			fail "$n nodes serve as leader for more than 4 s"
		fi
		sleep 0.2
	done
	for a in $cuts; do
		ns_heal "${p[${a%,*}]}" "${p[${a#*,}]}"
	done
	load_check
	[ -n "$(ens_leader "$D")" ]
}

@test "fault, five nodes: a bridge partition (two pairs that see only the middle node) under a write load, then healed" {
	sched_five bridge
}

@test "fault, five nodes: a ring partition (each node sees its two neighbours) under a write load, then healed" {
	sched_five ring
}

@test "fault, five nodes, linearizableReads: the leader and one follower cut off from the other three, then healed; plain reads too are linearizable" {
	ENS_EXTRA=linearizableReads=true MODEL=linearizable sched_five minority
}

@test "fault, five nodes, linearizableReads: a bridge partition, then healed; plain reads too are linearizable" {
	ENS_EXTRA=linearizableReads=true MODEL=linearizable sched_five bridge
}
