#!/usr/bin/env bats
# zk-gate alone, against fake zk-tree/zk-log/zk-sessiond (t/fakepeers.py),
# and its codec (libzk/req.c) through t/zk-gate-codec.c.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load peer	# reap

BIN="${ZK_BIN:-$BATS_TEST_DIRNAME/../cmd}"

setup_file() {
	local top="$BATS_TEST_DIRNAME/.."

	cc -std=c11 -D_GNU_SOURCE -DLIBBSD_OVERLAY -isystem /usr/include/bsd \
	    -Wall -Wextra -Werror -g -fsanitize=address,undefined \
	    -I"$top/libzk" -o "$BATS_FILE_TMPDIR/codec" \
	    "$top/t/zk-gate-codec.c" "$top"/libzk/*.c -lbsd -lmd -lzstd
}

setup() {
	export TDIR="$BATS_TEST_DIRNAME"
	RUN="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN" "$BATS_TEST_TMPDIR/data"
	python3 "$TDIR/fakepeers.py" "$RUN" 2>"$BATS_TEST_TMPDIR/peers.err" &
	PEERS=$!
	for _ in $(seq 100); do
		[ -e "$RUN/peers.up" ] && break
		sleep 0.05
	done
	GATE=
}

teardown() {
	reap $GATE $PEERS
	wait 2>/dev/null
	true
}

freeport() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/freeport.py"
}

# start_gate [extra zoo.cfg lines...]
start_gate() {
	PORT=$(freeport)
	export PORT
	{
		echo "dataDir=$BATS_TEST_TMPDIR/data"
		echo "clientPort=$PORT"
		echo "clientPortAddress=127.0.0.1"
		echo "tickTime=2000"
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/zoo.cfg"
	"$BIN/zk-gate" -c "$BATS_TEST_TMPDIR/zoo.cfg" -r "$RUN" \
	    2>"$BATS_TEST_TMPDIR/gate.err" &
	GATE=$!
	python3 -c "
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(('127.0.0.1', $PORT)).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)"
}

# python with the client helpers of fakepeers.py; the script on stdin
zkpy() {
	python3 -c "import sys, os
sys.path.insert(0, os.environ['TDIR'])
from fakepeers import *
PORT = int(os.environ['PORT'])
$(cat)"
}

fourlw() {
	python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $PORT))
s.sendall(sys.argv[1].encode().decode('unicode_escape').encode('latin-1'))
d = b''
while True:
    x = s.recv(65536)
    if not x:
        break
    d += x
sys.stdout.write(d.decode())" "$1"
}

# ---- command line ----

@test "zk-gate: usage and a bad config" {
	run -64 "$BIN/zk-gate"
	assert_output --partial "usage: zk-gate [-d] -c zoo.cfg -r rundir"
	run -64 "$BIN/zk-gate" -c x
	echo "tickTime=abc" >"$BATS_TEST_TMPDIR/bad.cfg"
	run -78 "$BIN/zk-gate" -c "$BATS_TEST_TMPDIR/bad.cfg" -r "$RUN"
	assert_output --partial "tickTime"
}

@test "zk-gate: a zoo.cfg without clientPort is 78 naming the file" {
	printf 'dataDir=%s/data\nclientport=2181\n' "$BATS_TEST_TMPDIR" \
	    >"$BATS_TEST_TMPDIR/noport.cfg"
	run -78 "$BIN/zk-gate" -c "$BATS_TEST_TMPDIR/noport.cfg" -r "$RUN"
	assert_line --partial "$BATS_TEST_TMPDIR/noport.cfg: clientPort is not set"
}

@test "zk-gate: says hello to its peers and exits 75 when one goes" {
	start_gate
	grep -q '^tree.sock hello role=gate$' "$RUN/peers.log"
	grep -q '^log.sock hello role=gate$' "$RUN/peers.log"
	grep -q '^sess.sock hello role=gate$' "$RUN/peers.log"
	local rc=0
	kill "$PEERS"
	wait "$GATE" || rc=$?
	GATE=
	[ "$rc" -eq 75 ]
	grep -q "closed the connection" "$BATS_TEST_TMPDIR/gate.err"
}

# ---- handshake ----

@test "handshake: ConnectResponse layout, with and without the readOnly byte" {
	start_gate
	run zkpy <<'EOF'
s = connect(PORT)
s.sendall(connreq(timeout=10000))
r = recvframe(s)
print(len(r), r.hex())
s = connect(PORT)
s.sendall(connreq(timeout=1, ro=False))
r = recvframe(s)
print(len(r), r.hex())
EOF
	assert_success
	assert_line -n 0 "37 0000000000002710010000000000000100000010000102030405060708090a0b0c0d0e0f00"
	assert_line -n 1 "36 0000000000000fa0010000000000000200000010000102030405060708090a0b0c0d0e0f"
	grep -Eq '^sess.sock new conn=[0-9]+ timeout=10000$' "$RUN/peers.log"
	grep -q '^log.sock createSession session=0x100000000000001 xid=0 timeout=10000 passwd=000102030405060708090a0b0c0d0e0f$' "$RUN/peers.log"
}

@test "handshake: lastZxidSeen ahead of the server closes without a reply" {
	start_gate
	run zkpy <<'EOF'
s = connect(PORT)
s.sendall(connreq(lastzxid=6))
print(closed(s))
s = connect(PORT)
s.sendall(connreq(lastzxid=5))
print(len(recvframe(s)))
EOF
	assert_success
	assert_output $'True\n37'
}

@test "handshake: wrong password gets the invalid-session bytes and kicks the live connection" {
	start_gate
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
b = connect(PORT)
b.sendall(connreq(sid=sid, passwd=b"x" * 16))
print(recvframe(b).hex())
print(closed(b), closed(a))
c = connect(PORT)
c.sendall(connreq(sid=sid, passwd=pw, timeout=20000))
r = recvframe(c)
print(struct.unpack(">iiq", r[:16])[1:] == (20000, sid), r[20:36] == pw)
EOF
	assert_success
	assert_line -n 0 "00000000000000000000000000000000000000100000000000000000000000000000000000"
	assert_line -n 1 "True True"
	assert_line -n 2 "True True"
	grep -q '^tree.sock gone session=0x100000000000001$' "$RUN/peers.log"
}

@test "handshake: two re-attaches to one session at once: the last to bind keeps it, the others are closed" {
	start_gate
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
b, c = connect(PORT), connect(PORT)
b.sendall(connreq(sid=sid, passwd=pw))
c.sendall(connreq(sid=sid, passwd=pw))
r = recvframe(c)
print(struct.unpack(">iiq", r[:16])[2] == sid)
try:
    recvframe(b)
except (EOFError, ConnectionResetError):
    pass
print(closed(a), closed(b))
c.sendall(req(1, 4, ustr("/x") + b"\0"))
print(hdr(recvframe(c))[0])
EOF
	assert_success
	assert_output $'True\nTrue True\n1'
}

@test "handshake: requests pipelined behind the ConnectRequest run afterwards, in order" {
	start_gate
	run zkpy <<'EOF'
s = connect(PORT)
s.sendall(connreq() + req(-4, 100, struct.pack(">i", 0) + ustr("digest") +
    ustr("alice:secret")) + req(1, 3, ustr("/a") + b"\0") + req(2, 11))
print(len(recvframe(s)))
for _ in range(3):
    print(hdr(recvframe(s)))
EOF
	assert_success
	assert_output $'37\n(-4, 0, 0)\n(1, 6, 0)\n(-2, 6, 0)'
	grep -q '^tree.sock exists session=0x100000000000001 xid=1 auth=ip:127.0.0.1 auth=digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E= path=/a$' "$RUN/peers.log"
}

# ---- framing ----

@test "framing: negative, oversize and zero lengths close only that connection" {
	start_gate "jute.maxbuffer=2048"
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
for bad in (struct.pack(">i", -1), struct.pack(">i", 2049), struct.pack(">i", 0)):
    b, _, _ = session(PORT)
    b.sendall(bad)
    print(closed(b))
c = connect(PORT)
c.sendall(struct.pack(">i", 2049))
print(closed(c))
body = ustr("/a") + ustr(b"x" * (2048 - 8 - 6 - 4 - 4)) + struct.pack(">i", -1)
a.sendall(req(1, 5, body))
print(len(req(1, 5, body)) - 4, hdr(recvframe(a))[::2])
a.sendall(b"ruok")
print(closed(a))
EOF
	assert_success
	assert_output $'True\nTrue\nTrue\nTrue\n2048 (1, 0)\nTrue'
}

@test "the soft limit on open files is raised to the hard one, as the JVM does for Apache" {
	ulimit -Sn 64
	start_gate
	run awk '/^Max open files/ { print ($4 == $5) ? "raised" : $4 " " $5 }' \
	    "/proc/$GATE/limits"
	assert_output raised
}

@test "out of file descriptors: accepting pauses (no busy loop), said once, served again after" {
	start_gate
	prlimit --pid "$GATE" --nofile=40:40
	export GATE
	run zkpy <<'EOF'
import resource
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def cpu():
    f = open("/proc/%s/stat" % os.environ["GATE"]).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
socks = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(80)]
time.sleep(0.5)
t0 = cpu()
time.sleep(2)
print("busy" if cpu() - t0 > 40 else "idle")
for s in socks:
    s.close()
s, sid, pw = session(PORT)
print("served", sid != 0)
EOF
	assert_success
	assert_output $'idle\nserved True'
	run grep -c 'accept: not accepting for 10 ms: Too many open files' \
	    "$BATS_TEST_TMPDIR/gate.err"
	assert_output 1
}

@test "framing: a truncated record is a -5 reply, not a close" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, 1, ustr("/a")[:5]) + req(2, 11))
print(recvframe(s).hex())
print(hdr(recvframe(s)))
EOF
	assert_success
	assert_output $'000000010000000000000006fffffffb\n(-2, 6, 0)'
}

# ---- requests ----

@test "ping: xid -2 whatever was sent, zxid the last one" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(77, 11))
print(recvframe(s).hex())
EOF
	assert_success
	assert_output "fffffffe000000000000000600000000"
}

@test "auth: digest id, super, ip no-op; whoAmI; unknown scheme is -115 then close" {
	start_gate "DigestAuthenticationProvider.superDigest=root:qScoE+LkbrbWBh/au3OD5Aq2Yx0="
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
def auth(s, xid, scheme, a):
    s.sendall(req(xid, 100, struct.pack(">i", 0) + ustr(scheme) + ustr(a)))
auth(s, -4, "digest", "alice:secret")
print(recvframe(s).hex())
auth(s, 9, "ip", "1.2.3.4")
print(recvframe(s).hex())
auth(s, -4, "digest", "root:pw")
recvframe(s)
s.sendall(req(5, 107))
print(recvframe(s)[16:])
s.sendall(req(6, 3, ustr("/z") + b"\0"))
recvframe(s)
auth(s, -4, "world", "anyone")
print(recvframe(s).hex(), closed(s))
EOF
	assert_success
	assert_line -n 0 "fffffffc000000000000000000000000"
	assert_line -n 1 "00000009000000000000000000000000"
	assert_line -n 2 "b'\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x02ip\\x00\\x00\\x00\\t127.0.0.1\\x00\\x00\\x00\\x06digest\\x00\\x00\\x00\\x05alice\\x00\\x00\\x00\\x06digest\\x00\\x00\\x00\\x04root\\x00\\x00\\x00\\x05super\\x00\\x00\\x00\\x00'"
	assert_line -n 3 "fffffffc0000000000000000ffffff8d True"
	grep -q ' xid=6 auth=ip:127.0.0.1 auth=digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E= auth=digest:root:qScoE+LkbrbWBh/au3OD5Aq2Yx0= auth=super: path=/z$' "$RUN/peers.log"
}

@test "close: requests that cross the gate's close (a megabyte behind a failed auth) do not turn its reply into a reset" {
	start_gate
	run zkpy <<'EOF'
import threading
s, sid, pw = session(PORT)
auth = req(5, 100, struct.pack(">i", 0) + ustr("nosuchscheme") + ustr("x"))
more = req(6, 4, ustr("/") + b"\0") * 80000   # about 1.3 MB
def send():
    try:
        s.sendall(auth + more)
    except OSError:
        pass
t = threading.Thread(target=send)
t.start()
try:
    print(recvframe(s).hex())
    print("eof" if s.recv(1) == b"" else "data")
except ConnectionResetError:
    print("reset")
t.join()
EOF
	assert_success
	assert_line -n 0 "000000050000000000000000ffffff8d"
	assert_line -n 1 "eof"
}

@test "reconfig, deleteContainer are answered by the gate" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(2, 16, ustr("") + ustr("") +
    ustr("") + struct.pack(">q", -1)) + req(3, 20, ustr("/c")))
for _ in range(2):
    print(recvframe(s).hex())
EOF
	assert_success
	assert_output $'000000020000000000000006ffffff85\n000000030000000000000006fffffff8'
}

@test "sasl: no mechanism (no JAAS file, or one without Server): -115, close" {
	: >"$BATS_TEST_TMPDIR/empty.conf"	# what kazoo's harness writes
	for line in "" "java.security.auth.login.config=$BATS_TEST_TMPDIR/empty.conf"; do
		start_gate "$line"
		run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, 102, ustr(b"tok")))
print(recvframe(s).hex(), closed(s))
EOF
		assert_success
		assert_output --regexp '^00000001000000000000000[0-9a-f]ffffff8d True$'
		kill "$GATE"
		wait "$GATE" || true
		GATE=
	done
}

# ---- SASL DIGEST-MD5 ----

# jaas.conf with users jaasuser and other (and comments, an ignored
# entry, a bare option value, as Java's ConfigFile allows)
jaas() {
	cat >"$BATS_TEST_TMPDIR/jaas.conf" <<'EOF'
/* kazoo's harness writes the Server entry */
Client { x.Y required user_nobody="no"; };
Server {
	org.apache.zookeeper.server.auth.DigestLoginModule required
	user_jaasuser="jaas_password"   // the one the tests use
	user_other=pw;
};
EOF
	start_gate "java.security.auth.login.config=$BATS_TEST_TMPDIR/jaas.conf" "$@"
}

