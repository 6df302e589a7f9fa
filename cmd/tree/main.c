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
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "tree.h"

static struct zkcfg	 cfg;
int64_t		 loadedzxid;	/* the snapshot we started from */
static char		 snapprog[PATH_MAX];	/* zk-snap, beside us */
static pid_t		 snappid = -1;	/* the child writing one */
static int64_t		 snapzxid;
long		 sincesnap, snapat;
static struct peer	**snapwait;
static size_t		 nsnapwait, csnapwait;
static struct claim	*claims;
static size_t		 nclaims, cclaims;
static struct node	*lpnode;	/* loadparent's last */
static struct zkbuf	 lppath;
static struct zkbuf	 sbuf;
static int		 sfd = -1;
static struct zkbuf	 tmp, pbuf;

/* loading one: the numChildren and cversion each node line claimed */
struct claim {
	struct node	*n;
	int32_t		 nkids, cversion;
};

static void __attribute__((noreturn))
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

/* zk-snap lives beside us (or in ZK_SNAP, for tests). */
static void
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

/* The forked child: the tree as it was at fork(), into zk-snap write. */
static void __attribute__((noreturn))
snapchild(int64_t zxid)
{
	struct sess	*s;
	size_t		 nn = 0, ns = 0;
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
	zkbuf_printf(&sbuf, "# zk-snap 1 zxid=0x%" PRIx64 " time=%" PRId64
	    "\n", (uint64_t)zxid, zk_now_ms());
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
static long
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

static void
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
static void
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

/*
 * The node at path p (a parent), found once for a run of siblings: a
 * snapshot lists a node's children one after the other.  Only while
 * loading, when no node goes away (loaddone forgets it).
 */
static struct node *
loadparent(const char *p, size_t len)
{
	if (lpnode != NULL && ZKBUF_LEN(&lppath) == len && (len == 0 ||
	    memcmp(ZKBUF_DATA(&lppath), p, len) == 0))
		return lpnode;
	if ((lpnode = lookup(p, len)) != NULL) {
		zkbuf_reset(&lppath);
		zkbuf_add(&lppath, p, len);
		bufcheck(&lppath);
	}
	return lpnode;
}

static void
loaddone(void)
{
	lpnode = NULL;
	zkbuf_free(&lppath);
}

/* A node line: make or update the node it names. */
static int
loadnode(struct zkline *l, const char **why)
{
	const struct zkfield	*pf = NULL, *sf = NULL, *df = NULL, *cf = NULL;
	const struct zkfield	*tf = NULL, *rf = NULL, *f;
	struct node		*n, *parent, *old;
	struct zkstat		 st;
	struct acl		*acl;
	struct claim		*c;
	const char		*slash, *sv;
	size_t			 i, j;
	int64_t			 ttl = 0, ctr;
	int			 kind = K_NORMAL, badacl = 0;

	/* one pass over the fields (the first of each key counts, as with
	 * zkl_get), the ACL entries gathered in order */
	const struct {
		const char		 *key;
		const struct zkfield	**f;
	} keys[] = { { "path", &pf }, { "stat", &sf }, { "data", &df },
	    { "container", &cf }, { "ttl", &tf }, { "ctr", &rf } };

	zkbuf_reset(&tmp);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (strcmp(f->key, "acl") == 0) {
			if (memchr(f->val, '\n', f->len) != NULL ||
			    (sv = memchr(f->val, ':', f->len)) == NULL ||
			    memchr(sv + 1, ':', f->len -
			    (size_t)(sv + 1 - f->val)) == NULL)
				badacl = 1;
			zkbuf_add(&tmp, f->val, f->len);
			zkbuf_addc(&tmp, '\n');
			continue;
		}
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (*keys[j].f == NULL && f->key[0] == keys[j].key[0] &&
			    strcmp(f->key, keys[j].key) == 0) {
				*keys[j].f = f;
				break;
			}
	}
	if (pf == NULL || sf == NULL || zkl_parsestat(sf->val, &st) == -1) {
		*why = "node line without path or stat";
		return -1;
	}
	if (!validpath(pf->val, pf->len)) {
		*why = "bad path";
		return -1;
	}
	if (badacl) {
		*why = "bad acl";
		return -1;
	}
	zkbuf_addc(&tmp, '\0');
	bufcheck(&tmp);
	if (cf != NULL)
		kind = K_CONTAINER;
	else if (tf != NULL && zkl_parseint(tf->val, &ttl) == 0)
		kind = K_TTL;
	else if (st.ephemeralOwner != 0)
		kind = K_EPHEMERAL;
	acl = aclintern(tmp.p, tmp.len - 1);
	if (pf->len == 1)
		n = root;
	else {
		slash = memrchr(pf->val, '/', pf->len);
		if ((parent = loadparent(pf->val, (size_t)(slash - pf->val))) ==
		    NULL) {
			aclunref(acl);
			*why = "parent missing";
			return -1;
		}
		if (parent->kind == K_EPHEMERAL) {
			aclunref(acl);
			*why = "child of an ephemeral node";
			return -1;
		}
		n = newnode(parent, slash + 1, pf->len - (size_t)(slash - pf->val)
		    - 1, df, acl, kind, kind == K_EPHEMERAL ? st.ephemeralOwner :
		    kind == K_TTL ? ttl : 0);
		if ((old = kidinsert(parent, n)) == NULL) {
			attached(n);
			acl = NULL;
		} else {
			free(n);	/* its name and data were inline */
			n = old;
		}
	}
	if (acl != NULL) {
		/* the root and /zookeeper... exist from the start */
		aclunref(n->acl);
		n->acl = acl;
		datasize -= n->dlen;
		freedata(n, n->data);
		if (df == NULL)
			n->data = NULL;
		else if (df->len == 0)
			n->data = empty;
		else {
			n->data = xmalloc(df->len);
			memcpy(n->data, df->val, df->len);
		}
		n->dlen = df ? (int32_t)df->len : 0;
		datasize += n->dlen;
		if (n->kind != kind) {
			*why = "special node of another kind";
			return -1;
		}
	}
	n->czxid = st.czxid;
	n->mzxid = st.mzxid;
	n->pzxid = st.pzxid;
	n->ctime = st.ctime;
	n->mtime = st.mtime;
	n->version = st.version;
	n->aversion = st.aversion;
	if (rf == NULL || zkl_parseint(rf->val, &ctr) == -1)
		ctr = ((int64_t)st.cversion + st.numChildren + 1) / 2;
	n->cver = (int32_t)ctr;
	claims = xgrow(claims, &cclaims, nclaims + 1, sizeof(*claims));
	c = &claims[nclaims++];
	c->n = n;
	c->nkids = st.numChildren;
	c->cversion = st.cversion;
	return 0;
}

