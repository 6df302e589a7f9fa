#!/bin/sh
# membership.sh: cluster membership with ephemeral nodes.
#
#	membership.sh join GROUP NAME [DATA]	be a member until killed
#	membership.sh list GROUP		the members, one per line
#	membership.sh watch GROUP		print the members at each change
#
# A member is an ephemeral node /members/GROUP/NAME: it goes away by
# itself when its process or host dies (once the session times out).
set -eu
cli=${ZK_CLI:-zk-cli}
usage() {
	echo "usage: membership.sh join group name [data]" >&2
	echo "       membership.sh list group" >&2
	echo "       membership.sh watch group" >&2
	exit 64
}
[ $# -ge 2 ] || usage
dir=/members/$2

case $1 in
join)
	[ $# -ge 3 ] || usage
	"$cli" create -p "$dir" >/dev/null 2>&1 || true
	# one interactive zk-cli session, fed from a fifo that stays open
	# until we are told to stop: the node lives as long as the session
	tmp=$(mktemp -d)
	mkfifo "$tmp/in"
	"$cli" <"$tmp/in" >/dev/null &
	pid=$!
	exec 3>"$tmp/in"
	rm -rf "$tmp"
	trap 'exec 3>&-; wait "$pid"; exit 0' INT TERM
	data=$(printf '%s' "${4:-}" | sed "s/'/'\\\\''/g")
	printf "create -e %s/%s '%s'\n" "$dir" "$3" "$data" >&3
	wait "$pid"
	;;
list)
	"$cli" ls "$dir"
	;;
watch)
	"$cli" create -p "$dir" >/dev/null 2>&1 || true
	"$cli" watch -i -p "$dir" | while read -r type path; do
		echo "members: $("$cli" ls "$dir" | tr '\n' ' ')"
	done
	;;
*)
	usage
	;;
esac
