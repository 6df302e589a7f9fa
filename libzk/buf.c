/* buf.c: growable byte buffers with batched read(2) and write(2) */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"

int
zkbuf_reserve(struct zkbuf *b, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->onfill != NULL)
		b->onfill(b);
	if (b->err)
		return -1;
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= n)
		return 0;
	if (b->off > 0 && b->off >= b->len / 2) {	/* slide, don't grow */
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->err = ENOMEM;
			errno = ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL) {
		b->err = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
zkbuf_add(struct zkbuf *b, const void *p, size_t n)
{
	if (n == 0 || zkbuf_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
zkbuf_addc(struct zkbuf *b, int c)
{
	if (zkbuf_reserve(b, 1) == -1)
		return;
	b->p[b->len++] = (char)c;
}

void
zkbuf_printf(struct zkbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (zkbuf_reserve(b, 128) == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (zkbuf_reserve(b, (size_t)n + 1) == -1)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
zkbuf_consume(struct zkbuf *b, size_t n)
{
	b->off += n;
	b->scan = b->scan > n ? b->scan - n : 0;
	if (b->off >= b->len)
		b->off = b->len = b->scan = 0;
}

void
zkbuf_reset(struct zkbuf *b)
{
	b->off = b->len = b->scan = 0;
	b->err = 0;
}

void
zkbuf_free(struct zkbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = b->scan = 0;
	b->err = 0;
}

/*
 * Read what the fd has, up to a few buffers' worth, so that one call
 * takes a whole batch of records.  Returns bytes read, 0 on EOF, -1 on
 * error; -1 with EAGAIN when nothing was there.
 */
ssize_t
zkbuf_read(struct zkbuf *b, int fd)
{
	ssize_t	 n, total = 0;
	int	 i;

	for (i = 0; i < 8; i++) {
		if (zkbuf_reserve(b, 65536) == -1)
			return -1;
		n = read(fd, b->p + b->len, b->cap - b->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && total > 0)
				return total;
			return -1;
		}
		if (n == 0)
			return total > 0 ? total : 0;
		b->len += (size_t)n;
		total += n;
		if ((size_t)n < 65536)
			break;
	}
	return total;
}

/* Write what is pending; returns bytes left, -1 on a hard error. */
ssize_t
zkbuf_flush(struct zkbuf *b, int fd)
{
	ssize_t	 n;

	while (ZKBUF_LEN(b) > 0) {
		n = write(fd, ZKBUF_DATA(b), ZKBUF_LEN(b));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		zkbuf_consume(b, (size_t)n);
	}
	return (ssize_t)ZKBUF_LEN(b);
}
