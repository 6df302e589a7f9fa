/*
 * zk-tree's reads, which zk-gate sends: rd_op and friends, and serve.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <inttypes.h>
#include <string.h>

#include "zk.h"
#include "tree.h"

static struct zkbuf	*shmout;	/* a getData reply to gatec */
static struct zkbuf	 res, sub, pbuf;

static int
rd_getdata(const struct req *r, const struct fv *v, int watch,
    struct zkbuf *out)
{
	const struct zkfield	*pf;
	struct node		*n;

	if ((pf = zkf_get(v->f, v->n, "path")) == NULL ||
	    (n = lookup(pf->val, pf->len)) == NULL)
		return ZNONODE;
	if (!allowed(r, n->acl, ZPERM_READ))
		return ZNOAUTH;
	if (watch)
		wadd(r->session, pf->val, pf->len, WT_DATA, WM_STD);
	if (n->data != NULL) {
		uint64_t	 pos;

		if (out == shmout && n->dlen >= SHMMIN &&
		    zkshm_put(&shm, n->data, (size_t)n->dlen, &pos) == 0)
			zkbuf_printf(out, " shm=%" PRIu64 ",%" PRId32, pos,
			    n->dlen);
		else
			zkl_put(out, "data", n->data, (size_t)n->dlen);
	}
	putstat(out, n);
	return 0;
}

static int
rd_getchildren(const struct req *r, const struct fv *v, int watch,
    int withstat, struct zkbuf *out)
{
	const struct zkfield	*pf;
	struct node		*n, *k;

	if ((pf = zkf_get(v->f, v->n, "path")) == NULL ||
	    (n = lookup(pf->val, pf->len)) == NULL)
		return ZNONODE;
	if (!allowed(r, n->acl, ZPERM_READ))
		return ZNOAUTH;
	if (watch)
		wadd(r->session, pf->val, pf->len, WT_CHILD, WM_STD);
	RB_FOREACH(k, kids, &n->kids)
		zkl_put(out, "child", k->name, k->nlen);
	if (withstat)
		putstat(out, n);
	return 0;
}

static int
rd_multiread(const struct req *r, const struct zkline *l, size_t first,
    struct zkbuf *out)
{
	struct fv	 v;
	size_t		 i;
	int		 e, opc;

	for (i = first; i < l->nf;) {
		i = nextop(l, i, &v);
		opc = zk_opcode(v.f[0].val);
		if (opc != ZOP_GETDATA && opc != ZOP_GETCHILDREN)
			return ZMARSHALLINGERROR;
	}
	for (i = first; i < l->nf;) {
		i = nextop(l, i, &v);
		opc = zk_opcode(v.f[0].val);
		zkbuf_reset(&sub);
		e = opc == ZOP_GETDATA ? rd_getdata(r, &v, 0, &sub) :
		    rd_getchildren(r, &v, 0, 0, &sub);
		zkl_puts(out, "op", e ? "error" : v.f[0].val);
		zkl_putd(out, "err", e);
		if (e == 0)
			zkbuf_add(out, sub.p, sub.len);
	}
	return 0;
}

static int
rd_watches(const struct req *r, const struct fv *v, int remove)
{
	const struct zkfield	*pf = zkf_get(v->f, v->n, "path");
	struct watch		*w;
	int64_t			 type;
	int			 has[2];

	if (zkf_int(v->f, v->n, "mode", &type) == -1 || type < 1 || type > 3 ||
	    pf == NULL)
		return ZMARSHALLINGERROR;
	if ((w = wfind(wsfind(r->session), wpfind(pf->val, pf->len))) == NULL)
		return ZNOWATCHER;
	has[WT_DATA] = type != 1 && w->mode[WT_DATA] != WM_NONE;
	has[WT_CHILD] = type != 2 && w->mode[WT_CHILD] != WM_NONE;
	if (!has[WT_DATA] && !has[WT_CHILD])
		return ZNOWATCHER;
	/* the child half first: w is freed only once both are none */
	if (remove && has[WT_CHILD])
		wsetmode(w, WT_CHILD, WM_NONE);
	if (remove && has[WT_DATA])
		wsetmode(w, WT_DATA, WM_NONE);
	return 0;
}

