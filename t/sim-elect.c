/*
 * sim-elect: a deterministic simulation of libzk/elect.c.  N voters and
 * some observers run the election state machine in one process over a
 * simulated network that loses, delays, reorders and duplicates votes,
 * is cut into partitions, and has nodes crash and come back (an election
 * keeps nothing on disk: a node comes back looking).  A stand-in for ZAB
 * sends a node back into the election when it loses its leader or, as a
 * leader, its quorum, as zk-elect's callers will.
 *
 *	sim-elect [-v] [-n voters] [-o observers] [-s seed] [-c count]
 *
 * Checked at every step:
 *   - a voter that settles as leader has a vote at least as good as the
 *     own votes of a quorum of voters (so the log ZAB will sync from it
 *     holds everything a quorum logged: what makes FLE safe for ZAB);
 *   - a node settles on a voter, a leader on itself;
 * and once the network heals and every node is back, within 60 simulated
 * seconds: one leader, every voter following it, every observer observing
 * it.
 *
 * A run without faults (one seed in four; its links deliver in order, as
 * TCP does) is a start and, with three voters or more, a failover: every
 * node must have settled 200 ms in, on the best vote of all (no wait for
 * a resend or for a vote that cannot come); then the leader crashes, each
 * survivor hears it 1-30 ms later (its connection to the leader closes)
 * and looks, and by 150 ms after the crash every survivor must have
 * settled on the best vote among them.  The old leader comes back 600 ms
 * after its crash and must follow the new one.
 *
 * On failure it prints "sim-elect: seed=S: ..." and exits 1; -s S -c 1 -v
 * replays that run and prints every step.  Exit 0 when every seed passed.
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

#define MAXN		9
#define FAULTMS		20000	/* faults during the first 20 s */
#define SETTLEMS	60000	/* then this long to agree */
#define LOSTMS		1000	/* a node gives up on its leader/quorum */
#define CLEANMS		200	/* without faults, all settled by then */
#define FAILMS		150	/* ... and again this long after a crash */
#define MAXINFLIGHT	100000

struct node {
	struct fle	 f;
	int		 alive;
	int		 voter;
	struct fle_vote	 mine;		/* what it brings to an election */
	int64_t		 lostsince;	/* leader or quorum missing since */
};

struct inflight {
	struct simkey	 key;		/* first: sim.h */
	struct fle_msg	 m;
};

static struct {
	uint64_t	 rng;
	int		 verbose, n, nvoters, clean;
	struct node	 node[MAXN];
	int		 link[MAXN][MAXN];	/* 1: up */
	struct simheap	 q;			/* votes by time */
	int64_t		 now, step;
	int64_t		 lookat[MAXN];		/* (re)starts looking then */
	int64_t		 fifo[MAXN][MAXN];	/* clean: a link's last vote */
	uint64_t	 seed;
	int		 drop, dup, slow;	/* per mille */
} S;

static uint64_t
rnd(void)
{
	return sim_rnd(&S.rng);	/* one seed, one run */
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

	printf("sim-elect: seed=%" PRIu64 " step=%" PRId64 " t=%" PRId64
	    "ms: ", S.seed, S.step, S.now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nreplay: sim-elect -n %d -o %d -s %" PRIu64 " -c 1 -v\n",
	    S.nvoters, S.n - S.nvoters, S.seed);
	exit(1);
}

static void
qpush(struct inflight *x)
{
	if (S.q.n >= MAXINFLIGHT)
		fail("%zu votes in flight: a storm", S.q.n);
	if (simheap_push(&S.q, x) == -1)
		err(EX_OSERR, NULL);
}

/* myids are 1..n; node index id - 1 */
static void
transmit(const struct fle_out *o)
{
	struct inflight	 x;
	size_t		 i;
	int		 a, b, copies, k;

	for (i = 0; i < o->nsend; i++) {
		a = o->send[i].from - 1;
		b = o->send[i].to - 1;
		if (b < 0 || b >= S.n)
			fail("a vote to unknown myid %d", o->send[i].to);
		if (!S.link[a][b] || (!S.clean && below(1000) < S.drop)) {
			trace("drop %d->%d", a + 1, b + 1);
			continue;
		}
		copies = !S.clean && below(1000) < S.dup ? 2 : 1;
		for (k = 0; k < copies; k++) {
			x.m = o->send[i];
			x.key.at = S.now + 1 + below(20);
			if (!S.clean && below(1000) < S.slow)
				x.key.at += 200 + below(1500);	/* reordered */
			/* without faults a link is a TCP connection: what
			   goes first arrives first */
			if (S.clean && x.key.at < S.fifo[a][b])
				x.key.at = S.fifo[a][b];
			S.fifo[a][b] = x.key.at;
			qpush(&x);
		}
	}
}

