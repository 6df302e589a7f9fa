/*
 * zab.c: ZooKeeper atomic broadcast between peers, as a state machine.
 * No sockets, no disk, no clock: the caller (zk-log, or the simulation
 * in t/sim-zab.c) feeds it what happened, with the time, and does what
 * comes out in struct zab_out, in order.  Durable changes (the epochs, a
 * truncation) are done before the next action; an append is durable when
 * the caller says so with zab_durable(), and only then is it acknowledged.
 *
 * After an election (zab_role) a leader goes through
 *
 *	DISCOVERY  a quorum of voters tells it their accepted epochs
 *	           (FINFO); it accepts one above them all, tells them
 *	           (LINFO), and waits for a quorum to accept it (ACKEPOCH:
 *	           their current epoch and last zxid, none ahead of its own)
 *	SYNC       its log is the new epoch's history: each learner gets a
 *	           DIFF, TRUNC+DIFF or SNAP up to its end, then NEWLEADER;
 *	           a quorum of voters that made all of it durable (and their
 *	           current epoch) commits the whole history
 *	BROADCAST  UPTODATE; then PROPOSAL, ACK at a quorum, COMMIT, with
 *	           INFORM to observers; learners that connect late are
 *	           synced the same way while proposals go on
 *
 * and a learner through CONNECT, LINFO, ACKEPOCH, LSYNC (the DIFF or SNAP
 * arrives), NEWLEADER (waiting for its log to be durable before it writes
 * its current epoch and acknowledges), ACKED and UP.  Anything that does
 * not fit (a timeout, a closed connection, a message out of order, a
 * follower ahead of its leader) sends the node back to the election with
 * a reason in zab_out.why.
 *
 * The log is known here only by its shape: the zxids it holds, as one
 * span of counters per epoch after a base (the snapshot or purge point).
 * That is all a leader needs to choose DIFF, TRUNC or SNAP; the caller
 * reads the records themselves for ZA_SENDLOG.  Nothing reaches the tree
 * (ZA_COMMIT) past what is both committed (durable on a quorum) and in
 * our log.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

enum {
	/* a leader's */
	ZP_NONE, ZP_DISCOVERY, ZP_EPOCH, ZP_SYNC, ZP_BROADCAST,
	/* a learner's */
	ZP_CONNECT, ZP_LINFO, ZP_ACKEPOCH, ZP_LSYNC, ZP_NEWLEADER, ZP_ACKED,
	ZP_UP
};

enum {				/* a learner, as its leader sees it */
	ZPP_NONE,		/* no connection, or nothing said yet */
	ZPP_INFO,		/* sent FINFO */
	ZPP_LINFO,		/* was sent LINFO */
	ZPP_EPOCHED,		/* sent ACKEPOCH */
	ZPP_SYNCED,		/* was sent its sync and NEWLEADER */
	ZPP_ACKED,		/* acknowledged NEWLEADER */
	ZPP_UP			/* was sent UPTODATE */
};

static const char *const msgnames[ZM_NTYPES] = {
	"finfo", "linfo", "ackepoch", "diff", "trunc", "snap", "proposal",
	"newleader", "ack", "uptodate", "commit", "inform", "ping", "read",
	"readok"
};

const char *
zab_msgname(int t)
{
	return t >= 0 && t < ZM_NTYPES ? msgnames[t] : "?";
}

#define EPOCH(z)	((z) >> 32)
#define COUNTER(z)	((uint32_t)((z) & 0xffffffff))
#define ZXID(e, c)	((int64_t)(e) << 32 | (int64_t)(c))

static int
slot(const struct zab *z, int id)
{
	int	 i;

	for (i = 0; i < z->n; i++)
		if (z->ids[i] == id)
			return i;
	return -1;
}

int
zab_init(struct zab *z, int myid, const int *ids, const int *voter, int n,
    int tick, int initlimit, int synclimit)
{
	int	 i;

	memset(z, 0, sizeof(*z));
	if (n < 1 || n > ZK_MAXSERVERS || tick < 1 || initlimit < tick ||
	    synclimit < tick) {
		errno = EINVAL;
		return -1;
	}
	z->n = n;
	for (i = 0; i < n; i++) {
		if (ids[i] < 0 || slot(z, ids[i]) != -1) {
			errno = EINVAL;
			return -1;
		}
		z->ids[i] = ids[i];
		z->voter[i] = voter[i] != 0;
		z->nvoters += z->voter[i];
	}
	z->myid = myid;
	if ((z->me = slot(z, myid)) == -1 || z->nvoters == 0) {
		errno = EINVAL;
		return -1;
	}
	z->tick = tick;
	z->initlimit = initlimit;
	z->synclimit = synclimit;
	z->role = FLE_LOOKING;
	z->leader = z->aleader = -1;
	z->hto = z->handto = -1;
	return 0;
}

static void	 outinit(struct zab_out *);
static void	 commitpoint(struct zab *, struct zab_out *);
static void	 readdone(struct zab *, struct zab_out *);
static void	 giveup(struct zab *, struct zab_out *, const char *);

/*
 * The members after a committed reconfig, ids[n] (voter[] 0 for an
 * observer), as zkmembers takes them: the slots emptied or taken are
 * listed in cleared[] (close their connections, with no zab_closed), and
 * from now on a quorum is one of the new voters.  A leader commits what
 * that quorum already holds; a learner whose leader left the voters goes
 * back to the election.  Once one voter at most joins or leaves at a time
 * (as the leader's reconfig check has it), any quorum of the old voters
 * meets any quorum of the new, so a node that goes by either agrees with
 * every other on what is committed and on who may lead.  The number of
 * slots in cleared[], or -1 (EINVAL) when this node left or changed
 * between voter and observer (it starts again on the new members).
 */
