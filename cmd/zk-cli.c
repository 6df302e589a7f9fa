/*
 * zk-cli: a command-line client for zk (or any ZooKeeper 3.5+ server),
 * made for pipes and scripts: data raw on stdout and nothing else, one
 * child per line, exit statuses that say what happened (see zk-cli(1)).
 * Speaks the client protocol through libzk's jute codec and client.c.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <histedit.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <editline/readline.h>

#include "zk.h"

/* exit statuses, zk-cli(1) */
#define X_DONE		0
#define X_NONODE	1
#define X_EXISTS	2
#define X_BADVERSION	3
#define X_NOAUTH	4
#define X_NOTEMPTY	5
#define X_BADACL	6
#define X_BADARGS	7
#define X_EPHEMERAL	8
#define X_ZKERR		9
#define X_TIMEOUT	EX_TEMPFAIL	/* 75: lock held, wait-for timed out */
#define X_LOST		EX_UNAVAILABLE	/* 69: unreachable, connection lost */

#define LOST		1000	/* call(): the connection is gone */
#define MAXDATA		ZK_MAXBUFFER

struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*usage;
};

struct strv {
	char		**v;
	size_t		  n;
};

static int	c_addauth(int, char **);
static int	c_create(int, char **);
static int	c_elect(int, char **);
static int	c_get(int, char **);
static int	c_getacl(int, char **);
static int	c_help(int, char **);
static int	c_lock(int, char **);
static int	c_ls(int, char **);
static int	c_rm(int, char **);
static int	c_set(int, char **);
static int	c_setacl(int, char **);
static int	c_stat(int, char **);
static int	c_sync(int, char **);
static int	c_wait_for(int, char **);
static int	c_watch(int, char **);

static const struct cmd cmds[] = {
	{ "addauth", c_addauth, "scheme auth" },
	{ "create", c_create,
	    "[-ceps] [-a acl] [-t ttl] path [data | -]" },
	{ "elect", c_elect, "path -- command [arg ...]" },
	{ "get", c_get, "[-ej] path" },
	{ "getacl", c_getacl, "[-j] path" },
	{ "help", c_help, "" },
	{ "lock", c_lock, "[-n] [-w seconds] path -- command [arg ...]" },
	{ "ls", c_ls, "[-ejR] path" },
	{ "rm", c_rm, "[-R] [-v version] path" },
	{ "set", c_set, "[-e] [-v version] path data | -" },
	{ "setacl", c_setacl, "[-v aversion] path acl[,acl ...]" },
	{ "stat", c_stat, "[-j] path" },
	{ "sync", c_sync, "path" },
	{ "wait-for", c_wait_for, "[-d] [-w seconds] path" },
	{ "watch", c_watch, "[-eijpR] [-n count] path" },
	{ NULL, NULL, NULL }
};

static struct zkclient	 zc;
static int		 connected, dead;	/* dead: the session is lost */
static const char	*hosts = "127.0.0.1:2181";
static int		 connectms = 5000, sessionms = 10000;
static int		 gescape, gjson;	/* -e, -j before the command */
static int		 escape, json;		/* this command's */
static int		 interactive;
static struct strv	 auths;			/* -a scheme:auth */
static const char	*cmdname;

static volatile sig_atomic_t woke, gotsig, gotchld;

static const struct option longopts[] = {
	{ "escape", no_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-ehij] [-a scheme:auth] [-S session_ms] "
	    "[-t seconds] [-z host:port[,...]]\n"
	    "              [command [arg ...]]\n", getprogname());
	exit(EX_USAGE);
}

static int run(int, char **);
static int shell(void);

int
main(int argc, char *argv[])
{
	const char	*errstr, *e;
	int		 ch, iflag = 0, rc;

	if ((e = getenv("ZK_HOSTS")) != NULL && *e != '\0')
		hosts = e;
	while ((ch = getopt_long(argc, argv, "+a:ehijS:t:z:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if ((auths.v = reallocarray(auths.v, auths.n + 1,
			    sizeof(*auths.v))) == NULL)
				err(EX_OSERR, NULL);
			auths.v[auths.n++] = optarg;
			if (strchr(optarg, ':') == NULL)
				errx(EX_USAGE, "-a %s: want scheme:auth", optarg);
			break;
		case 'e':
			gescape = 1;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'j':
			gjson = 1;
			break;
		case 'S':
			sessionms = strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "session timeout is %s: %s",
				    errstr, optarg);
			break;
		case 't':
			connectms = 1000 * strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "connect timeout is %s: %s",
				    errstr, optarg);
			break;
		case 'z':
			hosts = optarg;
			break;
		case 'h':
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	if (argc == 0 || iflag) {
		if (argc != 0)
			usage();
		interactive = 1;
		rc = shell();
	} else
		rc = run(argc, argv);
	if (connected && !dead)
		zkc_close(&zc);
	if (fflush(stdout) == EOF && rc == 0) {
		warn("stdout");
		rc = EX_IOERR;
	}
	return rc;
}

