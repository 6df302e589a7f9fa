/*
 * zk-tree's nodes: lookup by path, each node's children in an RB tree,
 * the counts and indexes kept as nodes are linked and unlinked.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "tree.h"

/*
 * The digest: every node's path, data, ACL and stat, hashed and summed
 * (the sum is the same whatever the order it is added in), and every
 * session's id and timeout.  Nodes that applied the same transactions
 * have the same one; the ensemble compares them (zk-log) to notice a
 * replica that diverged.  /zookeeper/config, each node's own as in
 * Apache, is left out.
 *
 * From the first digest asked on (an ensemble's; a standalone node is
 * never asked), it is kept as the tree changes, not walked: each node
 * holds its term (dh) of the sum; what changes a node touches it, and
 * the next flush (the end of each txn, before any node is freed) hashes
 * the touched ones again.  A walk of half a million nodes took 62% of a leader's
 * zk-tree under a write load, every 5000 txns.
 */
static int		 digesting;	/* a digest was asked: kept since */
static uint64_t		 dsum;		/* the linked nodes' terms */
static struct node	**dirtyv;	/* touched since the last flush */
static size_t		 ndirty, cdirty;

struct node		*root;
size_t			 nnodes, nephem, nspecial;
int64_t			 datasize;
static char		 empty[1];	/* data of an empty, non-null node */

static struct {
	struct node	*p, *max;	/* p's greatest child, for kidinsert */
} kidmax;

int
namecmp(const char *a, size_t al, const char *b, size_t bl)
{
	int	 c;

	if ((c = memcmp(a, b, al < bl ? al : bl)) != 0)
		return c;
	return al < bl ? -1 : al > bl;
}

static int
nodecmp(struct node *a, struct node *b)
{
	return namecmp(a->name, a->nlen, b->name, b->nlen);
}

RB_GENERATE(kids, node, entry, nodecmp)

struct node *
kid(const struct node *p, const char *name, size_t len)
{
	struct node	*n = RB_ROOT(&p->kids);
	int		 c;

	while (n != NULL) {
		if ((c = namecmp(name, len, n->name, n->nlen)) < 0)
			n = RB_LEFT(n, entry);
		else if (c > 0)
			n = RB_RIGHT(n, entry);
		else
			return n;
	}
	return NULL;
}

/* The node at exactly this path ("" is the root too, as in Apache). */
struct node *
lookup(const char *p, size_t len)
{
	struct node	*n = root;
	const char	*end = p + len, *s, *e;

	if (len == 0 || (len == 1 && p[0] == '/'))
		return root;
	if (p[0] != '/')
		return NULL;
	for (s = p + 1; n != NULL; s = e + 1) {
		if ((e = memchr(s, '/', (size_t)(end - s))) == NULL)
			e = end;
		n = kid(n, s, (size_t)(e - s));
		if (e == end)
			break;
	}
	return n;
}

static size_t
pathlen(const struct node *n)
{
	size_t	 len = 0;

	for (; n != root; n = n->parent)
		len += n->nlen + 1;
	return len ? len : 1;
}

/* Append n's full path to b; returns its offset. */
size_t
nodepath(struct zkbuf *b, const struct node *n)
{
	size_t	 off = b->len, len = pathlen(n);
	char	*p;

	if (zkbuf_reserve(b, len + 1) == -1)
		bufcheck(b);
	b->len += len;
	b->p[b->len] = '\0';
	if (n == root) {
		b->p[off] = '/';
		return off;
	}
	for (p = b->p + off + len; n != root; n = n->parent) {
		p -= n->nlen;
		memcpy(p, n->name, n->nlen);
		*--p = '/';
	}
	return off;
}

static void
nodestat(const struct node *n, struct zkstat *st)
{
	st->czxid = n->czxid;
	st->mzxid = n->mzxid;
	st->ctime = n->ctime;
	st->mtime = n->mtime;
	st->version = n->version;
	st->cversion = 2 * n->cver - n->nkids;
	st->aversion = n->aversion;
	st->ephemeralOwner = n->kind == K_EPHEMERAL ? n->owner : 0;
	st->dataLength = n->dlen;
	st->numChildren = n->nkids;
	st->pzxid = n->pzxid;
}

void
putstat(struct zkbuf *b, const struct node *n)
{
	struct zkstat	 st;

	nodestat(n, &st);
	zkl_putstat(b, "stat", &st);
}

