#!/usr/bin/env bats
# The seeded simulations of the consensus state machines (t/sim-*.c),
# a bounded number of seeds each; make sim runs many more.  A failing
# seed prints itself and the command that replays it.
bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	bin=${ZK_BIN:-$top/cmd}
	case $bin in /*) ;; *) bin=$top/$bin ;; esac
	sim=$(dirname "$bin")/t/sim-elect
	zab=$(dirname "$bin")/t/sim-zab
	[ -x "$sim" ] || skip "$sim not built (make testprogs)"
	[ -x "$zab" ] || skip "$zab not built (make testprogs)"
}

# sim-zab ARGS twice: the same output, which stays in $output
replays() {
	run -0 "$zab" "$@"
	local first=$output
	run -0 "$zab" "$@"
	[ "$output" = "$first" ]
}

@test "election: 3 voters, 3000 seeds of loss, delay, duplication, partitions, crashes" {
	run -0 "$sim" -n 3 -s 1 -c 3000
	[ "$output" = "sim-elect: 3000 seeds from 1 passed, 3 voters, 0 observers" ]
}

@test "election: 3 voters and an observer, 2000 seeds" {
	run -0 "$sim" -n 3 -o 1 -s 10001 -c 2000
	[ "$output" = "sim-elect: 2000 seeds from 10001 passed, 3 voters, 1 observers" ]
}

@test "election: 5 voters and 2 observers, 2000 seeds" {
	run -0 "$sim" -n 5 -o 2 -s 20001 -c 2000
	[ "$output" = "sim-elect: 2000 seeds from 20001 passed, 5 voters, 2 observers" ]
}

@test "election: a lone voter leads at once; a seed replays the same run" {
	run -0 "$sim" -n 1 -s 7 -c 20
	run -0 "$sim" -n 3 -o 1 -s 42 -c 1 -v
	first=$output
	run -0 "$sim" -n 3 -o 1 -s 42 -c 1 -v
	[ "$output" = "$first" ]
	[[ "$output" == *"ok: leader "* ]]
}

@test "sim-elect: usage" {
	run -64 "$sim" -x
	[[ "$output" == *"usage: sim-elect"* ]]
	run -64 "$sim" -n 0
}

@test "zab: 3 voters, 3000 seeds of loss, stalls, resets, partitions, crashes, power cuts" {
	run -0 "$zab" -n 3 -s 1 -c 3000
	[[ "$output" == "sim-zab: 3000 seeds from 1 passed, 3 voters, 0 observers, "*" txns committed, "*" handoffs ("*" stepped down), "*" leaders left (SIGTERM), "*" died writing an epoch, "*" reconfigs ("*" changed kind)" ]]
	[[ "$output" != *", 0 handoffs"* && "$output" != *"(0 stepped down)"* && "$output" != *", 0 leaders left"* ]]
	[[ "$output" != *", 0 died writing"* ]]
	[[ "$output" != *", 0 reconfigs"* && "$output" != *"(0 changed kind)"* ]]
}

@test "zab: 3 voters and an observer, 2000 seeds" {
	run -0 "$zab" -n 3 -o 1 -s 10001 -c 2000
	[[ "$output" == "sim-zab: 2000 seeds from 10001 passed, 3 voters, 1 observers, "*" txns committed, "*" handoffs ("*" stepped down), "*" leaders left (SIGTERM), "*" died writing an epoch, "*" reconfigs ("*" changed kind)" ]]
	[[ "$output" != *", 0 handoffs"* && "$output" != *"(0 stepped down)"* && "$output" != *", 0 leaders left"* ]]
	[[ "$output" != *", 0 died writing"* ]]
	[[ "$output" != *", 0 reconfigs"* && "$output" != *"(0 changed kind)"* ]]
}

@test "zab: 5 voters and 2 observers, 2000 seeds" {
	run -0 "$zab" -n 5 -o 2 -s 20001 -c 2000
	[[ "$output" == "sim-zab: 2000 seeds from 20001 passed, 5 voters, 2 observers, "*" txns committed, "*" handoffs ("*" stepped down), "*" leaders left (SIGTERM), "*" died writing an epoch, "*" reconfigs ("*" changed kind)" ]]
	[[ "$output" != *", 0 handoffs"* && "$output" != *"(0 stepped down)"* && "$output" != *", 0 leaders left"* ]]
	[[ "$output" != *", 0 died writing"* ]]
	[[ "$output" != *", 0 reconfigs"* && "$output" != *"(0 changed kind)"* ]]
}

@test "zab: a lone voter commits; a seed replays the same run, with every sync kind and SIGTERM to leaders, and one with reconfigs" {
	run -0 "$zab" -n 1 -s 7 -c 20
	replays -n 3 -o 1 -s 11 -c 1 -v
	[[ "$output" == *" snap epoch "* ]]
	[[ "$output" == *" diff epoch "* ]]
	[[ "$output" == *" trunc epoch "* ]]
	[[ "$output" == *" inform epoch "* ]]
	[[ "$output" == *" (SIGTERM)"* ]]
	[[ "$output" == *" leaves: it stepped down"* ]]
	[[ "$output" == *"ok: leader "* ]]
	# a seed with reconfigs replays the same too
	replays -n 3 -o 1 -s 10 -c 1 -v
	[[ "$output" == *" proposes the voters "* ]]
	[[ "$output" == *" takes the voters "* ]]
	[[ "$output" == *": it starts again"* ]]
}

@test "sim-zab: usage" {
	run -64 "$zab" -x
	[[ "$output" == *"usage: sim-zab"* ]]
}
