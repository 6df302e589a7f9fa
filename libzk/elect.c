/*
 * elect.c: fast leader election (Apache ZooKeeper's FLE) as a state
 * machine.  No sockets, no clock, no disk: the caller (zk-elect, or the
 * simulation in t/sim-elect.c) feeds it events with the time they
 * happened at, and does what comes out in struct fle_out: votes to send
 * and, once the node settles, its new role.  Every event goes through
 * the state x event table below; each cell is one function.
 *
 *                 START        VOTE                TIMER         PEERUP     PEERDOWN
 *	LOOKING    new round    look()              resend or     send our   settle if
 *	                                            settle        vote       all heard
 *	FOLLOWING  new round    answer a looker     -             send       -
 *	LEADING    new round    answer a looker     -             send       -
 *	OBSERVING  new round    answer a looker     -             send       -
 *
 * A vote is (leader, zxid, epoch): the proposed leader's myid, the last
 * zxid it logged and its current epoch.  One vote beats another by a
 * higher epoch, then a higher zxid, then a higher myid.  Each looking
 * voter starts by voting for itself and adopts any better vote it hears;
 * a round (the election epoch, Apache's logical clock) restarts the
 * count.  A voter settles once a quorum of voters agrees with its
 * proposal in its round and no better vote came within FLE_FINALIZE ms,
 * or at once when every other voter has voted in its round (none with a
 * better vote than ours, a settled peer's included) or is down
 * (its connection closed, PEERDOWN): no better vote can come then, since
 * every vote a voter holds is one it heard, and ours is the best of
 * those.  A down voter that comes back late with a better vote is simply
 * not leader this time: the leader is still at least as good as every
 * voter of the quorum that settled, which is what ZAB's safety needs,
 * and that is what cuts the wait out of a failover.
 * Votes from peers already out of the election (following or leading)
 * are matched on (leader, epoch), and count only if the leader itself
 * says it leads.  Observers never vote: they propose no one (leader -1),
 * count for nothing, and settle on what a quorum of voters follow.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

static const char *const statenames[] = {
	"looking", "following", "leading", "observing"
};

const char *
fle_statename(int state)
{
	if (state < 0 || state > FLE_OBSERVING)
		return "?";
	return statenames[state];
}

/*
 * a beats b: higher epoch, then higher zxid, then higher myid.  An
 * observer's vote for no one (leader -1) beats nothing.
 */
int
fle_better(const struct fle_vote *a, const struct fle_vote *b)
{
	if (a->leader < 0)
		return 0;
	if (b->leader < 0)
		return 1;
	if (a->epoch != b->epoch)
		return a->epoch > b->epoch;
	if (a->zxid != b->zxid)
		return a->zxid > b->zxid;
	return a->leader > b->leader;
}

static int
samevote(const struct fle_vote *a, const struct fle_vote *b)
{
	return a->leader == b->leader && a->zxid == b->zxid &&
	    a->epoch == b->epoch;
}

/* the slot of myid id among the peers, -1 for none */
static int
slot(const struct fle *f, int id)
{
	int	 i;

	for (i = 0; i < f->n; i++)
		if (f->ids[i] == id)
			return i;
	return -1;
}

