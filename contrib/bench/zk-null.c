/*
 * zk-null: a ZooKeeper server that does nothing, the floor of what a
 * client measures.  One thread, nonblocking sockets on one epoll set,
 * listening on 127.0.0.1:port; it speaks just enough of the client
 * protocol for zk-bench:
 *
 *	zk-null [-f file] -p port
 *
 * A ConnectRequest gets a ConnectResponse (protocolVersion 0, the timeout
 * asked for, a fresh session id, a 16-byte password of zeros, readOnly 0);
 * every request after it a reply header (its xid, zxid a counter, err 0)
 * and a canned body: getData a 100-byte value of zeros and a zero Stat,
 * setData and exists a zero Stat, create its path, closeSession nothing
 * (the connection is closed once the reply is written), anything else
 * (delete, ping, ...) nothing.  Nothing is stored and no watch is kept.
 * A frame longer than INMAX bytes or too short for its request closes
 * its connection.
 *
 * With -f the floor is that of a durable server: every request that
 * changes state in a real one (a ConnectRequest of a new session, create,
 * delete, setData, closeSession) appends a record, its frame, to file,
 * and its reply, with everything after it on its connection, is held
 * until the record is durable.  The records of one epoll pass go out with
 * one pwrite(2) (one per LOGBUF bytes) and one fdatasync(2) at its end
 * (group commit, as zk-log and Apache do), then the held replies are
 * sent.  file is preallocated to LOGSIZE bytes and written from offset 0,
 * wrapping to 0 at its end: it is a floor, not a log, and nothing ever
 * reads it.
 */

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "wire.h"

#define INMAX	16384		/* a connection's input: a frame, at most */
#define OUTMAX	65536		/* its output, replies not yet sent */
#define DATALEN	100		/* getData's value: zk-bench's default size */
#define STATLEN	68		/* a Stat: 6 longs, 5 ints */
#define REPLYMAX (4 + 16 + 4 + INMAX)	/* a reply: create's, its path */
#define EVS	256		/* events per epoll_wait */
#define ACCEPTS	64		/* connections accepted per wake-up */
#define LOGSIZE	(64 << 20)	/* -f's file, preallocated */
#define LOGBUF	(1 << 20)	/* records not yet written */

enum { C_HELLO, C_OPEN, C_BYE };

struct conn {
	int		fd;
	int		state;
	uint32_t	events;		/* asked of epoll */
	size_t		nin, nout;
	int		held;		/* output from nfree on waits a sync */
	size_t		nfree;		/* output not held, while held */
	LIST_ENTRY(conn) entry;		/* on held, while held */
	unsigned char	in[INMAX];
	unsigned char	out[OUTMAX];
};

static int	 ep;
static uint64_t	 sessions, zxid;

/* -f: the records of this pass and the connections they hold */
static const char	*logpath;
static int		 logfd = -1;
static off_t		 logoff;
static size_t		 nrec;
static unsigned char	 rec[LOGBUF];
static LIST_HEAD(, conn) held = LIST_HEAD_INITIALIZER(held);

static void
usage(void)
{
	fprintf(stderr, "usage: zk-null [-f file] -p port\n");
	exit(EX_USAGE);
}

/* n zero bytes at *p. */
static void
put0(unsigned char **p, size_t n)
{
	memset(*p, 0, n);
	*p += n;
}

