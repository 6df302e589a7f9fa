#!/usr/bin/env bats
# zk-snap import: an Apache ZooKeeper 3.8 data directory, made here by
# the real server (Debian's zookeeper package; started on a free port,
# stopped by pid), becomes a zk one; what clients read back from both
# must be the same, byte for byte.  Bad input: 65, 66, 73.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

# kazoo: write a workload, dump every node (data, stat, ACL), re-attach
kzpy() {
	cat <<-'PY'
	import sys, time, json, os
	from kazoo.client import KazooClient
	from kazoo.security import make_digest_acl, make_acl, OPEN_ACL_UNSAFE
	from collections import namedtuple
	from kazoo.protocol.serialization import Create2, long_struct
	from kazoo.exceptions import NodeExistsError, BadVersionError
	
	class CreateContainer(Create2):
	    type = 19
	
	class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
	    type = 21
	    def serialize(self):
	        return Create2(self.path, self.data, self.acl, self.flags).serialize() + \
	            long_struct.pack(self.ttl)
	    deserialize = Create2.deserialize
	
	def mk(zk, path, data, container=False, ttl=None):
	    r = zk.handler.async_result()
	    if container:
	        zk._call(CreateContainer(path, data, OPEN_ACL_UNSAFE, 4), r)
	    else:
	        zk._call(CreateTTL(path, data, OPEN_ACL_UNSAFE, 5, ttl), r)
	    return r.get()
	
	def conn(hosts, cid=None):
	    zk = KazooClient(hosts=hosts, timeout=30, client_id=cid)
	    zk.start(timeout=15)
	    zk.add_auth('digest', 'alice:secret')
	    return zk
	
	def phase(zk, p):
	    dig = make_digest_acl('alice', 'secret', all=True)
	    zk.create(p, b'')
	    zk.create(p + '/data', b'hello world\n\x00\xff')
	    zk.create(p + '/null', None)
	    zk.create(p + '/empty', b'')
	    zk.create(p + '/eph', b'e', ephemeral=True)
	    seq = [zk.create(p + '/seq-', str(i).encode(), sequence=True)
	        for i in range(3)]
	    zk.create(p + '/eseq-', b'x', ephemeral=True, sequence=True)
	    zk.delete(seq[1])
	    zk.create(p + '/seq-', b'after delete', sequence=True)
	    mk(zk, p + '/cont', b'c', container=True)
	    zk.create(p + '/cont/kid', b'k')
	    mk(zk, p + '/ttl', b't', ttl=600000)
	    zk.create(p + '/dig', b'secret', acl=[dig])
	    zk.create(p + '/ip', b'ip', acl=[make_acl('ip', '127.0.0.1', all=True),
	        make_acl('world', 'anyone', read=True)])
	    zk.create(p + '/acl', b'a')
	    zk.set_acls(p + '/acl', [make_acl('world', 'anyone', read=True, write=True), dig])
	    zk.set(p + '/data', b'v1')
	    zk.set(p + '/data', b'v2')
	    zk.set(p + '/null', b'')
	    try:
	        zk.create(p + '/data', b'dup')
	    except NodeExistsError:
	        pass
	    t = zk.transaction()
	    t.create(p + '/m1', b'm1')
	    t.create(p + '/m2', b'', ephemeral=True)
	    t.set_data(p + '/empty', b'from multi')
	    t.check(p + '/data', 2)
	    t.delete(seq[0])
	    t.commit()
	    t = zk.transaction()
	    t.create(p + '/never', b'x')
	    t.check(p + '/data', 99)
	    t.commit()
	    zk.create(p + '/gone', b'g')
	    zk.delete(p + '/gone')
	    zk.create(p + '/deep/a/b/c', b'deep', makepath=True)
	    mk(zk, p + '/cont2', b'', container=True)
	    zk.create(p + '/cont2/x', b'')
	    zk.delete(p + '/cont2/x')	# Apache's container sweep deletes cont2
	    mk(zk, p + '/shortttl', b'', ttl=1)
	
	def write(hosts, out):
	    zk = conn(hosts)
	    other = conn(hosts)
	    other.create('/othereph', b'', ephemeral=True)
	    phase(zk, '/a')
	    other.stop()				# closeSession deletes /othereph
	    other.close()
	    for i in range(60):
	        zk.set('/a/data', str(i).encode())
	    zk.create('/fill')
	    for i in range(60):
	        zk.set('/fill', str(i).encode())
	    phase(zk, '/b')
	    for i in range(10):
	        zk.create('/b/deep/n', b'', sequence=True)
	    time.sleep(2.5)				# container and TTL sweeps
	    sid, pw = zk.client_id
	    with open(out, 'w') as f:
	        json.dump({'sid': sid, 'pw': pw.hex()}, f)
	    os._exit(0)				# leave the session open
	
	def dump(hosts, out):
	    zk = conn(hosts)
	    lines = []
	    def walk(p):
	        data, st = zk.get(p)
	        acl, _ = zk.get_acls(p)
	        acls = sorted('%d:%s:%s' % (a.perms, a.id.scheme, a.id.id) for a in acl)
	        lines.append('%s data=%r stat=%s acl=%s' % (p, data, ','.join(str(x) for x in (
	            st.czxid, st.mzxid, st.ctime, st.mtime, st.version, st.cversion,
	            st.aversion, st.ephemeralOwner, st.dataLength, st.numChildren,
	            st.pzxid)), ','.join(acls)))
	        for k in sorted(zk.get_children(p)):
	            walk(p.rstrip('/') + '/' + k)
	    walk('/')
	    with open(out, 'w') as f:
	        f.write('\n'.join(lines) + '\n')
	    zk.stop()
	
	def attach(hosts, sess):
	    s = json.load(open(sess))
	    zk = conn(hosts, (s['sid'], bytes.fromhex(s['pw'])))
	    assert zk.client_id[0] == s['sid'], 'new session'
	    print('attached 0x%x' % s['sid'])
	    print(sorted(zk.get_children('/a')))
	    zk.stop()
	
	{'write': write, 'dump': dump, 'attach': attach}[sys.argv[1]](sys.argv[2], sys.argv[3])
	PY
}