int
zab_members(struct zab *z, const int *ids, const int *voter, int n,
    int *cleared, struct zab_out *o)
{
	int	 nc, i, lost = 0;

	outinit(o);
	if ((nc = zkmembers(z->ids, z->voter, &z->n, z->me, ids, voter, n,
	    cleared)) == -1)
		return -1;
	z->nvoters = 0;
	for (i = 0; i < z->n; i++)
		z->nvoters += z->ids[i] != -1 && z->voter[i];
	for (i = 0; i < nc; i++) {
		memset(&z->peer[cleared[i]], 0, sizeof(z->peer[0]));
		z->rcur[cleared[i]] = z->rnext[cleared[i]] = 0;
		if (cleared[i] == z->hto)
			z->hto = -1;		/* the handoff is given up */
		if (cleared[i] == z->aleader)
			z->aleader = -1;	/* another may take its slot */
		if (cleared[i] == z->leader && z->role != FLE_LEADING)
			lost = 1;
	}
	if (lost)
		giveup(z, o, "our leader left the voters");
	else if (z->role == FLE_LEADING) {
		commitpoint(z, o);
		readdone(z, o);
	}
	return nc;
}

/* A leader's voters that are up to date, itself too: their ids. */
int
zab_synced(const struct zab *z, int *ids)
{
	int	 i, n = 0;

	if (z->role != FLE_LEADING)
		return 0;
	for (i = 0; i < z->n; i++)
		if (z->ids[i] != -1 && z->voter[i] && (i == z->me ||
		    (z->peer[i].phase == ZPP_UP && !z->peer[i].observer)))
			ids[n++] = z->ids[i];
	return n;
}

void
zab_free(struct zab *z)
{
	free(z->span);
	z->span = NULL;
	z->nspan = z->capspan = 0;
}

/*
 * What is durable at start: the epochs, the log's base (the snapshot's
 * zxid) and the highest commit point the node knows of (the snapshot's,
 * or one a logged record carries); then zab_logged() for each record.
 */
int
zab_load(struct zab *z, int64_t aepoch, int64_t cepoch, int64_t base,
    int64_t commit)
{
	if (aepoch < cepoch || base < 0 || commit < base) {
		errno = EINVAL;
		return -1;
	}
	z->aepoch = aepoch;
	z->cepoch = cepoch;
	z->base = z->durable = base;
	z->delivered = z->commit = commit;	/* the caller replays to it */
	z->nspan = 0;
	z->aleader = -1;
	return 0;
}

int64_t
zab_last(const struct zab *z)
{
	const struct zab_span	*s;

	if (z->nspan == 0)
		return z->base;
	s = &z->span[z->nspan - 1];
	return ZXID(s->epoch, s->last);
}

/* the log gains zxid: in its epoch's span, the next counter */
static int
addzxid(struct zab *z, int64_t zxid)
{
	struct zab_span	*s;
	void		*p;

	if (zxid <= zab_last(z) || COUNTER(zxid) == 0)
		return -1;
	s = z->nspan ? &z->span[z->nspan - 1] : NULL;
	if (s != NULL && s->epoch == EPOCH(zxid)) {
		if (COUNTER(zxid) != s->last + 1)
			return -1;
		s->last++;
		return 0;
	}
	/* an epoch's first record is its first, unless the base is in it */
	if ((s == NULL && EPOCH(zxid) == EPOCH(z->base)) ?
	    COUNTER(zxid) != COUNTER(z->base) + 1 : COUNTER(zxid) != 1)
		return -1;
	if (z->nspan == z->capspan) {
		if ((p = reallocarray(z->span, z->capspan ? z->capspan * 2 : 8,
		    sizeof(*z->span))) == NULL)
			return -1;
		z->span = p;
		z->capspan = z->capspan ? z->capspan * 2 : 8;
	}
	s = &z->span[z->nspan++];
	s->epoch = EPOCH(zxid);
	s->first = s->last = COUNTER(zxid);
	return 0;
}

/* a record read back from the log at start */
int
zab_logged(struct zab *z, int64_t zxid)
{
	if (addzxid(z, zxid) == -1) {
		errno = EINVAL;
		return -1;
	}
	z->durable = zxid;
	return 0;
}

/* the log holds nothing after zxid any more */
static void
cutzxid(struct zab *z, int64_t zxid)
{
	struct zab_span	*s;

	while (z->nspan > 0) {
		s = &z->span[z->nspan - 1];
		if (s->epoch < EPOCH(zxid))
			break;
		if (s->epoch == EPOCH(zxid) && COUNTER(zxid) >= s->first) {
			if (COUNTER(zxid) < s->last)
				s->last = COUNTER(zxid);
			break;
		}
		z->nspan--;
	}
	if (z->durable > zab_last(z))	/* zxid may fall between spans */
		z->durable = zab_last(z);
}

/* the largest zxid the log holds at or below zxid; -1: it holds none */
static int64_t
floorzxid(const struct zab *z, int64_t zxid)
{
	const struct zab_span	*s;
	size_t			 i;

	if (zxid < z->base)
		return -1;
	for (i = z->nspan; i-- > 0;) {
		s = &z->span[i];
		if (s->epoch < EPOCH(zxid))
			return ZXID(s->epoch, s->last);
		if (s->epoch == EPOCH(zxid) && COUNTER(zxid) >= s->first)
			return ZXID(s->epoch, COUNTER(zxid) < s->last ?
			    COUNTER(zxid) : s->last);
	}
	return z->base;
}

