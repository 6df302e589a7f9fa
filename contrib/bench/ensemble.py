#!/usr/bin/python3
"""Run the same ensemble workloads against 3-node zk and Apache ZooKeeper
3.8 ensembles on this machine.

    contrib/bench/ensemble.py [--bin DIR] [--bench PATH] [--rounds N]
        [--secs S] [--conns C] [--failovers F] [--out FILE]
        [--only KIND] [--ops LIST]

Each round starts a fresh 3-node zk ensemble (cmd/zk-node, one per node,
each in a process group of its own) and then a fresh 3-node Apache
ensemble (Debian's zookeeper, one JVM per node, default settings, fsync
on), on free loopback ports with their data in temp dirs, and runs
contrib/bench/zk-bench against each: get, set and mixed throughput with
the sessions spread evenly over the three nodes (zk-bench -S), then get
and set latency, one request in flight, through a follower (where two
clients in three are).  Then get throughput and latency once more on
fresh zk ensembles with linearizableReads=true (lin_ figures, set beside
Apache's plain gets, and a line comparing them with zk's plain reads).
Then get and set throughput on fresh ensembles of each kind with two
observers beside the three voters (obs_ figures; gets spread over all
five nodes, sets over the voters; a line compares them with the same
kind's voters alone).  Then, once per kind on a fresh ensemble, the
failover: --failovers times, kill -9 of the leader's process group, and
the time from the kill to the first write (a setData on a session opened
after the kill) answered through either survivor; the killed node is
started again and the ensemble is whole before the next kill.  Then,
once per kind on a fresh ensemble, a rolling restart under t/rolling.py's
four writers: SIGTERM to each node's process group in turn, the leader
last, the node started again and the ensemble whole before the next;
the slowest write of a client that stayed connected, of any client,
the writers' p99.9 before, and the writes that failed; then the same
writers for as long with nothing restarted, and their slowest write
(the tail the load has anyway here: the stall is set beside it).  Prints the
median, the spread (min-max) and the ratio zk/Apache of every figure, and
writes a markdown table to --out (default contrib/bench/ENSEMBLE.md
when every workload ran).

Nothing is asserted: the machine is shared and noisy, and three servers
and the client share its CPUs; the ratios of one run are what counts.
make bench runs it after compare.py.  Every server started here is
stopped by its process group.
"""

import argparse
import datetime
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (free_ports, fmt, loadavg, machine, UNITS)

TOP = compare.TOP
NODES = 3
OBSERVERS = 2       # the obs phase's, beside the NODES voters
OPS = ["get", "set", "mixed", "lat-get", "lat-set", "failover", "lin",
       "rolling", "obs"]
