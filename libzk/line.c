/*
 * line.c: the records that zk programs exchange, one per line:
 *
 *	verb key=value key=value ...\n
 *
 * Values are escaped as vis(3) does with VIS_CSTYLE | VIS_OCTAL |
 * VIS_WHITE (space \s, tab \t, newline \n, backslash \\, other bytes
 * outside '!'..'~' as \ooo), so a record is always one line, every byte
 * survives, and unvis(1) reads a value back.  A key may repeat: lists
 * (acl=, child=) and multi sub-operations (op=) are written that way.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "zk.h"

/* Next whole line in b (newline replaced by NUL); consume len + 1 after. */
int
zkl_next(struct zkbuf *b, char **line, size_t *len)
{
	char	*p, *nl;
	size_t	 n = ZKBUF_LEN(b);

	/* a long line comes in many reads: each looks at its new bytes */
	if (b->scan >= n) {
		b->scan = n;
		return 0;
	}
	p = ZKBUF_DATA(b);
	if ((nl = memchr(p + b->scan, '\n', n - b->scan)) == NULL) {
		b->scan = n;
		return 0;
	}
	b->scan = 0;
	*nl = '\0';
	*line = p;
	*len = (size_t)(nl - p);
	return 1;
}

static char *
escbytes(char *d, const unsigned char *s, size_t len)
{
	static const char	 oct[] = "01234567";
	size_t			 i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c > ' ' && c < 0x7f && c != '\\') {
			*d++ = (char)c;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '\\': *d++ = '\\'; break;
		case ' ': *d++ = 's'; break;
		case '\n': *d++ = 'n'; break;
		case '\t': *d++ = 't'; break;
		case '\r': *d++ = 'r'; break;
		default:
			*d++ = oct[c >> 6];
			*d++ = oct[(c >> 3) & 7];
			*d++ = oct[c & 7];
		}
	}
	return d;
}

/*
 * Whether the 64 bytes at s can be copied as they are (no byte at most
 * ' ', at least 0x7f, or a backslash): SSE2, which every x86-64 has,
 * looks at 16 bytes with three compares.  Elsewhere every byte goes
 * through escbytes.
 */
#ifdef __SSE2__
#define BLOCK	64

static inline int
blockclean(const unsigned char *s)
{
	const __m128i	 lo = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f);
	const __m128i	 bs = _mm_set1_epi8('\\');
	__m128i		 v, bad = _mm_setzero_si128();
	int		 i;

	for (i = 0; i < BLOCK; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* signed: 0x80 and above are below 0x21 too */
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmplt_epi8(v, lo),
		    _mm_or_si128(_mm_cmpeq_epi8(v, del),
		    _mm_cmpeq_epi8(v, bs))));
	}
	return _mm_movemask_epi8(bad) == 0;
}
#endif

/*
 * Worst case 4 bytes out per byte in; dst needs 4 * len + 1.  Data is
 * mostly text, copied a block at a time where no byte needs escaping.
 */
size_t
zkl_escape(char *dst, const void *src, size_t len)
{
	const unsigned char	*s = src;
	char			*d = dst;
	size_t			 i = 0;

#ifdef BLOCK
	for (; len - i >= BLOCK; i += BLOCK) {
		if (blockclean(s + i)) {
			memcpy(d, s + i, BLOCK);
			d += BLOCK;
		} else
			d = escbytes(d, s + i, BLOCK);
	}
#endif
	d = escbytes(d, s + i, len - i);
	*d = '\0';
	return (size_t)(d - dst);
}

/* Unescape in place; returns the new length or -1 for a bad escape. */
ssize_t
zkl_unescape(char *s, size_t len)
{
	char	*d = s, *end = s + len, *p;
	int	 v, n;

	if ((p = memchr(s, '\\', len)) == NULL)
		return (ssize_t)len;
	d = p;
	while (p < end) {
		if (*p != '\\') {
			*d++ = *p++;
			continue;
		}
		if (++p == end)
			return -1;
		switch (*p) {
		case '\\': *d++ = '\\'; p++; break;
		case 's': *d++ = ' '; p++; break;
		case 'n': *d++ = '\n'; p++; break;
		case 't': *d++ = '\t'; p++; break;
		case 'r': *d++ = '\r'; p++; break;
		case 'a': *d++ = '\a'; p++; break;
		case 'b': *d++ = '\b'; p++; break;
		case 'f': *d++ = '\f'; p++; break;
		case 'v': *d++ = '\v'; p++; break;
		case 'E': *d++ = '\033'; p++; break;
		default:
			if (*p < '0' || *p > '7')
				return -1;
			for (v = 0, n = 0; n < 3 && p < end &&
			    *p >= '0' && *p <= '7'; n++, p++)
				v = v * 8 + (*p - '0');
			if (v > 255)
				return -1;
			*d++ = (char)v;
		}
	}
	*d = '\0';
	return d - s;
}

