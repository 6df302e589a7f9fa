/*
 * zk-log: the durable transaction log (standalone form).
 *
 * Write requests arrive as lines (from zk-gate, zk-sessiond and zk-tree's
 * own sweeps); each pass of the loop takes every line that arrived, gives the
 * writes a zxid and a time, appends them to the current segment with one
 * write(2), makes them durable with one fdatasync(2) and only then
 * forwards them, in order, to zk-tree: the stream to zk-tree carries
 * transactions and nothing else.  A batch that cannot be stored is
 * answered `fail` on the connection each request came from; the fsync
 * times go to the gate on its connection.  On disk (DIR is dataLogDir):
 *
 *	DIR/zk/log.<16 hex digits: zxid of the first record>
 *
 * a sequence of records
 *
 *	be32 length | be32 crc32c(line) | line, trailing newline included
 *
 * followed by zeros to the preallocated end of the segment.  A length of
 * zero ends the segment.  zxids go up by one from record to record; the
 * first record of a segment has the zxid in its name.
 *
 * At start zk-tree tells which snapshot it loaded (`loaded zxid=Z`) and
 * only the records after Z are replayed.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"

#define HDRLEN		8
#define SEGSIZE		(64LL << 20)
#define MAXBACKLOG	(64 << 20)	/* stop reading while the tree lags */
#define REPLAYCHUNK	(4 << 20)	/* replay writes to zk-tree */

/* What a walk over the log found. */
enum { WALK_OK, WALK_BAD, WALK_GAP };

struct seg {
	char		 path[PATH_MAX];
	int64_t		 first;		/* from the name */
};

struct segs {
	struct seg	*v;
	size_t		 n;
};

/*
 * A walk over the stored records, oldest first.  Records after floor
 * go to fn; with strict set, the first of them must be floor + 1.
 */
struct walk {
	int64_t		 floor;
	int		 strict;
	void		(*fn)(struct walk *, const char *, size_t, int64_t);
	void		*arg;
	/* filled in */
	int64_t		 last;		/* last zxid seen, 0 none */
	size_t		 nrec, ndeliv;
	size_t		 seg;		/* segment being read, or bad */
	off_t		 off;		/* end of the record just read, bad
					   offset, or end of the last segment */
	const char	*why;		/* what is bad */
	int		 torn;		/* the last segment has a torn tail */
	int64_t		 gapz;		/* WALK_GAP: the first zxid after floor */
	char		 whybuf[128];
};

struct replaying {
	int		 fd;
	struct zkbuf	 b;
};

struct client {
	struct zkconn		*c;
	int			 gate;	/* said hello role=gate */
	struct zkbuf		 fail;	/* its batch's `fail` lines */
	LIST_ENTRY(client)	 entry;
};

static struct {
	char		 dir[PATH_MAX];		/* DIR/zk */
	int		 dirfd;
	int		 fd;			/* current segment, -1 none */
	char		 path[PATH_MAX];
	off_t		 end;			/* logical end of fd */
	long long	 segsize;
	int		 noprealloc;		/* preallocation failed on fd */
	int64_t		 last;			/* last durable zxid */
	struct zkbuf	 rec;			/* framed records of the batch */
	struct zkbuf	 fwd;			/* the batch for zk-tree */
	struct zkbuf	 tmp;
	int64_t		 next;			/* zxid for the next txn */
	int64_t		 first;			/* first zxid of the batch */
	struct zkconn	*tree;
	LIST_HEAD(, client) clients;
	int		 fault;			/* ZK_LOG_FAULT */
	long		 faultn, nwrite, nsync, nalloc;
} L;

/* fdatasync times, reported to the gate for the metrics (log2 us buckets) */
static struct {
	uint64_t	 count, sumus, hist[32];
	uint64_t	 sent;		/* count when last reported */
	int64_t		 at;		/* mono ms of that report */
} fst;

/* dump's filters */
static struct {
	int64_t		 from, to, session;
	int		 hassession;
	char		*prefix;		/* escaped */
	size_t		 prefixlen;
} F;

static void	 usage(void);
static int	 serve(int, char *[]);
static int64_t	 hello(int, struct zkbuf *);
static int	 tool(int, char *[]);
static int	 truncate_log(const char *, int64_t);
static int64_t	 zxidarg(const char *, const char *);
static void	 toolsdir(const char *, char *, size_t);
static void	 listsegs(const char *, struct segs *);
static int	 walk(struct segs *, struct walk *);
static int	 scanseg(struct segs *, struct walk *, const unsigned char *,
		    size_t);
