#!/bin/sh
# make check: every test, against the ASan/UBSan build (make all san first).
#
#   1 mandoc -Tlint over man/*
#   2 every t/*.bats but diff.bats (ZK_BIN=build/san/cmd; valgrind.bats
#     runs the plain build in cmd/ under valgrind)
#   3 the libFuzzer targets, ZK_FUZZ_SECS each (default 30)
#   4 the differential test against Apache (t/diff.bats)
#   5 kazoo's own suite through t/kazoo/run.sh zk, compared with
#     t/kazoo/apache-baseline.txt; killed after ZK_KAZOO_BUDGET seconds
#
# Prints a summary; the last line counts bats tests and kazoo tests:
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
	for fz in req line sasl seg vote zab zabwire; do
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

# 5 kazoo
t0=$(now)
echo "== kazoo suite against $ZK_BIN/zk-node (budget ${budget}s)"
mkdir -p "$out/kazoo-logs"
ZK_KAZOO_LOGDIR=$out/kazoo-logs timeout -s INT -k 120 "$budget" \
    t/kazoo/run.sh zk -q -p no:warnings --junitxml="$out/kazoo.xml" \
    >"$out/kazoo.log" 2>&1
rc=$?
tail -n 40 "$out/kazoo.log"
if [ -s "$out/kazoo.xml" ]; then
	/usr/bin/python3 t/kazoo/outcomes.py compare t/kazoo/apache-baseline.txt \
	    "$out/kazoo.xml" >"$out/kazoo.cmp"
	krc=$?
	cat "$out/kazoo.cmp"
	counts=$(sed -n 's/^kazoo: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out/kazoo.cmp")
	read -r kp kf ks <<-EOT
	${counts:-x x x}
	EOT
	case "$kp$kf$ks" in
	*[!0-9]*) krc=1 kp=0 kf=1 ks=0 ;;
	esac
	pass=$((pass + kp)) fail=$((fail + kf)) skip=$((skip + ks))
	part "kazoo suite ($kp/$kf/$ks)" $krc "$t0"
else
	echo "check: kazoo suite produced no results (run.sh exited $rc)"
	n=$(grep -c ' passed$' t/kazoo/apache-baseline.txt)
	fail=$((fail + n))
	part "kazoo suite (no results)" 1 "$t0"
fi
t0=$(now)
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
    "$out"/kazoo-logs/* >"$out/kazoo-san" 2>/dev/null; then
	echo "check: sanitizer reports in zk-node logs:"
	cat "$out/kazoo-san"
	part "kazoo: sanitizer reports" 1 "$t0"
fi

echo
echo "== summary (logs in build/check/)"
cat "$summary"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$partfail" -eq 0 ]
