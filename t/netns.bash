# netns.bash: network namespaces a test makes itself, for partitions
# (load netns, after ensemble).
#
#   ns_setup N		N node namespaces and a client one, every pair
#			joined by its own veth; ENS_NETNS set (ensemble.bash
#			then puts node I at 10.99.0.I, the client at
#			10.99.0.100); skips the test where namespaces
#			cannot be made (not root, no ip(8))
#   ns_cut A B		drop, silently, every packet between nodes A and B
#			(a blackhole qdisc on both ends of their link)
#   ns_heal A B		let them through again
#   ns_client CMD...	CMD in the client namespace
#   ns_teardown		delete the namespaces (their links go with them)
#
# Addresses exist only inside the namespaces, and nothing routes out of
# them: no traffic leaves this machine.

NS_ADDR=10.99.0

ns_name() {
	case $1 in
	c) echo "${ENS_NETNS}c" ;;
	*) echo "${ENS_NETNS}n$1" ;;
	esac
}

ns_ip() {
	case $1 in
	c) echo "$NS_ADDR.100" ;;
	*) echo "$NS_ADDR.$1" ;;
	esac
}

ns_setup() {
	local n=$1 a b i j all
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	command -v ip >/dev/null || skip "no ip(8) (iproute2)"
	command -v tc >/dev/null || skip "no tc(8) (iproute2)"
	ENS_NETNS=zk$$x$RANDOM
	ip netns add "$(ns_name c)" 2>/dev/null ||
	    skip "cannot make a network namespace here"
	NS_MADE=c
	all="c $(seq -s ' ' "$n")"
	for i in $(seq "$n"); do
		ip netns add "$(ns_name "$i")"
		NS_MADE="$NS_MADE $i"
	done
	for a in $all; do
		ip -n "$(ns_name "$a")" link set lo up
		ip -n "$(ns_name "$a")" addr add "$(ns_ip "$a")/32" dev lo
	done
	for a in $all; do
		for b in $all; do
			[[ "$a" < "$b" ]] || continue
			ip link add "to$b" netns "$(ns_name "$a")" type veth \
			    peer name "to$a" netns "$(ns_name "$b")"
			for i in "$a $b" "$b $a"; do
				set -- $i
				ip -n "$(ns_name "$1")" link set "to$2" up
				ip -n "$(ns_name "$1")" route add \
				    "$(ns_ip "$2")/32" dev "to$2" \
				    src "$(ns_ip "$1")"
			done
		done
	done
}

ns_cut() {
	ip netns exec "$(ns_name "$1")" tc qdisc replace dev "to$2" root blackhole
	ip netns exec "$(ns_name "$2")" tc qdisc replace dev "to$1" root blackhole
}

ns_heal() {
	ip netns exec "$(ns_name "$1")" tc qdisc del dev "to$2" root 2>/dev/null || true
	ip netns exec "$(ns_name "$2")" tc qdisc del dev "to$1" root 2>/dev/null || true
}

ns_client() {
	ip netns exec "$(ns_name c)" "$@"
}

ns_teardown() {
	local i
	for i in ${NS_MADE:-}; do
		ip netns del "$(ns_name "$i")" 2>/dev/null || true
	done
	NS_MADE=
}
