/*
 * shm.c: the ring zk-tree writes big values into, for zk-gate to copy
 * out of, instead of escaping them into the text stream: a getData of a
 * big value then crosses from tree to gate with one copy in and one out,
 * not an escape, two socket copies and three scans.
 *
 * The ring is a memfd(2) of zk-tree's, so nothing of it is on a disk and
 * it goes when both programs have: a header page, then size bytes of
 * data.  zk-gate gets the fd on a connection of its own to tree.sock
 * (`hello role=shm`, answered by one line `shm size=N` that carries the
 * fd, then closed) and maps it shared.  Positions only grow (64 bits);
 * the byte at position p is data[p % size], and a region never wraps
 * (the end of the ring is skipped instead).  zk-tree alone moves head;
 * zk-gate alone moves done, the end of the last region it has copied
 * out, in stream order.  A region is free again once done has passed it.
 * The reply line that names a region travels on the socket after the
 * bytes were written, so the gate sees them; the gate stores done
 * (release) after its copy, zk-tree loads it (acquire) before writing
 * again.  A full ring is no error: the value goes into the line, escaped,
 * as it always can.
 *
 * The header also holds the zxid zk-tree has applied up to, which it
 * alone stores, once a batch of txns: the gate reads it when it needs
 * it (a client's connect, srvr, a ping's reply) instead of being woken
 * with a line for every batch that none of its clients wrote.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <poll.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"

#define MAGIC	"zk-shm 1\n"
#define HDR	4096		/* the header page; data follows */

struct hdr {
	char			 magic[16];
	uint64_t		 size;
	char			 pad[40];
	_Atomic uint64_t	 done;	/* a cache line of its own */
	char			 pad2[56];
	_Atomic int64_t		 zxid;	/* zk-tree applied up to it */
};

static int
mapfd(struct zkshm *s, int fd, size_t maplen, int create)
{
	struct hdr	*h;
	void		*m;

	m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	h = m;
	if (create) {
		memcpy(h->magic, MAGIC, sizeof(MAGIC) - 1);
		h->size = maplen - HDR;
		atomic_init(&h->done, 0);
		atomic_init(&h->zxid, 0);
	} else if (memcmp(h->magic, MAGIC, sizeof(MAGIC) - 1) != 0 ||
	    h->size != maplen - HDR) {
		munmap(m, maplen);
		errno = EINVAL;
		return -1;
	}
	s->map = m;
	s->maplen = maplen;
	s->data = (char *)m + HDR;
	s->size = maplen - HDR;
	s->done = &h->done;
	s->zxid = &h->zxid;
	s->head = 0;
	return 0;
}

/* zk-tree: a fresh ring of size bytes. */
int
zkshm_create(struct zkshm *s, size_t size)
{
	int	 fd, e;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if ((fd = memfd_create("zk-tree-ring", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, (off_t)(HDR + size)) == -1 ||
	    mapfd(s, fd, HDR + size, 1) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	s->fd = fd;
	return 0;
}

/* A message of one line and room for one fd. */
union fdmsg {
	struct cmsghdr	 h;
	char		 b[CMSG_SPACE(sizeof(int))];
};

static void
msginit(struct msghdr *m, struct iovec *iov, char *line, size_t len,
    union fdmsg *cm)
{
	memset(m, 0, sizeof(*m));
	memset(cm, 0, sizeof(*cm));
	iov->iov_base = line;
	iov->iov_len = len;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_control = cm->b;
	m->msg_controllen = sizeof(cm->b);
}

/* zk-tree: answer a `hello role=shm` connection with the ring's fd. */
int
zkshm_send(const struct zkshm *s, int sock)
{
	union fdmsg	 cm;
	struct msghdr	 m;
	struct iovec	 iov;
	char		 line[64];
	int		 n;

	if (s->map == NULL) {
		errno = ENOENT;
		return -1;
	}
	n = snprintf(line, sizeof(line), "shm size=%" PRIu64 "\n", s->size);
	msginit(&m, &iov, line, (size_t)n, &cm);
	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&cm.h), &s->fd, sizeof(int));
	while (sendmsg(sock, &m, MSG_NOSIGNAL) != n)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * zk-gate: ask zk-tree at path (its tree.sock) for the ring on a
 * connection of its own and map it; -1 with errno if it has none
 * (ENOENT) or gives no answer within ms.
 */
int
zkshm_fetch(struct zkshm *s, const char *path, int ms)
{
	union fdmsg	 cm;
	struct msghdr	 m;
	struct iovec	 iov;
	struct pollfd	 pfd;
	char		 line[64];
	ssize_t		 n;
	int		 sock, fd = -1, e;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if ((sock = zk_connect_unix(path, ms)) == -1)
		return -1;
	if (write(sock, "hello role=shm\n", 15) != 15)
		goto fail;
	pfd.fd = sock;
	pfd.events = POLLIN;
	if ((n = poll(&pfd, 1, ms)) <= 0) {
		if (n == 0)
			errno = ETIMEDOUT;
		goto fail;
	}
	msginit(&m, &iov, line, sizeof(line) - 1, &cm);
	if ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) == -1)
		goto fail;
	if (m.msg_controllen >= CMSG_LEN(sizeof(int)) &&
	    cm.h.cmsg_level == SOL_SOCKET && cm.h.cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(&cm.h), sizeof(int));
	line[n] = '\0';
	if (fd == -1 || strncmp(line, "shm size=", 9) != 0) {
		errno = ENOENT;
		goto fail;
	}
	if (zkshm_map(s, fd) == -1)
		goto fail;
	close(fd);
	close(sock);
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	close(sock);
	errno = e;
	return -1;
}

