#!/bin/sh
# config-push.sh: push a configuration to every host that follows it.
#
#	config-push.sh push NAME FILE		store FILE as /config/NAME
#	config-push.sh follow NAME FILE [CMD]	keep FILE equal to /config/NAME,
#						running CMD after each change
#
# follow sets a persistent watch first (zk-cli watch -i prints "ready"
# once it is set), then fetches: no change can fall between the two.
# FILE is replaced by rename, so readers never see half of it.
set -eu
cli=${ZK_CLI:-zk-cli}
usage() {
	echo "usage: config-push.sh push name file" >&2
	echo "       config-push.sh follow name file [cmd]" >&2
	exit 64
}
[ $# -ge 3 ] || usage
node=/config/$2
file=$3

fetch() {
	if "$cli" get "$node" >"$file.tmp"; then
		mv "$file.tmp" "$file"
		[ -z "$cmd" ] || sh -c "$cmd"
	else
		rm -f "$file.tmp"
	fi
}

case $1 in
push)
	[ $# -eq 3 ] || usage
	"$cli" set "$node" - <"$file" 2>/dev/null ||
	    "$cli" create -p "$node" - <"$file" >/dev/null
	;;
follow)
	[ $# -le 4 ] || usage
	cmd=${4:-}
	"$cli" watch -i -p "$node" | while read -r type path; do
		case $type in
		ready | created | changed) fetch ;;
		deleted) rm -f "$file" ;;
		esac
	done
	;;
*)
	usage
	;;
esac
