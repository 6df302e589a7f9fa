/*
 * req.c: client requests to lines and reply lines to frames (zk-gate).
 *
 * zkreq_decode reads a RequestHeader and the op's record with struct jr
 * (every read is bounds-checked, nothing is allocated) and writes the
 * request line of STREAMS.md; zkrep_encode does the reverse for the `r`
 * lines zk-tree sends back.  Records per wire-protocol.md sections 3, 6
 * and 7.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "zk.h"

/* ustring field: null is written as empty */
static void
put_str(struct zkbuf *b, const char *key, struct jr *r)
{
	const char	*p;
	int32_t		 n;

	n = jr_buf(r, &p);
	if (r->bad)
		return;
	zkl_put(b, key, p == NULL ? "" : p, n < 0 ? 0 : (size_t)n);
}

/* zk-gate's mapping of zk-tree's ring (shm.c), for replies with shm= */
struct zkshm	*zkrep_shm;

/* buffer field: null is absent */
static void
put_data(struct zkbuf *b, const char *key, struct jr *r)
{
	const char	*p;
	int32_t		 n;

	n = jr_buf(r, &p);
	if (r->bad || n < 0)
		return;
	zkl_put(b, key, p, (size_t)n);
}

static void
put_bool(struct zkbuf *b, const char *key, struct jr *r)
{
	if (jr_bool(r))
		zkl_putd(b, key, 1);
}

/* a vector's count: 0 for null, bad below -1 */
static int32_t
vec_len(struct jr *r)
{
	int32_t	 n;

	n = jr_int(r);
	if (n < -1)
		r->bad = 1;
	return r->bad || n < 0 ? 0 : n;
}

/* vector<ACL> as acl=PERMS:SCHEME:ID, one field per entry */
static void
put_acl(struct zkbuf *b, struct jr *r)
{
	const char	*s, *id;
	int32_t		 n, i, perms, sl, il;
	char		 num[16];
	size_t		 nl;

	n = vec_len(r);
	for (i = 0; i < n && !r->bad; i++) {
		perms = jr_int(r);
		sl = jr_buf(r, &s);
		il = jr_buf(r, &id);
		if (r->bad)
			return;
		nl = (size_t)snprintf(num, sizeof(num), "%d:", perms);
		if (zkbuf_reserve(b, 6 + nl + 4 * ((size_t)(sl < 0 ? 0 : sl) +
		    (size_t)(il < 0 ? 0 : il) + 1)) == -1)
			return;
		zkbuf_add(b, " acl=", 5);
		zkbuf_add(b, num, nl);
		b->len += zkl_escape(b->p + b->len, s == NULL ? "" : s,
		    sl < 0 ? 0 : (size_t)sl);
		b->p[b->len++] = ':';
		b->len += zkl_escape(b->p + b->len, id == NULL ? "" : id,
		    il < 0 ? 0 : (size_t)il);
	}
}

/* vector<ustring>, one field per entry */
static void
put_strvec(struct zkbuf *b, const char *key, struct jr *r)
{
	int32_t	 n, i;

	n = vec_len(r);
	for (i = 0; i < n && !r->bad; i++)
		put_str(b, key, r);
}

/* One op's record; 0, or an error code. */
static int
record(struct zkbuf *b, int type, struct jr *r)
{
	int64_t	 v;

