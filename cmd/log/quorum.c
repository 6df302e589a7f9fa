/*
 * quorum.c: zk-log in an ensemble, the replicated log.  ZAB itself is
 * libzk/zab.c, a state machine; this file does what it asks with the
 * sockets, the disk and the clock:
 *
 *	elect.sock	ask zk-elect for an election (`look`), follow its
 *			`role` lines (zab_role)
 *	quorum port	the leader accepts its learners there; a learner
 *			dials the leader's; peer messages are lines
 *			(zab_put, zab_parse) after `hello myid=N`
 *	the segments	ZA_APPEND records, written and fdatasynced a batch
 *			at a time (zab_durable after each); ZA_TRUNC cuts
 *			them; ZA_SENDLOG reads them back
 *	zk-tree		ZA_COMMIT hands it the records up to a zxid
 *	epochs		the accepted and current epochs, dataLogDir/zk/
 *			epochs: in place, one block and fdatasync a write
 *			(libzk/epochs.c)
 *
 * A record is the transaction line as zk-tree applies it, with the
 * commit point its writer knew added at the end (` commit=0x..`); a
 * PROPOSAL carries the line without it.  Writes that reach a learner's
 * log.sock go to the leader as they are, on the quorum connection
 * (a write's verb is no peer message's), and come back as proposals.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "log.h"

#define CONNECTMS	1000	/* a dial to the leader not through by then */
#define SNAPCHUNK	(64 << 10)	/* bytes of a snapshot per line */
#define SNAPQUEUE	(256 << 10)	/* ... queued to a learner at most */
#define DIGESTMS	5000	/* the leader's tree digest at most this */
#define RESTARTMS	500	/* the tree's answer to a reconfig, before
				   the node starts again on new voters */
#define DIGESTTXNS	5000	/* ... or this many txns apart */
#define TERMWAITMS	3000	/* SIGTERM: the gate's drain, at most */
#define HANDWAITMS	1000	/* ... a leader's handoff waits for it */
#define MAXDIGESTS	64	/* a learner's digests not yet checked */
#define EPOCH(z)	((z) >> 32)

struct qpeer {
	struct zkconn	*c;
	int		 id;
	int		 up;		/* hello through */
	int		 snapwait;	/* leader: owed a SNAP, silent till then */
	int64_t		 dialed;	/* learner: when, 0 none */
	/* leader: the SNAP under way, read as the connection drains */
	int		 snapping;	/* 1: snapfd open, sending; 2: sent */
	int		 snapfd;
	int64_t		 snapzxid;
	uint64_t	 snaptotal;
	uint32_t	 snapcrc;
};

/*
 * Where records start in the segments, one every IXGAP bytes or so, as
 * this zk-log wrote them: a learner's DIFF reads from the nearest one
 * before its first record rather than the segment's start.  Entries of
 * purged segments go when a segment starts, so the index holds at most
 * one entry per IXGAP of log on disk, and one per segment.
 */
#define IXGAP	(1 << 20)
struct ixent {
	int64_t		 seg;		/* the segment's first zxid */
	int64_t		 zxid;		/* the record at off */
	off_t		 off;
};

struct pend {				/* a record not yet at zk-tree */
	int64_t		 zxid;
	size_t		 off, len;	/* in Q.pbuf, newline included */
};

static struct {
	const struct zkcfg *cfg;
	struct zkloop	*lp;
	struct zab	 z;
	struct zkconn	*elect;
	struct qpeer	 peer[ZK_MAXSERVERS];	/* by zab slot */
	struct zkconn	*early[ZK_MAXSERVERS];	/* hellos held while we
						   look: we may lead */
	int		 closing;	/* ZA_CLOSE: no zab_closed for it */
	int		 origin;	/* myid a proposed request came from,
					   -1: this node */
	int64_t		 restart;	/* a reconfig: exit then, with */
	int		 restartcode;	/* ... EX_TEMPFAIL, our kind changed,
					   or EX_CONFIG, we are no member */
	int		 newmembers;	/* adopted, not yet zab's */
	int64_t		 reconfat;	/* the last reconfig we proposed */
	int64_t		 unserved;	/* not serving since, 0 */
	struct client	*hcl;		/* asked for the handoff under way */
	struct zkepochs	 ep;		/* our durable epochs */
	int64_t		 termat;	/* SIGTERM came then, 0 */
	int		 termhand;	/* ... we led: hand off once the gate
					   let its clients go */
	int		 termdone;	/* ... and we exit next pass */
	struct zkbuf	 rec;		/* the batch: framed records */
	int64_t		 bfirst, blast;
	int64_t		 written;	/* durable in the log */
	int64_t		 reported;	/* ... and told to zab */
	struct zkbuf	 pbuf;		/* appended, not handed on */
	struct ixent	*ix;		/* record offsets, by zxid */
	size_t		 nix, ixcap;
	struct pend	*pv;
	size_t		 np, phead, pcap;
	struct zkbuf	 tmp;
	size_t		 maxline;
	int64_t		 commit;	/* the last commit point seen */
	int		 snapasked;	/* leader: `snapshot` out to zk-tree */
	int		 rfd;		/* learner: the SNAP coming in, -1 */
	uint64_t	 rbytes;
	uint32_t	 rcrc;
	int		 rok;		/* ... whole, its size and CRC right */
	char		 rpath[PATH_MAX];
	/* digests: the leader's tree at a zxid, checked on every learner */
	int		 dasked;	/* leader: `digest` out to zk-tree */
	int64_t		 dlast, dat;	/* leader: the last one, when */
	struct dg {
		int64_t	 zxid;
		uint64_t value;
	}		 dq[MAXDIGESTS];	/* learner: the leader's, to check */
	size_t		 ndq;
	struct dg	 dasks[MAXDIGESTS];	/* ... asked of our tree */
	size_t		 ndasks;
} Q;

static void	 run(struct zab_out *);
static void	 readindex(int64_t, int64_t);
static void	 flush(void);
static void	 touched(const char *, size_t);
static void	 asksnap(int);
static void	 snaprecv(struct qpeer *, char *, size_t);
static void	 snapload(int64_t) __attribute__((noreturn));
static void	 purgecheck(void);
static void	 digestat(int64_t);
static void	 digestdue(int64_t);
static void	 reconfprep(const char *, size_t, int64_t);
static void	 adopt(const char *, size_t);
static int	 moved(const char *, size_t, size_t);
static void	 ownertouch(const char *, size_t, int);
static void	 leaderdigest(struct qpeer *, char *, size_t);
static void	 peer_sync(struct qpeer *, char *, size_t);
static void	 tree_sync(const char *, size_t);
static void	 obflush(void);
static void	 handanswer(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	 propsize(int64_t);
static void	 propreport(int);

/* ---- the epochs ---- */

/* made durable (libzk/epochs.c) before the value is used */
static void
setepochs(int64_t accepted, int64_t current)
{
	if (zkep_set(&Q.ep, accepted, current) == -1)
		err(EX_IOERR, "%s/epochs", L.log.dir);
	zk_dbg("epochs: accepted %" PRId64 ", current %" PRId64, accepted,
	    current);
}

/* ---- records ---- */

/* The length of a record's line without its ` commit=0x..` and newline. */
static size_t
txnlen(const char *line, size_t len)
{
	const char	*sp;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if ((sp = memrchr(line, ' ', len)) != NULL &&
	    (size_t)(line + len - sp) > 8 && memcmp(sp, " commit=", 8) == 0)
		return (size_t)(sp - line);
	return len;
}

/* The commit point a record's line carries, 0 if none. */
static int64_t
linecommit(const char *line, size_t len)
{
	const char	*sp;
	int64_t		 v;
	char		 buf[24];
	size_t		 n;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if ((sp = memrchr(line, ' ', len)) == NULL ||
	    memcmp(sp, " commit=", 8) != 0)
		return 0;
	n = (size_t)(line + len - sp) - 8;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, sp + 8, n);
	buf[n] = '\0';
	if (zkl_parseint(buf, &v) == -1 || v < 0)
		return 0;
	return v;
}

/* Keep a record for zk-tree until it is committed. */
static void
pend(int64_t zxid, const char *line, size_t len)
{
	struct pend	*p;
	size_t		 cap;

	if (Q.np == Q.pcap) {
		cap = Q.pcap ? Q.pcap * 2 : 256;
		if ((p = reallocarray(Q.pv, cap, sizeof(*p))) == NULL)
			err(EX_OSERR, NULL);
		Q.pv = p;
		Q.pcap = cap;
	}
	Q.pv[Q.np].zxid = zxid;
	Q.pv[Q.np].off = Q.pbuf.len;
	Q.pv[Q.np].len = len;
	Q.np++;
	zkbuf_add(&Q.pbuf, line, len);
	if (Q.pbuf.err)
		errc(EX_OSERR, Q.pbuf.err, "pending records");
}

/* Hand zk-tree every pending record up to zxid. */
static void
deliver(int64_t zxid)
{
	struct pend	*p;

	while (Q.restart == 0 && Q.phead < Q.np && Q.pv[Q.phead].zxid <= zxid) {
		p = &Q.pv[Q.phead++];
		zkbuf_add(&L.tree->out, Q.pbuf.p + p->off, p->len);
		ob_done(Q.pbuf.p + p->off, p->len);
		if (p->len > 9 && memcmp(Q.pbuf.p + p->off, "reconfig ", 9) == 0)
			adopt(Q.pbuf.p + p->off, p->len - 1);
		digestat(p->zxid);
	}
	if (L.tree->out.err)
		errc(EX_OSERR, L.tree->out.err, "tree connection");
	if (Q.phead == Q.np) {
		Q.np = Q.phead = 0;
		zkbuf_reset(&Q.pbuf);
	}
}

