/*
 * zk-elect: leader election between the servers of an ensemble, on the
 * election port of each server.N line.  The algorithm is libzk/elect.c
 * (fast leader election, a state machine); this program does its
 * sockets and its clock.  Peers talk in lines (zk-streams(7)):
 *
 *	hello myid=1				the dialing side, first
 *	vote from=1 state=looking round=3 leader=2 zxid=0x100000004 epoch=1
 *
 * After a reconfig a vote also carries config=TEXT, the members we go by
 * (as /zookeeper/config holds them).  A peer's newer ones go to zk-log
 * (`members config=TEXT`), which takes them as if it had applied that
 * reconfig, as Apache's election passes configs on: a node that slept
 * through reconfigs could otherwise count a quorum among members that
 * are no longer, and never find the leader of the new ones.
 *
 * One connection per pair of servers: the smaller myid dials the
 * larger, asynchronously, and gives up a connect that has not gone
 * through in CONNECTMS, so a peer whose packets are dropped never holds
 * anyone up.  On RUNDIR/elect.sock the node's own programs say when to
 * look for a leader and hear the outcome:
 *
 *	look zxid=0x100000004 epoch=1		start an election
 *	role state=looking round=3		to every connection, on each change
 *	role state=following leader=2 round=3 epoch=1 zxid=0x100000004 addr=host:port
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"

#define CONNECTMS	1000	/* a dial not through by then is given up */
#define RETRYMS		250	/* first wait before dialing again, */
#define RETRYMAX	2000	/* ... doubling up to this */
#define MAXLINE		16384	/* a vote is ~100 bytes, its config text
				   a few KB at most: more is no peer */

struct peer {
	struct zkserver		 srv;		/* id -1: left (reconfig) */
	struct zkconn		*c;
	int			 up;		/* hello through, votes flow */
	int64_t			 dialed;	/* when the dial began, 0: none */
	int64_t			 retry;		/* dial again then */
	int64_t			 backoff;
};

struct sub {
	struct zkconn		*c;
	LIST_ENTRY(sub)		 entry;
};

static struct zkcfg	 cfg;
static struct zkloop	*loop;
static struct fle	 fle;
static struct peer	 peers[ZK_MAXSERVERS];
static int		 npeers, started;
static LIST_HEAD(, sub)	 subs = LIST_HEAD_INITIALIZER(subs);
static struct zkbuf	 rolebuf;
static struct zkbuf	 cfgtext;	/* our members' text, after a reconfig */
static int64_t		 told;		/* the newest members told zk-log */

static void	usage(void) __attribute__((noreturn));
static void	act(const struct fle_out *);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-d] -c zoo.cfg -r rundir\n",
	    getprogname());
	exit(EX_USAGE);
}

static struct peer *
peerof(int id)
{
	int	 i;

	for (i = 0; id >= 0 && i < npeers; i++)
		if (peers[i].srv.id == id)
			return &peers[i];
	return NULL;
}

/* The role line every program of the node follows. */
static void
roleline(struct zkbuf *b)
{
	const struct peer	*p;
	const struct zkserver	*s = NULL;
	int			 i;

	zkl_begin(b, "role");
	zkl_puts(b, "state", fle_statename(fle.state));
	if (fle.state != FLE_LOOKING) {
		zkl_putd(b, "leader", fle.leader);
		if ((p = peerof((int)fle.leader)) != NULL)
			s = &p->srv;
		for (i = 0; s == NULL && i < cfg.nservers; i++)
			if (cfg.servers[i].id == fle.leader)
				s = &cfg.servers[i];
	}
	zkl_putd(b, "round", fle.round);
	if (fle.state != FLE_LOOKING) {
		zkl_putd(b, "epoch", fle.settled.epoch);
		zkl_putx(b, "zxid", fle.settled.zxid);
		if (s != NULL) {
			char	 addr[sizeof(s->host) + 16];

			snprintf(addr, sizeof(addr), "%s:%d", s->host,
			    s->quorumport);
			zkl_puts(b, "addr", addr);
		}
	}
	zkl_end(b);
}

static void
publish(void)
{
	struct sub	*u;

	zkbuf_reset(&rolebuf);
	roleline(&rolebuf);
	if (rolebuf.err)
		errc(EX_OSERR, rolebuf.err, "role");
	zk_dbg("%.*s", (int)ZKBUF_LEN(&rolebuf) - 1, ZKBUF_DATA(&rolebuf));
	LIST_FOREACH(u, &subs, entry)
		zkbuf_add(&u->c->out, ZKBUF_DATA(&rolebuf),
		    ZKBUF_LEN(&rolebuf));
}

