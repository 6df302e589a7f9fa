#!/usr/bin/env python3
"""exitcodes.py: each program's exit statuses against its man page.

usage: exitcodes.py [-l] [-t top] [prog ...]

For every program in TOP/cmd (default: the tree this script is in), or
only the ones named, the statuses its code can exit with are compared
with the numbers its page, man/PROG.[178], lists in EXIT STATUS as
".It N".  A difference is one line, "PROG: code has N, not in PROG.1"
or "PROG: PROG.1 lists N, no code returns it", and the exit status is
1.  -l lists each program's statuses as "PROG code=... man=...".

A program is cmd/zk-X.c, or every .c and .h under cmd/zk-X/ or cmd/X/
(one program split into files), or cmd/zk-X, a sh script.  In C the
statuses are:
  - every <sysexits.h> name (EX_USAGE ...), wherever it is used but in
    _exit(): that is a forked child's end, which its parent reaps (what
    a parent passes on, as zk-cli lock the command's status, its page
    says in words);
  - integers in the first argument of exit, err, errx, errc, verr,
    verrx, verrc;
  - the values of "#define X_NAME value" (exit-status names, as
    zk-cli's X_NONODE);
  - integers that main returns, and that the functions it returns the
    result of return (return cmd_list(argc, argv): cmd_list's
    returns, and so on).
In sh: "exit N", and "exit $var" in a case arm "64|65)" as those
numbers.
"""
import glob
import os
import re
import sys

SYSEXITS = {
    "EX_OK": 0, "EX_USAGE": 64, "EX_DATAERR": 65, "EX_NOINPUT": 66,
    "EX_NOUSER": 67, "EX_NOHOST": 68, "EX_UNAVAILABLE": 69,
    "EX_SOFTWARE": 70, "EX_OSERR": 71, "EX_OSFILE": 72,
    "EX_CANTCREAT": 73, "EX_IOERR": 74, "EX_TEMPFAIL": 75,
    "EX_PROTOCOL": 76, "EX_NOPERM": 77, "EX_CONFIG": 78,
}
EXITFN = re.compile(r"\b(?:exit|errc?|errx|verrc?|verrx)\s*\(")
CHILDEXIT = re.compile(r"\b_exit\s*\(")
FUNC = re.compile(r"^([A-Za-z_]\w*)\([^;{]*?\)\s*\n\{(.*?)^\}", re.M | re.S)
RETURN = re.compile(r"\breturn\b([^;]*);")


def strip_c(text):
    """Comments, strings and character constants as blanks (lines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j == -1 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j == -1 else j
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * 0 + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def ints(expr):
    return {int(m, 0) for m in re.findall(r"\b(0x[0-9a-fA-F]+|\d+)\b", expr)}


def firstarg(text, start):
    """The first argument of the call whose '(' ends at start."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0:
                break
            depth -= 1
        elif c == "," and depth == 0:
            break
        i += 1
    return text[start:i]


def sysexit(name, where):
    if name not in SYSEXITS:
        sys.exit("exitcodes.py: %s: %s is no <sysexits.h> name" %
                 (where, name))
    return SYSEXITS[name]


def c_codes(prog, files):
    codes = set()
    text = ""
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fp:
            text += strip_c(fp.read()) + "\n"
    # #define X_NAME value: exit-status names
    defines = {}
    for name, val in re.findall(r"^[ \t]*#[ \t]*define[ \t]+(X_\w+)[ \t]+"
                                r"(\w+)", text, re.M):
        defines[name] = val
    for name, val in defines.items():
        codes.add(sysexit(val, prog) if val.startswith("EX_")
                  else int(val, 0))
    for m in reversed(list(CHILDEXIT.finditer(text))):
        arg = firstarg(text, m.end())
        text = text[:m.end()] + " " * len(arg) + text[m.end() + len(arg):]
    for name in re.findall(r"\bEX_[A-Z_]+\b", text):
        codes.add(sysexit(name, prog))
    for m in EXITFN.finditer(text):
        codes |= ints(firstarg(text, m.end()))
    funcs = {}
    for m in FUNC.finditer(text):
        funcs.setdefault(m.group(1), []).append(m.group(2))
    if "main" not in funcs:
        sys.exit("exitcodes.py: %s: no main() in %s" %
                 (prog, " ".join(files)))
    seen, todo = set(), ["main"]
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        for body in funcs.get(fn, []):
            for expr in RETURN.findall(body):
                expr = expr.strip()
                if re.fullmatch(r"\(?\s*(0x[0-9a-fA-F]+|\d+)\s*\)?", expr):
                    codes |= ints(expr)
                for call in re.findall(r"\b([A-Za-z_]\w*)\s*\(", expr):
                    if call in funcs:
                        todo.append(call)
    return codes


