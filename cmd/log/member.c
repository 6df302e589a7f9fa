/*
 * zk-log's membership in an ensemble: the members the node goes by, the
 * leader's decision on a reconfig request, and dataDir/zoo.cfg.dynamic.
 *
 * A reconfig is a write: the leader decides it before it proposes it,
 * as Apache's PrepRequestProcessor does, and puts the decision in the
 * txn, ` err=N` or ` config=TEXT` (the new members' config text at the
 * txn's zxid), so that every node applies it alike: zk-tree answers the
 * error or puts TEXT in /zookeeper/config, and zk-log, as it hands the
 * txn on, goes by the new members and writes them to zoo.cfg.dynamic.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "log.h"

struct members M;

void
members_init(const struct zkcfg *cfg)
{
	memcpy(M.sv, cfg->servers, (size_t)cfg->nservers * sizeof(M.sv[0]));
	M.n = cfg->nservers;
	M.version = cfg->configVersion;
}

static int
isvoter(const struct zkserver *sv, int n, int id)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (sv[i].id == id)
			return !sv[i].observer;
	return 0;
}

/*
 * How many voters join or leave from a to b; -1 when a voter of both
 * moved to other addresses.
 */
static int
votersdiff(const struct zkserver *a, int na, const struct zkserver *b,
    int nb)
{
	int	 i, j, d = 0;

	for (i = 0; i < na; i++) {
		if (a[i].observer)
			continue;
		for (j = 0; j < nb && b[j].id != a[i].id; j++)
			;
		if (j == nb || b[j].observer)
			d++;		/* left, or made an observer */
		else if (strcmp(a[i].host, b[j].host) != 0 ||
		    a[i].quorumport != b[j].quorumport ||
		    a[i].electionport != b[j].electionport)
			return -1;
	}
	for (j = 0; j < nb; j++)
		if (!b[j].observer && !isvoter(a, na, b[j].id))
			d++;		/* joined, or made a participant */
	return d;
}

