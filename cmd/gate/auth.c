/*
 * zk-gate's authentication: AuthPacket (digest and ip), whoAmI, and SASL
 * DIGEST-MD5 (libzk/sasl.c); the ids a connection has gathered go on
 * each of its request lines as auth= fields.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "gate.h"

/*
 * A failed SASL authentication is answered AUTHFAILMS late, and the
 * connection reads nothing meanwhile: guessing passwords goes slowly, and
 * a client that races its own CONNECTED state against the failure (kazoo's
 * start() does) sees the failure, as it does from a slower server.
 */
#define AUTHFAILMS	200
static TAILQ_HEAD(, client) failing = TAILQ_HEAD_INITIALIZER(failing);

/* ids for whoAmI: vector<ClientInfo{scheme, user}> */
void
whoami(struct client *cl, struct zkbuf *b)
{
	const char	*p = ZKBUF_DATA(&cl->ids), *end = p + ZKBUF_LEN(&cl->ids);
	const char	*scheme, *id, *colon;
	int32_t		 n = 0;

	for (scheme = p; scheme < end; scheme = id + strlen(id) + 1) {
		id = scheme + strlen(scheme) + 1;
		n++;
	}
	jw_int(b, n);
	for (scheme = p; scheme < end; scheme = id + strlen(id) + 1) {
		id = scheme + strlen(scheme) + 1;
		jw_str(b, scheme);
		if (strcmp(scheme, "digest") == 0 &&
		    (colon = strchr(id, ':')) != NULL)
			jw_buf(b, id, (int32_t)(colon - id));
		else
			jw_str(b, id);
	}
}

static void
addid(struct client *cl, const char *scheme, const char *id, size_t n)
{
	char	*esc;

	zkbuf_add(&cl->ids, scheme, strlen(scheme) + 1);
	zkbuf_add(&cl->ids, id, n);
	zkbuf_addc(&cl->ids, '\0');
	if ((esc = malloc(4 * (strlen(scheme) + n) + 2)) == NULL)
		err(EX_OSERR, NULL);
	zkbuf_printf(&cl->auth, " auth=");
	zkl_escape(esc, scheme, strlen(scheme));
	zkbuf_printf(&cl->auth, "%s:", esc);
	zkl_escape(esc, id, n);
	zkbuf_printf(&cl->auth, "%s", esc);
	free(esc);
	zkbuf_addc(&cl->auth, '\0');	/* keep it a C string */
	cl->auth.len--;
}

/* AuthPacket: answered at once, outside the pipeline (xid echoed, zxid 0) */
void
doauth(struct client *cl, int32_t xid, const char *body, size_t len)
{
	struct jr	 r;
	const char	*scheme, *auth;
	int32_t		 sl, al;
	int32_t		 errc = 0;
	size_t		 at, n;
	char		*id;

	jr_init(&r, body, len);
	(void)jr_int(&r);
	(void)jr_int(&r);
	(void)jr_int(&r);
	sl = jr_buf(&r, &scheme);
	al = jr_buf(&r, &auth);
	if (r.bad || sl < 0)
		errc = ZAUTHFAILED;
	else if (sl == 6 && memcmp(scheme, "digest", 6) == 0) {
		if (al < 0) {
			auth = "";
			al = 0;
		}
		if ((id = malloc((size_t)al + 32)) == NULL)
			err(EX_OSERR, NULL);
		n = zk_digest_id(id, auth, (size_t)al);
		addid(cl, "digest", id, n);
		if (cfg.superDigest[0] != '\0' &&
		    strlen(cfg.superDigest) == n &&
		    memcmp(cfg.superDigest, id, n) == 0)
			addid(cl, "super", "", 0);
		free(id);
	} else if (!(sl == 2 && memcmp(scheme, "ip", 2) == 0))
		errc = ZAUTHFAILED;
	at = jw_frame_begin(&cl->c->out);
	jw_int(&cl->c->out, xid);
	jw_long(&cl->c->out, 0);
	jw_int(&cl->c->out, errc);
	jw_frame_end(&cl->c->out, at);
	st.sent++;
	cl->sent++;
	if (errc != 0) {
		cl->closing = 1;
		zkloop_close(cl->c);
	}
}

