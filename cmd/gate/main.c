/*
 * zk-gate: the client port.  Decodes ZooKeeper frames into request lines
 * (libzk/STREAMS.md) for zk-tree (reads) and zk-log (writes), turns the
 * `r`, `ev` and `closed` lines of zk-tree back into frames, keeps each
 * connection's replies in request order, answers four-letter words and,
 * on metricsProvider.httpPort, Prometheus scrapes of /metrics.
 *
 * This file: options, startup, the loop and its timers; gate.h says
 * where the rest is.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "gate.h"

struct zkcfg		 cfg;
struct zkjaas		 jaas;
struct zkloop		*loop;
struct zkconn		*tree, *zlog, *sess;
int64_t			 lastzxid;
int64_t			 started;
struct latsum		 lat;
struct srvstats		 st;
static struct zkshm	 shm;		/* zk-tree's ring (zkrep_shm) */

static void	usage(void) __attribute__((noreturn));
static void	housekeeping(int64_t);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-d] -c zoo.cfg -r rundir\n", getprogname());
	exit(EX_USAGE);
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

#define DRAINMS		2000	/* SIGTERM: clients given this to go idle */
#define DRAINIDLE	100	/* ... a connection that sent nothing in
				   this long, nothing to answer, is idle */

int				 draining;

/*
 * SIGTERM: a graceful stop (a rolling restart).  New sessions are
 * refused, as by a node that does not serve; a connection is closed
 * with the reply that leaves it nothing to answer (client.c's
 * flushreplies), so that its client sees the close before it sends
 * again and moves to another server with nothing in flight lost; one
 * that has nothing to answer and sent nothing for DRAINIDLE is closed
 * then, and those still busy after DRAINMS anyway.  Once none is left,
 * zk-gate exits 0.  Sessions are not closed: their clients take them
 * along.
 */
static void
drain(int64_t now)
{
	static int64_t	 since;
	struct client	*cl, *t;
	int		 left = 0;

	if (since == 0) {
		since = now;
		draining = 1;
		zk_dbg("SIGTERM: closing client connections as they go idle");
	}
	TAILQ_FOREACH_SAFE(cl, &clients, all, t) {
		if (cl->is4lw)
			continue;
		left++;
		if (cl->c->dead || cl->closing)
			continue;
		if ((cl->npend == 0 && ZKBUF_LEN(&cl->c->in) == 0 &&
		    now - cl->heard >= DRAINIDLE) || now - since >= DRAINMS) {
			zk_dbg("draining: session 0x%" PRIx64 " closed, %s",
			    cl->session, cl->npend ? "busy" : "idle");
			cl->closing = 1;
			zkloop_close(cl->c);
		}
	}
	if (left == 0 || now - since >= DRAINMS + 1000)
		exit(0);
}

/* a configured address in use, not ours or privileged: no restart cures it */
#define BINDX(e)	((e) == EADDRINUSE || (e) == EADDRNOTAVAIL || \
			    (e) == EACCES ? EX_CONFIG : EX_OSERR)

int
main(int argc, char *argv[])
{
	const char	*file = NULL, *rundir = NULL;
	char		 errbuf[1200], path[PATH_MAX];
	int		 ch, fd, one = 1;
	int64_t		 now, tick, wait, due;

	while ((ch = getopt(argc, argv, "c:dr:")) != -1)
		if (!zk_daemonopt(ch, optarg, &file, &rundir))
			usage();
	argc -= optind;
	if (argc != 0 || file == NULL || rundir == NULL)
		usage();
	if (zkcfg_load(&cfg, file, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_node(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (cfg.jaasFile[0] != '\0' &&
	    zkjaas_load(&jaas, cfg.jaasFile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (!cfg.clientPortSet)		/* no silent default of 2181 */
		errx(EX_CONFIG, "%s: clientPort is not set", file);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	if (zk_onterm() == -1)
		err(EX_OSERR, "sigaction");
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
	due = -1;
	for (;;) {
		wait = due >= 0 && due < tick ? due : tick;
		if (zkloop_run(loop, (int)wait) == -1)
			err(EX_OSERR, "poll");
		client_reap();
		now = zk_mono_ms();
		housekeeping(now);
		due = ens_tick(now);	/* held clients, read-only mode: on time */
		if ((wait = auth_tick(now)) != -1 && (due == -1 || wait < due))
			due = wait;	/* failed authentications */
		if (zk_termed()) {
			drain(now);
			due = 20;
		}
	}
}

void
putline(struct zkconn *c, const char *p, size_t n)
{
	zkbuf_add(&c->out, p, n);
	if (c->out.err)
		errx(EX_OSERR, "out of memory");
}

/*
 * Timers: touch batches, sessionless connections.
 */
static void
housekeeping(int64_t now)
{
	static struct zkbuf	 touch;
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
		if (!cl->c->dead && cl->held && (long long)ZKBUF_LEN(&cl->c->out)
		    <= cfg.clientOutputLimit / 2) {
			cl->held = 0;		/* its reads may go again */
			nheld--;
			dispatch(cl);
		}
		if (cl->isstalled && (cl->c->dead || (!cl->c->noread &&
		    !cl->held))) {
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
	zkbuf_reset(&touch);
	zkl_begin(&touch, "touch");
	for (cl = TAILQ_FIRST(&clients); cl != NULL; cl = t) {
		t = TAILQ_NEXT(cl, all);
		if (cl->touched && cl->session != 0 &&
		    cl->state == C_OPEN && !cl->is4lw && !cl->ro) {
			cl->touched = 0;
			zkl_putx(&touch, "session", cl->session);
			n++;
		}
		if (cl->state != C_OPEN && now - cl->born > SESSIONLESS_MS &&
		    !cl->c->dead)
			zkloop_kill(cl->c);
		/* a read-only session is this node's alone: it ends here
		 * when its client goes quiet for its timeout */
		if (cl->ro && cl->state == C_OPEN && !cl->c->dead &&
		    now - cl->heard > cl->timeout) {
			zk_dbg("read-only session 0x%" PRIx64 " timed out",
			    cl->session);
			cl->closing = 1;
			zkloop_kill(cl->c);
		}
	}
	zkl_end(&touch);
	if (n > 0)
		putline(sess, ZKBUF_DATA(&touch), ZKBUF_LEN(&touch));
	TAILQ_FOREACH_SAFE(h, &scrapes, entry, ht)
		if (now - h->born > SESSIONLESS_MS && !h->c->dead)
			zkloop_kill(h->c);	/* unlinks h */
}
