/*
 * member.c: the ensemble's membership as Apache ZooKeeper 3.5+ writes it.
 *
 * A server spec is `host:quorumport:electionport[:participant|observer]
 * [;[clienthost:]clientport]`.  The config text, what /zookeeper/config
 * holds and what getConfig and reconfig answer, is one
 * `server.N=SPEC` line per server (ascending id, the type always
 * spelled, the client address only when the spec had one) and a last
 * line `version=HEX` (the zxid of the reconfig that made it, 0 for the
 * servers of zoo.cfg).  A reconfig request changes it: incrementally
 * (joining specs and leaving ids, comma-separated) or as a whole list of
 * new members.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"

/* a host name or IPv4 address: letters, digits, '.', '-', '_' */
static int
hostok(const char *h)
{
	if (*h == '\0')
		return 0;
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' &&
		    *h != '_')
			return 0;
	return 1;
}

/* spec into s (spec is cut up); -1 with why */
int
zkcfg_server(struct zkserver *s, int id, char *spec, const char **why)
{
	long long	 n;
	char		*client, *f[5], *p;
	int		 nf = 0;

	memset(s, 0, sizeof(*s));
	s->id = id;
	if ((client = strchr(spec, ';')) != NULL)
		*client++ = '\0';
	for (p = spec; nf < 5 && (f[nf] = strsep(&p, ":")) != NULL; nf++)
		;
	if (nf < 3 || nf > 4 || p != NULL) {
		*why = "expected host:quorumport:electionport[:role]";
		return -1;
	}
	if (!hostok(f[0]) ||
	    strlcpy(s->host, f[0], sizeof(s->host)) >= sizeof(s->host) ||
	    zkcfg_num(f[1], 1, 65535, &n) == -1) {
		*why = "bad host or quorum port";
		return -1;
	}
	s->quorumport = (int)n;
	if (zkcfg_num(f[2], 1, 65535, &n) == -1) {
		*why = "bad election port";
		return -1;
	}
	s->electionport = (int)n;
	if (nf == 4) {
		if (strcmp(f[3], "observer") == 0)
			s->observer = 1;
		else if (strcmp(f[3], "participant") != 0) {
			*why = "role must be participant or observer";
			return -1;
		}
	}
	if (client != NULL) {
		if ((p = strrchr(client, ':')) != NULL) {
			*p++ = '\0';
			if (!hostok(client) || strlcpy(s->clienthost, client,
			    sizeof(s->clienthost)) >= sizeof(s->clienthost)) {
				*why = "bad client address";
				return -1;
			}
		} else
			p = client;
		if (zkcfg_num(p, 1, 65535, &n) == -1) {
			*why = "bad client port";
			return -1;
		}
		s->clientport = (int)n;
	}
	return 0;
}

static int
byid(const void *a, const void *b)
{
	const struct zkserver	*x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The config text of n servers (sorted by id here) at version. */
void
zkcfg_conftext(struct zkbuf *b, struct zkserver *sv, int n, int64_t version)
{
	int	 i;

	qsort(sv, (size_t)n, sizeof(*sv), byid);
	for (i = 0; i < n; i++) {
		zkbuf_printf(b, "server.%d=%s:%d:%d:%s", sv[i].id, sv[i].host,
		    sv[i].quorumport, sv[i].electionport,
		    sv[i].observer ? "observer" : "participant");
		if (sv[i].clientport != 0)
			zkbuf_printf(b, ";%s:%d", sv[i].clienthost[0] != '\0' ?
			    sv[i].clienthost : "0.0.0.0", sv[i].clientport);
		zkbuf_addc(b, '\n');
	}
	zkbuf_printf(b, "version=%" PRIx64, version);
}

static int
find(const struct zkserver *sv, int n, int id)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (sv[i].id == id)
			return i;
	return -1;
}