/*
 * GetSASLRequest{token}: one step of DIGEST-MD5 (sasl.c).  Apache answers
 * at once from processPacket with zxid 0; here the reply keeps its place
 * among the session's replies (so a client never sees xids out of
 * order), with zxid 0 as well.  Success answers SetSASLResponse{token};
 * the last step adds the id sasl:USER (and super: for zookeeper.superUser).
 * Failure answers -115 with a null token, then closes.  Without a JAAS
 * Server entry there is no mechanism: -115 and close.
 */
void
dosasl(struct client *cl, int32_t xid, const char *body, size_t len)
{
	static struct zkbuf	 resp, tokbuf;	/* a step's answer, as jute */
	struct pend	*p;
	struct jr	 r;
	const char	*tok, *why;
	int32_t		 tl;

	if (!jaas.server) {
		/* Apache without one answers a null token, on which a SASL
		 * client loops forever; fail the authentication instead */
		local_reply(cl, xid, ZOP_SASL, ZAUTHFAILED, NULL, 0);
		goto fail;
	}
	jr_init(&r, body, len);
	(void)jr_int(&r);
	(void)jr_int(&r);
	tl = jr_buf(&r, &tok);
	if (tl < 0)
		tl = 0;
	if (cl->sasl == NULL && (cl->sasl = calloc(1, sizeof(*cl->sasl))) ==
	    NULL)
		err(EX_OSERR, NULL);
	zkbuf_reset(&resp);
	if (r.bad) {
		why = "undecodable GetSASLRequest";
		cl->sasl->step = 2;
	} else if (zksasl_step(cl->sasl, &jaas, tok, (size_t)tl, &resp,
	    &why) == 0) {
		if (resp.err)
			errx(EX_OSERR, "out of memory");
		zkbuf_reset(&tokbuf);
		jw_buf(&tokbuf, ZKBUF_DATA(&resp),
		    (int32_t)ZKBUF_LEN(&resp));
		if (tokbuf.err)
			errx(EX_OSERR, "out of memory");
		p = local_reply(cl, xid, ZOP_SASL, 0, ZKBUF_DATA(&tokbuf),
		    ZKBUF_LEN(&tokbuf));
		p->patchzxid = 0;
		if (cl->sasl->done) {
			addid(cl, "sasl", cl->sasl->user,
			    strlen(cl->sasl->user));
			if (cfg.superUser[0] != '\0' &&
			    strcmp(cfg.superUser, cl->sasl->user) == 0)
				addid(cl, "super", "", 0);
			zk_dbg("conn %d: SASL user %s", cl->id, cl->sasl->user);
		}
		return;
	}
	warnx("client %s:%d: SASL authentication failed: %s", cl->ip,
	    cl->port, why);
	zkbuf_reset(&tokbuf);
	jw_buf(&tokbuf, NULL, -1);
	p = local_reply(cl, xid, ZOP_SASL, ZAUTHFAILED, ZKBUF_DATA(&tokbuf),
	    ZKBUF_LEN(&tokbuf));
	p->patchzxid = 0;
	p->done = 0;		/* held: auth_tick lets it go */
	p->closeafter = 1;
	cl->closing = 1;
	zkloop_pause(cl->c, 1);
	cl->authfail = p;
	cl->failat = zk_mono_ms() + AUTHFAILMS;
	TAILQ_INSERT_TAIL(&failing, cl, failing);
	return;
fail:
	cl->closing = 1;
	zkloop_close(cl->c);
}

/* Failed authentications whose time has come are answered (and their
 * connections closed); returns ms until the next is due, or -1. */
int
auth_tick(int64_t now)
{
	struct client	*cl;

	while ((cl = TAILQ_FIRST(&failing)) != NULL) {
		if (cl->failat > now)
			return (int)(cl->failat - now);
		TAILQ_REMOVE(&failing, cl, failing);
		cl->authfail->done = 1;
		cl->authfail = NULL;
		flushreplies(cl);	/* closeafter: the reply, then close */
	}
	return -1;
}

/* cl goes away before its failure was answered (client_close) */
void
auth_forget(struct client *cl)
{
	if (cl->authfail == NULL)
		return;
	TAILQ_REMOVE(&failing, cl, failing);
	cl->authfail = NULL;
}
