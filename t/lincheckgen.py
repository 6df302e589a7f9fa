#!/usr/bin/env python3
"""lincheckgen.py: random register histories for lincheck.py's tests.

usage: lincheckgen.py gen [--seed S] [--procs N] [--ops N] [--keys N]
                          [--info P] [--stale] [--mutate]
       lincheckgen.py selftest [--seed S] [--count N] [--seconds T]

gen prints a history (JSON Lines, lincheck.py's format) of a simulated
register: N clients invoke reads, writes and cas at random; each
operation takes effect at one random moment between its invoke and its
completion, so the history is linearizable.  --info P: each completion
is an info with probability P, and the client's operation then takes
effect later or never (the client is replaced by a new one).
--stale: reads see an older state (no older than what their client has
seen or written), as a ZooKeeper follower serves them: the history is
sequentially consistent, but usually not linearizable.  --mutate:
one read that began after a write of version V completed is changed to
read the register as it was at version V-1, which no linearization
explains (versions only grow); exit 1 if the history has no such read.

selftest generates COUNT histories from consecutive seeds with random
clients (1-10), lengths, info rates and keys, and checks with
lincheck.check that each is linearizable and that its mutation is not;
--stale histories must pass the sequential model.  It stops after T
seconds (default 20) and prints what it checked; a failure prints the
seed and the commands that replay it.  Exit 0 if every check held.
"""

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lincheck  # noqa: E402


def generate(seed, procs=5, ops=200, keys=1, info=0.0, stale=False,
             pread=0.4, pcas=0.3):
    """A history (list of event dicts) and the register's states per
    key (states[key][version] = data)."""
    rnd = random.Random(seed)
    keynames = ["k%d" % i for i in range(keys)] if keys > 1 else [None]
    states = {k: [None] for k in keynames}      # version -> data
    seen = {}                                   # proc -> {key: version}
    events = []
    idle = list(range(procs))
    nextproc = procs
    pending = []        # [proc, f, key, arg, result or None, info?]
    zombies = []        # info ops that may still take effect
    invoked = 0
    clock = 0.0
    val = 0

    def emit(proc, type_, f, value, key):
        nonlocal clock
        clock += rnd.uniform(0.0001, 0.01)
        e = {"proc": proc, "type": type_, "f": f}
        if value is not None or (f == "write" and type_ == "invoke"):
            e["value"] = value
        if key is not None:
            e["key"] = key
        e["time"] = round(clock, 6)
        events.append(e)

    def apply(op):
        proc, f, key, arg = op[0], op[1], op[2], op[3]
        st = states[key]
        ver = len(st) - 1
        if f == "read":
            v = ver
            if stale:
                lo = seen.get(proc, {}).get(key, 0)
                v = rnd.randint(lo, ver)
            res = {"value": st[v], "version": v}
            seen.setdefault(proc, {})[key] = v
        elif f == "write":
            st.append(arg)
            res = ("ok", {"version": ver + 1})
            seen.setdefault(proc, {})[key] = ver + 1
        else:
            if arg["expect"] == ver:
                st.append(arg["value"])
                res = ("ok", {"version": ver + 1})
                seen.setdefault(proc, {})[key] = ver + 1
            else:
                res = ("fail", None)
                seen.setdefault(proc, {})[key] = ver
        op[4] = res

    while invoked < ops or pending:
        acts = []
        if idle and invoked < ops:
            acts.append("invoke")
        if any(op[4] is None for op in pending):
            acts.append("apply")
        if any(op[4] is not None for op in pending):
            acts.append("complete")
        if pending and info:
            acts.append("info")
        if zombies:
            acts.append("zombie")
        a = rnd.choice(acts)
        if a == "invoke":
            proc = idle.pop(rnd.randrange(len(idle)))
            key = rnd.choice(keynames)
            r = rnd.random()
            if r < pread:
                f, arg = "read", None
            elif r < pread + pcas:
                ver = len(states[key]) - 1
                f = "cas"
                val += 1
                arg = {"expect": max(0, ver - rnd.choice((0, 0, 1))),
                       "value": val}
            else:
                f = "write"
                val += 1
                arg = val if rnd.random() < 0.8 else rnd.randint(1, 3)
            pending.append([proc, f, key, arg, None])
            emit(proc, "invoke", f, arg, key)
            invoked += 1
        elif a == "apply":
            op = rnd.choice([op for op in pending if op[4] is None])
            apply(op)
        elif a == "complete":
            op = rnd.choice([op for op in pending if op[4] is not None])
            pending.remove(op)
            proc, f, key = op[0], op[1], op[2]
            if f == "read":
                emit(proc, "ok", f, op[4], key)
            else:
                type_, v = op[4]
                if v is not None and rnd.random() < 0.3:
                    v = None    # ok without its version
                emit(proc, type_, f, v, key)
            idle.append(proc)
        elif a == "info":
            if rnd.random() > info * 3:
                continue
            op = rnd.choice(pending)
            pending.remove(op)
            emit(op[0], "info", op[1], None, op[2])
            if op[4] is None and rnd.random() < 0.5:
                zombies.append(op)
            idle.append(nextproc)
            nextproc += 1
        else:
            op = zombies.pop(rnd.randrange(len(zombies)))
            apply(op)
    return events, states


