#!/bin/sh
# make check: every test, against the ASan/UBSan build (make all san first).
#
#   1 mandoc -Tlint over man/*
#   2 every t/*.bats but diff.bats (ZK_BIN=build/san/cmd; valgrind.bats
#     runs the plain build in cmd/ under valgrind)
#   3 the libFuzzer targets, ZK_FUZZ_SECS each (default 30)
#   4 the differential test against Apache (t/diff.bats)
#   5 kazoo's own suite through t/kazoo/run.sh zk, compared with
#     t/kazoo/apache-baseline.txt; then against a three-node ensemble
#     (ZK_KAZOO_CLUSTER=3), compared with t/kazoo/apache-baseline-3.txt;
#     each killed after ZK_KAZOO_BUDGET seconds
#
# Prints a summary, a line a part with the failing tests named under it;
# the last line counts bats tests and kazoo tests:
#   check: N passed, N failed, N skipped
# Exits 1 if any test or any part failed.  Logs go to build/check/.
set -u
cd "$(dirname "$0")/.." || exit 70
top=$(pwd)
out=$top/build/check
rm -rf "$out"
mkdir -p "$out"

: "${ZK_BIN:=build/san/cmd}"
case $ZK_BIN in /*) ;; *) ZK_BIN=$top/$ZK_BIN ;; esac
export ZK_BIN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
fuzzsecs=${ZK_FUZZ_SECS:-30}
budget=${ZK_KAZOO_BUDGET:-1500}

pass=0 fail=0 skip=0
summary=$out/summary
: >"$summary"

now() { date +%s; }

# part NAME STATUS START: one summary line
part() {
	if [ "$2" -eq 0 ]; then s=ok; else s=FAILED; fi
	printf '%-28s %-7s %4ss\n' "$1" "$s" "$(($(now) - $3))" >>"$summary"
	[ "$2" -eq 0 ] || partfail=1
}
partfail=0

# bats FILE: run one bats file, count its TAP lines
runbats() {
	name=$(basename "$1" .bats)
	t0=$(now)
	echo "== bats $1"
	timeout -k 30 1200 bats --tap "$1" >"$out/$name.tap" 2>&1
	rc=$?
	cat "$out/$name.tap"
	p=$(grep -Ec '^ok [0-9]+' "$out/$name.tap")
	s=$(grep -Ec '^ok [0-9]+ .*# skip' "$out/$name.tap")
	f=$(grep -Ec '^not ok [0-9]+' "$out/$name.tap")
	p=$((p - s))
	# a crashed or timed-out run with no failing test line is one failure
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "check: bats $1 exited $rc"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	part "bats $name ($p/$f/$s)" "$([ "$f" -eq 0 ] && echo 0 || echo 1)" "$t0"
	# the failing tests by name, under their part (a CI record may show
	# nothing but the summary)
	grep -E '^not ok [0-9]+' "$out/$name.tap" | cut -c1-100 |
	    sed 's/^/    /' >>"$summary"
}

# 1 man pages
t0=$(now)
set -- man/*.[1-9]
if [ -e "$1" ]; then
	echo "== mandoc -Tlint -W warning man/*"
	mandoc -Tlint -W warning "$@"
	part "mandoc lint" $? "$t0"
else
	echo "== no man pages yet"
fi

# 2 bats, per tool and library
for f in t/*.bats; do
	[ "$f" = t/diff.bats ] && continue
	runbats "$f"
done

# 4 fuzzers
t0=$(now)
echo "== make fuzz"
make -s fuzz >"$out/fuzz-build.log" 2>&1
rc=$?
cat "$out/fuzz-build.log"
part "fuzz build" $rc "$t0"
if [ $rc -eq 0 ]; then
	for fz in req line sasl seg vote zab zabwire member; do
		t0=$(now)
		echo "== fuzz-$fz, ${fuzzsecs}s"
		mkdir -p "$out/corpus-$fz"
		build/fuzz/fuzz-$fz -max_total_time="$fuzzsecs" -timeout=10 \
		    -rss_limit_mb=1024 -print_final_stats=1 \
		    -artifact_prefix="$out/fuzz-$fz-" \
		    "$out/corpus-$fz" "t/fuzz/corpus-$fz" >"$out/fuzz-$fz.log" 2>&1
		rc=$?
		tail -n 15 "$out/fuzz-$fz.log"
		part "fuzz-$fz" $rc "$t0"
	done
fi

# 4 differential test
runbats t/diff.bats

# 5 kazoo: against one node, then against a three-node ensemble
# kazoo SIZE BASELINE NAME
kazoo() {
	t0=$(now)
	echo "== kazoo suite against $1 $ZK_BIN/zk-node (budget ${budget}s)"
	mkdir -p "$out/$3-logs"
	ZK_KAZOO_CLUSTER=$1 ZK_KAZOO_LOGDIR=$out/$3-logs \
	    timeout -s INT -k 120 "$budget" \
	    t/kazoo/run.sh zk -q -p no:warnings --junitxml="$out/$3.xml" \
	    >"$out/$3.log" 2>&1
	rc=$?
	tail -n 40 "$out/$3.log"
	if [ -s "$out/$3.xml" ]; then
		/usr/bin/python3 t/kazoo/outcomes.py compare "$2" \
		    "$out/$3.xml" >"$out/$3.cmp"
		krc=$?
		cat "$out/$3.cmp"
		counts=$(sed -n 's/^kazoo: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out/$3.cmp")
		read -r kp kf ks <<-EOT
		${counts:-x x x}
		EOT
		case "$kp$kf$ks" in
		*[!0-9]*) krc=1 kp=0 kf=1 ks=0 ;;
		esac
		pass=$((pass + kp)) fail=$((fail + kf)) skip=$((skip + ks))
		part "kazoo suite, $1 node(s) ($kp/$kf/$ks)" $krc "$t0"
		grep -E '^kazoo: (REGRESSION|BEYOND)' "$out/$3.cmp" |
		    cut -c1-120 | sed 's/^/    /' >>"$summary"
	else
		echo "check: kazoo suite produced no results (run.sh exited $rc)"
		n=$(grep -c ' passed$' "$2")
		fail=$((fail + n))
		part "kazoo suite, $1 node(s) (no results)" 1 "$t0"
	fi
	t0=$(now)
	if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
	    "$out/$3-logs"/* >"$out/$3-san" 2>/dev/null; then
		echo "check: sanitizer reports in zk-node logs:"
		cat "$out/$3-san"
		part "kazoo, $1 node(s): sanitizer reports" 1 "$t0"
	fi
}
kazoo 1 t/kazoo/apache-baseline.txt kazoo
kazoo 3 t/kazoo/apache-baseline-3.txt kazoo3

echo
echo "== summary (logs in build/check/)"
cat "$summary"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$partfail" -eq 0 ]
