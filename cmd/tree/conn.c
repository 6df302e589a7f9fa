/*
 * zk-tree's connections: hello, replies, the lines of zk-gate,
 * back-pressure and the shm ring that carries big values to zk-gate.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "tree.h"

struct peerq		 pending = TAILQ_HEAD_INITIALIZER(pending);
struct zkconn		*logc, *gatec, *sessc;
struct zkshm		 shm;	/* the ring for big values */
int			 gateshm;	/* gatec said hello shm=1 */
int			 ready, logclosed;
/* linearizable reads: the gate's lines wait until we applied this */
static int64_t		 gatewait;
static int64_t		 gatetold;	/* the gate saw us apply this */
static struct zkbuf	 tmp;
static struct zkline	 line, hline;

static void		 resume(struct zkconn *);

/* A reply line up to its err field. */
void
replyhead(struct zkbuf *o, const struct req *r, int64_t zxid)
{
	zkl_begin(o, "r");
	zkl_putx(o, "session", r->session);
	zkl_putd(o, "xid", r->xid);
	zkl_putx(o, "zxid", zxid);
}

/*
 * A txn's reply goes to the gate only on the node whose gate sent it
 * (via=); the others tell their gate how far they applied once a batch,
 * `applied` (STREAMS.md), for what its clients have seen.
 */
void
reply(struct zkconn *c, const struct req *r, int64_t zxid, int err,
    const struct zkbuf *fields)
{
	struct zkbuf	*o;

	if (c == NULL || !r->hasxid || r->away)
		return;
	if (c == gatec && zxid > gatetold)
		gatetold = zxid;
	o = &c->out;
	replyhead(o, r, zxid);
	zkl_putd(o, "err", err);
	if (err == 0 && fields != NULL)
		zkbuf_add(o, fields->p, fields->len);
	zkl_end(o);
}

/*
 * A connection of the gate went away: drop its session's watches and echo
 * the `gone` to the gate, which drops the session's events until then.
 */
static void
gone(struct zkconn *g, const struct zkline *l)
{
	int64_t	 sid = zkl_intdef(l, "session", 0);

	wdropsess(sid);
	zkl_begin(&g->out, "gone");
	zkl_putx(&g->out, "session", sid);
	zkl_end(&g->out);
}

static int
isbehind(const char *verb)
{
	int	 op = zk_opcode(verb);

	return zk_isreadop(op) || op == ZOP_SYNC;
}

/*
 * A read or sync on zk-log's stream, answered there, in its order: a
 * sync after all the leader committed, a read that the gate sent behind
 * a write of its session after that write (STREAMS.md, the FIFO rule).
 * A read of a session closed meanwhile is not run (it would set watches
 * nobody drops): the gate has nobody to answer.
 */
static void
behind(struct zkline *l)
{
	struct req	 r;
	struct fv	 top;
	int64_t		 sid;

	/* the session alone here: serve() parses the request */
	if (zk_opcode(l->verb) != ZOP_SYNC &&
	    (sid = zkl_intdef(l, "session", 0)) != 0 &&
	    sessfind(sid) == NULL) {
		reqinit(&r, l, &top);
		reply(gatec, &r, lastzxid, ZSESSIONEXPIRED, NULL);
		return;
	}
	serve(gatec, l);
}

/* A line from zk-gate: a read, sync, gone, stats or text. */
static void
gate_line(struct zkconn *c, struct zkline *l)
{
	if (strcmp(l->verb, "gone") == 0) {
		gone(c, l);
		return;
	}
	if (strcmp(l->verb, "stats") == 0) {
		stats(c);
		return;
	}
	if (strcmp(l->verb, "text") == 0) {
		text(c, zkl_str(l, "word"));
		return;
	}
	if (strcmp(l->verb, "hello") == 0)
		return;
	serve(c, l);
}

/* The first line of a connection: 1 to come back after `ready`. */
static int
hello(struct zkconn *c, struct peer *p, const char *s, size_t len)
{
	const char	*role;

	zkbuf_reset(&tmp);
	zkbuf_add(&tmp, s, len);
	zkbuf_addc(&tmp, '\0');
	bufcheck(&tmp);
	if (zkl_parse(&hline, tmp.p, len) == 0 &&
	    strcmp(hline.verb, "snapshot") == 0) {
		p->role = R_SNAP;
		snapreq(p);
		return 0;
	}
	if (strcmp(hline.verb, "hello") != 0 ||
	    (role = zkl_str(&hline, "role")) == NULL) {
		warnx("connection did not say hello");
		zkloop_kill(c);
		return 0;
	}
	if (strcmp(role, "log") == 0) {
		if (logc != NULL)
			warnx("second log connection");
		p->role = R_LOG;
		logc = c;
		/* zk-log replays only what comes after our snapshot; in an
		   ensemble, the members the snapshot holds (a SNAP may
		   bring a reconfig this node's log never had) */
		zkl_begin(&c->out, "loaded");
		zkl_putx(&c->out, "zxid", loadedzxid);
		if (cfg.nservers >= 2 && confignode != NULL &&
		    confignode->dlen > 0)
			zkl_put(&c->out, "config", confignode->data,
			    (size_t)confignode->dlen);
		zkl_end(&c->out);
		return 0;
	}
	if (strcmp(role, "shm") == 0) {		/* a gate asks for the ring */
		if (zkshm_send(&shm, c->fd) == -1)
			warn("sending the ring");
		zkloop_kill(c);
		return 0;
	}
	if (strcmp(role, "gate") != 0 && strcmp(role, "sessiond") != 0) {
		warnx("unknown role %s", role);
		zkloop_kill(c);
		return 0;
	}
	if (!ready)
		return 1;
	if (strcmp(role, "gate") == 0) {
		p->role = R_GATE;
		if (gatec != NULL && gatec != c)
			wdropall();
		gatec = c;
		gateshm = shm.map != NULL && zkl_intdef(&hline, "shm", 0) == 1;
		if (gateshm) {
			zkshm_reset(&shm);
			zkshm_setzxid(&shm, lastzxid);
		}
		zkl_begin(&c->out, "ready");
		zkl_putx(&c->out, "zxid", lastzxid);
		zkl_end(&c->out);
		gatetold = lastzxid;
	} else {
		p->role = R_SESSD;
		sessc = c;
		sendtable();
	}
	zk_dbg("hello from %s", role);
	return 0;
}

