/*
 * snap.c: snapshot files, shared by zk-tree and zk-snap (zk-snap(1)).
 *
 * A snapshot is DIR/zk/snapshot.<16 hex digits of its zxid>: one zstd
 * frame, content checksum on, holding lines
 *
 *	# zk-snap 1 zxid=0x.. time=..
 *	node path=/ ...				parents before children
 *	session session=0x.. timeout=.. passwd=..
 *	end nodes=N sessions=N
 *
 * It is written to name.tmp, fsynced, renamed and the directory
 * fsynced, so a crash leaves the old file set or the new one.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "zk.h"

/* DIR/zk, created if need be; -1 with errno. */
int
zksnap_dir(const char *dir, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/zk", dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(out, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* The zxid in a snapshot file name, or -1 when it is not one. */
int64_t
zksnap_namezxid(const char *name)
{
	const char	*p;
	int64_t		 z = 0;
	int		 i;

	if ((p = strrchr(name, '/')) != NULL)
		name = p + 1;
	if (strncmp(name, "snapshot.", 9) != 0 || strlen(name) != 9 + 16)
		return -1;
	for (i = 0, p = name + 9; i < 16; i++, p++) {
		int c = (unsigned char)*p;

		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else
			return -1;
		z = (int64_t)((uint64_t)z << 4 | (uint64_t)c);
	}
	return z;
}

static int
zxidcmp(const void *a, const void *b)
{
	const struct zksnapent	*x = a, *y = b;

	return x->zxid < y->zxid ? -1 : x->zxid > y->zxid;
}

/*
 * The snapshots in DIR/zk (or in DIR itself when prefix is "" and
 * DIR holds them), oldest first; *n of them in a malloc'ed array.
 * A missing DIR/zk is no snapshot at all.
 */
int
zksnap_list(const char *dir, struct zksnapent **out, size_t *n)
{
	struct zksnapent	*v = NULL, *nv;
	struct dirent		*de;
	DIR			*d;
	size_t			 cap = 0;
	int64_t			 z;
	int			 saved;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if ((z = zksnap_namezxid(de->d_name)) == -1)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		v[*n].zxid = z;
		if ((size_t)snprintf(v[*n].path, sizeof(v[*n].path), "%s/%s",
		    dir, de->d_name) >= sizeof(v[*n].path)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		(*n)++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), zxidcmp);
	*out = v;
	return 0;
fail:
	saved = errno;
	closedir(d);
	free(v);
	*n = 0;
	errno = saved;
	return -1;
}

/* ---- writing ---- */