struct node *
newnode(struct node *parent, const char *name, size_t nlen,
    const struct zkfield *data, struct acl *acl, int kind, int64_t owner)
{
	struct node	*n;

	/* name and the first data in one allocation */
	n = xmalloc(sizeof(*n) + nlen + 1 + (data ? data->len : 0));
	memset(n, 0, sizeof(*n));
	RB_INIT(&n->kids);
	n->parent = parent;
	memcpy(n->name, name, nlen);
	n->name[nlen] = '\0';
	n->nlen = (uint32_t)nlen;
	n->acl = acl;
	n->kind = (uint8_t)kind;
	n->owner = owner;
	if (data == NULL)
		n->data = NULL;
	else if (data->len == 0)
		n->data = empty;
	else {
		n->data = n->name + nlen + 1;
		memcpy(n->data, data->val, data->len);
	}
	n->dlen = data ? (int32_t)data->len : 0;
	return n;
}

void
freedata(const struct node *n, char *d)
{
	if (d != empty && d != n->name + n->nlen + 1)
		free(d);
}

/*
 * n's value becomes a copy of data field df, or null without one; the
 * old value is the caller's to keep or free.
 */
void
setdata(struct node *n, const struct zkfield *df)
{
	if (df == NULL)
		n->data = NULL;
	else if (df->len == 0)
		n->data = empty;
	else {
		n->data = xmalloc(df->len);
		memcpy(n->data, df->val, df->len);
	}
	n->dlen = df ? (int32_t)df->len : 0;
	touch(n);
}

void
freenode(struct node *n)
{
	freedata(n, n->data);
	aclunref(n->acl);
	free(n);
}

/*
 * Insert n among its parent's children; the child already there by
 * that name, if any (n is then not inserted).  Children mostly come in
 * order (a snapshot lists them so, sequential names grow), so n is
 * first tried after the greatest child, with one comparison instead of
 * the log2(children) of RB_INSERT; it is linked as RB_INSERT would link
 * it.
 */
struct node *
kidinsert(struct node *p, struct node *n)
{
	struct node	*max;

	/* RB_MAX walks the right spine: a cache miss a level, in a big
	 * tree, so the last one seen is kept (detach forgets it) */
	max = kidmax.p == p ? kidmax.max : RB_MAX(kids, &p->kids);
	kidmax.p = p;
	kidmax.max = max;
	if (max != NULL && nodecmp(n, max) <= 0)
		return RB_INSERT(kids, &p->kids, n);
	kidmax.max = n;
	if (max == NULL)
		return RB_INSERT(kids, &p->kids, n);
	RB_SET(n, max, entry);
	RB_RIGHT(max, entry) = n;
	RB_AUGMENT(max);
	kids_RB_INSERT_COLOR(&p->kids, n);
	return NULL;
}

/* Link n under its parent and into the indexes. */
void
attach(struct node *n)
{
	kidinsert(n->parent, n);
	attached(n);
}

/* The counts and indexes of a node just linked under its parent. */
void
attached(struct node *n)
{
	struct sess	*s;

	n->linked = 1;
	touch(n);
	touch(n->parent);
	n->parent->nkids++;
	nnodes++;
	datasize += (int64_t)pathlen(n) + n->dlen;
	if (n->kind == K_CONTAINER || n->kind == K_TTL)
		nspecial++;
	if (n->kind == K_EPHEMERAL && (s = sessfind(n->owner)) != NULL) {
		LIST_INSERT_HEAD(&s->eph, n, eph);
		s->hadeph = 1;
		nephem++;
	}
}

void
detach(struct node *n)
{
	datasize -= (int64_t)pathlen(n) + n->dlen;
	dsum -= n->dh;		/* out of the digest now */
	n->dh = 0;
	n->linked = 0;
	touch(n->parent);
	if (kidmax.p == n->parent || kidmax.p == n)
		kidmax.p = NULL;
	RB_REMOVE(kids, &n->parent->kids, n);
	n->parent->nkids--;
	nnodes--;
	if (n->kind == K_CONTAINER || n->kind == K_TTL)
		nspecial--;
	if (n->kind == K_EPHEMERAL) {
		LIST_REMOVE(n, eph);
		nephem--;
	}
}

int
isspecial(const char *p, size_t len)
{
	static const char	*sp[] = { "/", "/zookeeper", "/zookeeper/quota",
	    "/zookeeper/config" };
	size_t			 i;

	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		if (strlen(sp[i]) == len && memcmp(sp[i], p, len) == 0)
			return 1;
	return 0;
}