/* What the election says to do: send votes, announce a settled role. */
static void
act(const struct fle_out *o)
{
	struct peer	*p;
	size_t		 i;

	for (i = 0; i < o->nsend; i++) {
		if ((p = peerof(o->send[i].to)) == NULL || !p->up)
			continue;	/* sent again on the next timer */
		fle_put(&p->c->out, &o->send[i], ZKBUF_LEN(&cfgtext) > 0 ?
		    ZKBUF_DATA(&cfgtext) : NULL, ZKBUF_LEN(&cfgtext));
	}
	if (o->settled)
		publish();
}

/* ---- peers ---- */

static void	 sub_read(struct zkconn *);

/*
 * A settled node about to answer a looker with where it stands reads
 * first what its own programs sent: zk-log's `look` may be in its socket
 * unread, behind this vote in the same pass.  A leader that handed off
 * answered LEADING once more so, the looker (its target) followed it
 * with the followers' stale answers, and the handoff waited 200 ms.
 */
static void
subsfirst(void)
{
	struct sub	*u, *next;

	LIST_FOREACH_SAFE(u, &subs, entry, next)	/* sub_read may close u */
		if (!u->c->dead && zkbuf_read(&u->c->in, u->c->fd) > 0)
			sub_read(u->c);
}

static void
peer_up(struct peer *p)
{
	struct fle_out	 o;

	p->up = 1;
	p->dialed = 0;
	p->backoff = RETRYMS;
	zk_dbg("peer %d up", p->srv.id);
	if (started) {
		fle_peerup(&fle, p->srv.id, &o);
		act(&o);
	}
}

/* The text of our members after a reconfig (none before one). */
static void
conftext(void)
{
	zkbuf_reset(&cfgtext);
	if (cfg.configVersion > 0)
		zkcfg_conftext(&cfgtext, cfg.servers, cfg.nservers,
		    cfg.configVersion);
	if (cfgtext.err)
		errc(EX_OSERR, cfgtext.err, "config");
}

/* A peer's vote carried members newer than ours: zk-log takes them. */
static void
newer(const struct zkfield *f)
{
	struct zkserver	 sv[ZK_MAXSERVERS];
	struct zkbuf	 b = { 0 };
	struct sub	*u;
	const char	*why;
	int64_t		 v;
	int		 n;

	if (zkcfg_parsetext(f->val, sv, &n, &v, &why) == -1) {
		warnx("a vote's config: %s, ignored", why);
		return;
	}
	if (v <= cfg.configVersion || v <= told)
		return;
	told = v;
	zk_dbg("a peer goes by members of version 0x%" PRIx64, v);
	zkl_begin(&b, "members");
	zkl_put(&b, "config", f->val, f->len);
	zkl_end(&b);
	if (b.err)
		errc(EX_OSERR, b.err, "members");
	LIST_FOREACH(u, &subs, entry)
		zkbuf_add(&u->c->out, ZKBUF_DATA(&b), ZKBUF_LEN(&b));
	zkbuf_free(&b);
}

static void
peer_line(struct peer *p, char *s, size_t n)
{
	struct zkline		 l;
	const struct zkfield	*f;
	struct fle_msg		 m;
	struct fle_out		 o;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || fle_parse(&l, &m) == -1 ||
	    m.from != p->srv.id) {
		warnx("peer %d: bad line", p->srv.id);
		zkl_free(&l);
		return;
	}
	if (!started) {
		zkl_free(&l);
		return;		/* no vote of ours yet, nor zk-log */
	}
	if ((f = zkl_get(&l, "config")) != NULL)
		newer(f);
	zkl_free(&l);
	if (fle.state != FLE_LOOKING && m.state == FLE_LOOKING)
		subsfirst();
	fle_recv(&fle, zk_mono_ms(), &m, &o);
	act(&o);
}

/* A line that does not end within MAXLINE closes its connection. */
static void
toolong(struct zkconn *c)
{
	if (!c->dead && ZKBUF_LEN(&c->in) > MAXLINE) {
		warnx("a line of over %d bytes: connection closed", MAXLINE);
		zkloop_kill(c);
	}
}

