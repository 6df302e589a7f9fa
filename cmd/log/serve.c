/*
 * zk-log: the durable transaction log (standalone form).
 *
 * Write requests arrive as lines (from zk-gate, zk-sessiond and zk-tree's
 * own sweeps); each pass of the loop takes every line that arrived, gives the
 * writes a zxid and a time, appends them to the current segment with one
 * write(2), makes them durable with one fdatasync(2) and only then
 * forwards them, in order, to zk-tree, with the gate's reads that came
 * behind them (behind()).  A batch that cannot be stored is
 * answered `fail` on the connection each request came from; the fsync
 * times go to the gate on its connection.  On disk (DIR is dataLogDir)
 * the records are in segments DIR/zk/log.<16 hex digits: zxid of the
 * first record>, whose format libzk/seg.c owns: it reads, appends and
 * truncates them for this program and zk-snap.
 *
 * At start zk-tree tells which snapshot it loaded (`loaded zxid=Z`) and
 * only the records after Z are replayed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"
#include "log.h"

#define SEGSIZE		(64LL << 20)
#define MAXBACKLOG	(64 << 20)	/* stop reading while the tree lags */
#define REPLAYCHUNK	(4 << 20)	/* replay writes to zk-tree */

struct replaying {
	int		 fd;
	struct zkbuf	 b;
};

struct logstate L;

/* fdatasync times, reported to the gate for the metrics (log2 us buckets) */
static struct {
	uint64_t	 count, sumus, hist[32];
	uint64_t	 minus, maxus;
	uint64_t	 sent;		/* count when last reported */
	int64_t		 at;		/* mono ms of that report */
} fst;

static int	 serve(int, char *[]);
static void	 recover(struct segs *, struct zkscan *, int64_t, int);
static int	 replayline(struct zkscan *, const char *, size_t, int64_t);
static void	 onclose(struct zkconn *);
static void	 take(struct client *, char *, size_t);
static int	 isread(const char *, size_t);
static void	 behind(struct client *, const char *, size_t);
static void	 failfor(struct client *, const char *, size_t);
static void	 commit(void);
static void	 backpressure(void);

