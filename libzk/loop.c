/*
 * loop.c: one epoll(7) loop per daemon.  Each pass reads everything the
 * ready sockets hold, hands it to their onread callbacks, then writes
 * every connection's pending output with one write(2): replies produced
 * for many records leave together.  The kernel keeps the interest list,
 * so a pass costs the ready sockets, not every open one: a gate with
 * thousands of idle clients wakes for the few that spoke.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <err.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "zk.h"

struct listener {
	int		 fd;
	void		(*onaccept)(struct zkloop *, int, void *);
	void		*arg;
};

#define MAXEVENTS	256	/* ready sockets taken per epoll_wait */
#define ACCEPTPAUSE	10	/* ms without accepting when out of fds */
#define ACCEPTWARN	10000	/* ms between two warnings of that */
#define NSPARE		8	/* input buffers kept for the next reads */
#define SPARECAP	(4 << 20) /* ... if no bigger than this */
#define LINGERMS	2000	/* a closed peer's input read this long */

struct zkloop {
	TAILQ_HEAD(, zkconn)	 live;		/* open: every one reachable */
	TAILQ_HEAD(, zkconn)	 dead;		/* closed, freed next pass */
	TAILQ_HEAD(, zkconn)	 queue;		/* output, closing or pause */
	TAILQ_HEAD(, zkconn)	 lingering;	/* closed, reading to the end */
	struct listener		*l;
	size_t			 nl;
	int			 ep;		/* the epoll instance */
	int			 accepted;	/* fd from accept4, non-blocking */
	int			 forks;		/* children may hold our sockets */
	struct sockaddr_storage	 peer;		/* the accepted one's address */
	socklen_t		 peerlen;
	uint64_t		 seq;		/* connections opened */
	struct zkbuf		 spare[NSPARE];	/* empty input buffers */
	int			 nspare;
	int64_t			 acceptpause;	/* listeners off until then */
	int64_t			 acceptwarn;	/* last warning of that */
	int			 supwatch;	/* the supervisor's pidfd watched */
	int			 orphaned;	/* ... and it fired */
	struct epoll_event	 ev[MAXEVENTS];
};

/* A listener's epoll tag: its index, odd; a zkconn's is its (even) address;
 * the supervisor's pidfd (zk_supervisor_fd) has one of its own. */
#define LTAG(i)		(((uint64_t)(i) << 1) | 1)
#define SUPTAG		UINT64_MAX

/*
 * The ready sockets of a pass are served listeners first, then in the
 * order their connections were opened, as a poll(2) array would: which
 * of two peers' lines a daemon takes first does not depend on the order
 * the kernel happened to queue them.
 */
static int
evcmp(const void *a, const void *b)
{
	uint64_t	 x = ((const struct epoll_event *)a)->data.u64;
	uint64_t	 y = ((const struct epoll_event *)b)->data.u64;

	if ((x & 1) != (y & 1))
		return (x & 1) ? -1 : 1;	/* the listener first */
	if (x & 1)
		return (x > y) - (x < y);	/* listeners by index, pidfd last */
	x = ((const struct zkconn *)(uintptr_t)x)->seq;
	y = ((const struct zkconn *)(uintptr_t)y)->seq;
	return (x > y) - (x < y);
}

static int
watch(struct zkloop *lp, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = tag;
	return epoll_ctl(lp->ep, op, fd, &ev);
}

/*
 * A connection that needs the end of the pass (output to write, a close
 * or a pause to apply) is queued; a pass looks at the queued ones only,
 * so thousands of idle clients cost nothing.  Output queues itself: the
 * out buffer calls onfill before every append.
 */
static void
enqueue(struct zkconn *c)
{
	if (c->queued || c->dead)
		return;
	c->queued = 1;
	TAILQ_INSERT_TAIL(&c->loop->queue, c, qentry);
}

static void
onfill(struct zkbuf *b)
{
	enqueue((struct zkconn *)(void *)((char *)b -
	    offsetof(struct zkconn, out)));
}