/* `server.N=SPEC` into s; -1 with why */
static int
serverline(char *line, struct zkserver *s, int needclient, const char **why)
{
	char		*eq, *dot;
	long long	 id;

	if ((eq = strchr(line, '=')) == NULL ||
	    strchr(eq + 1, '=') != NULL) {
		*why = "wrong format of server string";
		return -1;
	}
	*eq = '\0';
	line = zkcfg_trim(line);
	if ((dot = strrchr(line, '.')) == NULL ||
	    strncmp(line, "server", (size_t)(dot - line)) != 0 ||
	    dot - line != 6 || zkcfg_num(dot + 1, 0, INT32_MAX, &id) == -1) {
		*why = "expected server.N with N a server id";
		return -1;
	}
	if (zkcfg_server(s, (int)id, zkcfg_trim(eq + 1), why) == -1)
		return -1;
	if (needclient && s->clientport == 0) {
		*why = "each server must have its client port";
		return -1;
	}
	return 0;
}

/* another server's quorum or election address is s's own */
static int
clash(const struct zkserver *sv, int n, const struct zkserver *s)
{
	int	 i, j, k;
	int	 a[2], b[2];

	for (i = 0; i < n; i++) {
		if (sv[i].id == s->id || strcmp(sv[i].host, s->host) != 0)
			continue;
		a[0] = sv[i].quorumport;
		a[1] = sv[i].electionport;
		b[0] = s->quorumport;
		b[1] = s->electionport;
		for (j = 0; j < 2; j++)
			for (k = 0; k < 2; k++)
				if (a[j] == b[k])
					return 1;
	}
	return 0;
}

/*
 * The members after a reconfig of cur (ncur servers): joining and leaving
 * (comma-separated specs and ids, NULL for none), or members (the whole
 * new list, commas or newlines between the lines) when not NULL.  0 with
 * out and *nout, or ZBADARGUMENTS with why.  Voters are not checked here.
 */
int
zkcfg_reconfig(const struct zkserver *cur, int ncur, const char *joining,
    const char *leaving, const char *members, struct zkserver *out,
    int *nout, const char **why)
{
	struct zkserver	 s;
	char		*copy, *p, *tok;
	long long	 id;
	int		 n = 0, i, rc = ZBADARGUMENTS;

	*why = "bad arguments";
	if (members != NULL) {
		if ((copy = strdup(members)) == NULL) {
			*why = strerror(errno);
			return ZSYSTEMERROR;
		}
		for (p = copy; (tok = strsep(&p, ",\n")) != NULL;) {
			tok = zkcfg_trim(tok);
			if (*tok == '\0' || *tok == '#' ||
			    strncmp(tok, "version=", 8) == 0)
				continue;
			if (serverline(tok, &s, 0, why) == -1)
				goto out;
			if (find(out, n, s.id) != -1) {
				*why = "a server id twice";
				goto out;
			}
			if (n == ZK_MAXSERVERS) {
				*why = "too many servers";
				goto out;
			}
			out[n++] = s;
		}
		for (i = 0; i < n; i++)
			if (clash(out, n, &out[i])) {
				*why = "two servers on one address";
				goto out;
			}
		free(copy);
		*nout = n;
		return 0;
	}
	memcpy(out, cur, (size_t)ncur * sizeof(*cur));
	n = ncur;
	if (leaving != NULL) {
		if ((copy = strdup(leaving)) == NULL) {
			*why = strerror(errno);
			return ZSYSTEMERROR;
		}
		for (p = copy; (tok = strsep(&p, ",")) != NULL;) {
			tok = zkcfg_trim(tok);
			if (*tok == '\0')
				continue;
			if (zkcfg_num(tok, 0, INT32_MAX, &id) == -1) {
				*why = "a leaving server id is not a number";
				goto out;
			}
			if ((i = find(out, n, (int)id)) != -1)
				out[i] = out[--n];
		}
		free(copy);
	}
	if (joining != NULL) {
		if ((copy = strdup(joining)) == NULL) {
			*why = strerror(errno);
			return ZSYSTEMERROR;
		}
		for (p = copy; (tok = strsep(&p, ",")) != NULL;) {
			tok = zkcfg_trim(tok);
			if (*tok == '\0')
				continue;
			if (serverline(tok, &s, 1, why) == -1)
				goto out;
			if (clash(out, n, &s)) {
				*why = "its address is another server's";
				goto out;
			}
			if ((i = find(out, n, s.id)) == -1) {
				if (n == ZK_MAXSERVERS) {
					*why = "too many servers";
					goto out;
				}
				i = n++;
			}
			out[i] = s;
		}
		free(copy);
	}
	*nout = n;
	return 0;
out:
	free(copy);
	return rc;
}

