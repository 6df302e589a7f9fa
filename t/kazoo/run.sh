#!/bin/sh
# Run kazoo's own test suite (Debian's python3-kazoo) against zk or Apache.
#
#   t/kazoo/run.sh [apache|zk] [pytest args...]
#
# zk: starts $ZK_BIN/zk-node (default: cmd/ of this tree) on the zoo.cfg
# kazoo's harness writes (see zkplugin.py).  apache: Debian's zookeeper
# 3.8.0 jars through kazoo's unmodified harness.  Extra arguments go to
# pytest (e.g. -k test_lock, --junitxml=out.xml).  Environment:
#   ZK_KAZOO_TIMEOUT   per-test timeout in seconds (default 60)
#   ZK_KAZOO_CLUSTER   servers in the harness's cluster (default 1; 3 runs
#                      the suite against a three-server ensemble)
#   ZK_KAZOO_LOGDIR    keep zk-node logs here (default: the harness's tmp dir)
#   ZK_KAZOO_DEBUG     if set, zk-node runs with -d (its programs' debug
#                      lines in those logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
target=${1:-zk}
[ $# -gt 0 ] && shift
case $target in
apache|zk) ;;
*) echo "usage: t/kazoo/run.sh [apache|zk] [pytest args...]" >&2; exit 64 ;;
esac

: "${ZK_BIN:=$top/cmd}"
case $ZK_BIN in /*) ;; *) ZK_BIN=$top/$ZK_BIN ;; esac
if [ "$target" = zk ] && [ ! -x "$ZK_BIN/zk-node" ]; then
	echo "t/kazoo/run.sh: $ZK_BIN/zk-node: not built" >&2
	exit 66
fi

# The harness's servers: ZK_KAZOO_CLUSTER (default 1; 3 for an ensemble).
cluster=${ZK_KAZOO_CLUSTER:-1}
case $cluster in
[1-9]) ;;
*) echo "t/kazoo/run.sh: ZK_KAZOO_CLUSTER=$cluster: 1 to 9" >&2; exit 64 ;;
esac

# Four consecutive free ports per server, ten apart: client, election,
# leader, admin.  Below the kernel's ephemeral range, as t/freeport.py
# picks them: a port in that range may be taken by any outgoing
# connection (a client, a peer dialing) before its server binds it.
offset=$(/usr/bin/python3 - "$cluster" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
except (OSError, ValueError):
    lo, hi = 32768, 60999
if lo > 12000:
    pool = range(10000, lo - 10 * n, 10)
else:
    pool = range(hi + 1, 65536 - 10 * n, 10)
for _ in range(200):
    base = random.choice(pool)
    socks = []
    try:
        for p in [base + 10 * i + k for i in range(n) for k in range(4)]:
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
PY
)
[ -n "$offset" ] || { echo "t/kazoo/run.sh: no free ports" >&2; exit 71; }

pidfile=$(mktemp "${TMPDIR:-/tmp}/zk-kazoo-pids.XXXXXX")
cleanup() {
	# Servers the harness failed to stop: by PID (zk-node's whole group).
	while read -r pid; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "t/kazoo/run.sh: server $pid still running, killing it" >&2
			kill -TERM "$pid" 2>/dev/null
			sleep 1
			kill -KILL "$pid" 2>/dev/null
		fi
		[ "$target" = zk ] && kill -KILL -- "-$pid" 2>/dev/null
	done <"$pidfile"
	rm -f "$pidfile"
}
trap cleanup EXIT
# SIGINT/SIGTERM (e.g. check.sh's time budget): pass SIGINT on to pytest,
# which then stops and still writes its --junitxml, and wait for it.
pytest=
trap 'stop' INT TERM
stop() {
	[ -n "$pytest" ] && kill -INT "$pytest" 2>/dev/null
	interrupted=1
}
interrupted=0

export ZK_KAZOO_TARGET=$target ZK_BIN ZK_KAZOO_PIDFILE=$pidfile
export ZOOKEEPER_CLUSTER_SIZE=$cluster ZOOKEEPER_VERSION=3.8.0
export ZOOKEEPER_PORT_OFFSET=$offset
export ZOOKEEPER_CLASSPATH="/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
unset ZOOKEEPER_JAAS_AUTH TRAVIS

/usr/bin/python3 -m pytest -p zkplugin -p no:cacheprovider \
    --rootdir=/usr/lib/python3/dist-packages/kazoo/tests \
    --timeout="${ZK_KAZOO_TIMEOUT:-60}" -o junit_family=xunit1 \
    --pyargs kazoo.tests "$@" </dev/null &
pytest=$!
while :; do
	wait "$pytest"
	rc=$?
	# wait returns early (>128) when a trapped signal arrives
	kill -0 "$pytest" 2>/dev/null || break
done
[ "$interrupted" -eq 0 ] || echo "t/kazoo/run.sh: interrupted" >&2
exit "$rc"
