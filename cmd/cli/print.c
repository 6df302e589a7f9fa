/*
 * Output: values as stored or escaped, stats, JSON strings and stats.
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "zk.h"
#include "cli.h"


static void
putraw(const char *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, stdout) != n)
		err(EX_IOERR, "stdout");
}

/* a value as given, or escaped (libzk's line escaping) and a newline */
void
putval(const char *p, size_t n, int nl)
{
	char	*e;

	if (!escape) {
		putraw(p, n);
		if (nl)
			putchar('\n');
		return;
	}
	if ((e = malloc(4 * n + 1)) == NULL)
		err(EX_OSERR, NULL);
	zkl_escape(e, p, n);
	printf("%s\n", e);
	free(e);
}

void
jstr(const char *p, size_t n)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void
jstat(const struct zkstat *s)
{
	printf("{\"czxid\":%" PRId64 ",\"mzxid\":%" PRId64 ",\"ctime\":%"
	    PRId64 ",\"mtime\":%" PRId64 ",\"version\":%d,\"cversion\":%d,"
	    "\"aversion\":%d,\"ephemeralOwner\":%" PRId64 ",\"dataLength\":%d,"
	    "\"numChildren\":%d,\"pzxid\":%" PRId64 "}", s->czxid, s->mzxid,
	    s->ctime, s->mtime, s->version, s->cversion, s->aversion,
	    s->ephemeralOwner, s->dataLength, s->numChildren, s->pzxid);
}

void
putstat(const struct zkstat *s)
{
	printf("czxid=0x%" PRIx64 "\nmzxid=0x%" PRIx64 "\nctime=%" PRId64
	    "\nmtime=%" PRId64 "\nversion=%d\ncversion=%d\naversion=%d\n"
	    "ephemeralOwner=0x%" PRIx64 "\ndataLength=%d\nnumChildren=%d\n"
	    "pzxid=0x%" PRIx64 "\n", s->czxid, s->mzxid, s->ctime, s->mtime,
	    s->version, s->cversion, s->aversion, s->ephemeralOwner,
	    s->dataLength, s->numChildren, s->pzxid);
}