ROWS = [
    ("get_tput", "get throughput, {c} sessions spread over the 3 nodes, "
     "{n} in flight each", ">= 3.0x"),
    ("set_tput", "set throughput (fsync on), spread likewise", ">= 3.0x"),
    ("mixed_tput", "mixed 90% get / 10% set throughput, spread likewise",
     ""),
    ("lat_get_p50", "get latency p50 through a follower, 1 in flight "
     "(raw client)", ""),
    ("lat_get_p99", "get latency p99 through a follower", ""),
    ("lat_set_p50", "set latency p50 through a follower, 1 in flight "
     "(raw client)", ""),
    ("lat_set_p99", "set latency p99 through a follower", ""),
    ("failover_ms", "kill -9 of the leader to the first write answered "
     "by a survivor (median of {f})", "<= 0.5x"),
    ("failover_max_ms", "the same, the slowest of {f}", ""),
    ("rolling_stall_ms", "rolling restart (SIGTERM one node at a time, the "
     "leader last) under 4 writers: the slowest write of a client that "
     "was connected when it began and kept its connection (Apache drops "
     "every client at a change of leader: its figure leaves those out)",
     "<= 2x a normal write's p99.9"),
    ("rolling_max_ms", "the same, the slowest write of any client (those "
     "of a stopped node move)", ""),
    ("rolling_base_p999_ms", "the writers' p99.9 before the restarts", ""),
    ("rolling_quiet_max_ms", "the same writers for as long on the same "
     "ensemble, nothing restarted: their slowest write (the load's own "
     "tail on this machine, to set the stall beside)", ""),
    ("rolling_quiet_p999_ms", "the same quiet run's p99.9: a normal "
     "write's p99.9 over as many writes as the restarts had", ""),
    ("rolling_failed", "writes failed in the rolling restart (a client "
     "retries connection loss 5 times, 20 ms apart)", "0"),
    ("lin_get_tput", "get throughput, zk with linearizableReads=true "
     "(a read index per batch) against Apache's plain gets", ""),
    ("lin_lat_get_p50", "get latency p50 through a follower, zk with "
     "linearizableReads=true, against Apache's plain gets", ""),
    ("lin_lat_get_p99", "the same, p99", ""),
    ("obs_get_tput", "get throughput with 2 observers beside the 3 voters, "
     "{c} sessions spread over the 5 nodes", ""),
    ("obs_set_tput", "set throughput with 2 observers, {c} sessions spread "
     "over the 3 voters", ""),
    ("get_cpu", "CPU of the 3 nodes per get", ""),
    ("set_cpu", "CPU of the 3 nodes per set", ""),
    ("mixed_cpu", "CPU of the 3 nodes per mixed op", ""),
]
say = compare.say
running = []        # the ensembles now running
# ZK_BENCH_DEBUG=1: zk nodes run with -d (debug lines in nI/log, each
# stamped with the wall clock: ZK_DEBUG_TIME), their
# directories are kept (the path is said), and the rolling restart says
# the wall clock of each SIGTERM and start (to set beside ROLLTRACE)
DEBUG = bool(os.environ.get("ZK_BENCH_DEBUG"))


