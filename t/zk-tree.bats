#!/usr/bin/env bats
# zk-tree driven over its socket: this file plays zk-log and zk-gate.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer	# reap

BIN=${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}

setup_file() {
	cat >"$BATS_FILE_TMPDIR/drive.py" <<'PY'
# drive zk-tree: read commands on stdin, print what comes back.
#   L <line>   send to the log connection      G <line>  to the gate
#   S <line>   to the sessiond connection      gate | sess  connect (hello)
#   sleep MS   wait                            expect-log  print one line zk-tree wrote to the log
#   gateshm    connect as a gate that maps the ring (hello role=shm on a
#              connection of its own for the fd, then hello shm=1)
#   ring POS LEN   print the distinct bytes of that region of the ring
#   release END    as the gate does: done with the ring before END
#   zxid       print the zxid zk-tree says in the ring's header it applied
# After every command a `stats` barrier on the gate makes output ordered.
import socket, sys, time, select, mmap
sock = sys.argv[1] + '/tree.sock'
conns = {}
ring = None
def connect(role, extra=b''):
    s = socket.socket(socket.AF_UNIX)
    for _ in range(200):
        try:
            s.connect(sock); break
        except OSError:
            time.sleep(0.02)
    s.sendall(b'hello role=' + role.encode() + extra + b'\n')
    conns[role] = [s, b'']
def readline(role, timeout=3.0):
    c = conns[role]
    end = time.time() + timeout
    while b'\n' not in c[1]:
        r, _, _ = select.select([c[0]], [], [], max(0, end - time.time()))
        if not r:
            return None
        d = c[0].recv(65536)
        if not d:
            return None
        c[1] += d
    line, c[1] = c[1].split(b'\n', 1)
    return line.decode('latin-1')
def drain(role, timeout):
    while True:
        l = readline(role, timeout)
        if l is None:
            return
        print(role[0].upper() + '> ' + l)
def barrier():
    if 'gate' in conns:
        conns['gate'][0].sendall(b'stats\n')
        while True:
            l = readline('gate')
            if l is None or l.startswith('stats '):
                break
            print('G> ' + l)
    if 'sessiond' in conns:
        drain('sessiond', 0.05)
connect('log')
loaded = readline('log')
if loaded is None or not loaded.startswith('loaded zxid='):
    print('no loaded line: ' + str(loaded))
ready = False
for cmd in sys.stdin:
    cmd = cmd.rstrip('\n')
    if not cmd or cmd.startswith('#'):
        continue
    k, _, rest = cmd.partition(' ')
    if k == 'L':
        conns['log'][0].sendall(rest.encode() + b'\n')
    elif k == 'G':
        conns['gate'][0].sendall(rest.encode() + b'\n')
    elif k == 'S':
        conns['sessiond'][0].sendall(rest.encode() + b'\n')
    elif k == 'gate':
        connect('gate'); print('G> ' + str(readline('gate'))); continue
    elif k == 'gateshm':
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b'hello role=shm\n')
        msg, fds, _, _ = socket.recv_fds(s, 64, 1)
        print('shm> ' + msg.decode().strip() + ' fds=%d' % len(fds))
        ring = mmap.mmap(fds[0], 0)
        connect('gate', b' shm=1'); print('G> ' + str(readline('gate'))); continue
    elif k == 'sess':
        connect('sessiond'); continue
    elif k == 'ring':
        pos, n = map(int, rest.split())
        size = len(ring) - 4096
        d = ring[4096 + pos % size:4096 + pos % size + n]
        print('ring %d %s' % (len(d), sorted(set(d)))); continue
    elif k == 'release':
        ring[64:72] = int(rest).to_bytes(8, 'little')
        continue
    elif k == 'zxid':
        barrier()
        print('zxid 0x%x' % int.from_bytes(ring[128:136], 'little', signed=True))
        continue
    elif k == 'sleep':
        time.sleep(int(rest) / 1000.0)
    elif k == 'expect-log':
        l = readline('log', 5.0)
        print('L> ' + str(l))
    elif k == 'raw':	# print gate lines without barrier
        drain('gate', float(rest or 0.3)); continue
    barrier()
PY
}

setup() {
	D=$BATS_TEST_TMPDIR
	printf 'dataDir=%s\nextendedTypesEnabled=true\nznode.container.checkIntervalMs=200\n' \
	    "$D" >"$D/zoo.cfg"
	"$BIN/zk-tree" -c "$D/zoo.cfg" -r "$D" 2>"$D/stderr" &
	PID=$!
}

# stop the zk-tree at $PID (reap: a TERM lost before its exec is
# followed by KILL)
stoptree() {
	reap "$PID"
}

teardown() {
	stoptree
}

# drive <<script: the log says ready, the gate connects, two sessions exist
drive() {
	{
		printf 'L ready zxid=0x0\n%s\n' "${GATE:-gate}"
		printf 'L createSession zxid=0x1 time=1 session=0x1 xid=0 timeout=10000 passwd=00ff\n'
		printf 'L createSession zxid=0x2 time=1 session=0x2 xid=0 timeout=10000 passwd=00ff\n'
		cat
	} | /usr/bin/python3 "$BATS_FILE_TMPDIR/drive.py" "$D"
}