/*
 * Running one command.
 */

static int
cmdusage(void)
{
	const struct cmd	*c;

	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, cmdname) == 0)
			break;
	fprintf(stderr, "usage: %s%s%s %s\n", interactive ? "" : getprogname(),
	    interactive ? "" : " ", cmdname, c->name != NULL ? c->usage : "");
	return EX_USAGE;
}

static int
run(int argc, char **argv)
{
	const struct cmd	*c;

	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0)
			break;
	if (c->name == NULL) {
		warnx("%s: unknown command (try help)", argv[0]);
		return EX_USAGE;
	}
	cmdname = c->name;
	escape = gescape;
	json = gjson;
	optind = 0;		/* glibc: start getopt afresh */
	return c->fn(argc, argv);
}

/* Per-command getopt: "+" stops at the first operand. */
static int
opt(int argc, char **argv, const char *opts)
{
	char	 o[32];

	snprintf(o, sizeof(o), "+%s", opts);
	return getopt_long(argc, argv, o, longopts, NULL);
}

static const char *
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
static int
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

/* Connect on first use: 0, or the exit status after saying why not. */
static int
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
		if (errno == EINVAL)
			warnx("%s: bad server address (want host:port)",
			    zc.addr);
		else if (errno == ETIMEDOUT)
			warnx("%s: cannot connect: no answer within %d s",
			    zc.addr, connectms / 1000);
		else if (errno == EPROTO)
			warnx("%s: cannot connect: bad handshake (not a "
			    "ZooKeeper server?)", zc.addr);
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
static int
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
static int
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

/*
 * Output.
 */

static void
putraw(const char *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, stdout) != n)
		err(EX_IOERR, "stdout");
}

/* a value as given, or escaped (libzk's line escaping) and a newline */
static void
putval(const char *p, size_t n, int nl)
{
	char	*e;

	if (!escape) {
		putraw(p, n);
		if (nl)
			putchar('\n');
		return;
	}
	if ((e = malloc(4 * n + 1)) == NULL)
		err(EX_OSERR, NULL);
	zkl_escape(e, p, n);
	printf("%s\n", e);
	free(e);
}

static void
jstr(const char *p, size_t n)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
jstat(const struct zkstat *s)
{
	printf("{\"czxid\":%" PRId64 ",\"mzxid\":%" PRId64 ",\"ctime\":%"
	    PRId64 ",\"mtime\":%" PRId64 ",\"version\":%d,\"cversion\":%d,"
	    "\"aversion\":%d,\"ephemeralOwner\":%" PRId64 ",\"dataLength\":%d,"
	    "\"numChildren\":%d,\"pzxid\":%" PRId64 "}", s->czxid, s->mzxid,
	    s->ctime, s->mtime, s->version, s->cversion, s->aversion,
	    s->ephemeralOwner, s->dataLength, s->numChildren, s->pzxid);
}

static void
putstat(const struct zkstat *s)
{
	printf("czxid=0x%" PRIx64 "\nmzxid=0x%" PRIx64 "\nctime=%" PRId64
	    "\nmtime=%" PRId64 "\nversion=%d\ncversion=%d\naversion=%d\n"
	    "ephemeralOwner=0x%" PRIx64 "\ndataLength=%d\nnumChildren=%d\n"
	    "pzxid=0x%" PRIx64 "\n", s->czxid, s->mzxid, s->ctime, s->mtime,
	    s->version, s->cversion, s->aversion, s->ephemeralOwner,
	    s->dataLength, s->numChildren, s->pzxid);
}

/*
 * Input.
 */

/* DATA from an argument (unescaped with -e) or "-" for stdin. */
static int
getdata(const char *arg, char **data, size_t *len)
{
	ssize_t	 n;
	size_t	 have = 0;
	char	*p;

	if (strcmp(arg, "-") == 0) {
		if (interactive) {
			warnx("no data from stdin in interactive mode");
			return EX_USAGE;
		}
		if ((p = malloc(MAXDATA + 1)) == NULL)
			err(EX_OSERR, NULL);
		while (have <= MAXDATA) {
			n = read(STDIN_FILENO, p + have, MAXDATA + 1 - have);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				err(EX_IOERR, "stdin");
			}
			if (n == 0)
				break;
			have += (size_t)n;
		}
		if (have > MAXDATA) {
			free(p);
			warnx("stdin: data longer than %d bytes", MAXDATA);
			return EX_DATAERR;
		}
		*data = p;
		*len = have;
		return 0;
	}
	if ((*data = strdup(arg)) == NULL)
		err(EX_OSERR, NULL);
	*len = strlen(arg);
	if (escape) {
		if ((n = zkl_unescape(*data, *len)) == -1) {
			warnx("%s: bad escape", arg);
			free(*data);
			return EX_DATAERR;
		}
		*len = (size_t)n;
	}
	if (*len > MAXDATA) {
		warnx("data longer than %d bytes", MAXDATA);
		free(*data);
		return EX_DATAERR;
	}
	return 0;
}

