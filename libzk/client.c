/*
 * client.c: a small synchronous client of the client port, for tools
 * (zk-cli) and tests.  One connection, one session, requests answered
 * in order; watch events that arrive meanwhile are queued.  Pings are
 * sent whenever the connection has been idle for a third of the session
 * timeout while the caller waits.  No reconnection: a lost connection
 * is an error the caller reports.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"

#define XID_WATCH	-1
#define XID_PING	-2

static int	zkc_io(struct zkclient *, int64_t);
static void	ping(struct zkclient *);

/* Split "host:port" (or "[v6]:port", or "host", port 2181) in place. */
static int
splithost(char *s, char **host, char **port)
{
	char	*p;

	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL)
			return -1;
		*p++ = '\0';
		*host = s + 1;
		if (*p == '\0')
			*port = "2181";
		else if (*p == ':' && p[1] != '\0')
			*port = p + 1;
		else
			return -1;
		return 0;
	}
	*host = s;
	if ((p = strrchr(s, ':')) == NULL)
		*port = "2181";
	else {
		*p = '\0';
		*port = p + 1;
		if (**port == '\0' || strchr(s, ':') != NULL)
			return -1;
	}
	return **host == '\0' ? -1 : 0;
}

/* A connected non-blocking socket to host:port, or -1 by the deadline. */
static int
dial(const char *host, const char *port, int64_t until)
{
	struct addrinfo	 hints, *res, *ai;
	struct pollfd	 pfd;
	socklen_t	 sl;
	int		 fd = -1, e = ECONNREFUSED, rc, one = 1;
	int64_t		 left;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (zk_nonblock(fd) == -1)
			goto fail;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		for (;;) {
			if ((left = until - zk_mono_ms()) <= 0) {
				errno = ETIMEDOUT;
				goto fail;
			}
			rc = poll(&pfd, 1, (int)left);
			if (rc == -1 && errno != EINTR)
				goto fail;
			if (rc > 0)
				break;
		}
		sl = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			goto fail;
		if (e == 0)
			break;
		errno = e;
fail:
		e = errno;
		close(fd);
		fd = -1;
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = e;
		return -1;
	}
	/* best effort: small requests should not wait for Nagle */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ConnectRequest, then ConnectResponse, by the deadline. */