/* Append one record to the batch: data (a txn line) and commit. */
static void
append(int64_t zxid, int64_t commit, const void *data, size_t len)
{
	if (ZKBUF_LEN(&Q.rec) > 0 && zxid != Q.blast + 1)
		flush();		/* a new epoch: a new segment */
	if (ZKBUF_LEN(&Q.rec) == 0) {
		if (zxid != L.log.last + 1 && zklog_skip(&L.log, zxid - 1) ==
		    -1)
			err(EX_IOERR, "%s", L.log.path);
		Q.bfirst = zxid;
	}
	Q.blast = zxid;
	zkbuf_reset(&Q.tmp);
	zkbuf_add(&Q.tmp, data, len);
	zkl_putx(&Q.tmp, "commit", commit);
	zkl_end(&Q.tmp);
	if (Q.tmp.err)
		errc(EX_OSERR, Q.tmp.err, "record");
	zkseg_frame(&Q.rec, ZKBUF_DATA(&Q.tmp), ZKBUF_LEN(&Q.tmp));
	if (Q.rec.err)
		errc(EX_OSERR, Q.rec.err, "batch");
	pend(zxid, ZKBUF_DATA(&Q.tmp), ZKBUF_LEN(&Q.tmp));
}

/* The batch whose first record is zxid went to off in segment seg. */
static void
ixadd(int64_t seg, int64_t zxid, off_t off)
{
	struct segs	 segs = { NULL, 0 };
	struct ixent	*e;
	size_t		 cap, k = 0;

	if (Q.nix > 0 && Q.ix[Q.nix - 1].seg == seg &&
	    off - Q.ix[Q.nix - 1].off < IXGAP)
		return;
	if (Q.nix > 0 && Q.ix[Q.nix - 1].zxid >= zxid)
		return;		/* not after the last: never, but harmless */
	if (Q.nix > 0 && Q.ix[Q.nix - 1].seg != seg) {
		/* a new segment: those purged meanwhile go */
		listsegs(L.log.dir, &segs);
		while (segs.n > 0 && k < Q.nix && Q.ix[k].seg < segs.v[0].first)
			k++;
		free(segs.v);
		memmove(Q.ix, Q.ix + k, (Q.nix - k) * sizeof(*Q.ix));
		Q.nix -= k;
	}
	if (Q.nix == Q.ixcap) {
		cap = Q.ixcap ? Q.ixcap * 2 : 64;
		if ((e = reallocarray(Q.ix, cap, sizeof(*e))) == NULL)
			err(EX_OSERR, "log index");
		Q.ix = e;
		Q.ixcap = cap;
	}
	Q.ix[Q.nix].seg = seg;
	Q.ix[Q.nix].zxid = zxid;
	Q.ix[Q.nix].off = off;
	Q.nix++;
}

/* the log was cut after zxid: later entries point at nothing */
static void
ixcut(int64_t zxid)
{
	while (Q.nix > 0 && Q.ix[Q.nix - 1].zxid > zxid)
		Q.nix--;
}

/* The entry nearest before record zxid in segment seg, NULL for none. */
static const struct ixent *
ixfind(int64_t seg, int64_t zxid)
{
	size_t	 i;

	for (i = Q.nix; i > 0; i--)
		if (Q.ix[i - 1].seg == seg && Q.ix[i - 1].zxid <= zxid)
			return &Q.ix[i - 1];
	return NULL;
}

/* Write and fdatasync the batch; zab hears of it after the pass. */
static void
flush(void)
{
	if (ZKBUF_LEN(&Q.rec) == 0)
		return;
	if (zklog_append(&L.log, ZKBUF_DATA(&Q.rec), ZKBUF_LEN(&Q.rec),
	    Q.bfirst, Q.blast) == -1)
		/* what zab was told would be durable cannot be: start over */
		err(EX_IOERR, "%s%s%s", L.log.fd != -1 ? L.log.path :
		    L.log.dir, L.log.dead ? ": " : "", L.log.dead ?
		    L.log.deadwhy : "");
	ixadd(L.log.first, Q.bfirst, L.log.end - (off_t)ZKBUF_LEN(&Q.rec));
	if (L.log.syncus >= 0)
		fsynced(L.log.syncus);
	allocwarn();
	Q.written = Q.blast;
	zkbuf_reset(&Q.rec);
}

/* ZA_TRUNC: nothing after zxid stays, on disk or pending. */
static void
truncto(int64_t zxid)
{
	flush();
	while (Q.np > Q.phead && Q.pv[Q.np - 1].zxid > zxid) {
		Q.np--;
		Q.pbuf.len = Q.pv[Q.np].off;
	}
	ixcut(zxid);
	cutlog(&L.log, zxid);
	if (L.log.last > zxid)
		L.log.last = zxid;
	if (Q.written > zxid)
		Q.written = zxid;
	if (Q.reported > zxid)
		Q.reported = zxid;
	zk_dbg("log cut after 0x%" PRIx64, zxid);
}

/* ---- sending ---- */

static void
sendmsg_(int slot, const struct zab_msg *m)
{
	struct qpeer	*p = &Q.peer[slot];

	if (p->c == NULL || p->c->dead || p->snapwait)
		return;
	zab_put(&p->c->out, m);
	if (p->c->out.err)
		errc(EX_OSERR, p->c->out.err, "peer %d", p->id);
}

struct sendlog {
	int		 slot, type;
	int64_t		 to, commit;
};

static int
sendrec(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct sendlog	*s = w->arg;
	struct zab_msg	 m;

	if (z > s->to)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = s->type;
	m.epoch = EPOCH(z);
	m.zxid = z;
	m.commit = s->commit;
	m.data = line;
	m.len = txnlen(line, len);
	sendmsg_(s->slot, &m);
	return 0;
}

/* The records (from, to] from those not yet handed to zk-tree, if they
   are all there: 0, else -1 and nothing sent. */
static int
sendpending(struct sendlog *s, int64_t from)
{
	size_t	 i = Q.phead;
	struct pend *p;

	if (i == Q.np || Q.pv[i].zxid > from + 1 ||
	    Q.pv[Q.np - 1].zxid < s->to)
		return -1;
	while (i < Q.np && Q.pv[i].zxid <= from)
		i++;
	for (; i < Q.np && Q.pv[i].zxid <= s->to; i++) {
		struct zkscan	 w;

		p = &Q.pv[i];
		memset(&w, 0, sizeof(w));
		w.arg = s;
		(void)sendrec(&w, Q.pbuf.p + p->off, p->len, p->zxid);
	}
	return 0;
}

/*
 * ZA_SENDLOG: the records (from, to] to a learner.  An observer's
 * INFORMs and a learner close behind are served from memory; else from
 * the segments, starting at the one that holds from + 1, at the indexed
 * record nearest before it (ixfind), and reading no further than to: a
 * leader that read a whole 64 MB segment here stalled its writes ~0.1 s
 * for each learner that came back.
 */
static void
sendlog(int slot, int type, int64_t from, int64_t to)
{
	struct segs	 segs = { NULL, 0 };
	struct sendlog	 s;
	struct zkscan	 w;
	const struct ixent *e = NULL;
	size_t		 k;
	int		 r;

	if (Q.peer[slot].snapwait)
		return;
	s.slot = slot;
	s.type = type;
	s.to = to;
	s.commit = Q.z.commit;
	if (sendpending(&s, from) == 0)
		return;
	flush();
	listsegs(L.log.dir, &segs);
	for (k = 0; k + 1 < segs.n && segs.v[k + 1].first <= from + 1; k++)
		;
	if (segs.n > 0)
		e = ixfind(segs.v[k].first, from + 1);
	/* from the indexed record; from the segment's start if the index
	   is wrong there (it never should be) */
	for (;;) {
		memset(&w, 0, sizeof(w));
		w.floor = from;
		w.fn = sendrec;
		w.arg = &s;
		w.stop = to;
		if (e != NULL) {
			w.at = e->off;
			w.atz = e->zxid;
		}
		r = segs.n > 0 ? zkseg_walk(segs.v + k, segs.n - k, &w) :
		    ZKSEG_OK;
		if (r != ZKSEG_BAD || e == NULL || w.ndeliv > 0)
			break;
		warnx("%s: the log index is wrong at 0x%" PRIx64 ": %s",
		    w.path, e->zxid, w.why);
		Q.nix = 0;
		e = NULL;
	}
	if (r == -1)
		err(EX_IOERR, "%s", w.path);
	free(segs.v);
	if (r != ZKSEG_OK || w.last < to)
		errx(EX_DATAERR, "%s: cannot read back 0x%" PRIx64 " to 0x%"
		    PRIx64 " for peer %d: %s", L.log.dir, from + 1, to,
		    Q.peer[slot].id, r == ZKSEG_BAD ? w.why : "missing");
	zk_dbg("sent 0x%" PRIx64 "..0x%" PRIx64 " to %d", from + 1, to,
	    Q.peer[slot].id);
}

/* ---- peer connections ---- */

static int
slotof(int id)
{
	int	 i;

	for (i = 0; i < Q.z.n; i++)
		if (Q.z.ids[i] == id)
			return i;
	return -1;
}

/* The SNAP under way to p, if any, goes: its file is closed. */
static void
snapdrop(struct qpeer *p)
{
	if (p->snapping == 1)
		(void)close(p->snapfd);
	p->snapping = 0;
}

static void
closepeer(int slot, int flush)
{
	struct qpeer	*p = &Q.peer[slot];

	if (p->c == NULL)
		return;
	Q.closing++;
	if (flush) {
		/* what we queued goes first; what it says meanwhile is
		   dropped (peer_read) */
		p->c->arg = NULL;
		zkloop_close(p->c);
	} else
		zkloop_kill(p->c);
	Q.closing--;
	p->c = NULL;
	p->up = 0;
	p->dialed = 0;
	p->snapwait = 0;
	snapdrop(p);
}

static void	 peer_read(struct zkconn *);
static void	 peer_close(struct zkconn *);