class Ensemble:
    """NODES voters (and observers, if asked) of one kind on loopback,
    each in its own dir and process group, all children of one sh
    (self.wrap) so that zk-bench -p counts their CPU together."""

    def __init__(self, kind, bindir, extra="", observers=0):
        self.kind = kind
        self.bindir = bindir
        self.n = NODES + observers      # voters 1..NODES, then observers
        self.dir = tempfile.mkdtemp(prefix="zk-bench-ens-%s." % kind)
        self.port = {}
        self.pid = {}
        # all at once: ports asked for one by one may repeat, and then
        # two nodes bind the same one (a voter's srvr answered by an
        # observer)
        ports = iter(compare.free_ports(3 * self.n))
        q = {i: next(ports) for i in self.ids()}
        e = {i: next(ports) for i in self.ids()}
        for i in self.ids():
            self.port[i] = next(ports)
            os.makedirs(self.data(i))
            with open(os.path.join(self.data(i), "myid"), "w") as f:
                f.write("%d\n" % i)
            with open(self.cfg(i), "w") as f:
                # Apache's defaults, as compare.py sets them
                f.write("tickTime=2000\ninitLimit=10\nsyncLimit=5\n"
                        "dataDir=%s\nclientPort=%d\n"
                        "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n"
                        "admin.enableServer=false\n"
                        "4lw.commands.whitelist=*\n%s%s" % (
                            self.data(i), self.port[i], extra,
                            "peerType=observer\n" if i > NODES else ""))
                for j in self.ids():
                    f.write("server.%d=127.0.0.1:%d:%d%s\n" % (
                        j, q[j], e[j], ":observer" if j > NODES else ""))
        running.append(self)
        script = "; ".join(self.cmd(i) for i in self.ids()) + "; wait"
        self.wrap = subprocess.Popen(["sh", "-c", script], cwd=self.dir,
                                     stdin=subprocess.DEVNULL)
        for i in self.ids():
            self.pid[i] = self.readpid(i)

    def ids(self):
        return range(1, self.n + 1)

    def data(self, i):
        return os.path.join(self.dir, "n%d" % i, "data")

    def cfg(self, i):
        return os.path.join(self.dir, "n%d" % i, "zoo.cfg")

    def cmd(self, i):
        """sh: start node i in a process group of its own, its pid to
        nI/pid (setsid execs it: a background job leads no group); no
        subshell, so that the node is the sh's child"""
        d = os.path.join(self.dir, "n%d" % i)
        if self.kind == "zk":
            argv = [os.path.join(self.bindir, "zk-node")] + (
                ["-d"] if DEBUG else []) + [self.cfg(i)]
        else:
            argv = ["java", "-cp", compare.JAVA_CP,
                    "-Dzookeeper.log.dir=" + d,
                    "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                    self.cfg(i)]
        q = compare.shlex.quote
        if DEBUG and self.kind == "zk":
            argv = ["env", "ZK_DEBUG_TIME=1"] + argv    # lines stamped
        return "setsid %s >>%s 2>&1 </dev/null & echo $! >%s" % (
            " ".join(q(a) for a in argv), q(os.path.join(d, "log")),
            q(os.path.join(d, "pid")))

    def readpid(self, i):
        f = os.path.join(self.dir, "n%d" % i, "pid")
        for _ in range(200):
            try:
                with open(f) as fh:
                    return int(fh.read())
            except (FileNotFoundError, ValueError):
                time.sleep(0.01)
        raise RuntimeError("%s: no pid" % f)

    def restart(self, i):
        """node i again (after kill), a child of this process"""
        os.unlink(os.path.join(self.dir, "n%d" % i, "pid"))
        subprocess.run(["sh", "-c", self.cmd(i)], cwd=self.dir, check=True)
        self.pid[i] = self.readpid(i)

    def kill(self, i, sig=signal.SIGKILL):
        try:
            os.killpg(self.pid[i], sig)
        except ProcessLookupError:
            pass
        # 20 s: until it is reaped or a zombie; polled every 5 ms, since
        # the failover's writes start once it is gone
        for _ in range(4000):
            if not compare.alive(self.pid[i]):
                return
            time.sleep(0.005)

    def mode(self, i):
        """node i's Mode from srvr, or None"""
        try:
            with socket.create_connection(("127.0.0.1", self.port[i]),
                                          timeout=1) as s:
                s.sendall(b"srvr")
                out = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    out += b
        except OSError:
            return None
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("Mode: "):
                return line[6:].strip()
        return None

    def whole(self, timeout=120):
        """wait until one node leads, the other voters follow and the
        observers observe; the leader"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            modes = {i: self.mode(i) for i in self.ids()}
            leaders = [i for i, m in modes.items() if m == "leader"]
            if len(leaders) == 1 and all(
                    m == "observer" if i > NODES else
                    m in ("leader", "follower") for i, m in modes.items()):
                return leaders[0]
            time.sleep(0.1)
        raise RuntimeError("%s ensemble not whole in %d s: %s" % (
            self.kind, timeout, modes))

    def hosts(self, first=None):
        order = list(self.ids())
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        return ",".join("127.0.0.1:%d" % self.port[i] for i in order)

    def stop(self):
        for i in self.ids():
            try:
                os.killpg(self.pid[i], signal.SIGTERM)
            except (ProcessLookupError, KeyError):
                pass
        deadline = time.monotonic() + 15
        for i in self.ids():
            while (i in self.pid and compare.alive(self.pid[i]) and
                   time.monotonic() < deadline):
                time.sleep(0.05)
            try:
                os.killpg(self.pid[i], signal.SIGKILL)
            except (ProcessLookupError, KeyError):
                pass
        try:
            self.wrap.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.wrap.kill()
            self.wrap.wait()
        running.remove(self)
        if DEBUG:
            say("kept " + self.dir)
        else:
            subprocess.run(["rm", "-rf", self.dir], check=False)


# The client protocol, as much as a write needs (docs/wire-protocol.md)

def recvframe(s):
    head = b""
    while len(head) < 4:
        b = s.recv(4 - len(head))
        if not b:
            return None
        head += b
    n = struct.unpack(">i", head)[0]
    if not 0 <= n <= 1 << 20:
        return None
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b:
            return None
        body += b
    return body


def frame(body):
    return struct.pack(">i", len(body)) + body


def zstr(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def write_once(port, path, create, deadline):
    """one session on 127.0.0.1:port and one write on it: create path
    (NodeExists is as good) or setData; True once answered without
    error, False on any failure, before deadline (monotonic)"""
    try:
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=0.5) as s:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            s.sendall(frame(struct.pack(">iqiq", 0, 0, 30000, 0) +
                            struct.pack(">i", 16) + bytes(16) + b"\0"))
            if recvframe(s) is None:
                return False
            if create:          # create path "x" open_acl_unsafe persistent
                req = (struct.pack(">ii", 1, 1) + zstr(path) +
                       struct.pack(">i", 1) + b"x" + struct.pack(">i", 1) +
                       struct.pack(">i", 31) + zstr("world") +
                       zstr("anyone") + struct.pack(">i", 0))
            else:               # setData path "y" version -1
                req = (struct.pack(">ii", 1, 5) + zstr(path) +
                       struct.pack(">i", 1) + b"y" + struct.pack(">i", -1))
            s.sendall(frame(req))
            r = recvframe(s)
            if r is None or len(r) < 16:
                return False
            xid, _, rc = struct.unpack(">iqi", r[:16])
            return xid == 1 and (rc == 0 or (create and rc == -110))
    except OSError:
        return False


def failover(ens, n):
    """n kills of the leader: the times in ms to a write on a survivor"""
    path = "/zk-bench-failover"
    out = []
    leader = ens.whole()
    if not write_once(ens.port[leader], path, True, time.monotonic() + 30):
        raise RuntimeError("%s: cannot create %s" % (ens.kind, path))
    for k in range(n):
        leader = ens.whole()
        time.sleep(1)       # the rejoined node has settled
        rest = [i for i in ens.ids() if i != leader]
        t0 = time.monotonic()
        ens.kill(leader)
        deadline = t0 + 120
        j = 0
        while time.monotonic() < deadline:
            if write_once(ens.port[rest[j % len(rest)]], path, False,
                          min(deadline, time.monotonic() + 10)):
                break
            j += 1
            time.sleep(0.005)
        else:
            raise RuntimeError("%s: no write in 120 s after killing the "
                               "leader" % ens.kind)
        ms = (time.monotonic() - t0) * 1000
        say("%s failover %d/%d: leader %d killed, a write after %.0f ms" % (
            ens.kind, k + 1, n, leader, ms))
        out.append(ms)
        ens.restart(leader)
    return out


def rollfigures(ens, text):
    """rolling.py's summary line as a dict"""
    w = text.split()
    try:
        return {w[k]: float(w[k + 1]) for k in range(0, 16, 2)}
    except (IndexError, ValueError):
        raise RuntimeError("%s: rolling.py said %r" % (ens.kind, text))


def rollload(ens, name, trace):
    """t/rolling.py's writers on ens, creating in /NAME: (the process, its
    stop file, the file its output goes to); ROLLTRACE only if trace"""
    stop = os.path.join(ens.dir, name + ".stop")
    out = os.path.join(ens.dir, name + ".out")
    env = dict(os.environ)
    if not trace:
        env.pop("ROLLTRACE", None)
    with open(out, "w") as fh:
        load = subprocess.Popen(
            [sys.executable, os.path.join(TOP, "t", "rolling.py"),
             ens.hosts(), stop, "4", "/" + name], stdout=fh,
            stderr=subprocess.DEVNULL, env=env)
    return load, stop, out


def rollend(load, stop, out):
    """stop rolling.py's writers: their output"""
    with open(stop, "w"):
        pass
    load.wait(timeout=180)
    with open(out) as fh:
        return fh.read()


def rolling(ens):
    """a rolling restart under t/rolling.py's writers: its figures, and
    then those of a quiet run (the same writers for as long, nothing
    restarted), so that the stall can be set beside the load's own
    slowest write on this machine"""
    leader = ens.whole()
    load, stop, out = rollload(ens, "roll", True)
    began = time.monotonic()
    try:
        time.sleep(3)
        for i in [j for j in ens.ids() if j != leader] + [leader]:
            t0 = time.monotonic()
            say("%.4f SIGTERM to node %d" % (time.time(), i))
            ens.kill(i, signal.SIGTERM)
            t1 = time.monotonic()
            ens.restart(i)
            if DEBUG:
                say("%.4f node %d started again" % (time.time(), i))
            ens.whole()
            say("%s rolling restart: node %d%s stopped in %.0f ms, whole "
                "again after %.0f ms" % (
                    ens.kind, i, " (the leader)" if i == leader else "",
                    (t1 - t0) * 1000, (time.monotonic() - t1) * 1000))
            time.sleep(1)
    finally:
        text = rollend(load, stop, out)
    took = time.monotonic() - began
    say("%s rolling restart: %s" % (ens.kind, text.splitlines()[0]
                                    if text else "no output"))
    v = rollfigures(ens, text)
    ens.whole()
    load, stop, out = rollload(ens, "quiet", False)
    try:
        time.sleep(took)
    finally:
        text = rollend(load, stop, out)
    say("%s the same writers for %.0f s, nothing restarted: %s" % (
        ens.kind, took, text.splitlines()[0] if text else "no output"))
    q = rollfigures(ens, text)
    for f in ("rolling_stall_ms", "rolling_max_ms", "rolling_base_p999_ms",
              "rolling_quiet_max_ms", "rolling_quiet_p999_ms"):
        compare.UNITS[f] = "ms"
    compare.UNITS["rolling_failed"] = "writes"
    return {"rolling_stall_ms": v["max_stayed_ms"],
            "rolling_max_ms": v["max_ms"],
            "rolling_base_p999_ms": v["base_p999_ms"],
            "rolling_quiet_max_ms": q["max_ms"],
            "rolling_quiet_p999_ms": q["p999_ms"],
            "rolling_failed": v["failed"]}


def zkbench(args, hosts, pid, workloads):
    return compare.run_bench(
        [args.bench, "-S", "-z", hosts, "-p", str(pid), "-c",
         str(args.conns), "-n", str(args.inflight), "-d", str(args.secs)],
        workloads)


def one(kind, args, phase):
    ens = Ensemble(kind, args.bin, "linearizableReads=true\n"
                   if phase == "lin" else "",
                   OBSERVERS if phase == "obs" else 0)
    try:
        leader = ens.whole()
        follower = min(i for i in ens.ids() if i != leader)
        if phase == "obs":      # its figures under obs_ names
            voters = ",".join("127.0.0.1:%d" % ens.port[i]
                              for i in range(1, NODES + 1))
            zkbench(args, ens.hosts(follower), ens.wrap.pid, ["wait"])
            figs = zkbench(args, ens.hosts(), ens.wrap.pid, ["get"])
            figs.update(zkbench(args, voters, ens.wrap.pid, ["set"]))
            out = {}
            for f, v in figs.items():
                if f in ("get_tput", "set_tput", "get_cpu", "set_cpu"):
                    out["obs_" + f] = v
                    compare.UNITS["obs_" + f] = compare.UNITS.get(f, "")
            return out
        if phase == "lin":      # zk only: its figures under lin_ names
            zkbench(args, ens.hosts(follower), ens.wrap.pid, ["wait"])
            figs = zkbench(args, ens.hosts(), ens.wrap.pid, ["get"])
            figs.update(zkbench(args, ens.hosts(follower), ens.wrap.pid,
                                ["lat-get"]))
            out = {}
            for f, v in figs.items():
                if f in ("get_tput", "lat_get_p50", "lat_get_p99"):
                    out["lin_" + f] = v
                    compare.UNITS["lin_" + f] = compare.UNITS.get(f, "")
            return out
        if phase == "rolling":
            return rolling(ens)
        if phase == "failover":
            ms = failover(ens, args.failovers)
            compare.UNITS["failover_ms"] = "ms"
            compare.UNITS["failover_max_ms"] = "ms"
            return {"failover_ms": statistics.median(ms),
                    "failover_max_ms": max(ms)}
        figs = {}
        zkbench(args, ens.hosts(follower), ens.wrap.pid, ["wait"])
        tput = [w for w in args.ops if w in ("get", "set", "mixed")]
        if tput:
            figs.update(zkbench(args, ens.hosts(), ens.wrap.pid, tput))
        lat = [w for w in args.ops if w in ("lat-get", "lat-set")]
        if lat:
            figs.update(zkbench(args, ens.hosts(follower), ens.wrap.pid,
                                lat))
        return figs
    finally:
        ens.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(TOP, "cmd"))
    ap.add_argument("--bench",
                    default=os.path.join(TOP, "contrib/bench/zk-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=100)
    ap.add_argument("--failovers", type=int, default=10)
    ap.add_argument("--out")
    ap.add_argument("--only", choices=["zk", "apache"])
    ap.add_argument("--ops", help="comma-separated: " + ",".join(OPS))
    args = ap.parse_args()
    if args.ops:
        args.ops = args.ops.split(",")
        for w in args.ops:
            if w not in OPS:
                sys.exit("ensemble: --ops: %s is none of %s" % (
                    w, ",".join(OPS)))
    else:
        args.ops = OPS
        if args.out is None and not args.only:
            args.out = os.path.join(TOP, "contrib/bench/ENSEMBLE.md")
    args.bin = os.path.abspath(args.bin)
    args.bench = os.path.abspath(args.bench)
    for f in (os.path.join(args.bin, "zk-node"), args.bench):
        if not os.access(f, os.X_OK):
            sys.exit("ensemble: %s: not built (make bench)" % f)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    kinds = [args.only] if args.only else ["zk", "apache"]
    res = {"zk": {}, "apache": {}}
    phases = []
    if any(w not in ("failover", "lin", "rolling", "obs")
           for w in args.ops):
        phases += ["ops"] * args.rounds
    if "lin" in args.ops:
        phases += ["lin"] * args.rounds
    if "obs" in args.ops:
        phases += ["obs"] * args.rounds
    if "failover" in args.ops:
        phases.append("failover")
    if "rolling" in args.ops:
        phases.append("rolling")
    t0 = time.monotonic()
    load0 = compare.loadavg()
    try:
        for r, phase in enumerate(phases):
            for kind in kinds:
                if phase == "lin" and kind != "zk":
                    continue    # Apache has no linearizable reads
                say("ensemble %d/%d: %s %s (%.0f s so far, load %s)" % (
                    r + 1, len(phases), kind, phase, time.monotonic() - t0,
                    compare.loadavg()))
                for fig, v in one(kind, args, phase).items():
                    res[kind].setdefault(fig, []).append(v)
    finally:
        for ens in list(running):
            ens.stop()
    load1 = compare.loadavg()
    # linearizable reads: against Apache's plain gets, and zk's own
    lin = {}
    for f in ("get_tput", "lat_get_p50", "lat_get_p99"):
        if "lin_" + f in res["zk"] and f in res["apache"]:
            res["apache"]["lin_" + f] = res["apache"][f]
        if "lin_" + f in res["zk"] and f in res["zk"]:
            lin[f] = (statistics.median(res["zk"]["lin_" + f]) /
                      statistics.median(res["zk"][f]))
    if lin:
        say("zk linearizable reads against its plain reads: %s" % ", ".join(
            "%s %.2fx" % (f, v) for f, v in sorted(lin.items())))
    # observers: against the same kind's three voters alone
    obs = {}
    for kind in kinds:
        for f in ("get_tput", "set_tput", "get_cpu", "set_cpu"):
            if "obs_" + f in res[kind] and f in res[kind]:
                obs.setdefault(kind, {})[f] = (
                    statistics.median(res[kind]["obs_" + f]) /
                    statistics.median(res[kind][f]))
    for kind, v in obs.items():
        say("%s with %d observers against its 3 voters alone: %s" % (
            kind, OBSERVERS, ", ".join("%s %.2fx" % (f, x)
                                       for f, x in sorted(v.items()))))
    rows = compare.table(res, ROWS, {"c": args.conns, "n": args.inflight,
                                     "f": args.failovers}, floor=False)
    hdr = ("figure", "what", "unit", "zk median", "zk min-max",
           "Apache median", "Apache min-max", "zk/Apache", "target")
    compare.show(hdr, rows)
    if args.out is None:
        return
    nproc, model, kernel = compare.machine()
    rev = subprocess.run(["git", "-C", TOP, "describe", "--always",
                          "--dirty"], stdout=subprocess.PIPE,
                         text=True).stdout.strip()
    cmd = " ".join(["contrib/bench/ensemble.py"] + sys.argv[1:])
    with open(args.out, "w") as f:
        f.write("# 3-node zk and Apache ZooKeeper 3.8 ensembles, side by "
                "side\n\n")
        f.write("Written by `%s` (what `make bench` runs after "
                "compare.py) on %s, zk at %s, in %.0f s.\n\n" % (
                    cmd, datetime.date.today().isoformat(), rev,
                    time.monotonic() - t0))
        f.write("Machine: %d CPUs (nproc), %s, Linux %s; load average %s "
                "before, %s after. The three servers of an ensemble and "
                "the client share these CPUs and one disk.\n\n" % (
                    nproc, model, kernel, load0, load1))
        f.write("Each ensemble: three nodes on loopback, tickTime=2000, "
                "initLimit=10, syncLimit=5, fsync on, a data dir each on "
                "the same filesystem. Throughput: contrib/bench/zk-bench "
                "on libzookeeper-mt, %d sessions spread evenly over the "
                "nodes (zk-bench -S), %d requests in flight each, 100-byte "
                "values, %d s after 1 s of warm-up. Latency: zk-bench's "
                "raw client, one session on a follower, one request in "
                "flight. CPU: utime+stime of the three nodes' process "
                "trees over the measured seconds per request answered. "
                "Rounds: %d, each a fresh zk ensemble, then a fresh "
                "Apache one; median and min-max of the rounds. Failover: "
                "one fresh ensemble of each kind, %d times kill -9 of the "
                "leader's process group, then a new session and a setData "
                "tried on the survivors in turn (each try a new "
                "connection, 5 ms apart) until one is answered: the time "
                "from the kill; the killed node is started again and the "
                "ensemble whole (srvr: a leader and two followers) for a "
                "second before the next kill; the median and the slowest "
                "of the %d. Rolling restart: one fresh ensemble of "
                "each kind, t/rolling.py's four writers (kazoo, one "
                "create at a time each, connection loss retried 5 times "
                "20 ms apart), SIGTERM to each node's process group in "
                "turn, the leader last, the node started again and the "
                "ensemble whole and a second passed before the next.\n\n"
                % (args.conns, args.inflight, args.secs, args.rounds,
                   args.failovers, args.failovers))
        compare.markdown(f, hdr, rows)
        if lin:
            f.write("\nzk's linearizable reads against its plain reads "
                    "(same run, medians): %s. Rounds: %d fresh zk "
                    "ensembles with linearizableReads=true.\n" % (
                        ", ".join("`%s` %.2fx" % (k, v)
                                  for k, v in sorted(lin.items())),
                        args.rounds))
        if obs:
            f.write("\nWith %d observers against the same kind's three "
                    "voters alone (same run, medians; gets spread over all "
                    "five nodes, sets over the voters; `_cpu` is the CPU "
                    "of all the nodes per request, five against three): %s. "
                    "Rounds: %d fresh ensembles of each kind with the "
                    "observers.\n" % (
                        OBSERVERS, "; ".join(
                            "%s %s" % ("zk" if k == "zk" else "Apache",
                                       ", ".join("`%s` %.2fx" % (f, x)
                                                 for f, x in
                                                 sorted(v.items())))
                            for k, v in sorted(obs.items(),
                                               key=lambda kv: kv[0] != "zk")),
                        args.rounds))
        f.write("\nTargets are issue 15's; nothing here is asserted.\n")
    say("wrote %s" % args.out)


if __name__ == "__main__":
    main()