/*
 * Split a line in place into its verb and fields.  Fields point into
 * the line, so it must outlive the zkline; s must have room for len + 1
 * bytes (zkl_next leaves the NUL that replaced the newline there).  -1
 * with EINVAL for a field without '=' or a bad escape; ENOMEM.
 */
int
zkl_parse(struct zkline *l, char *s, size_t len)
{
	char	*end = s + len, *p, *eq;
	ssize_t	 n;

	*end = '\0';
	l->nf = 0;
	while (s < end && *s == ' ')
		s++;
	l->verb = s;
	while (s < end && *s != ' ')
		s++;
	if (s == l->verb) {
		errno = EINVAL;
		return -1;
	}
	if (s < end)
		*s++ = '\0';
	while (s < end) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if ((p = memchr(s, ' ', (size_t)(end - s))) == NULL)
			p = end;
		*p = '\0';
		if ((eq = memchr(s, '=', (size_t)(p - s))) == NULL ||
		    eq == s) {
			errno = EINVAL;
			return -1;
		}
		*eq = '\0';
		if ((n = zkl_unescape(eq + 1, (size_t)(p - eq - 1))) == -1) {
			errno = EINVAL;
			return -1;
		}
		if (l->nf == l->cap) {
			size_t		 cap = l->cap ? l->cap * 2 : 16;
			struct zkfield	*f;

			if ((f = reallocarray(l->f, cap, sizeof(*f))) == NULL)
				return -1;
			l->f = f;
			l->cap = cap;
		}
		l->f[l->nf].key = s;
		l->f[l->nf].val = eq + 1;
		l->f[l->nf].len = (size_t)n;
		l->nf++;
		s = p + 1;
	}
	return 0;
}

void
zkl_free(struct zkline *l)
{
	free(l->f);
	l->f = NULL;
	l->nf = l->cap = 0;
}

/*
 * The getters over a range of fields, f[0..n-1] (a multi's sub-op, say):
 * the first field named key, its value, its value as a number.
 */
const struct zkfield *
zkf_get(const struct zkfield *f, size_t n, const char *key)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

const char *
zkf_str(const struct zkfield *f, size_t n, const char *key)
{
	const struct zkfield	*v = zkf_get(f, n, key);

	return v ? v->val : NULL;
}

int
zkf_int(const struct zkfield *f, size_t n, const char *key, int64_t *v)
{
	const char	*s = zkf_str(f, n, key);

	if (s == NULL)
		return -1;
	return zkl_parseint(s, v);
}

int64_t
zkf_intdef(const struct zkfield *f, size_t n, const char *key, int64_t def)
{
	int64_t	 v;

	return zkf_int(f, n, key, &v) == 0 ? v : def;
}

/* the same over all of a line's fields */
const struct zkfield *
zkl_get(const struct zkline *l, const char *key)
{
	return zkf_get(l->f, l->nf, key);
}

const char *
zkl_str(const struct zkline *l, const char *key)
{
	return zkf_str(l->f, l->nf, key);
}

/*
 * A number at the start of s, without copies or strtoull: an optional
 * '-', then decimal, or hex after 0x (a second 0x before a hex digit is
 * taken, as glibc's strtoull takes it), at most 2^64-1.  Stops
 * at the first byte that is no digit of the base and points *end there;
 * the caller says what may come next.  -1 without digits or on overflow.
 */
int
zkl_number(const char *s, const char **end, int64_t *v)
{
	uint64_t	 u = 0;
	unsigned	 d;
	int		 neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
		    isxdigit((unsigned char)s[2]))
			s += 2;
		if (!isxdigit((unsigned char)*s))
			return -1;
		for (;; s++) {
			if (*s >= '0' && *s <= '9')
				d = (unsigned)(*s - '0');
			else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
				d = (unsigned)((*s | 0x20) - 'a' + 10);
			else
				break;
			if (u >> 60)
				return -1;
			u = u << 4 | d;
		}
	} else {
		for (; *s >= '0' && *s <= '9'; s++) {
			d = (unsigned)(*s - '0');
			/* against constants: nothing computed per digit */
			if (u >= UINT64_MAX / 10 && (u > UINT64_MAX / 10 ||
			    d > UINT64_MAX % 10))
				return -1;
			u = u * 10 + d;
		}
	}
	*end = s;
	*v = (int64_t)(neg ? 0 - u : u);
	return 0;
}

/* Decimal, or hex with 0x; a leading '-' is allowed. */
int
zkl_parseint(const char *s, int64_t *v)
{
	const char	*end;

	if (zkl_number(s, &end, v) == -1 || *end != '\0')
		return -1;
	return 0;
}

int
zkl_int(const struct zkline *l, const char *key, int64_t *v)
{
	return zkf_int(l->f, l->nf, key, v);
}

int64_t
zkl_intdef(const struct zkline *l, const char *key, int64_t def)
{
	return zkf_intdef(l->f, l->nf, key, def);
}