static void
peer_read(struct zkconn *c)
{
	struct peer	*p = c->arg;
	char		*s;
	size_t		 n;

	while (!c->dead && zkl_next(&c->in, &s, &n) == 1) {
		peer_line(p, s, n);
		zkbuf_consume(&c->in, n + 1);
	}
	toolong(c);
}

static void
peer_close(struct zkconn *c)
{
	struct peer	*p = c->arg;
	struct fle_out	 o;
	int64_t		 now = zk_mono_ms();

	if (p == NULL)
		return;
	zk_dbg("peer %d down", p->srv.id);
	p->c = NULL;
	p->up = 0;		/* before act(), which sends to peers up */
	/*
	 * No wait for its vote: a connection that was up closed, or a dial
	 * failed (refused, or not through in CONNECTMS).  A peer we could
	 * not reach at all must count as down too, or a quorum that agrees
	 * waits the whole FLE_FINALIZE for a vote that cannot come (a
	 * failover's slow tail, when the dead leader was one we had not
	 * redialed since it came back).
	 */
	if (started) {
		fle_peerdown(&fle, now, p->srv.id, &o);
		act(&o);
	}
	p->dialed = 0;
	p->retry = now + p->backoff;
	p->backoff = p->backoff * 2 > RETRYMAX ? RETRYMAX : p->backoff * 2;
}

static void
dial(struct peer *p, int64_t now)
{
	int	 fd;

	if ((fd = zk_dial_tcp(p->srv.host, p->srv.electionport)) == -1 ||
	    (p->c = zkloop_conn(loop, fd, peer_read, peer_close, p)) ==
	    NULL) {
		if (fd != -1)
			close(fd);
		p->retry = now + p->backoff;
		return;
	}
	p->dialed = now;
	/* out while the connect is under way: empty once it went through */
	zkbuf_printf(&p->c->out, "hello myid=%d\n", cfg.myid);
}

/* Dial who is due; a dial that went through is up, one too slow is cut. */
static void
dials(int64_t now)
{
	struct peer	*p;
	int		 i;

	for (i = 0; i < npeers; i++) {
		p = &peers[i];
		if (p->srv.id < cfg.myid)
			continue;		/* it dials us */
		if (p->c == NULL && now >= p->retry)
			dial(p, now);
		else if (p->c != NULL && !p->up && p->dialed != 0) {
			if (ZKBUF_LEN(&p->c->out) == 0)
				peer_up(p);
			else if (now - p->dialed >= CONNECTMS)
				zkloop_kill(p->c);
		}
	}
}

/* An accepted connection says who it is first. */
static void
hello_read(struct zkconn *c)
{
	struct zkline	 l;
	struct peer	*p;
	int64_t		 id;
	char		*s;
	size_t		 n;

	if (zkl_next(&c->in, &s, &n) != 1) {
		toolong(c);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || strcmp(l.verb, "hello") != 0 ||
	    zkl_int(&l, "myid", &id) == -1 || id >= cfg.myid ||
	    id < 0 || (p = peerof((int)id)) == NULL) {
		warnx("election port: a connection that is no peer of ours");
		zkl_free(&l);
		zkloop_kill(c);
		return;
	}
	zkl_free(&l);
	zkbuf_consume(&c->in, n + 1);
	if (p->c != NULL)
		zkloop_kill(p->c);	/* a stale one: the new one wins */
	p->c = c;
	c->arg = p;
	c->onread = peer_read;
	c->onclose = peer_close;
	peer_up(p);
	peer_read(c);
}

static void
onpeer(struct zkloop *lp, int fd, void *arg)
{
	(void)arg;
	if (zkloop_conn(lp, fd, hello_read, NULL, NULL) == NULL) {
		warn("election port");
		close(fd);
	}
}

/*
 * zk-log took the members of a reconfig (dataDir/zoo.cfg.dynamic): read
 * them again.  Members join (we dial those above us, accept the others),
 * leave (their connection closed) or change kind, and a quorum is then
 * one of the new voters (fle_members); a change of our own kind is
 * zk-log's to restart the node on (zk-log does not tell us of it).
 */