apache_ready() {
	local i
	for i in $(seq 150); do
		[ "$(fourlw ruok "$APORT")" = imok ] && return 0
		kill -0 "$APID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$A/apache.log" >&2
	return 1
}

setup_file() {
	A=$BATS_FILE_TMPDIR
	kzpy >"$A/kz.py"
	mkdir -p "$A/apache"
	APORT=$(freeport)
	printf '%s\n' tickTime=2000 "dataDir=$A/apache" "clientPort=$APORT" \
	    clientPortAddress=127.0.0.1 snapCount=100 \
	    admin.enableServer=false 4lw.commands.whitelist=ruok \
	    maxSessionTimeout=60000 >"$A/apache.cfg"
	java -Dzookeeper.extendedTypesEnabled=true \
	    -Dznode.container.checkIntervalMs=300 \
	    -Dznode.container.maxPerMinute=60000 -Dzookeeper.log.dir="$A" \
	    -cp "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf" \
	    org.apache.zookeeper.server.quorum.QuorumPeerMain "$A/apache.cfg" \
	    >"$A/apache.log" 2>&1 3>&- &
	APID=$!
	echo "$APID" >"$A/apache.pid"
	apache_ready
	/usr/bin/python3 "$A/kz.py" write "127.0.0.1:$APORT" "$A/sess.json"
	/usr/bin/python3 "$A/kz.py" dump "127.0.0.1:$APORT" "$A/apache.dump"
	kill "$APID"
	wait "$APID" || true
	export A
}

teardown_file() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/apache.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
}

setup() {
	D=$BATS_TEST_TMPDIR
	SNAP=$ZK_BIN/zk-snap
	NODEPID=
}

teardown() {
	node_stop
}

# the Apache dir with its newest snapshot (or log) as $1 (snapshot|log)
newest() {
	ls "$D/ap/version-2/" | grep "^$1\." | sort -t. -k2 | while read -r f; do
		printf '%d %s\n' "0x${f#*.}" "$f"
	done | sort -n | tail -n 1 | cut -d' ' -f2
}

