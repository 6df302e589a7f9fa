/*
 * zk-tree loading a snapshot at start, and zk-tree load.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

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
#include "tree.h"

/* loading one: the numChildren and cversion each node line claimed */
struct claim {
	struct node	*n;
	int32_t		 nkids, cversion;
};

int64_t			 loadedzxid;	/* the snapshot we started from */
static struct claim	*claims;
static size_t		 nclaims, cclaims;
static struct node	*lpnode;	/* loadparent's last */
static struct zkbuf	 lppath;
static struct zkbuf	 tmp, pbuf;

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
		setdata(n, df);
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
	touch(n);
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
void
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
int
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