static int
handshake(struct zkclient *c, int sessionms, int64_t until)
{
	static const unsigned char	 zero[16];
	const char			*body, *pw;
	struct jr			 r;
	size_t				 at, len;
	int				 rc;

	at = jw_frame_begin(&c->out);
	jw_int(&c->out, 0);			/* protocolVersion */
	jw_long(&c->out, 0);			/* lastZxidSeen */
	jw_int(&c->out, sessionms);
	jw_long(&c->out, 0);			/* sessionId: a new one */
	jw_buf(&c->out, zero, sizeof(zero));
	jw_bool(&c->out, 0);			/* readOnly */
	jw_frame_end(&c->out, at);
	if (c->out.err)
		return -1;
	for (;;) {
		if ((rc = zkframe_next(&c->in, ZK_MAXBUFFER, &body, &len)) ==
		    -1) {
			errno = EPROTO;
			return -1;
		}
		if (rc == 1)
			break;
		if (zkc_io(c, until) == -1) {
			/* it accepted, then closed: not a refused connect */
			if (errno == ECONNREFUSED)
				errno = ECONNRESET;
			return -1;
		}
		if (zk_mono_ms() >= until) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	jr_init(&r, body, len);
	(void)jr_int(&r);			/* protocolVersion */
	c->timeout = jr_int(&r);
	c->session = jr_long(&r);
	if (jr_buf(&r, &pw) != 16 || r.bad) {
		errno = EPROTO;
		return -1;
	}
	memcpy(c->passwd, pw, 16);
	zkbuf_consume(&c->in, 4 + len);
	if (c->timeout <= 0) {		/* the server refused the session */
		errno = ECONNABORTED;
		return -1;
	}
	return 0;
}

/*
 * Connect to the first server of hosts ("h:p,h:p,...") that answers
 * within connectms and open a session asking for sessionms.  On
 * failure -1 with errno of the last attempt: EINVAL a bad host list,
 * ECONNREFUSED nothing listening, ETIMEDOUT no answer in time,
 * ECONNRESET the server closed the connection before its
 * ConnectResponse, ECONNABORTED a ConnectResponse without a session
 * (timeout 0: the server refused it, e.g. it could not log it), EPROTO
 * a bad one.  c->addr names the server tried last either way.
 */
int
zkc_connect(struct zkclient *c, const char *hosts, int connectms,
    int sessionms)
{
	char	*list, *s, *next, *host, *port;
	int	 e = EINVAL;
	int64_t	 until;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	TAILQ_INIT(&c->events);
	if ((list = strdup(hosts)) == NULL)
		return -1;
	for (s = list; s != NULL; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		strlcpy(c->addr, s, sizeof(c->addr));
		if (splithost(s, &host, &port) == -1) {
			e = EINVAL;
			break;
		}
		until = zk_mono_ms() + connectms;
		if ((c->fd = dial(host, port, until)) == -1) {
			e = errno;
			continue;
		}
		if (handshake(c, sessionms, until) == 0)
			break;
		e = errno;
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		zkbuf_reset(&c->in);
		zkbuf_reset(&c->out);
	}
	free(list);
	if (c->fd == -1) {
		zkbuf_free(&c->in);
		zkbuf_free(&c->out);
		errno = e;
		return -1;
	}
	c->lastsend = zk_mono_ms();
	return 0;
}

/* Start a request; append its record to the buffer returned. */
struct zkbuf *
zkc_beginx(struct zkclient *c, int32_t xid, int32_t type)
{
	c->frame = jw_frame_begin(&c->out);
	c->cxid = xid;
	jw_int(&c->out, xid);
	jw_int(&c->out, type);
	return &c->out;
}

struct zkbuf *
zkc_begin(struct zkclient *c, int32_t type)
{
	return zkc_beginx(c, ++c->xid, type);
}

static int
lost(struct zkclient *c, int e)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	errno = e;
	return -1;
}

/*
 * Flush what is pending, then read what has come, waiting until the
 * deadline for either.  0 when
 * something happened or the deadline passed, -1 when the connection is
 * gone.  EINTR returns 0 so callers can look at their flags.
 */
static int
zkc_io(struct zkclient *c, int64_t until)
{
	struct pollfd	 pfd;
	int64_t		 left;
	ssize_t		 n;
	int		 rc;

	if (c->fd == -1) {
		errno = ENOTCONN;
		return -1;
	}
	if (c->out.err || c->in.err)
		return lost(c, ENOMEM);
	if (ZKBUF_LEN(&c->out) > 0) {
		if (zkbuf_flush(&c->out, c->fd) == -1)
			return lost(c, errno);
		c->lastsend = zk_mono_ms();
	}
	pfd.fd = c->fd;
	pfd.events = POLLIN | (ZKBUF_LEN(&c->out) > 0 ? POLLOUT : 0);
	left = until - zk_mono_ms();
	if (left > INT_MAX)
		left = INT_MAX;
	rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
	if (rc == -1)
		return errno == EINTR ? 0 : lost(c, errno);
	if (rc == 0)
		return 0;
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((n = zkbuf_read(&c->in, c->fd)) == -1) {
			if (errno == EAGAIN)
				return 0;
			return lost(c, errno);
		}
		if (n == 0)
			return lost(c, ECONNRESET);
	}
	return 0;
}