/* the gate writes a null string as an empty one: both are none */
static const char *
nonempty(const struct zkline *l, const char *key)
{
	const char	*v = zkl_str(l, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The leader's decision on a reconfig request line (verb and fields as
 * the gate sent them) to be the txn zxid: ` config=TEXT` or ` err=N`
 * added to out, and 0 or N returned.  synced[] are the ids of the voters
 * that are up to date with the leader, itself included; busy says that a
 * reconfig it proposed is not yet committed; skipacl (skipACL=yes) lets
 * anyone reconfig, as Apache's skipped checkACL does.  In Apache's order: one
 * reconfig at a time, the version, the request, two voters at least, a
 * synced quorum of the new voters, then the super user.
 *
 * One at a time, as Apache's leader has it (ReconfigInProgress): two
 * decided against the same members, each one voter away from them, could
 * take the voters two away from each other's, and a quorum of the one
 * need not meet a quorum of the other.
 */
int
members_prep(struct zkbuf *out, const char *line, size_t len, int64_t zxid,
    const int *synced, int nsynced, int busy, int skipacl)
{
	struct zkserver	 nv[ZK_MAXSERVERS];
	struct zkline	 l = { 0 };
	struct zkbuf	 text = { 0 };
	const char	*why;
	char		*copy;
	int64_t		 id;
	size_t		 i;
	int		 n, k, voters, e, super = 0;

	if ((copy = malloc(len + 1)) == NULL)
		err(EX_OSERR, NULL);
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (zkl_parse(&l, copy, len) == -1) {
		e = ZBADARGUMENTS;
		goto out;
	}
	if (busy) {
		warnx("reconfig: another is in progress");
		e = ZRECONFIGINPROGRESS;
		goto out;
	}
	if (zkl_int(&l, "configid", &id) == 0 && id != -1 && id != M.version) {
		warnx("reconfig from version %" PRIx64 ": the version is %"
		    PRIx64, id, M.version);
		e = ZBADVERSION;
		goto out;
	}
	e = zkcfg_reconfig(M.sv, M.n, nonempty(&l, "joining"),
	    nonempty(&l, "leaving"), nonempty(&l, "members"), nv, &n, &why);
	if (e != 0) {
		warnx("reconfig: %s", why);
		goto out;
	}
	for (voters = k = 0; k < n; k++)
		voters += !nv[k].observer;
	if (voters < 2) {
		warnx("reconfig: the new members must have two voters");
		e = ZBADARGUMENTS;
		goto out;
	}
	/*
	 * One voter joins or leaves at a time: any quorum of the old voters
	 * then meets any quorum of the new, so nodes that go by either
	 * cannot elect two leaders while they restart on the new ones.
	 */
	if ((k = votersdiff(M.sv, M.n, nv, n)) == -1 || k > 1) {
		warnx("reconfig: %s", k == -1 ? "a voter's addresses cannot "
		    "change" : "one voter joins or leaves at a time");
		e = ZBADARGUMENTS;
		goto out;
	}
	for (i = 0, k = 0; i < (size_t)nsynced; i++)
		k += isvoter(nv, n, synced[i]);
	if (k <= voters / 2) {
		warnx("reconfig: no quorum of the new voters is synced");
		e = ZNEWCONFIGNOQUORUM;
		goto out;
	}
	for (i = 0; i < l.nf; i++)
		if (strcmp(l.f[i].key, "auth") == 0 &&
		    strncmp(l.f[i].val, "super:", 6) == 0)
			super = 1;
	super |= skipacl;	/* Apache's checkACL is skipped too */
	if (!super) {
		e = ZNOAUTH;
		goto out;
	}
	zkcfg_conftext(&text, nv, n, zxid);
	zkl_put(out, "config", ZKBUF_DATA(&text), ZKBUF_LEN(&text));
out:
	if (e != 0)
		zkl_putd(out, "err", e);
	if (out->err || text.err)
		errc(EX_OSERR, out->err ? out->err : text.err, "reconfig");
	zkbuf_free(&text);
	zkl_free(&l);
	free(copy);
	return e;
}

/* dataDir/zoo.cfg.dynamic holds text, durably (serve.c's durable) */
static void
writedynamic(const char *datadir, const char *text)
{
	struct zkbuf	 b = { 0 };
	int		 dfd;

	zkbuf_printf(&b, "%s\n", text);
	if (b.err)
		errc(EX_OSERR, b.err, "%s", ZK_DYNAMIC);
	if ((dfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EX_IOERR, "%s", datadir);
	durable(dfd, datadir, ZK_DYNAMIC, ZKBUF_DATA(&b), ZKBUF_LEN(&b));
	close(dfd);
	zkbuf_free(&b);
}

/*
 * A committed reconfig record on its way to zk-tree: when it carries new
 * members newer than ours, write them to dataDir/zoo.cfg.dynamic and take
 * them.  1 when they changed, 0 when not, -1 for a record without them.
 */
int
members_adopt(const char *datadir, const char *line, size_t len)
{
	struct zkserver	 sv[ZK_MAXSERVERS];
	struct zkline	 l = { 0 };
	const struct zkfield *f;
	const char	*why;
	char		*copy;
	int64_t		 v;
	int		 n, rc = -1;

	if ((copy = malloc(len + 1)) == NULL)
		err(EX_OSERR, NULL);
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (zkl_parse(&l, copy, len) == -1 ||
	    (f = zkl_get(&l, "config")) == NULL)
		goto out;
	if (zkcfg_parsetext(f->val, sv, &n, &v, &why) == -1) {
		warnx("reconfig record: %s, ignored", why);
		goto out;
	}
	rc = 0;
	if (v <= M.version)
		goto out;
	writedynamic(datadir, f->val);
	memcpy(M.sv, sv, (size_t)n * sizeof(sv[0]));
	M.n = n;
	M.version = v;
	rc = 1;
out:
	zkl_free(&l);
	free(copy);
	return rc;
}
