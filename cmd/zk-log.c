/*
 * zk-log: the durable transaction log (standalone form).
 *
 * Write requests arrive as lines (from zk-gate, zk-sessiond and zk-tree's
 * own sweeps); each poll pass takes every line that arrived, gives the
 * writes a zxid and a time, appends them to the current segment with one
 * write(2), makes them durable with one fdatasync(2) and only then
 * forwards them, in order, to zk-tree.  On disk (DIR is dataLogDir):
 *
 *	DIR/zk/log.<16 hex digits: zxid of the first record>
 *
 * a sequence of records
 *
 *	be32 length | be32 crc32c(line) | line, trailing newline included
 *
 * followed by zeros to the preallocated end of the segment.  A length of
 * zero ends the segment.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"

#define HDRLEN		8
#define SEGSIZE		(64LL << 20)
#define MAXBACKLOG	(64 << 20)	/* stop reading while the tree lags */

/* What a scan found at the end of one segment. */
enum { SEG_CLEAN, SEG_TORN, SEG_BAD };

struct seg {
	char		 path[PATH_MAX];
	int64_t		 first;		/* from the name */
};

struct segs {
	struct seg	*v;
	size_t		 n;
};

/* A walk over the stored records. */
struct scan {
	int64_t		 last;		/* last zxid seen */
	size_t		 nrec;
	void		(*fn)(const char *, size_t, void *);
	void		*arg;
	int		 quick;		/* known good: skip the tail check */
};

struct client {
	struct zkconn		*c;
	LIST_ENTRY(client)	 entry;
};

static struct {
	char		 dir[PATH_MAX];		/* DIR/zk */
	int		 dirfd;
	int		 fd;			/* current segment, -1 none */
	char		 path[PATH_MAX];
	off_t		 end;			/* logical end of fd */
	long long	 segsize;
	int64_t		 last;			/* last durable zxid */
	struct zkbuf	 rec;			/* framed records of the batch */
	struct zkbuf	 fwd;			/* the batch for zk-tree */
	struct zkbuf	 failfwd;		/* ... if it cannot be stored */
	struct zkbuf	 tmp;
	int64_t		 next;			/* zxid for the next txn */
	int64_t		 first;			/* first zxid of the batch */
	struct zkconn	*tree;
	LIST_HEAD(, client) clients;
	int		 fault;			/* ZK_LOG_FAULT */
	long		 faultn, nwrite, nsync;
} L;

static void	 usage(void);
static int	 serve(int, char *[]);
static int	 tool(const char *, const char *);
static void	 toolsdir(const char *, char *, size_t);
static void	 listsegs(const char *, struct segs *);
static int	 scanall(struct segs *, struct scan *, off_t *, int *);
static int	 zerolen(const unsigned char *, size_t, size_t);
static int	 scanseg(const char *, size_t, int, struct scan *, off_t *);
static int	 validat(const unsigned char *, size_t, size_t);
static int	 findvalid(const unsigned char *, size_t, size_t);
static int	 linezxid(const char *, size_t, int64_t *);
static char	*slurp(const char *, size_t *);
static void	 opendir_zk(const char *);
static void	 recover(struct segs *);
static void	 replay(struct segs *, int);
static void	 printline(const char *, size_t, void *);
static void	 replayline(const char *, size_t, void *);
static void	 writeall(int, const void *, size_t);
static void	 onaccept(struct zkloop *, int, void *);
static void	 onread(struct zkconn *);
static void	 onclose(struct zkconn *);
static void	 ontreeclose(struct zkconn *);
static void	 take(char *, size_t);
static const char *field(const char *, size_t, const char *, size_t *);
static void	 commit(void);
static int	 append(void);
static int	 newseg(int64_t);
static void	 cutback(off_t);
static void	 prealloc(int, off_t);
static void	 backpressure(void);
static void	 faultinit(void);
static int	 faulty(int, long *);

static void
usage(void)
{
	fprintf(stderr, "usage: %s serve [-d] [-s size] -c zoo.cfg -r rundir\n"
	    "       %s dump | last | verify dir\n", getprogname(),
	    getprogname());
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	if (argc != 3 || (strcmp(argv[1], "dump") != 0 &&
	    strcmp(argv[1], "last") != 0 && strcmp(argv[1], "verify") != 0))
		usage();
	return tool(argv[1], argv[2]);
}

