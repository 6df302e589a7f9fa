/*
 * The leader's record of which server each session is attached to, for
 * SessionMoved as Apache returns it: a write that reaches the leader
 * from a server the session has left (its client reconnected elsewhere,
 * the old connection still sends) is refused with -118, the decision
 * carried in the txn (` err=-118`) so that every node answers it alike.
 *
 * A session is attached where it was created, then where its client
 * last reconnected: the gate says `touch session=0x.. attach=1` on every
 * successful attach, on the connection that carries the session's writes
 * (so ahead of them), and a learner's zk-log sends it on to the leader.  The record lives in the leader's memory only, as Apache's
 * does; a new leader starts without one and learns it again.
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

struct owner {
	int64_t		 sid;
	int		 id;		/* the server's myid */
	RB_ENTRY(owner)	 entry;
};

static int
ownercmp(const struct owner *a, const struct owner *b)
{
	return (a->sid > b->sid) - (a->sid < b->sid);
}

RB_HEAD(ownertree, owner);
RB_PROTOTYPE(ownertree, owner, entry, ownercmp)
RB_GENERATE(ownertree, owner, entry, ownercmp)

static struct ownertree	 owners = RB_INITIALIZER(&owners);

void
owner_set(int64_t sid, int id)
{
	struct owner	 k, *o;

	k.sid = sid;
	if ((o = RB_FIND(ownertree, &owners, &k)) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			err(EX_OSERR, NULL);
		o->sid = sid;
		RB_INSERT(ownertree, &owners, o);
	}
	o->id = id;
}

void
owner_drop(int64_t sid)
{
	struct owner	 k, *o;

	k.sid = sid;
	if ((o = RB_FIND(ownertree, &owners, &k)) != NULL) {
		RB_REMOVE(ownertree, &owners, o);
		free(o);
	}
}

void
owner_clear(void)
{
	struct owner	*o;

	while ((o = RB_ROOT(&owners)) != NULL) {
		RB_REMOVE(ownertree, &owners, o);
		free(o);
	}
}

/* 1: the session is known to be attached to another server than from */
int
owner_moved(int64_t sid, int from)
{
	struct owner	 k, *o;

	k.sid = sid;
	return (o = RB_FIND(ownertree, &owners, &k)) != NULL && o->id != from;
}

/* A touch line from server from: with attach=1 its session is there. */
void
owner_touch(const char *line, size_t len, int from)
{
	const char	*v;
	size_t		 n;
	int64_t		 sid;

	if ((v = field(line, len, "attach", &n)) != NULL && n == 1 &&
	    *v == '1' && (sid = owner_session(line, len)) != 0)
		owner_set(sid, from);
}

/* The session of a request line, or 0. */
int64_t
owner_session(const char *line, size_t len)
{
	const char	*v;
	char		 buf[32];
	size_t		 n;
	int64_t		 sid;

	if ((v = field(line, len, "session", &n)) == NULL || n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return zkl_parseint(buf, &sid) == 0 ? sid : 0;
}