static int	 bad(struct walk *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 zerolen(const unsigned char *, size_t, size_t);
static int	 validat(const unsigned char *, size_t, size_t);
static int	 findvalid(const unsigned char *, size_t, size_t);
static int	 linezxid(const char *, size_t, int64_t *);
static void	 opendir_zk(const char *);
static void	 recover(struct segs *, struct walk *, int64_t, int);
static void	 printline(struct walk *, const char *, size_t, int64_t);
static void	 dumpline(struct walk *, const char *, size_t, int64_t);
static void	 replayline(struct walk *, const char *, size_t, int64_t);
static void	 cutline(struct walk *, const char *, size_t, int64_t);
static void	 writeall(int, const void *, size_t);
static void	 onaccept(struct zkloop *, int, void *);
static void	 onread(struct zkconn *);
static void	 onclose(struct zkconn *);
static void	 ontreeclose(struct zkconn *);
static void	 take(struct client *, char *, size_t);
static int	 istxn(const char *, size_t);
static const char *field(const char *, size_t, const char *, size_t *);
static void	 commit(void);
static int	 append(void);
static int	 newseg(int64_t);
static void	 cutback(off_t);
static int	 prealloc(int, off_t);
static void	 backpressure(void);
static void	 faultinit(void);
static int	 faulty(int, long *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s serve [-d] [-s size] -c zoo.cfg -r rundir\n"
	    "       %s dump [--from zxid] [--to zxid] [--session id] "
	    "[--path-prefix path] dir\n"
	    "       %s last | verify dir\n"
	    "       %s replay --after zxid dir\n"
	    "       %s truncate --to zxid dir\n", getprogname(),
	    getprogname(), getprogname(), getprogname(), getprogname());
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	return tool(argc - 1, argv + 1);
}

