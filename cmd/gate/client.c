/*
 * zk-gate's clients: accepting connections, the handshake, requests of
 * a session sent on in order (the FIFO rule, see cango), their replies
 * written in order, back-pressure, and what a closed connection leaves
 * for the one that takes its session over.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "gate.h"

#define MAXPENDING	1000	/* stop reading a connection past this */
#define MAXPASSWD	64
#define REPGUESS	(256 << 10) /* a read's reply before any is seen */

enum { L_REPLIES, L_ECHO, L_LATER };	/* leftof: a leftover with... */
enum { G_SENT = 1, G_LATER };		/* leave: its `gone` */
struct leftover;
static struct leftover	*leftof(int64_t, int);
static void		 leave(int64_t, int, int);
static void		 gone(int64_t);

static int
cmpid(struct client *a, struct client *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
cmpsess(struct client *a, struct client *b)
{
	return a->session < b->session ? -1 : a->session > b->session;
}

RB_HEAD(idtree, client);
RB_HEAD(sesstree, client);
RB_PROTOTYPE(idtree, client, byid, cmpid)
RB_PROTOTYPE(sesstree, client, bysess, cmpsess)
RB_GENERATE(idtree, client, byid, cmpid)
RB_GENERATE(sesstree, client, bysess, cmpsess)

/* connections open from one address, for maxClientCnxns */
struct addrcount {
	RB_ENTRY(addrcount) entry;
	int		 n;
	char		 ip[INET6_ADDRSTRLEN];
};

static int
cmpaddr(struct addrcount *a, struct addrcount *b)
{
	return strcmp(a->ip, b->ip);
}

RB_HEAD(addrtree, addrcount);
RB_PROTOTYPE(addrtree, addrcount, entry, cmpaddr)
RB_GENERATE(addrtree, addrcount, entry, cmpaddr)

struct clientq		 clients = TAILQ_HEAD_INITIALIZER(clients);
struct clientq		 stalled = TAILQ_HEAD_INITIALIZER(stalled);
int			 nclients;
static struct clientq	 graveyard = TAILQ_HEAD_INITIALIZER(graveyard);
static struct idtree	 byid = RB_INITIALIZER(&byid);
static struct sesstree	 bysess = RB_INITIALIZER(&bysess);
static struct addrtree	 byaddr = RB_INITIALIZER(&byaddr);
static struct pendq	 freepend = TAILQ_HEAD_INITIALIZER(freepend);
static int		 nextid = 1;
static struct zkbuf	 scratch;	/* request and handshake lines */

static void	client_read(struct zkconn *);
static void	client_close(struct zkconn *);
static void	process(struct client *);
static void	leave(int64_t, int, int);

struct client *
byconn(int id)
{
	struct client	 key;

	key.id = id;
	return RB_FIND(idtree, &byid, &key);
}

struct client *
bysession(int64_t session)
{
	struct client	 key;

	key.session = session;
	return RB_FIND(sesstree, &bysess, &key);
}

static void
latency(struct client *cl, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (st.nlat == 0 || ms < st.minlat)
		st.minlat = ms;
	if (ms > st.maxlat)
		st.maxlat = ms;
	st.totlat += ms;
	st.nlat++;
	if (cl->nlat == 0 || ms < cl->minlat)
		cl->minlat = ms;
	if (ms > cl->maxlat)
		cl->maxlat = ms;
	cl->totlat += ms;
	cl->nlat++;
	cl->llat = ms;
}

void
invalid_session(struct client *cl)
{
	size_t	 at;
	char	 zero[16];

	memset(zero, 0, sizeof(zero));
	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, 0);
	jw_int(&cl->c->out, 0);
	jw_long(&cl->c->out, 0);
	jw_buf(&cl->c->out, zero, 16);
	if (!cl->oldclient)
		jw_bool(&cl->c->out, 0);
	jw_frame_end(&cl->c->out, at);
	cl->closing = 1;
	zkloop_close(cl->c);
}

/* The ConnectResponse of a session now set up: the connection is open. */
static void
connect_reply(struct client *cl)
{
	size_t	 at;

	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, 0);
	jw_int(&cl->c->out, cl->timeout);
	jw_long(&cl->c->out, cl->session);
	jw_buf(&cl->c->out, cl->passwd, 16);
	if (!cl->oldclient)
		jw_bool(&cl->c->out, cl->ro);
	jw_frame_end(&cl->c->out, at);
	cl->state = C_OPEN;
	cl->est = zk_now_ms();
	cl->heard = zk_mono_ms();
	cl->touched = 1;
	st.sent++;
	cl->sent++;
}

