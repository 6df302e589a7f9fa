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

struct obent {
	TAILQ_ENTRY(obent) q;
	RB_ENTRY(obent)	 k;
	int64_t		 session, xid;
	int64_t		 t;		/* taken, zk_mono_ms */
	int		 sent, seen, sync;
	struct client	*cl;		/* NULL once it closed */
	size_t		 len;
	char		 line[];
};

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
	size_t		 n, bytes, nqueued;
} O = { TAILQ_HEAD_INITIALIZER(O.q), RB_INITIALIZER(&O.keys), 0, 0, 0 };

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

static void
obfree(struct obent *e)
{
	TAILQ_REMOVE(&O.q, e, q);
	RB_REMOVE(obtree, &O.keys, e);
	if (!e->sent)
		O.nqueued--;
	O.n--;
	O.bytes -= e->len;
	free(e);
}

/*
 * Take a write (or a sync) of client cl: queued, last.  -1: it has no
 * session and xid (the caller sends it as it is); -2: the outbox is full
 * or holds that key already (the caller refuses it).
 */
int
ob_add(struct client *cl, const char *line, size_t len, int sync)
{
	struct obent	*e;
	int64_t		 session, xid;

	if (obkey(line, len, &session, &xid) == -1)
		return -1;
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
	e->t = zk_mono_ms();
	e->sent = e->seen = 0;
	e->sync = sync;
	e->cl = cl;
	e->len = len;
	memcpy(e->line, line, len);
	TAILQ_INSERT_TAIL(&O.q, e, q);
	O.n++;
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

	TAILQ_FOREACH_SAFE(e, &O.q, q, t) {
		if (O.nqueued == 0)
			return;
		if (e->sent)
			continue;
		if ((r = send(e->line, e->len, e->sync)) == -1)
			return;
		e->sent = 1;
		O.nqueued--;
		if (r == 1)
			obfree(e);
	}
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

	if ((e = find(line, len)) != NULL && e->sent)
		obfree(e);
}

/* A txn is in the log, not yet committed (ob_resync). */
void
ob_seen(const char *line, size_t len)
{
	struct obent	*e;

	if ((e = find(line, len)) != NULL)
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
		if (e->sent && (!e->seen || e->sync)) {
			e->sent = 0;
			O.nqueued++;
		}
		e->seen = 0;
	}
}

/*
 * The node does not serve: entries taken before old are given up,
 * answered with fail(cl, line, len) if their client is still there.
 */
void
ob_expire(int64_t old, void (*fail)(struct client *, const char *, size_t))
{
	struct obent	*e;

	while ((e = TAILQ_FIRST(&O.q)) != NULL && e->t < old) {
		if (e->cl != NULL)
			fail(e->cl, e->line, e->len);
		obfree(e);
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
