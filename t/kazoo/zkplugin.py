"""pytest plugin: run kazoo's own test suite against zk instead of Java.

Loaded with `-p zkplugin` (t/kazoo/ on PYTHONPATH) by t/kazoo/run.sh.

kazoo.testing.common.ManagedZooKeeper.run() writes zoo.cfg and myid, then
starts `java ... -Dzookeeper.X=Y ... QuorumPeerMain zoo.cfg` through
subprocess.Popen.  This plugin swaps the `subprocess` name that module uses
for a shim whose Popen:

  ZK_KAZOO_TARGET=zk      appends every -Dzookeeper.X=Y as a zoo.cfg line
                          `zookeeper.X=Y`, -Dreadonlymode.enabled=Y as
                          `readonlymode.enabled=Y`, and the JAAS file of
                          -Djava.security.auth.login.config=PATH as
                          `java.security.auth.login.config=PATH` (zk-gate's
                          SASL users), and starts `$ZK_BIN/zk-node zoo.cfg`
                          instead (in its own process group)
  ZK_KAZOO_TARGET=apache  starts the java command unchanged

The harness stops a server with Popen.terminate() (SIGTERM to that PID)
and Popen.wait(); the shim then SIGKILLs whatever is left in the server's
process group and says so on stderr.  Every PID started is appended to
$ZK_KAZOO_PIDFILE so run.sh can kill leftovers by PID after pytest exits.
"""
import os
import signal
import subprocess
import sys
import types

import kazoo.testing.common as common

TARGET = os.environ.get("ZK_KAZOO_TARGET", "apache")
ZK_BIN = os.environ.get("ZK_BIN", "")
PIDFILE = os.environ.get("ZK_KAZOO_PIDFILE")
STOP_SECS = 20


def _note_pid(pid):
    if PIDFILE:
        with open(PIDFILE, "a") as f:
            f.write("%d\n" % pid)


def _zk_args(args):
    """java argv -> (zk-node argv, zoo.cfg lines to append)."""
    try:
        i = args.index("org.apache.zookeeper.server.quorum.QuorumPeerMain")
    except ValueError:
        raise RuntimeError("zkplugin: not a ZooKeeper command: %r" % (args,))
    config = args[i + 1]
    extra = []
    for a in args[:i]:
        if (a.startswith("-Dzookeeper.") or
                a.startswith("-Dreadonlymode.enabled=") or
                a.startswith("-Djava.security.auth.login.config=")) and "=" in a:
            extra.append(a[2:])
    node = os.path.join(ZK_BIN, "zk-node")
    if os.environ.get("ZK_KAZOO_DEBUG"):    # run.sh: debug lines in the logs
        return [node, "-d", config], config, extra
    return [node, config], config, extra


class _Server(subprocess.Popen):
    def wait(self, timeout=None):
        # A zk-node that ignores SIGTERM must not hang the suite: after
        # STOP_SECS its whole process group is killed.
        try:
            rc = super().wait(timeout if timeout is not None else STOP_SECS)
        except subprocess.TimeoutExpired:
            if timeout is not None:
                raise
            sys.stderr.write("zkplugin: zk-node %d still running %ds after "
                             "SIGTERM; killing its group\n" % (self.pid, STOP_SECS))
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = super().wait()
        # The supervisor should have taken its daemons with it.
        try:
            os.killpg(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return rc
        sys.stderr.write("zkplugin: processes left in group %d after "
                         "zk-node exited; killing them\n" % self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return rc


_count = [0]


def _popen(args, **kw):
    if TARGET != "zk":
        p = subprocess.Popen(args, **kw)
        _note_pid(p.pid)
        return p
    argv, config, extra = _zk_args(list(args))
    if extra:
        with open(config, "a") as f:
            f.write("\n# from java system properties (zkplugin)\n")
            for line in extra:
                f.write(line + "\n")
    logdir = os.environ.get("ZK_KAZOO_LOGDIR") or os.path.dirname(config)
    _count[0] += 1
    logpath = os.path.join(logdir, "zk-node.%d.log" % _count[0])
    log = open(logpath, "ab")
    try:
        p = _Server(argv, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    cwd=os.path.dirname(config))
    finally:
        log.close()
    _note_pid(p.pid)
    return p


# run.sh starts pytest in the background, where sh sets SIGINT to ignored;
# put Python's handler back so that SIGINT stops the run cleanly (the
# junit report is still written and the harness stops its servers).
signal.signal(signal.SIGINT, signal.default_int_handler)

# Only the harness's module sees the shim; everything else keeps the real
# subprocess module.
_shim = types.SimpleNamespace(**{k: getattr(subprocess, k)
                                 for k in dir(subprocess)
                                 if not k.startswith("__")})
_shim.Popen = _popen
common.subprocess = _shim


def pytest_report_header(config):
    if TARGET == "zk":
        return "kazoo suite against zk: %s" % os.path.join(ZK_BIN, "zk-node")
    return "kazoo suite against Apache ZooKeeper (java)"
