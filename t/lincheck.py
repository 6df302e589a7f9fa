#!/usr/bin/env python3
"""lincheck.py: is a recorded register history linearizable?

usage: lincheck.py [-h] [--model linearizable|sequential]
                   [--initial-value JSON] [--initial-version N]
                   [--max-states N] [FILE]

Checks a history of operations on ZooKeeper znodes used as registers,
recorded by the fault tests, against a model of one znode: its data
and its version.  FILE (default: standard input) holds one JSON object
per line, an event:

    {"proc": P, "type": "invoke"|"ok"|"fail"|"info", "f": F,
     "value": ..., "time": T, "key": K}

P names a client (any JSON scalar); an "invoke" is followed later by
the same client's completion ("ok", "fail" or "info") of the same F.
The order of the lines is the real-time order of the events; "time"
(seconds, optional) is only shown in a witness.  "key" (optional)
names the znode: each key is a register of its own and is checked on
its own (linearizability is compositional).  F is one of:

    write  setData with version -1: the invoke's value is the new data;
           the register becomes (data, version+1).  An ok may carry
           the resulting version: value {"version": V} (other keys
           are ignored), or a "version" member in the event itself.
    cas    setData with an expected version: the invoke's value is
           {"expect": V, "value": X}.  ok: the version was V and is
           now V+1, the data X (an ok may carry the resulting version,
           as for write).  fail: the version was not V (BadVersion):
           a cas that fails is an operation that read the version.
    read   getData: the ok's value is {"value": X, "version": V};
           without "version" only the data is checked.

A "fail" of a write or read definitely did not happen and is left out.
An "info" completion, or an invoke with no completion at all (the
client crashed, timed out or lost its connection), may or may not have
happened, at any moment after its invoke: it stays open to the end.
An info read tells nothing and is left out.  A client may invoke again
after an info (its old operation stays open).

Models (--model):

    linearizable  (default) every operation takes effect at one moment
                  between its invoke and its completion, and the
                  results are those of a single register applying the
                  operations in the order of those moments.  What
                  ZooKeeper promises for writes (setData, cas) and,
                  with linearizable reads, for reads too.
    sequential    ZooKeeper's default promise: writes and cas as above;
                  a read may be stale (it may take effect before
                  operations of other clients that completed before it
                  was invoked), but each client's operations take
                  effect in the client's order (a client never reads
                  older than what it has read or written already) and
                  a read never sees a write invoked after the read
                  completed.

The search is Wing & Gong's, with Lowe's refinements ("Testing for
Linearizability", 2017): depth-first, each step linearizes one of the
operations that may come next (invoked before every open operation's
completion), and a cache of visited configurations (the set of
linearized operations, the register's state) cuts repeated work.  A
read or failed cas that fits the current state is linearized at once
without branching (it changes nothing, so no later choice is lost).
--max-states bounds the configurations visited per key.

Output and exit status:

    0  "linearizable: N ops" (or "sequential: N ops"), N operations
       invoked in the history
    1  "not linearizable: ..." and a witness: the last operations of
       the longest linearization found, the register's state after
       them, and the operations that could not come next, with lines
       and times
    2  malformed history: "lincheck: FILE:LINE: reason" on stderr
    3  "unknown: ..." the search bound was hit before an answer

As a module: parse(lines) -> events (raises Malformed), check(events,
model=..., initial=(value, version), max_states=...) -> Result, with
.verdict ("ok", "bad", "unknown"), .ops and .text; Recorder writes a
history as a test records it.
"""

import argparse
import json
import sys
import threading
import time

INF = float("inf")

# operation kinds in the search
READ, WRITE, CAS, CASFAIL, WRITEINFO, CASINFO = range(6)

DEFAULT_MAX_STATES = 2_000_000


class Malformed(Exception):
    def __init__(self, line, msg):
        super().__init__("line %d: %s" % (line, msg))
        self.line = line
        self.msg = msg