A='acl=31:world:anyone'

@test "zk-tree: usage and bad config exit statuses" {
	run -64 "$BIN/zk-tree"
	assert_output --partial 'usage: zk-tree [-d] -c zoo.cfg -r rundir'
	run -78 "$BIN/zk-tree" -c /nonexistent/zoo.cfg -r "$BATS_TEST_TMPDIR"
}

@test "zk-tree: exits 75 when the log connection closes" {
	drive </dev/null
	rc=0
	wait "$PID" || rc=$?	# not under run: zk-tree is this shell's child
	assert_equal "$rc" 75
	grep -q 'log connection closed' "$D/stderr"
}

@test "zk-tree: initial tree" {
	run drive <<-EOF
	G getData session=0x1 xid=1 path=/
	G getChildren2 session=0x1 xid=2 path=/zookeeper
	G getACL session=0x1 xid=3 path=/zookeeper/config
	L delete zxid=0x3 time=2 session=0x1 xid=4 path=/zookeeper/quota version=-1
	G stats
	EOF
	assert_line 'G> ready zxid=0x0'
	assert_line 'G> r session=0x1 xid=1 zxid=0x2 err=0 data= stat=0x0,0x0,0,0,0,-1,0,0x0,0,1,0x0'
	assert_line 'G> r session=0x1 xid=2 zxid=0x2 err=0 child=config child=quota stat=0x0,0x0,0,0,0,-2,0,0x0,0,2,0x0'
	assert_line 'G> r session=0x1 xid=3 zxid=0x2 err=0 acl=1:world:anyone stat=0x0,0x0,0,0,0,0,-1,0x0,0,0,0x0'
	assert_line 'G> r session=0x1 xid=4 zxid=0x3 err=-8'
}

@test "zk-tree: create, get, set, delete and their stats" {
	run drive <<-EOF
	L create zxid=0x3 time=1000 session=0x1 xid=1 path=/a data=hi $A flags=0
	L create2 zxid=0x4 time=1001 session=0x1 xid=2 path=/n $A flags=0
	G getData session=0x1 xid=3 path=/n
	L setData zxid=0x5 time=1002 session=0x1 xid=4 path=/a data=yo version=0
	L setData zxid=0x6 time=1003 session=0x1 xid=5 path=/a data=no version=0
	G getData session=0x1 xid=6 path=/a
	L delete zxid=0x7 time=1004 session=0x1 xid=7 path=/a version=1
	L create zxid=0x8 time=1005 session=0x1 xid=8 path=/n $A flags=0
	L create zxid=0x9 time=1006 session=0x7 xid=9 path=/x $A flags=0
	G exists session=0x1 xid=10 path=/a
	G getData session=0x1 xid=11 path=/
	EOF
	assert_line 'G> r session=0x1 xid=1 zxid=0x3 err=0 path=/a'
	assert_line 'G> r session=0x1 xid=2 zxid=0x4 err=0 path=/n stat=0x4,0x4,1001,1001,0,0,0,0x0,0,0,0x4'
	assert_line 'G> r session=0x1 xid=3 zxid=0x4 err=0 stat=0x4,0x4,1001,1001,0,0,0,0x0,0,0,0x4'
	assert_line 'G> r session=0x1 xid=4 zxid=0x5 err=0 stat=0x3,0x5,1000,1002,1,0,0,0x0,2,0,0x3'
	assert_line 'G> r session=0x1 xid=5 zxid=0x6 err=-103'
	assert_line 'G> r session=0x1 xid=6 zxid=0x6 err=0 data=yo stat=0x3,0x5,1000,1002,1,0,0,0x0,2,0,0x3'
	assert_line 'G> r session=0x1 xid=7 zxid=0x7 err=0'
	assert_line 'G> r session=0x1 xid=8 zxid=0x8 err=-110'
	assert_line 'G> r session=0x7 xid=9 zxid=0x9 err=-112'
	assert_line 'G> r session=0x1 xid=10 zxid=0x9 err=-101'
	# root: 2 creates and 1 delete since cversion -1, pzxid of the delete
	assert_line 'G> r session=0x1 xid=11 zxid=0x9 err=0 data= stat=0x0,0x0,0,0,0,2,0,0x0,0,2,0x7'
}

@test "zk-tree: sequential names and cversion" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/s $A flags=0
	L create zxid=0x4 time=1 session=0x1 xid=2 path=/s/n- $A flags=2
	L create zxid=0x5 time=1 session=0x1 xid=3 path=/s/n- $A flags=2
	L delete zxid=0x6 time=1 session=0x1 xid=4 path=/s/n-0000000000 version=-1
	L create zxid=0x7 time=1 session=0x1 xid=5 path=/s/ $A flags=2
	G getChildren2 session=0x1 xid=6 path=/s
	EOF
	assert_line 'G> r session=0x1 xid=2 zxid=0x4 err=0 path=/s/n-0000000000'
	assert_line 'G> r session=0x1 xid=3 zxid=0x5 err=0 path=/s/n-0000000001'
	assert_line 'G> r session=0x1 xid=5 zxid=0x7 err=0 path=/s/0000000002'
	assert_line 'G> r session=0x1 xid=6 zxid=0x7 err=0 child=0000000002 child=n-0000000001 stat=0x3,0x3,1,1,0,4,0,0x0,0,2,0x7'
}

