/*
 * zk-gate-codec: drive libzk/req.c from the tests (t/zk-gate.bats).
 *
 *	zk-gate-codec dec		stdin: one hex request body a line;
 *					stdout: "rc xid type line"
 *	zk-gate-codec enc TYPE		stdin: `r` lines; stdout: hex frames
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
		errx(64, "usage: zk-gate-codec dec | enc type");
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
