"""reconfig against a zk (or Apache) ensemble, for t/ensemble.bats.

  reconfig.py HOSTPORT[,...] check-initial N QPORT,EPORT ...
  reconfig.py HOSTPORT[,...] observer OBSSPEC
  reconfig.py HOSTPORT config
  reconfig.py LEADER inprogress OBSSPEC PGID,...

Prints what it saw; exits non-zero (with the reason) on the first thing
that is not as Apache ZooKeeper 3.8 does it.
"""
import os
import signal
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError
from kazoo.exceptions import ReconfigInProcessError


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def client(hosts, auth=None):
    c = KazooClient(hosts=hosts, timeout=10,
                    auth_data=[("digest", auth)] if auth else None)
    c.start(timeout=20)
    return c


def version(data):
    last = data.decode().split("\n")[-1]
    if not last.startswith("version="):
        fail("no version= line last: %r" % data)
    return int(last.split("=")[1], 16)


def observer(hosts, spec):
    su = client(hosts, "super:test")
    plain = client(hosts)
    before, _ = su.get("/zookeeper/config")
    # refusals, in Apache's order: bad input before the super-user check
    try:
        plain.reconfig(joining="some thing", leaving=None, new_members=None)
        fail("bad input accepted")
    except BadArgumentsError:
        pass
    try:
        plain.reconfig(joining=spec, leaving=None, new_members=None)
        fail("a reconfig without the super user accepted")
    except NoAuthError:
        pass
    seen = threading.Event()
    su.get("/zookeeper/config", watch=lambda e: seen.set())
    data, st = su.reconfig(joining=spec, leaving=None, new_members=None)
    if spec.encode() not in data:
        fail("joined, not in the config: %r" % data)
    if not seen.wait(10):
        fail("no watch event on /zookeeper/config")
    if version(data) <= version(before):
        fail("version did not grow: %r" % data)
    if st.mzxid != version(data):
        fail("mzxid 0x%x is not the version: %r" % (st.mzxid, data))
    got, _ = plain.get("/zookeeper/config")
    if got != data:
        fail("getConfig after reconfig: %r" % got)
    sid = spec.split("=")[0].split(".")[1]
    data2, _ = su.reconfig(joining=None, leaving=sid, new_members=None)
    if spec.encode() in data2:
        fail("left, still in the config: %r" % data2)
    try:
        su.reconfig(joining=spec, leaving=None, new_members=None,
                    from_config=version(data2) + 1)
        fail("a reconfig from a future version accepted")
    except BadVersionError:
        pass
    # zk changes one voter at a time: two are refused, the config unchanged
    try:
        su.reconfig(joining=None, leaving="2,3", new_members=None)
        fail("two voters removed at once")
    except BadArgumentsError:
        pass
    got, _ = su.get("/zookeeper/config")
    if got != data2:
        fail("config changed by a refused reconfig: %r" % got)
    data3, _ = su.reconfig(joining=spec, leaving=None, new_members=None,
                           from_config=version(data2))
    print(data3.decode())


def inprogress(leader, spec, pgids):
    """One reconfig at a time, as Apache's leader decides them: with its
    followers stopped (the process groups pgids), the leader's first
    reconfig waits for a quorum, and a second is decided meanwhile:
    ReconfigInProgress (a txn too, answered once the followers are back)."""
    su = client(leader, "super:test")
    for g in pgids:
        os.killpg(g, signal.SIGSTOP)
    try:
        first = su.reconfig_async(joining=spec, leaving=None,
                                  new_members=None, from_config=-1)
        second = su.reconfig_async(joining=None, leaving="100",
                                   new_members=None, from_config=-1)
        if first.wait(0.5):
            fail("a reconfig committed with the followers stopped")
    finally:
        for g in pgids:
            os.killpg(g, signal.SIGCONT)
    data, _ = first.get(timeout=20)
    if spec.encode() not in data:
        fail("joined, not in the config: %r" % data)
    try:
        second.get(timeout=20)
        fail("a second reconfig accepted while one was in progress")
    except ReconfigInProcessError:
        pass
    print(data.decode())


def main():
    hosts, what = sys.argv[1], sys.argv[2]
    if what == "observer":
        observer(hosts, sys.argv[3])
    elif what == "inprogress":
        inprogress(hosts, sys.argv[3],
                   [int(g) for g in sys.argv[4].split(",")])
    elif what == "config":
        c = client(hosts)
        c.sync("/zookeeper/config")
        data, st = c.get("/zookeeper/config")
        print(data.decode())
    else:
        fail("usage")


main()
