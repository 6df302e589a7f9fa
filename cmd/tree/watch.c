/*
 * zk-tree's watches and their events, and the events a txn fires
 * once it succeeds.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "tree.h"

struct wptree		 wpaths = RB_INITIALIZER(&wpaths);
struct wstree		 wsessions = RB_INITIALIZER(&wsessions);
size_t			 nwmode[2][4];	/* watches by table and mode */
size_t			 nwatch, nwpath, nwsess;
static uint64_t		 tgen;
static struct intent	*ints;
static size_t		 nints, cints;
static struct zkbuf	 ipath, pbuf, evbuf;

static int
wpcmp(struct wpath *a, struct wpath *b)
{
	return namecmp(a->path, a->plen, b->path, b->plen);
}

RB_GENERATE(wptree, wpath, entry, wpcmp)

static int
wscmp(struct wsess *a, struct wsess *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_GENERATE(wstree, wsess, entry, wscmp)

void
intent(int kind, const char *p, size_t len)
{
	ints = xgrow(ints, &cints, nints + 1, sizeof(*ints));
	ints[nints].kind = kind;
	ints[nints].off = ipath.len;
	ints[nints].len = len;
	zkbuf_add(&ipath, p, len);
	bufcheck(&ipath);
	nints++;
}

void
intentnode(int kind, const struct node *n)
{
	size_t	 off;

	zkbuf_reset(&pbuf);
	off = nodepath(&pbuf, n);
	intent(kind, pbuf.p + off, pbuf.len - off);
}

/* Forget the txn's events: it failed. */
void
intentclear(void)
{
	nints = 0;
	zkbuf_reset(&ipath);
}

struct wpath *
wpfind(const char *p, size_t len)
{
	struct wpath	*w = RB_ROOT(&wpaths);
	int		 c;

	while (w != NULL) {
		if ((c = namecmp(p, len, w->path, w->plen)) < 0)
			w = RB_LEFT(w, entry);
		else if (c > 0)
			w = RB_RIGHT(w, entry);
		else
			return w;
	}
	return NULL;
}

struct wsess *
wsfind(int64_t id)
{
	struct wsess	 k;

	k.id = id;
	return RB_FIND(wstree, &wsessions, &k);
}

struct watch *
wfind(struct wsess *ws, struct wpath *wp)
{
	struct watch	*w;

	if (ws == NULL || wp == NULL)
		return NULL;
	if (ws->n < wp->n) {
		TAILQ_FOREACH(w, &ws->w, bysess)
			if (w->wp == wp)
				return w;
	} else {
		TAILQ_FOREACH(w, &wp->w, bypath)
			if (w->ws == ws)
				return w;
	}
	return NULL;
}

static void
wfree(struct watch *w)
{
	struct wpath	*wp = w->wp;
	struct wsess	*ws = w->ws;

	TAILQ_REMOVE(&wp->w, w, bypath);
	TAILQ_REMOVE(&ws->w, w, bysess);
	free(w);
	nwatch--;
	if (--wp->n == 0) {
		RB_REMOVE(wptree, &wpaths, wp);
		free(wp);
		nwpath--;
	}
	if (--ws->n == 0) {
		RB_REMOVE(wstree, &wsessions, ws);
		free(ws);
		nwsess--;
	}
}

/* Set w's mode in table t; frees w once both modes are none. */
void
wsetmode(struct watch *w, int t, int m)
{
	nwmode[t][w->mode[t]]--;
	w->mode[t] = (uint8_t)m;
	nwmode[t][m]++;
	if (w->mode[WT_DATA] == WM_NONE && w->mode[WT_CHILD] == WM_NONE) {
		nwmode[WT_DATA][WM_NONE]--;
		nwmode[WT_CHILD][WM_NONE]--;
		wfree(w);
	}
}

void
wadd(int64_t sid, const char *p, size_t len, int t, int m)
{
	struct wsess	*ws;
	struct wpath	*wp;
	struct watch	*w;

	if ((ws = wsfind(sid)) == NULL) {
		ws = xmalloc(sizeof(*ws));
		memset(ws, 0, sizeof(*ws));
		TAILQ_INIT(&ws->w);
		ws->id = sid;
		RB_INSERT(wstree, &wsessions, ws);
		nwsess++;
	}
	if ((wp = wpfind(p, len)) == NULL) {
		wp = xmalloc(sizeof(*wp) + len + 1);
		memset(wp, 0, sizeof(*wp));
		TAILQ_INIT(&wp->w);
		memcpy(wp->path, p, len);
		wp->path[len] = '\0';
		wp->plen = len;
		RB_INSERT(wptree, &wpaths, wp);
		nwpath++;
	}
	if ((w = wfind(ws, wp)) == NULL) {
		w = xmalloc(sizeof(*w));
		memset(w, 0, sizeof(*w));
		w->wp = wp;
		w->ws = ws;
		TAILQ_INSERT_TAIL(&wp->w, w, bypath);
		TAILQ_INSERT_TAIL(&ws->w, w, bysess);
		wp->n++;
		ws->n++;
		nwatch++;
		nwmode[WT_DATA][WM_NONE]++;
		nwmode[WT_CHILD][WM_NONE]++;
	}
	wsetmode(w, t, m);
}

/* " type=T path=P\n": what follows the session in every event of one trigger */
static void
evtail(struct zkbuf *b, int type, const char *p, size_t len)
{
	zkbuf_reset(b);
	zkl_putd(b, "type", type);
	zkl_put(b, "path", p, len);
	zkl_end(b);
	bufcheck(b);
}

/* "ev session=S" then the tail, straight into the gate's out buffer. */
static void
emittail(int64_t sid, const struct zkbuf *tail)
{
	struct zkbuf	*o;

	if (gatec == NULL)
		return;
	o = &gatec->out;
	zkl_begin(o, "ev");
	zkl_putx(o, "session", sid);
	zkbuf_add(o, tail->p, tail->len);
}

void
emit(int64_t sid, int type, const char *p, size_t len)
{
	evtail(&evbuf, type, p, len);
	emittail(sid, &evbuf);
}

/*
 * WatchManager.triggerWatch: the watches on path in table t, and the
 * recursive ones on its ancestors.  Sessions already in the set of the
 * trigger generation `suppress` get no event.  Returns this generation.
 */
static uint64_t
trigger(int t, const char *p, size_t plen, int type, uint64_t suppress)
{
	struct wpath	*wp;
	struct watch	*w, *nw;
	uint64_t	 gen = ++tgen;
	size_t		 len = plen;
	int		 atpath = 1, m, tailed = 0;

	if (nwatch == 0)
		return gen;
	for (;;) {
		if ((wp = wpfind(p, len)) != NULL) {
			TAILQ_FOREACH_SAFE(w, &wp->w, bypath, nw) {
				m = w->mode[t];
				if (m == WM_NONE)
					continue;
				if (m == WM_REC) {
					if (type == ZEV_CHILD)
						continue;
				} else if (!atpath)
					continue;
				if (w->ws->seen != gen) {
					if (suppress == 0 ||
					    w->ws->seen != suppress) {
						/* the same tail for each */
						if (!tailed++)
							evtail(&evbuf, type, p,
							    plen);
						emittail(w->ws->id, &evbuf);
					}
					w->ws->seen = gen;
				}
				if (m == WM_STD)
					wsetmode(w, t, WM_NONE);
			}
		}
		if (nwmode[t][WM_REC] == 0 || len <= 1)
			break;
		while (len > 1 && p[len - 1] != '/')
			len--;
		if (len > 1)
			len--;
		atpath = 0;
	}
	return gen;
}

static size_t
parentlen(const char *p, size_t len)
{
	while (len > 0 && p[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

void
fire(void)
{
	struct intent	*it;
	const char	*p;
	size_t		 i;
	uint64_t	 g;

	for (i = 0; i < nints && nwatch > 0; i++) {
		it = &ints[i];
		p = ipath.p + it->off;
		switch (it->kind) {
		case I_CREATED:
			trigger(WT_DATA, p, it->len, ZEV_CREATED, 0);
			trigger(WT_CHILD, p, parentlen(p, it->len), ZEV_CHILD, 0);
			break;
		case I_DELETED:
			g = trigger(WT_DATA, p, it->len, ZEV_DELETED, 0);
			trigger(WT_CHILD, p, it->len, ZEV_DELETED, g);
			trigger(WT_CHILD, p, parentlen(p, it->len), ZEV_CHILD, 0);
			break;
		case I_CHANGED:
			trigger(WT_DATA, p, it->len, ZEV_CHANGED, 0);
			break;
		}
	}
	nints = 0;
	zkbuf_reset(&ipath);
}

/* Free w whatever its modes. */
static void
wkill(struct watch *w)
{
	nwmode[WT_DATA][w->mode[WT_DATA]]--;
	nwmode[WT_CHILD][w->mode[WT_CHILD]]--;
	wfree(w);
}

void
wdropsess(int64_t sid)
{
	struct wsess	*ws;

	while ((ws = wsfind(sid)) != NULL)
		wkill(TAILQ_FIRST(&ws->w));
}

void
wdropall(void)
{
	struct wsess	*ws;

	while ((ws = RB_MIN(wstree, &wsessions)) != NULL)
		wdropsess(ws->id);
}
