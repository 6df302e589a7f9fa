/*
 * libzk-test: drives libzk for t/libzk.bats.
 *
 *	libzk-test jute | frame | escape | line | int | stat | fmt | crc |
 *	    hex | shm | seg | zabwire | zabquorum | members | elect | drain |
 *	    orphan | connect | connect-sup
 *		run the named self-checks (connect-sup: with ZK_NODE_PID set); print "ok NAME" or one line per
 *		failed check, exit 1 if any failed
 *	libzk-test cfg FILE
 *		load FILE with zkcfg_load and print the result, key=value
 *		per line; on error print the message and exit 1
 *	libzk-test standalone FILE
 *		zkcfg_load, then zkcfg_standalone: print nservers and myid
 *		as they are then, or the message and exit 1
 *	libzk-test digest TEXT
 *		print zk_digest_id(TEXT)
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"

static int	 failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		failed++;						\
	}								\
} while (0)

static void
usage(void)
{
	fprintf(stderr, "usage: libzk-test jute | frame | escape | line | "
	    "int | stat | fmt | crc | hex | shm | seg | epochs | zabwire | "
	    "zabquorum | "
	    "members | elect | drain | orphan | connect | "
	    "connect-sup | cfg file | "
	    "standalone file | digest text\n");
	exit(EX_USAGE);
}

/* field by field: a memcmp would compare the padding after aversion,
   which no initializer or parser need set */
static int
stateq(const struct zkstat *a, const struct zkstat *b)
{
	return a->czxid == b->czxid && a->mzxid == b->mzxid &&
	    a->ctime == b->ctime && a->mtime == b->mtime &&
	    a->version == b->version && a->cversion == b->cversion &&
	    a->aversion == b->aversion &&
	    a->ephemeralOwner == b->ephemeralOwner &&
	    a->dataLength == b->dataLength &&
	    a->numChildren == b->numChildren && a->pzxid == b->pzxid;
}

static void
t_jute(void)
{
	static const unsigned char want[] = {
		0x01, 0x02, 0x03, 0x04,				/* int */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,	/* long -2 */
		0x01, 0x00,					/* bools */
		0x00, 0x00, 0x00, 0x02, 'h', 'i',		/* buf */
		0xff, 0xff, 0xff, 0xff,				/* null buf */
		0x00, 0x00, 0x00, 0x00,				/* empty str */
		0xff, 0xff, 0xff, 0xff,				/* null str */
	};
	struct zkbuf	 b = { 0 };
	struct zkstat	 st = { 0x100000001LL, -5, 1700000000123LL, 0,
			    7, -1, 3, (int64_t)0x8000000000000001ULL, 1048575,
			    2, 0x7fffffffffffffffLL }, st2;
	struct jr	 r;
	const char	*p;
	char		*s;
	size_t		 at;

	jw_int(&b, 0x01020304);
	jw_long(&b, -2);
	jw_bool(&b, 7);
	jw_bool(&b, 0);
	jw_buf(&b, "hi", 2);
	jw_buf(&b, NULL, 5);
	jw_str(&b, "");
	jw_str(&b, NULL);
	CHECK(!b.err);
	CHECK(b.len == sizeof(want));
	CHECK(b.len == sizeof(want) && memcmp(b.p, want, b.len) == 0);

	jr_init(&r, b.p, b.len);
	CHECK(jr_int(&r) == 0x01020304);
	CHECK(jr_long(&r) == -2);
	CHECK(jr_bool(&r) == 1);
	CHECK(jr_bool(&r) == 0);
	CHECK(jr_buf(&r, &p) == 2 && p != NULL && memcmp(p, "hi", 2) == 0);
	CHECK(jr_buf(&r, &p) == -1 && p == NULL);
	s = jr_strdup(&r);
	CHECK(s != NULL && *s == '\0');
	free(s);
	CHECK(jr_strdup(&r) == NULL);
	CHECK(!r.bad);
	CHECK(r.p == r.end);
	CHECK(jr_int(&r) == 0 && r.bad);	/* past the end */

	/* a stat is 68 bytes and comes back field for field */
	zkbuf_reset(&b);
	jw_stat(&b, &st);
	CHECK(b.len == 68);
	jr_init(&r, b.p, b.len);
	memset(&st2, 0xa5, sizeof(st2));	/* no field left as it was */
	jr_stat(&r, &st2);
	CHECK(!r.bad && r.p == r.end);
	CHECK(stateq(&st, &st2));
	jr_init(&r, b.p, 67);
	jr_stat(&r, &st2);
	CHECK(r.bad);

	/* lengths below -1 and past the record are bad */
	zkbuf_reset(&b);
	jw_int(&b, -2);
	jr_init(&r, b.p, b.len);
	CHECK(jr_buf(&r, &p) == -1 && r.bad);
	zkbuf_reset(&b);
	jw_int(&b, 5);
	zkbuf_add(&b, "abcd", 4);
	jr_init(&r, b.p, b.len);
	CHECK(jr_buf(&r, &p) == -1 && r.bad);
	jr_init(&r, b.p, b.len);
	CHECK(jr_strdup(&r) == NULL && r.bad);
	zkbuf_reset(&b);
	jw_int(&b, INT32_MAX);
	jr_init(&r, b.p, b.len);
	CHECK(jr_buf(&r, &p) == -1 && r.bad);

	/* the first failure says what and where, base counted in */
	zkbuf_reset(&b);
	jw_int(&b, 1);
	jw_int(&b, -2);				/* bad length at 4 */
	jw_int(&b, 9);
	jr_init(&r, b.p, b.len);
	CHECK(r.why == NULL && jr_off(&r) == 0);
	r.base = 100;
	CHECK(jr_int(&r) == 1 && jr_off(&r) == 104);
	CHECK(jr_buf(&r, &p) == -1 && r.bad && p == NULL);
	CHECK(r.why != NULL && strcmp(r.why, "bad length") == 0 &&
	    r.at == 104);
	CHECK(jr_long(&r) == 0 && strcmp(r.why, "bad length") == 0 &&
	    r.at == 104);			/* the first one stays */
	jr_init(&r, b.p, 10);
	CHECK(jr_long(&r) == 0x1fffffffeLL && jr_off(&r) == 8);
	CHECK(jr_int(&r) == 0 && r.bad && r.why != NULL &&
	    strcmp(r.why, "truncated") == 0 && r.at == 8 && jr_off(&r) == 8);
	jr_init(&r, b.p + 8, 4);		/* a body of 9 in 0 bytes */
	CHECK(jr_buf(&r, &p) == -1 && r.why != NULL &&
	    strcmp(r.why, "truncated") == 0 && r.at == 4);

	/* frames: the length excludes itself */
	zkbuf_reset(&b);
	at = jw_frame_begin(&b);
	jw_int(&b, 1);
	jw_str(&b, "abc");
	jw_frame_end(&b, at);
	CHECK(b.len == 15);
	CHECK(memcmp(b.p, "\0\0\0\13", 4) == 0);
	zkbuf_free(&b);
}

/* A buffer holding one frame header of length n and have body bytes. */
static void
frame(struct zkbuf *b, int32_t n, size_t have)
{
	zkbuf_reset(b);
	jw_int(b, n);
	if (have > 0) {
		if (zkbuf_reserve(b, have) == -1)
			err(EX_OSERR, "zkbuf_reserve");
		memset(b->p + b->len, 'x', have);
		b->len += have;
	}
}

static void
t_frame(void)
{
	struct zkbuf	 b = { 0 };
	const char	*body;
	size_t		 len;

	frame(&b, -1, 0);
	errno = 0;
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == -1);
	CHECK(errno == EMSGSIZE);
	frame(&b, INT32_MIN, 8);
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == -1);
	frame(&b, 0, 0);
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == -1);
	frame(&b, ZK_MAXBUFFER + 1, 0);		/* refused before the body */
	errno = 0;
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == -1);
	CHECK(errno == EMSGSIZE);
	frame(&b, 0x72756f6b, 0);		/* "ruok" as a length */
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == -1);

	frame(&b, ZK_MAXBUFFER, ZK_MAXBUFFER - 1);	/* one byte short */
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 0);
	frame(&b, ZK_MAXBUFFER, ZK_MAXBUFFER);		/* exactly maxbuffer */
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 1);
	CHECK(len == ZK_MAXBUFFER && body == ZKBUF_DATA(&b) + 4);

	zkbuf_reset(&b);
	zkbuf_add(&b, "\0\0\0", 3);		/* partial header */
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 0);

	/* two frames back to back, consumed one at a time */
	frame(&b, 1, 1);
	jw_int(&b, 2);
	zkbuf_add(&b, "yz", 2);
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 1 && len == 1 &&
	    *body == 'x');
	zkbuf_consume(&b, 4 + len);
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 1 && len == 2 &&
	    memcmp(body, "yz", 2) == 0);
	zkbuf_consume(&b, 4 + len);
	CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 0);

	/* a frame written behind output partly sent: the buffer slides
	 * its unsent bytes to the front while the frame grows */
	zkbuf_free(&b);
	{
		char	 big[3000];
		size_t	 at;

		memset(big, 'q', sizeof(big));
		zkbuf_add(&b, big, sizeof(big));	/* capacity 4096 */
		zkbuf_consume(&b, 2000);		/* 1000 unsent */
		at = jw_frame_begin(&b);
		zkbuf_add(&b, big, 2000);		/* slides, then fits */
		jw_frame_end(&b, at);
		CHECK(!b.err && ZKBUF_LEN(&b) == 1000 + 4 + 2000);
		zkbuf_consume(&b, 1000);
		CHECK(zkframe_next(&b, ZK_MAXBUFFER, &body, &len) == 1 &&
		    len == 2000 && body[0] == 'q' && body[1999] == 'q');
	}
	zkbuf_free(&b);
}

/* Escaped text: one line, one field, nothing a reader would split on. */
static int
clean(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return s[n] == '\0';
}

