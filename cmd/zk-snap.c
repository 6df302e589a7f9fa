/*
 * zk-snap: write, check and dump znode snapshots.
 *
 * A snapshot is DATADIR/zk/snapshot.<16 hex zxid>, a zstd stream (with
 * its content checksum) of lines: a `# zk-snap 1` header, one `node`
 * line per znode, parents first, one `session` line per session and an
 * `end` line with the counts.  zk-tree forks and pipes its tree into
 * `zk-snap write`; the other subcommands are for people and scripts.
 * See zk-snap(1).
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <ctype.h>
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
#include <time.h>
#include <unistd.h>

#include "zk.h"

static int	 zkimport(const char *, const char *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: %s list dir\n"
	    "       %s cat file\n"
	    "       %s verify file\n"
	    "       %s write dir\n"
	    "       %s restore file newdir\n"
	    "       %s purge [-n count] dir [logdir]\n"
	    "       %s take rundir\n"
	    "       %s import apache-datadir newdir\n",
	    getprogname(), getprogname(), getprogname(), getprogname(),
	    getprogname(), getprogname(), getprogname(), getprogname());
	exit(EX_USAGE);
}

/* The exit status for a failed zksnap_read. */
static int
readstatus(void)
{
	switch (errno) {
	case EBADMSG:
		return EX_DATAERR;
	case ENOENT:
	case EACCES:
	case EISDIR:
		return EX_NOINPUT;
	case ENOMEM:
		return EX_OSERR;
	}
	return EX_IOERR;
}

static void __attribute__((noreturn))
readfail(const char *path, const char *why)
{
	int	 st = readstatus();

	if (errno == EBADMSG)
		errx(st, "%s: %s", path, why);
	err(st, "%s: %s", path, why);
}

static int
cmd_list(int argc, char *argv[])
{
	struct zksnapent	*v;
	struct stat		 sb;
	struct tm		 tm;
	char			 zdir[PATH_MAX], date[64];
	size_t			 n, i;

	if (argc != 2)
		usage();
	if ((size_t)snprintf(zdir, sizeof(zdir), "%s/zk", argv[1]) >=
	    sizeof(zdir))
		errx(EX_USAGE, "%s: name too long", argv[1]);
	if (stat(argv[1], &sb) == -1)
		err(EX_NOINPUT, "%s", argv[1]);
	if (zksnap_list(zdir, &v, &n) == -1)
		err(EX_IOERR, "%s", zdir);
	for (i = 0; i < n; i++) {
		if (stat(v[i].path, &sb) == -1)
			continue;	/* purged meanwhile */
		if (gmtime_r(&sb.st_mtime, &tm) == NULL ||
		    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			strlcpy(date, "?", sizeof(date));
		printf("%s zxid=0x%" PRIx64 " size=%jd date=%s\n", v[i].path,
		    (uint64_t)v[i].zxid, (intmax_t)sb.st_size, date);
	}
	free(v);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}

static int
cmd_cat(int argc, char *argv[])
{
	struct zksnapr	 r;
	const char	*why = NULL;
	char		*s;
	size_t		 len;
	int		 rc;

	if (argc != 2)
		usage();
	if (zksnap_ropen(&r, argv[1]) == -1)
		readfail(argv[1], "open");
	while ((rc = zksnap_line(&r, &s, &len, &why)) == 1) {
		s[len] = '\n';
		if (fwrite(s, 1, len + 1, stdout) != len + 1)
			err(EX_IOERR, "stdout");
		s[len] = '\0';
	}
	if (rc == -1)
		readfail(argv[1], why);
	zksnap_rclose(&r);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}

static int
cmd_verify(int argc, char *argv[])
{
	struct zksnapinfo	 info;
	const char		*why;
	int64_t			 nz;

	if (argc != 2)
		usage();
	if (zksnap_read(argv[1], &info, NULL, NULL, &why) == -1)
		readfail(argv[1], why);
	if ((nz = zksnap_namezxid(argv[1])) != -1 && nz != info.zxid)
		errx(EX_DATAERR, "%s: header says zxid 0x%" PRIx64, argv[1],
		    (uint64_t)info.zxid);
	printf("%s: ok zxid=0x%" PRIx64 " nodes=%" PRId64 " sessions=%"
	    PRId64 "\n", argv[1], (uint64_t)info.zxid, info.nodes,
	    info.sessions);
	return 0;
}

/*
 * Lines on stdin become DIR/zk/snapshot.<zxid>; only a stream that
 * ends with a matching `end` line is kept (a dying zk-tree child
 * leaves nothing).  Prints the file's name.
 */
static int
cmd_write(int argc, char *argv[])
{
	struct zksnapw	 w;
	struct zkbuf	 in = { 0 };
	struct zkline	 l = { 0 };
	char		*s, *cp;
	size_t		 len;
	ssize_t		 n;
	int64_t		 zxid, nn = 0, ns = 0, v;
	int		 open = 0, ended = 0, eof = 0;

	if (argc != 2)
		usage();
	while (!eof) {
		if (zkbuf_reserve(&in, 65536) == -1)
			err(EX_OSERR, "stdin");
		if ((n = read(0, in.p + in.len, 65536)) > 0)
			in.len += (size_t)n;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (open)
				zksnap_abort(&w);
			err(EX_IOERR, "stdin");
		}
		eof = n == 0;
		while (ZKBUF_LEN(&in) > 0 && zkl_next(&in, &s, &len)) {
			if (!open) {
				if ((cp = strndup(s, len)) == NULL)
					err(EX_OSERR, NULL);
				if (strncmp(cp, "# zk-snap 1 ", 12) != 0 ||
				    zkl_parse(&l, cp + 10, len - 10) == -1 ||
				    zkl_int(&l, "zxid", &zxid) == -1)
					errx(EX_DATAERR, "stdin: no header line");
				free(cp);
				s[len] = '\n';
				if (mkdir(argv[1], 0755) == -1 &&
				    errno != EEXIST)
					err(EX_CANTCREAT, "%s", argv[1]);
				if (zksnap_wopen(&w, argv[1], zxid) == -1)
					err(EX_CANTCREAT, "%s", argv[1]);
				open = 1;
			} else {
				if (ended) {
					zksnap_abort(&w);
					errx(EX_DATAERR, "stdin: lines after "
					    "the end line");
				}
				if (strncmp(s, "node ", 5) == 0)
					nn++;
				else if (strncmp(s, "session ", 8) == 0)
					ns++;
				else if (strncmp(s, "end ", 4) == 0) {
					if ((cp = strndup(s, len)) == NULL)
						err(EX_OSERR, NULL);
					if (zkl_parse(&l, cp, len) == -1 ||
					    zkl_int(&l, "nodes", &v) == -1 ||
					    v != nn ||
					    zkl_int(&l, "sessions", &v) == -1 ||
					    v != ns) {
						zksnap_abort(&w);
						errx(EX_DATAERR, "stdin: end "
						    "line does not match the "
						    "counts");
					}
					free(cp);
					ended = 1;
				}
				s[len] = '\n';
			}
			if (zksnap_write(&w, s, len + 1) == -1) {
				zksnap_abort(&w);
				err(EX_IOERR, "%s", w.tmp);
			}
			zkbuf_consume(&in, len + 1);
		}
		if (in.err)
			err(EX_OSERR, "stdin");
	}
	if (!open)
		errx(EX_DATAERR, "stdin: no header line");
	if (!ended || ZKBUF_LEN(&in) > 0) {
		zksnap_abort(&w);
		errx(EX_DATAERR, "stdin: no end line");
	}
	if (zksnap_commit(&w) == -1)
		err(EX_IOERR, "%s", w.path);
	zkbuf_free(&in);
	zkl_free(&l);
	printf("%s\n", w.path);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}

