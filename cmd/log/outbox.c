/*
 * outbox.c: this node's client writes (and syncs) in an ensemble, from
 * the moment zk-log takes them from log.sock until it knows their fate,
 * so that a change of leader loses none and applies none twice.
 *
 * An entry is queued (held while the node does not serve), then sent
 * (proposed by a leader, or sent on to the leader by a learner), then
 * done: its txn, matched by session and xid, reached zk-tree, or its sync
 * came back.  When the node serves again after an election, an entry
 * sent before it whose txn is not in the node's log is known lost: the
 * new leader's history, which the node now holds, ends every earlier
 * epoch, and a leader that stays reads no more of a learner's old
 * connection once the new one said hello.  Such an entry is queued again
 * and sent to the new leader, in its order.  An entry that waits longer
 * than the hold (tickTime) while the node does not serve is answered
 * `fail` (err -4, connection loss) and forgotten, as the gate gives up its
 * clients then.
 *
 * Writes of one session stay in order: they are sent in queue order,
 * a leader proposes a learner's writes in the order they came, and its
 * commits keep that order.
 *
 * A read the gate sent behind a write of its session (STREAMS.md, the
 * FIFO rule) waits here too, never sent: once every entry of its session
 * before it is done (its txn went into zk-tree's stream, its sync came
 * back) or given up, it goes into zk-tree's stream with emit(), right
 * there, before any later txn, so that it sees those writes and none
 * that its session sent after it.  Each session's entries are also on a
 * list of their own, in order, for that.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "log.h"

#define OBMAX		100000		/* entries: more are refused */
#define OBMAXBYTES	(256 << 20)

struct obsess;

struct obent {
	TAILQ_ENTRY(obent) q;
	TAILQ_ENTRY(obent) sq;		/* on its session's list */
	RB_ENTRY(obent)	 k;
	struct obsess	*s;
	int64_t		 session, xid;
	int64_t		 t;		/* taken, zk_mono_ms */
	int		 sent, seen, kind;
	struct client	*cl;		/* NULL once it closed */
	size_t		 len;
	char		 line[];
};

/* a session's entries, in order; on the release list once one before a
   read is gone */
struct obsess {
	RB_ENTRY(obsess) k;
	TAILQ_HEAD(, obent) ents;
	TAILQ_ENTRY(obsess) rel;
	int		 onrel;
	int64_t		 session;
};

static int
oscmp(const struct obsess *a, const struct obsess *b)
{
	return (a->session > b->session) - (a->session < b->session);
}

RB_HEAD(sesstree, obsess);
RB_PROTOTYPE(sesstree, obsess, k, oscmp)
RB_GENERATE(sesstree, obsess, k, oscmp)

static int
obcmp(const struct obent *a, const struct obent *b)
{
	if (a->session != b->session)
		return (a->session > b->session) - (a->session < b->session);
	return (a->xid > b->xid) - (a->xid < b->xid);
}

RB_HEAD(obtree, obent);
RB_PROTOTYPE(obtree, obent, k, obcmp)
RB_GENERATE(obtree, obent, k, obcmp)

static struct {
	TAILQ_HEAD(, obent) q;
	struct obtree	 keys;
	struct sesstree	 sess;
	TAILQ_HEAD(, obsess) rel;	/* sessions whose reads may go */
	size_t		 n, bytes, nqueued;
	void		(*emit)(const char *, size_t);
} O = { TAILQ_HEAD_INITIALIZER(O.q), RB_INITIALIZER(&O.keys),
    RB_INITIALIZER(&O.sess), TAILQ_HEAD_INITIALIZER(O.rel), 0, 0, 0, NULL };

/* The number a line's field holds (zkl_parseint): 0, or -1. */
static int
numfield(const char *line, size_t len, const char *key, int64_t *v)
{
	const char	*p;
	char		 b[24];
	size_t		 n;

	if ((p = field(line, len, key, &n)) == NULL || n >= sizeof(b))
		return -1;
	memcpy(b, p, n);
	b[n] = '\0';
	return zkl_parseint(b, v);
}

/* The session and xid of a request or txn line: -1 if it has none. */
static int
obkey(const char *line, size_t len, int64_t *session, int64_t *xid)
{
	if (numfield(line, len, "session", session) == -1 ||
	    numfield(line, len, "xid", xid) == -1 || *xid < INT32_MIN ||
	    *xid > INT32_MAX)
		return -1;
	return 0;
}

/* Where a released read goes: zk-tree's stream (quorum.c). */
void
ob_emitter(void (*emit)(const char *, size_t))
{
	O.emit = emit;
}

static void
obunlink(struct obent *e)
{
	TAILQ_REMOVE(&O.q, e, q);
	TAILQ_REMOVE(&e->s->ents, e, sq);
	RB_REMOVE(obtree, &O.keys, e);
	if (!e->sent && e->kind != OB_READ)
		O.nqueued--;
	O.n--;
	O.bytes -= e->len;
	free(e);
}

/* An entry is done or given up: its session's reads may go now. */
static void
obfree(struct obent *e)
{
	struct obsess	*s = e->s;

	obunlink(e);
	if (!s->onrel) {
		s->onrel = 1;
		TAILQ_INSERT_TAIL(&O.rel, s, rel);
	}
}

/*
 * The reads first in their sessions' lists go into zk-tree's stream, in
 * order; an empty session is forgotten.  Every function that frees an
 * entry ends with this, so that the reads go right after the txn (or
 * sync) that let them.
 */
