#!/usr/bin/env bats
# zk-cli: every command, every exit status of zk-cli(1), bad input,
# against a real node started on a free port for the file.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

setup_file() {
	node_start "$BATS_FILE_TMPDIR/node" extendedTypesEnabled=true
}

teardown_file() {
	node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
}

setup() {
	CLI="$ZK_BIN/zk-cli"
	D=$BATS_TEST_TMPDIR
	# every test works under its own directory node
	T=/t$BATS_TEST_NUMBER
	"$CLI" create "$T" >/dev/null
}

teardown() {
	bgkill
}



# ---- create / get / set / ls / rm: the plain forms

@test "create PATH DATA prints the path; get prints the data and nothing else" {
	run -0 "$CLI" create "$T/a" hello
	assert_output "$T/a"
	run -0 --separate-stderr "$CLI" get "$T/a"
	[ "$output" = hello ]
	[ -z "$stderr" ]
	# no newline added: the bytes are the bytes
	[ "$("$CLI" get "$T/a" | od -An -c | tr -d ' \n')" = hello ]
}

@test "create without data: an empty node; binary data through stdin" {
	run -0 "$CLI" create "$T/e"
	run -0 "$CLI" get "$T/e"
	assert_output ""
	printf 'a\000b\nc' >"$D/bin"
	run -0 "$CLI" create "$T/b" - <"$D/bin"
	"$CLI" get "$T/b" >"$D/back"
	cmp "$D/bin" "$D/back"
}

@test "create: exit 2 when the node exists, 1 without a parent" {
	"$CLI" create "$T/a" x >/dev/null
	run -2 --separate-stderr "$CLI" create "$T/a" y
	[ "$stderr" = "zk-cli: $T/a: node exists" ]
	run -1 --separate-stderr "$CLI" create "$T/no/parent" y
	[ "$stderr" = "zk-cli: $T/no/parent: no node" ]
	run -0 "$CLI" get "$T/a"
	assert_output x
}

@test "create -p makes the ancestors" {
	run -0 "$CLI" create -p "$T/x/y/z" deep
	assert_output "$T/x/y/z"
	run -0 "$CLI" get "$T/x/y/z"
	assert_output deep
	run -0 "$CLI" create -p "$T/x/y/w"
}

@test "create -s appends a sequence number, -e is gone with the session" {
	run -0 "$CLI" create -s "$T/q-" a
	assert_output "$T/q-0000000000"
	run -0 "$CLI" create -s "$T/q-" b
	assert_output "$T/q-0000000001"
	run -0 "$CLI" create -e "$T/eph" x
	run -1 "$CLI" stat "$T/eph"
	run -0 "$CLI" create -e -s "$T/es-" x
	assert_output "$T/es-0000000003"
}

@test "create -c makes a container, -t a TTL node" {
	run -0 "$CLI" create -c "$T/c"
	run -0 "$CLI" create -t 60000 "$T/ttl" x
	run -0 "$CLI" create -s -t 60000 "$T/ttls-" x
	assert_output "$T/ttls-0000000002"
	run -64 "$CLI" create -c -e "$T/bad"
	run -64 "$CLI" create -c -s "$T/bad"
	run -64 "$CLI" create -t 0 "$T/bad"
	run -64 "$CLI" create -t soon "$T/bad"
}

@test "create -a sets the ACL; a bad ACL is a usage error" {
	run -0 "$CLI" create -a world:anyone:r "$T/ro" x
	run -0 "$CLI" getacl "$T/ro"
	assert_output world:anyone:r
	run -64 "$CLI" create -a world:anyone "$T/bad" x
	run -64 "$CLI" create -a world:anyone:rx "$T/bad" x
	run -1 "$CLI" stat "$T/bad"
}