static void
t_escape(void)
{
	unsigned char	 all[256 * 2];
	char		 esc[4 * sizeof(all) + 1];
	size_t		 n, i;
	ssize_t		 m;

	for (i = 0; i < 256; i++) {
		unsigned char	 c = (unsigned char)i;

		n = zkl_escape(esc, &c, 1);
		CHECK(n >= 1 && n <= 4 && clean(esc, n));
		m = zkl_unescape(esc, n);
		if (m != 1 || (unsigned char)esc[0] != c) {
			printf("FAIL byte %zu does not survive\n", i);
			failed++;
		}
	}
	/* every byte, then every byte followed by a digit (octal run-on) */
	for (i = 0; i < 256; i++) {
		all[2 * i] = (unsigned char)i;
		all[2 * i + 1] = (unsigned char)('0' + i % 10);
	}
	n = zkl_escape(esc, all, sizeof(all));
	CHECK(clean(esc, n));
	m = zkl_unescape(esc, n);
	CHECK(m == (ssize_t)sizeof(all) && memcmp(esc, all, sizeof(all)) == 0);

	/* each byte at each place of a word and of the tail: as escaped
	 * one at a time */
	for (i = 0; i < 256; i++) {
		unsigned char	 c = (unsigned char)i, buf[27];
		char		 one[5], want[4 * sizeof(buf) + 1];
		size_t		 at, k, ol;

		ol = zkl_escape(one, &c, 1);
		for (at = 0; at < sizeof(buf); at++) {
			memset(buf, 'a' + at % 26, sizeof(buf));
			buf[at] = c;
			for (k = 0, n = 0; k < sizeof(buf); k++) {
				if (k == at) {
					memcpy(want + n, one, ol);
					n += ol;
				} else
					want[n++] = (char)buf[k];
			}
			want[n] = '\0';
			if (zkl_escape(esc, buf, sizeof(buf)) != n ||
			    strcmp(esc, want) != 0) {
				printf("FAIL byte %zu at %zu: %s\n", i, at,
				    esc);
				failed++;
			}
		}
	}

	n = zkl_escape(esc, "", 0);
	CHECK(n == 0 && esc[0] == '\0');
	strlcpy(esc, "a\\", sizeof(esc));
	CHECK(zkl_unescape(esc, 2) == -1);		/* dangling backslash */
	strlcpy(esc, "\\q", sizeof(esc));
	CHECK(zkl_unescape(esc, 2) == -1);		/* unknown escape */
	strlcpy(esc, "\\777", sizeof(esc));
	CHECK(zkl_unescape(esc, 4) == -1);		/* above 255 */
}

static void
t_line(void)
{
	struct zkbuf		 b = { 0 };
	struct zkline		 l = { 0 };
	const struct zkfield	*f;
	unsigned char		 all[256];
	char			*s, bad[] = "verb novalue";
	char			 bad2[] = "verb =x", bad3[] = "verb k=\\9";
	size_t			 len, i;
	int64_t			 v;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	zkl_begin(&b, "create");
	zkl_putx(&b, "session", 0x100000abcLL);
	zkl_putd(&b, "xid", -3);
	zkl_put(&b, "data", all, sizeof(all));
	zkl_put(&b, "empty", "", 0);
	zkl_puts(&b, "acl", "31:world:anyone");
	zkl_puts(&b, "acl", "1:digest:u:x=");
	zkl_putx(&b, "neg", -2);
	zkl_end(&b);
	zkl_begin(&b, "next");
	zkl_end(&b);
	CHECK(!b.err);
	CHECK(memchr(b.p, '\n', b.len) == b.p + b.len - 6);

	CHECK(zkl_next(&b, &s, &len) == 1);
	CHECK(zkl_parse(&l, s, len) == 0);
	CHECK(strcmp(l.verb, "create") == 0);
	CHECK(l.nf == 7);
	CHECK(zkl_int(&l, "session", &v) == 0 && v == 0x100000abcLL);
	CHECK(zkl_intdef(&l, "xid", 0) == -3);
	CHECK(zkl_intdef(&l, "neg", 0) == -2);
	CHECK(zkl_intdef(&l, "missing", 42) == 42);
	f = zkl_get(&l, "data");
	CHECK(f != NULL && f->len == 256 && memcmp(f->val, all, 256) == 0);
	f = zkl_get(&l, "empty");
	CHECK(f != NULL && f->len == 0 && *f->val == '\0');
	CHECK(zkl_str(&l, "acl") != NULL &&
	    strcmp(zkl_str(&l, "acl"), "31:world:anyone") == 0);
	CHECK(l.nf == 7 && strcmp(l.f[5].key, "acl") == 0 &&
	    strcmp(l.f[5].val, "1:digest:u:x=") == 0);
	/* the range getters see only their fields: a multi's sub-op */
	CHECK(zkf_get(l.f + 1, 0, "xid") == NULL);
	CHECK(zkf_get(l.f, 7, "acl") == &l.f[4]);
	CHECK(zkf_get(l.f + 5, 2, "acl") == &l.f[5]);
	CHECK(zkf_str(l.f + 5, 2, "acl") != NULL &&
	    strcmp(zkf_str(l.f + 5, 2, "acl"), "1:digest:u:x=") == 0);
	CHECK(zkf_str(l.f + 5, 2, "session") == NULL);
	CHECK(zkf_int(l.f, 1, "session", &v) == 0 && v == 0x100000abcLL);
	CHECK(zkf_int(l.f + 1, 6, "session", &v) == -1);
	CHECK(zkf_int(l.f + 3, 1, "empty", &v) == -1);	/* no number */
	CHECK(zkf_intdef(l.f + 6, 1, "neg", 0) == -2);
	CHECK(zkf_intdef(l.f, 6, "neg", 7) == 7);
	zkbuf_consume(&b, len + 1);
	CHECK(zkl_next(&b, &s, &len) == 1);
	CHECK(zkl_parse(&l, s, len) == 0 && strcmp(l.verb, "next") == 0 &&
	    l.nf == 0);
	zkbuf_consume(&b, len + 1);
	CHECK(zkl_next(&b, &s, &len) == 0);

	/* a line in pieces, the next one's start behind it, a slide of
	 * the buffer between pieces: each found once, whole */
	zkbuf_add(&b, "first a=1", 9);
	CHECK(zkl_next(&b, &s, &len) == 0);
	zkbuf_add(&b, " b=2", 4);
	CHECK(zkl_next(&b, &s, &len) == 0);
	zkbuf_add(&b, "\nsec", 4);
	CHECK(zkl_next(&b, &s, &len) == 1 && len == 13 &&
	    strcmp(s, "first a=1 b=2") == 0);
	zkbuf_consume(&b, len + 1);
	CHECK(zkl_next(&b, &s, &len) == 0);
	for (i = 0; i < 3 * 4096; i++)
		zkbuf_addc(&b, 'x');	/* grows, slides the consumed part */
	CHECK(zkl_next(&b, &s, &len) == 0);
	zkbuf_add(&b, "\nthird\n", 7);
	CHECK(zkl_next(&b, &s, &len) == 1 && len == 3 + 3 * 4096 &&
	    strncmp(s, "secxx", 5) == 0);
	zkbuf_consume(&b, len + 1);
	CHECK(zkl_next(&b, &s, &len) == 1 && strcmp(s, "third") == 0);
	zkbuf_consume(&b, len + 1);
	CHECK(zkl_next(&b, &s, &len) == 0 && ZKBUF_LEN(&b) == 0);
	zkbuf_add(&b, "x", 1);
	CHECK(zkl_next(&b, &s, &len) == 0);
	zkbuf_reset(&b);
	zkbuf_add(&b, "\n", 1);	/* after a reset: looked at again */
	CHECK(zkl_next(&b, &s, &len) == 1 && len == 0);
	zkbuf_consume(&b, 1);

	CHECK(zkl_parse(&l, bad, strlen(bad)) == -1 && errno == EINVAL);
	CHECK(zkl_parse(&l, bad2, strlen(bad2)) == -1);
	CHECK(zkl_parse(&l, bad3, strlen(bad3)) == -1);
	zkl_free(&l);
	zkbuf_free(&b);
}

static void
t_int(void)
{
	int64_t	 v;

	CHECK(zkl_parseint("0", &v) == 0 && v == 0);
	CHECK(zkl_parseint("-0x10", &v) == 0 && v == -16);
	CHECK(zkl_parseint("0x7fffffffffffffff", &v) == 0 &&
	    v == INT64_MAX);
	CHECK(zkl_parseint("-9223372036854775808", &v) == 0 &&
	    v == INT64_MIN);
	CHECK(zkl_parseint("", &v) == -1);
	CHECK(zkl_parseint("-", &v) == -1);
	CHECK(zkl_parseint("12a", &v) == -1);
	CHECK(zkl_parseint(" 1", &v) == -1);
	CHECK(zkl_parseint("0x", &v) == -1);
	CHECK(zkl_parseint("0xg", &v) == -1);
	CHECK(zkl_parseint("99999999999999999999", &v) == -1);
	/* the decimal overflow check at its edge: 2^64 - 1 and 2^64 */
	CHECK(zkl_parseint("18446744073709551615", &v) == 0 && v == -1);
	CHECK(zkl_parseint("18446744073709551610", &v) == 0 && v == -6);
	CHECK(zkl_parseint("18446744073709551616", &v) == -1);
	CHECK(zkl_parseint("18446744073709551620", &v) == -1);
	CHECK(zkl_parseint("1844674407370955161", &v) == 0 &&
	    v == 1844674407370955161LL);
}

