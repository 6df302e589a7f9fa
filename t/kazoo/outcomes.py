#!/usr/bin/python3
"""Per-test outcomes of a kazoo suite run (pytest --junitxml).

    outcomes.py list RESULT.xml
        one line per test: "<classname>::<name> passed|failed|error|skipped"
    outcomes.py compare BASELINE RESULT.xml
        every test that passed in BASELINE (t/kazoo/apache-baseline.txt)
        must have passed in RESULT; prints the regressions and a line
        "kazoo: N passed, N failed, N skipped" (failed = regressions, tests
        Apache passes that did not pass here); exit 1 if there are any.
        Tests listed in zk-exempt.txt beside BASELINE ("<test id> <reason>")
        are counted as skipped, with their reason, when they do not pass.
        Tests listed in the zk-beyond file of BASELINE (zk-beyond-3.txt
        for apache-baseline-3.txt, same format) are ones Apache fails and
        zk must pass: one that does not pass is a failure ("BEYOND").
"""
import os
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    out = {}
    for tc in ET.parse(path).iter("testcase"):
        tid = "%s::%s" % (tc.get("classname"), tc.get("name"))
        kinds = {c.tag for c in tc}
        if "error" in kinds:
            o = "error"
        elif "failure" in kinds:
            o = "failed"
        elif "skipped" in kinds:
            o = "skipped"
        else:
            o = "passed"
        # a test that failed in call and errored in teardown keeps the worst
        if out.get(tid) in ("failed", "error") and o == "passed":
            continue
        out[tid] = o
    return out


def main(argv):
    if len(argv) == 2 and argv[0] == "list":
        for tid, o in sorted(outcomes(argv[1]).items()):
            print(tid, o)
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        base = {}
        with open(argv[1]) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    tid, o = line.split()
                    base[tid] = o
        exempt = {}
        xpath = os.path.join(os.path.dirname(argv[1]), "zk-exempt.txt")
        if os.path.exists(xpath):
            with open(xpath) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        tid, _, why = line.strip().partition(" ")
                        exempt[tid] = why
        beyond = {}
        bpath = os.path.join(os.path.dirname(argv[1]), os.path.basename(
            argv[1]).replace("apache-baseline", "zk-beyond"))
        if bpath != argv[1] and os.path.exists(bpath):
            with open(bpath) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        tid, _, why = line.strip().partition(" ")
                        beyond[tid] = why
        got = outcomes(argv[2])
        passed = failed = skipped = 0
        for tid in beyond:
            base.setdefault(tid, "failed")
        for tid, want in sorted(base.items()):
            o = got.get(tid, "missing")
            if tid in beyond and o != "passed":
                failed += 1
                print("kazoo: BEYOND %s: %s (%s)" % (tid, o, beyond[tid]))
            elif o == "passed":
                passed += 1
            elif want == "passed" and tid in exempt:
                skipped += 1
                print("kazoo: exempt %s: %s (%s)" % (tid, o, exempt[tid]))
            elif want == "passed":
                failed += 1
                print("kazoo: REGRESSION %s: %s (passes on Apache)" % (tid, o))
            else:
                skipped += 1        # Apache does not pass it either: exempt
        for tid in sorted(set(got) - set(base)):
            print("kazoo: %s: %s (not in the baseline)" % (tid, got[tid]))
        print("kazoo: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
        return 1 if failed else 0
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
