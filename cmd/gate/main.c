/*
 * zk-gate: the client port.  Decodes ZooKeeper frames into request lines
 * (libzk/STREAMS.md) for zk-tree (reads) and zk-log (writes), turns the
 * `r`, `ev` and `closed` lines of zk-tree back into frames, keeps each
 * connection's replies in request order, answers four-letter words and,
 * on metricsProvider.httpPort, Prometheus scrapes of /metrics.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"

#define SESSIONLESS_MS	10000	/* NIO factory's sessionless timeout */
#define MAXPENDING	1000	/* stop reading a connection past this */
#define MAXPASSWD	64
#define MAXOUT		(4 << 20) /* stop reading while this much is unsent */
#define MAXHTTP		8192	/* request line and headers of a scrape */
#define MAXSCRAPES	64	/* /metrics connections at once */

enum { C_FRESH, C_HANDSHAKE, C_OPEN };
enum { K_LOCAL, K_READ, K_WRITE };

struct pend {
	TAILQ_ENTRY(pend) entry;
	int32_t		 xid, type;
	int		 kind;
	int		 sent;		/* line went to tree/log */
	int		 done;		/* reply is in frame (or out) */
	int		 direct;	/* reply went straight to out */
	int		 patchzxid;	/* set zxid at flush (local replies) */
	int		 closeafter;	/* close once this reply is out */
	int		 vialog;	/* a write, sent to zk-log */
	int64_t		 born;
	struct zkbuf	 line;		/* held request line */
	struct zkbuf	 frame;		/* the reply */
};
TAILQ_HEAD(pendq, pend);

struct client {
	struct zkconn	*c;
	int		 id;		/* conn= for zk-sessiond */
	int		 state;
	int		 is4lw;
	char		 ip[INET6_ADDRSTRLEN];
	int		 port;
	int64_t		 born;
	int64_t		 session;
	int		 timeout;
	unsigned char	 passwd[16];
	int		 oldclient;	/* no readOnly byte */
	int		 touched;
	int		 closing;	/* stop reading requests */
	int		 expired;	/* `closed` came while closeSession ran */
	struct zkbuf	 auth;		/* " auth=ip:.. auth=digest:.." */
	struct zkbuf	 ids;		/* scheme\0id\0 ... for whoAmI */
	struct zksasl	*sasl;		/* the DIGEST-MD5 exchange, once begun */
	struct pendq	 pq;
	struct pend	*unsent;	/* first request not yet sent, or NULL */
	int		 npend;
	int		 ntree, nlog;	/* sent, unanswered: see dispatch */
	/* stats for cons/stat */
	uint64_t	 recved, sent;
	int64_t		 est, lzxid, lresp, llat, minlat, maxlat, totlat, nlat;
	int32_t		 lcxid;
	const char	*lop;
	/* a four-letter word waiting for zk-tree/zk-sessiond */
	char		 word[5];
	int		 w4stage;	/* dump: zk-sessiond's part is in */
	int64_t		 mask;		/* stmk's argument */
	struct zkbuf	 w4;
	RB_ENTRY(client) byid;
	RB_ENTRY(client) bysess;
	TAILQ_ENTRY(client) all;
	TAILQ_ENTRY(client) stalled;	/* on the stalled list */
	int		 isstalled;
};

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

/* an HTTP connection to the metrics port */
struct http {
	struct zkconn	*c;		/* NULL once closed while waiting */
	int64_t		 born;
	int		 waiting;	/* for zk-tree's stats line */
	TAILQ_ENTRY(http) entry;
};

/* a 4lw connection (or a scrape) waiting for a peer's answer, in
 * request order */
struct w4wait {
	int		 id;
	struct http	*h;		/* a scrape, not a 4lw connection */
	TAILQ_ENTRY(w4wait) entry;
};
TAILQ_HEAD(w4q, w4wait);

static struct zkcfg	 cfg;
static struct zkjaas	 jaas;		/* SASL users; jaas.server: SASL on */
static struct zkloop	*loop;
static struct zkconn	*tree, *zlog, *sess;
static struct zkshm	 shm;		/* zk-tree's ring (zkrep_shm) */
static struct zkbuf	 splithead, splittail;	/* sendsplit's pieces */
/* zk-log's last fsyncstats line, for the fsynctime metric */
static int64_t		 fsynccount, fsyncsumus;
static char		 fsynchist[32 * 21];
static int		 ready;
static int64_t		 lastzxid;
static struct idtree	 byid = RB_INITIALIZER(&byid);
static struct sesstree	 bysess = RB_INITIALIZER(&bysess);
static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static TAILQ_HEAD(, client) graveyard = TAILQ_HEAD_INITIALIZER(graveyard);
/* open clients not read from (back-pressure), looked at every pass */
static TAILQ_HEAD(, client) stalled = TAILQ_HEAD_INITIALIZER(stalled);
static struct w4q	 treeq = TAILQ_HEAD_INITIALIZER(treeq);
static struct w4q	 sessq = TAILQ_HEAD_INITIALIZER(sessq);
static int		 nextid = 1, nclients;
static struct zkbuf	 scratch;
static int64_t		 started;
static int64_t		 tracemask = 306;	/* gtmk, stmk */
static struct pendq	 freepend = TAILQ_HEAD_INITIALIZER(freepend);
static struct addrtree	 byaddr = RB_INITIALIZER(&byaddr);

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
};
static TAILQ_HEAD(, leftover) leftovers = TAILQ_HEAD_INITIALIZER(leftovers);
static TAILQ_HEAD(, http) scrapes = TAILQ_HEAD_INITIALIZER(scrapes);
static int		 nscrapes;

/* never reset (srst resets st): latency summaries for /metrics, ms */
static struct {
	int64_t		 rsum, rn, usum, un;
} lat;

/* server stats (srvr, mntr; srst resets) */
static struct {
	uint64_t	 received, sent;
	int64_t		 minlat, maxlat, totlat, nlat;
} st;

static void	usage(void) __attribute__((noreturn));
static void	peer_read(struct zkconn *);
static void	peer_close(struct zkconn *);
static void	onaccept(struct zkloop *, int, void *);
static void	client_read(struct zkconn *);
static void	client_close(struct zkconn *);
static void	process(struct client *);
static void	dispatch(struct client *);
static void	leave(int64_t, int, int);
static int	leftreply(int64_t);
static void	forget(int64_t);
static void	goneback(int64_t);
static void	fsyncstats(const struct zkline *);
static int	oldevents(int64_t);
static void	flushreplies(struct client *);
static void	fourletter(struct client *, const char *);
static void	w4finish(struct client *);
static void	housekeeping(int64_t);
static void	onscrape(struct zkloop *, int, void *);
static void	scrape_read(struct zkconn *);
static void	scrape_answer(struct http *);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-d] -c zoo.cfg -r rundir\n", getprogname());
	exit(EX_USAGE);
}

