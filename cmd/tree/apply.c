/*
 * zk-tree's txns from zk-log: the ops that write, multi, and the undo
 * log that rolls a failed txn back.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "tree.h"

int64_t			 lastzxid;
static struct undo	*ulog;
static size_t		 nulog, culog;
static struct authid	*auths;
static size_t		 cauths;
static struct zkbuf	 res, sub, pbuf;

static struct undo *
undopush(int kind, struct node *n)
{
	struct undo	*u;

	ulog = xgrow(ulog, &culog, nulog + 1, sizeof(*ulog));
	u = &ulog[nulog++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->n = n;
	return u;
}

void
commit(void)
{
	size_t	 i;

	digestflush();		/* before the deleted nodes are freed */
	for (i = 0; i < nulog; i++) {
		if (ulog[i].kind == U_DELETE)
			freenode(ulog[i].n);
		else if (ulog[i].kind == U_SETDATA)
			freedata(ulog[i].n, ulog[i].data);
	}
	nulog = 0;
}

static void
rollback(void)
{
	struct undo	*u;
	struct node	*n;

	digestflush();		/* first: no node freed below is listed */
	while (nulog > 0) {
		u = &ulog[--nulog];
		n = u->n;
		switch (u->kind) {
		case U_CREATE:
			detach(n);
			n->parent->cver--;
			n->parent->pzxid = u->ppzxid;
			freenode(n);
			break;
		case U_DELETE:
			attach(n);
			n->parent->pzxid = u->ppzxid;
			break;
		case U_SETDATA:
			datasize += u->dlen - n->dlen;
			freedata(n, n->data);
			n->data = u->data;
			n->dlen = u->dlen;
			n->version = u->version;
			n->mzxid = u->mzxid;
			n->mtime = u->mtime;
			touch(n);
			break;
		}
	}
	digestflush();
	intentclear();
}

/* Delete leaf n as part of the current txn. */
void
delnode(struct node *n, int64_t zxid)
{
	struct undo	*u;

	intentnode(I_DELETED, n);
	u = undopush(U_DELETE, n);
	u->ppzxid = n->parent->pzxid;
	detach(n);
	n->parent->pzxid = zxid;
}

void
reqinit(struct req *r, const struct zkline *l, struct fv *top)
{
	const struct zkfield	*f;
	const char		*c;
	size_t			 i;
	int64_t			 via;

	memset(r, 0, sizeof(*r));
	top->f = l->f;
	for (top->n = 0; top->n < l->nf; top->n++)
		if (strcmp(l->f[top->n].key, "op") == 0)
			break;
	r->session = zkf_intdef(top->f, top->n, "session", 0);
	r->hasxid = zkf_int(top->f, top->n, "xid", &r->xid) == 0;
	r->zxid = zkf_intdef(top->f, top->n, "zxid", lastzxid);
	r->time = zkf_intdef(top->f, top->n, "time", 0);
	r->nottl = zkf_intdef(top->f, top->n, "nottl", 0) != 0;
	via = zkf_intdef(top->f, top->n, "via", 0);
	r->away = via != 0 && via != cfg.myid;
	for (i = 0; i < top->n; i++) {
		f = &top->f[i];
		if (strcmp(f->key, "auth") != 0)
			continue;
		auths = xgrow(auths, &cauths, r->nauth + 1, sizeof(*auths));
		c = strchr(f->val, ':');
		auths[r->nauth].scheme = f->val;
		auths[r->nauth].slen = c ? (size_t)(c - f->val) : strlen(f->val);
		auths[r->nauth].id = c ? c + 1 : "";
		/* the gate says super: (superDigest, superUser), not us */
		if (auths[r->nauth].slen == 5 &&
		    memcmp(f->val, "super", 5) == 0)
			r->super = 1;
		r->nauth++;
	}
	r->auth = auths;
	r->s = sessfind(r->session);
}

static int
checkversion(const struct fv *v, int32_t cur)
{
	int64_t	 want = zkf_intdef(v->f, v->n, "version", -1);

	return want == -1 || want == cur ? 0 : ZBADVERSION;
}

