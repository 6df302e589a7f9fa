/*
 * sasl.c: SASL DIGEST-MD5 (RFC 2831), the server side as Apache
 * ZooKeeper's JDK mechanism runs it (realm and server name "zk-sasl-md5",
 * qop auth, md5-sess), and the JAAS login file its users come from.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zk.h"

#define JAAS_MAXFILE	(1 << 20)
#define SASL_MAXTOKEN	4096		/* RFC 2831 2.1.2: at most 4096 bytes */
#define SASL_REALM	"zk-sasl-md5"
#define SASL_URI	"zookeeper/" SASL_REALM

/* ---- the JAAS file ---- */

enum { T_EOF, T_WORD, T_STR, T_PUNCT };

struct jlex {
	const char	*p, *end;
	int		 line;
	int		 type;
	int		 tline;		/* line of the token */
	char		 punct;
	char		*val;		/* T_WORD, T_STR: unescaped */
	size_t		 len;
	const char	*err;		/* why jnext failed */
};

static int
jnext(struct jlex *lx)
{
	const char	*p = lx->p;
	size_t		 n;

	for (;;) {
		while (p < lx->end && isspace((unsigned char)*p)) {
			if (*p == '\n')
				lx->line++;
			p++;
		}
		if (lx->end - p >= 2 && p[0] == '/' && p[1] == '/') {
			while (p < lx->end && *p != '\n')
				p++;
			continue;
		}
		if (lx->end - p >= 2 && p[0] == '/' && p[1] == '*') {
			lx->tline = lx->line;
			for (p += 2; p < lx->end && !(lx->end - p >= 2 &&
			    p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					lx->line++;
			if (p >= lx->end) {
				lx->err = "unterminated comment";
				return -1;
			}
			p += 2;
			continue;
		}
		break;
	}
	lx->tline = lx->line;
	free(lx->val);
	lx->val = NULL;
	lx->len = 0;
	if (p >= lx->end) {
		lx->p = p;
		lx->type = T_EOF;
		return 0;
	}
	if (strchr("{};=", *p) != NULL) {
		lx->type = T_PUNCT;
		lx->punct = *p++;
		lx->p = p;
		return 0;
	}
	if ((lx->val = malloc((size_t)(lx->end - p) + 1)) == NULL) {
		lx->err = "out of memory";
		return -1;
	}
	n = 0;
	if (*p == '"') {
		for (p++; p < lx->end && *p != '"'; p++) {
			if (*p == '\n')
				lx->line++;
			if (*p == '\\' && p + 1 < lx->end) {
				p++;
				lx->val[n++] = *p == 'n' ? '\n' :
				    *p == 't' ? '\t' : *p;
			} else
				lx->val[n++] = *p;
		}
		if (p >= lx->end) {
			lx->err = "unterminated string";
			return -1;
		}
		p++;
		lx->type = T_STR;
	} else {
		while (p < lx->end && !isspace((unsigned char)*p) &&
		    strchr("{};=\"", *p) == NULL)
			lx->val[n++] = *p++;
		lx->type = T_WORD;
	}
	lx->val[n] = '\0';
	lx->len = n;
	lx->p = p;
	return 0;
}

static int
jpunct(struct jlex *lx, char c)
{
	return lx->type == T_PUNCT && lx->punct == c;
}

static int
jaddusr(struct zkjaas *j, const char *name, size_t nl, const char *pass,
    size_t pl)
{
	struct zksasluser	*u;

	if ((u = reallocarray(j->u, j->n + 1, sizeof(*u))) == NULL)
		return -1;
	j->u = u;
	u = &j->u[j->n];
	if ((u->name = strndup(name, nl)) == NULL)
		return -1;
	if ((u->pass = malloc(pl + 1)) == NULL) {
		free(u->name);
		return -1;
	}
	memcpy(u->pass, pass, pl);
	u->pass[pl] = '\0';
	u->passlen = pl;
	j->n++;
	return 0;
}

/* Entries `Name { module flag key=value ... ; ... };`; keep Server's user_* */
static int
jparse(struct zkjaas *j, struct jlex *lx, const char **why)
{
	char	*key = NULL;
	int	 server, seen = 0;

#define NEXT()	do {						\
	if (jnext(lx) == -1) {						\
		*why = lx->err;						\
		goto fail;						\
	}								\
} while (0)
	NEXT();
	while (lx->type != T_EOF) {
		if (lx->type != T_WORD) {
			*why = "expected a login entry name";
			goto fail;
		}
		server = strcmp(lx->val, "Server") == 0;
		if (server && seen++) {
			*why = "a second Server entry";
			goto fail;
		}
		NEXT();
		if (!jpunct(lx, '{')) {
			*why = "expected '{'";
			goto fail;
		}
		NEXT();
		while (!jpunct(lx, '}')) {
			if (lx->type != T_WORD) {
				*why = "expected a login module class";
				goto fail;
			}
			NEXT();
			if (lx->type != T_WORD ||
			    (strcasecmp(lx->val, "required") != 0 &&
			    strcasecmp(lx->val, "requisite") != 0 &&
			    strcasecmp(lx->val, "sufficient") != 0 &&
			    strcasecmp(lx->val, "optional") != 0)) {
				*why = "expected a control flag (required, "
				    "requisite, sufficient or optional)";
				goto fail;
			}
			NEXT();
			while (!jpunct(lx, ';')) {
				if (lx->type != T_WORD) {
					*why = "expected an option name or ';'";
					goto fail;
				}
				free(key);
				key = lx->val;
				lx->val = NULL;
				NEXT();
				if (!jpunct(lx, '=')) {
					*why = "expected '=' after an "
					    "option name";
					goto fail;
				}
				NEXT();
				if (lx->type != T_WORD && lx->type != T_STR) {
					*why = "expected an option value";
					goto fail;
				}
				if (server && strncmp(key, "user_", 5) == 0 &&
				    key[5] != '\0' && jaddusr(j, key + 5,
				    strlen(key + 5), lx->val, lx->len) == -1) {
					*why = "out of memory";
					goto fail;
				}
				NEXT();
			}
			NEXT();
		}
		NEXT();
		if (!jpunct(lx, ';')) {
			*why = "expected ';' after '}'";
			goto fail;
		}
		NEXT();
	}
#undef NEXT
	free(key);
	j->server = seen;
	return 0;
fail:
	free(key);
	return -1;
}

int
zkjaas_load(struct zkjaas *j, const char *file, char *errbuf, size_t errlen)
{
	struct jlex	 lx;
	struct stat	 sb;
	const char	*why = NULL;
	char		*text;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, rc;

	memset(j, 0, sizeof(*j));
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		snprintf(errbuf, errlen, "%s: %s", file, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (sb.st_size > JAAS_MAXFILE) {
		snprintf(errbuf, errlen, "%s: too big", file);
		close(fd);
		return -1;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(errbuf, errlen, "%s: %s", file, strerror(errno));
		close(fd);
		return -1;
	}
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, text + got, (size_t)sb.st_size - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(errbuf, errlen, "%s: %s", file,
			    strerror(errno));
			free(text);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	memset(&lx, 0, sizeof(lx));
	lx.p = text;
	lx.end = text + got;
	lx.line = lx.tline = 1;
	rc = jparse(j, &lx, &why);
	if (rc == -1) {
		snprintf(errbuf, errlen, "%s:%d: %s", file, lx.tline,
		    why);
		zkjaas_free(j);
	}
	free(lx.val);
	free(text);
	return rc;
}

/* the password of user NAME (the last definition wins, as in a map) */
const struct zksasluser *
zkjaas_user(const struct zkjaas *j, const char *name, size_t len)
{
	size_t	 i;

	for (i = j->n; i-- > 0;)
		if (strlen(j->u[i].name) == len &&
		    memcmp(j->u[i].name, name, len) == 0)
			return &j->u[i];
	return NULL;
}

void
zkjaas_free(struct zkjaas *j)
{
	size_t	 i;

	for (i = 0; i < j->n; i++) {
		free(j->u[i].name);
		explicit_bzero(j->u[i].pass, j->u[i].passlen);
		free(j->u[i].pass);
	}
	free(j->u);
	memset(j, 0, sizeof(*j));
}

/* ---- DIGEST-MD5 ---- */

/* one directive of a digest-response; values point into dst */
struct dfield {
	const char	*name;
	char		 buf[SASL_MAXTOKEN + 1];
	size_t		 len;
	int		 seen;
};

enum { D_USER, D_REALM, D_NONCE, D_CNONCE, D_NC, D_QOP, D_URI, D_RESP,
	D_CHARSET, D_AUTHZID, D_MAXBUF, D_CIPHER, D_N };

static const char *const dnames[D_N] = {
	"username", "realm", "nonce", "cnonce", "nc", "qop", "digest-uri",
	"response", "charset", "authzid", "maxbuf", "cipher"
};

/*
 * Split a digest-response: 1#( name "=" ( token | quoted-string ) ),
 * linear white space around the parts, empty list elements allowed.
 * Unknown directives are ignored; a known one twice is an error.
 */
static int
dparse(const char *p, size_t len, struct dfield *f)
{
	const char	*end = p + len, *ns;
	size_t		 nl, i, n;
	struct dfield	*d;

	for (;;) {
		while (p < end && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (p == end)
			return 0;
		for (ns = p; p < end && *p != '=' && *p != ',' &&
		    !isspace((unsigned char)*p) && *p != '"'; p++)
			;
		nl = (size_t)(p - ns);
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (nl == 0 || p == end || *p != '=')
			return -1;
		p++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		d = NULL;
		for (i = 0; i < D_N; i++)
			if (strlen(dnames[i]) == nl &&
			    strncasecmp(dnames[i], ns, nl) == 0)
				d = &f[i];
		if (d != NULL && d->seen++)
			return -1;
		n = 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (d != NULL)
					d->buf[n] = *p;
				n++;
			}
			if (p == end)
				return -1;
			p++;
		} else {
			for (; p < end && *p != ',' &&
			    !isspace((unsigned char)*p); p++) {
				if (*p == '"')
					return -1;
				if (d != NULL)
					d->buf[n] = *p;
				n++;
			}
		}
		if (d != NULL) {
			d->buf[n] = '\0';
			d->len = n;
		}
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p < end && *p != ',')
			return -1;
	}
}

