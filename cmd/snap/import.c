/*
 * zk-snap import: an Apache ZooKeeper data directory becomes a zk one
 * (zk-snap(1)).  Reading Apache's files is apache.c's.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <ctype.h>
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include "zk.h"
#include "snap.h"

/*
 * An Apache ZooKeeper 3.x data directory (version-2/snapshot.<hex>
 * and log.<hex>, the uncompressed "checked" format) becomes a zk one:
 * the newest snapshot a zk snapshot, the txns after it zk-log records
 * that zk-tree applies to the same result.  Everything is written into
 * NEWDIR.import.<pid> and renamed into place at the end, so a failure
 * leaves no NEWDIR behind.  The byte layouts are jute's: big-endian
 * ints and longs, buffers and strings as an int length (-1: null) and
 * the bytes.
 */

struct apacl {
	int64_t			 id;
	size_t			 n;
	struct jr		 at;		/* the vector's entries */
};

struct apnode {
	const unsigned char	*path, *data;
	int32_t			 plen, dlen;	/* dlen -1: null */
	int64_t			 aclid;
	struct zkstat		 st;
	int32_t			 ctr;
};

struct ttlpath {
	RB_ENTRY(ttlpath)	 entry;
	size_t			 len;
	char			 p[];
};
RB_HEAD(ttltree, ttlpath);

static int	 ttlcmp(struct ttlpath *, struct ttlpath *);
RB_PROTOTYPE(ttltree, ttlpath, entry, ttlcmp)
RB_GENERATE(ttltree, ttlpath, entry, ttlcmp)

static struct ttltree	 ttls = RB_INITIALIZER(&ttls);
static char		 stage[PATH_MAX], stagezk[PATH_MAX];
static int		 staging;

static int
ttlcmp(struct ttlpath *a, struct ttlpath *b)
{
	int	 c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	return c != 0 ? c : a->len < b->len ? -1 : a->len > b->len;
}

static void
ttlset(const unsigned char *p, size_t len, int on)
{
	struct ttlpath	*t, *old;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		err(EX_OSERR, NULL);
	t->len = len;
	memcpy(t->p, p, len);
	old = RB_FIND(ttltree, &ttls, t);
	if (on && old == NULL) {
		RB_INSERT(ttltree, &ttls, t);
		return;
	}
	if (!on && old != NULL) {
		RB_REMOVE(ttltree, &ttls, old);
		free(old);
	}
	free(t);
}

static int
ttlhas(const unsigned char *p, size_t len)
{
	struct ttlpath	*t, *f;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		err(EX_OSERR, NULL);
	t->len = len;
	memcpy(t->p, p, len);
	f = RB_FIND(ttltree, &ttls, t);
	free(t);
	return f != NULL;
}

/* On any exit before the end: remove what was staged. */
static void
unstage(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 f[PATH_MAX];

	if (!staging)
		return;
	if ((d = opendir(stagezk)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(f, sizeof(f), "%s/%s", stagezk,
			    de->d_name) < sizeof(f))
				(void)unlink(f);
		}
		closedir(d);
	}
	(void)rmdir(stagezk);
	(void)rmdir(stage);
}

/* n entries of jute's ACL vector at c as acl= fields */
static void
putacls(struct zkbuf *b, struct jr *c, int32_t n)
{
	struct zkbuf		 ace = { 0 };
	const unsigned char	*s, *id;
	int32_t			 perms, sl, il, i;

	for (i = 0; i < n; i++) {
		perms = apint(c);
		s = apbuf(c, &sl);
		id = apbuf(c, &il);
		if (sl < 0 || il < 0)
			apbad(c, "null ACL id");
		zkbuf_reset(&ace);
		zkbuf_printf(&ace, "%d:", perms);
		zkbuf_add(&ace, s, (size_t)sl);
		zkbuf_addc(&ace, ':');
		zkbuf_add(&ace, id, (size_t)il);
		if (ace.err)
			errc(EX_OSERR, ace.err, NULL);
		zkl_put(b, "acl", ace.p, ace.len);
	}
	zkbuf_free(&ace);
}

