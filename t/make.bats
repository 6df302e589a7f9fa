#!/usr/bin/env bats
# The Makefile and t/deps.sh: what make run and make check install
# before they build.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	D=$BATS_TEST_TMPDIR
}

# fake dpkg-query (nothing installed), id (root) and apt-get (records
# its arguments in $D/apt) first on PATH
fakeapt() {
	mkdir -p "$D/bin"
	printf '#!/bin/sh\nexit 1\n' >"$D/bin/dpkg-query"
	printf '#!/bin/sh\necho 0\n' >"$D/bin/id"
	printf '#!/bin/sh\necho "$*" >>"%s/apt"\n' "$D" >"$D/bin/apt-get"
	chmod +x "$D/bin/dpkg-query" "$D/bin/id" "$D/bin/apt-get"
}

@test "make run: installs the build's packages before it builds anything" {
	cd "$TOP"
	run -0 make --no-print-directory -n B="$D/b" run
	assert_line --index 0 --partial 'sh t/deps.sh build'
	assert_line --regexp ' -c -o .*cmd/cli/main\.o cmd/cli/main\.c$'
	deps=$(grep -n 't/deps.sh build' <<<"$output" | head -n 1 | cut -d: -f1)
	cc=$(grep -n ' -c -o ' <<<"$output" | head -n 1 | cut -d: -f1)
	[ "$deps" -lt "$cc" ]
	assert_equal "${lines[-1]}" cmd/zk-node
}

@test "t/deps.sh build: only what the build needs; t/deps.sh: that and the tests' packages" {
	fakeapt
	run -0 env PATH="$D/bin:$PATH" sh "$TOP/t/deps.sh" build
	run -0 grep '^install ' "$D/apt"
	for p in build-essential libbsd-dev libmd-dev libzstd-dev libedit-dev; do
		assert_output --partial " $p"
	done
	refute_output --partial bats
	refute_output --partial zookeeper
	rm "$D/apt"
	run -0 env PATH="$D/bin:$PATH" sh "$TOP/t/deps.sh"
	run -0 grep '^install ' "$D/apt"
	for p in libedit-dev libzstd-dev bats zookeeper valgrind; do
		assert_output --partial " $p"
	done
	run -64 sh "$TOP/t/deps.sh" nonsense
}