/* Write the records of rec to the file, at logoff or, past its end, at 0. */
static void
logwrite(void)
{
	size_t	off = 0;
	ssize_t	w;

	if (logoff + (off_t)nrec > LOGSIZE)
		logoff = 0;
	while (off < nrec) {
		if ((w = pwrite(logfd, rec + off, nrec - off,
		    logoff + (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_OSERR, "pwrite %s", logpath);
		}
		off += w;
	}
	logoff += nrec;
	nrec = 0;
}

/*
 * With -f, the request b (n bytes) changes state: its record goes to rec
 * and c's output from here on is held until the pass's sync.  Call it
 * before its reply is queued.
 */
static void
hold(struct conn *c, const unsigned char *b, size_t n)
{
	unsigned char	*p;

	if (logfd == -1)
		return;
	if (LOGBUF - nrec < 4 + n)	/* 4 + n <= INMAX: fits once written */
		logwrite();
	p = rec + nrec;
	put32(&p, n);
	memcpy(p, b, n);
	nrec += 4 + n;
	if (!c->held) {
		c->held = 1;
		c->nfree = c->nout;
		LIST_INSERT_HEAD(&held, c, entry);
	}
}

/* A ConnectRequest b (n bytes): its ConnectResponse queued; -1 if none. */
static int
hello(struct conn *c, const unsigned char *b, size_t n)
{
	unsigned char	*p = c->out + c->nout;

	/* protocolVersion, lastZxidSeen, timeOut, sessionId, passwd[, ro] */
	if (n < 28 || n - 28 < get32(b + 24))
		return -1;
	if (get32(b + 16) == 0 && get32(b + 20) == 0)	/* a new session */
		hold(c, b, n);
	put32(&p, 4 + 4 + 8 + 4 + 16 + 1);
	put32(&p, 0);
	put32(&p, get32(b + 12));
	put64(&p, ++sessions);
	put32(&p, 16);
	put0(&p, 16 + 1);		/* the password, readOnly */
	c->nout = p - c->out;
	c->state = C_OPEN;
	return 0;
}

/* A request b (n bytes): its reply queued; -1 for a malformed one. */
static int
reply(struct conn *c, const unsigned char *b, size_t n)
{
	unsigned char	*p = c->out + c->nout + 4, *len = c->out + c->nout;
	uint32_t	 plen = 0;
	int32_t		 type;

	if (n < 8)
		return -1;
	type = get32(b + 4);
	if (type >= 1 && type <= 5 &&	/* a path first */
	    (n < 12 || n - 12 < (plen = get32(b + 8))))
		return -1;
	if (type == 1 || type == 2 || type == 5 || type == -11)
		hold(c, b, n);		/* create, delete, setData, close */
	memcpy(p, b, 4);		/* xid */
	p += 4;
	put64(&p, ++zxid);
	put32(&p, 0);			/* err */
	switch (type) {
	case 1:				/* create */
		put32(&p, plen);
		memcpy(p, b + 12, plen);
		p += plen;
		break;
	case 4:				/* getData */
		put32(&p, DATALEN);
		put0(&p, DATALEN + STATLEN);
		break;
	case 3:				/* exists */
	case 5:				/* setData */
		put0(&p, STATLEN);
		break;
	case -11:			/* closeSession */
		c->state = C_BYE;
		break;
	}
	put32(&len, p - len - 4);
	c->nout = p - c->out;
	return 0;
}

/*
 * Answer the whole frames in c's input while the longest reply fits in
 * its output; 0, or -1 for a frame too long or malformed.
 */
static int
answer(struct conn *c)
{
	size_t		rd = 0;
	uint32_t	len;
	int		r;

	while (c->state != C_BYE && c->nin - rd >= 4 &&
	    OUTMAX - c->nout >= REPLYMAX) {
		if ((len = get32(c->in + rd)) > INMAX - 4)
			return -1;
		if (c->nin - rd - 4 < len)
			break;
		if (c->state == C_HELLO)
			r = hello(c, c->in + rd + 4, len);
		else
			r = reply(c, c->in + rd + 4, len);
		if (r == -1)
			return -1;
		rd += 4 + len;
	}
	memmove(c->in, c->in + rd, c->nin - rd);
	c->nin -= rd;
	return 0;
}

/* The peer is gone, or broke the connection: close it, not fail. */
static int
gone(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ETIMEDOUT;
}

/* The bytes of c's output that may be sent: those not held. */
static size_t
ready(const struct conn *c)
{
	return c->held ? c->nfree : c->nout;
}

/* Send what c's output holds, not held, or what the socket takes: 0, or
 * -1 when the peer is gone. */
static int
flush(struct conn *c)
{
	size_t	off = 0;
	ssize_t	w;

	while (off < ready(c)) {	/* each pass sends, or stops */
		if ((w = send(c->fd, c->out + off, ready(c) - off,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			if (gone(errno))
				return -1;
			err(EX_OSERR, "send");
		}
		off += w;
	}
	memmove(c->out, c->out + off, c->nout - off);
	c->nout -= off;
	if (c->held)
		c->nfree -= off;
	return 0;
}

static void
drop(struct conn *c)
{
	if (c->held)		/* its records are written all the same */
		LIST_REMOVE(c, entry);
	if (close(c->fd) == -1)		/* off the epoll set too */
		err(EX_OSERR, "close");
	free(c);
}

static void
arm(struct conn *c, int op, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ep, op, c->fd, &ev) == -1)
		err(EX_OSERR, "epoll_ctl");
	c->events = events;
}

/*
 * Answer and send until neither gets further, then ask epoll for what c
 * waits on: input while a reply has room, output while some waits.  -1
 * when c is to be closed.
 */
static int
pump(struct conn *c)
{
	uint32_t	want;
	size_t		nout;

	do {			/* each pass sends, or it is the last */
		if (answer(c) == -1)
			return -1;
		nout = c->nout;
		if (flush(c) == -1)
			return -1;
	} while (c->nout < nout && c->nin >= 4);
	if (c->state == C_BYE && c->nout == 0)
		return -1;
	want = ready(c) > 0 ? EPOLLOUT : 0;
	if (c->state != C_BYE && OUTMAX - c->nout >= REPLYMAX)
		want |= EPOLLIN;
	if (want != c->events)
		arm(c, EPOLL_CTL_MOD, want);
	return 0;
}

/* Events ev on c. */
static void
serve(struct conn *c, uint32_t ev)
{
	ssize_t	r;

	if ((ev & (EPOLLERR | EPOLLHUP)) != 0) {
		drop(c);
		return;
	}
	if ((ev & EPOLLIN) != 0 && c->state != C_BYE && c->nin < INMAX) {
		r = recv(c->fd, c->in + c->nin, INMAX - c->nin, 0);
		if (r == 0 || (r == -1 && gone(errno))) {
			drop(c);
			return;
		}
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			err(EX_OSERR, "recv");
		if (r > 0)
			c->nin += r;
	}
	if (pump(c) == -1)
		drop(c);
}

/*
 * The end of a pass: write its records, make them durable with one
 * fdatasync, then let the connections they held answer and send.  One
 * that answers a new write meanwhile is held again, at the head of held,
 * before the next one here: it waits for the next pass's sync.
 */
static void
commit(void)
{
	struct conn	*c, *next;

	if (LIST_EMPTY(&held))
		return;
	logwrite();
	if (fdatasync(logfd) == -1)
		err(EX_OSERR, "fdatasync %s", logpath);
	for (c = LIST_FIRST(&held); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		LIST_REMOVE(c, entry);
		c->held = 0;
		if (pump(c) == -1)	/* touches c alone, next stays */
			drop(c);
	}
}

/* Accept what connections wait, ACCEPTS at most (epoll says the rest). */
static void
welcome(int lfd)
{
	struct conn	*c;
	int		 fd, i, one = 1;

	for (i = 0; i < ACCEPTS; i++) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(EX_OSERR, "accept4");
		}
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one) == -1)
			err(EX_OSERR, "setsockopt");
		if ((c = malloc(sizeof *c)) == NULL)
			err(EX_OSERR, "malloc");
		c->fd = fd;
		c->state = C_HELLO;
		c->nin = c->nout = 0;
		c->held = 0;
		arm(c, EPOLL_CTL_ADD, EPOLLIN);
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev[EVS];
	struct sockaddr_in	 sin;
	struct rlimit		 rl;
	char			*end;
	long			 port = 0;
	int			 ch, lfd, i, n, tmo, one = 1;

	while ((ch = getopt(argc, argv, "f:p:")) != -1) {
		switch (ch) {
		case 'f':
			logpath = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    port < 1 || port > 65535)
				errx(EX_USAGE, "port is invalid: %s", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0)
		usage();
	if (logpath != NULL) {
		if ((logfd = open(logpath, O_RDWR | O_CREAT | O_CLOEXEC,
		    0644)) == -1)
			err(EX_OSERR, "open %s", logpath);
		if ((errno = posix_fallocate(logfd, 0, LOGSIZE)) != 0)
			err(EX_OSERR, "posix_fallocate %s", logpath);
		if (fsync(logfd) == -1)	/* its size: not the first pass's */
			err(EX_OSERR, "fsync %s", logpath);
	}
	/* as many connections as the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(EX_OSERR, "getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(EX_OSERR, "setrlimit");
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(EX_OSERR, "socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
		err(EX_OSERR, "setsockopt");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1)
		err(EX_OSERR, "bind 127.0.0.1:%ld", port);
	if (listen(lfd, 4096) == -1)
		err(EX_OSERR, "listen");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(EX_OSERR, "epoll_create1");
	memset(&ev[0], 0, sizeof ev[0]);
	ev[0].events = EPOLLIN;
	ev[0].data.ptr = NULL;		/* the listening socket */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev[0]) == -1)
		err(EX_OSERR, "epoll_ctl");
	for (;;) {			/* until a signal ends it */
		/* no sleep while records wait for their sync */
		tmo = LIST_EMPTY(&held) ? -1 : 0;
		if ((n = epoll_wait(ep, ev, EVS, tmo)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_OSERR, "epoll_wait");
		}
		for (i = 0; i < n; i++)
			if (ev[i].data.ptr == NULL)
				welcome(lfd);
			else
				serve(ev[i].data.ptr, ev[i].events);
		commit();
	}
}