/* Map a ring another program made; -1 (EINVAL) if fd is not one. */
int
zkshm_map(struct zkshm *s, int fd)
{
	struct stat	 st;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size <= HDR) {
		errno = EINVAL;
		return -1;
	}
	return mapfd(s, fd, (size_t)st.st_size, 0);
}

void
zkshm_close(struct zkshm *s)
{
	if (s->map != NULL) {
		munmap(s->map, s->maplen);
		if (s->fd != -1)
			close(s->fd);
	}
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/*
 * zk-tree: copy len bytes into the ring; their position in *pos, or -1
 * when the ring has no room for them now (or is not mapped).
 */
int
zkshm_put(struct zkshm *s, const void *p, size_t len, uint64_t *pos)
{
	uint64_t	 at = s->head, off;

	if (s->map == NULL || len == 0 || len > s->size)
		return -1;
	off = at % s->size;
	if (off + len > s->size)
		at += s->size - off;		/* skip the end */
	if (at + len - atomic_load_explicit(s->done,
	    memory_order_acquire) > s->size)
		return -1;
	memcpy(s->data + at % s->size, p, len);
	s->head = at + len;
	*pos = at;
	return 0;
}

/* zk-tree: a new reader; nothing it could still be reading is in use. */
void
zkshm_reset(struct zkshm *s)
{
	if (s->map != NULL)
		atomic_store_explicit(s->done, s->head, memory_order_release);
}

/* zk-gate: where the region pos, len is, or NULL if it cannot be one. */
const char *
zkshm_at(const struct zkshm *s, uint64_t pos, uint64_t len)
{
	if (s->map == NULL || len == 0 || len > s->size ||
	    pos % s->size + len > s->size)
		return NULL;
	return s->data + pos % s->size;
}

/* zk-gate: done with everything before end. */
void
zkshm_release(struct zkshm *s, uint64_t end)
{
	if (s->map != NULL && end > atomic_load_explicit(s->done,
	    memory_order_relaxed))
		atomic_store_explicit(s->done, end, memory_order_release);
}

/* The value of a reply's shm= field, "POS,LEN" in decimal. */
int
zkshm_parse(const char *s, uint64_t *pos, uint64_t *len)
{
	uint64_t	*v[2] = { pos, len };
	int		 i, n;

	for (i = 0; i < 2; i++) {
		*v[i] = 0;
		for (n = 0; *s >= '0' && *s <= '9'; s++, n++) {
			if (n == 19)		/* stays below 2^64 */
				return -1;
			*v[i] = *v[i] * 10 + (uint64_t)(*s - '0');
		}
		if (n == 0 || *s != (i == 0 ? ',' : '\0'))
			return -1;
		s++;
	}
	return 0;
}

/* zk-tree: it applied up to zxid. */
void
zkshm_setzxid(struct zkshm *s, int64_t zxid)
{
	atomic_store_explicit(s->zxid, zxid, memory_order_release);
}

/* zk-gate: the zxid zk-tree applied up to, as it last said. */
int64_t
zkshm_zxid(const struct zkshm *s)
{
	return atomic_load_explicit(s->zxid, memory_order_acquire);
}