/* create, create2, createContainer, createTTL; *withstat for create2 */
static int
op_create(const struct req *r, const struct fv *v, int opc, int inmulti,
    struct zkbuf *out, int *withstat)
{
	const struct zkfield	*pf;
	struct node		*parent, *n;
	struct acl		*acl = NULL;
	struct undo		*u;
	const char		*p, *slash, *full;
	size_t			 len, flen;
	int64_t			 flags, ttl = -1;
	int			 kind, e, ttlmode;

	if (r->s == NULL)
		return ZSESSIONEXPIRED;
	if (zkf_int(v->f, v->n, "flags", &flags) == -1 || flags < 0 ||
	    flags > 6)
		return ZBADARGUMENTS;
	if (opc == ZOP_CREATETTL)
		ttl = zkf_intdef(v->f, v->n, "ttl", -1);
	else if (inmulti)	/* inside multi the flag decides */
		opc = flags == 4 ? ZOP_CREATECONTAINER : ZOP_CREATE;
	ttlmode = flags == 5 || flags == 6;
	if (ttlmode && r->nottl)	/* as the gate's zoo.cfg said */
		return ZUNIMPLEMENTED;
	if (ttlmode ? ttl <= 0 || ttl > MAXTTL : opc == ZOP_CREATETTL)
		return ZBADARGUMENTS;
	if ((pf = zkf_get(v->f, v->n, "path")) == NULL)
		return ZBADARGUMENTS;
	p = pf->val;
	len = pf->len;
	if ((slash = memrchr(p, '/', len)) == NULL || memchr(p, '\0', len))
		return ZBADARGUMENTS;
	if ((e = fixacl(r, v, &acl)) != 0)
		return e;
	e = ZNONODE;
	if ((parent = lookup(p, (size_t)(slash - p))) == NULL)
		goto bad;
	e = ZNOAUTH;
	if (!allowed(r, parent->acl, ZPERM_CREATE))
		goto bad;
	zkbuf_reset(&pbuf);
	zkbuf_add(&pbuf, p, len);
	if (flags == 2 || flags == 3 || flags == 6)
		zkbuf_printf(&pbuf, "%010d", parent->cver);
	bufcheck(&pbuf);
	full = pbuf.p;
	flen = pbuf.len;
	e = ZBADARGUMENTS;
	if (!validpath(full, flen))
		goto bad;
	e = ZNODEEXISTS;
	if (flen == 1 || kid(parent, full + (slash - p) + 1,
	    flen - (size_t)(slash - p) - 1) != NULL)
		goto bad;
	e = ZNOCHILDRENFOREPHEMERALS;
	if (parent->kind == K_EPHEMERAL)
		goto bad;

	if (opc == ZOP_CREATECONTAINER)
		kind = K_CONTAINER;
	else if (opc == ZOP_CREATETTL)
		kind = K_TTL;
	else if (flags == 1 || flags == 3)
		kind = K_EPHEMERAL;
	else
		kind = K_NORMAL;
	n = newnode(parent, full + (slash - p) + 1,
	    flen - (size_t)(slash - p) - 1, zkf_get(v->f, v->n, "data"), acl,
	    kind, kind == K_EPHEMERAL ? r->session : kind == K_TTL ? ttl : 0);
	n->czxid = n->mzxid = n->pzxid = r->zxid;
	n->ctime = n->mtime = r->time;
	u = undopush(U_CREATE, n);
	u->ppzxid = parent->pzxid;
	attach(n);
	parent->cver++;
	parent->pzxid = r->zxid;
	intent(I_CREATED, full, flen);
	zkl_put(out, "path", full, flen);
	*withstat = inmulti ? kind == K_CONTAINER || kind == K_TTL :
	    opc != ZOP_CREATE;
	if (*withstat)
		putstat(out, n);
	return 0;
bad:
	aclunref(acl);
	return e;
}