copy() {
	cp -r "$A/apache" "$D/ap"
}

@test "zk-snap import: Apache's data dir; clients read the same back, sessions re-attach" {
	ls "$A/apache/version-2" | grep -q '^log\.'
	[ "$(ls "$A/apache/version-2" | grep -c '^snapshot\.')" -ge 2 ]
	run -0 "$SNAP" import "$A/apache" "$D/data"
	# the write's session (left open; other's was closed); Apache takes
	# a snapshot on a thread of its own while it goes on, so the dump's
	# session, created just after, may be in it too (its log replays it)
	assert_line --regexp '^snapshot\.[0-9a-f]{16} nodes=[0-9]+ sessions=[12] '
	assert_line --regexp '^log\.[0-9a-f]{16} txns=[0-9]+ '
	run -0 "$SNAP" verify "$D/data/zk/$(ls "$D/data/zk" | grep snapshot)"
	run -0 "$ZK_BIN/zk-log" verify "$D/data"
	ls "$D" | grep -vq import
	node_start "$D" extendedTypesEnabled=true
	/usr/bin/python3 "$A/kz.py" dump "$ZK_HOSTS" "$D/zk.dump"
	diff "$A/apache.dump" "$D/zk.dump"
	grep -q "^/b/eph data=b'e' stat=.*,$(/usr/bin/python3 -c "import json; print(json.load(open('$A/sess.json'))['sid'])")," "$D/zk.dump"
	run -0 /usr/bin/python3 "$A/kz.py" attach "$ZK_HOSTS" "$A/sess.json"
	assert_line --partial "attached 0x"
}

@test "zk-snap import: version-2 itself, or a dataDir holding it" {
	run -0 "$SNAP" import "$A/apache/version-2" "$D/a"
	run -0 "$SNAP" import "$A/apache/" "$D/b"
	diff <("$SNAP" cat "$D/a/zk/"snapshot.* | grep -v '^# imported') \
	    <("$SNAP" cat "$D/b/zk/"snapshot.* | grep -v '^# imported')
	cmp "$D/a/zk/"log.* "$D/b/zk/"log.*
}

@test "zk-snap import: a corrupt Apache snapshot is 65, naming it; nothing written" {
	copy
	f=$(newest snapshot)
	/usr/bin/python3 -c "
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x55
open(p, 'wb').write(b)" "$D/ap/version-2/$f"
	run -65 "$SNAP" import "$D/ap" "$D/new"
	assert_output --regexp "version-2/$f: .* at offset [0-9]+"
	[ ! -e "$D/new" ]
	[ -z "$(ls "$D" | grep import)" ]
	copy2=$D/ap2
	cp -r "$A/apache" "$copy2"
	truncate -s 100 "$copy2/version-2/$f"
	run -65 "$SNAP" import "$copy2" "$D/new"
	assert_output --regexp "version-2/$f: truncated at offset [0-9]+"
	[ ! -e "$D/new" ]
}

@test "zk-snap import: a log record with a bad Adler32 is 65, naming file and offset" {
	copy
	f=$(newest log)
	# the first record's txn bytes: after the 16-byte header, crc, length
	printf '\377' | dd of="$D/ap/version-2/$f" bs=1 seek=40 conv=notrunc 2>/dev/null
	run -65 "$SNAP" import "$D/ap" "$D/new"
	assert_output --partial "version-2/$f: Adler32 checksum mismatch at offset 16"
	[ ! -e "$D/new" ]
	[ -z "$(ls "$D" | grep import)" ]
}

@test "zk-snap import: a setData txn with a null path is 65, not a crash" {
	# t/data/apache-null-path: one Apache log record, Adler32 intact,
	# whose SetDataTxn path has length -1
	run -65 "$SNAP" import "$BATS_TEST_DIRNAME/data/apache-null-path" "$D/new"
	assert_output --partial "version-2/log.1: setData without a path at offset"
	[ ! -e "$D/new" ]
	[ -z "$(ls "$D" | grep import)" ]
}