static int
loadsess(struct zkline *l, const char **why)
{
	struct sess	*s;
	const char	*pw = zkl_str(l, "passwd");
	int64_t		 id;

	if (zkl_int(l, "session", &id) == -1) {
		*why = "session line without session";
		return -1;
	}
	if (sessfind(id) != NULL) {
		*why = "session twice";
		return -1;
	}
	s = xmalloc(sizeof(*s));
	memset(s, 0, sizeof(*s));
	s->id = id;
	LIST_INIT(&s->eph);
	s->timeout = zkl_intdef(l, "timeout", 0);
	s->hadeph = zkl_intdef(l, "eph", 0) != 0;
	if ((s->passwd = strdup(pw ? pw : "")) == NULL)
		err(EX_OSERR, NULL);
	RB_INSERT(sesstree, &sessions, s);
	nsess++;
	return 0;
}

/* what loadsnap learns of loading one snapshot (loadline's arg) */
struct loading {
	const struct zksnapinfo	*info;
	int64_t			 want;		/* the zxid its name says */
	size_t			 lines;		/* given to the tree */
	int			 refused;	/* a line it refused */
};

static int
loadline(struct zkline *l, void *arg, const char **why)
{
	struct loading	*g = arg;
	int		 rc = 0;

	if (g != NULL && g->lines == 0 && g->info->zxid != g->want) {
		g->refused = 1;		/* the tree is untouched */
		*why = "header zxid differs from name";
		return -1;
	}
	if (g != NULL)
		g->lines++;
	if (strcmp(l->verb, "node") == 0)
		rc = loadnode(l, why);
	else if (strcmp(l->verb, "session") == 0)
		rc = loadsess(l, why);
	/* else a line we do not know */
	if (rc == -1 && g != NULL)
		g->refused = 1;
	return rc;
}