/* purged: the log holds nothing at or below zxid (a snapshot has it) */
void
zab_purged(struct zab *z, int64_t zxid)
{
	size_t	 i, k = 0;

	if (zxid <= z->base || zxid > z->delivered)
		return;
	for (i = 0; i < z->nspan; i++) {
		if (z->span[i].epoch < EPOCH(zxid))
			continue;
		if (z->span[i].epoch == EPOCH(zxid)) {
			if (z->span[i].last <= COUNTER(zxid))
				continue;
			if (z->span[i].first <= COUNTER(zxid))
				z->span[i].first = COUNTER(zxid) + 1;
		}
		z->span[k++] = z->span[i];
	}
	z->nspan = k;
	z->base = zxid;
}

static int
quorum(const struct zab *z, int count)
{
	return count > z->nvoters / 2;
}

int
zab_serving(const struct zab *z)
{
	return z->phase == ZP_BROADCAST || z->phase == ZP_UP;
}

/*
 * Where the node stands, for the monitoring words (Apache's names):
 * the ZAB phase, and for a leader its learners: connected, synced
 * voters and observers, and those still being synced.
 */
void
zab_status(const struct zab *z, struct zab_status *st)
{
	const struct zab_peer	*p;
	int			 i;

	memset(st, 0, sizeof(*st));
	switch (z->phase) {
	case ZP_NONE:
		st->phase = "election";
		break;
	case ZP_DISCOVERY:
	case ZP_EPOCH:
	case ZP_CONNECT:
	case ZP_LINFO:
	case ZP_ACKEPOCH:
		st->phase = "discovery";
		break;
	case ZP_BROADCAST:
	case ZP_UP:
		st->phase = "broadcast";
		break;
	default:
		st->phase = "synchronization";
		break;
	}
	if (z->role != FLE_LEADING)
		return;
	for (i = 0; i < z->n; i++) {
		p = &z->peer[i];
		if (i == z->me || p->phase == ZPP_NONE)
			continue;
		st->learners++;
		if (p->phase == ZPP_UP && p->observer)
			st->observers++;
		else if (p->phase == ZPP_UP)
			st->followers++;
		else if (p->phase >= ZPP_EPOCHED)
			st->syncing++;
	}
}

static void
outinit(struct zab_out *o)
{
	o->n = 0;
	o->looking = 0;
	o->serving = -1;
	o->why = NULL;
}