# a DIGEST-MD5 client (RFC 2831, md5-sess) on top of zkpy's helpers
SASLPY='
import hashlib, re
def md5(b): return hashlib.md5(b).digest()
def hx(b): return hashlib.md5(b).hexdigest().encode()
def sasl(s, xid, tok):
    s.sendall(req(xid, 102, ustr(tok)))
    r = recvframe(s)
    x, z, e = hdr(r)
    return x, z, e, r[16:]
def digest(ch, user, pw, uri=b"zookeeper/zk-sasl-md5", nc=b"00000001", cnonce=b"c0ffee"):
    d = dict(re.findall(rb"([a-z-]+)=\"?([^\",]*)\"?", ch))
    nonce, realm = d[b"nonce"], d[b"realm"]
    a1 = md5(md5(user + b":" + realm + b":" + pw) + b":" + nonce + b":" + cnonce)
    def resp(a2):
        return hx(a1.hex().encode() + b":" + nonce + b":" + nc + b":" + cnonce + b":auth:" + hx(a2))
    tok = (b"charset=utf-8,username=\"" + user + b"\",realm=\"" + realm +
        b"\",nonce=\"" + nonce + b"\",nc=" + nc + b",cnonce=\"" + cnonce +
        b"\",digest-uri=\"" + uri + b"\",maxbuf=65536,response=" +
        resp(b"AUTHENTICATE:" + uri) + b",qop=auth")
    return tok, b"rspauth=" + resp(b":" + uri)