/*
 * After the last line: link ephemerals to their sessions and check
 * the counts each node line claimed.  Returns the number of problems,
 * each reported when verbose.
 */
static size_t
loadcheck(int verbose)
{
	struct claim	*c;
	struct sess	*s;
	struct node	*n;
	size_t		 i, bad = 0, off;

	for (i = 0; i < nclaims; i++) {
		c = &claims[i];
		n = c->n;
		zkbuf_reset(&pbuf);
		off = nodepath(&pbuf, n);
		if (n->kind == K_EPHEMERAL && n->eph.le_prev == NULL) {
			if ((s = sessfind(n->owner)) == NULL) {
				if (verbose)
					warnx("%s: owner 0x%" PRIx64 " has no "
					    "session", pbuf.p + off,
					    (uint64_t)n->owner);
				bad++;
			} else {
				LIST_INSERT_HEAD(&s->eph, n, eph);
				s->hadeph = 1;
				nephem++;
			}
		}
		if (c->nkids != n->nkids) {
			if (verbose)
				warnx("%s: numChildren %d, has %d", pbuf.p + off,
				    c->nkids, n->nkids);
			bad++;
		}
		if (c->cversion != 2 * n->cver - n->nkids) {
			if (verbose)
				warnx("%s: cversion %d does not match ctr=%d",
				    pbuf.p + off, c->cversion, n->cver);
			bad++;
		}
	}
	free(claims);
	claims = NULL;
	nclaims = cclaims = 0;
	return bad;
}

/*
 * Run this program again, afresh.  Its file by readlink rather than
 * exec of /proc/self/exe itself: under valgrind that link is valgrind's
 * own tool, while readlink answers with the program's path.
 */
static void __attribute__((noreturn))
reexec(char *argv[])
{
	char	 self[PATH_MAX];
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		execv(self, argv);
	}
	execvp(argv[0], argv);
	err(EX_OSERR, "exec %s", argv[0]);
}

/*
 * The newest snapshot in dataDir/zk that loads whole: read once, its
 * lines applied as they come, zstd's checksum and the end line's counts
 * checked at its end.  A bad one is skipped for the one before.  What a
 * bad one left in the tree is thrown away whole by exec'ing this
 * program afresh with ZK_TREE_BELOW naming it: the snapshots from that
 * zxid on are not tried again.  If every one is bad, stop: never serve
 * a corrupt tree.
 */
static void
loadsnap(char *argv[])
{
	struct zksnapent	*v;
	struct zksnapinfo	 info;
	struct loading		 g;
	const char		*why = NULL, *s;
	char			 zdir[PATH_MAX], below[32];
	size_t			 n, i;
	int64_t			 from = INT64_MAX;
	int			 rc;

	if ((size_t)snprintf(zdir, sizeof(zdir), "%s/zk", cfg.dataDir) >=
	    sizeof(zdir))
		errx(EX_CONFIG, "dataDir %s: name too long", cfg.dataDir);
	if ((s = getenv("ZK_TREE_BELOW")) != NULL) {
		if (zkl_parseint(s, &from) == -1)
			errx(EX_USAGE, "ZK_TREE_BELOW=%s: not a zxid", s);
		if (unsetenv("ZK_TREE_BELOW") == -1)
			err(EX_OSERR, "unsetenv");
	}
	if (zksnap_list(zdir, &v, &n) == -1)
		err(EX_IOERR, "%s", zdir);
	for (i = n; i-- > 0;) {
		if (v[i].zxid >= from)
			continue;	/* failed before the exec */
		memset(&g, 0, sizeof(g));
		g.info = &info;
		g.want = v[i].zxid;
		rc = zksnap_read(v[i].path, &info, loadline, &g, &why);
		if (rc == -1 && !g.refused && errno != EBADMSG)
			err(EX_IOERR, "%s: %s", v[i].path, why);
		if (rc == 0 && info.zxid != v[i].zxid) {
			why = "header zxid differs from name";
			rc = -1;
		}
		loaddone();
		if (rc == 0 && loadcheck(1) > 0) {
			why = "inconsistent tree";
			rc = -1;
		}
		if (rc == 0) {
			loadedzxid = lastzxid = info.zxid;
			warnx("loaded %s: zxid 0x%" PRIx64 ", %" PRId64
			    " nodes, %" PRId64 " sessions", v[i].path,
			    (uint64_t)info.zxid, info.nodes, info.sessions);
			free(v);
			return;
		}
		warnx("%s: %s: not loaded%s", v[i].path, why,
		    i > 0 ? ", trying the one before" : "");
		if (i > 0 && g.lines > 0) {
			snprintf(below, sizeof(below), "0x%" PRIx64,
			    (uint64_t)v[i].zxid);
			if (setenv("ZK_TREE_BELOW", below, 1) == -1)
				err(EX_OSERR, "setenv");
			reexec(argv);
		}
		if (i == 0)
			errx(EX_DATAERR, "%s: %s; no snapshot in %s verifies",
			    v[i].path, why, zdir);
	}
	/* after the exec the ones before must be there still: an empty
	 * tree is no stand-in for them */
	if (from != INT64_MAX)
		errx(EX_DATAERR, "%s: no snapshot before 0x%" PRIx64 " left",
		    zdir, (uint64_t)from);
	free(v);
}