int
fle_init(struct fle *f, int myid, const int *ids, const int *voter, int n)
{
	int	 i, me = -1;

	if (n < 1 || n > ZK_MAXSERVERS) {
		errno = EINVAL;
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->myid = myid;
	f->n = n;
	for (i = 0; i < n; i++) {
		if (ids[i] < 0 || slot(f, ids[i]) != -1) {
			errno = EINVAL;	/* a negative or repeated id */
			return -1;
		}
		f->ids[i] = ids[i];
		f->voter[i] = voter[i] != 0;
		f->nvoters += f->voter[i];
		if (ids[i] == myid)
			me = i;
	}
	if (me == -1 || f->nvoters == 0) {
		errno = EINVAL;
		return -1;
	}
	f->me = me;
	f->state = FLE_LOOKING;
	f->leader = -1;
	f->handto = -1;
	return 0;
}

/*
 * The members after a committed reconfig (zab_members): members join and
 * leave, or change between voter and observer, and a quorum is then one
 * of the new voters.  A vote that is in the air meanwhile counts by the
 * members it finds: with one voter at most changed at a time, any quorum
 * of the old voters meets any quorum of the new (zab_members says why
 * that is enough).  0, or -1 (EINVAL) when we left or changed.
 */
int
fle_members(struct fle *f, const int *ids, const int *voter, int n)
{
	int	 cleared[ZK_MAXSERVERS], nc, i;

	if ((nc = zkmembers(f->ids, f->voter, &f->n, f->me, ids, voter, n,
	    cleared)) == -1)
		return -1;
	for (i = 0; i < nc; i++) {
		memset(&f->recv[cleared[i]], 0, sizeof(f->recv[0]));
		memset(&f->out[cleared[i]], 0, sizeof(f->out[0]));
		f->down[cleared[i]] = 0;
	}
	f->nvoters = 0;
	for (i = 0; i < f->n; i++)
		f->nvoters += f->ids[i] != -1 && f->voter[i];
	/* a vote for one that is no longer a voter (a handoff's target,
	   or a proposal heard) goes back to our own, sent on the next
	   resend */
	if (f->mine.leader != -1 && ((i = slot(f, (int)f->mine.leader)) ==
	    -1 || !f->voter[i]))
		f->mine.leader = f->voter[f->me] ? f->myid : -1;
	if (f->prop.leader != -1 && ((i = slot(f, (int)f->prop.leader)) ==
	    -1 || !f->voter[i])) {
		f->prop = f->mine;
		f->finalize = 0;
		if (f->voter[f->me])
			f->recv[f->me].vote = f->prop;
	}
	return 0;
}

static void
emit(struct fle *f, struct fle_out *o, int to)
{
	struct fle_msg	*m;

	if (to == f->myid || o->nsend >= FLE_MAXSEND)
		return;
	m = &o->send[o->nsend++];
	memset(m, 0, sizeof(*m));
	m->from = f->myid;
	m->to = to;
	m->state = f->state;
	m->round = f->round;
	m->vote = f->state == FLE_LOOKING ? f->prop : f->settled;
}

/* our vote to every peer, voter or observer */
static void
broadcast(struct fle *f, struct fle_out *o)
{
	int	 i;

	for (i = 0; i < f->n; i++)
		emit(f, o, f->ids[i]);
}

enum { Q_LOOKING, Q_ROUND, Q_ANY };

/*
 * Do a quorum of the voters in set agree with v?  Q_LOOKING: the same
 * vote in this round; Q_ROUND: the same leader and epoch in this round
 * (votes out of the election are matched so, as Apache does); Q_ANY: the
 * same leader and epoch in any round.
 */
static int
quorum(const struct fle *f, const struct fle_seen *set, const struct fle_vote
    *v, int64_t round, int how)
{
	int	 i, n = 0;

	for (i = 0; i < f->n; i++) {
		if (!f->voter[i] || !set[i].has ||
		    (how != Q_ANY && set[i].round != round))
			continue;
		if (how == Q_LOOKING ? samevote(&set[i].vote, v) :
		    set[i].vote.leader == v->leader &&
		    set[i].vote.epoch == v->epoch)
			n++;
	}
	return n > f->nvoters / 2;
}

/*
 * Apache's checkLeader: a vote for another leader counts only once that
 * leader says it leads; a vote for us only in our own round.
 */
static int
leadercheck(const struct fle *f, const struct fle_seen *set, int64_t leader,
    int64_t round)
{
	int	 i;

	if (leader == f->myid)
		return f->round == round;
	if ((i = slot(f, (int)leader)) == -1 || !set[i].has)
		return 0;
	return set[i].state == FLE_LEADING;
}

static void
settle(struct fle *f, const struct fle_vote *v, int64_t round,
    struct fle_out *o)
{
	f->settled = *v;
	f->leader = v->leader;
	f->round = round;
	f->finalize = 0;
	f->resend = 0;
	if (!f->voter[f->me])
		f->state = FLE_OBSERVING;
	else
		f->state = v->leader == f->myid ? FLE_LEADING : FLE_FOLLOWING;
	o->settled = 1;
	broadcast(f, o);	/* the lookers hear the outcome at once */
}

/*
 * Every other voter has voted in our round, or is down, and no vote we
 * hold is better than ours: a better vote cannot come, so a quorum need
 * not wait for one.  A looker's better vote we adopt at once; a settled
 * peer's (following or leading in our round) we do not, and while we
 * hold one the others' votes for us may be stale (cast before they
 * heard it): wait for theirs to come, or for the finalize wait.
 */
static int
allheard(const struct fle *f)
{
	int	 i;

	for (i = 0; i < f->n; i++) {
		if (i == f->me || !f->voter[i] || f->down[i])
			continue;
		if (!f->recv[i].has || f->recv[i].round != f->round ||
		    fle_better(&f->recv[i].vote, &f->prop))
			return 0;
	}
	return 1;
}

/* LOOKING: a quorum agrees with us: settle now, or after the wait */
static void
counted(struct fle *f, int64_t now, struct fle_out *o)
{
	if (!f->voter[f->me] ||
	    !quorum(f, f->recv, &f->prop, f->round, Q_LOOKING))
		return;
	if (allheard(f))
		settle(f, &f->prop, f->round, o);
	else if (f->finalize == 0)
		f->finalize = now + FLE_FINALIZE;
}

/* START, in any state: a new round with a vote for ourselves */
void
fle_start(struct fle *f, int64_t now, int64_t zxid, int64_t epoch,
    struct fle_out *o)
{
	memset(o, 0, sizeof(*o));
	f->state = FLE_LOOKING;
	f->leader = -1;
	f->round++;
	f->mine.leader = f->voter[f->me] ? f->myid : -1;
	/* a leader that handed off votes for the voter it handed to, which
	   holds all it had (zab_handoff): not for itself */
	if (f->voter[f->me] && f->handto != -1 && f->handto != f->myid &&
	    slot(f, f->handto) != -1 && f->voter[slot(f, f->handto)])
		f->mine.leader = f->handto;
	f->handto = -1;
	f->mine.zxid = zxid;
	f->mine.epoch = epoch;
	f->prop = f->mine;
	memset(f->recv, 0, sizeof(f->recv));
	memset(f->out, 0, sizeof(f->out));
	f->finalize = 0;
	f->interval = FLE_RESEND;
	f->resend = now + f->interval;
	if (f->voter[f->me]) {		/* our own vote counts too */
		f->recv[f->me].has = 1;
		f->recv[f->me].round = f->round;
		f->recv[f->me].vote = f->prop;
		f->recv[f->me].state = FLE_LOOKING;
	}
	broadcast(f, o);
	if (f->nvoters == 1 && f->voter[f->me])
		f->finalize = now;	/* alone: nobody to wait for */
}

/* A voter's vote from a later round than ours: we start over in it. */
static void
laterround(struct fle *f, const struct fle_msg *m, struct fle_out *o)
{
	f->round = m->round;
	memset(f->recv, 0, sizeof(f->recv));
	f->prop = fle_better(&m->vote, &f->mine) ? m->vote : f->mine;
	f->finalize = 0;
	if (f->voter[f->me]) {
		f->recv[f->me].has = 1;
		f->recv[f->me].round = f->round;
		f->recv[f->me].vote = f->prop;
	}
	broadcast(f, o);
}

/* LOOKING x VOTE from a voter */
static void
look(struct fle *f, int64_t now, const struct fle_msg *m, int i,
    struct fle_out *o)
{
	struct fle_seen	*s;

	if (m->state == FLE_LOOKING) {
		if (m->round > f->round) {
			laterround(f, m, o);
		} else if (m->round < f->round) {
			/* an old round: a voter tells it ours (an observer
			 * does not: a voter answers it, and they would
			 * answer each other for ever) */
			if (f->voter[f->me])
				emit(f, o, m->from);
			return;
		} else if (fle_better(&m->vote, &f->prop)) {
			f->prop = m->vote;
			f->finalize = 0;	/* a better vote: count again */
			f->recv[f->me].vote = f->prop;
			broadcast(f, o);
		} else if (f->voter[f->me] && !samevote(&m->vote, &f->prop)) {
			/* a worse vote in our round: its sender missed ours
			 * (it came before the sender started this round, and
			 * was answered from its old state), and would wait
			 * for our resend; tell it now.  Answers go only from
			 * the better vote to the worse, so they end. */
			emit(f, o, m->from);
		}
		s = &f->recv[i];
		s->has = 1;
		s->round = m->round;
		s->vote = m->vote;
		s->state = m->state;
		counted(f, now, o);
		return;
	}
	/*
	 * Following or leading: out of the election.  Settled in a later
	 * round than ours: we start over in it, as for a looker's.  Their
	 * vote for us then counts (a vote for us counts only in our own
	 * round): without this, a voter that missed the round the others
	 * settled in, on it, stayed looking until they gave up on it after
	 * initLimit (a handoff's target, once, for 20 s).
	 */
	if (m->round > f->round)
		laterround(f, m, o);
	if (m->round == f->round) {
		s = &f->recv[i];
		s->has = 1;
		s->round = m->round;
		s->vote = m->vote;
		s->state = m->state;
		if (quorum(f, f->recv, &m->vote, m->round, Q_ROUND) &&
		    leadercheck(f, f->recv, m->vote.leader, m->round)) {
			settle(f, &m->vote, m->round, o);
			return;
		}
	}
	s = &f->out[i];
	s->has = 1;
	s->round = m->round;
	s->vote = m->vote;
	s->state = m->state;
	if (quorum(f, f->out, &m->vote, m->round, Q_ANY) &&
	    leadercheck(f, f->out, m->vote.leader, m->round))
		settle(f, &m->vote, m->round, o);
}

/* VOTE, in any state.  m->from is the connection's peer, not the line's. */
void
fle_recv(struct fle *f, int64_t now, const struct fle_msg *m,
    struct fle_out *o)
{
	int	 i, j;

	memset(o, 0, sizeof(*o));
	if ((i = slot(f, m->from)) == -1 || i == f->me ||
	    m->state < FLE_LOOKING || m->state > FLE_OBSERVING)
		return;
	/*
	 * A voter votes for a voter.  One that does not goes by older
	 * members than ours (a reconfig made it a voter, or made the one
	 * it votes for an observer, and it has yet to take that), or has
	 * gone wrong: it counts for nothing, but if it looks and we are
	 * settled it hears where we stand, as an observer would, so that it
	 * finds the leader and from it the reconfig.
	 */
	if (f->voter[i] && ((j = slot(f, (int)m->vote.leader)) == -1 ||
	    m->vote.leader != f->ids[j] || !f->voter[j])) {
		if (m->state == FLE_LOOKING && f->state != FLE_LOOKING)
			emit(f, o, m->from);
		return;
	}
	if (!f->voter[i]) {
		/* an observer counts for nothing, but learns from a voter
		 * (not from another observer: they would answer each other
		 * for ever) */
		if (m->state == FLE_LOOKING && f->voter[f->me])
			emit(f, o, m->from);
		return;
	}
	if (f->state != FLE_LOOKING) {
		/* settled: a looker hears where we stand */
		if (m->state == FLE_LOOKING)
			emit(f, o, m->from);
		return;
	}
	look(f, now, m, i, o);
}

/* TIMER: the finalize wait ran out (settle), or time to send again */
void
fle_tick(struct fle *f, int64_t now, struct fle_out *o)
{
	memset(o, 0, sizeof(*o));
	if (f->state != FLE_LOOKING)
		return;
	if (f->finalize != 0 && now >= f->finalize) {
		if (quorum(f, f->recv, &f->prop, f->round, Q_LOOKING)) {
			settle(f, &f->prop, f->round, o);
			return;
		}
		f->finalize = 0;	/* the count fell apart: go on */
	}
	if (f->resend != 0 && now >= f->resend) {
		broadcast(f, o);
		f->interval *= 2;
		if (f->interval > FLE_RESENDMAX)
			f->interval = FLE_RESENDMAX;
		f->resend = now + f->interval;
	}
}

/* PEERUP: a connection to peer id came up: it hears our vote */
void
fle_peerup(struct fle *f, int id, struct fle_out *o)
{
	int	 i;

	memset(o, 0, sizeof(*o));
	if ((i = slot(f, id)) != -1) {
		f->down[i] = 0;
		emit(f, o, id);
	}
}

/*
 * PEERDOWN: the connection to peer id closed.  A hint only (the peer may
 * be up and its vote on the way): it lets a quorum settle without the
 * wait for that peer's vote, and safety never rests on it.
 */
void
fle_peerdown(struct fle *f, int64_t now, int id, struct fle_out *o)
{
	int	 i;

	memset(o, 0, sizeof(*o));
	if ((i = slot(f, id)) == -1 || i == f->me)
		return;
	f->down[i] = 1;
	if (f->state == FLE_LOOKING)
		counted(f, now, o);
}

/*
 * EPOCH: ZAB established epoch under the leader we settled on (we serve
 * in it).  Our settled vote, which we answer lookers with, carries it
 * from now on, as every serving member's does (Apache's
 * updateElectionVote): votes of members that settled in different rounds
 * on the same leader, one of them from a stale epoch, would otherwise
 * never match, and a looker could never join them.
 */
void
fle_epoch(struct fle *f, int64_t epoch)
{
	if (f->state != FLE_LOOKING)
		f->settled.epoch = epoch;
}

/* When fle_tick wants to run next; 0 for never. */
int64_t
fle_deadline(const struct fle *f)
{
	if (f->state != FLE_LOOKING)
		return 0;
	if (f->finalize != 0 && (f->resend == 0 || f->finalize < f->resend))
		return f->finalize;
	return f->resend;
}

/*
 * The line of a vote (zk-streams(7)):
 * vote from=1 state=looking round=3 leader=2 zxid=0x100000004 epoch=1
 * and, after a reconfig, config=TEXT: the members the sender goes by (the
 * caller's; the state machine does not read them).
 */
void
fle_put(struct zkbuf *b, const struct fle_msg *m, const char *config,
    size_t len)
{
	zkl_begin(b, "vote");
	zkl_putd(b, "from", m->from);
	zkl_puts(b, "state", fle_statename(m->state));
	zkl_putd(b, "round", m->round);
	zkl_putd(b, "leader", m->vote.leader);
	zkl_putx(b, "zxid", m->vote.zxid);
	zkl_putd(b, "epoch", m->vote.epoch);
	if (config != NULL)
		zkl_put(b, "config", config, len);
	zkl_end(b);
}

/* A vote line into m; -1 (EINVAL) for anything else or a bad field. */
int
fle_parse(const struct zkline *l, struct fle_msg *m)
{
	const char	*st;
	int64_t		 from, leader;
	int		 i;

	memset(m, 0, sizeof(*m));
	if (l->verb == NULL || strcmp(l->verb, "vote") != 0 ||
	    zkl_int(l, "from", &from) == -1 || from < 0 || from > INT32_MAX ||
	    (st = zkl_str(l, "state")) == NULL ||
	    zkl_int(l, "round", &m->round) == -1 || m->round < 0 ||
	    zkl_int(l, "leader", &leader) == -1 || leader < -1 ||
	    leader > INT32_MAX ||
	    zkl_int(l, "zxid", &m->vote.zxid) == -1 ||
	    zkl_int(l, "epoch", &m->vote.epoch) == -1)
		goto bad;
	for (i = 0; i <= FLE_OBSERVING; i++)
		if (strcmp(st, statenames[i]) == 0)
			break;
	if (i > FLE_OBSERVING)
		goto bad;
	m->from = (int)from;
	m->state = i;
	m->vote.leader = leader;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