static int
version(const char *s, int32_t *v)
{
	const char	*errstr;

	*v = (int32_t)strtonum(s, -1, INT32_MAX, &errstr);
	if (errstr != NULL) {
		warnx("version is %s: %s", errstr, s);
		return EX_USAGE;
	}
	return 0;
}

/* "scheme:id:perms[,...]" as vector<ACL> onto b; perms from "cdrwa" */
static int
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
static int
checkacl(const char *spec)
{
	struct zkbuf	 t;
	int		 rc;

	memset(&t, 0, sizeof(t));
	rc = putacls(&t, spec);
	zkbuf_free(&t);
	return rc;
}

static void
permstr(char *d, int32_t p)
{
	if (p & ZPERM_CREATE)
		*d++ = 'c';
	if (p & ZPERM_DELETE)
		*d++ = 'd';
	if (p & ZPERM_READ)
		*d++ = 'r';
	if (p & ZPERM_WRITE)
		*d++ = 'w';
	if (p & ZPERM_ADMIN)
		*d++ = 'a';
	*d = '\0';
}

/*
 * Requests shared by commands.
 */

static void
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
static int
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

static int
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

static int
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
static int
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
static int
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

static char *
childpath(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
	    name) == -1)
		err(EX_OSERR, NULL);
	return p;
}

/*
 * The commands.
 */

static int
lsr(const char *path, int first)
{
	struct strv	 sv;
	size_t		 i;
	char		*p;
	int		 rc;

	if ((rc = children(path, 0, &sv)) == ZNONODE && !first)
		return 0;		/* deleted meanwhile */
	if (rc != 0)
		return fail(rc, path);
	if (json)
		printf("%s", first ? "" : ",");
	if (json)
		jstr(path, strlen(path));
	else
		putval(path, strlen(path), 1);
	for (i = 0; i < sv.n && rc == 0; i++) {
		p = childpath(path, sv.v[i]);
		rc = lsr(p, 0);
		free(p);
	}
	strv_free(&sv);
	return rc;
}