@test "set replaces the data; -v checks the version (exit 3)" {
	"$CLI" create "$T/a" one >/dev/null
	run -0 --separate-stderr "$CLI" set "$T/a" two
	[ -z "$output" ]
	run -0 "$CLI" get "$T/a"
	assert_output two
	run -3 --separate-stderr "$CLI" set -v 0 "$T/a" three
	[ "$stderr" = "zk-cli: $T/a: bad version" ]
	run -0 "$CLI" set -v 1 "$T/a" three
	run -0 "$CLI" get "$T/a"
	assert_output three
	run -1 "$CLI" set "$T/none" x
	run -64 "$CLI" set "$T/a"
	run -64 "$CLI" set -v x "$T/a" y
	echo piped | "$CLI" set "$T/a" -
	run -0 "$CLI" get "$T/a"
	assert_output piped
}

@test "ls prints one child per line, sorted; -R the whole subtree" {
	for n in b a c; do "$CLI" create "$T/$n" >/dev/null; done
	"$CLI" create "$T/a/x" >/dev/null
	run -0 "$CLI" ls "$T"
	assert_output "$(printf 'a\nb\nc')"
	run -0 "$CLI" ls "$T/c"
	assert_output ""
	run -0 "$CLI" ls -R "$T"
	assert_output "$(printf '%s\n' "$T" "$T/a" "$T/a/x" "$T/b" "$T/c")"
	run -1 "$CLI" ls "$T/none"
	run -1 "$CLI" ls -R "$T/none"
}

@test "rm deletes; exit 5 when it has children, 3 at a wrong version, 1 when absent" {
	"$CLI" create -p "$T/a/b" >/dev/null
	run -5 --separate-stderr "$CLI" rm "$T/a"
	[ "$stderr" = "zk-cli: $T/a: not empty" ]
	run -3 "$CLI" rm -v 7 "$T/a/b"
	run -0 "$CLI" rm -v 0 "$T/a/b"
	run -0 "$CLI" rm "$T/a"
	run -1 "$CLI" rm "$T/a"
	run -64 "$CLI" rm -R -v 1 "$T"
}

@test "rm -R deletes a subtree" {
	"$CLI" create -p "$T/s/a/b/c" >/dev/null
	"$CLI" create -p "$T/s/d" >/dev/null
	run -0 "$CLI" rm -R "$T/s"
	run -1 "$CLI" stat "$T/s"
	run -0 "$CLI" ls "$T"
	assert_output ""
	run -1 "$CLI" rm -R "$T/s"
}

@test "stat prints name=value lines; -j JSON" {
	"$CLI" create "$T/a" hello >/dev/null
	run -0 "$CLI" stat "$T/a"
	assert_line version=0
	assert_line dataLength=5
	assert_line numChildren=0
	assert_line --regexp '^czxid=0x[0-9a-f]+$'
	[ "${#lines[@]}" -eq 11 ]
	run -0 "$CLI" stat -j "$T/a"
	echo "$output" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["dataLength"] == 5 and s["version"] == 0, s'
	run -1 "$CLI" stat "$T/none"
}

@test "get -j and ls -j are JSON; -e escapes values" {
	"$CLI" create "$T/a" "$(printf 'two words\nand "quotes"')" >/dev/null
	"$CLI" create "$T/a b" >/dev/null
	run -0 "$CLI" get -j "$T/a"
	echo "$output" | /usr/bin/python3 -c '
import json, sys
g = json.load(sys.stdin)
assert g["data"] == "two words\nand \"quotes\"", g
assert g["stat"]["dataLength"] == 22, g'
	run -0 "$CLI" ls -j "$T"
	assert_output '["a","a b"]'
	run -0 "$CLI" get -e "$T/a"
	assert_output 'two\swords\nand\s"quotes"'
	run -0 "$CLI" ls -e "$T"
	assert_output "$(printf 'a\na\\sb')"
	run -0 "$CLI" --json ls -R "$T"
	assert_output "[\"$T\",\"$T/a\",\"$T/a b\"]"
}

