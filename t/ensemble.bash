# ensemble.bash: start and stop a zk ensemble on loopback for a bats file
# (load ensemble).
#
#   ens_start DIR N	N nodes, each in DIR/nI with its own free client,
#			quorum and election ports; ENS_N, ENS_PORT[I] set;
#			the myids in ENS_OBSERVERS ("4 5") are observers;
#			ENS_EXTRA: more zoo.cfg lines for every node;
#			under netns.bash (ns_setup first) node I is
#			10.99.0.I in its own namespace
#   ens_node DIR I	start node I again (after ens_kill)
#   ens_kill I [SIG]	signal node I's process group (default KILL), wait
#   ens_role DIR I	node I's role line from zk-elect (elect.sock)
#   ens_await DIR I STATE  wait up to 10 s for node I's role to be STATE
#			(an extended regex: 'leading|following')
#   ens_serving DIR I	wait up to 20 s for node I to serve clients
#   ens_leader DIR	the myid of the node that leads and serves, once one does
#   ens_write I ARGS	zk-cli ARGS against node I, retried up to 20 s
#   ens_client CMD	CMD as a client runs it (netns.bash: in its namespace)
#   ens_hosts		the nodes' client addresses, host:port,...
#   ens_stop		SIGTERM every node's process group, then wait
#   ens_teardown	ens_stop; fail on a sanitizer's report in any node's
#			log; on a failed test, show the end of each log
#
# Every node is the leader of its own process group (setsid), as a test
# harness kills and stops a node: the group dies or stops as a whole.

ZK_BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
ZK_BIN=$(cd "$ZK_BIN" && pwd)
export ZK_BIN

# a free port, none of the ensemble's (t/freeport.py)
freeport() {
	FREEPORT_AVOID="${ENS_PORT[*]:-} ${ENS_QPORT[*]:-} ${ENS_EPORT[*]:-}" \
	    /usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py"
}

ens_start() {
	local dir=$1 n=$2 i ports
	ENS_N=$n
	ENS_DIR=$dir
	[ -n "${ENS_NETNS:-}" ] ||
	    ports=($(/usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py" \
	    $((3 * n))))	# all different
	for i in $(seq "$n"); do
		if [ -n "${ENS_NETNS:-}" ]; then	# netns.bash
			ENS_HOST[i]=$(ns_ip "$i")
			ENS_PORT[i]=2181
			ENS_QPORT[i]=2888
			ENS_EPORT[i]=3888
			continue
		fi
		ENS_HOST[i]=127.0.0.1
		ENS_PORT[i]=${ports[3 * i - 3]}
		ENS_QPORT[i]=${ports[3 * i - 2]}
		ENS_EPORT[i]=${ports[3 * i - 1]}
	done
	for i in $(seq "$n"); do
		mkdir -p "$dir/n$i/data"
		echo "$i" >"$dir/n$i/data/myid"
		{
			printf 'tickTime=500\ninitLimit=10\nsyncLimit=5\n'
			printf 'dataDir=%s/n%s/data\n' "$dir" "$i"
			printf 'clientPort=%s\nclientPortAddress=%s\n' \
			    "${ENS_PORT[i]}" "${ENS_HOST[i]}"
			printf '4lw.commands.whitelist=*\nmetricsProvider.httpPort=0\n'
			[ -z "${ENS_EXTRA:-}" ] || printf '%s\n' "$ENS_EXTRA"
			for j in $(seq "$n"); do
				printf 'server.%s=%s:%s:%s%s\n' "$j" \
				    "${ENS_HOST[j]}" "${ENS_QPORT[j]}" \
				    "${ENS_EPORT[j]}" \
				    "$(case " ${ENS_OBSERVERS:-} " in
				    *" $j "*) echo :observer ;; esac)"
			done
		} >"$dir/n$i/zoo.cfg"
	done
	for i in $(seq "$n"); do
		ens_node "$dir" "$i"
	done
}

