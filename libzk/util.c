/* util.c: clocks, sockets, checksums, names */
#include <sys/types.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "zk.h"

int zk_debug;

int64_t
zk_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
zk_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The options every daemon takes: -c zoo.cfg, -d (debug lines), -r the
 * run directory.  1 when getopt's ch was one of them, else 0.
 */
int
zk_daemonopt(int ch, const char *arg, const char **cfgfile,
    const char **rundir)
{
	switch (ch) {
	case 'c':
		*cfgfile = arg;
		return 1;
	case 'd':
		zk_debug = 1;
		return 1;
	case 'r':
		*rundir = arg;
		return 1;
	}
	return 0;
}

/*
 * name in the directory dirfd replaced whole by p[len]: written to
 * name.tmp, fsynced, renamed over name, so that a crash leaves the old
 * file or the new one.  The directory is not synced: the caller does
 * it, once for what it replaced.  0, or -1 with errno.
 */
int
zk_replace(int dirfd, const char *name, const void *p, size_t len)
{
	char		 tmp[NAME_MAX + 1];
	const char	*s = p;
	ssize_t		 n;
	int		 fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto bad;
		}
		s += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto bad;
	if (close(fd) == -1)
		return -1;
	return renameat(dirfd, tmp, dirfd, name);
bad:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
zk_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
unaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
zk_listen_unix(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (unaddr(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		goto bad;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 128) == -1)
		goto bad;
	return fd;
bad:
	{
		int	 e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

static volatile sig_atomic_t	 termed;

static void
onterm(int sig)
{
	(void)sig;
	termed = 1;
}

/*
 * SIGTERM sets a flag (zk_termed) rather than ending the process, for a
 * daemon that stops gracefully; without SA_RESTART, so that it wakes a
 * poll(2) or epoll_wait(2) (EINTR).  0, or -1 (errno).
 */
int
zk_onterm(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onterm;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGTERM, &sa, NULL);
}

/* SIGTERM came (zk_onterm). */
int
zk_termed(void)
{
	return termed != 0;
}

/* The supervisor that started us (ZK_NODE_PID, set by zk-node), or 0. */
pid_t
zk_supervisor(void)
{
	static pid_t	 sup = -1;
	const char	*s, *errstr;

	if (sup == -1) {
		sup = 0;
		if ((s = getenv("ZK_NODE_PID")) != NULL) {
			sup = (pid_t)strtonum(s, 2, INT32_MAX, &errstr);
			if (errstr != NULL)
				sup = 0;
		}
	}
	return sup;
}

/*
 * A pidfd of that supervisor, opened once: it polls readable as soon as
 * the supervisor dies, a zombie too (kill(pid, 0) would still find a
 * zombie).  -1 without a supervisor or where pidfd_open(2) is missing;
 * -2 when the supervisor was gone already.
 */
int
zk_supervisor_fd(void)
{
	static int	 fd = -3;

	if (fd != -3)
		return fd;
	fd = -1;
	if (zk_supervisor() == 0)
		return fd;
	if ((fd = (int)syscall(SYS_pidfd_open, zk_supervisor(), 0)) == -1)
		fd = errno == ESRCH ? -2 : -1;
	else if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * 1 once that supervisor is gone: a zk-node killed with -9 cannot stop
 * its programs, so they stop themselves.  With a pidfd this is one
 * poll(2) that does not wait (and the loop watches the pidfd itself);
 * without one, kill(pid, 0) once a second at most.
 */
int
zk_orphaned(void)
{
	static int64_t	 next;
	struct pollfd	 pfd;
	int64_t		 now;
	int		 fd;

	if (zk_supervisor() == 0)
		return 0;
	if ((fd = zk_supervisor_fd()) == -2)
		return 1;
	if (fd >= 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
	}
	if ((now = zk_mono_ms()) < next)
		return 0;
	next = now + 1000;
	return kill(zk_supervisor(), 0) == -1 && errno == ESRCH;
}

/* An inotify fd watching for names made in path's directory; -1. */
static int
dirwatch(const char *path)
{
	char	 dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;
	int	 in, e;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else
		slash[slash == dir] = '\0';	/* "/x": the root */
	if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return -1;
	if (inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO) == -1) {
		e = errno;
		close(in);
		errno = e;
		return -1;
	}
	return in;
}

/*
 * Connect, retrying for up to wait_ms while the peer is not up yet, or,
 * under a supervisor (zk_supervisor), for as long as the supervisor
 * lives: zk-tree loading a big snapshot may take longer than any bound,
 * and if it dies instead, the supervisor stops us.  EOWNERDEAD once the
 * supervisor is gone.
 * The peer binds its socket once it is ready (zk-tree after loading a
 * snapshot), so the wait is for the name to appear in its directory:
 * inotify says when, rather than a poll every so often that would add
 * up to a poll interval to every start (without inotify, a poll every
 * 5 ms).  Between the peer's bind and its listen, connect is refused
 * for a moment: that is retried after 1 ms.
 */
int
zk_connect_unix(const char *path, int wait_ms)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd[2];
	char			 ev[4096];
	int64_t			 until = zk_mono_ms() + wait_ms, left;
	int			 fd, e, in = -1, noinotify = 0;

	if (unaddr(&sun, path) == -1)
		return -1;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			break;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
		if (e != ENOENT && e != ECONNREFUSED)
			break;
		if (wait_ms > 0 && zk_supervisor() != 0) {
			if (zk_orphaned()) {
				errno = EOWNERDEAD;
				break;
			}
			left = 1000;
		} else if ((left = until - zk_mono_ms()) <= 0)
			break;
		if (e == ECONNREFUSED || noinotify) {
			usleep(e == ECONNREFUSED ? 1000 : 5000);
			continue;
		}
		if (in == -1) {
			/* watch first, then look again: no bind is missed */
			if ((in = dirwatch(path)) == -1) {
				if (errno != ENOSPC && errno != EMFILE &&
				    errno != ENOSYS && errno != ENOMEM)
					break;
				noinotify = 1;	/* out of watches: poll */
			}
			continue;
		}
		pfd[0].fd = in;
		pfd[0].events = POLLIN;
		pfd[1].fd = zk_supervisor_fd();	/* -1: ignored by poll */
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, left > 1000 ? 1000 : (int)left) == -1 &&
		    errno != EINTR)
			break;
		while (read(in, ev, sizeof(ev)) > 0)
			;	/* any event: look again */
	}
	e = errno;
	if (in != -1)
		close(in);
	errno = e;
	return fd;
}