'
saslpy() {
	{ printf '%s\n' "$SASLPY"; cat; } | zkpy
}

@test "sasl: DIGEST-MD5 challenge, rspauth, id sasl:USER; a step after the end fails" {
	jaas
	run saslpy <<'EOF'
s, sid, pw = session(PORT)
x, z, e, body = sasl(s, 1, b"")
ch = body[4:]
print(x, z, e, re.sub(rb"nonce=\"[A-Za-z0-9+/]{40}\"", b"nonce=N", ch).decode())
tok, rsp = digest(ch, b"jaasuser", b"jaas_password")
x, z, e, body = sasl(s, 2, tok)
print(x, z, e, body[4:] == rsp)
s.sendall(req(3, 107))
print(recvframe(s)[16:])
s.sendall(req(4, 3, ustr("/z") + b"\0"))
recvframe(s)
print(sasl(s, 5, b"again"), closed(s))
EOF
	assert_success
	assert_line -n 0 '1 0 0 realm="zk-sasl-md5",nonce=N,charset=utf-8,algorithm=md5-sess'
	assert_line -n 1 '2 0 0 True'
	assert_line -n 2 "b'\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x02ip\\x00\\x00\\x00\\t127.0.0.1\\x00\\x00\\x00\\x04sasl\\x00\\x00\\x00\\x08jaasuser'"
	assert_line -n 3 "(5, 0, -115, b'\\xff\\xff\\xff\\xff') True"
	grep -q '^tree.sock exists session=0x100000000000001 xid=4 auth=ip:127.0.0.1 auth=sasl:jaasuser path=/z$' "$RUN/peers.log"
}

@test "sasl: zookeeper.superUser also gets super:" {
	jaas "zookeeper.superUser=other"
	run saslpy <<'EOF'
s, sid, pw = session(PORT)
tok, rsp = digest(sasl(s, 1, b"")[3][4:], b"other", b"pw")
print(sasl(s, 2, tok)[2])
s.sendall(req(3, 3, ustr("/z") + b"\0"))
recvframe(s)
EOF
	assert_success
	assert_output 0
	grep -q ' xid=3 auth=ip:127.0.0.1 auth=sasl:other auth=super: path=/z$' "$RUN/peers.log"
}

