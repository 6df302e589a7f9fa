/* cfg.c: zoo.cfg as Apache ZooKeeper reads it */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

void
zkcfg_defaults(struct zkcfg *c)
{
	memset(c, 0, sizeof(*c));
	c->tickTime = ZK_TICKTIME;
	c->initLimit = 10;
	c->syncLimit = 5;
	c->minSessionTimeout = -1;
	c->maxSessionTimeout = -1;
	c->clientPort = 2181;
	c->maxClientCnxns = 60;
	c->snapCount = 100000;
	c->snapRetainCount = 3;
	c->containerCheckMs = 60000;
	c->maxbuffer = ZK_MAXBUFFER;
	c->clientOutputLimit = 4LL << 20;
	c->clientOutputMax = 64LL << 20;
}

char *
zkcfg_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
zkcfg_num(const char *v, long long lo, long long hi, long long *out)
{
	const char	*errstr;

	*out = strtonum(v, lo, hi, &errstr);
	return errstr == NULL ? 0 : -1;
}

static int
boolval(const char *v)
{
	return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcasecmp(v, "yes") == 0;
}

/* server.N=host:quorum:election[:participant|observer][;[addr:]port] */
static int
server(struct zkcfg *c, const char *key, char *v, const char **why)
{
	long long	 n;

	if (zkcfg_num(key + 7, 0, 255, &n) == -1) {
		*why = "server id must be 0..255";
		return -1;
	}
	if (c->nservers == ZK_MAXSERVERS) {
		*why = "too many servers";
		return -1;
	}
	if (zkcfg_server(&c->servers[c->nservers], (int)n, v, why) == -1)
		return -1;
	c->nservers++;
	return 0;
}

