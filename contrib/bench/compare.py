#!/usr/bin/python3
"""Run the same zk-bench workloads against zk and Apache ZooKeeper 3.8.

    contrib/bench/compare.py [--bin DIR] [--bench PATH] [--rounds N]
        [--secs S] [--znodes Z] [--watchers W] [--out FILE] [--only KIND]
        [--ops LIST] [--null PATH] [--no-floor]

Each round starts a fresh zk (cmd/zk-node) and a fresh Apache ZooKeeper
(Debian's zookeeper package, default settings, fsync on) in temp dirs on
free loopback ports, one after the other (zk, Apache, zk, Apache, ...),
and runs contrib/bench/zk-bench against each: first the operation
workloads on an empty tree, then, on another fresh server, the data
workloads (rss, restart).  Prints the median, the spread (min-max) and the
ratio zk/Apache of every figure, and writes a markdown table (machine
noted) to --out (default contrib/bench/RESULTS.md).  Nothing is asserted:
the machine is shared and noisy; the ratios of one run are what counts.
--ops runs only the operation workloads listed (comma-separated), for a
quick look: then, as with --only, the table is printed and no file written
unless --out names one.

In every round, after zk and Apache (unless --no-floor), the client's
floor: the throughput, latency and session workloads against zk-null
(contrib/bench/zk-null.c), a server that answers every request with a
canned reply and does nothing else but make its writes durable as zk and
Apache do: with -f into a fresh temp dir (tempfile's, like the servers'
data), a record per write appended and one fdatasync per batch before the
replies.  floor/Apache, the median floor over Apache's median, the best
ratio a server that makes its writes durable before answering could reach
with this client on this machine, shows which targets the client and the
disk put out of reach.
One floor run is not enough: on this VM a wake-up across CPUs costs tens
of microseconds or a few, from one minute to the next.

make bench runs it.  Every server started here is stopped by its pid.
"""

import argparse
import datetime
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAVA_CP = "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf"
# lat-get, lat-set, session and fanout: zk-bench's raw single-thread
# client; the -mt ones: libzookeeper-mt, whose client threads rather than
# the server set the pace
OPS = ["get", "set", "create", "mixed", "lat-get", "lat-set", "session",
       "fanout", "lat-get-mt", "lat-set-mt", "session-mt", "fanout-mt"]
DATA = ["rss", "restart"]
# what zk-null can be measured with (fanout: it keeps no watches)
FLOOR = ["get", "set", "lat-get", "lat-set", "session", "lat-get-mt",
         "lat-set-mt", "session-mt"]

# figure, what it is ({k}: sessions in flight, {c}: connections, {w}:
# watchers), target ratio zk/Apache from issue 4 ("" for none)
ROWS = [
    ("get_tput", "get throughput", ">= 3.0x"),
    ("set_tput", "set throughput (fsync on)", ">= 2.5x"),
    ("create_tput", "create+delete throughput", ""),
    ("mixed_tput", "mixed 90% get / 10% set throughput", ""),
    ("lat_get_p50", "get latency p50, 1 in flight (raw single-thread "
     "client)", "<= 0.45x"),
    ("lat_get_p99", "get latency p99 (raw client)", ""),
    ("lat_get_p999", "get latency p99.9 (raw client)", ""),
    ("lat_set_p50", "set latency p50, 1 in flight (raw single-thread "
     "client)", "<= 0.5x"),
    ("lat_set_p99", "set latency p99 (raw client)", ""),
    ("lat_set_p999", "set latency p99.9 (raw client)", ""),
    ("lat_get_mt_p50", "get latency p50, 1 in flight (libzookeeper-mt)", ""),
    ("lat_get_mt_p99", "get latency p99 (libzookeeper-mt)", ""),
    ("lat_get_mt_p999", "get latency p99.9 (libzookeeper-mt)", ""),
    ("lat_set_mt_p50", "set latency p50, 1 in flight (libzookeeper-mt)", ""),
    ("lat_set_mt_p99", "set latency p99 (libzookeeper-mt)", ""),
    ("lat_set_mt_p999", "set latency p99.9 (libzookeeper-mt)", ""),
    ("session_rate", "session open+close rate (raw single-thread client, "
     "{k} in flight)", ">= 4x"),
    ("session_mt_rate", "session open+close rate (libzookeeper-mt, "
     "{c} threads)", ""),
    ("fanout_ms", "watch fan-out to {w} sessions (raw single-thread client)",
     "<= 0.3x"),
    ("fanout_mt_ms", "watch fan-out to {w} sessions (libzookeeper-mt, a "
     "handle each)", ""),
    ("load_tput", "create rate loading Z znodes", ""),
    ("rss", "memory (PSS) with Z znodes, settled", "<= 0.1x"),
    ("rss_peak", "memory (PSS) peak right after the load", ""),
    ("rss_vmrss", "memory, sum of VmRSS (shared pages once per process)", ""),
    ("restart_s", "restart to serving with Z znodes", "<= 0.2x"),
    ("get_cpu", "server CPU per get", "< 0.2x"),
    ("set_cpu", "server CPU per set", ""),
    ("create_cpu", "server CPU per create/delete", ""),
    ("mixed_cpu", "server CPU per mixed op", ""),
    ("session_cpu", "server CPU per session open+close (raw client)", ""),
    ("session_mt_cpu", "server CPU per session open+close "
     "(libzookeeper-mt)", ""),
]
UNITS = {}
current = {}        # kind -> run dir of the server now running


