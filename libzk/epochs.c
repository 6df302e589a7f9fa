/*
 * epochs.c: an ensemble node's accepted and current epochs, durable in
 * DIR/epochs (zk-log(1)), the one place that knows that file's format.
 *
 * The file is two blocks of ZKEP_BLOCK bytes, written in place: an
 * update goes to the block that does not hold the newest state, with
 * one pwrite(2) of the whole block and fdatasync(2).  The file's size
 * never changes, so the fdatasync has no metadata to commit: here it
 * took 0.3 ms where a tmp, fsync, rename and directory fsync took
 * 1.5-3 ms, and a new leader writes its epochs twice before it serves.
 * Each block holds one line, then zeros:
 *
 *	zk-epochs 1 seq=N accepted=A current=C crc=XXXXXXXX
 *
 * crc being the CRC-32C of the line before " crc=", in hex.  A block is
 * valid only if it is exactly what zkep_format makes of its numbers.  A
 * crash in the middle of an update can tear only the block being
 * written: it fails that check, and the other block holds the state
 * before the update, which nobody was told of yet.  The state is the
 * valid block with the higher seq; a file with no valid block is
 * corrupt, and nothing is taken from it.
 *
 * zk-log kept the epochs in acceptedEpoch and currentEpoch before, each
 * a decimal number; zkep_open takes them over once.  Then, and in a new
 * directory, those two files hold GUARD, no number: an earlier zk-log,
 * which reads them, refuses the directory ("DIR/acceptedEpoch: epoch is
 * invalid: in ./epochs (a newer zk-log)") rather than take them as
 * absent, its epochs as 0, and forget an epoch it promised.  A GUARD
 * without the epochs file says the file was lost: refused.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"

#define NAME		"epochs"
#define MAXEPOCH	0xffffffffLL	/* a zxid holds 32 bits of epoch */

#define GUARD		"in ./epochs (a newer zk-log)"	/* a line */

static const char *const legacy[2] = { "acceptedEpoch", "currentEpoch" };

