# Helpers for the bats files that drive one daemon alone, with
# t/peer.py standing in for its peers (load peer).

# Stop (TERM) and reap every process in $pids.
stop_pids() {
	reap $pids
}

# reap PID...: TERM each, and reap it; one still there after 5 s gets
# KILL.  A TERM sent to a `cmd &` child before its exec is lost: bats'
# EXIT trap makes that forked shell catch it, and the exec drops the
# caught signal, so the daemon would live on and bats wait for ever on
# its fd 3.
reap() {
	local p i
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "$@"; do
		for i in $(seq 100); do
			case $(sed 's/.*) \(.\).*/\1/' "/proc/$p/stat" 2>/dev/null) in
			'' | Z) break ;;
			esac
			sleep 0.05
		done
		[ "$i" -lt 100 ] || kill -9 "$p" 2>/dev/null || true
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