	switch (type) {
	case ZOP_CREATE: case ZOP_CREATE2: case ZOP_CREATECONTAINER:
	case ZOP_CREATETTL:
		put_str(b, "path", r);
		put_data(b, "data", r);
		put_acl(b, r);
		zkl_putd(b, "flags", jr_int(r));
		if (type == ZOP_CREATETTL)
			zkl_putd(b, "ttl", jr_long(r));
		break;
	case ZOP_DELETE: case ZOP_CHECK:
		put_str(b, "path", r);
		zkl_putd(b, "version", jr_int(r));
		break;
	case ZOP_EXISTS: case ZOP_GETDATA: case ZOP_GETCHILDREN:
	case ZOP_GETCHILDREN2:
		put_str(b, "path", r);
		put_bool(b, "watch", r);
		break;
	case ZOP_SETDATA:
		put_str(b, "path", r);
		put_data(b, "data", r);
		zkl_putd(b, "version", jr_int(r));
		break;
	case ZOP_GETACL: case ZOP_SYNC: case ZOP_GETALLCHILDRENNUMBER:
	case ZOP_GETEPHEMERALS:
		put_str(b, "path", r);
		break;
	case ZOP_SETACL:
		put_str(b, "path", r);
		put_acl(b, r);
		zkl_putd(b, "version", jr_int(r));
		break;
	case ZOP_CHECKWATCHES: case ZOP_REMOVEWATCHES:
		put_str(b, "path", r);
		v = jr_int(r);
		if (!r->bad && (v < 1 || v > 3))
			return ZMARSHALLINGERROR;
		zkl_putd(b, "mode", v);
		break;
	case ZOP_ADDWATCH:
		put_str(b, "path", r);
		v = jr_int(r);
		if (!r->bad && v != 0 && v != 1)
			return ZMARSHALLINGERROR;
		zkl_putd(b, "mode", v);
		break;
	case ZOP_SETWATCHES: case ZOP_SETWATCHES2:
		zkl_putx(b, "relzxid", jr_long(r));
		put_strvec(b, "dw", r);
		put_strvec(b, "ew", r);
		put_strvec(b, "cw", r);
		if (type == ZOP_SETWATCHES2) {
			put_strvec(b, "pw", r);
			put_strvec(b, "rw", r);
		}
		break;
	case ZOP_AUTH:
		zkl_putd(b, "authtype", jr_int(r));
		put_str(b, "scheme", r);
		put_data(b, "data", r);
		break;
	case ZOP_SASL:
		put_data(b, "data", r);
		break;
	case ZOP_RECONFIG:
		put_str(b, "joining", r);
		put_str(b, "leaving", r);
		put_str(b, "members", r);
		zkl_putx(b, "configid", jr_long(r));
		break;
	case ZOP_PING: case ZOP_CLOSESESSION: case ZOP_WHOAMI:
		break;
	case ZOP_DELETECONTAINER:
		return ZBADARGUMENTS;	/* Apache: the packet is the path */
	default:
		return ZUNIMPLEMENTED;
	}
	return 0;
}

/* multi (14) and multiRead (22): MultiHeader + record ... {-1, true, -1} */
static int
multi(struct zkbuf *b, int type, struct jr *r)
{
	const char	*name;
	int32_t		 t;
	int		 done, rc;

	for (;;) {
		t = jr_int(r);
		done = jr_bool(r);
		(void)jr_int(r);
		if (r->bad)
			return ZMARSHALLINGERROR;
		if (done)
			return 0;
		switch (t) {
		case ZOP_CREATE: case ZOP_CREATE2: case ZOP_CREATECONTAINER:
		case ZOP_CREATETTL: case ZOP_DELETE: case ZOP_SETDATA:
		case ZOP_CHECK:
			if (type != ZOP_MULTI)
				return ZMARSHALLINGERROR;
			break;
		case ZOP_GETDATA: case ZOP_GETCHILDREN:
			if (type != ZOP_MULTIREAD)
				return ZMARSHALLINGERROR;
			break;
		default:
			return ZMARSHALLINGERROR;
		}
		name = zk_opname(t);
		zkl_puts(b, "op", name);
		if (type == ZOP_MULTIREAD) {	/* Apache drops the watch */
			put_str(b, "path", r);
			(void)jr_bool(r);
		} else if ((rc = record(b, t, r)) != 0)
			return rc;
		if (r->bad)
			return ZMARSHALLINGERROR;
	}
}

int
zkreq_decode(struct zkbuf *line, const char *body, size_t len,
    int64_t session, const char *auth, int32_t *xid, int32_t *type)
{
	struct jr	 r;
	const char	*name;
	size_t		 start = line->len;
	int		 rc;

	*xid = 0;
	*type = 0;
	jr_init(&r, body, len);
	*xid = jr_int(&r);
	*type = jr_int(&r);
	if (r.bad) {
		*xid = *type = 0;
		return ZMARSHALLINGERROR;
	}
	if ((name = zk_opname(*type)) == NULL || *type == ZOP_NOTIFICATION ||
	    *type == ZOP_ERROR || *type == ZOP_CREATESESSION)
		return ZUNIMPLEMENTED;
	zkl_begin(line, name);
	zkl_putx(line, "session", session);
	zkl_putd(line, "xid", *xid);
	if (auth != NULL)
		zkbuf_add(line, auth, strlen(auth));
	if (*type == ZOP_MULTI || *type == ZOP_MULTIREAD)
		rc = multi(line, *type, &r);
	else
		rc = record(line, *type, &r);
	if (rc == 0 && r.bad)
		rc = ZMARSHALLINGERROR;
	if (rc == 0 && line->err)
		rc = ZMARSHALLINGERROR;
	if (rc != 0) {
		if (!line->err)
			line->len = start;
		return rc;
	}
	zkl_end(line);
	return 0;
}