void
connect_response(struct client *cl)
{
	connect_reply(cl);
	zkloop_pause(cl->c, 0);
	process(cl);		/* requests pipelined behind the handshake */
}

/* bind a session to this connection */
void
bind_session(struct client *cl, int64_t session)
{
	struct client	*o;

	cl->session = session;
	/*
	 * Two handshakes for one session at once: the last wins, and the
	 * other goes as any replaced connection does (client_close unbinds
	 * it and leaves its `gone` and replies due behind, see forward).
	 */
	if ((o = bysession(session)) != NULL && o != cl)
		zkloop_kill(o->c);
	RB_INSERT(sesstree, &bysess, cl);
}

void
onaccept(struct zkloop *lp, int fd, void *arg)
{
	const struct sockaddr	*sa;
	socklen_t		 sl;
	struct client		*cl;
	struct addrcount	 key, *ac;
	char			 ip[INET6_ADDRSTRLEN];
	int			 port = 0;

	(void)arg;
	ip[0] = '\0';
	sa = zkloop_peer(lp, &sl);	/* what accept4 said: no getpeername */
	if (sl >= sizeof(sa_family_t)) {
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *sin =
			    (const struct sockaddr_in *)sa;

			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 =
			    (const struct sockaddr_in6 *)sa;

			if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
				inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12],
				    ip, sizeof(ip));
			else
				inet_ntop(AF_INET6, &s6->sin6_addr, ip,
				    sizeof(ip));
			port = ntohs(s6->sin6_port);
		}
	}
	strlcpy(key.ip, ip, sizeof(key.ip));
	if ((ac = RB_FIND(addrtree, &byaddr, &key)) != NULL &&
	    cfg.maxClientCnxns > 0 && ac->n >= cfg.maxClientCnxns) {
		warnx("too many connections from %s, max is %d", ip,
		    cfg.maxClientCnxns);
		close(fd);
		return;
	}
	if (ac == NULL && (ac = calloc(1, sizeof(*ac))) != NULL) {
		strlcpy(ac->ip, ip, sizeof(ac->ip));
		RB_INSERT(addrtree, &byaddr, ac);
	}
	if (ac == NULL || (cl = calloc(1, sizeof(*cl))) == NULL) {
		warn("accept");
		close(fd);
		return;
	}
	if ((cl->c = zkloop_conn(lp, fd, client_read, client_close, cl)) ==
	    NULL) {
		warn("accept");
		free(cl);
		close(fd);
		if (ac->n == 0) {
			RB_REMOVE(addrtree, &byaddr, ac);
			free(ac);
		}
		return;
	}
	cl->c->linger = 1;	/* our closes end cleanly (loop.c) */
	ac->n++;
	strlcpy(cl->ip, ip, sizeof(cl->ip));
	cl->port = port;
	cl->id = nextid++;
	cl->born = zk_mono_ms();
	cl->lop = "NA";
	cl->repsize = REPGUESS;
	TAILQ_INIT(&cl->pq);
	{
		char	 esc[4 * INET6_ADDRSTRLEN + 1];

		zkl_escape(esc, ip, strlen(ip));
		zkbuf_printf(&cl->auth, " auth=ip:%s", esc);
	}
	zkbuf_add(&cl->ids, "ip", 3);
	zkbuf_add(&cl->ids, ip, strlen(ip) + 1);
	RB_INSERT(idtree, &byid, cl);
	TAILQ_INSERT_TAIL(&clients, cl, all);
	nclients++;
}

static void
pend_free(struct pend *p)
{
	zkbuf_reset(&p->line);
	zkbuf_reset(&p->frame);
	TAILQ_INSERT_HEAD(&freepend, p, entry);
}

