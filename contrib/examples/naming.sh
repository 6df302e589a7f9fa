#!/bin/sh
# naming.sh: a naming service handing out unique ids.
#
#	naming.sh NAMESPACE	print a new id, unique in NAMESPACE: 0, 1, 2...
#
# Each call creates a sequential node /naming/NAMESPACE/id-NNNNNNNNNN and
# deletes it at once: the parent's sequence counter never goes back, so
# the ids stay unique across clients, restarts and deletions.
# ZK_HOSTS names the servers (default 127.0.0.1:2181); ZK_CLI the client.
set -eu
cli=${ZK_CLI:-zk-cli}
[ $# -eq 1 ] || { echo "usage: naming.sh namespace" >&2; exit 64; }

node=$("$cli" create -p -s "/naming/$1/id-")
"$cli" rm "$node"
n=${node##*-}
# strip the leading zeros, keep one digit
n=$(printf '%s\n' "$n" | sed 's/^0*\(.\)/\1/')
echo "$n"