/* Queue a WatcherEvent frame. */
static int
queue_event(struct zkclient *c, struct jr *r)
{
	struct zkevent	*ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -1;
	ev->type = jr_int(r);
	ev->state = jr_int(r);
	ev->path = jr_strdup(r);
	if (r->bad || ev->path == NULL) {
		free(ev->path);
		free(ev);
		errno = EPROTO;
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->events, ev, entry);
	return 0;
}

/*
 * The next frame that is not an event or a ping reply: 1 and the reply
 * (its body valid until the next call), 0 at the deadline, -1 when the
 * connection is gone or a frame is bad.  Pings go out while waiting.
 */
static int
next_reply(struct zkclient *c, int64_t until, struct zkreply *rep,
    int eventstop)
{
	const char	*body;
	size_t		 len;
	int		 rc;
	int64_t		 now;

	if (c->consume > 0) {
		zkbuf_consume(&c->in, c->consume);
		c->consume = 0;
	}
	for (;;) {
		while ((rc = zkframe_next(&c->in, 64 << 20, &body, &len)) ==
		    1) {
			jr_init(&rep->r, body, len);
			rep->xid = jr_int(&rep->r);
			rep->zxid = jr_long(&rep->r);
			rep->err = jr_int(&rep->r);
			if (rep->r.bad)
				return lost(c, EPROTO);
			if (rep->zxid > c->lastzxid)
				c->lastzxid = rep->zxid;
			if (rep->xid == XID_WATCH) {
				if (queue_event(c, &rep->r) == -1)
					return lost(c, errno);
				zkbuf_consume(&c->in, 4 + len);
				if (eventstop)
					return 0;
				continue;
			}
			if (rep->xid == XID_PING) {
				zkbuf_consume(&c->in, 4 + len);
				continue;
			}
			c->consume = 4 + len;
			return 1;
		}
		if (rc == -1)
			return lost(c, EPROTO);
		now = zk_mono_ms();
		if (now >= until)
			return 0;
		if (c->timeout > 0 && now - c->lastsend >= c->timeout / 3 &&
		    ZKBUF_LEN(&c->out) == 0) {
			ping(c);
			continue;
		}
		if (zkc_io(c, c->timeout > 0 && c->lastsend + c->timeout / 3 <
		    until ? c->lastsend + c->timeout / 3 : until) == -1)
			return -1;
		if (eventstop && c->intr != NULL && *c->intr)
			return 0;
	}
}

/*
 * Keep an idle session alive: ping when a third of the timeout has
 * passed since the last request, and take what has arrived (events are
 * queued, ping replies dropped).  Waits at most about a millisecond.
 */
int
zkc_keepalive(struct zkclient *c)
{
	struct zkreply	 rep;

	if (c->fd == -1 || c->timeout <= 0)
		return 0;
	return next_reply(c, zk_mono_ms() + 1, &rep, 0) == -1 ? -1 : 0;
}

static void
ping(struct zkclient *c)
{
	size_t	 at;

	at = jw_frame_begin(&c->out);
	jw_int(&c->out, XID_PING);
	jw_int(&c->out, ZOP_PING);
	jw_frame_end(&c->out, at);
	c->lastsend = zk_mono_ms();	/* zkc_io flushes it */
}

/*
 * Send the request begun with zkc_begin and wait for its reply, at most
 * two thirds of the session timeout (as Apache's clients do).  0 with
 * rep filled (rep->err is ZooKeeper's code; rep->r reads the body,
 * valid until the next call), -1 with errno when the connection is
 * gone (ETIMEDOUT: no answer in time; EPROTO: a reply out of order or
 * malformed).
 */
int
zkc_call(struct zkclient *c, struct zkreply *rep)
{
	int64_t	 until;
	int	 rc;

	if (c->fd == -1) {
		errno = ENOTCONN;
		return -1;
	}
	jw_frame_end(&c->out, c->frame);
	if (c->out.err)
		return lost(c, ENOMEM);
	until = zk_mono_ms() + (c->timeout > 0 ? c->timeout * 2 / 3 : 10000);
	for (;;) {
		rc = next_reply(c, until, rep, 0);
		if (rc == -1)
			return -1;
		if (rc == 1)
			break;
		if (zk_mono_ms() >= until)
			return lost(c, ETIMEDOUT);
	}
	if (rep->xid != c->cxid)
		return lost(c, EPROTO);
	return 0;
}