@test "zk-tree: ephemerals go with closeSession, watchers see it" {
	run drive <<-EOF
	sess
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/e $A flags=1
	L create zxid=0x4 time=1 session=0x1 xid=2 path=/e/x $A flags=0
	G getEphemerals session=0x1 xid=3 path=/
	G exists session=0x2 xid=4 path=/e watch=1
	G getChildren session=0x2 xid=5 path=/ watch=1
	L closeSession zxid=0x5 time=1 session=0x1 xid=6
	L create zxid=0x6 time=1 session=0x1 xid=7 path=/f $A flags=0
	EOF
	assert_line 'S> sess session=0x2 timeout=10000 passwd=00ff'
	assert_line 'G> r session=0x1 xid=1 zxid=0x3 err=0 path=/e'
	assert_line 'G> r session=0x1 xid=2 zxid=0x4 err=-108'
	assert_line 'G> r session=0x1 xid=3 zxid=0x4 err=0 child=/e'
	assert_line 'G> r session=0x2 xid=4 zxid=0x4 err=0 stat=0x3,0x3,1,1,0,0,0,0x1,0,0,0x3'
		assert_line -n 11 'G> ev session=0x2 type=2 path=/e'
		assert_line -n 12 'G> ev session=0x2 type=4 path=/'
		assert_line -n 13 'G> r session=0x1 xid=6 zxid=0x5 err=0'
		assert_line -n 14 'G> closed session=0x1'
	assert_line 'S> unsess session=0x1'
	assert_line 'G> r session=0x1 xid=7 zxid=0x6 err=-112'
}

@test "zk-tree: ACL checks and fix-up" {
	dig='digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E='
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 auth=ip:127.0.0.1 auth=$dig path=/p acl=31:auth: flags=0
	G getACL session=0x1 xid=2 auth=ip:127.0.0.1 auth=$dig path=/p
	G getData session=0x2 xid=3 auth=ip:127.0.0.1 path=/p
	G getData session=0x2 xid=4 auth=ip:127.0.0.1 auth=super: path=/p
	L create zxid=0x4 time=1 session=0x2 xid=5 auth=ip:127.0.0.1 path=/q acl=31:auth: flags=0
	L create zxid=0x5 time=1 session=0x2 xid=6 auth=ip:127.0.0.1 path=/q acl=31:digest:nocolon flags=0
	L create zxid=0x6 time=1 session=0x2 xid=7 auth=ip:127.0.0.1 path=/q acl=31:ip:1.2.3.256 flags=0
	L create zxid=0x7 time=1 session=0x2 xid=8 auth=ip:127.0.0.1 path=/q acl=31:what:ever flags=0
	L create zxid=0x8 time=1 session=0x2 xid=9 auth=ip:127.0.0.1 path=/q flags=0
	L create zxid=0x9 time=1 session=0x2 xid=10 auth=ip:127.0.0.1 path=/q acl=1:ip:127.0.0.0/8 acl=2:ip:10.1.2.3 flags=0
	L setData zxid=0xa time=1 session=0x2 xid=11 auth=ip:127.0.0.1 path=/q data=x version=-1
	L setData zxid=0xb time=1 session=0x2 xid=12 auth=ip:10.1.2.3 path=/q data=x version=-1
	G getData session=0x2 xid=13 auth=ip:127.9.9.9 path=/q
	EOF
	assert_line "G> r session=0x1 xid=2 zxid=0x3 err=0 acl=31:$dig stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3"
	assert_line 'G> r session=0x2 xid=3 zxid=0x3 err=-102'
	assert_line 'G> r session=0x2 xid=4 zxid=0x3 err=0 stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
	for x in 5 6 7 8 9; do
		assert_line "G> r session=0x2 xid=$x zxid=0x$((x - 1)) err=-114"
	done
	assert_line 'G> r session=0x2 xid=10 zxid=0x9 err=0 path=/q'
	assert_line 'G> r session=0x2 xid=11 zxid=0xa err=-102'
	assert_line 'G> r session=0x2 xid=12 zxid=0xb err=0 stat=0x9,0xb,1,1,1,0,0,0x0,1,0,0x9'
	assert_line 'G> r session=0x2 xid=13 zxid=0xb err=0 data=x stat=0x9,0xb,1,1,1,0,0,0x0,1,0,0x9'
}