static void
release(void)
{
	struct obsess	*s;
	struct obent	*e;

	while ((s = TAILQ_FIRST(&O.rel)) != NULL) {
		TAILQ_REMOVE(&O.rel, s, rel);
		s->onrel = 0;
		while ((e = TAILQ_FIRST(&s->ents)) != NULL &&
		    e->kind == OB_READ) {
			O.emit(e->line, e->len);
			obunlink(e);
		}
		if (TAILQ_EMPTY(&s->ents)) {
			RB_REMOVE(sesstree, &O.sess, s);
			free(s);
		}
	}
}

/*
 * Take a write, a sync or a read (kind OB_WRITE, OB_SYNC, OB_READ) of
 * client cl: queued, last.  A read whose session has nothing here goes
 * to zk-tree's stream at once.  -1: it has no session and xid (the
 * caller sends it as it is); -2: the outbox is full or holds that key
 * already (the caller refuses it).
 */
int
ob_add(struct client *cl, const char *line, size_t len, int kind)
{
	struct obent	*e;
	struct obsess	 key, *s;
	int64_t		 session, xid;

	if (obkey(line, len, &session, &xid) == -1)
		return -1;
	key.session = session;
	s = RB_FIND(sesstree, &O.sess, &key);
	if (kind == OB_READ && s == NULL) {
		O.emit(line, len);
		return 0;
	}
	if (O.n >= OBMAX || O.bytes + len > OBMAXBYTES)
		return -2;
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		err(EX_OSERR, NULL);
	e->session = session;
	e->xid = xid;
	if (RB_INSERT(obtree, &O.keys, e) != NULL) {
		free(e);
		return -2;
	}
	if (s == NULL) {
		if ((s = malloc(sizeof(*s))) == NULL)
			err(EX_OSERR, NULL);
		s->session = session;
		s->onrel = 0;
		TAILQ_INIT(&s->ents);
		RB_INSERT(sesstree, &O.sess, s);
	}
	e->s = s;
	e->t = zk_mono_ms();
	e->sent = e->seen = 0;
	e->kind = kind;
	e->cl = cl;
	e->len = len;
	memcpy(e->line, line, len);
	TAILQ_INSERT_TAIL(&O.q, e, q);
	TAILQ_INSERT_TAIL(&s->ents, e, sq);
	O.n++;
	if (kind != OB_READ)
		O.nqueued++;
	O.bytes += len;
	return 0;
}

/* Entries not yet sent. */
size_t
ob_queued(void)
{
	return O.nqueued;
}

/*
 * Send the queued entries in order with send(line, len, sync): 0 sent,
 * 1 sent and done (a leader's own sync), -1 not now (the rest wait).
 */
void
ob_send(int (*send)(const char *, size_t, int))
{
	struct obent	*e, *t;
	int		 r;

	for (e = TAILQ_FIRST(&O.q); e != NULL && O.nqueued > 0; e = t) {
		t = TAILQ_NEXT(e, q);
		if (e->sent || e->kind == OB_READ)
			continue;
		if ((r = send(e->line, e->len, e->kind == OB_SYNC)) == -1)
			break;
		e->sent = 1;
		O.nqueued--;
		if (r == 1)
			obfree(e);	/* its reads go below, t stays */
	}
	release();
}

static struct obent *
find(const char *line, size_t len)
{
	struct obent	 k;

	if (O.n == 0 || obkey(line, len, &k.session, &k.xid) == -1)
		return NULL;
	return RB_FIND(obtree, &O.keys, &k);
}

/* A txn reached zk-tree, or a sync came back: its entry is done. */
void
ob_done(const char *line, size_t len)
{
	struct obent	*e;

	if ((e = find(line, len)) != NULL && e->sent && e->kind != OB_READ)
		obfree(e);
	release();
}

/* A txn is in the log, not yet committed (ob_resync). */
void
ob_seen(const char *line, size_t len)
{
	struct obent	*e;

	if ((e = find(line, len)) != NULL && e->kind != OB_READ)
		e->seen = 1;
}

/*
 * The node serves again after an election, its log synced with the
 * leader's: a sent write not seen in the log (ob_seen, just before) is
 * lost, and queued again; so is every sent sync.
 */
void
ob_resync(void)
{
	struct obent	*e;

	TAILQ_FOREACH(e, &O.q, q) {
		if (e->sent && (!e->seen || e->kind == OB_SYNC)) {
			e->sent = 0;
			O.nqueued++;
		}
		e->seen = 0;
	}
}

/*
 * The node does not serve: entries taken before old are given up,
 * answered with fail(cl, line, len) if their client is still there.  The
 * reads that waited for them go to zk-tree (a read is never first in the
 * queue: it goes as soon as nothing of its session is before it).
 */
void
ob_expire(int64_t old, void (*fail)(struct client *, const char *, size_t))
{
	struct obent	*e;

	while ((e = TAILQ_FIRST(&O.q)) != NULL && e->t < old) {
		if (e->cl != NULL)
			fail(e->cl, e->line, e->len);
		obfree(e);
		release();
	}
}

/* The client's connection closed: nothing to answer there. */
void
ob_gone(struct client *cl)
{
	struct obent	*e;

	TAILQ_FOREACH(e, &O.q, q)
		if (e->cl == cl)
			e->cl = NULL;
}