/* CRC-32C bit by bit, as defined: the reference for zk_crc32c. */
static uint32_t
crcbits(uint32_t crc, const unsigned char *p, size_t len)
{
	int	 j;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (j = 0; j < 8; j++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

/* zk_crc32c (whichever way it computes) against the definition. */
/* a tree.sock that answers one connection: with the ring, or by closing */
static pid_t
ringserver(const char *path, const struct zkshm *t)
{
	char	 buf[64];
	pid_t	 pid;
	int	 l, c;

	if ((l = zk_listen_unix(path)) == -1)
		err(EX_OSERR, "%s", path);
	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid == 0) {
		if ((c = accept(l, NULL, NULL)) == -1 ||
		    read(c, buf, sizeof(buf)) <= 0)
			_exit(1);
		if (t != NULL && zkshm_send(t, c) == -1)
			_exit(1);
		_exit(0);
	}
	close(l);
	return pid;
}

static void
t_shm(void)
{
	struct zkshm	 t, g;
	const char	*tmp = getenv("TMPDIR"), *p;
	char		 path[PATH_MAX], v[1001];
	uint64_t	 pos, len;
	pid_t		 pid;
	int		 fd, st;

	CHECK(zkshm_create(&t, 1000) == 0 && t.fd != -1);	/* zk-tree's */
	CHECK(zkshm_map(&g, t.fd) == 0 && g.size == 1000);	/* the gate's */
	memset(v, 'a', sizeof(v));
	CHECK(zkshm_put(&t, v, 400, &pos) == 0 && pos == 0);
	memset(v, 'b', sizeof(v));
	CHECK(zkshm_put(&t, v, 400, &pos) == 0 && pos == 400);
	memset(v, 'c', sizeof(v));
	CHECK(zkshm_put(&t, v, 400, &pos) == -1);	/* full: no wrap */
	CHECK((p = zkshm_at(&g, 0, 400)) != NULL && p[0] == 'a' &&
	    p[399] == 'a');
	zkshm_release(&g, 400);
	zkshm_release(&g, 100);				/* never back */
	CHECK(zkshm_put(&t, v, 400, &pos) == 0 && pos == 1000);
	CHECK((p = zkshm_at(&g, 1000, 400)) != NULL && p[0] == 'c' &&
	    p[399] == 'c');
	CHECK((p = zkshm_at(&g, 400, 400)) != NULL && p[0] == 'b');
	CHECK(zkshm_put(&t, v, 1, &pos) == -1);		/* 801 in use */
	zkshm_release(&g, 1400);
	CHECK(zkshm_put(&t, v, 1, &pos) == 0 && pos == 1400);
	CHECK(zkshm_put(&t, v, 0, &pos) == -1);
	CHECK(zkshm_put(&t, v, 1001, &pos) == -1);
	CHECK(zkshm_at(&g, 900, 200) == NULL);		/* would wrap */
	CHECK(zkshm_at(&g, 0, 0) == NULL && zkshm_at(&g, 0, 1001) == NULL);
	zkshm_reset(&t);				/* a new gate */
	CHECK(zkshm_put(&t, v, 599, &pos) == 0 && pos == 1401);	/* to the end */
	CHECK(zkshm_put(&t, v, 1, &pos) == 0 && pos == 2000);
	zkshm_close(&g);

	CHECK(zkshm_parse("12,34", &pos, &len) == 0 && pos == 12 && len == 34);
	CHECK(zkshm_parse("18446744073709551615,1", &pos, &len) == -1);
	CHECK(zkshm_parse("1844674407370955161,1", &pos, &len) == 0);
	CHECK(zkshm_parse("12", &pos, &len) == -1);
	CHECK(zkshm_parse(",3", &pos, &len) == -1);
	CHECK(zkshm_parse("1,", &pos, &len) == -1);
	CHECK(zkshm_parse("1,2x", &pos, &len) == -1);

	/* the fd over a socket: the same ring; a peer without one */
	snprintf(path, sizeof(path), "%s/ring.%d", tmp ? tmp : "/tmp",
	    (int)getpid());
	unlink(path);
	pid = ringserver(path, &t);
	CHECK(zkshm_fetch(&g, path, 5000) == 0 && g.size == 1000 &&
	    (p = zkshm_at(&g, 2000, 1)) != NULL && *p == 'c');
	zkshm_release(&g, 2001);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	zkshm_close(&g);
	unlink(path);
	pid = ringserver(path, NULL);
	errno = 0;
	CHECK(zkshm_fetch(&g, path, 5000) == -1 && errno == ENOENT);
	CHECK(waitpid(pid, &st, 0) == pid);
	unlink(path);
	CHECK(zkshm_put(&t, v, 999, &pos) == 0 && pos == 2001);	/* freed */
	zkshm_close(&t);

	/* not a ring: refused */
	if ((fd = memfd_create("junk", 0)) == -1 || write(fd, v, 1001) != 1001)
		err(EX_OSERR, "memfd");
	errno = 0;
	CHECK(zkshm_map(&g, fd) == -1 && errno == EINVAL);
	close(fd);
}

static void
t_crc(void)
{
	unsigned char	 buf[4096 + 16];
	size_t		 i, off, len, cut;
	uint32_t	 seed;

	CHECK(zk_crc32c(0, "123456789", 9) == 0xe3069283);
	CHECK(zk_crc32c(0, "", 0) == 0);
	arc4random_buf(buf, sizeof(buf));
	for (i = 0; i < 20000 && !failed; i++) {
		off = arc4random_uniform(16);
		len = i < 300 ? i : arc4random_uniform(4097);
		seed = i & 1 ? arc4random() : 0;
		CHECK(zk_crc32c(seed, buf + off, len) ==
		    crcbits(seed, buf + off, len));
		/* in two pieces: the running value carries over */
		cut = len ? arc4random_uniform((uint32_t)len + 1) : 0;
		CHECK(zk_crc32c(zk_crc32c(seed, buf + off, cut),
		    buf + off + cut, len - cut) ==
		    crcbits(seed, buf + off, len));
	}
}

/* zk_hexenc and zk_hexdec: every byte both ways; bad input refused. */
static void
t_hex(void)
{
	unsigned char	 all[256], back[256], one[2];
	char		 s[2 * 256 + 1];
	size_t		 i;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	zk_hexenc(s, all, sizeof(all));
	CHECK(strlen(s) == 512);
	CHECK(strncmp(s, "000102", 6) == 0);
	CHECK(strcmp(s + 500, "fafbfcfdfeff") == 0);
	memset(back, 0, sizeof(back));
	CHECK(zk_hexdec(back, sizeof(back), s) == 0);
	CHECK(memcmp(all, back, sizeof(all)) == 0);
	zk_hexenc(s, all, 0);
	CHECK(s[0] == '\0');
	CHECK(zk_hexdec(one, 0, "") == 0);
	CHECK(zk_hexdec(one, 2, "AbC9") == 0 && one[0] == 0xab &&
	    one[1] == 0xc9);
	errno = 0;
	CHECK(zk_hexdec(one, 2, "abc") == -1 && errno == EINVAL);
	CHECK(zk_hexdec(one, 2, "abcde") == -1);	/* too long */
	CHECK(zk_hexdec(one, 2, "") == -1);
	CHECK(zk_hexdec(one, 2, "ab:0") == -1);	/* ':' is '9' + 1 */
	CHECK(zk_hexdec(one, 2, "ab0g") == -1);
	CHECK(zk_hexdec(one, 2, "ab/0") == -1);	/* '/' is '0' - 1 */
	CHECK(zk_hexdec(one, 2, "@b00") == -1);	/* '@' is 'A' - 1 */
	CHECK(zk_hexdec(one, 2, "ab 0") == -1);
	CHECK(zk_hexdec(one, 1, "\xc3\xa9") == -1);
}

/* A random value of a random magnitude, either sign. */
static int64_t
rnd64(void)
{
	uint64_t	 u = (uint64_t)arc4random() << 32 | arc4random();

	u >>= arc4random_uniform(64);
	return arc4random_uniform(2) ? -(int64_t)u : (int64_t)u;
}

/* zkl_putd, zkl_putx, zkl_putstat print what snprintf prints. */
static void
t_fmt(void)
{
	static const int64_t	 edge[] = { 0, 1, -1, 9, 10, -10, 15, 16,
				    INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
				    INT64_MIN + 1, 999999999999999999LL };
	struct zkbuf	 b = { 0 };
	struct zkstat	 st;
	char		 want[512];
	int64_t		 v;
	size_t		 i, n;

	for (i = 0; i < 200000; i++) {
		v = i < sizeof(edge) / sizeof(edge[0]) ? edge[i] : rnd64();
		zkbuf_reset(&b);
		zkl_putd(&b, "k", v);
		n = (size_t)snprintf(want, sizeof(want), " k=%" PRId64, v);
		CHECK(!b.err && b.len == n && memcmp(b.p, want, n) == 0);
		zkbuf_reset(&b);
		zkl_putx(&b, "key", v);
		if (v < 0)
			n = (size_t)snprintf(want, sizeof(want),
			    " key=-0x%" PRIx64, -(uint64_t)v);
		else
			n = (size_t)snprintf(want, sizeof(want),
			    " key=0x%" PRIx64, (uint64_t)v);
		CHECK(!b.err && b.len == n && memcmp(b.p, want, n) == 0);
		if (failed)
			break;
	}
	for (i = 0; i < 50000 && !failed; i++) {
		v = i < sizeof(edge) / sizeof(edge[0]) ? edge[i] : 0;
		st.czxid = v ? v : rnd64();
		st.mzxid = v ? v : rnd64();
		st.ctime = v ? v : rnd64();
		st.mtime = v ? v : rnd64();
		st.version = v ? (int32_t)v : (int32_t)rnd64();
		st.cversion = v ? (int32_t)v : (int32_t)rnd64();
		st.aversion = v ? (int32_t)v : (int32_t)rnd64();
		st.ephemeralOwner = v ? v : rnd64();
		st.dataLength = v ? (int32_t)v : (int32_t)rnd64();
		st.numChildren = v ? (int32_t)v : (int32_t)rnd64();
		st.pzxid = v ? v : rnd64();
		zkbuf_reset(&b);
		zkl_putstat(&b, "stat", &st);
		n = (size_t)snprintf(want, sizeof(want), " stat=0x%" PRIx64
		    ",0x%" PRIx64 ",%" PRId64 ",%" PRId64 ",%d,%d,%d,0x%" PRIx64
		    ",%d,%d,0x%" PRIx64, (uint64_t)st.czxid,
		    (uint64_t)st.mzxid, st.ctime, st.mtime, st.version,
		    st.cversion, st.aversion, (uint64_t)st.ephemeralOwner,
		    st.dataLength, st.numChildren, (uint64_t)st.pzxid);
		CHECK(!b.err && b.len == n && memcmp(b.p, want, n) == 0);
	}
	zkbuf_free(&b);
}

static void
t_stat(void)
{
	struct zkbuf	 b = { 0 };
	struct zkstat	 st = { 0x100000001LL, 0x2a, 1700000000123LL,
			    1700000000999LL, 7, -1, 3,
			    (int64_t)0x8000000000000001ULL, 1048575, 2,
			    0x7fffffffffffffffLL }, st2;
	const char	*bad[] = {
		"", "1,2,3,4,5,6,7,8,9,10", "1,2,3,4,5,6,7,8,9,10,11,12",
		"1,2,3,4,5,6,7,8,9,10,", ",1,2,3,4,5,6,7,8,9,10",
		"1,2,3,4,5,6,7,8,9,x,11", "1,2,3,4,5,6,7,8,9,10,11 ",
	};
	size_t		 i;

	zkl_putstat(&b, "stat", &st);
	zkbuf_addc(&b, '\0');
	CHECK(!b.err && strncmp(b.p, " stat=", 6) == 0);
	memset(&st2, 0, sizeof(st2));
	CHECK(zkl_parsestat(b.p + 6, &st2) == 0);
	CHECK(stateq(&st, &st2));
	CHECK(zkl_parsestat("0x5,0x6,100,200,1,2,3,0x0,4,5,0x7", &st2) == 0);
	CHECK(st2.czxid == 5 && st2.mzxid == 6 && st2.ctime == 100 &&
	    st2.mtime == 200 && st2.version == 1 && st2.cversion == 2 &&
	    st2.aversion == 3 && st2.ephemeralOwner == 0 &&
	    st2.dataLength == 4 && st2.numChildren == 5 && st2.pzxid == 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (zkl_parsestat(bad[i], &st2) != -1) {
			printf("FAIL stat \"%s\" parsed\n", bad[i]);
			failed++;
		}
	zkbuf_free(&b);
}

static int
t_cfg(const char *file)
{
	struct zkcfg	 c;
	char		 errbuf[1200];
	int		 i;

	if (zkcfg_load(&c, file, errbuf, sizeof(errbuf)) == -1) {
		printf("%s\n", errbuf);
		return 1;
	}
	printf("tickTime=%d\ninitLimit=%d\nsyncLimit=%d\n", c.tickTime,
	    c.initLimit, c.syncLimit);
	printf("minSessionTimeout=%d\nmaxSessionTimeout=%d\n",
	    c.minSessionTimeout, c.maxSessionTimeout);
	printf("dataDir=%s\ndataLogDir=%s\n", c.dataDir, c.dataLogDir);
	printf("clientPort=%d\nclientPortAddress=%s\n", c.clientPort,
	    c.clientPortAddress);
	printf("maxClientCnxns=%d\nsnapCount=%ld\n", c.maxClientCnxns,
	    c.snapCount);
	printf("whitelist=%s\nextendedTypesEnabled=%d\nreconfigEnabled=%d\n",
	    c.whitelist, c.extendedTypesEnabled, c.reconfigEnabled);
	printf("syncEnabled=%d\n", c.syncEnabled);
	printf("superDigest=%s\ncontainerCheckMs=%ld\nmaxbuffer=%ld\n",
	    c.superDigest, c.containerCheckMs, c.maxbuffer);
	printf("myid=%d\npeerTypeObserver=%d\nnservers=%d\n", c.myid,
	    c.peerTypeObserver, c.nservers);
	for (i = 0; i < c.nservers; i++)
		printf("server.%d=%s:%d:%d observer=%d client=%s:%d\n",
		    c.servers[i].id, c.servers[i].host,
		    c.servers[i].quorumport, c.servers[i].electionport,
		    c.servers[i].observer, c.servers[i].clienthost,
		    c.servers[i].clientport);
	printf("4lw.ruok=%d\n4lw.srvr=%d\n", zkcfg_4lw_allowed(&c, "ruok"),
	    zkcfg_4lw_allowed(&c, "srvr"));
	return 0;
}

/*
 * A peer that binds path after delay_us and sends "x": connected to with
 * zk_connect_unix(path, wait_ms), checked, waited for, its name removed.
 */
static void
latepeer(const char *path, useconds_t delay_us, int wait_ms)
{
	pid_t	 pid;
	char	 c = 0;
	int	 fd, lfd, st;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid == 0) {
		usleep(delay_us);
		if ((lfd = zk_listen_unix(path)) == -1 ||
		    (fd = accept(lfd, NULL, NULL)) == -1 ||
		    write(fd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	fd = zk_connect_unix(path, wait_ms);
	CHECK(fd != -1);
	CHECK(fd != -1 && read(fd, &c, 1) == 1 && c == 'x');
	if (fd != -1)
		close(fd);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	unlink(path);
}

/*
 * zk_connect_unix: a name that never comes is ENOENT after the wait; a
 * peer that binds later, in a directory watched before it exists as a
 * socket, is connected to as soon as it listens.
 */
static void
t_connect(void)
{
	char	 dir[] = "/tmp/libzk-test.XXXXXX", path[64];
	int64_t	 t0;

	if (mkdtemp(dir) == NULL)
		err(EX_OSERR, "mkdtemp");
	snprintf(path, sizeof(path), "%s/peer.sock", dir);
	CHECK(zk_connect_unix(path, 0) == -1 && errno == ENOENT);
	t0 = zk_mono_ms();
	CHECK(zk_connect_unix(path, 200) == -1 && errno == ENOENT);
	CHECK(zk_mono_ms() - t0 >= 200);
	latepeer(path, 100000, 10000);
	rmdir(dir);
}

/*
 * Under a supervisor (ZK_NODE_PID, given by the caller): past wait_ms
 * while it lives (the peer binds after 300 ms, the wait is 100), and
 * EOWNERDEAD once it is gone (ZK_NODE_PID names no process).
 */
static void
t_connect_sup(void)
{
	char	 dir[] = "/tmp/libzk-test.XXXXXX", path[64];

	if (mkdtemp(dir) == NULL)
		err(EX_OSERR, "mkdtemp");
	snprintf(path, sizeof(path), "%s/peer.sock", dir);
	if (kill(zk_supervisor(), 0) == -1)
		CHECK(zk_connect_unix(path, 100) == -1 && errno == EOWNERDEAD);
	else
		latepeer(path, 300000, 100);
	rmdir(dir);
}

/*
 * The loop wakes as soon as its supervisor dies, a zombie one too (a
 * supervisor killed with -9 whose parent does not reap it): within a
 * pass, not after the once-a-second look that kill(pid, 0) would need,
 * and kill(pid, 0) would not even see the zombie as gone.
 */
static void
t_orphan(void)
{
	struct zkloop	*lp;
	char		 num[32];
	pid_t		 sup;
	int64_t		 t0, took;
	int		 rc, e;

	if ((sup = fork()) == -1)
		err(EX_OSERR, "fork");
	if (sup == 0) {
		pause();
		_exit(0);
	}
	snprintf(num, sizeof(num), "%d", (int)sup);
	if (setenv("ZK_NODE_PID", num, 1) == -1)
		err(EX_OSERR, "setenv");
	CHECK(zk_supervisor() == sup);
	CHECK(zk_supervisor_fd() >= 0);
	if ((lp = zkloop_new()) == NULL)
		err(EX_OSERR, "zkloop_new");
	CHECK(zkloop_run(lp, 0) == 0);		/* alive: nothing to do */
	CHECK(!zk_orphaned());
	if (kill(sup, SIGKILL) == -1)
		err(EX_OSERR, "kill");
	alarm(10);
	t0 = zk_mono_ms();
	rc = zkloop_run(lp, -1);		/* no timeout of its own */
	e = errno;
	took = zk_mono_ms() - t0;
	CHECK(rc == -1 && e == EOWNERDEAD);
	CHECK(took < 500);
	CHECK(kill(sup, 0) == 0);		/* a zombie, not reaped */
	CHECK(zk_orphaned());
	alarm(0);
	waitpid(sup, NULL, 0);
	zkloop_free(lp);
}

/* A batch of framed records, zxids first..last, ~460 bytes each. */
static void
segbatch(struct zkbuf *b, int64_t first, int64_t last)
{
	char	 line[600];
	int64_t	 z;
	int	 n;

	zkbuf_reset(b);
	for (z = first; z <= last; z++) {
		n = snprintf(line, sizeof(line), "create zxid=0x%" PRIx64
		    " time=1 session=0x1 path=/n%" PRId64 " data=%0400d\n", z,
		    z, 7);
		zkseg_frame(b, line, (size_t)n);
	}
	if (b->err)
		errc(EX_OSERR, b->err, "batch");
}

struct segseen {
	int64_t		 want;		/* next zxid expected */
	int		 bad;
};

static int
segline(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct segseen	*s = w->arg;
	char		 pre[64];
	int		 n;

	n = snprintf(pre, sizeof(pre), "create zxid=0x%" PRIx64 " ", z);
	if ((z != s->want && !((z & 0xffffffff) == 1 && z > s->want)) ||
	    len < (size_t)n || memcmp(line, pre, (size_t)n) !=
	    0 || line[len - 1] != '\n')
		s->bad++;
	s->want = z + 1;
	return 0;
}

/* Walk dir: the scan's result, w filled in, every record checked. */
static int
segscan(const char *dir, struct zkscan *w, size_t *nseg)
{
	struct zkseg	*v;
	struct segseen	 s = { 1, 0 };
	size_t		 n;
	int		 r;

	if (zkseg_list(dir, &v, &n) == -1)
		err(EX_OSERR, "%s", dir);
	memset(w, 0, sizeof(*w));
	w->fn = segline;
	w->arg = &s;
	r = zkseg_walk(v, n, w);
	CHECK(s.bad == 0);
	CHECK(r != ZKSEG_OK || (int64_t)w->ndeliv == (w->last >> 32 ?
	    (int64_t)w->nrec : w->last));
	free(v);
	if (nseg != NULL)
		*nseg = n;
	return r;
}

static off_t
fsize(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		err(EX_OSERR, "%s", path);
	return st.st_size;
}

static void
touch(const char *dir, const char *name)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(EX_OSERR, "%s", path);
	close(fd);
}

static void
flipat(const char *path, off_t off)
{
	unsigned char	 c;
	int		 fd;

	if ((fd = open(path, O_RDWR)) == -1 || pread(fd, &c, 1, off) != 1)
		err(EX_OSERR, "%s", path);
	c ^= 0x20;
	if (pwrite(fd, &c, 1, off) != 1)
		err(EX_OSERR, "%s", path);
	close(fd);
}

static int	 segfailing;

static int
segfault(void *arg, int what)
{
	(void)arg;
	return what == segfailing;
}

/*
 * A preallocated segment is read up to the end of its data: the space
 * after it is not faulted in (where the file system can tell holes, as
 * ext4 and tmpfs do), and a whole record written past a stretch of it
 * is still found: damage, not a clean end.
 */
static void
t_seghole(void)
{
	char		 dir[] = "/tmp/libzk-test.XXXXXX", cmd[PATH_MAX + 16];
	struct zkbuf	 b = { 0 };
	struct zklog	 lg;
	struct zkscan	 w;
	unsigned char	 vec[256];
	const off_t	 far = 512 * 1024, size = 1 << 20;
	void		*m;
	int		 fd, holes, i, resident;

	if (mkdtemp(dir) == NULL)
		err(EX_OSERR, "mkdtemp");
	CHECK(zklog_open(&lg, dir, size) == 0);
	segbatch(&b, 1, 5);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 1, 5) == 0);
	CHECK(fsize(lg.path) == size);
	if ((fd = open(lg.path, O_RDONLY)) == -1)
		err(EX_OSERR, "%s", lg.path);
	holes = lseek(fd, far, SEEK_DATA) == -1 && errno == ENXIO;
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 5 && !w.torn);
	if (holes) {
		/* not one page of the second half read in */
		if ((m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd,
		    0)) == MAP_FAILED)
			err(EX_OSERR, "mmap");
		CHECK(mincore((char *)m + far, (size_t)(size - far), vec) ==
		    0);
		for (i = resident = 0; i < (int)((size - far) / 4096); i++)
			resident += vec[i] & 1;
		CHECK(resident == 0);
		munmap(m, (size_t)size);
		/* zeros read in by another reader (or read ahead) are data
		   to SEEK_DATA while cached: a whole walk gives them back */
		for (i = 0; i < (int)(size / 4096); i++)
			CHECK(pread(fd, vec, 1, (off_t)i * 4096) == 1);
		if (lseek(fd, far, SEEK_DATA) == far) {
			CHECK(segscan(dir, &w, NULL) == ZKSEG_OK &&
			    w.last == 5);
			CHECK(lseek(fd, far, SEEK_DATA) == -1 &&
			    errno == ENXIO);
		} else
			fprintf(stderr, "seghole: %s: cached zeros are not "
			    "data, the give-back check skipped\n", dir);
	} else
		fprintf(stderr, "seghole: %s cannot tell holes, the "
		    "page check skipped\n", dir);
	close(fd);

	/* a record past the hole: found */
	if ((fd = open(lg.path, O_RDWR)) == -1)
		err(EX_OSERR, "%s", lg.path);
	segbatch(&b, 6, 6);
	if (pwrite(fd, ZKBUF_DATA(&b), b.len, far + 100) != (ssize_t)b.len)
		err(EX_OSERR, "%s", lg.path);
	close(fd);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_BAD && w.last == 5 &&
	    w.why != NULL && strstr(w.why, "after the end") != NULL);

	zklog_close(&lg);
	zkbuf_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		errx(EX_OSERR, "%s", cmd);
}