@test "sasl: wrong password, unknown user, bad responses: -115, null token, close" {
	jaas
	run saslpy <<'EOF'
def case(mk):
    s, sid, pw = session(PORT)
    ch = sasl(s, 1, b"")[3][4:]
    r = sasl(s, 2, mk(ch))
    print(r[0], r[1], r[2], r[3].hex(), closed(s))
case(lambda ch: digest(ch, b"jaasuser", b"wrong")[0])
case(lambda ch: digest(ch, b"nobody", b"no")[0])
case(lambda ch: digest(ch, b"jaasuser", b"jaas_password", uri=b"zookeeper/other")[0])
case(lambda ch: digest(ch, b"jaasuser", b"jaas_password", nc=b"00000002")[0])
case(lambda ch: digest(ch.replace(b"nonce=\"", b"nonce=\"x"), b"jaasuser", b"jaas_password")[0])
case(lambda ch: digest(ch, b"jaasuser", b"jaas_password")[0].replace(b"username=", b"username=x,username="))
case(lambda ch: b"username=\"jaasuser")
case(lambda ch: b"=,=,\"\"\\")
case(lambda ch: b"\0\xff" * 3000)
case(lambda ch: b"username=jaasuser,nonce=" + b"a" * 5000)
case(lambda ch: b"")
case(lambda ch: None)
s, sid, pw = session(PORT)
print(sasl(s, 1, b"initial response"), closed(s))
s, sid, pw = session(PORT)
s.sendall(req(1, 102, b"\0\0"))        # no record: as any undecodable one
print(recvframe(s).hex())
EOF
	assert_success
	for i in $(seq 0 11); do
		assert_line -n "$i" "2 0 -115 ffffffff True"
	done
	assert_line -n 12 "(1, 0, -115, b'\\xff\\xff\\xff\\xff') True"
	assert_line -n 13 --regexp "^00000001[0-9a-f]{16}fffffffb\$"
	kill -0 "$GATE"
	grep -q 'SASL authentication failed: wrong password' "$BATS_TEST_TMPDIR/gate.err"
	grep -q 'SASL authentication failed: unknown user' "$BATS_TEST_TMPDIR/gate.err"
}

@test "sasl: a failure is answered 200 ms late; other clients are served meanwhile" {
	jaas
	run saslpy <<'EOF'
import time
s, sid, pw = session(PORT)
tok, _ = digest(sasl(s, 1, b"")[3][4:], b"jaasuser", b"wrong")
t0 = time.monotonic()
s.sendall(req(2, 102, ustr(tok)))
s.sendall(req(3, 11))                   # read after the failure: never
o, osid, opw = session(PORT)            # another client, meanwhile
o.sendall(req(1, 11))
print("other", hdr(recvframe(o))[0], time.monotonic() - t0 < 0.15)
r = recvframe(s)
print("failed", hdr(r)[0], hdr(r)[2], time.monotonic() - t0 >= 0.19, closed(s))
EOF
	assert_success
	assert_line -n 0 "other -2 True"
	assert_line -n 1 "failed 2 -115 True True"
	kill -0 "$GATE"
}

# badjaas TEXT MESSAGE: zk-gate with that JAAS file exits 78 saying MESSAGE
badjaas() {
	local cfg="$BATS_TEST_TMPDIR/j.cfg" f="$BATS_TEST_TMPDIR/bad.conf"

	printf "dataDir=%s\njava.security.auth.login.config=%s\n" \
	    "$BATS_TEST_TMPDIR/data" "$f" >"$cfg"
	rm -f "$f"
	[ "$1" = none ] || printf "$1" >"$f"
	run -78 "$BIN/zk-gate" -c "$cfg" -r "$RUN"
	assert_output --partial "bad.conf$2"
}

@test "sasl: a JAAS file that does not parse is a config error naming file:line" {
	badjaas 'Server {\n  M required\n  user_a "x";\n};\n' \
	    ":3: expected '=' after an option name"
	badjaas 'Server {\n  M required user_a="x;\n};\n' ":2: unterminated string"
	badjaas 'Server { M required; };\n/* no end' ":2: unterminated comment"
	badjaas 'Server { M required; };\nServer { M required; };\n' \
	    ":2: a second Server entry"
	badjaas 'Server { M always; };\n' ":1: expected a control flag"
	badjaas 'Server { M required; }\n' ":2: expected ';' after '}'"
	badjaas none ": No such file or directory"
}

@test "unknown opcode: xid, zxid -1, err -6, then close" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(4, 99) + req(5, 11))
print(recvframe(s).hex(), closed(s))
EOF
	assert_success
	assert_output "00000004fffffffffffffffffffffffa True"
}

@test "FIFO: a read (sync too) behind a write goes to zk-log, which hands it on after the write; once nothing is in zk-log, reads go straight to zk-tree" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
create = createbody("/slow")
s.sendall(req(1, 1, create) + req(2, 4, ustr("/a") + b"\0") + req(3, 11) +
          req(4, 1, createbody("/n")) + req(5, 9, ustr("/n")))
for _ in range(5):
    r = recvframe(s)
    print(hdr(r), r[16:].hex()[:20])
s.sendall(req(6, 4, ustr("/z") + b"\0"))
print(hdr(recvframe(s)))
EOF
	assert_success
	assert_line -n 0 "(1, 7, 0) 000000052f736c6f77"
	assert_line -n 1 "(2, 7, 0) 0000000a64617461206f"
	assert_line -n 2 "(-2, 7, 0) "
	assert_line -n 3 "(4, 8, 0) 000000022f6e"
	assert_line -n 4 "(5, 8, 0) 000000022f6e"
	assert_line -n 5 "(6, 8, 0)"
	run grep -E '^(tree|log)\.sock [a-zA-Z]* session=0x100000000000001 xid=[1-6] ' "$RUN/peers.log"
	assert_line -n 0 "log.sock create session=0x100000000000001 xid=1 auth=ip:127.0.0.1 path=/slow acl=31:world:anyone flags=0"
	assert_line -n 1 "log.sock getData session=0x100000000000001 xid=2 auth=ip:127.0.0.1 path=/a"
	assert_line -n 2 --partial "log.sock create session=0x100000000000001 xid=4 "
	assert_line -n 3 --partial "log.sock sync session=0x100000000000001 xid=5 "
	assert_line -n 4 --partial "tree.sock getData session=0x100000000000001 xid=6 auth=ip:127.0.0.1 path=/z"
	assert_equal "${#lines[@]}" 5
	run grep -c 'NOT A TXN' "$RUN/peers.log"
	assert_output 0
}

