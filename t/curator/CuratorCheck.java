/*
 * CuratorCheck: Apache Curator 5.4 (Debian's libcurator-recipes-java)
 * used the way applications use it, against a ZooKeeper server.
 *
 *	java -cp CLASSPATH CuratorCheck host:port check
 *
 * Prints one line, "ok CHECK: what was seen" or "FAIL CHECK: why", and
 * exits 0 or 1 (2: usage, 3: the whole check took longer than 90 s).
 * Every wait is bounded.  Each check works under /curator/CHECK, which it
 * deletes first, so a check can be run again against the same server.
 * "list" prints the checks.
 */

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.GroupMember;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class CuratorCheck {
	static final String[] CHECKS = {
		"crud", "txn", "mutex", "locks", "leader", "barrier", "queue",
		"counter", "cache", "watch", "ephemeral", "group", "expiry",
		"ttl", "acl", "misc",
	};
	static final long WAIT = 20;		/* seconds, any one wait */

	static String connect;
	static String base;
	static final List<AutoCloseable> closers =
	    Collections.synchronizedList(new ArrayList<>());

	static class Failure extends Exception {
		static final long serialVersionUID = 1;
		Failure(String m) { super(m); }
	}

	static void check(boolean ok, String what) throws Failure {
		if (!ok)
			throw new Failure(what);
	}

	static byte[] b(String s) {
		return s.getBytes(StandardCharsets.UTF_8);
	}

	static String s(byte[] b) {
		return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
	}

	static CuratorFramework client() throws Exception {
		CuratorFramework c = CuratorFrameworkFactory.builder()
		    .connectString(connect)
		    .sessionTimeoutMs(10000)
		    .connectionTimeoutMs(5000)
		    .retryPolicy(new ExponentialBackoffRetry(100, 5))
		    .build();
		closers.add(c);
		c.start();
		check(c.blockUntilConnected((int)WAIT, TimeUnit.SECONDS),
		    "no connection to " + connect + " in " + WAIT + "s");
		return c;
	}

	static <T extends AutoCloseable> T closing(T t) {
		closers.add(t);
		return t;
	}

	/* poll cond every 20 ms until true, at most WAIT seconds */
	interface Cond { boolean get() throws Exception; }
	static void await(Cond cond, String what) throws Exception {
		long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
		while (!cond.get()) {
			if (System.nanoTime() > end)
				throw new Failure("timed out waiting for " + what);
			Thread.sleep(20);
		}
	}

	static <T> T take(BlockingQueue<T> q, String what) throws Exception {
		T t = q.poll(WAIT, TimeUnit.SECONDS);
		if (t == null)
			throw new Failure("timed out waiting for " + what);
		return t;
	}

	/* run n tasks on threads of their own, wait for all (bounded) */
	static <T> List<T> parallel(int n, java.util.function.IntFunction<Callable<T>> f)
	    throws Exception {
		ExecutorService ex = Executors.newFixedThreadPool(n);
		try {
			List<Future<T>> fs = new ArrayList<>();
			for (int i = 0; i < n; i++)
				fs.add(ex.submit(f.apply(i)));
			List<T> r = new ArrayList<>();
			for (Future<T> fu : fs) {
				try {
					r.add(fu.get(3 * WAIT, TimeUnit.SECONDS));
				} catch (java.util.concurrent.ExecutionException e) {
					if (e.getCause() instanceof Exception)
						throw (Exception)e.getCause();
					throw e;
				} catch (java.util.concurrent.TimeoutException e) {
					throw new Failure("a worker thread timed out");
				}
			}
			return r;
		} finally {
			ex.shutdownNow();
		}
	}

	static KeeperException.Code code(Callable<?> op) throws Exception {
		try {
			op.call();
		} catch (KeeperException e) {
			return e.code();
		}
		return KeeperException.Code.OK;
	}

	/* naming/configuration: CRUD, versions, Stats, namespaces */
	static String crud(CuratorFramework c) throws Exception {
		String p = base + "/a/b/c";
		check(c.create().creatingParentsIfNeeded().forPath(p, b("v0"))
		    .equals(p), "create().creatingParentsIfNeeded() path");
		Stat st = new Stat();
		check(s(c.getData().storingStatIn(st).forPath(p)).equals("v0"),
		    "getData after create");
		check(st.getVersion() == 0 && st.getDataLength() == 2 &&
		    st.getNumChildren() == 0 && st.getEphemeralOwner() == 0 &&
		    st.getCzxid() == st.getMzxid() && st.getCtime() > 0 &&
		    st.getCtime() == st.getMtime(), "Stat after create: " + st);
		Stat s1 = c.setData().withVersion(0).forPath(p, b("v1"));
		check(s1.getVersion() == 1 && s1.getMzxid() > st.getMzxid() &&
		    s1.getCzxid() == st.getCzxid(), "Stat after setData: " + s1);
		check(code(() -> c.setData().withVersion(0).forPath(p, b("x")))
		    == KeeperException.Code.BADVERSION, "stale setData not BadVersion");
		check(code(() -> c.delete().withVersion(7).forPath(p))
		    == KeeperException.Code.BADVERSION, "stale delete not BadVersion");
		check(code(() -> c.create().forPath(p))
		    == KeeperException.Code.NODEEXISTS, "second create not NodeExists");
		check(code(() -> c.create().forPath(base + "/nope/x"))
		    == KeeperException.Code.NONODE, "create without parent not NoNode");
		check(code(() -> c.delete().forPath(base + "/a"))
		    == KeeperException.Code.NOTEMPTY, "delete of a parent not NotEmpty");
		c.create().forPath(base + "/a/b2", b(""));
		c.create().orSetData().forPath(base + "/a/b2", b("set"));
		check(s(c.getData().forPath(base + "/a/b2")).equals("set"),
		    "create().orSetData() on an existing node");
		List<String> kids = new ArrayList<>(c.getChildren().forPath(base + "/a"));
		Collections.sort(kids);
		check(kids.equals(Arrays.asList("b", "b2")), "getChildren: " + kids);
		Stat pa = c.checkExists().forPath(base + "/a");
		check(pa != null && pa.getNumChildren() == 2 && pa.getCversion() == 2,
		    "parent Stat numChildren/cversion: " + pa);
		String prot = c.create().withProtection()
		    .withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
		    .forPath(base + "/a/prot", b("p"));
		check(prot.matches(".*/_c_[0-9a-f-]{36}-prot[0-9]{10}"),
		    "withProtection() name: " + prot);
		CuratorFramework ns = c.usingNamespace("curator/crud/ns");
		ns.create().creatingParentsIfNeeded().forPath("/x/y", b("in ns"));
		check(s(c.getData().forPath(base + "/ns/x/y")).equals("in ns"),
		    "usingNamespace path");
		c.delete().deletingChildrenIfNeeded().forPath(base + "/a");
		check(c.checkExists().forPath(base + "/a") == null,
		    "deletingChildrenIfNeeded left the node");
		check(c.checkExists().forPath(base + "/a/b/c") == null,
		    "checkExists of a deleted node not null");
		return "create/set/get/delete, versions, errors, Stats, namespace";
	}

	/* transactions: all or nothing */
	static String txn(CuratorFramework c) throws Exception {
		c.create().forPath(base + "/t", b("0"));
		List<CuratorOp> ops = Arrays.asList(
		    c.transactionOp().create().forPath(base + "/t/a", b("a")),
		    c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
			.forPath(base + "/t/s-", b("s")),
		    c.transactionOp().setData().withVersion(0).forPath(base + "/t", b("1")),
		    c.transactionOp().check().withVersion(1).forPath(base + "/t"),
		    c.transactionOp().delete().forPath(base + "/t/a"));
		List<CuratorTransactionResult> rs = c.transaction().forOperations(ops);
		check(rs.size() == 5, "results: " + rs.size());
		check(rs.get(0).getType() == OperationType.CREATE &&
		    rs.get(0).getResultPath().equals(base + "/t/a"), "create result");
		check(rs.get(1).getResultPath().matches(".*/t/s-[0-9]{10}"),
		    "sequential create result " + rs.get(1).getResultPath());
		check(rs.get(2).getType() == OperationType.SET_DATA &&
		    rs.get(2).getResultStat().getVersion() == 1, "setData result");
		check(rs.get(3).getType() == OperationType.CHECK, "check result");
		check(c.checkExists().forPath(base + "/t/a") == null &&
		    c.getChildren().forPath(base + "/t").size() == 1,
		    "state after the transaction");

		/* the third op fails: nothing of the first two is applied */
		List<CuratorOp> bad = Arrays.asList(
		    c.transactionOp().create().forPath(base + "/t/x", b("x")),
		    c.transactionOp().setData().forPath(base + "/t", b("2")),
		    c.transactionOp().check().withVersion(1).forPath(base + "/t"),
		    c.transactionOp().create().forPath(base + "/t/y", b("y")));
		KeeperException ke = null;
		try {
			c.transaction().forOperations(bad);
		} catch (KeeperException e) {
			ke = e;
		}
		check(ke != null, "failing transaction did not throw");
		check(ke.code() == KeeperException.Code.BADVERSION,
		    "failing transaction code " + ke.code());
		check(c.checkExists().forPath(base + "/t/x") == null &&
		    c.checkExists().forPath(base + "/t/y") == null &&
		    s(c.getData().forPath(base + "/t")).equals("1"),
		    "failed transaction was partly applied");

		/* a failing create in the middle: NoNode, nothing applied */
		KeeperException.Code k = code(() -> c.transaction().forOperations(
		    Arrays.asList(
			c.transactionOp().create().forPath(base + "/t/z"),
			c.transactionOp().create().forPath(base + "/none/z"))));
		check(k == KeeperException.Code.NONODE, "NoNode transaction: " + k);
		check(c.checkExists().forPath(base + "/t/z") == null,
		    "NoNode transaction was partly applied");
		return "5-op transaction applied; BadVersion and NoNode ones applied nothing";
	}

	/* locks: mutual exclusion across clients */
	static String mutex(CuratorFramework c0) throws Exception {
		final int n = 5, rounds = 8;
		AtomicInteger inside = new AtomicInteger(), most = new AtomicInteger();
		AtomicInteger total = new AtomicInteger();
		String lp = base + "/lock";
		parallel(n, i -> () -> {
			CuratorFramework c = client();
			InterProcessMutex m = new InterProcessMutex(c, lp);
			for (int r = 0; r < rounds; r++) {
				check(m.acquire(WAIT, TimeUnit.SECONDS),
				    "client " + i + " got no lock in " + WAIT + "s");
				/* reentrant */
				check(m.acquire(WAIT, TimeUnit.SECONDS), "reentry");
				int in = inside.incrementAndGet();
				most.accumulateAndGet(in, Math::max);
				Thread.sleep(2);
				total.incrementAndGet();
				inside.decrementAndGet();
				m.release();
				m.release();
			}
			return null;
		});
		check(most.get() == 1, "holders at once: " + most.get());
		check(total.get() == n * rounds, "acquisitions " + total.get());
		check(c0.getChildren().forPath(lp).isEmpty(),
		    "lock nodes left: " + c0.getChildren().forPath(lp));
		return n + " clients x " + rounds + " acquisitions, at most 1 holder";
	}

	/* read/write lock and a 2-lease semaphore */
	static String locks(CuratorFramework c0) throws Exception {
		final int n = 4;
		AtomicInteger readers = new AtomicInteger(), writers = new AtomicInteger();
		AtomicInteger bad = new AtomicInteger(), bothReaders = new AtomicInteger();
		CountDownLatch twoReading = new CountDownLatch(2);
		parallel(n, i -> () -> {
			CuratorFramework c = client();
			InterProcessReadWriteLock rw =
			    new InterProcessReadWriteLock(c, base + "/rw");
			if (i < 2) {
				/* two readers hold the read lock together */
				check(rw.readLock().acquire(WAIT, TimeUnit.SECONDS),
				    "read lock " + i);
				readers.incrementAndGet();
				twoReading.countDown();
				if (twoReading.await(WAIT, TimeUnit.SECONDS))
					bothReaders.incrementAndGet();
				if (writers.get() != 0)
					bad.incrementAndGet();
				readers.decrementAndGet();
				rw.readLock().release();
			} else {
				check(twoReading.await(WAIT, TimeUnit.SECONDS),
				    "readers never both in");
				check(rw.writeLock().acquire(WAIT, TimeUnit.SECONDS),
				    "write lock " + i);
				if (writers.incrementAndGet() != 1 || readers.get() != 0)
					bad.incrementAndGet();
				Thread.sleep(5);
				writers.decrementAndGet();
				rw.writeLock().release();
			}
			return null;
		});
		check(bothReaders.get() == 2, "readers were not in together");
		check(bad.get() == 0, "writer overlapped a reader or writer");

		AtomicInteger held = new AtomicInteger(), most = new AtomicInteger();
		parallel(n, i -> () -> {
			CuratorFramework c = client();
			InterProcessSemaphoreV2 sem =
			    new InterProcessSemaphoreV2(c, base + "/sem", 2);
			for (int r = 0; r < 5; r++) {
				Lease l = sem.acquire(WAIT, TimeUnit.SECONDS);
				check(l != null, "no lease in " + WAIT + "s");
				most.accumulateAndGet(held.incrementAndGet(), Math::max);
				Thread.sleep(5);
				held.decrementAndGet();
				sem.returnLease(l);
			}
			return null;
		});
		check(most.get() >= 1 && most.get() <= 2, "leases at once: " + most.get());
		return "2 readers together, writers alone; semaphore at most " +
		    most.get() + " of 2 leases";
	}

	/* master election */
	static String leader(CuratorFramework c0) throws Exception {
		List<LeaderLatch> ls = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			LeaderLatch l = new LeaderLatch(client(), base + "/latch", "p" + i);
			closing(l);
			l.start();
			ls.add(l);
		}
		await(() -> ls.stream().filter(LeaderLatch::hasLeadership).count() == 1 &&
		    ls.get(0).getParticipants().size() == 3, "one leader of 3");
		LeaderLatch first = ls.stream().filter(LeaderLatch::hasLeadership)
		    .findFirst().get();
		for (LeaderLatch l : ls)
			check(l.getLeader().getId().equals(first.getId()),
			    l.getId() + " sees leader " + l.getLeader().getId());
		first.close();
		ls.remove(first);
		await(() -> ls.stream().filter(LeaderLatch::hasLeadership).count() == 1,
		    "a new leader after " + first.getId() + " closed");
		LeaderLatch second = ls.stream().filter(LeaderLatch::hasLeadership)
		    .findFirst().get();
		LeaderLatch other = ls.get(ls.get(0) == second ? 1 : 0);
		await(() -> other.getLeader().getId().equals(second.getId()),
		    other.getId() + " seeing the new leader");
		check(second.await(1, TimeUnit.SECONDS), "await() of the leader");
		check(!other.await(100, TimeUnit.MILLISECONDS), "await() of a follower");
		return first.getId() + " led, then " + second.getId() + " after it closed";
	}

	/* barriers */
	static String barrier(CuratorFramework c0) throws Exception {
		final int n = 3;
		AtomicInteger entered = new AtomicInteger(), early = new AtomicInteger();
		parallel(n, i -> () -> {
			CuratorFramework c = client();
			DistributedDoubleBarrier db =
			    new DistributedDoubleBarrier(c, base + "/double", n);
			check(db.enter(WAIT, TimeUnit.SECONDS), "enter " + i);
			if (entered.incrementAndGet() > n)
				early.incrementAndGet();
			check(db.leave(WAIT, TimeUnit.SECONDS), "leave " + i);
			return null;
		});
		check(entered.get() == n, "entered " + entered.get());

		DistributedBarrier bar = new DistributedBarrier(c0, base + "/single");
		bar.setBarrier();
		CountDownLatch waiting = new CountDownLatch(1);
		ExecutorService ex = Executors.newSingleThreadExecutor();
		try {
			Future<Boolean> f = ex.submit(() -> {
				DistributedBarrier b2 = new DistributedBarrier(client(),
				    base + "/single");
				waiting.countDown();
				return b2.waitOnBarrier(WAIT, TimeUnit.SECONDS);
			});
			check(waiting.await(WAIT, TimeUnit.SECONDS), "waiter start");
			check(!bar.waitOnBarrier(200, TimeUnit.MILLISECONDS),
			    "barrier passed while set");
			bar.removeBarrier();
			check(f.get(WAIT + 5, TimeUnit.SECONDS),
			    "waiter not released by removeBarrier");
		} finally {
			ex.shutdownNow();
		}
		return "double barrier of " + n + " entered and left; barrier released waiter";
	}

	/* queues */
	static String queue(CuratorFramework c0) throws Exception {
		final int n = 20;
		CuratorFramework c1 = client();
		SimpleDistributedQueue q = new SimpleDistributedQueue(c0, base + "/simple");
		SimpleDistributedQueue r = new SimpleDistributedQueue(c1, base + "/simple");
		for (int i = 0; i < n; i++)
			check(q.offer(b("item" + i)), "offer " + i);
		for (int i = 0; i < n; i++) {
			byte[] got = r.poll(WAIT, TimeUnit.SECONDS);
			check(got != null, "poll " + i + " timed out");
			check(s(got).equals("item" + i), "item " + i + " came out as " + s(got));
		}
		check(r.poll(100, TimeUnit.MILLISECONDS) == null, "queue not empty");
		/* a consumer blocked in poll gets an item offered later */
		ExecutorService ex = Executors.newSingleThreadExecutor();
		try {
			Future<byte[]> f = ex.submit(() -> r.poll(WAIT, TimeUnit.SECONDS));
			Thread.sleep(200);
			q.offer(b("late"));
			check(s(f.get(WAIT + 5, TimeUnit.SECONDS)).equals("late"),
			    "blocked poll did not get the late item");
		} finally {
			ex.shutdownNow();
		}

		/* DistributedQueue with a consumer on another client */
		BlockingQueue<String> got = new LinkedBlockingQueue<>();
		QueueSerializer<String> ser = new QueueSerializer<String>() {
			public byte[] serialize(String s) { return b(s); }
			public String deserialize(byte[] b) { return s(b); }
		};
		QueueConsumer<String> cons = new QueueConsumer<String>() {
			public void consumeMessage(String m) { got.add(m); }
			public void stateChanged(CuratorFramework c, ConnectionState s) {}
		};
		DistributedQueue<String> dq = closing(QueueBuilder.builder(c1, cons,
		    ser, base + "/dq").lockPath(base + "/dqlock").buildQueue());
		dq.start();
		DistributedQueue<String> pq = closing(QueueBuilder.builder(c0, null,
		    ser, base + "/dq").buildQueue());
		pq.start();
		for (int i = 0; i < n; i++)
			pq.put("m" + i);
		for (int i = 0; i < n; i++) {
			String m = take(got, "DistributedQueue item " + i);
			check(m.equals("m" + i), "DistributedQueue item " + i + " came as " + m);
		}
		await(() -> c0.getChildren().forPath(base + "/dq").isEmpty(),
		    "DistributedQueue to empty");
		return n + " items in order through SimpleDistributedQueue and DistributedQueue";
	}

	/* counters */
	static String counter(CuratorFramework c0) throws Exception {
		final int n = 4, each = 15;
		parallel(n, i -> () -> {
			CuratorFramework c = client();
			SharedCount sc = closing(new SharedCount(c, base + "/shared", 0));
			sc.start();
			for (int k = 0; k < each; k++) {
				for (int tries = 0; ; tries++) {
					check(tries < 1000, "trySetCount never succeeded");
					VersionedValue<Integer> v = sc.getVersionedValue();
					if (sc.trySetCount(v, v.getValue() + 1))
						break;
				}
			}
			return null;
		});
		SharedCount sc = closing(new SharedCount(c0, base + "/shared", 0));
		sc.start();
		check(sc.getCount() == n * each, "SharedCount " + sc.getCount() +
		    " not " + n * each);

		parallel(n, i -> () -> {
			CuratorFramework c = client();
			DistributedAtomicLong al = new DistributedAtomicLong(c,
			    base + "/atomic", new RetryNTimes(1000, 1));
			for (int k = 0; k < each; k++) {
				AtomicValue<Long> v = al.increment();
				check(v.succeeded(), "increment failed");
				check(v.postValue() == v.preValue() + 1, "pre/post");
			}
			return null;
		});
		DistributedAtomicLong al = new DistributedAtomicLong(c0,
		    base + "/atomic", new RetryNTimes(3, 10));
		long got = al.get().postValue();
		check(got == n * each, "DistributedAtomicLong " + got + " not " + n * each);
		return "SharedCount and DistributedAtomicLong " + n + " x " + each +
		    " = " + n * each;
	}

	/* CuratorCache: persistent recursive watch (addWatch) */
	static String cache(CuratorFramework c0) throws Exception {
		c0.create().forPath(base + "/root", b("r"));
		c0.create().forPath(base + "/root/pre", b("pre"));
		BlockingQueue<String> ev = new LinkedBlockingQueue<>();
		CountDownLatch init = new CountDownLatch(1);
		CuratorFramework c1 = client();
		CuratorCache cc = closing(CuratorCache.build(c1, base + "/root"));
		cc.listenable().addListener(CuratorCacheListener.builder()
		    .forAll((type, oldData, data) -> ev.add(type + " " +
			(data != null ? data.getPath() + "=" + s(data.getData()) :
			oldData.getPath()).substring(base.length())))
		    .forInitialized(init::countDown)
		    .build());
		cc.start();
		check(init.await(WAIT, TimeUnit.SECONDS), "cache initialized");
		TreeSet<String> initial = new TreeSet<>();
		for (String e; (e = ev.poll()) != null; )
			initial.add(e);
		check(initial.equals(new TreeSet<>(Arrays.asList(
		    "NODE_CREATED /root=r", "NODE_CREATED /root/pre=pre"))),
		    "initial events " + initial);
		/*
		 * The cache reads a node's data after its event: one change at
		 * a time, each waited for, or the data seen may be a later one.
		 */
		List<Callable<Object>> ops = Arrays.asList(
		    () -> c0.create().forPath(base + "/root/a", b("1")),
		    () -> c0.create().forPath(base + "/root/a/deep", b("d")),
		    () -> c0.setData().forPath(base + "/root/a", b("2")),
		    () -> c0.setData().forPath(base + "/root", b("r2")),
		    () -> c0.delete().forPath(base + "/root/a/deep"),
		    () -> c0.delete().forPath(base + "/root/pre"));
		String[] want = {
			"NODE_CREATED /root/a=1",
			"NODE_CREATED /root/a/deep=d",
			"NODE_CHANGED /root/a=2",
			"NODE_CHANGED /root=r2",
			"NODE_DELETED /root/a/deep",
			"NODE_DELETED /root/pre",
		};
		for (int i = 0; i < want.length; i++) {
			ops.get(i).call();
			String e = take(ev, want[i]);
			check(e.equals(want[i]), "event " + e + ", expected " + want[i]);
		}
		check(ev.poll(100, TimeUnit.MILLISECONDS) == null,
		    "extra event " + ev.peek());
		check(cc.get(base + "/root/a").map(d -> s(d.getData())).orElse("")
		    .equals("2"), "cache content of /root/a");
		check(cc.size() == 2, "cache size " + cc.size());
		return "initial 2 nodes, then " + want.length +
		    " create/change/delete events in order";
	}

	/* watches through Curator: one-shot, persistent recursive, removal */
	static String watch(CuratorFramework c0) throws Exception {
		c0.create().forPath(base + "/w", b("0"));
		BlockingQueue<String> ev = new LinkedBlockingQueue<>();
		CuratorWatcher once = e -> ev.add("once " + e.getType() + " " +
		    e.getPath().substring(base.length()));
		c0.getData().usingWatcher(once).forPath(base + "/w");
		c0.getChildren().usingWatcher(once).forPath(base + "/w");
		c0.checkExists().usingWatcher(once).forPath(base + "/w2");
		CuratorFramework c1 = client();
		c1.setData().forPath(base + "/w", b("1"));
		check(take(ev, "data watch").equals("once NodeDataChanged /w"),
		    "data watch");
		c1.create().forPath(base + "/w2");
		check(take(ev, "exist watch").equals("once NodeCreated /w2"),
		    "exist watch");
		c1.create().forPath(base + "/w/k");
		check(take(ev, "child watch").equals("once NodeChildrenChanged /w"),
		    "child watch");
		c1.setData().forPath(base + "/w", b("2"));	/* fired: no event */

		Watcher rec = e -> ev.add("rec " + e.getType() + " " +
		    e.getPath().substring(base.length()));
		c0.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE)
		    .usingWatcher(rec).forPath(base + "/w");
		c1.create().forPath(base + "/w/k/g");
		c1.setData().forPath(base + "/w/k", b("x"));
		c1.delete().forPath(base + "/w/k/g");
		for (String w : new String[] { "rec NodeCreated /w/k/g",
		    "rec NodeDataChanged /w/k", "rec NodeDeleted /w/k/g" }) {
			String e = take(ev, w);
			check(e.equals(w), "event " + e + ", expected " + w);
		}
		c0.watchers().remove(rec).forPath(base + "/w");
		String r = take(ev, "PersistentWatchRemoved");
		check(r.equals("rec PersistentWatchRemoved /w"), "removal: " + r);
		check(code(() -> { c0.watchers().remove(rec).forPath(base + "/w");
		    return null; }) == KeeperException.Code.NOWATCHER,
		    "second removeWatches not NoWatcher");
		c1.setData().forPath(base + "/w/k", b("y"));
		c1.setData().forPath(base + "/w2", b("y"));
		/* a later watch's event proves the removed one sent nothing */
		c0.checkExists().usingWatcher(once).forPath(base + "/w3");
		c1.create().forPath(base + "/w3");
		String e = take(ev, "exist watch on /w3");
		check(e.equals("once NodeCreated /w3"), "after removal: " + e);
		return "one-shot data/exist/child watches, persistent recursive, removeWatches";
	}

	/* ephemeral and sequential nodes, gone when the session closes */
	static String ephemeral(CuratorFramework c0) throws Exception {
		c0.create().forPath(base + "/e");
		CuratorFramework a = client();
		long sid = a.getZookeeperClient().getZooKeeper().getSessionId();
		a.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/e/plain", b("e"));
		String s1 = a.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
		    .forPath(base + "/e/seq-", b("s"));
		String s2 = a.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
		    .forPath(base + "/e/seq-", b("s"));
		check(s1.matches(".*/seq-[0-9]{10}") && s2.compareTo(s1) > 0,
		    "sequential names " + s1 + " " + s2);
		PersistentNode pn = new PersistentNode(a, CreateMode.EPHEMERAL, false,
		    base + "/e/pn", b("pn"));
		pn.start();
		check(pn.waitForInitialCreate(WAIT, TimeUnit.SECONDS),
		    "PersistentNode created");
		Stat st = c0.checkExists().forPath(base + "/e/plain");
		check(st != null && st.getEphemeralOwner() == sid,
		    "ephemeralOwner " + (st == null ? "none" :
		    Long.toHexString(st.getEphemeralOwner())) + " not " +
		    Long.toHexString(sid));
		List<String> eph = c0.getZookeeperClient().getZooKeeper()
		    .getEphemerals(base + "/e");
		check(eph.isEmpty(), "getEphemerals of another session: " + eph);
		eph = new ArrayList<>(a.getZookeeperClient().getZooKeeper()
		    .getEphemerals(base + "/e"));
		check(eph.size() == 4, "getEphemerals: " + eph);
		CountDownLatch gone = new CountDownLatch(1);
		c0.checkExists().usingWatcher((CuratorWatcher)e -> {
			if (e.getType() == Watcher.Event.EventType.NodeDeleted)
				gone.countDown();
		}).forPath(base + "/e/plain");
		pn.close();
		a.close();
		check(gone.await(WAIT, TimeUnit.SECONDS),
		    "no NodeDeleted for the ephemeral after its session closed");
		List<String> left = c0.getChildren().forPath(base + "/e");
		check(left.isEmpty(), "left after close: " + left);
		return "ephemeral, 2 sequential and PersistentNode owned by the session, " +
		    "all gone when it closed";
	}

	/* membership */
	static String group(CuratorFramework c0) throws Exception {
		List<GroupMember> ms = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			GroupMember m = closing(new GroupMember(client(),
			    base + "/members", "m" + i, b("data" + i)));
			m.start();
			ms.add(m);
		}
		for (GroupMember m : ms)
			await(() -> m.getCurrentMembers().size() == 3, "3 members seen");
		Map<String, byte[]> cur = ms.get(0).getCurrentMembers();
		check(new TreeSet<>(cur.keySet()).equals(
		    new TreeSet<>(Arrays.asList("m0", "m1", "m2"))), "members " + cur.keySet());
		check(s(cur.get("m2")).equals("data2"), "member data");
		ms.get(1).setThisData(b("new1"));
		await(() -> s(ms.get(0).getCurrentMembers().get("m1")).equals("new1"),
		    "member data change seen");
		ms.get(2).close();
		await(() -> !ms.get(0).getCurrentMembers().containsKey("m2") &&
		    !ms.get(1).getCurrentMembers().containsKey("m2"),
		    "m2 gone after close");
		return "3 members seen by all, data change seen, leaver removed";
	}

	/* session expiry: ephemerals go, PersistentNode comes back */
	static String expiry(CuratorFramework c0) throws Exception {
		c0.create().forPath(base + "/x");
		CuratorFramework a = client();
		BlockingQueue<ConnectionState> states = new LinkedBlockingQueue<>();
		a.getConnectionStateListenable().addListener((c, st) -> states.add(st));
		ZooKeeper zk = a.getZookeeperClient().getZooKeeper();
		long sid = zk.getSessionId();
		a.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/x/plain");
		PersistentNode pn = closing(new PersistentNode(a, CreateMode.EPHEMERAL,
		    false, base + "/x/pn", b("pn")));
		pn.start();
		check(pn.waitForInitialCreate(WAIT, TimeUnit.SECONDS),
		    "PersistentNode created");
		/* another connection on the same session, closed: it expires */
		CountDownLatch conn = new CountDownLatch(1);
		ZooKeeper z2 = new ZooKeeper(connect, 10000, e -> {
			if (e.getState() == Watcher.Event.KeeperState.SyncConnected)
				conn.countDown();
		}, sid, zk.getSessionPasswd());
		check(conn.await(WAIT, TimeUnit.SECONDS),
		    "second connection to the session");
		check(z2.getSessionId() == sid, "second connection's session id");
		z2.close();
		for (;;) {
			ConnectionState st = take(states, "session LOST");
			if (st == ConnectionState.LOST)
				break;
		}
		await(() -> c0.checkExists().forPath(base + "/x/plain") == null,
		    "the ephemeral to go");
		await(() -> {
			Stat s = c0.checkExists().forPath(base + "/x/pn");
			return s != null && s.getEphemeralOwner() != sid &&
			    s.getEphemeralOwner() != 0;
		}, "PersistentNode re-created by the new session");
		long nsid = a.getZookeeperClient().getZooKeeper().getSessionId();
		check(nsid != sid, "same session id after expiry");
		check(c0.checkExists().forPath(base + "/x/pn").getEphemeralOwner() == nsid,
		    "PersistentNode owner");
		return "session closed from a 2nd connection: LOST, ephemeral gone, " +
		    "PersistentNode re-created";
	}

	/* TTL and container nodes (extendedTypesEnabled, short check interval) */
	static String ttl(CuratorFramework c0) throws Exception {
		c0.create().withTtl(300).withMode(CreateMode.PERSISTENT_WITH_TTL)
		    .forPath(base + "/ttl", b("t"));
		String sq = c0.create().withTtl(300)
		    .withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)
		    .forPath(base + "/ttls-", b("t"));
		/* the TTL is kept in ephemeralOwner but clients are shown 0 */
		Stat st = c0.checkExists().forPath(base + "/ttl");
		check(st != null && st.getEphemeralOwner() == 0,
		    "TTL node's Stat " + st);
		c0.create().withMode(CreateMode.CONTAINER).forPath(base + "/box");
		c0.create().forPath(base + "/box/item");
		/* with a child the TTL node stays past its TTL */
		c0.create().forPath(base + "/ttl/kid");
		Thread.sleep(1500);
		check(c0.checkExists().forPath(base + "/ttl") != null,
		    "TTL node with a child went");
		check(c0.checkExists().forPath(base + "/box") != null,
		    "container with a child went");
		await(() -> c0.checkExists().forPath(sq) == null,
		    "sequential TTL node to expire");
		c0.delete().forPath(base + "/ttl/kid");
		c0.delete().forPath(base + "/box/item");
		await(() -> c0.checkExists().forPath(base + "/ttl") == null,
		    "TTL node to expire");
		await(() -> c0.checkExists().forPath(base + "/box") == null,
		    "empty container to go");
		/* what the recipes use: creatingParentContainersIfNeeded */
		c0.create().creatingParentContainersIfNeeded()
		    .forPath(base + "/auto/p/leaf");
		Stat ps = c0.checkExists().forPath(base + "/auto/p");
		check(ps != null, "parent container");
		c0.delete().forPath(base + "/auto/p/leaf");
		await(() -> c0.checkExists().forPath(base + "/auto") == null,
		    "parent containers to go");
		return "TTL nodes expire once childless, containers go when emptied";
	}

	/* ACLs: digest auth, CREATOR_ALL_ACL, NoAuth for others, setACL */
	static String acl(CuratorFramework c0) throws Exception {
		CuratorFramework a = closing(CuratorFrameworkFactory.builder()
		    .connectString(connect)
		    .retryPolicy(new RetryNTimes(3, 100))
		    .authorization("digest", b("alice:secret"))
		    .aclProvider(new ACLProvider() {
			public List<ACL> getDefaultAcl() {
				return ZooDefs.Ids.CREATOR_ALL_ACL;
			}
			public List<ACL> getAclForPath(String p) {
				return ZooDefs.Ids.CREATOR_ALL_ACL;
			}
		    })
		    .build());
		a.start();
		check(a.blockUntilConnected((int)WAIT, TimeUnit.SECONDS), "connect");
		a.create().creatingParentsIfNeeded().forPath(base + "/p/q", b("s"));
		String want = "digest:alice:" + DigestAuthenticationProvider
		    .generateDigest("alice:secret").split(":", 2)[1];
		for (String p : new String[] { base + "/p", base + "/p/q" }) {
			List<ACL> acl = a.getACL().forPath(p);
			check(acl.size() == 1 && acl.get(0).getPerms() ==
			    ZooDefs.Perms.ALL && (acl.get(0).getId().getScheme() +
			    ":" + acl.get(0).getId().getId()).equals(want),
			    p + " ACL " + acl);
		}
		check(s(a.getData().forPath(base + "/p/q")).equals("s"), "owner read");
		check(code(() -> c0.getData().forPath(base + "/p/q"))
		    == KeeperException.Code.NOAUTH, "read without auth not NoAuth");
		check(code(() -> c0.setData().forPath(base + "/p/q", b("x")))
		    == KeeperException.Code.NOAUTH, "write without auth not NoAuth");
		check(code(() -> c0.create().forPath(base + "/p/r"))
		    == KeeperException.Code.NOAUTH, "create without auth not NoAuth");
		Stat st = a.setACL().withACL(Arrays.asList(
		    new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE),
		    new ACL(ZooDefs.Perms.ALL, new Id("digest", want.substring(7)))))
		    .forPath(base + "/p/q");
		check(st.getAversion() == 1, "aversion after setACL " + st.getAversion());
		check(s(c0.getData().forPath(base + "/p/q")).equals("s"),
		    "world read after setACL");
		check(code(() -> c0.setData().forPath(base + "/p/q", b("x")))
		    == KeeperException.Code.NOAUTH, "world write after setACL");
		check(code(() -> a.setACL().withVersion(0)
		    .withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(base + "/p/q"))
		    == KeeperException.Code.BADVERSION, "stale setACL not BadVersion");
		check(code(() -> c0.getACL().forPath(base + "/p"))
		    == KeeperException.Code.NOAUTH, "getACL without auth not NoAuth");
		a.delete().deletingChildrenIfNeeded().forPath(base + "/p");
		return "digest CREATOR_ALL_ACL, NoAuth for others, setACL with aversion";
	}

	/* odds and ends: create2 Stat, sync, session timeout, getConfig */
	static String misc(CuratorFramework c0) throws Exception {
		Stat st = new Stat();
		c0.create().storingStatIn(st).forPath(base + "/n", b("abc"));
		check(st.getDataLength() == 3 && st.getCzxid() != 0 &&
		    st.getVersion() == 0, "create's Stat " + st);
		check(st.getCzxid() == c0.checkExists().forPath(base + "/n").getCzxid(),
		    "create's Stat czxid");
		CountDownLatch synced = new CountDownLatch(1);
		c0.sync().inBackground((c, e) -> {
			if (e.getResultCode() == 0)
				synced.countDown();
		}).forPath(base + "/n");
		check(synced.await(WAIT, TimeUnit.SECONDS), "background sync");
		int to = c0.getZookeeperClient().getZooKeeper().getSessionTimeout();
		check(to == 10000, "negotiated session timeout " + to);
		c0.getZookeeperClient().getZooKeeper().getConfig(false, null);
		check(c0.getZookeeperClient().getZooKeeper()
		    .getAllChildrenNumber(base) == 1, "getAllChildrenNumber");
		String seq = c0.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
		    .forPath(base + "/n/", b(""));
		check(seq.equals(base + "/n/0000000000"), "sequential under /n: " + seq);
		return "create2 Stat, background sync, session timeout, getConfig";
	}

	static String run(String name, CuratorFramework c) throws Exception {
		switch (name) {
		case "crud": return crud(c);
		case "txn": return txn(c);
		case "mutex": return mutex(c);
		case "locks": return locks(c);
		case "leader": return leader(c);
		case "barrier": return barrier(c);
		case "queue": return queue(c);
		case "counter": return counter(c);
		case "cache": return cache(c);
		case "watch": return watch(c);
		case "ephemeral": return ephemeral(c);
		case "group": return group(c);
		case "expiry": return expiry(c);
		case "ttl": return ttl(c);
		case "acl": return acl(c);
		case "misc": return misc(c);
		}
		throw new Failure("no such check");
	}

	static void exit(int rc, String line) {
		if (!line.isEmpty())
			System.out.println(line);
		System.out.flush();
		System.err.flush();
		Runtime.getRuntime().halt(rc);
	}

	public static void main(String[] args) {
		if (args.length == 1 && args[0].equals("list")) {
			for (String c : CHECKS)
				System.out.println(c);
			exit(0, "");
		}
		if (args.length != 2) {
			System.err.println("usage: CuratorCheck host:port check|list");
			exit(2, "");
		}
		connect = args[0];
		String name = args[1];
		base = "/curator/" + name;
		Thread dog = new Thread(() -> {
			try {
				Thread.sleep(90000);
			} catch (InterruptedException e) {
				return;
			}
			exit(3, "FAIL " + name + ": did not finish in 90s");
		});
		dog.setDaemon(true);
		dog.start();
		String line;
		int rc;
		try {
			/* as alice: a failed acl check leaves nodes only she may delete */
			CuratorFramework c = CuratorFrameworkFactory.builder()
			    .connectString(connect)
			    .retryPolicy(new RetryNTimes(3, 100))
			    .authorization("digest", b("alice:secret"))
			    .build();
			c.start();
			check(c.blockUntilConnected((int)WAIT, TimeUnit.SECONDS),
			    "no connection to " + connect + " in " + WAIT + "s");
			if (c.checkExists().forPath(base) != null)
				c.delete().deletingChildrenIfNeeded().forPath(base);
			c.create().creatingParentsIfNeeded().forPath(base);
			c.close();
			c = client();
			line = "ok " + name + ": " + run(name, c);
			rc = 0;
		} catch (Failure f) {
			line = "FAIL " + name + ": " + f.getMessage();
			rc = 1;
		} catch (Exception e) {
			e.printStackTrace();
			line = "FAIL " + name + ": " + e;
			rc = 1;
		}
		/* close in reverse: recipes before their clients */
		List<AutoCloseable> cs = new ArrayList<>(closers);
		Collections.reverse(cs);
		for (AutoCloseable a : cs) {
			try {
				a.close();
			} catch (Exception e) {
				/* already closed (closed by the check) */
			}
		}
		exit(rc, line);
	}
}