@test "zk-tree: skipACL=yes checks no ACL, as Apache's zookeeper.skipACL; any other value checks them" {
	dig='digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E='
	for v in yes true; do
		# (the last one may have gone with drive's log connection)
		stoptree
		rm -f "$D/tree.sock"
		sed -i '/skipACL/d' "$D/zoo.cfg"
		echo "zookeeper.skipACL=$v" >>"$D/zoo.cfg"
		"$BIN/zk-tree" -c "$D/zoo.cfg" -r "$D" 2>"$D/stderr" &
		PID=$!
		run drive <<-EOF
		L create zxid=0x3 time=1 session=0x1 xid=1 auth=ip:127.0.0.1 auth=$dig path=/p acl=31:auth: flags=0
		G getData session=0x2 xid=2 auth=ip:127.0.0.1 path=/p
		L setData zxid=0x4 time=1 session=0x2 xid=3 auth=ip:127.0.0.1 path=/p data=y version=-1
		L create zxid=0x5 time=1 session=0x2 xid=4 auth=ip:127.0.0.1 path=/p/c acl=31:world:anyone flags=0
		EOF
		if [ "$v" = yes ]; then
			assert_line 'G> r session=0x2 xid=2 zxid=0x3 err=0 stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
			assert_line 'G> r session=0x2 xid=3 zxid=0x4 err=0 stat=0x3,0x4,1,1,1,0,0,0x0,1,0,0x3'
			assert_line 'G> r session=0x2 xid=4 zxid=0x5 err=0 path=/p/c'
		else
			assert_line 'G> r session=0x2 xid=2 zxid=0x3 err=-102'
			assert_line 'G> r session=0x2 xid=3 zxid=0x4 err=-102'
			assert_line 'G> r session=0x2 xid=4 zxid=0x5 err=-102'
		fi
	done
}

@test "zk-tree: sasl ids: exact match, auth expands to them, Kerberos-shaped ids only" {
	dig='digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E='
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 auth=ip:127.0.0.1 auth=sasl:jaasuser path=/s acl=31:sasl:jaasuser flags=0
	G getData session=0x1 xid=2 auth=ip:127.0.0.1 auth=sasl:jaasuser path=/s
	G getData session=0x2 xid=3 auth=ip:127.0.0.1 auth=sasl:jaasuser2 path=/s
	G getData session=0x2 xid=4 auth=ip:127.0.0.1 auth=digest:jaasuser:x path=/s
	L create zxid=0x4 time=1 session=0x1 xid=5 auth=ip:127.0.0.1 auth=sasl:bob auth=$dig path=/a acl=31:auth: flags=0
	G getACL session=0x1 xid=6 auth=ip:127.0.0.1 auth=sasl:bob path=/a
	L create zxid=0x5 time=1 session=0x1 xid=7 auth=ip:127.0.0.1 path=/k acl=1:sasl:zk/host@EXAMPLE.COM acl=1:sasl:a@b flags=0
	L create zxid=0x6 time=1 session=0x1 xid=8 auth=ip:127.0.0.1 path=/x acl=1:sasl:a@b@c flags=0
	L create zxid=0x7 time=1 session=0x1 xid=9 auth=ip:127.0.0.1 path=/x acl=1:sasl:a/b/c@R flags=0
	EOF
	assert_line 'G> r session=0x1 xid=2 zxid=0x3 err=0 stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
	assert_line 'G> r session=0x2 xid=3 zxid=0x3 err=-102'
	assert_line 'G> r session=0x2 xid=4 zxid=0x3 err=-102'
	assert_line "G> r session=0x1 xid=6 zxid=0x4 err=0 acl=31:sasl:bob acl=31:$dig stat=0x4,0x4,1,1,0,0,0,0x0,0,0,0x4"
	assert_line 'G> r session=0x1 xid=7 zxid=0x5 err=0 path=/k'
	assert_line 'G> r session=0x1 xid=8 zxid=0x6 err=-114'
	assert_line 'G> r session=0x1 xid=9 zxid=0x7 err=-114'
}

@test "zk-tree: a failed multi applies nothing, a good one sees itself" {
	run drive <<-EOF
	G exists session=0x2 xid=1 path=/m watch=1
	L multi zxid=0x3 time=1 session=0x1 xid=2 op=create path=/m $A flags=0 op=check path=/m version=0 op=delete path=/nope version=-1 op=setData path=/m data=x version=-1
	G exists session=0x1 xid=3 path=/m
	L multi zxid=0x4 time=1 session=0x1 xid=4 op=create path=/m $A flags=0 op=create2 path=/m/s- $A flags=2 op=create path=/m/s- $A flags=2 op=createContainer path=/m/c $A flags=4 op=setData path=/m data=x version=0 op=delete path=/m/s-0000000000 version=-1
	G multiRead session=0x1 xid=5 op=getData path=/m op=getChildren path=/nope op=getChildren path=/m
	EOF
		assert_line -n 3 'G> r session=0x2 xid=1 zxid=0x2 err=-101'
		assert_line -n 4 'G> r session=0x1 xid=2 zxid=0x3 err=0 op=error err=0 op=error err=0 op=error err=-101 op=error err=-2'
		assert_line -n 5 'G> r session=0x1 xid=3 zxid=0x3 err=-101'
		assert_line -n 6 'G> ev session=0x2 type=1 path=/m'
		assert_line -n 7 'G> r session=0x1 xid=4 zxid=0x4 err=0 op=create err=0 path=/m op=create err=0 path=/m/s-0000000000 op=create err=0 path=/m/s-0000000001 op=create2 err=0 path=/m/c stat=0x4,0x4,1,1,0,0,0,0x0,0,0,0x4 op=setData err=0 stat=0x4,0x4,1,1,1,3,0,0x0,1,3,0x4 op=delete err=0'
		assert_line -n 8 'G> r session=0x1 xid=5 zxid=0x4 err=0 op=getData err=0 data=x stat=0x4,0x4,1,1,1,4,0,0x0,1,2,0x4 op=error err=-101 op=getChildren err=0 child=c child=s-0000000001'
}