/* A txn's ACL vector: -1 when it holds a scheme zk-tree refuses. */
static int
txnacls(struct zkbuf *b, struct jr *c)
{
	const unsigned char *start = c->p;
	int32_t		 n, i, perms, sl, il;
	const unsigned char *s;

	if ((n = apint(c)) < 0)
		apbad(c, "null ACL");
	for (i = 0; i < n; i++) {
		perms = apint(c);
		s = apbuf(c, &sl);
		(void)apbuf(c, &il);
		(void)perms;
		if (!(sl == 5 && memcmp(s, "world", 5) == 0) &&
		    !(sl == 6 && memcmp(s, "digest", 6) == 0) &&
		    !(sl == 2 && memcmp(s, "ip", 2) == 0))
			return -1;
	}
	c->p = start + 4;
	putacls(b, c, n);
	return 0;
}

static int
aclidcmp(const void *a, const void *b)
{
	const struct apacl	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
sidcmp(const void *a, const void *b)
{
	const int64_t	*x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static void
snapflush(struct zksnapw *w, struct zkbuf *b, int all)
{
	if (b->err)
		errc(EX_OSERR, b->err, NULL);
	if (ZKBUF_LEN(b) < (all ? 1 : 65536))
		return;
	if (zksnap_write(w, ZKBUF_DATA(b), ZKBUF_LEN(b)) == -1)
		err(EX_IOERR, "%s", w->tmp);
	zkbuf_reset(b);
}

/*
 * An Apache snapshot (FileSnap: header, sessions, the ACL cache, the
 * nodes parents first up to a "/" path, Adler32 seals) becomes
 * stage/zk/snapshot.<zxid>.
 */
static void
impsnap(const char *file, int64_t zxid)
{
	struct jr	 c, ac;
	struct apacl	*acls = NULL;
	struct apnode	*nodes = NULL, *n;
	struct zksnapw	 w;
	struct zkbuf	 b = { 0 };
	struct stat	 sb;
	struct zkstat	 st;
	const unsigned char *pp, *at;
	struct apacl	 key, *a;
	int64_t		*sids = NULL, owner, *extra = NULL;
	size_t		*stack = NULL, nacl, nn = 0, cap = 0, sp = 0, i, k;
	size_t		 nsess, nextra = 0, summed = 0, sessat;
	uint32_t	 sum = 1;
	int32_t		 cnt, len, dver;
	char		 pw[33];

	apmap(file, &c);
	apheader(&c, AP_SNAPMAGIC, "not an Apache snapshot", "unknown snapshot version");
	if ((cnt = apint(&c)) < 0 ||
	    (size_t)cnt > (size_t)(c.end - c.start) / 12)
		apbad(&c, "bad session count");
	nsess = (size_t)cnt;
	sessat = jr_off(&c);
	if ((sids = calloc(nsess + 1, sizeof(*sids))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nsess; i++) {
		sids[i] = aplong(&c);
		(void)apint(&c);		/* the timeout: below */
	}
	if ((cnt = apint(&c)) < 0 ||
	    (size_t)cnt > (size_t)(c.end - c.start) / 12)
		apbad(&c, "bad ACL count");
	nacl = (size_t)cnt;
	if ((acls = calloc(nacl + 1, sizeof(*acls))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nacl; i++) {
		acls[i].id = aplong(&c);
		acls[i].at = c;
		if ((cnt = apint(&c)) < -1)
			apbad(&c, "bad ACL length");
		acls[i].n = cnt < 0 ? 0 : (size_t)cnt;
		for (k = 0; k < acls[i].n; k++) {
			(void)apint(&c);
			(void)apbuf(&c, &len);
			(void)apbuf(&c, &len);
		}
	}
	for (;;) {
		at = c.p;
		pp = apbuf(&c, &len);
		if (len < 0)
			apbad(&c, "null path");
		if (len == 1 && pp[0] == '/')
			break;
		if (nn == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((n = reallocarray(nodes, cap, sizeof(*n))) == NULL)
				err(EX_OSERR, NULL);
			nodes = n;
		}
		n = &nodes[nn++];
		memset(n, 0, sizeof(*n));
		n->path = pp;
		n->plen = len;
		n->data = apbuf(&c, &n->dlen);
		n->aclid = aplong(&c);
		n->st.czxid = aplong(&c);
		n->st.mzxid = aplong(&c);
		n->st.ctime = aplong(&c);
		n->st.mtime = aplong(&c);
		n->st.version = apint(&c);
		n->ctr = apint(&c);	/* the persisted cversion: creates */
		n->st.aversion = apint(&c);
		n->st.ephemeralOwner = aplong(&c);
		n->st.pzxid = aplong(&c);
		if ((nn == 1) != (len == 0) || (len > 0 && pp[0] != '/')) {
			c.p = at;		/* the record's start */
			apbad(&c, "bad path");
		}
		/* zk's cversion, 2 * ctr - numChildren, must fit an int32 */
		if (n->ctr < 0 || n->ctr > INT32_MAX / 2) {
			c.p -= 24;
			apbad(&c, "cversion out of range");
		}
	}
	apseal(&c, &sum, &summed);
	if (c.p < c.end) {			/* 3.6+: the tree digest */
		(void)aplong(&c);
		if ((dver = apint(&c)) < 2)
			(void)apbuf(&c, &len);
		else
			(void)aplong(&c);
		apseal(&c, &sum, &summed);
	}
	if (c.p < c.end) {			/* the last processed zxid */
		(void)aplong(&c);
		apseal(&c, &sum, &summed);
	}
	if (c.p < c.end)
		apbad(&c, "bytes after the last seal");
	if (nn == 0)
		apbad(&c, "no root node");
	for (i = 0; i < nn; i++)
		if (nodes[i].st.mzxid > zxid || nodes[i].st.pzxid > zxid ||
		    nodes[i].st.czxid > zxid) {
			warnx("%s: fuzzy: the tree holds txns after 0x%" PRIx64
			    " (Apache took it while writes went on); the log "
			    "replays them again, safely only for creates, "
			    "deletes and versioned changes", file,
			    (uint64_t)zxid);
			break;
		}

	/* numChildren: the nodes come depth first, parents first */
	if ((stack = calloc(nn, sizeof(*stack))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nn; i++) {
		n = &nodes[i];
		if (i > 0) {
			pp = memrchr(n->path, '/', (size_t)n->plen);
			len = (int32_t)(pp - n->path);
			while (sp > 0 && (nodes[stack[sp - 1]].plen != len ||
			    memcmp(nodes[stack[sp - 1]].path, n->path,
			    (size_t)len) != 0))
				sp--;
			if (sp == 0)
				errx(EX_DATAERR, "%s: %.*s: parent missing "
				    "or out of order", file, (int)n->plen,
				    n->path);
			nodes[stack[sp - 1]].st.numChildren++;
		}
		stack[sp++] = i;
	}
	free(stack);

	qsort(sids, nsess, sizeof(*sids), sidcmp);
	qsort(acls, nacl, sizeof(*acls), aclidcmp);
	if (stat(file, &sb) == -1)
		err(EX_IOERR, "%s", file);
	if (zksnap_wopen(&w, stage, zxid) == -1)
		err(EX_CANTCREAT, "%s", stage);
	zkbuf_printf(&b, "# zk-snap 1 zxid=0x%" PRIx64 " time=%" PRId64,
	    (uint64_t)zxid, (int64_t)sb.st_mtime * 1000);
	/* a line holds bytes of the file, each escaped to at most 4 */
	if ((size_t)(c.end - c.start) > (ZKSNAP_MAXLINE - 1024) / 4)
		zkbuf_printf(&b, " maxline=%zu",
		    4 * (size_t)(c.end - c.start) + 1024);
	zkbuf_addc(&b, '\n');
	zkbuf_printf(&b, "# imported from %s\n", file);
	for (i = 0; i < nn; i++) {
		n = &nodes[i];
		owner = n->st.ephemeralOwner;
		st = n->st;
		st.ephemeralOwner = 0;
		zkl_begin(&b, "node");
		zkl_put(&b, "path", n->plen ? (const char *)n->path : "/",
		    n->plen ? (size_t)n->plen : 1);
		if (n->dlen >= 0)
			zkl_put(&b, "data", n->data, (size_t)n->dlen);
		if (n->aclid == -1)
			zkl_puts(&b, "acl", "31:world:anyone");
		else {
			key.id = n->aclid;
			if ((a = bsearch(&key, acls, nacl, sizeof(*acls),
			    aclidcmp)) == NULL)
				errx(EX_DATAERR, "%s: %.*s: ACL %" PRId64
				    " not in the ACL cache", file,
				    (int)n->plen, n->path, n->aclid);
			ac = a->at;
			putacls(&b, &ac, apint(&ac));
		}
		st.dataLength = n->dlen < 0 ? 0 : n->dlen;
		st.cversion = 2 * n->ctr - st.numChildren;
		if (owner != 0 && owner != AP_CONTAINER &&
		    (owner & AP_EXTMASK) != AP_EXTMASK)
			st.ephemeralOwner = owner;
		zkl_putstat(&b, "stat", &st);
		if (owner == AP_CONTAINER)
			zkl_putd(&b, "container", 1);
		else if ((owner & AP_EXTMASK) == AP_EXTMASK) {
			zkl_putd(&b, "ttl", owner & AP_TTLMASK);
			ttlset(n->path, (size_t)n->plen, 1);
		}
		zkl_putd(&b, "ctr", n->ctr);
		zkl_end(&b);
		if (st.ephemeralOwner != 0 && bsearch(&owner, sids, nsess,
		    sizeof(*sids), sidcmp) == NULL) {
			for (k = 0; k < nextra && extra[k] != owner; k++)
				;
			if (k == nextra) {
				if ((extra = reallocarray(extra, nextra + 1,
				    sizeof(*extra))) == NULL)
					err(EX_OSERR, NULL);
				extra[nextra++] = owner;
			}
		}
		snapflush(&w, &b, 0);
	}
	free(sids);
	/* the session table again, in file order, for the timeouts */
	c.p = c.start + sessat;
	for (i = 0; i < nsess; i++) {
		owner = aplong(&c);
		len = apint(&c);
		appasswd(owner, pw);
		zkl_begin(&b, "session");
		zkl_putx(&b, "session", owner);
		zkl_putd(&b, "timeout", len);
		zkl_puts(&b, "passwd", pw);
		zkl_end(&b);
	}
	for (k = 0; k < nextra; k++) {
		warnx("%s: session 0x%" PRIx64 " owns ephemerals but is not "
		    "in the session table: added with a timeout of 30000",
		    file, (uint64_t)extra[k]);
		appasswd(extra[k], pw);
		zkl_begin(&b, "session");
		zkl_putx(&b, "session", extra[k]);
		zkl_putd(&b, "timeout", 30000);
		zkl_puts(&b, "passwd", pw);
		zkl_end(&b);
	}
	zkbuf_printf(&b, "end nodes=%zu sessions=%zu\n", nn, nsess + nextra);
	snapflush(&w, &b, 1);
	if (zksnap_commit(&w) == -1)
		err(EX_IOERR, "%s", w.path);
	printf("snapshot.%016" PRIx64 " nodes=%zu sessions=%zu from %s\n",
	    (uint64_t)zxid, nn, nsess + nextra, file);
	zkbuf_free(&b);
	free(extra);
	free(nodes);
	free(acls);
	apunmap(&c);
}

struct apout {
	struct zklog	 log;		/* stage/zk */
	int64_t		 first, next, n, noops;
	int64_t		 chunk;		/* zxid of the first record in rec */
	struct zkbuf	 rec, f, sf;
};

/*
 * One txn (or a multi's sub-txn) at t as a zk verb and its fields in
 * o->f; NULL when zk-tree cannot express it.
 */
static const char *
txnfields(struct apout *o, struct zkbuf *f, struct jr *t, int type)
{
	const unsigned char	*p, *d;
	const char		*verb;
	int32_t			 pl, dl, v;
	int64_t			 ttl;

	switch (type) {
	case ZOP_CREATE:
	case ZOP_CREATE2:
	case ZOP_CREATECONTAINER:
	case ZOP_CREATETTL:
		p = apbuf(t, &pl);
		d = apbuf(t, &dl);
		if (pl <= 0)
			apbad(t, "create without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (dl >= 0)
			zkl_put(f, "data", d, (size_t)dl);
		if (txnacls(f, t) == -1) {
			warnx("0x%" PRIx64 ": create %.*s with an ACL scheme "
			    "zk does not know: written as a no-op",
			    (uint64_t)o->next, (int)pl, p);
			return NULL;
		}
		if (type == ZOP_CREATETTL) {
			(void)apint(t);			/* parentCVersion */
			ttl = aplong(t);
			zkl_putd(f, "flags", 5);
			zkl_putd(f, "ttl", ttl);
			ttlset(p, (size_t)pl, 1);
			return "createTTL";
		}
		if (type == ZOP_CREATECONTAINER) {
			zkl_putd(f, "flags", 4);
			return "createContainer";
		}
		v = jr_bool(t);			/* ephemeral */
		apok(t);
		zkl_putd(f, "flags", v);
		return "create";
	case ZOP_DELETE:
	case ZOP_DELETECONTAINER:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "delete without a path");
		zkl_put(f, "path", p, (size_t)pl);
		verb = type == ZOP_DELETE ? "delete" : ttlhas(p, (size_t)pl) ?
		    "deleteTTL" : "deleteContainer";
		if (type == ZOP_DELETE)
			zkl_putd(f, "version", -1);
		ttlset(p, (size_t)pl, 0);
		return verb;
	case ZOP_SETDATA:
		p = apbuf(t, &pl);
		d = apbuf(t, &dl);
		v = apint(t);	/* the version after it (checkAndIncVersion) */
		if (pl <= 0)
			apbad(t, "setData without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (dl >= 0)
			zkl_put(f, "data", d, (size_t)dl);
		zkl_putd(f, "version", v - 1);
		return "setData";
	case ZOP_SETACL:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "setACL without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (txnacls(f, t) == -1) {
			warnx("0x%" PRIx64 ": setACL %.*s with an ACL scheme "
			    "zk does not know: written as a no-op",
			    (uint64_t)o->next, (int)pl, p);
			return NULL;
		}
		zkl_putd(f, "version", apint(t) - 1);
		return "setACL";
	case ZOP_CHECK:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "check without a path");
		zkl_put(f, "path", p, (size_t)pl);
		zkl_putd(f, "version", apint(t) - 1);	/* as setData's */
		return "check";
	}
	return NULL;
}

/* A MultiTxn's sub-txns as op= fields; NULL for a failed multi. */
static const char *
multifields(struct apout *o, struct jr *t)
{
	struct jr	 sub;
	const unsigned char *p;
	const char	*verb;
	int32_t		 n, i, type, len;

	if ((n = apint(t)) < 0)
		apbad(t, "bad multi");
	for (i = 0; i < n; i++) {
		type = apint(t);
		p = apbuf(t, &len);
		jr_init(&sub, p, len < 0 ? 0 : (size_t)len);
		sub.base = jr_off(t) - (size_t)(sub.end - sub.start);
		if (type == ZOP_ERROR)
			return NULL;	/* Apache failed it: all or nothing */
		zkbuf_reset(&o->sf);
		if ((verb = txnfields(o, &o->sf, &sub, type)) == NULL ||
		    strcmp(verb, "deleteTTL") == 0 ||
		    strcmp(verb, "deleteContainer") == 0) {
			warnx("0x%" PRIx64 ": multi with an op zk cannot "
			    "express (type %d): written as a no-op",
			    (uint64_t)o->next, type);
			return NULL;
		}
		zkl_puts(&o->f, "op", verb);
		zkbuf_add(&o->f, o->sf.p, o->sf.len);
	}
	return "multi";
}

static void
outwrite(struct apout *o, int all)
{
	const char	*p = ZKBUF_DATA(&o->rec);
	size_t		 n = ZKBUF_LEN(&o->rec);

	if (o->rec.err)
		errc(EX_OSERR, o->rec.err, NULL);
	if (n < (all ? 1 : 1 << 20))
		return;
	if (zklog_append(&o->log, p, n, o->chunk, o->next - 1) == -1)
		err(EX_IOERR, "%s", o->log.fd != -1 ? o->log.path : stagezk);
	zkbuf_reset(&o->rec);
}

/* One Apache txn (header fields, body at t) as a zk-log record. */
static void
imptxn(struct apout *o, struct jr *t, int64_t session, int64_t time,
    int type)
{
	const char	*verb = NULL;
	unsigned char	 hdr[ZKSEG_HDRLEN];
	size_t		 start, len;
	char		 pw[33];

	zkbuf_reset(&o->f);
	switch (type) {
	case ZOP_CREATESESSION:
		verb = "createSession";
		zkl_putd(&o->f, "timeout", apint(t));
		appasswd(session, pw);
		zkl_puts(&o->f, "passwd", pw);
		break;
	case ZOP_CLOSESESSION:
		verb = "closeSession";
		break;
	case ZOP_MULTI:
		verb = multifields(o, t);
		break;
	case ZOP_ERROR:
		break;
	default:
		if ((verb = txnfields(o, &o->f, t, type)) == NULL)
			warnx("0x%" PRIx64 ": txn type %d zk cannot express: "
			    "written as a no-op", (uint64_t)o->next, type);
	}
	if (verb == NULL) {
		/* a check that changes nothing keeps the zxids dense */
		verb = "check";
		zkbuf_reset(&o->f);
		zkl_puts(&o->f, "path", "/");
		zkl_putd(&o->f, "version", -1);
		o->noops++;
	}
	if (ZKBUF_LEN(&o->rec) == 0)
		o->chunk = o->next;
	start = o->rec.len;
	zkbuf_add(&o->rec, hdr, sizeof(hdr));
	zkl_begin(&o->rec, verb);
	zkl_putx(&o->rec, "zxid", o->next);
	zkl_putd(&o->rec, "time", time);
	zkl_putx(&o->rec, "session", session);
	if (type != ZOP_CREATESESSION && type != ZOP_CLOSESESSION)
		zkl_puts(&o->rec, "auth", "super:");
	zkbuf_add(&o->rec, o->f.p, o->f.len);
	zkl_end(&o->rec);
	if (o->rec.err || o->f.err)
		errc(EX_OSERR, ENOMEM, NULL);
	len = o->rec.len - start - sizeof(hdr);
	zkseg_header(o->rec.p + start, o->rec.p + start + sizeof(hdr), len);
	o->n++;
	o->next++;
	outwrite(o, 0);
}

/*
 * One Apache log (FileTxnLog: a header, then records of an Adler32, a
 * length, the txn and a 'B'; preallocated zeros end it): the txns after
 * o->next - 1 go to stage/zk/log.<first>.  A record cut short at the
 * end of the last log is a crash's torn tail, as Apache treats it.
 */
static void
implog(struct apout *o, const char *file, int last)
{
	struct jr	 c, t;
	int64_t		 session, zxid, time, crc;
	int32_t		 len, type;
	size_t		 at;

	apmap(file, &c);
	apheader(&c, AP_LOGMAGIC, "not an Apache transaction log", "unknown log version");
	while (c.p < c.end) {
		at = jr_off(&c);
		if (c.end - c.p >= 12) {
			crc = aplong(&c);
			len = apint(&c);
			if (len == 0)
				break;		/* preallocated: the end */
		} else
			len = -1;
		if (len < 0 || (size_t)len >= (size_t)(c.end - c.p) ||
		    c.p[len] != 'B') {
			c.p = c.start + at;
			if (!last)
				apbad(&c, "truncated record");
			warnx("%s: torn record at offset %zu: the log ends "
			    "there, as for Apache", file, at);
			break;
		}
		if (adler32(1, c.p, (size_t)len) != (uint64_t)crc) {
			c.p = c.start + at;
			apbad(&c, "Adler32 checksum mismatch");
		}
		jr_init(&t, c.p, (size_t)len);
		t.base = jr_off(&c);
		c.p += (size_t)len + 1;
		session = aplong(&t);
		(void)apint(&t);			/* cxid */
		zxid = aplong(&t);
		time = aplong(&t);
		type = apint(&t);
		if (zxid < o->next)
			continue;		/* in the snapshot */
		if (zxid != o->next) {
			c.p = c.start + at;
			errx(EX_DATAERR, "%s: zxid 0x%" PRIx64 " at offset %zu "
			    "where 0x%" PRIx64 " was due: zxids are missing "
			    "(zk's log has no holes)", file, (uint64_t)zxid,
			    at, (uint64_t)o->next);
		}
		if (o->n == 0)
			o->first = zxid;
		imptxn(o, &t, session, time, type);
	}
	apunmap(&c);
}

int
zkimport(const char *src, const char *logsrc, const char *dst)
{
	struct apfile	*snaps, *logs;
	struct apout	 o;
	struct stat	 sb;
	char		 v2[PATH_MAX], lv2[PATH_MAX], parent[PATH_MAX], *s;
	size_t		 nsnap, nlog, i, first;
	int64_t		 zxid = 0;
	int		 fd;

	apdir(src, v2, sizeof(v2));
	apdir(logsrc != NULL ? logsrc : src, lv2, sizeof(lv2));
	snaps = apfiles(v2, "snapshot.", &nsnap);
	logs = apfiles(lv2, "log.", &nlog);
	if (nsnap == 0 && nlog == 0)
		errx(EX_NOINPUT, "%s: no Apache snapshot or log", v2);
	if (lstat(dst, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode) || !emptydir(dst))
			errx(EX_CANTCREAT, "%s: exists and is not an empty "
			    "directory", dst);
		/* an empty NEWDIR: the staged one takes its place */
	} else if (errno != ENOENT)
		err(EX_CANTCREAT, "%s", dst);
	if (strlcpy(parent, dst, sizeof(parent)) >= sizeof(parent))
		errx(EX_USAGE, "%s: name too long", dst);
	while ((s = strrchr(parent, '/')) != NULL && s[1] == '\0' && s > parent)
		*s = '\0';			/* trailing slashes */
	if ((size_t)snprintf(stage, sizeof(stage), "%s.import.%d", parent,
	    (int)getpid()) >= sizeof(stage) ||
	    (size_t)snprintf(stagezk, sizeof(stagezk), "%s/zk", stage) >=
	    sizeof(stagezk))
		errx(EX_USAGE, "%s: name too long", dst);
	if ((s = strrchr(parent, '/')) == NULL)
		strlcpy(parent, ".", sizeof(parent));
	else if (s == parent)
		parent[1] = '\0';
	else {
		*s = '\0';
		mkdirs(parent);
	}
	if (atexit(unstage) != 0)
		errx(EX_OSERR, "atexit");
	if (mkdir(stage, 0755) == -1)
		err(EX_CANTCREAT, "%s", stage);
	staging = 1;
	if (mkdir(stagezk, 0755) == -1)
		err(EX_CANTCREAT, "%s", stagezk);

	if (nsnap > 0) {
		zxid = snaps[nsnap - 1].zxid;
		impsnap(snaps[nsnap - 1].path, zxid);
	}
	memset(&o, 0, sizeof(o));
	if (zklog_open(&o.log, stagezk, 0) == -1)
		err(EX_CANTCREAT, "%s", stagezk);
	o.next = zxid + 1;
	/* from the newest log that starts at or before the snapshot */
	for (first = 0, i = 0; i < nlog; i++)
		if (logs[i].zxid <= zxid + 1)
			first = i;
	for (i = first; i < nlog; i++)
		implog(&o, logs[i].path, i == nlog - 1);
	if (o.n > 0) {
		outwrite(&o, 1);	/* fdatasync'd, its name too */
		printf("log.%016" PRIx64 " txns=%" PRId64 " last=0x%"
		    PRIx64 " noops=%" PRId64 "\n", (uint64_t)o.first,
		    o.n, (uint64_t)(o.next - 1), o.noops);
	} else if (nsnap == 0)
		errx(EX_NOINPUT, "%s: no Apache snapshot and no txns", v2);
	zklog_close(&o.log);
	fsyncdir(stagezk);
	if (rmdir(dst) == -1 && errno != ENOENT)
		err(EX_CANTCREAT, "%s", dst);
	if (rename(stage, dst) == -1)
		err(EX_CANTCREAT, "%s", dst);
	staging = 0;
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		err(EX_IOERR, "%s", parent);
	close(fd);
	zkbuf_free(&o.rec);
	zkbuf_free(&o.f);
	zkbuf_free(&o.sf);
	free(snaps);
	free(logs);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}
