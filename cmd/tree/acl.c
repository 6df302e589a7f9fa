/*
 * zk-tree's ACLs: interned and shared, fixed up as Apache's
 * PrepRequestProcessor.fixupACL does, checked as checkACL does.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "tree.h"

static struct acltree	 acls = RB_INITIALIZER(&acls);
static struct zkbuf	 tmp;

static int
aclcmp(struct acl *a, struct acl *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE(acltree, acl, entry, aclcmp)

void
aclunref(struct acl *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	RB_REMOVE(acltree, &acls, a);
	free(a);
}

/* The shared acl for tmp's key text (entries "perms:scheme:id\n"). */
struct acl *
aclintern(const char *key, size_t klen)
{
	struct acl	 k, *a;
	char		*text, *p, *e, *c1, *c2;
	size_t		 n, i;

	k.key = (char *)key;
	if ((a = RB_FIND(acltree, &acls, &k)) != NULL) {
		a->refs++;
		return a;
	}
	for (n = 0, i = 0; i < klen; i++)
		if (key[i] == '\n')
			n++;
	a = xmalloc(sizeof(*a) + n * sizeof(a->ent[0]) + 2 * (klen + 1));
	a->refs = 1;
	a->n = n;
	a->key = (char *)&a->ent[n];
	memcpy(a->key, key, klen + 1);
	text = a->key + klen + 1;
	memcpy(text, key, klen + 1);
	for (p = text, i = 0; i < n; i++, p = e + 1) {
		e = strchr(p, '\n');
		*e = '\0';
		c1 = strchr(p, ':');
		c2 = strchr(c1 + 1, ':');
		*c1 = *c2 = '\0';
		a->ent[i].perms = (int32_t)strtol(p, NULL, 10);
		a->ent[i].scheme = c1 + 1;
		a->ent[i].id = c2 + 1;
	}
	RB_INSERT(acltree, &acls, a);
	return a;
}

/* Java's Integer.parseInt */
static int
jint(const char *s, size_t len, int64_t *v)
{
	size_t	 i = 0;
	int	 neg = 0;

	*v = 0;
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i++;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
		if (*v > (int64_t)INT32_MAX + 1)
			return -1;
	}
	if (neg)
		*v = -*v;
	return *v > INT32_MAX ? -1 : 0;
}

/* IPAuthenticationProvider: "a.b.c.d" or "a.b.c.d/bits"; bits -1 = none */
static int
ipparse(const char *s, size_t len, uint8_t b[4], int64_t *bits)
{
	const char	*p = s, *end, *slash;
	int64_t		 v;
	int		 i;

	slash = memchr(s, '/', len);
	end = slash ? slash : s + len;
	*bits = -1;
	for (i = 0; i < 4; i++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));

		if ((dot == NULL) != (i == 3))
			return -1;
		if (dot == NULL)
			dot = end;
		if (jint(p, (size_t)(dot - p), &v) == -1 || v < 0 || v > 255)
			return -1;
		b[i] = (uint8_t)v;
		p = dot + 1;
	}
	if (slash != NULL) {
		if (jint(slash + 1, (size_t)(s + len - slash - 1), bits) == -1 ||
		    *bits < 0 || *bits > 32)
			return -1;
	}
	return 0;
}

static int
ipmatch(const char *addr, const char *expr)
{
	uint8_t		 a[4], e[4];
	int64_t		 bits, nb;
	int		 i;

	if (ipparse(expr, strlen(expr), e, &bits) == -1 ||
	    ipparse(addr, strlen(addr), a, &nb) == -1 || nb != -1)
		return 0;
	if (bits == -1)
		bits = 32;
	for (i = 0; i < 4; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - bits));

		if ((a[i] & m) != (e[i] & m))
			return 0;
	}
	return 1;
}

/* DigestAuthenticationProvider.isValid: id.split(":").length == 2 */
static int
digestvalid(const char *id, size_t len)
{
	size_t	 parts = 1, i, end = len;

	while (end > 0 && id[end - 1] == ':')	/* split drops trailing "" */
		end--;
	if (end == 0)
		return 0;
	for (i = 0; i < end; i++)
		if (id[i] == ':')
			parts++;
	return parts == 2;
}

/*
 * SASLAuthenticationProvider.isValid: a Kerberos name, so an id with an
 * '@' must read primary[/instance]@realm (no other '/' or '@').
 */
static int
saslvalid(const char *id, size_t len)
{
	const char	*at, *p;
	size_t		 slash = 0;

	if ((at = memchr(id, '@', len)) == NULL)
		return 1;
	for (p = id; p < at; p++)
		if (*p == '/')
			slash++;
	if (slash > 1)
		return 0;
	for (p = at + 1; p < id + len; p++)
		if (*p == '/' || *p == '@')
			return 0;
	return 1;
}

static void
aceadd(struct zkbuf *b, int64_t perms, const char *s, size_t sl,
    const char *id, size_t il)
{
	size_t	 start = b->len, n;
	char	*p, *q;

	zkbuf_printf(b, "%" PRId64 ":", perms);
	zkbuf_add(b, s, sl);
	zkbuf_addc(b, ':');
	zkbuf_add(b, id, il);
	zkbuf_addc(b, '\n');
	bufcheck(b);
	/* collapse duplicates, as Apache's LinkedHashSet does */
	n = b->len - start;
	for (p = b->p; p < b->p + start; p = q + 1) {
		q = memchr(p, '\n', (size_t)(b->p + start - p));
		if ((size_t)(q + 1 - p) == n && memcmp(p, b->p + start, n) == 0) {
			b->len = start;
			return;
		}
	}
}