static void
client_close(struct zkconn *c)
{
	struct client	*cl = c->arg;
	struct pend	*p;
	struct addrcount key, *ac;
	int		 n, gonesent = 0;

	if (cl->session != 0 && bysession(cl->session) == cl) {
		RB_REMOVE(sesstree, &bysess, cl);
		/* after its reads, which may set watches: those it sent
		   behind writes once their replies are in (leftreply); none
		   if an older connection's `gone` waits so (this one sent
		   nothing, see cango) */
		if (cl->nrlog > 0)
			gonesent = G_LATER;
		else if (leftof(cl->session, L_LATER) == NULL) {
			gonesent = G_SENT;
			gone(cl->session);
		}
	}
	auth_forget(cl);
	n = 0;
	while ((p = TAILQ_FIRST(&cl->pq)) != NULL) {
		TAILQ_REMOVE(&cl->pq, p, entry);
		if (p->sent && !p->done)
			n++;
		pend_free(p);
	}
	if (cl->session != 0)
		leave(cl->session, n, gonesent);
	cl->unsent = NULL;
	strlcpy(key.ip, cl->ip, sizeof(key.ip));
	if ((ac = RB_FIND(addrtree, &byaddr, &key)) != NULL && --ac->n == 0) {
		RB_REMOVE(addrtree, &byaddr, ac);
		free(ac);
	}
	if (cl->isstalled)
		TAILQ_REMOVE(&stalled, cl, stalled);
	cl->isstalled = 0;
	if (cl->held)
		nheld--;
	cl->held = 0;
	RB_REMOVE(idtree, &byid, cl);
	TAILQ_REMOVE(&clients, cl, all);
	nclients--;
	zkbuf_free(&cl->auth);
	zkbuf_free(&cl->ids);
	zkbuf_free(&cl->w4);
	if (cl->sasl != NULL) {
		explicit_bzero(cl->sasl, sizeof(*cl->sasl));
		free(cl->sasl);
		cl->sasl = NULL;
	}
	cl->c = c;		/* still valid until the loop reaps it */
	TAILQ_INSERT_TAIL(&graveyard, cl, all);
	c->arg = NULL;
}

/* free the clients whose connections the loop's last pass closed */
void
client_reap(void)
{
	struct client	*cl;

	while ((cl = TAILQ_FIRST(&graveyard)) != NULL) {
		TAILQ_REMOVE(&graveyard, cl, all);
		free(cl);
	}
}

static struct pend *
pend_new(struct client *cl, int32_t xid, int32_t type, int kind)
{
	struct pend	*p;

	if ((p = TAILQ_FIRST(&freepend)) != NULL)
		TAILQ_REMOVE(&freepend, p, entry);
	else if ((p = calloc(1, sizeof(*p))) == NULL)
		err(EX_OSERR, NULL);
	p->xid = xid;
	p->type = type;
	p->kind = kind;
	p->sent = p->done = p->patchzxid = p->closeafter = p->vialog = 0;
	p->direct = 0;
	p->born = zk_mono_ms();
	TAILQ_INSERT_TAIL(&cl->pq, p, entry);
	cl->npend++;
	return p;
}

/* a reply of just a header (plus body bytes), zxid set at flush */
struct pend *
local_reply(struct client *cl, int32_t xid, int32_t type, int32_t errc,
    const void *body, size_t blen)
{
	struct pend	*p = pend_new(cl, xid, type, K_LOCAL);
	size_t		 at;

	at = jw_frame_begin(&p->frame);
	jw_int(&p->frame, xid);
	jw_long(&p->frame, 0);
	jw_int(&p->frame, errc);
	zkbuf_add(&p->frame, body, blen);
	jw_frame_end(&p->frame, at);
	p->done = 1;
	p->patchzxid = 1;
	return p;
}

/* Stop reading an open client until its replies drain (housekeeping). */
static void
stall(struct client *cl)
{
	zkloop_pause(cl->c, 1);
	if (!cl->isstalled && cl->state == C_OPEN && !cl->is4lw) {
		TAILQ_INSERT_TAIL(&stalled, cl, stalled);
		cl->isstalled = 1;
	}
}