struct zkloop *
zkloop_new(void)
{
	struct zkloop	*lp;
	int		 fd, e;

	if ((lp = calloc(1, sizeof(*lp))) == NULL)
		return NULL;
	if ((lp->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(lp);
		return NULL;
	}
	TAILQ_INIT(&lp->live);
	TAILQ_INIT(&lp->dead);
	TAILQ_INIT(&lp->queue);
	TAILQ_INIT(&lp->lingering);
	lp->accepted = -1;
	/* the supervisor's death wakes the loop at once */
	if ((fd = zk_supervisor_fd()) >= 0) {
		if (watch(lp, EPOLL_CTL_ADD, fd, EPOLLIN, SUPTAG) == -1) {
			e = errno;
			close(lp->ep);
			free(lp);
			errno = e;
			return NULL;
		}
		lp->supwatch = 1;
	}
	return lp;
}

struct zkconn *
zkloop_conn(struct zkloop *lp, int fd, void (*onread)(struct zkconn *),
    void (*onclose)(struct zkconn *), void *arg)
{
	struct zkconn	*c;

	if (fd != lp->accepted && zk_nonblock(fd) == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	c->onread = onread;
	c->onclose = onclose;
	c->arg = arg;
	c->loop = lp;
	c->out.onfill = onfill;
	c->seq = lp->seq++;
	c->events = EPOLLIN;
	if (watch(lp, EPOLL_CTL_ADD, fd, c->events, (uint64_t)(uintptr_t)c)
	    == -1) {
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&lp->live, c, entry);
	return c;
}

int
zkloop_listen(struct zkloop *lp, int fd,
    void (*onaccept)(struct zkloop *, int, void *), void *arg)
{
	struct listener	*l;

	if (zk_nonblock(fd) == -1)
		return -1;
	if ((l = reallocarray(lp->l, lp->nl + 1, sizeof(*l))) == NULL)
		return -1;
	lp->l = l;
	if (watch(lp, EPOLL_CTL_ADD, fd, EPOLLIN, LTAG(lp->nl)) == -1)
		return -1;
	l[lp->nl].fd = fd;
	l[lp->nl].onaccept = onaccept;
	l[lp->nl].arg = arg;
	lp->nl++;
	return 0;
}

/* Close once the pending output is written. */
void
zkloop_close(struct zkconn *c)
{
	c->closing = 1;
	enqueue(c);
}

/*
 * Stop (1) or resume (0) reading c: back-pressure.  Lazily: epoll keeps
 * watching for input until some comes while c is paused, so a pause that
 * no input meets (a client waiting for its ConnectResponse) costs no
 * epoll_ctl(2), nor does the resume after it.
 */
void
zkloop_pause(struct zkconn *c, int on)
{
	if (c->noread == on)
		return;
	c->noread = on;
	if (!on && !(c->events & EPOLLIN))
		enqueue(c);
}

/*
 * The owner owes c's peer an answer that comes later (1), or no longer
 * (0).  While it does, the peer's end of input (a client that wrote its
 * request and shut down its write side) only stops the reading: c is
 * closed once the answer is written, not at once.
 */
void
zkloop_owe(struct zkconn *c, int on)
{
	c->owe = on;
	if (!on && c->eof)
		zkloop_close(c);
}

/*
 * This program forks children that may still hold its sockets: a socket
 * is then taken off the epoll set before it is closed, or epoll would go
 * on reporting it, for the child's copy, with a freed zkconn's address.
 */
void
zkloop_forks(struct zkloop *lp)
{
	lp->forks = 1;
}

/* The address of the connection being accepted (for onaccept). */
const struct sockaddr *
zkloop_peer(struct zkloop *lp, socklen_t *len)
{
	*len = lp->peerlen;
	return (const struct sockaddr *)&lp->peer;
}

/*
 * Read what the peer already sent before closing: closing a socket with
 * unread input makes the kernel send a reset, and the peer then loses
 * the replies still in flight.  Bounded; the fd is non-blocking.
 */
static void
drain(int fd)
{
	char	 tmp[4096];
	int	 i;

	for (i = 0; i < 16; i++)
		if (read(fd, tmp, sizeof(tmp)) <= 0)
			break;
}

/* Close now; onclose runs once.  The zkconn stays valid until the next
 * zkloop_run, so callers may still look at it. */
void
zkloop_kill(struct zkconn *c)
{
	if (c->dead)
		return;
	if (c->queued) {
		TAILQ_REMOVE(&c->loop->queue, c, qentry);
		c->queued = 0;
	}
	c->dead = 1;
	TAILQ_REMOVE(&c->loop->live, c, entry);
	if (c->onclose != NULL)
		c->onclose(c);
	/*
	 * A connection we close on purpose, its output written: what its
	 * peer sends after our last reply (a request that crossed our close)
	 * would make the kernel answer with a reset, which can reach the
	 * peer before it has read our reply and end.  So shut our side only,
	 * read and drop the peer's until it closes (or LINGERMS), then close.
	 */
	if (c->linger && c->closing && ZKBUF_LEN(&c->out) == 0 &&
	    !c->loop->forks && shutdown(c->fd, SHUT_WR) == 0 &&
	    watch(c->loop, EPOLL_CTL_MOD, c->fd, EPOLLIN,
	    (uint64_t)(uintptr_t)c) == 0) {
		c->lingering = 1;
		c->lingerto = zk_mono_ms() + LINGERMS;
		TAILQ_INSERT_TAIL(&c->loop->lingering, c, entry);
		return;
	}
	TAILQ_INSERT_TAIL(&c->loop->dead, c, entry);
	drain(c->fd);
	if (c->loop->forks)	/* see zkloop_forks */
		(void)epoll_ctl(c->loop->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* A lingering connection's end: close it, free it next pass. */
static void
unlinger(struct zkloop *lp, struct zkconn *c)
{
	TAILQ_REMOVE(&lp->lingering, c, entry);
	c->lingering = 0;
	close(c->fd);
	c->fd = -1;
	TAILQ_INSERT_TAIL(&lp->dead, c, entry);
}

/* Read and drop a lingering connection's input; its end closes it. */
static void
lingerread(struct zkloop *lp, struct zkconn *c)
{
	char	 tmp[4096];
	ssize_t	 r;
	int	 i;

	for (i = 0; i < 16; i++) {
		r = read(c->fd, tmp, sizeof(tmp));
		if (r > 0)
			continue;
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			unlinger(lp, c);
		return;
	}
}

static void
reap(struct zkloop *lp)
{
	struct zkconn	*c;

	while ((c = TAILQ_FIRST(&lp->dead)) != NULL) {
		TAILQ_REMOVE(&lp->dead, c, entry);
		zkbuf_free(&c->in);
		zkbuf_free(&c->out);
		free(c);
	}
}

/*
 * Close every connection (their onclose runs) and free the loop; the
 * listeners' descriptors stay the caller's.
 */
void
zkloop_free(struct zkloop *lp)
{
	struct zkconn	*c;

	if (lp == NULL)
		return;
	while ((c = TAILQ_FIRST(&lp->live)) != NULL)
		zkloop_kill(c);
	while ((c = TAILQ_FIRST(&lp->lingering)) != NULL)
		unlinger(lp, c);
	reap(lp);
	while (lp->nspare > 0)
		zkbuf_free(&lp->spare[--lp->nspare]);
	free(lp->l);
	close(lp->ep);
	free(lp);
}

/*
 * Write what the queued connections hold, now, as far as their sockets
 * take it: for a caller about to block (on fsync) while its peers could
 * be working.  Nothing is closed and no callback runs; an error, and
 * what is left, are the pass's flushall's.
 */
void
zkloop_push(struct zkloop *lp)
{
	struct zkconn	*c;

	TAILQ_FOREACH(c, &lp->queue, qentry)
		if (!c->out.err && ZKBUF_LEN(&c->out) > 0)
			(void)zkbuf_flush(&c->out, c->fd);
}

/* Write the queued connections' output, close or pause them. */
static void
flushall(struct zkloop *lp)
{
	struct zkconn	*c;
	uint32_t	 want;

	while ((c = TAILQ_FIRST(&lp->queue)) != NULL) {
		TAILQ_REMOVE(&lp->queue, c, qentry);
		c->queued = 0;
		if (c->out.err) {
			zkloop_kill(c);
			continue;
		}
		if (ZKBUF_LEN(&c->out) > 0 && zkbuf_flush(&c->out, c->fd) == -1) {
			zkloop_kill(c);
			continue;
		}
		/* all written: what it adds queues c again, this pass */
		if (ZKBUF_LEN(&c->out) == 0 && c->ondrain != NULL &&
		    !c->closing) {
			c->ondrain(c);
			if (c->dead)
				continue;
		}
		if (c->closing && ZKBUF_LEN(&c->out) == 0) {
			zkloop_kill(c);
			continue;
		}
		/* what is left waits for EPOLLOUT, which queues it again; a
		 * paused c keeps EPOLLIN until input comes (zkloop_pause) */
		want = 0;
		if (!c->closing && !c->eof &&
		    (!c->noread || (c->events & EPOLLIN)))
			want |= EPOLLIN;
		if (ZKBUF_LEN(&c->out) > 0)
			want |= EPOLLOUT;
		if (want != c->events) {
			if (watch(lp, EPOLL_CTL_MOD, c->fd, want,
			    (uint64_t)(uintptr_t)c) == -1) {
				zkloop_kill(c);
				continue;
			}
			c->events = want;
		}
	}
}

/*
 * A connection's input buffer is only lent to it while it reads: one that
 * empties goes back to the loop's spares, so that an idle connection holds
 * none (of thousands of clients, most are idle) and a busy one takes a
 * spare again without a malloc.  Buffers grown past SPARECAP by a big
 * request, and those beyond NSPARE, are freed.
 */
static void
lend(struct zkloop *lp, struct zkconn *c)
{
	if (c->in.p == NULL && lp->nspare > 0)
		c->in = lp->spare[--lp->nspare];
}

static void
giveback(struct zkloop *lp, struct zkconn *c)
{
	if (c->in.p == NULL || ZKBUF_LEN(&c->in) > 0)
		return;
	if (lp->nspare < NSPARE && c->in.cap <= SPARECAP && !c->in.err) {
		c->in.off = c->in.len = c->in.scan = 0;
		lp->spare[lp->nspare++] = c->in;
		memset(&c->in, 0, sizeof(c->in));
	} else
		zkbuf_free(&c->in);
}

/* Watch the listeners for connections (EPOLLIN) or not (0). */
static void
listening(struct zkloop *lp, uint32_t events)
{
	size_t	 i;

	for (i = 0; i < lp->nl; i++)
		if (watch(lp, EPOLL_CTL_MOD, lp->l[i].fd, events, LTAG(i)) == -1)
			warn("listener");
}

/*
 * Accept up to 64 connections on l.  Out of file descriptors (or of
 * kernel memory), a level-triggered listener would wake every pass and
 * spin: the listeners are taken off for ACCEPTPAUSE ms instead (as
 * Apache's accept thread pauses), the waiting connections stay queued in
 * the kernel, and the loop says so at most every ACCEPTWARN ms.
 */
static void
acceptsome(struct zkloop *lp, const struct listener *l)
{
	int64_t	 now;
	int	 k, fd;

	for (k = 0; k < 64; k++) {
		lp->peerlen = sizeof(lp->peer);
		fd = accept4(l->fd, (struct sockaddr *)&lp->peer,
		    &lp->peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break;
		}
		lp->accepted = fd;
		l->onaccept(lp, fd, l->arg);
		lp->accepted = -1;
	}
	if (k == 64)
		return;
	now = zk_mono_ms();
	if (lp->acceptwarn == 0 || now - lp->acceptwarn >= ACCEPTWARN) {
		warn("accept: not accepting for %d ms", ACCEPTPAUSE);
		lp->acceptwarn = now;
	}
	lp->acceptpause = now + ACCEPTPAUSE;
	listening(lp, 0);
}

/* One pass: wait up to timeout ms, serve what is ready (also when a
 * signal cut the wait short).  -1 on a poll error other than EINTR, and
 * with EOWNERDEAD once the supervisor named by ZK_NODE_PID is gone (then
 * a pass waits at most a second). */
int
zkloop_run(struct zkloop *lp, int timeout)
{
	struct zkconn	*c;
	uint64_t	 tag;
	ssize_t		 r;
	int64_t		 left;
	int		 n, i;

	flushall(lp);
	reap(lp);
	if (lp->orphaned || zk_orphaned()) {
		errno = EOWNERDEAD;
		return -1;
	}
	/* without a pidfd, look for the supervisor once a second */
	if (zk_supervisor() != 0 && !lp->supwatch &&
	    (timeout < 0 || timeout > 1000))
		timeout = 1000;
	/* oldest first: all linger LINGERMS, so the list is in deadline
	   order and a pass looks at the expired ones and one more */
	if (!TAILQ_EMPTY(&lp->lingering)) {
		int64_t		 now = zk_mono_ms();

		while ((c = TAILQ_FIRST(&lp->lingering)) != NULL &&
		    c->lingerto <= now)
			unlinger(lp, c);
		if (c != NULL && (timeout < 0 || timeout > c->lingerto - now))
			timeout = (int)(c->lingerto - now);
	}
	if (lp->acceptpause != 0) {
		if ((left = lp->acceptpause - zk_mono_ms()) <= 0) {
			lp->acceptpause = 0;
			listening(lp, EPOLLIN);
		} else if (timeout < 0 || timeout > left)
			timeout = (int)left;
	}
	/* interrupted (a signal; SIGCONT fails it even without a
	   handler): what is ready is still served, without waiting, so
	   that a caller that looks at the clock after a pass has read
	   what came while it did not run */
	if ((n = epoll_wait(lp->ep, lp->ev, MAXEVENTS, timeout)) == -1 &&
	    (errno != EINTR ||
	    (n = epoll_wait(lp->ep, lp->ev, MAXEVENTS, 0)) == -1))
		return errno == EINTR ? 0 : -1;
	if (n > 1)
		qsort(lp->ev, (size_t)n, sizeof(lp->ev[0]), evcmp);
	for (i = 0; i < n; i++) {
		tag = lp->ev[i].data.u64;
		if (tag == SUPTAG) {
			lp->orphaned = 1;	/* after this pass */
			continue;
		}
		if (tag & 1) {
			struct listener	l = lp->l[tag >> 1];

			if (lp->acceptpause == 0)
				acceptsome(lp, &l);
			continue;
		}
		c = (struct zkconn *)(uintptr_t)tag;
		if (c->lingering) {
			lingerread(lp, c);
			continue;
		}
		if (c->dead)
			continue;
		if (lp->ev[i].events & EPOLLOUT)
			enqueue(c);
		if (c->eof) {		/* half-closed: only output now */
			if (lp->ev[i].events & (EPOLLHUP | EPOLLERR))
				zkloop_kill(c);		/* gone altogether */
			continue;
		}
		if (c->noread && !(lp->ev[i].events & (EPOLLHUP | EPOLLERR))) {
			/* input while paused: now stop watching for it */
			if ((lp->ev[i].events & EPOLLIN) &&
			    (c->events & EPOLLIN)) {
				if (watch(lp, EPOLL_CTL_MOD, c->fd,
				    c->events & ~EPOLLIN, tag) == -1) {
					zkloop_kill(c);
					continue;
				}
				c->events &= ~EPOLLIN;
			}
			continue;
		}
		if (lp->ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			lend(lp, c);
			r = zkbuf_read(&c->in, c->fd);
			if (r == 0 || (r == -1 && errno != EAGAIN)) {
				if (ZKBUF_LEN(&c->in) > 0 && c->onread != NULL)
					c->onread(c);
				if (r == 0 && c->owe && !c->dead) {
					c->eof = 1;	/* see zkloop_owe */
					enqueue(c);	/* to stop EPOLLIN */
				} else
					zkloop_kill(c);
				continue;
			}
			if (r > 0 && c->onread != NULL)
				c->onread(c);
			if (!c->dead)
				giveback(lp, c);
		}
	}
	flushall(lp);
	if (lp->orphaned) {
		errno = EOWNERDEAD;
		return -1;
	}
	return 0;
}