static void
peer_line(struct qpeer *p, char *s, size_t n)
{
	struct zab_out	 o;
	struct zkline	 l;
	struct zab_msg	 m;
	const char	*sp;
	size_t		 vlen;

	sp = memchr(s, ' ', n);
	vlen = sp != NULL ? (size_t)(sp - s) : n;
	if (istxn(s, vlen)) {
		/* a write a learner took: the leader proposes it */
		Q.origin = p->id;
		qtake(NULL, s, n);
		Q.origin = -1;
		return;
	}
	if (vlen == 5 && memcmp(s, "touch", 5) == 0) {
		if (Q.z.role == FLE_LEADING)
			ownertouch(s, n, p->id);
		touched(s, n);
		return;
	}
	if (vlen == 6 && memcmp(s, "digest", 6) == 0) {
		leaderdigest(p, s, n);
		return;
	}
	if (vlen == 4 && memcmp(s, "sync", 4) == 0) {
		peer_sync(p, s, n);
		return;
	}
	if ((vlen == 8 && memcmp(s, "snapdata", 8) == 0) ||
	    (vlen == 7 && memcmp(s, "snapend", 7) == 0)) {
		snaprecv(p, s, n);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || zab_parse(&l, &m) == -1) {
		warnx("peer %d: a bad line: connection closed", p->id);
		zkl_free(&l);
		zkloop_kill(p->c);
		return;
	}
	zab_recv(&Q.z, zk_mono_ms(), p->id, &m, &o);
	run(&o);
	zkl_free(&l);
}

static void
peer_read(struct zkconn *c)
{
	struct qpeer	*p = c->arg;
	char		*s;
	size_t		 n;

	if (p == NULL) {		/* closing (closepeer) */
		zkbuf_consume(&c->in, ZKBUF_LEN(&c->in));
		return;
	}
	while (!c->dead && zkl_next(&c->in, &s, &n) == 1) {
		peer_line(p, s, n);
		if (!c->dead)
			zkbuf_consume(&c->in, n + 1);
	}
	if (!c->dead && ZKBUF_LEN(&c->in) > Q.maxline) {
		warnx("peer %d: a line of over %zu bytes: connection closed",
		    p->id, Q.maxline);
		zkloop_kill(c);
	}
}

static void
peer_close(struct zkconn *c)
{
	struct qpeer	*p = c->arg;
	struct zab_out	 o;

	if (p == NULL || p->c != c)
		return;
	zk_dbg("peer %d: connection closed", p->id);
	p->c = NULL;
	p->up = 0;
	p->dialed = 0;
	p->snapwait = 0;
	snapdrop(p);
	if (Q.closing)
		return;
	zab_closed(&Q.z, zk_mono_ms(), p->id, &o);
	run(&o);
}

static void	 learner(struct zkconn *, int, int);

static void
early_close(struct zkconn *c)
{
	int	 i;

	for (i = 0; i < ZK_MAXSERVERS; i++)
		if (Q.early[i] == c)
			Q.early[i] = NULL;
}

/* Our role is settled: the held learners are ours if we lead. */
static void
early(void)
{
	struct zkconn	*c;
	int		 i;

	if (Q.z.role == FLE_LOOKING)
		return;
	for (i = 0; i < ZK_MAXSERVERS; i++) {
		if ((c = Q.early[i]) == NULL)
			continue;
		Q.early[i] = NULL;
		c->onclose = NULL;
		if (Q.z.role != FLE_LEADING || c->dead || i >= Q.z.n) {
			zkloop_kill(c);
			continue;
		}
		zkloop_pause(c, 0);
		learner(c, i, Q.z.ids[i]);
	}
}

/* The leader's side: a learner says who it is first. */
static void
hello_read(struct zkconn *c)
{
	struct zkline	 l;
	int64_t		 id;
	char		*s;
	size_t		 n;
	int		 slot;

	if (zkl_next(&c->in, &s, &n) != 1) {
		if (ZKBUF_LEN(&c->in) > 256)
			zkloop_kill(c);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || strcmp(l.verb, "hello") != 0 ||
	    zkl_int(&l, "myid", &id) == -1 || id < 0 || id > INT32_MAX ||
	    (slot = slotof((int)id)) == -1 || slot == Q.z.me) {
		warnx("quorum port: a connection that is no peer of ours");
		zkl_free(&l);
		zkloop_kill(c);
		return;
	}
	zkl_free(&l);
	zkbuf_consume(&c->in, n + 1);
	if (Q.z.role == FLE_LOOKING) {
		/*
		 * A learner whose election settled on us before ours did:
		 * held, unread, until we know (early()), rather than
		 * closed, which would send it back to the election.
		 */
		if (Q.early[slot] != NULL)
			zkloop_kill(Q.early[slot]);
		Q.early[slot] = c;
		c->onclose = early_close;
		zkloop_pause(c, 1);
		zk_dbg("peer %d dialed us while we look: held", (int)id);
		return;
	}
	learner(c, slot, (int)id);
}

/* A learner's connection, its hello read: ours if we lead. */
static void
learner(struct zkconn *c, int slot, int id)
{
	struct qpeer	*p;

	if (Q.z.role != FLE_LEADING) {
		zk_dbg("peer %d dialed us, but we do not lead", (int)id);
		zkloop_kill(c);
		return;
	}
	p = &Q.peer[slot];
	if (p->c != NULL) {
		/* a new connection from it: the old one is stale */
		struct zab_out	 o;

		closepeer(slot, 0);
		zab_closed(&Q.z, zk_mono_ms(), (int)id, &o);
		run(&o);
	}
	p->c = c;
	p->up = 1;
	c->arg = p;
	c->onread = peer_read;
	c->onclose = peer_close;
	zk_dbg("peer %d connected", (int)id);
	purgecheck();
	peer_read(c);
}

static void
onquorum(struct zkloop *lp, int fd, void *arg)
{
	(void)arg;
	if (zkloop_conn(lp, fd, hello_read, NULL, NULL) == NULL) {
		warn("quorum port");
		close(fd);
	}
}

/* ---- sessions' servers (owner.c) ---- */

/* The record is the leadership's: a new one learns it again. */
static void
ownersnow(void)
{
	static int64_t	 epoch = -1;

	if (epoch != Q.z.epoch) {
		owner_clear();
		epoch = Q.z.epoch;
	}
}

/* The leader: a touch from server from (attach=1: the session is there). */
static void
ownertouch(const char *line, size_t len, int from)
{
	ownersnow();
	owner_touch(line, len, from);
}

/*
 * The leader, about to propose a request that came from Q.origin (-1:
 * ours): 1 if its session is attached to another server (SessionMoved).
 * createSession attaches it where it came from; closeSession (an expiry
 * comes from us) forgets it.
 */
static int
moved(const char *line, size_t len, size_t vlen)
{
	int64_t		 sid;
	int		 from = Q.origin != -1 ? Q.origin : Q.cfg->myid;

	ownersnow();
	if ((sid = owner_session(line, len)) == 0)
		return 0;		/* internal: the sweep's */
	if (vlen == 13 && memcmp(line, "createSession", 13) == 0) {
		owner_set(sid, from);
		return 0;
	}
	if (vlen == 12 && memcmp(line, "closeSession", 12) == 0) {
		owner_drop(sid);
		return 0;
	}
	return owner_moved(sid, from);
}

/* ---- members ---- */

/* zk-elect reads dataDir/zoo.cfg.dynamic again */
static void
electmembers(void)
{
	if (Q.elect == NULL)
		return;		/* at start: it is told once connected */
	zkbuf_printf(&Q.elect->out, "members version=0x%" PRIx64 "\n",
	    M.version);
}

/*
 * The leader decides a reconfig before it proposes it (member.c), one at
 * a time: the last it proposed in this epoch is in progress until it is
 * committed and taken (M.version is its zxid then).  One a leader of an
 * earlier epoch proposed is committed before this one serves, or never.
 */
static void
reconfprep(const char *line, size_t len, int64_t zxid)
{
	int	 synced[ZK_MAXSERVERS], busy;

	busy = Q.reconfat >> 32 == zxid >> 32 && Q.reconfat > M.version;
	if (members_prep(&L.tmp, line, len, zxid, synced,
	    zab_synced(&Q.z, synced), busy, Q.cfg->skipACL) == 0)
		Q.reconfat = zxid;
}

/*
 * A committed reconfig on its way to zk-tree: go by its members.  zab
 * takes them at the end of the pass (takemembers), outside run(); zk-elect
 * at once.  A node that is no longer a member stops (its zoo.cfg.dynamic
 * says so at the next start, which zk-node then refuses); one that changed
 * between voter and observer starts again as the other.
 */
static void
adopt(const char *line, size_t len)
{
	int	 i;

	if (members_adopt(Q.cfg->dataDir, line, len) != 1)
		return;
	for (i = 0; i < M.n && M.sv[i].id != Q.cfg->myid; i++)
		;
	/* either once its tree has applied the reconfig and answered it */
	if (i == M.n) {
		warnx("reconfig 0x%" PRIx64 ": server.%d is no longer a "
		    "member", M.version, Q.cfg->myid);
		Q.restart = zk_mono_ms() + RESTARTMS;
		Q.restartcode = EX_CONFIG;
		return;
	}
	if (!M.sv[i].observer != !!Q.z.voter[Q.z.me]) {
		warnx("reconfig 0x%" PRIx64 ": this node is now %s: starting "
		    "again as one", M.version, M.sv[i].observer ?
		    "an observer" : "a voter");
		Q.restart = zk_mono_ms() + RESTARTMS;
		Q.restartcode = EX_TEMPFAIL;
		return;
	}
	Q.newmembers = 1;
	electmembers();
}

/*
 * zab goes by the members adopt() took.  The connections of those that
 * left or changed kind close: a learner that changed comes back as the
 * other kind, and a leader's quorum is now the new voters' (zab.c).
 */
static void
takemembers(void)
{
	int		 ids[ZK_MAXSERVERS], voter[ZK_MAXSERVERS];
	int		 cleared[ZK_MAXSERVERS], i, nc;
	struct zab_out	 o;

	if (!Q.newmembers || Q.restart != 0)
		return;
	Q.newmembers = 0;
	for (i = 0; i < M.n; i++) {
		ids[i] = M.sv[i].id;
		voter[i] = !M.sv[i].observer;
	}
	if ((nc = zab_members(&Q.z, ids, voter, M.n, cleared, &o)) == -1)
		errx(EX_SOFTWARE, "reconfig 0x%" PRIx64 ": zab refused the "
		    "members", M.version);
	for (i = 0; i < nc; i++) {
		closepeer(cleared[i], 0);
		memset(&Q.peer[cleared[i]], 0, sizeof(Q.peer[0]));
		Q.peer[cleared[i]].id = Q.z.ids[cleared[i]];
	}
	run(&o);
	zk_dbg("members of version 0x%" PRIx64 ": %d servers, %d voters",
	    M.version, M.n, Q.z.nvoters);
}