static void
members(void)
{
	struct zkcfg	 nc;
	struct peer	*p;
	char		 errbuf[1200];
	int		 ids[ZK_MAXSERVERS], voter[ZK_MAXSERVERS];
	int		 i, j;

	if (zkcfg_load(&nc, cfg.file, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	for (i = 0; i < nc.nservers; i++) {
		ids[i] = nc.servers[i].id;
		voter[i] = !nc.servers[i].observer;
	}
	if (fle_members(&fle, ids, voter, nc.nservers) == -1)
		errx(EX_TEMPFAIL, "members of version 0x%" PRIx64 ": this "
		    "node changed kind: starting again", nc.configVersion);
	for (j = 0; j < npeers; j++) {		/* the ones that left */
		p = &peers[j];
		for (i = 0; i < nc.nservers && p->srv.id != -1 &&
		    nc.servers[i].id != p->srv.id; i++)
			;
		if (p->srv.id == -1 || i < nc.nservers)
			continue;
		zk_dbg("peer %d left", p->srv.id);
		if (p->c != NULL) {
			p->c->arg = NULL;
			zkloop_kill(p->c);
		}
		memset(p, 0, sizeof(*p));
		p->srv.id = -1;
	}
	for (i = 0; i < nc.nservers; i++) {	/* joined, or moved */
		if (nc.servers[i].id == cfg.myid)
			continue;
		if ((p = peerof(nc.servers[i].id)) == NULL) {
			for (j = 0; j < npeers && peers[j].srv.id != -1; j++)
				;
			if (j == npeers) {
				if (npeers == ZK_MAXSERVERS)
					errx(EX_SOFTWARE, "no room for a peer");
				npeers++;
			}
			p = &peers[j];
			memset(p, 0, sizeof(*p));
			p->backoff = RETRYMS;
			zk_dbg("peer %d joined", nc.servers[i].id);
		}
		p->srv = nc.servers[i];
	}
	nc.role = cfg.role;
	cfg = nc;
	conftext();
}

/* ---- the node's programs, on elect.sock ---- */

static void
sub_line(struct sub *u, char *s, size_t n)
{
	struct zkline	 l;
	struct fle_out	 o;
	int64_t		 zxid, epoch, to;
	int		 i;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1) {
		warnx("elect.sock: bad line");
		return;
	}
	if (strcmp(l.verb, "look") == 0) {
		if (zkl_int(&l, "zxid", &zxid) == -1 ||
		    zkl_int(&l, "epoch", &epoch) == -1 || zxid < 0 ||
		    epoch < 0)
			warnx("elect.sock: look without zxid= and epoch=");
		else {
			started = 1;
			/*
			 * Who we could not reach is dialed now, not when its
			 * backoff runs out (up to RETRYMAX): a peer that came
			 * up meanwhile must hear this round's votes within
			 * the finalize wait, or a quorum settles without the
			 * best of them (Apache dials as it sends, too)
			 */
			for (i = 0; i < npeers; i++)
				if (peers[i].c == NULL)
					peers[i].retry = 0;
			/* a leader that handed off votes for that voter */
			if (zkl_int(&l, "for", &to) == 0 && to >= 0 &&
			    to <= INT32_MAX)
				fle.handto = to;
			fle_start(&fle, zk_mono_ms(), zxid, epoch, &o);
			publish();	/* looking */
			act(&o);
		}
	} else if (strcmp(l.verb, "epoch") == 0) {
		/* zk-log serves in this epoch under our leader */
		if (zkl_int(&l, "epoch", &epoch) == -1 || epoch < 0)
			warnx("elect.sock: epoch without epoch=");
		else
			fle_epoch(&fle, epoch);
	} else if (strcmp(l.verb, "members") == 0)
		members();
	else if (strcmp(l.verb, "hello") != 0)
		warnx("elect.sock: %s: unknown, ignored", l.verb);
	(void)u;
	zkl_free(&l);
}

static void
sub_read(struct zkconn *c)
{
	char	*s;
	size_t	 n;

	while (!c->dead && zkl_next(&c->in, &s, &n) == 1) {
		sub_line(c->arg, s, n);
		zkbuf_consume(&c->in, n + 1);
	}
	toolong(c);
}

static void
sub_close(struct zkconn *c)
{
	struct sub	*u = c->arg;

	LIST_REMOVE(u, entry);
	free(u);
}

static void
onsub(struct zkloop *lp, int fd, void *arg)
{
	struct sub	*u;

	(void)arg;
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->c = zkloop_conn(lp, fd, sub_read, sub_close, u)) == NULL) {
		warn("elect.sock");
		free(u);
		close(fd);
		return;
	}
	LIST_INSERT_HEAD(&subs, u, entry);
	roleline(&u->c->out);		/* where we stand now */
}