@test "zk-tree: the digest it keeps as txns apply is the one a tree loaded again has" {
	# the first digest asked starts the keeping; then every kind of
	# change, a multi rolled back among them; the sanitizer build walks
	# the tree at each digest and stops if the sum it kept differs
	run drive <<-EOF
	L digest
	expect-log
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/a data=1 $A flags=0
	L create zxid=0x4 time=1 session=0x1 xid=2 path=/a/e data=2 $A flags=1
	L create zxid=0x5 time=1 session=0x1 xid=3 path=/a/s- $A flags=2
	L createContainer zxid=0x6 time=1 session=0x1 xid=4 path=/c $A flags=4
	L setData zxid=0x7 time=2 session=0x1 xid=5 path=/a data=xyz version=-1
	L setACL zxid=0x8 time=2 session=0x1 xid=6 path=/a acl=1:world:anyone version=-1
	L multi zxid=0x9 time=3 session=0x1 xid=7 op=create path=/m $A flags=0 op=setData path=/a/e data=q version=-1 op=delete path=/nope version=-1
	L multi zxid=0xa time=3 session=0x1 xid=8 op=create path=/b $A flags=0 op=create path=/b/c $A flags=0 op=delete path=/b/c version=-1 op=setData path=/b data=b version=-1
	L delete zxid=0xb time=4 session=0x1 xid=9 path=/a/s-0000000000 version=-1
	L create zxid=0xc time=6 session=0x2 xid=1 path=/c/k data=k $A flags=0
	L setACL zxid=0xd time=6 session=0x2 xid=2 path=/c acl=1:world:anyone version=-1
	L digest
	expect-log
	L closeSession zxid=0xe time=7 session=0x1 xid=10
	L digest
	expect-log
	L snapshot
	expect-log
	EOF
	assert_success
	out=$output
	run grep -c '^L> digest zxid=0x' <<<"$out"
	assert_output 3
	first=$(grep '^L> digest zxid=0xd ' <<<"$out" | sed 's/.*value=//')
	last=$(grep '^L> digest zxid=0xe ' <<<"$out" | sed 's/.*value=//')
	[ -n "$first" ] && [ -n "$last" ] && [ "$first" != "$last" ]
	wait "$PID" || true	# the log connection closed: it exits
	"$BIN/zk-tree" -c "$D/zoo.cfg" -r "$D" 2>>"$D/stderr" &
	PID=$!
	run /usr/bin/python3 "$BATS_FILE_TMPDIR/drive.py" "$D" <<-EOF
	L ready zxid=0xe
	L digest
	expect-log
	EOF
	assert_line "L> digest zxid=0xe value=$last"
}

@test "zk-tree: one-shot watches fire once, node event before the parent's" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/w $A flags=0
	G exists session=0x2 xid=2 path=/w/x watch=1
	G getChildren session=0x2 xid=3 path=/w watch=1
	G getChildren session=0x2 xid=4 path=/nope watch=1
	G text word=wchc
	L create zxid=0x4 time=1 session=0x1 xid=5 path=/w/x $A flags=0
	L create zxid=0x5 time=1 session=0x1 xid=6 path=/w/y $A flags=0
	L create zxid=0x6 time=1 session=0x1 xid=7 path=/nope $A flags=0
	G getData session=0x2 xid=8 path=/w/x watch=1
	G getChildren session=0x2 xid=9 path=/w/x watch=1
	L delete zxid=0x7 time=1 session=0x1 xid=10 path=/w/x version=-1
	G checkWatches session=0x2 xid=11 path=/w/x mode=3
	EOF
		assert_line -n 7 'G> text word=wchc data=0x2\n\t/w/x\n\n'
		assert_line -n 8 'G> ev session=0x2 type=1 path=/w/x'
		assert_line -n 9 'G> ev session=0x2 type=4 path=/w'
		assert_line -n 10 'G> r session=0x1 xid=5 zxid=0x4 err=0 path=/w/x'
		assert_line -n 11 'G> r session=0x1 xid=6 zxid=0x5 err=0 path=/w/y'
		assert_line -n 12 'G> r session=0x1 xid=7 zxid=0x6 err=0 path=/nope'
		assert_line -n 15 'G> ev session=0x2 type=2 path=/w/x'
		assert_line -n 16 'G> r session=0x1 xid=10 zxid=0x7 err=0'
		assert_line -n 17 'G> r session=0x2 xid=11 zxid=0x7 err=-121'
}