ens_node() {
	local dir=$1 i=$2
	${ENS_NETNS:+ip netns exec "$(ns_name "$i")"} \
	    setsid "$ZK_BIN/zk-node" "$dir/n$i/zoo.cfg" \
	    >>"$dir/n$i/node.err" 2>&1 </dev/null 3>&- &
	ENS_PID[i]=$!
}

ens_kill() {
	local i=$1 sig=${2:-KILL} k
	kill -s "$sig" -- "-${ENS_PID[i]}" 2>/dev/null || true
	[ "$sig" = KILL ] || [ "$sig" = TERM ] || return 0
	for k in $(seq 100); do
		kill -0 -- "-${ENS_PID[i]}" 2>/dev/null || break
		sleep 0.1
	done
	wait "${ENS_PID[i]}" 2>/dev/null || true
}

ens_role() {
	timeout 3 socat -t1 - "UNIX-CONNECT:$1/n$2/data/rundir/elect.sock" \
	    </dev/null 2>/dev/null | head -n 1
}

ens_await() {
	local k
	for k in $(seq 100); do
		[[ $(ens_role "$1" "$2") =~ state=($3) ]] && return 0
		sleep 0.1
	done
	return 1
}

# node I's srvr answer, empty if none
ens_srvr() {
	printf srvr | ens_client socat -t1 - \
	    "TCP:${ENS_HOST[$1]}:${ENS_PORT[$1]}" 2>/dev/null || true
}

# wait up to 20 s for node I to serve (srvr says its Mode)
ens_serving() {
	local k
	for k in $(seq 200); do
		ens_srvr "$2" | grep -q '^Mode: ' && return 0
		sleep 0.1
	done
	return 1
}

# (one that leads in the election and serves: a node can settle on
# leading while its would-be followers settle on another, and then
# leads no one until initLimit)
ens_leader() {
	local dir=$1 k i
	for k in $(seq 200); do
		for i in $(seq "$ENS_N"); do
			case $(ens_role "$dir" "$i") in
			*state=leading*)
				ens_srvr "$i" | grep -q '^Mode: leader' &&
				    { echo "$i"; return 0; } ;;
			esac
		done
		sleep 0.1
	done
	return 1
}

ens_write() {
	local i=$1 k
	shift
	for k in $(seq 40); do
		ens_client timeout 10 "$ZK_BIN/zk-cli" \
		    -z "${ENS_HOST[i]}:${ENS_PORT[i]}" "$@" 2>/dev/null &&
		    return 0
		sleep 0.5
	done
	return 1
}

# a client's command: in the client namespace under netns.bash
ens_client() {
	if [ -n "${ENS_NETNS:-}" ]; then
		ip netns exec "$(ns_name c)" "$@"
	else
		"$@"
	fi
}

# the client address list host:port,...
ens_hosts() {
	local i h=
	for i in $(seq "$ENS_N"); do
		h=$h${h:+,}${ENS_HOST[i]}:${ENS_PORT[i]}
	done
	echo "$h"
}

ens_stop() {
	local i
	for i in $(seq "${ENS_N:-0}"); do
		kill -TERM -- "-${ENS_PID[i]}" 2>/dev/null || true
	done
	for i in $(seq "${ENS_N:-0}"); do
		ens_kill "$i" TERM
	done
}

ens_teardown() {
	local i
	ens_stop
	[ -n "${ENS_DIR:-}" ] || return 0
	# a sanitizer's report in any daemon fails the test (make san)
	if grep -l 'Sanitizer\|runtime error' "$ENS_DIR"/n*/node.err >&2; then
		grep -h -A12 'Sanitizer\|runtime error' "$ENS_DIR"/n*/node.err >&2
		BATS_TEST_COMPLETED=
		return 1
	fi
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
		for i in $(seq "${ENS_N:-0}"); do
			echo "--- node $i" >&2
			grep -v '^zk-gate: \|^zk-tree: \|^zk-sessiond: ' \
			    "$ENS_DIR/n$i/node.err" | tail -n 25 >&2
		done
	fi
}
