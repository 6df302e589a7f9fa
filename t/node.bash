# node.bash: start and stop a zk node for a bats file (load node).
#
#   node_start DIR [zoo.cfg lines ...]	a node on a free port, data in DIR;
#					sets PORT, NODEPID, and ZK_HOSTS
#   apache_start DIR [java options ...]	the same with Apache ZooKeeper
#   node_stop				SIGTERM by pid, then wait
#
# Binaries come from ${ZK_BIN:-t/../cmd}; zk-node finds its programs
# beside itself.

ZK_BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
ZK_BIN=$(cd "$ZK_BIN" && pwd)
export ZK_BIN

freeport() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py"
}

# a 4lw answer, or nothing
fourlw() {
	printf '%s' "$1" | socat -t2 - "TCP:127.0.0.1:${2:-$PORT}" 2>/dev/null
}

node_start() {
	local dir=$1
	shift
	node_cfg "$dir" "$@"
	"$ZK_BIN/zk-node" "$dir/zoo.cfg" 2>"$dir/node.err" 3>&- &
	NODEPID=$!
	node_ready "$dir" node
}

# Apache ZooKeeper 3.8 (Debian's package) on a free port, as node_start;
# its arguments are java options (e.g. -Dznode.container.checkIntervalMs=100)
apache_start() {
	local dir=$1
	shift
	node_cfg "$dir" admin.enableServer=false
	java -cp "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf" \
	    -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
	    "$@" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
	    >"$dir/node.err" 2>&1 </dev/null 3>&- &
	NODEPID=$!
	node_ready "$dir" "Apache ZooKeeper"
}

# node_cfg DIR [lines ...]: DIR/zoo.cfg on a free port, sets PORT and ZK_HOSTS
node_cfg() {
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
	ZK_HOSTS=127.0.0.1:$PORT
	export PORT ZK_HOSTS
}

# node_ready DIR WHAT: wait until NODEPID answers ruok (Apache takes a
# few seconds); DIR/node.pid written
node_ready() {
	local i
	echo "$NODEPID" >"$1/node.pid"
	export NODEPID
	for i in $(seq 300); do
		[ "$(fourlw ruok)" = imok ] && return 0
		kill -0 "$NODEPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "$2 did not start:" >&2
	tail -n 40 "$1/node.err" >&2
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