/* write the replies at the head of the queue that are ready */
void
flushreplies(struct client *cl)
{
	struct pend	*p;
	int64_t		 now = zk_mono_ms(), zxid;
	unsigned char	*z;
	int		 i;

	while ((p = TAILQ_FIRST(&cl->pq)) != NULL && p->done) {
		TAILQ_REMOVE(&cl->pq, p, entry);
		cl->npend--;
		if (p->patchzxid && !p->frame.err && p->frame.len >= 20) {
			zxid = treezxid();
			z = (unsigned char *)p->frame.p + 8;
			for (i = 0; i < 8; i++)
				z[i] = (unsigned char)((uint64_t)zxid >>
				    (56 - 8 * i));
		}
		if (p->frame.err)
			errx(EX_OSERR, "out of memory");
		if (!p->direct)
			zkbuf_add(&cl->c->out, ZKBUF_DATA(&p->frame),
			    ZKBUF_LEN(&p->frame));
		st.sent++;
		cl->sent++;
		cl->lresp = now;
		latency(cl, now - p->born);
		if (p->kind == K_READ) {
			lat.rsum += now - p->born;
			lat.rn++;
		} else if (p->kind == K_WRITE) {
			lat.usum += now - p->born;
			lat.un++;
		}
		if (p->closeafter) {
			cl->closing = 1;
			zkloop_close(cl->c);
			pend_free(p);
			while ((p = TAILQ_FIRST(&cl->pq)) != NULL) {
				TAILQ_REMOVE(&cl->pq, p, entry);
				cl->npend--;
				pend_free(p);
			}
			cl->unsent = NULL;
			return;
		}
		pend_free(p);
	}
	/* a graceful stop (main.c's drain): the reply that leaves the
	   connection with nothing to answer goes out with our FIN, so that
	   the client sees the close before it sends again */
	if (draining && cl->npend == 0 && ZKBUF_LEN(&cl->c->in) == 0 &&
	    !cl->closing && !cl->is4lw) {
		zk_dbg("draining: session 0x%" PRIx64 " closed with its reply",
		    cl->session);
		cl->closing = 1;
		zkloop_close(cl->c);
	}
	if ((long long)ZKBUF_LEN(&cl->c->out) > cfg.clientOutputLimit) {
		stall(cl);	/* the client does not read its replies */
		return;
	}
	if (cl->npend < MAXPENDING / 2 && cl->state == C_OPEN && !cl->closing &&
	    !cl->is4lw && cl->c->noread) {
		zkloop_pause(cl->c, 0);
		process(cl);
	}
}

/*
 * What a connection that went away leaves behind, for the connection that
 * takes its session over: replies still to come, which must not reach the
 * new connection (kazoo starts its xids at 1 again, so they could match
 * its requests), so the new one sends nothing until they are in (see
 * cango); and, until zk-tree echoes its `gone`, the events of the old
 * connection's watches, which are dropped as Apache drops those of a
 * closed connection (the new one sets its own watches again, with
 * setWatches).
 */
struct leftover {
	TAILQ_ENTRY(leftover) entry;
	int64_t		 session;
	int		 nreplies;	/* to drop */
	int		 echo;		/* `gone` not yet echoed: drop events */
	int		 later;		/* `gone` goes once nreplies is 0 */
};
static TAILQ_HEAD(, leftover) leftovers = TAILQ_HEAD_INITIALIZER(leftovers);

/* `gone` to zk-tree (behind the reads held for a read index) */
static void
gone(int64_t session)
{
	char	 line[64];

	snprintf(line, sizeof(line), "gone session=0x%" PRIx64 "\n", session);
	lin_tree(line, strlen(line));
}

/* Leftovers of closed connections: one until its `gone` is echoed, a few
 * at a time.  how: G_SENT, G_LATER (sent with its last reply in), or 0. */
static void
leave(int64_t session, int nreplies, int how)
{
	struct leftover	*lo;

	if (nreplies == 0 && how == 0)
		return;
	if ((lo = malloc(sizeof(*lo))) == NULL)
		err(EX_OSERR, NULL);
	lo->session = session;
	lo->nreplies = nreplies;
	lo->echo = how != 0;
	lo->later = how == G_LATER;
	TAILQ_INSERT_TAIL(&leftovers, lo, entry);
}

/* The oldest leftover of session with replies due, or its `gone` not yet
 * echoed. */
static struct leftover *
leftof(int64_t session, int what)
{
	struct leftover	*lo;

	TAILQ_FOREACH(lo, &leftovers, entry) {
		if (lo->session != session)
			continue;
		if ((what == L_REPLIES && lo->nreplies > 0) ||
		    (what == L_ECHO && lo->echo) ||
		    (what == L_LATER && lo->later))
			return lo;
	}
	return NULL;
}

static void
unleave(struct leftover *lo)
{
	if (lo->nreplies == 0 && !lo->echo) {
		TAILQ_REMOVE(&leftovers, lo, entry);
		free(lo);
	}
}

/*
 * 1 when a reply of session is one a closed connection still had coming.
 * Once the last is in, the connection that took the session over may
 * send what it held.
 */
int
leftreply(int64_t session)
{
	struct leftover	*lo;
	struct client	*cl;

	if ((lo = leftof(session, L_REPLIES)) == NULL)
		return 0;
	if (--lo->nreplies == 0 && lo->later) {
		lo->later = 0;
		gone(session);
	}
	unleave(lo);
	if (leftof(session, L_REPLIES) == NULL &&
	    (cl = bysession(session)) != NULL && !cl->c->dead)
		dispatch(cl);
	return 1;
}