/* a file of dir: its text written, or removed (text NULL) */
static void
putfile(const char *dir, const char *name, const char *text)
{
	char	 path[128];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (text == NULL) {
		unlink(path);
		return;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err(EX_OSERR, "%s", path);
	close(fd);
}

static int
exists(const char *dir, const char *name)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* name holds what an earlier zk-log refuses: no number, the guard line */
static int
guarded(const char *dir, const char *name)
{
	char	 path[128], buf[64];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, "in ./epochs (a newer zk-log)\n") == 0;
}

/* the epochs of dir: 0, or -1 (ep->why says why) */
static int
epopen(struct zkepochs *ep, const char *dir)
{
	int	 dfd, rc;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		err(EX_OSERR, "%s", dir);
	rc = zkep_open(ep, dfd);
	close(dfd);
	return rc;
}

/*
 * The epochs file: made with zeros, updated by turns in either block,
 * each update read back; a torn newest block gives the state before it,
 * both blocks bad (or a wrong size) are refused; the legacy files are
 * taken over once, and a bad one refused; then they hold the guard that
 * an earlier zk-log refuses, and a guard without the file is refused.
 * zkep_parse takes only what zkep_format makes.
 */
static void
t_epochs(void)
{
	char		 dir[] = "/tmp/libzk-test.XXXXXX", blk[ZKEP_BLOCK];
	char		 path[128];
	struct zkepochs	 ep;
	struct stat	 st;
	uint64_t	 q;
	int64_t		 a, c;
	int		 i, fd;

	if (mkdtemp(dir) == NULL)
		err(EX_OSERR, "mkdtemp");
	snprintf(path, sizeof(path), "%s/epochs", dir);
	CHECK(epopen(&ep, dir) == 0 && ep.accepted == 0 && ep.current == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 2 * ZKEP_BLOCK);
	CHECK(guarded(dir, "acceptedEpoch") && guarded(dir, "currentEpoch"));
	for (i = 1; i <= 5; i++) {
		CHECK(zkep_set(&ep, i, i - 1) == 0);
		zkep_close(&ep);
		CHECK(epopen(&ep, dir) == 0 && ep.accepted == i &&
		    ep.current == i - 1);
	}
	CHECK(zkep_set(&ep, 3, 4) == -1 && errno == EINVAL);
	CHECK(zkep_set(&ep, 0x100000000LL, 0) == -1 && errno == EINVAL);
	CHECK(stat(path, &st) == 0 && st.st_size == 2 * ZKEP_BLOCK);
	/* 5/4 is the newest (block ep.at); torn, 4/3 is read */
	flipat(path, (off_t)ep.at * ZKEP_BLOCK + 20);
	zkep_close(&ep);
	CHECK(epopen(&ep, dir) == 0 && ep.accepted == 4 && ep.current == 3);
	/* a byte past the line, in the zeros, is damage too */
	flipat(path, (off_t)ep.at * ZKEP_BLOCK + 1000);
	zkep_close(&ep);
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "neither block is valid") != NULL);
	CHECK(truncate(path, ZKEP_BLOCK) == 0);
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "4096 bytes, not 8192") != NULL);
	/* the legacy files, taken over */
	putfile(dir, "epochs", NULL);
	putfile(dir, "acceptedEpoch", "7\n");
	putfile(dir, "currentEpoch", "6\n");
	CHECK(epopen(&ep, dir) == 0 && ep.accepted == 7 && ep.current == 6);
	CHECK(guarded(dir, "acceptedEpoch") && guarded(dir, "currentEpoch") &&
	    !exists(dir, "epochs.tmp") && !exists(dir, "acceptedEpoch.tmp") &&
	    !exists(dir, "currentEpoch.tmp"));
	CHECK(zkep_set(&ep, 8, 6) == 0);
	zkep_close(&ep);
	/* ... left by a crash after the takeover: the file wins, they are
	   guarded */
	putfile(dir, "acceptedEpoch", "2\n");
	putfile(dir, "currentEpoch", NULL);
	CHECK(epopen(&ep, dir) == 0 && ep.accepted == 8 && ep.current == 6);
	CHECK(guarded(dir, "acceptedEpoch") && guarded(dir, "currentEpoch"));
	zkep_close(&ep);
	/* the guards without the file: lost, refused, nothing made */
	putfile(dir, "epochs", NULL);
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "epochs is gone, but acceptedEpoch says") != NULL);
	CHECK(!exists(dir, "epochs") && guarded(dir, "acceptedEpoch"));
	putfile(dir, "currentEpoch", NULL);
	/* the guard line with more after a NUL is no guard: not an epoch */
	snprintf(blk, sizeof(blk), "%s/acceptedEpoch", dir);
	CHECK((fd = open(blk, O_WRONLY | O_TRUNC)) != -1 &&
	    write(fd, "in ./epochs (a newer zk-log)\0x\n", 31) == 31);
	close(fd);
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "acceptedEpoch: not an epoch") != NULL);
	CHECK(!exists(dir, "epochs"));
	putfile(dir, "acceptedEpoch", "x7\n");
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "acceptedEpoch: not an epoch") != NULL);
	CHECK(!exists(dir, "epochs"));
	putfile(dir, "acceptedEpoch", "3\n");
	putfile(dir, "currentEpoch", "4\n");
	CHECK(epopen(&ep, dir) == -1 && errno == EINVAL &&
	    strstr(ep.why, "is above") != NULL);
	putfile(dir, "acceptedEpoch", NULL);
	putfile(dir, "currentEpoch", NULL);
	/* parse: what format makes, and nothing near it */
	zkep_format(blk, 9, 0xffffffffLL, 5);
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == 0 && q == 9 &&
	    a == 0xffffffffLL && c == 5);
	CHECK(zkep_parse(blk, sizeof(blk) - 1, &q, &a, &c) == -1);
	blk[ZKEP_BLOCK - 1] = 1;
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	zkep_format(blk, 9, 0x100000000LL, 5);
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	zkep_format(blk, 0, 1, 1);
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	zkep_format(blk, 1, 1, 2);
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	memset(blk, 0, sizeof(blk));
	CHECK(zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	fd = snprintf(blk, sizeof(blk), "zk-epochs 1 seq=01 accepted=1 "
	    "current=1 crc=00000000\n");
	CHECK(fd > 0 && zkep_parse(blk, sizeof(blk), &q, &a, &c) == -1);
	unlink(path);
	rmdir(dir);
}