/* zk-tree load [-c]: snapshot lines on stdin, checked; a summary. */
static int
loadmain(int argc, char *argv[])
{
	struct zkbuf	 in = { 0 };
	struct zkline	 l = { 0 };
	const char	*why;
	char		*s;
	size_t		 len, bad, nn = 0, ns = 0;
	ssize_t		 r;
	int64_t		 zxid = 0, v;
	int		 ch, check = 0, ended = 0, eof = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "c-:")) != -1) {
		switch (ch) {
		case 'c':
			check = 1;
			break;
		case '-':
			if (strcmp(optarg, "check") == 0) {
				check = 1;
				break;
			}
			/* FALLTHROUGH */
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	inittree();
	while (!eof) {
		if (zkbuf_reserve(&in, 65536) == -1)
			err(EX_OSERR, "stdin");
		if ((r = read(0, in.p + in.len, 65536)) > 0)
			in.len += (size_t)r;
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(EX_IOERR, "stdin");
		}
		bufcheck(&in);
		eof = r == 0;
		while (ZKBUF_LEN(&in) > 0 && zkl_next(&in, &s, &len)) {
			if (strncmp(s, "# zk-snap 1 ", 12) == 0) {
				if (zkl_parse(&l, s + 10, len - 10) == 0)
					zxid = zkl_intdef(&l, "zxid", 0);
			} else if (s[0] != '#' && len > 0) {
				if (zkl_parse(&l, s, len) == -1)
					errx(EX_DATAERR, "stdin: bad line");
				if (ended)
					errx(EX_DATAERR, "stdin: lines after "
					    "the end line");
				if (strcmp(l.verb, "end") == 0) {
					if ((zkl_int(&l, "nodes", &v) == 0 &&
					    v != (int64_t)nn) ||
					    (zkl_int(&l, "sessions", &v) == 0 &&
					    v != (int64_t)ns))
						errx(EX_DATAERR, "stdin: end "
						    "line does not match the "
						    "counts");
					ended = 1;
				} else {
					nn += strcmp(l.verb, "node") == 0;
					ns += strcmp(l.verb, "session") == 0;
					if (loadline(&l, NULL, &why) == -1)
						errx(EX_DATAERR, "stdin: %s "
						    "line %zu: %s",
						    l.verb, nn + ns, why);
				}
			}
			zkbuf_consume(&in, len + 1);
		}
	}
	if (ZKBUF_LEN(&in) > 0)
		errx(EX_DATAERR, "stdin: last line not ended");
	zkbuf_free(&in);
	zkl_free(&l);
	bad = loadcheck(check);
	loaddone();
	printf("zxid=0x%" PRIx64 " nodes=%zu sessions=%zu ephemerals=%zu "
	    "datasize=%" PRId64 " end=%s problems=%zu\n", (uint64_t)zxid,
	    nnodes, nsess, nephem, datasize, ended ? "yes" : "no", bad);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	if (check && (bad > 0 || !ended))
		return EX_DATAERR;
	return 0;
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
	    zkcfg_standalone(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if ((size_t)snprintf(sock, sizeof(sock), "%s/tree.sock", rundir) >=
	    sizeof(sock))
		errx(EX_USAGE, "%s: run directory name too long", rundir);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	snapsetup(argv[0]);
	inittree();
	loadsnap(argv);
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