static int
writeall(int fd, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create DIR/zk/snapshot.<zxid>.tmp for writing. */
int
zksnap_wopen(struct zksnapw *w, const char *dir, int64_t zxid)
{
	char	 zdir[PATH_MAX];
	size_t	 r;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (zksnap_dir(dir, zdir, sizeof(zdir)) == -1)
		return -1;
	if ((size_t)snprintf(w->path, sizeof(w->path), "%s/snapshot.%016"
	    PRIx64, zdir, (uint64_t)zxid) >= sizeof(w->path) ||
	    (size_t)snprintf(w->tmp, sizeof(w->tmp), "%s.%d.tmp", w->path,
	    (int)getpid()) >=
	    sizeof(w->tmp) ||
	    (size_t)snprintf(w->dir, sizeof(w->dir), "%s", zdir) >=
	    sizeof(w->dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((w->cs = ZSTD_createCStream()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	r = ZSTD_CCtx_setParameter(w->cs, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(w->cs, ZSTD_c_compressionLevel, 3);
	if (ZSTD_isError(r)) {
		ZSTD_freeCStream(w->cs);
		w->cs = NULL;
		errno = EINVAL;
		return -1;
	}
	w->outcap = ZSTD_CStreamOutSize();
	if ((w->out = malloc(w->outcap)) == NULL) {
		ZSTD_freeCStream(w->cs);
		w->cs = NULL;
		return -1;
	}
	if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		free(w->out);
		ZSTD_freeCStream(w->cs);
		w->cs = NULL;
		return -1;
	}
	return 0;
}

static int
wpump(struct zksnapw *w, const void *p, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer	 in = { p, n, 0 };
	ZSTD_outBuffer	 out;
	size_t		 left;

	do {
		out.dst = w->out;
		out.size = w->outcap;
		out.pos = 0;
		left = ZSTD_compressStream2(w->cs, &out, &in, end);
		if (ZSTD_isError(left)) {
			errno = EIO;
			return -1;
		}
		if (writeall(w->fd, w->out, out.pos) == -1)
			return -1;
		w->written += out.pos;
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/* Compress n bytes of lines into the snapshot. */
int
zksnap_write(struct zksnapw *w, const void *p, size_t n)
{
	return wpump(w, p, n, ZSTD_e_continue);
}

static void
wfree(struct zksnapw *w)
{
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	free(w->out);
	w->out = NULL;
	ZSTD_freeCStream(w->cs);
	w->cs = NULL;
}

/* End the frame, fsync, rename into place, fsync the directory. */
int
zksnap_commit(struct zksnapw *w)
{
	int	 dfd, saved;

	if (wpump(w, "", 0, ZSTD_e_end) == -1 || fsync(w->fd) == -1)
		goto fail;
	if (close(w->fd) == -1) {
		w->fd = -1;
		goto fail;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) == -1)
		goto fail;
	if ((dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	if (fsync(dfd) == -1) {
		saved = errno;
		close(dfd);
		errno = saved;
		goto fail;
	}
	close(dfd);
	wfree(w);
	return 0;
fail:
	saved = errno;
	wfree(w);
	unlink(w->tmp);
	errno = saved;
	return -1;
}

void
zksnap_abort(struct zksnapw *w)
{
	int	 saved = errno;

	wfree(w);
	unlink(w->tmp);
	errno = saved;
}

/* ---- reading ---- */

int
zksnap_ropen(struct zksnapr *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r->incap = ZSTD_DStreamInSize();
	if ((r->in = malloc(r->incap)) == NULL ||
	    (r->ds = ZSTD_createDStream()) == NULL) {
		free(r->in);
		close(r->fd);
		errno = ENOMEM;
		return -1;
	}
	r->last = 1;		/* nothing read: not inside a frame yet */
	r->maxline = ZKSNAP_MAXLINE;
	return 0;
}

/*
 * The longest line a snapshot whose header line is hdr may hold: its
 * maxline= when that is more than ZKSNAP_MAXLINE, else that; 0 for a
 * maxline= that is no number or above ZKSNAP_MAXLINEMAX.
 */
size_t
zksnap_hdrmax(const char *hdr)
{
	const char	*p = strstr(hdr, " maxline="), *end;
	int64_t		 v;

	if (p == NULL)
		return ZKSNAP_MAXLINE;
	if (zkl_number(p + 9, &end, &v) == -1 || (*end != ' ' &&
	    *end != '\0') || v < 0 || (uint64_t)v > ZKSNAP_MAXLINEMAX)
		return 0;
	return (size_t)v > ZKSNAP_MAXLINE ? (size_t)v : ZKSNAP_MAXLINE;
}

/* A line longer than r->maxline: -1 with *why (which outlives r). */
static int
toolong(struct zksnapr *r, const char **why)
{
	static char	 buf[64];

	snprintf(buf, sizeof(buf), "line %zu longer than %zu bytes",
	    r->nline + 1, r->maxline);
	*why = buf;
	errno = EBADMSG;
	return -1;
}

void
zksnap_rclose(struct zksnapr *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	free(r->in);
	r->in = NULL;
	ZSTD_freeDStream(r->ds);
	r->ds = NULL;
	zkbuf_free(&r->out);
}

/*
 * The next line (NUL-terminated in place, valid until the next call):
 * 1, 0 at a clean end of the stream, -1 with *why set (errno EBADMSG
 * for corrupt input, else the system error).  A line is at most
 * r->maxline bytes, which the header line's maxline= may raise; the
 * input held is at most that and one decompressed block.
 */
int
zksnap_line(struct zksnapr *r, char **line, size_t *len, const char **why)
{
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 out;
	ssize_t		 n;
	size_t		 ret;

	if (r->consume) {
		zkbuf_consume(&r->out, r->consume);
		r->consume = 0;
	}
	for (;;) {
		if (ZKBUF_LEN(&r->out) > 0 &&
		    zkl_next(&r->out, line, len)) {
			if (*len > r->maxline)
				return toolong(r, why);
			r->consume = *len + 1;
			if (r->nline++ == 0 &&
			    strncmp(*line, "# zk-snap 1 ", 12) == 0 &&
			    (r->maxline = zksnap_hdrmax(*line)) == 0) {
				*why = "bad maxline in the header";
				errno = EBADMSG;
				return -1;
			}
			return 1;
		}
		if (ZKBUF_LEN(&r->out) > r->maxline)
			return toolong(r, why);
		if (r->inpos == r->inlen) {
			if (r->eof) {
				if (ZKBUF_LEN(&r->out) > 0) {
					*why = "last line not ended";
					errno = EBADMSG;
					return -1;
				}
				if (r->last != 0 || !r->any) {
					*why = r->any ? "truncated" : "empty";
					errno = EBADMSG;
					return -1;
				}
				return 0;
			}
			if ((n = read(r->fd, r->in, r->incap)) == -1) {
				if (errno == EINTR)
					continue;
				*why = "read";
				return -1;
			}
			r->inpos = 0;
			r->inlen = (size_t)n;
			r->eof = n == 0;
			continue;
		}
		if (zkbuf_reserve(&r->out, ZSTD_DStreamOutSize()) == -1) {
			*why = "out of memory";
			return -1;
		}
		in.src = r->in;
		in.size = r->inlen;
		in.pos = r->inpos;
		out.dst = r->out.p + r->out.len;
		out.size = r->out.cap - r->out.len;
		out.pos = 0;
		ret = ZSTD_decompressStream(r->ds, &out, &in);
		if (ZSTD_isError(ret)) {
			*why = ZSTD_getErrorName(ret);
			errno = EBADMSG;
			return -1;
		}
		r->any = 1;
		r->last = ret;
		r->inpos = in.pos;
		r->out.len += out.pos;
		if (memchr(r->out.p + r->out.len - out.pos, '\0', out.pos)) {
			*why = "NUL byte in a line";
			errno = EBADMSG;
			return -1;
		}
	}
}

/*
 * Read a whole snapshot, checking its framing: the header first, an
 * `end` line last whose counts match, zstd's checksum.  fn (may be
 * NULL) gets every node and session line, parsed; a -1 from fn stops
 * with *why set by it.  On success the header's zxid, time and the
 * counts are in info.
 */
int
zksnap_read(const char *path, struct zksnapinfo *info,
    int (*fn)(struct zkline *, void *, const char **), void *arg,
    const char **why)
{
	struct zksnapr	 r;
	struct zkline	 l = { 0 };
	char		*s;
	size_t		 len;
	int		 rc, ended = 0, hdr = 0;
	int64_t		 nn = 0, ns = 0, v;

	memset(info, 0, sizeof(*info));
	*why = NULL;
	if (zksnap_ropen(&r, path) == -1) {
		*why = "open";
		return -1;
	}
	while ((rc = zksnap_line(&r, &s, &len, why)) == 1) {
		if (!hdr) {
			if (strncmp(s, "# zk-snap 1 ", 12) != 0 ||
			    zkl_parse(&l, s + 10, len - 10) == -1 ||
			    zkl_int(&l, "zxid", &info->zxid) == -1) {
				*why = "no header line";
				goto bad;
			}
			info->time = zkl_intdef(&l, "time", 0);
			hdr = 1;
			continue;
		}
		if (ended) {
			*why = "lines after the end line";
			goto bad;
		}
		if (s[0] == '#' || len == 0)
			continue;
		if (zkl_parse(&l, s, len) == -1) {
			if (errno == ENOMEM) {
				*why = "out of memory";
				goto fail;
			}
			*why = "bad line";
			goto bad;
		}
		if (strcmp(l.verb, "end") == 0) {
			if (zkl_int(&l, "nodes", &v) == -1 || v != nn ||
			    zkl_int(&l, "sessions", &v) == -1 || v != ns) {
				*why = "end line does not match the counts";
				goto bad;
			}
			ended = 1;
			continue;
		}
		if (strcmp(l.verb, "node") == 0)
			nn++;
		else if (strcmp(l.verb, "session") == 0)
			ns++;
		if (fn != NULL && fn(&l, arg, why) == -1)
			goto fail;
	}
	if (rc == -1)
		goto fail;
	if (!hdr) {
		*why = "no header line";
		goto bad;
	}
	if (!ended) {
		*why = "no end line";
		goto bad;
	}
	info->nodes = nn;
	info->sessions = ns;
	zkl_free(&l);
	zksnap_rclose(&r);
	return 0;
bad:
	errno = EBADMSG;
fail:
	rc = errno;
	zkl_free(&l);
	zksnap_rclose(&r);
	errno = rc;
	return -1;
}