/*
 * The log-segment format: list, append (segments roll and are
 * preallocated), scan good / torn / damaged, a failed append keeps
 * nothing, truncate online within a segment, across segments, before
 * the whole log, damage before the cut refused; appends go on at Z+1.
 */
static void
t_seg(void)
{
	char		 dir[] = "/tmp/libzk-test.XXXXXX", path[PATH_MAX];
	char		 cmd[PATH_MAX + 16];
	struct zkbuf	 b = { 0 };
	struct zklog	 lg, lg2;
	struct zkscan	 w;
	struct zkseg	*v;
	size_t		 n, nseg;
	off_t		 end;
	char		*zeros;
	int		 fd;

	if (mkdtemp(dir) == NULL)
		err(EX_OSERR, "mkdtemp");

	/* list: log.<16 lowercase hex> only, in zxid order */
	touch(dir, "log.0000000000000100");
	touch(dir, "log.000000000000000a");
	touch(dir, "log.00000000000000A0");
	touch(dir, "log.0000000000000001.tmp");
	touch(dir, "log.1");
	touch(dir, "snapshot.0000000000000005");
	CHECK(zkseg_list(dir, &v, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(v[0].first == 0xa && v[1].first == 0x100);
		snprintf(path, sizeof(path), "%s/log.000000000000000a", dir);
		CHECK(strcmp(v[0].path, path) == 0);
	}
	free(v);
	snprintf(cmd, sizeof(cmd), "rm -f %s/*", dir);
	if (system(cmd) != 0)
		errx(EX_OSERR, "%s", cmd);
	CHECK(zkseg_list("/nonexistent/libzk-test", &v, &n) == -1 &&
	    errno == ENOENT && n == 0);

	/* an empty log scans clean */
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 0 &&
	    nseg == 0 && !w.torn);

	/* append: 4096-byte segments roll, each preallocated */
	CHECK(zklog_open(&lg, dir, 4096) == 0);
	CHECK(zklog_open(&lg2, dir, 4096) == -1 && errno == EWOULDBLOCK);
	segbatch(&b, 1, 5);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 1, 5) == 0);
	CHECK(lg.last == 5 && lg.first == 1 && lg.end == (off_t)b.len);
	CHECK(fsize(lg.path) == 4096);
	segbatch(&b, 6, 10);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 6, 10) == 0);
	CHECK(lg.first == 6);
	segbatch(&b, 11, 12);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 11, 12) == 0);
	CHECK(lg.first == 6 && lg.last == 12);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 12 &&
	    nseg == 2 && w.nrec == 12 && !w.torn && w.off == lg.end);

	/* a reader of a few records (a DIFF): up to a stop, across
	   segments; from a record's known offset; a wrong one refused */
	segbatch(&b, 6, 10);		/* 11 starts where these end */
	CHECK(zkseg_list(dir, &v, &n) == 0 && n == 2);
	if (n == 2) {
		struct segseen	 ss = { 4, 0 };

		memset(&w, 0, sizeof(w));
		w.fn = segline;
		w.arg = &ss;
		w.floor = 3;
		w.stop = 7;
		CHECK(zkseg_walk(v, n, &w) == ZKSEG_OK && w.last == 7 &&
		    w.ndeliv == 4 && ss.bad == 0 && ss.want == 8);
		ss.want = 11;
		memset(&w, 0, sizeof(w));
		w.fn = segline;
		w.arg = &ss;
		w.floor = 10;
		w.stop = 11;
		w.at = (off_t)b.len;
		w.atz = 11;
		CHECK(zkseg_walk(v + 1, 1, &w) == ZKSEG_OK && w.last == 11 &&
		    w.ndeliv == 1 && w.nrec == 1 && ss.bad == 0 &&
		    w.off > (off_t)b.len);
		memset(&w, 0, sizeof(w));
		w.at = (off_t)b.len;
		w.atz = 12;
		CHECK(zkseg_walk(v + 1, 1, &w) == ZKSEG_BAD);
		memset(&w, 0, sizeof(w));
		w.at = (off_t)b.len + 1;
		w.atz = 11;
		CHECK(zkseg_walk(v + 1, 1, &w) == ZKSEG_BAD);
		memset(&w, 0, sizeof(w));
		w.at = 1 << 20;
		w.atz = 11;
		CHECK(zkseg_walk(v + 1, 1, &w) == ZKSEG_BAD);
	}
	free(v);

	/* a failed write or fsync keeps nothing, and the log goes on */
	lg.fault = segfault;
	end = lg.end;
	segbatch(&b, 13, 13);
	segfailing = ZKLOG_FWRITE;
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 13, 13) == -1 &&
	    errno == ENOSPC && lg.end == end && lg.last == 12 && !lg.dead);
	segfailing = ZKLOG_FSYNC;
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 13, 13) == -1 &&
	    errno == EIO && lg.end == end && lg.last == 12);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 12 && !w.torn);
	CHECK(fsize(lg.path) == 4096);
	segfailing = 0;

	/* a torn tail: half a record after the last one */
	if ((fd = open(lg.path, O_RDWR)) == -1 ||
	    pwrite(fd, ZKBUF_DATA(&b), b.len / 2, lg.end) != (ssize_t)(b.len / 2))
		err(EX_OSERR, "%s", lg.path);
	close(fd);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.torn && w.last == 12 &&
	    w.off == lg.end && strcmp(w.path, lg.path) == 0);
	strlcpy(path, lg.path, sizeof(path));
	zklog_close(&lg);
	CHECK(zklog_open(&lg, dir, 4096) == 0);
	CHECK(zklog_resume(&lg, path, 6, w.off, w.torn, w.last) == 0);
	CHECK(fsize(path) == 4096);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && !w.torn && w.last == 12);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 13, 13) == 0);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 13);

	/*
	 * The last record written whole but damaged (in its header, line
	 * or final newline) is refused, not taken for a torn tail; cut
	 * short anywhere it is one.
	 */
	end = lg.end - (off_t)b.len;
	for (n = 0; n < b.len; n += n < 12 ? 1 : 97) {
		flipat(lg.path, end + (off_t)n);
		CHECK(segscan(dir, &w, NULL) == ZKSEG_BAD && w.off == end &&
		    w.last == 12 && strcmp(w.path, lg.path) == 0);
		flipat(lg.path, end + (off_t)n);
	}
	flipat(lg.path, lg.end - 1);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_BAD && w.off == end);
	flipat(lg.path, lg.end - 1);
	zeros = calloc(1, b.len);
	if (zeros == NULL || (fd = open(lg.path, O_RDWR)) == -1)
		err(EX_OSERR, "%s", lg.path);
	for (n = 1; n < b.len; n += n < 12 ? 1 : 89) {
		if (pwrite(fd, zeros, b.len - n, end + (off_t)n) !=
		    (ssize_t)(b.len - n))
			err(EX_OSERR, "%s", lg.path);
		/* a length's leading zeros alone read as the end */
		CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && (w.torn || n < 3) &&
		    w.off == end && w.last == 12);
		if (pwrite(fd, ZKBUF_DATA(&b), b.len, end) != (ssize_t)b.len)
			err(EX_OSERR, "%s", lg.path);
	}
	/* the end of a write that lost its start, after zeros: cut too */
	if (pwrite(fd, ZKBUF_DATA(&b) + b.len / 2, b.len - b.len / 2,
	    lg.end + 64) != (ssize_t)(b.len - b.len / 2))
		err(EX_OSERR, "%s", lg.path);
	close(fd);
	free(zeros);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.torn &&
	    w.off == lg.end && w.last == 13);
	strlcpy(path, lg.path, sizeof(path));
	CHECK(zklog_resume(&lg, path, lg.first, w.off, w.torn, w.last) == 0);
	CHECK(fsize(path) == 4096);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && !w.torn && w.last == 13);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 13);

	/* damage: a flipped byte in the second record of log.1 */
	snprintf(path, sizeof(path), "%s/log.0000000000000001", dir);
	segbatch(&b, 1, 1);
	end = (off_t)b.len;
	flipat(path, end + 40);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_BAD && w.seg == 0 &&
	    strcmp(w.path, path) == 0 && w.last == 1 && w.why != NULL);
	CHECK(w.off == end);

	/* damage before the cut is refused, and nothing changes */
	CHECK(zklog_truncate(&lg, 3, &w) == ZKSEG_BAD &&
	    strcmp(w.path, path) == 0);
	CHECK(zkseg_list(dir, &v, &n) == 0 && n == 2);
	free(v);
	flipat(path, end + 40);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 13);

	/* online truncate inside the newest segment, then Z+1 */
	CHECK(zklog_truncate(&lg, 9, &w) == 0);
	CHECK(lg.last == 9 && lg.first == 6 && lg.fd != -1);
	CHECK(fsize(lg.path) == 4096);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 9 &&
	    nseg == 2 && !w.torn && w.off == lg.end);
	segbatch(&b, 10, 10);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 10, 10) == 0);
	CHECK(segscan(dir, &w, NULL) == ZKSEG_OK && w.last == 10);

	/* beyond the end: nothing changes */
	end = lg.end;
	CHECK(zklog_truncate(&lg, 99, &w) == 0 && lg.last == 10 &&
	    lg.end == end);

	/* across segments: the newer one goes, the older one is cut */
	CHECK(zklog_truncate(&lg, 3, &w) == 0);
	CHECK(lg.last == 3 && lg.first == 1 && lg.fd != -1);
	CHECK(fsize(lg.path) == 4096);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 3 &&
	    nseg == 1 && w.off == lg.end);
	segbatch(&b, 4, 4);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 4, 4) == 0);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 4 &&
	    nseg == 1);

	/* before the whole log: every segment goes, Z+1 starts one */
	CHECK(zklog_truncate(&lg, 0, &w) == 0 && lg.last == 0 &&
	    lg.fd == -1);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && nseg == 0);
	segbatch(&b, 1, 2);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 1, 2) == 0);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 2 &&
	    nseg == 1);

	/* a new epoch starts a segment at its counter 1: the one jump */
	CHECK(zklog_skip(&lg, 0x100000000) == 0);
	segbatch(&b, 0x100000001, 0x100000002);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 0x100000001,
	    0x100000002) == 0);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_OK && w.last == 0x100000002 &&
	    nseg == 2 && w.nrec == 4);
	/* any other jump is a hole: epoch 3 from its counter 2 */
	CHECK(zklog_skip(&lg, 0x300000001) == 0);
	segbatch(&b, 0x300000002, 0x300000002);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 0x300000002,
	    0x300000002) == 0);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_BAD);
	/* and so is a counter 1 in the middle of a segment */
	CHECK(zklog_truncate(&lg, 0x100000002, &w) == 0);
	segbatch(&b, 0x200000001, 0x200000001);
	CHECK(zklog_append(&lg, ZKBUF_DATA(&b), ZKBUF_LEN(&b), 0x200000001,
	    0x200000001) == 0);
	CHECK(segscan(dir, &w, &nseg) == ZKSEG_BAD);

	zklog_close(&lg);
	zkbuf_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		errx(EX_OSERR, "%s", cmd);
}

