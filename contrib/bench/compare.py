#!/usr/bin/python3
"""Run the same zk-bench workloads against zk and Apache ZooKeeper 3.8.

    contrib/bench/compare.py [--bin DIR] [--bench PATH] [--rounds N]
        [--secs S] [--znodes Z] [--watchers W] [--out FILE] [--only KIND]
        [--ops LIST] [--null PATH] [--no-floor] [--pin CPU | --no-pin]

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

The latency workloads also run pinned (unless --no-pin): server and
client both bound to one CPU with taskset(1) (--pin, default the last
CPU), each server fresh, zk-null too.  Every wake-up along a request's
path is then on that CPU, so the _1cpu figures show what each server's
own code costs per request, apart from the price of waking an idle CPU,
which on this VM (an idle vCPU halts; waking it is a trip through the
host) is tens of microseconds per hop and dominates the unpinned p50s.

make bench runs it.  Every server started here is stopped by its pid.
"""

import argparse
import datetime
import os
import platform
import shlex
import signal
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
OPS = ["conns", "get", "set", "create", "mixed", "lat-get", "lat-set",
       "session", "fanout", "lat-get-mt", "lat-set-mt", "session-mt",
       "fanout-mt", "big"]
# conns: this many idle sessions, first on the fresh server (memory that
# a later workload frees is reused, and a JVM's heap only grows)
CONNS = 5000
# big: set and get throughput again with values of these sizes (names in
# the figures), BIG_INFLIGHT in flight per connection, after the others
# (it rewrites their keys)
BIG = [("100k", 100000), ("1m", 1000000)]
BIG_INFLIGHT = 10
DATA = ["rss", "restart"]
# what zk-null can be measured with (fanout: it keeps no watches)
FLOOR = ["get", "set", "lat-get", "lat-set", "session", "lat-get-mt",
         "lat-set-mt", "session-mt"]
# the pinned phase: these, their figures renamed lat_get_p50 ->
# lat_get_1cpu_p50 and so on
PINNED = ["lat-get", "lat-set"]
# fan-out: sets timed per round, their median is the round's figure
FANOUT_SETS = 15

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
    ("lat_get_1cpu_p50", "get latency p50, server and client on one CPU "
     "(raw client)", ""),
    ("lat_get_1cpu_p99", "get latency p99, on one CPU (raw client)", ""),
    ("lat_set_1cpu_p50", "set latency p50, server and client on one CPU "
     "(raw client)", ""),
    ("lat_set_1cpu_p99", "set latency p99, on one CPU (raw client)", ""),
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
    ("conn_mem_kb", "server memory (PSS) per idle session, %d raw "
     "sessions open on a fresh server" % CONNS, ""),
    ("get_100k_tput", "get throughput, 100 kB values ({c} x %d in flight)"
     % BIG_INFLIGHT, ""),
    ("set_100k_tput", "set throughput, 100 kB values", ""),
    ("get_1m_tput", "get throughput, 1 MB values ({c} x %d in flight)"
     % BIG_INFLIGHT, ""),
    ("set_1m_tput", "set throughput, 1 MB values", ""),
    ("load_tput", "create rate loading Z znodes", ""),
    ("rss", "memory (PSS) with Z znodes, settled", "<= 0.1x"),
    ("rss_peak", "memory (PSS) peak right after the load", ""),
    ("rss_vmrss", "memory, sum of VmRSS (shared pages once per process)", ""),
    ("restart_s", "restart to serving with Z znodes", "<= 0.2x"),
    ("get_cpu", "server CPU per get", "< 0.2x"),
    ("set_cpu", "server CPU per set", ""),
    ("create_cpu", "server CPU per create/delete", ""),
    ("mixed_cpu", "server CPU per mixed op", ""),
    ("get_100k_cpu", "server CPU per get of 100 kB", ""),
    ("set_100k_cpu", "server CPU per set of 100 kB", ""),
    ("get_1m_cpu", "server CPU per get of 1 MB", ""),
    ("set_1m_cpu", "server CPU per set of 1 MB", ""),
    ("session_cpu", "server CPU per session open+close (raw client)", ""),
    ("session_mt_cpu", "server CPU per session open+close "
     "(libzookeeper-mt)", ""),
]
UNITS = {}
current = {}        # kind -> run dir of the server now running


def say(*a):
    print("compare:", *a, file=sys.stderr, flush=True)


def free_ports(n):
    """n different free ports below the kernel's ephemeral range, where
    no outgoing connection takes one before its server binds it
    (t/freeport.py); asked for at once, as ports asked for one by one
    may repeat (none is bound until its server starts)"""
    out = subprocess.run([sys.executable, os.path.join(TOP, "t",
                                                       "freeport.py"),
                          str(n)],
                         stdout=subprocess.PIPE, text=True, check=True)
    return [int(x) for x in out.stdout.split()]


