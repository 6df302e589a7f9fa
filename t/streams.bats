#!/usr/bin/env bats
# libzk/STREAMS.md is the contract between the programs, man/zk-streams.7
# its man page: t/streams.py checks that both name the same verbs and
# keys (see its comment for where it looks).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	chk=$top/t/streams.py
	md=$BATS_TEST_TMPDIR/STREAMS.md
	man=$BATS_TEST_TMPDIR/zk-streams.7
	cp "$top/libzk/STREAMS.md" "$md"
	cp "$top/man/zk-streams.7" "$man"
}

# compare the copies: pages STATUS, e.g. pages -1
pages() {
	run "$1" /usr/bin/python3 "$chk" "$md" "$man"
}

@test "streams: STREAMS.md and zk-streams(7) name the same verbs and keys" {
	run -0 /usr/bin/python3 "$chk"
	assert_output ""
	# and they are read: records of every stream are there
	run -0 /usr/bin/python3 "$chk" -l
	for f in STREAMS.md zk-streams.7; do
		assert_line --regexp "^$f verbs: .*hello .*r .*unsess( |\$)"
		assert_line --regexp "^$f keys: .*passwd .*session .*zxid( |\$)"
	done
}

@test "streams: each says STREAMS.md is the authoritative one" {
	run -0 grep -c 'This file is the authoritative contract' "$md"
	run -0 grep -A1 '^\.Pa libzk/STREAMS.md$' "$man"
	assert_line --partial "is the authoritative contract"
}

@test "streams: a record or a key on one page only fails" {
	# a display line gone from the man page: its verb is missing there
	sed -i '/^unsess session=0x1$/d' "$man"
	pages -1
	assert_output "verb unsess: in STREAMS.md, not in zk-streams.7"
	# a new record in a code block of STREAMS.md only
	cp "$top/man/zk-streams.7" "$man"
	sed -i 's/^    unsess session=0x1$/&\n    forget session=0x1 why=expired/' "$md"
	pages -1
	assert_line "verb forget: in STREAMS.md, not in zk-streams.7"
	assert_line "key why: in STREAMS.md, not in zk-streams.7"
	# a key in the man page's prose (.Cm) only
	cp "$top/libzk/STREAMS.md" "$md"
	sed -i 's/^\.Cm zxid=$/.Cm zxid= , term=/' "$man"
	pages -1
	assert_output "key term: in zk-streams.7, not in STREAMS.md"
	# a record in a .Ql only
	cp "$top/man/zk-streams.7" "$man"
	sed -i 's/^\.Sh EXAMPLES$/.Ql pong seq=1\n&/' "$man"
	pages -1
	assert_line "verb pong: in zk-streams.7, not in STREAMS.md"
	assert_line "key seq: in zk-streams.7, not in STREAMS.md"
}

@test "streams: the common-fields table and list are compared too" {
	sed -i 's/^| passwd |.*/&\n| term | the leader'"'"'s epoch |/' "$md"
	pages -1
	assert_output "key term: in STREAMS.md, not in zk-streams.7"
	sed -i 's/^Session password, 32 hex digits\.$/&\n.It Cm term\nThe leader'"'"'s epoch./' "$man"
	pages -0
}
