/*
 * zk-cli's command table and the commands that send one request or
 * walk a subtree: ls, get, stat, set, create, rm, getacl, setacl,
 * addauth, sync, help.  The waiting ones are in watch.c and lock.c,
 * config and reconfig in reconfig.c, handoff in handoff.c.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "cli.h"

int		 escape, json;		/* this command's -e, -j */
static const char *cmdname;

static int	c_addauth(int, char **);
static int	c_create(int, char **);
static int	c_get(int, char **);
static int	c_getacl(int, char **);
static int	c_help(int, char **);
static int	c_ls(int, char **);
static int	c_rm(int, char **);
static int	c_set(int, char **);
static int	c_setacl(int, char **);
static int	c_stat(int, char **);
static int	c_sync(int, char **);

static const struct cmd cmds[] = {
	{ "addauth", c_addauth, "scheme auth" },
	{ "config", c_config, "[-s]" },
	{ "create", c_create,
	    "[-ceps] [-a acl] [-t ttl] path [data | -]" },
	{ "elect", c_elect, "path -- command [arg ...]" },
	{ "get", c_get, "[-ej] path" },
	{ "getacl", c_getacl, "[-j] path" },
	{ "handoff", c_handoff, "" },
	{ "help", c_help, "" },
	{ "lock", c_lock, "[-n] [-w seconds] path -- command [arg ...]" },
	{ "ls", c_ls, "[-ejR] path" },
	{ "reconfig", c_reconfig, "[-s] [-v version] [-file path | -members "
	    "spec,...] [-add spec,...] [-remove id,...]" },
	{ "rm", c_rm, "[-R] [-v version] path" },
	{ "set", c_set, "[-e] [-v version] path data | -" },
	{ "setacl", c_setacl, "[-v aversion] path acl[,acl ...]" },
	{ "stat", c_stat, "[-j] path" },
	{ "sync", c_sync, "path" },
	{ "wait-for", c_wait_for, "[-d] [-w seconds] path" },
	{ "watch", c_watch, "[-eijpR] [-n count] path" },
	{ NULL, NULL, NULL }
};

int
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

int
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
int
opt(int argc, char **argv, const char *opts)
{
	char	 o[32];

	snprintf(o, sizeof(o), "+%s", opts);
	return getopt_long(argc, argv, o, longopts, NULL);
}

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
	} else if (data != NULL)	/* a newline on a terminal: prompt */
		putval(data, (size_t)len, interactive || isatty(STDOUT_FILENO));
	else if (escape || interactive || isatty(STDOUT_FILENO))
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
	if ((rc = badpath(argv[0], 0)) != 0)
		return rc;
	if (!rflag && strcmp(argv[0], "/") == 0) {
		warnx("/: the root node cannot be removed");
		return EX_USAGE;
	}
	if ((rc = conn()) != 0)
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