def say(*a):
    print("compare:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server_cmd(kind, d, bindir):
    cfg = os.path.join(d, "zoo.cfg")
    if kind == "zk":
        argv = [os.path.join(bindir, "zk-node"), cfg]
    else:
        argv = ["java", "-cp", JAVA_CP, "-Dzookeeper.log.dir=" + d,
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
    log = os.path.join(d, "server.log")
    # setsid execs the server (a background job leads no group): $! is it
    return "cd %s; setsid %s >>%s 2>&1 </dev/null & echo $! >%s" % (
        shlex.quote(d), " ".join(shlex.quote(a) for a in argv),
        shlex.quote(log), shlex.quote(os.path.join(d, "pid")))


def stop_cmd(d):
    pidf = shlex.quote(os.path.join(d, "pid"))
    return ("p=$(cat %s); kill -TERM $p 2>/dev/null; i=0; "
            "while [ $i -lt 300 ] && kill -0 $p 2>/dev/null && "
            "! grep -q '^[^)]*) Z' /proc/$p/stat 2>/dev/null; "
            "do sleep 0.05; i=$((i+1)); done; "
            "kill -KILL -$p 2>/dev/null; true" % pidf)


def readpid(d):
    with open(os.path.join(d, "pid")) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def start(kind, bindir):
    d = tempfile.mkdtemp(prefix="zk-bench-%s." % kind)
    port = free_port()
    os.makedirs(os.path.join(d, "data"))
    with open(os.path.join(d, "zoo.cfg"), "w") as f:
        # Apache's defaults; unlimited connections per address for the
        # fan-out sessions, no admin server (its port 8080 may be taken)
        f.write("tickTime=2000\ninitLimit=10\nsyncLimit=5\n"
                "dataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                "maxClientCnxns=0\nadmin.enableServer=false\n"
                "4lw.commands.whitelist=*\n" % (d, port))
    subprocess.run(["sh", "-c", server_cmd(kind, d, bindir)], check=True)
    current[kind] = d
    return d, port


def stop(kind):
    d = current.pop(kind, None)
    if d is None:
        return
    try:
        pid = readpid(d)
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):            # 15 s
            if not alive(pid):
                break
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)  # anything left of this server
    except (OSError, ValueError):
        pass
    subprocess.run(["rm", "-rf", d], check=False)


def bench(args, port, pid, workloads, d=None, kind=None, bindir=None):
    argv = [args.bench, "-z", "127.0.0.1:%d" % port, "-p", str(pid),
            "-c", str(args.conns), "-n", str(args.inflight),
            "-d", str(args.secs), "-s", "100", "-Z", str(args.znodes),
            "-W", str(args.watchers), "-r", "5"]
    if d is not None:
        argv += ["-K", stop_cmd(d), "-R", server_cmd(kind, d, bindir)]
    argv += workloads
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=1200)
    figs = {}
    for line in p.stdout.splitlines():
        kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "figure" in kv and "value" in kv:
            figs[kv["figure"]] = float(kv["value"])
            UNITS[kv["figure"]] = kv.get("unit", "")
    if p.returncode != 0 or p.stderr.strip():
        say("zk-bench %s: exit %d: %s" % (" ".join(workloads), p.returncode,
                                          p.stderr.strip()[-400:]))
    return figs


def one(kind, args, phase):
    d, port = start(kind, args.bin)
    try:
        pid = readpid(d)
        bench(args, port, pid, ["wait"])
        if phase == "ops":
            return bench(args, port, pid, args.ops)
        return bench(args, port, pid, DATA, d, kind, args.bin)
    finally:
        stop(kind)