@test "zk-tree: persistent recursive watch, its halves, gone (echoed)" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/w $A flags=0
	G addWatch session=0x2 xid=2 path=/w mode=1
	L create zxid=0x4 time=1 session=0x1 xid=3 path=/w/y $A flags=0
	L setData zxid=0x5 time=1 session=0x1 xid=4 path=/w/y data=1 version=-1
	G removeWatches session=0x2 xid=5 path=/w mode=2
	G checkWatches session=0x2 xid=6 path=/w mode=2
	L setData zxid=0x6 time=1 session=0x1 xid=7 path=/w/y data=2 version=-1
	L delete zxid=0x7 time=1 session=0x1 xid=8 path=/w/y version=-1
	G gone session=0x2
	L delete zxid=0x8 time=1 session=0x1 xid=9 path=/w version=-1
	EOF
		assert_line -n 4 'G> r session=0x2 xid=2 zxid=0x3 err=0'
		assert_line -n 5 'G> ev session=0x2 type=1 path=/w/y'
		assert_line -n 6 'G> r session=0x1 xid=3 zxid=0x4 err=0 path=/w/y'
		assert_line -n 7 'G> ev session=0x2 type=3 path=/w/y'
		assert_line -n 9 'G> r session=0x2 xid=5 zxid=0x5 err=0'
		assert_line -n 10 'G> r session=0x2 xid=6 zxid=0x5 err=-121'
		assert_line -n 11 'G> r session=0x1 xid=7 zxid=0x6 err=0 stat=0x4,0x6,1,1,2,0,0,0x0,1,0,0x4'
		assert_line -n 12 'G> ev session=0x2 type=2 path=/w/y'
		assert_line -n 13 'G> r session=0x1 xid=8 zxid=0x7 err=0'
		assert_line -n 14 'G> gone session=0x2'
		assert_line -n 15 'G> r session=0x1 xid=9 zxid=0x8 err=0'
}

@test "zk-tree: the log stream is txns, and reads and syncs answered in its order (a read of a session it has not is -112 and sets no watch); gone or fail there is ignored; sync from the gate" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/r $A flags=0
	L getData session=0x1 xid=2 auth=ip:127.0.0.1 path=/r watch=1
	L sync session=0x1 xid=3 path=/r
	L fail session=0x1 xid=4 err=-1
	G exists session=0x2 xid=5 path=/r watch=1
	L gone session=0x2
	G sync session=0x1 xid=6 path=/r
	L exists session=0x9 xid=8 path=/r watch=1
	L setData zxid=0x4 time=1 session=0x1 xid=7 path=/r data=w version=-1
	EOF
	assert_line -n 3 'G> r session=0x1 xid=1 zxid=0x3 err=0 path=/r'
	assert_line -n 4 'G> r session=0x1 xid=2 zxid=0x3 err=0 stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
	assert_line -n 5 'G> r session=0x1 xid=3 zxid=0x3 err=0 path=/r'
	assert_line -n 6 'G> r session=0x2 xid=5 zxid=0x3 err=0 stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
	assert_line -n 7 'G> r session=0x1 xid=6 zxid=0x3 err=0 path=/r'
	assert_line -n 8 'G> r session=0x9 xid=8 zxid=0x3 err=-112'
	# the watches of 0x1 (its read from the log stream) and of 0x2 (the
	# gone was ignored) fire; 0x9 set none
	assert_line -n 9 'G> ev session=0x1 type=3 path=/r'
	assert_line -n 10 'G> ev session=0x2 type=3 path=/r'
	assert_line -n 11 'G> r session=0x1 xid=7 zxid=0x4 err=0 stat=0x3,0x4,1,1,1,0,0,0x0,1,0,0x3'
	assert_equal "${#lines[@]}" 12
	run -0 cat "$D/stderr"
	assert_output --partial 'zk-log: fail is not a txn, ignored'
	assert_output --partial 'zk-log: gone is not a txn, ignored'
	refute_output --partial 'getData is not a txn'
	refute_output --partial 'sync is not a txn'
}

