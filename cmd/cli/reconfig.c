/*
 * zk-cli's config and reconfig, as zkCli spells them: the ensemble's
 * members (/zookeeper/config) and their change by the super user.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "cli.h"

/* the reply's data, then its stat with -s */
static int
show(struct zkreply *rep, int withstat, const char *what)
{
	struct zkstat	 st;
	const char	*data;
	int32_t		 len;

	len = jr_buf(&rep->r, &data);
	jr_stat(&rep->r, &st);
	if (rep->r.bad) {
		dead = 1;
		warnx("%s: bad reply from the server", what);
		return X_LOST;
	}
	if (len > 0)
		fwrite(data, 1, (size_t)len, stdout);
	putchar('\n');
	if (withstat)
		putstat(&st);
	return 0;
}

/* config [-s]: /zookeeper/config's text (getConfig) */
int
c_config(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	int		 ch, rc, withstat = 0;

	while ((ch = opt(argc, argv, "s")) != -1) {
		if (ch != 's')
			return cmdusage();
		withstat = 1;
	}
	if (optind != argc)
		return cmdusage();
	if ((rc = conn()) != 0)
		return rc;
	b = zkc_begin(&zc, ZOP_GETDATA);
	jw_str(b, "/zookeeper/config");
	jw_bool(b, 0);
	if ((rc = call(&rep)) != 0)
		return fail(rc, "/zookeeper/config");
	return show(&rep, withstat, "config");
}

/* a file's server lines, joined by commas */
static char *
readmembers(const char *path)
{
	FILE	*fp;
	char	*line = NULL, *out = NULL, *t;
	size_t	 cap = 0, len = 0, n;
	ssize_t	 r;

	if ((fp = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return NULL;
	}
	while ((r = getline(&line, &cap, fp)) != -1) {
		while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r'))
			line[--r] = '\0';
		if (strncmp(line, "server.", 7) != 0)
			continue;
		n = (size_t)r;
		if ((t = realloc(out, len + n + 2)) == NULL)
			err(EX_OSERR, NULL);
		out = t;
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, line, n);
		len += n;
		out[len] = '\0';
	}
	free(line);
	fclose(fp);
	if (out == NULL)
		warnx("%s: no server.N line", path);
	return out;
}

/*
 * reconfig [-s] [-v version] [-file path | -members spec,...]
 *     [-add spec,...] [-remove id,...]
 */
int
c_reconfig(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	const char	*add = NULL, *rm = NULL, *members = NULL;
	char		*fromfile = NULL;
	long long	 version = -1;
	int		 i, rc, withstat = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0) {
			withstat = 1;
			continue;
		}
		if (i + 1 == argc)
			return cmdusage();
		if (strcmp(argv[i], "-add") == 0)
			add = argv[++i];
		else if (strcmp(argv[i], "-remove") == 0)
			rm = argv[++i];
		else if (strcmp(argv[i], "-members") == 0)
			members = argv[++i];
		else if (strcmp(argv[i], "-file") == 0) {
			free(fromfile);
			if ((fromfile = readmembers(argv[++i])) == NULL)
				return EX_NOINPUT;
			members = fromfile;
		} else if (strcmp(argv[i], "-v") == 0) {
			/* in hex, as zkCli takes it and config prints it */
			char	*end;

			errno = 0;
			version = strtoll(argv[++i], &end, 16);
			if (errno != 0 || end == argv[i] || *end != '\0' ||
			    version < 0) {
				warnx("-v %s: not a version (hex)", argv[i]);
				return EX_USAGE;
			}
		} else
			return cmdusage();
	}
	if ((members == NULL) == (add == NULL && rm == NULL)) {
		free(fromfile);
		return cmdusage();	/* one way or the other */
	}
	if ((rc = conn()) != 0) {
		free(fromfile);
		return rc;
	}
	b = zkc_begin(&zc, ZOP_RECONFIG);
	jw_str(b, add);
	jw_str(b, rm);
	jw_str(b, members);
	jw_long(b, version);
	free(fromfile);
	if ((rc = call(&rep)) != 0)
		return fail(rc, "reconfig");
	return show(&rep, withstat, "reconfig");
}
