#!/usr/bin/env bats
# Corruption tests: flip bytes and cut log segments (and snapshots) at
# many offsets.  What a node would apply (zk-log replay, exactly what
# serve sends zk-tree) must be a prefix of what was stored, or zk-log
# must refuse with the file and offset; never anything else.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer

setup() {
	BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}
	PEER="/usr/bin/python3 $BATS_TEST_DIRNAME/peer.py"
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/run" "$D/data"
	printf 'tickTime=2000\ndataDir=%s/data\nclientPort=2181\n' "$D" \
	    >"$D/zoo.cfg"
	pids=
}

teardown() {
	stop_pids
	if [ -n "${CNODE:-}" ]; then
		crash_teardown
	fi
}


# N records in segments of 4 KiB through zk-log and a fake zk-tree;
# $D/orig is the replay, $D/pristine a copy of the log directory
make_log() {
	local i reqs=()
	echo 'loaded zxid=0x0' >"$D/feed"
	$PEER serve "$D/run/tree.sock" "$D/tree.log" "$D/feed" &
	pids="$pids $!"
	"$BIN/zk-log" serve -s 4096 -c "$D/zoo.cfg" -r "$D/run" 2>>"$D/log.err" &
	LOG=$!
	for i in $(seq "$1"); do
		reqs+=("create session=0x1 xid=$i path=/n$i data=$i$i$i acl=31:world:anyone flags=0")
		[ $((i % 4)) -ne 0 ] || reqs+=('@sleep 0.01')
	done
	$PEER talk "$D/run/log.sock" 'hello role=gate' "${reqs[@]}"
	waitfor "$D/tree.log" "xid=$1 "
	kill "$LOG"
	wait "$LOG" || true
	"$BIN/zk-log" replay --after 0 "$D/data" >"$D/orig"
	cp -r "$D/data/zk" "$D/pristine"
	mapfile -t SEGS < <(ls "$D/pristine")
}

# the logical end of a segment (its records, without the zeros)
logical_end() {
	rm -rf "$D/one"
	mkdir "$D/one"
	cp "$1" "$D/one/"
	"$BIN/zk-log" dump "$D/one" | wc -lc | awk '{print $2 + 8 * $1}'
}

# put the pristine log back, in $D/c/zk
fresh() {
	rm -rf "$D/c"
	mkdir -p "$D/c"
	cp -r "$D/pristine" "$D/c/zk"
}

flip() {	# file offset
	local b
	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $(( (b ^ 0x5a) & 255 )))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# What the node would apply must be a prefix of the original, or the
# tool refuses (65) naming a segment and an offset.  Sets KEPT (records
# kept) or REFUSED=1.
judge() {
	local n
	KEPT=
	REFUSED=
	run --separate-stderr "$BIN/zk-log" replay --after 0 "$D/c"
	case $status in
	0)
		n=${#lines[@]}
		[ "$output" = "$(head -n "$n" "$D/orig")" ] || {
			echo "replay is not a prefix of the original ($1)" >&2
			return 1
		}
		KEPT=$n
		;;
	65)
		[[ "$stderr" =~ /zk/log\.[0-9a-f]{16}:\ bad\ record\ at\ offset\ [0-9]+ ]] ||
		    [[ "$stderr" == *"no zxid 0x1 after 0x0"* ]] || {
			echo "refused without naming file and offset ($1): $stderr" >&2
			return 1
		}
		REFUSED=1
		;;
	*)
		echo "replay exited $status ($1): $stderr" >&2
		return 1
		;;
	esac
}

@test "corrupt: a flipped byte at every offset of the last record and many others" {
	make_log 120
	local last=${SEGS[-1]} nlast end total off seg kept=0 refused=0 i
	[ "${#SEGS[@]}" -ge 3 ]
	nlast=$(wc -l <"$D/orig")
	end=$(logical_end "$D/pristine/$last")
	# every byte of the last two records and a bit past the end, and
	# random ones before
	for off in $(shuf -i 0-$((end - 240)) -n 40) $(seq $((end - 240)) $((end + 16))); do
		fresh
		flip "$D/c/zk/$last" "$off"
		judge "$last+$off"
		if [ -n "$KEPT" ]; then kept=$((kept + 1)); else refused=$((refused + 1)); fi
	done
	# a flip in the last record: it was written whole (zeros follow),
	# so it is damage to an acknowledged write, not a torn tail
	fresh
	flip "$D/c/zk/$last" $((end - 3))
	judge "last record"
	assert_equal "$REFUSED" 1
	# cut short, it is a torn tail: all the others are kept
	fresh
	truncate -s $((end - 3)) "$D/c/zk/$last"
	judge "last record cut"
	assert_equal "$KEPT" $((nlast - 1))
	# every segment but the last: each flip inside a record is refused
	for seg in "${SEGS[@]:0:${#SEGS[@]}-1}"; do
		end=$(logical_end "$D/pristine/$seg")
		for i in $(seq 40); do
			off=$((RANDOM % end))
			fresh
			flip "$D/c/zk/$seg" "$off"
			judge "$seg+$off"
			[ -n "$REFUSED" ] || { echo "$seg+$off not refused" >&2; false; }
			refused=$((refused + 1))
		done
	done
	echo "# $kept flips recovered to a prefix, $refused refused" >&3
	[ "$kept" -gt 0 ] && [ "$refused" -gt 0 ]
}