/* DataTree.setWatches: events first, the reply after */
static void
rd_setwatches(const struct req *r, const struct fv *top)
{
	static const char	*keys[] = { "dw", "ew", "cw", "pw", "rw" };
	const struct zkfield	*f;
	struct node		*n;
	int64_t			 rel = zkf_intdef(top->f, top->n, "relzxid", 0);
	size_t			 k, i;

	for (k = 0; k < 5; k++) {
		for (i = 0; i < top->n; i++) {
			f = &top->f[i];
			if (strcmp(f->key, keys[k]) != 0)
				continue;
			n = lookup(f->val, f->len);
			switch (k) {
			case 0:
				if (n == NULL)
					emit(r->session, ZEV_DELETED, f->val,
					    f->len);
				else if (n->mzxid > rel)
					emit(r->session, ZEV_CHANGED, f->val,
					    f->len);
				else
					wadd(r->session, f->val, f->len,
					    WT_DATA, WM_STD);
				break;
			case 1:
				if (n != NULL)
					emit(r->session, ZEV_CREATED, f->val,
					    f->len);
				else
					wadd(r->session, f->val, f->len,
					    WT_DATA, WM_STD);
				break;
			case 2:
				if (n == NULL)
					emit(r->session, ZEV_DELETED, f->val,
					    f->len);
				else if (n->pzxid > rel)
					emit(r->session, ZEV_CHILD, f->val,
					    f->len);
				else
					wadd(r->session, f->val, f->len,
					    WT_CHILD, WM_STD);
				break;
			default:
				wadd(r->session, f->val, f->len, WT_CHILD,
				    k == 3 ? WM_PERS : WM_REC);
				wadd(r->session, f->val, f->len, WT_DATA,
				    k == 3 ? WM_PERS : WM_REC);
			}
		}
	}
}

static int
rd_ephemerals(const struct req *r, const struct fv *v, struct zkbuf *out)
{
	const struct zkfield	*pf = zkf_get(v->f, v->n, "path");
	const struct node	*n;
	const char		*p = pf ? pf->val : "";
	size_t			 plen = pf ? pf->len : 0, s = 0, e, off;

	if (r->s == NULL)
		return 0;
	e = plen;
	while (s < e && (unsigned char)p[s] <= ' ')	/* Java trim() */
		s++;
	while (e > s && (unsigned char)p[e - 1] <= ' ')
		e--;
	if (e == s || (e - s == 1 && p[s] == '/'))
		plen = 0;
	LIST_FOREACH(n, &r->s->eph, eph) {
		zkbuf_reset(&pbuf);
		off = nodepath(&pbuf, n);
		if (pbuf.len - off >= plen && memcmp(pbuf.p + off, p, plen) == 0)
			zkl_put(out, "child", pbuf.p + off, pbuf.len - off);
	}
	return 0;
}