static int
serve(int argc, char *argv[])
{
	struct zkcfg	 cfg;
	struct segs	 segs = { NULL, 0 };
	struct walk	 w;
	struct zkbuf	 early;
	struct zkloop	*lp;
	char		 errbuf[1200], sock[PATH_MAX];
	const char	*cfgfile = NULL, *rundir = NULL, *errstr, *s;
	int64_t		 loaded;
	int		 ch, fd, lfd;

	L.segsize = SEGSIZE;
	if ((s = getenv("ZK_LOG_SEGSIZE")) != NULL && *s != '\0') {
		L.segsize = strtonum(s, 4096, 1LL << 40, &errstr);
		if (errstr != NULL)
			errx(EX_USAGE, "ZK_LOG_SEGSIZE is %s: %s", errstr, s);
	}
	while ((ch = getopt(argc, argv, "c:dr:s:")) != -1) {
		if (zk_daemonopt(ch, optarg, &cfgfile, &rundir))
			continue;
		switch (ch) {
		case 's':
			L.segsize = strtonum(optarg, 4096, 1LL << 40, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "segment size is %s: %s",
				    errstr, optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || cfgfile == NULL || rundir == NULL)
		usage();
	if (zkcfg_load(&cfg, cfgfile, errbuf, sizeof(errbuf)) == -1 ||
	    zkcfg_standalone(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	signal(SIGPIPE, SIG_IGN);
	faultinit();
	fst.at = zk_mono_ms();		/* the first report a second in */

	opendir_zk(cfg.dataLogDir);
	listsegs(L.dir, &segs);

	if (snprintf(sock, sizeof(sock), "%s/tree.sock", rundir) >=
	    (int)sizeof(sock))
		errx(EX_USAGE, "%s: run directory path too long", rundir);
	if ((fd = zk_connect_unix(sock, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", sock);
	writeall(fd, "hello role=log\n", 15);
	memset(&early, 0, sizeof(early));
	loaded = hello(fd, &early);

	/* check, replay and recover in one pass over the segments */
	memset(&w, 0, sizeof(w));
	w.floor = loaded;
	w.strict = 1;
	w.fn = replayline;
	recover(&segs, &w, loaded, fd);
	free(segs.v);

	snprintf(sock, sizeof(sock), "%s/log.sock", rundir);
	if ((lfd = zk_listen_unix(sock)) == -1)
		err(EX_OSERR, "%s", sock);
	if ((lp = zkloop_new()) == NULL)
		err(EX_OSERR, NULL);
	if ((L.tree = zkloop_conn(lp, fd, onread, ontreeclose, NULL)) == NULL ||
	    zkloop_listen(lp, lfd, onaccept, NULL) == -1)
		err(EX_OSERR, "loop");
	zkl_begin(&L.tree->out, "ready");
	zkl_putx(&L.tree->out, "zxid", L.last);
	zkl_end(&L.tree->out);
	if (ZKBUF_LEN(&early) > 0) {
		zkbuf_add(&L.tree->in, ZKBUF_DATA(&early), ZKBUF_LEN(&early));
		onread(L.tree);
	}
	zkbuf_free(&early);
	zk_dbg("serving, last zxid 0x%" PRIx64, L.last);

	for (;;) {
		if (zkloop_run(lp, -1) == -1)
			err(EX_OSERR, "poll");
		commit();
		backpressure();
	}
}

/*
 * Wait for zk-tree's `loaded zxid=0x..` (the snapshot it loaded); what
 * follows it stays in rest.
 */
static int64_t
hello(int fd, struct zkbuf *rest)
{
	struct zkline	 l;
	char		*line;
	size_t		 len;
	ssize_t		 n;
	int64_t		 z;

	zk_dbg("waiting for zk-tree's loaded line");
	for (;;) {
		while (ZKBUF_LEN(rest) > 0 && zkl_next(rest, &line, &len)) {
			memset(&l, 0, sizeof(l));
			if (zkl_parse(&l, line, len) == -1)
				err(EX_OSERR, "tree.sock");
			if (l.verb != NULL && strcmp(l.verb, "loaded") == 0) {
				if (zkl_int(&l, "zxid", &z) == -1 || z < 0)
					errx(EX_PROTOCOL, "tree.sock: loaded "
					    "without a zxid");
				zkl_free(&l);
				zkbuf_consume(rest, len + 1);
				zk_dbg("zk-tree loaded a snapshot at 0x%"
				    PRIx64, z);
				return z;
			}
			warnx("tree.sock: %s before loaded, ignored",
			    l.verb ? l.verb : "an empty line");
			zkl_free(&l);
			zkbuf_consume(rest, len + 1);
		}
		if ((n = zkbuf_read(rest, fd)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_IOERR, "tree.sock");
		}
		if (n == 0)
			errx(EX_TEMPFAIL, "tree connection closed");
	}
}

/* dump, last, verify, replay and truncate. */
static int
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
	struct walk	 w;
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
	if (r == WALK_GAP)
		errx(EX_DATAERR, "%s: no zxid 0x%" PRIx64 " after 0x%" PRIx64
		    ": the log goes on at 0x%" PRIx64, dir, w.floor + 1,
		    w.floor, w.gapz);
	if (r == WALK_BAD)
		errx(EX_DATAERR, "%s: bad record at offset %lld: %s",
		    segs.v[w.seg].path, (long long)w.off, w.why);
	if (w.torn && strcmp(cmd, "verify") == 0)
		errx(EX_DATAERR, "%s: bad record at offset %lld (a torn tail)",
		    segs.v[segs.n - 1].path, (long long)w.off);
	if (w.torn)
		warnx("%s: torn tail at offset %lld ignored",
		    segs.v[segs.n - 1].path, (long long)w.off);
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

struct cut {
	int64_t		 to;
	size_t		 seg;		/* the record <= to that ends last */
	off_t		 off;		/* ... and where it ends */
	int		 found;
};

/*
 * Cut every record after zxid to: later segments go, the one holding
 * the cut is truncated there.  Damage before the cut is refused.
 */
static int
truncate_log(const char *dir, int64_t to)
{
	struct segs	 segs = { NULL, 0 };
	struct walk	 w;
	struct cut	 c;
	size_t		 i, keep;
	int		 dfd, fd, r;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", dir);
	if (flock(dfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			errx(EX_TEMPFAIL, "%s: in use by zk-log serve", dir);
		err(EX_OSERR, "%s: flock", dir);
	}
	listsegs(dir, &segs);
	memset(&w, 0, sizeof(w));
	memset(&c, 0, sizeof(c));
	c.to = to;
	w.fn = cutline;
	w.arg = &c;
	r = walk(&segs, &w);
	if (r == WALK_BAD && w.last < to)
		errx(EX_DATAERR, "%s: bad record at offset %lld: %s",
		    segs.v[w.seg].path, (long long)w.off, w.why);
	if (w.last <= to && r == WALK_OK && !w.torn)
		goto done;		/* nothing after it */
	keep = c.found ? c.seg + 1 : 0;
	for (i = segs.n; i > keep; i--)
		if (unlink(segs.v[i - 1].path) == -1)
			err(EX_IOERR, "%s", segs.v[i - 1].path);
	if (fsync(dfd) == -1)
		err(EX_IOERR, "%s", dir);
	if (c.found) {
		if ((fd = open(segs.v[c.seg].path, O_RDWR | O_CLOEXEC)) ==
		    -1 || ftruncate(fd, c.off) == -1 || fsync(fd) == -1)
			err(EX_IOERR, "%s", segs.v[c.seg].path);
		close(fd);
	}
done:
	close(dfd);
	free(segs.v);
	return 0;
}

static void
cutline(struct walk *w, const char *line, size_t len, int64_t z)
{
	struct cut	*c = w->arg;

	(void)line;
	(void)len;
	if (z <= c->to) {
		c->seg = w->seg;
		c->off = w->off;
		c->found = 1;
	}
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
segcmp(const void *a, const void *b)
{
	const struct seg	*x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The segments of dir in zxid order. */
static void
listsegs(const char *dir, struct segs *s)
{
	DIR		*d;
	struct dirent	*de;
	struct seg	*v;
	char		*end;
	size_t		 cap = 0;

	if ((d = opendir(dir)) == NULL)
		err(EX_NOINPUT, "%s", dir);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "log.", 4) != 0 ||
		    strlen(de->d_name) != 20 ||
		    strspn(de->d_name + 4, "0123456789abcdef") != 16)
			continue;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((v = reallocarray(s->v, cap, sizeof(*v))) == NULL)
				err(EX_OSERR, NULL);
			s->v = v;
		}
		if ((size_t)snprintf(s->v[s->n].path, sizeof(s->v[s->n].path),
		    "%s/%s", dir, de->d_name) >= sizeof(s->v[s->n].path))
			errx(EX_NOINPUT, "%s: path too long", dir);
		s->v[s->n].first = (int64_t)strtoull(de->d_name + 4, &end, 16);
		s->n++;
	}
	if (errno != 0)
		err(EX_IOERR, "%s", dir);
	closedir(d);
	if (s->n > 0)
		qsort(s->v, s->n, sizeof(*s->v), segcmp);
}

/*
 * Walk every segment, each mapped whole.  WALK_BAD: w->seg and w->off
 * say where, w->why what.  Otherwise w->off is the logical end of the
 * last segment and w->torn says whether a torn tail starts there.
 */
static int
walk(struct segs *s, struct walk *w)
{
	struct stat	 st;
	void		*m;
	size_t		 len;
	int		 fd, r;

	w->off = 0;
	w->torn = 0;
	for (w->seg = 0; w->seg < s->n; w->seg++) {
		const char *path = s->v[w->seg].path;

		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &st) == -1)
			err(EX_IOERR, "%s", path);
		len = (size_t)st.st_size;
		m = NULL;
		if (len > 0 && (m = mmap(NULL, len, PROT_READ, MAP_PRIVATE |
		    MAP_POPULATE, fd, 0)) == MAP_FAILED)
			err(EX_IOERR, "%s: mmap", path);
		close(fd);
		if (m != NULL)
			(void)madvise(m, len, MADV_SEQUENTIAL);
		r = scanseg(s, w, m, len);
		if (m != NULL && munmap(m, len) == -1)
			err(EX_OSERR, "%s: munmap", path);
		if (r != WALK_OK)
			return r;
	}
	if (w->seg > 0)
		w->seg--;
	return WALK_OK;
}

static int
bad(struct walk *w, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(w->whybuf, sizeof(w->whybuf), fmt, ap);
	va_end(ap);
	w->why = w->whybuf;
	return WALK_BAD;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
putbe32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Do the length bytes at p (as many as there are) say zero? */
static int
zerolen(const unsigned char *b, size_t p, size_t size)
{
	size_t	 i;

	for (i = p; i < size && i < p + 4; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/*
 * One segment: hand each good record to w->fn.  A record that does not
 * check out is a torn tail when it is in the last segment and no whole
 * record follows it; anything else is damage.  A whole record whose
 * zxid does not follow on is damage too: no crash writes one.
 */
static int
scanseg(struct segs *s, struct walk *w, const unsigned char *b, size_t size)
{
	const char	*buf = (const char *)b;
	int64_t		 first = s->v[w->seg].first, z;
	size_t		 p = 0, len;
	int		 islast = w->seg == s->n - 1;

	for (;;) {
		w->off = (off_t)p;
		if (p == size || zerolen(b, p, size)) {
			/* zeros (preallocated) or end of file */
			if (findvalid(b, p, size))
				return bad(w, "a whole record after the end");
			return WALK_OK;
		}
		if (!validat(b, p, size)) {
			if (islast && !findvalid(b, p + 1, size)) {
				w->torn = 1;
				return WALK_OK;
			}
			return bad(w, "bad length or checksum");
		}
		len = be32(b + p);
		if (linezxid(buf + p + HDRLEN, len, &z) == -1 || z <= 0)
			return bad(w, "no zxid");
		if (p == 0 && z != first)
			return bad(w, "zxid 0x%" PRIx64 " in log.%016" PRIx64,
			    z, (uint64_t)first);
		if (p > 0 && z != w->last + 1)
			return bad(w, "zxid 0x%" PRIx64 " after 0x%" PRIx64,
			    z, w->last);
		if (p == 0 && w->last != 0 && z <= w->last)
			return bad(w, "zxid 0x%" PRIx64 " after 0x%" PRIx64,
			    z, w->last);
		if (p == 0 && w->last != 0 && z != w->last + 1 &&
		    z - 1 > w->floor)
			return bad(w, "zxids 0x%" PRIx64 " to 0x%" PRIx64
			    " are missing", w->last + 1, z - 1);
		if (z > w->floor) {
			if (w->ndeliv == 0 && w->strict && z != w->floor + 1) {
				w->gapz = z;
				return WALK_GAP;
			}
			w->off = (off_t)(p + HDRLEN + len);
			if (w->fn != NULL)
				w->fn(w, buf + p + HDRLEN, len, z);
			w->ndeliv++;
		}
		w->last = z;
		w->nrec++;
		p += HDRLEN + len;
	}
}

/* A whole record with a good checksum at p? */
static int
validat(const unsigned char *b, size_t p, size_t size)
{
	uint32_t	 len;

	if (size - p < HDRLEN)
		return 0;
	len = be32(b + p);
	if (len < 2 || len > size - p - HDRLEN || b[p + HDRLEN + len - 1] !=
	    '\n')
		return 0;
	return zk_crc32c(0, b + p + HDRLEN, len) == be32(b + p + 4);
}

static uint64_t
load64(const unsigned char *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));	/* any alignment; one load */
	return v;
}

/* Is there a whole record anywhere from p on?  Runs of zeros are skipped
 * a word at a time: preallocated space is mostly zeros. */
static int
findvalid(const unsigned char *b, size_t p, size_t size)
{
	size_t	 q;

	while (p + HDRLEN < size) {
		for (q = p; q < size && b[q] == 0 && (q & 7) != 0; q++)
			;
		while (q + 32 <= size && (load64(b + q) | load64(b + q + 8) |
		    load64(b + q + 16) | load64(b + q + 24)) == 0)
			q += 32;
		while (q < size && b[q] == 0)
			q++;
		if (q == size)
			return 0;
		/* a nonzero length has a nonzero byte in p..p+3 */
		if (q > p + 3)
			p = q - 3;
		if (validat(b, p, size))
			return 1;
		p++;
	}
	return 0;
}

/* The zxid of a stored line: "verb zxid=0x... ..." */
static int
linezxid(const char *line, size_t len, int64_t *z)
{
	const char	*p, *e = line + len;
	uint64_t	 v = 0;
	int		 n = 0;

	if ((p = memchr(line, ' ', len)) == NULL || e - p < 9 ||
	    memcmp(p, " zxid=0x", 8) != 0)
		return -1;
	for (p += 8; p < e && n < 17; p++, n++) {
		if (*p >= '0' && *p <= '9')
			v = v << 4 | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			v = v << 4 | (uint64_t)(*p - 'a' + 10);
		else
			break;
	}
	if (n == 0 || n > 16 || p == e || (*p != ' ' && *p != '\n') ||
	    v > INT64_MAX)
		return -1;
	*z = (int64_t)v;
	return 0;
}

/* Make and lock DIR/zk. */
static void
opendir_zk(const char *datalogdir)
{
	int	 made = 0, pfd;

	if (mkdir(datalogdir, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "%s", datalogdir);
	if ((size_t)snprintf(L.dir, sizeof(L.dir), "%s/zk", datalogdir) >=
	    sizeof(L.dir))
		errx(EX_CONFIG, "%s: path too long", datalogdir);
	if (mkdir(L.dir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		err(EX_CANTCREAT, "%s", L.dir);
	if ((L.dirfd = open(L.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", L.dir);
	if (flock(L.dirfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			errx(EX_TEMPFAIL, "%s: in use by another zk-log", L.dir);
		err(EX_OSERR, "%s: flock", L.dir);
	}
	if (made) {
		if ((pfd = open(datalogdir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || fsync(pfd) == -1)
			err(EX_IOERR, "%s", datalogdir);
		close(pfd);
	}
	L.fd = -1;
}

/*
 * Check every record, sending those after the snapshot to zk-tree as
 * it goes; cut a torn tail; open the last segment.  Damage stops the
 * node (zk-tree never hears ready, so nothing is served).
 */
static void
recover(struct segs *s, struct walk *w, int64_t loaded, int treefd)
{
	struct replaying r;
	struct stat	 st;
	size_t		 lastseg;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.fd = treefd;
	w->arg = &r;
	rc = walk(s, w);
	if (rc == WALK_BAD)
		errx(EX_DATAERR, "%s: bad record at offset %lld: %s",
		    s->v[w->seg].path, (long long)w->off, w->why);
	if (rc == WALK_GAP)
		errx(EX_DATAERR, "%s: the snapshot is at 0x%" PRIx64 " but the "
		    "log goes on at 0x%" PRIx64 ": zxids are missing",
		    L.dir, loaded, w->gapz);
	if (r.b.err)
		errc(EX_OSERR, r.b.err, "replay");
	writeall(treefd, ZKBUF_DATA(&r.b), ZKBUF_LEN(&r.b));
	zkbuf_free(&r.b);
	zk_dbg("replayed %zu of %zu records", w->ndeliv, w->nrec);
	L.last = w->last;
	if (s->n == 0)
		goto ahead;
	lastseg = s->n - 1;
	strlcpy(L.path, s->v[lastseg].path, sizeof(L.path));
	if ((L.fd = open(L.path, O_RDWR | O_CLOEXEC)) == -1)
		err(EX_IOERR, "%s", L.path);
	if (w->torn) {
		warnx("%s: torn tail at offset %lld cut off", L.path,
		    (long long)w->off);
		if (ftruncate(L.fd, w->off) == -1 || fdatasync(L.fd) == -1)
			err(EX_IOERR, "%s", L.path);
	}
	if (fstat(L.fd, &st) == -1)
		err(EX_IOERR, "%s", L.path);
	L.end = w->off;
	if (st.st_size < L.segsize && prealloc(L.fd, L.end) == -1)
		L.noprealloc = 1;
ahead:
	if (loaded > L.last) {
		/* restored from a snapshot, or the log lost its end */
		if (L.last != 0)
			warnx("%s: the log ends at 0x%" PRIx64 ", before the "
			    "snapshot's 0x%" PRIx64 ": going on from there",
			    L.dir, L.last, loaded);
		if (L.fd != -1 && L.end == 0 &&
		    s->v[s->n - 1].first != loaded + 1 &&
		    unlink(L.path) == -1)
			err(EX_IOERR, "%s", L.path);
		if (L.fd != -1 && (L.end > 0 ||
		    s->v[s->n - 1].first != loaded + 1)) {
			close(L.fd);
			L.fd = -1;	/* the next batch starts a segment */
		}
		L.last = loaded;
	}
	L.next = L.last + 1;
}

static void
replayline(struct walk *w, const char *line, size_t len, int64_t z)
{
	struct replaying	*r = w->arg;

	(void)z;
	zkbuf_add(&r->b, line, len);
	if (ZKBUF_LEN(&r->b) >= REPLAYCHUNK) {
		if (r->b.err)
			errc(EX_OSERR, r->b.err, "replay");
		writeall(r->fd, ZKBUF_DATA(&r->b), ZKBUF_LEN(&r->b));
		zkbuf_reset(&r->b);
	}
}

static void
printline(struct walk *w, const char *line, size_t len, int64_t z)
{
	(void)w;
	(void)z;
	if (fwrite(line, 1, len, stdout) != len)
		err(EX_IOERR, "stdout");
}

/* dump with filters: every one given must match. */
static void
dumpline(struct walk *w, const char *line, size_t len, int64_t z)
{
	const char	*v, *p, *e = line + len;
	char		*end;
	size_t		 n;
	int		 hit;

	if (z < F.from || z > F.to)
		return;
	if (F.hassession) {
		if ((v = field(line, len - 1, "session", &n)) == NULL ||
		    (int64_t)strtoull(v, &end, 0) != F.session ||
		    end != v + n)
			return;
	}
	if (F.prefix != NULL) {
		/* any path= field: a multi matches if one sub-op does */
		for (hit = 0, p = line; !hit && (p = memmem(p, (size_t)(e - p),
		    " path=", 6)) != NULL; p += 6)
			hit = (size_t)(e - p - 6) >= F.prefixlen &&
			    memcmp(p + 6, F.prefix, F.prefixlen) == 0;
		if (!hit)
			return;
	}
	printline(w, line, len, z);
}

/* Blocking write of everything (before the loop runs). */
static void
writeall(int fd, const void *p, size_t len)
{
	const char	*s = p;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				errx(EX_TEMPFAIL, "tree connection closed");
			err(EX_IOERR, "tree.sock");
		}
		s += n;
		len -= (size_t)n;
	}
}

static void
onaccept(struct zkloop *lp, int fd, void *arg)
{
	struct client	*cl;

	(void)arg;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		warn("accept");
		close(fd);
		return;
	}
	if ((cl->c = zkloop_conn(lp, fd, onread, onclose, cl)) == NULL) {
		warn("accept");
		free(cl);
		close(fd);
		return;
	}
	LIST_INSERT_HEAD(&L.clients, cl, entry);
}

static void
onclose(struct zkconn *c)
{
	struct client	*cl = c->arg;

	zk_dbg("connection %d closed", c->fd);
	LIST_REMOVE(cl, entry);
	zkbuf_free(&cl->fail);
	free(cl);
	c->arg = NULL;
}

static void
ontreeclose(struct zkconn *c)
{
	(void)c;
	errx(EX_TEMPFAIL, "tree connection closed");
}

static void
onread(struct zkconn *c)
{
	char	*line;
	size_t	 len;

	while (zkl_next(&c->in, &line, &len)) {
		take(c->arg, line, len);
		zkbuf_consume(&c->in, len + 1);
	}
}

/*
 * One request line into the batch; cl is the client it came from (NULL:
 * zk-tree's sweeps, on the tree connection).
 */
static void
take(struct client *cl, char *line, size_t len)
{
	const char	*v, *sp;
	size_t		 vlen, n;
	uint32_t	 crc;
	unsigned char	 hdr[HDRLEN];

	while (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0)
		return;
	sp = memchr(line, ' ', len);
	vlen = sp ? (size_t)(sp - line) : len;
	if (vlen == 5 && memcmp(line, "hello", 5) == 0) {
		zk_dbg("%.*s", (int)len, line);
		if (cl != NULL && (v = field(line, len, "role", &n)) != NULL &&
		    n == 4 && memcmp(v, "gate", 4) == 0)
			cl->gate = 1;
		return;
	}
	if (!istxn(line, vlen)) {
		warnx("%.*s: not a transaction, dropped", (int)vlen, line);
		return;
	}
	if (ZKBUF_LEN(&L.rec) == 0)
		L.first = L.next;
	zkbuf_reset(&L.tmp);
	zkbuf_add(&L.tmp, line, vlen);
	zkl_putx(&L.tmp, "zxid", L.next);
	zkl_putd(&L.tmp, "time", zk_now_ms());
	zkbuf_add(&L.tmp, line + vlen, len - vlen);
	zkl_end(&L.tmp);
	if (L.tmp.err)
		errc(EX_OSERR, L.tmp.err, "batch");
	L.next++;
	n = ZKBUF_LEN(&L.tmp);
	crc = zk_crc32c(0, ZKBUF_DATA(&L.tmp), n);
	putbe32(hdr, (uint32_t)n);
	putbe32(hdr + 4, crc);
	zkbuf_add(&L.rec, hdr, sizeof(hdr));
	zkbuf_add(&L.rec, ZKBUF_DATA(&L.tmp), n);
	zkbuf_add(&L.fwd, ZKBUF_DATA(&L.tmp), n);

	/* what its client hears if the batch cannot be stored */
	if (cl == NULL)
		return;
	zkbuf_add(&cl->fail, "fail", 4);
	if ((v = field(line, len, "session", &n)) != NULL)
		zkl_put(&cl->fail, "session", v, n);
	if ((v = field(line, len, "xid", &n)) != NULL)
		zkl_put(&cl->fail, "xid", v, n);
	zkl_putd(&cl->fail, "err", -1);
	zkl_end(&cl->fail);
}

/* A verb that is a transaction: a write op, or a sweep's deleteTTL. */
static int
istxn(const char *verb, size_t vlen)
{
	char	 v[32];

	if (vlen >= sizeof(v))
		return 0;
	memcpy(v, verb, vlen);
	v[vlen] = '\0';
	return zk_iswriteop(zk_opcode(v)) || strcmp(v, "deleteTTL") == 0;
}

/* The raw value of the first key= field of a line. */
static const char *
field(const char *line, size_t len, const char *key, size_t *vlen)
{
	const char	*p = line, *e = line + len, *sp;
	size_t		 klen = strlen(key);

	while (p < e) {
		if ((sp = memchr(p, ' ', (size_t)(e - p))) == NULL)
			sp = e;
		if ((size_t)(sp - p) > klen && memcmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			*vlen = (size_t)(sp - p) - klen - 1;
			return p + klen + 1;
		}
		p = sp + 1;
	}
	return NULL;
}

/* The group commit: store the batch, then forward it (or its failures). */
static int64_t
usecs(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
fsynced(int64_t us)
{
	int	 b = 0;

	while (b < 31 && (us >> b) > 1)
		b++;
	fst.count++;
	fst.sumus += (uint64_t)us;
	fst.hist[b]++;
}

/*
 * At most once a second, after a batch: `fsyncstats count=N sumus=N
 * hist=h0,...,h31` (bucket b counts fsyncs of at most 2^b us) to each
 * gate, for its metrics.
 */
static void
fsyncreport(void)
{
	struct client	*cl;
	int64_t		 now = zk_mono_ms();
	int		 b;

	if (fst.count == fst.sent || now - fst.at < 1000)
		return;
	fst.sent = fst.count;
	fst.at = now;
	zkbuf_reset(&L.tmp);
	zkl_begin(&L.tmp, "fsyncstats");
	zkl_putd(&L.tmp, "count", (int64_t)fst.count);
	zkl_putd(&L.tmp, "sumus", (int64_t)fst.sumus);
	zkbuf_add(&L.tmp, " hist=", 6);
	for (b = 0; b < 32; b++)
		zkbuf_printf(&L.tmp, "%s%" PRIu64, b ? "," : "", fst.hist[b]);
	zkl_end(&L.tmp);
	if (L.tmp.err)
		errc(EX_OSERR, L.tmp.err, "fsyncstats");
	LIST_FOREACH(cl, &L.clients, entry)
		if (cl->gate)
			zkbuf_add(&cl->c->out, ZKBUF_DATA(&L.tmp),
			    ZKBUF_LEN(&L.tmp));
}

/*
 * The group commit: the batch goes to zk-tree once it is durable; if it
 * cannot be stored, each client hears `fail` for its requests instead.
 */
static void
commit(void)
{
	struct client	*cl;
	int		 stored;

	if (L.rec.err || L.fwd.err)
		errx(EX_OSERR, "batch: out of memory");
	if (ZKBUF_LEN(&L.rec) == 0)
		return;
	stored = append() == 0;
	if (stored) {
		zkbuf_add(&L.tree->out, ZKBUF_DATA(&L.fwd), ZKBUF_LEN(&L.fwd));
		if (L.tree->out.err)
			errc(EX_OSERR, L.tree->out.err, "tree connection");
		fsyncreport();
	} else {
		warn("%s: %" PRIu64 " txns not stored", L.fd != -1 ? L.path :
		    L.dir, (uint64_t)(L.next - L.first));
		L.next = L.first;
	}
	LIST_FOREACH(cl, &L.clients, entry) {
		if (cl->fail.err)
			errx(EX_OSERR, "batch: out of memory");
		if (!stored && ZKBUF_LEN(&cl->fail) > 0)
			zkbuf_add(&cl->c->out, ZKBUF_DATA(&cl->fail),
			    ZKBUF_LEN(&cl->fail));
		zkbuf_reset(&cl->fail);
	}
	zkbuf_reset(&L.rec);
	zkbuf_reset(&L.fwd);
}

/* Append and fdatasync the batch's records; -1 with errno, nothing kept. */
static int
append(void)
{
	const char	*p = ZKBUF_DATA(&L.rec);
	size_t		 len = ZKBUF_LEN(&L.rec), done = 0, n;
	ssize_t		 w;
	int64_t		 t0;
	int		 e;

	if ((L.fd == -1 || (L.end > 0 && L.end + (off_t)len > L.segsize)) &&
	    newseg(L.first) == -1)
		return -1;
	while (done < len) {
		n = len - done;
		if (faulty('w', &L.nwrite)) {
			n = n / 2;
			if (n > 0 && pwrite(L.fd, p + done, n, L.end +
			    (off_t)done) > 0)
				done += n;
			errno = ENOSPC;
			goto bad;
		}
		if ((w = pwrite(L.fd, p + done, n, L.end + (off_t)done)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			goto bad;
		}
		done += (size_t)w;
	}
	if (faulty('s', &L.nsync)) {
		errno = EIO;
		goto bad;
	}
	t0 = usecs();
	if (fdatasync(L.fd) == -1)
		goto bad;
	fsynced(usecs() - t0);
	L.end += (off_t)len;
	L.last = L.next - 1;
	return 0;
bad:
	e = errno;
	cutback(L.end);
	errno = e;
	return -1;
}

/*
 * Start log.<first> and make its name durable.  When it cannot be
 * preallocated (a full disk) it starts empty and grows as it is written:
 * the writes themselves then fail while there is no room.
 */
static int
newseg(int64_t first)
{
	char	 path[PATH_MAX];
	int	 fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s/log.%016" PRIx64, L.dir,
	    (uint64_t)first) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) ==
	    -1)
		return -1;
	L.noprealloc = 0;
	if (prealloc(fd, 0) == -1)
		L.noprealloc = 1;
	errno = 0;
	if (faulty('s', &L.nsync) || fsync(L.dirfd) == -1) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(path);
		fsync(L.dirfd);
		errno = e;
		return -1;
	}
	if (L.fd != -1)
		close(L.fd);
	L.fd = fd;
	L.end = 0;
	strlcpy(L.path, path, sizeof(L.path));
	zk_dbg("new segment %s", path);
	return 0;
}

/* Forget whatever a failed append left after off. */
static void
cutback(off_t off)
{
	if (ftruncate(L.fd, off) == -1)
		err(EX_IOERR, "%s: truncate after a failed append", L.path);
	if (!L.noprealloc && prealloc(L.fd, off) == -1)
		L.noprealloc = 1;
	if (fdatasync(L.fd) == -1)
		warn("%s: fdatasync", L.path);
}

/*
 * Zeros to the segment size.  On failure (no room) what it took is
 * given back and -1 returned: it only costs speed.
 */
static int
prealloc(int fd, off_t from)
{
	static int	 warned;
	int		 e;

	if (from >= L.segsize)
		return 0;
	if (faulty('a', &L.nalloc))
		e = ENOSPC;
	else
		e = posix_fallocate(fd, from, L.segsize - from);
	if (e == 0)
		return 0;
	if (!warned)
		warnc(e, "%s: preallocate", L.dir);
	warned = 1;
	if (ftruncate(fd, from) == -1)
		err(EX_IOERR, "%s: truncate after preallocation", L.dir);
	return -1;
}

/* Stop reading requests while zk-tree is far behind. */
static void
backpressure(void)
{
	struct client	*cl;
	int		 stop = ZKBUF_LEN(&L.tree->out) > MAXBACKLOG;

	LIST_FOREACH(cl, &L.clients, entry)
		zkloop_pause(cl->c, stop);
}

/*
 * ZK_LOG_FAULT=write:N, fsync:N or prealloc:N makes the Nth batch write
 * (a short write, then ENOSPC), the Nth fsync (EIO) or the Nth
 * preallocation (ENOSPC) fail, so the tests can run the recovery paths.
 */
static void
faultinit(void)
{
	const char	*s = getenv("ZK_LOG_FAULT"), *c, *errstr;

	if (s == NULL || *s == '\0')
		return;
	if ((c = strchr(s, ':')) == NULL)
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: expected write:N, fsync:N "
		    "or prealloc:N", s);
	if (strncmp(s, "write:", 6) == 0)
		L.fault = 'w';
	else if (strncmp(s, "fsync:", 6) == 0)
		L.fault = 's';
	else if (strncmp(s, "prealloc:", 9) == 0)
		L.fault = 'a';
	else
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: expected write:N, fsync:N "
		    "or prealloc:N", s);
	L.faultn = strtonum(c + 1, 1, LONG_MAX, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: count is %s", s, errstr);
}

static int
faulty(int what, long *count)
{
	if (L.fault == 0 || L.fault != what)
		return 0;
	(*count)++;
	return *count == L.faultn;
}