/* ZA_CONNECT: dial the leader; it is up once the hello went out. */
static void
dial(int id)
{
	const struct zkserver	*s = NULL;
	struct qpeer		*p;
	int			 i, fd, slot = slotof(id);

	for (i = 0; i < Q.z.n; i++)
		closepeer(i, 0);
	if (Q.rfd != -1) {		/* a SNAP from an earlier leader */
		close(Q.rfd);
		(void)unlink(Q.rpath);
		Q.rfd = -1;
	}
	Q.rok = 0;
	Q.ndq = 0;		/* the asked ones are still answered */
	for (i = 0; i < M.n; i++)
		if (M.sv[i].id == id)
			s = &M.sv[i];
	if (slot == -1 || s == NULL)
		return;
	p = &Q.peer[slot];
	if ((fd = zk_dial_tcp(s->host, s->quorumport)) == -1 ||
	    (p->c = zkloop_conn(Q.lp, fd, peer_read, peer_close, p)) ==
	    NULL) {
		struct zab_out	 o;

		warn("dial the leader, %s:%d", s->host, s->quorumport);
		if (fd != -1)
			close(fd);
		zab_closed(&Q.z, zk_mono_ms(), id, &o);
		run(&o);
		return;
	}
	p->dialed = zk_mono_ms();
	zkbuf_printf(&p->c->out, "hello myid=%d\n", Q.cfg->myid);
}

/* A dial that went through is up; one too slow is given up. */
static void
dials(int64_t now)
{
	struct zab_out	 o;
	struct qpeer	*p;
	int		 i;

	for (i = 0; i < Q.z.n; i++) {
		p = &Q.peer[i];
		if (p->c == NULL || p->up || p->dialed == 0)
			continue;
		if (ZKBUF_LEN(&p->c->out) == 0) {
			p->up = 1;
			p->dialed = 0;
			zab_connected(&Q.z, now, p->id, &o);
			run(&o);
		} else if (now - p->dialed >= CONNECTMS) {
			warnx("dial the leader %d: no answer in %d ms", p->id,
			    CONNECTMS);
			zkloop_kill(p->c);	/* peer_close tells zab */
		}
	}
}

/* ---- the election ---- */

static void
look(void)
{
	zkl_begin(&Q.elect->out, "look");
	zkl_putx(&Q.elect->out, "zxid", zab_last(&Q.z));
	zkl_putd(&Q.elect->out, "epoch", Q.z.cepoch);
	if (Q.z.handto != -1)		/* we handed off: vote for it */
		zkl_putd(&Q.elect->out, "for", Q.z.handto);
	zkl_end(&Q.elect->out);
	zk_dbg("look: last 0x%" PRIx64 " epoch %" PRId64, zab_last(&Q.z),
	    Q.z.cepoch);
}

static void
elect_line(char *s, size_t n)
{
	static const char *const states[] = {
		"looking", "following", "leading", "observing"
	};
	struct zab_out	 o;
	struct zkline	 l;
	const char	*st;
	int64_t		 leader = -1;
	int		 i;

	if (n > 8 && memcmp(s, "members ", 8) == 0) {
		/* zk-elect heard of newer members in a peer's vote: they
		   are a committed reconfig's, which we take as if applied
		   (our tree gets it from the leader) */
		adopt(s, n);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || strcmp(l.verb, "role") != 0 ||
	    (st = zkl_str(&l, "state")) == NULL) {
		zkl_free(&l);
		return;
	}
	for (i = 0; i < 4; i++)
		if (strcmp(st, states[i]) == 0)
			break;
	(void)zkl_int(&l, "leader", &leader);
	zkl_free(&l);
	if (i == 4 || (i == FLE_LOOKING && Q.z.role == FLE_LOOKING))
		return;
	zk_dbg("role %s, leader %" PRId64, states[i], leader);
	if (i == FLE_LEADING)
		qstatreset();	/* a new leader's proposal sizes */
	zab_role(&Q.z, zk_mono_ms(), i, (int)leader, &o);
	run(&o);
	early();
}

static void
elect_read(struct zkconn *c)
{
	char	*s;
	size_t	 n;

	while (!c->dead && zkl_next(&c->in, &s, &n) == 1) {
		elect_line(s, n);
		zkbuf_consume(&c->in, n + 1);
	}
}

static void
elect_close(struct zkconn *c)
{
	(void)c;
	errx(EX_TEMPFAIL, "elect.sock: zk-elect went away");
}

/* ---- what zab asks ---- */

static void
run(struct zab_out *o)
{
	struct zab_act	*a;
	size_t		 k;
	int		 i;

	/*
	 * Back to the election: zk-elect hears it before our peers see
	 * their connections close (written now: the pass's end would write
	 * and close the peers' connections first, when they were queued
	 * first, as under load they are).  Their votes would otherwise find
	 * it still leading (or following), and a quorum of such answers
	 * sends them to follow a leader that is gone: a handoff then waited
	 * 200 ms for them.  zk-elect reads it before it answers them.
	 */
	if (o->looking) {
		look();
		zkloop_push(Q.lp);
	}
	for (k = 0; k < o->n; k++) {
		a = &o->a[k];
		i = a->peer >= 0 ? slotof(a->peer) : -1;
		switch (a->type) {
		case ZA_SEND:
			if (i != -1)
				sendmsg_(i, &a->m);
			break;
		case ZA_SENDLOG:
			if (i != -1)
				sendlog(i, a->m.type == ZM_INFORM ? ZM_INFORM :
				    ZM_PROPOSAL, a->zxid, a->zxid2);
			break;
		case ZA_SENDSNAP:
			if (i != -1)
				asksnap(i);
			break;
		case ZA_ACCEPTED:
			zkloop_push(Q.lp);	/* what zab listed before it */
			setepochs(a->zxid, Q.ep.current);
			break;
		case ZA_CURRENT:
			zkloop_push(Q.lp);
			setepochs(Q.ep.accepted, a->zxid);
			break;
		case ZA_TRUNC:
			truncto(a->zxid);
			break;
		case ZA_SNAPLOAD:
			snapload(a->zxid);	/* exits */
		case ZA_APPEND:
			append(a->zxid, a->m.commit, a->m.data, a->m.len);
			break;
		case ZA_COMMIT:
			deliver(a->zxid);
			break;
		case ZA_CONNECT:
			dial(a->peer);
			break;
		case ZA_CLOSE:
			if (a->peer == -1)
				for (i = 0; i < Q.z.n; i++)
					closepeer(i, a->zxid == 1);
			else if (i != -1)
				closepeer(i, a->zxid == 1);
			break;
		case ZA_READ:
			readindex(a->zxid2, a->zxid);
			break;
		default:
			errx(EX_SOFTWARE, "zab: action %d", a->type);
		}
	}
	if (o->serving != -1)
		zk_dbg("%s", o->serving ? "serving" : "not serving");
	if (o->serving == 1) {
		/* what of ours is in the synced log will commit: the rest
		   of what we sent is lost, and goes again */
		for (k = Q.phead; k < Q.np; k++)
			ob_seen(Q.pbuf.p + Q.pv[k].off, Q.pv[k].len);
		ob_resync();
		obflush();
	}
	if (o->serving == 1 && Q.elect != NULL) {
		/* the epoch we serve in: our election vote carries it */
		zkl_begin(&Q.elect->out, "epoch");
		zkl_putd(&Q.elect->out, "epoch", Q.z.cepoch);
		zkl_end(&Q.elect->out);
	}
	if (o->looking) {
		warnx("looking for a leader: %s", o->why ? o->why : "");
		if (Q.z.handto != -1)
			handanswer("handed leadership off to %d\n",
			    Q.z.handto);
	}
}

/* ---- requests ---- */

/* The leader proposes a write, from log.sock or from a learner. */
static void
propose(const char *line, size_t len)
{
	struct zab_out	 o;
	const char	*sp;
	size_t		 vlen;
	int64_t		 zxid;
	int		 refused;

	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	zxid = (int64_t)Q.z.epoch << 32 | (Q.z.counter + 1);
	zkbuf_reset(&L.tmp);
	zkbuf_add(&L.tmp, line, vlen);
	zkl_putx(&L.tmp, "zxid", zxid);
	zkl_putd(&L.tmp, "time", zk_now_ms());
	refused = moved(line, len, vlen);
	if (refused)
		zkl_putd(&L.tmp, "err", ZSESSIONMOVED);
	zkbuf_add(&L.tmp, line + vlen, len - vlen);
	/* a reconfig carries the leader's decision, unless refused:
	   no node may go by members its tree did not take */
	if (!refused && vlen == 8 && memcmp(line, "reconfig", 8) == 0)
		reconfprep(line, len, zxid);
	if (L.tmp.err)
		errc(EX_OSERR, L.tmp.err, "proposal");
	if (zab_propose(&Q.z, zk_mono_ms(), ZKBUF_DATA(&L.tmp),
	    ZKBUF_LEN(&L.tmp), &o) != zxid)
		errx(EX_SOFTWARE, "zab_propose: not 0x%" PRIx64, zxid);
	propsize((int64_t)ZKBUF_LEN(&L.tmp));
	run(&o);
}

/*
 * A leader's proposal sizes, as Apache's srvr and stat show them
 * ("Proposal sizes last/min/max"): the last, the smallest and the
 * biggest txn it proposed since it leads or since srst, -1 before any.
 * The gates hear them at most once a second, and at once when reset.
 */
static struct {
	int64_t		 v[3];		/* last, min, max */
	int		 fresh;		/* changed since the gates heard */
	int64_t		 at;		/* ms: they last heard */
} P = { { -1, -1, -1 }, 0, 0 };