def floor(args):
    """The FLOOR workloads of --ops against a fresh zk-null on a free
    port, its writes made durable in a fresh temp dir (-f): their figures
    (not CPU or errors: zk-null's own)."""
    ops = [w for w in args.ops if w in FLOOR]
    if not ops:
        return {}
    say("floor: zk-null, %s (load %s)" % (",".join(ops), loadavg()))
    port = free_port()
    d = tempfile.mkdtemp(prefix="zk-bench-null.")
    try:
        p = subprocess.Popen([args.null, "-f", os.path.join(d, "log"),
                              "-p", str(port)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)
        try:
            bench(args, port, p.pid, ["wait"])
            figs = bench(args, port, p.pid, ops)
        finally:
            p.send_signal(signal.SIGTERM)   # by its pid, unless reaped
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    finally:
        subprocess.run(["rm", "-rf", d], check=False)
    return {f: v for f, v in figs.items()
            if not f.endswith("_cpu") and not f.endswith("_err")}


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return os.cpu_count(), model, platform.release()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


def table(res, args):
    lines = []
    for fig, what, target in ROWS:
        what = what.format(k=args.k, c=args.conns, w=args.watchers)
        z, a = res["zk"].get(fig, []), res["apache"].get(fig, [])
        if not z and not a:
            continue
        mz = statistics.median(z) if z else None
        ma = statistics.median(a) if a else None
        ratio = "%.2fx" % (mz / ma) if z and a and ma else "-"
        fl = res["floor"].get(fig)
        best = "%.2fx" % (statistics.median(fl) / ma) if fl and ma else ""
        lines.append((fig, what, UNITS.get(fig, ""),
                      fmt(mz), "%s-%s" % (fmt(min(z)), fmt(max(z))) if z else "-",
                      fmt(ma), "%s-%s" % (fmt(min(a)), fmt(max(a))) if a else "-",
                      ratio, best, target))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(TOP, "cmd"))
    ap.add_argument("--bench", default=os.path.join(TOP, "contrib/bench/zk-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=100)
    ap.add_argument("--znodes", type=int, default=200000)
    ap.add_argument("--watchers", type=int, default=500)
    ap.add_argument("--out")
    ap.add_argument("--only", choices=["zk", "apache"])
    ap.add_argument("--ops", help="comma-separated: " + ",".join(OPS))
    ap.add_argument("--null", help="zk-null (default: next to --bench)")
    ap.add_argument("--floor", action=argparse.BooleanOptionalAction,
                    default=True, help="measure the client's floor on "
                    "zk-null, each round (default: yes)")
    args = ap.parse_args()
    phases = ("ops", "data")
    if args.ops:
        args.ops = args.ops.split(",")
        for w in args.ops:
            if w not in OPS:
                sys.exit("compare: --ops: %s is none of %s" % (w, ",".join(OPS)))
        phases = ("ops",)
    else:
        args.ops = OPS
    if args.out is None and not args.only and len(phases) == 2:
        args.out = os.path.join(TOP, "contrib/bench/RESULTS.md")
    # zk-bench's session: conns x inflight raw sessions in flight, 4096 at most
    args.k = min(args.conns * args.inflight, 4096)
    args.bin = os.path.abspath(args.bin)
    args.bench = os.path.abspath(args.bench)
    args.null = os.path.abspath(args.null or os.path.join(
        os.path.dirname(args.bench), "zk-null"))
    need = [os.path.join(args.bin, "zk-node"), args.bench]
    if args.floor:
        need.append(args.null)
    for f in need:
        if not os.access(f, os.X_OK):
            sys.exit("compare: %s: not built (make bench)" % f)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    kinds = [args.only] if args.only else ["zk", "apache"]
    res = {"zk": {}, "apache": {}, "floor": {}}
    t0 = time.monotonic()
    load0 = loadavg()
    try:
        for r in range(args.rounds):
            for phase in phases:
                for kind in kinds:
                    say("round %d/%d: %s %s (%.0f s so far, load %s)" % (
                        r + 1, args.rounds, kind, phase,
                        time.monotonic() - t0, loadavg()))
                    for fig, v in one(kind, args, phase).items():
                        res[kind].setdefault(fig, []).append(v)
                if args.floor and phase == "ops":
                    for fig, v in sorted(floor(args).items()):
                        say("floor: %s %s %s" % (fig, fmt(v),
                                                 UNITS.get(fig, "")))
                        res["floor"].setdefault(fig, []).append(v)
    finally:
        for kind in list(current):
            stop(kind)
    load1 = loadavg()
    rows = table(res, args)
    hdr = ("figure", "what", "unit", "zk median", "zk min-max",
           "Apache median", "Apache min-max", "zk/Apache", "floor/Apache",
           "target")
    w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
    for x in [hdr] + rows:
        print("  ".join(str(v).ljust(w[i]) for i, v in enumerate(x) if i != 1))
    if args.out is None:
        return
    nproc, model, kernel = machine()
    rev = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    cmd = " ".join(["contrib/bench/compare.py"] + sys.argv[1:])
    with open(args.out, "w") as f:
        f.write("# zk and Apache ZooKeeper 3.8, side by side\n\n")
        f.write("Written by `%s` (what `make bench` runs) on %s, "
                "zk at %s, in %.0f s.\n\n" % (
                    cmd, datetime.date.today().isoformat(), rev,
                    time.monotonic() - t0))
        f.write("Machine: %d CPUs (nproc), %s, Linux %s; load average %s "
                "before, %s after. The machine is shared: the client, the "
                "server and other people's builds share the CPUs.\n\n" % (
                    nproc, model, kernel, load0, load1))
        f.write("Workloads (contrib/bench/zk-bench, on libzookeeper-mt "
                "unless said otherwise): %d connections x %d requests in "
                "flight, 100-byte values, %d s per throughput figure after 1 "
                "s of warm-up; latency with 1 request in flight, 20000 "
                "requests or %d s after 200 not counted; fan-out to %d "
                "sessions (median of 5 sets); %d znodes of 100 bytes for RSS "
                "and restart. Latency, session and fan-out are measured "
                "twice: with zk-bench's own raw client (one thread, "
                "nonblocking sockets on epoll; latency: one session, a "
                "getData or setData of one key at a time; session: %d "
                "sessions in flight, each a connect, ConnectRequest, "
                "closeSession and close; fan-out: one exists watch per "
                "session), the headline figures, and with libzookeeper-mt "
                "(`_mt`: zoo_get and zoo_set on one handle; %d threads each "
                "opening and closing sessions one at a time; a handle per "
                "watcher), whose two client threads per handle, not the "
                "server, set the pace on this machine. "
                "Rounds: %d, each starting a fresh zk, then a fresh Apache "
                "(default settings, fsync on, Debian's zookeeper 3.8.0); "
                "median and min-max of the rounds.\n\n" % (
                    args.conns, args.inflight, args.secs, args.secs,
                    args.watchers, args.znodes, args.k, args.conns,
                    args.rounds))
        f.write("| %s |\n|%s\n" % (" | ".join(hdr), "---|" * len(hdr)))
        for x in rows:
            f.write("| `%s` | %s |\n" % (x[0], " | ".join(x[1:])))
        f.write("\nCPU per op: utime+stime from /proc/PID/stat over the "
                "measured seconds, of the whole process tree (zk: zk-node, "
                "its sh wrappers and the four daemons; Apache: the JVM), "
                "divided by the requests answered. Memory: the sum of Pss "
                "(/proc/PID/smaps_rollup) over the same tree, each shared "
                "page split among the processes mapping it; rss_vmrss sums "
                "VmRSS instead, which counts the C library's pages once for "
                "each of zk's processes. Restart: from the start command to the first "
                "getData of the last znode answered on a new connection "
                "(the stop before it is not timed). ")
        if args.floor:
            f.write("floor/Apache: the median over the rounds of the "
                    "throughput, latency and session figures against zk-null "
                    "(contrib/bench/zk-null.c), a single-thread server "
                    "that answers every request with a canned reply and "
                    "keeps nothing, but makes its writes durable as zk and "
                    "Apache do (`-f`: a record per session open, create, "
                    "delete, setData and closeSession appended to a "
                    "preallocated file in a temp dir on the servers' "
                    "filesystem, one fdatasync per batch before the "
                    "replies), over Apache's median: the best ratio a "
                    "server that makes its writes durable before answering "
                    "could show with this client on this machine, so a "
                    "target beyond it is out of the client's and the "
                    "disk's reach, not the server's (none for fan-out: "
                    "zk-null keeps no watches). ")
        f.write("Targets are issue 4's; nothing here is asserted.\n")
    say("wrote %s" % args.out)


if __name__ == "__main__":
    main()
