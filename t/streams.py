#!/usr/bin/env python3
"""streams.py: libzk/STREAMS.md and man/zk-streams.7 name the same records.

usage: streams.py [-l] [STREAMS.md zk-streams.7]

STREAMS.md is the contract; zk-streams(7) is its man page.  Both must
name the same verbs and the same keys.  From STREAMS.md:
  - code lines (indented four spaces): the verb is the first word (after
    a "gate:" or "sess:" who-says-it, and again after a "->" arrow),
    the keys are every "key=";
  - inline code (`...`): every "key="; and a verb when it reads as a
    record, a word then a "key=" (`hello role=gate`);
  - tables headed "| key |": the first cell of each row is a key.
From zk-streams.7 (its DESCRIPTION):
  - .Bd -literal displays: the same as code lines; a line that starts
    with blanks is a folded one, keys only;
  - macro lines: every "key=", and a verb for a .Ql that reads as a
    record;
  - ".It Cm KEY" in the Common fields list: a key.
Whatever one names and the other does not is printed, one per line
("verb NAME: in STREAMS.md, not in zk-streams.7"), and the exit status
is 1.  -l prints both sets instead.
"""
import os
import re
import sys

KEY = re.compile(r"(?<![\w.])([A-Za-z][A-Za-z0-9]*)=")
VERB = re.compile(r"[A-Za-z][A-Za-z0-9]*$")
ARROW = re.compile(r"→|->")
WHO = re.compile(r"^\s*(?:gate|sess):\s*")


def record(text, verbs, keys, folded=False):
    """A code line: 'verb key=v ...', maybe 'gate: ... -> sess: ...'."""
    for part in ARROW.split(text):
        part = WHO.sub("", part).strip()
        if not part:
            continue
        keys.update(KEY.findall(part))
        first = part.split()[0]
        if not folded and VERB.match(first):
            verbs.add(first)


def span(text, verbs, keys):
    """Inline code: its keys, and its verb if it reads as a record."""
    keys.update(KEY.findall(text))
    m = re.match(r"([A-Za-z][A-Za-z0-9]*) [A-Za-z][A-Za-z0-9]*=", text)
    if m:
        verbs.add(m.group(1))


def markdown(path):
    verbs, keys = set(), set()
    keytable = False
    with open(path, encoding="utf-8") as fp:
        lines = fp.read().split("\n")
    for line in lines:
        if line.startswith("    ") and line.strip():
            record(line, verbs, keys)
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if re.fullmatch(r"-+", cells[0].replace(":", "")):
                continue
            if cells[0] == "key":
                keytable = True
                continue
            if keytable:
                keys.add(cells[0])
        else:
            keytable = False
        for s in re.findall(r"`([^`]+)`", line):
            span(s, verbs, keys)
    return verbs, keys


def roff(line):
    """A man line's text: escapes undone."""
    line = line.replace("\\e", "\\").replace("\\&", "").replace("\\-", "-")
    return re.sub(r"\\\(\w\w", " ", line)


def mdoc(path):
    verbs, keys = set(), set()
    insec = literal = fields = False
    with open(path, encoding="utf-8") as fp:
        lines = fp.read().split("\n")
    for line in lines:
        if line.startswith(".Sh "):
            insec = line[4:].strip() == "DESCRIPTION"
            continue
        if not insec:
            continue
        if line.startswith(".Ss "):
            fields = line[4:].strip() == "Common fields"
            continue
        if line.startswith(".Bd -literal"):
            literal = True
            continue
        if line.startswith(".Ed"):
            literal = False
            continue
        text = roff(line)
        if literal:
            record(text, verbs, keys, folded=text[:1].isspace())
            continue
        if not line.startswith("."):
            continue
        m = re.match(r"\.It Cm (\S+)\s*$", line)
        if fields and m:
            keys.add(m.group(1))
            continue
        keys.update(KEY.findall(text))
        # .Ql verb key=... (up to the next macro)
        for m in re.finditer(r"\bQl ((?:(?! (?:[A-Z][a-z]|\S*\\)\b).)*)",
                             text):
            span(m.group(1), verbs, keys)
    return verbs, keys


def main():
    args = sys.argv[1:]
    listing = args[:1] == ["-l"]
    if listing:
        args = args[1:]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not args:
        args = [os.path.join(top, "libzk", "STREAMS.md"),
                os.path.join(top, "man", "zk-streams.7")]
    if len(args) != 2:
        sys.exit("usage: streams.py [-l] [STREAMS.md zk-streams.7]")
    md, man = markdown(args[0]), mdoc(args[1])
    mdname, manname = os.path.basename(args[0]), os.path.basename(args[1])
    if listing:
        for name, (v, k) in ((mdname, md), (manname, man)):
            print("%s verbs: %s" % (name, " ".join(sorted(v))))
            print("%s keys: %s" % (name, " ".join(sorted(k))))
        return 0
    bad = 0
    for what, a, b in (("verb", md[0], man[0]), ("key", md[1], man[1])):
        for n in sorted(a - b):
            print("%s %s: in %s, not in %s" % (what, n, mdname, manname))
            bad = 1
        for n in sorted(b - a):
            print("%s %s: in %s, not in %s" % (what, n, manname, mdname))
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
