/*
 * tool.c: zk-log's commands over a log directory that no daemon needs:
 * dump (with filters), last, verify, replay --after and truncate --to.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "log.h"

static int	 truncate_log(const char *, int64_t);
static int64_t	 zxidarg(const char *, const char *);
static void	 toolsdir(const char *, char *, size_t);
static int	 printline(struct zkscan *, const char *, size_t, int64_t);
static int	 dumpline(struct zkscan *, const char *, size_t, int64_t);

/* dump's filters */
static struct {
	int64_t		 from, to, session;
	int		 hassession;
	char		*prefix;		/* escaped */
	size_t		 prefixlen;
} F;

/* dump, last, verify, replay and truncate. */
int
tool(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "after",		required_argument, NULL, 'a' },
		{ "from",		required_argument, NULL, 'f' },
		{ "path-prefix",	required_argument, NULL, 'p' },
		{ "session",		required_argument, NULL, 's' },
		{ "to",			required_argument, NULL, 't' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct segs	 segs = { NULL, 0 };
	struct zkscan	 w;
	static char	 obuf[1 << 16];
	const char	*cmd = argv[0];
	char		 dir[PATH_MAX];
	int64_t		 after = -1, to = -1;
	int		 ch, r;

	memset(&F, 0, sizeof(F));
	F.to = INT64_MAX;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(cmd, "replay") != 0)
				usage();
			after = zxidarg("--after", optarg);
			break;
		case 'f':
			if (strcmp(cmd, "dump") != 0)
				usage();
			F.from = zxidarg("--from", optarg);
			break;
		case 'p':
			if (strcmp(cmd, "dump") != 0)
				usage();
			if ((F.prefix = malloc(4 * strlen(optarg) + 1)) ==
			    NULL)
				err(EX_OSERR, NULL);
			F.prefixlen = zkl_escape(F.prefix, optarg,
			    strlen(optarg));
			break;
		case 's':
			if (strcmp(cmd, "dump") != 0)
				usage();
			F.session = zxidarg("--session", optarg);
			F.hassession = 1;
			break;
		case 't':
			if (strcmp(cmd, "dump") == 0)
				F.to = zxidarg("--to", optarg);
			else if (strcmp(cmd, "truncate") == 0)
				to = zxidarg("--to", optarg);
			else
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || (strcmp(cmd, "dump") != 0 && strcmp(cmd, "last") !=
	    0 && strcmp(cmd, "verify") != 0 && strcmp(cmd, "replay") != 0 &&
	    strcmp(cmd, "truncate") != 0))
		usage();
	if ((strcmp(cmd, "replay") == 0 && after == -1) ||
	    (strcmp(cmd, "truncate") == 0 && to == -1))
		usage();

	toolsdir(argv[0], dir, sizeof(dir));
	if (strcmp(cmd, "truncate") == 0)
		return truncate_log(dir, to);
	if (setvbuf(stdout, obuf, _IOFBF, sizeof(obuf)) != 0)
		err(EX_OSERR, "stdout");
	listsegs(dir, &segs);
	memset(&w, 0, sizeof(w));
	if (strcmp(cmd, "dump") == 0)
		w.fn = F.from || F.to != INT64_MAX || F.hassession ||
		    F.prefix ? dumpline : printline;
	if (strcmp(cmd, "replay") == 0) {
		w.fn = printline;
		w.floor = after;
		w.strict = 1;
	}
	r = walk(&segs, &w);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	if (r == ZKSEG_GAP)
		errx(EX_DATAERR, "%s: no zxid 0x%" PRIx64 " after 0x%" PRIx64
		    ": the log goes on at 0x%" PRIx64, dir, w.floor + 1,
		    w.floor, w.gapz);
	if (r == ZKSEG_BAD)
		baddata(&w);
	if (w.torn && strcmp(cmd, "verify") == 0)
		errx(EX_DATAERR, "%s: bad record at offset %lld (a torn tail)",
		    w.path, (long long)w.off);
	if (w.torn)
		warnx("%s: torn tail at offset %lld ignored",
		    w.path, (long long)w.off);
	if (strcmp(cmd, "last") == 0)
		printf("0x%" PRIx64 "\n", w.last);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	free(segs.v);
	free(F.prefix);
	return 0;
}

/* A zxid or session id: 0x hex, or decimal. */
static int64_t
zxidarg(const char *opt, const char *s)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 ||
	    v > INT64_MAX)
		errx(EX_USAGE, "%s %s: not a zxid", opt, s);
	return (int64_t)v;
}

/*
 * Cut every record after zxid to: later segments go, the one holding
 * the cut is truncated there.  Damage before the cut is refused.
 */
static int
truncate_log(const char *dir, int64_t to)
{
	struct zklog	 lg;

	if (zklog_open(&lg, dir, 0) == -1) {
		if (errno == EWOULDBLOCK)
			errx(EX_TEMPFAIL, "%s: in use by zk-log serve", dir);
		err(errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT : EX_OSERR,
		    "%s", dir);
	}
	cutlog(&lg, to);
	zklog_close(&lg);
	return 0;
}

/* DIR/zk if it is there, else DIR itself (a copy of the zk directory). */
static void
toolsdir(const char *arg, char *dir, size_t len)
{
	struct stat	 st;

	if (stat(arg, &st) == -1)
		err(EX_NOINPUT, "%s", arg);
	if (!S_ISDIR(st.st_mode))
		errx(EX_NOINPUT, "%s: not a directory", arg);
	if ((size_t)snprintf(dir, len, "%s/zk", arg) >= len)
		errx(EX_NOINPUT, "%s: path too long", arg);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		strlcpy(dir, arg, len);
}

static int
printline(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	(void)w;
	(void)z;
	if (fwrite(line, 1, len, stdout) != len)
		err(EX_IOERR, "stdout");
	return 0;
}

/* dump with filters: every one given must match. */
static int
dumpline(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	const char	*v, *p, *e = line + len;
	char		*end;
	size_t		 n;
	int		 hit;

	if (z < F.from || z > F.to)
		return 0;
	if (F.hassession) {
		if ((v = field(line, len - 1, "session", &n)) == NULL ||
		    (int64_t)strtoull(v, &end, 0) != F.session ||
		    end != v + n)
			return 0;
	}
	if (F.prefix != NULL) {
		/* any path= field: a multi matches if one sub-op does */
		for (hit = 0, p = line; !hit && (p = memmem(p, (size_t)(e - p),
		    " path=", 6)) != NULL; p += 6)
			hit = (size_t)(e - p - 6) >= F.prefixlen &&
			    memcmp(p + 6, F.prefix, F.prefixlen) == 0;
		if (!hit)
			return 0;
	}
	return printline(w, line, len, z);
}
