/*
 * seg.c: the transaction log's segments (zk-log(1)), the one place that
 * knows their format.  A log directory holds
 *
 *	log.<16 hex digits: zxid of the first record>
 *
 * each a sequence of records
 *
 *	be32 length | be32 crc32c(line) | line, trailing newline included
 *
 * followed by zeros to the preallocated end of the segment.  A length of
 * zero ends the segment.  zxids go up by one from record to record; the
 * first record of a segment has the zxid in its name.  In an ensemble
 * (zxid = epoch << 32 | counter) a new epoch starts a new segment at its
 * counter 1, the one jump allowed, and only from one segment to the next.
 *
 * zkseg_* read: list a directory, scan records.  zklog_* write: one
 * writer (struct zklog) holds the directory's lock, appends batches with
 * one fdatasync each (or, for an observer, at most one a second), starts
 * and preallocates segments, and truncates the log to a zxid while it is
 * in use.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"

#define HDRLEN		ZKSEG_HDRLEN

static int	 segcmp(const void *, const void *);
static int	 bad(struct zkscan *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static uint32_t	 be32(const unsigned char *);
static void	 putbe32(unsigned char *, uint32_t);
static int	 zerolen(const unsigned char *, size_t, size_t);
static void	 dropzeros(int, off_t);
static int	 validat(const unsigned char *, size_t, size_t);
static int	 findvalid(const unsigned char *, size_t, size_t);
static int	 nonzero(const unsigned char *, size_t, size_t);
static int	 wholeat(const unsigned char *, size_t, size_t);
static int	 linezxid(const char *, size_t, int64_t *);
static int	 newepoch(int64_t, int64_t);
static int	 faulty(struct zklog *, int);
static int	 newseg(struct zklog *, int64_t);
static int	 cutback(struct zklog *, off_t);
static int	 prealloc(struct zklog *, int, off_t);
static int	 cutline(struct zkscan *, const char *, size_t, int64_t);

static int
segcmp(const void *a, const void *b)
{
	const struct zkseg	*x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/*
 * The segments of dir in zxid order, in a malloc'd *v (free it).  -1
 * with errno (ENOENT: no such directory).
 */
int
zkseg_list(const char *dir, struct zkseg **v, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	struct zkseg	*s = NULL, *t;
	size_t		 cap = 0, m = 0;
	int		 e;

	*v = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "log.", 4) != 0 ||
		    strlen(de->d_name) != 20 ||
		    strspn(de->d_name + 4, "0123456789abcdef") != 16)
			continue;
		if (m == cap) {
			cap = cap ? cap * 2 : 16;
			if ((t = reallocarray(s, cap, sizeof(*s))) == NULL)
				goto fail;
			s = t;
		}
		if ((size_t)snprintf(s[m].path, sizeof(s[m].path), "%s/%s",
		    dir, de->d_name) >= sizeof(s[m].path)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		s[m].first = (int64_t)strtoull(de->d_name + 4, NULL, 16);
		m++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (m > 0)
		qsort(s, m, sizeof(*s), segcmp);
	*v = s;
	*n = m;
	return 0;
fail:
	e = errno;
	closedir(d);
	free(s);
	errno = e;
	return -1;
}

/* The header of the record holding line: 8 bytes at hdr. */
void
zkseg_header(void *hdr, const void *line, size_t len)
{
	putbe32(hdr, (uint32_t)len);
	putbe32((unsigned char *)hdr + 4, zk_crc32c(0, line, len));
}

/* Append line (its newline included) as a record. */
void
zkseg_frame(struct zkbuf *b, const void *line, size_t len)
{
	unsigned char	 hdr[HDRLEN];

	zkseg_header(hdr, line, len);
	zkbuf_add(b, hdr, sizeof(hdr));
	zkbuf_add(b, line, len);
}

/*
 * The end of the last stretch of fd that holds data: what lies after it
 * (a hole, or space fallocate(2) reserved and nothing wrote) reads as
 * zeros, so a reader may take it as zeros unread: the log's tail check
 * would otherwise fault in a preallocated segment's 64 MB of zeros, a
 * tenth of a second of a restarting node's CPU taken from its peers.
 * size when the file system cannot tell (SEEK_DATA unsupported): all of
 * it is read then, as before.
 */