static int
op_delete(const struct req *r, const struct fv *v)
{
	const struct zkfield	*pf;
	struct node		*parent, *n;
	const char		*slash;

	if (r->s == NULL)
		return ZSESSIONEXPIRED;
	if ((pf = zkf_get(v->f, v->n, "path")) == NULL ||
	    (slash = memrchr(pf->val, '/', pf->len)) == NULL ||
	    memchr(pf->val, '\0', pf->len) != NULL ||
	    isspecial(pf->val, pf->len))
		return ZBADARGUMENTS;
	if ((parent = lookup(pf->val, (size_t)(slash - pf->val))) == NULL)
		return ZNONODE;
	if (!allowed(r, parent->acl, ZPERM_DELETE))
		return ZNOAUTH;
	if ((n = kid(parent, slash + 1, pf->len - (size_t)(slash - pf->val) -
	    1)) == NULL)
		return ZNONODE;
	if (checkversion(v, n->version) != 0)
		return ZBADVERSION;
	if (n->nkids > 0)
		return ZNOTEMPTY;
	delnode(n, r->zxid);
	return 0;
}

/* n's data d at version, by the txn of r, undone if the txn fails */
static void
newdata(const struct req *r, struct node *n, const struct zkfield *d,
    int32_t version)
{
	struct undo	*u;

	u = undopush(U_SETDATA, n);
	u->data = n->data;
	u->dlen = n->dlen;
	u->version = n->version;
	u->mzxid = n->mzxid;
	u->mtime = n->mtime;
	setdata(n, d);
	datasize += n->dlen - u->dlen;
	n->version = version;
	n->mzxid = r->zxid;
	n->mtime = r->time;
}

/* setData and check share their first steps */
static int
op_setdata(const struct req *r, const struct fv *v, int check,
    struct zkbuf *out)
{
	const struct zkfield	*pf;
	struct node		*n;

	if (r->s == NULL)
		return ZSESSIONEXPIRED;
	if ((pf = zkf_get(v->f, v->n, "path")) == NULL ||
	    !validpath(pf->val, pf->len))
		return ZBADARGUMENTS;
	if ((n = lookup(pf->val, pf->len)) == NULL)
		return ZNONODE;
	if (!allowed(r, n->acl, check ? ZPERM_READ : ZPERM_WRITE))
		return ZNOAUTH;
	if (checkversion(v, n->version) != 0)
		return ZBADVERSION;
	if (check)
		return 0;
	newdata(r, n, zkf_get(v->f, v->n, "data"), n->version + 1);
	intent(I_CHANGED, pf->val, pf->len);
	putstat(out, n);
	return 0;
}

static int
op_setacl(const struct req *r, const struct fv *v, struct zkbuf *out)
{
	const struct zkfield	*pf;
	struct node		*n;
	struct acl		*acl;
	int			 e;

	if (r->s == NULL)
		return ZSESSIONEXPIRED;
	if ((pf = zkf_get(v->f, v->n, "path")) == NULL ||
	    !validpath(pf->val, pf->len))
		return ZBADARGUMENTS;
	if ((e = fixacl(r, v, &acl)) != 0)
		return e;
	e = ZNONODE;
	if ((n = lookup(pf->val, pf->len)) == NULL)
		goto bad;
	e = ZNOAUTH;
	if (!allowed(r, n->acl, ZPERM_ADMIN))
		goto bad;
	e = ZBADVERSION;
	if (checkversion(v, n->aversion) != 0)
		goto bad;
	aclunref(n->acl);
	n->acl = acl;
	n->aversion++;
	touch(n);
	putstat(out, n);
	return 0;
bad:
	aclunref(acl);
	return e;
}

/*
 * reconfig: what the leader decided is in the txn (zk-log): an err= (see
 * apply), or config= the new members' text, which every node puts in
 * /zookeeper/config (version -1 from then on, as Apache's setData of it).
 */
static int
op_reconfig(const struct req *r, const struct fv *v, struct zkbuf *out)
{
	const struct zkfield	*cf;
	struct node		*n = confignode;

	if (r->s == NULL)
		return ZSESSIONEXPIRED;
	if ((cf = zkf_get(v->f, v->n, "config")) == NULL)
		return ZUNIMPLEMENTED;	/* a standalone log's */
	newdata(r, n, cf, -1);
	intent(I_CHANGED, "/zookeeper/config", 17);
	zkl_put(out, "data", n->data, (size_t)n->dlen);
	putstat(out, n);
	return 0;
}