static void
propsize(int64_t n)
{
	P.v[0] = n;
	if (P.v[1] == -1 || n < P.v[1])
		P.v[1] = n;
	if (n > P.v[2])
		P.v[2] = n;
	P.fresh = 1;
}

static void
propreport(int now)
{
	struct zkbuf	*b = &L.tmp;

	if (!P.fresh || (!now && zk_mono_ms() - P.at < 1000))
		return;
	P.fresh = 0;
	P.at = zk_mono_ms();
	zkbuf_reset(b);
	zkl_begin(b, "propsizes");
	zkl_putd(b, "last", P.v[0]);
	zkl_putd(b, "min", P.v[1]);
	zkl_putd(b, "max", P.v[2]);
	zkl_end(b);
	if (b->err)
		errc(EX_OSERR, b->err, "propsizes");
	togates(b);
}

/* A gate's `statreset` (srst), or a new term as leader. */
void
qstatreset(void)
{
	P.v[0] = P.v[1] = P.v[2] = -1;
	P.fresh = 1;
	propreport(1);
}

/* A learner that serves sends a line on to its leader: 0, or -1 if it
   cannot now. */
static int
toleader(const char *line, size_t len)
{
	int	 ls = Q.z.leader;

	if (Q.z.role == FLE_LEADING || Q.z.role == FLE_LOOKING || ls == -1 ||
	    !zab_serving(&Q.z) || Q.peer[ls].c == NULL || !Q.peer[ls].up)
		return -1;
	zkbuf_add(&Q.peer[ls].c->out, line, len);
	zkbuf_addc(&Q.peer[ls].c->out, '\n');
	return 0;
}

/* An outbox entry on its way (ob_send): proposed, or sent to the leader. */
static int
obsend(const char *line, size_t len, int sync)
{
	if (!zab_proposing(&Q.z))
		return toleader(line, len);
	if (sync) {
		tree_sync(line, len);
		return 1;
	}
	propose(line, len);
	return 0;
}

static void
obflush(void)
{
	if (ob_queued() > 0 && zab_serving(&Q.z))
		ob_send(obsend);
}

/* A write not taken: `fail`, err -4 (connection loss), to its client. */
static void
failline(struct client *cl, const char *line, size_t len)
{
	const char	*v;
	size_t		 n;

	zk_dbg("fail: %.*s", (int)(len > 80 ? 80 : len), line);
	zkbuf_add(&cl->c->out, "fail", 4);
	if ((v = field(line, len, "session", &n)) != NULL)
		zkl_put(&cl->c->out, "session", v, n);
	if ((v = field(line, len, "xid", &n)) != NULL)
		zkl_put(&cl->c->out, "xid", v, n);
	zkl_putx(&cl->c->out, "zxid", Q.z.delivered);	/* the reply's */
	zkl_putd(&cl->c->out, "err", -4);
	zkl_end(&cl->c->out);
}

/* Into the outbox, and on its way if it can: 1, or 0 if it has no
   session and xid (the caller sends it as it is). */
static int
outbox(struct client *cl, const char *line, size_t len, int kind)
{
	switch (ob_add(cl, line, len, kind)) {
	case 0:
		obflush();
		return 1;
	case -2:
		failline(cl, line, len);	/* full */
		return 1;
	default:
		return 0;
	}
}

/*
 * A write from log.sock (cl) or from a learner or our tree (cl NULL):
 * the leader proposes it, a learner sends it on to the leader.  One of
 * log.sock's goes through the outbox (outbox.c), which holds it while
 * the node does not serve; one the outbox cannot take, on a node that
 * cannot do either, is answered `fail` (err -4, connection loss).
 */
void
qtake(struct client *cl, char *line, size_t len)
{
	if (cl != NULL && outbox(cl, line, len, OB_WRITE))
		return;
	if (zab_proposing(&Q.z))
		propose(line, len);
	else if (cl != NULL && toleader(line, len) == -1)
		failline(cl, line, len);
	/* a learner's (cl NULL) to a node that does not propose: lost,
	   and sent again by that learner's outbox */
}

/* ---- leader handoff ---- */

/* The answer to the gate's `handoff` (the four-letter word hand), once. */
static void
handanswer(const char *fmt, ...)
{
	char		 text[128];
	va_list		 ap;

	if (Q.hcl == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	zkl_begin(&Q.hcl->c->out, "text");
	zkl_put(&Q.hcl->c->out, "data", text, strlen(text));
	zkl_end(&Q.hcl->c->out);
	Q.hcl = NULL;
}

/* Start a handoff: the myid handed to, or -1 after saying why not. */
static int
handoff(void)
{
	struct zab_out	 o;
	int		 to;

	if (Q.z.role != FLE_LEADING || !zab_serving(&Q.z)) {
		handanswer("not the leader: %d leads\n", Q.z.leader == -1 ?
		    -1 : Q.z.ids[Q.z.leader]);
		return -1;
	}
	if (Q.z.hto != -1)
		return Q.z.ids[Q.z.hto];	/* under way */
	if ((to = zab_handoff(&Q.z, zk_mono_ms(), -1, &o)) == -1) {
		handanswer("no synced follower to hand leadership to\n");
		return -1;
	}
	warnx("handing leadership off to %d", to);
	run(&o);
	return to;
}

/* The gate's `handoff` (hand): answered when done or given up. */
void
qhandoff(struct client *cl)
{
	struct client	*was = Q.hcl;

	Q.hcl = cl;
	if (was != NULL && was != cl) {
		handanswer("another handoff is under way\n");
		Q.hcl = was;
		return;
	}
	(void)handoff();
}

/* A log.sock connection closed. */
void
qgone(struct client *cl)
{
	ob_gone(cl);
	if (Q.hcl == cl)
		Q.hcl = NULL;
}

/* Our gate is connected to log.sock. */
static int
gateup(void)
{
	struct client	*cl;

	LIST_FOREACH(cl, &L.clients, entry)
		if (cl->gate)
			return 1;
	return 0;
}

/*
 * Each pass: a handoff given up is said so.  On SIGTERM (a rolling
 * restart: zk-node's whole group gets it) a leader hands off, but only
 * once its gate has let its clients go (or after HANDWAITMS): the gate
 * closes each connection with the reply that leaves it nothing to
 * answer, and until then we lead on, so that those writes are answered
 * by us in a few ms rather than held through the handoff and our
 * rejoin, and our followers' writes meanwhile go on as usual.  It hands
 * off only if its followers make a quorum without it (zab_leavable):
 * else the one handed to would be elected by our vote alone and lead no
 * one until initLimit, where without it they look for a leader at once
 * (and go read-only if so configured).  Then
 * zk-log stays, a learner now, for the writes of the clients its gate
 * still holds, if any, and exits once the handoff is over and the gate
 * is gone, one pass later (that pass writes our last lines), or after
 * syncLimit and TERMWAITMS.
 */
static int
handpass(int64_t now)
{
	if (Q.hcl != NULL && Q.z.hto == -1 && Q.z.role == FLE_LEADING)
		handanswer("handoff given up: no follower caught up within "
		    "syncLimit\n");
	if (!zk_termed())
		return 100;
	if (Q.termat == 0) {
		Q.termat = now;
		Q.termhand = Q.z.role == FLE_LEADING && zab_serving(&Q.z);
		if (Q.termhand)
			zk_dbg("SIGTERM: handing off once the gate is gone");
	}
	if (Q.termhand && (!gateup() || now - Q.termat >= HANDWAITMS)) {
		Q.termhand = 0;
		if (Q.z.role == FLE_LEADING && zab_serving(&Q.z)) {
			if (zab_leavable(&Q.z))
				(void)handoff();
			else
				warnx("not handing leadership off: the "
				    "followers up are no quorum without this "
				    "node");
		}
	}
	if (Q.termdone) {
		flush();
		exit(0);
	}
	if ((!Q.termhand && Q.z.hto == -1 && !gateup()) ||
	    now - Q.termat > Q.z.synclimit + TERMWAITMS)
		Q.termdone = 1;
	return Q.termdone ? 0 : 10;
}

/* ---- the node's mode, for the other programs ---- */

static const char *const rolenames[] = {
	"looking", "following", "leading", "observing"
};

/*
 * `mode state=leading serving=1 epoch=2 leader=3 phase=broadcast
 * learners=2 followers=2 observers=0 syncing=0` to zk-tree and every
 * gate and zk-sessiond on log.sock: at their hello, then on each change.
 */
static void
modeline(struct zkbuf *b)
{
	struct zab_status	 st;

	zab_status(&Q.z, &st);
	zkl_begin(b, "mode");
	zkl_puts(b, "state", rolenames[Q.z.role]);
	zkl_putd(b, "serving", zab_serving(&Q.z));
	zkl_putd(b, "epoch", Q.z.epoch);
	zkl_putd(b, "leader", Q.z.leader >= 0 ? Q.z.ids[Q.z.leader] : -1);
	zkl_puts(b, "phase", st.phase);
	zkl_putd(b, "voters", Q.z.nvoters);
	if (Q.z.role == FLE_LEADING) {
		zkl_putd(b, "learners", st.learners);
		zkl_putd(b, "followers", st.followers);
		zkl_putd(b, "observers", st.observers);
		zkl_putd(b, "syncing", st.syncing);
	}
	zkl_end(b);
	if (b->err)
		errc(EX_OSERR, b->err, "mode");
}

static void
publish(void)
{
	static struct zkbuf	 last;
	struct client		*cl;

	zkbuf_reset(&Q.tmp);
	modeline(&Q.tmp);
	if (ZKBUF_LEN(&Q.tmp) == ZKBUF_LEN(&last) &&
	    memcmp(ZKBUF_DATA(&Q.tmp), ZKBUF_DATA(&last), ZKBUF_LEN(&last)) ==
	    0)
		return;
	zkbuf_reset(&last);
	zkbuf_add(&last, ZKBUF_DATA(&Q.tmp), ZKBUF_LEN(&Q.tmp));
	zk_dbg("%.*s", (int)ZKBUF_LEN(&last) - 1, ZKBUF_DATA(&last));
	zkbuf_add(&L.tree->out, ZKBUF_DATA(&last), ZKBUF_LEN(&last));
	LIST_FOREACH(cl, &L.clients, entry)
		if (cl->gate || cl->sessiond)
			zkbuf_add(&cl->c->out, ZKBUF_DATA(&last),
			    ZKBUF_LEN(&last));
}

void
qhello(struct client *cl)
{
	if (Q.lp == NULL || (!cl->gate && !cl->sessiond))
		return;
	modeline(&cl->c->out);
}

/*
 * A `touch session=..` line from this node's zk-sessiond (the sessions
 * its gate saw traffic on): the leader's zk-sessiond keeps every
 * session's clock, so a learner sends it on.
 */
void
qtouch(const char *line, size_t len)
{
	struct qpeer	*p;

	if (Q.z.role == FLE_LEADING) {
		ownertouch(line, len, Q.cfg->myid);	/* our own attach */
		return;
	}
	if (Q.z.leader < 0 || !zab_serving(&Q.z))
		return;
	p = &Q.peer[Q.z.leader];
	if (p->c == NULL || !p->up)
		return;
	zkbuf_add(&p->c->out, line, len);
	zkbuf_addc(&p->c->out, '\n');
}

/* The leader: a learner's touches go to zk-sessiond. */
static void
touched(const char *line, size_t len)
{
	struct client	*cl;

	if (Q.z.role != FLE_LEADING)
		return;
	LIST_FOREACH(cl, &L.clients, entry)
		if (cl->sessiond) {
			zkbuf_add(&cl->c->out, line, len);
			zkbuf_addc(&cl->c->out, '\n');
		}
}

/* ---- digests: a replica that diverged leaves the ensemble ---- */

/* A learner: ask our tree for its digest right after zxid, if the
   leader's is to be checked there; drop those we went past. */
static void
digestat(int64_t zxid)
{
	size_t	 i, k = 0;

	for (i = 0; i < Q.ndq; i++) {
		if (Q.dq[i].zxid == zxid && Q.ndasks < MAXDIGESTS) {
			zkbuf_add(&L.tree->out, "digest\n", 7);
			Q.dasks[Q.ndasks++] = Q.dq[i];
		} else if (Q.dq[i].zxid > zxid)
			Q.dq[k++] = Q.dq[i];
	}
	Q.ndq = k;
}

/* The leader: its tree's digest every DIGESTMS or DIGESTTXNS. */
static void
digestdue(int64_t now)
{
	if (Q.z.role != FLE_LEADING || !zab_serving(&Q.z) || Q.dasked ||
	    Q.z.delivered == Q.dlast || (now - Q.dat < DIGESTMS &&
	    Q.z.delivered - Q.dlast < DIGESTTXNS))
		return;
	Q.dasked = 1;
	Q.dat = now;
	zkbuf_add(&L.tree->out, "digest\n", 7);
}

/*
 * Our tree's `digest zxid=Z value=V`.  The leader sends it to its
 * learners (`digest epoch=E zxid=Z value=V`); a learner compares it
 * with the leader's at the same zxid, and leaves (exit 65: zk-node
 * does not restart it) rather than serve a tree that is not the
 * ensemble's.
 */
void
qdigest(char *line, size_t len)
{
	struct zkline	 l;
	struct qpeer	*p;
	int64_t		 z, v;
	int		 i;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, line, len) == -1 || zkl_int(&l, "zxid", &z) == -1 ||
	    zkl_int(&l, "value", &v) == -1)
		errx(EX_PROTOCOL, "tree.sock: a bad digest line");
	zkl_free(&l);
	if (Q.dasked) {			/* the answer to what we led */
		Q.dasked = 0;
		Q.dlast = z;
		if (Q.z.role != FLE_LEADING)
			return;
		for (i = 0; i < Q.z.n; i++) {
			p = &Q.peer[i];
			if (p->c == NULL || !p->up || p->snapwait)
				continue;
			zkl_begin(&p->c->out, "digest");
			zkl_putd(&p->c->out, "epoch", Q.z.epoch);
			zkl_putx(&p->c->out, "zxid", z);
			zkl_putx(&p->c->out, "value", v);
			zkl_end(&p->c->out);
		}
		return;
	}
	if (Q.ndasks == 0)
		return;
	if (Q.dasks[0].zxid == z && Q.dasks[0].value != (uint64_t)v)
		errx(EX_DATAERR, "the tree at zxid 0x%" PRIx64 " is not the "
		    "leader's (digest 0x%" PRIx64 ", the leader's 0x%" PRIx64
		    "): this replica diverged, and leaves the ensemble", z,
		    (uint64_t)v, Q.dasks[0].value);
	if (Q.dasks[0].zxid == z)
		zk_dbg("digest at 0x%" PRIx64 " is the leader's", z);
	memmove(Q.dasks, Q.dasks + 1, --Q.ndasks * sizeof(Q.dasks[0]));
}

