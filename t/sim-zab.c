/*
 * sim-zab: a deterministic simulation of libzk/zab.c with libzk/elect.c.
 * N voters and some observers run election and ZAB in one process.  Votes
 * travel as datagrams that may be lost, duplicated or delayed; ZAB runs
 * over connections that keep order, may stall silently (a partition) or
 * reset, as TCP does.  Disks are simulated: an append is durable only
 * once its fsync completes, and a crash loses what was not; a node may
 * also die in the middle of an epoch file's write, the messages its ZAB
 * listed before the write in flight and the write lost (one in 25
 * epoch writes while faults run).  Nodes take snapshots and purge their
 * logs, so that learners need SNAP too.
 *
 *	sim-zab [-v] [-n voters] [-o observers] [-s seed] [-c count]
 *
 * Checked at every step:
 *   - every node applies the same transactions in the same order: the
 *     k-th transaction any node hands its tree is the k-th of every other
 *     (so nothing committed is lost or changed, and tree digests, a hash
 *     chain over what was applied, agree at every zxid);
 *   - a transaction applied for the first time is durable on a quorum of
 *     voters (committed means that, whether or not a loss follows);
 *   - a read index (zab_read, asked of random nodes now and then) covers
 *     every transaction committed before it was asked (linearizableReads);
 *   - in one seed of four, leaders are asked now and then to hand
 *     leadership off (zab_handoff, the election then voting for the
 *     voter handed to), and all of the above still holds; every other
 *     time it is SIGTERM, as zk-log takes it: the leader hands off only
 *     if its followers make a quorum without it (zab_leavable), and it
 *     dies once it stepped down, gave the handoff up, or did not hand
 *     off;
 *   - in one seed of three, leaders propose reconfigs now and then, as
 *     zk-log's leader decides them (one at a time, one node changed
 *     between voter and observer, two voters left at least, a synced
 *     quorum of the new voters): each node goes by a reconfig's voters
 *     once it applies it (zab_members, fle_members, and its durable
 *     copy, zoo.cfg.dynamic), a node whose own kind changed starts
 *     again as the other, a SNAP brings the members its tree holds, a
 *     vote brings the sender's (zk-elect's config=), and
 *     "durable on a quorum" above is of the voters its leader (the node
 *     that applies the txn first) goes by, which must be those of the last
 *     reconfig that preceded the txn or of the one before (a leader
 *     counts by the old ones until it has taken the new);
 *   - at most one leader per epoch gets its epoch accepted by a quorum;
 *   - a leader's SNAP is exact at the zxid it claims;
 * and once the network heals and every node is back, within 30 simulated
 * seconds: one leader, every node serving and holding everything
 * committed.
 *
 * On failure it prints "sim-zab: seed=S ..." and a replay line, exit 1.
 */
#include <sys/types.h>

#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "sim.h"

#define MAXN		7
#define FAULTMS		15000
#define SETTLEMS	30000
#define TICK		100
#define MAXEPOCH	4096
#define RECONF		(1ULL << 63)	/* a txn's value: a reconfig to the
					   voters of the low bits */

struct rec {
	int64_t		 zxid, commit;
	uint64_t	 val;
};

struct node {
	struct zab	 z;
	struct fle	 f;
	int		 alive, voter;
	/* the disk */
	int64_t		 aepoch, cepoch;
	struct rec	*log;
	size_t		 nlog, caplog, ndurable;
	int64_t		 snapzxid;	/* the snapshot: tree at this zxid */
	uint64_t	 snapk, snapdig;
	/* memory */
	int64_t		 applied;
	uint64_t	 k, dig;
	uint64_t	 gen;		/* bumped by a truncation or crash */
	int		 fsyncing;
	int		 frozen;	/* dies in an epoch write: EV_DIE */
	int		 leaving;	/* SIGTERM: dies once it steps down */
	int64_t		 backat;	/* ... and is started again then */
	/* members: the voters it goes by (a bit a node), since the
	   reconfig cfgv; its durable copy; the snapshot's; whether it
	   started as a voter */
	uint32_t	 mask, dmask, snapmask;
	int64_t		 cfgv, dcfgv, snapcfgv;
	int64_t		 reconfat;	/* a leader's last reconfig */
	int		 restarting;	/* it changed kind: EV_RESTART */
	uint64_t	 boots;		/* EV_MEMBERS, EV_RESTART are of one */
};

enum { EV_VOTE, EV_ZMSG, EV_CONN, EV_CLOSED, EV_FSYNC, EV_DIE, EV_MEMBERS,
	EV_RESTART };

struct ev {
	struct simkey	 key;		/* first: sim.h */
	int		 type, from, to;	/* node indexes */
	uint64_t	 inc;			/* connection or fsync gen */
	size_t		 upto;			/* EV_FSYNC: log length */
	struct fle_msg	 vote;
	struct zab_msg	 m;
	uint64_t	 val;			/* PROPOSAL data */
	uint64_t	 snapk, snapdig;	/* SNAP: the tree */
	uint32_t	 snapmask;		/* ... and its members */
	int64_t		 snapcfgv;
};

struct conn {			/* learner a to leader b: conn[a][b] */
	uint64_t	 inc;		/* 0: none */
	int		 up, broken;
	int64_t		 lastat[2];	/* to b, to a: FIFO */
};

_Static_assert(sizeof(struct ev) <= sizeof(((struct simheap *)0)->tmp),
    "an event fits sim.h's heap");

static struct {
	uint64_t	 rng, seed, inc;
	int		 verbose, n, nvoters;
	struct node	 node[MAXN];
	int		 link[MAXN][MAXN];
	struct conn	 conn[MAXN][MAXN];
	struct simheap	 q;
	int64_t		 now, step;
	int		 drop, slow, faults;
	int		 handoffs;	/* this seed asks for some */
	int		 reconfs;	/* ... and reconfigs */
	long		 reconfigs;	/* reconfigs applied */
	long		 restarts;	/* nodes that changed kind */
	uint32_t	 gcur, gprev;	/* the history's voters: by its last
					   reconfig, and before that */
	long		 handed;	/* ... and they were started */
	long		 stepped;	/* ... and the leader stepped down */
	long		 asked;		/* handoffs asked for */
	long		 left;		/* leaders that died of SIGTERM */
	long		 died;		/* nodes that died in an epoch write */
	/* the one history every node must apply */
	int64_t		*gz;
	uint64_t	*gv, *gd;
	size_t		 glen, gcap;
	/* read indexes asked: what was committed when each was asked */
	int64_t		*rfloor;
	size_t		 nread, rcap;
	int		 epochleader[MAXEPOCH];
	uint64_t	 nextval, proposed;
} S;