/*
 * A TCP socket on the first address of host:port that takes it: dial
 * starts a connection without waiting for it (non-blocking, connect(2)
 * under way or done: the caller learns the outcome from the socket),
 * else it listens (host empty or NULL: every address).  -1 with errno
 * when no address of host would do.
 */
static int
tcpopen(const char *host, int port, int dial)
{
	struct addrinfo	 hints, *res, *ai;
	char		 sport[16];
	int		 fd = -1, one = 1, e = EADDRNOTAVAIL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = dial ? 0 : AI_PASSIVE;
	snprintf(sport, sizeof(sport), "%d", port);
	if (getaddrinfo(host && *host ? host : NULL, sport, &hints, &res) !=
	    0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    (dial ? SOCK_NONBLOCK : 0), 0)) == -1) {
			e = errno;
			continue;
		}
		if (dial) {
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
			    errno == EINPROGRESS)
				break;
		} else {
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one));
			/* accepted sockets inherit it (Linux): a peer's
			   small message goes at once, not after an ACK */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			if (ai->ai_family == AF_INET6)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &(int){0}, sizeof(int));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(fd, 1024) == 0)
				break;
		}
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = e;
	return fd;
}

int
zk_dial_tcp(const char *host, int port)
{
	return tcpopen(host, port, 1);
}