@test "corrupt: truncation at many offsets" {
	make_log 120
	local last=${SEGS[-1]} end off seg n prev=-1 kept=0 refused=0
	end=$(logical_end "$D/pristine/$last")
	for off in $(seq 0 5 $((end + 1))) "$end"; do
		fresh
		truncate -s "$off" "$D/c/zk/$last"
		judge "cut $last at $off"
		# a cut last segment is a torn tail: always a prefix, growing
		[ -n "$KEPT" ] || { echo "cut at $off refused" >&2; false; }
		[ "$KEPT" -ge "$prev" ]
		prev=$KEPT
		kept=$((kept + 1))
	done
	assert_equal "$prev" "$(wc -l <"$D/orig")"
	# a cut earlier segment loses records in the middle: refused
	seg=${SEGS[0]}
	end=$(logical_end "$D/pristine/$seg")
	for off in $(seq 0 13 $((end - 1))); do
		fresh
		truncate -s "$off" "$D/c/zk/$seg"
		judge "cut $seg at $off"
		[ -n "$REFUSED" ] || { echo "cut $seg at $off not refused" >&2; false; }
		refused=$((refused + 1))
	done
	# cut exactly at its logical end (no zeros left): still whole
	fresh
	truncate -s "$end" "$D/c/zk/$seg"
	judge "cut $seg at its end"
	assert_equal "$KEPT" "$(wc -l <"$D/orig")"
	# a missing middle segment is refused
	fresh
	rm "$D/c/zk/${SEGS[1]}"
	judge "no ${SEGS[1]}"
	[ -n "$REFUSED" ]
	echo "# $kept cuts recovered to a prefix, $refused refused" >&3
}

@test "corrupt: serve cuts a torn tail or refuses, as replay says" {
	make_log 60
	local last=${SEGS[-1]} end off i
	end=$(logical_end "$D/pristine/$last")
	for i in 1 2 3 4 5 6; do
		off=$(( i < 4 ? end - 1 - RANDOM % 10 : RANDOM % end ))
		fresh
		flip "$D/c/zk/$last" "$off"
		judge "$last+$off"
		printf 'tickTime=2000\ndataDir=%s/c\nclientPort=2181\n' "$D" >"$D/c.cfg"
		: >"$D/tree.log"
		if [ -n "$REFUSED" ]; then
			run timeout 20 "$BIN/zk-log" serve -s 4096 -c "$D/c.cfg" -r "$D/run"
			assert_equal "$status" 65
			assert_output --partial "bad record at offset"
		else
			"$BIN/zk-log" serve -s 4096 -c "$D/c.cfg" -r "$D/run" 2>"$D/serve.err" &
			pid=$!
			waitfor "$D/tree.log" '^ready '
			kill "$pid"
			wait "$pid" || true
			grep ' time=' "$D/tree.log" >"$D/served"
			assert_equal "$(cat "$D/served")" "$(head -n "$KEPT" "$D/orig")"
			run -0 "$BIN/zk-log" verify "$D/c"
		fi
	done
}

@test "corrupt: a node refuses a damaged log, naming the file and offset" {
	load crash
	cnode_cfg
	cnode_start
	writer_start 1
	sleep 1
	writer_kill
	cnode_stop
	local seg
	seg=$(ls "$D/data/zk" | grep '^log\.' | tail -n 1)
	flip "$D/data/zk/$seg" 100
	run -65 "$ZK_BIN/zk-node" "$D/zoo.cfg"
	assert_output --partial "$D/data/zk/$seg: bad record at offset 0"
	assert_output --partial 'cannot be cured by a restart'
}

@test "corrupt: a damaged newest snapshot: an older one and the log, or refusal" {
	load crash
	cnode_cfg snapCount=300
	cnode_start
	writer_start 1
	sleep 2
	writer_kill
	cnode_stop
	local snap size i
	snap=$(ls "$D/data/zk" | grep '^snapshot\.[0-9a-f]*$' | tail -n 1)
	[ -n "$snap" ]
	size=$(stat -c %s "$D/data/zk/$snap")
	cp "$D/data/zk/$snap" "$D/snap.orig"
	for i in 1 2 3 4 5; do
		cp "$D/snap.orig" "$D/data/zk/$snap"
		if [ "$i" -eq 5 ]; then
			truncate -s $((size / 2)) "$D/data/zk/$snap"
		else
			flip "$D/data/zk/$snap" $((RANDOM % size))
		fi
		cnode_start
		check 1
		cnode_stop
	done
}