/* PathUtils.validatePath, on UTF-8 */
int
validpath(const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i;
	uint32_t		 cp;

	if (len == 0 || s[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	if (s[len - 1] == '/')
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] == 0 || s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (s[i] == '/' && s[i - 1] == '/')
			return 0;
		if (s[i] == '.' && s[i - 1] == '/' &&
		    (i + 1 == len || s[i + 1] == '/'))
			return 0;
		if (s[i] == '.' && s[i - 1] == '.' && s[i - 2] == '/' &&
		    (i + 1 == len || s[i + 1] == '/'))
			return 0;
		if (s[i] < 0x80)
			continue;
		if (s[i] >= 0xc2 && s[i] <= 0xdf && i + 1 < len &&
		    (s[i + 1] & 0xc0) == 0x80) {
			cp = (uint32_t)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f);
			i += 1;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef && i + 2 < len &&
		    (s[i + 1] & 0xc0) == 0x80 && (s[i + 2] & 0xc0) == 0x80) {
			cp = (uint32_t)(s[i] & 0x0f) << 12 |
			    (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
			if (cp < 0x800)
				return 0;
			i += 2;
		} else
			return 0;	/* 4-byte (surrogates) or malformed */
		if (cp <= 0x9f || (cp >= 0xd800 && cp <= 0xf8ff) ||
		    cp >= 0xfff0)
			return 0;
	}
	return 1;
}

int64_t
countall(struct node *n)
{
	struct node	*k;
	int64_t		 c = 0;

	RB_FOREACH(k, kids, &n->kids)
		c += 1 + countall(k);
	return c;
}

/* FNV-1a, 64 bits */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*s = p;

	while (n-- > 0)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
fnvint(uint64_t h, int64_t v)
{
	unsigned char	 b[8];
	int		 i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return fnv(h, b, 8);
}

/* A node's term in the sum; path: the hash of its path (pathhash). */
static uint64_t
nodeterm(const struct node *n, uint64_t path)
{
	uint64_t	 h;

	h = fnvint(path, n->data == NULL ? -1 : n->dlen);
	if (n->data != NULL)
		h = fnv(h, n->data, (size_t)n->dlen);
	if (n->acl != NULL)
		h = fnv(h, n->acl->key, strlen(n->acl->key));
	h = fnvint(h, n->czxid);
	h = fnvint(h, n->mzxid);
	h = fnvint(h, n->pzxid);
	h = fnvint(h, n->ctime);
	h = fnvint(h, n->mtime);
	h = fnvint(h, n->owner);
	h = fnvint(h, (int64_t)((uint64_t)(uint32_t)n->version << 32 |
	    (uint32_t)n->cver));
	h = fnvint(h, (int64_t)((uint64_t)(uint32_t)n->aversion << 32 |
	    (uint32_t)n->nkids));
	h = fnvint(h, n->kind);
	return h ^ (h >> 29);
}

#define PATHSEED	0xcbf29ce484222325ULL

/* The hash of n's path, "/" and each name from the root down. */
static uint64_t
pathhash(const struct node *n)
{
	static const struct node	**up;
	static size_t			  cup;
	size_t				  k = 0;
	uint64_t			  h;

	for (; n->parent != NULL; n = n->parent) {
		up = xgrow(up, &cup, k + 1, sizeof(*up));
		up[k++] = n;
	}
	h = fnv(fnv(PATHSEED, "/", 1), n->name, n->nlen);	/* the root */
	while (k-- > 0)
		h = fnv(fnv(h, "/", 1), up[k]->name, up[k]->nlen);
	return h;
}

/* n changed (or was linked): hashed again at the next flush. */
void
touch(struct node *n)
{
	if (!digesting || n->dirty)
		return;
	dirtyv = xgrow(dirtyv, &cdirty, ndirty + 1, sizeof(*dirtyv));
	dirtyv[ndirty++] = n;
	n->dirty = 1;
}

/* The touched nodes' terms, again.  Before any of them is freed. */
void
digestflush(void)
{
	struct node	*n;
	size_t		 i;

	for (i = 0; i < ndirty; i++) {
		n = dirtyv[i];
		n->dirty = 0;
		if (!n->linked || n == confignode)
			continue;	/* detach took its term out */
		dsum -= n->dh;
		n->dh = nodeterm(n, pathhash(n));
		dsum += n->dh;
	}
	ndirty = 0;
	if (cdirty > 65536) {	/* a snapshot's load: give it back */
		free(dirtyv);
		dirtyv = NULL;
		cdirty = 0;
	}
}