static const char *
opresname(int opc, int withstat)
{
	switch (opc) {
	case ZOP_DELETE:
		return "delete";
	case ZOP_SETDATA:
		return "setData";
	case ZOP_CHECK:
		return "check";
	default:
		return withstat ? "create2" : "create";
	}
}

static int
subop(const struct req *r, const struct fv *v, int opc, int inmulti,
    struct zkbuf *out, int *withstat)
{
	*withstat = 0;
	switch (opc) {
	case ZOP_CREATE:
	case ZOP_CREATE2:
	case ZOP_CREATECONTAINER:
	case ZOP_CREATETTL:
		return op_create(r, v, opc, inmulti, out, withstat);
	case ZOP_DELETE:
		return op_delete(r, v);
	case ZOP_SETDATA:
		return op_setdata(r, v, 0, out);
	case ZOP_CHECK:
		return op_setdata(r, v, 1, out);
	case ZOP_SETACL:
		if (inmulti)
			break;
		return op_setacl(r, v, out);
	}
	return ZMARSHALLINGERROR;
}

/* Split the fields after top into sub-ops; calls fn for each. */
size_t
nextop(const struct zkline *l, size_t i, struct fv *v)
{
	size_t	 j;

	if (i >= l->nf)
		return 0;
	v->f = &l->f[i];
	for (j = i + 1; j < l->nf; j++)
		if (strcmp(l->f[j].key, "op") == 0)
			break;
	v->n = j - i;
	return j;
}

static void
op_multi(const struct req *r, const struct zkline *l, size_t first)
{
	struct fv	 v;
	size_t		 i, nops = 0, k, failat = 0;
	int		 e = 0, ws, opc;

	zkbuf_reset(&res);
	for (i = first; i < l->nf; nops++) {
		i = nextop(l, i, &v);
		if (e != 0)
			continue;
		opc = zk_opcode(v.f[0].val);
		switch (opc) {
		case ZOP_CREATE: case ZOP_CREATE2: case ZOP_CREATECONTAINER:
		case ZOP_CREATETTL: case ZOP_DELETE: case ZOP_SETDATA:
		case ZOP_CHECK:
			break;
		default:
			rollback();
			reply(gatec, r, r->zxid, ZMARSHALLINGERROR, NULL);
			return;
		}
		zkbuf_reset(&sub);
		if ((e = subop(r, &v, opc, 1, &sub, &ws)) != 0) {
			failat = nops;
			continue;
		}
		zkl_puts(&res, "op", opresname(opc, ws));
		zkl_putd(&res, "err", 0);
		zkbuf_add(&res, sub.p, sub.len);
	}
	if (e == 0) {
		commit();
		fire();
	} else {
		rollback();
		zkbuf_reset(&res);
		for (k = 0; k < nops; k++) {
			zkl_puts(&res, "op", "error");
			zkl_putd(&res, "err", k < failat ? 0 : k == failat ? e :
			    ZRUNTIMEINCONSISTENCY);
		}
	}
	bufcheck(&res);
	reply(gatec, r, r->zxid, 0, &res);
}

static void
op_internal(const struct req *r, const struct fv *top, int ttl)
{
	const struct zkfield	*pf;
	struct node		*n;

	if ((pf = zkf_get(top->f, top->n, "path")) == NULL ||
	    (n = lookup(pf->val, pf->len)) == NULL || n == root ||
	    n->nkids > 0)
		return;
	if (ttl ? n->kind != K_TTL || r->time <= n->mtime + n->owner :
	    n->kind != K_CONTAINER || n->cver <= 0)
		return;
	delnode(n, r->zxid);
	commit();
	fire();
}

/*
 * ZK_TREE_FAULT=skip:N, for the tests: the Nth txn (counted from start)
 * is not applied, so that this replica's tree diverges from the others'
 * and the ensemble's digest check must notice.
 */
static int
faultskip(void)
{
	static long long	 n = -1, seen;
	const char		*s, *errstr;

	if (n == -1) {
		n = 0;
		if ((s = getenv("ZK_TREE_FAULT")) != NULL &&
		    strncmp(s, "skip:", 5) == 0) {
			n = strtonum(s + 5, 1, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "ZK_TREE_FAULT=%s: %s", s,
				    errstr);
		}
	}
	return n > 0 && ++seen == n;
}