def free_port():
    """one free port, as free_ports"""
    return free_ports(1)[0]


def taskset(pin):
    """argv prefix binding a program to CPU pin (None: no prefix)"""
    return [] if pin is None else ["taskset", "-c", str(pin)]


def server_cmd(kind, d, bindir, pin=None):
    cfg = os.path.join(d, "zoo.cfg")
    if kind == "zk":
        argv = taskset(pin) + [os.path.join(bindir, "zk-node"), cfg]
    else:
        argv = taskset(pin) + ["java", "-cp", JAVA_CP, "-Dzookeeper.log.dir=" + d,
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


def start(kind, bindir, pin=None):
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
    subprocess.run(["sh", "-c", server_cmd(kind, d, bindir, pin)],
                   check=True)
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


def bench(args, port, pid, workloads, d=None, kind=None, bindir=None,
          pin=None, size=100, inflight=None, watchers=None):
    argv = taskset(pin) + [args.bench, "-z", "127.0.0.1:%d" % port, "-p", str(pid),
            "-c", str(args.conns), "-n", str(inflight or args.inflight),
            "-d", str(args.secs), "-s", str(size), "-Z", str(args.znodes),
            "-W", str(watchers or args.watchers), "-r", str(FANOUT_SETS)]
    if d is not None:
        argv += ["-K", stop_cmd(d), "-R", server_cmd(kind, d, bindir)]
    return run_bench(argv, workloads)


def run_bench(argv, workloads):
    """zk-bench argv + workloads: its figures (units into UNITS)"""
    p = subprocess.run(argv + workloads, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=1200)
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


def pinned(figs):
    """lat_get_p50 -> lat_get_1cpu_p50: the pinned phase's figures"""
    out = {}
    for f, v in figs.items():
        head, _, q = f.rpartition("_")
        if f.startswith("lat_") and q in ("p50", "p99", "p999"):
            name = "%s_1cpu_%s" % (head, q)
            out[name] = v
            UNITS[name] = UNITS.get(f, "")
    return out


def one(kind, args, phase):
    pin = args.pin if phase == "pin" else None
    d, port = start(kind, args.bin, pin)
    try:
        pid = readpid(d)
        bench(args, port, pid, ["wait"])
        if phase == "ops":
            figs = {}
            if "conns" in args.ops:
                figs = bench(args, port, pid, ["conns"], watchers=CONNS)
            rest = [w for w in args.ops if w not in ("big", "conns")]
            if rest:
                figs.update(bench(args, port, pid, rest))
            if "big" in args.ops:
                figs.update(big(args, port, pid))
            return figs
        if phase == "pin":
            return pinned(bench(args, port, pid, args.pinops, pin=pin))
        return bench(args, port, pid, DATA, d, kind, args.bin)
    finally:
        stop(kind)


def big(args, port, pid):
    """set and get with BIG values: get_tput -> get_100k_tput and so on"""
    out = {}
    for name, size in BIG:
        for f, v in bench(args, port, pid, ["set", "get"], size=size,
                          inflight=BIG_INFLIGHT).items():
            op, _, rest = f.partition("_")
            out["%s_%s_%s" % (op, name, rest)] = v
            UNITS["%s_%s_%s" % (op, name, rest)] = UNITS.get(f, "")
    return out


def floor(args, phase="ops"):
    """The FLOOR workloads of --ops (or the pinned phase's) against a
    fresh zk-null on a free port, its writes made durable in a fresh temp
    dir (-f): their figures (not CPU or errors: zk-null's own)."""
    pin = args.pin if phase == "pin" else None
    ops = args.pinops if pin is not None else [w for w in args.ops
                                                if w in FLOOR]
    if not ops:
        return {}
    say("floor: zk-null, %s%s (load %s)" % (
        ",".join(ops), "" if pin is None else " on CPU %d" % pin, loadavg()))
    port = free_port()
    d = tempfile.mkdtemp(prefix="zk-bench-null.")
    try:
        p = subprocess.Popen(taskset(pin) + [args.null, "-f",
                                             os.path.join(d, "log"),
                                             "-p", str(port)],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)
        try:
            bench(args, port, p.pid, ["wait"])
            figs = bench(args, port, p.pid, ops, pin=pin)
            if pin is not None:
                figs = pinned(figs)
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


def table(res, rows, fill, floor=True):
    """rows (figure, what, target) with res's medians, spreads and ratios;
    fill: the fields of each what; floor: the floor/Apache column"""
    lines = []
    for fig, what, target in rows:
        what = what.format(**fill)
        z, a = res["zk"].get(fig, []), res["apache"].get(fig, [])
        if not z and not a:
            continue
        mz = statistics.median(z) if z else None
        ma = statistics.median(a) if a else None
        ratio = "%.2fx" % (mz / ma) if z and a and ma else "-"
        line = (fig, what, UNITS.get(fig, ""),
                fmt(mz), "%s-%s" % (fmt(min(z)), fmt(max(z))) if z else "-",
                fmt(ma), "%s-%s" % (fmt(min(a)), fmt(max(a))) if a else "-",
                ratio)
        if floor:
            fl = res["floor"].get(fig)
            line += ("%.2fx" % (statistics.median(fl) / ma)
                     if fl and ma else "",)
        lines.append(line + (target,))
    return lines


def show(hdr, rows):
    """the table on standard output, without the what column"""
    w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
    for x in [hdr] + rows:
        print("  ".join(str(v).ljust(w[i]) for i, v in enumerate(x) if i != 1))


def markdown(f, hdr, rows):
    f.write("| %s |\n|%s\n" % (" | ".join(hdr), "---|" * len(hdr)))
    for x in rows:
        f.write("| `%s` | %s |\n" % (x[0], " | ".join(x[1:])))


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
    ap.add_argument("--pin", type=int, default=os.cpu_count() - 1,
                    help="the CPU of the pinned latency phase (default: "
                    "the last)")
    ap.add_argument("--no-pin", dest="pin", action="store_const",
                    const=None, help="skip the pinned latency phase")
    args = ap.parse_args()
    phases = ("ops", "pin", "data")
    if args.ops:
        args.ops = args.ops.split(",")
        for w in args.ops:
            if w not in OPS:
                sys.exit("compare: --ops: %s is none of %s" % (w, ",".join(OPS)))
        phases = ("ops", "pin")
    else:
        args.ops = OPS
    args.pinops = [w for w in PINNED if w in args.ops]
    if args.pin is None or not args.pinops:
        phases = tuple(p for p in phases if p != "pin")
    elif not 0 <= args.pin < os.cpu_count():
        sys.exit("compare: --pin %d: no such CPU" % args.pin)
    if args.out is None and not args.only and "data" in phases:
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
                if args.floor and phase in ("ops", "pin"):
                    for fig, v in sorted(floor(args, phase).items()):
                        say("floor: %s %s %s" % (fig, fmt(v),
                                                 UNITS.get(fig, "")))
                        res["floor"].setdefault(fig, []).append(v)
    finally:
        for kind in list(current):
            stop(kind)
    load1 = loadavg()
    rows = table(res, ROWS, {"k": args.k, "c": args.conns,
                             "w": args.watchers})
    hdr = ("figure", "what", "unit", "zk median", "zk min-max",
           "Apache median", "Apache min-max", "zk/Apache", "floor/Apache",
           "target")
    show(hdr, rows)
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
                "unless said otherwise): first, on the fresh server, "
                "%d idle raw sessions opened at once and the server's "
                "memory (PSS) before and after; then %d connections x %d "
                "requests in flight, 100-byte values, %d s per throughput figure after 1 "
                "s of warm-up; latency with 1 request in flight, 20000 "
                "requests or %d s after 200 not counted; fan-out to %d "
                "sessions (median of %d sets); %d znodes of 100 bytes for RSS "
                "and restart; big values last: set, then get, of 100 kB and "
                "then 1 MB values on the same keys, %d in flight per "
                "connection. Latency, session and fan-out are measured "
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
                    CONNS, args.conns, args.inflight, args.secs, args.secs,
                    args.watchers, FANOUT_SETS, args.znodes, BIG_INFLIGHT,
                    args.k,
                    args.conns,
                    args.rounds))
        markdown(f, hdr, rows)
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
        if "pin" in phases:
            f.write("_1cpu: the latency workloads again on a fresh server "
                    "of each kind (and zk-null), server and client bound "
                    "to CPU %d with taskset(1), so that every wake-up on a "
                    "request's path stays on one CPU: what each server's "
                    "own code costs per request, without the price of "
                    "waking an idle CPU, which on this VM (an idle vCPU "
                    "halts, and waking it goes through the host) is tens "
                    "of microseconds per wake-up and is most of the "
                    "unpinned p50s. " % args.pin)
        f.write("Targets are issue 4's; nothing here is asserted.\n")
    say("wrote %s" % args.out)


if __name__ == "__main__":
    main()
