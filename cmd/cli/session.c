/*
 * The session: connecting on first use, one request and its reply,
 * ZooKeeper's error codes as messages and exit statuses, and the
 * requests more than one command makes.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "cli.h"

struct zkclient	 zc;
int		 connected, dead;	/* dead: the session is lost */


const char *
zkerrstr(int e)
{
	switch (e) {
	case ZNONODE:
		return "no node";
	case ZNODEEXISTS:
		return "node exists";
	case ZBADVERSION:
		return "bad version";
	case ZNOAUTH:
		return "not authorized";
	case ZAUTHFAILED:
		return "authentication failed";
	case ZNOTEMPTY:
		return "not empty";
	case ZINVALIDACL:
		return "invalid ACL";
	case ZBADARGUMENTS:
		return "bad arguments";
	case ZNOCHILDRENFOREPHEMERALS:
		return "ephemeral nodes may not have children";
	case ZUNIMPLEMENTED:
		return "unimplemented";
	case ZMARSHALLINGERROR:
		return "marshalling error";
	case ZSESSIONEXPIRED:
		return "session expired";
	case ZRUNTIMEINCONSISTENCY:
		return "runtime inconsistency";
	case ZRECONFIGDISABLED:
		return "reconfig is disabled (reconfigEnabled)";
	case ZNEWCONFIGNOQUORUM:
		return "no quorum of the new members is synced";
	case ZRECONFIGINPROGRESS:
		return "another reconfig is in progress";
	case ZSESSIONMOVED:
		return "session moved to another server";
	default:
		return NULL;
	}
}

static int
zkexit(int e)
{
	switch (e) {
	case ZOK:
		return X_DONE;
	case ZNONODE:
		return X_NONODE;
	case ZNODEEXISTS:
		return X_EXISTS;
	case ZBADVERSION:
		return X_BADVERSION;
	case ZNOAUTH:
	case ZAUTHFAILED:
		return X_NOAUTH;
	case ZNOTEMPTY:
		return X_NOTEMPTY;
	case ZINVALIDACL:
		return X_BADACL;
	case ZBADARGUMENTS:
		return X_BADARGS;
	case ZNOCHILDRENFOREPHEMERALS:
		return X_EPHEMERAL;
	case ZSESSIONEXPIRED:
	case LOST:
		return X_LOST;
	default:
		return X_ZKERR;
	}
}

/* Report the result of call() for a path; returns the exit status. */
int
fail(int e, const char *path)
{
	const char	*s;

	if (e == LOST)
		return X_LOST;		/* call() said it */
	if ((s = zkerrstr(e)) != NULL)
		warnx("%s: %s", path, s);
	else
		warnx("%s: error %d", path, e);
	return zkexit(e);
}

/* What zkc_connect's errno means (zk.h), as zk-cli says it. */
static const struct {
	int		 e;
	const char	*why;
} connwhy[] = {
	{ EINVAL, "bad server address (want host:port)" },
	{ EPROTO, "cannot connect: bad handshake (not a ZooKeeper server?)" },
	{ ECONNREFUSED, "cannot connect: connection refused (no server "
	    "listening there)" },
	{ ECONNRESET, "the server closed the connection while opening the "
	    "session (its log says why)" },
	{ ECONNABORTED, "the server refused to open a session (its log says "
	    "why: a full disk, say)" },
};