static off_t
dataend(int fd, off_t size)
{
	off_t	 d, h, end = 0;

	for (;;) {
		if ((d = lseek(fd, end, SEEK_DATA)) == -1)
			return errno == ENXIO ? end : size;
		if ((h = lseek(fd, d, SEEK_HOLE)) == -1 || h <= d)
			return size;
		end = h;
		if (end >= size)
			return size;
	}
}

/*
 * Reading the zeros after a segment's end (the tail check, and the
 * kernel's readahead past what was mapped) leaves them in the page cache,
 * where SEEK_DATA takes them for data: each walk would then map, and the
 * next read ahead, more of them, until a restart faulted in the whole
 * preallocated segment again (64 MB of zeros, 140 ms of CPU taken from
 * the peers).  A whole walk gives them back once it has looked: pages
 * from the one after the end.  Clean pages only go; dirty ones are
 * written first, so nothing is lost whatever a writer did meanwhile.
 */
static void
dropzeros(int fd, off_t end)
{
	off_t	 pg = (off_t)sysconf(_SC_PAGESIZE);

	(void)posix_fadvise(fd, (end + pg - 1) / pg * pg, 0,
	    POSIX_FADV_DONTNEED);
}

/*
 * Walk segments v[0..n-1], each mapped whole (what it holds as data:
 * see dataend).  ZKSEG_BAD: w->seg and w->off say where (w->path names
 * it), w->why what.  ZKSEG_GAP: w->gapz is the first zxid after
 * w->floor.  Otherwise w->off is the logical end of the last segment
 * and w->torn says whether a torn tail starts there.  -1 with errno when
 * a segment cannot be read (w->path names it) or w->fn failed.
 *
 * A reader of a few records (a learner's DIFF) sets w->stop: the walk
 * ends once that zxid is read, nothing is read ahead (the whole of a
 * preallocated segment would be), and the tail after it is not looked
 * at; and w->at, w->atz when it knows where record atz starts in v[0]
 * (it wrote it there), so the walk starts there rather than at the
 * segment's start.
 */
int
zkseg_walk(const struct zkseg *v, size_t n, struct zkscan *w)
{
	struct stat	 st;
	void		*m;
	size_t		 len;
	off_t		 at, base, end;
	int64_t		 first;
	int		 fd, r, e;

	w->off = 0;
	w->torn = 0;
	w->path[0] = '\0';
	for (w->seg = 0; w->seg < n; w->seg++) {
		strlcpy(w->path, v[w->seg].path, sizeof(w->path));
		if ((fd = open(w->path, O_RDONLY | O_CLOEXEC)) == -1)
			return -1;
		if (fstat(fd, &st) == -1) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		at = 0;
		first = v[w->seg].first;
		if (w->seg == 0 && w->at > 0) {
			if (w->at >= st.st_size || w->atz <= 0) {
				close(fd);
				return bad(w, "no record at offset %lld",
				    (long long)w->at);
			}
			at = w->at;
			first = w->atz;
		}
		/* mapped from the page that holds at, up to the end of what
		 * the file system holds as data: past it, preallocated space
		 * reads as zeros without being read */
		base = at - at % (off_t)sysconf(_SC_PAGESIZE);
		if ((end = dataend(fd, st.st_size)) < at)
			end = at;
		len = (size_t)(end - base);
		m = NULL;
		if (len > 0 && (m = mmap(NULL, len, PROT_READ, MAP_PRIVATE |
		    (w->stop == 0 ? MAP_POPULATE : 0), fd, base)) ==
		    MAP_FAILED) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (m != NULL)
			(void)madvise(m, len, MADV_SEQUENTIAL);
		r = zkseg_scan(w, first, w->seg == n - 1,
		    (char *)m + (at - base), len - (size_t)(at - base));
		e = errno;
		w->off += at;
		if (m != NULL)
			munmap(m, len);
		if (r == ZKSEG_OK && w->stop == 0)
			dropzeros(fd, w->off);
		close(fd);
		if (r != ZKSEG_OK) {
			errno = e;
			return r;
		}
		if (w->stop != 0 && w->last >= w->stop)
			return ZKSEG_OK;
	}
	if (w->seg > 0)
		w->seg--;
	return ZKSEG_OK;
}