@test "FIFO: a write zk-log could not store is answered by its fail, in request order" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, 1, createbody("/slow")) + req(2, 1, createbody("/fail")) +
          req(3, 1, createbody("/c")) + req(4, 4, ustr("/a") + b"\0"))
print([(x, e) for x, z, e in (hdr(recvframe(s)) for _ in range(4))])
EOF
	assert_success
	assert_output "[(1, 0), (2, -1), (3, 0), (4, 0)]"
}

@test "FIFO: a write behind reads waits for their replies, the reads behind it go behind it through zk-log" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
create = createbody("/x")
s.sendall(req(1, 4, ustr("/slow") + b"\0") + req(2, 1, create) +
          req(3, 3, ustr("/b") + b"\0") + req(4, 4, ustr("/c") + b"\0"))
print([hdr(recvframe(s))[0] for _ in range(4)])
EOF
	assert_success
	assert_output "[1, 2, 3, 4]"
	run grep -E '^((tree|log)\.sock [a-zA-Z]*|sent r) session=0x100000000000001 xid=[1-4] ' "$RUN/peers.log"
	assert_line -n 0 --partial "tree.sock getData session=0x100000000000001 xid=1 "
	assert_line -n 1 --partial "sent r session=0x100000000000001 xid=1 "
	assert_line -n 2 --partial "log.sock create session=0x100000000000001 xid=2 "
	assert_line -n 3 --partial "sent r session=0x100000000000001 xid=2 "
	assert_line -n 4 --partial "log.sock exists session=0x100000000000001 xid=3 "
	assert_line -n 6 --partial "log.sock getData session=0x100000000000001 xid=4 "
}

@test "FIFO: events of the old connection's watches do not reach the one that takes its session over" {
	start_gate
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
a.sendall(req(1, 4, ustr("/arm") + b"\1"))
recvframe(a)
a.close()			# its gone: the fake tree answers late, an
time.sleep(0.1)			# event of a's watch first
b = connect(PORT)
b.sendall(connreq(sid, pw))
recvframe(b)
b.sendall(req(1, 4, ustr("/ev") + b"\1"))
for _ in range(2):
    r = recvframe(b)
    x, z, e = hdr(r)
    print(x, r[28:].decode() if x == -1 else e)    # an event's path
EOF
	assert_success
	assert_line -n 0 '-1 /ev'
	assert_line -n 1 '1 0'
	grep -q '^sent ev session=0x100000000000001 type=3 path=/old$' "$RUN/peers.log"
}

@test "FIFO: a connection that takes a session over gets none of the old one's replies, and sends nothing until they are in" {
	start_gate
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
create = createbody("/slow")
a.sendall(req(1, 1, create) + req(2, 4, ustr("/a") + b"\1"))
time.sleep(0.2)
a.close()			# its create and its getData are in zk-log
time.sleep(0.1)
b = connect(PORT)		# xids from 1 again, as kazoo does
b.sendall(connreq(sid, pw))
recvframe(b)
b.sendall(req(1, 4, ustr("/b") + b"\1"))
r = recvframe(b)
print(hdr(r), r[16:])
b.sendall(req(2, 4, ustr("/c") + b"\0"))
r = recvframe(b)
print(hdr(r), r[16:30])
EOF
	assert_success
	assert_line -n 0 --partial "(1, 7, 0) b'\x00\x00\x00\ndata of /b"
	assert_line -n 1 --partial "(2, 7, 0) b'\x00\x00\x00\ndata of /c"
	run grep -E '^((tree|log)\.sock [a-zA-Z]*|sent (gone|r)) session=0x100000000000001( |$)' "$RUN/peers.log"
	assert_line -n 2 "log.sock create session=0x100000000000001 xid=1 auth=ip:127.0.0.1 path=/slow acl=31:world:anyone flags=0"
	assert_line -n 3 --partial "sent r session=0x100000000000001 xid=1 "
	assert_line -n 4 "log.sock getData session=0x100000000000001 xid=2 auth=ip:127.0.0.1 path=/a watch=1"
	assert_line -n 5 --partial "sent r session=0x100000000000001 xid=2 "
	# its gone once those replies are in: after the read that set a watch
	assert_line -n 6 "tree.sock gone session=0x100000000000001"
	assert_line -n 7 "sent gone session=0x100000000000001"
	assert_line -n 8 --partial "tree.sock getData session=0x100000000000001 xid=1 auth=ip:127.0.0.1 path=/b "
	assert_line -n 9 --partial "sent r session=0x100000000000001 xid=1 "
	assert_line -n 10 "tree.sock getData session=0x100000000000001 xid=2 auth=ip:127.0.0.1 path=/c"
	assert_line -n 11 --partial "sent r session=0x100000000000001 xid=2 "
	assert_line -n 12 "tree.sock gone session=0x100000000000001"
	assert_equal "${#lines[@]}" 14
}

