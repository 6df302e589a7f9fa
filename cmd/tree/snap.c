/*
 * zk-tree writing a snapshot: a forked child hands the tree to
 * zk-snap write.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "tree.h"

static char		 snapprog[PATH_MAX];	/* zk-snap, beside us */
pid_t			 snappid = -1;	/* the child writing one */
static int64_t		 snapzxid;
long			 sincesnap, snapat;
static struct peer	**snapwait;
static size_t		 nsnapwait, csnapwait;
static struct zkbuf	 sbuf;
static int		 sfd = -1;
static struct zkbuf	 pbuf;

/* zk-snap lives beside us (or in ZK_SNAP, for tests). */
void
snapsetup(const char *argv0)
{
	char	 self[PATH_MAX];
	char	*slash;
	ssize_t	 n;

	if (getenv("ZK_SNAP") != NULL) {
		if (strlcpy(snapprog, getenv("ZK_SNAP"), sizeof(snapprog)) >=
		    sizeof(snapprog))
			errx(EX_USAGE, "ZK_SNAP: name too long");
		return;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		if (strlcpy(self, argv0, sizeof(self)) >= sizeof(self))
			errx(EX_USAGE, "%s: name too long", argv0);
	} else
		self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(self, ".", sizeof(self));
	if ((size_t)snprintf(snapprog, sizeof(snapprog), "%s/zk-snap", self) >=
	    sizeof(snapprog))
		errx(EX_USAGE, "%s: name too long", self);
}

static void
sflush(int all)
{
	ssize_t	 n;

	while (ZKBUF_LEN(&sbuf) > (all ? 0 : 65535)) {
		if ((n = zkbuf_flush(&sbuf, sfd)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			warn("snapshot pipe");
			_exit(EX_IOERR);
		}
	}
	if (sbuf.err) {
		warnc(sbuf.err, "snapshot");
		_exit(EX_OSERR);
	}
}

/* One node line, then its subtree: parents before children. */
static void
dumpnode(struct node *n, size_t *count)
{
	struct node		*k;
	size_t			 off;

	zkl_begin(&sbuf, "node");
	zkbuf_reset(&pbuf);
	off = nodepath(&pbuf, n);
	zkl_put(&sbuf, "path", pbuf.p + off, pbuf.len - off);
	if (n->data != NULL)
		zkl_put(&sbuf, "data", n->data, (size_t)n->dlen);
	putacl(&sbuf, n->acl, 0);
	putstat(&sbuf, n);
	if (n->kind == K_CONTAINER)
		zkl_putd(&sbuf, "container", 1);
	else if (n->kind == K_TTL)
		zkl_putd(&sbuf, "ttl", n->owner);
	zkl_putd(&sbuf, "ctr", n->cver);
	zkl_end(&sbuf);
	(*count)++;
	sflush(0);
	RB_FOREACH(k, kids, &n->kids)
		dumpnode(k, count);
}

/*
 * The longest line dumpnode writes for n and its subtree, plen the
 * length of n's path: every byte of path, data and ACL escaped to at
 * most 4, and 512 for the keys and the numbers.
 */
static size_t
linebound(struct node *n, size_t plen)
{
	const struct ace	*e;
	struct node		*k;
	size_t			 i, m, km;

	m = 512 + 4 * (plen + (n->data != NULL ? (size_t)n->dlen : 0));
	for (i = 0; i < n->acl->n; i++) {
		e = &n->acl->ent[i];
		m += 32 + 4 * (strlen(e->scheme) + strlen(e->id));
	}
	RB_FOREACH(k, kids, &n->kids)
		if ((km = linebound(k, (plen > 1 ? plen : 0) + 1 +
		    k->nlen)) > m)
			m = km;
	return m;
}

/* The forked child: the tree as it was at fork(), into zk-snap write. */
static void __attribute__((noreturn))
snapchild(int64_t zxid)
{
	struct sess	*s;
	size_t		 nn = 0, ns = 0, max;
	pid_t		 pid;
	int		 p[2], null, st;

	closefrom(3);		/* peers must see our parent's death */
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1) {
		warn("snapshot");
		_exit(EX_OSERR);
	}
	if ((pid = fork()) == -1) {
		warn("snapshot: fork");
		_exit(EX_OSERR);
	}
	if (pid == 0) {
		if (dup2(p[0], 0) == -1 || dup2(null, 1) == -1)
			_exit(EX_OSERR);
		execl(snapprog, "zk-snap", "write", cfg.dataDir, (char *)NULL);
		warn("%s", snapprog);
		_exit(EX_UNAVAILABLE);
	}
	close(p[0]);
	sfd = p[1];
	zkbuf_printf(&sbuf, "# zk-snap 1 zxid=0x%" PRIx64 " time=%" PRId64,
	    (uint64_t)zxid, zk_now_ms());
	if ((max = linebound(root, 1)) > ZKSNAP_MAXLINE)
		zkbuf_printf(&sbuf, " maxline=%zu", max);
	zkbuf_addc(&sbuf, '\n');
	dumpnode(root, &nn);
	RB_FOREACH(s, sesstree, &sessions) {
		zkl_begin(&sbuf, "session");
		zkl_putx(&sbuf, "session", s->id);
		zkl_putd(&sbuf, "timeout", s->timeout);
		zkl_puts(&sbuf, "passwd", s->passwd);
		if (s->hadeph)
			zkl_putd(&sbuf, "eph", 1);
		zkl_end(&sbuf);
		ns++;
		sflush(0);
	}
	zkbuf_printf(&sbuf, "end nodes=%zu sessions=%zu\n", nn, ns);
	sflush(1);
	close(sfd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			_exit(EX_OSERR);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : EX_SOFTWARE);
}