/* why, said; errno e (0: the errno as it was): -1 */
static int
said(char *why, size_t whylen, int e, const char *fmt, ...)
{
	va_list	 ap;

	if (e == 0)
		e = errno;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* The block for these numbers, zeros after its line: its line's length. */
size_t
zkep_format(char *blk, uint64_t seq, int64_t accepted, int64_t current)
{
	int	 n, m;

	memset(blk, 0, ZKEP_BLOCK);
	n = snprintf(blk, ZKEP_BLOCK, "zk-epochs 1 seq=%" PRIu64
	    " accepted=%" PRId64 " current=%" PRId64, seq, accepted, current);
	m = snprintf(blk + n, ZKEP_BLOCK - (size_t)n, " crc=%08" PRIx32 "\n",
	    zk_crc32c(0, blk, (size_t)n));
	return (size_t)(n + m);
}

/* the digits after the literal at *p: 0, or -1 */
static int
number(const char **p, const char *end, const char *lit, uint64_t max,
    uint64_t *v)
{
	size_t	 n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return -1;
	*p += n;
	*v = 0;
	if (*p == end || **p < '0' || **p > '9')
		return -1;
	while (*p < end && **p >= '0' && **p <= '9') {
		if (*v > (max - (uint64_t)(**p - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	return 0;
}

/*
 * One block (len bytes, ZKEP_BLOCK for a valid one): 0 and its numbers,
 * or -1 if it is not one that zkep_format makes.
 */
int
zkep_parse(const void *p, size_t len, uint64_t *seq, int64_t *accepted,
    int64_t *current)
{
	static char	 blk[ZKEP_BLOCK];
	const char	*s = p, *end;
	uint64_t	 q, a, c;

	if (len != ZKEP_BLOCK || (end = memchr(s, '\n', len)) == NULL)
		return -1;
	if (number(&s, end, "zk-epochs 1 seq=", UINT64_MAX, &q) == -1 ||
	    number(&s, end, " accepted=", MAXEPOCH, &a) == -1 ||
	    number(&s, end, " current=", MAXEPOCH, &c) == -1 || q == 0 ||
	    c > a)
		return -1;
	zkep_format(blk, q, (int64_t)a, (int64_t)c);
	if (memcmp(blk, p, ZKEP_BLOCK) != 0)	/* crc, the zeros, all */
		return -1;
	*seq = q;
	*accepted = (int64_t)a;
	*current = (int64_t)c;
	return 0;
}

/*
 * A legacy epoch file's line, its newline cut, into buf[len]: its
 * length, or -1 (errno ENOENT, nothing said: there is none).
 */
static ssize_t
legacyline(int dirfd, const char *name, char *buf, size_t len, char *why,
    size_t whylen)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? -1 :
		    said(why, whylen, 0, "%s: %s", name, strerror(errno));
	if ((n = read(fd, buf, len - 1)) == -1) {
		said(why, whylen, 0, "%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n;
}

/* the line is GUARD, exactly (a NUL inside is no GUARD) */
static int
isguard(const char *line, ssize_t n)
{
	return n == (ssize_t)sizeof(GUARD) - 1 && memcmp(line, GUARD, n) == 0;
}

/* a legacy epoch file's number, 0 if there is none: 0, or -1 */
static int
legacyread(int dirfd, const char *name, int64_t *v, char *why,
    size_t whylen)
{
	char		 buf[64];
	const char	*s = buf;
	uint64_t	 u;
	ssize_t		 n;

	*v = 0;
	if ((n = legacyline(dirfd, name, buf, sizeof(buf), why, whylen)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (isguard(buf, n))
		return said(why, whylen, EINVAL, "%s is gone, but %s says the "
		    "epochs were kept there", NAME, name);
	if (number(&s, buf + n, "", MAXEPOCH, &u) == -1 || s != buf + n)
		return said(why, whylen, EINVAL, "%s: not an epoch: %.20s",
		    name, buf);
	*v = (int64_t)u;
	return 0;
}

/*
 * The legacy files holding GUARD, durably (each replaced whole, so that
 * a crash leaves its number or GUARD, and the epochs file wins over a
 * number): 0, or -1.
 */
static int
legacyguard(int dirfd, char *why, size_t whylen)
{
	char	 buf[64];
	ssize_t	 n;
	int	 i, done = 0;

	for (i = 0; i < 2; i++) {
		if ((n = legacyline(dirfd, legacy[i], buf, sizeof(buf), why,
		    whylen)) == -1 && errno != ENOENT)
			return -1;
		if (isguard(buf, n))
			continue;
		if (zk_replace(dirfd, legacy[i], GUARD "\n",
		    sizeof(GUARD)) == -1)
			return said(why, whylen, 0, "%s: %s", legacy[i],
			    strerror(errno));
		done = 1;
	}
	if (done && fsync(dirfd) == -1)
		return said(why, whylen, 0, "fsync: %s", strerror(errno));
	return 0;
}

/*
 * A new epochs file holding the legacy files' numbers, durably; only
 * then the guards, so that no crash leaves them without the file.
 */
static int
create(int dirfd, char *why, size_t whylen)
{
	static char	 blk[2 * ZKEP_BLOCK];
	int64_t		 a, c;

	if (legacyread(dirfd, legacy[0], &a, why, whylen) == -1 ||
	    legacyread(dirfd, legacy[1], &c, why, whylen) == -1)
		return -1;
	if (c > a)
		return said(why, whylen, EINVAL, "currentEpoch %" PRId64
		    " is above acceptedEpoch %" PRId64, c, a);
	memset(blk, 0, ZKEP_BLOCK);
	zkep_format(blk + ZKEP_BLOCK, 1, a, c);
	if (zk_replace(dirfd, NAME, blk, sizeof(blk)) == -1 ||
	    fsync(dirfd) == -1)
		return said(why, whylen, 0, "%s: %s", NAME, strerror(errno));
	return legacyguard(dirfd, why, whylen);
}

/*
 * The epochs of the directory dirfd, its file made (from the legacy
 * files, or zeros) if it has none: 0, or -1 with why said in ep->why
 * (errno EINVAL: the file is corrupt, or a legacy file holds no epoch).
 */
int
zkep_open(struct zkepochs *ep, int dirfd)
{
	static char	 blk[2][ZKEP_BLOCK];
	struct stat	 st;
	uint64_t	 q[2];
	int64_t		 a[2], c[2];
	int		 ok[2], i, e;

	memset(ep, 0, sizeof(*ep));
	if ((ep->fd = openat(dirfd, NAME, O_RDWR | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return said(ep->why, sizeof(ep->why), 0, "%s: %s",
			    NAME, strerror(errno));
		if (create(dirfd, ep->why, sizeof(ep->why)) == -1)
			return -1;
		if ((ep->fd = openat(dirfd, NAME, O_RDWR | O_CLOEXEC)) == -1)
			return said(ep->why, sizeof(ep->why), 0, "%s: %s",
			    NAME, strerror(errno));
	} else if (legacyguard(dirfd, ep->why, sizeof(ep->why)) == -1)
		goto fail;	/* a crash came before the guard */
	if (fstat(ep->fd, &st) == -1) {
		said(ep->why, sizeof(ep->why), 0, "%s: %s", NAME,
		    strerror(errno));
		goto fail;
	}
	if (st.st_size != 2 * ZKEP_BLOCK) {
		said(ep->why, sizeof(ep->why), EINVAL, "%s: %lld bytes, not %d",
		    NAME, (long long)st.st_size, 2 * ZKEP_BLOCK);
		goto fail;
	}
	for (i = 0; i < 2; i++) {
		if (pread(ep->fd, blk[i], ZKEP_BLOCK, (off_t)i * ZKEP_BLOCK) !=
		    ZKEP_BLOCK) {
			said(ep->why, sizeof(ep->why), EIO, "%s: short read",
			    NAME);
			goto fail;
		}
		ok[i] = zkep_parse(blk[i], ZKEP_BLOCK, &q[i], &a[i],
		    &c[i]) == 0;
	}
	if (!ok[0] && !ok[1]) {
		said(ep->why, sizeof(ep->why), EINVAL, "%s: neither block is "
		    "valid", NAME);
		goto fail;
	}
	if (ok[0] && ok[1] && q[0] == q[1]) {
		said(ep->why, sizeof(ep->why), EINVAL, "%s: both blocks have "
		    "seq %" PRIu64, NAME, q[0]);
		goto fail;
	}
	i = !ok[0] || (ok[1] && q[1] > q[0]);
	ep->at = i;
	ep->seq = q[i];
	ep->accepted = a[i];
	ep->current = c[i];
	return 0;
fail:
	e = errno;
	close(ep->fd);
	ep->fd = -1;
	errno = e;
	return -1;
}

/*
 * The epochs made durable: the block that does not hold the newest state
 * is overwritten and synced.  0, or -1 with errno (the state unchanged;
 * the caller cannot go on, since what the disk holds is not known).
 */
int
zkep_set(struct zkepochs *ep, int64_t accepted, int64_t current)
{
	static char	 blk[ZKEP_BLOCK];
	uint64_t	 seq = ep->seq + 1;
	ssize_t		 n;

	if (accepted < 0 || accepted > MAXEPOCH || current < 0 ||
	    current > accepted) {
		errno = EINVAL;
		return -1;
	}
	zkep_format(blk, seq, accepted, current);
	n = pwrite(ep->fd, blk, ZKEP_BLOCK, (off_t)!ep->at * ZKEP_BLOCK);
	if (n != ZKEP_BLOCK) {
		if (n != -1)
			errno = EIO;
		return -1;
	}
	if (fdatasync(ep->fd) == -1)
		return -1;
	ep->at = !ep->at;
	ep->seq = seq;
	ep->accepted = accepted;
	ep->current = current;
	return 0;
}

void
zkep_close(struct zkepochs *ep)
{
	if (ep->fd != -1)
		close(ep->fd);
	ep->fd = -1;
}