/* zk-tree echoed a `gone` of session: its `gone`s come back in order */
void
goneback(int64_t session)
{
	struct leftover	*lo;

	if ((lo = leftof(session, L_ECHO)) != NULL) {
		lo->echo = 0;
		unleave(lo);
	}
}

/* 1 while events of session are still those of a connection gone */
int
oldevents(int64_t session)
{
	return leftof(session, L_ECHO) != NULL;
}

void
forget(int64_t session)
{
	struct leftover	*lo, *t;

	TAILQ_FOREACH_SAFE(lo, &leftovers, entry, t)
		if (lo->session == session) {
			TAILQ_REMOVE(&leftovers, lo, entry);
			free(lo);
		}
}

/*
 * The FIFO rule.  A session's outstanding requests are all reads at
 * zk-tree, or all on their way through zk-log (writes, and reads sent
 * behind them), never some of each, so that zk-tree runs them in the
 * order the session sent them.  A write waits until the session's reads
 * at zk-tree are answered; a read goes straight to zk-tree while the
 * session has nothing in zk-log, else to zk-log too, which puts it into
 * zk-tree's stream after the session's writes before it (as Apache's
 * commit processor holds it), so that a session's writes go on
 * pipelined past its reads.  With linearizableReads a read waits
 * instead until the session's writes are answered (its read index is
 * asked once it may go).  A connection that takes over a session sends
 * nothing until the replies its old connection had coming are in.
 */
static int
cango(struct client *cl, int kind)
{
	int	 nread = cl->ntree + cl->nrlog;

	if (kind == K_READ ? cl->nlog > 0 && lin_on() : cl->ntree > 0)
		return 0;
	if (kind == K_READ && ((long long)ZKBUF_LEN(&cl->c->out) >
	    cfg.clientOutputLimit || (nread > 0 &&
	    (long long)ZKBUF_LEN(&cl->c->out) + (nread + 1) * cl->repsize >
	    cfg.clientOutputLimit))) {
		if (!cl->held) {	/* until its output drains */
			cl->held = 1;
			nheld++;
			stall(cl);
		}
		return 0;
	}
	if (kind == K_READ && cl->held) {
		cl->held = 0;
		nheld--;
	}
	return cl->session == 0 || leftof(cl->session, L_REPLIES) == NULL;
}

/*
 * The output a connection may make the gate hold is bounded
 * (clientOutputLimit, clientOutputMax in zoo.cfg).  A read's reply size
 * is known only once zk-tree answers, so each connection keeps an
 * estimate, repsize: the largest of its recent replies, decaying by an
 * eighth a reply, REPGUESS before the first.  Reads go to zk-tree only
 * while the output the client has not taken, plus repsize for each read
 * in flight, stays under clientOutputLimit (one read may go while the
 * output is under it, whatever the read's size): a client that pipelines big reads and reads no
 * replies makes the gate hold about the limit, not the sum of its
 * requests, and clients that read go on at full speed.  Watch events
 * are not held back: a connection whose output grows past
 * clientOutputMax anyway is closed (overflow).
 */
int		 nheld;
int64_t		 nclosedmax;

void
replied(struct client *cl, size_t n)
{
	int64_t	 sz = (int64_t)n;

	if (sz >= cl->repsize)
		cl->repsize = sz;
	else
		cl->repsize -= (cl->repsize - sz) / 8;
}

/* Close cl when its output is over clientOutputMax: 1 if it did. */
int
overflow(struct client *cl)
{
	if (cl->c->dead || (long long)ZKBUF_LEN(&cl->c->out) <=
	    cfg.clientOutputMax)
		return 0;
	warnx("client %s:%d: %zu bytes it does not read, over clientOutputMax "
	    "(%lld): closed", cl->ip, cl->port, ZKBUF_LEN(&cl->c->out),
	    cfg.clientOutputMax);
	nclosedmax++;
	cl->closing = 1;
	zkloop_kill(cl->c);
	return 1;
}

static void
forward(struct client *cl, struct pend *p, const char *line, size_t len)
{
	if (p->kind == K_READ && cl->nlog > 0) {	/* behind a write */
		putline(zlog, line, len);
		cl->nlog++;
		cl->nrlog++;
		p->vialog = 1;
	} else if (p->kind == K_READ) {
		if (lin_on())
			lin_read(line, len);	/* for a read index */
		else
			putline(tree, line, len);
		cl->ntree++;
	} else {
		putline(zlog, line, len);
		cl->nlog++;
		p->vialog = 1;
	}
	p->sent = 1;
}

