"""reconfig against a zk (or Apache) ensemble, for t/ensemble.bats.

  reconfig.py HOSTPORT[,...] check-initial N QPORT,EPORT ...
  reconfig.py HOSTPORT[,...] observer OBSSPEC
  reconfig.py HOSTPORT config

Prints what it saw; exits non-zero (with the reason) on the first thing
that is not as Apache ZooKeeper 3.8 does it.
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError


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


def main():
    hosts, what = sys.argv[1], sys.argv[2]
    if what == "observer":
        observer(hosts, sys.argv[3])
    elif what == "config":
        c = client(hosts)
        c.sync("/zookeeper/config")
        data, st = c.get("/zookeeper/config")
        print(data.decode())
    else:
        fail("usage")


main()