class Result:
    def __init__(self, verdict, ops, text, model="linearizable"):
        self.verdict = verdict      # "ok", "bad" or "unknown"
        self.ops = ops              # operations invoked
        self.text = text            # what the command prints
        self.model = model

    def __bool__(self):
        return self.verdict == "ok"

    def __repr__(self):
        return "Result(%r, %d ops)" % (self.verdict, self.ops)


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _isint(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse(lines):
    """JSON Lines -> list of (lineno, event dict); raises Malformed."""
    events = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError as err:
            raise Malformed(n, "not JSON: %s" % err) from None
        if not isinstance(e, dict):
            raise Malformed(n, "not a JSON object")
        for k in ("proc", "type", "f"):
            if k not in e:
                raise Malformed(n, 'no "%s"' % k)
        if isinstance(e["proc"], (dict, list)):
            raise Malformed(n, '"proc" is not a scalar')
        if e["type"] not in ("invoke", "ok", "fail", "info"):
            raise Malformed(n, 'unknown type %r' % (e["type"],))
        if e["f"] not in ("read", "write", "cas"):
            raise Malformed(n, 'unknown f %r' % (e["f"],))
        t = e.get("time")
        if t is not None and (isinstance(t, bool) or
                              not isinstance(t, (int, float))):
            raise Malformed(n, '"time" is not a number')
        if isinstance(e.get("key"), (dict, list)):
            raise Malformed(n, '"key" is not a scalar')
        events.append((n, e))
    return events


class Op:
    __slots__ = ("id", "proc", "f", "kind", "a", "b", "c", "call", "ret",
                 "iline", "cline", "itime", "ctime", "ival", "cval", "ctype")

    def describe(self):
        if self.f == "read":
            s = "read"
        elif self.f == "write":
            s = "write %s" % canon(self.ival)
        else:
            s = "cas %s if version %s" % (canon(self.ival.get("value")),
                                           self.ival.get("expect"))
        if self.ctype == "ok":
            if self.f == "read":
                r = self.cval
                s += " -> %s" % canon(r.get("value"))
                if "version" in r:
                    s += " version %s" % r["version"]
            else:
                s += " -> ok"
                if self.c is not None and self.c >= 0:
                    s += " version %d" % self.c
        elif self.ctype == "fail":
            s += " -> BadVersion"
        elif self.ctype == "info":
            s += " -> info (may or may not have happened)"
        else:
            s += " -> no completion (may or may not have happened)"
        where = "line %d" % self.iline
        if self.cline:
            where += "..%d" % self.cline
        times = ""
        if self.itime is not None or self.ctime is not None:
            ft = lambda t: "?" if t is None else "%.6g" % t
            times = "  t=%s..%s" % (ft(self.itime),
                                    ft(self.ctime) if self.cline else "")
        return "%-14s proc %-4s %s%s" % (where, canon(self.proc), s, times)


def _ops_by_key(events):
    """Pair invokes with completions, per key: {key: [Op]}; count."""
    pending = {}        # proc -> (index, lineno, event)
    done = []           # (invoke index, lineno, event, comp index, lineno, e)
    for i, (n, e) in enumerate(events):
        p = canon(e["proc"])
        if e["type"] == "invoke":
            if p in pending:
                raise Malformed(n, "proc %s invokes again before its "
                                "line %d completes" % (p, pending[p][1]))
            pending[p] = (i, n, e)
            continue
        if p not in pending:
            raise Malformed(n, "%s of proc %s with no invoke pending"
                            % (e["type"], p))
        i0, n0, e0 = pending.pop(p)
        if e0["f"] != e["f"]:
            raise Malformed(n, "%s completes %s of line %d"
                            % (e["f"], e0["f"], n0))
        if "key" in e and e.get("key") != e0.get("key"):
            raise Malformed(n, "key differs from its invoke's, line %d" % n0)
        done.append((i0, n0, e0, i, n, e))
    for p, (i0, n0, e0) in pending.items():
        done.append((i0, n0, e0, None, None, None))
    done.sort(key=lambda d: d[0])
    keys = {}
    for d in done:
        keys.setdefault(canon(d[2].get("key")), []).append(d)
    return keys, len(done)


def _version_of(n, e):
    """The resulting version an ok write or cas carries, or -1."""
    v = e.get("version")
    val = e.get("value")
    if v is None and isinstance(val, dict) and "version" in val:
        v = val["version"]
    if v is None:
        return -1
    if not _isint(v) or v < 0:
        raise Malformed(n, "version %r is not a count" % (v,))
    return v


def _build(pairs, intern):
    """Ops of one key, with their kinds and arguments for the search."""
    ops = []
    for i0, n0, e0, i1, n1, e1 in pairs:
        f = e0["f"]
        ctype = e1["type"] if e1 else None
        o = Op()
        o.proc, o.f, o.ctype = e0["proc"], f, ctype
        o.iline, o.cline = n0, n1
        o.itime = e0.get("time")
        o.ctime = e1.get("time") if e1 else None
        o.ival = e0.get("value")
        o.cval = e1.get("value") if e1 else None
        o.call = i0
        o.ret = i1 if ctype in ("ok", "fail") else INF
        o.a = o.b = o.c = None
        if f == "cas":
            v = o.ival
            if not isinstance(v, dict) or "expect" not in v or \
                    "value" not in v:
                raise Malformed(n0, 'cas value is not {"expect": V, '
                                '"value": X}')
            if not _isint(v["expect"]) or v["expect"] < 0:
                raise Malformed(n0, "cas expects version %r"
                                % (v["expect"],))
        elif f == "write":
            if "value" not in e0:
                raise Malformed(n0, "write with no value")
        if ctype == "fail" and f != "cas":
            continue                    # did not happen
        if f == "read":
            if ctype != "ok":
                continue                # tells nothing
            r = o.cval
            if not isinstance(r, dict) or "value" not in r:
                raise Malformed(n1, 'read ok value is not {"value": X, '
                                '"version": V}')
            ver = r.get("version", -1)
            if not _isint(ver) or ver < -1:
                raise Malformed(n1, "version %r is not a count" % (ver,))
            o.kind, o.a, o.b = READ, intern(r["value"]), ver
        elif f == "write":
            o.a = intern(o.ival)
            if ctype == "ok":
                o.kind, o.c = WRITE, _version_of(n1, e1)
            else:
                o.kind = WRITEINFO
        else:
            o.a, o.b = o.ival["expect"], intern(o.ival["value"])
            if ctype == "ok":
                o.kind, o.c = CAS, _version_of(n1, e1)
            elif ctype == "fail":
                o.kind = CASFAIL
            else:
                o.kind = CASINFO
        o.id = len(ops)
        ops.append(o)
    return ops


def _step(o, val, ver):
    """The state after op o from (val, ver), or None if it cannot be."""
    k = o.kind
    if k == READ:
        if o.a == val and (o.b < 0 or o.b == ver):
            return val, ver
        return None
    if k == WRITE:
        if o.c >= 0 and o.c != ver + 1:
            return None
        return o.a, ver + 1
    if k == WRITEINFO:
        return o.a, ver + 1
    if k == CAS:
        if ver != o.a or (o.c >= 0 and o.c != ver + 1):
            return None
        return o.b, ver + 1
    if k == CASFAIL:
        return (val, ver) if ver != o.a else None
    # CASINFO: only worth linearizing where it changes something
    return (o.b, ver + 1) if ver == o.a else None


def _search(ops, init, sequential, max_states):
    """Depth-first search; ("ok", None) | ("bad", best) | ("unknown", n)."""
    okops = [o for o in ops if o.ret != INF]
    byret = sorted(okops, key=lambda o: o.ret)
    bycall = sorted(ops, key=lambda o: o.call)
    nok, nall = len(byret), len(bycall)
    # the sequential model: each proc's ok ops, in order; reads may come
    # next as soon as the proc's earlier ok ops are linearized
    procs, nextof, heads0 = {}, {}, ()
    if sequential:
        for o in sorted(okops, key=lambda o: o.call):
            procs.setdefault(canon(o.proc), []).append(o)
        pl = list(procs.values())
        for q, lst in enumerate(pl):
            for j, o in enumerate(lst):
                nextof[o.id] = (q, lst[j + 1] if j + 1 < len(lst) else None)
        heads0 = tuple(lst[0] for lst in pl)

    def window(S, p, c, W):
        """Advance p past linearized ops, c and W to the new bound."""
        while p < nok and (S >> byret[p].id) & 1:
            p += 1
        m = byret[p].ret if p < nok else INF
        while c < nall and bycall[c].call < m:
            o = bycall[c]
            if not (S >> o.id) & 1:
                W = W + (o,)
            c += 1
        return p, c, W

    p, c, W = window(0, 0, 0, ())
    # versions only grow: a completed op that needs a version below the
    # register's can never be linearized, and the branch is dead
    def need(o):
        if o.kind == READ:
            return o.b
        if o.kind == WRITE:
            return o.c - 1 if o.c >= 0 else -1
        if o.kind == CAS:
            return o.a
        return -1
    reqs = sorted((o for o in okops if need(o) >= 0), key=need)
    reqv = [need(o) for o in reqs]
    nreq = len(reqs)
    root = (0, init[0], init[1], p, c, W, heads0, 0, None, 0)
    seen = {(0, init[0], init[1])}
    best = (-1, None, [], None)
    stack = [[root, None, 0]]   # [config, children, next child]
    while stack:
        top = stack[-1]
        cfg = top[0]
        S, val, ver, p, c, W, heads, depth, via, r = cfg
        if top[1] is None:
            if p >= nok:
                return "ok", None
            if depth > best[0]:
                best = (depth, cfg, [f[0][8] for f in stack[-8:]
                                     if f[0][8] is not None], None)
            cands = list(W)
            if sequential:
                for h in heads:
                    if h is not None and h.kind == READ and h not in W:
                        cands.append(h)
            kids = []
            classes = set()
            for o in cands:
                nxt = _step(o, val, ver)
                if nxt is None:
                    continue
                if o.ret == INF:
                    # open ops of one effect are interchangeable: try
                    # only the earliest invoked (W is in call order)
                    cls = (o.kind, o.a, o.b)
                    if cls in classes:
                        continue
                    classes.add(cls)
                if o.kind in (READ, CASFAIL):
                    kids = [(o, nxt)]   # changes nothing: take it now
                    break
                kids.append((o, nxt))
            # completed ops first, the earliest to complete first; the
            # open (info) ops, which may also never happen, last
            kids.sort(key=lambda k: k[0].ret)
            top[1] = kids
        kids = top[1]
        if top[2] >= len(kids):
            stack.pop()
            continue
        o, (val2, ver2) = kids[top[2]]
        top[2] += 1
        S2 = S | (1 << o.id)
        if (S2, val2, ver2) in seen:
            continue
        seen.add((S2, val2, ver2))
        r2 = r
        while r2 < nreq and (S2 >> reqs[r2].id) & 1:
            r2 += 1
        if r2 < nreq and reqv[r2] < ver2:
            if depth + 1 > best[0]:     # show where it went wrong
                best = (depth + 1, (S2, val2, ver2, p, c, W, heads),
                        [f[0][8] for f in stack[-7:] if f[0][8] is not None]
                        + [o], reqs[r2])
            continue
        if len(seen) > max_states:
            return "unknown", len(seen)
        W2 = tuple(x for x in W if x is not o)
        p2, c2, W2 = window(S2, p, c, W2)
        heads2 = heads
        if sequential and o.id in nextof:
            q, nx = nextof[o.id]
            heads2 = heads[:q] + (nx,) + heads[q + 1:]
        d2 = depth + (o.ret != INF)
        stack.append([(S2, val2, ver2, p2, c2, W2, heads2, d2, o, r2),
                      None, 0])
    return "bad", best


def _witness(key, ops, best, values, nkeys, sequential):
    depth, cfg, tail, late = best
    S, val, ver, p, c, W, heads = cfg[:7]
    nok = sum(1 for o in ops if o.ret != INF)
    what = "sequentially consistent" if sequential else "linearizable"
    out = ["not %s%s: no order of the operations explains the results; "
           "the longest found linearizes %d of %d completed operations"
           % (what, (" (key %s)" % key) if nkeys > 1 else "",
              depth, nok)]
    show = lambda v, n: "data %s version %d" % (values[v], n)
    if tail:
        out.append("its last operations, in the order found:")
        for o in tail:
            out.append("  " + o.describe())
    else:
        out.append("no operation could be linearized first")
    out.append("the register then holds %s" % show(val, ver))
    if late is not None:
        out.append("but this completed operation needs version %d or "
                   "below, and versions only grow:" % (
                       late.b if late.kind == READ else
                       late.a if late.kind == CAS else late.c - 1))
        out.append("  " + late.describe())
        return "\n".join(out)
    cands = list(W)
    if sequential:
        cands += [h for h in heads if h is not None and h.kind == READ
                  and h not in W]
    okc = sorted((o for o in cands if o.ret != INF), key=lambda o: o.call)
    if okc:
        out.append("and none of these can come next:")
    for o in okc:
        why = ""
        if o.kind == READ:
            why = "reads %s%s" % (values[o.a], "" if o.b < 0 else
                                  " version %d" % o.b)
        elif o.kind in (CAS, CASFAIL):
            why = "expects version %d" % o.a
            if o.kind == CASFAIL:
                why = "failed: the version was not %d" % o.a
        elif o.kind == WRITE:
            why = "returned version %d" % o.c
        out.append("  %s\n      (%s)" % (o.describe(), why))
    first = [o for o in ops if o.ret != INF and not (S >> o.id) & 1]
    if first and min(first, key=lambda o: o.ret) not in okc:
        o = min(first, key=lambda o: o.ret)
        out.append("every operation invoked after line %d must come after:"
                   % o.cline)
        out.append("  " + o.describe())
    info = [o for o in cands if o.ret == INF]
    if info:
        out.append("open (info) operations that may still happen: %d, "
                   "e.g." % len(info))
        for o in info[:3]:
            out.append("  " + o.describe())
    return "\n".join(out)


def check(events, model="linearizable", initial=(None, 0),
          max_states=DEFAULT_MAX_STATES):
    """Check parsed events (from parse) against the model."""
    if model not in ("linearizable", "sequential"):
        raise ValueError("model %r" % (model,))
    sequential = model == "sequential"
    keys, nops = _ops_by_key(events)
    texts, unknown = [], []
    for key in sorted(keys):
        # data no read returned are all alike to the search: one value
        values, ids = ["(data no read returned)"], {}
        seenv = set()
        for d in keys[key]:
            e = d[5]
            if e and e["f"] == "read" and e["type"] == "ok" and \
                    isinstance(e.get("value"), dict):
                seenv.add(canon(e["value"].get("value")))

        def intern(v):
            k = canon(v)
            if k not in seenv:
                return 0
            if k not in ids:
                ids[k] = len(values)
                values.append(k)
            return ids[k]
        init = (intern(initial[0]), initial[1])
        ops = _build(keys[key], intern)
        verdict, info = _search(ops, init, sequential, max_states)
        if verdict == "bad":
            texts.append(_witness(key, ops, info, values, len(keys),
                                  sequential))
        elif verdict == "unknown":
            unknown.append("unknown: %s visited %d configurations and did "
                           "not finish (--max-states)"
                           % (("key %s" % key) if len(keys) > 1
                              else "the search", info))
    if texts:
        return Result("bad", nops, "\n".join(texts + unknown), model)
    if unknown:
        return Result("unknown", nops, "\n".join(unknown), model)
    word = "sequential" if sequential else "linearizable"
    text = "%s: %d ops" % (word, nops)
    if len(keys) > 1:
        text += " in %d keys" % len(keys)
    return Result("ok", nops, text, model)


def check_lines(lines, **kw):
    return check(parse(lines), **kw)


class Recorder:
    """Writes a history as clients run: one JSON line per event, in the
    order they happen (thread-safe).  r.invoke(p, "write", 5) ...
    r.ok(p, "write", {"version": 3}), r.fail(...), r.info(...)."""

    def __init__(self, path_or_file, key=None):
        if isinstance(path_or_file, str):
            self.f = open(path_or_file, "a")
        else:
            self.f = path_or_file
        self.key = key
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def event(self, proc, type_, f, value=None, key=None, **extra):
        e = {"proc": proc, "type": type_, "f": f}
        if value is not None or f == "write":
            e["value"] = value
        k = key if key is not None else self.key
        if k is not None:
            e["key"] = k
        e.update(extra)
        with self.lock:
            e["time"] = round(time.monotonic() - self.t0, 6)
            self.f.write(json.dumps(e) + "\n")
            self.f.flush()

    def invoke(self, proc, f, value=None, **kw):
        self.event(proc, "invoke", f, value, **kw)

    def ok(self, proc, f, value=None, **kw):
        self.event(proc, "ok", f, value, **kw)

    def fail(self, proc, f, value=None, **kw):
        self.event(proc, "fail", f, value, **kw)

    def info(self, proc, f, value=None, **kw):
        self.event(proc, "info", f, value, **kw)

    def close(self):
        self.f.close()


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="lincheck.py",
        description="Check a register history (JSON Lines) for "
        "linearizability.  Exit 0 yes, 1 no (with a witness), "
        "2 malformed, 3 unknown (search bound hit).")
    ap.add_argument("--model", choices=("linearizable", "sequential"),
                    default="linearizable",
                    help="linearizable (default): every op at one moment "
                    "within its call; sequential: ZooKeeper's default, "
                    "reads may be stale but each client's ops stay in order")
    ap.add_argument("--initial-value", default="null", metavar="JSON",
                    help="the register's data at the start (default null)")
    ap.add_argument("--initial-version", type=int, default=0, metavar="N",
                    help="its version at the start (default 0)")
    ap.add_argument("--max-states", type=int, default=DEFAULT_MAX_STATES,
                    metavar="N", help="configurations to visit per key "
                    "before answering unknown (default %d)"
                    % DEFAULT_MAX_STATES)
    ap.add_argument("file", nargs="?", default="-",
                    help="the history (default: standard input)")
    a = ap.parse_args(argv)
    try:
        init = json.loads(a.initial_value)
    except ValueError:
        ap.error("--initial-value is not JSON")
    name = "<stdin>" if a.file == "-" else a.file
    try:
        if a.file == "-":
            lines = sys.stdin.readlines()
        else:
            with open(a.file) as fh:
                lines = fh.readlines()
    except OSError as err:
        print("lincheck: %s" % err, file=sys.stderr)
        return 2
    try:
        r = check_lines(lines, model=a.model,
                        initial=(init, a.initial_version),
                        max_states=a.max_states)
    except Malformed as err:
        print("lincheck: %s:%d: %s" % (name, err.line, err.msg),
              file=sys.stderr)
        return 2
    print(r.text)
    return {"ok": 0, "bad": 1, "unknown": 3}[r.verdict]


if __name__ == "__main__":
    sys.exit(main())