static int
c_ls(int argc, char **argv)
{
	struct strv	 sv;
	size_t		 i;
	int		 ch, rflag = 0, rc;

	while ((ch = opt(argc, argv, "ejR")) != -1) {
		switch (ch) {
		case 'e':
			escape = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'R':
			rflag = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	if (rflag) {
		if (json)
			putchar('[');
		rc = lsr(argv[0], 1);
		if (json)
			printf("]\n");
		return rc;
	}
	if ((rc = children(argv[0], 0, &sv)) != 0)
		return fail(rc, argv[0]);
	if (json)
		putchar('[');
	for (i = 0; i < sv.n; i++) {
		if (json) {
			if (i > 0)
				putchar(',');
			jstr(sv.v[i], strlen(sv.v[i]));
		} else
			putval(sv.v[i], strlen(sv.v[i]), 1);
	}
	if (json)
		printf("]\n");
	strv_free(&sv);
	return 0;
}

static int
c_get(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	struct zkstat	 st;
	const char	*data;
	int32_t		 len;
	int		 ch, rc;

	while ((ch = opt(argc, argv, "ej")) != -1) {
		switch (ch) {
		case 'e':
			escape = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	b = zkc_begin(&zc, ZOP_GETDATA);
	jw_str(b, argv[0]);
	jw_bool(b, 0);
	if ((rc = call(&rep)) != 0)
		return fail(rc, argv[0]);
	len = jr_buf(&rep.r, &data);
	jr_stat(&rep.r, &st);
	if (rep.r.bad) {
		dead = 1;
		warnx("%s: bad reply from the server", zc.addr);
		return X_LOST;
	}
	if (json) {
		printf("{\"path\":");
		jstr(argv[0], strlen(argv[0]));
		printf(",\"data\":");
		if (data == NULL)
			printf("null");
		else
			jstr(data, (size_t)len);
		printf(",\"stat\":");
		jstat(&st);
		printf("}\n");
	} else if (data != NULL)
		putval(data, (size_t)len, interactive);
	else if (escape || interactive)
		putchar('\n');
	return 0;
}

static int
c_stat(int argc, char **argv)
{
	struct zkstat	 st;
	int		 ch, rc;

	while ((ch = opt(argc, argv, "j")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	if ((rc = exists(argv[0], 0, &st)) != 0)
		return fail(rc, argv[0]);
	if (json) {
		jstat(&st);
		putchar('\n');
	} else
		putstat(&st);
	return 0;
}

static int
c_set(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	char		*data;
	size_t		 len;
	int32_t		 v = -1;
	int		 ch, rc;

	while ((ch = opt(argc, argv, "ev:")) != -1) {
		switch (ch) {
		case 'e':
			escape = 1;
			break;
		case 'v':
			if ((rc = version(optarg, &v)) != 0)
				return rc;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 ||
	    (rc = getdata(argv[1], &data, &len)) != 0)
		return rc;
	if ((rc = conn()) != 0) {
		free(data);
		return rc;
	}
	b = zkc_begin(&zc, ZOP_SETDATA);
	jw_str(b, argv[0]);
	jw_buf(b, data, (int32_t)len);
	jw_int(b, v);
	free(data);
	if ((rc = call(&rep)) != 0)
		return fail(rc, argv[0]);
	return 0;
}

static int
c_create(int argc, char **argv)
{
	const char	*errstr, *acl = NULL;
	char		*data = NULL, *made = NULL;
	size_t		 len = 0;
	int64_t		 ttl = 0;
	int		 ch, rc, cflag = 0, eflag = 0, pflag = 0, sflag = 0;
	int		 flags;

	while ((ch = opt(argc, argv, "a:ceepst:")) != -1) {
		switch (ch) {
		case 'a':
			acl = optarg;
			break;
		case 'c':
			cflag = 1;
			break;
		case 'e':
			eflag = 1;
			break;
		case 'p':
			pflag = 1;
			break;
		case 's':
			sflag = 1;
			break;
		case 't':
			ttl = strtonum(optarg, 1, 0xFFFFFFFFFFLL, &errstr);
			if (errstr != NULL) {
				warnx("ttl is %s: %s", errstr, optarg);
				return EX_USAGE;
			}
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		return cmdusage();
	if (cflag + eflag + (ttl > 0) > 1 || (cflag && sflag)) {
		warnx("-c, -e and -t exclude each other; -c excludes -s");
		return EX_USAGE;
	}
	if (cflag)
		flags = 4;
	else if (ttl > 0)
		flags = sflag ? 6 : 5;
	else
		flags = (eflag ? 1 : 0) | (sflag ? 2 : 0);
	if ((rc = badpath(argv[0], sflag)) != 0 ||
	    (acl != NULL && (rc = checkacl(acl)) != 0))
		return rc;
	if (argc == 2 && (rc = getdata(argv[1], &data, &len)) != 0)
		return rc;
	if ((rc = conn()) != 0 || (pflag && (rc = parents(argv[0])) != 0)) {
		free(data);
		return rc;
	}
	rc = create(argv[0], data == NULL ? "" : data, len, flags, ttl, acl,
	    &made);
	free(data);
	if (rc == EX_USAGE)
		return rc;
	if (rc != 0)
		return fail(rc, argv[0]);
	putval(made, strlen(made), 1);
	free(made);
	return 0;
}

static int
rmr(const char *path, int top)
{
	struct strv	 sv;
	size_t		 i;
	char		*p;
	int		 rc;

	if ((rc = children(path, 0, &sv)) != 0)
		return rc == ZNONODE && !top ? 0 : rc;
	for (i = 0; i < sv.n && rc == 0; i++) {
		p = childpath(path, sv.v[i]);
		rc = rmr(p, 0);
		free(p);
	}
	strv_free(&sv);
	if (rc == 0 && (rc = delete(path, -1)) == ZNONODE && !top)
		rc = 0;
	return rc;
}

static int
c_rm(int argc, char **argv)
{
	int32_t	 v = -1;
	int	 ch, rc, rflag = 0, vflag = 0;

	while ((ch = opt(argc, argv, "Rv:")) != -1) {
		switch (ch) {
		case 'R':
			rflag = 1;
			break;
		case 'v':
			if ((rc = version(optarg, &v)) != 0)
				return rc;
			vflag = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || (rflag && vflag))
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	rc = rflag ? rmr(argv[0], 1) : delete(argv[0], v);
	return rc != 0 ? fail(rc, argv[0]) : 0;
}

static int
c_getacl(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	char		*scheme, *id, perms[8];
	int32_t		 n, i, p;
	int		 ch, rc;

	while ((ch = opt(argc, argv, "j")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	b = zkc_begin(&zc, ZOP_GETACL);
	jw_str(b, argv[0]);
	if ((rc = call(&rep)) != 0)
		return fail(rc, argv[0]);
	n = jr_int(&rep.r);
	if (json)
		putchar('[');
	for (i = 0; i < n && !rep.r.bad; i++) {
		p = jr_int(&rep.r);
		scheme = jr_strdup(&rep.r);
		id = jr_strdup(&rep.r);
		if (scheme != NULL && id != NULL) {
			permstr(perms, p);
			if (json) {
				printf("%s{\"scheme\":", i > 0 ? "," : "");
				jstr(scheme, strlen(scheme));
				printf(",\"id\":");
				jstr(id, strlen(id));
				printf(",\"perms\":\"%s\"}", perms);
			} else
				printf("%s:%s:%s\n", scheme, id, perms);
		}
		free(scheme);
		free(id);
	}
	if (json)
		printf("]\n");
	if (rep.r.bad) {
		dead = 1;
		warnx("%s: bad reply from the server", zc.addr);
		return X_LOST;
	}
	return 0;
}

static int
c_setacl(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int32_t		 v = -1;
	int		 ch, rc;

	while ((ch = opt(argc, argv, "v:")) != -1) {
		switch (ch) {
		case 'v':
			if ((rc = version(optarg, &v)) != 0)
				return rc;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0)
		return rc;
	if ((rc = checkacl(argv[1])) != 0 || (rc = conn()) != 0)
		return rc;
	b = zkc_begin(&zc, ZOP_SETACL);
	jw_str(b, argv[0]);
	(void)putacls(b, argv[1]);
	jw_int(b, v);
	if ((rc = call(&rep)) != 0)
		return fail(rc, argv[0]);
	return 0;
}

static int
c_addauth(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int		 rc;

	if (argc != 3)
		return cmdusage();
	if ((rc = conn()) != 0)
		return rc;
	b = zkc_beginx(&zc, -4, ZOP_AUTH);
	jw_int(b, 0);
	jw_str(b, argv[1]);
	jw_buf(b, argv[2], (int32_t)strlen(argv[2]));
	if (zkc_call(&zc, &rep) == -1 || rep.err != 0) {
		/* the server closes the connection after a failed auth */
		dead = 1;
		warnx("%s: authentication failed", argv[1]);
		return X_NOAUTH;
	}
	return 0;
}

static int
c_sync(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int		 rc;

	if (argc != 2)
		return cmdusage();
	if ((rc = badpath(argv[1], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	b = zkc_begin(&zc, ZOP_SYNC);
	jw_str(b, argv[1]);
	if ((rc = call(&rep)) != 0)
		return fail(rc, argv[1]);
	return 0;
}

/*
 * Waiting: watch, wait-for, lock, elect.
 */

static void
onsig(int sig)
{
	woke = 1;
	if (sig == SIGCHLD)
		gotchld = 1;
	else
		gotsig = sig;
}

/* catch (or, with 0, restore) the signals the waiting commands use */
static void
catch(int on)
{
	static struct sigaction	 old[3];
	static const int	 sigs[3] = { SIGINT, SIGTERM, SIGCHLD };
	struct sigaction	 sa;
	int			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		if (sigaction(sigs[i], on ? &sa : &old[i], on ? &old[i] :
		    NULL) == -1)
			err(EX_OSERR, "sigaction");
	woke = gotsig = gotchld = 0;
	zc.intr = on ? &woke : NULL;
}

/* zkc_wait: 1 an event, 0 nothing (timeout or signal), LOST */
static int
waitev(int ms)
{
	int	 rc;

	woke = 0;
	if ((rc = zkc_wait(&zc, ms)) == -1) {
		dead = 1;
		if (errno == EPROTO)
			warnx("%s: bad reply from the server", zc.addr);
		else
			warn("%s: connection lost", zc.addr);
		return LOST;
	}
	return rc;
}

static const char *
evname(int type)
{
	switch (type) {
	case ZEV_CREATED:
		return "created";
	case ZEV_DELETED:
		return "deleted";
	case ZEV_CHANGED:
		return "changed";
	case ZEV_CHILD:
		return "child";
	default:
		return "none";
	}
}

/* one-shot watches on path: data (or existence) and children */
static int
arm(const char *path)
{
	struct strv	 sv;
	int		 rc;

	if ((rc = exists(path, 1, NULL)) == ZNONODE)
		return 0;	/* the exists watch waits for a create */
	if (rc != 0)
		return rc;
	rc = children(path, 1, &sv);
	strv_free(&sv);
	return rc == ZNONODE ? 0 : rc;
}

static int
c_watch(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	struct zkevent	*ev;
	const char	*errstr;
	long long	 count = -1;
	int		 ch, rc, iflag = 0, pflag = 0, rflag = 0;

	while ((ch = opt(argc, argv, "eijn:pR")) != -1) {
		switch (ch) {
		case 'e':
			escape = 1;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			count = strtonum(optarg, 1, LLONG_MAX, &errstr);
			if (errstr != NULL) {
				warnx("count is %s: %s", errstr, optarg);
				return EX_USAGE;
			}
			break;
		case 'p':
			pflag = 1;
			break;
		case 'R':
			rflag = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	if (pflag || rflag) {
		b = zkc_begin(&zc, ZOP_ADDWATCH);
		jw_str(b, argv[0]);
		jw_int(b, rflag ? 1 : 0);
		rc = call(&rep);
	} else
		rc = arm(argv[0]);
	if (rc != 0)
		return fail(rc, argv[0]);
	if (iflag) {		/* "ready": the watches are set */
		printf("ready ");
		putval(argv[0], strlen(argv[0]), 1);
		if (fflush(stdout) == EOF) {
			warn("stdout");
			return EX_IOERR;
		}
	}
	catch(1);
	while (count != 0 && !gotsig) {
		if ((rc = waitev(-1)) == LOST)
			break;
		while (count != 0 && (ev = zkc_event(&zc)) != NULL) {
			if (json) {
				printf("{\"type\":\"%s\",\"path\":",
				    evname(ev->type));
				jstr(ev->path, strlen(ev->path));
				printf("}\n");
			} else {
				printf("%s ", evname(ev->type));
				putval(ev->path, strlen(ev->path), 1);
			}
			zkc_event_free(ev);
			if (count > 0)
				count--;
		}
		if (fflush(stdout) == EOF) {
			catch(0);
			warn("stdout");
			return EX_IOERR;
		}
		if (!pflag && !rflag && count != 0 && !gotsig &&
		    (rc = arm(argv[0])) != 0)
			break;
	}
	catch(0);
	if (rc == LOST)
		return X_LOST;
	return rc < 0 ? fail(rc, argv[0]) : 0;	/* 1: waitev's event */
}

/* -w seconds: a monotonic deadline */
static int
deadline(const char *arg, int64_t *until)
{
	const char	*errstr;
	int64_t		 secs;

	secs = strtonum(arg, 0, 86400 * 365, &errstr);
	if (errstr != NULL) {
		warnx("seconds are %s: %s", errstr, arg);
		return EX_USAGE;
	}
	*until = zk_mono_ms() + 1000 * secs;
	return 0;
}

/* wait for events (dropped: the caller looks again) until the deadline
 * (-1: none) or a signal: 1 some came, 0 none, LOST */
static int
waitany(int64_t until)
{
	struct zkevent	*ev;
	int64_t		 left;
	int		 rc = 0;

	for (;;) {
		left = until < 0 ? -1 : until - zk_mono_ms();
		if (gotsig || (until >= 0 && left <= 0))
			break;
		if ((rc = waitev(left < 0 ? -1 : (int)left)) != 0)
			break;
	}
	while ((ev = zkc_event(&zc)) != NULL)
		zkc_event_free(ev);
	return rc;
}

static int
c_wait_for(int argc, char **argv)
{
	int64_t		 until = -1;
	int		 ch, rc, dflag = 0;

	while ((ch = opt(argc, argv, "dw:")) != -1) {
		switch (ch) {
		case 'd':
			dflag = 1;
			break;
		case 'w':
			if ((rc = deadline(optarg, &until)) != 0)
				return rc;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	catch(1);
	for (;;) {
		rc = exists(argv[0], 1, NULL);
		if ((!dflag && rc == 0) || (dflag && rc == ZNONODE)) {
			rc = 0;
			break;
		}
		if (rc != 0 && rc != ZNONODE)
			break;
		/* wait for any event on the path, then look again */
		if ((rc = waitany(until)) == LOST)
			break;
		if (rc == 0) {
			catch(0);
			warnx("%s: %s", argv[0], gotsig ? "interrupted" :
			    "timed out");
			return X_TIMEOUT;
		}
	}
	catch(0);
	if (rc == LOST)
		return X_LOST;
	return rc != 0 ? fail(rc, argv[0]) : 0;
}

/* the sequence number of a sequential node's name, -1 if none */
static long long
seqof(const char *name)
{
	size_t		 n = strlen(name);
	const char	*errstr;
	long long	 v;

	if (n < 10 || strspn(name + n - 10, "0123456789") != 10)
		return -1;
	v = strtonum(name + n - 10, 0, LLONG_MAX, &errstr);
	return errstr != NULL ? -1 : v;
}

static int
cmpseq(const void *a, const void *b)
{
	long long	 x = seqof(*(char *const *)a), y = seqof(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* stop the command's process group: TERM, then KILL after 10 s */
static int
stopcmd(pid_t pid)
{
	int	 status, i;

	if (kill(-pid, SIGTERM) == -1 && errno != ESRCH)
		warn("kill");
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	if (kill(-pid, SIGKILL) == -1 && errno != ESRCH)
		warn("kill");
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 0;
	return status;
}

/* run argv while holding me (the node we own), release it after */
static int
runheld(const char *me, char **argv)
{
	struct zkevent	*ev;
	pid_t		 pid;
	int		 status, rc;

	if ((pid = fork()) == -1) {
		warn("fork");
		return EX_OSERR;
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		warn("%s", argv[0]);
		_exit(errno == ENOENT ? 127 : 126);
	}
	(void)setpgid(pid, pid);
	/* a watch on our own node tells us if someone removes it */
	if ((rc = exists(me, 1, NULL)) != 0) {
		status = stopcmd(pid);
		if (rc != LOST)
			warnx("%s: lost (%s)", me, zkerrstr(rc) ?
			    zkerrstr(rc) : "error");
		return X_LOST;
	}
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (gotsig) {
			(void)kill(-pid, gotsig);
			gotsig = 0;
		}
		if ((rc = waitev(500)) == LOST) {
			warnx("%s: lost with the session; stopping %s", me,
			    argv[0]);
			(void)stopcmd(pid);
			return X_LOST;
		}
		while ((ev = zkc_event(&zc)) != NULL) {
			rc = ev->type == ZEV_DELETED;
			zkc_event_free(ev);
			if (rc) {
				warnx("%s: deleted by someone; stopping %s",
				    me, argv[0]);
				(void)stopcmd(pid);
				return X_LOST;
			}
			if ((rc = exists(me, 1, NULL)) != 0) {
				(void)stopcmd(pid);
				return X_LOST;
			}
		}
	}
	if ((rc = delete(me, -1)) != 0 && rc != ZNONODE && rc != LOST)
		warnx("%s: not released: %s", me, zkerrstr(rc) ?
		    zkerrstr(rc) : "error");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * The lock recipe: an ephemeral sequential node under dir; the lowest
 * sequence holds the lock, every other waits for the deletion of the
 * one just before it (no herd).  Election is the same recipe: the
 * holder is the master until its session ends.
 */
static int
holdrun(const char *dir, const char *prefix, int nowait, int64_t until,
    char **argv)
{
	struct strv	 sv;
	char		*me = NULL, *base, *prev, *p, id[300], host[256];
	size_t		 i;
	int		 rc;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());
	p = childpath(dir, prefix);
	if ((rc = parents(p)) != 0) {
		free(p);
		return rc;
	}
	rc = create(p, id, strlen(id), 3, 0, NULL, &me);
	free(p);
	if (rc != 0)
		return fail(rc, dir);
	base = strrchr(me, '/') + 1;
	catch(1);
	for (;;) {
		if ((rc = children(dir, 0, &sv)) != 0)
			break;
		qsort(sv.v, sv.n, sizeof(*sv.v), cmpseq);
		for (prev = NULL, i = 0; i < sv.n; i++) {
			if (strcmp(sv.v[i], base) == 0)
				break;
			if (seqof(sv.v[i]) >= 0)
				prev = sv.v[i];
		}
		if (i == sv.n) {
			strv_free(&sv);
			warnx("%s: our node is gone", me);
			rc = ZNONODE;
			break;
		}
		if (prev == NULL) {
			strv_free(&sv);
			rc = runheld(me, argv);
			catch(0);
			free(me);
			return rc;
		}
		p = childpath(dir, prev);
		strv_free(&sv);
		rc = exists(p, 1, NULL);
		free(p);
		if (rc == ZNONODE)
			continue;
		if (rc != 0)
			break;
		if (nowait) {
			rc = X_TIMEOUT;
			warnx("%s: held by another", dir);
			break;
		}
		if ((rc = waitany(until)) == LOST)
			break;
		if (rc == 0) {
			warnx("%s: %s", dir, gotsig ? "interrupted" :
			    "timed out");
			rc = X_TIMEOUT;
			break;
		}
	}
	catch(0);
	if (rc != LOST && delete(me, -1) == LOST)
		rc = LOST;
	free(me);
	if (rc == LOST)
		return X_LOST;
	if (rc == X_TIMEOUT)
		return rc;
	return fail(rc, dir);
}

/* split "path -- cmd ..." after options */
static int
lockargs(int argc, char **argv, char ***cmd)
{
	if (argc < 2 || argv[1] == NULL)
		return -1;
	if (strcmp(argv[1], "--") == 0) {
		if (argc < 3)
			return -1;
		*cmd = argv + 2;
	} else
		*cmd = argv + 1;
	return 0;
}

static int
c_lock(int argc, char **argv)
{
	char		**cmd;
	int64_t		 until = -1;
	int		 ch, rc, nflag = 0;

	while ((ch = opt(argc, argv, "nw:")) != -1) {
		switch (ch) {
		case 'n':
			nflag = 1;
			break;
		case 'w':
			if ((rc = deadline(optarg, &until)) != 0)
				return rc;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (lockargs(argc, argv, &cmd) == -1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	return holdrun(argv[0], "lock-", nflag, until, cmd);
}

static int
c_elect(int argc, char **argv)
{
	char	**cmd;
	int	 ch, rc;

	while ((ch = opt(argc, argv, "")) != -1)
		return cmdusage();
	argc -= optind;
	argv += optind;
	if (lockargs(argc, argv, &cmd) == -1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	return holdrun(argv[0], "n_", 0, -1, cmd);
}

static int
c_help(int argc, char **argv)
{
	const struct cmd	*c;

	(void)argv;
	if (argc != 1)
		return cmdusage();
	for (c = cmds; c->name != NULL; c++)
		printf("%s %s\n", c->name, c->usage);
	if (interactive)
		printf("quit\n");
	return 0;
}

/*
 * Wait for the next command line while keeping the session alive, so
 * that ephemeral nodes made at the prompt outlive a pause.
 */
static void
idle(void)
{
	struct pollfd	 pfd;
	int		 ms;

	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	while (connected && !dead) {
		ms = zc.timeout > 0 ? zc.timeout / 3 : 1000;
		if (poll(&pfd, 1, ms) != 0)
			return;		/* input, or an error read reports */
		if (zkc_keepalive(&zc) == -1) {
			warnx("session lost");
			dead = 1;
		}
	}
}

/*
 * Interactive mode: one command per line, quoted as in sh; history in
 * ~/.zk_cli_history when reading a terminal.
 */
static int
shell(void)
{
	Tokenizer	*tok;
	const char	**targv, *home;
	char		*line = NULL, hist[PATH_MAX], prompt[400];
	size_t		 cap = 0;
	ssize_t		 n;
	int		 tty, targc, rc = 0, i;
	char		**av;

	tty = isatty(STDIN_FILENO);
	hist[0] = '\0';
	if (tty && (home = getenv("HOME")) != NULL &&
	    (size_t)snprintf(hist, sizeof(hist), "%s/.zk_cli_history",
	    home) < sizeof(hist)) {
		stifle_history(1000);
		(void)read_history(hist);
	}
	if ((tok = tok_init(NULL)) == NULL)
		err(EX_OSERR, "tok_init");
	snprintf(prompt, sizeof(prompt), "zk %s> ", hosts);
	if (!tty)	/* idle() polls the fd: no lines hidden in a buffer */
		setvbuf(stdin, NULL, _IONBF, 0);
	for (;;) {
		idle();
		if (tty) {
			free(line);
			if ((line = readline(prompt)) == NULL)
				break;
		} else {
			if ((n = getline(&line, &cap, stdin)) == -1)
				break;
			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = '\0';
		}
		tok_reset(tok);
		if (tok_str(tok, line, &targc, &targv) != 0) {
			warnx("unmatched quote");
			rc = EX_USAGE;
			continue;
		}
		if (targc == 0 || targv[0][0] == '#')
			continue;
		if (tty)
			add_history(line);
		if (strcmp(targv[0], "quit") == 0 ||
		    strcmp(targv[0], "exit") == 0)
			break;
		/* getopt wants char **; copies keep the tokenizer's own */
		if ((av = calloc((size_t)targc + 1, sizeof(*av))) == NULL)
			err(EX_OSERR, NULL);
		for (i = 0; i < targc; i++)
			if ((av[i] = strdup(targv[i])) == NULL)
				err(EX_OSERR, NULL);
		rc = run(targc, av);
		for (i = 0; i < targc; i++)
			free(av[i]);
		free(av);
		if (fflush(stdout) == EOF)
			err(EX_IOERR, "stdout");
		if (dead) {
			warnx("session lost; leaving");
			break;
		}
	}
	if (tty && hist[0] != '\0' && write_history(hist) != 0)
		warnx("%s: history not saved", hist);
	free(line);
	tok_end(tok);
	return rc;
}
