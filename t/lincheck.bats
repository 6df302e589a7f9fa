#!/usr/bin/env bats
# t/lincheck.py, the linearizability checker the fault tests use, on
# hand-made histories it must accept and ones it must refuse, and on
# random ones from a simulated register (t/lincheckgen.py).
bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	lc="python3 $top/t/lincheck.py"
	h=$BATS_TEST_TMPDIR/h.jsonl
}

w() {	# proc type f value
	printf '{"proc":%s,"type":"%s","f":"%s","value":%s}\n' "$@" >>"$h"
}

@test "lincheck: a sequential write then read is linearizable" {
	w 1 invoke write 1; w 1 ok write 1
	w 2 invoke read null; w 2 ok read '{"value":1,"version":1}'
	run -0 $lc "$h"
	[[ "$output" == "linearizable: 2 ops"* ]]
}

@test "lincheck: a read concurrent with a write may see either" {
	w 1 invoke write 1; w 2 invoke read null
	w 2 ok read '{"value":null,"version":0}'; w 1 ok write 1
	w 3 invoke read null; w 3 ok read '{"value":1,"version":1}'
	run -0 $lc "$h"
	: >"$h"
	w 1 invoke write 1; w 2 invoke read null
	w 2 ok read '{"value":1,"version":1}'; w 1 ok write 1
	run -0 $lc "$h"
}

@test "lincheck: a write whose outcome is unknown may or may not happen" {
	w 1 invoke write 1; w 1 info write 1
	w 2 invoke read null; w 2 ok read '{"value":1,"version":1}'
	run -0 $lc "$h"
	: >"$h"
	w 1 invoke write 1; w 1 info write 1
	w 2 invoke read null; w 2 ok read '{"value":null,"version":0}'
	run -0 $lc "$h"
}

@test "lincheck: a chain of compare-and-sets, and a failed one" {
	w 1 invoke cas '{"expect":0,"value":"a"}'; w 1 ok cas '{"expect":0,"value":"a"}'
	w 2 invoke cas '{"expect":0,"value":"b"}'; w 2 fail cas '{"expect":0,"value":"b"}'
	w 2 invoke cas '{"expect":1,"value":"b"}'; w 2 ok cas '{"expect":1,"value":"b"}'
	w 3 invoke read null; w 3 ok read '{"value":"b","version":2}'
	run -0 $lc "$h"
}

@test "lincheck: a stale read after a completed write is refused" {
	w 1 invoke write 1; w 1 ok write 1
	w 2 invoke read null; w 2 ok read '{"value":null,"version":0}'
	run -1 $lc "$h"
}

@test "lincheck: a read of a value never written is refused" {
	w 1 invoke write 1; w 1 ok write 1
	w 2 invoke read null; w 2 ok read '{"value":7,"version":1}'
	run -1 $lc "$h"
}

@test "lincheck: two compare-and-sets on one version both succeeding are refused" {
	w 1 invoke cas '{"expect":0,"value":"a"}'; w 2 invoke cas '{"expect":0,"value":"b"}'
	w 1 ok cas '{"expect":0,"value":"a"}'; w 2 ok cas '{"expect":0,"value":"b"}'
	run -1 $lc "$h"
}

@test "lincheck: a read that goes back in time is refused, a lost write too" {
	w 1 invoke write 1; w 1 ok write 1
	w 1 invoke write 2; w 1 ok write 2
	w 2 invoke read null; w 2 ok read '{"value":2,"version":2}'
	w 3 invoke read null; w 3 ok read '{"value":1,"version":1}'
	run -1 $lc "$h"
	: >"$h"
	w 1 invoke write 1; w 1 ok write 1
	w 1 invoke write 2; w 1 ok write 2
	w 2 invoke read null; w 2 ok read '{"value":1,"version":1}'
	run -1 $lc "$h"
}

@test "lincheck: a malformed history is 2, naming its line" {
	w 1 invoke write 1
	echo '{"proc":1,"type":' >>"$h"
	run -2 $lc "$h"
	[[ "$output" == *"h.jsonl:2:"* ]]
}

@test "lincheck: random histories of a true register pass, each mutated one fails" {
	run -0 timeout 120 python3 "$top/t/lincheckgen.py" selftest --seed 1 --count 60
}
