# crash.bash: a zk node in its own process group, for crash tests (load crash).
#
#   cnode_cfg [zoo.cfg lines ...]	write $D/zoo.cfg on a free port (PORT)
#   cnode_start				start zk-node in a new session, wait for
#					ruok; CNODE is its pid and process group
#   cnode_kill				kill -9 the whole group, wait until none
#					of it is left
#   cnode_stop				SIGTERM zk-node, wait for the group
#   writer_start ROUND / writer_kill	t/crashload.py write, acks in $D/acks
#   check [ROUND]			t/crashload.py check against $D/acks
#
# zk-node's run directories go under $D (TMPDIR), which bats removes.

load node

LOAD="/usr/bin/python3 $BATS_TEST_DIRNAME/crashload.py"
CNODE=
WRITER=

cnode_cfg() {
	local i
	PORT=$(freeport)
	{
		printf 'dataDir=%s/data\nclientPort=%s\n' "$D" "$PORT"
		printf 'clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n'
		for i in "$@"; do
			printf '%s\n' "$i"
		done
	} >"$D/zoo.cfg"
	export PORT
}

cnode_spawn() {
	TMPDIR=$D setsid "$ZK_BIN/zk-node" "$D/zoo.cfg" 2>>"$D/node.err" 3>&- &
	CNODE=$!
}

cnode_start() {
	local i
	cnode_spawn
	for i in $(seq 300); do
		[ "$(fourlw ruok)" = imok ] && return 0
		kill -0 "$CNODE" 2>/dev/null || break
		sleep 0.05
	done
	echo "node did not start:" >&2
	tail -n 20 "$D/node.err" >&2
	return 1
}

# every process of the group gone (zk-snap children too)
cnode_gone() {
	local i
	for i in $(seq 200); do
		kill -0 -- "-$1" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "process group $1 still running" >&2
	return 1
}

cnode_kill() {
	[ -n "$CNODE" ] || return 0
	kill -9 -- "-$CNODE" 2>/dev/null || true
	cnode_gone "$CNODE"
	wait "$CNODE" 2>/dev/null || true
	CNODE=
}

cnode_stop() {
	[ -n "$CNODE" ] || return 0
	kill "$CNODE" 2>/dev/null || true
	wait "$CNODE" 2>/dev/null || true
	cnode_gone "$CNODE"
	CNODE=
}

writer_start() {
	$LOAD write "127.0.0.1:$PORT" "$1" "$D/acks" 2>>"$D/writer.err" 3>&- &
	WRITER=$!
}

writer_kill() {
	[ -n "$WRITER" ] || return 0
	kill -9 "$WRITER" 2>/dev/null || true
	wait "$WRITER" 2>/dev/null || true
	WRITER=
}

check() {
	run $LOAD check "127.0.0.1:$PORT" "$D/acks" "$@"
	echo "$output" >&3
	if [ "$status" -ne 0 ]; then
		echo "$output" >&2
		return 1
	fi
}

crash_teardown() {
	writer_kill
	if [ -n "$CNODE" ]; then
		kill -9 -- "-$CNODE" 2>/dev/null || true
		cnode_gone "$CNODE" || true
		wait "$CNODE" 2>/dev/null || true
	fi
}

# a random pause of 0.2 to 1.2 s
pause() {
	sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
	sleep 0.2
}
