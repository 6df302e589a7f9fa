# node.bash: start and stop a zk node for a bats file (load node).
#
#   node_start DIR [zoo.cfg lines ...]	a node on a free port, data in DIR;
#					sets PORT, NODEPID, and ZK_HOSTS
#   node_stop				SIGTERM by pid, then wait
#
# Binaries come from ${ZK_BIN:-t/../cmd}; zk-node finds its programs
# beside itself.

ZK_BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
ZK_BIN=$(cd "$ZK_BIN" && pwd)
export ZK_BIN

freeport() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# a 4lw answer, or nothing
fourlw() {
	printf '%s' "$1" | socat -t2 - "TCP:127.0.0.1:${2:-$PORT}" 2>/dev/null
}

node_start() {
	local dir=$1 i
	shift
	mkdir -p "$dir"
	PORT=$(freeport)
	{
		printf 'dataDir=%s/data\nclientPort=%s\n' "$dir" "$PORT"
		printf 'clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n'
		for i in "$@"; do
			printf '%s\n' "$i"
		done
	} >"$dir/zoo.cfg"
	"$ZK_BIN/zk-node" "$dir/zoo.cfg" 2>"$dir/node.err" 3>&- &
	NODEPID=$!
	echo "$NODEPID" >"$dir/node.pid"
	ZK_HOSTS=127.0.0.1:$PORT
	export PORT NODEPID ZK_HOSTS
	for i in $(seq 150); do
		[ "$(fourlw ruok)" = imok ] && return 0
		kill -0 "$NODEPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "node did not start:" >&2
	cat "$dir/node.err" >&2
	return 1
}

node_stop() {
	local pid=${1:-$NODEPID}
	[ -n "$pid" ] || return 0
	local i
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# wait until the node lists a watch on path (wchp)
watching() {
	local i
	for i in $(seq 100); do
		fourlw wchp "${2:-$PORT}" | grep -qx -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait until a file has at least N lines
lines() {
	local i
	for i in $(seq 100); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# run a command in the background, output in $D/NAME.out and .err, its
# pid in $D/NAME.bgpid (bgkill stops them all)
bg() {
	local name=$1
	shift
	"$@" >"$D/$name.out" 2>"$D/$name.err" 3>&- &
	echo $! >"$D/$name.bgpid"
}

# wait for a background command (a child of this shell, so not under
# run): its status in $status
waitbg() {
	status=0
	wait "$(cat "$D/$1.bgpid")" || status=$?
}

bgkill() {
	local p
	for p in $(cat "$D"/*.bgpid 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
}
