/*
 * fuzz-line: libFuzzer target over libzk's line codec.
 *
 * Arbitrary bytes go to zkl_next/zkl_parse (must not crash; a record that
 * parses must parse the same after its fields are written out again), to
 * zkl_parsestat and zkl_parseint, and through zkl_escape then zkl_unescape,
 * which must give back exactly the input.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

static void
roundtrip(const struct zkline *l)
{
	struct zkbuf	 b = { 0 };
	struct zkline	 m = { 0 };
	size_t		 i;

	/* a NUL starting the verb or a key cannot be written back */
	if (l->verb[0] == '\0')
		return;
	for (i = 0; i < l->nf; i++)
		if (l->f[i].key[0] == '\0')
			return;
	zkl_begin(&b, l->verb);
	for (i = 0; i < l->nf; i++)
		zkl_put(&b, l->f[i].key, l->f[i].val, l->f[i].len);
	zkl_end(&b);
	ASSERT(!b.err);
	ASSERT(memchr(b.p, '\n', b.len) == b.p + b.len - 1);
	b.p[b.len - 1] = '\0';		/* as zkl_next leaves it */
	ASSERT(zkl_parse(&m, b.p, b.len - 1) == 0);
	ASSERT(strcmp(m.verb, l->verb) == 0);
	ASSERT(m.nf == l->nf);
	for (i = 0; i < l->nf; i++) {
		ASSERT(strcmp(m.f[i].key, l->f[i].key) == 0);
		ASSERT(m.f[i].len == l->f[i].len);
		ASSERT(memcmp(m.f[i].val, l->f[i].val, l->f[i].len) == 0);
		ASSERT(m.f[i].val[m.f[i].len] == '\0');
	}
	zkl_free(&m);
	zkbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zkbuf	 in = { 0 };
	struct zkline	 l = { 0 };
	struct zkstat	 st;
	char		*s, *esc;
	size_t		 len, n;
	ssize_t		 m;
	int64_t		 v;

	/* escape, unescape: exact */
	if ((esc = malloc(4 * size + 1)) == NULL)
		abort();
	n = zkl_escape(esc, data, size);
	ASSERT(n <= 4 * size && esc[n] == '\0');
	for (len = 0; len < n; len++)
		ASSERT((unsigned char)esc[len] > ' ' &&
		    (unsigned char)esc[len] < 0x7f);
	m = zkl_unescape(esc, n);
	ASSERT(m == (ssize_t)size);
	ASSERT(size == 0 || memcmp(esc, data, size) == 0);
	free(esc);

	/* NUL-terminated text for the scalar parsers */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	(void)zkl_parsestat(s, &st);
	(void)zkl_parseint(s, &v);
	free(s);

	/* every line of the input as a record */
	zkbuf_add(&in, data, size);
	zkbuf_addc(&in, '\n');
	ASSERT(!in.err);
	while (zkl_next(&in, &s, &len) == 1) {
		if (zkl_parse(&l, s, len) == 0)
			roundtrip(&l);
		zkbuf_consume(&in, len + 1);
	}
	zkl_free(&l);
	zkbuf_free(&in);
	return 0;
}