/* Connect on first use: 0, or the exit status after saying why not. */
int
conn(void)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	const char	*p;
	size_t		 i;

	if (dead) {
		warnx("the session is lost");
		return X_LOST;
	}
	if (connected)
		return 0;
	if (zkc_connect(&zc, hosts, connectms, sessionms) == -1) {
		for (i = 0; i < sizeof(connwhy) / sizeof(connwhy[0]) &&
		    connwhy[i].e != errno; i++)
			;
		if (errno == ETIMEDOUT)
			warnx("%s: cannot connect: no answer within %d s",
			    zc.addr, connectms / 1000);
		else if (i < sizeof(connwhy) / sizeof(connwhy[0]))
			warnx("%s: %s", zc.addr, connwhy[i].why);
		else
			warn("%s: cannot connect", zc.addr);
		return errno == EINVAL ? EX_USAGE : X_LOST;
	}
	connected = 1;
	for (i = 0; i < auths.n; i++) {
		p = strchr(auths.v[i], ':');
		b = zkc_beginx(&zc, -4, ZOP_AUTH);
		jw_int(b, 0);
		jw_buf(b, auths.v[i], (int32_t)(p - auths.v[i]));
		jw_buf(b, p + 1, (int32_t)strlen(p + 1));
		/* the scheme went in as a buffer: same bytes as a ustring */
		if (zkc_call(&zc, &rep) == -1) {
			dead = 1;
			if (errno == ECONNRESET || errno == EPIPE)
				warnx("-a %.*s: authentication failed",
				    (int)(p - auths.v[i]), auths.v[i]);
			else
				warn("%s: connection lost", zc.addr);
			return errno == ECONNRESET ? X_NOAUTH : X_LOST;
		}
		if (rep.err != 0) {
			dead = 1;
			warnx("-a %.*s: authentication failed",
			    (int)(p - auths.v[i]), auths.v[i]);
			return X_NOAUTH;
		}
	}
	return 0;
}

/* Send the request begun on zc, wait: ZooKeeper's code, or LOST. */
int
call(struct zkreply *rep)
{
	if (zkc_call(&zc, rep) == -1) {
		dead = 1;
		if (errno == EPROTO)
			warnx("%s: bad reply from the server", zc.addr);
		else if (errno == ETIMEDOUT)
			warnx("%s: no reply in time: connection lost", zc.addr);
		else
			warn("%s: connection lost", zc.addr);
		return LOST;
	}
	if (rep->err == 0 && rep->r.bad) {
		dead = 1;
		warnx("%s: bad reply from the server", zc.addr);
		return LOST;
	}
	return rep->err;
}