def mutate(events, states, seed):
    """Change one read to a provably stale one; None if none can be."""
    rnd = random.Random(seed)
    done = {}       # key -> highest version of a completed ok write/cas
    cands = []
    inv = {}
    for i, e in enumerate(events):
        k = e.get("key")
        if e["type"] == "invoke":
            inv[e["proc"]] = (i, done.get(k, 0))
            continue
        i0, floor = inv.pop(e["proc"])
        if e["type"] != "ok":
            continue
        if e["f"] == "read" and floor >= 1:
            cands.append((i, floor))
        elif e["f"] in ("write", "cas") and isinstance(e.get("value"), dict):
            done[k] = max(done.get(k, 0), e["value"]["version"])
    if not cands:
        return None
    i, floor = rnd.choice(cands)
    out = [dict(e) for e in events]
    k = out[i].get("key")
    v = rnd.randint(0, floor - 1)
    out[i]["value"] = {"value": states[k][v], "version": v}
    return out


def lines(events):
    return [json.dumps(e) + "\n" for e in events]


def selftest(seed, count, seconds):
    t0 = time.monotonic()
    good = bad = stalecount = 0
    for s in range(seed, seed + count):
        if time.monotonic() - t0 > seconds:
            break
        rnd = random.Random(s)
        kw = dict(procs=rnd.randint(1, 10), ops=rnd.randint(5, 300),
                  keys=rnd.choice((1, 1, 1, 3)),
                  info=rnd.choice((0, 0, 0.05, 0.2)))
        args = "--seed %d --procs %d --ops %d --keys %d --info %g" % (
            s, kw["procs"], kw["ops"], kw["keys"], kw["info"])
        ev, st = generate(s, **kw)
        r = lincheck.check(lincheck.parse(lines(ev)))
        if r.verdict != "ok":
            print("selftest: seed %d: a linearizable history is %s:\n%s\n"
                  "replay: t/lincheckgen.py gen %s | t/lincheck.py"
                  % (s, r.verdict, r.text, args))
            return 1
        good += 1
        mev = mutate(ev, st, s)
        if mev is not None:
            r = lincheck.check(lincheck.parse(lines(mev)))
            if r.verdict != "bad":
                print("selftest: seed %d: a mutated history is %s\n"
                      "replay: t/lincheckgen.py gen %s --mutate | "
                      "t/lincheck.py" % (s, r.verdict, args))
                return 1
            bad += 1
        ev, st = generate(s, stale=True, **kw)
        r = lincheck.check(lincheck.parse(lines(ev)), model="sequential")
        if r.verdict != "ok":
            print("selftest: seed %d: a stale-read history is %s under "
                  "the sequential model:\n%s\nreplay: t/lincheckgen.py gen "
                  "%s --stale | t/lincheck.py --model sequential"
                  % (s, r.verdict, r.text, args))
            return 1
        stalecount += 1
    print("selftest: %d linearizable histories passed, %d mutated ones "
          "failed, %d stale-read ones passed as sequential, seeds from %d"
          % (good, bad, stalecount, seed))
    return 0


def main():
    ap = argparse.ArgumentParser(prog="lincheckgen.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="print one history")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--procs", type=int, default=5)
    g.add_argument("--ops", type=int, default=200)
    g.add_argument("--keys", type=int, default=1)
    g.add_argument("--info", type=float, default=0.0)
    g.add_argument("--stale", action="store_true")
    g.add_argument("--mutate", action="store_true")
    t = sub.add_parser("selftest", help="check many random histories")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--count", type=int, default=200)
    t.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    if a.cmd == "selftest":
        return selftest(a.seed, a.count, a.seconds)
    ev, st = generate(a.seed, procs=a.procs, ops=a.ops, keys=a.keys,
                      info=a.info, stale=a.stale)
    if a.mutate:
        ev = mutate(ev, st, a.seed)
        if ev is None:
            print("lincheckgen: no read to mutate in this history",
                  file=sys.stderr)
            return 1
    sys.stdout.writelines(lines(ev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