int
main(int argc, char *argv[])
{
	const struct zkserver	*me = NULL;
	const char		*cfgfile = NULL, *rundir = NULL;
	char			 errbuf[1200], path[PATH_MAX];
	int			 ids[ZK_MAXSERVERS], voter[ZK_MAXSERVERS];
	int			 ch, fd, i, timeout;
	int64_t			 now, d;

	while ((ch = getopt(argc, argv, "c:dr:")) != -1)
		if (!zk_daemonopt(ch, optarg, &cfgfile, &rundir))
			usage();
	if (optind != argc || cfgfile == NULL || rundir == NULL)
		usage();
	if (zkcfg_load(&cfg, cfgfile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (cfg.nservers < 2)
		errx(EX_CONFIG, "%s: no ensemble (two or more server.N lines) "
		    "to elect a leader in", cfgfile);
	for (i = 0; i < cfg.nservers; i++) {
		ids[i] = cfg.servers[i].id;
		voter[i] = !cfg.servers[i].observer;
		if (cfg.servers[i].id == cfg.myid)
			me = &cfg.servers[i];
		else
			peers[npeers++].srv = cfg.servers[i];
	}
	if (me == NULL)
		errx(EX_CONFIG, "%s: myid %d has no server.%d line", cfgfile,
		    cfg.myid, cfg.myid);
	if (me->electionport <= 0)
		errx(EX_CONFIG, "%s: server.%d has no election port", cfgfile,
		    cfg.myid);
	if (fle_init(&fle, cfg.myid, ids, voter, cfg.nservers) == -1)
		errx(EX_CONFIG, "%s: the server.N lines make no ensemble",
		    cfgfile);
	conftext();
	for (i = 0; i < npeers; i++)
		peers[i].backoff = RETRYMS;
	signal(SIGPIPE, SIG_IGN);
	if (zk_supervisor() != 0 && zk_onterm() == -1)
		err(EX_OSERR, "sigaction");
	if ((loop = zkloop_new()) == NULL)
		err(EX_OSERR, NULL);
	if ((fd = zk_listen_tcp(me->host, me->electionport)) == -1)
		err(errno == EADDRINUSE || errno == EADDRNOTAVAIL ||
		    errno == EACCES ? EX_CONFIG : EX_OSERR, "%s:%d", me->host,
		    me->electionport);
	if (zkloop_listen(loop, fd, onpeer, NULL) == -1)
		err(EX_OSERR, "election port");
	if ((size_t)snprintf(path, sizeof(path), "%s/elect.sock", rundir) >=
	    sizeof(path))
		errx(EX_USAGE, "%s: run directory path too long", rundir);
	if ((fd = zk_listen_unix(path)) == -1 ||
	    zkloop_listen(loop, fd, onsub, NULL) == -1)
		err(EX_OSERR, "%s", path);
	zk_dbg("myid %d, %d peers, election port %s:%d", cfg.myid, npeers,
	    me->host, me->electionport);

	for (;;) {
		/* under zk-node, SIGTERM (to its whole group) waits for
		   zk-log, which may be handing leadership off, to go */
		if (zk_termed() && LIST_EMPTY(&subs))
			exit(0);
		now = zk_mono_ms();
		timeout = 100;		/* dials and their timeouts */
		if (started && (d = fle_deadline(&fle)) != 0 &&
		    d - now < timeout)
			timeout = d - now < 0 ? 0 : (int)(d - now);
		if (zkloop_run(loop, timeout) == -1)
			err(EX_OSERR, "poll");
		/*
		 * The clock only after a poll: a vote that came while this
		 * process did not run (SIGSTOP, a stalled machine) is
		 * counted before the finalize wait is taken to have run
		 * out.
		 */
		now = zk_mono_ms();
		dials(now);
		if (started && (d = fle_deadline(&fle)) != 0 && d <= now) {
			struct fle_out	 o;

			/*
			 * Stopped after the poll and before the clock, we
			 * did not read what came meanwhile: a pass without
			 * waiting reads it first, and the wait is judged by
			 * the clock taken before that pass
			 */
			if (zkloop_run(loop, 0) == -1)
				err(EX_OSERR, "poll");
			if ((d = fle_deadline(&fle)) != 0 && d <= now) {
				fle_tick(&fle, now, &o);
				act(&o);
			}
		}
	}
}