/* parse one line of the peer protocol; 0 and *m if it is a zab message */
static int
zabline(const char *text, struct zab_msg *m, struct zkline *l, char *buf,
    size_t cap)
{
	size_t	 len = strlen(text);

	if (len >= cap)
		return -1;
	memcpy(buf, text, len + 1);
	if (zkl_parse(l, buf, len) == -1)
		return -1;
	return zab_parse(l, m);
}

static void
t_zabwire(void)
{
	static const char *const badlines[] = {
		"vote epoch=1 zxid=0x1",		/* not a zab verb */
		"proposal epoch=1 zxid=0x1",		/* no data */
		"ack epoch=1 zxid=0x1 data=x",		/* data it cannot carry */
		"ack zxid=0x1",				/* no epoch */
		"ack epoch=1",				/* no zxid */
		"ack epoch=-1 zxid=0x1",
		"ack epoch=4294967296 zxid=0x1",	/* 33 bits */
		"ack epoch=1 zxid=-0x1",
		"ack epoch=1 zxid=0x1 commit=-1",
		"ack epoch=1 zxid=0x1 commit=x",
		"finfo epoch=1 zxid=0x1 observer=2",
		"linfo epoch=1 zxid=0x0 counted=yes",
		"ack epoch=1x zxid=0x1",
	};
	struct zab_msg	 m, m2;
	struct zkbuf	 b = { 0 };
	struct zkline	 l = { 0 }, l2 = { 0 };
	char		 buf[256], txn[] = "create zxid=0x100000005 path=/a\\sb data=\n";
	size_t		 i;
	int		 t;

	/* every type, every field, through zab_put and back */
	for (t = 0; t < ZM_NTYPES; t++) {
		memset(&m, 0, sizeof(m));
		m.type = t;
		m.epoch = 7;
		m.zxid = (int64_t)7 << 32 | 5;
		m.commit = t % 2 ? ((int64_t)7 << 32 | 4) : 0;
		m.observer = t == ZM_FINFO;
		m.counted = t == ZM_LINFO;
		if (t == ZM_PROPOSAL || t == ZM_INFORM) {
			m.data = txn;
			m.len = sizeof(txn);	/* with its NUL */
		}
		b.len = 0;
		zab_put(&b, &m);
		CHECK(!b.err && b.len > 0 && b.p[b.len - 1] == '\n');
		CHECK(memchr(b.p, '\n', b.len) == b.p + b.len - 1);
		b.p[b.len - 1] = '\0';
		CHECK(zkl_parse(&l2, b.p, b.len - 1) == 0);
		CHECK(strcmp(l2.verb, zab_msgname(t)) == 0);
		CHECK(zab_parse(&l2, &m2) == 0);
		CHECK(m2.type == t && m2.epoch == m.epoch &&
		    m2.zxid == m.zxid && m2.commit == m.commit &&
		    m2.observer == m.observer && m2.counted == m.counted &&
		    m2.len == m.len);
		CHECK((m.data == NULL) == (m2.data == NULL));
		if (m.data != NULL)
			CHECK(memcmp(m2.data, m.data, m.len) == 0);
	}
	CHECK(zabline("commit epoch=2 zxid=0x200000003 unknown=1", &m, &l,
	    buf, sizeof(buf)) == 0 && m.type == ZM_COMMIT &&
	    m.zxid == 0x200000003);
	CHECK(zabline("inform epoch=2 zxid=0x200000003 data=", &m, &l, buf,
	    sizeof(buf)) == 0 && m.data != NULL && m.len == 0);
	for (i = 0; i < sizeof(badlines) / sizeof(badlines[0]); i++) {
		errno = 0;
		if (zabline(badlines[i], &m, &l, buf, sizeof(buf)) != -1 ||
		    errno != EINVAL || m.type != 0 || m.data != NULL) {
			printf("accepted: %s\n", badlines[i]);
			failed++;
		}
	}
	zkl_free(&l);
	zkl_free(&l2);
	zkbuf_free(&b);
}

