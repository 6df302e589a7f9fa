/*
 * zk-tree: the in-memory znode tree.  It applies the committed request
 * stream from zk-log (all validation happens at apply time, in Apache's
 * PrepRequestProcessor order, so replicas reach the same state), answers
 * reads from zk-gate, fires watches and keeps the replicated session
 * table for zk-sessiond.  The line protocol is libzk/STREAMS.md.
 *
 * Nodes hold their name only; each node keeps its children in an RB
 * tree, and a path is found by walking its components.  ACLs are
 * interned and shared.  Watches live in an RB tree keyed by path, each
 * path holding a list of (session, data mode, child mode).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "tree.h"

struct zkcfg		 cfg;

void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-d] -c zoo.cfg -r rundir\n"
	    "       %s load [-c]\n", getprogname(), getprogname());
	exit(EX_USAGE);
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL)
		err(EX_OSERR, NULL);
	return p;
}

void *
xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t	 ncap;

	if (need <= *cap)
		return p;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if ((p = reallocarray(p, ncap, size)) == NULL)
		err(EX_OSERR, NULL);
	*cap = ncap;
	return p;
}

void
bufcheck(struct zkbuf *b)
{
	if (b->err)
		errc(EX_OSERR, b->err, "buffer");
}

int
main(int argc, char *argv[])
{
	struct zkloop	*lp;
	char		 errbuf[1400], sock[PATH_MAX];
	const char	*cfile = NULL, *rundir = NULL;
	int64_t		 now, next;
	int		 ch, fd, timeout;

	if (argc > 1 && strcmp(argv[1], "load") == 0)
		return loadmain(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:dr:")) != -1)
		if (!zk_daemonopt(ch, optarg, &cfile, &rundir))
			usage();
	if (cfile == NULL || rundir == NULL || optind != argc)
		usage();
	if (zkcfg_load(&cfg, cfile, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_node(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if ((size_t)snprintf(sock, sizeof(sock), "%s/tree.sock", rundir) >=
	    sizeof(sock))
		errx(EX_USAGE, "%s: run directory name too long", rundir);
	/* under zk-node, SIGTERM (to its whole group) waits for zk-log,
	   which may be handing leadership off: we go when it goes */
	if (zk_supervisor() != 0 && signal(SIGTERM, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	snapsetup(argv[0]);
	inittree();
	loadsnap(argv);
	initconfig();
	snapat = snapthreshold();
	if (zkshm_create(&shm, SHMSIZE) == -1)
		warn("no ring for big values (memfd): they go in the lines");
	if ((fd = zk_listen_unix(sock)) == -1)
		err(EX_OSERR, "%s", sock);
	if ((lp = zkloop_new()) == NULL || zkloop_listen(lp, fd, onaccept,
	    NULL) == -1)
		err(EX_OSERR, "loop");
	zkloop_forks(lp);	/* the snapshot children */
	next = zk_mono_ms() + cfg.containerCheckMs;
	for (;;) {
		if (gatec != NULL && gatec->noread)
			unblock(gatec);
		now = zk_mono_ms();
		timeout = next - now > INT_MAX ? INT_MAX :
		    next - now < 0 ? 0 : (int)(next - now);
		if (gatec != NULL && gatec->noread && timeout > 1)
			timeout = 1;	/* the loop may drain it before poll */
		if (snappid != -1 && timeout > 50)
			timeout = 50;	/* reap the snapshot child */
		if (zkloop_run(lp, timeout) == -1)
			err(EX_OSERR, "poll");
		if (logclosed)
			errx(EX_TEMPFAIL, "log connection closed");
		if (ready && !TAILQ_EMPTY(&pending))
			drain();
		snapreap();
		if (sincesnap >= snapat && snappid == -1)
			snapstart();

		if ((now = zk_mono_ms()) >= next) {
			if (ready && logc != NULL && nspecial > 0 &&
			    zkcfg_leads(&cfg))		/* the leader's */
				sweep(root, zk_now_ms());
			next = now + cfg.containerCheckMs;
		}
	}
}