static int
setkey(struct zkcfg *c, const char *k, char *v, const char **why)
{
	long long	 n;

	*why = "bad number";
	if (strcmp(k, "tickTime") == 0) {
		if (zkcfg_num(v, 1, 1000000, &n) == -1)
			return -1;
		c->tickTime = (int)n;
	} else if (strcmp(k, "initLimit") == 0) {
		if (zkcfg_num(v, 1, 100000, &n) == -1)
			return -1;
		c->initLimit = (int)n;
	} else if (strcmp(k, "syncLimit") == 0) {
		if (zkcfg_num(v, 1, 100000, &n) == -1)
			return -1;
		c->syncLimit = (int)n;
	} else if (strcmp(k, "minSessionTimeout") == 0) {
		if (zkcfg_num(v, -1, INT_MAX, &n) == -1)
			return -1;
		c->minSessionTimeout = (int)n;
	} else if (strcmp(k, "maxSessionTimeout") == 0) {
		if (zkcfg_num(v, -1, INT_MAX, &n) == -1)
			return -1;
		c->maxSessionTimeout = (int)n;
	} else if (strcmp(k, "dataDir") == 0) {
		*why = "path too long";
		if (strlcpy(c->dataDir, v, sizeof(c->dataDir)) >=
		    sizeof(c->dataDir))
			return -1;
	} else if (strcmp(k, "dataLogDir") == 0) {
		*why = "path too long";
		if (strlcpy(c->dataLogDir, v, sizeof(c->dataLogDir)) >=
		    sizeof(c->dataLogDir))
			return -1;
	} else if (strcmp(k, "clientPort") == 0) {
		if (zkcfg_num(v, 0, 65535, &n) == -1)
			return -1;
		c->clientPort = (int)n;
		c->clientPortSet = 1;
	} else if (strcmp(k, "clientPortAddress") == 0) {
		*why = "address too long";
		if (strlcpy(c->clientPortAddress, v,
		    sizeof(c->clientPortAddress)) >=
		    sizeof(c->clientPortAddress))
			return -1;
	} else if (strcmp(k, "maxClientCnxns") == 0) {
		if (zkcfg_num(v, 0, INT_MAX, &n) == -1)
			return -1;
		c->maxClientCnxns = (int)n;
	} else if (strcmp(k, "snapCount") == 0) {
		if (zkcfg_num(v, 2, LONG_MAX, &n) == -1)
			return -1;
		c->snapCount = (long)n;
	} else if (strcmp(k, "autopurge.snapRetainCount") == 0) {
		if (zkcfg_num(v, 3, INT_MAX, &n) == -1) {
			*why = "must be at least 3";
			return -1;
		}
		c->snapRetainCount = (int)n;
	} else if (strcmp(k, "autopurge.purgeInterval") == 0) {
		if (zkcfg_num(v, 0, INT_MAX, &n) == -1)
			return -1;
		c->purgeInterval = (int)n;
	} else if (strcmp(k, "4lw.commands.whitelist") == 0) {
		*why = "list too long";
		if (strlcpy(c->whitelist, v, sizeof(c->whitelist)) >=
		    sizeof(c->whitelist))
			return -1;
	} else if (strcmp(k, "extendedTypesEnabled") == 0 ||
	    strcmp(k, "zookeeper.extendedTypesEnabled") == 0) {
		c->extendedTypesEnabled = boolval(v);
	} else if (strcmp(k, "reconfigEnabled") == 0) {
		c->reconfigEnabled = boolval(v);
	} else if (strcmp(k, "skipACL") == 0 ||
	    strcmp(k, "zookeeper.skipACL") == 0) {
		c->skipACL = strcmp(v, "yes") == 0;	/* Apache's: "yes" only */
	} else if (strcmp(k, "linearizableReads") == 0) {
		c->linearizableReads = boolval(v);
	} else if (strcmp(k, "syncEnabled") == 0 ||
	    strcmp(k, "observer.syncEnabled") == 0 ||
	    strcmp(k, "zookeeper.observer.syncEnabled") == 0) {
		c->syncEnabled = boolval(v);
	} else if (strcmp(k, "readonlymode.enabled") == 0 ||
	    strcmp(k, "zookeeper.readonlymode.enabled") == 0) {
		c->readonly = boolval(v);
	} else if (strcmp(k, "DigestAuthenticationProvider.superDigest") == 0 ||
	    strcmp(k, "zookeeper.DigestAuthenticationProvider.superDigest") == 0) {
		*why = "digest too long";
		if (strlcpy(c->superDigest, v, sizeof(c->superDigest)) >=
		    sizeof(c->superDigest))
			return -1;
	} else if (strcmp(k, "java.security.auth.login.config") == 0) {
		*why = "path too long";
		if (strlcpy(c->jaasFile, v, sizeof(c->jaasFile)) >=
		    sizeof(c->jaasFile))
			return -1;
	} else if (strcmp(k, "zookeeper.superUser") == 0) {
		*why = "name too long";
		if (strlcpy(c->superUser, v, sizeof(c->superUser)) >=
		    sizeof(c->superUser))
			return -1;
	} else if (strcmp(k, "znode.container.checkIntervalMs") == 0 ||
	    strcmp(k, "zookeeper.znode.container.checkIntervalMs") == 0) {
		if (zkcfg_num(v, 1, LONG_MAX, &n) == -1)
			return -1;
		c->containerCheckMs = (long)n;
	} else if (strcmp(k, "metricsProvider.httpPort") == 0) {
		if (zkcfg_num(v, 0, 65535, &n) == -1)
			return -1;
		c->metricsPort = (int)n;
	} else if (strcmp(k, "metricsProvider.httpHost") == 0) {
		*why = "address too long";
		if (strlcpy(c->metricsHost, v, sizeof(c->metricsHost)) >=
		    sizeof(c->metricsHost))
			return -1;
	} else if (strcmp(k, "metricsProvider.className") == 0) {
		/* the one provider zk has, on httpHost:httpPort */
		if (strcmp(v, "org.apache.zookeeper.metrics.prometheus."
		    "PrometheusMetricsProvider") != 0)
			return 1;
	} else if (strcmp(k, "clientOutputLimit") == 0) {
		*why = "must be 65536 to 2^40 bytes";
		if (zkcfg_num(v, 65536, 1LL << 40, &n) == -1)
			return -1;
		c->clientOutputLimit = n;
	} else if (strcmp(k, "clientOutputMax") == 0) {
		*why = "must be 65536 to 2^40 bytes";
		if (zkcfg_num(v, 65536, 1LL << 40, &n) == -1)
			return -1;
		c->clientOutputMax = n;
	} else if (strcmp(k, "jute.maxbuffer") == 0) {
		if (zkcfg_num(v, 1024, INT_MAX, &n) == -1)
			return -1;
		c->maxbuffer = (long)n;
	} else if (strcmp(k, "peerType") == 0) {
		*why = "peerType must be participant or observer";
		if (strcmp(v, "observer") == 0)
			c->peerTypeObserver = 1;
		else if (strcmp(v, "participant") != 0)
			return -1;
	} else if (strncmp(k, "server.", 7) == 0) {
		return server(c, k, v, why);
	} else
		return 1;	/* not ours */
	return 0;
}