static int
serve(int argc, char *argv[])
{
	struct zkcfg	 cfg;
	struct segs	 segs = { NULL, 0 };
	struct zkloop	*lp;
	char		 errbuf[1200], sock[PATH_MAX];
	const char	*cfgfile = NULL, *rundir = NULL, *errstr;
	int		 ch, fd, lfd;

	L.segsize = SEGSIZE;
	while ((ch = getopt(argc, argv, "c:dr:s:")) != -1) {
		switch (ch) {
		case 'c':
			cfgfile = optarg;
			break;
		case 'd':
			zk_debug = 1;
			break;
		case 'r':
			rundir = optarg;
			break;
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
	if (zkcfg_load(&cfg, cfgfile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	signal(SIGPIPE, SIG_IGN);
	faultinit();

	opendir_zk(cfg.dataLogDir);
	listsegs(L.dir, &segs);
	recover(&segs);

	if (snprintf(sock, sizeof(sock), "%s/tree.sock", rundir) >=
	    (int)sizeof(sock))
		errx(EX_USAGE, "%s: run directory path too long", rundir);
	if ((fd = zk_connect_unix(sock, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", sock);
	writeall(fd, "hello role=log\n", 15);
	replay(&segs, fd);

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
	zk_dbg("serving, last zxid 0x%" PRIx64, L.last);

	for (;;) {
		if (zkloop_run(lp, -1) == -1)
			err(EX_OSERR, "poll");
		commit();
		backpressure();
	}
}

/* dump, last and verify. */
static int
tool(const char *cmd, const char *arg)
{
	struct segs	 segs = { NULL, 0 };
	struct scan	 sc;
	char		 dir[PATH_MAX];
	off_t		 off;
	int		 i, torn;

	toolsdir(arg, dir, sizeof(dir));
	listsegs(dir, &segs);
	memset(&sc, 0, sizeof(sc));
	if (strcmp(cmd, "dump") == 0)
		sc.fn = printline;
	i = scanall(&segs, &sc, &off, &torn);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	if (i >= 0)
		errx(EX_DATAERR, "%s: bad record at offset %lld",
		    segs.v[i].path, (long long)off);
	if (torn && strcmp(cmd, "verify") == 0)
		errx(EX_DATAERR, "%s: bad record at offset %lld (a torn tail)",
		    segs.v[segs.n - 1].path, (long long)off);
	if (torn)
		warnx("%s: torn tail at offset %lld ignored",
		    segs.v[segs.n - 1].path, (long long)off);
	if (strcmp(cmd, "last") == 0)
		printf("0x%" PRIx64 "\n", sc.last);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	free(segs.v);
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
 * Walk every segment.  Returns -1 when every record is good, else the
 * index of the segment with a bad record at *off.  When all is good,
 * *off is the logical end of the last segment and *torn says whether a
 * torn tail starts there.
 */
static int
scanall(struct segs *s, struct scan *sc, off_t *off, int *torn)
{
	char	*buf;
	size_t	 len, i;
	int	 r;

	*off = 0;
	*torn = 0;
	for (i = 0; i < s->n; i++) {
		if ((buf = slurp(s->v[i].path, &len)) == NULL)
			err(EX_IOERR, "%s", s->v[i].path);
		r = scanseg(buf, len, i == s->n - 1, sc, off);
		free(buf);
		if (r == SEG_BAD)
			return (int)i;
		*torn = r == SEG_TORN;
	}
	return -1;
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
 * One segment: hand each good record to sc->fn.  *end is set to the
 * logical end (SEG_CLEAN), the start of the torn tail (SEG_TORN: only in
 * the last segment, when no whole record follows) or of the bad record.
 */
static int
scanseg(const char *buf, size_t size, int last, struct scan *sc,
    off_t *end)
{
	const unsigned char	*b = (const unsigned char *)buf;
	size_t			 p = 0, len;
	int64_t			 z;

	for (;;) {
		*end = (off_t)p;
		if (p == size || zerolen(b, p, size)) {
			/* zeros (preallocated) or end of file */
			if (!sc->quick && findvalid(b, p, size))
				return SEG_BAD;
			return SEG_CLEAN;
		}
		if (!validat(b, p, size) ||
		    linezxid(buf + p + HDRLEN, be32(b + p), &z) == -1 ||
		    z <= sc->last) {
			if (!last || findvalid(b, p + 1, size))
				return SEG_BAD;
			return SEG_TORN;
		}
		len = be32(b + p);
		if (sc->fn != NULL)
			sc->fn(buf + p + HDRLEN, len, sc->arg);
		sc->last = z;
		sc->nrec++;
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

/* Is there a whole record anywhere from p on?  Runs of zeros are skipped
 * a word at a time: preallocated space is mostly zeros. */
static int
findvalid(const unsigned char *b, size_t p, size_t size)
{
	size_t	 q;

	while (p + HDRLEN < size) {
		for (q = p; q < size && b[q] == 0 && (q & 7) != 0; q++)
			;
		while (q + 8 <= size && *(const uint64_t *)(const void *)
		    (b + q) == 0)
			q += 8;
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
	if (n == 0 || n > 16 || (*p != ' ' && *p != '\n'))
		return -1;
	*z = (int64_t)v;
	return 0;
}

/* The whole file in memory (NUL-terminated); NULL with errno. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || (buf = malloc((size_t)st.st_size + 1)) ==
	    NULL) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
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

/* Check every record; cut a torn tail; open the last segment. */
static void
recover(struct segs *s)
{
	struct scan	 sc;
	struct stat	 st;
	off_t		 off;
	int		 i, torn;

	memset(&sc, 0, sizeof(sc));
	if ((i = scanall(s, &sc, &off, &torn)) >= 0)
		errx(EX_DATAERR, "%s: bad record at offset %lld",
		    s->v[i].path, (long long)off);
	L.last = sc.last;
	L.next = L.last + 1;
	if (s->n == 0)
		return;
	strlcpy(L.path, s->v[s->n - 1].path, sizeof(L.path));
	if ((L.fd = open(L.path, O_RDWR | O_CLOEXEC)) == -1)
		err(EX_IOERR, "%s", L.path);
	if (torn) {
		warnx("%s: torn tail at offset %lld cut off", L.path,
		    (long long)off);
		if (ftruncate(L.fd, off) == -1 || fdatasync(L.fd) == -1)
			err(EX_IOERR, "%s", L.path);
	}
	if (fstat(L.fd, &st) == -1)
		err(EX_IOERR, "%s", L.path);
	L.end = off;
	if (st.st_size < L.segsize)
		prealloc(L.fd, L.end);
}

struct replaying {
	int		 fd;
	struct zkbuf	 b;
};

/* Send every stored record to zk-tree before serving. */
static void
replay(struct segs *s, int fd)
{
	struct replaying	 r;
	struct scan		 sc;
	off_t			 off;
	int			 torn;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	memset(&sc, 0, sizeof(sc));
	sc.fn = replayline;
	sc.arg = &r;
	sc.quick = 1;
	if (scanall(s, &sc, &off, &torn) >= 0 || torn)
		errx(EX_SOFTWARE, "log changed under us");
	if (r.b.err)
		errc(EX_OSERR, r.b.err, "replay");
	writeall(fd, ZKBUF_DATA(&r.b), ZKBUF_LEN(&r.b));
	zkbuf_free(&r.b);
	zk_dbg("replayed %zu records", sc.nrec);
}

static void
replayline(const char *line, size_t len, void *arg)
{
	struct replaying	*r = arg;

	zkbuf_add(&r->b, line, len);
	if (ZKBUF_LEN(&r->b) >= (1 << 20)) {
		if (r->b.err)
			errc(EX_OSERR, r->b.err, "replay");
		writeall(r->fd, ZKBUF_DATA(&r->b), ZKBUF_LEN(&r->b));
		zkbuf_reset(&r->b);
	}
}

static void
printline(const char *line, size_t len, void *arg)
{
	(void)arg;
	if (fwrite(line, 1, len, stdout) != len)
		err(EX_IOERR, "stdout");
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
		take(line, len);
		zkbuf_consume(&c->in, len + 1);
	}
}

/* One request line into the batch. */
static void
take(char *line, size_t len)
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
		return;
	}
	if (vlen == 4 && memcmp(line, "sync", 4) == 0) {
		zkbuf_add(&L.fwd, line, len);
		zkbuf_addc(&L.fwd, '\n');
		zkbuf_add(&L.failfwd, line, len);
		zkbuf_addc(&L.failfwd, '\n');
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

	zkbuf_add(&L.failfwd, "fail", 4);
	if ((v = field(line, len, "session", &n)) != NULL)
		zkl_put(&L.failfwd, "session", v, n);
	if ((v = field(line, len, "xid", &n)) != NULL)
		zkl_put(&L.failfwd, "xid", v, n);
	zkl_putd(&L.failfwd, "err", -1);
	zkl_end(&L.failfwd);
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
static void
commit(void)
{
	struct zkbuf	*out;

	if (L.rec.err || L.fwd.err || L.failfwd.err)
		errx(EX_OSERR, "batch: out of memory");
	if (ZKBUF_LEN(&L.fwd) == 0)
		return;
	out = &L.fwd;
	if (ZKBUF_LEN(&L.rec) > 0 && append() == -1) {
		warn("%s: %" PRIu64 " txns not stored", L.path,
		    (uint64_t)(L.next - L.first));
		L.next = L.first;
		out = &L.failfwd;
	}
	zkbuf_add(&L.tree->out, ZKBUF_DATA(out), ZKBUF_LEN(out));
	if (L.tree->out.err)
		errc(EX_OSERR, L.tree->out.err, "tree connection");
	zkbuf_reset(&L.rec);
	zkbuf_reset(&L.fwd);
	zkbuf_reset(&L.failfwd);
}

/* Append and fdatasync the batch's records; -1 with errno, nothing kept. */
static int
append(void)
{
	const char	*p = ZKBUF_DATA(&L.rec);
	size_t		 len = ZKBUF_LEN(&L.rec), done = 0, n;
	ssize_t		 w;
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
	if (fdatasync(L.fd) == -1)
		goto bad;
	L.end += (off_t)len;
	L.last = L.next - 1;
	return 0;
bad:
	e = errno;
	cutback(L.end);
	errno = e;
	return -1;
}

/* Start log.<first> and make its name durable. */
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
	prealloc(fd, 0);
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
		warn("%s: truncate", L.path);
	prealloc(L.fd, off);
	if (fdatasync(L.fd) == -1)
		warn("%s: fdatasync", L.path);
}

/* Zeros to the segment size; a failure only costs speed. */
static void
prealloc(int fd, off_t from)
{
	static int	 warned;
	int		 e;

	if (from >= L.segsize)
		return;
	if ((e = posix_fallocate(fd, from, L.segsize - from)) != 0 &&
	    !warned) {
		warnc(e, "%s: preallocate", L.dir);
		warned = 1;
	}
}

/* Stop reading requests while zk-tree is far behind. */
static void
backpressure(void)
{
	struct client	*cl;
	int		 stop = ZKBUF_LEN(&L.tree->out) > MAXBACKLOG;

	LIST_FOREACH(cl, &L.clients, entry)
		cl->c->noread = stop;
}

/*
 * ZK_LOG_FAULT=write:N or fsync:N makes the Nth batch write (a short
 * write, then ENOSPC) or the Nth fsync (EIO) fail, so the tests can run
 * the recovery paths.
 */
static void
faultinit(void)
{
	const char	*s = getenv("ZK_LOG_FAULT"), *c, *errstr;

	if (s == NULL || *s == '\0')
		return;
	if ((c = strchr(s, ':')) == NULL)
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: expected write:N or fsync:N",
		    s);
	if (strncmp(s, "write:", 6) == 0)
		L.fault = 'w';
	else if (strncmp(s, "fsync:", 6) == 0)
		L.fault = 's';
	else
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: expected write:N or fsync:N",
		    s);
	L.faultn = strtonum(c + 1, 1, LONG_MAX, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "ZK_LOG_FAULT=%s: count is %s", s, errstr);
}

static int
faulty(int what, long *count)
{
	if (L.fault == 0)
		return 0;
	(*count)++;
	return L.fault == what && *count == L.faultn;
}