@test "zk-snap import: empty or missing Apache dir is 66; a NEWDIR with data 73" {
	mkdir "$D/empty"
	run -66 "$SNAP" import "$D/empty" "$D/new"
	assert_output --partial "no Apache snapshot or log"
	run -66 "$SNAP" import "$D/missing" "$D/new"
	[ ! -e "$D/new" ]
	mkdir -p "$D/full/zk"
	run -73 "$SNAP" import "$A/apache" "$D/full"
	mkdir "$D/emptynew"
	run -0 "$SNAP" import "$A/apache" "$D/emptynew"
	run -64 "$SNAP" import "$A/apache"
}

@test "zk-snap import: a bad node path is 65 at the offset of its record" {
	mkdir -p "$D/ap/version-2"
	run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/apsnap.py" \
	    "$D/ap/version-2/snapshot.1" /a nopath
	at=${lines[1]}
	run -65 "$SNAP" import "$D/ap" "$D/new"
	assert_output --partial "version-2/snapshot.1: bad path at offset $at"
	[ ! -e "$D/new" ]
}

@test "zk-snap import: a create counter whose cversion overflows is 65, not undefined" {
	mkdir -p "$D/ap/version-2" "$D/ok/version-2"
	# 2 * 2147483647 does not fit the int32 cversion
	run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/apsnap.py" \
	    "$D/ap/version-2/snapshot.1" /a:2147483647
	at=${lines[0]}
	run -65 "$SNAP" import "$D/ap" "$D/new"
	assert_output --partial "version-2/snapshot.1: cversion out of range at offset $((at + 4 + 2 + 4 + 9 + 8 + 32 + 4))"
	refute_output --partial "runtime error"
	[ ! -e "$D/new" ]
	# the largest that fits is imported as it is
	run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/apsnap.py" \
	    "$D/ok/version-2/snapshot.1" /a:1073741823
	run -0 "$SNAP" import "$D/ok" "$D/new"
	run -0 "$SNAP" cat "$D/new/zk/snapshot.0000000000000001"
	assert_output --partial "node path=/a data=some\\sdata acl=31:world:anyone stat=0x1,0x1,0,0,0,2147483646,0,0x0,9,0,0x1 ctr=1073741823"
}

@test "zk-snap import: a compressed Apache snapshot is 65, naming file and method" {
	mkdir -p "$D/ap/version-2"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/apsnap.py" "$D/ap/version-2/snapshot.1" /a >/dev/null
	for m in gz snappy; do
		rm -f "$D/ap/version-2/"snapshot.2.*
		printf 'x' >"$D/ap/version-2/snapshot.2.$m"
		run -65 "$SNAP" import "$D/ap" "$D/new"
		assert_output --partial "version-2/snapshot.2.$m: a snapshot compressed with $m (snapshot.compression.method)"
		[ ! -e "$D/new" ]
	done
}

@test "zk-snap import -l: Apache's dataLogDir apart from its dataDir" {
	mkdir -p "$D/snaps/version-2" "$D/logs/version-2"
	cp -p "$A/apache/version-2/"snapshot.* "$D/snaps/version-2/"
	cp -p "$A/apache/version-2/"log.* "$D/logs/version-2/"
	run -0 "$SNAP" import -l "$D/logs" "$D/snaps" "$D/a"
	assert_line --regexp '^log\.[0-9a-f]{16} txns=[0-9]+ '
	run -0 "$SNAP" import "$A/apache" "$D/b"
	diff <("$SNAP" cat "$D/a/zk/"snapshot.* | grep -v '^# imported') \
	    <("$SNAP" cat "$D/b/zk/"snapshot.* | grep -v '^# imported')
	cmp "$D/a/zk/"log.* "$D/b/zk/"log.*
	# without -l the logs are not found, and zxids go missing or none come
	run "$SNAP" import "$D/snaps" "$D/c"
	refute_line --regexp '^log\.[0-9a-f]{16} txns=[0-9]+ '
	run -64 "$SNAP" import -l "$D/logs" "$D/snaps"
}