@test "back-pressure: a client that does not read is stalled, the others go on, and it resumes once it reads" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.settimeout(30)
path = "/" + "p" * 20000		# replies of 20 kB: 24 MB in all
n = 1200
reqs = b"".join(req(i, 4, ustr(path) + b"\0") for i in range(1, n + 1))
t = threading.Thread(target=s.sendall, args=(reqs,), daemon=True)
t.start()
time.sleep(1)			# it fills the gate's 1000 pending, 4 MB out
o, _, _ = session(PORT)
o.settimeout(30)
o.sendall(req(7, 4, ustr("/other") + b"\0"))
print("other", hdr(recvframe(o)))
xids = [hdr(recvframe(s))[0] for _ in range(n)]
print(len(xids), xids == list(range(1, n + 1)))
EOF
	assert_success
	assert_line -n 0 --regexp '^other \(7, [0-9]+, 0\)$'
	assert_line -n 1 "1200 True"
}

@test "output bounds: big reads a client does not take are held at clientOutputLimit, then all answered in order" {
	start_gate "4lw.commands.whitelist=*"
	export GATE RUN
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.settimeout(60)
n = 200				# 200 MB of replies if all were sent
s.sendall(b"".join(req(i, 4, ustr("/big") + b"\0") for i in range(1, n + 1)))
time.sleep(1.5)			# not reading meanwhile
sent = sum(1 for l in open(os.environ["RUN"] + "/peers.log")
           if l.startswith("tree.sock getData") and "path=/big" in l)
rss = [int(l.split()[1]) for l in open("/proc/%s/status" % os.environ["GATE"])
       if l.startswith("VmRSS:")][0]
mntr = fourletter(PORT, "mntr")
print("forwarded", sent, "rss_mb", rss // 1024)
print([l for l in mntr.split("\n") if "held" in l])
xids = []
for _ in range(n):
    r = recvframe(s)
    xids.append(hdr(r)[0])
    assert len(r) > (1 << 20), len(r)
print(len(xids), xids == list(range(1, n + 1)))
EOF
	assert_success
	# 4 MB at 256 kB a reply before one is seen: 16 in flight at most
	[[ "${lines[0]}" =~ ^forwarded\ ([0-9]+)\ rss_mb\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -le 17 ]
	[ "${BASH_REMATCH[2]}" -lt 100 ]
	assert_line -n 1 "['zk_connections_held\t1']"
	assert_line -n 2 "200 True"
}

@test "output bounds: a client that reads no watch events is closed past clientOutputMax; the others go on" {
	start_gate "clientOutputMax=1048576" "4lw.commands.whitelist=*"
	run zkpy <<'EOF'
a, sid, pw = session(PORT)
b, _, _ = session(PORT)
a.sendall(req(1, 4, ustr("/flood") + b"\0"))	# 20 MB of events, unread
time.sleep(3)
b.sendall(req(7, 4, ustr("/other") + b"\0"))
print("other", hdr(recvframe(b)))
a.settimeout(10)
try:
    while a.recv(1 << 20):
        pass
    print("a closed")
except OSError as e:
    print("a", e)
mntr = fourletter(PORT, "mntr")
print([l for l in mntr.split("\n") if "output" in l])
EOF
	assert_success
	assert_line -n 0 --regexp '^other \(7, [0-9]+, 0\)$'
	assert_line -n 1 --regexp '^a (closed|.*reset.*)$'
	assert_line -n 2 "['zk_client_output_limit\t4194304', 'zk_client_output_max\t1048576', 'zk_connections_closed_output_max\t1']"
	grep -q 'over clientOutputMax (1048576): closed' "$BATS_TEST_TMPDIR/gate.err"
}

@test "watch event: notification frame before the reply" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, 4, ustr("/ev") + b"\1"))
print(recvframe(s).hex())
print(hdr(recvframe(s)))
EOF
	assert_success
	assert_output $'ffffffffffffffffffffffff000000000000000300000003000000032f6576\n(1, 6, 0)'
}

@test "closeSession: reply then close; expiry closes without a frame" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, -11))
print(recvframe(s).hex(), closed(s))
s, sid, pw = session(PORT)
s.sendall(req(1, 5, ustr("/expire") + ustr("x") + struct.pack(">i", -1)))
print(closed(s))
EOF
	assert_success
	assert_output $'00000001000000000000000700000000 True\nTrue'
}

@test "sessions: touch every half tick, gone when the connection goes" {
	start_gate "tickTime=400"
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
s.sendall(req(1, 11))
recvframe(s)
time.sleep(0.6)
s.close()
time.sleep(0.3)
EOF
	assert_success
	grep -q '^sess.sock touch session=0x100000000000001$' "$RUN/peers.log"
	grep -q '^tree.sock gone session=0x100000000000001$' "$RUN/peers.log"
}

@test "maxClientCnxns: over the cap the connection is closed; one closing makes room" {
	start_gate "maxClientCnxns=2"
	run zkpy <<'EOF'
a, b = connect(PORT), connect(PORT)
c = connect(PORT)
print(closed(c))
a.sendall(connreq())
print(len(recvframe(a)))
b.close()
time.sleep(0.3)
d = connect(PORT)
d.sendall(connreq())
print(len(recvframe(d)))
e = connect(PORT)
print(closed(e))
EOF
	assert_success
	assert_output $'True\n37\n37\nTrue'
}

@test "multi, multiRead and getChildren replies" {
	start_gate
	run zkpy <<'EOF'
s, sid, pw = session(PORT)
mh = lambda t, done=0: struct.pack(">ibi", t, done, -1)
s.sendall(req(1, 14, mh(2) + ustr("/m") + struct.pack(">i", -1) + mh(-1, 1)))
r = recvframe(s)
print(hdr(r), r[16:].hex())
s.sendall(req(2, 14, mh(4) + ustr("/m") + b"\0" + mh(-1, 1)))
print(recvframe(s).hex())
s.sendall(req(3, 22, mh(4) + ustr("/m") + b"\0" + mh(8) + ustr("/") + b"\0" + mh(-1, 1)))
r = recvframe(s)
print(r[16:22].hex(), r[-22:].hex())
s.sendall(req(4, 8, ustr("/") + b"\0"))
print(recvframe(s)[16:].hex())
EOF
	assert_success
	assert_line -n 0 "(1, 7, 0) 000000010000000000000000022f6d000000050000000000000000000000000500000000000000060000018bcfe568000000018bcfe56801000000010000000200000003000000000000000000000005000000000000000000000007000000020000000000ffffffff01ffffffff"
}