void
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
	struct zkscan	 w;
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
	if (zkcfg_load(&cfg, cfgfile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	signal(SIGPIPE, SIG_IGN);
	faultinit();
	fst.at = zk_mono_ms();		/* the first report a second in */
	if (zkcfg_node(&cfg, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (cfg.role != ZKR_STANDALONE)
		return qserve(&cfg, rundir);

	opendir_zk(cfg.dataLogDir);
	listsegs(L.log.dir, &segs);

	loaded = hello(rundir, &fd, &early, NULL);

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
	if (zkloop_listen(lp, lfd, onaccept, NULL) == -1)
		err(EX_OSERR, "loop");
	treeready(lp, fd, L.log.last, &early);
	zk_dbg("serving, last zxid 0x%" PRIx64, L.log.last);

	for (;;) {
		if (zkloop_run(lp, -1) == -1)
			err(EX_OSERR, "poll");
		commit();
		backpressure();
	}
}

/*
 * zk-tree's connection joins the loop: `ready zxid=Z` (what it has, the
 * replay done), then what it sent early is read as if it came now.
 */
void
treeready(struct zkloop *lp, int fd, int64_t z, struct zkbuf *early)
{
	if ((L.tree = zkloop_conn(lp, fd, onread, ontreeclose, NULL)) == NULL)
		err(EX_OSERR, "loop");
	zkl_begin(&L.tree->out, "ready");
	zkl_putx(&L.tree->out, "zxid", z);
	zkl_end(&L.tree->out);
	if (ZKBUF_LEN(early) > 0) {
		zkbuf_add(&L.tree->in, ZKBUF_DATA(early), ZKBUF_LEN(early));
		onread(L.tree);
	}
	zkbuf_free(early);
}

/*
 * Connect to zk-tree (*fdp), say hello and wait for its `loaded
 * zxid=0x..` (the snapshot it loaded); what follows it stays in rest.
 * In an ensemble, onloaded(line) sees it first: it names the members the
 * snapshot holds.
 */
int64_t
hello(const char *rundir, int *fdp, struct zkbuf *rest,
    void (*onloaded)(const char *, size_t))
{
	struct zkline	 l;
	char		*line;
	size_t		 len;
	ssize_t		 n;
	int64_t		 z;

	char		 sock[PATH_MAX];
	int		 fd;

	if (snprintf(sock, sizeof(sock), "%s/tree.sock", rundir) >=
	    (int)sizeof(sock))
		errx(EX_USAGE, "%s: run directory path too long", rundir);
	if ((fd = zk_connect_unix(sock, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", sock);
	*fdp = fd;
	writeall(fd, "hello role=log\n", 15);
	memset(rest, 0, sizeof(*rest));
	zk_dbg("waiting for zk-tree's loaded line");
	for (;;) {
		while (ZKBUF_LEN(rest) > 0 && zkl_next(rest, &line, &len)) {
			/* before zkl_parse takes the line apart */
			if (onloaded != NULL && len > 7 &&
			    memcmp(line, "loaded ", 7) == 0)
				onloaded(line, len);
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





/* The segments of dir in zxid order. */
void
listsegs(const char *dir, struct segs *s)
{
	if (zkseg_list(dir, &s->v, &s->n) == -1)
		err(errno == ENOMEM ? EX_OSERR : errno == EIO ? EX_IOERR :
		    EX_NOINPUT, "%s", dir);
}

/* zkseg_walk, or die naming the segment that could not be read. */
int
walk(struct segs *s, struct zkscan *w)
{
	int	 r;

	if ((r = zkseg_walk(s->v, s->n, w)) == -1)
		err(EX_IOERR, "%s", w->path);
	return r;
}

/* Die of damage that zkseg_walk or zklog_truncate found (w says where). */
void
baddata(const struct zkscan *w)
{
	errx(EX_DATAERR, "%s: bad record at offset %lld: %s", w->path,
	    (long long)w->off, w->why);
}

/* zklog_truncate to zxid to, or die: damage before the cut is refused. */
void
cutlog(struct zklog *lg, int64_t to)
{
	struct zkscan	 w;
	int		 r;

	if ((r = zklog_truncate(lg, to, &w)) == -1)
		err(EX_IOERR, "%s", w.path);
	if (r == ZKSEG_BAD)
		baddata(&w);
}

/*
 * Make and lock DIR/zk, and make every segment in it durable before
 * anything in it is counted or served: a zk-log that died between its
 * write and its fdatasync left records that read back whole from the
 * page cache, and an observer syncs its log at most once a second (a
 * voter's log may be one it wrote as an observer, before a reconfig).
 */
void
opendir_zk(const char *datalogdir)
{
	struct zkscan	 w;
	char		 dir[PATH_MAX];
	int		 made = 0, pfd;

	if (mkdir(datalogdir, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "%s", datalogdir);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/zk", datalogdir) >=
	    sizeof(dir) || strlen(dir) >= sizeof(L.log.dir))
		errx(EX_CONFIG, "%s: path too long", datalogdir);
	if (mkdir(dir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		err(EX_CANTCREAT, "%s", dir);
	if (zklog_open(&L.log, dir, L.segsize) == -1) {
		if (errno == EWOULDBLOCK)
			errx(EX_TEMPFAIL, "%s: in use by another zk-log", dir);
		err(EX_NOINPUT, "%s", dir);
	}
	L.log.fault = faulty;
	if (zklog_syncall(&L.log, &w) == -1)
		err(EX_IOERR, "%s", w.path);
	if (made) {
		if ((pfd = open(datalogdir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || fsync(pfd) == -1)
			err(EX_IOERR, "%s", datalogdir);
		close(pfd);
	}
}

/*
 * Check every record, sending those after the snapshot to zk-tree as
 * it goes; cut a torn tail; open the last segment.  Damage stops the
 * node (zk-tree never hears ready, so nothing is served).
 */
static void
recover(struct segs *s, struct zkscan *w, int64_t loaded, int treefd)
{
	struct replaying r;
	struct zkseg	*last;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.fd = treefd;
	w->arg = &r;
	rc = walk(s, w);
	if (rc == ZKSEG_BAD)
		baddata(w);
	if (rc == ZKSEG_GAP)
		errx(EX_DATAERR, "%s: the snapshot is at 0x%" PRIx64 " but the "
		    "log goes on at 0x%" PRIx64 ": zxids are missing",
		    L.log.dir, loaded, w->gapz);
	if (r.b.err)
		errc(EX_OSERR, r.b.err, "replay");
	writeall(treefd, ZKBUF_DATA(&r.b), ZKBUF_LEN(&r.b));
	zkbuf_free(&r.b);
	zk_dbg("replayed %zu of %zu records", w->ndeliv, w->nrec);
	L.log.last = w->last;
	if (s->n > 0) {
		last = &s->v[s->n - 1];
		if (w->torn)
			warnx("%s: torn tail at offset %lld cut off",
			    last->path, (long long)w->off);
		if (zklog_resume(&L.log, last->path, last->first, w->off,
		    w->torn, w->last) == -1)
			err(EX_IOERR, "%s%s%s", last->path, L.log.dead ?
			    ": " : "", L.log.dead ? L.log.deadwhy : "");
		allocwarn();
	}
	if (loaded > L.log.last) {
		/* restored from a snapshot, or the log lost its end */
		if (L.log.last != 0)
			warnx("%s: the log ends at 0x%" PRIx64 ", before the "
			    "snapshot's 0x%" PRIx64 ": going on from there",
			    L.log.dir, L.log.last, loaded);
		/* the next batch starts a segment */
		if (zklog_skip(&L.log, loaded) == -1)
			err(EX_IOERR, "%s", L.log.path);
	}
	L.next = L.log.last + 1;
}

/* Say once that segments cannot be preallocated (a full disk). */
void
allocwarn(void)
{
	static int	 warned;

	if (L.log.allocerr == 0 || warned)
		return;
	warnc(L.log.allocerr, "%s: preallocate", L.log.dir);
	warned = 1;
}

static int
replayline(struct zkscan *w, const char *line, size_t len, int64_t z)
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
	return 0;
}



/*
 * name in the directory dirfd (dir, for messages) to hold p[len], durably
 * before it is used: tmp, fsync, rename, fsync the directory.  Exits
 * (74) when it cannot.
 */
void
durable(int dirfd, const char *dir, const char *name, const void *p,
    size_t len)
{
	if (zk_replace(dirfd, name, p, len) == -1 || fsync(dirfd) == -1)
		err(EX_IOERR, "%s/%s", dir, name);
}

/* Blocking write of everything (before the loop runs). */
void
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

void
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
	if (L.quorum)
		qgone(cl);
	LIST_REMOVE(cl, entry);
	zkbuf_free(&cl->fail);
	free(cl);
	c->arg = NULL;
}

void
ontreeclose(struct zkconn *c)
{
	(void)c;
	errx(EX_TEMPFAIL, "tree connection closed");
}

void
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
		if (cl != NULL && v != NULL && n == 8 &&
		    memcmp(v, "sessiond", 8) == 0)
			cl->sessiond = 1;
		if (L.quorum && cl != NULL)
			qhello(cl);
		return;
	}
	if (L.quorum && vlen == 5 && memcmp(line, "touch", 5) == 0) {
		qtouch(line, len);
		return;
	}
	if (L.quorum && cl == NULL && vlen == 8 &&
	    memcmp(line, "snapshot", 8) == 0) {
		qsnapshot(line, len);	/* zk-tree's answer, for a SNAP */
		return;
	}
	if (L.quorum && vlen == 4 && memcmp(line, "sync", 4) == 0) {
		qsync(cl, line, len);
		return;
	}
	if (L.quorum && cl != NULL && vlen == 7 &&
	    memcmp(line, "handoff", 7) == 0) {
		qhandoff(cl);
		return;
	}
	if (L.quorum && cl != NULL && vlen == 9 &&
	    memcmp(line, "statreset", 9) == 0) {
		qstatreset();		/* the gate's srst */
		return;
	}
	if (L.quorum && vlen == 9 && memcmp(line, "readindex", 9) == 0) {
		qread(line, len);
		return;
	}
	if (L.quorum && cl == NULL && vlen == 6 &&
	    memcmp(line, "digest", 6) == 0) {
		qdigest(line, len);	/* zk-tree's digest */
		return;
	}
	if (cl != NULL && cl->gate && isread(line, vlen)) {
		behind(cl, line, len);
		return;
	}
	if (!istxn(line, vlen)) {
		warnx("%.*s: not a transaction, dropped", (int)vlen, line);
		return;
	}
	if (L.quorum) {
		qtake(cl, line, len);
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
	zkseg_frame(&L.rec, ZKBUF_DATA(&L.tmp), n);
	zkbuf_add(&L.fwd, ZKBUF_DATA(&L.tmp), n);

	if (cl != NULL)
		failfor(cl, line, len);
}

/* What cl hears for a request of the batch if it cannot be stored. */
static void
failfor(struct client *cl, const char *line, size_t len)
{
	const char	*v;
	size_t		 n;

	zkbuf_add(&cl->fail, "fail", 4);
	if ((v = field(line, len, "session", &n)) != NULL)
		zkl_put(&cl->fail, "session", v, n);
	if ((v = field(line, len, "xid", &n)) != NULL)
		zkl_put(&cl->fail, "xid", v, n);
	zkl_putx(&cl->fail, "zxid", L.first - 1);	/* before the batch */
	zkl_putd(&cl->fail, "err", -1);
	zkl_end(&cl->fail);
}

/* A line's verb as a string in v (VERBMAX bytes): 0, or -1 if too long. */
#define VERBMAX	32
static int
verbstr(char *v, const char *verb, size_t vlen)
{
	if (vlen >= VERBMAX)
		return -1;
	memcpy(v, verb, vlen);
	v[vlen] = '\0';
	return 0;
}

/* A read op's verb, or sync's (an ensemble's sync is taken before). */
static int
isread(const char *verb, size_t vlen)
{
	char	 v[VERBMAX];
	int	 op;

	if (verbstr(v, verb, vlen) == -1)
		return 0;
	op = zk_opcode(v);
	return zk_isreadop(op) || op == ZOP_SYNC;
}

/*
 * A read the gate sent behind a write of its session (the FIFO rule in
 * STREAMS.md): it goes into zk-tree's stream after the writes taken
 * before it, so that zk-tree answers it after applying them and before
 * anything its session sent later.  Standalone, that is after this
 * pass's batch (or at once if the pass has none); if the batch cannot be
 * stored, it is answered `fail` as the writes are.
 */
static void
behind(struct client *cl, const char *line, size_t len)
{
	if (L.quorum) {
		qbehind(cl, (char *)line, len);
		return;
	}
	if (ZKBUF_LEN(&L.rec) == 0) {
		zkbuf_add(&L.tree->out, line, len);
		zkbuf_addc(&L.tree->out, '\n');
		if (L.tree->out.err)
			errc(EX_OSERR, L.tree->out.err, "tree connection");
		return;
	}
	zkbuf_add(&L.fwd, line, len);
	zkbuf_addc(&L.fwd, '\n');
	failfor(cl, line, len);
}

/* A verb that is a transaction: a write op, or a sweep's deleteTTL. */
int
istxn(const char *verb, size_t vlen)
{
	char	 v[VERBMAX];

	if (verbstr(v, verb, vlen) == -1)
		return 0;
	return zk_iswriteop(zk_opcode(v)) || strcmp(v, "deleteTTL") == 0;
}

/* The raw value of the first key= field of a line. */
const char *
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
void
fsynced(int64_t us)
{
	int	 b = 0;

	while (b < 31 && (us >> b) > 1)
		b++;
	if (fst.count == 0 || (uint64_t)us < fst.minus)
		fst.minus = (uint64_t)us;
	if ((uint64_t)us > fst.maxus)
		fst.maxus = (uint64_t)us;
	fst.count++;
	fst.sumus += (uint64_t)us;
	fst.hist[b]++;
}

/*
 * At most once a second, after a batch: `fsyncstats count=N sumus=N
 * minus=N maxus=N hist=h0,...,h31` (bucket b counts fsyncs of at most
 * 2^b us) to each gate, for its metrics.
 */
void
fsyncreport(void)
{
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
	zkl_putd(&L.tmp, "minus", (int64_t)fst.minus);
	zkl_putd(&L.tmp, "maxus", (int64_t)fst.maxus);
	zkbuf_add(&L.tmp, " hist=", 6);
	for (b = 0; b < 32; b++)
		zkbuf_printf(&L.tmp, "%s%" PRIu64, b ? "," : "", fst.hist[b]);
	zkl_end(&L.tmp);
	if (L.tmp.err)
		errc(EX_OSERR, L.tmp.err, "fsyncstats");
	togates(&L.tmp);
}

/* The lines in b to every connection that said hello role=gate. */
void
togates(const struct zkbuf *b)
{
	struct client	*cl;

	LIST_FOREACH(cl, &L.clients, entry)
		if (cl->gate)
			zkbuf_add(&cl->c->out, ZKBUF_DATA(b), ZKBUF_LEN(b));
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
	stored = zklog_append(&L.log, ZKBUF_DATA(&L.rec), ZKBUF_LEN(&L.rec),
	    L.first, L.next - 1) == 0;
	if (!stored && L.log.dead)
		errc(EX_IOERR, L.log.dead, "%s: %s", L.log.fd != -1 ?
		    L.log.path : L.log.dir, L.log.deadwhy);
	if (stored) {
		fsynced(L.log.syncus);
		zkbuf_add(&L.tree->out, ZKBUF_DATA(&L.fwd), ZKBUF_LEN(&L.fwd));
		if (L.tree->out.err)
			errc(EX_OSERR, L.tree->out.err, "tree connection");
		fsyncreport();
	} else {
		warn("%s: %" PRIu64 " txns not stored", L.log.fd != -1 ?
		    L.log.path : L.log.dir, (uint64_t)(L.next - L.first));
		L.next = L.first;
	}
	allocwarn();
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
void
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

/* The fault hook of L.log: what is ZKLOG_FWRITE, FSYNC or FALLOC. */
int
faulty(void *arg, int what)
{
	long	*count = what == 'w' ? &L.nwrite : what == 's' ? &L.nsync :
		    &L.nalloc;

	(void)arg;
	if (L.fault == 0 || L.fault != what)
		return 0;
	(*count)++;
	return *count == L.faultn;
}
