/*
 * zk-gate's peers: the connections to zk-tree, zk-log and zk-sessiond,
 * and what their lines do (libzk/STREAMS.md).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "gate.h"

int			 ready;		/* zk-tree said ready */
static struct zkbuf	 splithead, splittail;	/* sendsplit's pieces */

static void	peer_read(struct zkconn *);
static void	peer_close(struct zkconn *);

struct zkconn *
peer(const char *rundir, const char *name, const char *hello)
{
	struct zkconn	*c;
	char		 path[PATH_MAX];
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", rundir, name) >=
	    sizeof(path))
		errx(EX_USAGE, "%s: run directory path too long", rundir);
	if ((fd = zk_connect_unix(path, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", path);
	if ((c = zkloop_conn(loop, fd, peer_read, peer_close, NULL)) == NULL)
		err(EX_OSERR, "%s", path);
	zkbuf_add(&c->out, hello, strlen(hello));
	return c;
}

/* zk-tree's `ready` and `applied`: the zxid it applied up to */
static void
zxidseen(const struct zkline *l)
{
	int64_t	 z;

	if (zkl_int(l, "zxid", &z) == 0 && z > lastzxid)
		lastzxid = z;
}

/*
 * The zxid zk-tree applied up to: the most its lines said, or its ring's
 * header, which it keeps current without a line (libzk/shm.c).
 */
int64_t
treezxid(void)
{
	int64_t	 z;

	if (zkrep_shm != NULL && (z = zkshm_zxid(zkrep_shm)) > lastzxid)
		lastzxid = z;
	return lastzxid;
}

static void
ready_line(const struct zkline *l)
{
	zxidseen(l);
	ready = 1;
}

static void
sess_new(const struct zkline *l)
{
	static struct zkbuf	 line;
	struct client	*cl;
	const char	*pw;
	int64_t		 id, sid, to;
	char		 hx[33];

	if (zkl_int(l, "conn", &id) == -1 || (cl = byconn((int)id)) == NULL ||
	    cl->state != C_HANDSHAKE)
		return;
	if (zkl_int(l, "session", &sid) == -1 || sid == 0 ||
	    (pw = zkl_str(l, "passwd")) == NULL ||
	    zk_hexdec(cl->passwd, 16, pw) == -1 ||
	    zkl_int(l, "timeout", &to) == -1) {
		warnx("zk-sessiond: bad new line");
		invalid_session(cl);
		return;
	}
	cl->timeout = (int)to;
	bind_session(cl, sid);
	zk_hexenc(hx, cl->passwd, 16);
	zkbuf_reset(&line);
	zkl_begin(&line, "createSession");
	zkl_putx(&line, "session", sid);
	zkl_putd(&line, "xid", 0);
	zkl_putd(&line, "timeout", to);
	zkl_puts(&line, "passwd", hx);
	if (cfg.nservers > 0)		/* only our zk-tree answers it */
		zkl_putd(&line, "via", cfg.myid);
	zkl_end(&line);
	putline(zlog, ZKBUF_DATA(&line), ZKBUF_LEN(&line));
}

static void
sess_attach(const struct zkline *l)
{
	struct client	*cl;
	int64_t		 id, to;

	if (zkl_int(l, "conn", &id) == -1 || (cl = byconn((int)id)) == NULL ||
	    cl->state != C_HANDSHAKE)
		return;
	if (zkl_intdef(l, "ok", 0) != 1 || zkl_int(l, "timeout", &to) == -1) {
		invalid_session(cl);
		return;
	}
	cl->timeout = (int)to;
	bind_session(cl, cl->session);
	/*
	 * In an ensemble the leader learns that the session is here now
	 * (SessionMoved, zk-log's owner.c): on the connection that carries
	 * the session's writes, so ahead of every one of them.
	 */
	if (cfg.nservers > 0 && zlog != NULL && !cl->ro) {
		struct zkbuf	 t = { 0 };

		zkl_begin(&t, "touch");
		zkl_putx(&t, "session", cl->session);
		zkl_putd(&t, "attach", 1);
		zkl_end(&t);
		if (t.err)
			errc(EX_OSERR, t.err, "touch");
		putline(zlog, ZKBUF_DATA(&t), ZKBUF_LEN(&t));
		zkbuf_free(&t);
	}
	connect_response(cl);
}

/*
 * Write a reply split by zkrep_split to an idle client: head, the value
 * from zk-tree's ring, tail, with one writev(2).  What the socket does
 * not take now goes to the output, as any reply; so does everything on
 * an error, which the loop's own write then meets.
 */
static void
sendsplit(struct client *cl, const char *val, size_t vlen)
{
	struct iovec	 iov[3];
	size_t		 i, k, n;
	ssize_t		 w;

	iov[0].iov_base = splithead.p;
	iov[0].iov_len = ZKBUF_LEN(&splithead);
	iov[1].iov_base = (void *)(uintptr_t)val;
	iov[1].iov_len = vlen;
	iov[2].iov_base = splittail.p;
	iov[2].iov_len = ZKBUF_LEN(&splittail);
	while ((w = writev(cl->c->fd, iov, 3)) == -1 && errno == EINTR)
		;
	n = w == -1 ? 0 : (size_t)w;
	for (i = 0; i < 3; i++) {
		k = n < iov[i].iov_len ? n : iov[i].iov_len;
		zkbuf_add(&cl->c->out, (char *)iov[i].iov_base + k,
		    iov[i].iov_len - k);
		n -= k;
	}
}

static void
tree_r(const struct zkline *l)
{
	struct client	*cl;
	struct pend	*p;
	struct zkbuf	*o;
	const char	*val;
	size_t		 at, vlen, before, size;
	int64_t		 sid, xid, z = lastzxid, err;

	if (zkl_int(l, "zxid", &z) == 0 && z > lastzxid)
		lastzxid = z;
	if (zkl_int(l, "session", &sid) == -1 ||
	    zkl_int(l, "xid", &xid) == -1 || leftreply(sid) ||
	    (cl = bysession(sid)) == NULL || cl->c->dead)
		return;
	if (cl->state == C_HANDSHAKE) {		/* createSession committed */
		if (xid != 0)
			return;
		if (zkl_int(l, "err", &err) == -1 || err != 0)
			invalid_session(cl);
		else
			connect_response(cl);
		return;
	}
	TAILQ_FOREACH(p, &cl->pq, entry)
		if (p->sent && !p->done && p->xid == (int32_t)xid)
			break;
	if (p == NULL) {
		zk_dbg("session 0x%" PRIx64 ": no request xid %" PRId64, sid,
		    xid);
		return;
	}
	/* the reply next in line goes straight to the output: a big
	 * getData is copied once, or not at all when it can go from the
	 * ring to the socket now */
	p->direct = p == TAILQ_FIRST(&cl->pq);
	o = p->direct ? &cl->c->out : &p->frame;
	before = ZKBUF_LEN(o);
	if (p->direct && p->type == ZOP_GETDATA && ZKBUF_LEN(o) == 0 &&
	    zkrep_split(l, &splithead, &val, &vlen, &splittail) == 0) {
		sendsplit(cl, val, vlen);
		size = ZKBUF_LEN(&splithead) + vlen + ZKBUF_LEN(&splittail);
	} else {
		if (zkrep_encode(o, l, p->type) == -1) {
			warnx("zk-tree: bad reply for %s xid %" PRId64,
			    zk_opname(p->type), xid);
			if (o->err)
				errx(EX_OSERR, "out of memory");
			at = jw_frame_begin(o);
			jw_int(o, (int32_t)xid);
			jw_long(o, treezxid());
			jw_int(o, -1);		/* ZSYSTEMERROR */
			jw_frame_end(o, at);
		}
		size = ZKBUF_LEN(o) - before;
	}
	p->done = 1;
	if (p->vialog)
		cl->nlog--;
	else
		cl->ntree--;
	if (p->kind == K_READ) {
		if (p->vialog)
			cl->nrlog--;
		replied(cl, size);	/* its size, sent or not */
	}
	cl->lzxid = z;
	if (p->type == ZOP_CLOSESESSION)
		p->closeafter = 1;
	flushreplies(cl);
	if (!cl->c->dead && !overflow(cl))
		dispatch(cl);
}

static void
tree_ev(const struct zkline *l)
{
	struct client		*cl;
	const struct zkfield	*path;
	int64_t			 sid, type;
	size_t			 at;

	if (zkl_int(l, "session", &sid) == -1 ||
	    zkl_int(l, "type", &type) == -1 ||
	    (path = zkl_get(l, "path")) == NULL ||
	    (cl = bysession(sid)) == NULL || cl->c->dead ||
	    cl->state != C_OPEN || oldevents(sid))
		return;
	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, -1);
	jw_long(&cl->c->out, -1);
	jw_int(&cl->c->out, 0);
	jw_int(&cl->c->out, (int32_t)type);
	jw_int(&cl->c->out, 3);
	jw_buf(&cl->c->out, path->val, (int32_t)path->len);
	jw_frame_end(&cl->c->out, at);
	st.sent++;
	cl->sent++;
	(void)overflow(cl);	/* a client that reads no events */
}

static void
tree_closed(const struct zkline *l)
{
	struct client	*cl;
	struct pend	*p;
	int64_t		 sid;

	if (zkl_int(l, "session", &sid) == -1)
		return;
	forget(sid);		/* nobody can take the session over now */
	if ((cl = bysession(sid)) == NULL || cl->c->dead || cl->c->closing)
		return;
	TAILQ_FOREACH(p, &cl->pq, entry)
		if (p->type == ZOP_CLOSESESSION && p->sent && !p->done) {
			cl->expired = 1;	/* its reply comes next */
			return;
		}
	zk_dbg("session 0x%" PRIx64 " closed", sid);
	cl->closing = 1;
	zkloop_kill(cl->c);
}

static void
peer_line(struct zkconn *c, char *s, size_t n)
{
	struct zkline	 l;
	char		*copy = NULL;

	memset(&l, 0, sizeof(l));
	if ((strncmp(s, "text ", 5) == 0 || strncmp(s, "stats", 5) == 0)) {
		if ((copy = malloc(n + 1)) == NULL)
			err(EX_OSERR, NULL);
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	if (zkl_parse(&l, s, n) == -1) {
		warnx("%s: bad line", c == tree ? "zk-tree" : c == zlog ?
		    "zk-log" : "zk-sessiond");
		goto out;
	}
	if (c == tree) {
		if (strcmp(l.verb, "r") == 0)
			tree_r(&l);
		else if (strcmp(l.verb, "ev") == 0)
			tree_ev(&l);
		else if (strcmp(l.verb, "closed") == 0)
			tree_closed(&l);
		else if (strcmp(l.verb, "gone") == 0)
			goneback(zkl_intdef(&l, "session", 0));
		else if (strcmp(l.verb, "ready") == 0)
			ready_line(&l);
		else if (strcmp(l.verb, "applied") == 0)
			zxidseen(&l);
		else if (strcmp(l.verb, "stats") == 0 ||
		    strcmp(l.verb, "text") == 0) {
			w4keep(&l, copy, n);
			w4answer(&treeq, &l);
		}
	} else if (c == sess) {
		if (strcmp(l.verb, "new") == 0)
			sess_new(&l);
		else if (strcmp(l.verb, "attach") == 0)
			sess_attach(&l);
		else if (strcmp(l.verb, "text") == 0) {
			w4keep(&l, copy, n);
			w4answer(&sessq, &l);
		}
	} else if (c == zlog) {
		if (strcmp(l.verb, "fail") == 0)	/* a write not stored */
			tree_r(&l);
		else if (strcmp(l.verb, "fsyncstats") == 0)
			fsyncstats(&l);
		else if (strcmp(l.verb, "propsizes") == 0)
			propsizes(&l);
		else if (strcmp(l.verb, "mode") == 0)
			ens_mode(&l);
		else if (strcmp(l.verb, "readindex") == 0)
			lin_answer(&l);
		else if (strcmp(l.verb, "text") == 0) {	/* handoff's */
			w4keep(&l, copy, n);
			w4answer(&logq, &l);
		}
	}
	if (c == tree && zkrep_shm != NULL && strcmp(l.verb, "r") == 0) {
		const struct zkfield	*f;
		uint64_t		 pos, len;

		/* whatever became of the reply, its region is free */
		if ((f = zkl_get(&l, "shm")) != NULL &&
		    zkshm_parse(f->val, &pos, &len) == 0)
			zkshm_release(zkrep_shm, pos + len);
	}
out:
	free(copy);
	zkl_free(&l);
}

static void
peer_read(struct zkconn *c)
{
	char	*s;
	size_t	 n;

	while (zkl_next(&c->in, &s, &n) == 1) {
		peer_line(c, s, n);
		zkbuf_consume(&c->in, n + 1);
	}
}

static void
peer_close(struct zkconn *c)
{
	errx(EX_TEMPFAIL, "%s closed the connection", c == tree ?
	    "zk-tree" : c == zlog ? "zk-log" : "zk-sessiond");
}
