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
#include "snap.h"

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
	    "       %s import [-l apache-datalogdir] apache-datadir newdir\n",
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
	size_t		 maxline = ZKSNAP_MAXLINE;

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
			if (len > maxline)
				break;
			if (!open) {
				if ((cp = strndup(s, len)) == NULL)
					err(EX_OSERR, NULL);
				if (strncmp(cp, "# zk-snap 1 ", 12) != 0 ||
				    zkl_parse(&l, cp + 10, len - 10) == -1 ||
				    zkl_int(&l, "zxid", &zxid) == -1)
					errx(EX_DATAERR, "stdin: no header line");
				if ((maxline = zksnap_hdrmax(s)) == 0)
					errx(EX_DATAERR, "stdin: bad maxline in "
					    "the header");
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
		/* what a reader would refuse is not written */
		if (ZKBUF_LEN(&in) > maxline) {
			if (open)
				zksnap_abort(&w);
			errx(EX_DATAERR, "stdin: a line longer than %zu bytes",
			    maxline);
		}
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

void
fsyncdir(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		err(EX_IOERR, "%s", dir);
	close(fd);
}

/* mkdir -p */
void
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
		const char	*logdir = NULL;

		if (argc >= 3 && strcmp(argv[1], "-l") == 0) {
			logdir = argv[2];
			argc -= 2;
			argv += 2;
		}
		if (argc != 3)
			usage();
		return zkimport(argv[1], logdir, argv[2]);
	}
	usage();
}
