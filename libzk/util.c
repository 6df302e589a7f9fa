/* util.c: clocks, sockets, checksums, names */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Connect, retrying for up to wait_ms while the peer is not up yet. */
int
zk_connect_unix(const char *path, int wait_ms)
{
	struct sockaddr_un	 sun;
	int64_t			 until = zk_mono_ms() + wait_ms;
	int			 fd, e;

	if (unaddr(&sun, path) == -1)
		return -1;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED) ||
		    zk_mono_ms() >= until) {
			errno = e;
			return -1;
		}
		usleep(20000);
	}
}

int
zk_listen_tcp(const char *host, int port)
{
	struct addrinfo	 hints, *res, *ai;
	char		 sport[16];
	int		 fd = -1, one = 1, e, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(sport, sizeof(sport), "%d", port);
	if ((rc = getaddrinfo(host && *host ? host : NULL, sport, &hints,
	    &res)) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	e = EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0},
			    sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = e;
	return fd;
}

/* CRC-32C (Castagnoli), table-driven. */
uint32_t
zk_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t		 t[256];
	static int		 ready;
	const unsigned char	*p = buf;
	uint32_t		 c;
	int			 i, j;

	if (!ready) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (j = 0; j < 8; j++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
			t[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	while (len--)
		crc = t[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
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

void
zk_dbg(const char *fmt, ...)
{
	va_list	 ap;

	if (!zk_debug)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