@test "-e reads escaped data back; a bad escape exits 65" {
	run -0 "$CLI" -e create "$T/a" 'x\sy\n'
	[ "$("$CLI" get "$T/a" | od -An -c | tr -d ' ')" = 'xy\n' ] ||
	    [ "$("$CLI" get -e "$T/a")" = 'x\sy\n' ]
	run -0 "$CLI" get -e "$T/a"
	assert_output 'x\sy\n'
	run -65 "$CLI" -e set "$T/a" 'bad\'
}

@test "getacl and setacl; exit 4 without permission, 3 at a wrong aversion" {
	"$CLI" create "$T/a" x >/dev/null
	run -0 "$CLI" getacl "$T/a"
	assert_output world:anyone:cdrwa
	run -0 "$CLI" getacl -j "$T/a"
	assert_output '[{"scheme":"world","id":"anyone","perms":"cdrwa"}]'
	run -3 "$CLI" setacl -v 5 "$T/a" world:anyone:r
	run -0 "$CLI" setacl -v 0 "$T/a" world:anyone:r,ip:127.0.0.1:cdrwa
	run -0 "$CLI" getacl "$T/a"
	assert_output "$(printf 'world:anyone:r\nip:127.0.0.1:cdrwa')"
	run -0 "$CLI" setacl "$T/a" world:anyone:r
	run -4 --separate-stderr "$CLI" set "$T/a" y
	[ "$stderr" = "zk-cli: $T/a: not authorized" ]
	run -1 "$CLI" getacl "$T/none"
	run -64 "$CLI" setacl "$T/a" nonsense
	run -64 "$CLI" setacl "$T/a"
}

@test "setacl: exit 6 for an invalid ACL" {
	"$CLI" create "$T/a" x >/dev/null
	run -6 --separate-stderr "$CLI" setacl "$T/a" digest:nocolon:r
	[ "$stderr" = "zk-cli: $T/a: invalid ACL" ]
}

@test "addauth and -a: digest ids, exit 4 when refused" {
	run -0 "$CLI" addauth digest bob:secret
	run -0 "$CLI" -a digest:bob:secret create -a auth::cdrwa "$T/s" x
	run -4 "$CLI" get "$T/s"
	run -4 "$CLI" -a digest:eve:guess get "$T/s"
	run -0 "$CLI" -a digest:bob:secret get "$T/s"
	assert_output x
	run -0 "$CLI" -a digest:bob:secret getacl "$T/s"
	assert_output --regexp '^digest:bob:.*:cdrwa$'
	run -4 "$CLI" addauth nosuchscheme x
	run -4 "$CLI" -a nosuchscheme:x ls /
	run -64 "$CLI" addauth digest
	run -64 "$CLI" -a nocolon ls /
}

@test "sync" {
	run -0 --separate-stderr "$CLI" sync "$T"
	[ -z "$output" ]
	run -64 "$CLI" sync
	run -64 "$CLI" sync relative
}

@test "exit 7: the server refuses the arguments" {
	run -7 "$CLI" rm /zookeeper
}

@test "rm /: a usage error (64, as zk-cli(1) says), nothing sent" {
	run -64 --separate-stderr "$CLI" -z 127.0.0.1:1 rm /
	[ "$stderr" = "zk-cli: /: the root node cannot be removed" ]
}

@test "get on a terminal ends the value with a newline; in a pipe it adds none" {
	"$CLI" create "$T/a" hello >/dev/null
	script -qec "$CLI get $T/a" /dev/null >"$D/tty"
	run -0 od -An -c "$D/tty"
	assert_output --regexp '^ +h +e +l +l +o +\\r +\\n$'
	[ "$("$CLI" get "$T/a" | wc -c)" -eq 5 ]
}

@test "exit 8: no children for an ephemeral (interactive, one session)" {
	run -8 --separate-stderr "$CLI" <<EOT
create -e $T/e
create $T/e/child
EOT
	assert_output "$T/e"
	[ "$stderr" = "zk-cli: $T/e/child: ephemeral nodes may not have children" ]
}