/* Whether DIR/zk holds snapshots or log segments already. */
static int
hasdata(const char *zdir)
{
	struct dirent	*de;
	DIR		*d;
	int		 any = 0;

	if ((d = opendir(zdir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		err(EX_IOERR, "%s", zdir);
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "snapshot.", 9) == 0 ||
		    strncmp(de->d_name, "log.", 4) == 0)
			any = 1;
	closedir(d);
	return any;
}

static void
fsyncdir(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		err(EX_IOERR, "%s", dir);
	close(fd);
}

/* mkdir -p */
static void
mkdirs(const char *dir)
{
	char	 p[PATH_MAX], *s;

	if (strlcpy(p, dir, sizeof(p)) >= sizeof(p))
		errx(EX_USAGE, "%s: name too long", dir);
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			err(EX_CANTCREAT, "%s", p);
		*s = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "%s", p);
}

static int
cmd_restore(int argc, char *argv[])
{
	struct zksnapinfo	 info;
	const char		*why, *file = argv[1], *dir = argv[2];
	char			 zdir[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
	char			 buf[65536];
	ssize_t			 n;
	int			 in, out;

	if (argc != 3)
		usage();
	if (zksnap_read(file, &info, NULL, NULL, &why) == -1)
		readfail(file, why);
	mkdirs(dir);
	if (zksnap_dir(dir, zdir, sizeof(zdir)) == -1)
		err(EX_CANTCREAT, "%s/zk", dir);
	if (hasdata(zdir))
		errx(EX_CANTCREAT, "%s: holds snapshots or logs already", zdir);
	if ((size_t)snprintf(dst, sizeof(dst), "%s/snapshot.%016" PRIx64,
	    zdir, (uint64_t)info.zxid) >= sizeof(dst) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= sizeof(tmp))
		errx(EX_USAGE, "%s: name too long", dir);
	if ((in = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", file);
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		err(EX_CANTCREAT, "%s", tmp);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			unlink(tmp);
			err(EX_IOERR, "%s", tmp);
		}
	if (n == -1) {
		unlink(tmp);
		err(EX_IOERR, "%s", file);
	}
	if (fsync(out) == -1 || close(out) == -1) {
		unlink(tmp);
		err(EX_IOERR, "%s", tmp);
	}
	close(in);
	if (rename(tmp, dst) == -1)
		err(EX_IOERR, "%s", dst);
	fsyncdir(zdir);
	printf("%s\n", dst);
	return 0;
}

/*
 * autopurge: keep the newest COUNT snapshots and every log segment a
 * kept snapshot may need.  A segment goes only when the next one
 * starts at or before the oldest kept snapshot's zxid + 1.
 */
static int
cmd_purge(int argc, char *argv[])
{
	struct zksnapent	*snaps;
	struct zkseg		*segs;
	const char		*errstr, *logdir;
	char			 zdir[PATH_MAX], ldir[PATH_MAX];
	size_t			 nsnap, nseg, i;
	long long		 keep = 3;
	int			 ch, gone = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "n:")) != -1) {
		switch (ch) {
		case 'n':
			keep = strtonum(optarg, 1, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "count is %s: %s", errstr,
				    optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		usage();
	if (keep < 3) {
		warnx("count %lld raised to 3, as autopurge does", keep);
		keep = 3;
	}
	logdir = argc == 2 ? argv[1] : argv[0];
	if ((size_t)snprintf(zdir, sizeof(zdir), "%s/zk", argv[0]) >=
	    sizeof(zdir) || (size_t)snprintf(ldir, sizeof(ldir), "%s/zk",
	    logdir) >= sizeof(ldir))
		errx(EX_USAGE, "name too long");
	if (access(argv[0], F_OK) == -1)
		err(EX_NOINPUT, "%s", argv[0]);
	if (zksnap_list(zdir, &snaps, &nsnap) == -1)
		err(EX_IOERR, "%s", zdir);
	if (nsnap <= (size_t)keep) {
		free(snaps);
		return 0;
	}
	for (i = 0; i < nsnap - (size_t)keep; i++) {
		if (unlink(snaps[i].path) == -1)
			err(EX_IOERR, "%s", snaps[i].path);
		printf("removed %s\n", snaps[i].path);
		gone++;
	}
	if (zkseg_list(ldir, &segs, &nseg) == -1 && errno != ENOENT)
		err(EX_IOERR, "%s", ldir);
	for (i = 0; i + 1 < nseg; i++) {
		if (segs[i + 1].first > snaps[nsnap - (size_t)keep].zxid + 1)
			break;
		if (unlink(segs[i].path) == -1)
			err(EX_IOERR, "%s", segs[i].path);
		printf("removed %s\n", segs[i].path);
		gone++;
	}
	if (gone) {
		fsyncdir(zdir);
		if (strcmp(zdir, ldir) != 0 && nseg > 0)
			fsyncdir(ldir);
	}
	free(snaps);
	free(segs);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}

/* Ask a running zk-tree for a snapshot; RUNDIR or a dataDir's rundir. */
static int
cmd_take(int argc, char *argv[])
{
	struct zkbuf	 in = { 0 };
	struct zkline	 l = { 0 };
	const char	*file, *e;
	char		 sock[PATH_MAX];
	char		*s;
	size_t		 len;
	ssize_t		 n;
	int		 fd;

	if (argc != 2)
		usage();
	if ((size_t)snprintf(sock, sizeof(sock), "%s/tree.sock", argv[1]) >=
	    sizeof(sock))
		errx(EX_USAGE, "%s: name too long", argv[1]);
	if (access(sock, F_OK) == -1 && (size_t)snprintf(sock, sizeof(sock),
	    "%s/rundir/tree.sock", argv[1]) >= sizeof(sock))
		errx(EX_USAGE, "%s: name too long", argv[1]);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	if ((fd = zk_connect_unix(sock, 0)) == -1)
		err(EX_UNAVAILABLE, "%s", sock);
	if (write(fd, "snapshot\n", 9) != 9)
		err(EX_IOERR, "%s", sock);
	for (;;) {
		if (ZKBUF_LEN(&in) > 0 && zkl_next(&in, &s, &len))
			break;
		if ((n = zkbuf_read(&in, fd)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_IOERR, "%s", sock);
		}
		if (n == 0)
			errx(EX_IOERR, "%s: closed before answering", sock);
	}
	if (zkl_parse(&l, s, len) == -1 || strcmp(l.verb, "snapshot") != 0)
		errx(EX_PROTOCOL, "%s: unexpected answer", sock);
	if ((e = zkl_str(&l, "err")) != NULL)
		errx(EX_IOERR, "snapshot failed: %s", e);
	if ((file = zkl_str(&l, "file")) == NULL)
		errx(EX_PROTOCOL, "%s: answer without file=", sock);
	printf("%s\n", file);
	close(fd);
	zkl_free(&l);
	zkbuf_free(&in);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	argc--;
	argv++;
	if (strcmp(argv[0], "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(argv[0], "cat") == 0)
		return cmd_cat(argc, argv);
	if (strcmp(argv[0], "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(argv[0], "write") == 0)
		return cmd_write(argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return cmd_restore(argc, argv);
	if (strcmp(argv[0], "purge") == 0)
		return cmd_purge(argc, argv);
	if (strcmp(argv[0], "take") == 0)
		return cmd_take(argc, argv);
	if (strcmp(argv[0], "import") == 0) {
		if (argc != 3)
			usage();
		return zkimport(argv[1], argv[2]);
	}
	usage();
}

/* ---- import from Apache ZooKeeper ---- */

/*
 * An Apache ZooKeeper 3.x data directory (version-2/snapshot.<hex>
 * and log.<hex>, the uncompressed "checked" format) becomes a zk one:
 * the newest snapshot a zk snapshot, the txns after it zk-log records
 * that zk-tree applies to the same result.  Everything is written into
 * NEWDIR.import.<pid> and renamed into place at the end, so a failure
 * leaves no NEWDIR behind.  The byte layouts are jute's: big-endian
 * ints and longs, buffers and strings as an int length (-1: null) and
 * the bytes.
 */

#define AP_SNAPMAGIC	0x5a4b534eu	/* "ZKSN" */
#define AP_LOGMAGIC	0x5a4b4c47u	/* "ZKLG" */
#define AP_SECRET	0xB3415C00LL	/* SessionTrackerImpl's superSecret */
#define AP_CONTAINER	INT64_MIN	/* EphemeralType.CONTAINER owner */
#define AP_EXTMASK	((int64_t)0xff00000000000000ULL)
#define AP_TTLMASK	((int64_t)0x0000ffffffffffffULL)

struct apacl {
	int64_t			 id;
	size_t			 n;
	struct jr		 at;		/* the vector's entries */
};

struct apnode {
	const unsigned char	*path, *data;
	int32_t			 plen, dlen;	/* dlen -1: null */
	int64_t			 aclid;
	struct zkstat		 st;
	int32_t			 ctr;
};

struct apfile {
	int64_t			 zxid;
	char			 path[PATH_MAX];
};

struct ttlpath {
	RB_ENTRY(ttlpath)	 entry;
	size_t			 len;
	char			 p[];
};
RB_HEAD(ttltree, ttlpath);

static int	 ttlcmp(struct ttlpath *, struct ttlpath *);
RB_PROTOTYPE(ttltree, ttlpath, entry, ttlcmp)
RB_GENERATE(ttltree, ttlpath, entry, ttlcmp)

static struct ttltree	 ttls = RB_INITIALIZER(&ttls);
static const char	*apin;		/* the Apache file being read */
static char		 stage[PATH_MAX], stagezk[PATH_MAX];
static int		 staging;

static int
ttlcmp(struct ttlpath *a, struct ttlpath *b)
{
	int	 c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	return c != 0 ? c : a->len < b->len ? -1 : a->len > b->len;
}

static void
ttlset(const unsigned char *p, size_t len, int on)
{
	struct ttlpath	*t, *old;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		err(EX_OSERR, NULL);
	t->len = len;
	memcpy(t->p, p, len);
	old = RB_FIND(ttltree, &ttls, t);
	if (on && old == NULL) {
		RB_INSERT(ttltree, &ttls, t);
		return;
	}
	if (!on && old != NULL) {
		RB_REMOVE(ttltree, &ttls, old);
		free(old);
	}
	free(t);
}

static int
ttlhas(const unsigned char *p, size_t len)
{
	struct ttlpath	*t, *f;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		err(EX_OSERR, NULL);
	t->len = len;
	memcpy(t->p, p, len);
	f = RB_FIND(ttltree, &ttls, t);
	free(t);
	return f != NULL;
}

/* On any exit before the end: remove what was staged. */
static void
unstage(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 f[PATH_MAX];

	if (!staging)
		return;
	if ((d = opendir(stagezk)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(f, sizeof(f), "%s/%s", stagezk,
			    de->d_name) < sizeof(f))
				(void)unlink(f);
		}
		closedir(d);
	}
	(void)rmdir(stagezk);
	(void)rmdir(stage);
}

/* java.util.zip.Adler32 */
static uint32_t
adler32(uint32_t a, const unsigned char *p, size_t n)
{
	uint32_t	 s1 = a & 0xffff, s2 = a >> 16;
	size_t		 k;

	while (n > 0) {
		k = n < 5552 ? n : 5552;	/* no overflow before the mod */
		n -= k;
		while (k-- > 0) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

/*
 * The password Apache gives a session: new java.util.Random(id ^
 * superSecret).nextBytes(16), as 32 hex digits.
 */
static void
appasswd(int64_t id, char hex[33])
{
	const uint64_t	 mult = 0x5DEECE66DULL, mask = (1ULL << 48) - 1;
	uint64_t	 seed = ((uint64_t)id ^ (uint64_t)AP_SECRET ^ mult) & mask;
	uint32_t	 r;
	unsigned char	 pw[16];
	int		 i, k;

	for (i = 0; i < 16;) {
		seed = (seed * mult + 0xB) & mask;
		r = (uint32_t)(seed >> 16);		/* next(32) */
		for (k = 0; k < 4 && i < 16; k++, i++) {
			pw[i] = r & 0xff;
			r >>= 8;
		}
	}
	zk_hexenc(hex, pw, sizeof(pw));
}

/*
 * Reading an Apache file: libzk's jute reader over it (jr.base is the
 * file offset of a record's start); its first failure, or a value
 * that makes no sense here, ends the import.
 */
static void __attribute__((noreturn))
apbad(const struct jr *c, const char *why)
{
	errx(EX_DATAERR, "%s: %s at offset %zu", apin, why, jr_off(c));
}

static void
apok(const struct jr *c)
{
	if (c->bad)
		errx(EX_DATAERR, "%s: %s at offset %zu", apin, c->why != NULL ?
		    c->why : "bad record", c->at);
}

static int32_t
apint(struct jr *c)
{
	int32_t	 v = jr_int(c);

	apok(c);
	return v;
}

static int64_t
aplong(struct jr *c)
{
	int64_t	 v = jr_long(c);

	apok(c);
	return v;
}

/* A buffer or string: its bytes ("" if none), *len -1 for null. */
static const unsigned char *
apbuf(struct jr *c, int32_t *len)
{
	const char	*p;

	*len = jr_buf(c, &p);
	apok(c);
	return *len <= 0 ? (const unsigned char *)"" :
	    (const unsigned char *)p;
}

static void
apmap(const char *path, struct jr *c)
{
	struct stat	 sb;
	void		*m;
	int		 fd;

	apin = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(errno == ENOENT || errno == EACCES ? EX_NOINPUT :
		    EX_IOERR, "%s", path);
	if (fstat(fd, &sb) == -1)
		err(EX_IOERR, "%s", path);
	if (sb.st_size > 0) {
		if ((m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0)) == MAP_FAILED)
			err(EX_IOERR, "%s: mmap", path);
		jr_init(c, m, (size_t)sb.st_size);
	} else
		jr_init(c, "", 0);
	close(fd);
}

/* FileHeader: the magic, version 2, the dbid */
static void
apheader(struct jr *c, uint32_t magic, const char *notit, const char *badver)
{
	if (c->end - c->start < 16 || (uint32_t)apint(c) != magic) {
		c->p = c->start;
		apbad(c, notit);
	}
	if (apint(c) != 2) {
		c->p -= 4;
		apbad(c, badver);
	}
	(void)aplong(c);			/* dbid */
}

static void
apunmap(struct jr *c)
{
	size_t	 len = (size_t)(c->end - c->start);

	if (len > 0 && munmap((void *)(uintptr_t)c->start, len) == -1)
		err(EX_OSERR, "%s: munmap", apin);
}

/* n entries of jute's ACL vector at c as acl= fields */
static void
putacls(struct zkbuf *b, struct jr *c, int32_t n)
{
	struct zkbuf		 ace = { 0 };
	const unsigned char	*s, *id;
	int32_t			 perms, sl, il, i;

	for (i = 0; i < n; i++) {
		perms = apint(c);
		s = apbuf(c, &sl);
		id = apbuf(c, &il);
		if (sl < 0 || il < 0)
			apbad(c, "null ACL id");
		zkbuf_reset(&ace);
		zkbuf_printf(&ace, "%d:", perms);
		zkbuf_add(&ace, s, (size_t)sl);
		zkbuf_addc(&ace, ':');
		zkbuf_add(&ace, id, (size_t)il);
		if (ace.err)
			errc(EX_OSERR, ace.err, NULL);
		zkl_put(b, "acl", ace.p, ace.len);
	}
	zkbuf_free(&ace);
}

/* A txn's ACL vector: -1 when it holds a scheme zk-tree refuses. */
static int
txnacls(struct zkbuf *b, struct jr *c)
{
	const unsigned char *start = c->p;
	int32_t		 n, i, perms, sl, il;
	const unsigned char *s;

	if ((n = apint(c)) < 0)
		apbad(c, "null ACL");
	for (i = 0; i < n; i++) {
		perms = apint(c);
		s = apbuf(c, &sl);
		(void)apbuf(c, &il);
		(void)perms;
		if (!(sl == 5 && memcmp(s, "world", 5) == 0) &&
		    !(sl == 6 && memcmp(s, "digest", 6) == 0) &&
		    !(sl == 2 && memcmp(s, "ip", 2) == 0))
			return -1;
	}
	c->p = start + 4;
	putacls(b, c, n);
	return 0;
}

/* Checks a seal: the Adler32 of everything before it, then "/". */
static void
apseal(struct jr *c, uint32_t *sum, size_t *summed)
{
	const unsigned char	*s;
	int64_t			 val;
	int32_t			 sl;

	*sum = adler32(*sum, c->start + *summed, jr_off(c) - *summed);
	val = aplong(c);
	if ((uint64_t)val != *sum) {
		c->p -= 8;
		apbad(c, "Adler32 checksum mismatch");
	}
	s = apbuf(c, &sl);
	if (sl != 1 || s[0] != '/')
		apbad(c, "bad seal");
	*summed = jr_off(c);
	*sum = adler32(*sum, c->p - 13, 13);
}

static int
apfilecmp(const void *a, const void *b)
{
	const struct apfile	*x = a, *y = b;

	return x->zxid < y->zxid ? -1 : x->zxid > y->zxid;
}

/* version-2/PREFIX<hex zxid> files, oldest first */
static struct apfile *
apfiles(const char *dir, const char *prefix, size_t *n)
{
	struct apfile	*v = NULL, *nv;
	struct dirent	*de;
	DIR		*d;
	size_t		 cap = 0, pl = strlen(prefix);
	char		*end;
	uint64_t	 z;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		err(errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT :
		    EX_IOERR, "%s", dir);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0 ||
		    de->d_name[pl] == '\0')
			continue;
		errno = 0;
		z = strtoull(de->d_name + pl, &end, 16);
		if (errno != 0 || z > INT64_MAX || !isxdigit((unsigned char)
		    de->d_name[pl]))
			continue;
		if (*end != '\0') {
			warnx("%s/%s: not an uncompressed Apache file, skipped",
			    dir, de->d_name);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				err(EX_OSERR, NULL);
			v = nv;
		}
		v[*n].zxid = (int64_t)z;
		if ((size_t)snprintf(v[*n].path, sizeof(v[*n].path), "%s/%s",
		    dir, de->d_name) >= sizeof(v[*n].path))
			errx(EX_USAGE, "%s: name too long", dir);
		(*n)++;
	}
	if (errno != 0)
		err(EX_IOERR, "%s", dir);
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), apfilecmp);
	return v;
}

static int
aclidcmp(const void *a, const void *b)
{
	const struct apacl	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
sidcmp(const void *a, const void *b)
{
	const int64_t	*x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static void
snapflush(struct zksnapw *w, struct zkbuf *b, int all)
{
	if (b->err)
		errc(EX_OSERR, b->err, NULL);
	if (ZKBUF_LEN(b) < (all ? 1 : 65536))
		return;
	if (zksnap_write(w, ZKBUF_DATA(b), ZKBUF_LEN(b)) == -1)
		err(EX_IOERR, "%s", w->tmp);
	zkbuf_reset(b);
}

/*
 * An Apache snapshot (FileSnap: header, sessions, the ACL cache, the
 * nodes parents first up to a "/" path, Adler32 seals) becomes
 * stage/zk/snapshot.<zxid>.
 */
static void
impsnap(const char *file, int64_t zxid)
{
	struct jr	 c, ac;
	struct apacl	*acls = NULL;
	struct apnode	*nodes = NULL, *n;
	struct zksnapw	 w;
	struct zkbuf	 b = { 0 };
	struct stat	 sb;
	struct zkstat	 st;
	const unsigned char *pp;
	struct apacl	 key, *a;
	int64_t		*sids = NULL, owner, *extra = NULL;
	size_t		*stack = NULL, nacl, nn = 0, cap = 0, sp = 0, i, k;
	size_t		 nsess, nextra = 0, summed = 0, sessat;
	uint32_t	 sum = 1;
	int32_t		 cnt, len, dver;
	char		 pw[33];

	apmap(file, &c);
	apheader(&c, AP_SNAPMAGIC, "not an Apache snapshot", "unknown snapshot version");
	if ((cnt = apint(&c)) < 0 ||
	    (size_t)cnt > (size_t)(c.end - c.start) / 12)
		apbad(&c, "bad session count");
	nsess = (size_t)cnt;
	sessat = jr_off(&c);
	if ((sids = calloc(nsess + 1, sizeof(*sids))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nsess; i++) {
		sids[i] = aplong(&c);
		(void)apint(&c);		/* the timeout: below */
	}
	if ((cnt = apint(&c)) < 0 ||
	    (size_t)cnt > (size_t)(c.end - c.start) / 12)
		apbad(&c, "bad ACL count");
	nacl = (size_t)cnt;
	if ((acls = calloc(nacl + 1, sizeof(*acls))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nacl; i++) {
		acls[i].id = aplong(&c);
		acls[i].at = c;
		if ((cnt = apint(&c)) < -1)
			apbad(&c, "bad ACL length");
		acls[i].n = cnt < 0 ? 0 : (size_t)cnt;
		for (k = 0; k < acls[i].n; k++) {
			(void)apint(&c);
			(void)apbuf(&c, &len);
			(void)apbuf(&c, &len);
		}
	}
	for (;;) {
		pp = apbuf(&c, &len);
		if (len < 0)
			apbad(&c, "null path");
		if (len == 1 && pp[0] == '/')
			break;
		if (nn == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((n = reallocarray(nodes, cap, sizeof(*n))) == NULL)
				err(EX_OSERR, NULL);
			nodes = n;
		}
		n = &nodes[nn++];
		memset(n, 0, sizeof(*n));
		n->path = pp;
		n->plen = len;
		n->data = apbuf(&c, &n->dlen);
		n->aclid = aplong(&c);
		n->st.czxid = aplong(&c);
		n->st.mzxid = aplong(&c);
		n->st.ctime = aplong(&c);
		n->st.mtime = aplong(&c);
		n->st.version = apint(&c);
		n->ctr = apint(&c);	/* the persisted cversion: creates */
		n->st.aversion = apint(&c);
		n->st.ephemeralOwner = aplong(&c);
		n->st.pzxid = aplong(&c);
		if ((nn == 1) != (len == 0) || (len > 0 && pp[0] != '/')) {
			c.p -= (size_t)len + 72;
			apbad(&c, "bad path");
		}
	}
	apseal(&c, &sum, &summed);
	if (c.p < c.end) {			/* 3.6+: the tree digest */
		(void)aplong(&c);
		if ((dver = apint(&c)) < 2)
			(void)apbuf(&c, &len);
		else
			(void)aplong(&c);
		apseal(&c, &sum, &summed);
	}
	if (c.p < c.end) {			/* the last processed zxid */
		(void)aplong(&c);
		apseal(&c, &sum, &summed);
	}
	if (c.p < c.end)
		apbad(&c, "bytes after the last seal");
	if (nn == 0)
		apbad(&c, "no root node");
	for (i = 0; i < nn; i++)
		if (nodes[i].st.mzxid > zxid || nodes[i].st.pzxid > zxid ||
		    nodes[i].st.czxid > zxid) {
			warnx("%s: fuzzy: the tree holds txns after 0x%" PRIx64
			    " (Apache took it while writes went on); the log "
			    "replays them again, safely only for creates, "
			    "deletes and versioned changes", file,
			    (uint64_t)zxid);
			break;
		}

	/* numChildren: the nodes come depth first, parents first */
	if ((stack = calloc(nn, sizeof(*stack))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < nn; i++) {
		n = &nodes[i];
		if (i > 0) {
			pp = memrchr(n->path, '/', (size_t)n->plen);
			len = (int32_t)(pp - n->path);
			while (sp > 0 && (nodes[stack[sp - 1]].plen != len ||
			    memcmp(nodes[stack[sp - 1]].path, n->path,
			    (size_t)len) != 0))
				sp--;
			if (sp == 0)
				errx(EX_DATAERR, "%s: %.*s: parent missing "
				    "or out of order", file, (int)n->plen,
				    n->path);
			nodes[stack[sp - 1]].st.numChildren++;
		}
		stack[sp++] = i;
	}
	free(stack);

	qsort(sids, nsess, sizeof(*sids), sidcmp);
	qsort(acls, nacl, sizeof(*acls), aclidcmp);
	if (stat(file, &sb) == -1)
		err(EX_IOERR, "%s", file);
	if (zksnap_wopen(&w, stage, zxid) == -1)
		err(EX_CANTCREAT, "%s", stage);
	zkbuf_printf(&b, "# zk-snap 1 zxid=0x%" PRIx64 " time=%" PRId64
	    "\n", (uint64_t)zxid, (int64_t)sb.st_mtime * 1000);
	zkbuf_printf(&b, "# imported from %s\n", file);
	for (i = 0; i < nn; i++) {
		n = &nodes[i];
		owner = n->st.ephemeralOwner;
		st = n->st;
		st.ephemeralOwner = 0;
		zkl_begin(&b, "node");
		zkl_put(&b, "path", n->plen ? (const char *)n->path : "/",
		    n->plen ? (size_t)n->plen : 1);
		if (n->dlen >= 0)
			zkl_put(&b, "data", n->data, (size_t)n->dlen);
		if (n->aclid == -1)
			zkl_puts(&b, "acl", "31:world:anyone");
		else {
			key.id = n->aclid;
			if ((a = bsearch(&key, acls, nacl, sizeof(*acls),
			    aclidcmp)) == NULL)
				errx(EX_DATAERR, "%s: %.*s: ACL %" PRId64
				    " not in the ACL cache", file,
				    (int)n->plen, n->path, n->aclid);
			ac = a->at;
			putacls(&b, &ac, apint(&ac));
		}
		st.dataLength = n->dlen < 0 ? 0 : n->dlen;
		st.cversion = 2 * n->ctr - st.numChildren;
		if (owner != 0 && owner != AP_CONTAINER &&
		    (owner & AP_EXTMASK) != AP_EXTMASK)
			st.ephemeralOwner = owner;
		zkl_putstat(&b, "stat", &st);
		if (owner == AP_CONTAINER)
			zkl_putd(&b, "container", 1);
		else if ((owner & AP_EXTMASK) == AP_EXTMASK) {
			zkl_putd(&b, "ttl", owner & AP_TTLMASK);
			ttlset(n->path, (size_t)n->plen, 1);
		}
		zkl_putd(&b, "ctr", n->ctr);
		zkl_end(&b);
		if (st.ephemeralOwner != 0 && bsearch(&owner, sids, nsess,
		    sizeof(*sids), sidcmp) == NULL) {
			for (k = 0; k < nextra && extra[k] != owner; k++)
				;
			if (k == nextra) {
				if ((extra = reallocarray(extra, nextra + 1,
				    sizeof(*extra))) == NULL)
					err(EX_OSERR, NULL);
				extra[nextra++] = owner;
			}
		}
		snapflush(&w, &b, 0);
	}
	free(sids);
	/* the session table again, in file order, for the timeouts */
	c.p = c.start + sessat;
	for (i = 0; i < nsess; i++) {
		owner = aplong(&c);
		len = apint(&c);
		appasswd(owner, pw);
		zkl_begin(&b, "session");
		zkl_putx(&b, "session", owner);
		zkl_putd(&b, "timeout", len);
		zkl_puts(&b, "passwd", pw);
		zkl_end(&b);
	}
	for (k = 0; k < nextra; k++) {
		warnx("%s: session 0x%" PRIx64 " owns ephemerals but is not "
		    "in the session table: added with a timeout of 30000",
		    file, (uint64_t)extra[k]);
		appasswd(extra[k], pw);
		zkl_begin(&b, "session");
		zkl_putx(&b, "session", extra[k]);
		zkl_putd(&b, "timeout", 30000);
		zkl_puts(&b, "passwd", pw);
		zkl_end(&b);
	}
	zkbuf_printf(&b, "end nodes=%zu sessions=%zu\n", nn, nsess + nextra);
	snapflush(&w, &b, 1);
	if (zksnap_commit(&w) == -1)
		err(EX_IOERR, "%s", w.path);
	printf("snapshot.%016" PRIx64 " nodes=%zu sessions=%zu from %s\n",
	    (uint64_t)zxid, nn, nsess + nextra, file);
	zkbuf_free(&b);
	free(extra);
	free(nodes);
	free(acls);
	apunmap(&c);
}

struct apout {
	struct zklog	 log;		/* stage/zk */
	int64_t		 first, next, n, noops;
	int64_t		 chunk;		/* zxid of the first record in rec */
	struct zkbuf	 rec, f, sf;
};

/*
 * One txn (or a multi's sub-txn) at t as a zk verb and its fields in
 * o->f; NULL when zk-tree cannot express it.
 */
static const char *
txnfields(struct apout *o, struct zkbuf *f, struct jr *t, int type)
{
	const unsigned char	*p, *d;
	const char		*verb;
	int32_t			 pl, dl, v;
	int64_t			 ttl;

	switch (type) {
	case ZOP_CREATE:
	case ZOP_CREATE2:
	case ZOP_CREATECONTAINER:
	case ZOP_CREATETTL:
		p = apbuf(t, &pl);
		d = apbuf(t, &dl);
		if (pl <= 0)
			apbad(t, "create without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (dl >= 0)
			zkl_put(f, "data", d, (size_t)dl);
		if (txnacls(f, t) == -1) {
			warnx("0x%" PRIx64 ": create %.*s with an ACL scheme "
			    "zk does not know: written as a no-op",
			    (uint64_t)o->next, (int)pl, p);
			return NULL;
		}
		if (type == ZOP_CREATETTL) {
			(void)apint(t);			/* parentCVersion */
			ttl = aplong(t);
			zkl_putd(f, "flags", 5);
			zkl_putd(f, "ttl", ttl);
			ttlset(p, (size_t)pl, 1);
			return "createTTL";
		}
		if (type == ZOP_CREATECONTAINER) {
			zkl_putd(f, "flags", 4);
			return "createContainer";
		}
		v = jr_bool(t);			/* ephemeral */
		apok(t);
		zkl_putd(f, "flags", v);
		return "create";
	case ZOP_DELETE:
	case ZOP_DELETECONTAINER:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "delete without a path");
		zkl_put(f, "path", p, (size_t)pl);
		verb = type == ZOP_DELETE ? "delete" : ttlhas(p, (size_t)pl) ?
		    "deleteTTL" : "deleteContainer";
		if (type == ZOP_DELETE)
			zkl_putd(f, "version", -1);
		ttlset(p, (size_t)pl, 0);
		return verb;
	case ZOP_SETDATA:
		p = apbuf(t, &pl);
		d = apbuf(t, &dl);
		v = apint(t);	/* the version after it (checkAndIncVersion) */
		if (pl <= 0)
			apbad(t, "setData without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (dl >= 0)
			zkl_put(f, "data", d, (size_t)dl);
		zkl_putd(f, "version", v - 1);
		return "setData";
	case ZOP_SETACL:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "setACL without a path");
		zkl_put(f, "path", p, (size_t)pl);
		if (txnacls(f, t) == -1) {
			warnx("0x%" PRIx64 ": setACL %.*s with an ACL scheme "
			    "zk does not know: written as a no-op",
			    (uint64_t)o->next, (int)pl, p);
			return NULL;
		}
		zkl_putd(f, "version", apint(t) - 1);
		return "setACL";
	case ZOP_CHECK:
		p = apbuf(t, &pl);
		if (pl <= 0)
			apbad(t, "check without a path");
		zkl_put(f, "path", p, (size_t)pl);
		zkl_putd(f, "version", apint(t) - 1);	/* as setData's */
		return "check";
	}
	return NULL;
}

/* A MultiTxn's sub-txns as op= fields; NULL for a failed multi. */
static const char *
multifields(struct apout *o, struct jr *t)
{
	struct jr	 sub;
	const unsigned char *p;
	const char	*verb;
	int32_t		 n, i, type, len;

	if ((n = apint(t)) < 0)
		apbad(t, "bad multi");
	for (i = 0; i < n; i++) {
		type = apint(t);
		p = apbuf(t, &len);
		jr_init(&sub, p, len < 0 ? 0 : (size_t)len);
		sub.base = jr_off(t) - (size_t)(sub.end - sub.start);
		if (type == ZOP_ERROR)
			return NULL;	/* Apache failed it: all or nothing */
		zkbuf_reset(&o->sf);
		if ((verb = txnfields(o, &o->sf, &sub, type)) == NULL ||
		    strcmp(verb, "deleteTTL") == 0 ||
		    strcmp(verb, "deleteContainer") == 0) {
			warnx("0x%" PRIx64 ": multi with an op zk cannot "
			    "express (type %d): written as a no-op",
			    (uint64_t)o->next, type);
			return NULL;
		}
		zkl_puts(&o->f, "op", verb);
		zkbuf_add(&o->f, o->sf.p, o->sf.len);
	}
	return "multi";
}

static void
outwrite(struct apout *o, int all)
{
	const char	*p = ZKBUF_DATA(&o->rec);
	size_t		 n = ZKBUF_LEN(&o->rec);

	if (o->rec.err)
		errc(EX_OSERR, o->rec.err, NULL);
	if (n < (all ? 1 : 1 << 20))
		return;
	if (zklog_append(&o->log, p, n, o->chunk, o->next - 1) == -1)
		err(EX_IOERR, "%s", o->log.fd != -1 ? o->log.path : stagezk);
	zkbuf_reset(&o->rec);
}

/* One Apache txn (header fields, body at t) as a zk-log record. */
static void
imptxn(struct apout *o, struct jr *t, int64_t session, int64_t time,
    int type)
{
	const char	*verb = NULL;
	unsigned char	 hdr[ZKSEG_HDRLEN];
	size_t		 start, len;
	char		 pw[33];

	zkbuf_reset(&o->f);
	switch (type) {
	case ZOP_CREATESESSION:
		verb = "createSession";
		zkl_putd(&o->f, "timeout", apint(t));
		appasswd(session, pw);
		zkl_puts(&o->f, "passwd", pw);
		break;
	case ZOP_CLOSESESSION:
		verb = "closeSession";
		break;
	case ZOP_MULTI:
		verb = multifields(o, t);
		break;
	case ZOP_ERROR:
		break;
	default:
		if ((verb = txnfields(o, &o->f, t, type)) == NULL)
			warnx("0x%" PRIx64 ": txn type %d zk cannot express: "
			    "written as a no-op", (uint64_t)o->next, type);
	}
	if (verb == NULL) {
		/* a check that changes nothing keeps the zxids dense */
		verb = "check";
		zkbuf_reset(&o->f);
		zkl_puts(&o->f, "path", "/");
		zkl_putd(&o->f, "version", -1);
		o->noops++;
	}
	if (ZKBUF_LEN(&o->rec) == 0)
		o->chunk = o->next;
	start = o->rec.len;
	zkbuf_add(&o->rec, hdr, sizeof(hdr));
	zkl_begin(&o->rec, verb);
	zkl_putx(&o->rec, "zxid", o->next);
	zkl_putd(&o->rec, "time", time);
	zkl_putx(&o->rec, "session", session);
	if (type != ZOP_CREATESESSION && type != ZOP_CLOSESESSION)
		zkl_puts(&o->rec, "auth", "super:");
	zkbuf_add(&o->rec, o->f.p, o->f.len);
	zkl_end(&o->rec);
	if (o->rec.err || o->f.err)
		errc(EX_OSERR, ENOMEM, NULL);
	len = o->rec.len - start - sizeof(hdr);
	zkseg_header(o->rec.p + start, o->rec.p + start + sizeof(hdr), len);
	o->n++;
	o->next++;
	outwrite(o, 0);
}

/*
 * One Apache log (FileTxnLog: a header, then records of an Adler32, a
 * length, the txn and a 'B'; preallocated zeros end it): the txns after
 * o->next - 1 go to stage/zk/log.<first>.  A record cut short at the
 * end of the last log is a crash's torn tail, as Apache treats it.
 */
static void
implog(struct apout *o, const char *file, int last)
{
	struct jr	 c, t;
	int64_t		 session, zxid, time, crc;
	int32_t		 len, type;
	size_t		 at;

	apmap(file, &c);
	apheader(&c, AP_LOGMAGIC, "not an Apache transaction log", "unknown log version");
	while (c.p < c.end) {
		at = jr_off(&c);
		if (c.end - c.p >= 12) {
			crc = aplong(&c);
			len = apint(&c);
			if (len == 0)
				break;		/* preallocated: the end */
		} else
			len = -1;
		if (len < 0 || (size_t)len >= (size_t)(c.end - c.p) ||
		    c.p[len] != 'B') {
			c.p = c.start + at;
			if (!last)
				apbad(&c, "truncated record");
			warnx("%s: torn record at offset %zu: the log ends "
			    "there, as for Apache", file, at);
			break;
		}
		if (adler32(1, c.p, (size_t)len) != (uint64_t)crc) {
			c.p = c.start + at;
			apbad(&c, "Adler32 checksum mismatch");
		}
		jr_init(&t, c.p, (size_t)len);
		t.base = jr_off(&c);
		c.p += (size_t)len + 1;
		session = aplong(&t);
		(void)apint(&t);			/* cxid */
		zxid = aplong(&t);
		time = aplong(&t);
		type = apint(&t);
		if (zxid < o->next)
			continue;		/* in the snapshot */
		if (zxid != o->next) {
			c.p = c.start + at;
			errx(EX_DATAERR, "%s: zxid 0x%" PRIx64 " at offset %zu "
			    "where 0x%" PRIx64 " was due: zxids are missing "
			    "(zk's log has no holes)", file, (uint64_t)zxid,
			    at, (uint64_t)o->next);
		}
		if (o->n == 0)
			o->first = zxid;
		imptxn(o, &t, session, time, type);
	}
	apunmap(&c);
}

static int
emptydir(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 empty = 1;

	if ((d = opendir(dir)) == NULL)
		err(EX_CANTCREAT, "%s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* The version-2 directory: SRC/version-2, or SRC itself. */
static void
apdir(const char *src, char *v2, size_t len)
{
	struct stat	 sb;

	if (stat(src, &sb) == -1)
		err(EX_NOINPUT, "%s", src);
	if (!S_ISDIR(sb.st_mode))
		errx(EX_NOINPUT, "%s: not a directory", src);
	if ((size_t)snprintf(v2, len, "%s/version-2", src) >= len)
		errx(EX_USAGE, "%s: name too long", src);
	if (stat(v2, &sb) == 0 && S_ISDIR(sb.st_mode))
		return;
	if (strlcpy(v2, src, len) >= len)
		errx(EX_USAGE, "%s: name too long", src);
}

static int
zkimport(const char *src, const char *dst)
{
	struct apfile	*snaps, *logs;
	struct apout	 o;
	struct stat	 sb;
	char		 v2[PATH_MAX], parent[PATH_MAX], *s;
	size_t		 nsnap, nlog, i, first;
	int64_t		 zxid = 0;
	int		 fd;

	apdir(src, v2, sizeof(v2));
	snaps = apfiles(v2, "snapshot.", &nsnap);
	logs = apfiles(v2, "log.", &nlog);
	if (nsnap == 0 && nlog == 0)
		errx(EX_NOINPUT, "%s: no Apache snapshot or log", v2);
	if (lstat(dst, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode) || !emptydir(dst))
			errx(EX_CANTCREAT, "%s: exists and is not an empty "
			    "directory", dst);
		/* an empty NEWDIR: the staged one takes its place */
	} else if (errno != ENOENT)
		err(EX_CANTCREAT, "%s", dst);
	if (strlcpy(parent, dst, sizeof(parent)) >= sizeof(parent))
		errx(EX_USAGE, "%s: name too long", dst);
	while ((s = strrchr(parent, '/')) != NULL && s[1] == '\0' && s > parent)
		*s = '\0';			/* trailing slashes */
	if ((size_t)snprintf(stage, sizeof(stage), "%s.import.%d", parent,
	    (int)getpid()) >= sizeof(stage) ||
	    (size_t)snprintf(stagezk, sizeof(stagezk), "%s/zk", stage) >=
	    sizeof(stagezk))
		errx(EX_USAGE, "%s: name too long", dst);
	if ((s = strrchr(parent, '/')) == NULL)
		strlcpy(parent, ".", sizeof(parent));
	else if (s == parent)
		parent[1] = '\0';
	else {
		*s = '\0';
		mkdirs(parent);
	}
	if (atexit(unstage) != 0)
		errx(EX_OSERR, "atexit");
	if (mkdir(stage, 0755) == -1)
		err(EX_CANTCREAT, "%s", stage);
	staging = 1;
	if (mkdir(stagezk, 0755) == -1)
		err(EX_CANTCREAT, "%s", stagezk);

	if (nsnap > 0) {
		zxid = snaps[nsnap - 1].zxid;
		impsnap(snaps[nsnap - 1].path, zxid);
	}
	memset(&o, 0, sizeof(o));
	if (zklog_open(&o.log, stagezk, 0) == -1)
		err(EX_CANTCREAT, "%s", stagezk);
	o.next = zxid + 1;
	/* from the newest log that starts at or before the snapshot */
	for (first = 0, i = 0; i < nlog; i++)
		if (logs[i].zxid <= zxid + 1)
			first = i;
	for (i = first; i < nlog; i++)
		implog(&o, logs[i].path, i == nlog - 1);
	if (o.n > 0) {
		outwrite(&o, 1);	/* fdatasync'd, its name too */
		printf("log.%016" PRIx64 " txns=%" PRId64 " last=0x%"
		    PRIx64 " noops=%" PRId64 "\n", (uint64_t)o.first,
		    o.n, (uint64_t)(o.next - 1), o.noops);
	} else if (nsnap == 0)
		errx(EX_NOINPUT, "%s: no Apache snapshot and no txns", v2);
	zklog_close(&o.log);
	fsyncdir(stagezk);
	if (rmdir(dst) == -1 && errno != ENOENT)
		err(EX_CANTCREAT, "%s", dst);
	if (rename(stage, dst) == -1)
		err(EX_CANTCREAT, "%s", dst);
	staging = 0;
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		err(EX_IOERR, "%s", parent);
	close(fd);
	zkbuf_free(&o.rec);
	zkbuf_free(&o.f);
	zkbuf_free(&o.sf);
	free(snaps);
	free(logs);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}