# ---- four-letter words ----

@test "4lw: isro, hash, the telnet close sequence; sessionless connections time out" {
	start_gate "4lw.commands.whitelist=isro,hash"
	run fourlw isro
	assert_output "rw"
	run fourlw hash
	assert_output ""
	run fourlw '\xff\xf4\xff\xfd'
	assert_output ""
	run zkpy <<'EOF'
s = connect(PORT)
s.settimeout(15)
t = time.time()
print(closed(s), 9 < time.time() - t < 14)
EOF
	assert_output "True True"
}

@test "4lw: ruok, isro, gtmk/stmk; srvr always; the whitelist; unknown words close" {
	start_gate "4lw.commands.whitelist=ruok, stmk,gtmk"
	run fourlw ruok
	assert_output "imok"
	run fourlw gtmk
	assert_output "306"
	run fourlw 'stmk\x00\x00\x00\x00\x00\x00\x00\x07'
	assert_output "7"
	run fourlw gtmk
	assert_output "7"
	run fourlw isro
	assert_output "isro is not executed because it is not in the whitelist."
	run fourlw abcd
	assert_output ""
	run fourlw srvr
	assert_line -n 0 "Zookeeper version: 3.8.0-zk"
	assert_line -n 1 "Latency min/avg/max: 0/0.0/0"
	assert_line -n 2 --regexp '^Received: [0-9]+$'
	assert_line -n 6 "Zxid: 0x5"
	assert_line -n 7 "Mode: standalone"
	assert_line -n 8 "Node count: 5"
}

@test "4lw: stat, cons, mntr, conf, dump, wchs, dirs, crst, srst with *" {
	start_gate "4lw.commands.whitelist=*"
	# keep one session open while we ask
	zkpy <<'EOF' &
s, sid, pw = session(PORT)
s.sendall(req(7, 4, ustr("/a") + b"\0"))
recvframe(s)
time.sleep(15)
EOF
	local keeper=$!
	sleep 0.5
	run fourlw stat
	assert_line -n 1 "Clients:"
	assert_line --regexp '^ /127\.0\.0\.1:[0-9]+\[1\]\(queued=0,recved=2,sent=2\)$'
	assert_line --regexp '^ /127\.0\.0\.1:[0-9]+\[0\]\(queued=0,recved=1,sent=0\)$'
	assert_line "Connections: 2"
	run fourlw cons
	assert_line --regexp '^ /127\.0\.0\.1:[0-9]+\[1\]\(queued=0,recved=2,sent=2,sid=0x10000000000000[0-9],lop=GETD,est=[0-9]+,to=10000,lcxid=0x7,lzxid=0x[0-9a-f]+,lresp=[0-9]+,llat=[0-9]+,minlat=[0-9]+,avglat=[0-9]+,maxlat=[0-9]+\)$'
	run fourlw mntr
	assert_line -n 0 $'zk_version\t3.8.0-zk'
	assert_line -n 1 $'zk_server_state\tstandalone'
	assert_line $'zk_znode_count\t5'
	assert_line $'zk_watch_count\t2'
	assert_line $'zk_num_alive_connections\t2'
	run fourlw conf
	assert_line -n 0 "clientPort=$PORT"
	assert_line -n 2 "dataDir=$BATS_TEST_TMPDIR/data/zk"
	assert_line -n 11 "serverId=0"
	run fourlw dump
	assert_line -n 0 "SessionTracker dump:"
	assert_line -n 1 "dump from tree"
	assert_line -n 2 "Connections dump:"
	assert_line --regexp $'^\tip: /127\\.0\\.0\\.1:[0-9]+ sessionId: 0x10000000000000[0-9]$'
	run fourlw wchs
	assert_output "wchs from tree"
	run fourlw dirs
	assert_output $'datadir_size: 0\nlogdir_size: 0'
	# the snapshots and the (preallocated) segments of dataDir/zk
	mkdir -p "$BATS_TEST_TMPDIR/data/zk"
	head -c 1000 /dev/zero >"$BATS_TEST_TMPDIR/data/zk/log.0000000000000001"
	head -c 10 /dev/zero >"$BATS_TEST_TMPDIR/data/zk/snapshot.0000000000000000"
	run fourlw dirs
	assert_output $'datadir_size: 10\nlogdir_size: 1000'
	run fourlw conf
	assert_line -n 3 "dataDirSize=10"
	assert_line -n 5 "dataLogSize=1000"
	run fourlw srst
	assert_output "Server stats reset."
	run fourlw crst
	assert_output "Connection stats reset."
	run fourlw srvr
	assert_line -n 1 "Latency min/avg/max: 0/0.0/0"
	kill "$keeper" 2>/dev/null || true
}

# ---- codec (libzk/req.c) ----

codec() {
	"$BATS_FILE_TMPDIR/codec" "$@"
}

@test "codec: requests to lines" {
	# create /a "hi" world:anyone flags 3; createTTL; setWatches2; multi; multiRead
	run codec dec <<'EOF'
0000000300000001000000022f61000000026869000000010000001f00000005776f726c6400000006616e796f6e6500000003
0000000300000015000000022f74ffffffff00000000000000050000000000001388
fffffff800000069000000000000001000000001000000022f610000000000000001000000022f620000000000000000
000000090000000e0000000100ffffffff000000022f610000000178000000010000001f00000005776f726c6400000006616e796f6e65000000000000000d00ffffffff000000022f6100000000ffffffff01ffffffff
0000000a000000160000000400ffffffff000000022f61010000000800ffffffff000000012f00ffffffff01ffffffff
000000050000000700000004200a5c2000000001000000010000000241420000000000000001
EOF
	assert_success
	assert_line -n 0 '0 3 1 create session=0x1234 xid=3 auth=ip:127.0.0.1 path=/a data=hi acl=31:world:anyone flags=3'
	assert_line -n 1 '0 3 21 createTTL session=0x1234 xid=3 auth=ip:127.0.0.1 path=/t flags=5 ttl=5000'
	assert_line -n 2 '0 -8 105 setWatches2 session=0x1234 xid=-8 auth=ip:127.0.0.1 relzxid=0x10 dw=/a cw=/b'
	assert_line -n 3 '0 9 14 multi session=0x1234 xid=9 auth=ip:127.0.0.1 op=create path=/a data=x acl=31:world:anyone flags=0 op=check path=/a version=0'
	assert_line -n 4 '0 10 22 multiRead session=0x1234 xid=10 auth=ip:127.0.0.1 op=getData path=/a op=getChildren path=/'
	assert_line -n 5 '0 5 7 setACL session=0x1234 xid=5 auth=ip:127.0.0.1 path=\s\n\\\s acl=1:AB: version=1'
}