@test "exit 9: another server error (TTL nodes disabled)" {
	local p=$PORT
	node_start "$D/n2"
	run -9 --separate-stderr "$CLI" -z "127.0.0.1:$PORT" create -t 1000 /ttl x
	[ "$stderr" = "zk-cli: /ttl: unimplemented" ]
	node_stop
	PORT=$p
}

@test "config: empty on a standalone node; reconfig there is refused (reconfigEnabled off: exit 9), a bad -v or no change is a usage error" {
	run -0 "$CLI" -z "127.0.0.1:$PORT" config
	assert_output ""
	run -9 --separate-stderr "$CLI" -z "127.0.0.1:$PORT" reconfig -remove 3
	[ "$stderr" = "zk-cli: reconfig: reconfig is disabled (reconfigEnabled)" ]
	run -64 "$CLI" -z "127.0.0.1:$PORT" reconfig -v zz -remove 3
	run -64 "$CLI" -z "127.0.0.1:$PORT" reconfig -s
	run -64 "$CLI" -z "127.0.0.1:$PORT" reconfig -members server.1=a:1:2 -add server.2=b:1:2
}

# ---- watch, wait-for

@test "watch prints one line per event and sets the watches again" {
	bg w "$CLI" watch -n 4 "$T/w"
	watching "$T/w"
	"$CLI" create "$T/w" 1 >/dev/null
	lines "$D/w.out" 1
	watching "$T/w"
	"$CLI" set "$T/w" 2
	lines "$D/w.out" 2
	"$CLI" create "$T/w/c" >/dev/null
	lines "$D/w.out" 3
	"$CLI" rm "$T/w/c"
	wait "$(cat "$D/w.bgpid")"
	run cat "$D/w.out"
	assert_output "$(printf '%s\n' "created $T/w" "changed $T/w" "child $T/w" "child $T/w")"
}

@test "watch -R: a persistent recursive watch; -j lines" {
	bg w "$CLI" watch -R -j -n 3 "$T"
	watching "$T"
	bg w2 "$CLI" watch -i -p "$T/a"
	lines "$D/w2.out" 1
	run cat "$D/w2.out"
	assert_output "ready $T/a"
	"$CLI" create -p "$T/a/b" x >/dev/null
	"$CLI" rm "$T/a/b"
	wait "$(cat "$D/w.bgpid")"
	run cat "$D/w.out"
	assert_output "$(printf '%s\n' "{\"type\":\"created\",\"path\":\"$T/a\"}" \
	    "{\"type\":\"created\",\"path\":\"$T/a/b\"}" \
	    "{\"type\":\"deleted\",\"path\":\"$T/a/b\"}")"
}

@test "watch -p: a persistent watch on the node and its children; SIGINT ends it with 0" {
	"$CLI" create "$T/p" >/dev/null
	bg w "$CLI" watch -p "$T/p"
	watching "$T/p"
	"$CLI" set "$T/p" 1
	"$CLI" set "$T/p" 2
	"$CLI" create "$T/p/c" >/dev/null
	lines "$D/w.out" 3
	kill -INT "$(cat "$D/w.bgpid")"
	waitbg w
	[ "$status" -eq 0 ]
	run cat "$D/w.out"
	assert_output "$(printf '%s\n' "changed $T/p" "changed $T/p" "child $T/p")"
	run -64 "$CLI" watch
	run -64 "$CLI" watch -n 0 "$T/p"
}

@test "wait-for exits once the node exists; -d once it is gone; 75 at the deadline" {
	run -0 "$CLI" wait-for "$T"
	run -0 "$CLI" wait-for -d "$T/none"
	bg wf "$CLI" wait-for "$T/later"
	watching "$T/later"
	"$CLI" create "$T/later" >/dev/null
	waitbg wf
	[ "$status" -eq 0 ]
	run -75 --separate-stderr "$CLI" wait-for -w 1 "$T/never"
	[ "$stderr" = "zk-cli: $T/never: timed out" ]
	run -75 "$CLI" wait-for -d -w 0 "$T"
	run -64 "$CLI" wait-for -w x "$T"
}

