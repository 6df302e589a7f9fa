#!/usr/bin/env bats
# /metrics on metricsProvider.httpPort: a real node scraped with urllib
# and parsed by prometheus_client's text-format parser (zk-gate(1)).

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load node

setup_file() {
	MPORT=$(freeport)
	echo "$MPORT" >"$BATS_FILE_TMPDIR/mport"
	node_start "$BATS_FILE_TMPDIR/node" "metricsProvider.httpPort=$MPORT"
}

teardown_file() {
	node_stop "$(cat "$BATS_FILE_TMPDIR/node/node.pid")"
}

setup() {
	MPORT=$(cat "$BATS_FILE_TMPDIR/mport")
	export MPORT
	HPID=
}

teardown() {
	[ -z "$HPID" ] || node_stop "$HPID"
}

# scrape: print "name type value" per sample, parsed by prometheus_client
scrape() {
	/usr/bin/python3 - <<'PY'
import os, urllib.request
from prometheus_client.parser import text_string_to_metric_families
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % os.environ["MPORT"],
                           timeout=5)
assert r.status == 200, r.status
assert r.headers["Content-Type"] == \
    "text/plain; version=0.0.4; charset=utf-8", r.headers["Content-Type"]
assert r.headers["Connection"] == "close"
text = r.read().decode("utf-8")
for fam in text_string_to_metric_families(text):
    assert fam.documentation, fam.name
    for s in fam.samples:
        print(s.name, fam.type, repr(s.value))
PY
}

# raw REQUEST: send the bytes, print the status line of the answer
raw() {
	/usr/bin/python3 - "$1" <<'PY'
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(os.environ["MPORT"])), 5)
s.settimeout(5)
s.sendall(sys.argv[1].encode("latin-1").decode("unicode_escape")
          .encode("latin-1"))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.split(b"\r\n", 1)[0].decode())
PY
}

@test "GET /metrics: Apache's names, HELP and TYPE, parsed by prometheus_client" {
	run -0 scrape
	for m in znode_count watch_count ephemerals_count approximate_data_size \
	    outstanding_requests avg_latency max_latency min_latency \
	    num_alive_connections packets_received packets_sent \
	    global_sessions uptime quorum_size open_file_descriptor_count \
	    max_file_descriptor_count; do
		assert_line --regexp "^$m gauge [0-9.]+$"
	done
	assert_line --regexp "^readlatency_count summary [0-9.]+$"
	assert_line --regexp "^updatelatency_sum summary [0-9.]+$"
	assert_line "quorum_size gauge 1.0"
}

@test "znode_count, the write latency summary and packets follow creates" {
	local before after
	before=$(scrape | awk '$1 == "znode_count" { print int($3) }')
	for i in 1 2 3 4 5; do
		"$ZK_BIN/zk-cli" create "/m$i" "v$i" >/dev/null
	done
	run -0 scrape
	after=$(printf '%s\n' "${lines[@]}" | awk '$1 == "znode_count" { print int($3) }')
	[ "$after" -eq $((before + 5)) ]
	run -0 scrape
	assert_line --regexp "^updatelatency_count summary ([5-9]|[1-9][0-9]+)\.0$"
	assert_line --regexp "^packets_received gauge [1-9][0-9]*\.0$"
}

@test "fsynctime: zk-log's fsync times as Apache's summary, after writes" {
	"$ZK_BIN/zk-cli" create /f1 x >/dev/null
	sleep 1.2	# zk-log reports at most once a second, after a batch
	"$ZK_BIN/zk-cli" create /f2 x >/dev/null
	run -0 scrape
	assert_line --regexp "^fsynctime_count summary [1-9][0-9]*\.0$"
	assert_line --regexp "^fsynctime_sum summary [0-9.e-]+$"
	assert_line --regexp "^fsynctime summary [0-9.e-]+$"
	n=$(printf '%s\n' "${lines[@]}" | grep -c '^fsynctime summary')
	[ "$n" -eq 3 ]	# quantiles 0.5, 0.9, 0.99
	# and mntr's lines of it, Apache's names, in ms
	run -0 fourlw mntr
	assert_line --regexp $'^zk_avg_fsynctime\t[0-9]+\\.[0-9]+$'
	assert_line --regexp $'^zk_min_fsynctime\t[0-9]+$'
	assert_line --regexp $'^zk_max_fsynctime\t[0-9]+$'
	assert_line --regexp $'^zk_cnt_fsynctime\t[1-9][0-9]*$'
	assert_line --regexp $'^zk_sum_fsynctime\t[0-9]+$'
}

@test "other paths are 404, other methods 405, with Connection: close" {
	run -0 raw 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_output "HTTP/1.1 404 Not Found"
	run -0 raw 'GET /metricsx HTTP/1.0\r\n\r\n'
	assert_output "HTTP/1.1 404 Not Found"
	run -0 raw 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'
	assert_output "HTTP/1.1 405 Method Not Allowed"
	# a query string is the same path; bare LF line ends are taken
	run -0 raw 'GET /metrics?name[]=x HTTP/1.1\nHost: x\n\n'
	assert_output "HTTP/1.1 200 OK"
}

@test "garbage and oversized requests are 400, the gate serves on" {
	run -0 raw 'garbage\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw 'GET /metrics HTTP/2.0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw 'GET  /metrics HTTP/1.1\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw 'GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw "GET /metrics HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n"
	assert_output "HTTP/1.1 400 Bad Request"
	run -0 raw "$(head -c 9000 /dev/zero | tr '\0' a)"
	assert_output "HTTP/1.1 400 Bad Request"
	# a half request does not hold up the others, nor the client port
	exec 5<>"/dev/tcp/127.0.0.1/$MPORT"
	printf 'GET /metr' >&5
	run -0 scrape
	[ "$(fourlw ruok)" = imok ]
	exec 5>&-
	run -0 scrape
}

@test "metricsProvider.httpHost: the endpoint listens on that address only" {
	local d=$BATS_TEST_TMPDIR/hnode mport
	mport=$(freeport)
	node_start "$d" "metricsProvider.httpPort=$mport" \
	    metricsProvider.httpHost=127.0.0.2 \
	    metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
	HPID=$NODEPID
	run -0 /usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.2:%s/metrics" % sys.argv[1],
    timeout=10).status)' "$mport"
	assert_output 200
	run -1 /usr/bin/python3 -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
except ConnectionRefusedError:
    sys.exit(1)' "$mport"
	node_stop "$HPID"
	HPID=
	refute grep -q 'ignored' "$d/node.err"
}