/*
 * Send held requests that the FIFO rule now allows, in order.
 * Everything before cl->unsent has been sent or is answered locally, so
 * each request is looked at once.
 */
void
dispatch(struct client *cl)
{
	struct pend	*p;

	for (p = cl->unsent; p != NULL; p = TAILQ_NEXT(p, entry)) {
		if (p->kind == K_LOCAL)
			continue;
		if (!cango(cl, p->kind))
			break;
		forward(cl, p, ZKBUF_DATA(&p->line), ZKBUF_LEN(&p->line));
		zkbuf_reset(&p->line);
	}
	cl->unsent = p;
}

/* the names cons prints for the last operation (FinalRequestProcessor) */
static const char *
lastop(int type)
{
	switch (type) {
	case ZOP_PING: return "PING";
	case ZOP_CLOSESESSION: return "CLOS";
	case ZOP_MULTI: return "MULT";
	case ZOP_MULTIREAD: return "MLTR";
	case ZOP_CREATE: case ZOP_CREATE2: case ZOP_CREATETTL:
	case ZOP_CREATECONTAINER: return "CREA";
	case ZOP_DELETE: case ZOP_DELETECONTAINER: return "DELE";
	case ZOP_SETDATA: return "SETD";
	case ZOP_RECONFIG: return "RECO";
	case ZOP_SETACL: return "SETA";
	case ZOP_CHECK: return "CHEC";
	case ZOP_SYNC: return "SYNC";
	case ZOP_EXISTS: return "EXIS";
	case ZOP_GETDATA: return "GETD";
	case ZOP_SETWATCHES: return "SETW";
	case ZOP_SETWATCHES2: return "STW2";
	case ZOP_ADDWATCH: return "ADDW";
	case ZOP_GETACL: return "GETA";
	case ZOP_GETCHILDREN: case ZOP_GETCHILDREN2: return "GETC";
	case ZOP_GETALLCHILDRENNUMBER: return "GETACN";
	case ZOP_CHECKWATCHES: return "CHKW";
	case ZOP_REMOVEWATCHES: return "REMW";
	case ZOP_GETEPHEMERALS: return "GETE";
	case ZOP_WHOAMI: return "HOMI";
	case ZOP_SASL: return "SASL";
	}
	return "NA";
}

/*
 * The fields a request carries besides its own: the connection's auth=
 * ids; where a TTL node could be made while zoo.cfg leaves
 * extendedTypesEnabled off, nottl=1, so that zk-tree refuses it on every
 * node that applies the txn, whatever their own zoo.cfg says; and in an
 * ensemble, on a write, via=MYID, so that only this node's zk-tree
 * answers it (STREAMS.md: the others have no client to answer).
 */
static const char *
reqfields(struct client *cl, const char *body, size_t len)
{
	static struct zkbuf	 b;
	struct jr		 r;
	int32_t			 type;
	int			 nottl, via;

	jr_init(&r, body, len);
	(void)jr_int(&r);
	type = jr_int(&r);
	nottl = !cfg.extendedTypesEnabled && !r.bad &&
	    (type == ZOP_CREATETTL || type == ZOP_MULTI);
	via = cfg.nservers > 0 && !r.bad && zk_iswriteop(type);
	if (!nottl && !via)
		return ZKBUF_LEN(&cl->auth) ? ZKBUF_DATA(&cl->auth) : "";
	zkbuf_reset(&b);
	zkbuf_add(&b, ZKBUF_DATA(&cl->auth), ZKBUF_LEN(&cl->auth));
	if (nottl)
		zkbuf_printf(&b, " nottl=1");
	if (via)
		zkbuf_printf(&b, " via=%d", cfg.myid);
	zkbuf_add(&b, "", 1);			/* the NUL */
	if (b.err)
		errx(EX_OSERR, "out of memory");
	return ZKBUF_DATA(&b);
}