int
zk_listen_tcp(const char *host, int port)
{
	return tcpopen(host, port, 0);
}

/*
 * CRC-32C (Castagnoli): the SSE4.2 crc32 instruction where the CPU has
 * it (8 bytes a step), else slicing-by-8 tables; the same value as the
 * bitwise definition (reflected, polynomial 0x82f63b78, inverted in and
 * out) either way.  ZK_CRC_SOFT in the environment forces the tables
 * (for the tests).
 */
static uint32_t	 crctab[8][256];

static void
crcinit(void)
{
	uint32_t	 c;
	int		 i, j;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crctab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crctab[j][i] = (crctab[j - 1][i] >> 8) ^
			    crctab[0][crctab[j - 1][i] & 0xff];
}

static uint32_t
crcsoft(uint32_t crc, const unsigned char *p, size_t len)
{
	uint32_t	 lo, hi;

	for (; len > 0 && ((uintptr_t)p & 7) != 0; len--)
		crc = crctab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	for (; len >= 8; len -= 8, p += 8) {
		/* little-endian words, whatever the host's order */
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crctab[7][lo & 0xff] ^ crctab[6][(lo >> 8) & 0xff] ^
		    crctab[5][(lo >> 16) & 0xff] ^ crctab[4][lo >> 24] ^
		    crctab[3][hi & 0xff] ^ crctab[2][(hi >> 8) & 0xff] ^
		    crctab[1][(hi >> 16) & 0xff] ^ crctab[0][hi >> 24];
	}
	while (len--)
		crc = crctab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t
crchw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	 w, c = crc;

	for (; len > 0 && ((uintptr_t)p & 7) != 0; len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#define HAVE_CRCHW	1
#endif

uint32_t
zk_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int	 how;		/* 0 not yet, 1 tables, 2 sse4.2 */

	if (how == 0) {
#ifdef HAVE_CRCHW
		if (__builtin_cpu_supports("sse4.2") &&
		    getenv("ZK_CRC_SOFT") == NULL)
			how = 2;
		else
#endif
		{
			crcinit();
			how = 1;
		}
	}
#ifdef HAVE_CRCHW
	if (how == 2)
		return ~crchw(~crc, buf, len);
#endif
	return ~crcsoft(~crc, buf, len);
}

/*
 * Hex, lowercase: the n bytes at src as 2n digits and a NUL at dst
 * (session passwords on the lines between tools).
 */
void
zk_hexenc(char *dst, const void *src, size_t n)
{
	static const char	 dig[] = "0123456789abcdef";
	const unsigned char	*p = src;
	size_t			 i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = dig[p[i] >> 4];
		dst[2 * i + 1] = dig[p[i] & 15];
	}
	dst[2 * n] = '\0';
}

static int
hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The n bytes that s spells in exactly 2n hex digits (either case) into
 * dst; -1 with EINVAL for any other s, and then dst may be half written.
 */