/* A learner: the leader's digest, to check once we have its zxid. */
static void
leaderdigest(struct qpeer *p, char *s, size_t n)
{
	struct zkline	 l;
	int64_t		 z, v;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || zkl_int(&l, "zxid", &z) == -1 ||
	    zkl_int(&l, "value", &v) == -1 || Q.z.role == FLE_LEADING) {
		zkl_free(&l);
		warnx("peer %d: a bad digest: connection closed", p->id);
		zkloop_kill(p->c);
		return;
	}
	zkl_free(&l);
	if (z == Q.z.delivered && Q.np == Q.phead && Q.ndasks < MAXDIGESTS) {
		/* we are there now: ask at once */
		Q.dasks[Q.ndasks].zxid = z;
		Q.dasks[Q.ndasks++].value = (uint64_t)v;
		zkbuf_add(&L.tree->out, "digest\n", 7);
		return;
	}
	if (z <= Q.z.delivered)
		return;			/* gone past it: not comparable */
	if (Q.ndq == MAXDIGESTS)
		memmove(Q.dq, Q.dq + 1, --Q.ndq * sizeof(Q.dq[0]));
	Q.dq[Q.ndq].zxid = z;
	Q.dq[Q.ndq++].value = (uint64_t)v;
}

/* ---- SNAP: a snapshot for a learner behind the start of our log ---- */

/*
 * Segments purged while we run (zk-snap purge, autopurge): the log
 * starts later than zab thinks, and a learner behind it needs a SNAP.
 */
static void
purgecheck(void)
{
	struct segs	 segs = { NULL, 0 };

	listsegs(L.log.dir, &segs);
	if (segs.n > 0 && segs.v[0].first - 1 > Q.z.base)
		zab_purged(&Q.z, segs.v[0].first - 1);
	free(segs.v);
}

/*
 * ZA_SENDSNAP: the learner is owed the tree.  zk-tree snapshots what it
 * has applied (everything handed to it so far: the committed prefix),
 * and the snapshot goes to every learner owed one; nothing else goes to
 * them meanwhile.  A learner loads a SNAP by restarting its node on it,
 * and syncs again by DIFF from there.
 */
static void
asksnap(int slot)
{
	Q.peer[slot].snapwait = 1;
	if (Q.snapasked)
		return;
	Q.snapasked = 1;
	zkbuf_add(&L.tree->out, "snapshot\n", 9);
	zk_dbg("peer %d needs a SNAP: asked zk-tree for a snapshot",
	    Q.peer[slot].id);
}

/*
 * More of the SNAP under way, as the learner's connection drains (the
 * loop calls it whenever c's output is all written): up to SNAPQUEUE
 * queued, a SNAPCHUNK of the file per snapdata line; at the file's end
 * snapend and `snap`.  So a tree of any size is never held whole.  A
 * read that fails closes that learner.
 */