static void
conn_read(struct zkconn *c)
{
	struct peer	*p = c->arg;
	char		*s;
	size_t		 len;

	if (p->pending)
		return;
	while (!c->dead && zkl_next(&c->in, &s, &len)) {
		if (p->role == R_GATE && (ZKBUF_LEN(&c->out) > OUTMAX ||
		    gatewait > lastzxid)) {
			s[len] = '\n';		/* come back when it drained,
						   or once we applied that */
			zkloop_pause(c, 1);
			return;
		}
		if (p->role == R_NONE) {
			if (hello(c, p, s, len) == 1) {
				s[len] = '\n';
				zkloop_pause(c, 1);
				p->pending = 1;
				TAILQ_INSERT_TAIL(&pending, p, entry);
				return;
			}
			zkbuf_consume(&c->in, len + 1);
			continue;
		}
		zk_dbg("< %.*s", (int)(len > 200 ? 200 : len), s);
		if (zkl_parse(&line, s, len) == -1) {
			if (errno == ENOMEM)
				err(EX_OSERR, NULL);
			warnx("bad line ignored");
		} else if (strcmp(line.verb, "snapshot") == 0)
			snapreq(p);
		else if (p->role == R_LOG && strcmp(line.verb, "digest") == 0) {
			/* in an ensemble: the tree as of the txns before */
			zkl_begin(&c->out, "digest");
			zkl_putx(&c->out, "zxid", lastzxid);
			zkl_putx(&c->out, "value", (int64_t)treedigest());
			zkl_end(&c->out);
		} else if (p->role == R_LOG && isbehind(line.verb))
			behind(&line);
		else if (p->role == R_LOG)
			apply(&line);
		else if (p->role == R_GATE && strcmp(line.verb, "after") == 0)
			gatewait = zkl_intdef(&line, "zxid", 0);
		else if (p->role == R_GATE)
			gate_line(c, &line);
		zkbuf_consume(&c->in, len + 1);
	}
	if (c->dead || p->role != R_LOG || gatec == NULL)
		return;
	/* where we are once a batch, for the gate (txns of other nodes'
	   clients are not answered here): in the ring's header for a gate
	   that mapped it, which reads it when it needs it, else a line
	   unless our replies said it */
	if (gateshm)
		zkshm_setzxid(&shm, lastzxid);
	else if (lastzxid > gatetold) {
		zkl_begin(&gatec->out, "applied");
		zkl_putx(&gatec->out, "zxid", lastzxid);
		zkl_end(&gatec->out);
		gatetold = lastzxid;
	}
	/* the gate's linearizable reads that waited for these txns */
	if (gatewait != 0 && gatewait <= lastzxid) {
		gatewait = 0;
		resume(gatec);
	}
}

static void
conn_close(struct zkconn *c)
{
	struct peer	*p = c->arg;

	if (p->pending)
		TAILQ_REMOVE(&pending, p, entry);
	if (p->wantsnap)
		snapunwait(p);
	if (c == logc) {
		logc = NULL;
		logclosed = 1;
	}
	if (c == gatec) {
		gatec = NULL;
		gateshm = 0;
		wdropall();
	}
	if (c == sessc)
		sessc = NULL;
	free(p);
}

void
onaccept(struct zkloop *lp, int fd, void *arg)
{
	struct peer	*p;

	(void)arg;
	p = xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	if ((p->c = zkloop_conn(lp, fd, conn_read, conn_close, p)) == NULL) {
		warn("connection");
		close(fd);
		free(p);
	}
}

void
drain(void)
{
	struct peer	*p;

	while ((p = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, p, entry);
		p->pending = 0;
		zkloop_pause(p->c, 0);
		conn_read(p->c);
	}
}

/* A gate we stopped reading: go on once its replies drained. */
void
unblock(struct zkconn *c)
{
	if (zkbuf_flush(&c->out, c->fd) == -1) {
		zkloop_kill(c);
		return;
	}
	resume(c);
}

/* Read a paused gate again, unless its replies are still too many. */
static void
resume(struct zkconn *c)
{
	if (ZKBUF_LEN(&c->out) > OUTMAX)
		return;
	zkloop_pause(c, 0);
	conn_read(c);
}