/* stat=czxid,mzxid,ctime,mtime,version,cversion,aversion,owner,dataLength,
 * numChildren,pzxid (zxids and owner in hex) */
int
zkl_parsestat(const char *s, struct zkstat *st)
{
	int64_t		 v[11];
	const char	*end;
	int		 i;

	/* one pass, the hot part of most replies: no copies, no strtoull */
	for (i = 0; i < 11; i++) {
		if (zkl_number(s, &end, &v[i]) == -1 || end - s >= 32 ||
		    *end != (i < 10 ? ',' : '\0'))
			return -1;
		s = end + 1;
	}
	st->czxid = v[0];
	st->mzxid = v[1];
	st->ctime = v[2];
	st->mtime = v[3];
	st->version = (int32_t)v[4];
	st->cversion = (int32_t)v[5];
	st->aversion = (int32_t)v[6];
	st->ephemeralOwner = v[7];
	st->dataLength = (int32_t)v[8];
	st->numChildren = (int32_t)v[9];
	st->pzxid = v[10];
	return 0;
}

void
zkl_begin(struct zkbuf *b, const char *verb)
{
	zkbuf_add(b, verb, strlen(verb));
}

void
zkl_put(struct zkbuf *b, const char *key, const void *val, size_t len)
{
	size_t	 klen = strlen(key);

	if (len > (SIZE_MAX - klen - 3) / 4) {	/* the escaped size wraps */
		b->err = ENOMEM;
		return;
	}
	if (zkbuf_reserve(b, klen + 2 + 4 * len + 1) == -1)
		return;
	b->p[b->len++] = ' ';
	memcpy(b->p + b->len, key, klen);
	b->len += klen;
	b->p[b->len++] = '=';
	b->len += zkl_escape(b->p + b->len, val, len);
}

void
zkl_puts(struct zkbuf *b, const char *key, const char *s)
{
	zkl_put(b, key, s, strlen(s));
}

/*
 * Integers by hand, not printf: a get's reply line has six of them and
 * vfprintf cost more than the rest of the line.  Each writes backwards
 * from the end of a small buffer and returns where it started; the
 * output is what "%" PRId64, "0x%" PRIx64 and "-0x%" PRIx64 print.
 */
static char *
fmtu(char *end, uint64_t u)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	return end;
}

static char *
fmtd(char *end, int64_t v)
{
	char	*p;

	p = fmtu(end, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	return p;
}

static char *
fmtx(char *end, uint64_t u)
{
	static const char	 hex[] = "0123456789abcdef";

	do {
		*--end = hex[u & 15];
		u >>= 4;
	} while (u != 0);
	*--end = 'x';
	*--end = '0';
	return end;
}

/* " key=" then the len bytes at p; room is checked once. */
static void
putraw(struct zkbuf *b, const char *key, const char *p, size_t len)
{
	size_t	 klen = strlen(key);

	if (zkbuf_reserve(b, klen + 2 + len) == -1)
		return;
	b->p[b->len++] = ' ';
	memcpy(b->p + b->len, key, klen);
	b->len += klen;
	b->p[b->len++] = '=';
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

void
zkl_putd(struct zkbuf *b, const char *key, int64_t v)
{
	char	 tmp[24], *end = tmp + sizeof(tmp), *p;

	p = fmtd(end, v);
	putraw(b, key, p, (size_t)(end - p));
}

void
zkl_putx(struct zkbuf *b, const char *key, int64_t v)
{
	char	 tmp[24], *end = tmp + sizeof(tmp), *p;

	p = fmtx(end, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	putraw(b, key, p, (size_t)(end - p));
}

/* stat=czxid,mzxid,ctime,mtime,version,cversion,aversion,owner,dataLength,
 * numChildren,pzxid: zxids and owner as unsigned hex, the rest decimal */
void
zkl_putstat(struct zkbuf *b, const char *key, const struct zkstat *st)
{
	char	 tmp[11 * 24], *end = tmp + sizeof(tmp), *p = end;

	p = fmtx(p, (uint64_t)st->pzxid);
	*--p = ',';
	p = fmtd(p, st->numChildren);
	*--p = ',';
	p = fmtd(p, st->dataLength);
	*--p = ',';
	p = fmtx(p, (uint64_t)st->ephemeralOwner);
	*--p = ',';
	p = fmtd(p, st->aversion);
	*--p = ',';
	p = fmtd(p, st->cversion);
	*--p = ',';
	p = fmtd(p, st->version);
	*--p = ',';
	p = fmtd(p, st->mtime);
	*--p = ',';
	p = fmtd(p, st->ctime);
	*--p = ',';
	p = fmtx(p, (uint64_t)st->mzxid);
	*--p = ',';
	p = fmtx(p, (uint64_t)st->czxid);
	putraw(b, key, p, (size_t)(end - p));
}

void
zkl_end(struct zkbuf *b)
{
	zkbuf_addc(b, '\n');
}
