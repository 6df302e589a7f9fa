/*
 * zk-gate's four-letter words, as Apache ZooKeeper answers them: some
 * at once, the rest once zk-tree or zk-sessiond has answered (a 4lw
 * connection, or a scrape of /metrics, waits on treeq or sessq in the
 * order it asked).  One is zk's own: hand, answered by zk-log (logq),
 * asks a leader to hand leadership off to its most caught-up follower.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>
#include <sys/utsname.h>
#include <netinet/in.h>

#include <dirent.h>
#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"
#include "gate.h"

struct w4q		 treeq = TAILQ_HEAD_INITIALIZER(treeq);
struct w4q		 sessq = TAILQ_HEAD_INITIALIZER(sessq);
struct w4q		 logq = TAILQ_HEAD_INITIALIZER(logq);
struct zkline		 lastw4;
static char		*lastw4buf;	/* the text lastw4 points into */
static int64_t		 tracemask = 306;	/* gtmk, stmk */
/* zk-log's proposal sizes (a leader's): last, min, max; -1 none */
static int64_t		 propsz[3] = { -1, -1, -1 };

static void	w4finish(struct client *);

/* Java's Double.toString of an average rounded as Apache's counters do */
void
javadouble(char *dst, size_t len, int64_t tot, int64_t n)
{
	size_t	 k;
	double	 v = n ? (double)tot / (double)n : 0.0;

	snprintf(dst, len, "%.4f", v);
	k = strlen(dst);
	while (k > 0 && dst[k - 1] == '0' && dst[k - 2] != '.')
		dst[--k] = '\0';
}

/* a `text` or `stats` answer for the oldest waiting 4lw connection */
void
w4answer(struct w4q *q, const struct zkline *l)
{
	struct w4wait	*w;
	struct client	*cl;

	if ((w = TAILQ_FIRST(q)) == NULL)
		return;
	TAILQ_REMOVE(q, w, entry);
	if (w->h != NULL) {
		scrape_answer(w->h);
		free(w);
		return;
	}
	cl = byconn(w->id);
	free(w);
	if (cl == NULL || cl->c->dead)
		return;
	fourletter(cl, NULL);
	(void)l;
}

void
w4keep(const struct zkline *l, const char *raw, size_t n)
{
	free(lastw4buf);
	zkl_free(&lastw4);
	if ((lastw4buf = malloc(n + 1)) == NULL)
		err(EX_OSERR, NULL);
	memcpy(lastw4buf, raw, n);
	lastw4buf[n] = '\0';
	if (zkl_parse(&lastw4, lastw4buf, n) == -1)
		lastw4.nf = 0;
	(void)l;
}

/* The bytes of path's files named prefix...: snapshots or log segments
 * (preallocated segments count whole, as Apache's do). */
static int64_t
dirsize(const char *path, const char *prefix)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 sb;
	char		 p[PATH_MAX];
	int64_t		 n = 0;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    (size_t)snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >=
		    sizeof(p))
			continue;
		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			n += sb.st_size;
	}
	closedir(d);
	return n;
}

int
opencount(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}


int64_t
outstanding(void)
{
	struct client	*o;
	int64_t		 n = 0;

	TAILQ_FOREACH(o, &clients, all)
		n += o->npend;
	return n;
}

static void
srvr_tail(struct zkbuf *b)
{
	char	 avg[64];

	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	zkbuf_printf(b, "Latency min/avg/max: %" PRId64 "/%s/%" PRId64 "\n",
	    st.minlat, avg, st.maxlat);
	zkbuf_printf(b, "Received: %" PRIu64 "\nSent: %" PRIu64 "\n"
	    "Connections: %d\nOutstanding: %" PRId64 "\nZxid: 0x%" PRIx64 "\n"
	    "Mode: %s\nNode count: %" PRId64 "\n", st.received, st.sent,
	    nclients, outstanding(), treezxid(), ens_modename(),
	    zkl_intdef(&lastw4, "nodes", 0));
	if (strcmp(ens_modename(), "leader") == 0)
		zkbuf_printf(b, "Proposal sizes last/min/max: %" PRId64 "/%"
		    PRId64 "/%" PRId64 "\n", propsz[0], propsz[1], propsz[2]);
}

/* zk-log's `propsizes last= min= max=`, at most once a second */
void
propsizes(const struct zkline *l)
{
	propsz[0] = zkl_intdef(l, "last", -1);
	propsz[1] = zkl_intdef(l, "min", -1);
	propsz[2] = zkl_intdef(l, "max", -1);
}