static void
md5hex(MD5_CTX *ctx, char hex[33])
{
	uint8_t		 md[MD5_DIGEST_LENGTH];

	MD5Final(md, ctx);
	zk_hexenc(hex, md, sizeof(md));
}

static void
mdadd(MD5_CTX *ctx, const char *s, size_t n)
{
	MD5Update(ctx, (const uint8_t *)s, n);
}

/* RFC 2831 2.1.2.1 response-value (qop auth, md5-sess); a2pre: "AUTHENTICATE"
 * for the client's response, "" for rspauth */
static void
dresponse(const struct dfield *f, const struct zksasluser *u,
    const char *a2pre, char out[33])
{
	MD5_CTX		 ctx;
	uint8_t		 uh[MD5_DIGEST_LENGTH];
	char		 ha1[33], ha2[33];

	MD5Init(&ctx);
	mdadd(&ctx, f[D_USER].buf, f[D_USER].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_REALM].buf, f[D_REALM].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, u->pass, u->passlen);
	MD5Final(uh, &ctx);
	MD5Init(&ctx);
	MD5Update(&ctx, uh, sizeof(uh));
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_NONCE].buf, f[D_NONCE].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_CNONCE].buf, f[D_CNONCE].len);
	if (f[D_AUTHZID].seen) {
		mdadd(&ctx, ":", 1);
		mdadd(&ctx, f[D_AUTHZID].buf, f[D_AUTHZID].len);
	}
	md5hex(&ctx, ha1);
	explicit_bzero(uh, sizeof(uh));
	MD5Init(&ctx);
	mdadd(&ctx, a2pre, strlen(a2pre));
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_URI].buf, f[D_URI].len);
	md5hex(&ctx, ha2);
	MD5Init(&ctx);
	mdadd(&ctx, ha1, 32);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_NONCE].buf, f[D_NONCE].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_NC].buf, f[D_NC].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_CNONCE].buf, f[D_CNONCE].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, f[D_QOP].buf, f[D_QOP].len);
	mdadd(&ctx, ":", 1);
	mdadd(&ctx, ha2, 32);
	md5hex(&ctx, out);
	explicit_bzero(ha1, sizeof(ha1));
}