/*
 * The order of votes, written here again rather than taken from
 * elect.c, so that a wrong order there cannot hide from the checks:
 * epoch, then zxid, then myid.
 */
static int
vbetter(const struct fle_vote *a, const struct fle_vote *b)
{
	if (a->epoch != b->epoch)
		return a->epoch > b->epoch;
	if (a->zxid != b->zxid)
		return a->zxid > b->zxid;
	return a->leader > b->leader;
}

static void
vote_ok(int i)
{
	struct node	*nd = &S.node[i];
	int		 j, covered = 0;
	int64_t		 l = nd->f.leader;

	if (nd->f.state == FLE_LOOKING)
		return;
	if (l < 1 || l > S.n || !S.node[l - 1].voter)
		fail("node %d settled on %" PRId64 ", not a voter", i + 1, l);
	if ((nd->f.state == FLE_LEADING) != (l == i + 1))
		fail("node %d is %s of %" PRId64, i + 1,
		    fle_statename(nd->f.state), l);
	if (nd->f.state == FLE_OBSERVING && nd->voter)
		fail("voter %d observes", i + 1);
	if (nd->f.state != FLE_OBSERVING && !nd->voter)
		fail("observer %d is %s", i + 1, fle_statename(nd->f.state));
	if (nd->f.state != FLE_LEADING)
		return;
	/* a quorum's own votes are no better than the leader's */
	for (j = 0; j < S.n; j++)
		if (S.node[j].voter &&
		    !vbetter(&S.node[j].mine, &nd->mine))
			covered++;
	if (covered <= S.nvoters / 2)
		fail("leader %d (epoch %" PRId64 " zxid 0x%" PRIx64 ") is "
		    "behind a quorum of voters", i + 1, nd->mine.epoch,
		    nd->mine.zxid);
}

static void
after(int i, const struct fle_out *o)
{
	transmit(o);
	if (o->settled) {
		trace("node %d settles: %s of %" PRId64 " round %" PRId64,
		    i + 1, fle_statename(S.node[i].f.state),
		    S.node[i].f.leader, S.node[i].f.round);
		vote_ok(i);
	}
}

static void
start(int i)
{
	struct fle_out	 o;
	struct node	*nd = &S.node[i];

	nd->alive = 1;
	nd->lostsince = 0;
	fle_start(&nd->f, S.now, nd->mine.zxid, nd->mine.epoch, &o);
	trace("node %d looks, round %" PRId64, i + 1, nd->f.round);
	after(i, &o);
}

/* The stand-in for ZAB: a node that lost its leader or quorum looks. */
static void
zab(void)
{
	struct node	*nd, *ld;
	int		 i, j, ok, n;

	for (i = 0; i < S.n; i++) {
		nd = &S.node[i];
		if (!nd->alive || nd->f.state == FLE_LOOKING)
			continue;
		if (nd->f.state == FLE_LEADING) {
			for (n = 0, j = 0; j < S.n; j++)
				if (S.node[j].alive && S.node[j].voter &&
				    (j == i || (S.link[i][j] &&
				    S.link[j][i] &&
				    S.node[j].f.state == FLE_FOLLOWING &&
				    S.node[j].f.leader == i + 1)))
					n++;
			ok = n > S.nvoters / 2;
		} else {
			j = (int)nd->f.leader - 1;
			ld = &S.node[j];
			ok = ld->alive && S.link[i][j] && S.link[j][i] &&
			    ld->f.state == FLE_LEADING;
		}
		if (ok)
			nd->lostsince = 0;
		else if (nd->lostsince == 0)
			nd->lostsince = S.now;
		else if (S.now - nd->lostsince >= LOSTMS)
			start(i);
	}
}

/*
 * zk-elect's connection hints: node j's election hears that i's
 * connection closed (down) or came up.  Hints only: a partition gives
 * some at random, right or not, and safety must not rest on them.
 */
static void
hint(int j, int i, int down)
{
	struct fle_out	 o;

	if (i == j || !S.node[j].alive)
		return;
	if (down)
		fle_peerdown(&S.node[j].f, S.now, i + 1, &o);
	else
		fle_peerup(&S.node[j].f, i + 1, &o);
	after(j, &o);
}

/* node i crashes; its peers' elections hear its connections close */
static void
crash(int i)
{
	int	 j;

	S.lookat[i] = 0;
	if (!S.node[i].alive)
		return;
	S.node[i].alive = 0;
	trace("crash %d", i + 1);
	for (j = 0; j < S.n; j++)
		hint(j, i, 1);
}