@test "codec: undecodable, unknown and disallowed requests" {
	run codec dec <<'EOF'
00000001
0000000100000063
0000000100000000
000000010000000e0000000400ffffffff000000022f6100ffffffff01ffffffff
0000000100000016000000020000ffffffff000000022f6100000000ffffffff01ffffffff
0000000100000014000000022f63
000000010000006a000000022f6100000002
0000000100000011000000022f6100000004
0000000100000001000000022f6100000000fffffffe
00000001000000010000000a2f61
EOF
	assert_success
	assert_output - <<'EOF'
-5 0 0 
-6 1 99 
-6 1 0 
-5 1 14 
-5 1 22 
-8 1 20 
-5 1 106 
-5 1 17 
-5 1 1 
-5 1 1 
EOF
}

@test "codec: reply lines to frames" {
	run codec enc 4 <<'EOF'
r session=0x1 xid=3 zxid=0x5 err=0 data=hi stat=0x1,0x2,3,4,5,6,7,0x8,2,0,0x9
r session=0x1 xid=3 zxid=0x5 err=0 stat=0x1,0x2,3,4,5,6,7,0x8,2,0,0x9
r session=0x1 xid=3 zxid=0x5 err=-101
EOF
	assert_success
	assert_line -n 0 "0000005a000000030000000000000005000000000000000268690000000000000001000000000000000200000000000000030000000000000004000000050000000600000007000000000000000800000002000000000000000000000009"
	assert_line -n 1 "0000005800000003000000000000000500000000ffffffff0000000000000001000000000000000200000000000000030000000000000004000000050000000600000007000000000000000800000002000000000000000000000009"
	assert_line -n 2 "00000010000000030000000000000005ffffff9b"
	run codec enc 8 <<'EOF'
r session=0x1 xid=1 zxid=0x5 err=0
r session=0x1 xid=1 zxid=0x5 err=0 child=a child=bc
EOF
	assert_line -n 0 "000000140000000100000000000000050000000000000000"
	assert_line -n 1 "0000001f00000001000000000000000500000000000000020000000161000000026263"
	run codec enc 14 <<'EOF'
r session=0x1 xid=7 zxid=0x9 err=0 op=error err=0 op=error err=-101 op=error err=-2
r session=0x1 xid=7 zxid=0x9 err=0
EOF
	assert_line -n 0 "0000004000000007000000000000000900000000ffffffff000000000000000000ffffffff00ffffff9bffffff9bffffffff00fffffffefffffffeffffffff01ffffffff"
	assert_line -n 1 "0000001900000007000000000000000900000000ffffffff01ffffffff"
	run codec enc 6 <<'EOF'
r session=0x1 xid=2 zxid=0x5 err=0 acl=31:digest:alice:x= stat=0,0,0,0,0,0,0,0,0,0,0
r session=0x1 xid=2 zxid=0x5 err=0 acl=31:world
EOF
	assert_line -n 0 --partial "0000007200000002000000000000000500000000000000010000001f0000000664696765737400000008616c6963653a783d"
	assert_line -n 1 "-1"
	run codec enc 106 <<<'r session=0x1 xid=2 zxid=0x5 err=0'
	assert_output "000000140000000200000000000000050000000000000000"
	# a value in zk-tree's ring, with no ring mapped: not a reply
	run codec enc 4 <<<'r session=0x1 xid=3 zxid=0x5 err=0 shm=0,2 stat=0x1,0x2,3,4,5,6,7,0x8,2,0,0x9'
	assert_output "-1"
}

@test "codec: the stat parser reads what zkl_parsestat reads, refuses what it refuses" {
	run codec stat <<'EOF'
0x1,0x2,3,4,5,6,7,0x8,2,0,0x9
0,0,0,0,0,0,0,0,0,0,0
-1,-0x1,0X1f,0xFFFFFFFFFFFFFFFF,18446744073709551615,-9223372036854775807,2147483648,4294967295,-2147483649,0x0x1a,0x0X00
0000000000000000000000000000001,0,0,0,0,0,0,0,0,0,0
00000000000000000000000000000001,0,0,0,0,0,0,0,0,0,0
18446744073709551616,0,0,0,0,0,0,0,0,0,0
0x10000000000000000,0,0,0,0,0,0,0,0,0,0
0x,0,0,0,0,0,0,0,0,0,0
0x0x,0,0,0,0,0,0,0,0,0,0
0x0xg,0,0,0,0,0,0,0,0,0,0
-,0,0,0,0,0,0,0,0,0,0
+1,0,0,0,0,0,0,0,0,0,0
 1,0,0,0,0,0,0,0,0,0,0
1 ,0,0,0,0,0,0,0,0,0,0
1,0,0,0,0,0,0,0,0,0
1,0,0,0,0,0,0,0,0,0,0,
1,0,0,0,0,0,0,0,0,0,0,0
1,,0,0,0,0,0,0,0,0,0
a,0,0,0,0,0,0,0,0,0,0
0x1g,0,0,0,0,0,0,0,0,0,0
--1,0,0,0,0,0,0,0,0,0,0

EOF
	assert_success
	refute_line differ
	assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c '^ok$')" 4
	assert_equal "${#lines[@]}" 22
}