def sh_codes(prog, path):
    codes = set()
    arm = None
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            line = re.sub(r"(^|\s)#.*", "", line)
            m = re.match(r"\s*([0-9][0-9|]*)\)", line)
            if m:
                arm = ints(m.group(1))
            elif re.match(r"\s*;;", line) or re.match(r"\s*esac\b", line):
                arm = None
            for m in re.finditer(r"\bexit\b(?:\s+(\S+))?", line):
                arg = (m.group(1) or "").strip("\"';)")
                if re.fullmatch(r"\d+", arg):
                    codes.add(int(arg))
                elif arg.startswith("$") and arm is not None:
                    codes |= arm
                else:
                    sys.exit("exitcodes.py: %s: cannot tell the status "
                             "of: %s" % (prog, line.strip()))
    return codes


def man_codes(top, prog):
    pages = [p for s in "178"
             for p in glob.glob(os.path.join(top, "man", prog + "." + s))]
    if len(pages) != 1:
        sys.exit("exitcodes.py: %s: want one page man/%s.[178], found %d" %
                 (prog, prog, len(pages)))
    codes, insec, found = set(), False, False
    with open(pages[0], encoding="utf-8") as fp:
        for line in fp:
            if line.startswith(".Sh "):
                insec = line.split(None, 1)[1].strip() == "EXIT STATUS"
                found |= insec
                continue
            m = re.match(r"\.It\s+(\d+)\s*$", line)
            if insec and m:
                codes.add(int(m.group(1)))
    if not found:
        sys.exit("exitcodes.py: %s: no EXIT STATUS section" % pages[0])
    return codes, os.path.basename(pages[0])


def programs(top):
    """name -> ("c", [files]) or ("sh", path)"""
    progs = {}
    cmd = os.path.join(top, "cmd")
    for e in sorted(os.listdir(cmd)):
        path = os.path.join(cmd, e)
        if os.path.isdir(path):
            name = e if e.startswith("zk-") else "zk-" + e
            files = sorted(glob.glob(os.path.join(path, "**", "*.[ch]"),
                                     recursive=True))
            if any(f.endswith(".c") for f in files):
                progs.setdefault(name, ("c", []))[1].extend(files)
        elif e.startswith("zk-") and e.endswith(".c"):
            progs.setdefault(e[:-2], ("c", []))[1].append(path)
        elif e.startswith("zk-") and "." not in e:
            with open(path, "rb") as fp:
                head = fp.readline()
            if head.startswith(b"#!") and b"sh" in head:
                progs[e] = ("sh", path)
    return progs


def main():
    args = sys.argv[1:]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    listing = False
    while args and args[0].startswith("-"):
        if args[0] == "-l":
            listing = True
            args = args[1:]
        elif args[0] == "-t" and len(args) > 1:
            top = args[1]
            args = args[2:]
        else:
            sys.exit(__doc__.split("\n\n")[1])
    progs = programs(top)
    if not progs:
        sys.exit("exitcodes.py: no programs in %s/cmd" % top)
    names = args or sorted(progs)
    bad = 0
    for name in names:
        if name not in progs:
            sys.exit("exitcodes.py: %s: no such program in %s/cmd" %
                     (name, top))
        kind, src = progs[name]
        code = c_codes(name, src) if kind == "c" else sh_codes(name, src)
        man, page = man_codes(top, name)
        if listing:
            print("%s code=%s man=%s" % (name,
                  ",".join(map(str, sorted(code))),
                  ",".join(map(str, sorted(man)))))
        for n in sorted(code - man):
            print("%s: code has %d, not in %s" % (name, n, page))
            bad = 1
        for n in sorted(man - code):
            print("%s: %s lists %d, no code returns it" % (name, page, n))
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