/*
 * Replies.
 */

static int
put_stat(struct zkbuf *b, const struct zkline *l, size_t from, size_t to)
{
	struct zkstat	 st;
	size_t		 i;

	for (i = from; i < to; i++)
		if (strcmp(l->f[i].key, "stat") == 0) {
			if (zkl_parsestat(l->f[i].val, &st) == -1)
				return -1;
			jw_stat(b, &st);
			return 0;
		}
	return -1;
}

static const struct zkfield *
field(const struct zkline *l, const char *key, size_t from, size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++)
		if (strcmp(l->f[i].key, key) == 0)
			return &l->f[i];
	return NULL;
}

static int
put_path(struct zkbuf *b, const struct zkline *l, size_t from, size_t to)
{
	const struct zkfield	*f;

	if ((f = field(l, "path", from, to)) == NULL)
		return -1;
	jw_buf(b, f->val, (int32_t)f->len);
	return 0;
}

static void
put_children(struct zkbuf *b, const struct zkline *l, size_t from, size_t to)
{
	size_t	 i;
	int32_t	 n = 0;

	for (i = from; i < to; i++)
		if (strcmp(l->f[i].key, "child") == 0)
			n++;
	jw_int(b, n);
	for (i = from; i < to; i++)
		if (strcmp(l->f[i].key, "child") == 0)
			jw_buf(b, l->f[i].val, (int32_t)l->f[i].len);
}

static int
put_acls(struct zkbuf *b, const struct zkline *l, size_t from, size_t to)
{
	const char	*v, *c1, *c2;
	int64_t		 perms;
	char		 num[24];
	size_t		 i, n;
	int32_t		 cnt = 0;

	for (i = from; i < to; i++)
		if (strcmp(l->f[i].key, "acl") == 0)
			cnt++;
	jw_int(b, cnt);
	for (i = from; i < to; i++) {
		if (strcmp(l->f[i].key, "acl") != 0)
			continue;
		v = l->f[i].val;
		if ((c1 = memchr(v, ':', l->f[i].len)) == NULL ||
		    (c2 = memchr(c1 + 1, ':', l->f[i].len -
		    (size_t)(c1 + 1 - v))) == NULL)
			return -1;
		n = (size_t)(c1 - v);
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, v, n);
		num[n] = '\0';
		if (zkl_parseint(num, &perms) == -1)
			return -1;
		jw_int(b, (int32_t)perms);
		jw_buf(b, c1 + 1, (int32_t)(c2 - c1 - 1));
		jw_buf(b, c2 + 1, (int32_t)(l->f[i].len - (size_t)(c2 + 1 - v)));
	}
	return 0;
}

/* A success body for op type from fields [from, to). */
static int
body(struct zkbuf *b, int type, const struct zkline *l, size_t from,
    size_t to)
{
	const struct zkfield	*f;
	int64_t			 v;

	switch (type) {
	case ZOP_CREATE: case ZOP_SYNC:
		return put_path(b, l, from, to);
	case ZOP_CREATE2: case ZOP_CREATECONTAINER: case ZOP_CREATETTL:
		if (put_path(b, l, from, to) == -1)
			return -1;
		return put_stat(b, l, from, to);
	case ZOP_EXISTS: case ZOP_SETDATA: case ZOP_SETACL:
		return put_stat(b, l, from, to);
	case ZOP_GETDATA: case ZOP_RECONFIG:
		if ((f = field(l, "shm", from, to)) != NULL) {
			const char	*p;
			uint64_t	 pos, len;

			if (zkrep_shm == NULL ||
			    zkshm_parse(f->val, &pos, &len) == -1 ||
			    len > INT32_MAX ||
			    (p = zkshm_at(zkrep_shm, pos, len)) == NULL)
				return -1;
			jw_buf(b, p, (int32_t)len);
			return put_stat(b, l, from, to);
		}
		f = field(l, "data", from, to);
		jw_buf(b, f ? f->val : NULL, f ? (int32_t)f->len : -1);
		return put_stat(b, l, from, to);
	case ZOP_GETACL:
		if (put_acls(b, l, from, to) == -1)
			return -1;
		return put_stat(b, l, from, to);
	case ZOP_GETCHILDREN: case ZOP_GETEPHEMERALS:
		put_children(b, l, from, to);
		return 0;
	case ZOP_GETCHILDREN2:
		put_children(b, l, from, to);
		return put_stat(b, l, from, to);
	case ZOP_GETALLCHILDRENNUMBER:
		if ((f = field(l, "count", from, to)) == NULL ||
		    zkl_parseint(f->val, &v) == -1)
			return -1;
		jw_int(b, (int32_t)v);
		return 0;
	case ZOP_ADDWATCH:
		jw_int(b, 0);		/* ErrorResponse{0} */
		return 0;
	case ZOP_SASL:
		jw_buf(b, NULL, -1);
		return 0;
	default:			/* header only */
		return 0;
	}
}

