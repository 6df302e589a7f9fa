# Helpers for the bats files that drive one daemon alone, with
# t/peer.py standing in for its peers (load peer).

# Stop (TERM) and reap every process in $pids.
stop_pids() {
	local p
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
}

# waitfor FILE PATTERN: until FILE holds a line matching PATTERN (10 s);
# on failure say what FILE holds.
waitfor() {
	local i
	for i in $(seq 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no '$2' in $1:" >&2
	cat "$1" >&2 2>/dev/null
	return 1
}
