/*
 * fuzz-req: libFuzzer target over the client port's request codec.
 *
 * The input is one request frame body (RequestHeader + record, no length
 * prefix).  zkreq_decode must not crash; when it accepts the body, the
 * line it writes must be one line that zkl_parse reads back, whose verb,
 * session and xid are the request's, and which writing the parsed fields
 * again with zkl_put reproduces byte for byte.  The parsed fields are then
 * turned into a reply line for zkrep_encode, which must not crash either.
 * The input read as a stat= value must give zkrep_encode's parser the
 * result zkl_parsestat gives.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

#define SESSION	0x1000002a0b0c0dLL
#define AUTH	" auth=ip:127.0.0.1 auth=digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="

static void
reply(const struct zkline *req, int32_t type)
{
	struct zkbuf	 b = { 0 }, frame = { 0 };
	struct zkline	 l = { 0 };
	size_t		 i;

	/* an `r` line with the request's fields as results */
	zkl_begin(&b, "r");
	zkl_putx(&b, "session", SESSION);
	for (i = 0; i < req->nf; i++)
		if (strcmp(req->f[i].key, "session") != 0)
			zkl_put(&b, req->f[i].key, req->f[i].val,
			    req->f[i].len);
	zkl_putx(&b, "zxid", 0x100000005LL);
	zkl_putd(&b, "err", 0);
	zkl_puts(&b, "stat", "0x5,0x6,100,200,1,2,3,0x0,4,5,0x7");
	zkl_puts(&b, "child", "a");
	zkl_end(&b);
	ASSERT(!b.err);
	b.p[b.len - 1] = '\0';
	ASSERT(zkl_parse(&l, b.p, b.len - 1) == 0);
	if (zkrep_encode(&frame, &l, type) == 0)
		ASSERT(frame.len >= 20);	/* length + ReplyHeader */
	zkl_free(&l);
	zkbuf_free(&b);
	zkbuf_free(&frame);
}

/* the input as a stat= value: zkrep_encode reads it as zkl_parsestat does */
static void
statdiff(const uint8_t *data, size_t size)
{
	struct zkbuf	 b = { 0 }, ref = { 0 }, frame = { 0 };
	struct zkline	 l = { 0 };
	struct zkstat	 st;
	char		 s[128];
	size_t		 n = size < sizeof(s) - 1 ? size : sizeof(s) - 1, at;
	int		 r1, r2;

	memcpy(s, data, n);
	s[n] = '\0';
	if ((r1 = zkl_parsestat(s, &st)) == 0) {
		at = jw_frame_begin(&ref);
		jw_int(&ref, 1);
		jw_long(&ref, 2);
		jw_int(&ref, 0);
		jw_stat(&ref, &st);
		jw_frame_end(&ref, at);
	}
	zkl_begin(&b, "r session=0x1 xid=1 zxid=0x2 err=0");
	zkl_puts(&b, "stat", s);
	zkl_end(&b);
	ASSERT(!b.err && !ref.err);
	b.p[b.len - 1] = '\0';
	ASSERT(zkl_parse(&l, b.p, b.len - 1) == 0);
	r2 = zkrep_encode(&frame, &l, ZOP_EXISTS);
	ASSERT((r1 == 0) == (r2 == 0));
	if (r1 == 0)
		ASSERT(frame.len == ref.len &&
		    memcmp(frame.p, ref.p, ref.len) == 0);
	zkl_free(&l);
	zkbuf_free(&b);
	zkbuf_free(&ref);
	zkbuf_free(&frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zkbuf	 line = { 0 }, again = { 0 };
	struct zkline	 l = { 0 };
	const char	*name;
	char		*copy;
	int32_t		 xid, type;
	int64_t		 v;
	size_t		 i;
	int		 rc;

	statdiff(data, size);
	rc = zkreq_decode(&line, (const char *)data, size, SESSION, AUTH,
	    &xid, &type);
	if (rc != 0) {
		ASSERT(rc < 0);			/* a ZooKeeper error code */
		ASSERT(line.err || line.len == 0);	/* nothing half-written */
		zkbuf_free(&line);
		return 0;
	}
	ASSERT(!line.err);
	ASSERT(line.len > 0 && line.p[line.len - 1] == '\n');
	ASSERT(memchr(line.p, '\n', line.len) == line.p + line.len - 1);
	ASSERT(memchr(line.p, '\0', line.len) == NULL);

	/* zkl_parse works in place: keep the original text */
	if ((copy = malloc(line.len)) == NULL)
		abort();
	memcpy(copy, line.p, line.len);
	copy[line.len - 1] = '\0';		/* as zkl_next leaves it */
	ASSERT(zkl_parse(&l, copy, line.len - 1) == 0);
	name = zk_opname(type);
	ASSERT(name != NULL && strcmp(l.verb, name) == 0);
	ASSERT(zkl_int(&l, "session", &v) == 0 && v == SESSION);
	ASSERT(zkl_int(&l, "xid", &v) == 0 && v == xid);

	/* writing the parsed fields again gives the same text */
	zkl_begin(&again, l.verb);
	for (i = 0; i < l.nf; i++)
		zkl_put(&again, l.f[i].key, l.f[i].val, l.f[i].len);
	zkl_end(&again);
	ASSERT(!again.err);
	ASSERT(again.len == line.len &&
	    memcmp(again.p, line.p, line.len) == 0);

	reply(&l, type);

	zkl_free(&l);
	free(copy);
	zkbuf_free(&again);
	zkbuf_free(&line);
	return 0;
}