# ---- lock, elect

@test "lock runs the command holding the lock and exits with its status" {
	run -0 "$CLI" lock "$T/l" -- sh -c 'echo held'
	assert_output held
	run -3 "$CLI" lock "$T/l" -- sh -c 'exit 3'
	run -0 "$CLI" ls "$T/l"
	assert_output ""
	run -127 "$CLI" lock "$T/l" -- /nonexistent/program
	run -64 "$CLI" lock "$T/l"
	run -64 "$CLI" lock "$T/l" --
}

@test "lock: one holder at a time; -n and -w give up with 75" {
	mkfifo "$D/go"
	bg h "$CLI" lock "$T/l" -- sh -c "echo in; read x <'$D/go'; echo out"
	lines "$D/h.out" 1
	run -75 --separate-stderr "$CLI" lock -n "$T/l" -- echo no
	[ "$stderr" = "zk-cli: $T/l: held by another" ]
	run -75 "$CLI" lock -w 1 "$T/l" -- echo no
	bg second "$CLI" lock "$T/l" -- echo second
	# the second waits on the first's node
	for i in $(seq 100); do
		[ "$("$CLI" ls "$T/l" | wc -l)" -eq 2 ] && break
		sleep 0.1
	done
	[ ! -s "$D/second.out" ]
	echo go >"$D/go"
	wait "$(cat "$D/second.bgpid")"
	run cat "$D/h.out" "$D/second.out"
	assert_output "$(printf 'in\nout\nsecond')"
}

@test "elect: the lowest candidate runs; its command stops when mastership is lost (69)" {
	bg m1 "$CLI" elect "$T/e" -- sh -c 'echo m1; exec sleep 60'
	lines "$D/m1.out" 1
	bg m2 "$CLI" elect "$T/e" -- sh -c 'echo m2; exec sleep 60'
	for i in $(seq 100); do
		[ "$("$CLI" ls "$T/e" | wc -l)" -eq 2 ] && break
		sleep 0.1
	done
	[ ! -s "$D/m2.out" ]
	first=$("$CLI" ls "$T/e" | head -n 1)
	run -0 "$CLI" get "$T/e/$first"
	assert_output --regexp ":$(cat "$D/m1.bgpid")\$"
	"$CLI" rm "$T/e/$first"
	waitbg m1
	[ "$status" -eq 69 ]
	grep -q 'deleted by someone' "$D/m1.err"
	lines "$D/m2.out" 1
	run cat "$D/m2.out"
	assert_output m2
	run -64 "$CLI" elect "$T/e"
}

# ---- interactive mode

@test "interactive: commands from stdin share one session; exit is the last status" {
	run -0 "$CLI" <<EOT
# a comment
create -e $T/i "two words"
get $T/i
ls $T
help
EOT
	assert_line --index 0 "$T/i"
	assert_line --index 1 "two words"
	assert_line --index 2 i
	assert_line --partial "watch [-eijpR]"
	run -1 "$CLI" stat "$T/i"
	run -1 "$CLI" <<EOT
get $T/none
EOT
	run -64 "$CLI" <<EOT
nosuchcommand
EOT
	run -0 "$CLI" <<EOT
get $T/none
get $T
quit
get $T/none
EOT
}

@test "interactive: an idle prompt keeps the session, and its ephemerals, alive" {
	# 4 s sessions; the prompt sits idle 7 s before its next command
	run -0 bash -c '{ echo "create -e $1/alive x"; sleep 7;
	    echo "get $1/alive"; } | "$0" -S 4000' "$CLI" "$T"
	assert_line --index 0 "$T/alive"
	assert_line --index 1 "x"
}

# ---- usage and the server list