static void
readmyid(struct zkcfg *c)
{
	char		 path[1100], line[32];
	FILE		*fp;
	long long	 n;

	snprintf(path, sizeof(path), "%s/myid", c->dataDir);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    zkcfg_num(zkcfg_trim(line), 0, 255, &n) == 0)
		c->myid = (int)n;
	else if (getenv("ZK_CFG_QUIET") == NULL)
		warnx("%s: not a server id", path);
	fclose(fp);
}

/*
 * An ensemble's members once a reconfig changed them: dataDir/
 * zoo.cfg.dynamic (zk-log writes it as each reconfig is committed) takes
 * the place of zoo.cfg's server lines.
 */
static int
dynamic(struct zkcfg *c, char *errbuf, size_t errlen)
{
	char		 path[1100], *text = NULL;
	struct zkserver	 sv[ZK_MAXSERVERS];
	const char	*why;
	size_t		 cap = 0, len = 0;
	ssize_t		 r;
	int		 fd, n, i;
	int64_t		 v;

	snprintf(path, sizeof(path), "%s/%s", c->dataDir, ZK_DYNAMIC);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char	*t;

			cap = cap ? cap * 2 : 8192;
			if (cap > (1 << 20) || (t = realloc(text, cap)) == NULL) {
				snprintf(errbuf, errlen, "%s: %s", path,
				    cap > (1 << 20) ? "too big" :
				    strerror(errno));
				goto bad;
			}
			text = t;
		}
		if ((r = read(fd, text + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(errbuf, errlen, "%s: %s", path,
			    strerror(errno));
			goto bad;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	text[len] = '\0';
	if (zkcfg_parsetext(text, sv, &n, &v, &why) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, why);
		goto bad;
	}
	if (n < 1) {
		snprintf(errbuf, errlen, "%s: no server", path);
		goto bad;
	}
	for (i = 0; i < n; i++)
		sv[i].line = 0;
	memcpy(c->servers, sv, (size_t)n * sizeof(sv[0]));
	c->nservers = n;
	c->configVersion = v;
	free(text);
	close(fd);
	return 0;
bad:
	free(text);
	close(fd);
	return -1;
}

/*
 * Read a zoo.cfg.  Keys zk does not use are accepted with a warning
 * (none with ZK_CFG_QUIET set: zk-node has had the file checked once,
 * warnings said, before it starts the programs).  On a bad line returns
 * -1 with "file:line: message" in errbuf.
 */
int
zkcfg_load(struct zkcfg *c, const char *file, char *errbuf, size_t errlen)
{
	FILE		*fp;
	char		*line = NULL, *k, *v, *eq;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 lineno = 0, rc = 0, r;
	const char	*why;

	zkcfg_defaults(c);
	strlcpy(c->file, file, sizeof(c->file));
	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(errbuf, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		k = zkcfg_trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(errbuf, errlen, "%s:%d: expected key=value",
			    file, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		k = zkcfg_trim(k);
		v = zkcfg_trim(eq + 1);
		if ((r = setkey(c, k, v, &why)) == -1) {
			snprintf(errbuf, errlen, "%s:%d: %s: %s", file, lineno,
			    k, why);
			rc = -1;
			break;
		}
		if (r == 1 && getenv("ZK_CFG_QUIET") == NULL)
			warnx("%s:%d: %s is not used by zk, ignored", file,
			    lineno, k);
		else if (strncmp(k, "server.", 7) == 0)
			c->servers[c->nservers - 1].line = lineno;
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(errbuf, errlen, "%s: %s", file, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	if (rc == -1)
		return -1;
	if (c->dataDir[0] == '\0') {
		snprintf(errbuf, errlen, "%s: dataDir is not set", file);
		return -1;
	}
	if (c->dataLogDir[0] == '\0')
		strlcpy(c->dataLogDir, c->dataDir, sizeof(c->dataLogDir));
	if (c->minSessionTimeout == -1)
		c->minSessionTimeout = 2 * c->tickTime;
	if (c->maxSessionTimeout == -1)
		c->maxSessionTimeout = 20 * c->tickTime;
	if (c->minSessionTimeout > c->maxSessionTimeout) {
		snprintf(errbuf, errlen, "%s: minSessionTimeout %d is above "
		    "maxSessionTimeout %d", file, c->minSessionTimeout,
		    c->maxSessionTimeout);
		return -1;
	}
	readmyid(c);
	if (c->nservers >= 2)
		return dynamic(c, errbuf, errlen);
	return 0;
}

/*
 * A node runs standalone: no server.N line, or one, which Apache's
 * standalone mode ignores (serverId 0; myid is not read).  Two or more
 * make an ensemble (zkcfg_node): -1 with "file:line: server.N: ..." in
 * errbuf, so that servers meant as one ensemble never run as separate
 * trees.
 */
int
zkcfg_standalone(struct zkcfg *c, char *errbuf, size_t errlen)
{
	if (c->nservers > 1) {
		snprintf(errbuf, errlen, "%s:%d: server.%d: %d servers make an "
		    "ensemble, not a standalone node: keep at most one "
		    "server.N line to run standalone", c->file,
		    c->servers[1].line, c->servers[1].id, c->nservers);
		return -1;
	}
	c->nservers = 0;
	c->myid = 0;
	c->role = ZKR_STANDALONE;
	return 0;
}

/*
 * The node's part from the server lines: standalone with at most one
 * (zkcfg_standalone), else a member of the ensemble that dataDir/myid
 * names, looking for a leader until the election says otherwise.
 */
int
zkcfg_node(struct zkcfg *c, char *errbuf, size_t errlen)
{
	int	 i;

	if (c->nservers <= 1)
		return zkcfg_standalone(c, errbuf, errlen);
	if (c->myid == 0) {
		snprintf(errbuf, errlen, "%s: %d server.N lines make an "
		    "ensemble, but %s/myid does not say which server this is",
		    c->file, c->nservers, c->dataDir);
		return -1;
	}
	for (i = 0; i < c->nservers; i++)
		if (c->servers[i].id == c->myid) {
			c->role = ZKR_LOOKING;
			return 0;
		}
	snprintf(errbuf, errlen, "%s: %s/myid says %d, and there is no "
	    "server.%d line", c->file, c->dataDir, c->myid, c->myid);
	return -1;
}

/* 1 where the ensemble's own work is done: standalone, or the leader. */
int
zkcfg_leads(const struct zkcfg *c)
{
	return c->role == ZKR_STANDALONE || c->role == ZKR_LEADING;
}

/* srvr is always allowed; "*" allows every word. */
int
zkcfg_4lw_allowed(const struct zkcfg *c, const char *word)
{
	const char	*p = c->whitelist;
	size_t		 n = strlen(word);

	if (strcmp(word, "srvr") == 0)
		return 1;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}