/* Apache's PathUtils.validatePath, client side like its Java client. */
int
badpath(const char *p, int seq)
{
	const char	*why = NULL, *s;
	size_t		 n = strlen(p);

	if (*p != '/')
		why = "must start with /";
	else if (n > 1 && p[n - 1] == '/' && !seq)
		why = "must not end with /";
	else if (strstr(p, "//") != NULL)
		why = "empty component";
	else {
		for (s = p; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				why = "control character";
		for (s = p; why == NULL && s != NULL; s = strchr(s + 1, '/'))
			if (strncmp(s, "/.", 2) == 0 && (s[2] == '/' ||
			    s[2] == '\0' || (s[2] == '.' && (s[3] == '/' ||
			    s[3] == '\0'))))
				why = "relative component";
	}
	if (why == NULL)
		return 0;
	warnx("bad path: %s: %s", p, why);
	return EX_USAGE;
}

/* "scheme:id:perms[,...]" as vector<ACL> onto b; perms from "cdrwa" */
int
putacls(struct zkbuf *b, const char *spec)
{
	char		*s, *one, *next, *id, *perms, *p;
	size_t		 at;
	int32_t		 n = 0, pm;

	if ((s = strdup(spec)) == NULL)
		err(EX_OSERR, NULL);
	at = b->len;
	jw_int(b, 0);
	for (one = s; one != NULL; one = next) {
		if ((next = strchr(one, ',')) != NULL)
			*next++ = '\0';
		if ((id = strchr(one, ':')) == NULL ||
		    (perms = strrchr(one, ':')) == id)
			goto bad;
		*id++ = '\0';
		*perms++ = '\0';
		for (pm = 0, p = perms; *p != '\0'; p++) {
			switch (*p) {
			case 'r': pm |= ZPERM_READ; break;
			case 'w': pm |= ZPERM_WRITE; break;
			case 'c': pm |= ZPERM_CREATE; break;
			case 'd': pm |= ZPERM_DELETE; break;
			case 'a': pm |= ZPERM_ADMIN; break;
			default: goto bad;
			}
		}
		if (*one == '\0')
			goto bad;
		jw_int(b, pm);
		jw_str(b, one);
		jw_str(b, id);
		n++;
	}
	free(s);
	if (!b->err) {
		b->p[at] = (char)((uint32_t)n >> 24);
		b->p[at + 1] = (char)((uint32_t)n >> 16);
		b->p[at + 2] = (char)((uint32_t)n >> 8);
		b->p[at + 3] = (char)n;
	}
	return 0;
bad:
	free(s);
	warnx("bad ACL: %s (want scheme:id:perms, perms of cdrwa)", spec);
	return EX_USAGE;
}

/* an ACL spec's syntax, before anything is sent */
int
checkacl(const char *spec)
{
	struct zkbuf	 t;
	int		 rc;

	memset(&t, 0, sizeof(t));
	rc = putacls(&t, spec);
	zkbuf_free(&t);
	return rc;
}

void
strv_free(struct strv *sv)
{
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* getChildren, names copied and sorted: ZooKeeper's code or LOST */
int
children(const char *path, int watch, struct strv *sv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int32_t		 n, i;
	int		 rc;

	sv->v = NULL;
	sv->n = 0;
	b = zkc_begin(&zc, ZOP_GETCHILDREN);
	jw_str(b, path);
	jw_bool(b, watch);
	if ((rc = call(&rep)) != 0)
		return rc;
	n = jr_int(&rep.r);
	if (n < 0 || n > (1 << 24))
		n = 0;
	if ((sv->v = calloc((size_t)n + 1, sizeof(*sv->v))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < n; i++) {
		if ((sv->v[i] = jr_strdup(&rep.r)) == NULL) {
			strv_free(sv);
			dead = 1;
			warnx("%s: bad reply from the server", zc.addr);
			return LOST;
		}
		sv->n++;
	}
	qsort(sv->v, sv->n, sizeof(*sv->v), cmpstr);
	return 0;
}

int
exists(const char *path, int watch, struct zkstat *st)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int		 rc;

	b = zkc_begin(&zc, ZOP_EXISTS);
	jw_str(b, path);
	jw_bool(b, watch);
	if ((rc = call(&rep)) == 0 && st != NULL)
		jr_stat(&rep.r, st);
	return rc;
}

int
delete(const char *path, int32_t version)
{
	struct zkbuf	*b;
	struct zkreply	 rep;

	b = zkc_begin(&zc, ZOP_DELETE);
	jw_str(b, path);
	jw_int(b, version);
	return call(&rep);
}

/* create; the new node's path into *made (malloc'd) if asked */
int
create(const char *path, const char *data, size_t len, int flags,
    int64_t ttl, const char *acl, char **made)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int		 rc, op;

	op = flags == 4 ? ZOP_CREATECONTAINER : ttl > 0 ? ZOP_CREATETTL :
	    ZOP_CREATE;
	b = zkc_begin(&zc, op);
	jw_str(b, path);
	jw_buf(b, data, (int32_t)len);
	if (acl != NULL) {
		if (putacls(b, acl) != 0) {
			zkbuf_reset(b);		/* nothing was sent */
			return EX_USAGE;
		}
	} else {
		jw_int(b, 1);
		jw_int(b, ZPERM_ALL);
		jw_str(b, "world");
		jw_str(b, "anyone");
	}
	jw_int(b, flags);
	if (op == ZOP_CREATETTL)
		jw_long(b, ttl);
	if ((rc = call(&rep)) != 0)
		return rc;
	if (made != NULL && (*made = jr_strdup(&rep.r)) == NULL) {
		dead = 1;
		warnx("%s: bad reply from the server", zc.addr);
		return LOST;
	}
	return 0;
}

/* create every missing ancestor of path, persistent and empty */
int
parents(const char *path)
{
	char	*p, *s;
	int	 rc = 0;

	if ((p = strdup(path)) == NULL)
		err(EX_OSERR, NULL);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		rc = create(p, "", 0, 0, 0, NULL, NULL);
		*s = '/';
		if (rc == ZNODEEXISTS)
			rc = 0;
		if (rc != 0)
			break;
	}
	if (rc != 0 && rc != LOST && rc != EX_USAGE)
		rc = fail(rc, p);
	else if (rc == LOST)
		rc = X_LOST;
	free(p);
	return rc;
}

char *
childpath(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
	    name) == -1)
		err(EX_OSERR, NULL);
	return p;
}