static void
snapdrain(struct zkconn *c)
{
	static char	 buf[SNAPCHUNK];
	struct qpeer	*p = c->arg;
	struct zab_out	 o;
	struct zab_msg	 m;
	ssize_t		 n = 1;
	int		 slot;

	if (p == NULL || p->c != c || p->snapping != 1)
		return;
	slot = (int)(p - Q.peer);
	while (ZKBUF_LEN(&c->out) < SNAPQUEUE) {
		if ((n = read(p->snapfd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			warn("SNAP for peer %d", p->id);
			closepeer(slot, 0);
			zab_closed(&Q.z, zk_mono_ms(), p->id, &o);
			run(&o);
			return;
		}
		if (n == 0)
			break;
		zkl_begin(&c->out, "snapdata");
		zkl_put(&c->out, "data", buf, (size_t)n);
		zkl_end(&c->out);
		p->snapcrc = zk_crc32c(p->snapcrc, buf, (size_t)n);
		p->snaptotal += (uint64_t)n;
	}
	if (n == 0) {
		(void)close(p->snapfd);
		p->snapping = 2;
		c->ondrain = NULL;
		zkl_begin(&c->out, "snapend");
		zkl_putd(&c->out, "bytes", (int64_t)p->snaptotal);
		zkl_putd(&c->out, "crc", p->snapcrc);
		zkl_end(&c->out);
		memset(&m, 0, sizeof(m));
		m.type = ZM_SNAP;
		m.epoch = Q.z.epoch;
		m.zxid = p->snapzxid;
		p->snapwait = 0;
		sendmsg_(slot, &m);
		p->snapwait = 1;	/* the learner restarts: nothing more */
		warnx("sent peer %d a SNAP at 0x%" PRIx64 " (%" PRIu64
		    " bytes)", p->id, p->snapzxid, p->snaptotal);
	}
	if (c->out.err)
		errc(EX_OSERR, c->out.err, "peer %d", p->id);
}

/* The snapshot file, as lines: snapdata..., snapend, then `snap`. */
static int
sendsnap(int slot, const char *file, int64_t zxid)
{
	struct qpeer	*p = &Q.peer[slot];

	if ((p->snapfd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("SNAP for peer %d: %s", p->id, file);
		return -1;
	}
	p->snapping = 1;
	p->snapzxid = zxid;
	p->snaptotal = 0;
	p->snapcrc = 0;
	p->c->ondrain = snapdrain;
	snapdrain(p->c);
	return 0;
}

/* zk-tree's answer to our `snapshot`: send it to who is owed one. */
void
qsnapshot(char *line, size_t len)
{
	struct zab_out	 o;
	struct zkline	 l;
	const char	*file;
	int64_t		 zxid;
	int		 i;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, line, len) == -1)
		errx(EX_PROTOCOL, "tree.sock: a bad snapshot line");
	Q.snapasked = 0;
	file = zkl_str(&l, "file");
	if (file == NULL || zkl_int(&l, "zxid", &zxid) == -1)
		warnx("no snapshot for a SNAP: %s", zkl_str(&l, "err") ?
		    zkl_str(&l, "err") : "no file");
	for (i = 0; i < Q.z.n; i++) {
		if (!Q.peer[i].snapwait || Q.peer[i].c == NULL ||
		    Q.peer[i].snapping != 0)	/* under way, or sent */
			continue;
		if (file != NULL && zkl_get(&l, "zxid") != NULL &&
		    sendsnap(i, file, zxid) == 0)
			continue;
		closepeer(i, 0);
		zab_closed(&Q.z, zk_mono_ms(), Q.peer[i].id, &o);
		run(&o);
	}
	zkl_free(&l);
}

/* A learner: the SNAP's bytes into a file beside the snapshots. */
static void
snaprecv(struct qpeer *p, char *s, size_t n)
{
	struct zkline		 l;
	const struct zkfield	*f;
	char			 dir[PATH_MAX];
	int64_t			 bytes, crc;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, s, n) == -1 || Q.z.role == FLE_LEADING ||
	    p != &Q.peer[Q.z.leader >= 0 ? Q.z.leader : 0])
		goto bad;
	if (strcmp(l.verb, "snapend") == 0) {
		if (zkl_int(&l, "bytes", &bytes) == -1 ||
		    zkl_int(&l, "crc", &crc) == -1 || Q.rfd == -1 ||
		    (uint64_t)bytes != Q.rbytes || (uint32_t)crc != Q.rcrc)
			goto bad;
		Q.rok = 1;
		zkl_free(&l);
		return;
	}
	if ((f = zkl_get(&l, "data")) == NULL || Q.rok)
		goto bad;
	if (Q.rfd == -1) {
		if (zksnap_dir(Q.cfg->dataDir, dir, sizeof(dir)) == -1 ||
		    (size_t)snprintf(Q.rpath, sizeof(Q.rpath),
		    "%s/snapshot.recv.tmp", dir) >= sizeof(Q.rpath) ||
		    (Q.rfd = open(Q.rpath, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644)) == -1)
			err(EX_CANTCREAT, "%s/zk: a SNAP", Q.cfg->dataDir);
		Q.rbytes = 0;
		Q.rcrc = 0;
	}
	if (write(Q.rfd, f->val, f->len) != (ssize_t)f->len)
		err(EX_IOERR, "%s", Q.rpath);
	Q.rbytes += f->len;
	Q.rcrc = zk_crc32c(Q.rcrc, f->val, f->len);
	zkl_free(&l);
	return;
bad:
	zkl_free(&l);
	warnx("peer %d: a bad SNAP: connection closed", p->id);
	zkloop_kill(p->c);
}

/*
 * ZA_SNAPLOAD: make the SNAP our data, durably, then start the node
 * over on it.  The log goes first (a crash then leaves an older
 * snapshot and no log: behind, never wrong), and every snapshot after
 * the SNAP's zxid (a history the leader's does not hold) with it.
 */
static void
snapload(int64_t zxid)
{
	struct zksnapent	*v;
	struct zkscan		 w;
	char			 dir[PATH_MAX], path[PATH_MAX + 32];
	size_t			 n, i;
	int			 dfd;

	if (!Q.rok || Q.rfd == -1)
		errx(EX_PROTOCOL, "a SNAP from the leader without its data");
	if (fsync(Q.rfd) == -1 || close(Q.rfd) == -1)
		err(EX_IOERR, "%s", Q.rpath);
	Q.rfd = -1;
	flush();
	ixcut(0);
	if (zklog_truncate(&L.log, 0, &w) == -1)
		err(EX_IOERR, "%s", w.path);
	if (zksnap_dir(Q.cfg->dataDir, dir, sizeof(dir)) == -1 ||
	    zksnap_list(dir, &v, &n) == -1)
		err(EX_IOERR, "%s/zk", Q.cfg->dataDir);
	for (i = 0; i < n; i++)
		if (v[i].zxid > zxid && unlink(v[i].path) == -1)
			err(EX_IOERR, "%s", v[i].path);
	free(v);
	snprintf(path, sizeof(path), "%s/snapshot.%016" PRIx64, dir,
	    (uint64_t)zxid);
	if (rename(Q.rpath, path) == -1 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1)
		err(EX_IOERR, "%s", path);
	close(dfd);
	errx(EX_TEMPFAIL, "loaded a SNAP at 0x%" PRIx64 " from the leader: "
	    "the node starts again on it", zxid);
}

/* ---- read index (linearizableReads) ---- */

/* The answer to our gate's `readindex id=N`: zxid=, or err=1. */
static void
readindex(int64_t id, int64_t zxid)
{
	zkbuf_reset(&Q.tmp);
	zkl_begin(&Q.tmp, "readindex");
	zkl_putd(&Q.tmp, "id", id);
	if (zxid >= 0)
		zkl_putx(&Q.tmp, "zxid", zxid);
	else
		zkl_putd(&Q.tmp, "err", 1);
	zkl_end(&Q.tmp);
	togates(&Q.tmp);
}

/*
 * `readindex id=N` from our gate: the reads it holds may be served once
 * the tree has what the leader had committed when it showed, after the
 * request, that it still leads (zab_read).
 */
void
qread(char *line, size_t len)
{
	struct zab_out	 o;
	struct zkline	 l;
	int64_t		 id = 0;

	memset(&l, 0, sizeof(l));
	if (zkl_parse(&l, line, len) == -1 || zkl_int(&l, "id", &id) == -1 ||
	    id <= 0) {
		warnx("readindex: bad line");
		zkl_free(&l);
		return;
	}
	zkl_free(&l);
	zab_read(&Q.z, zk_mono_ms(), (uint64_t)id, &o);
	run(&o);
}

/* ---- sync ---- */

/*
 * A client's sync, from our gate (cl) or, on the leader, from a learner
 * (p): the serving node must first have applied everything the leader
 * had committed when the sync reached it.  The leader puts it in its
 * tree's stream after what it has handed on (all it committed), and
 * sends a learner's back to it after the COMMITs it sent that learner
 * so far; the learner then puts it in its tree's stream, after those.
 * zk-tree answers it as a read.
 */
static void
tree_sync(const char *line, size_t len)
{
	zkbuf_add(&L.tree->out, line, len);
	zkbuf_addc(&L.tree->out, '\n');
}

void
qsync(struct client *cl, char *line, size_t len)
{
	if (outbox(cl, line, len, OB_SYNC))
		return;
	if (zab_proposing(&Q.z))
		tree_sync(line, len);
	else if (toleader(line, len) == -1)
		failline(cl, line, len);
}

/*
 * A read our gate sent behind a write of its session (the FIFO rule):
 * it waits in the outbox until its session's writes before it are in
 * zk-tree's stream, or given up, then goes there (tree_sync), and
 * zk-tree answers it in that order.
 */
void
qbehind(struct client *cl, char *line, size_t len)
{
	if (!outbox(cl, line, len, OB_READ))
		tree_sync(line, len);	/* no session or xid: no order */
}

/* A sync on the quorum connection: from a learner, or back from the
   leader. */
static void
peer_sync(struct qpeer *p, char *s, size_t n)
{
	if (Q.z.role == FLE_LEADING) {
		if (p->snapwait || p->c == NULL)
			return;
		zkbuf_add(&p->c->out, s, n);	/* back, after the COMMITs */
		zkbuf_addc(&p->c->out, '\n');
	} else if (zab_serving(&Q.z)) {
		tree_sync(s, n);
		ob_done(s, n);		/* the reads behind it follow it */
	}
}

/* ---- start ---- */

struct scan1 {
	int64_t		 first, commit;
};

static int
scanfirst(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct scan1	*s = w->arg;
	int64_t		 c;

	if (s->first == 0)
		s->first = z;
	if ((c = linecommit(line, len)) > s->commit && c <= z)
		s->commit = c;
	return 0;
}

struct scan2 {
	int64_t		 loaded, commit;
	struct zkbuf	 out;
	int		 fd;
};

static int
scanload(struct zkscan *w, const char *line, size_t len, int64_t z)
{
	struct scan2	*s = w->arg;

	if (zab_logged(&Q.z, z) == -1)
		errx(EX_DATAERR, "%s: 0x%" PRIx64 " out of order", L.log.dir,
		    z);
	if (z <= s->loaded)
		return 0;
	if (z > s->commit) {
		pend(z, line, len);
		return 0;
	}
	if (len > 9 && memcmp(line, "reconfig ", 9) == 0)
		adopt(line, len - 1);
	zkbuf_add(&s->out, line, len);
	if (ZKBUF_LEN(&s->out) >= (4 << 20)) {
		if (s->out.err)
			errc(EX_OSERR, s->out.err, "replay");
		writeall(s->fd, ZKBUF_DATA(&s->out), ZKBUF_LEN(&s->out));
		zkbuf_reset(&s->out);
	}
	return 0;
}

/*
 * Walk the log.  Damage stops the node, but for an observer that does
 * not fsync every batch (L.log.syncms): a crash of the machine may have
 * left any part of what it wrote since its last fdatasync unwritten, and
 * none of it is needed by a quorum, so its log is cut before the damage
 * (the leader brings the rest) and the walk ends there.
 */
static int
walklog(struct zkscan *w)
{
	struct segs	 segs = { NULL, 0 };
	int		 r;

	listsegs(L.log.dir, &segs);
	r = walk(&segs, w);
	free(segs.v);
	if (r == ZKSEG_BAD && L.log.syncms != 0) {
		warnx("%s: bad record at offset %lld: %s: an observer's log, "
		    "not fsynced at every write: cut after 0x%" PRIx64,
		    w->path, (long long)w->off, w->why, w->last);
		cutlog(&L.log, w->last);
		w->torn = 0;
		return ZKSEG_OK;
	}
	if (r == ZKSEG_BAD)
		baddata(w);
	return r;
}