@test "zk-tree: a big value goes through the ring to a gate that maps it, in the line once the ring is full, through it again once released" {
	big=$(head -c 1000000 /dev/zero | tr '\0' v)
	{
		echo "L create zxid=0x3 time=1 session=0x1 xid=1 path=/big $A data=$big flags=0"
		echo "L create zxid=0x4 time=1 session=0x1 xid=2 path=/small $A data=$(head -c 4095 /dev/zero | tr '\0' s) flags=0"
		echo "G getData session=0x1 xid=3 path=/small"
		for x in $(seq 4 20); do
			echo "G getData session=0x1 xid=$x path=/big"
		done
		echo "ring 15000000 1000000"
		echo "release 16000000"
		echo "G getData session=0x1 xid=21 path=/big"
		echo "ring 16777216 1000000"
	} >"$D/script"
	GATE=gateshm run drive <"$D/script"
	assert_line 'shm> shm size=16777216 fds=1'
	assert_line 'G> ready zxid=0x0'
	assert_line --partial 'G> r session=0x1 xid=3 zxid=0x4 err=0 data=sss'
	assert_line 'G> r session=0x1 xid=4 zxid=0x4 err=0 shm=0,1000000 stat=0x3,0x3,1,1,0,0,0,0x0,1000000,0,0x3'
	assert_line --partial 'G> r session=0x1 xid=19 zxid=0x4 err=0 shm=15000000,1000000 stat='
	assert_line --partial 'G> r session=0x1 xid=20 zxid=0x4 err=0 data=vvvv'
	assert_line --partial 'G> r session=0x1 xid=21 zxid=0x4 err=0 shm=16777216,1000000 stat='
	# the regions hold the value (the 16th, then the one after release)
	[ "$(grep -cx 'ring 1000000 \[118\]' <<<"$output")" -eq 2 ]
	[ "$(grep -c ' shm=' <<<"$output")" -eq 17 ]
}

# zk-tree again as server 1 of an ensemble of 2
as_member() {
	stoptree
	rm -f "$D/tree.sock"
	printf 'server.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\n' >>"$D/zoo.cfg"
	echo 1 >"$D/myid"
	"$BIN/zk-tree" -c "$D/zoo.cfg" -r "$D" 2>"$D/stderr" &
	PID=$!
}

@test "zk-tree in an ensemble answers only the txns its own gate sent (via=): for the others its gate learns the zxid once a batch, by a line or in the ring" {
	as_member
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 via=1 path=/a $A data=x flags=0
	L create zxid=0x4 time=1 session=0x2 xid=1 via=2 path=/b $A data=x flags=0
	L setData zxid=0x5 time=1 session=0x2 xid=2 via=2 path=/b data=y version=7
	L create zxid=0x6 time=1 session=0x1 xid=2 path=/c $A data=x flags=0
	L closeSession zxid=0x7 time=1 session=0x2 xid=3 via=2
	G getData session=0x1 xid=3 path=/b
	EOF
	assert_line -n 1 'G> r session=0x1 xid=0 zxid=0x1 err=0'
	assert_line -n 3 'G> r session=0x1 xid=1 zxid=0x3 err=0 path=/a'
	# server 2's create and failed setData: no reply, where we are
	assert_line -n 4 'G> applied zxid=0x4'
	assert_line -n 5 'G> applied zxid=0x5'
	# no via= (a txn of an earlier version): answered as before
	assert_line -n 6 'G> r session=0x1 xid=2 zxid=0x6 err=0 path=/c'
	# its session's close is not answered here, but said: the
	# session's connection may be on this node now
	assert_line -n 7 'G> closed session=0x2'
	assert_line -n 8 'G> applied zxid=0x7'
	assert_line -n 9 --partial 'G> r session=0x1 xid=3 zxid=0x7 err=0 data=x stat=0x4,0x4,'
	assert_equal "${#lines[@]}" 10
	refute_line --regexp 'session=0x2 xid=[123] '

	# a gate that maps the ring reads it there: no line
	as_member
	GATE=gateshm run drive <<-EOF
	zxid
	L create zxid=0x3 time=1 session=0x2 xid=1 via=2 path=/b $A data=x flags=0
	zxid
	L create zxid=0x4 time=1 session=0x1 xid=1 via=1 path=/a $A data=x flags=0
	L create zxid=0x5 time=1 session=0x2 xid=2 via=2 path=/d $A data=x flags=0
	zxid
	EOF
	assert_line -n 4 'zxid 0x2'
	assert_line -n 5 'zxid 0x3'
	assert_line -n 6 'G> r session=0x1 xid=1 zxid=0x4 err=0 path=/a'
	assert_line -n 7 'zxid 0x5'
	assert_equal "${#lines[@]}" 8
}

@test "zk-tree: setWatches replays events before its reply" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/a $A flags=0
	L setData zxid=0x4 time=1 session=0x1 xid=2 path=/a data=x version=-1
	G setWatches session=0x2 xid=-8 relzxid=0x3 dw=/a dw=/gone ew=/a ew=/b cw=/a
	L create zxid=0x5 time=1 session=0x1 xid=3 path=/b $A flags=0
	EOF
		assert_line -n 5 'G> ev session=0x2 type=3 path=/a'
		assert_line -n 6 'G> ev session=0x2 type=2 path=/gone'
		assert_line -n 7 'G> ev session=0x2 type=1 path=/a'
		assert_line -n 8 'G> r session=0x2 xid=-8 zxid=0x4 err=0'
		assert_line -n 9 'G> ev session=0x2 type=1 path=/b'
}

