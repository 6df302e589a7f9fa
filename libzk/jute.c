/* jute.c: ZooKeeper's record encoding (big-endian, length-prefixed) */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

void
jr_init(struct jr *r, const void *p, size_t len)
{
	r->p = r->start = p;
	r->end = r->p + len;
	r->bad = 0;
	r->base = 0;
	r->why = NULL;
	r->at = 0;
}

size_t
jr_off(const struct jr *r)
{
	return r->base + (size_t)(r->p - r->start);
}

/* The first failure, back bytes before p. */
static void
jr_fail(struct jr *r, const char *why, size_t back)
{
	if (!r->bad) {
		r->why = why;
		r->at = jr_off(r) - back;
	}
	r->bad = 1;
}

static int
jr_need(struct jr *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		jr_fail(r, "truncated", 0);
		return -1;
	}
	return 0;
}

int32_t
jr_int(struct jr *r)
{
	uint32_t	 v;

	if (jr_need(r, 4) == -1)
		return 0;
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return (int32_t)v;
}

int64_t
jr_long(struct jr *r)
{
	uint64_t	 hi, lo;

	hi = (uint32_t)jr_int(r);
	lo = (uint32_t)jr_int(r);
	return (int64_t)(hi << 32 | lo);
}

int
jr_bool(struct jr *r)
{
	if (jr_need(r, 1) == -1)
		return 0;
	return *r->p++ != 0;
}

/* A buffer or ustring: returns its length, -1 for null; *p points into
 * the record.  A length below -1 or past the record is bad. */
int32_t
jr_buf(struct jr *r, const char **p)
{
	int32_t	 len;

	*p = NULL;
	len = jr_int(r);
	if (r->bad)
		return -1;
	if (len == -1)
		return -1;
	if (len < -1) {
		jr_fail(r, "bad length", 4);
		return -1;
	}
	if (jr_need(r, (size_t)len) == -1)
		return -1;
	*p = (const char *)r->p;
	r->p += len;
	return len;
}

char *
jr_strdup(struct jr *r)
{
	const char	*p;
	char		*s;
	int32_t		 len;

	len = jr_buf(r, &p);
	if (len < 0)
		return NULL;
	if ((s = malloc((size_t)len + 1)) == NULL) {
		r->bad = 1;
		return NULL;
	}
	memcpy(s, p, (size_t)len);
	s[len] = '\0';
	return s;
}

void
jr_stat(struct jr *r, struct zkstat *st)
{
	st->czxid = jr_long(r);
	st->mzxid = jr_long(r);
	st->ctime = jr_long(r);
	st->mtime = jr_long(r);
	st->version = jr_int(r);
	st->cversion = jr_int(r);
	st->aversion = jr_int(r);
	st->ephemeralOwner = jr_long(r);
	st->dataLength = jr_int(r);
	st->numChildren = jr_int(r);
	st->pzxid = jr_long(r);
}

void
jw_int(struct zkbuf *b, int32_t v)
{
	unsigned char	 q[4];
	uint32_t	 u = (uint32_t)v;

	q[0] = u >> 24;
	q[1] = u >> 16;
	q[2] = u >> 8;
	q[3] = u;
	zkbuf_add(b, q, 4);
}

void
jw_long(struct zkbuf *b, int64_t v)
{
	jw_int(b, (int32_t)((uint64_t)v >> 32));
	jw_int(b, (int32_t)(uint32_t)v);
}

void
jw_bool(struct zkbuf *b, int v)
{
	zkbuf_addc(b, v ? 1 : 0);
}

void
jw_buf(struct zkbuf *b, const void *p, int32_t len)
{
	if (p == NULL || len < 0) {
		jw_int(b, -1);
		return;
	}
	jw_int(b, len);
	zkbuf_add(b, p, (size_t)len);
}

void
jw_str(struct zkbuf *b, const char *s)
{
	jw_buf(b, s, s == NULL ? -1 : (int32_t)strlen(s));
}

void
jw_stat(struct zkbuf *b, const struct zkstat *st)
{
	jw_long(b, st->czxid);
	jw_long(b, st->mzxid);
	jw_long(b, st->ctime);
	jw_long(b, st->mtime);
	jw_int(b, st->version);
	jw_int(b, st->cversion);
	jw_int(b, st->aversion);
	jw_long(b, st->ephemeralOwner);
	jw_int(b, st->dataLength);
	jw_int(b, st->numChildren);
	jw_long(b, st->pzxid);
}

/*
 * Start a length-prefixed frame; returns where its length goes, counted
 * from the first unsent byte: a buffer that slides its unsent bytes to
 * the front while the frame grows moves both.
 */
size_t
jw_frame_begin(struct zkbuf *b)
{
	size_t	 at = ZKBUF_LEN(b);

	jw_int(b, 0);
	return at;
}

void
jw_frame_end(struct zkbuf *b, size_t at)
{
	unsigned char	*h;
	uint32_t	 n;

	if (b->err)
		return;
	h = (unsigned char *)ZKBUF_DATA(b) + at;
	n = (uint32_t)(ZKBUF_LEN(b) - at - 4);
	h[0] = n >> 24;
	h[1] = n >> 16;
	h[2] = n >> 8;
	h[3] = n;
}

/*
 * The next whole frame in the buffer: 1 and its body, 0 when more bytes
 * are needed, -1 with EMSGSIZE for a length below 1 or above max.  The
 * caller consumes 4 + len once it is done with the body.
 */
int
zkframe_next(struct zkbuf *b, size_t max, const char **body, size_t *len)
{
	const unsigned char	*p = (const unsigned char *)ZKBUF_DATA(b);
	int32_t			 n;

	if (ZKBUF_LEN(b) < 4)
		return 0;
	n = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
	if (n <= 0 || (size_t)n > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (ZKBUF_LEN(b) - 4 < (size_t)n)
		return 0;
	*body = (const char *)p + 4;
	*len = (size_t)n;
	return 1;
}