@test "usage: exit 64 for bad options, missing or extra arguments, bad paths" {
	run -64 "$CLI" -h
	assert_output --partial "usage: zk-cli"
	run -64 "$CLI" -x ls /
	run -64 "$CLI" nosuchcommand
	run -64 "$CLI" get
	run -64 "$CLI" get / /
	run -64 "$CLI" ls
	run -64 "$CLI" stat
	run -64 "$CLI" create
	run -64 "$CLI" rm
	run -64 "$CLI" getacl
	for p in relative /trailing/ //double /a/./b /a/../b; do
		run -64 --separate-stderr "$CLI" get "$p"
		[[ "$stderr" == "zk-cli: bad path: $p: "* ]]
	done
	run -64 "$CLI" -t 0 ls /
	run -64 "$CLI" -S x ls /
	run -64 "$CLI" -z 127.0.0.1:2181:junk ls /
	run -64 "$CLI" -z '[::1' ls /
}

@test "-z tries servers in order; ZK_HOSTS is the default" {
	local dead
	dead=$(freeport)
	run -0 "$CLI" -z "127.0.0.1:$dead,127.0.0.1:$PORT" ls "$T"
	run -0 env ZK_HOSTS="127.0.0.1:$PORT" "$CLI" ls "$T"
}

@test "unreachable: a clear message and 69, promptly" {
	local dead
	dead=$(freeport)
	run -69 --separate-stderr timeout 20 "$CLI" -z "127.0.0.1:$dead" get /
	[ "$stderr" = "zk-cli: 127.0.0.1:$dead: cannot connect: connection refused (no server listening there)" ]
	[ -z "$output" ]
	run -69 timeout 20 env ZK_HOSTS="127.0.0.1:$dead" "$CLI" ls /
}

# fakeserver NAME 'python' : a server on a free port (in $D/NAME.port)
# that runs python on each connection c it accepts
fakeserver() {
	/usr/bin/python3 -c "
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    $2" >"$D/$1.port" 3>&- &
	echo $! >"$D/$1.bgpid"
	lines "$D/$1.port" 1
}

@test "a server that closes during the handshake: 69, said so, not 'refused'" {
	fakeserver closer 'c.recv(4096); c.close()'
	run -69 --separate-stderr timeout 30 "$CLI" -z "127.0.0.1:$(cat "$D/closer.port")" ls /
	[ "$stderr" = "zk-cli: 127.0.0.1:$(cat "$D/closer.port"): the server closed the connection while opening the session (its log says why)" ]
}

@test "a server that never answers: 69 after the connect timeout, no hang" {
	fakeserver mute 'time.sleep(60)'
	run -69 --separate-stderr timeout 30 "$CLI" -t 1 -z "127.0.0.1:$(cat "$D/mute.port")" ls /
	[ "$stderr" = "zk-cli: 127.0.0.1:$(cat "$D/mute.port"): cannot connect: no answer within 1 s" ]
}

@test "connection lost while watching: 69" {
	local p=$PORT
	node_start "$D/n2"
	bg w "$CLI" watch /gone
	watching /gone
	node_stop
	waitbg w
	[ "$status" -eq 69 ]
	grep -q 'connection lost' "$D/w.err"
	PORT=$p
}

@test "stdout that cannot be written: 74" {
	"$CLI" create "$T/a" data >/dev/null
	run bash -c "'$CLI' get '$T/a' >/dev/full"
	[ "$status" -eq 74 ]
}

@test "handoff: a standalone node is no ensemble: 9, and says so; nothing listening: 69" {
	run -9 --separate-stderr "$CLI" handoff
	[ "$output" = "" ]
	[[ "$stderr" == "zk-cli: "*": not in an ensemble" ]]
	port=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py")
	run -69 --separate-stderr "$CLI" -t 1 -z "127.0.0.1:$port" handoff
	[[ "$stderr" == "zk-cli: 127.0.0.1:$port: "* ]]
	run -64 "$CLI" handoff extra
}