/* PrepRequestProcessor.fixupACL: 0 and a referenced acl, or ZINVALIDACL */
int
fixacl(const struct req *r, const struct fv *v, struct acl **out)
{
	const struct zkfield	*f;
	const char		*c1, *c2, *s, *id;
	size_t			 i, k, sl, il;
	int64_t			 perms;
	int			 any;

	zkbuf_reset(&tmp);
	for (i = 0; i < v->n; i++) {
		f = &v->f[i];
		if (strcmp(f->key, "acl") != 0)
			continue;
		if ((c1 = memchr(f->val, ':', f->len)) == NULL ||
		    (c2 = memchr(c1 + 1, ':', (size_t)(f->val + f->len -
		    c1 - 1))) == NULL ||
		    jint(f->val, (size_t)(c1 - f->val), &perms) == -1)
			return ZINVALIDACL;
		s = c1 + 1;
		sl = (size_t)(c2 - s);
		id = c2 + 1;
		il = (size_t)(f->val + f->len - id);
		if (memchr(f->val, '\0', f->len) != NULL ||
		    memchr(f->val, '\n', f->len) != NULL)
			return ZINVALIDACL;
		if (sl == 5 && memcmp(s, "world", 5) == 0 && il == 6 &&
		    memcmp(id, "anyone", 6) == 0)
			aceadd(&tmp, perms, s, sl, id, il);
		else if (sl == 4 && memcmp(s, "auth", 4) == 0) {
			/* the ids whose provider isAuthenticated() */
			for (any = 0, k = 0; k < r->nauth; k++) {
				if (!((r->auth[k].slen == 6 && memcmp(
				    r->auth[k].scheme, "digest", 6) == 0) ||
				    (r->auth[k].slen == 4 && memcmp(
				    r->auth[k].scheme, "sasl", 4) == 0)))
					continue;
				any = 1;
				aceadd(&tmp, perms, r->auth[k].scheme,
				    r->auth[k].slen, r->auth[k].id,
				    strlen(r->auth[k].id));
			}
			if (!any)
				return ZINVALIDACL;
		} else if (sl == 6 && memcmp(s, "digest", 6) == 0) {
			if (!digestvalid(id, il))
				return ZINVALIDACL;
			aceadd(&tmp, perms, s, sl, id, il);
		} else if (sl == 4 && memcmp(s, "sasl", 4) == 0) {
			if (!saslvalid(id, il))
				return ZINVALIDACL;
			aceadd(&tmp, perms, s, sl, id, il);
		} else if (sl == 2 && memcmp(s, "ip", 2) == 0) {
			uint8_t	 b[4];
			int64_t	 bits;

			if (ipparse(id, il, b, &bits) == -1)
				return ZINVALIDACL;
			aceadd(&tmp, perms, s, sl, id, il);
		} else
			return ZINVALIDACL;
	}
	if (tmp.len == 0)
		return ZINVALIDACL;
	zkbuf_addc(&tmp, '\0');
	bufcheck(&tmp);
	*out = aclintern(tmp.p, tmp.len - 1);
	return 0;
}

/* ZooKeeperServer.checkACL; skipACL=yes skips it, as Apache's does */
int
allowed(const struct req *r, const struct acl *a, int perm)
{
	const struct ace	*e;
	size_t			 i, k;

	if (cfg.skipACL || a == NULL || a->n == 0 || r->super)
		return 1;
	for (i = 0; i < a->n; i++) {
		e = &a->ent[i];
		if ((e->perms & perm) == 0)
			continue;
		if (strcmp(e->scheme, "world") == 0 &&
		    strcmp(e->id, "anyone") == 0)
			return 1;
		for (k = 0; k < r->nauth; k++) {
			if (strlen(e->scheme) != r->auth[k].slen ||
			    memcmp(e->scheme, r->auth[k].scheme,
			    r->auth[k].slen) != 0)
				continue;
			if ((strcmp(e->scheme, "digest") == 0 ||
			    strcmp(e->scheme, "sasl") == 0) &&
			    strcmp(e->id, r->auth[k].id) == 0)
				return 1;
			if (strcmp(e->scheme, "ip") == 0 &&
			    ipmatch(r->auth[k].id, e->id))
				return 1;
		}
	}
	return 0;
}

void
putacl(struct zkbuf *b, const struct acl *a, int mask)
{
	const struct ace	*e;
	const char		*c;
	size_t			 i;

	for (i = 0; i < a->n; i++) {
		e = &a->ent[i];
		zkbuf_reset(&tmp);
		zkbuf_printf(&tmp, "%d:%s:", e->perms, e->scheme);
		if (mask && strcmp(e->scheme, "digest") == 0 &&
		    (c = strchr(e->id, ':')) != NULL) {
			zkbuf_add(&tmp, e->id, (size_t)(c - e->id));
			zkbuf_add(&tmp, ":x", 2);
		} else
			zkbuf_add(&tmp, e->id, strlen(e->id));
		bufcheck(&tmp);
		zkl_put(b, "acl", tmp.p, tmp.len);
	}
}