/*
 * The sum walked, n's subtree's; set: each node's term kept too (the
 * first digest asked).  Otherwise, in the sanitizer build, what the kept
 * sum must be at every digest asked.
 */
static uint64_t
walkdigest(struct node *n, uint64_t ph, int set)
{
	struct node	*k;
	uint64_t	 path, term, sum;

	if (n == confignode)
		return 0;
	path = fnv(fnv(ph, "/", 1), n->name, n->nlen);
	term = nodeterm(n, path);
	if (set)
		n->dh = term;
	sum = term;
	RB_FOREACH(k, kids, &n->kids)
		sum += walkdigest(k, path, set);
	return sum;
}

/*
 * The digest (the top of this file) of the txns applied so far.  Kept
 * only once asked (an ensemble asks): a standalone node never pays for
 * it, and the first one asked walks the tree once.
 */
uint64_t
treedigest(void)
{
	struct sess	*s;
	uint64_t	 sum, h;

	if (!digesting) {
		dsum = walkdigest(root, PATHSEED, 1);
		digesting = 1;
	} else
		digestflush();
#ifdef ZK_DIGESTCHECK
	if ((h = walkdigest(root, PATHSEED, 0)) != dsum)
		errx(EX_SOFTWARE, "digest: kept 0x%" PRIx64 ", walked 0x%"
		    PRIx64, dsum, h);
#endif
	sum = dsum;
	RB_FOREACH(s, sesstree, &sessions) {	/* and the sessions */
		h = fnvint(fnvint(0x84222325cbf29ce4ULL, s->id), s->timeout);
		sum += h ^ (h >> 31);
	}
	return sum;
}

struct node	*confignode;

/*
 * In an ensemble /zookeeper/config holds the members' config text (member.c)
 * from the start: zoo.cfg's servers (or dataDir/zoo.cfg.dynamic's), unless
 * the snapshot brought the text of a reconfig (a version above 0), which
 * the log's reconfigs then carry on.  Each node's own: like Apache's, the
 * node is left out of the digest.
 */
void
initconfig(void)
{
	struct zkbuf	 b = { 0 };
	struct zkfield	 d = { .key = "data" };
	struct zkserver	 sv[ZK_MAXSERVERS];
	const char	*why;
	char		*t;
	int		 n, kept;
	int64_t		 v;

	if (cfg.nservers < 2 || confignode == NULL)
		return;
	if (confignode->dlen > 0) {
		if ((t = strndup(confignode->data, (size_t)confignode->dlen))
		    == NULL)
			err(EX_OSERR, NULL);
		kept = zkcfg_parsetext(t, sv, &n, &v, &why) == 0 && v > 0;
		free(t);
		if (kept)
			return;		/* a reconfig's */
	}
	zkcfg_conftext(&b, cfg.servers, cfg.nservers, cfg.configVersion);
	if (b.err)
		errc(EX_OSERR, b.err, "config");
	d.val = (char *)ZKBUF_DATA(&b);
	d.len = ZKBUF_LEN(&b);
	datasize -= confignode->dlen;
	freedata(confignode, confignode->data);
	setdata(confignode, &d);
	datasize += confignode->dlen;
	zkbuf_free(&b);
}

static struct node *
initnode(struct node *parent, const char *name, struct acl *acl)
{
	struct zkfield	 d = { .key = "data", .val = empty, .len = 0 };
	struct node	*n;

	acl->refs++;
	n = newnode(parent, name, strlen(name), &d, acl, K_NORMAL, 0);
	if (parent != NULL)
		attach(n);
	return n;
}

void
inittree(void)
{
	struct acl	*open, *rd;
	struct node	*zk;

	open = aclintern("31:world:anyone\n", 16);
	rd = aclintern("1:world:anyone\n", 15);
	root = initnode(NULL, "", open);
	root->linked = 1;
	touch(root);
	nnodes = 1;
	datasize = 1;		/* Apache keeps "" and "/" for the root */
	zk = initnode(root, "zookeeper", open);
	initnode(zk, "quota", open);
	confignode = initnode(zk, "config", rd);
	confignode->aversion = -1;
	aclunref(open);
	aclunref(rd);
}