/* node i (re)starts: it looks, and its peers hear it connect */
static void
comeback(int i)
{
	int	 j;

	S.lookat[i] = 0;
	if (S.node[i].alive)
		return;
	start(i);
	for (j = 0; j < S.n; j++)
		hint(j, i, 0);
}

static void
fault(void)
{
	int	 i, j, k = below(10);

	if (k < 3) {			/* a partition: a random side */
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
	} else if (k < 5) {		/* one link, one way */
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
	} else if (k < 8)		/* a crash */
		crash(below(S.n));
	else				/* a restart */
		comeback(below(S.n));
}

/* the best own vote among the voters alive, or -1 */
static int
bestalive(void)
{
	int	 i, best = -1;

	for (i = 0; i < S.n; i++)
		if (S.node[i].voter && S.node[i].alive && (best == -1 ||
		    vbetter(&S.node[i].mine, &S.node[best].mine)))
			best = i;
	return best;
}

/* a clean run: all settled, and on the best voter alive */
static void
settled(const char *when)
{
	int	 i, best = bestalive();

	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].f.state == FLE_LOOKING)
			fail("no faults, yet node %d still looks %s", i + 1,
			    when);
	for (i = 0; i < S.n; i++)
		if (S.node[i].alive && S.node[i].f.leader != best + 1)
			fail("no faults, yet node %d settled on %" PRId64
			    " %s, and %d has the best vote", i + 1,
			    S.node[i].f.leader, when, best + 1);
}

/*
 * A clean run's failover: the leader crashes; its peers' election hears
 * the connection close, and each survivor's ZAB notices a moment later,
 * one after another, and looks.  The leader comes back later.
 */
static int
crash_leader(void)
{
	int	 i, l = -1;

	for (i = 0; i < S.n; i++)
		if (S.node[i].f.state == FLE_LEADING)
			l = i;
	if (l == -1)
		fail("no leader to crash");
	crash(l);
	for (i = 0; i < S.n; i++)
		S.lookat[i] = i == l ? S.now + 600 : S.now + 1 + below(30);
	return l;
}