@test "zk-tree: the sweep proposes an emptied container, apply re-checks" {
	run drive <<-EOF
	L createContainer zxid=0x3 time=1 session=0x1 xid=1 path=/c $A flags=4
	L createContainer zxid=0x4 time=1 session=0x1 xid=2 path=/never $A flags=4
	L create zxid=0x5 time=1 session=0x1 xid=3 path=/plain $A flags=4
	L create zxid=0x6 time=1 session=0x1 xid=4 path=/c/k $A flags=0
	L deleteContainer zxid=0x7 time=2 path=/c
	G exists session=0x2 xid=5 path=/c watch=1
	L delete zxid=0x8 time=1 session=0x1 xid=6 path=/c/k version=-1
	expect-log
	L deleteContainer zxid=0x9 time=2 path=/c
	G exists session=0x2 xid=7 path=/never
	EOF
	assert_line 'G> r session=0x1 xid=1 zxid=0x3 err=0 path=/c stat=0x3,0x3,1,1,0,0,0,0x0,0,0,0x3'
	assert_line 'G> r session=0x1 xid=3 zxid=0x5 err=0 path=/plain'
	assert_line 'G> r session=0x2 xid=5 zxid=0x7 err=0 stat=0x3,0x3,1,1,0,1,0,0x0,0,1,0x6'
	assert_line 'L> deleteContainer path=/c'
	assert_line 'G> ev session=0x2 type=2 path=/c'
	assert_line 'G> r session=0x2 xid=7 zxid=0x9 err=0 stat=0x4,0x4,1,1,0,0,0,0x0,0,0,0x4'
}

@test "zk-tree: TTL nodes expire by txn time" {
	now=$(date +%s%3N)
	run drive <<-EOF
	L createTTL zxid=0x3 time=$((now - 10000)) session=0x1 xid=1 path=/t $A flags=5 ttl=100
	L createTTL zxid=0x4 time=$now session=0x1 xid=2 path=/t $A flags=0 ttl=100
	L create zxid=0x5 time=$now session=0x1 xid=3 path=/u $A flags=5
	L createTTL zxid=0x6 time=$now session=0x1 xid=4 path=/keep $A flags=6 ttl=100000
	expect-log
	L deleteTTL zxid=0x7 time=$((now - 9950)) path=/t
	G exists session=0x2 xid=5 path=/t
	L deleteTTL zxid=0x8 time=$now path=/t
	G exists session=0x2 xid=6 path=/t
	EOF
	assert_line "G> r session=0x1 xid=1 zxid=0x3 err=0 path=/t stat=0x3,0x3,$((now - 10000)),$((now - 10000)),0,0,0,0x0,0,0,0x3"
	assert_line 'G> r session=0x1 xid=2 zxid=0x4 err=-8'
	assert_line 'G> r session=0x1 xid=3 zxid=0x5 err=-8'
	assert_line 'L> deleteTTL path=/t'
	assert_line 'G> r session=0x2 xid=5 zxid=0x7 err=0 stat=0x3,0x3,'"$((now - 10000)),$((now - 10000))"',0,0,0,0x0,0,0,0x3'
	assert_line 'G> r session=0x2 xid=6 zxid=0x8 err=-101'
}

@test "zk-tree: a TTL node is refused where the txn says nottl=1, whatever zk-tree's own zoo.cfg says" {
	for ext in false true; do
		# setup's zk-tree was started a moment ago: a TERM that lands
		# between bash's fork and its exec can be lost, KILL cannot
		kill -9 "$PID" 2>/dev/null || true	# gone once drive closed
		wait "$PID" || true
		rm -rf "$D/zk" "$D"/snapshot.*
		printf 'dataDir=%s\nextendedTypesEnabled=%s\n' "$D" "$ext" >"$D/zoo.cfg"
		"$BIN/zk-tree" -c "$D/zoo.cfg" -r "$D" 2>"$D/stderr" &
		PID=$!
		run drive <<-EOF
		L createTTL zxid=0x3 time=1 session=0x1 xid=1 nottl=1 path=/t $A flags=5 ttl=100
		L createTTL zxid=0x4 time=1 session=0x1 xid=2 path=/u $A flags=5 ttl=100
		L multi zxid=0x5 time=1 session=0x1 xid=3 nottl=1 op=create path=/m $A flags=0 op=createTTL path=/m/t $A flags=6 ttl=100
		G exists session=0x1 xid=4 path=/m
		EOF
		assert_line 'G> r session=0x1 xid=1 zxid=0x3 err=-6'
		assert_line --regexp '^G> r session=0x1 xid=2 zxid=0x4 err=0 path=/u stat=0x4,0x4,'
		assert_line 'G> r session=0x1 xid=3 zxid=0x5 err=0 op=error err=0 op=error err=-6'
		assert_line 'G> r session=0x1 xid=4 zxid=0x5 err=-101'
	done
}

@test "zk-tree: stats and the ephemeral dump" {
	run drive <<-EOF
	L create zxid=0x3 time=1 session=0x1 xid=1 path=/e data=abc $A flags=1
	G text word=dump
	raw
	G stats
	raw
	EOF
	assert_line 'G> text word=dump data=ephemeral\snodes\sdump:\nSessions\swith\sEphemerals\s(1):\n0x1:\n\t/e\n'
	assert_line 'G> stats nodes=6 watches=0 ephemerals=1 datasize=49 zxid=0x3 sessions=2 watchpaths=0 watchsessions=0'
}
