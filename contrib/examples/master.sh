#!/bin/sh
# master.sh: master election.
#
#	master.sh run SERVICE CMD [ARG...]	run CMD while this host is master
#	master.sh who SERVICE			print the master (host:pid)
#
# Candidates are ephemeral sequential nodes under /election/SERVICE; the
# lowest is master and runs CMD.  When it dies, or loses its session,
# the next one takes over; a master that loses mastership has its CMD
# stopped (zk-cli elect exits 69).
set -eu
cli=${ZK_CLI:-zk-cli}
usage() {
	echo "usage: master.sh run service cmd [arg ...]" >&2
	echo "       master.sh who service" >&2
	exit 64
}
[ $# -ge 2 ] || usage
dir=/election/$2

case $1 in
run)
	[ $# -ge 3 ] || usage
	shift 2
	exec "$cli" elect "$dir" -- "$@"
	;;
who)
	first=$("$cli" ls "$dir" 2>/dev/null | head -n 1)
	[ -n "$first" ] || { echo "master.sh: $2: no master" >&2; exit 1; }
	"$cli" get "$dir/$first"
	echo
	;;
*)
	usage
	;;
esac
