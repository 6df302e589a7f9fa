/*
 * zk-tree's session table and its stream to zk-sessiond.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "tree.h"

struct sesstree		 sessions = RB_INITIALIZER(&sessions);
size_t			 nsess;

static int
sesscmp(struct sess *a, struct sess *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_GENERATE(sesstree, sess, entry, sesscmp)

struct sess *
sessfind(int64_t id)
{
	struct sess	 k;

	k.id = id;
	return RB_FIND(sesstree, &sessions, &k);
}

static void
sendsess(const struct sess *s)
{
	struct zkbuf	*o;

	if (sessc == NULL)
		return;
	o = &sessc->out;
	zkl_begin(o, "sess");
	zkl_putx(o, "session", s->id);
	zkl_putd(o, "timeout", s->timeout);
	zkl_puts(o, "passwd", s->passwd);
	zkl_end(o);
}

void
closesess(struct sess *s, int64_t zxid)
{
	struct node	*n;

	while ((n = LIST_FIRST(&s->eph)) != NULL)
		delnode(n, zxid);
	commit();
	fire();
	RB_REMOVE(sesstree, &sessions, s);
	nsess--;
	if (sessc != NULL) {
		zkl_begin(&sessc->out, "unsess");
		zkl_putx(&sessc->out, "session", s->id);
		zkl_end(&sessc->out);
	}
	wdropsess(s->id);
	free(s->passwd);
	free(s);
}

void
op_createsession(const struct req *r, const struct fv *top)
{
	struct sess	*s;
	const char	*pw;

	if ((pw = zkf_str(top->f, top->n, "passwd")) == NULL)
		pw = "";
	if ((s = r->s) == NULL) {
		s = xmalloc(sizeof(*s));
		memset(s, 0, sizeof(*s));
		s->id = r->session;
		LIST_INIT(&s->eph);
		RB_INSERT(sesstree, &sessions, s);
		nsess++;
	} else
		free(s->passwd);
	if ((s->passwd = strdup(pw)) == NULL)
		err(EX_OSERR, NULL);
	s->timeout = zkf_intdef(top->f, top->n, "timeout", 0);
	sendsess(s);
	reply(gatec, r, r->zxid, 0, NULL);
}

void
sendtable(void)
{
	struct sess	*s;

	RB_FOREACH(s, sesstree, &sessions)
		sendsess(s);
	zkl_begin(&sessc->out, "ready");
	zkl_end(&sessc->out);
}