static int
bad(struct zkscan *w, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(w->whybuf, sizeof(w->whybuf), fmt, ap);
	va_end(ap);
	w->why = w->whybuf;
	return ZKSEG_BAD;
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
 * One segment, log.<first>, in b: hand each good record to w->fn.  A
 * record that does not check out is a torn tail when the segment is the
 * last (islast), no whole record follows it and its write stopped part
 * way (wholeat); anything else is damage, a record written whole that
 * fails its checksum too: it was acknowledged.  A whole record whose
 * zxid does not follow on is damage too: no crash writes one.  Returns
 * as zkseg_walk does.
 */
int
zkseg_scan(struct zkscan *w, int64_t first, int islast, const void *mem,
    size_t size)
{
	const unsigned char *b = mem;
	const char	*buf = mem;
	int64_t		 z;
	size_t		 p = 0, len;

	for (;;) {
		w->off = (off_t)p;
		if (p == size || zerolen(b, p, size)) {
			/* zeros (preallocated) or end of file */
			if (findvalid(b, p, size))
				return bad(w, "a whole record after the end");
			/* a write that lost its start: never acknowledged */
			if (islast && nonzero(b, p, size))
				w->torn = 1;
			return ZKSEG_OK;
		}
		if (!validat(b, p, size)) {
			if (islast && !findvalid(b, p + 1, size)) {
				if (wholeat(b, p, size))
					return bad(w, "bad length or checksum "
					    "in a record written whole");
				w->torn = 1;
				return ZKSEG_OK;
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
		    z - 1 > w->floor && !newepoch(w->last, z))
			return bad(w, "zxids 0x%" PRIx64 " to 0x%" PRIx64
			    " are missing", w->last + 1, z - 1);
		if (z > w->floor) {
			if (w->ndeliv == 0 && w->strict && z != w->floor + 1) {
				w->gapz = z;
				return ZKSEG_GAP;
			}
			w->off = (off_t)(p + HDRLEN + len);
			if (w->fn != NULL && w->fn(w, buf + p + HDRLEN, len,
			    z) == -1)
				return -1;
			w->ndeliv++;
		}
		w->last = z;
		w->nrec++;
		p += HDRLEN + len;
		if (w->stop != 0 && z >= w->stop) {
			w->off = (off_t)p;
			return ZKSEG_OK;	/* the rest is not wanted */
		}
	}
}

/*
 * Does z start an epoch after last's (an ensemble's zxid is epoch << 32
 * | counter)?  A new epoch starts a segment: its first record.
 */
static int
newepoch(int64_t last, int64_t z)
{
	return (z & 0xffffffff) == 1 && (z >> 32) > (last >> 32);
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

/* Is anything but zeros from p on? */
static int
nonzero(const unsigned char *b, size_t p, size_t size)
{
	for (; p < size && (p & 7) != 0; p++)
		if (b[p] != 0)
			return 1;
	for (; p + 32 <= size; p += 32)
		if ((load64(b + p) | load64(b + p + 8) | load64(b + p + 16) |
		    load64(b + p + 24)) != 0)
			return 1;
	for (; p < size; p++)
		if (b[p] != 0)
			return 1;
	return 0;
}

/*
 * Was the record at p (one that does not check out) written whole?
 * Space not yet written reads as zeros (segments are preallocated, and
 * cut back and truncated to zeros), and a written record never holds 8
 * zero bytes in a row (a length below 2^24 and a checksum hold at most
 * 7; lines hold none), so what was written ends at the first such run
 * or at the end of the file, zeros before it dropped.  A write that
 * stopped part way (a crash, a full disk) ends inside the record; one
 * that completed ends where the record does: where its length says, or
 * right after the only newline of its line.  Then a bad checksum is
 * damage to an acknowledged write, not a torn tail.
 */
static int
wholeat(const unsigned char *b, size_t p, size_t size)
{
	size_t	 d, z;

	for (d = p, z = 0; d < size && z < 8; d++)
		z = b[d] == 0 ? z + 1 : 0;
	d -= z;				/* the end of what was written */
	if (d <= p + HDRLEN)
		return 0;
	if ((uint64_t)p + HDRLEN + be32(b + p) == d)
		return 1;
	return b[d - 1] == '\n' &&
	    memchr(b + p + HDRLEN, '\n', d - 1 - p - HDRLEN) == NULL;
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

/*
 * The writer.  zklog_open locks dir (EWOULDBLOCK: another writer has
 * it); nothing is written until a batch is appended or the log cut.
 * segsize: preallocate segments to this and start a new one when a
 * batch would cross it; 0: neither.
 */
int
zklog_open(struct zklog *lg, const char *dir, long long segsize)
{
	int	 e;

	memset(lg, 0, sizeof(*lg));
	lg->fd = -1;
	lg->segsize = segsize;
	if (strlcpy(lg->dir, dir, sizeof(lg->dir)) >= sizeof(lg->dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((lg->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if (flock(lg->dirfd, LOCK_EX | LOCK_NB) == -1) {
		e = errno;
		close(lg->dirfd);
		lg->dirfd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

void
zklog_close(struct zklog *lg)
{
	if (lg->fd != -1)
		close(lg->fd);
	if (lg->dirfd != -1)
		close(lg->dirfd);
	lg->fd = lg->dirfd = -1;
}

/*
 * Go on writing segment path (log.<first>) at end, the logical end a
 * walk found; its torn tail, if any, is cut off first.  The log's last
 * zxid is last.
 */
int
zklog_resume(struct zklog *lg, const char *path, int64_t first, off_t end,
    int torn, int64_t last)
{
	struct stat	 st;
	int		 fd, e;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if ((torn && (ftruncate(fd, end) == -1 || fdatasync(fd) == -1)) ||
	    fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (lg->fd != -1)
		close(lg->fd);
	lg->fd = fd;
	strlcpy(lg->path, path, sizeof(lg->path));
	lg->first = first;
	lg->end = end;
	lg->last = last;
	lg->noprealloc = 0;
	if (st.st_size < lg->segsize && prealloc(lg, fd, end) == -1) {
		if (lg->dead)
			return -1;
		lg->noprealloc = 1;
	}
	return 0;
}

/*
 * The log goes on at z + 1 (a snapshot beyond its end): the next batch
 * starts a segment, unless the current one is empty and named for z + 1.
 * An empty segment of another name goes.
 */
int
zklog_skip(struct zklog *lg, int64_t z)
{
	if (lg->fd != -1 && lg->end == 0 && lg->first != z + 1 &&
	    unlink(lg->path) == -1)
		return -1;
	if (lg->fd != -1 && (lg->end > 0 || lg->first != z + 1)) {
		close(lg->fd);
		lg->fd = -1;
	}
	lg->last = z;
	return 0;
}

static int
faulty(struct zklog *lg, int what)
{
	return lg->fault != NULL && lg->fault(lg->faultarg, what);
}

static int64_t
usecs(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Append and fdatasync a batch of framed records (zkseg_frame), zxids
 * first to last: one write loop, one fdatasync.  -1 with errno, nothing
 * kept; when even that failed lg->dead is set and the log must not be
 * written again.  lg->syncus: how long the fdatasync took.  With
 * lg->syncms (an observer's log, which no quorum counts on) the
 * fdatasync is skipped while the last one is less than that old
 * (lg->syncus -1): a crash of the machine may then leave any part of
 * what came after it unwritten.
 */
int
zklog_append(struct zklog *lg, const void *recs, size_t len, int64_t first,
    int64_t last)
{
	const char	*p = recs;
	size_t		 done = 0, n;
	ssize_t		 w;
	int64_t		 t0;
	int		 e;

	if (lg->dead) {
		errno = lg->dead;
		return -1;
	}
	if ((lg->fd == -1 || (lg->segsize > 0 && lg->end > 0 &&
	    lg->end + (off_t)len > lg->segsize)) && newseg(lg, first) == -1)
		return -1;
	while (done < len) {
		n = len - done;
		if (faulty(lg, ZKLOG_FWRITE)) {
			n = n / 2;
			if (n > 0 && pwrite(lg->fd, p + done, n, lg->end +
			    (off_t)done) > 0)
				done += n;
			errno = ENOSPC;
			goto bad;
		}
		if ((w = pwrite(lg->fd, p + done, n, lg->end + (off_t)done)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			goto bad;
		}
		done += (size_t)w;
	}
	if (faulty(lg, ZKLOG_FSYNC)) {
		errno = EIO;
		goto bad;
	}
	t0 = usecs();
	lg->syncus = -1;
	if (lg->syncms == 0 || t0 - lg->syncedus >= lg->syncms * 1000) {
		if (fdatasync(lg->fd) == -1)
			goto bad;
		lg->syncedus = usecs();
		lg->syncus = lg->syncedus - t0;
	}
	lg->end += (off_t)len;
	lg->last = last;
	return 0;
bad:
	e = errno;
	(void)cutback(lg, lg->end);
	errno = e;
	return -1;
}

/*
 * Start log.<first> and make its name durable.  When it cannot be
 * preallocated (a full disk) it starts empty and grows as it is written:
 * the writes themselves then fail while there is no room.
 */
static int
newseg(struct zklog *lg, int64_t first)
{
	char	 path[sizeof(lg->path)];
	int	 fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s/log.%016" PRIx64,
	    lg->dir, (uint64_t)first) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) ==
	    -1)
		return -1;
	lg->noprealloc = 0;
	if (prealloc(lg, fd, 0) == -1) {
		if (lg->dead) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		lg->noprealloc = 1;
	}
	errno = 0;
	if (faulty(lg, ZKLOG_FSYNC) || fsync(lg->dirfd) == -1) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(path);
		fsync(lg->dirfd);
		errno = e;
		return -1;
	}
	if (lg->fd != -1)
		close(lg->fd);
	lg->fd = fd;
	lg->end = 0;
	lg->first = first;
	strlcpy(lg->path, path, sizeof(lg->path));
	return 0;
}

/* Forget whatever a failed append left after off. */
static int
cutback(struct zklog *lg, off_t off)
{
	if (ftruncate(lg->fd, off) == -1) {
		lg->dead = errno;
		lg->deadwhy = "truncate after a failed append";
		return -1;
	}
	if (!lg->noprealloc && prealloc(lg, lg->fd, off) == -1) {
		if (lg->dead)
			return -1;
		lg->noprealloc = 1;
	}
	return fdatasync(lg->fd);
}

/*
 * Zeros to the segment size.  On failure (no room) what it took is
 * given back, lg->allocerr set and -1 returned: it only costs speed.
 * If it cannot be given back lg->dead is set too.
 */
static int
prealloc(struct zklog *lg, int fd, off_t from)
{
	int	 e;

	if (lg->segsize == 0 || from >= lg->segsize)
		return 0;
	if (faulty(lg, ZKLOG_FALLOC))
		e = ENOSPC;
	else
		e = posix_fallocate(fd, from, lg->segsize - from);
	if (e == 0)
		return 0;
	lg->allocerr = e;
	if (ftruncate(fd, from) == -1) {
		lg->dead = errno;
		lg->deadwhy = "truncate after preallocation";
	}
	errno = e;
	return -1;
}

struct cut {
	int64_t		 to;
	size_t		 seg;		/* the record <= to that ends last */
	off_t		 off;		/* ... and where it ends */
	int		 found;
};

static int
cutline(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct cut	*c = w->arg;

	(void)line;
	(void)len;
	if (z <= c->to) {
		c->seg = w->seg;
		c->off = w->off;
		c->found = 1;
	}
	return 0;
}

/*
 * Remove every record after zxid to, online: later segments are
 * unlinked (newest first, so a crash leaves a prefix), the one holding
 * to is cut right after its record and preallocated again, all of it
 * made durable, the directory too; the writer is left to append to + 1.
 * Damage before the cut is refused: ZKSEG_BAD with w saying where (as
 * zkseg_walk); damage after it goes with the rest.  When the log ends
 * at or before to, nothing changes.  0 done, -1 with errno (w->path
 * names the file when there is one).
 */
int
zklog_truncate(struct zklog *lg, int64_t to, struct zkscan *w)
{
	struct zkseg	*v;
	struct cut	 c;
	size_t		 n, k, i, keep;
	int		 r, fd, e;

	memset(w, 0, sizeof(*w));
	if (zkseg_list(lg->dir, &v, &n) == -1) {
		strlcpy(w->path, lg->dir, sizeof(w->path));
		return -1;
	}
	/* only the segment that may hold to and those after it matter */
	for (k = 0; k + 1 < n && v[k + 1].first <= to; k++)
		;
	memset(&c, 0, sizeof(c));
	c.to = to;
	w->fn = cutline;
	w->arg = &c;
	r = zkseg_walk(v + k, n - k, w);
	w->seg += k;
	c.seg += k;
	if (r == -1 || (r == ZKSEG_BAD && w->last < to)) {
		e = errno;
		free(v);
		errno = e;
		return r;
	}
	if (w->last <= to && r == ZKSEG_OK && !w->torn) {
		free(v);		/* nothing after it */
		return 0;
	}
	keep = c.found ? c.seg + 1 : k;
	if (n > 0 && v[k].first > to)
		keep = 0;		/* to is before the whole log */
	if (lg->fd != -1) {
		for (i = keep; i < n; i++)
			if (strcmp(lg->path, v[i].path) == 0) {
				close(lg->fd);	/* its segment goes */
				lg->fd = -1;
			}
	}
	for (i = n; i > keep; i--)
		if (unlink(v[i - 1].path) == -1) {
			strlcpy(w->path, v[i - 1].path, sizeof(w->path));
			goto fail;
		}
	if (fsync(lg->dirfd) == -1) {
		strlcpy(w->path, lg->dir, sizeof(w->path));
		goto fail;
	}
	if (!c.found) {
		if (lg->fd != -1)
			close(lg->fd);
		lg->fd = -1;
		lg->end = 0;
		lg->last = to;
		free(v);
		return 0;
	}
	strlcpy(w->path, v[c.seg].path, sizeof(w->path));
	if (lg->fd != -1 && strcmp(lg->path, v[c.seg].path) == 0)
		fd = lg->fd;
	else if ((fd = open(v[c.seg].path, O_RDWR | O_CLOEXEC)) == -1)
		goto fail;
	if (ftruncate(fd, c.off) == -1)
		goto failfd;
	if (fd != lg->fd && lg->fd != -1)
		close(lg->fd);
	lg->fd = fd;
	strlcpy(lg->path, v[c.seg].path, sizeof(lg->path));
	lg->first = v[c.seg].first;
	lg->end = c.off;
	lg->last = to;
	lg->noprealloc = 0;
	if (prealloc(lg, fd, c.off) == -1) {
		if (lg->dead)
			goto fail;
		lg->noprealloc = 1;
	}
	if (fsync(fd) == -1)
		goto fail;
	free(v);
	return 0;
failfd:
	e = errno;
	if (fd != lg->fd)
		close(fd);
	errno = e;
fail:
	e = errno;
	free(v);
	errno = e;
	return -1;
}

/*
 * Make every segment durable, whatever wrote it: one fdatasync each.  A
 * voter does it before it counts its log, which it may have written as
 * an observer, without an fdatasync per batch.  0, or -1 with errno and
 * w->path naming the file.
 */
int
zklog_syncall(struct zklog *lg, struct zkscan *w)
{
	struct zkseg	*v;
	size_t		 n, i;
	int		 fd, e;

	memset(w, 0, sizeof(*w));
	if (zkseg_list(lg->dir, &v, &n) == -1) {
		strlcpy(w->path, lg->dir, sizeof(w->path));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((fd = open(v[i].path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fdatasync(fd) == -1) {
			e = errno;
			strlcpy(w->path, v[i].path, sizeof(w->path));
			if (fd != -1)
				close(fd);
			free(v);
			errno = e;
			return -1;
		}
		close(fd);
	}
	free(v);
	return 0;
}