/* one request frame of an open session */
static void
request(struct client *cl, const char *body, size_t len)
{
	struct pend	*p;
	int32_t		 xid, type;
	int		 rc, kind;

	zkbuf_reset(&scratch);
	rc = zkreq_decode(&scratch, body, len, cl->session,
	    reqfields(cl, body, len), &xid, &type);
	if (scratch.err)
		errx(EX_OSERR, "out of memory");
	cl->touched = 1;
	cl->heard = zk_mono_ms();
	cl->lcxid = xid;
	cl->lop = lastop(type);
	if (rc == ZUNIMPLEMENTED) {	/* zxid -1, then close */
		p = local_reply(cl, xid, type, ZUNIMPLEMENTED, NULL, 0);
		p->patchzxid = 0;
		if (!p->frame.err)
			memset(p->frame.p + 8, 0xff, 8);
		p->closeafter = 1;
		cl->closing = 1;
		return;
	}
	if (rc != 0) {
		local_reply(cl, xid, type, rc, NULL, 0);
		return;
	}
	if (cl->ro && !zk_isreadop(type) && type != ZOP_PING &&
	    type != ZOP_AUTH && type != ZOP_WHOAMI && type != ZOP_SASL) {
		/* read-only: as Apache's ReadOnlyRequestProcessor, every
		 * write and sync is NotReadOnly; closeSession ends the
		 * session, which is this node's alone */
		p = local_reply(cl, xid, type, type == ZOP_CLOSESESSION ? 0 :
		    ZNOTREADONLY, NULL, 0);
		if (type == ZOP_CLOSESESSION) {
			p->closeafter = 1;
			cl->closing = 1;
		}
		return;
	}
	switch (type) {
	case ZOP_PING:
		local_reply(cl, -2, type, 0, NULL, 0);
		return;
	case ZOP_AUTH:
		doauth(cl, xid, body, len);
		return;
	case ZOP_WHOAMI:
		zkbuf_reset(&scratch);
		whoami(cl, &scratch);
		local_reply(cl, xid, type, 0, ZKBUF_DATA(&scratch),
		    ZKBUF_LEN(&scratch));
		return;
	case ZOP_SASL:
		dosasl(cl, xid, body, len);
		return;
	case ZOP_RECONFIG:
		/*
		 * As Apache: disabled is -123; enabled on a standalone
		 * server, unimplemented.  In an ensemble it is a write the
		 * leader's zk-log decides.
		 */
		if (!cfg.reconfigEnabled || cfg.nservers == 0) {
			local_reply(cl, xid, type, cfg.reconfigEnabled ?
			    ZUNIMPLEMENTED : ZRECONFIGDISABLED, NULL, 0);
			return;
		}
		break;
	}
	/* in an ensemble sync goes by zk-log: through the leader, which
	   has this node apply what it committed before answering */
	kind = zk_isreadop(type) || (type == ZOP_SYNC && cfg.nservers == 0) ?
	    K_READ : K_WRITE;
	p = pend_new(cl, xid, type, kind);
	if (cl->unsent == NULL && cango(cl, kind)) {
		forward(cl, p, ZKBUF_DATA(&scratch), ZKBUF_LEN(&scratch));
	} else {		/* held behind an unsent request or reads */
		zkbuf_add(&p->line, ZKBUF_DATA(&scratch), ZKBUF_LEN(&scratch));
		if (p->line.err)
			errx(EX_OSERR, "out of memory");
		if (cl->unsent == NULL)
			cl->unsent = p;
	}
	if (type == ZOP_CLOSESESSION)
		cl->closing = 1;	/* nothing after it is read */
}

