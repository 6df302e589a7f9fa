/*
 * zk-sessiond: session ids, passwords, timeouts and expiry.
 *
 * The session table is replicated by zk-tree (`sess`/`unsess` lines as it
 * applies createSession and closeSession); zk-sessiond adds the ids it
 * minted for zk-gate and a deadline per session on the monotonic clock.
 * A session whose deadline passes gets one closeSession txn, sent to
 * zk-log; it leaves the table when zk-tree applies it.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"

#define PWLEN	16

enum { S_MINTED, S_LIVE, S_CLOSING };

struct sess {
	RB_ENTRY(sess)	 entry;
	uint64_t	 id;
	unsigned char	 passwd[PWLEN];
	int		 timeout;	/* ms */
	int64_t		 deadline;	/* zk_mono_ms */
	int		 state;
	int		 known;		/* zk-tree has it */
	int64_t		 closed;	/* when closeSession was sent */
};

RB_HEAD(sesstree, sess);
static int	 sesscmp(struct sess *, struct sess *);
RB_PROTOTYPE(sesstree, sess, entry, sesscmp)
RB_GENERATE(sesstree, sess, entry, sesscmp)

static struct {
	struct zkcfg	 cfg;
	const char	*rundir;
	struct zkloop	*lp;
	struct zkconn	*tree, *log;
	struct sesstree	 sessions;
	size_t		 nsess;
	uint64_t	 nextid;
	int		 ready;
	int64_t		 nextcheck;
	struct zkline	 l;
	unsigned char	 pool[PWLEN * 256];	/* random bytes for passwords */
	size_t		 poolleft;
} S;

