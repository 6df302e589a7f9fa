/*
 * zk-gate-codec: drive libzk/req.c from the tests (t/zk-gate.bats).
 *
 *	zk-gate-codec dec		stdin: one hex request body a line;
 *					stdout: "rc xid type line"
 *	zk-gate-codec enc TYPE		stdin: `r` lines; stdout: hex frames
 *	zk-gate-codec stat		stdin: one stat= value a line; stdout:
 *					"ok" or "refused" when zkrep_encode's
 *					parser agrees with zkl_parsestat,
 *					"differ" when not
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

static int
unhex(unsigned char *dst, const char *s, size_t n)
{
	size_t	 i;
	unsigned int v;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		dst[i] = (unsigned char)v;
	}
	return 0;
}

/* zkrep_encode of an exists reply against zkl_parsestat + jw_stat */
static const char *
statcheck(const char *s)
{
	struct zkbuf	 ref = { 0 }, line = { 0 }, fr = { 0 };
	struct zkline	 l = { 0 };
	struct zkstat	 st;
	size_t		 at;
	int		 r1, r2, same;

	if ((r1 = zkl_parsestat(s, &st)) == 0) {
		at = jw_frame_begin(&ref);
		jw_int(&ref, 7);
		jw_long(&ref, 5);
		jw_int(&ref, 0);
		jw_stat(&ref, &st);
		jw_frame_end(&ref, at);
	}
	zkl_begin(&line, "r session=0x1 xid=7 zxid=0x5 err=0");
	zkl_puts(&line, "stat", s);
	zkl_end(&line);
	if (line.err || ref.err)
		err(71, NULL);
	line.p[line.len - 1] = '\0';
	if (zkl_parse(&l, line.p, line.len - 1) == -1)
		errx(65, "bad line");
	r2 = zkrep_encode(&fr, &l, ZOP_EXISTS);
	same = (r1 == 0) == (r2 == 0) && (r1 != 0 || (fr.len == ref.len &&
	    memcmp(fr.p, ref.p, fr.len) == 0));
	zkl_free(&l);
	zkbuf_free(&ref);
	zkbuf_free(&line);
	zkbuf_free(&fr);
	return !same ? "differ" : r1 == 0 ? "ok" : "refused";
}

int
main(int argc, char *argv[])
{
	struct zkbuf	 b;
	struct zkline	 l;
	char		*line = NULL;
	unsigned char	*body;
	size_t		 cap = 0, n, i;
	ssize_t		 len;
	int32_t		 xid, type;
	int		 rc;

	if (argc < 2)
		errx(64, "usage: zk-gate-codec dec | enc type | stat");
	memset(&b, 0, sizeof(b));
	memset(&l, 0, sizeof(l));
	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		zkbuf_reset(&b);
		if (strcmp(argv[1], "dec") == 0) {
			n = (size_t)len / 2;
			if ((body = malloc(n + 1)) == NULL)
				err(71, NULL);
			if (unhex(body, line, n) == -1)
				errx(65, "bad hex");
			rc = zkreq_decode(&b, (char *)body, n, 0x1234,
			    " auth=ip:127.0.0.1", &xid, &type);
			printf("%d %d %d %.*s\n", rc, xid, type,
			    (int)(rc == 0 ? b.len - 1 : b.len), b.p ? b.p : "");
			free(body);
		} else if (strcmp(argv[1], "stat") == 0) {
			printf("%s\n", statcheck(line));
		} else {
			if (argc < 3)
				errx(64, "enc needs a type");
			if (zkl_parse(&l, line, (size_t)len) == -1)
				errx(65, "bad line");
			rc = zkrep_encode(&b, &l, atoi(argv[2]));
			if (rc == -1) {
				printf("-1\n");
				continue;
			}
			for (i = 0; i < b.len; i++)
				printf("%02x", (unsigned char)b.p[i]);
			printf("\n");
		}
	}
	free(line);
	zkl_free(&l);
	zkbuf_free(&b);
	return 0;
}
