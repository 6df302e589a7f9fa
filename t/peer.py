#!/usr/bin/python3
"""peer.py: a fake zk peer for the tests (Python standard library only).

  peer.py serve SOCK LOG [FEED]
      Listen on the Unix socket SOCK.  Every line received on any
      connection is appended to LOG (flushed at once).  Whatever is in the
      file FEED, and whatever is appended to it later, is sent to every
      connection (each connection gets the whole FEED from the start).
      Runs until killed.

  peer.py talk SOCK STEP...
      Connect to SOCK (retrying for 5 s) and run the steps in order:
        @read       print the next line received (fail after 5 s)
        @sleep S    sleep S seconds
        @drain S    print every line received within S seconds
        anything else is a line to send
"""
import os
import select
import socket
import sys
import time


def serve(path, logpath, feed=None):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    log = open(logpath, "ab", buffering=0)
    conns = {}                      # socket -> [feed offset, partial input]
    while True:
        r, _, _ = select.select([ls] + list(conns), [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                conns[c] = [0, b""]
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                del conns[s]
                s.close()
                continue
            st = conns[s]
            st[1] += data
            if b"\n" in st[1]:
                whole, _, st[1] = st[1].rpartition(b"\n")
                log.write(whole + b"\n")
        if feed is not None and conns and os.path.exists(feed):
            with open(feed, "rb") as f:
                text = f.read()
            for c, st in list(conns.items()):
                if st[0] < len(text):
                    end = text.rfind(b"\n", st[0]) + 1
                    if end > st[0]:
                        try:
                            c.sendall(text[st[0]:end])
                        except OSError:
                            pass
                        st[0] = end


def talk(path, steps):
    deadline = time.time() + 5
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    buf = b""

    def readline(timeout):
        nonlocal buf
        end = time.time() + timeout
        while b"\n" not in buf:
            left = end - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([s], [], [], left)
            if r:
                data = s.recv(65536)
                if not data:
                    return None
                buf += data
        line, _, buf = buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    for step in steps:
        if step == "@read":
            line = readline(5)
            if line is None:
                sys.exit("peer.py: no line within 5 s")
            print(line, flush=True)
        elif step.startswith("@sleep "):
            time.sleep(float(step.split()[1]))
        elif step.startswith("@drain "):
            end = time.time() + float(step.split()[1])
            while True:
                line = readline(max(0.0, end - time.time()))
                if line is None:
                    break
                print(line, flush=True)
        else:
            s.sendall(step.encode() + b"\n")
    s.close()


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3],
              sys.argv[4] if len(sys.argv) > 4 else None)
    elif len(sys.argv) >= 3 and sys.argv[1] == "talk":
        talk(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