int
zk_hexdec(void *dst, size_t n, const char *s)
{
	unsigned char	*p = dst;
	size_t		 i;
	int		 hi, lo;

	if (strnlen(s, 2 * n + 1) != 2 * n) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((hi = hexdigit((unsigned char)s[2 * i])) == -1 ||
		    (lo = hexdigit((unsigned char)s[2 * i + 1])) == -1) {
			errno = EINVAL;
			return -1;
		}
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static const struct {
	int		 code;
	const char	*name;
} ops[] = {
	{ ZOP_NOTIFICATION, "notification" }, { ZOP_CREATE, "create" },
	{ ZOP_DELETE, "delete" }, { ZOP_EXISTS, "exists" },
	{ ZOP_GETDATA, "getData" }, { ZOP_SETDATA, "setData" },
	{ ZOP_GETACL, "getACL" }, { ZOP_SETACL, "setACL" },
	{ ZOP_GETCHILDREN, "getChildren" }, { ZOP_SYNC, "sync" },
	{ ZOP_PING, "ping" }, { ZOP_GETCHILDREN2, "getChildren2" },
	{ ZOP_CHECK, "check" }, { ZOP_MULTI, "multi" },
	{ ZOP_CREATE2, "create2" }, { ZOP_RECONFIG, "reconfig" },
	{ ZOP_CHECKWATCHES, "checkWatches" },
	{ ZOP_REMOVEWATCHES, "removeWatches" },
	{ ZOP_CREATECONTAINER, "createContainer" },
	{ ZOP_DELETECONTAINER, "deleteContainer" },
	{ ZOP_CREATETTL, "createTTL" }, { ZOP_MULTIREAD, "multiRead" },
	{ ZOP_AUTH, "auth" }, { ZOP_SETWATCHES, "setWatches" },
	{ ZOP_SASL, "sasl" }, { ZOP_GETEPHEMERALS, "getEphemerals" },
	{ ZOP_GETALLCHILDRENNUMBER, "getAllChildrenNumber" },
	{ ZOP_SETWATCHES2, "setWatches2" }, { ZOP_ADDWATCH, "addWatch" },
	{ ZOP_WHOAMI, "whoAmI" }, { ZOP_CREATESESSION, "createSession" },
	{ ZOP_CLOSESESSION, "closeSession" }, { ZOP_ERROR, "error" },
};

const char *
zk_opname(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].code == code)
			return ops[i].name;
	return NULL;
}

int
zk_opcode(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].code;
	return -1000;
}

/* The ops that read the tree and change nothing (zk-streams(7)). */
int
zk_isreadop(int code)
{
	switch (code) {
	case ZOP_EXISTS: case ZOP_GETDATA: case ZOP_GETACL:
	case ZOP_GETCHILDREN: case ZOP_GETCHILDREN2:
	case ZOP_GETALLCHILDRENNUMBER: case ZOP_GETEPHEMERALS:
	case ZOP_MULTIREAD: case ZOP_CHECKWATCHES: case ZOP_REMOVEWATCHES:
	case ZOP_ADDWATCH: case ZOP_SETWATCHES: case ZOP_SETWATCHES2:
		return 1;
	}
	return 0;
}

/* The ops that change the tree: transactions in the log (zk-streams(7)). */
int
zk_iswriteop(int code)
{
	switch (code) {
	case ZOP_CREATE: case ZOP_DELETE: case ZOP_SETDATA: case ZOP_SETACL:
	case ZOP_CHECK: case ZOP_MULTI: case ZOP_CREATE2:
	case ZOP_CREATECONTAINER: case ZOP_DELETECONTAINER:
	case ZOP_CREATETTL: case ZOP_CREATESESSION: case ZOP_CLOSESESSION:
	case ZOP_RECONFIG:
		return 1;
	}
	return 0;
}

/*
 * A debug line, written whole (one write(2): the programs of a node
 * share its standard error).  With ZK_DEBUG_TIME set in the environment,
 * it begins with the wall clock (seconds.microseconds) and the program's
 * name, to set the lines of several nodes side by side.
 */
void
zk_dbg(const char *fmt, ...)
{
	static int	 stamp = -1;
	struct timespec	 ts;
	va_list		 ap;
	char		 line[1024];
	size_t		 n = 0;
	int		 r;

	if (!zk_debug)
		return;
	if (stamp == -1)
		stamp = getenv("ZK_DEBUG_TIME") != NULL;
	if (stamp && clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    (r = snprintf(line, sizeof(line), "%lld.%06ld %s ",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, getprogname())) > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if ((size_t)r < sizeof(line) - n - 1) {
		n += (size_t)r;
		line[n++] = '\n';
		(void)!write(STDERR_FILENO, line, n);
		return;
	}
	/* a long line (a request's data): in pieces, not cut */
	(void)!write(STDERR_FILENO, line, n);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