/* multi/multiRead results: op=NAME err=N fields ... per sub-op */
static int
multibody(struct zkbuf *b, const struct zkline *l)
{
	const struct zkfield	*f;
	size_t			 i, j;
	int64_t			 err;
	int			 t;

	for (i = 0; i < l->nf; i++)
		if (strcmp(l->f[i].key, "op") == 0)
			break;
	while (i < l->nf) {
		for (j = i + 1; j < l->nf; j++)
			if (strcmp(l->f[j].key, "op") == 0)
				break;
		t = zk_opcode(l->f[i].val);
		if (t == -1000)
			return -1;
		err = 0;
		if ((f = field(l, "err", i + 1, j)) != NULL &&
		    zkl_parseint(f->val, &err) == -1)
			return -1;
		jw_int(b, t);
		jw_bool(b, 0);
		jw_int(b, (int32_t)(t == ZOP_ERROR ? err : 0));
		if (t == ZOP_ERROR)
			jw_int(b, (int32_t)err);
		else if (body(b, t, l, i + 1, j) == -1)
			return -1;
		i = j;
	}
	jw_int(b, -1);
	jw_bool(b, 1);
	jw_int(b, -1);
	return 0;
}

/*
 * A getData reply whose value is in zk-tree's ring, in three pieces for
 * a writev(2): head (frame length, header, the value's length) and tail
 * (the stat) encoded, the value where *val points.  -1 when r is not
 * such a reply: zkrep_encode encodes it, or says why not.
 */
int
zkrep_split(const struct zkline *r, struct zkbuf *head, const char **val,
    size_t *vlen, struct zkbuf *tail)
{
	const struct zkfield	*f;
	int64_t			 xid, zxid, err;
	uint64_t		 pos, len;

	if (zkrep_shm == NULL || (f = zkl_get(r, "shm")) == NULL ||
	    zkl_int(r, "xid", &xid) == -1 || zkl_int(r, "zxid", &zxid) == -1 ||
	    zkl_int(r, "err", &err) == -1 || err != 0 ||
	    zkshm_parse(f->val, &pos, &len) == -1 || len > INT32_MAX / 2 ||
	    (*val = zkshm_at(zkrep_shm, pos, len)) == NULL)
		return -1;
	zkbuf_reset(tail);
	if (put_stat(tail, r, 0, r->nf) == -1 || tail->err)
		return -1;
	zkbuf_reset(head);
	jw_int(head, (int32_t)(4 + 8 + 4 + 4 + len + ZKBUF_LEN(tail)));
	jw_int(head, (int32_t)xid);
	jw_long(head, zxid);
	jw_int(head, 0);
	jw_int(head, (int32_t)len);
	*vlen = (size_t)len;
	return head->err ? -1 : 0;
}

int
zkrep_encode(struct zkbuf *frame, const struct zkline *r, int32_t type)
{
	size_t	 start = ZKBUF_LEN(frame), at;
	int64_t	 xid, zxid, err;
	size_t	 to;
	int	 rc;

	if (zkl_int(r, "xid", &xid) == -1 ||
	    zkl_int(r, "zxid", &zxid) == -1 || zkl_int(r, "err", &err) == -1)
		return -1;
	at = jw_frame_begin(frame);
	jw_int(frame, (int32_t)xid);
	jw_long(frame, zxid);
	jw_int(frame, (int32_t)err);
	rc = 0;
	if (err == 0) {
		if (type == ZOP_MULTI || type == ZOP_MULTIREAD)
			rc = multibody(frame, r);
		else {
			for (to = 0; to < r->nf; to++)
				if (strcmp(r->f[to].key, "op") == 0)
					break;
			rc = body(frame, type, r, 0, to);
		}
	}
	if (rc == -1 || frame->err) {
		if (!frame->err)
			frame->len = frame->off + start;
		return -1;
	}
	jw_frame_end(frame, at);
	return 0;
}