static int
rd_op(const struct req *r, const struct zkline *l, const struct fv *top,
    int opc, struct zkbuf *out)
{
	const struct zkfield	*pf = zkf_get(top->f, top->n, "path");
	struct node		*n = pf ? lookup(pf->val, pf->len) : NULL;
	int64_t			 watch, mode;

	watch = zkf_intdef(top->f, top->n, "watch", 0);
	switch (opc) {
	case ZOP_EXISTS:
		if (watch && pf != NULL)
			wadd(r->session, pf->val, pf->len, WT_DATA, WM_STD);
		if (n == NULL)
			return ZNONODE;
		putstat(out, n);
		return 0;
	case ZOP_GETDATA:
		return rd_getdata(r, top, watch != 0, out);
	case ZOP_GETCHILDREN:
	case ZOP_GETCHILDREN2:
		return rd_getchildren(r, top, watch != 0,
		    opc == ZOP_GETCHILDREN2, out);
	case ZOP_GETACL:
		if (n == NULL)
			return ZNONODE;
		if (!allowed(r, n->acl, ZPERM_READ | ZPERM_ADMIN))
			return ZNOAUTH;
		putacl(out, n->acl, !allowed(r, n->acl, ZPERM_ADMIN));
		putstat(out, n);
		return 0;
	case ZOP_GETALLCHILDRENNUMBER:
		if (n == NULL)
			return ZNONODE;
		if (!allowed(r, n->acl, ZPERM_READ))
			return ZNOAUTH;
		/* Apache counts keys under path + "/": "/" is one of them */
		zkl_putd(out, "count", countall(n) + (n == root));
		return 0;
	case ZOP_GETEPHEMERALS:
		return rd_ephemerals(r, top, out);
	case ZOP_MULTIREAD:
		return rd_multiread(r, l, top->n, out);
	case ZOP_CHECKWATCHES:
	case ZOP_REMOVEWATCHES:
		return rd_watches(r, top, opc == ZOP_REMOVEWATCHES);
	case ZOP_ADDWATCH:
		if (zkf_int(top->f, top->n, "mode", &mode) == -1 || mode < 0 ||
		    mode > 1 || pf == NULL)
			return ZMARSHALLINGERROR;
		wadd(r->session, pf->val, pf->len, WT_CHILD,
		    mode ? WM_REC : WM_PERS);
		wadd(r->session, pf->val, pf->len, WT_DATA,
		    mode ? WM_REC : WM_PERS);
		return 0;
	case ZOP_SETWATCHES:
	case ZOP_SETWATCHES2:
		rd_setwatches(r, top);
		return 0;
	case ZOP_SYNC:
		zkl_put(out, "path", pf ? pf->val : "", pf ? pf->len : 0);
		return 0;
	}
	return ZUNIMPLEMENTED;
}

/*
 * A read from zk-gate, or one zk-log held behind its session's writes
 * (conn.c's behind()): either way the session's writes before it are
 * applied.  sync is one too.
 */
void
serve(struct zkconn *c, struct zkline *l)
{
	struct req	 r;
	struct fv	 top;
	struct zkbuf	*o;
	size_t		 at;
	int		 e, opc;

	reqinit(&r, l, &top);
	opc = zk_opcode(l->verb);
	if (opc == ZOP_SYNC) {
		zkbuf_reset(&res);
		zkl_puts(&res, "path", zkl_str(l, "path") ? zkl_str(l, "path") :
		    "");
		bufcheck(&res);
		reply(c, &r, lastzxid, 0, &res);
		return;
	}
	if (c == NULL || !r.hasxid || (opc != ZOP_GETDATA &&
	    opc != ZOP_GETCHILDREN && opc != ZOP_GETCHILDREN2 &&
	    opc != ZOP_MULTIREAD)) {
		zkbuf_reset(&res);
		e = rd_op(&r, l, &top, opc, &res);
		bufcheck(&res);
		reply(c, &r, lastzxid, e, &res);	/* after its events */
		return;
	}
	/* the reads that carry data write their fields straight to the
	 * output (a big getData is copied once): err=0 before them,
	 * rewritten if the read fails */
	o = &c->out;
	replyhead(o, &r, lastzxid);
	at = ZKBUF_LEN(o);
	zkl_putd(o, "err", 0);
	if (c == gatec && gateshm && opc == ZOP_GETDATA)
		shmout = o;		/* a big value goes through the ring */
	e = rd_op(&r, l, &top, opc, o);
	shmout = NULL;
	bufcheck(o);
	if (e != 0) {
		o->len = o->off + at;
		zkl_putd(o, "err", e);
	}
	zkl_end(o);
}