/*
 * The members in a config text (dataDir/zoo.cfg.dynamic, what
 * /zookeeper/config holds): 0 with sv, *n and *version, or -1 with why.
 */
int
zkcfg_parsetext(const char *text, struct zkserver *sv, int *n,
    int64_t *version, const char **why)
{
	char		*copy, *p, *tok, *end;
	unsigned long long v;
	int		 k = 0;

	*version = 0;
	if ((copy = strdup(text)) == NULL) {
		*why = strerror(errno);
		return -1;
	}
	for (p = copy; (tok = strsep(&p, "\n")) != NULL;) {
		tok = zkcfg_trim(tok);
		if (*tok == '\0' || *tok == '#')
			continue;
		if (strncmp(tok, "version=", 8) == 0) {
			errno = 0;
			v = strtoull(tok + 8, &end, 16);
			if (errno != 0 || end == tok + 8 || *end != '\0' ||
			    v > INT64_MAX) {
				*why = "bad version";
				goto bad;
			}
			*version = (int64_t)v;
			continue;
		}
		if (k == ZK_MAXSERVERS) {
			*why = "too many servers";
			goto bad;
		}
		if (serverline(tok, &sv[k], 0, why) == -1)
			goto bad;
		if (find(sv, k, sv[k].id) != -1) {
			*why = "a server id twice";
			goto bad;
		}
		k++;
	}
	free(copy);
	*n = k;
	return 0;
bad:
	free(copy);
	return -1;
}

static int
idslot(const int *ids, int n, int id)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return i;
	return -1;
}

/*
 * A state machine's slots (ids[*n], voter[], its own slot me) after a
 * reconfig to nids[nn] (nvoter[] 0 for an observer): me stays a member
 * of its kind, one voter at least.  A member that left, or changed
 * between voter and observer, has its slot emptied (id -1); one that
 * joined, or changed, takes an empty slot or a new one, as a member of
 * its new kind.  The number of slots emptied or taken, their indexes in
 * cleared[] (the caller forgets what it knew of them, and closes their
 * connections), or -1 (EINVAL), nothing changed.
 */
int
zkmembers(int *ids, int *voter, int *n, int me, const int *nids,
    const int *nvoter, int nn, int *cleared)
{
	int	 i, j, s, nv = 0, nc = 0;

	if (nn < 1 || nn > ZK_MAXSERVERS)
		goto bad;
	for (i = 0; i < nn; i++) {
		if (nids[i] < 0 || idslot(nids, i, nids[i]) != -1)
			goto bad;	/* no id twice */
		nv += nvoter[i] != 0;
	}
	if (nv == 0 || (i = idslot(nids, nn, ids[me])) == -1 ||
	    (nvoter[i] != 0) != (voter[me] != 0))
		goto bad;
	for (s = 0; s < *n; s++) {
		if (ids[s] == -1)
			continue;
		if ((j = idslot(nids, nn, ids[s])) == -1 ||
		    (nvoter[j] != 0) != (voter[s] != 0)) {
			ids[s] = -1;		/* left, or changed kind */
			voter[s] = 0;
			cleared[nc++] = s;
		}
	}
	for (i = 0; i < nn; i++) {
		if (idslot(ids, *n, nids[i]) != -1)
			continue;
		/* the members in use are nn at most: an empty slot, or
		   room for one more */
		if ((s = idslot(ids, *n, -1)) == -1)
			s = (*n)++;
		ids[s] = nids[i];
		voter[s] = nvoter[i] != 0;
		if (idslot(cleared, nc, s) == -1)
			cleared[nc++] = s;
	}
	return nc;
bad:
	errno = EINVAL;
	return -1;
}