static void
run(uint64_t seed)
{
	struct inflight	 x;
	struct fle_out	 o;
	int		 ids[MAXN], voter[MAXN];
	int		 i, j, leader = -1, crashed = -1, phase = 0, newl = -1;
	int64_t		 nextfault, nextzab, d, next, due = INT64_MAX;

	memset(&S.node, 0, sizeof(S.node));
	memset(&S.lookat, 0, sizeof(S.lookat));
	memset(&S.fifo, 0, sizeof(S.fifo));
	S.seed = seed;
	S.rng = seed;
	S.q.n = 0;
	S.q.seq = 0;
	S.q.size = sizeof(struct inflight);
	S.now = S.step = 0;
	S.clean = seed % 4 == 0;
	S.drop = below(200);
	S.dup = below(100);
	S.slow = below(100);
	for (i = 0; i < S.n; i++) {
		ids[i] = i + 1;
		voter[i] = i < S.nvoters;
	}
	for (i = 0; i < S.n; i++) {
		S.node[i].voter = voter[i];
		/* few distinct values: ties in epoch and zxid are common */
		S.node[i].mine.leader = voter[i] ? i + 1 : -1;
		S.node[i].mine.epoch = below(3);
		S.node[i].mine.zxid = (S.node[i].mine.epoch << 32) | below(4);
		if (fle_init(&S.node[i].f, i + 1, ids, voter, S.n) == -1)
			err(EX_SOFTWARE, "fle_init");
		for (j = 0; j < S.n; j++)
			S.link[i][j] = 1;
	}
	trace("seed %" PRIu64 "%s drop %d dup %d slow %d", seed,
	    S.clean ? " clean" : "", S.drop, S.dup, S.slow);
	/* the nodes come up one by one, a few ms apart: a vote to a node
	   not up yet is lost, and it hears its peers' when it connects */
	for (i = 0; i < S.n; i++)
		S.lookat[i] = 1 + below(50);
	nextfault = S.clean ? INT64_MAX : 100 + below(500);
	nextzab = 100;
	/* a clean run's script: checked at due, then the crash at due,
	   then checked FAILMS after it */
	if (S.clean)
		due = CLEANMS;
	while (S.now < FAULTMS + SETTLEMS) {
		S.step++;
		next = nextzab;
		if (nextfault < next)
			next = nextfault;
		if (due < next)
			next = due;
		for (i = 0; i < S.n; i++)
			if (S.lookat[i] != 0 && S.lookat[i] < next)
				next = S.lookat[i];
		if (S.q.n > 0 && simheap_top(&S.q)->at < next)
			next = simheap_top(&S.q)->at;
		for (i = 0; i < S.n; i++)
			if (S.node[i].alive &&
			    (d = fle_deadline(&S.node[i].f)) != 0 && d < next)
				next = d;
		if (next > S.now)
			S.now = next;
		if (S.q.n > 0 && simheap_top(&S.q)->at <= S.now) {
			simheap_pop(&S.q, &x);
			j = x.m.to - 1;
			if (!S.node[j].alive)
				continue;
			trace("deliver %d->%d %s round %" PRId64 " leader %"
			    PRId64 " epoch %" PRId64 " zxid 0x%" PRIx64,
			    x.m.from, x.m.to, fle_statename(x.m.state),
			    x.m.round, x.m.vote.leader, x.m.vote.epoch,
			    x.m.vote.zxid);
			fle_recv(&S.node[j].f, S.now, &x.m, &o);
			after(j, &o);
			continue;
		}
		for (i = 0; i < S.n; i++)
			if (S.node[i].alive &&
			    (d = fle_deadline(&S.node[i].f)) != 0 &&
			    d <= S.now) {
				fle_tick(&S.node[i].f, S.now, &o);
				after(i, &o);
			}
		for (i = 0; i < S.n; i++)
			if (S.lookat[i] != 0 && S.lookat[i] <= S.now) {
				if (!S.node[i].alive)
					comeback(i);
				else if (S.node[i].f.state != FLE_LOOKING) {
					S.lookat[i] = 0;
					start(i);	/* its leader is gone */
				}
			}
		if (S.now >= due) {
			switch (phase++) {
			case 0:
				/* nodes up within 50 ms, votes take 1-20 ms:
				   neither a resend (200 ms) nor the finalize
				   wait is needed */
				settled("200 ms after the start");
				due = 1000 + below(100);
				break;
			case 1:
				if (S.nvoters < 3) {
					/* no quorum would be left */
					newl = bestalive();
					phase = 3;
					due = INT64_MAX;
					break;
				}
				crashed = crash_leader();
				due = S.now + FAILMS;
				break;
			default:
				settled("150 ms after the leader crashed");
				newl = bestalive();
				due = INT64_MAX;
				break;
			}
		}
		if (S.now >= nextzab) {
			zab();
			nextzab = S.now + 100;
		}
		if (S.now >= nextfault) {
			if (S.now < FAULTMS) {
				fault();
				nextfault = S.now + 10 + below(400);
			} else {	/* the end of the faults: all heal */
				for (i = 0; i < S.n; i++)
					for (j = 0; j < S.n; j++)
						S.link[i][j] = 1;
				S.drop = S.dup = S.slow = 0;
				for (i = 0; i < S.n; i++)
					if (!S.node[i].alive)
						start(i);
				trace("all healed");
				nextfault = INT64_MAX;
			}
		}
	}
	/* one leader, everyone with it */
	for (i = 0; i < S.n; i++)
		if (S.node[i].f.state == FLE_LEADING) {
			if (leader != -1)
				fail("two leaders after healing: %d and %d",
				    leader + 1, i + 1);
			leader = i;
		}
	if (leader == -1)
		fail("no leader %d s after healing", SETTLEMS / 1000);
	for (i = 0; i < S.n; i++)
		if (S.node[i].f.state != (S.node[i].voter ? (i == leader ?
		    FLE_LEADING : FLE_FOLLOWING) : FLE_OBSERVING) ||
		    S.node[i].f.leader != leader + 1)
			fail("node %d is %s of %" PRId64 ", the leader is %d",
			    i + 1, fle_statename(S.node[i].f.state),
			    S.node[i].f.leader, leader + 1);
	if (S.clean && phase != 3)
		fail("no faults, yet the failover never came");
	if (S.clean && leader != newl)
		fail("the old leader %d came back and %d leads, not %d",
		    crashed + 1, leader + 1, newl + 1);
	trace("ok: leader %d", leader + 1);
}

int
main(int argc, char *argv[])
{
	uint64_t	 seed = 1, count = 100, k;
	int		 obs = 0;

	S.nvoters = 3;
	sim_args(argc, argv, 7, &S.nvoters, &obs, &seed, &count, &S.verbose);
	S.n = S.nvoters + obs;
	for (k = 0; k < count; k++)
		run(seed + k);
	printf("sim-elect: %" PRIu64 " seeds from %" PRIu64 " passed, %d "
	    "voters, %d observers\n", count, seed, S.nvoters, obs);
	free(S.q.v);
	return 0;
}