static struct zab_act *
act(struct zab_out *o, int type, int peer)
{
	struct zab_act	*a;

	if (o->n >= ZAB_MAXACT)
		abort();	/* bounded by ZK_MAXSERVERS: a bug here */
	a = &o->a[o->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->peer = peer;
	return a;
}

static void
tell(struct zab *z, struct zab_out *o, int i, int type, int64_t epoch,
    int64_t zxid)
{
	struct zab_act	*a = act(o, ZA_SEND, z->ids[i]);

	a->m.type = type;
	a->m.epoch = epoch;
	a->m.zxid = zxid;
}

/*
 * The tree gets what is committed and in our log.  Committed means a
 * quorum made it durable, so it need not wait for our own fsync (as
 * Apache's followers apply a COMMIT at once): what a crash takes from
 * our log, a snapshot or the leader gives back.
 */
static void
deliver(struct zab *z, struct zab_out *o)
{
	int64_t	 last = zab_last(z);
	int64_t	 d = floorzxid(z, z->commit < last ? z->commit : last);

	if (d > z->delivered) {
		z->delivered = d;
		act(o, ZA_COMMIT, -1)->zxid = d;
	}
}

static void
resetpeers(struct zab *z)
{
	memset(z->peer, 0, sizeof(z->peer));
}

/* slot i is a voting follower (not us) that reached phase */
static int
votes(const struct zab *z, int i, int phase)
{
	return i != z->me && z->voter[i] && !z->peer[i].observer &&
	    z->peer[i].phase >= phase;
}

/*
 * Read index.  A request (zab_read, or a learner's READ) is answered
 * with the leader's commit point once the leader has shown that it still
 * leads after the request came: a round of PINGs, started after it,
 * echoed by a quorum of synced voters.  A follower echoes only the
 * leader it follows, and one that followed a later leader would never
 * follow this one again, so no other leader can have committed anything
 * the answer lacks.  One round runs at a time; the requests that come
 * meanwhile wait for the next, and each slot has one of each at most.
 */
static void
readfail(uint64_t id, struct zab_out *o)
{
	struct zab_act	*a;

	if (id == 0)
		return;
	a = act(o, ZA_READ, -1);
	a->zxid = -1;
	a->zxid2 = (int64_t)id;
}

static void	 readround(struct zab *, struct zab_out *);

static void
readdone(struct zab *z, struct zab_out *o)
{
	struct zab_act	*a;
	int		 i, k = 1;

	if (!z->rbusy)
		return;
	for (i = 0; i < z->n; i++)
		if (votes(z, i, ZPP_ACKED) && z->peer[i].pong >= z->rround)
			k++;
	if (!quorum(z, k))
		return;
	z->rbusy = 0;
	for (i = 0; i < z->n; i++) {
		if (z->rcur[i] == 0)
			continue;
		if (i == z->me) {
			a = act(o, ZA_READ, -1);
			a->zxid = z->rcommit;
			a->zxid2 = (int64_t)z->rcur[i];
		} else if (z->peer[i].phase >= ZPP_UP) {
			tell(z, o, i, ZM_READOK, z->epoch, z->rcommit);
			o->a[o->n - 1].m.commit = (int64_t)z->rcur[i];
		}
		z->rcur[i] = 0;
	}
	readround(z, o);
}

static void
readround(struct zab *z, struct zab_out *o)
{
	int	 i, any = 0;

	if (z->rbusy)
		return;
	for (i = 0; i < z->n; i++)
		any |= z->rnext[i] != 0;
	if (!any)
		return;
	memcpy(z->rcur, z->rnext, sizeof(z->rcur));
	memset(z->rnext, 0, sizeof(z->rnext));
	z->rround++;
	z->rcommit = z->commit;
	z->rbusy = 1;
	for (i = 0; i < z->n; i++)
		if (votes(z, i, ZPP_ACKED))
			tell(z, o, i, ZM_PING, z->epoch, z->rround);
	readdone(z, o);		/* a quorum of one */
}

/* Our own reads: request id's read index comes as ZA_READ. */
void
zab_read(struct zab *z, int64_t now, uint64_t id, struct zab_out *o)
{
	(void)now;
	outinit(o);
	if (id == 0)
		return;
	if (z->role == FLE_LEADING && z->phase == ZP_BROADCAST) {
		readfail(z->rnext[z->me], o);	/* superseded */
		z->rnext[z->me] = id;
		readround(z, o);
	} else if (z->role != FLE_LEADING && z->phase == ZP_UP) {
		readfail(z->rwait, o);
		z->rwait = id;
		tell(z, o, z->leader, ZM_READ, z->epoch, 0);
		o->a[o->n - 1].m.commit = (int64_t)id;
	} else
		readfail(id, o);
}

/* every request of ours still unanswered fails; the rounds end */
static void
readreset(struct zab *z, struct zab_out *o)
{
	readfail(z->rcur[z->me], o);
	readfail(z->rnext[z->me], o);
	readfail(z->rwait, o);
	memset(z->rcur, 0, sizeof(z->rcur));
	memset(z->rnext, 0, sizeof(z->rnext));
	z->rwait = 0;
	z->rbusy = 0;
}

/* back to the election */
static void
giveup(struct zab *z, struct zab_out *o, const char *why)
{
	if (z->role == FLE_LOOKING)
		return;
	readreset(z, o);
	if (zab_serving(z))
		o->serving = 0;
	z->hto = -1;
	z->role = FLE_LOOKING;
	z->phase = ZP_NONE;
	z->leader = -1;
	z->deadline = 0;
	resetpeers(z);
	/* a leader that hands off closes after its last COMMITs */
	act(o, ZA_CLOSE, -1)->zxid = z->handto != -1;
	o->looking = 1;
	o->why = why;
}

static void	 tick(struct zab *, int64_t, struct zab_out *);

void
zab_role(struct zab *z, int64_t now, int role, int leader, struct zab_out *o)
{
	outinit(o);
	readreset(z, o);
	resetpeers(z);
	if (zab_serving(z))
		o->serving = 0;
	z->hto = z->handto = -1;
	z->role = role;
	z->phase = ZP_NONE;
	z->leader = role == FLE_LOOKING ? -1 : slot(z, leader);
	z->deadline = now + z->initlimit;
	z->heard = now;
	z->nextping = now;
	z->epoch = 0;
	if (role == FLE_LOOKING)
		return;
	if (z->leader == -1 || (role == FLE_LEADING) != (z->leader == z->me) ||
	    (role == FLE_LEADING && !z->voter[z->me])) {
		giveup(z, o, "the election named no usable leader");
		return;
	}
	if (role == FLE_LEADING) {
		z->phase = ZP_DISCOVERY;
		tick(z, now, o);	/* one voter: on at once */
		return;
	}
	z->phase = ZP_CONNECT;
	act(o, ZA_CONNECT, z->ids[z->leader]);
}

/* the leader's side */

static int
countpeers(const struct zab *z, int phase)
{
	int	 i, k = 1;	/* the leader */

	for (i = 0; i < z->n; i++)
		if (votes(z, i, phase))
			k++;
	return k;
}

/* DIFF, TRUNC+DIFF or SNAP up to our last zxid, then NEWLEADER */
static void
syncpeer(struct zab *z, int i, struct zab_out *o)
{
	struct zab_peer	*p = &z->peer[i];
	struct zab_act	*a;
	int64_t		 f = floorzxid(z, p->last), base, last = zab_last(z);

	if (f < 0) {
		base = z->delivered;
		act(o, ZA_SENDSNAP, z->ids[i])->zxid = base;
	} else if (f == p->last) {
		base = f;
		tell(z, o, i, ZM_DIFF, z->epoch, base);
	} else {
		base = f;
		tell(z, o, i, ZM_TRUNC, z->epoch, base);
	}
	if (last > base) {
		a = act(o, ZA_SENDLOG, z->ids[i]);
		a->zxid = base;
		a->zxid2 = last;
		a->m.type = ZM_PROPOSAL;
	}
	tell(z, o, i, ZM_NEWLEADER, z->epoch, last);
	p->upto = p->sent = last;
	p->phase = ZPP_SYNCED;
}

static void
uptodate(struct zab *z, int i, struct zab_out *o)
{
	tell(z, o, i, ZM_UPTODATE, z->epoch, z->commit);
	z->peer[i].phase = ZPP_UP;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;	/* descending */
}

/* A handoff whose voter holds all we proposed, all of it committed:
   we step down (zab_handoff). */
static void
handcheck(struct zab *z, struct zab_out *o)
{
	int64_t	 last = zab_last(z);

	if (z->hto == -1 || z->phase != ZP_BROADCAST || z->commit < last ||
	    z->peer[z->hto].phase < ZPP_UP || z->peer[z->hto].ack < last)
		return;
	z->handto = z->ids[z->hto];
	giveup(z, o, "handing leadership off");
}

/* the commit point a quorum's acknowledgements allow, and what follows */
static void
commitpoint(struct zab *z, struct zab_out *o)
{
	int64_t		 acks[ZK_MAXSERVERS], c;
	struct zab_peer	*p;
	struct zab_act	*a;
	int		 i, k = 0;

	if (z->phase != ZP_SYNC && z->phase != ZP_BROADCAST)
		return;
	if (z->cepoch == z->epoch)
		acks[k++] = z->durable;
	for (i = 0; i < z->n; i++)
		if (votes(z, i, ZPP_ACKED))
			acks[k++] = z->peer[i].ack;
	if (!quorum(z, k))
		return;
	qsort(acks, k, sizeof(acks[0]), cmp64);
	c = acks[z->nvoters / 2];
	if (c < z->upto)
		return;
	if (z->phase == ZP_SYNC) {	/* the new epoch is established */
		z->phase = ZP_BROADCAST;
		o->serving = 1;
		z->commit = c;
		for (i = 0; i < z->n; i++)
			if (z->peer[i].phase == ZPP_ACKED)
				uptodate(z, i, o);
		deliver(z, o);
		return;
	}
	if (c <= z->commit)
		return;
	z->commit = c;
	for (i = 0; i < z->n; i++) {
		p = &z->peer[i];
		if (i == z->me || p->phase < ZPP_SYNCED)
			continue;
		if (!p->observer) {
			tell(z, o, i, ZM_COMMIT, z->epoch, c);
		} else if (c > p->sent) {
			a = act(o, ZA_SENDLOG, z->ids[i]);
			a->zxid = p->sent;
			a->zxid2 = c;
			a->m.type = ZM_INFORM;
			p->sent = c;
		} else
			tell(z, o, i, ZM_COMMIT, z->epoch, c);
	}
	deliver(z, o);
}

/* acknowledgements moved (an ACK, our own fsync): the commit point, and
   a handoff that may now be done */
static void
advance(struct zab *z, struct zab_out *o)
{
	commitpoint(z, o);
	handcheck(z, o);
}

/* a quorum of FINFO: accept an epoch above every one they reported */
static void
discovery(struct zab *z, struct zab_out *o)
{
	int64_t	 e = z->aepoch;
	int	 i;

	if (!quorum(z, countpeers(z, ZPP_INFO)))
		return;
	for (i = 0; i < z->n; i++)
		if (i != z->me && z->peer[i].phase >= ZPP_INFO &&
		    z->peer[i].aepoch > e)
			e = z->peer[i].aepoch;
	if (z->seen > e)
		e = z->seen;
	if (e >= UINT32_MAX) {	/* a zxid holds 32 bits of epoch */
		giveup(z, o, "no epoch left above those reported");
		return;
	}
	z->epoch = ++e;
	z->aepoch = e;
	z->aleader = z->me;
	z->phase = ZP_EPOCH;
	for (i = 0; i < z->n; i++)
		if (z->peer[i].phase == ZPP_INFO) {
			tell(z, o, i, ZM_LINFO, e, 0);
			z->peer[i].phase = ZPP_LINFO;
		}
	/* after the LINFOs, so that the learners make their acceptedEpoch
	   durable while we make ours: their ACKEPOCHs are later events,
	   when ours is done (epochacked says why a crash meanwhile is
	   safe) */
	act(o, ZA_ACCEPTED, -1)->zxid = e;
}

/*
 * A quorum of ACKEPOCH: our log is the epoch's history.  The learners'
 * syncs go first and our currentEpoch after, so that they make theirs
 * durable while we make ours (Apache's leader does the same): only what
 * is listed before a durable write may go out before it is done.  We
 * count our own acknowledgement (commitpoint) from the next event on,
 * when the write is done; a crash before that leaves learners on an
 * epoch whose leader never served in it, with its history, and a
 * currentEpoch above ours: they win the next election, which is safe.
 */
static void
epochacked(struct zab *z, struct zab_out *o)
{
	int	 i;

	if (!quorum(z, countpeers(z, ZPP_EPOCHED)))
		return;
	z->phase = ZP_SYNC;
	z->upto = zab_last(z);
	z->counter = 0;
	for (i = 0; i < z->n; i++)
		if (z->peer[i].phase == ZPP_EPOCHED)
			syncpeer(z, i, o);
	z->cepoch = z->epoch;
	act(o, ZA_CURRENT, -1)->zxid = z->epoch;
	advance(z, o);
}

static void
leaderrecv(struct zab *z, int64_t now, int i, const struct zab_msg *m,
    struct zab_out *o)
{
	struct zab_peer	*p = &z->peer[i];

	p->heard = now;
	switch (m->type) {
	case ZM_FINFO:
		memset(p, 0, sizeof(*p));
		p->heard = now;
		p->observer = m->observer || !z->voter[i];
		p->aepoch = m->epoch;
		p->last = m->zxid;
		p->phase = ZPP_INFO;
		if (z->phase == ZP_DISCOVERY) {
			discovery(z, o);
		} else if (m->epoch > z->epoch) {
			/*
			 * It accepted the epoch of a leader that never
			 * established it, above ours, and refuses ours: it
			 * would stay out for as long as we lead.  A new
			 * election, whose epoch goes above what it accepted.
			 */
			if (m->epoch > z->seen)
				z->seen = m->epoch;
			giveup(z, o, "a learner accepted an epoch above ours");
		} else {
			tell(z, o, i, ZM_LINFO, z->epoch, 0);
			o->a[o->n - 1].m.counted = z->phase != ZP_EPOCH;
			p->phase = ZPP_LINFO;
		}
		return;
	case ZM_ACKEPOCH:
		if (p->phase != ZPP_LINFO)
			break;
		p->cepoch = m->epoch;
		p->last = m->zxid;
		p->phase = ZPP_EPOCHED;
		if (z->phase == ZP_EPOCH && !p->observer &&
		    (m->epoch > z->cepoch || (m->epoch == z->cepoch &&
		    m->zxid > zab_last(z)))) {
			giveup(z, o, "a follower is ahead of its leader");
			return;
		}
		if (z->phase == ZP_EPOCH)
			epochacked(z, o);
		else
			syncpeer(z, i, o);
		return;
	case ZM_ACK:
		if (p->phase < ZPP_SYNCED || m->zxid > zab_last(z))
			break;
		if (p->phase == ZPP_SYNCED) {
			if (m->zxid < p->upto)
				break;
			p->phase = ZPP_ACKED;
			if (z->phase == ZP_BROADCAST)
				uptodate(z, i, o);
		}
		if (m->zxid > p->ack)
			p->ack = m->zxid;
		advance(z, o);
		return;
	case ZM_PING:
		if (m->zxid > p->pong && m->zxid <= z->rround) {
			p->pong = m->zxid;
			readdone(z, o);
		}
		return;
	case ZM_READ:
		if (z->phase != ZP_BROADCAST || p->phase < ZPP_UP ||
		    m->commit <= 0)
			break;
		z->rnext[i] = (uint64_t)m->commit;
		readround(z, o);
		return;
	default:
		break;
	}
	/* out of order: that learner starts again */
	memset(p, 0, sizeof(*p));
	act(o, ZA_CLOSE, z->ids[i]);
}

/* a learner's side */

static void
ack(struct zab *z, struct zab_out *o)
{
	if (z->phase == ZP_NEWLEADER && z->durable >= z->upto) {
		if (z->cepoch != z->epoch) {
			z->cepoch = z->epoch;
			act(o, ZA_CURRENT, -1)->zxid = z->epoch;
		}
		z->phase = ZP_ACKED;
		z->acked = z->durable;
		tell(z, o, z->leader, ZM_ACK, z->epoch, z->durable);
	} else if ((z->phase == ZP_ACKED || z->phase == ZP_UP) &&
	    z->voter[z->me] && z->role == FLE_FOLLOWING &&
	    z->durable > z->acked) {
		z->acked = z->durable;
		tell(z, o, z->leader, ZM_ACK, z->epoch, z->durable);
	}
}

static int
append(struct zab *z, const struct zab_msg *m, struct zab_out *o)
{
	struct zab_act	*a;

	if (addzxid(z, m->zxid) == -1)
		return -1;
	a = act(o, ZA_APPEND, -1);
	a->m = *m;
	a->m.type = ZM_PROPOSAL;
	a->m.commit = z->commit;
	a->zxid = m->zxid;
	return 0;
}

static void
learnerrecv(struct zab *z, int64_t now, const struct zab_msg *m,
    struct zab_out *o)
{
	const char	*why = "the leader spoke out of turn";
	int64_t		 last = zab_last(z);

	z->heard = now;
	switch (m->type) {
	case ZM_LINFO:
		if (z->phase != ZP_LINFO)
			break;
		if (m->epoch < z->aepoch) {
			why = "the leader offers an epoch older than accepted";
			break;
		}
		/*
		 * An epoch is accepted from one leader only: two that
		 * both counted us towards their quorums would otherwise
		 * lead the same epoch with different histories.  A leader
		 * that has its quorum already does not count us: joining
		 * it is safe, and the only way in until the next epoch.
		 */
		if (m->epoch == z->aepoch && z->aleader != z->leader &&
		    !m->counted) {
			why = "the leader offers an epoch accepted from another";
			break;
		}
		if (m->epoch > z->aepoch) {
			z->aepoch = m->epoch;
			act(o, ZA_ACCEPTED, -1)->zxid = m->epoch;
		}
		z->aleader = z->leader;
		z->epoch = m->epoch;
		tell(z, o, z->leader, ZM_ACKEPOCH, z->cepoch, last);
		z->phase = ZP_ACKEPOCH;
		return;
	case ZM_DIFF:
		if (z->phase != ZP_ACKEPOCH || m->zxid != last)
			break;
		z->phase = ZP_LSYNC;
		return;
	case ZM_TRUNC:
		if (z->phase != ZP_ACKEPOCH || m->zxid > last)
			break;
		if (floorzxid(z, m->zxid) < z->delivered ||
		    m->zxid < z->commit) {
			why = "the leader would cut committed transactions";
			break;
		}
		cutzxid(z, m->zxid);
		act(o, ZA_TRUNC, -1)->zxid = m->zxid;
		z->phase = ZP_LSYNC;
		return;
	case ZM_SNAP:
		if (z->phase != ZP_ACKEPOCH || m->zxid < z->delivered)
			break;
		act(o, ZA_SNAPLOAD, -1)->zxid = m->zxid;
		z->nspan = 0;
		z->base = z->durable = z->delivered = z->commit = m->zxid;
		z->phase = ZP_LSYNC;
		return;
	case ZM_PROPOSAL:
	case ZM_INFORM:
		if (z->phase < ZP_LSYNC ||
		    (z->phase >= ZP_NEWLEADER && EPOCH(m->zxid) != z->epoch))
			break;
		if (append(z, m, o) == -1) {
			why = "a proposal out of order";
			break;
		}
		if (m->type == ZM_INFORM && m->zxid > z->commit) {
			z->commit = m->zxid;
			deliver(z, o);
		}
		return;
	case ZM_NEWLEADER:
		if (z->phase != ZP_LSYNC || m->zxid != last ||
		    m->epoch != z->epoch)
			break;
		z->upto = m->zxid;
		z->phase = ZP_NEWLEADER;
		ack(z, o);
		return;
	case ZM_UPTODATE:
		if (z->phase != ZP_ACKED)
			break;
		z->phase = ZP_UP;
		o->serving = 1;
		/* FALLTHROUGH */
	case ZM_COMMIT:
		if (z->phase < ZP_NEWLEADER)
			break;
		if (m->zxid > z->commit)
			z->commit = m->zxid;
		deliver(z, o);
		return;
	case ZM_PING:		/* echoed with its read round */
		tell(z, o, z->leader, ZM_PING, z->epoch, m->zxid);
		return;
	case ZM_READOK:
		if (z->phase != ZP_UP || m->commit <= 0)
			break;
		if ((uint64_t)m->commit == z->rwait) {
			struct zab_act	*a = act(o, ZA_READ, -1);

			a->zxid = m->zxid;
			a->zxid2 = m->commit;
			z->rwait = 0;
		}
		return;
	default:
		break;
	}
	giveup(z, o, why);
}

void
zab_recv(struct zab *z, int64_t now, int from, const struct zab_msg *m,
    struct zab_out *o)
{
	int	 i = slot(z, from);

	outinit(o);
	if (i == -1 || i == z->me)
		return;
	if (z->role == FLE_LEADING && z->phase != ZP_NONE)
		leaderrecv(z, now, i, m, o);
	else if ((z->role == FLE_FOLLOWING || z->role == FLE_OBSERVING) &&
	    i == z->leader && z->phase >= ZP_LINFO)
		learnerrecv(z, now, m, o);
}

void
zab_connected(struct zab *z, int64_t now, int peer, struct zab_out *o)
{
	struct zab_act	*a;

	outinit(o);
	if (z->phase != ZP_CONNECT || slot(z, peer) != z->leader)
		return;
	z->heard = now;
	a = act(o, ZA_SEND, peer);
	a->m.type = ZM_FINFO;
	a->m.observer = z->role == FLE_OBSERVING;
	a->m.epoch = z->aepoch;
	a->m.zxid = zab_last(z);
	z->phase = ZP_LINFO;
}

void
zab_closed(struct zab *z, int64_t now, int peer, struct zab_out *o)
{
	int	 i = slot(z, peer);

	(void)now;
	outinit(o);
	if (i == -1 || i == z->me)
		return;
	if (z->role == FLE_LEADING)
		memset(&z->peer[i], 0, sizeof(z->peer[i]));
	else if (z->role != FLE_LOOKING && i == z->leader)
		giveup(z, o, "the connection to the leader closed");
}

void
zab_durable(struct zab *z, int64_t now, int64_t zxid, struct zab_out *o)
{
	int64_t	 last = zab_last(z);

	(void)now;
	outinit(o);
	if (zxid > last)
		zxid = last;
	zxid = floorzxid(z, zxid);	/* a zxid the log holds */
	if (zxid <= z->durable)
		return;
	z->durable = zxid;
	if (z->role == FLE_LEADING)
		advance(z, o);
	else if (z->role != FLE_LOOKING)
		ack(z, o);
	deliver(z, o);
}

/*
 * Leader handoff (a rolling restart, or asked for): the leader stops
 * proposing, and once everything it proposed is committed and the voter
 * it hands to has acknowledged all of it, it steps down, its election
 * voting for that voter (handto) rather than for itself.  Its followers,
 * their connections closed, elect again at once; the one handed to
 * holds the longest history, so it wins, or another voter that holds as
 * much.  to is a myid, or -1 for the most caught-up synced voter.  The
 * handoff is given up after syncLimit (or when that voter goes), and the
 * leader leads on.  Returns the myid handed to, or -1 (EAGAIN: not a
 * serving leader, or no synced voter to hand to).
 */
int
zab_handoff(struct zab *z, int64_t now, int to, struct zab_out *o)
{
	int	 i, best = -1;

	outinit(o);
	if (z->role != FLE_LEADING || z->phase != ZP_BROADCAST) {
		errno = EAGAIN;
		return -1;
	}
	for (i = 0; i < z->n; i++) {
		if (!votes(z, i, ZPP_UP) || (to != -1 && z->ids[i] != to))
			continue;
		if (best == -1 || z->peer[i].ack > z->peer[best].ack ||
		    (z->peer[i].ack == z->peer[best].ack &&
		    z->ids[i] > z->ids[best]))
			best = i;
	}
	if (best == -1) {
		errno = EAGAIN;
		return -1;
	}
	z->hto = best;
	z->hdeadline = now + z->synclimit;
	handcheck(z, o);
	return z->ids[best];
}

/*
 * Whether the voters that follow us make a quorum without us: a leader
 * that is leaving (SIGTERM) hands off only then.  Elected by its vote
 * and short of a quorum of followers, the voter handed to would lead no
 * one, sitting in discovery for initLimit, neither serving nor looking
 * (so never read-only either); without the handoff it looks at once.
 */
int
zab_leavable(const struct zab *z)
{
	int	 i, k = 0;

	for (i = 0; i < z->n; i++)
		if (votes(z, i, ZPP_UP))
			k++;
	return quorum(z, k);
}

/* A leader that does not hand off takes proposals. */
int
zab_proposing(const struct zab *z)
{
	return z->role == FLE_LEADING && z->phase == ZP_BROADCAST &&
	    z->hto == -1;
}

int64_t
zab_propose(struct zab *z, int64_t now, const void *data, size_t len,
    struct zab_out *o)
{
	struct zab_msg	 m;
	struct zab_act	*a;
	int		 i;

	(void)now;
	outinit(o);
	if (!zab_proposing(z) || z->counter == UINT32_MAX) {
		errno = EAGAIN;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.type = ZM_PROPOSAL;
	m.zxid = ZXID(z->epoch, z->counter + 1);
	m.data = data;
	m.len = len;
	if (append(z, &m, o) == -1) {
		errno = EINVAL;
		return -1;
	}
	z->counter++;
	m.commit = z->commit;
	for (i = 0; i < z->n; i++)
		if (i != z->me && !z->peer[i].observer &&
		    z->peer[i].phase >= ZPP_SYNCED) {
			a = act(o, ZA_SEND, z->ids[i]);
			a->m = m;
		}
	return m.zxid;
}

void
zab_tick(struct zab *z, int64_t now, struct zab_out *o)
{
	outinit(o);
	tick(z, now, o);
}

static void
tick(struct zab *z, int64_t now, struct zab_out *o)
{
	int	 i, k;

	if (z->role == FLE_LOOKING)
		return;
	if (z->role != FLE_LEADING) {
		if (z->phase != ZP_UP && now >= z->deadline)
			giveup(z, o, "no sync with the leader within initLimit");
		else if (z->phase == ZP_UP && now - z->heard > z->synclimit)
			giveup(z, o, "the leader fell silent for syncLimit");
		return;
	}
	if (z->phase == ZP_DISCOVERY)
		discovery(z, o);
	if (z->phase == ZP_EPOCH)
		epochacked(z, o);
	if (z->phase == ZP_SYNC)
		advance(z, o);
	if (z->phase != ZP_BROADCAST && now >= z->deadline) {
		giveup(z, o, "no quorum synced within initLimit");
		return;
	}
	for (i = 0, k = 1; i < z->n; i++) {
		if (i == z->me || z->peer[i].phase == ZPP_NONE)
			continue;
		if (now - z->peer[i].heard > (z->phase == ZP_BROADCAST &&
		    z->peer[i].phase >= ZPP_ACKED ? z->synclimit :
		    z->initlimit)) {
			memset(&z->peer[i], 0, sizeof(z->peer[i]));
			act(o, ZA_CLOSE, z->ids[i]);
			continue;
		}
		if (z->voter[i] && !z->peer[i].observer &&
		    z->peer[i].phase >= ZPP_ACKED)
			k++;
		if (now >= z->nextping)
			tell(z, o, i, ZM_PING, z->epoch, z->rround);
	}
	if (now >= z->nextping)
		z->nextping = now + z->tick / 2;
	if (z->phase == ZP_BROADCAST && !quorum(z, k))
		giveup(z, o, "lost the quorum");
	else if (z->hto != -1 && (now >= z->hdeadline ||
	    z->peer[z->hto].phase < ZPP_UP))
		z->hto = -1;	/* it did not catch up: we go on leading */
}

/* when zab_tick wants calling next, 0: never */
int64_t
zab_deadline(const struct zab *z)
{
	if (z->role == FLE_LOOKING)
		return 0;
	if (z->role != FLE_LEADING)
		return z->phase == ZP_UP ? z->heard + z->synclimit + 1 :
		    z->deadline;
	return z->nextping < z->deadline || z->phase == ZP_BROADCAST ?
	    z->nextping : z->deadline;
}

/*
 * The peer protocol on the quorum port: one line per message, the verb
 * its name (zab_msgname), then the fields it has:
 *
 *	proposal epoch=1 zxid=0x100000005 commit=0x100000004 data=<txn>
 *
 * epoch and zxid always; commit when not 0, observer=1 and counted=1
 * when set, data= when the message carries a transaction (escaped: it
 * is itself a line).
 */
void
zab_put(struct zkbuf *b, const struct zab_msg *m)
{
	zkl_begin(b, zab_msgname(m->type));
	zkl_putd(b, "epoch", m->epoch);
	zkl_putx(b, "zxid", m->zxid);
	if (m->commit != 0)
		zkl_putx(b, "commit", m->commit);
	if (m->observer)
		zkl_putd(b, "observer", 1);
	if (m->counted)
		zkl_putd(b, "counted", 1);
	if (m->data != NULL)
		zkl_put(b, "data", m->data, m->len);
	zkl_end(b);
}

static int
flag(const struct zkline *l, const char *key, int *v)
{
	int64_t	 x;

	if (zkl_get(l, key) == NULL) {
		*v = 0;
		return 0;
	}
	if (zkl_int(l, key, &x) == -1 || (x != 0 && x != 1))
		return -1;
	*v = (int)x;
	return 0;
}

/*
 * A peer's line into m; m->data then points into l, which must outlive
 * it.  -1 (EINVAL) for an unknown verb, a missing or bad field (zxids
 * and epochs are never negative, an epoch fits 32 bits), or data on a
 * message that carries none.
 */
int
zab_parse(const struct zkline *l, struct zab_msg *m)
{
	const struct zkfield	*f;
	int			 t;

	memset(m, 0, sizeof(*m));
	if (l->verb == NULL)
		goto bad;
	for (t = 0; t < ZM_NTYPES; t++)
		if (strcmp(l->verb, msgnames[t]) == 0)
			break;
	if (t == ZM_NTYPES ||
	    zkl_int(l, "epoch", &m->epoch) == -1 || m->epoch < 0 ||
	    m->epoch > UINT32_MAX ||
	    zkl_int(l, "zxid", &m->zxid) == -1 || m->zxid < 0 ||
	    (zkl_get(l, "commit") != NULL &&
	    (zkl_int(l, "commit", &m->commit) == -1 || m->commit < 0)) ||
	    flag(l, "observer", &m->observer) == -1 ||
	    flag(l, "counted", &m->counted) == -1)
		goto bad;
	m->type = t;
	if ((f = zkl_get(l, "data")) != NULL) {
		if (t != ZM_PROPOSAL && t != ZM_INFORM)
			goto bad;
		m->data = f->val;
		m->len = f->len;
	} else if (t == ZM_PROPOSAL || t == ZM_INFORM)
		goto bad;
	return 0;
bad:
	memset(m, 0, sizeof(*m));
	errno = EINVAL;
	return -1;
}