static struct zkconn *
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

/*
 * A connection is a descriptor: raise the soft limit on them to the hard
 * one, as the JVM does for Apache ZooKeeper (MaxFDLimit), so that a gate
 * started from a shell's 1024 takes as many clients as Apache would.
 */
static void
nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(EX_OSERR, "getrlimit");
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		warn("setrlimit RLIMIT_NOFILE");
}

/* a configured address in use, not ours or privileged: no restart cures it */
#define BINDX(e)	((e) == EADDRINUSE || (e) == EADDRNOTAVAIL || \
			    (e) == EACCES ? EX_CONFIG : EX_OSERR)

int
main(int argc, char *argv[])
{
	const char	*file = NULL, *rundir = NULL;
	struct client	*cl;
	char		 errbuf[1200], path[PATH_MAX];
	int		 ch, fd, one = 1;
	int64_t		 now, tick;

	while ((ch = getopt(argc, argv, "c:dr:")) != -1)
		if (!zk_daemonopt(ch, optarg, &file, &rundir))
			usage();
	argc -= optind;
	if (argc != 0 || file == NULL || rundir == NULL)
		usage();
	if (zkcfg_load(&cfg, file, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_standalone(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (cfg.jaasFile[0] != '\0' &&
	    zkjaas_load(&jaas, cfg.jaasFile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (!cfg.clientPortSet)		/* no silent default of 2181 */
		errx(EX_CONFIG, "%s: clientPort is not set", file);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	nofile();
	if ((loop = zkloop_new()) == NULL)
		err(EX_OSERR, "zkloop_new");
	started = zk_mono_ms();
	tree = peer(rundir, "tree.sock", "");
	/* zk-tree's ring for big values, on a connection of its own */
	if ((size_t)snprintf(path, sizeof(path), "%s/tree.sock", rundir) <
	    sizeof(path) && zkshm_fetch(&shm, path, 10000) == 0)
		zkrep_shm = &shm;
	else
		warn("no ring for big values from zk-tree");
	zkbuf_printf(&tree->out, "hello role=gate%s\n",
	    zkrep_shm != NULL ? " shm=1" : "");
	zlog = peer(rundir, "log.sock", "hello role=gate\n");
	sess = peer(rundir, "sess.sock", "hello role=gate\n");
	while (!ready)
		if (zkloop_run(loop, 1000) == -1)
			err(EX_OSERR, "poll");
	if ((fd = zk_listen_tcp(cfg.clientPortAddress, cfg.clientPort)) == -1)
		err(BINDX(errno), "%s:%d", cfg.clientPortAddress[0] ?
		    cfg.clientPortAddress : "*", cfg.clientPort);
	/* accepted sockets inherit TCP_NODELAY from the listener (Linux,
	 * the BSDs): one setsockopt here instead of one per connection */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		err(EX_OSERR, "TCP_NODELAY");
	if (zkloop_listen(loop, fd, onaccept, NULL) == -1)
		err(EX_OSERR, "listen");
	/* on every address without httpHost, as Apache's provider */
	if (cfg.metricsPort != 0 && ((fd = zk_listen_tcp(cfg.metricsHost[0] ?
	    cfg.metricsHost : "0.0.0.0", cfg.metricsPort)) == -1 ||
	    zkloop_listen(loop, fd, onscrape, NULL) == -1))
		err(BINDX(errno), "metricsProvider.httpHost:httpPort %s:%d",
		    cfg.metricsHost[0] ? cfg.metricsHost : "*", cfg.metricsPort);
	zk_dbg("serving on %s:%d, zxid 0x%" PRIx64, cfg.clientPortAddress,
	    cfg.clientPort, lastzxid);
	tick = cfg.tickTime / 2 > 0 ? cfg.tickTime / 2 : 1;
	if (tick > 1000)
		tick = 1000;
	for (;;) {
		if (zkloop_run(loop, (int)tick) == -1)
			err(EX_OSERR, "poll");
		while ((cl = TAILQ_FIRST(&graveyard)) != NULL) {
			TAILQ_REMOVE(&graveyard, cl, all);
			free(cl);
		}
		now = zk_mono_ms();
		housekeeping(now);
	}
}

/*
 * Helpers.
 */

static void
putline(struct zkconn *c, const char *p, size_t n)
{
	zkbuf_add(&c->out, p, n);
	if (c->out.err)
		errx(EX_OSERR, "out of memory");
}

static struct client *
byconn(int id)
{
	struct client	 key;

	key.id = id;
	return RB_FIND(idtree, &byid, &key);
}

static struct client *
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

/* Java's Double.toString of an average rounded as Apache's counters do */
static void
javadouble(char *dst, size_t len, int64_t tot, int64_t n)
{
	size_t	 k;
	double	 v = n ? (double)tot / (double)n : 0.0;

	snprintf(dst, len, "%.4f", v);
	k = strlen(dst);
	while (k > 0 && dst[k - 1] == '0' && dst[k - 2] != '.')
		dst[--k] = '\0';
}

/*
 * Peers: zk-tree, zk-log, zk-sessiond.
 */

static void
ready_line(const struct zkline *l)
{
	int64_t	 z;

	if (zkl_int(l, "zxid", &z) == 0 && z > lastzxid)
		lastzxid = z;
	ready = 1;
}

static void
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

static void
connect_response(struct client *cl)
{
	size_t	 at;

	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, 0);
	jw_int(&cl->c->out, cl->timeout);
	jw_long(&cl->c->out, cl->session);
	jw_buf(&cl->c->out, cl->passwd, 16);
	if (!cl->oldclient)
		jw_bool(&cl->c->out, 0);
	jw_frame_end(&cl->c->out, at);
	cl->state = C_OPEN;
	cl->est = zk_now_ms();
	cl->touched = 1;
	zkloop_pause(cl->c, 0);
	st.sent++;
	cl->sent++;
	process(cl);		/* requests pipelined behind the handshake */
}

/* bind a session to this connection */
static void
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

static void
sess_new(const struct zkline *l)
{
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
	zkbuf_reset(&scratch);
	zkl_begin(&scratch, "createSession");
	zkl_putx(&scratch, "session", sid);
	zkl_putd(&scratch, "xid", 0);
	zkl_putd(&scratch, "timeout", to);
	zkl_puts(&scratch, "passwd", hx);
	zkl_end(&scratch);
	putline(zlog, ZKBUF_DATA(&scratch), ZKBUF_LEN(&scratch));
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
	connect_response(cl);
}

/* a `text` or `stats` answer for the oldest waiting 4lw connection */
static void
w4answer(struct w4q *q, const struct zkline *l)
{
	struct w4wait	*w;
	struct client	*cl;

	if ((w = TAILQ_FIRST(q)) == NULL)
		return;
	TAILQ_REMOVE(q, w, entry);
	if (w->h != NULL) {
		scrape_answer(w->h);
		free(w);
		return;
	}
	cl = byconn(w->id);
	free(w);
	if (cl == NULL || cl->c->dead)
		return;
	fourletter(cl, NULL);
	(void)l;
}

static struct zkline	 lastw4;	/* the answer fourletter() reads */
static char		*lastw4buf;

static void
w4keep(const struct zkline *l, const char *raw, size_t n)
{
	free(lastw4buf);
	zkl_free(&lastw4);
	if ((lastw4buf = malloc(n + 1)) == NULL)
		err(EX_OSERR, NULL);
	memcpy(lastw4buf, raw, n);
	lastw4buf[n] = '\0';
	if (zkl_parse(&lastw4, lastw4buf, n) == -1)
		lastw4.nf = 0;
	(void)l;
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
	size_t		 at, vlen;
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
	if (p->direct && p->type == ZOP_GETDATA && ZKBUF_LEN(o) == 0 &&
	    zkrep_split(l, &splithead, &val, &vlen, &splittail) == 0)
		sendsplit(cl, val, vlen);
	else if (zkrep_encode(o, l, p->type) == -1) {
		warnx("zk-tree: bad reply for %s xid %" PRId64,
		    zk_opname(p->type), xid);
		if (o->err)
			errx(EX_OSERR, "out of memory");
		at = jw_frame_begin(o);
		jw_int(o, (int32_t)xid);
		jw_long(o, lastzxid);
		jw_int(o, -1);		/* ZSYSTEMERROR */
		jw_frame_end(o, at);
	}
	p->done = 1;
	if (p->vialog)
		cl->nlog--;
	else
		cl->ntree--;
	cl->lzxid = z;
	if (p->type == ZOP_CLOSESESSION)
		p->closeafter = 1;
	flushreplies(cl);
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

/*
 * Clients.
 */

static void
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
	ac->n++;
	strlcpy(cl->ip, ip, sizeof(cl->ip));
	cl->port = port;
	cl->id = nextid++;
	cl->born = zk_mono_ms();
	cl->lop = "NA";
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
	char		 line[64];
	int		 n, gonesent = 0;

	if (cl->session != 0 && bysession(cl->session) == cl) {
		RB_REMOVE(sesstree, &bysess, cl);
		gonesent = 1;
		snprintf(line, sizeof(line), "gone session=0x%" PRIx64 "\n",
		    cl->session);
		/* after its reads, which may set watches */
		putline(tree, line, strlen(line));
	}
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
static struct pend *
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
static void
flushreplies(struct client *cl)
{
	struct pend	*p;
	int64_t		 now = zk_mono_ms();
	unsigned char	*z;
	int		 i;

	while ((p = TAILQ_FIRST(&cl->pq)) != NULL && p->done) {
		TAILQ_REMOVE(&cl->pq, p, entry);
		cl->npend--;
		if (p->patchzxid && !p->frame.err && p->frame.len >= 20) {
			z = (unsigned char *)p->frame.p + 8;
			for (i = 0; i < 8; i++)
				z[i] = (unsigned char)((uint64_t)lastzxid >>
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
	if (ZKBUF_LEN(&cl->c->out) > MAXOUT) {
		stall(cl);	/* the client does not read its replies */
		return;
	}
	if (cl->npend < MAXPENDING / 2 && cl->state == C_OPEN && !cl->closing &&
	    !cl->is4lw && cl->c->noread) {
		zkloop_pause(cl->c, 0);
		process(cl);
	}
}

/* Leftovers of closed connections: one until its `gone` is echoed, a few
 * at a time. */
static void
leave(int64_t session, int nreplies, int echo)
{
	struct leftover	*lo;

	if (nreplies == 0 && !echo)
		return;
	if ((lo = malloc(sizeof(*lo))) == NULL)
		err(EX_OSERR, NULL);
	lo->session = session;
	lo->nreplies = nreplies;
	lo->echo = echo;
	TAILQ_INSERT_TAIL(&leftovers, lo, entry);
}

enum { L_REPLIES, L_ECHO };

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
		    (what == L_ECHO && lo->echo))
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
static int
leftreply(int64_t session)
{
	struct leftover	*lo;
	struct client	*cl;

	if ((lo = leftof(session, L_REPLIES)) == NULL)
		return 0;
	lo->nreplies--;
	unleave(lo);
	if (leftof(session, L_REPLIES) == NULL &&
	    (cl = bysession(session)) != NULL && !cl->c->dead)
		dispatch(cl);
	return 1;
}

/* zk-tree echoed a `gone` of session: its `gone`s come back in order */
static void
goneback(int64_t session)
{
	struct leftover	*lo;

	if ((lo = leftof(session, L_ECHO)) != NULL) {
		lo->echo = 0;
		unleave(lo);
	}
}

/* 1 while events of session are still those of a connection gone */
static int
oldevents(int64_t session)
{
	return leftof(session, L_ECHO) != NULL;
}

static void
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
 * zk-tree or all writes on their way through zk-log (and back from
 * zk-tree once applied), never some of each, so its replies come back in
 * the order it sent them.  A read (sync too) waits until the session's
 * writes are answered, as Apache's commit processor holds it; a write
 * waits until the session's reads are answered.  Runs of reads and runs
 * of writes go on pipelined.  A connection that takes over a session
 * sends nothing until the replies its old connection had coming are in.
 */
static int
cango(struct client *cl, int kind)
{
	if (kind == K_READ ? cl->nlog > 0 : cl->ntree > 0)
		return 0;
	return cl->session == 0 || leftof(cl->session, L_REPLIES) == NULL;
}

static void
forward(struct client *cl, struct pend *p, const char *line, size_t len)
{
	if (p->kind == K_READ) {
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
static void
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

/* ids for whoAmI: vector<ClientInfo{scheme, user}> */
static void
whoami(struct client *cl, struct zkbuf *b)
{
	const char	*p = ZKBUF_DATA(&cl->ids), *end = p + ZKBUF_LEN(&cl->ids);
	const char	*scheme, *id, *colon;
	int32_t		 n = 0;

	for (scheme = p; scheme < end; scheme = id + strlen(id) + 1) {
		id = scheme + strlen(scheme) + 1;
		n++;
	}
	jw_int(b, n);
	for (scheme = p; scheme < end; scheme = id + strlen(id) + 1) {
		id = scheme + strlen(scheme) + 1;
		jw_str(b, scheme);
		if (strcmp(scheme, "digest") == 0 &&
		    (colon = strchr(id, ':')) != NULL)
			jw_buf(b, id, (int32_t)(colon - id));
		else
			jw_str(b, id);
	}
}

static void
addid(struct client *cl, const char *scheme, const char *id, size_t n)
{
	char	*esc;

	zkbuf_add(&cl->ids, scheme, strlen(scheme) + 1);
	zkbuf_add(&cl->ids, id, n);
	zkbuf_addc(&cl->ids, '\0');
	if ((esc = malloc(4 * (strlen(scheme) + n) + 2)) == NULL)
		err(EX_OSERR, NULL);
	zkbuf_printf(&cl->auth, " auth=");
	zkl_escape(esc, scheme, strlen(scheme));
	zkbuf_printf(&cl->auth, "%s:", esc);
	zkl_escape(esc, id, n);
	zkbuf_printf(&cl->auth, "%s", esc);
	free(esc);
	zkbuf_addc(&cl->auth, '\0');	/* keep it a C string */
	cl->auth.len--;
}

/* AuthPacket: answered at once, outside the pipeline (xid echoed, zxid 0) */
static void
doauth(struct client *cl, int32_t xid, const char *body, size_t len)
{
	struct jr	 r;
	const char	*scheme, *auth;
	int32_t		 sl, al;
	int32_t		 errc = 0;
	size_t		 at, n;
	char		*id;

	jr_init(&r, body, len);
	(void)jr_int(&r);
	(void)jr_int(&r);
	(void)jr_int(&r);
	sl = jr_buf(&r, &scheme);
	al = jr_buf(&r, &auth);
	if (r.bad || sl < 0)
		errc = ZAUTHFAILED;
	else if (sl == 6 && memcmp(scheme, "digest", 6) == 0) {
		if (al < 0) {
			auth = "";
			al = 0;
		}
		if ((id = malloc((size_t)al + 32)) == NULL)
			err(EX_OSERR, NULL);
		n = zk_digest_id(id, auth, (size_t)al);
		addid(cl, "digest", id, n);
		if (cfg.superDigest[0] != '\0' &&
		    strlen(cfg.superDigest) == n &&
		    memcmp(cfg.superDigest, id, n) == 0)
			addid(cl, "super", "", 0);
		free(id);
	} else if (!(sl == 2 && memcmp(scheme, "ip", 2) == 0))
		errc = ZAUTHFAILED;
	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, xid);
	jw_long(&cl->c->out, 0);
	jw_int(&cl->c->out, errc);
	jw_frame_end(&cl->c->out, at);
	st.sent++;
	cl->sent++;
	if (errc != 0) {
		cl->closing = 1;
		zkloop_close(cl->c);
	}
}

/*
 * GetSASLRequest{token}: one step of DIGEST-MD5 (sasl.c).  Apache answers
 * at once from processPacket with zxid 0; here the reply keeps its place
 * among the session's replies (so a client never sees xids out of
 * order), with zxid 0 as well.  Success answers SetSASLResponse{token};
 * the last step adds the id sasl:USER (and super: for zookeeper.superUser).
 * Failure answers -115 with a null token, then closes.  Without a JAAS
 * Server entry there is no mechanism: -115 and close.
 */
static void
dosasl(struct client *cl, int32_t xid, const char *body, size_t len)
{
	static struct zkbuf	 tokbuf;
	struct pend	*p;
	struct jr	 r;
	const char	*tok, *why;
	int32_t		 tl;

	if (!jaas.server) {
		/* Apache without one answers a null token, on which a SASL
		 * client loops forever; fail the authentication instead */
		local_reply(cl, xid, ZOP_SASL, ZAUTHFAILED, NULL, 0);
		goto fail;
	}
	jr_init(&r, body, len);
	(void)jr_int(&r);
	(void)jr_int(&r);
	tl = jr_buf(&r, &tok);
	if (tl < 0)
		tl = 0;
	if (cl->sasl == NULL && (cl->sasl = calloc(1, sizeof(*cl->sasl))) ==
	    NULL)
		err(EX_OSERR, NULL);
	zkbuf_reset(&scratch);
	if (r.bad) {
		why = "undecodable GetSASLRequest";
		cl->sasl->step = 2;
	} else if (zksasl_step(cl->sasl, &jaas, tok, (size_t)tl, &scratch,
	    &why) == 0) {
		if (scratch.err)
			errx(EX_OSERR, "out of memory");
		zkbuf_reset(&tokbuf);
		jw_buf(&tokbuf, ZKBUF_DATA(&scratch),
		    (int32_t)ZKBUF_LEN(&scratch));
		if (tokbuf.err)
			errx(EX_OSERR, "out of memory");
		p = local_reply(cl, xid, ZOP_SASL, 0, ZKBUF_DATA(&tokbuf),
		    ZKBUF_LEN(&tokbuf));
		p->patchzxid = 0;
		if (cl->sasl->done) {
			addid(cl, "sasl", cl->sasl->user,
			    strlen(cl->sasl->user));
			if (cfg.superUser[0] != '\0' &&
			    strcmp(cfg.superUser, cl->sasl->user) == 0)
				addid(cl, "super", "", 0);
			zk_dbg("conn %d: SASL user %s", cl->id, cl->sasl->user);
		}
		return;
	}
	warnx("client %s:%d: SASL authentication failed: %s", cl->ip,
	    cl->port, why);
	zkbuf_reset(&tokbuf);
	jw_buf(&tokbuf, NULL, -1);
	p = local_reply(cl, xid, ZOP_SASL, ZAUTHFAILED, ZKBUF_DATA(&tokbuf),
	    ZKBUF_LEN(&tokbuf));
	p->patchzxid = 0;
fail:
	cl->closing = 1;
	zkloop_close(cl->c);
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
 * ids and, where a TTL node could be made while zoo.cfg leaves
 * extendedTypesEnabled off, nottl=1, so that zk-tree refuses it on every
 * node that applies the txn, whatever their own zoo.cfg says.
 */
static const char *
reqfields(struct client *cl, const char *body, size_t len)
{
	static struct zkbuf	 b;
	struct jr		 r;
	int32_t			 type;

	jr_init(&r, body, len);
	(void)jr_int(&r);
	type = jr_int(&r);
	if (cfg.extendedTypesEnabled || r.bad ||
	    (type != ZOP_CREATETTL && type != ZOP_MULTI))
		return ZKBUF_LEN(&cl->auth) ? ZKBUF_DATA(&cl->auth) : "";
	zkbuf_reset(&b);
	zkbuf_add(&b, ZKBUF_DATA(&cl->auth), ZKBUF_LEN(&cl->auth));
	zkbuf_add(&b, " nottl=1", 9);		/* its NUL too */
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
		 * server (the only kind zk is yet) is unimplemented.
		 */
		local_reply(cl, xid, type, cfg.reconfigEnabled ?
		    ZUNIMPLEMENTED : ZRECONFIGDISABLED, NULL, 0);
		return;
	}
	kind = zk_isreadop(type) || type == ZOP_SYNC ? K_READ : K_WRITE;
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
	int64_t		 lz, sid;
	struct client	*o;
	char		 hx[2 * MAXPASSWD + 1];

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
	if (lz > lastzxid) {
		warnx("client %s:%d has seen zxid 0x%" PRIx64 ", ours is 0x%"
		    PRIx64, cl->ip, cl->port, lz, lastzxid);
		zkloop_kill(cl->c);
		return;
	}
	st.received++;
	cl->recved++;
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
	"isro", "hash", NULL
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
		if (cl->npend >= MAXPENDING || ZKBUF_LEN(&c->out) > MAXOUT) {
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

/*
 * Four-letter words.
 */

static int64_t
dirsize(const char *path)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 sb;
	char		 p[PATH_MAX];
	int64_t		 n = 0;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >=
		    sizeof(p))
			continue;
		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			n += sb.st_size;
	}
	closedir(d);
	return n;
}

static int
opencount(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

static const char *
mode(void)
{
	const char	*r;

	if ((r = zkl_str(&lastw4, "role")) != NULL)
		return r;
	return cfg.nservers == 0 ? "standalone" : "follower";
}

static int64_t
outstanding(void)
{
	struct client	*o;
	int64_t		 n = 0;

	TAILQ_FOREACH(o, &clients, all)
		n += o->npend;
	return n;
}

static void
srvr_tail(struct zkbuf *b)
{
	char	 avg[64];

	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	zkbuf_printf(b, "Latency min/avg/max: %" PRId64 "/%s/%" PRId64 "\n",
	    st.minlat, avg, st.maxlat);
	zkbuf_printf(b, "Received: %" PRIu64 "\nSent: %" PRIu64 "\n"
	    "Connections: %d\nOutstanding: %" PRId64 "\nZxid: 0x%" PRIx64 "\n"
	    "Mode: %s\nNode count: %" PRId64 "\n", st.received, st.sent,
	    nclients, outstanding(), lastzxid, mode(),
	    zkl_intdef(&lastw4, "nodes", 0));
}

static void
conn_line(struct zkbuf *b, struct client *o, int full, struct client *self)
{
	zkbuf_printf(b, " /%s:%d[%d](queued=%d,recved=%" PRIu64 ",sent=%"
	    PRIu64, o->ip, o->port, o == self ? 0 : 1, o->npend, o->recved,
	    o->sent);
	if (full && o->session != 0 && o->state == C_OPEN)
		zkbuf_printf(b, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64
		    ",to=%d,lcxid=0x%x,lzxid=0x%" PRIx64 ",lresp=%" PRId64
		    ",llat=%" PRId64 ",minlat=%" PRId64 ",avglat=%" PRId64
		    ",maxlat=%" PRId64, o->session, o->lop, o->est, o->timeout,
		    (unsigned)o->lcxid, o->lzxid, o->lresp, o->llat, o->minlat,
		    o->nlat ? o->totlat / o->nlat : 0, o->maxlat);
	zkbuf_printf(b, ")\n");
}

/* Java's Date.toString() */
static void
javadate(char *dst, size_t len, int64_t ms)
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(dst, len, "%a %b %d %H:%M:%S %Z %Y", &tm) == 0)
		strlcpy(dst, "?", len);
}

static void
mntr(struct zkbuf *b)
{
	char	 avg[64];

	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	zkbuf_printf(b, "zk_version\t%s\n", ZK_VERSION);
	zkbuf_printf(b, "zk_server_state\t%s\n", mode());
	zkbuf_printf(b, "zk_avg_latency\t%s\n", avg);
	zkbuf_printf(b, "zk_max_latency\t%" PRId64 "\n", st.maxlat);
	zkbuf_printf(b, "zk_min_latency\t%" PRId64 "\n", st.minlat);
	zkbuf_printf(b, "zk_packets_received\t%" PRIu64 "\n", st.received);
	zkbuf_printf(b, "zk_packets_sent\t%" PRIu64 "\n", st.sent);
	zkbuf_printf(b, "zk_num_alive_connections\t%d\n", nclients);
	zkbuf_printf(b, "zk_outstanding_requests\t%" PRId64 "\n",
	    outstanding());
	zkbuf_printf(b, "zk_znode_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "nodes", 0));
	zkbuf_printf(b, "zk_watch_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "watches", 0));
	zkbuf_printf(b, "zk_ephemerals_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "ephemerals", 0));
	zkbuf_printf(b, "zk_approximate_data_size\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "datasize", 0));
	zkbuf_printf(b, "zk_open_file_descriptor_count\t%d\n", opencount());
	zkbuf_printf(b, "zk_max_file_descriptor_count\t%ld\n",
	    sysconf(_SC_OPEN_MAX));
	zkbuf_printf(b, "zk_global_sessions\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "sessions", 0));
	zkbuf_printf(b, "zk_local_sessions\t0\n");
	zkbuf_printf(b, "zk_uptime\t%" PRId64 "\n", zk_mono_ms() - started);
}

static void
conf(struct zkbuf *b)
{
	char	 d[PATH_MAX], l[PATH_MAX];
	int	 i;

	snprintf(d, sizeof(d), "%s/version-2", cfg.dataDir);
	snprintf(l, sizeof(l), "%s/version-2", cfg.dataLogDir);
	zkbuf_printf(b, "clientPort=%d\nsecureClientPort=-1\ndataDir=%s\n"
	    "dataDirSize=%" PRId64 "\ndataLogDir=%s\ndataLogSize=%" PRId64
	    "\ntickTime=%d\nmaxClientCnxns=%d\nminSessionTimeout=%d\n"
	    "maxSessionTimeout=%d\nclientPortListenBacklog=-1\nserverId=%d\n",
	    cfg.clientPort, d, dirsize(d), l, dirsize(l), cfg.tickTime,
	    cfg.maxClientCnxns, cfg.minSessionTimeout, cfg.maxSessionTimeout,
	    cfg.myid);
	if (cfg.nservers == 0)
		return;
	zkbuf_printf(b, "initLimit=%d\nsyncLimit=%d\nelectionAlg=3\n",
	    cfg.initLimit, cfg.syncLimit);
	for (i = 0; i < cfg.nservers; i++)
		if (cfg.servers[i].id == cfg.myid)
			zkbuf_printf(b, "electionPort=%d\nquorumPort=%d\n",
			    cfg.servers[i].electionport,
			    cfg.servers[i].quorumport);
	zkbuf_printf(b, "peerType=%d\nmembership: \n",
	    cfg.peerTypeObserver ? 1 : 0);
	for (i = 0; i < cfg.nservers; i++)
		zkbuf_printf(b, "server.%d=%s:%d:%d:%s\n", cfg.servers[i].id,
		    cfg.servers[i].host, cfg.servers[i].quorumport,
		    cfg.servers[i].electionport, cfg.servers[i].observer ?
		    "observer" : "participant");
	zkbuf_printf(b, "version=0\n");
}

static void
envi(struct zkbuf *b)
{
	struct utsname	 u;
	struct passwd	*pw;
	char		 host[256], cwd[PATH_MAX];
	const char	*tmp;

	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strlcpy(cwd, "/", sizeof(cwd));
	pw = getpwuid(getuid());
	tmp = getenv("TMPDIR");
	zkbuf_printf(b, "Environment:\nzookeeper.version=%s\nhost.name=%s\n"
	    "java.version=none\njava.vendor=none\njava.home=none\n"
	    "java.class.path=none\njava.library.path=none\n"
	    "java.io.tmpdir=%s\njava.compiler=<NA>\nos.name=%s\nos.arch=%s\n"
	    "os.version=%s\nuser.name=%s\nuser.home=%s\nuser.dir=%s\n"
	    "os.memory.free=0MB\nos.memory.max=0MB\nos.memory.total=0MB\n",
	    ZK_VERSION, host, tmp ? tmp : "/tmp", u.sysname, u.machine,
	    u.release, pw ? pw->pw_name : "?", pw ? pw->pw_dir : "?", cwd);
}

static struct w4wait *
w4wait(struct w4q *q, struct zkconn *peerc, struct client *cl,
    const char *line)
{
	struct w4wait	*w;

	if ((w = malloc(sizeof(*w))) == NULL)
		err(EX_OSERR, NULL);
	w->id = cl != NULL ? cl->id : 0;
	w->h = NULL;
	TAILQ_INSERT_TAIL(q, w, entry);
	putline(peerc, line, strlen(line));
	return w;
}

/*
 * Answer a four-letter word.  Called with the word when it arrives and
 * with NULL when a peer's answer (in lastw4) for it has come.
 */
static void
fourletter(struct client *cl, const char *word)
{
	struct zkbuf	*b = &cl->w4;
	struct client	*o;
	const struct zkfield *f;
	char		 line[64];

	if (word != NULL) {
		if (!zkcfg_4lw_allowed(&cfg, word)) {
			zkbuf_printf(&cl->c->out, "%s is not executed because "
			    "it is not in the whitelist.\n", word);
			zkloop_close(cl->c);
			return;
		}
		if (strcmp(word, "ruok") == 0)
			zkbuf_printf(b, "imok");
		else if (strcmp(word, "isro") == 0)
			zkbuf_printf(b, "rw");
		else if (strcmp(word, "gtmk") == 0)
			zkbuf_printf(b, "%" PRId64, tracemask);
		else if (strcmp(word, "stmk") == 0)
			zkbuf_printf(b, "%" PRId64, tracemask = cl->mask);
		else if (strcmp(word, "hash") == 0)
			;
		else if (strcmp(word, "crst") == 0) {
			TAILQ_FOREACH(o, &clients, all) {
				o->recved = o->sent = 0;
				o->minlat = o->maxlat = o->totlat = 0;
				o->nlat = o->llat = 0;
			}
			zkbuf_printf(b, "Connection stats reset.\n");
		} else if (strcmp(word, "srst") == 0) {
			memset(&st, 0, sizeof(st));
			zkbuf_printf(b, "Server stats reset.\n");
		} else if (strcmp(word, "conf") == 0)
			conf(b);
		else if (strcmp(word, "envi") == 0)
			envi(b);
		else if (strcmp(word, "dirs") == 0) {
			char	 d[PATH_MAX], l[PATH_MAX];

			snprintf(d, sizeof(d), "%s/version-2", cfg.dataDir);
			snprintf(l, sizeof(l), "%s/version-2", cfg.dataLogDir);
			zkbuf_printf(b, "datadir_size: %" PRId64 "\n"
			    "logdir_size: %" PRId64 "\n", dirsize(d),
			    dirsize(l));
		} else if (strcmp(word, "cons") == 0) {
			TAILQ_FOREACH(o, &clients, all)
				conn_line(b, o, 1, cl);
			zkbuf_printf(b, "\n");
		} else if (strcmp(word, "srvr") == 0 ||
		    strcmp(word, "stat") == 0 || strcmp(word, "mntr") == 0) {
			w4wait(&treeq, tree, cl, "stats\n");
			return;
		} else if (strcmp(word, "dump") == 0) {
			w4wait(&sessq, sess, cl, "text word=dump\n");
			return;
		} else {	/* wchs wchc wchp */
			snprintf(line, sizeof(line), "text word=%s\n", word);
			w4wait(&treeq, tree, cl, line);
			return;
		}
		w4finish(cl);
		return;
	}
	word = cl->word;
	if (strcmp(word, "srvr") == 0) {
		zkbuf_printf(b, "Zookeeper version: %s\n", ZK_VERSION);
		srvr_tail(b);
	} else if (strcmp(word, "stat") == 0) {
		zkbuf_printf(b, "Zookeeper version: %s\nClients:\n",
		    ZK_VERSION);
		TAILQ_FOREACH(o, &clients, all)
			conn_line(b, o, 0, cl);
		zkbuf_printf(b, "\n");
		srvr_tail(b);
	} else if (strcmp(word, "mntr") == 0)
		mntr(b);
	else if (strcmp(word, "dump") == 0 && !cl->w4stage) {
		/* zk-sessiond's part; then ask zk-tree for the ephemerals */
		if ((f = zkl_get(&lastw4, "data")) != NULL)
			zkbuf_add(b, f->val, f->len);
		cl->w4stage = 1;
		w4wait(&treeq, tree, cl, "text word=dump\n");
		return;
	} else {
		if ((f = zkl_get(&lastw4, "data")) != NULL)
			zkbuf_add(b, f->val, f->len);
		if (strcmp(word, "dump") == 0) {
			char	 date[64];

			javadate(date, sizeof(date), zk_now_ms() +
			    SESSIONLESS_MS);
			zkbuf_printf(b, "Connections dump:\n"
			    "Connections Sets (1)/(%d):\n%d expire at %s:\n",
			    nclients, nclients, date);
			TAILQ_FOREACH(o, &clients, all)
				zkbuf_printf(b, "\tip: /%s:%d sessionId: 0x%"
				    PRIx64 "\n", o->ip, o->port, o->session);
		}
	}
	w4finish(cl);
}

static void
w4finish(struct client *cl)
{
	if (cl->w4.err)
		errx(EX_OSERR, "out of memory");
	zkbuf_add(&cl->c->out, ZKBUF_DATA(&cl->w4), ZKBUF_LEN(&cl->w4));
	zkloop_close(cl->c);
}

/*
 * Timers: touch batches, sessionless connections.
 */
static void
housekeeping(int64_t now)
{
	static int64_t	 lastsweep;
	struct client	*cl, *t;
	struct http	*h, *ht;
	int		 n = 0;

	/*
	 * Stalled clients resume once their replies have drained.  A client
	 * that dies in flushreplies has left the list already (client_close);
	 * no other client can leave it meanwhile, so t stays on it.
	 */
	for (cl = TAILQ_FIRST(&stalled); cl != NULL; cl = t) {
		t = TAILQ_NEXT(cl, stalled);
		if (!cl->c->dead && cl->c->noread)
			flushreplies(cl);	/* resumes reading if it can */
		if (cl->isstalled && (cl->c->dead || !cl->c->noread)) {
			TAILQ_REMOVE(&stalled, cl, stalled);
			cl->isstalled = 0;
		}
	}
	/*
	 * The walk over every client runs once per tick (at most a
	 * second), not every pass: with thousands of idle clients, a pass
	 * costs what is ready, not what is open.
	 */
	if (now - lastsweep < (cfg.tickTime / 2 < 1000 ? cfg.tickTime / 2 :
	    1000))
		return;
	lastsweep = now;
	zkbuf_reset(&scratch);
	zkl_begin(&scratch, "touch");
	for (cl = TAILQ_FIRST(&clients); cl != NULL; cl = t) {
		t = TAILQ_NEXT(cl, all);
		if (cl->touched && cl->session != 0 &&
		    cl->state == C_OPEN && !cl->is4lw) {
			cl->touched = 0;
			zkl_putx(&scratch, "session", cl->session);
			n++;
		}
		if (cl->state != C_OPEN && now - cl->born > SESSIONLESS_MS &&
		    !cl->c->dead)
			zkloop_kill(cl->c);
	}
	zkl_end(&scratch);
	if (n > 0)
		putline(sess, ZKBUF_DATA(&scratch), ZKBUF_LEN(&scratch));
	TAILQ_FOREACH_SAFE(h, &scrapes, entry, ht)
		if (now - h->born > SESSIONLESS_MS && !h->c->dead)
			zkloop_kill(h->c);	/* unlinks h */
}

/*
 * Prometheus: GET /metrics on metricsProvider.httpPort.  One request a
 * connection, answered with Connection: close once zk-tree's stats line
 * is in; nothing here waits on a socket.
 */

static void
scrape_close(struct zkconn *c)
{
	struct http	*h = c->arg;

	TAILQ_REMOVE(&scrapes, h, entry);
	nscrapes--;
	if (h->waiting)
		h->c = NULL;	/* freed when its stats line comes */
	else
		free(h);
	c->arg = NULL;
}

static void
onscrape(struct zkloop *lp, int fd, void *arg)
{
	struct http	*h;

	(void)arg;
	if (nscrapes >= MAXSCRAPES) {
		close(fd);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		warn("metrics");
		close(fd);
		return;
	}
	if ((h->c = zkloop_conn(lp, fd, scrape_read, scrape_close, h)) ==
	    NULL) {
		warn("metrics");
		free(h);
		close(fd);
		return;
	}
	h->born = zk_mono_ms();
	TAILQ_INSERT_TAIL(&scrapes, h, entry);
	nscrapes++;
}

/* the whole response, then close */
static void
http_reply(struct http *h, const char *status, const char *ctype,
    const struct zkbuf *body)
{
	struct zkconn	*c = h->c;

	zkbuf_printf(&c->out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n", status, ctype, ZKBUF_LEN(body));
	if (strncmp(status, "405", 3) == 0)
		zkbuf_printf(&c->out, "Allow: GET\r\n");
	zkbuf_printf(&c->out, "Connection: close\r\n\r\n");
	zkbuf_add(&c->out, ZKBUF_DATA(body), ZKBUF_LEN(body));
	if (c->out.err)
		errx(EX_OSERR, "out of memory");
	zkloop_pause(c, 1);
	zkloop_close(c);
}

static void
http_error(struct http *h, const char *status)
{
	zkbuf_reset(&scratch);
	zkbuf_printf(&scratch, "%s\n", status);
	http_reply(h, status, "text/plain; charset=utf-8", &scratch);
}

/* a token of RFC 9110: what a method and a header name are made of */
static int
tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * The request line "METHOD SP target SP HTTP/1.x" in [p, eol) (a CR
 * before eol is allowed): 1 for GET /metrics, 0 for another well-formed
 * request with its status in *status, -1 for garbage.
 */
static int
http_reqline(const char *p, const char *eol, const char **status)
{
	const char	*m = p, *t;
	size_t		 ml, tl;

	if (eol > p && eol[-1] == '\r')
		eol--;
	while (p < eol && tchar((unsigned char)*p))
		p++;
	ml = (size_t)(p - m);
	if (ml == 0 || p >= eol || *p++ != ' ')
		return -1;
	for (t = p; p < eol && *p > ' ' && *p < 0x7f; p++)
		;
	tl = (size_t)(p - t);
	if (tl == 0 || *t != '/' || p >= eol || *p++ != ' ')
		return -1;
	if (eol - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1'))
		return -1;
	if (!(tl == 8 || (tl > 8 && t[8] == '?')) ||
	    memcmp(t, "/metrics", 8) != 0) {
		*status = "404 Not Found";
		return 0;
	}
	if (ml != 3 || memcmp(m, "GET", 3) != 0) {
		*status = "405 Method Not Allowed";
		return 0;
	}
	return 1;
}

/* header lines "name:value" in [p, end), each ending in LF */
static int
http_headers(const char *p, const char *end)
{
	const char	*e, *n;

	while (p < end) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		for (n = p; p < e && tchar((unsigned char)*p); p++)
			;
		if (p == n || *p != ':')
			return -1;
		p = e + 1;
	}
	return 0;
}

static void
scrape_read(struct zkconn *c)
{
	struct http	*h = c->arg;
	const char	*p = ZKBUF_DATA(&c->in), *eol, *hend = NULL, *status;
	size_t		 n = ZKBUF_LEN(&c->in), i;
	int		 rc;

	if (h == NULL || h->waiting || c->closing) {
		zkbuf_consume(&c->in, n);
		return;
	}
	if ((eol = memchr(p, '\n', n)) == NULL) {
		if (n > MAXHTTP)
			http_error(h, "400 Bad Request");
		return;
	}
	status = "400 Bad Request";
	if ((rc = http_reqline(p, eol, &status)) == -1) {
		http_error(h, status);
		return;
	}
	/* the headers end at an empty line */
	for (i = (size_t)(eol - p) + 1; i < n; i++) {
		if (p[i] == '\n' && p[i - 1] == '\n')
			hend = p + i - 1;
		else if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n')
			hend = p + i - 2;
		if (hend != NULL)
			break;
	}
	if (hend == NULL) {
		if (n > MAXHTTP)
			http_error(h, "400 Bad Request");
		return;
	}
	if (hend - p > MAXHTTP || http_headers(eol + 1, hend + 1) == -1) {
		http_error(h, "400 Bad Request");
		return;
	}
	zkbuf_consume(&c->in, n);
	if (rc == 0) {
		http_error(h, status);
		return;
	}
	/* answered when zk-tree's stats line comes (scrape_answer) */
	zkloop_pause(c, 1);
	h->waiting = 1;
	w4wait(&treeq, tree, NULL, "stats\n")->h = h;
}

static void
metric(struct zkbuf *b, const char *name, const char *type, const char *help)
{
	zkbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
gauge(struct zkbuf *b, const char *name, const char *help, int64_t v)
{
	metric(b, name, "gauge", help);
	zkbuf_printf(b, "%s %" PRId64 "\n", name, v);
}

/* zk-log's fsync times, sent to us at most once a second */
static void
fsyncstats(const struct zkline *l)
{
	const char	*h = zkl_str(l, "hist");

	fsynccount = zkl_intdef(l, "count", 0);
	fsyncsumus = zkl_intdef(l, "sumus", 0);
	strlcpy(fsynchist, h != NULL ? h : "", sizeof(fsynchist));
}

/*
 * fsynctime, as Apache's summary (ms): zk-log's log2 histogram of its
 * fdatasync times (fsyncstats); a quantile is the upper bound of the
 * bucket it falls in.
 */
static void
fsynctime(struct zkbuf *b)
{
	static const double	 q[] = { 0.5, 0.9, 0.99 };
	int64_t			 h[32], n = fsynccount, sum = fsyncsumus, seen;
	const char		*s = fsynchist, *e;
	size_t			 i;
	int			 k;

	metric(b, "fsynctime", "summary", "Time to fsync the transaction "
	    "log in ms");
	for (k = 0; k < 32; k++)
		h[k] = 0;
	for (k = 0; s != NULL && *s != '\0' && k < 32; k++) {
		h[k] = strtoll(s, (char **)&e, 10);
		s = *e == ',' ? e + 1 : e;
	}
	for (i = 0; n > 0 && i < sizeof(q) / sizeof(q[0]); i++) {
		for (seen = 0, k = 0; k < 31; k++)
			if ((seen += h[k]) >= q[i] * (double)n)
				break;
		zkbuf_printf(b, "fsynctime{quantile=\"%g\"} %g\n", q[i],
		    (double)((int64_t)1 << k) / 1000.0);
	}
	zkbuf_printf(b, "fsynctime_count %" PRId64 "\nfsynctime_sum %g\n", n,
	    (double)sum / 1000.0);
}

/* the text format 0.0.4, names as Apache's Prometheus provider's */
static void
metrics(struct zkbuf *b)
{
	char	 avg[64];
	int	 i, voters = 0;

	for (i = 0; i < cfg.nservers; i++)
		if (!cfg.servers[i].observer)
			voters++;
	gauge(b, "znode_count", "Number of znodes",
	    zkl_intdef(&lastw4, "nodes", 0));
	gauge(b, "watch_count", "Number of watches",
	    zkl_intdef(&lastw4, "watches", 0));
	gauge(b, "ephemerals_count", "Number of ephemeral nodes",
	    zkl_intdef(&lastw4, "ephemerals", 0));
	gauge(b, "approximate_data_size", "Bytes of path and data in the "
	    "tree", zkl_intdef(&lastw4, "datasize", 0));
	gauge(b, "global_sessions", "Number of sessions",
	    zkl_intdef(&lastw4, "sessions", 0));
	gauge(b, "local_sessions", "Number of local sessions", 0);
	gauge(b, "outstanding_requests", "Requests read, not yet answered",
	    outstanding());
	gauge(b, "num_alive_connections", "Client connections",
	    nclients);
	gauge(b, "packets_received", "Packets received (reset by srst)",
	    (int64_t)st.received);
	gauge(b, "packets_sent", "Packets sent (reset by srst)",
	    (int64_t)st.sent);
	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	metric(b, "avg_latency", "gauge", "Average request latency in ms "
	    "(reset by srst)");
	zkbuf_printf(b, "avg_latency %s\n", avg);
	gauge(b, "max_latency", "Highest request latency in ms (reset by "
	    "srst)", st.maxlat);
	gauge(b, "min_latency", "Lowest request latency in ms (reset by "
	    "srst)", st.minlat);
	metric(b, "readlatency", "summary", "Read request latency in ms");
	zkbuf_printf(b, "readlatency_count %" PRId64 "\nreadlatency_sum %"
	    PRId64 "\n", lat.rn, lat.rsum);
	metric(b, "updatelatency", "summary", "Write request latency in ms");
	zkbuf_printf(b, "updatelatency_count %" PRId64 "\n"
	    "updatelatency_sum %" PRId64 "\n", lat.un, lat.usum);
	fsynctime(b);
	gauge(b, "uptime", "Milliseconds since the gate started",
	    zk_mono_ms() - started);
	gauge(b, "quorum_size", "Voting servers (1 standalone)",
	    cfg.nservers == 0 ? 1 : voters);
	gauge(b, "open_file_descriptor_count", "Open file descriptors of "
	    "zk-gate", opencount());
	gauge(b, "max_file_descriptor_count", "File descriptor limit of "
	    "zk-gate", sysconf(_SC_OPEN_MAX));
}

/* zk-tree's stats line (in lastw4) is in: answer the scrape */
static void
scrape_answer(struct http *h)
{
	h->waiting = 0;
	if (h->c == NULL) {		/* closed meanwhile */
		free(h);
		return;
	}
	if (h->c->dead)
		return;
	zkbuf_reset(&scratch);
	metrics(&scratch);
	if (scratch.err)
		errx(EX_OSERR, "out of memory");
	http_reply(h, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
	    &scratch);
}