/*
 * Wait up to ms for a watch event: 1 when one is queued (zkc_event), 0
 * at the deadline or when a signal came, -1 when the connection is gone
 * or the server sent a reply nobody asked for.
 */
int
zkc_wait(struct zkclient *c, int ms)
{
	struct zkreply	 rep;
	int64_t		 until = zk_mono_ms() + ms;
	int		 rc;

	while (TAILQ_EMPTY(&c->events)) {
		if (ms >= 0 && zk_mono_ms() >= until)
			return 0;
		rc = next_reply(c, ms < 0 ? INT64_MAX : until, &rep, 1);
		if (rc == -1)
			return -1;
		if (rc == 1)
			return lost(c, EPROTO);
		if (c->intr != NULL && *c->intr)
			break;
	}
	return !TAILQ_EMPTY(&c->events);
}

/* The oldest queued event, or NULL; free it with zkc_event_free. */
struct zkevent *
zkc_event(struct zkclient *c)
{
	struct zkevent	*ev;

	if ((ev = TAILQ_FIRST(&c->events)) != NULL)
		TAILQ_REMOVE(&c->events, ev, entry);
	return ev;
}

void
zkc_event_free(struct zkevent *ev)
{
	if (ev == NULL)
		return;
	free(ev->path);
	free(ev);
}

/* closeSession (waiting briefly for its reply), then free everything. */
void
zkc_close(struct zkclient *c)
{
	struct zkreply	 rep;
	struct zkevent	*ev;
	int		 t;

	if (c->fd != -1) {
		t = c->timeout;
		c->timeout = 3000;	/* do not wait long on the way out */
		zkc_begin(c, ZOP_CLOSESESSION);
		(void)zkc_call(c, &rep);
		c->timeout = t;
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
	}
	while ((ev = zkc_event(c)) != NULL)
		zkc_event_free(ev);
	zkbuf_free(&c->in);
	zkbuf_free(&c->out);
}

/*
 * A four-letter word to one server, host:port: its answer, read to the
 * end (at most WORDMAX bytes), appended to out.  0, or -1 (errno;
 * ETIMEDOUT past ms, EMSGSIZE for a longer answer).
 */
#define WORDMAX		(1 << 20)
int
zkc_word(const char *hostport, const char *word, int ms, struct zkbuf *out)
{
	struct pollfd	 pfd;
	char		*s, *host, *port, buf[4096];
	int64_t		 until = zk_mono_ms() + ms, left;
	ssize_t		 n;
	size_t		 off = 0, got = 0, wlen = strlen(word);
	int		 fd, e;

	if ((s = strdup(hostport)) == NULL)
		return -1;
	if (splithost(s, &host, &port) == -1) {
		free(s);
		errno = EINVAL;
		return -1;
	}
	fd = dial(host, port, until);
	e = errno;
	free(s);
	if (fd == -1) {
		errno = e;
		return -1;
	}
	pfd.fd = fd;
	for (;;) {
		if ((left = until - zk_mono_ms()) <= 0) {
			e = ETIMEDOUT;
			break;
		}
		pfd.events = off < wlen ? POLLOUT : POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (off < wlen) {
			if ((n = write(fd, word + off, wlen - off)) == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				e = errno;
				break;
			}
			off += (size_t)n;
			continue;
		}
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (n == 0) {
			e = 0;
			break;
		}
		if ((got += (size_t)n) > WORDMAX) {
			e = EMSGSIZE;
			break;
		}
		zkbuf_add(out, buf, (size_t)n);
	}
	close(fd);
	if (e == 0 && out->err)
		e = out->err;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}