/* ConnectRequest */
static void
handshake(struct client *cl, const char *body, size_t len)
{
	struct jr	 r;
	const char	*pw;
	int32_t		 to, pl;
	int64_t		 lz, sid, ours;
	struct client	*o;
	char		 hx[2 * MAXPASSWD + 1];
	int		 wantro = 0;

	jr_init(&r, body, len);
	(void)jr_int(&r);
	lz = jr_long(&r);
	to = jr_int(&r);
	sid = jr_long(&r);
	pl = jr_buf(&r, &pw);
	if (r.bad) {
		zk_dbg("conn %d: bad ConnectRequest", cl->id);
		zkloop_kill(cl->c);
		return;
	}
	cl->oldclient = r.p == r.end;
	if (!cl->oldclient)
		wantro = jr_bool(&r) && !r.bad;
	if (!ens_serving() && !ens_rotake(cl, wantro)) {
		/* Apache closes it: the client tries the next server */
		zk_dbg("conn %d: not serving, closed", cl->id);
		zkloop_kill(cl->c);
		return;
	}
	if (lz > (ours = treezxid())) {
		warnx("client %s:%d has seen zxid 0x%" PRIx64 ", ours is 0x%"
		    PRIx64, cl->ip, cl->port, lz, ours);
		zkloop_kill(cl->c);
		return;
	}
	st.received++;
	cl->recved++;
	if (cl->ro && sid == 0) {
		/*
		 * A new read-only session is this node's alone, as Apache's
		 * local sessions: no createSession txn, an id no other server
		 * makes (this node's myid in the top byte, as Apache's ids)
		 * and a random password; the requests behind it go on at
		 * once.
		 */
		uint64_t	 id;

		arc4random_buf(&id, sizeof(id));
		id = (uint64_t)(cfg.myid & 0xff) << 56 |
		    (id & 0xffffffffffffffULL) | 1;
		arc4random_buf(cl->passwd, sizeof(cl->passwd));
		cl->timeout = to < cfg.minSessionTimeout ?
		    cfg.minSessionTimeout : to > cfg.maxSessionTimeout ?
		    cfg.maxSessionTimeout : to;
		bind_session(cl, (int64_t)id);
		zk_dbg("conn %d: read-only session 0x%" PRIx64, cl->id, id);
		connect_reply(cl);
		return;
	}
	cl->state = C_HANDSHAKE;
	zkloop_pause(cl->c, 1);		/* hold what follows until set up */
	zkbuf_reset(&scratch);
	if (sid == 0) {
		zkbuf_printf(&scratch, "new conn=%d timeout=%d\n", cl->id, to);
	} else {
		/* Apache drops the session's connection first, whatever the
		 * password turns out to be (a lookup: a reconnect storm of
		 * n clients must not cost n * n) */
		if ((o = bysession(sid)) != NULL && o != cl && !o->c->dead)
			zkloop_kill(o->c);
		cl->session = sid;
		if (pl > MAXPASSWD) {
			invalid_session(cl);
			return;
		}
		if (pl < 0)
			pl = 0;
		memset(cl->passwd, 0, sizeof(cl->passwd));
		memcpy(cl->passwd, pw, (size_t)(pl < 16 ? pl : 16));
		zk_hexenc(hx, pw, (size_t)pl);
		zkbuf_printf(&scratch, "attach conn=%d session=0x%" PRIx64
		    " passwd=%s timeout=%d\n", cl->id, sid, hx, to);
	}
	putline(sess, ZKBUF_DATA(&scratch), ZKBUF_LEN(&scratch));
}

static const char *const words[] = {
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok",
	"stmk", "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr",
	"isro", "hash", "hand", NULL
};

/* decode what the connection holds, in order */
static void
process(struct client *cl)
{
	struct zkconn	*c = cl->c;
	const char	*body;
	size_t		 len;
	int		 i, rc;

	if (cl->state == C_FRESH && ZKBUF_LEN(&c->in) >= 4) {
		const char *p = ZKBUF_DATA(&c->in);

		if (memcmp(p, "\xff\xf4\xff\xfd", 4) == 0) {
			zkloop_kill(c);
			return;
		}
		for (i = 0; words[i] != NULL; i++)
			if (memcmp(p, words[i], 4) == 0) {
				memcpy(cl->word, p, 4);
				cl->word[4] = '\0';
				if (strcmp(cl->word, "stmk") == 0 &&
				    ZKBUF_LEN(&c->in) < 12)
					return;
				if (cl->word[1] == 't' && cl->word[3] == 'k') {
					struct jr	 r;

					jr_init(&r, p + 4, 8);
					cl->mask = jr_long(&r);
				}
				cl->is4lw = 1;
				st.received++;
				cl->recved++;
				cl->state = C_OPEN;
				zkloop_pause(c, 1);
				zkbuf_consume(&c->in, ZKBUF_LEN(&c->in));
				fourletter(cl, cl->word);
				return;
			}
	}
	while (!cl->closing && !c->dead && c->fd != -1) {
		if (cl->state == C_HANDSHAKE)
			return;
		if (cl->npend >= MAXPENDING ||
		    (long long)ZKBUF_LEN(&c->out) > cfg.clientOutputLimit) {
			stall(cl);
			break;
		}
		rc = zkframe_next(&c->in, (size_t)cfg.maxbuffer, &body, &len);
		if (rc == 0)
			break;
		if (rc == -1) {
			zk_dbg("conn %d: bad frame length, closing", cl->id);
			zkloop_kill(c);
			return;
		}
		if (cl->state == C_FRESH)
			handshake(cl, body, len);
		else {
			st.received++;
			cl->recved++;
			request(cl, body, len);
		}
		zkbuf_consume(&c->in, 4 + len);
	}
	if (!c->dead)
		flushreplies(cl);
}

static void
client_read(struct zkconn *c)
{
	struct client	*cl = c->arg;

	if (cl == NULL || cl->closing || cl->is4lw) {
		zkbuf_consume(&c->in, ZKBUF_LEN(&c->in));
		return;
	}
	process(cl);
}