/* Apache's randomised threshold: snapCount/2 + random(snapCount/2). */
long
snapthreshold(void)
{
	long	 half = cfg.snapCount / 2;

	return half + (half > 0 ? (long)arc4random_uniform((uint32_t)
	    (half > INT32_MAX ? INT32_MAX : half)) : 0) + 1;
}

static void
snapanswer(const char *file, const char *e)
{
	struct peer	*p;
	struct zkbuf	*o;
	size_t		 i;

	for (i = 0; i < nsnapwait; i++) {
		p = snapwait[i];
		p->wantsnap = 0;
		zkloop_owe(p->c, 0);
		o = &p->c->out;
		zkl_begin(o, "snapshot");
		if (e != NULL)
			zkl_puts(o, "err", e);
		else {
			zkl_puts(o, "file", file);
			zkl_putx(o, "zxid", snapzxid);
		}
		zkl_end(o);
	}
	nsnapwait = 0;
}

void
snapstart(void)
{
	pid_t	 pid;

	if (snappid != -1)
		return;
	sincesnap = 0;
	snapat = snapthreshold();
	snapzxid = lastzxid;
	fflush(stderr);
	if ((pid = fork()) == -1) {
		warn("snapshot: fork");
		snapanswer(NULL, strerror(errno));
		return;
	}
	if (pid == 0)
		snapchild(snapzxid);
	snappid = pid;
	zk_dbg("snapshot at zxid 0x%" PRIx64 " by pid %d", snapzxid, (int)pid);
}

/* Reap the snapshot child without waiting; answer who asked. */
void
snapreap(void)
{
	char	 file[PATH_MAX + 64], e[64];
	pid_t	 r;
	int	 st;

	if (snappid == -1)
		return;
	if ((r = waitpid(snappid, &st, WNOHANG)) == 0)
		return;
	if (r == -1 && errno == EINTR)
		return;
	snappid = -1;
	if (r != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		snprintf(file, sizeof(file), "%s/zk/snapshot.%016" PRIx64,
		    cfg.dataDir, (uint64_t)snapzxid);
		zk_dbg("snapshot %s written", file);
		snapanswer(file, NULL);
		return;
	}
	if (r == -1)
		snprintf(e, sizeof(e), "wait: %s", strerror(errno));
	else if (WIFEXITED(st))
		snprintf(e, sizeof(e), "zk-snap exited %d", WEXITSTATUS(st));
	else
		snprintf(e, sizeof(e), "zk-snap killed by signal %d",
		    WTERMSIG(st));
	warnx("snapshot at zxid 0x%" PRIx64 " failed: %s", (uint64_t)snapzxid,
	    e);
	snapanswer(NULL, e);
}

/* A `snapshot` line: answered when the child is done. */
void
snapreq(struct peer *p)
{
	if (!p->wantsnap) {
		snapwait = xgrow(snapwait, &csnapwait, nsnapwait + 1,
		    sizeof(*snapwait));
		snapwait[nsnapwait++] = p;
		p->wantsnap = 1;
		zkloop_owe(p->c, 1);
	}
	snapstart();
}

void
snapunwait(struct peer *p)
{
	size_t	 i;

	for (i = 0; i < nsnapwait; i++)
		if (snapwait[i] == p) {
			snapwait[i] = snapwait[--nsnapwait];
			break;
		}
	p->wantsnap = 0;
}