/* the first action of type t in o, or NULL */
static const struct zab_act *
zabact(const struct zab_out *o, int t)
{
	size_t	 i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].type == t)
			return &o->a[i];
	return NULL;
}

static void
zabmsg(struct zab_msg *m, int type, int64_t epoch, int64_t zxid)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->epoch = epoch;
	m->zxid = zxid;
}

/*
 * member.c: server specs, the config text as Apache writes it, and
 * reconfig's incremental and whole-list changes with their refusals; then
 * zab_members: members join, leave and change kind in a leader's slots.
 */
static void
t_members(void)
{
	static const char *text =
	    "server.1=localhost:2888:3888:participant\n"
	    "server.3=10.0.0.3:2888:3888:participant;2181\n"
	    "server.2=h2:2889:3889\n"
	    "version=0";
	struct zkserver	 cur[ZK_MAXSERVERS], nv[ZK_MAXSERVERS];
	struct zkbuf	 b = { 0 };
	const char	*why;
	int64_t		 v;
	int		 n, nn, ids[4], voter[4], cl[ZK_MAXSERVERS];
	struct zab	 z;
	struct zab_out	 o;
	static const int zids[] = { 1, 2, 3 }, zvoter[] = { 1, 1, 1 };

	CHECK(zkcfg_parsetext(text, cur, &n, &v, &why) == 0);
	CHECK(n == 3 && v == 0);
	zkcfg_conftext(&b, cur, n, 0x100000000LL);
	zkbuf_addc(&b, '\0');
	CHECK(strcmp(ZKBUF_DATA(&b),
	    "server.1=localhost:2888:3888:participant\n"
	    "server.2=h2:2889:3889:participant\n"
	    "server.3=10.0.0.3:2888:3888:participant;0.0.0.0:2181\n"
	    "version=100000000") == 0);
	zkbuf_reset(&b);
	/* kazoo's TestReconfig: an observer joins, then leaves */
	CHECK(zkcfg_reconfig(cur, n, "server.100=0.0.0.0:5001:5002:observer;"
	    "0.0.0.0:5003", NULL, NULL, nv, &nn, &why) == 0);
	CHECK(nn == 4);
	zkcfg_conftext(&b, nv, nn, 0x10000000aLL);
	zkbuf_addc(&b, '\0');
	CHECK(strstr(ZKBUF_DATA(&b), "\nserver.100=0.0.0.0:5001:5002:observer;"
	    "0.0.0.0:5003\nversion=10000000a") != NULL);
	zkbuf_reset(&b);
	CHECK(zkcfg_reconfig(nv, nn, NULL, "100", NULL, cur, &n, &why) == 0);
	CHECK(n == 3);
	/* refusals: no '=', no client port, a taken address, a bad id */
	CHECK(zkcfg_reconfig(cur, n, "some thing", NULL, NULL, nv, &nn,
	    &why) == ZBADARGUMENTS);
	CHECK(zkcfg_reconfig(cur, n, "server.9=h9:1:2:observer", NULL, NULL,
	    nv, &nn, &why) == ZBADARGUMENTS);
	CHECK(zkcfg_reconfig(cur, n, "server.9=h2:2889:7:observer;5", NULL,
	    NULL, nv, &nn, &why) == ZBADARGUMENTS);
	CHECK(zkcfg_reconfig(cur, n, NULL, "x", NULL, nv, &nn, &why) ==
	    ZBADARGUMENTS);
	/* a host that would break the config text into more lines */
	CHECK(zkcfg_reconfig(cur, n, "server.9=h\nserver.8=x:1:2;3", NULL,
	    NULL, nv, &nn, &why) == ZBADARGUMENTS);
	CHECK(zkcfg_reconfig(cur, n, "server.9=h:1:2;a b:3", NULL, NULL, nv,
	    &nn, &why) == ZBADARGUMENTS);
	CHECK(zkcfg_reconfig(cur, n, "server.-1=h:1:2;3", NULL, NULL, nv,
	    &nn, &why) == ZBADARGUMENTS);
	/* any id, as Apache's (kazoo's test_no_super_auth joins 999) */
	CHECK(zkcfg_reconfig(cur, n, "server.999=0.0.0.0:1234:2345:observer;"
	    "3456", NULL, NULL, nv, &nn, &why) == 0 && nn == 4);
	/* a whole new list, commas between the lines */
	CHECK(zkcfg_reconfig(cur, n, NULL, NULL, "server.1=a:1:2,server.2="
	    "b:1:2:observer", nv, &nn, &why) == 0);
	CHECK(nn == 2 && nv[1].observer && !nv[0].observer);
	CHECK(zkcfg_reconfig(cur, n, NULL, NULL, "server.1=a:1:2,server.1="
	    "b:1:2", nv, &nn, &why) == ZBADARGUMENTS);
	CHECK(zkcfg_parsetext("server.1=a:1:2\nversion=zz", nv, &nn, &v,
	    &why) == -1);
	zkbuf_free(&b);

	/* a leader's slots: observer 7 joins, leaves, joins again */
	CHECK(zab_init(&z, 1, zids, zvoter, 3, 100, 1000, 500) == 0);
	ids[0] = 1; ids[1] = 2; ids[2] = 3; ids[3] = 7;
	voter[0] = voter[1] = voter[2] = 1; voter[3] = 0;
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == 1 && cl[0] == 3);
	CHECK(z.n == 4 && z.ids[3] == 7 && !z.voter[3] && z.nvoters == 3);
	CHECK(zab_members(&z, ids, voter, 3, cl, &o) == 1 && cl[0] == 3);
	CHECK(z.ids[3] == -1);
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == 1 && z.n == 4 &&
	    z.ids[3] == 7);
	/* the same members again: nothing to forget */
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == 0);
	/* 7 becomes a fourth voter: its slot is forgotten and taken again */
	voter[3] = 1;
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == 1 && cl[0] == 3);
	CHECK(z.voter[3] && z.nvoters == 4);
	/* voter 2 made an observer */
	voter[1] = 0;
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == 1 && cl[0] == 1);
	CHECK(z.ids[1] == 2 && !z.voter[1] && z.nvoters == 3);
	/* refused, nothing changed: us made an observer, us gone, an id
	   twice, no voter */
	voter[0] = 0;
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == -1);
	voter[0] = 1;
	CHECK(zab_members(&z, ids + 1, voter + 1, 3, cl, &o) == -1);
	ids[1] = 3;
	CHECK(zab_members(&z, ids, voter, 4, cl, &o) == -1);
	ids[1] = 2;
	CHECK(z.n == 4 && z.nvoters == 3 && z.voter[0] && !z.voter[1] &&
	    z.ids[1] == 2);
	zab_free(&z);

	/* a follower of 1: 1 made an observer, and it is back to the
	   election; 3 leaving would not have sent it */
	CHECK(zab_init(&z, 2, zids, zvoter, 3, 100, 1000, 500) == 0);
	CHECK(zab_load(&z, 0, 0, 0, 0) == 0);
	zab_role(&z, 0, FLE_FOLLOWING, 1, &o);
	CHECK(z.role == FLE_FOLLOWING);
	ids[0] = 1; ids[1] = 2; ids[2] = 3;
	voter[0] = voter[1] = voter[2] = 1;
	CHECK(zab_members(&z, ids, voter, 2, cl, &o) == 1 && !o.looking &&
	    z.role == FLE_FOLLOWING && z.nvoters == 2);
	voter[0] = 0;
	CHECK(zab_members(&z, ids, voter, 2, cl, &o) == 1 && o.looking &&
	    z.role == FLE_LOOKING && z.nvoters == 1);
	zab_free(&z);
}

/*
 * A leader of three voters with one follower up: a proposal commits
 * only once that follower has acknowledged it, however far the
 * leader's own log is durable (two of three: the leader and it).
 * A learner that accepted a newer epoch than ours sends us back to the
 * election.
 */