static void	 usage(void);
static void	 sockpath(char *, size_t, const char *);
static void	 ontreeread(struct zkconn *);
static void	 onpeerclose(struct zkconn *);
static void	 onlogread(struct zkconn *);
static void	 treeline(const struct zkline *);
static void	 goready(void);
static void	 onaccept(struct zkloop *, int, void *);
static void	 ongateread(struct zkconn *);
static void	 gateline(struct zkconn *, const struct zkline *);
static void	 mint(struct zkconn *, const struct zkline *);
static void	 attach(struct zkconn *, const struct zkline *);
static void	 touch(const struct zkline *);
static void	 sendtouch(const struct zkline *);
static void	 modeline(const struct zkline *);
static void	 dump(struct zkbuf *);
static int	 clamp(int64_t);
static struct sess *lookup(uint64_t);
static struct sess *insert(uint64_t);
static void	 drop(struct sess *);
static void	 expire(void);
static void	 stalled(int64_t);
static void	 closesession(struct sess *);
static int	 parsesid(const char *, uint64_t *);
static int	 samepw(const unsigned char *, const unsigned char *);
static void	 putpw(struct zkbuf *, const unsigned char *);
static void	 newpw(unsigned char *);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-d] -c zoo.cfg -r rundir\n"
	    "       %s -n -c zoo.cfg\n", getprogname(), getprogname());
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	char		 errbuf[1200], path[PATH_MAX];
	const char	*cfgfile = NULL;
	int64_t		 now, wait;
	int		 ch, fd, top, nflag = 0;

	while ((ch = getopt(argc, argv, "c:dnr:")) != -1)
		if (ch == 'n')
			nflag = 1;
		else if (!zk_daemonopt(ch, optarg, &cfgfile, &S.rundir))
			usage();
	if (optind != argc || cfgfile == NULL || (S.rundir == NULL) != nflag)
		usage();
	if (zkcfg_load(&S.cfg, cfgfile, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_node(&S.cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (nflag)		/* zk-node's check, once for every program */
		return 0;
	/* under zk-node, SIGTERM (to its whole group) waits for zk-log,
	   which may be handing leadership off: we go when it goes */
	if (zk_supervisor() != 0 && signal(SIGTERM, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	signal(SIGPIPE, SIG_IGN);
	RB_INIT(&S.sessions);

	/* Apache's first id; standalone uses 1 as the top byte */
	top = S.cfg.nservers == 0 ? 1 : S.cfg.myid;
	S.nextid = (uint64_t)top << 56 | ((uint64_t)zk_now_ms() << 24) >> 8;

	if ((S.lp = zkloop_new()) == NULL)
		err(EX_OSERR, NULL);
	sockpath(path, sizeof(path), "tree.sock");
	if ((fd = zk_connect_unix(path, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", path);
	if ((S.tree = zkloop_conn(S.lp, fd, ontreeread, onpeerclose,
	    NULL)) == NULL)
		err(EX_OSERR, "%s", path);
	zkl_begin(&S.tree->out, "hello");
	zkl_puts(&S.tree->out, "role", "sessiond");
	zkl_end(&S.tree->out);

	for (;;) {
		wait = -1;
		if (S.ready) {
			now = zk_mono_ms();
			if (now >= S.nextcheck) {
				stalled(now - S.nextcheck);
				/* the touches that came meanwhile first */
				if (zkloop_run(S.lp, 0) == -1)
					err(EX_OSERR, "poll");
				now = zk_mono_ms();
				if (zkcfg_leads(&S.cfg))	/* the leader's */
					expire();
				S.nextcheck = now + (S.cfg.tickTime + 1) / 2;
			}
			wait = S.nextcheck - now;
			if (wait < 0)
				wait = 0;
		}
		if (zkloop_run(S.lp, (int)wait) == -1)
			err(EX_OSERR, "poll");
	}
}

static void
sockpath(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", S.rundir, name) >= len)
		errx(EX_USAGE, "%s: run directory path too long", S.rundir);
}

static int
sesscmp(struct sess *a, struct sess *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Lines from zk-tree: the session table, then ready, then changes. */
static void
ontreeread(struct zkconn *c)
{
	char	*line;
	size_t	 len;

	while (zkl_next(&c->in, &line, &len)) {
		if (zkl_parse(&S.l, line, len) == -1)
			warnx("tree: bad line ignored");
		else
			treeline(&S.l);
		zkbuf_consume(&c->in, len + 1);
	}
}

static void
onpeerclose(struct zkconn *c)
{
	errx(EX_TEMPFAIL, "%s connection closed", c == S.tree ? "tree" :
	    "log");
}

/*
 * From zk-log: in an ensemble, `mode` lines say whether this node leads
 * (and so expires sessions), and a leader hears its learners' `touch`
 * lines.  A `fail` of a closeSession not stored is
 * ignored: expire sends it again.
 */
static void
onlogread(struct zkconn *c)
{
	char	*line;
	size_t	 len;

	while (zkl_next(&c->in, &line, &len)) {
		if (strncmp(line, "mode ", 5) == 0 &&
		    zkl_parse(&S.l, line, len) == 0)
			modeline(&S.l);
		else if (strncmp(line, "touch ", 6) == 0 &&
		    zkl_parse(&S.l, line, len) == 0)
			touch(&S.l);	/* a learner's clients, the leader's clocks */
		zkbuf_consume(&c->in, len + 1);
	}
}

/*
 * The node's part in the ensemble.  A node that starts to lead gives
 * every session a fresh timeout: the clocks of the old leader are gone.
 */
static void
modeline(const struct zkline *l)
{
	const char	*st = zkl_str(l, "state");
	struct sess	*s;
	int64_t		 now = zk_mono_ms();
	int		 role, was = S.cfg.role;

	if (st == NULL)
		return;
	if (strcmp(st, "leading") == 0)
		role = zkl_intdef(l, "serving", 0) ? ZKR_LEADING : ZKR_LOOKING;
	else if (strcmp(st, "following") == 0)
		role = ZKR_FOLLOWING;
	else if (strcmp(st, "observing") == 0)
		role = ZKR_OBSERVING;
	else
		role = ZKR_LOOKING;
	S.cfg.role = role;
	if (role != ZKR_LEADING || was == ZKR_LEADING)
		return;
	RB_FOREACH(s, sesstree, &S.sessions)
		if (s->state != S_CLOSING)
			s->deadline = now + s->timeout;
	zk_dbg("leading: %zu sessions, each with a fresh timeout", S.nsess);
}

static void
treeline(const struct zkline *l)
{
	struct sess	*s;
	const char	*v;
	uint64_t	 id;
	int64_t		 to;

	if (strcmp(l->verb, "ready") == 0) {
		if (!S.ready)
			goready();
		return;
	}
	if (strcmp(l->verb, "sess") != 0 && strcmp(l->verb, "unsess") != 0)
		return;
	if ((v = zkl_str(l, "session")) == NULL || parsesid(v, &id) == -1) {
		warnx("tree: %s without a session id", l->verb);
		return;
	}
	s = lookup(id);
	if (strcmp(l->verb, "unsess") == 0) {
		if (s != NULL)
			drop(s);
		zk_dbg("unsess 0x%" PRIx64, id);
		return;
	}
	if (s == NULL) {
		s = insert(id);
		to = zkl_intdef(l, "timeout", S.cfg.minSessionTimeout);
		s->timeout = to < 1 || to > INT_MAX ? S.cfg.minSessionTimeout :
		    (int)to;
		s->deadline = zk_mono_ms() + s->timeout;
		s->state = S_LIVE;
	} else if (s->state == S_MINTED)
		s->state = S_LIVE;
	s->known = 1;
	if ((v = zkl_str(l, "passwd")) == NULL ||
	    zk_hexdec(s->passwd, PWLEN, v) == -1)
		warnx("tree: session 0x%" PRIx64 " has no good passwd", id);
	zk_dbg("sess 0x%" PRIx64 " timeout %d", id, s->timeout);
}

/* The table is loaded: talk to zk-log and take gates. */
static void
goready(void)
{
	char	 path[PATH_MAX];
	int	 fd;

	sockpath(path, sizeof(path), "log.sock");
	if ((fd = zk_connect_unix(path, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", path);
	if ((S.log = zkloop_conn(S.lp, fd, onlogread, onpeerclose,
	    NULL)) == NULL)
		err(EX_OSERR, "%s", path);
	zkl_begin(&S.log->out, "hello");
	zkl_puts(&S.log->out, "role", "sessiond");
	zkl_end(&S.log->out);
	sockpath(path, sizeof(path), "sess.sock");
	if ((fd = zk_listen_unix(path)) == -1)
		err(EX_OSERR, "%s", path);
	if (zkloop_listen(S.lp, fd, onaccept, NULL) == -1)
		err(EX_OSERR, "%s", path);
	S.ready = 1;
	S.nextcheck = zk_mono_ms() + (S.cfg.tickTime + 1) / 2;
	zk_dbg("ready, %zu sessions", S.nsess);
}

static void
onaccept(struct zkloop *lp, int fd, void *arg)
{
	(void)arg;
	if (zkloop_conn(lp, fd, ongateread, NULL, NULL) == NULL) {
		warn("accept");
		close(fd);
	}
}

static void
ongateread(struct zkconn *c)
{
	char	*line;
	size_t	 len;

	while (zkl_next(&c->in, &line, &len)) {
		if (zkl_parse(&S.l, line, len) == -1)
			warnx("gate: bad line ignored");
		else
			gateline(c, &S.l);
		zkbuf_consume(&c->in, len + 1);
	}
	if (c->out.err) {
		warnc(c->out.err, "gate connection");
		zkloop_kill(c);
	}
}

static void
gateline(struct zkconn *c, const struct zkline *l)
{
	const char	*w;

	if (strcmp(l->verb, "new") == 0)
		mint(c, l);
	else if (strcmp(l->verb, "attach") == 0)
		attach(c, l);
	else if (strcmp(l->verb, "touch") == 0) {
		touch(l);
		if (S.cfg.role != ZKR_STANDALONE && S.cfg.role != ZKR_LEADING)
			sendtouch(l);
	}
	else if (strcmp(l->verb, "text") == 0) {
		w = zkl_str(l, "word");
		zkl_begin(&c->out, "text");
		zkl_puts(&c->out, "word", w ? w : "");
		if (w != NULL && strcmp(w, "dump") == 0) {
			struct zkbuf	 b;

			memset(&b, 0, sizeof(b));
			dump(&b);
			if (b.err)
				c->out.err = b.err;
			else
				zkl_put(&c->out, "data", ZKBUF_DATA(&b),
				    ZKBUF_LEN(&b));
			zkbuf_free(&b);
		} else
			zkl_puts(&c->out, "data", "");
		zkl_end(&c->out);
	} else if (strcmp(l->verb, "hello") != 0)
		zk_dbg("gate: %s ignored", l->verb);
}

/* new conn=N timeout=T: a fresh id and password. */
static void
mint(struct zkconn *c, const struct zkline *l)
{
	struct sess	*s;
	const char	*conn = zkl_str(l, "conn");

	while (lookup(S.nextid) != NULL)
		S.nextid++;
	s = insert(S.nextid++);
	newpw(s->passwd);
	s->timeout = clamp(zkl_intdef(l, "timeout", 0));
	s->deadline = zk_mono_ms() + s->timeout;
	s->state = S_MINTED;
	zkl_begin(&c->out, "new");
	if (conn != NULL)
		zkl_puts(&c->out, "conn", conn);
	zkl_putx(&c->out, "session", (int64_t)s->id);
	putpw(&c->out, s->passwd);
	zkl_putd(&c->out, "timeout", s->timeout);
	zkl_end(&c->out);
	zk_dbg("new 0x%" PRIx64 " timeout %d", s->id, s->timeout);
}

/* attach conn=N session=ID passwd=HEX timeout=T */
static void
attach(struct zkconn *c, const struct zkline *l)
{
	struct sess	*s = NULL;
	const char	*conn = zkl_str(l, "conn"), *v;
	unsigned char	 pw[PWLEN];
	uint64_t	 id = 0;
	int		 ok = 0;

	if ((v = zkl_str(l, "session")) != NULL && parsesid(v, &id) == 0 &&
	    (s = lookup(id)) != NULL && s->state != S_CLOSING &&
	    (v = zkl_str(l, "passwd")) != NULL &&
	    zk_hexdec(pw, PWLEN, v) == 0 &&
	    samepw(pw, s->passwd)) {
		ok = 1;
		s->timeout = clamp(zkl_intdef(l, "timeout", 0));
		s->deadline = zk_mono_ms() + s->timeout;
	}
	zkl_begin(&c->out, "attach");
	if (conn != NULL)
		zkl_puts(&c->out, "conn", conn);
	zkl_putx(&c->out, "session", (int64_t)id);
	zkl_putd(&c->out, "ok", ok);
	zkl_putd(&c->out, "timeout", ok ? s->timeout : 0);
	zkl_end(&c->out);
	zk_dbg("attach 0x%" PRIx64 " ok=%d", id, ok);
}

/* A learner's touches go on to the leader's zk-sessiond, via zk-log. */
static void
sendtouch(const struct zkline *l)
{
	size_t	 i;

	if (S.log == NULL || zkl_get(l, "session") == NULL)
		return;
	zkl_begin(&S.log->out, "touch");
	for (i = 0; i < l->nf; i++)
		if (strcmp(l->f[i].key, "session") == 0)
			zkl_put(&S.log->out, "session", l->f[i].val,
			    l->f[i].len);
	zkl_end(&S.log->out);
	if (S.log->out.err)
		errc(EX_OSERR, S.log->out.err, "log connection");
}

/* touch session=ID session=ID ...: these had traffic. */
static void
touch(const struct zkline *l)
{
	struct sess	*s;
	uint64_t	 id;
	int64_t		 now = zk_mono_ms();
	size_t		 i;

	for (i = 0; i < l->nf; i++) {
		if (strcmp(l->f[i].key, "session") != 0 ||
		    parsesid(l->f[i].val, &id) == -1 ||
		    (s = lookup(id)) == NULL || s->state == S_CLOSING)
			continue;
		if (s->deadline < now + s->timeout)
			s->deadline = now + s->timeout;
	}
}

static int
dumpcmp(const void *a, const void *b)
{
	const int64_t	*x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (uint64_t)x[1] < (uint64_t)y[1] ? -1 :
	    (uint64_t)x[1] > (uint64_t)y[1];
}

/*
 * Apache's "SessionTracker dump": the live sessions grouped by their
 * deadline rounded up to the next tick, as its expiry queue keeps them.
 */
static void
dump(struct zkbuf *b)
{
	struct sess	*s;
	struct tm	 tm;
	time_t		 t;
	int64_t		*v, tick = S.cfg.tickTime, off;
	char		 date[64];
	size_t		 n = 0, nsets = 0, i, j;

	if ((v = reallocarray(NULL, S.nsess + 1, 2 * sizeof(*v))) == NULL) {
		b->err = ENOMEM;
		return;
	}
	RB_FOREACH(s, sesstree, &S.sessions) {
		if (s->state == S_CLOSING)
			continue;
		v[2 * n] = (s->deadline / tick + 1) * tick;
		v[2 * n + 1] = (int64_t)s->id;
		n++;
	}
	qsort(v, n, 2 * sizeof(*v), dumpcmp);
	for (i = 0; i < n; i++)
		if (i == 0 || v[2 * i] != v[2 * i - 2])
			nsets++;
	off = zk_now_ms() - zk_mono_ms();
	zkbuf_printf(b, "SessionTracker dump:\nSession Sets (%zu)/(%zu):\n",
	    nsets, n);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && v[2 * j] == v[2 * i]; j++)
			;
		t = (time_t)((v[2 * i] + off) / 1000);
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(date, sizeof(date), "%a %b %d %H:%M:%S %Z %Y",
		    &tm) == 0)
			strlcpy(date, "?", sizeof(date));
		zkbuf_printf(b, "%zu expire at %s:\n", j - i, date);
		for (; i < j; i++)
			zkbuf_printf(b, "\t0x%" PRIx64 "\n", (uint64_t)v[2 * i + 1]);
	}
	free(v);
}

/* Apache's negotiation: [minSessionTimeout, maxSessionTimeout]. */
static int
clamp(int64_t t)
{
	if (t < S.cfg.minSessionTimeout)
		return S.cfg.minSessionTimeout;
	if (t > S.cfg.maxSessionTimeout)
		return S.cfg.maxSessionTimeout;
	return (int)t;
}

static struct sess *
lookup(uint64_t id)
{
	struct sess	 key;

	key.id = id;
	return RB_FIND(sesstree, &S.sessions, &key);
}

static struct sess *
insert(uint64_t id)
{
	struct sess	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		err(EX_OSERR, NULL);
	s->id = id;
	RB_INSERT(sesstree, &S.sessions, s);
	S.nsess++;
	return s;
}

static void
drop(struct sess *s)
{
	RB_REMOVE(sesstree, &S.sessions, s);
	S.nsess--;
	free(s);
}

/*
 * A check LATE ms after it was due, a tick or more: this process (or
 * the whole node, or the machine) did not run meanwhile, and neither
 * did the gate that passes on its clients' touches.  That time is not
 * held against the clients: every deadline moves on by it.
 */
static void
stalled(int64_t late)
{
	struct sess	*s;

	if (late < S.cfg.tickTime)
		return;
	warnx("did not run for %" PRId64 " ms: the sessions' deadlines move "
	    "on by as much", late);
	RB_FOREACH(s, sesstree, &S.sessions)
		if (s->state != S_CLOSING)
			s->deadline += late;
}

/*
 * Every tickTime/2: close the sessions whose deadline passed.  A closing
 * session zk-tree never had is forgotten after its timeout; one it has
 * but did not close (the txn failed) gets closeSession again.
 */
static void
expire(void)
{
	struct sess	*s, *t;
	int64_t		 now = zk_mono_ms(), again;

	RB_FOREACH_SAFE(s, sesstree, &S.sessions, t) {
		if (s->state != S_CLOSING) {
			if (now >= s->deadline)
				closesession(s);
			continue;
		}
		again = 2 * (int64_t)s->timeout;
		if (again < 10000)
			again = 10000;
		if (!s->known && now - s->closed >= s->timeout)
			drop(s);
		else if (s->known && now - s->closed >= again) {
			warnx("session 0x%" PRIx64 " still open, closing "
			    "again", s->id);
			closesession(s);
		}
	}
	if (S.log->out.err)
		errc(EX_OSERR, S.log->out.err, "log connection");
}

static void
closesession(struct sess *s)
{
	zkl_begin(&S.log->out, "closeSession");
	zkl_putx(&S.log->out, "session", (int64_t)s->id);
	zkl_end(&S.log->out);
	s->state = S_CLOSING;
	s->closed = zk_mono_ms();
	zk_dbg("expire 0x%" PRIx64, s->id);
}

static int
parsesid(const char *v, uint64_t *id)
{
	int64_t	 n;

	if (zkl_parseint(v, &n) == -1)
		return -1;
	*id = (uint64_t)n;
	return 0;
}

/* Constant time, as timingsafe_bcmp(3) (not in Debian's libbsd). */
static int
samepw(const unsigned char *a, const unsigned char *b)
{
	unsigned char	 d = 0;
	int		 i;

	for (i = 0; i < PWLEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void
putpw(struct zkbuf *b, const unsigned char *pw)
{
	char	 s[2 * PWLEN + 1];

	zk_hexenc(s, pw, PWLEN);
	zkl_puts(b, "passwd", s);
}

/*
 * A fresh password from a pool that arc4random_buf fills 256 at a time:
 * libbsd's arc4random calls getpid(2) on every call (to notice a fork;
 * zk-sessiond never forks), one syscall per session.  Bytes handed out
 * are wiped from the pool.
 */
static void
newpw(unsigned char *pw)
{
	unsigned char	*p;

	if (S.poolleft < PWLEN) {
		arc4random_buf(S.pool, sizeof(S.pool));
		S.poolleft = sizeof(S.pool);
	}
	p = S.pool + sizeof(S.pool) - S.poolleft;
	memcpy(pw, p, PWLEN);
	explicit_bzero(p, PWLEN);
	S.poolleft -= PWLEN;
}