static int
dis(const struct dfield *d, const char *s)
{
	return d->len == strlen(s) && memcmp(d->buf, s, d->len) == 0;
}

/* nonzero when different; time independent of where */
static int
ctdiff(const char *a, const char *b, size_t n)
{
	unsigned char	 d = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d != 0;
}

static int
discase(const struct dfield *d, const char *s)
{
	return d->len == strlen(s) && strncasecmp(d->buf, s, d->len) == 0;
}

/*
 * One step of the exchange.  Step 0 takes the empty initial token and
 * answers the challenge; step 1 checks the digest-response and answers
 * rspauth (done: s->user is the authenticated name).  Returns 0 with the
 * token to send appended to out, or -1 (with *why) when authentication
 * failed; the exchange is then over.  tok may be NULL (a null token) when
 * len is 0.
 */
int
zksasl_step(struct zksasl *s, const struct zkjaas *j, const void *tok,
    size_t len, struct zkbuf *out, const char **why)
{
	struct dfield		*f;
	const struct zksasluser	*u;
	unsigned char		 raw[30];
	char			 want[33];
	int			 rc = -1;

	switch (s->step) {
	case 0:
		if (len != 0) {
			*why = "DIGEST-MD5 has no initial response";
			s->step = 2;
			return -1;
		}
		arc4random_buf(raw, sizeof(raw));
		zk_base64(s->nonce, raw, sizeof(raw));
		zkbuf_printf(out, "realm=\"" SASL_REALM "\",nonce=\"%s\","
		    "charset=utf-8,algorithm=md5-sess", s->nonce);
		s->step = 1;
		return 0;
	case 1:
		break;
	default:
		*why = "authentication already complete";
		return -1;
	}
	s->step = 2;
	if (tok == NULL)
		tok = "";	/* no arithmetic on a null pointer in dparse */
	if (len > SASL_MAXTOKEN) {
		*why = "response too long";
		return -1;
	}
	if ((f = calloc(D_N, sizeof(*f))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	*why = "malformed digest-response";
	if (dparse(tok, len, f) == -1)
		goto done;
	*why = "digest-response lacks username, nonce, cnonce, nc, "
	    "digest-uri or response";
	if (!f[D_USER].seen || !f[D_NONCE].seen || !f[D_CNONCE].seen ||
	    !f[D_NC].seen || !f[D_URI].seen || !f[D_RESP].seen)
		goto done;
	*why = "wrong realm";
	if (f[D_REALM].seen && !dis(&f[D_REALM], SASL_REALM))
		goto done;
	*why = "wrong nonce";
	if (!dis(&f[D_NONCE], s->nonce))
		goto done;
	*why = "nonce count is not 00000001";
	if (!discase(&f[D_NC], "00000001"))
		goto done;
	*why = "qop is not auth";
	if (!f[D_QOP].seen) {
		strlcpy(f[D_QOP].buf, "auth", sizeof(f[D_QOP].buf));
		f[D_QOP].len = 4;
	} else if (!dis(&f[D_QOP], "auth"))
		goto done;
	*why = "charset is not utf-8";
	if (f[D_CHARSET].seen && !discase(&f[D_CHARSET], "utf-8"))
		goto done;
	*why = "digest-uri is not " SASL_URI;
	if (!discase(&f[D_URI], SASL_URI))
		goto done;
	*why = "bad user name";
	if (f[D_USER].len == 0 || f[D_USER].len >= sizeof(s->user) ||
	    memchr(f[D_USER].buf, '\0', f[D_USER].len) != NULL)
		goto done;
	*why = "unknown user";
	if ((u = zkjaas_user(j, f[D_USER].buf, f[D_USER].len)) == NULL)
		goto done;
	dresponse(f, u, "AUTHENTICATE", want);
	*why = "wrong password";
	if (f[D_RESP].len != 32 || ctdiff(want, f[D_RESP].buf, 32))
		goto done;
	dresponse(f, u, "", want);
	zkbuf_printf(out, "rspauth=%s", want);
	memcpy(s->user, f[D_USER].buf, f[D_USER].len);
	s->user[f[D_USER].len] = '\0';
	s->done = 1;
	rc = 0;
done:
	explicit_bzero(f, D_N * sizeof(*f));
	free(f);
	return rc;
}