/* alive, and not blocked in a write it dies in */
static int
up(int i)
{
	return S.node[i].alive && !S.node[i].frozen;
}

static uint64_t
rnd(void)
{
	return sim_rnd(&S.rng);
}

static int
below(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

static void __attribute__((format(printf, 1, 2)))
trace(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	sim_vtrace(S.verbose, S.now, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list	 ap;

	printf("sim-zab: seed=%" PRIu64 " step=%" PRId64 " t=%" PRId64
	    "ms: ", S.seed, S.step, S.now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nreplay: sim-zab -n %d -o %d -s %" PRIu64 " -c 1 -v\n",
	    S.nvoters, S.n - S.nvoters, S.seed);
	exit(1);
}

static void
qpush(struct ev *x)
{
	if (S.q.n >= 1000000)
		fail("%zu events in flight: a storm", S.q.n);
	if (simheap_push(&S.q, x) == -1)
		err(EX_OSERR, NULL);
}

static uint64_t
mix(uint64_t d, int64_t zxid, uint64_t v)
{
	d ^= (uint64_t)zxid * 0x9e3779b97f4a7c15ULL;
	d = (d ^ (d >> 29)) * 0xbf58476d1ce4e5b9ULL;
	d ^= v * 0x94d049bb133111ebULL;
	return d ^ (d >> 31);
}

static size_t	 after(const struct node *, int64_t);

/*
 * A txn applied for the first time anywhere is committed: a quorum of
 * voters must hold it durably, in the synced part of their logs or under
 * a snapshot (down or not: a crash keeps what was durable).  The voters
 * its leader (the node that applies it first) goes by, which must be
 * those of the history's last reconfig before it, or of the one before
 * (a leader takes a reconfig's voters once it has applied it).
 */
static void
durable_quorum(int i, const struct rec *r)
{
	const struct node	*nd = &S.node[i];
	size_t			 k;
	uint32_t		 by = 0;
	int			 j, n = 0;

	for (j = 0; j < nd->z.n; j++)
		if (nd->z.ids[j] != -1 && nd->z.voter[j])
			by |= 1u << (nd->z.ids[j] - 1);
	if (by != S.gcur && by != S.gprev)
		fail("node %d commits 0x%" PRIx64 " by the voters 0x%x, not "
		    "0x%x or 0x%x", i + 1, r->zxid, by, S.gcur, S.gprev);
	for (j = 0; j < S.n; j++) {
		nd = &S.node[j];
		k = after(nd, r->zxid);
		if (nd->snapzxid >= r->zxid || (k > 0 && k <= nd->ndurable &&
		    nd->log[k - 1].zxid == r->zxid &&
		    nd->log[k - 1].val == r->val))
			n += (by >> j) & 1;
	}
	if (n <= __builtin_popcount(by) / 2)
		fail("node %d applies 0x%" PRIx64 ", durable on %d of the "
		    "voters 0x%x only", i + 1, r->zxid, n, by);
}

static void	 adopt(int, uint32_t, int64_t);

/* node i's tree applies one txn: it must be the k-th of the history */
static void
apply(int i, const struct rec *r)
{
	struct node	*nd = &S.node[i];

	nd->dig = mix(nd->dig, r->zxid, r->val);
	if (nd->k < S.glen) {
		if (S.gz[nd->k] != r->zxid || S.gv[nd->k] != r->val ||
		    S.gd[nd->k] != nd->dig)
			fail("node %d applies 0x%" PRIx64 "=%" PRIu64 " as txn "
			    "%" PRIu64 ", which is 0x%" PRIx64 "=%" PRIu64
			    " elsewhere", i + 1, r->zxid, r->val, nd->k,
			    S.gz[nd->k], S.gv[nd->k]);
	} else {
		if (S.glen == S.gcap) {
			S.gcap = S.gcap ? S.gcap * 2 : 1024;
			if ((S.gz = reallocarray(S.gz, S.gcap, 8)) == NULL ||
			    (S.gv = reallocarray(S.gv, S.gcap, 8)) == NULL ||
			    (S.gd = reallocarray(S.gd, S.gcap, 8)) == NULL)
				err(EX_OSERR, NULL);
		}
		if (S.glen > 0 && S.gz[S.glen - 1] >= r->zxid)
			fail("node %d applies 0x%" PRIx64 " after 0x%" PRIx64,
			    i + 1, r->zxid, S.gz[S.glen - 1]);
		durable_quorum(i, r);
		if (r->val & RECONF) {
			S.gprev = S.gcur;
			S.gcur = (uint32_t)r->val;
			S.reconfigs++;
		}
		S.gz[S.glen] = r->zxid;
		S.gv[S.glen] = r->val;
		S.gd[S.glen] = nd->dig;
		S.glen++;
	}
	nd->k++;
	nd->applied = r->zxid;
	if (r->val & RECONF)
		adopt(i, (uint32_t)r->val, r->zxid);
}

/* the index of the first record after zxid */
static size_t
after(const struct node *nd, int64_t zxid)
{
	size_t	 lo = 0, hi = nd->nlog, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (nd->log[mid].zxid <= zxid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
applyto(int i, int64_t to)
{
	struct node	*nd = &S.node[i];
	size_t		 j;

	for (j = after(nd, nd->applied); j < nd->nlog &&
	    nd->log[j].zxid <= to; j++)
		apply(i, &nd->log[j]);
	if (nd->applied != to)
		fail("node %d told to apply to 0x%" PRIx64 ", its log stops "
		    "at 0x%" PRIx64, i + 1, to, nd->applied);
}

/* connections */

static struct conn *
connof(int x, int y, int *dir)
{
	struct node	*nx = &S.node[x];

	if (nx->z.role == FLE_LEADING) {
		*dir = 1;	/* leader y... x is b: to a */
		return &S.conn[y][x];
	}
	*dir = 0;
	return &S.conn[x][y];
}

static void
closeconn(int a, int b, int rst)
{
	struct conn	*c = &S.conn[a][b];
	struct ev	 e;
	int		 k;

	if (c->inc == 0)
		return;
	for (k = 0; k < 2 && rst; k++) {
		int	 to = k ? a : b, from = k ? b : a;

		if (!S.link[from][to] || !S.link[to][from])
			continue;
		memset(&e, 0, sizeof(e));
		e.type = EV_CLOSED;
		e.from = from;
		e.to = to;
		e.inc = c->inc;
		e.key.at = S.now + 1 + below(5);
		qpush(&e);
	}
	memset(c, 0, sizeof(*c));
}

static void	 run_out(int, struct zab_out *);
static void	 elect(int);
static void	 leave(int, const char *);

static void
sendz(int x, int y, const struct zab_msg *m, uint64_t val, uint64_t k,
    uint64_t dig)
{
	struct conn	*c;
	struct ev	 e;
	int		 dir;

	c = connof(x, y, &dir);
	if (c->inc == 0 || !c->up || c->broken)
		return;
	if (!S.link[x][y] || below(1000) < S.drop) {
		c->broken = 1;	/* silently: only timeouts notice */
		trace("conn %d-%d stalls", x + 1, y + 1);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.type = EV_ZMSG;
	e.from = x;
	e.to = y;
	e.inc = c->inc;
	e.m = *m;
	e.m.data = NULL;
	e.val = val;
	e.snapk = k;
	e.snapdig = dig;
	e.snapmask = S.node[x].mask;	/* a SNAP's tree holds them */
	e.snapcfgv = S.node[x].cfgv;
	e.key.at = S.now + 1 + below(4);
	if (below(1000) < S.slow)
		e.key.at += 50 + below(300);
	if (e.key.at < c->lastat[dir])
		e.key.at = c->lastat[dir];
	c->lastat[dir] = e.key.at;
	qpush(&e);
}

static void
fsync_start(int i)
{
	struct node	*nd = &S.node[i];
	struct ev	 e;

	if (nd->fsyncing || nd->ndurable == nd->nlog)
		return;
	memset(&e, 0, sizeof(e));
	e.type = EV_FSYNC;
	e.to = i;
	e.inc = nd->gen;
	e.upto = nd->nlog;
	e.key.at = S.now + 1 + below(8);
	if (below(10) == 0)
		e.key.at += 20 + below(60);	/* a slow disk */
	nd->fsyncing = 1;
	qpush(&e);
}

static void
logappend(int i, int64_t zxid, int64_t commit, uint64_t val)
{
	struct node	*nd = &S.node[i];

	if (nd->nlog > 0 && nd->log[nd->nlog - 1].zxid >= zxid)
		fail("node %d appends 0x%" PRIx64 " after 0x%" PRIx64, i + 1,
		    zxid, nd->log[nd->nlog - 1].zxid);
	if (nd->nlog == nd->caplog) {
		nd->caplog = nd->caplog ? nd->caplog * 2 : 64;
		if ((nd->log = reallocarray(nd->log, nd->caplog,
		    sizeof(*nd->log))) == NULL)
			err(EX_OSERR, NULL);
	}
	nd->log[nd->nlog].zxid = zxid;
	nd->log[nd->nlog].commit = commit;
	nd->log[nd->nlog].val = val;
	nd->nlog++;
	fsync_start(i);
}

static void
sendlog(int i, const struct zab_act *a)
{
	struct node	*nd = &S.node[i];
	struct zab_msg	 m;
	size_t		 j = after(nd, a->zxid);
	int		 to = a->peer - 1;

	if (a->zxid != nd->z.base && (j == 0 || nd->log[j - 1].zxid != a->zxid))
		fail("node %d sends its log after 0x%" PRIx64 ", which it "
		    "does not hold", i + 1, a->zxid);
	for (; j < nd->nlog && nd->log[j].zxid <= a->zxid2; j++) {
		memset(&m, 0, sizeof(m));
		m.type = a->m.type;
		m.zxid = nd->log[j].zxid;
		m.commit = nd->log[j].commit;
		sendz(i, to, &m, nd->log[j].val, 0, 0);
	}
	if (j == 0 || nd->log[j - 1].zxid != a->zxid2)
		fail("node %d sends its log to 0x%" PRIx64 ", which it does "
		    "not hold", i + 1, a->zxid2);
}

static void
check_leader(int i)
{
	struct node	*nd = &S.node[i];
	int64_t		 e = nd->z.epoch;

	if (nd->z.role != FLE_LEADING || e == 0 || nd->z.cepoch != e)
		return;
	if (e >= MAXEPOCH)
		fail("epoch %" PRId64 ": too many", e);
	if (S.epochleader[e] == 0)
		S.epochleader[e] = i + 1;
	else if (S.epochleader[e] != i + 1)
		fail("two leaders of epoch %" PRId64 ": %d and %d", e,
		    S.epochleader[e], i + 1);
}

static void	 crash(int);

/*
 * Node i dies while it writes an epoch file: the write is lost, what its
 * ZAB listed after it never happens, and it does nothing more (blocked
 * on the disk) until it dies a few ms later.  What was listed before the
 * write is in flight and may arrive first: zk-log sends its queued
 * messages before an epoch write (zab.h's action order).
 */
static void
diewriting(int i, const char *what)
{
	struct node	*nd = &S.node[i];
	struct ev	 e;

	trace("node %d dies writing its %s", i + 1, what);
	S.died++;
	nd->frozen = 1;
	memset(&e, 0, sizeof(e));
	e.type = EV_DIE;
	e.to = i;
	e.inc = nd->gen;
	e.key.at = S.now + 1 + below(8);
	qpush(&e);
}

/*
 * Node i's tree took a reconfig's voters (or a SNAP's, at v): zk-log
 * writes them to zoo.cfg.dynamic at once, and zab and zk-elect take them
 * at the end of its pass (EV_MEMBERS); or, its own kind changed, the
 * node starts again as the other (EV_RESTART, half a second in zk-log).
 */
static void
adopt(int i, uint32_t mask, int64_t v)
{
	struct node	*nd = &S.node[i];
	struct ev	 e;

	if (v <= nd->cfgv)
		return;
	nd->mask = nd->dmask = mask;
	nd->cfgv = nd->dcfgv = v;
	if (nd->restarting)
		return;
	memset(&e, 0, sizeof(e));
	e.to = i;
	e.inc = nd->boots;
	if ((int)((mask >> i) & 1) != nd->voter) {
		trace("node %d is now %s: it starts again", i + 1,
		    nd->voter ? "an observer" : "a voter");
		nd->restarting = 1;
		e.type = EV_RESTART;
		e.key.at = S.now + 20 + below(80);
	} else {
		trace("node %d takes the voters 0x%x of 0x%" PRIx64, i + 1,
		    mask, v);
		e.type = EV_MEMBERS;
		e.key.at = S.now;
	}
	qpush(&e);
}

/* zab and the election go by node i's members (zk-log's takemembers) */
static void
members(int i)
{
	struct node	*nd = &S.node[i];
	struct zab_out	 o;
	int		 ids[MAXN], voter[MAXN], cl[ZK_MAXSERVERS], j;
	uint32_t	 was = 0;

	for (j = 0; j < nd->z.n; j++)
		if (nd->z.ids[j] != -1 && nd->z.voter[j])
			was |= 1u << (nd->z.ids[j] - 1);
	for (j = 0; j < S.n; j++) {
		ids[j] = j + 1;
		voter[j] = (nd->mask >> j) & 1;
	}
	if (zab_members(&nd->z, ids, voter, S.n, cl, &o) == -1 ||
	    fle_members(&nd->f, ids, voter, S.n) == -1)
		fail("node %d refuses the voters 0x%x", i + 1, nd->mask);
	for (j = 0; j < S.n; j++)	/* those that changed kind go */
		if (((was ^ nd->mask) >> j) & 1) {
			closeconn(i, j, 1);
			closeconn(j, i, 1);
		}
	run_out(i, &o);
}

/* do what node i's ZAB asks, in order */
static void
run_out(int i, struct zab_out *o)
{
	struct node	*nd = &S.node[i];
	struct zab_act	*a;
	struct zab_msg	 m;
	size_t		 k;
	int		 j;

	for (k = 0; k < o->n; k++) {
		a = &o->a[k];
		switch (a->type) {
		case ZA_SEND:
			sendz(i, a->peer - 1, &a->m, a->m.data != NULL ?
			    *(const uint64_t *)a->m.data : 0, 0, 0);
			break;
		case ZA_SENDLOG:
			sendlog(i, a);
			break;
		case ZA_SENDSNAP:
			if (nd->applied != a->zxid)
				fail("node %d: SNAP at 0x%" PRIx64 " of a tree "
				    "at 0x%" PRIx64, i + 1, a->zxid,
				    nd->applied);
			memset(&m, 0, sizeof(m));
			m.type = ZM_SNAP;
			m.zxid = a->zxid;
			sendz(i, a->peer - 1, &m, 0, nd->k, nd->dig);
			break;
		case ZA_ACCEPTED:
		case ZA_CURRENT:
			if (S.faults && S.now < FAULTMS && below(25) == 0) {
				diewriting(i, a->type == ZA_ACCEPTED ?
				    "acceptedEpoch" : "currentEpoch");
				return;
			}
			if (a->type == ZA_ACCEPTED)
				nd->aepoch = a->zxid;
			else
				nd->cepoch = a->zxid;
			break;
		case ZA_TRUNC:
			if (a->zxid < nd->applied)
				fail("node %d truncates to 0x%" PRIx64 " below "
				    "applied 0x%" PRIx64, i + 1, a->zxid,
				    nd->applied);
			nd->nlog = after(nd, a->zxid);
			if (nd->ndurable > nd->nlog)
				nd->ndurable = nd->nlog;
			nd->gen++;
			nd->fsyncing = 0;
			fsync_start(i);
			break;
		case ZA_SNAPLOAD:
			break;	/* done by the caller of zab_recv */
		case ZA_APPEND:
			logappend(i, a->zxid, a->m.commit,
			    *(const uint64_t *)a->m.data);
			break;
		case ZA_COMMIT:
			applyto(i, a->zxid);
			break;
		case ZA_READ:
			if (a->zxid2 <= 0 || (size_t)a->zxid2 > S.nread)
				fail("node %d: a read index for read %" PRId64
				    ", never asked", i + 1, a->zxid2);
			if (a->zxid >= 0 && a->zxid < S.rfloor[a->zxid2])
				fail("node %d: read %" PRId64 " gets index 0x%"
				    PRIx64 ", but 0x%" PRIx64 " was committed "
				    "before it was asked", i + 1, a->zxid2,
				    a->zxid, S.rfloor[a->zxid2]);
			break;
		case ZA_CONNECT:
			j = a->peer - 1;
			for (int b = 0; b < S.n; b++)
				closeconn(i, b, 1);
			S.conn[i][j].inc = ++S.inc;
			{
				struct ev e;

				memset(&e, 0, sizeof(e));
				e.type = EV_CONN;
				e.from = i;
				e.to = j;
				e.inc = S.conn[i][j].inc;
				e.key.at = S.now + 1 + below(5);
				qpush(&e);
			}
			break;
		case ZA_CLOSE:
			for (j = 0; j < S.n; j++) {
				if (a->peer != -1 && j != a->peer - 1)
					continue;
				closeconn(i, j, 1);
				closeconn(j, i, 1);
			}
			break;
		default:
			fail("node %d: action %d", i + 1, a->type);
		}
	}
	check_leader(i);
	if (o->serving == 1)	/* zk-log tells zk-elect */
		fle_epoch(&S.node[i].f, S.node[i].z.cepoch);
	if (o->looking) {
		trace("node %d looks again: %s", i + 1, o->why);
		if (S.node[i].z.handto != -1)
			S.stepped++;
		if (S.node[i].leaving) {	/* SIGTERM: it exits now */
			leave(i, "it stepped down");
			return;
		}
		elect(i);
	}
}

static void
fle_after(int i, const struct fle_out *fo)
{
	struct node	*nd = &S.node[i];
	struct zab_out	 o;
	struct ev	 e;
	size_t		 k;

	for (k = 0; k < fo->nsend; k++) {
		int	 to = fo->send[k].to - 1;

		if (!S.link[i][to] || below(1000) < S.drop)
			continue;
		memset(&e, 0, sizeof(e));
		e.type = EV_VOTE;
		e.from = i;
		e.to = to;
		e.vote = fo->send[k];
		e.snapmask = nd->mask;		/* zk-elect's config= */
		e.snapcfgv = nd->cfgv;
		e.key.at = S.now + 1 + below(10);
		if (below(1000) < S.slow)
			e.key.at += 100 + below(500);
		qpush(&e);
	}
	if (fo->settled && nd->f.state != FLE_LOOKING) {
		trace("node %d settles: %s of %" PRId64, i + 1,
		    fle_statename(nd->f.state), nd->f.leader);
		zab_role(&nd->z, S.now, nd->f.state, (int)nd->f.leader, &o);
		run_out(i, &o);
	}
}

static void
elect(int i)
{
	struct node	*nd = &S.node[i];
	struct fle_out	 fo;

	nd->f.handto = nd->z.handto;	/* zk-log's `look ... for=` */
	fle_start(&nd->f, S.now, zab_last(&nd->z), nd->z.cepoch, &fo);
	fle_after(i, &fo);
}

static void	 hint(int, int, int);

static void
boot(int i)
{
	struct node	*nd = &S.node[i];
	int		 ids[MAXN], voter[MAXN], j;
	int64_t		 commit, base;
	size_t		 k;

	/* zoo.cfg.dynamic's members, or its snapshot's if newer (zk-tree's
	   loaded line) */
	if (nd->snapcfgv > nd->dcfgv) {
		nd->dmask = nd->snapmask;
		nd->dcfgv = nd->snapcfgv;
	}
	nd->mask = nd->dmask;
	nd->cfgv = nd->dcfgv;
	nd->voter = (nd->mask >> i) & 1;
	nd->restarting = 0;
	nd->boots++;
	for (j = 0; j < S.n; j++) {
		ids[j] = j + 1;
		voter[j] = (nd->mask >> j) & 1;
	}
	zab_free(&nd->z);
	if (zab_init(&nd->z, i + 1, ids, voter, S.n, TICK, 10 * TICK,
	    5 * TICK) == -1 || fle_init(&nd->f, i + 1, ids, voter, S.n) == -1)
		err(EX_SOFTWARE, "init");
	/* the tree: the snapshot, then what the log knows committed */
	nd->applied = nd->snapzxid;
	nd->k = nd->snapk;
	nd->dig = nd->snapdig;
	commit = nd->snapzxid;
	for (k = 0; k < nd->nlog; k++)
		if (nd->log[k].commit > commit)
			commit = nd->log[k].commit;
	/* the log starts after its base: every record kept follows it */
	base = nd->snapzxid;
	k = after(nd, base);
	if (k > 0) {		/* records the snapshot covers: purge them */
		memmove(nd->log, nd->log + k, (nd->nlog - k) *
		    sizeof(*nd->log));
		nd->nlog -= k;
	}
	nd->ndurable = nd->nlog;
	if (nd->nlog > 0 && commit > nd->log[nd->nlog - 1].zxid)
		commit = nd->log[nd->nlog - 1].zxid;
	if (commit < base)
		commit = base;
	applyto(i, commit);
	if (zab_load(&nd->z, nd->aepoch, nd->cepoch, base, commit) == -1)
		fail("node %d: zab_load", i + 1);
	for (k = 0; k < nd->nlog; k++)
		if (zab_logged(&nd->z, nd->log[k].zxid) == -1)
			fail("node %d: its log is not in order at 0x%" PRIx64,
			    i + 1, nd->log[k].zxid);
	nd->alive = 1;
	nd->backat = 0;
	nd->gen++;
	nd->fsyncing = 0;
	trace("node %d boots: epochs %" PRId64 "/%" PRId64 " snap 0x%" PRIx64
	    " log %zu commit 0x%" PRIx64, i + 1, nd->aepoch, nd->cepoch,
	    nd->snapzxid, nd->nlog, commit);
	elect(i);
	for (j = 0; j < S.n; j++)
		hint(j, i, 0);
}

/*
 * zk-elect's connection hints: node j's election hears that i's
 * connection closed (down) or came up.  Hints only: a partition gives
 * some at random, right or not, and safety must not rest on them.
 */
static void
hint(int j, int i, int down)
{
	struct fle_out	 fo;

	if (i == j || !up(j))
		return;
	if (down)
		fle_peerdown(&S.node[j].f, S.now, i + 1, &fo);
	else
		fle_peerup(&S.node[j].f, i + 1, &fo);
	fle_after(j, &fo);
}

static void
crash(int i)
{
	struct node	*nd = &S.node[i];
	int		 j;

	if (!nd->alive)
		return;
	trace("crash %d", i + 1);
	for (j = 0; j < S.n; j++) {
		closeconn(i, j, 1);
		closeconn(j, i, 1);
	}
	nd->alive = 0;
	nd->frozen = 0;
	nd->leaving = 0;
	for (j = 0; j < S.n; j++)
		hint(j, i, 1);
	nd->nlog = nd->ndurable;	/* what was not durable is gone */
	nd->gen++;
	nd->fsyncing = 0;
}

static void
snapshot(int i)
{
	struct node	*nd = &S.node[i];
	size_t		 k;
	int64_t		 purged;

	if (!up(i) || nd->applied <= nd->snapzxid)
		return;
	/* of what the tree applied, durable or not in the log (zk-tree's
	   snapshot is its own file, synced) */
	nd->snapzxid = nd->applied;
	nd->snapk = nd->k;
	nd->snapdig = nd->dig;
	nd->snapmask = nd->mask;
	nd->snapcfgv = nd->cfgv;
	trace("node %d snapshot at 0x%" PRIx64, i + 1, nd->snapzxid);
	/* and purges the log it covers, as far as it is durable: zk-log
	   removes whole segments, never the one it writes.  (A purge of
	   records still being synced took their fsync with it, and ZAB
	   never heard them durable: a learner then never acknowledged its
	   NEWLEADER.) */
	k = after(nd, nd->snapzxid);
	if (k > nd->ndurable)
		k = nd->ndurable;
	if (below(2) && k > 0) {
		purged = nd->log[k - 1].zxid;
		memmove(nd->log, nd->log + k, (nd->nlog - k) *
		    sizeof(*nd->log));
		nd->nlog -= k;
		nd->ndurable -= k;
		nd->gen++;	/* indexes moved: a new fsync */
		nd->fsyncing = 0;
		fsync_start(i);
		zab_purged(&nd->z, purged);
	}
}

static void
deliver(const struct ev *e)
{
	struct node	*nd = &S.node[e->to];
	struct zab_out	 o;
	struct fle_out	 fo;
	struct zab_msg	 m;
	struct conn	*c;

	if (e->type == EV_DIE) {
		if (nd->frozen && e->inc == nd->gen)
			crash(e->to);
		return;
	}
	/* a node blocked in its dying write takes nothing in */
	if (nd->frozen || (e->type == EV_CONN && S.node[e->from].frozen))
		return;
	switch (e->type) {
	case EV_MEMBERS:
		if (nd->alive && e->inc == nd->boots && !nd->restarting)
			members(e->to);
		return;
	case EV_RESTART:
		if (!nd->alive || e->inc != nd->boots)
			return;
		S.restarts++;
		crash(e->to);
		boot(e->to);
		return;
	case EV_VOTE:
		if (!nd->alive || !S.link[e->from][e->to])
			return;
		/* newer members in a vote: zk-log takes them */
		adopt(e->to, e->snapmask, e->snapcfgv);
		fle_recv(&nd->f, S.now, &e->vote, &fo);
		fle_after(e->to, &fo);
		return;
	case EV_FSYNC:
		if (!nd->alive || e->inc != nd->gen)
			return;
		nd->fsyncing = 0;
		if (e->upto > nd->ndurable && e->upto <= nd->nlog) {
			nd->ndurable = e->upto;
			zab_durable(&nd->z, S.now, nd->log[e->upto - 1].zxid,
			    &o);
			run_out(e->to, &o);
		}
		fsync_start(e->to);
		return;
	case EV_CONN:
		c = &S.conn[e->from][e->to];
		if (c->inc != e->inc || !S.node[e->from].alive)
			return;
		if (!S.node[e->to].alive || !S.link[e->from][e->to] ||
		    !S.link[e->to][e->from]) {
			struct ev	 r = *e;	/* try again */

			r.key.at = S.now + 100;
			qpush(&r);
			return;
		}
		c->up = 1;
		zab_connected(&S.node[e->from].z, S.now, e->to + 1, &o);
		run_out(e->from, &o);
		return;
	case EV_CLOSED:
		if (!nd->alive)
			return;
		if ((S.conn[e->to][e->from].inc != 0 &&
		    S.conn[e->to][e->from].inc != e->inc) ||
		    (S.conn[e->from][e->to].inc != 0 &&
		    S.conn[e->from][e->to].inc != e->inc))
			return;		/* a newer connection */
		zab_closed(&nd->z, S.now, e->from + 1, &o);
		run_out(e->to, &o);
		return;
	case EV_ZMSG:
		break;
	}
	/* on a connection: still that one, not stalled, still reachable */
	if (S.conn[e->from][e->to].inc == e->inc)
		c = &S.conn[e->from][e->to];	/* to the leader side */
	else if (S.conn[e->to][e->from].inc == e->inc)
		c = &S.conn[e->to][e->from];
	else
		return;
	if (!nd->alive || c->broken)
		return;
	if (!S.link[e->from][e->to]) {
		c->broken = 1;
		return;
	}
	if (nd->z.role != FLE_LEADING && c == &S.conn[e->from][e->to]) {
		/* a learner's message to one that no longer leads */
		closeconn(e->from, e->to, 1);
		return;
	}
	m = e->m;
	m.data = &e->val;
	m.len = sizeof(e->val);
	if (m.type == ZM_SNAP) {
		zab_recv(&nd->z, S.now, e->from + 1, &m, &o);
		if (o.n > 0 && o.a[0].type == ZA_SNAPLOAD) {
			/* load it, durably, before the rest */
			nd->snapzxid = nd->applied = m.zxid;
			nd->snapk = nd->k = e->snapk;
			nd->snapdig = nd->dig = e->snapdig;
			if (nd->k > S.glen || (nd->k > 0 &&
			    (S.gz[nd->k - 1] != m.zxid ||
			    S.gd[nd->k - 1] != nd->dig)))
				fail("node %d loads a SNAP at 0x%" PRIx64
				    " that is not the history's", e->to + 1,
				    m.zxid);
			nd->nlog = nd->ndurable = 0;
			nd->gen++;
			nd->fsyncing = 0;
			nd->snapmask = e->snapmask;
			nd->snapcfgv = e->snapcfgv;
			adopt(e->to, e->snapmask, e->snapcfgv);
		}
		run_out(e->to, &o);
		return;
	}
	zab_recv(&nd->z, S.now, e->from + 1, &m, &o);
	run_out(e->to, &o);
}

static void
fault(void)
{
	int	 i, j, k = below(14);

	if (k < 3) {
		int	 side[MAXN];

		for (i = 0; i < S.n; i++)
			side[i] = below(2);
		for (i = 0; i < S.n; i++)
			for (j = 0; j < S.n; j++)
				S.link[i][j] = side[i] == side[j];
		trace("partition");
		for (i = 0; i < S.n; i++)
			for (j = 0; j < S.n; j++)
				if (below(2))
					hint(j, i, !S.link[i][j]);
	} else if (k < 5) {
		i = below(S.n);
		j = below(S.n);
		S.link[i][j] = !S.link[i][j];
		trace("link %d->%d %s", i + 1, j + 1, S.link[i][j] ? "up" :
		    "down");
	} else if (k < 6) {
		for (i = 0; i < S.n; i++)
			for (j = 0; j < S.n; j++)
				S.link[i][j] = 1;
		trace("heal");
	} else if (k < 8) {
		crash(below(S.n));
	} else if (k < 10) {
		i = below(S.n);
		if (!S.node[i].alive)
			boot(i);
	} else if (k < 12) {
		i = below(S.n);		/* a connection resets */
		j = below(S.n);
		if (S.conn[i][j].inc != 0) {
			trace("reset %d-%d", i + 1, j + 1);
			closeconn(i, j, 1);
		}
	} else {		/* a power cut: a majority at once */
		trace("power cut");
		for (i = j = 0; i < S.n && j <= S.n / 2; i++)
			if (below(2)) {
				crash(i);
				j++;
			}
	}
}

/*
 * A read index, asked of a random node: whatever index comes back must
 * cover every txn committed (applied anywhere) before the asking.
 */
static void
readask(void)
{
	struct zab_out	 o;
	int		 i = below(S.n);

	if (!up(i))
		return;
	if (S.nread + 1 >= S.rcap) {
		S.rcap = S.rcap ? S.rcap * 2 : 1024;
		if ((S.rfloor = reallocarray(S.rfloor, S.rcap, 8)) == NULL)
			err(EX_OSERR, NULL);
	}
	S.nread++;
	S.rfloor[S.nread] = S.glen > 0 ? S.gz[S.glen - 1] : 0;
	zab_read(&S.node[i].z, S.now, S.nread, &o);
	run_out(i, &o);
}

/*
 * Leader i proposes a reconfig as zk-log's leader decides one: none of
 * its own in this epoch still uncommitted, one node changed between voter
 * and observer (itself, maybe), two voters at least, a synced quorum of
 * the new voters.  1 if it did.
 */
static int
reconf(int i)
{
	struct node	*nd = &S.node[i];
	struct zab_out	 o;
	int		 ids[ZK_MAXSERVERS], n, k, j;
	uint32_t	 m;
	uint64_t	 v;
	int64_t		 z;

	if (nd->reconfat >> 32 == nd->z.epoch && nd->reconfat > nd->cfgv)
		return 0;
	m = nd->mask ^ (1u << below(S.n));
	n = zab_synced(&nd->z, ids);
	for (j = k = 0; j < n; j++)
		k += (m >> (ids[j] - 1)) & 1;
	if (__builtin_popcount(m) < 2 || k <= __builtin_popcount(m) / 2)
		return 0;
	v = RECONF | m;
	if ((z = zab_propose(&nd->z, S.now, &v, sizeof(v), &o)) == -1)
		return 0;
	trace("node %d proposes the voters 0x%x at 0x%" PRIx64, i + 1, m, z);
	nd->reconfat = z;
	S.proposed++;
	run_out(i, &o);
	return 1;
}

static void
propose(void)
{
	struct zab_out	 o;
	int		 cand[MAXN], nc = 0, i;
	uint64_t	 v;

	for (i = 0; i < S.n; i++)
		if (up(i) && S.node[i].z.role == FLE_LEADING &&
		    zab_serving(&S.node[i].z))
			cand[nc++] = i;
	if (nc == 0)
		return;
	i = cand[below(nc)];
	if (S.reconfs && below(40) == 0 && reconf(i))
		return;
	v = ++S.nextval;
	if (zab_propose(&S.node[i].z, S.now, &v, sizeof(v), &o) != -1) {
		S.proposed++;
		run_out(i, &o);
	}
}

/* A leader that got SIGTERM exits; a rolling restart starts it again. */
static void
leave(int i, const char *why)
{
	trace("node %d leaves: %s", i + 1, why);
	S.left++;
	crash(i);
	S.node[i].backat = S.now + 500;
}

/*
 * A serving leader is asked to hand leadership off (zab_handoff), or
 * every other time gets SIGTERM: then it hands off only if its
 * followers make a quorum without it, and dies once it stepped down
 * (run_out), gave the handoff up (run), or at once if it did not hand
 * off.  It draws no random number, so the seeds without handoffs
 * (three in four) run as they did.
 */
static void
handoff(void)
{
	struct zab_out	 o;
	int		 i, to, term;

	for (i = 0; i < S.n; i++)
		if (up(i) && zab_proposing(&S.node[i].z))
			break;
	if (i == S.n)
		return;
	term = S.asked++ % 2 == 1;
	if (term && !zab_leavable(&S.node[i].z)) {
		leave(i, "its followers are no quorum without it");
		return;
	}
	if ((to = zab_handoff(&S.node[i].z, S.now, -1, &o)) != -1) {
		S.handed++;
		S.node[i].leaving = term;
		trace("node %d hands leadership off to %d%s", i + 1, to,
		    term ? " (SIGTERM)" : "");
	} else if (term) {
		leave(i, "no synced voter to hand to");
		return;
	}
	run_out(i, &o);
}

static void
run(uint64_t seed)
{
	struct ev	 e;
	struct zab_out	 o;
	struct fle_out	 fo;
	int		 i, j, leader = -1;
	int64_t		 nextfault, nextwrite, nextsnap, d, next, end;

	for (i = 0; i < MAXN; i++) {
		zab_free(&S.node[i].z);
		free(S.node[i].log);
	}
	memset(&S.node, 0, sizeof(S.node));
	S.asked = 0;		/* a seed replays alone as in a run */
	memset(&S.conn, 0, sizeof(S.conn));
	memset(&S.epochleader, 0, sizeof(S.epochleader));
	S.seed = seed;
	S.rng = seed;
	S.q.n = S.glen = S.nread = 0;
	S.q.seq = 0;
	S.q.size = sizeof(struct ev);
	S.now = S.step = 0;
	S.nextval = S.proposed = 0;
	S.faults = seed % 8 != 0;
	S.handoffs = seed % 4 == 3;
	S.reconfs = seed % 3 == 1;
	S.gcur = S.gprev = (1u << S.nvoters) - 1;
	S.drop = S.faults ? below(30) : 0;
	S.slow = S.faults ? below(100) : 0;
	for (i = 0; i < S.n; i++) {
		S.node[i].dmask = S.node[i].snapmask = S.gcur;
		for (j = 0; j < S.n; j++)
			S.link[i][j] = 1;
	}
	trace("seed %" PRIu64 " drop %d slow %d", seed, S.drop, S.slow);
	for (i = 0; i < S.n; i++) {
		S.now = below(50);
		boot(i);
	}
	nextfault = S.faults ? 200 + below(500) : INT64_MAX;
	nextwrite = 10;
	nextsnap = 500;
	end = FAULTMS + SETTLEMS;
	while (S.now < end) {
		S.step++;
		next = nextwrite < nextfault ? nextwrite : nextfault;
		if (nextsnap < next)
			next = nextsnap;
		if (S.q.n > 0 && simheap_top(&S.q)->at < next)
			next = simheap_top(&S.q)->at;
		for (i = 0; i < S.n; i++) {
			if (S.node[i].backat != 0 && S.node[i].backat < next)
				next = S.node[i].backat;
			if (!up(i))
				continue;
			if ((d = fle_deadline(&S.node[i].f)) != 0 && d < next)
				next = d;
			if ((d = zab_deadline(&S.node[i].z)) != 0 && d < next)
				next = d;
		}
		if (next > S.now)
			S.now = next;
		if (S.q.n > 0 && simheap_top(&S.q)->at <= S.now) {
			simheap_pop(&S.q, &e);
			if (e.type == EV_ZMSG)
				trace("%d->%d %s epoch %" PRId64 " zxid 0x%"
				    PRIx64, e.from + 1, e.to + 1,
				    zab_msgname(e.m.type), e.m.epoch, e.m.zxid);
			deliver(&e);
			continue;
		}
		for (i = 0; i < S.n; i++) {
			/* a leader that left is started again */
			if (S.node[i].backat != 0 && S.node[i].backat <= S.now &&
			    !S.node[i].alive)
				boot(i);
			if (!up(i))
				continue;
			if ((d = fle_deadline(&S.node[i].f)) != 0 &&
			    d <= S.now) {
				fle_tick(&S.node[i].f, S.now, &fo);
				fle_after(i, &fo);
			}
			if (!up(i))	/* it died writing */
				continue;
			if ((d = zab_deadline(&S.node[i].z)) != 0 &&
			    d <= S.now) {
				zab_tick(&S.node[i].z, S.now, &o);
				run_out(i, &o);
			}
			/* SIGTERM, its handoff given up: zk-log exits */
			if (up(i) && S.node[i].leaving &&
			    S.node[i].z.hto == -1 &&
			    S.node[i].z.role == FLE_LEADING)
				leave(i, "its handoff was given up");
		}
		if (S.now >= nextwrite) {
			if (S.now < FAULTMS + SETTLEMS / 2) {
				propose();
				if (below(4) == 0)
					readask();
				if (S.handoffs && below(100) == 0)
					handoff();
			}
			nextwrite = S.now + 1 + below(20);
		}
		if (S.now >= nextsnap) {
			snapshot(below(S.n));
			nextsnap = S.now + 100 + below(1000);
		}
		if (S.now >= nextfault) {
			if (S.now < FAULTMS) {
				fault();
				nextfault = S.now + 10 + below(500);
			} else {
				for (i = 0; i < S.n; i++)
					for (j = 0; j < S.n; j++)
						S.link[i][j] = 1;
				S.drop = S.slow = 0;
				for (i = 0; i < S.n; i++) {
					if (S.node[i].frozen)
						crash(i);
					if (!S.node[i].alive)
						boot(i);
				}
				trace("all healed");
				nextfault = INT64_MAX;
			}
		}
	}
	for (i = 0; i < S.n; i++) {
		struct node	*nd = &S.node[i];

		if (nd->z.role == FLE_LEADING) {
			if (leader != -1)
				fail("two leaders at the end: %d and %d",
				    leader + 1, i + 1);
			leader = i;
		}
	}
	if (leader == -1)
		fail("no leader %d s after healing", SETTLEMS / 1000);
	for (i = 0; i < S.n; i++) {
		struct node	*nd = &S.node[i];

		if (!zab_serving(&nd->z))
			fail("node %d is not serving at the end (%s, election "
			    "%s of %" PRId64 " round %" PRId64 ", voters 0x%x)",
			    i + 1, fle_statename(nd->z.role),
			    fle_statename(nd->f.state), nd->f.leader,
			    nd->f.round, nd->mask);
		if (nd->k != S.glen)
			fail("node %d holds %" PRIu64 " of %zu txns at the end",
			    i + 1, nd->k, S.glen);
	}
	if (!S.faults && S.glen < S.proposed / 2)
		fail("no faults, yet %zu of %" PRIu64 " proposals committed",
		    S.glen, S.proposed);
	trace("ok: leader %d, %zu txns, %" PRIu64 " proposed", leader + 1,
	    S.glen, S.proposed);
}

int
main(int argc, char *argv[])
{
	uint64_t	 seed = 1, count = 100, k, txns = 0;
	int		 obs = 0, i;

	S.nvoters = 3;
	sim_args(argc, argv, 5, &S.nvoters, &obs, &seed, &count, &S.verbose);
	S.n = S.nvoters + obs;
	for (k = 0; k < count; k++) {
		run(seed + k);
		txns += S.glen;
	}
	printf("sim-zab: %" PRIu64 " seeds from %" PRIu64 " passed, %d "
	    "voters, %d observers, %" PRIu64 " txns committed, %ld "
	    "handoffs (%ld stepped down), %ld leaders left (SIGTERM), %ld "
	    "died writing an epoch, %ld reconfigs (%ld changed kind)\n",
	    count, seed, S.nvoters, obs, txns, S.handed, S.stepped, S.left,
	    S.died, S.reconfigs, S.restarts);
	for (i = 0; i < MAXN; i++) {
		zab_free(&S.node[i].z);
		free(S.node[i].log);
	}
	free(S.q.v);
	free(S.gz);
	free(S.rfloor);
	free(S.gv);
	free(S.gd);
	return 0;
}