static void
t_zabquorum(void)
{
	static const int ids[] = { 1, 2, 3 }, voter[] = { 1, 1, 1 };
	static const int ids4[] = { 1, 2, 3, 4 }, voter4[] = { 1, 1, 1, 1 };
	const struct zab_act	*a;
	struct zab		 z;
	struct zab_out		 o;
	struct zab_msg		 m;
	int64_t			 e, p1, p2, p3;
	int			 cl[ZK_MAXSERVERS];

	CHECK(zab_init(&z, 1, ids, voter, 3, 100, 1000, 500) == 0);
	CHECK(zab_load(&z, 0, 0, 0, 0) == 0);
	zab_role(&z, 0, FLE_LEADING, 1, &o);
	zabmsg(&m, ZM_FINFO, 0, 0);
	zab_recv(&z, 1, 2, &m, &o);
	a = zabact(&o, ZA_ACCEPTED);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	e = a->zxid;
	zabmsg(&m, ZM_ACKEPOCH, 0, 0);
	zab_recv(&z, 2, 2, &m, &o);
	CHECK(zabact(&o, ZA_CURRENT) != NULL);
	/* the follower acknowledges NEWLEADER: the epoch is established */
	zabmsg(&m, ZM_ACK, e, 0);
	zab_recv(&z, 3, 2, &m, &o);
	CHECK(zab_serving(&z));
	p1 = zab_propose(&z, 4, "a", 1, &o);
	p2 = zab_propose(&z, 4, "b", 1, &o);
	CHECK(p1 == ((e << 32) | 1) && p2 == ((e << 32) | 2));
	/* the leader's fsync alone commits nothing */
	zab_durable(&z, 5, p2, &o);
	CHECK(zabact(&o, ZA_COMMIT) == NULL && z.commit < p1);
	/* the follower's ACK of the first commits the first only */
	zabmsg(&m, ZM_ACK, e, p1);
	zab_recv(&z, 6, 2, &m, &o);
	a = zabact(&o, ZA_COMMIT);
	CHECK(a != NULL && a->zxid == p1 && z.commit == p1);
	zabmsg(&m, ZM_ACK, e, p2);
	zab_recv(&z, 7, 2, &m, &o);
	a = zabact(&o, ZA_COMMIT);
	CHECK(a != NULL && a->zxid == p2);

	/*
	 * A fourth voter joins (a reconfig committed): two of four commit
	 * nothing more.  It leaves again: the two are a quorum of three,
	 * and what they hold commits at once.
	 */
	CHECK(zab_members(&z, ids4, voter4, 4, cl, &o) == 1 &&
	    z.nvoters == 4);
	p3 = zab_propose(&z, 8, "c", 1, &o);
	zab_durable(&z, 8, p3, &o);
	zabmsg(&m, ZM_ACK, e, p3);
	zab_recv(&z, 8, 2, &m, &o);
	CHECK(zabact(&o, ZA_COMMIT) == NULL && z.commit == p2);
	CHECK(zab_members(&z, ids, voter, 3, cl, &o) == 1 && cl[0] == 3);
	a = zabact(&o, ZA_COMMIT);
	CHECK(a != NULL && a->zxid == p3 && z.commit == p3);
	a = zabact(&o, ZA_SEND);
	CHECK(a != NULL && a->peer == 2 && a->m.type == ZM_COMMIT);

	/*
	 * 3 comes late, having accepted epoch e + 5 of a leader that never
	 * established it: it would refuse ours.  We step down, and lead
	 * next in an epoch above e + 5.
	 */
	zabmsg(&m, ZM_FINFO, e + 5, 0);
	zab_recv(&z, 8, 3, &m, &o);
	CHECK(o.looking && z.role == FLE_LOOKING);
	zab_role(&z, 9, FLE_LEADING, 1, &o);
	zabmsg(&m, ZM_FINFO, e, p2);
	zab_recv(&z, 10, 2, &m, &o);
	a = zabact(&o, ZA_ACCEPTED);
	CHECK(a != NULL && a->zxid == e + 6);

	/* an accepted epoch at the top of 32 bits: none is left above it,
	   and none that would not fit a zxid is taken */
	zab_role(&z, 11, FLE_LEADING, 1, &o);
	zabmsg(&m, ZM_FINFO, UINT32_MAX, 0);
	zab_recv(&z, 12, 3, &m, &o);
	CHECK(zabact(&o, ZA_ACCEPTED) == NULL && o.looking);
	zab_free(&z);
}

static void
flemsg(struct fle_msg *m, int from, int state, int64_t round, int leader,
    int64_t epoch, int64_t zxid)
{
	memset(m, 0, sizeof(*m));
	m->from = from;
	m->to = 2;
	m->state = state;
	m->round = round;
	m->vote.leader = leader;
	m->vote.epoch = epoch;
	m->vote.zxid = zxid;
}

/*
 * Voter 2 of three, late: 3 already leads (its notification came first)
 * with a better vote than ours, and 1's vote for us, sent before it
 * heard 3, comes now.  Every voter has a vote in our round, but one is
 * better than ours: no shortcut, the wait for a better vote; 1 following
 * 3 then settles us on 3.  With every vote in and none better, at once.
 * Votes for us from a later round take us to it.
 */
static void
t_elect(void)
{
	static const int ids[] = { 1, 2, 3 }, voter[] = { 1, 1, 1 };
	struct fle	 f;
	struct fle_out	 o;
	struct fle_msg	 m;

	CHECK(fle_init(&f, 2, ids, voter, 3) == 0);
	fle_start(&f, 0, 0x100000000, 1, &o);
	flemsg(&m, 3, FLE_LEADING, 1, 3, 2, 0x200000001);
	fle_recv(&f, 5, &m, &o);
	CHECK(!o.settled && f.state == FLE_LOOKING);
	flemsg(&m, 1, FLE_LOOKING, 1, 2, 1, 0x100000000);
	fle_recv(&f, 6, &m, &o);
	CHECK(!o.settled && f.state == FLE_LOOKING);
	CHECK(fle_deadline(&f) != 0);
	flemsg(&m, 1, FLE_FOLLOWING, 1, 3, 2, 0x200000001);
	fle_recv(&f, 7, &m, &o);
	CHECK(o.settled && f.state == FLE_FOLLOWING && f.leader == 3);

	CHECK(fle_init(&f, 2, ids, voter, 3) == 0);
	fle_start(&f, 0, 0x100000000, 1, &o);
	flemsg(&m, 3, FLE_LOOKING, 1, 3, 0, 0x3);
	fle_recv(&f, 5, &m, &o);
	CHECK(!o.settled);
	flemsg(&m, 1, FLE_LOOKING, 1, 2, 1, 0x100000000);
	fle_recv(&f, 6, &m, &o);
	CHECK(o.settled && f.state == FLE_LEADING);

	/*
	 * A handoff to us: 1 and 3 settled on us in round 3, while we,
	 * misled in round 2 by 3's last LEADING answer, followed 3; we look
	 * again in round 2.  Their votes for us, from a later round, take
	 * us to it, and we lead (we stayed looking until they gave up).
	 */
	CHECK(fle_init(&f, 2, ids, voter, 3) == 0);
	fle_start(&f, 0, 0x100000000, 1, &o);
	fle_start(&f, 10, 0x100000000, 1, &o);
	CHECK(f.round == 2);
	flemsg(&m, 1, FLE_FOLLOWING, 3, 2, 1, 0x100000000);
	fle_recv(&f, 11, &m, &o);
	flemsg(&m, 3, FLE_FOLLOWING, 3, 2, 1, 0x100000000);
	fle_recv(&f, 12, &m, &o);
	CHECK(f.state == FLE_LEADING && f.round == 3);
}

/* ondrain: a stream too big to queue whole, 64 KB at a time */
#define DRAINCHUNK	(64 << 10)
#define DRAINTOTAL	(4 << 20)
static int	 drained, drainsent;

static void
drainmore(struct zkconn *c)
{
	static char	 chunk[DRAINCHUNK];

	drained++;
	CHECK(ZKBUF_LEN(&c->out) == 0);
	if (drainsent == DRAINTOTAL) {
		c->ondrain = NULL;
		return;
	}
	memset(chunk, drainsent / DRAINCHUNK, sizeof(chunk));
	zkbuf_add(&c->out, chunk, sizeof(chunk));
	drainsent += DRAINCHUNK;
}

static void
drainread(struct zkconn *c)
{
	(void)c;
}

/*
 * The loop asks for more of a stream each time a connection's output is
 * all written, and only then: 4 MB go through a socket pair that holds
 * far less, in order, never more than a chunk queued.
 */
static void
t_drain(void)
{
	static char	 buf[DRAINCHUNK];
	struct zkloop	*lp;
	struct zkconn	*c;
	ssize_t		 n;
	int		 sv[2], i, got = 0, bad = 0;
	int		 k;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (lp = zkloop_new()) == NULL ||
	    (c = zkloop_conn(lp, sv[0], drainread, NULL, NULL)) == NULL ||
	    zk_nonblock(sv[1]) == -1)
		err(EX_OSERR, "drain");
	c->ondrain = drainmore;
	drainmore(c);
	for (i = 0; i < 2000 && got < DRAINTOTAL; i++) {
		CHECK(zkloop_run(lp, 1) != -1);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0) {
			for (k = 0; k < n; k++)
				if ((unsigned char)buf[k] !=
				    (unsigned char)((got + k) / DRAINCHUNK))
					bad++;
			got += (int)n;
		}
		CHECK(ZKBUF_LEN(&c->out) <= DRAINCHUNK);
	}
	CHECK(got == DRAINTOTAL && bad == 0);
	CHECK(drainsent == DRAINTOTAL && drained > DRAINTOTAL / DRAINCHUNK);
	CHECK(c->ondrain == NULL);
	close(sv[1]);
	zkloop_free(lp);
}

static int
t_standalone(const char *file)
{
	struct zkcfg	 c;
	char		 errbuf[1200];

	if (zkcfg_load(&c, file, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_standalone(&c, errbuf, sizeof(errbuf)) == -1) {
		printf("%s\n", errbuf);
		return 1;
	}
	printf("nservers=%d myid=%d\n", c.nservers, c.myid);
	return 0;
}

int
main(int argc, char *argv[])
{
	char	*id;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "cfg") == 0 && argc == 3)
		return t_cfg(argv[2]);
	if (strcmp(argv[1], "standalone") == 0 && argc == 3)
		return t_standalone(argv[2]);
	if (strcmp(argv[1], "digest") == 0 && argc == 3) {
		if ((id = malloc(strlen(argv[2]) + 30)) == NULL)
			err(EX_OSERR, NULL);
		zk_digest_id(id, argv[2], strlen(argv[2]));
		printf("%s\n", id);
		free(id);
		return 0;
	}
	if (argc != 2)
		usage();
	if (strcmp(argv[1], "jute") == 0)
		t_jute();
	else if (strcmp(argv[1], "frame") == 0)
		t_frame();
	else if (strcmp(argv[1], "escape") == 0)
		t_escape();
	else if (strcmp(argv[1], "line") == 0)
		t_line();
	else if (strcmp(argv[1], "stat") == 0)
		t_stat();
	else if (strcmp(argv[1], "int") == 0)
		t_int();
	else if (strcmp(argv[1], "fmt") == 0)
		t_fmt();
	else if (strcmp(argv[1], "crc") == 0)
		t_crc();
	else if (strcmp(argv[1], "hex") == 0)
		t_hex();
	else if (strcmp(argv[1], "shm") == 0)
		t_shm();
	else if (strcmp(argv[1], "seg") == 0) {
		t_seg();
		t_seghole();
	}
	else if (strcmp(argv[1], "epochs") == 0)
		t_epochs();
	else if (strcmp(argv[1], "zabwire") == 0)
		t_zabwire();
	else if (strcmp(argv[1], "zabquorum") == 0)
		t_zabquorum();
	else if (strcmp(argv[1], "members") == 0)
		t_members();
	else if (strcmp(argv[1], "elect") == 0)
		t_elect();
	else if (strcmp(argv[1], "drain") == 0)
		t_drain();
	else if (strcmp(argv[1], "connect") == 0)
		t_connect();
	else if (strcmp(argv[1], "orphan") == 0)
		t_orphan();
	else if (strcmp(argv[1], "connect-sup") == 0 &&
	    zk_supervisor() != 0)
		t_connect_sup();
	else
		usage();
	if (failed == 0)
		printf("ok %s\n", argv[1]);
	return failed ? 1 : 0;
}