static void
conn_line(struct zkbuf *b, struct client *o, int full, struct client *self)
{
	zkbuf_printf(b, " /%s:%d[%d](queued=%d,recved=%" PRIu64 ",sent=%"
	    PRIu64, o->ip, o->port, o == self ? 0 : 1, o->npend, o->recved,
	    o->sent);
	if (full && o->session != 0 && o->state == C_OPEN)
		zkbuf_printf(b, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64
		    ",to=%d,lcxid=0x%x,lzxid=0x%" PRIx64 ",lresp=%" PRId64
		    ",llat=%" PRId64 ",minlat=%" PRId64 ",avglat=%" PRId64
		    ",maxlat=%" PRId64, o->session, o->lop, o->est, o->timeout,
		    (unsigned)o->lcxid, o->lzxid, o->lresp, o->llat, o->minlat,
		    o->nlat ? o->totlat / o->nlat : 0, o->maxlat);
	zkbuf_printf(b, ")\n");
}

/* Java's Date.toString() */
static void
javadate(char *dst, size_t len, int64_t ms)
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(dst, len, "%a %b %d %H:%M:%S %Z %Y", &tm) == 0)
		strlcpy(dst, "?", len);
}

static void
mntr(struct zkbuf *b)
{
	char	 avg[64];

	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	zkbuf_printf(b, "zk_version\t%s\n", ZK_VERSION);
	zkbuf_printf(b, "zk_server_state\t%s\n", ens_modename());
	zkbuf_printf(b, "zk_avg_latency\t%s\n", avg);
	zkbuf_printf(b, "zk_max_latency\t%" PRId64 "\n", st.maxlat);
	zkbuf_printf(b, "zk_min_latency\t%" PRId64 "\n", st.minlat);
	zkbuf_printf(b, "zk_packets_received\t%" PRIu64 "\n", st.received);
	zkbuf_printf(b, "zk_packets_sent\t%" PRIu64 "\n", st.sent);
	zkbuf_printf(b, "zk_num_alive_connections\t%d\n", nclients);
	zkbuf_printf(b, "zk_outstanding_requests\t%" PRId64 "\n",
	    outstanding());
	zkbuf_printf(b, "zk_znode_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "nodes", 0));
	zkbuf_printf(b, "zk_watch_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "watches", 0));
	zkbuf_printf(b, "zk_ephemerals_count\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "ephemerals", 0));
	zkbuf_printf(b, "zk_approximate_data_size\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "datasize", 0));
	zkbuf_printf(b, "zk_open_file_descriptor_count\t%d\n", opencount());
	zkbuf_printf(b, "zk_max_file_descriptor_count\t%ld\n",
	    sysconf(_SC_OPEN_MAX));
	zkbuf_printf(b, "zk_global_sessions\t%" PRId64 "\n",
	    zkl_intdef(&lastw4, "sessions", 0));
	zkbuf_printf(b, "zk_local_sessions\t0\n");
	zkbuf_printf(b, "zk_uptime\t%" PRId64 "\n", zk_mono_ms() - started);
	fsync_mntr(b);
	ens_mntr(b);
	lin_mntr(b);
	/* zk's own: the output bounds (zk-gate(1)) */
	zkbuf_printf(b, "zk_client_output_limit\t%lld\n",
	    cfg.clientOutputLimit);
	zkbuf_printf(b, "zk_client_output_max\t%lld\n", cfg.clientOutputMax);
	zkbuf_printf(b, "zk_connections_held\t%d\n", nheld);
	zkbuf_printf(b, "zk_connections_closed_output_max\t%" PRId64 "\n",
	    nclosedmax);
}

static void
conf(struct zkbuf *b)
{
	char	 d[PATH_MAX], l[PATH_MAX];
	int	 i;

	/* where zk keeps them (Apache's would be version-2) */
	snprintf(d, sizeof(d), "%s/zk", cfg.dataDir);
	snprintf(l, sizeof(l), "%s/zk", cfg.dataLogDir);
	zkbuf_printf(b, "clientPort=%d\nsecureClientPort=-1\ndataDir=%s\n"
	    "dataDirSize=%" PRId64 "\ndataLogDir=%s\ndataLogSize=%" PRId64
	    "\ntickTime=%d\nmaxClientCnxns=%d\nminSessionTimeout=%d\n"
	    "maxSessionTimeout=%d\nclientPortListenBacklog=-1\nserverId=%d\n",
	    cfg.clientPort, d, dirsize(d, "snapshot."), l, dirsize(l, "log."),
	    cfg.tickTime,
	    cfg.maxClientCnxns, cfg.minSessionTimeout, cfg.maxSessionTimeout,
	    cfg.myid);
	if (cfg.nservers == 0)
		return;
	zkbuf_printf(b, "initLimit=%d\nsyncLimit=%d\nelectionAlg=3\n",
	    cfg.initLimit, cfg.syncLimit);
	for (i = 0; i < cfg.nservers; i++)
		if (cfg.servers[i].id == cfg.myid)
			zkbuf_printf(b, "electionPort=%d\nquorumPort=%d\n",
			    cfg.servers[i].electionport,
			    cfg.servers[i].quorumport);
	zkbuf_printf(b, "peerType=%d\nmembership: \n",
	    cfg.peerTypeObserver ? 1 : 0);
	for (i = 0; i < cfg.nservers; i++)
		zkbuf_printf(b, "server.%d=%s:%d:%d:%s\n", cfg.servers[i].id,
		    cfg.servers[i].host, cfg.servers[i].quorumport,
		    cfg.servers[i].electionport, cfg.servers[i].observer ?
		    "observer" : "participant");
	zkbuf_printf(b, "version=0\n");
}

static void
envi(struct zkbuf *b)
{
	struct utsname	 u;
	struct passwd	*pw;
	char		 host[256], cwd[PATH_MAX];
	const char	*tmp;

	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strlcpy(cwd, "/", sizeof(cwd));
	pw = getpwuid(getuid());
	tmp = getenv("TMPDIR");
	zkbuf_printf(b, "Environment:\nzookeeper.version=%s\nhost.name=%s\n"
	    "java.version=none\njava.vendor=none\njava.home=none\n"
	    "java.class.path=none\njava.library.path=none\n"
	    "java.io.tmpdir=%s\njava.compiler=<NA>\nos.name=%s\nos.arch=%s\n"
	    "os.version=%s\nuser.name=%s\nuser.home=%s\nuser.dir=%s\n"
	    "os.memory.free=0MB\nos.memory.max=0MB\nos.memory.total=0MB\n",
	    ZK_VERSION, host, tmp ? tmp : "/tmp", u.sysname, u.machine,
	    u.release, pw ? pw->pw_name : "?", pw ? pw->pw_dir : "?", cwd);
}

struct w4wait *
w4wait(struct w4q *q, struct zkconn *peerc, struct client *cl,
    const char *line)
{
	struct w4wait	*w;

	if ((w = malloc(sizeof(*w))) == NULL)
		err(EX_OSERR, NULL);
	w->id = cl != NULL ? cl->id : 0;
	w->h = NULL;
	TAILQ_INSERT_TAIL(q, w, entry);
	putline(peerc, line, strlen(line));
	return w;
}

/*
 * Answer a four-letter word.  Called with the word when it arrives and
 * with NULL when a peer's answer (in lastw4) for it has come.
 */
void
fourletter(struct client *cl, const char *word)
{
	struct zkbuf	*b = &cl->w4;
	struct client	*o;
	const struct zkfield *f;
	char		 line[64];

	if (word != NULL) {
		if (!zkcfg_4lw_allowed(&cfg, word)) {
			zkbuf_printf(&cl->c->out, "%s is not executed because "
			    "it is not in the whitelist.\n", word);
			zkloop_close(cl->c);
			return;
		}
		if (strcmp(word, "ruok") == 0)
			zkbuf_printf(b, "imok");
		else if (strcmp(word, "isro") == 0)
			zkbuf_printf(b, ens.ro ? "ro" : ens_serving() ? "rw" :
			    "null");
		else if (!ens_serving() && !ens.ro &&
		    strcmp(word, "envi") != 0 &&
		    strcmp(word, "gtmk") != 0 && strcmp(word, "stmk") != 0)
			zkbuf_printf(b, "This ZooKeeper instance is not "
			    "currently serving requests\n");
		else if (strcmp(word, "gtmk") == 0)
			zkbuf_printf(b, "%" PRId64, tracemask);
		else if (strcmp(word, "stmk") == 0)
			zkbuf_printf(b, "%" PRId64, tracemask = cl->mask);
		else if (strcmp(word, "hash") == 0)
			;
		else if (strcmp(word, "crst") == 0) {
			TAILQ_FOREACH(o, &clients, all) {
				o->recved = o->sent = 0;
				o->minlat = o->maxlat = o->totlat = 0;
				o->nlat = o->llat = 0;
			}
			zkbuf_printf(b, "Connection stats reset.\n");
		} else if (strcmp(word, "srst") == 0) {
			memset(&st, 0, sizeof(st));
			/* and a leader's proposal sizes, zk-log's */
			propsz[0] = propsz[1] = propsz[2] = -1;
			if (ens.on && zlog != NULL && !zlog->dead)
				zkbuf_add(&zlog->out, "statreset\n", 10);
			zkbuf_printf(b, "Server stats reset.\n");
		} else if (strcmp(word, "conf") == 0)
			conf(b);
		else if (strcmp(word, "envi") == 0)
			envi(b);
		else if (strcmp(word, "dirs") == 0) {
			char	 d[PATH_MAX], l[PATH_MAX];

			snprintf(d, sizeof(d), "%s/zk", cfg.dataDir);
			snprintf(l, sizeof(l), "%s/zk", cfg.dataLogDir);
			zkbuf_printf(b, "datadir_size: %" PRId64 "\n"
			    "logdir_size: %" PRId64 "\n",
			    dirsize(d, "snapshot."), dirsize(l, "log."));
		} else if (strcmp(word, "cons") == 0) {
			TAILQ_FOREACH(o, &clients, all)
				conn_line(b, o, 1, cl);
			zkbuf_printf(b, "\n");
		} else if (strcmp(word, "srvr") == 0 ||
		    strcmp(word, "stat") == 0 || strcmp(word, "mntr") == 0) {
			w4wait(&treeq, tree, cl, "stats\n");
			return;
		} else if (strcmp(word, "dump") == 0) {
			w4wait(&sessq, sess, cl, "text word=dump\n");
			return;
		} else if (strcmp(word, "hand") == 0) {
			/* zk's: a leader hands leadership off (zk-log) */
			if (cfg.nservers == 0)
				zkbuf_printf(b, "not in an ensemble\n");
			else {
				w4wait(&logq, zlog, cl, "handoff\n");
				return;
			}
		} else {	/* wchs wchc wchp */
			snprintf(line, sizeof(line), "text word=%s\n", word);
			w4wait(&treeq, tree, cl, line);
			return;
		}
		w4finish(cl);
		return;
	}
	word = cl->word;
	if (strcmp(word, "srvr") == 0) {
		zkbuf_printf(b, "Zookeeper version: %s\n", ZK_VERSION);
		srvr_tail(b);
	} else if (strcmp(word, "stat") == 0) {
		zkbuf_printf(b, "Zookeeper version: %s\nClients:\n",
		    ZK_VERSION);
		TAILQ_FOREACH(o, &clients, all)
			conn_line(b, o, 0, cl);
		zkbuf_printf(b, "\n");
		srvr_tail(b);
	} else if (strcmp(word, "mntr") == 0)
		mntr(b);
	else if (strcmp(word, "dump") == 0 && !cl->w4stage) {
		/* zk-sessiond's part; then ask zk-tree for the ephemerals */
		if ((f = zkl_get(&lastw4, "data")) != NULL)
			zkbuf_add(b, f->val, f->len);
		cl->w4stage = 1;
		w4wait(&treeq, tree, cl, "text word=dump\n");
		return;
	} else {
		if ((f = zkl_get(&lastw4, "data")) != NULL)
			zkbuf_add(b, f->val, f->len);
		if (strcmp(word, "dump") == 0) {
			char	 date[64];

			javadate(date, sizeof(date), zk_now_ms() +
			    SESSIONLESS_MS);
			zkbuf_printf(b, "Connections dump:\n"
			    "Connections Sets (1)/(%d):\n%d expire at %s:\n",
			    nclients, nclients, date);
			TAILQ_FOREACH(o, &clients, all)
				zkbuf_printf(b, "\tip: /%s:%d sessionId: 0x%"
				    PRIx64 "\n", o->ip, o->port, o->session);
		}
	}
	w4finish(cl);
}

static void
w4finish(struct client *cl)
{
	if (cl->w4.err)
		errx(EX_OSERR, "out of memory");
	zkbuf_add(&cl->c->out, ZKBUF_DATA(&cl->w4), ZKBUF_LEN(&cl->w4));
	zkloop_close(cl->c);
}