/*
 * In an ensemble zk-log says where the node stands: the container and
 * TTL sweep is the leader's work (zkcfg_leads), done while it serves.
 */
static void
modeline(const struct fv *top)
{
	const char	*st = zkf_str(top->f, top->n, "state");

	if (st == NULL || cfg.role == ZKR_STANDALONE)
		return;
	if (strcmp(st, "leading") == 0)
		cfg.role = zkf_intdef(top->f, top->n, "serving", 0) ?
		    ZKR_LEADING : ZKR_LOOKING;
	else if (strcmp(st, "following") == 0)
		cfg.role = ZKR_FOLLOWING;
	else if (strcmp(st, "observing") == 0)
		cfg.role = ZKR_OBSERVING;
	else
		cfg.role = ZKR_LOOKING;
}

/*
 * One line from zk-log: a txn (the stream carries nothing else but
 * `mode`, the node's part in an ensemble), the `ready` that ends the
 * replay.  What it does depends on the line and
 * the tree alone, never on this node's zoo.cfg: every node that applies
 * the same txns has the same tree.
 */
void
apply(struct zkline *l)
{
	struct req	 r;
	struct fv	 top;
	int64_t		 e64;
	int		 opc, e, ws;

	opc = zk_opcode(l->verb);
	reqinit(&r, l, &top);
	if (strcmp(l->verb, "ready") == 0) {
		r.zxid = zkf_intdef(top.f, top.n, "zxid", lastzxid);
		if (r.zxid > lastzxid)
			lastzxid = r.zxid;
		ready = 1;
		zk_dbg("ready at zxid 0x%" PRIx64, lastzxid);
		return;
	}
	if (strcmp(l->verb, "hello") == 0)
		return;
	if (strcmp(l->verb, "mode") == 0) {
		modeline(&top);
		return;
	}
	if (!zk_iswriteop(opc) && strcmp(l->verb, "deleteTTL") != 0) {
		warnx("zk-log: %s is not a txn, ignored", l->verb);
		return;
	}
	if (zkf_get(top.f, top.n, "zxid") != NULL) {
		if (r.zxid <= loadedzxid)
			return;		/* in the snapshot already */
		if (r.zxid > lastzxid)
			lastzxid = r.zxid;
		sincesnap++;
		if (faultskip()) {
			warnx("ZK_TREE_FAULT: txn 0x%" PRIx64 " not applied",
			    r.zxid);
			return;
		}
	}
	/* the leader refused it (a reconfig's decision, SessionMoved) */
	if (zkf_int(top.f, top.n, "err", &e64) == 0) {
		reply(gatec, &r, r.zxid, e64 < 0 && e64 > -1000 ? (int)e64 :
		    ZSYSTEMERROR, NULL);
		return;
	}
	switch (opc) {
	case ZOP_MULTI:
		op_multi(&r, l, top.n);
		return;
	case ZOP_CREATESESSION:
		op_createsession(&r, &top);
		return;
	case ZOP_CLOSESESSION:
		if (r.s == NULL) {
			reply(gatec, &r, r.zxid, ZSESSIONEXPIRED, NULL);
			return;
		}
		closesess(r.s, r.zxid);
		reply(gatec, &r, r.zxid, 0, NULL);
		if (gatec != NULL) {
			zkl_begin(&gatec->out, "closed");
			zkl_putx(&gatec->out, "session", r.session);
			zkl_end(&gatec->out);
		}
		return;
	case ZOP_DELETECONTAINER:
		op_internal(&r, &top, 0);
		return;
	}
	if (strcmp(l->verb, "deleteTTL") == 0) {
		op_internal(&r, &top, 1);
		return;
	}
	zkbuf_reset(&res);
	if (opc == ZOP_RECONFIG)
		e = op_reconfig(&r, &top, &res);
	else
		e = subop(&r, &top, opc, 0, &res, &ws);
	if (e == 0) {
		commit();
		fire();
	} else
		rollback();
	bufcheck(&res);
	reply(gatec, &r, r.zxid, e, &res);
}