/*
 * Open the log: what is known committed goes to zk-tree at once, the
 * rest waits for the leader; then resume the last segment.
 */
static void
openlog(int treefd, int64_t loaded, int64_t aepoch, int64_t cepoch)
{
	struct segs	 segs = { NULL, 0 };
	struct scan1	 s1 = { 0, 0 };
	struct scan2	 s2;
	struct zkscan	 w;
	struct zkseg	*last;
	int64_t		 base, commit;

	/* the records after the snapshot: where they start, the highest
	   commit point they carry */
	memset(&w, 0, sizeof(w));
	w.floor = loaded;
	w.fn = scanfirst;
	w.arg = &s1;
	(void)walklog(&w);
	if (w.torn)
		warnx("%s: a torn tail at offset %lld cut off", w.path,
		    (long long)w.off);
	/*
	 * zab knows the log from the snapshot on (a learner behind it gets
	 * a SNAP).  What follows must be loaded + 1, or an epoch's first
	 * after the snapshot's; else it is set aside (cut) and the leader
	 * brings the rest.  A log that ends before the snapshot (one taken
	 * of what was applied before the log was durable, then a crash) is
	 * covered by it.
	 */
	base = loaded;
	if (s1.first != 0 && s1.first != loaded + 1 &&
	    !((s1.first & 0xffffffff) == 1 && EPOCH(s1.first) >
	    EPOCH(loaded))) {
		warnx("%s: the log goes on at 0x%" PRIx64 " after the snapshot "
		    "at 0x%" PRIx64 ": 0x%" PRIx64 " to 0x%" PRIx64 " set aside",
		    L.log.dir, s1.first, loaded, s1.first, w.last);
		cutlog(&L.log, loaded);
		s1.first = 0;
	}
	if (s1.first == 0) {
		s1.commit = loaded;
		if (w.last > loaded || w.last == 0)
			w.last = loaded;
	}
	if (w.last < loaded)
		w.last = loaded;
	commit = s1.commit > loaded ? s1.commit : loaded;
	if (commit > w.last)
		commit = w.last;
	if (EPOCH(w.last) > cepoch) {
		warnx("%s: the log reaches epoch %" PRId64 " but the current "
		    "epoch is %" PRId64 ": raised", L.log.dir, EPOCH(w.last),
		    cepoch);
		cepoch = EPOCH(w.last);
		if (aepoch < cepoch)
			aepoch = cepoch;
		setepochs(aepoch, cepoch);
	}
	if (zab_load(&Q.z, aepoch, cepoch, base, commit) == -1)
		errx(EX_DATAERR, "%s: epochs %" PRId64 "/%" PRId64 ", base 0x%"
		    PRIx64 ", commit 0x%" PRIx64 ": inconsistent", L.log.dir,
		    aepoch, cepoch, base, commit);
	memset(&s2, 0, sizeof(s2));
	s2.loaded = loaded;
	s2.commit = commit;
	s2.fd = treefd;
	memset(&w, 0, sizeof(w));
	w.floor = base;
	w.fn = scanload;
	w.arg = &s2;
	(void)walklog(&w);
	if (s2.out.err)
		errc(EX_OSERR, s2.out.err, "replay");
	writeall(treefd, ZKBUF_DATA(&s2.out), ZKBUF_LEN(&s2.out));
	zkbuf_free(&s2.out);
	Q.written = Q.reported = zab_last(&Q.z);	/* zab_logged: durable */
	L.log.last = w.last > base ? w.last : base;
	listsegs(L.log.dir, &segs);
	if (segs.n > 0 && w.last > base) {
		last = &segs.v[segs.n - 1];
		if (zklog_resume(&L.log, last->path, last->first, w.off,
		    w.torn, w.last) == -1)
			err(EX_IOERR, "%s", last->path);
	} else if (zklog_skip(&L.log, base) == -1)
		err(EX_IOERR, "%s", L.log.dir);
	free(segs.v);
	zk_dbg("log: base 0x%" PRIx64 ", last 0x%" PRIx64 ", commit 0x%"
	    PRIx64 ", epochs %" PRId64 "/%" PRId64, base, zab_last(&Q.z),
	    commit, aepoch, cepoch);
}

int
qserve(const struct zkcfg *cfg, const char *rundir)
{
	const struct zkserver	*me = NULL;
	struct zkbuf		 early;
	struct zab_out		 o;
	char			 sock[PATH_MAX];
	int			 ids[ZK_MAXSERVERS], voter[ZK_MAXSERVERS];
	int			 i, fd, lfd, tfd, timeout;
	int64_t			 loaded, now, d, aepoch, cepoch;

	Q.cfg = cfg;
	Q.rfd = -1;
	Q.origin = -1;
	L.quorum = 1;
	members_init(cfg);
	for (i = 0; i < cfg->nservers; i++) {
		ids[i] = cfg->servers[i].id;
		voter[i] = !cfg->servers[i].observer;
		if (ids[i] == cfg->myid)
			me = &cfg->servers[i];
	}
	if (me == NULL)
		errx(EX_CONFIG, "%s: myid %d has no server.%d line", cfg->file,
		    cfg->myid, cfg->myid);
	if (me->quorumport <= 0)
		errx(EX_CONFIG, "%s: server.%d has no quorum port", cfg->file,
		    cfg->myid);
	ob_emitter(tree_sync);
	if (zab_init(&Q.z, cfg->myid, ids, voter, cfg->nservers,
	    cfg->tickTime, cfg->initLimit * cfg->tickTime,
	    cfg->syncLimit * cfg->tickTime) == -1)
		errx(EX_CONFIG, "%s: the server.N lines make no ensemble",
		    cfg->file);
	for (i = 0; i < cfg->nservers; i++)
		Q.peer[i].id = ids[i];
	Q.maxline = 4 * (size_t)cfg->maxbuffer + 65536;

	opendir_zk(cfg->dataLogDir);
	/* an observer's log is no part of any quorum: written at once, but
	   fsynced at most once a second (syncEnabled=true: every batch) */
	if (!Q.z.voter[Q.z.me] && !cfg->syncEnabled)
		L.log.syncms = 1000;
	if (zkep_open(&Q.ep, L.log.dirfd) == -1)
		errx(errno == EINVAL ? EX_DATAERR : EX_IOERR, "%s/%s",
		    L.log.dir, Q.ep.why);
	aepoch = Q.ep.accepted;
	cepoch = Q.ep.current;

	loaded = hello(rundir, &fd, &early, adopt);
	openlog(fd, loaded, aepoch, cepoch);

	if ((Q.lp = zkloop_new()) == NULL)
		err(EX_OSERR, NULL);
	snprintf(sock, sizeof(sock), "%s/log.sock", rundir);
	if ((lfd = zk_listen_unix(sock)) == -1)
		err(EX_OSERR, "%s", sock);
	if (zkloop_listen(Q.lp, lfd, onaccept, NULL) == -1)
		err(EX_OSERR, "loop");
	tfd = fd;
	if ((lfd = zk_listen_tcp(me->host, me->quorumport)) == -1)
		err(errno == EADDRINUSE || errno == EADDRNOTAVAIL ||
		    errno == EACCES ? EX_CONFIG : EX_OSERR, "%s:%d", me->host,
		    me->quorumport);
	if (zkloop_listen(Q.lp, lfd, onquorum, NULL) == -1)
		err(EX_OSERR, "quorum port");
	snprintf(sock, sizeof(sock), "%s/elect.sock", rundir);
	if ((fd = zk_connect_unix(sock, 10000)) == -1)
		err(EX_UNAVAILABLE, "%s", sock);
	if ((Q.elect = zkloop_conn(Q.lp, fd, elect_read, elect_close,
	    NULL)) == NULL)
		err(EX_OSERR, "loop");
	treeready(Q.lp, tfd, Q.z.delivered, &early);
	if (M.version > cfg->configVersion)
		electmembers();		/* the replay took newer ones */
	look();

	if (zk_onterm() == -1)
		err(EX_OSERR, "sigaction");
	for (;;) {
		now = zk_mono_ms();
		timeout = handpass(now);
		if (Q.restart != 0 && timeout > 50)
			timeout = 50;
		if ((d = zab_deadline(&Q.z)) != 0 && d - now < timeout)
			timeout = d - now < 0 ? 0 : (int)(d - now);
		if (zkloop_run(Q.lp, timeout) == -1)
			err(EX_OSERR, "poll");
		/*
		 * The clock only after a poll: what the peers sent while
		 * this process did not run (a long fdatasync below, the
		 * machine's stall, SIGSTOP) is read first, so that a peer
		 * is never judged silent for a stall of our own.
		 */
		now = zk_mono_ms();
		dials(now);
		if ((d = zab_deadline(&Q.z)) != 0 && d <= now) {
			zab_tick(&Q.z, now, &o);
			run(&o);
		}
		/* the group commit: one write and fdatasync per pass */
		do {
			flush();
			if (Q.written > Q.reported) {
				Q.reported = Q.written;
				zab_durable(&Q.z, zk_mono_ms(), Q.written, &o);
				run(&o);
			}
		} while (ZKBUF_LEN(&Q.rec) > 0);
		fsyncreport();
		propreport(0);
		takemembers();
		/* held for tickTime while the node does not serve, as the
		   gate holds its clients: then given up */
		now = zk_mono_ms();
		if (zab_serving(&Q.z))
			Q.unserved = 0;
		else if (Q.unserved == 0)
			Q.unserved = now;
		else if (now - Q.unserved >= Q.cfg->tickTime)
			ob_expire(now - Q.cfg->tickTime, failline);
		publish();
		digestdue(zk_mono_ms());
		if (Q.restart != 0 && zk_mono_ms() >= Q.restart)
			errx(Q.restartcode, "%s the members of version 0x%"
			    PRIx64, Q.restartcode == EX_CONFIG ? "not one of" :
			    "starting again on", M.version);
	}
}
