/*
 * zk-bench: load generator and measuring instrument for any server that
 * speaks ZooKeeper's client protocol (zk, Apache ZooKeeper), built on the
 * official C client (libzookeeper-mt, async API) and, for the latency,
 * session and fanout workloads, on a raw client of its own: one thread,
 * nonblocking sockets on one epoll set, since there libzookeeper-mt's two
 * threads per handle, not the server, set the pace.
 *
 *	zk-bench [-v] [-c conns] [-d secs] [-K stopcmd] [-k count]
 *	    [-n inflight] [-p pid] [-R startcmd] [-r rounds] [-S] [-s size]
 *	    [-W watchers] [-Z znodes] [-z hosts] workload ...
 *
 * -S spreads the libzookeeper-mt sessions over the hosts of -z: session i
 * of a workload connects to host i mod (number of hosts) alone, so that
 * an ensemble's load is the same in every run (without it each handle
 * picks a host of the list at random, as a client does).  The raw client
 * always uses the first host.
 *
 * Each workload prints one line per figure, and nothing else on stdout:
 *
 *	figure=get_tput value=123456.000 unit=ops/s
 *
 * Workloads (run in the order given):
 *	wait	until a getData of / succeeds (raw socket probe), at most 60 s
 *	get set create mixed
 *		conns sessions x inflight requests in flight, for secs seconds
 *		after a 1 s warm-up: getData / setData of 100 keys, create then
 *		delete of one node per slot, 90% getData and 10% setData;
 *		figures NAME_tput (ops/s), NAME_cpu (server CPU us per op,
 *		with -p), NAME_err (failed requests)
 *	lat-get lat-set
 *		raw client: one getData / setData of the first key in flight
 *		on one session, count requests or secs seconds after 200 not
 *		counted: lat_get_p50, lat_get_p99, lat_get_p999 in us (lat_set_
 *		for lat-set)
 *	lat-get-mt lat-set-mt
 *		the same on libzookeeper-mt (zoo_get, zoo_set): lat_get_mt_p50
 *		and so on
 *	session	raw client: conns x inflight sessions in flight (at most
 *		4096), each a TCP connect, ConnectRequest, closeSession and
 *		close, again and again for secs seconds after a 1 s warm-up:
 *		session_rate (open+close pairs/s), session_cpu (with -p),
 *		session_err (failed pairs)
 *	session-mt
 *		the same on libzookeeper-mt: conns threads each opening and
 *		closing sessions (zookeeper_init, zookeeper_close) for secs
 *		seconds: session_mt_rate, session_mt_cpu, session_mt_err
 *	fanout	raw client: watchers sessions each exists(watch) one node,
 *		one more sets it; the time from the set until every watcher
 *		has read its event, median of rounds rounds: fanout_ms
 *	conns	raw client: opens watchers idle sessions at once and
 *		measures the server's memory (PSS of pid and descendants)
 *		before and after: conn_mem_kb, per session.  Run it first on a
 *		fresh server: memory an earlier workload freed is reused.
 *	fanout-mt
 *		the same with a libzookeeper-mt handle per session:
 *		fanout_mt_ms
 *	rss	loads znodes znodes of size bytes (unless they exist), then
 *		the memory (PSS) of pid and its descendants once it settles:
 *		rss, rss_peak (MB), the sum of their VmRSS: rss_vmrss (MB);
 *		load_tput
 *	restart	loads the znodes if missing, runs stopcmd (not timed), then
 *		startcmd, and times until a getData of the last znode succeeds
 *		on a fresh connection: restart_s.  Run it last: the server pid
 *		changes.
 *
 * Every loop is bounded by a count, a duration or a deadline.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define THREADED	1	/* libzookeeper-mt: the sync calls too */
#include <zookeeper/zookeeper.h>

#include "wire.h"

#define BASE	"/zk-bench"		/* keys, create+delete, fan-out node */
#define DATA	"/zk-bench-data"	/* the rss/restart znodes */
#define NKEYS	100
#define MAXTREE	65536			/* processes in a server's tree */

enum { W_GET, W_SET, W_CREATE, W_MIXED, W_LOAD };

struct sess {
	zhandle_t	*zh;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 state;		/* last session state seen */
};

struct run {
	int		 kind;
	const char	*fmt;		/* W_LOAD: path format, %ld */
	long		 limit;		/* W_LOAD: paths to create */
	atomic_long	 next;		/* W_LOAD: next path number */
	atomic_long	 done, errs;
	atomic_int	 active;	/* slots with a request out */
	atomic_int	 stop;
	atomic_int	 lastrc;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
};

struct slot {
	struct run	*run;
	zhandle_t	*zh;
	unsigned	 seed;
	int		 id;
	int		 phase;		/* W_CREATE: 0 create next, 1 delete */
	char		 path[64];
};

struct fan {
	atomic_int	 seen;
	int		 want;
	int64_t		 t1;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
};

static const char	*hosts = "127.0.0.1:2181";
static const char	*stopcmd, *startcmd;
static int		 nconn = 4, inflight = 100, secs = 5, count = 20000;
static int		 vsize = 100, watchers = 500, rounds = 5, verbose;
static int		 spread;
static long		 znodes = 200000;
static pid_t		 srvpid;
static char		*value;
static char		 keys[NKEYS][32];

static void	usage(void);
static void	workload(const char *);
static void	wait_ready(void);
static void	tput(const char *, int);
static void	latency(const char *, int);
static void	latency_mt(const char *, int);
static void	sessions(void);
static void	sessions_mt(void);
static void	fanout(void);
static void	fanout_mt(void);
static void	conns(void);
static void	rss(void);
static void	restart(void);

static void
usage(void)
{
	fprintf(stderr, "usage: zk-bench [-v] [-c conns] [-d secs] [-K stopcmd] "
	    "[-k count] [-n inflight] [-p pid] [-R startcmd] [-r rounds] "
	    "[-S] [-s size] [-W watchers] [-Z znodes] [-z hosts] workload ...\n"
	    "workloads: wait get set create mixed lat-get lat-set lat-get-mt "
	    "lat-set-mt session session-mt fanout fanout-mt conns rss restart\n");
	exit(EX_USAGE);
}

static int
known(const char *w)
{
	static const char *const names[] = { "wait", "get", "set", "create",
	    "mixed", "lat-get", "lat-set", "lat-get-mt", "lat-set-mt",
	    "session", "session-mt", "fanout", "fanout-mt", "conns", "rss",
	    "restart" };
	size_t	i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(w, names[i]) == 0)
			return 1;
	return 0;
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	const char	*errstr;
	long		 n;

	n = strtonum(s, lo, hi, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "%s is %s: %s", what, errstr, s);
	return n;
}

int
main(int argc, char *argv[])
{
	FILE	*devnull;
	int	 ch, i;

	while ((ch = getopt(argc, argv, "c:d:K:k:n:p:R:r:Ss:vW:Z:z:")) != -1) {
		switch (ch) {
		case 'c':
			nconn = num(optarg, 1, 1000, "connections");
			break;
		case 'd':
			secs = num(optarg, 1, 3600, "duration");
			break;
		case 'K':
			stopcmd = optarg;
			break;
		case 'k':
			count = num(optarg, 1, 10000000, "count");
			break;
		case 'n':
			inflight = num(optarg, 1, 100000, "in flight");
			break;
		case 'p':
			srvpid = num(optarg, 1, INT32_MAX, "pid");
			break;
		case 'R':
			startcmd = optarg;
			break;
		case 'r':
			rounds = num(optarg, 1, 1000, "rounds");
			break;
		case 'S':
			spread = 1;
			break;
		case 's':
			vsize = num(optarg, 0, 1024 * 1024, "value size");
			break;
		case 'v':
			verbose = 1;
			break;
		case 'W':
			watchers = num(optarg, 1, 100000, "watchers");
			break;
		case 'Z':
			znodes = num(optarg, 1, 100000000, "znodes");
			break;
		case 'z':
			hosts = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++)	/* refuse a typo before any work */
		if (!known(argv[i]))
			errx(EX_USAGE, "unknown workload: %s", argv[i]);
	if ((value = malloc(vsize + 1)) == NULL)
		err(EX_OSERR, "malloc");
	for (i = 0; i < vsize; i++)
		value[i] = 'a' + i % 26;
	for (i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof keys[i], BASE "/k%04d", i);
	if (verbose)
		zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
	else {
		if ((devnull = fopen("/dev/null", "w")) == NULL)
			err(EX_OSERR, "/dev/null");
		zoo_set_log_stream(devnull);
		zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	}
	for (i = 0; i < argc; i++)
		workload(argv[i]);
	return 0;
}

static void
workload(const char *w)
{
	if (strcmp(w, "wait") == 0)
		wait_ready();
	else if (strcmp(w, "get") == 0)
		tput(w, W_GET);
	else if (strcmp(w, "set") == 0)
		tput(w, W_SET);
	else if (strcmp(w, "create") == 0)
		tput(w, W_CREATE);
	else if (strcmp(w, "mixed") == 0)
		tput(w, W_MIXED);
	else if (strcmp(w, "lat-get") == 0)
		latency("lat_get", 0);
	else if (strcmp(w, "lat-set") == 0)
		latency("lat_set", 1);
	else if (strcmp(w, "lat-get-mt") == 0)
		latency_mt("lat_get_mt", 0);
	else if (strcmp(w, "lat-set-mt") == 0)
		latency_mt("lat_set_mt", 1);
	else if (strcmp(w, "session") == 0)
		sessions();
	else if (strcmp(w, "session-mt") == 0)
		sessions_mt();
	else if (strcmp(w, "fanout") == 0)
		fanout();
	else if (strcmp(w, "fanout-mt") == 0)
		fanout_mt();
	else if (strcmp(w, "conns") == 0)
		conns();
	else if (strcmp(w, "rss") == 0)
		rss();
	else if (strcmp(w, "restart") == 0)
		restart();
}

/* Time, locks, figures. */

static int64_t
now_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(EX_OSERR, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1)
		if (errno != EINTR)
			err(EX_OSERR, "nanosleep");
}

static void
figure(const char *name, const char *suffix, double v, const char *unit)
{
	if (printf("figure=%s%s value=%.3f unit=%s\n", name, suffix, v,
	    unit) < 0 || fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
}

static void
lock(pthread_mutex_t *m)
{
	int	e;

	if ((e = pthread_mutex_lock(m)) != 0)
		errc(EX_SOFTWARE, e, "pthread_mutex_lock");
}

static void
unlock(pthread_mutex_t *m)
{
	int	e;

	if ((e = pthread_mutex_unlock(m)) != 0)
		errc(EX_SOFTWARE, e, "pthread_mutex_unlock");
}

static void
broadcast(pthread_cond_t *c)
{
	int	e;

	if ((e = pthread_cond_broadcast(c)) != 0)
		errc(EX_SOFTWARE, e, "pthread_cond_broadcast");
}

static void
syncinit(pthread_mutex_t *m, pthread_cond_t *c)
{
	pthread_condattr_t	a;
	int			e;

	if ((e = pthread_mutex_init(m, NULL)) != 0 ||
	    (e = pthread_condattr_init(&a)) != 0 ||
	    (e = pthread_condattr_setclock(&a, CLOCK_MONOTONIC)) != 0 ||
	    (e = pthread_cond_init(c, &a)) != 0 ||
	    (e = pthread_condattr_destroy(&a)) != 0)
		errc(EX_OSERR, e, "pthread init");
}

static void
syncfree(pthread_mutex_t *m, pthread_cond_t *c)
{
	int	e;

	if ((e = pthread_mutex_destroy(m)) != 0 ||
	    (e = pthread_cond_destroy(c)) != 0)
		errc(EX_SOFTWARE, e, "pthread destroy");
}

/* Wait on c (m held) until the deadline; 0 when it passed. */
static int
waituntil(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline)
{
	struct timespec	ts;
	int		e;

	if (now_ns() >= deadline)
		return 0;
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	e = pthread_cond_timedwait(c, m, &ts);
	if (e != 0 && e != ETIMEDOUT)
		errc(EX_SOFTWARE, e, "pthread_cond_timedwait");
	return 1;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		err(EX_OSERR, "calloc");
	return p;
}

/* The server's process tree: CPU time and resident memory. */

/* pid's descendants and pid itself into out; how many. */
static int
tree(pid_t root, pid_t *out, int max)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		*pids, *ppids;
	char		 path[300], buf[512], *p;
	FILE		*f;
	int		 n = 0, nout = 0, i, j, ppid;

	pids = xcalloc(MAXTREE, sizeof *pids);
	ppids = xcalloc(MAXTREE, sizeof *ppids);
	if ((d = opendir("/proc")) == NULL)
		err(EX_OSERR, "/proc");
	while (n < MAXTREE && (errno = 0, de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* it ended meanwhile */
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &ppid) != 1)
			continue;
		pids[n] = atoi(de->d_name);
		ppids[n++] = ppid;
	}
	if (errno != 0)
		err(EX_OSERR, "readdir /proc");
	closedir(d);
	out[nout++] = root;
	for (i = 0; i < nout; i++)	/* breadth first: out grows */
		for (j = 0; j < n && nout < max; j++)
			if (ppids[j] == out[i])
				out[nout++] = pids[j];
	free(pids);
	free(ppids);
	return nout;
}

/* utime+stime of the server's tree, seconds; -1 without -p. */
static double
srvcpu(void)
{
	pid_t		*t;
	char		 path[64], buf[1024], *p;
	FILE		*f;
	unsigned long	 ut, st, sum = 0;
	long		 hz;
	int		 n, i;

	if (srvpid == 0)
		return -1;
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		err(EX_OSERR, "sysconf");
	t = xcalloc(MAXTREE, sizeof *t);
	n = tree(srvpid, t, MAXTREE);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)t[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %lu %lu", &ut, &st) != 2)
			continue;
		sum += ut + st;
	}
	free(t);
	return (double)sum / hz;
}

/*
 * Memory of the server's tree, kB: the sum of Pss (smaps_rollup), each
 * shared page split among the processes that map it, so a tree of
 * processes is charged its libraries once; and, in *vmrss, the sum of
 * VmRSS, which charges them once per process.
 */
static long
srvrss(long *vmrss)
{
	pid_t	*t;
	char	 path[64], line[256];
	FILE	*f;
	long	 kb, sum = 0, rsum = 0;
	int	 n, i;

	t = xcalloc(MAXTREE, sizeof *t);
	n = tree(srvpid, t, MAXTREE);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)t[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* it ended meanwhile */
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, "Pss: %ld kB", &kb) == 1)
				sum += kb;
			else if (sscanf(line, "Rss: %ld kB", &kb) == 1)
				rsum += kb;
		fclose(f);
	}
	free(t);
	*vmrss = rsum;
	return sum;
}

static void
cpufigure(const char *name, double c0, double c1, long ops)
{
	if (c0 >= 0 && c1 >= 0 && ops > 0)
		figure(name, "_cpu", (c1 - c0) * 1e6 / ops, "us/op");
}

/* Sessions. */

static void
watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct sess	*s = ctx;

	(void)zh;
	(void)path;
	if (type != ZOO_SESSION_EVENT || s == NULL)
		return;
	lock(&s->mu);
	s->state = state;
	broadcast(&s->cv);
	unlock(&s->mu);
}

/*
 * The i-th host of the list (mod their number) with the list's chroot
 * into buf; the whole list for i < 0.
 */
static const char *
hostpick(int i, char *buf, size_t len)
{
	const char	*p = hosts, *root, *end;
	int		 n = 1, k;

	if (i < 0)
		return hosts;
	if ((root = strchr(hosts, '/')) == NULL)
		root = hosts + strlen(hosts);
	for (end = hosts; end < root; end++)
		n += *end == ',';
	for (k = i % n; k > 0; k--)
		p = strchr(p, ',') + 1;
	if ((end = strchr(p, ',')) == NULL || end > root)
		end = root;
	if (snprintf(buf, len, "%.*s%s", (int)(end - p), p, root) >= (int)len)
		errx(EX_USAGE, "%s: too long", hosts);
	return buf;
}

/* Start opening a session (on host i of -S, any host for i < 0). */
static void
sess_start(struct sess *s, int i)
{
	char		 buf[512];
	const char	*h = hostpick(spread ? i : -1, buf, sizeof buf);
	int		 rc;

	s->state = 0;
	if ((s->zh = zookeeper_init(h, watcher, 10000, NULL, s, 0)) == NULL)
		err(EX_UNAVAILABLE, "zookeeper_init %s", h);
	if ((rc = zoo_set_servers_resolution_delay(s->zh, -1)) != ZOK)
		errx(EX_SOFTWARE, "zoo_set_servers_resolution_delay: %s",
		    zerror(rc));
}

/* 0 once connected; -1 (handle closed) after ms or a fatal state. */
static int
sess_wait(struct sess *s, long ms)
{
	int64_t	deadline = now_ns() + ms * 1000000;
	int	st;

	lock(&s->mu);
	while ((st = s->state) != ZOO_CONNECTED_STATE &&
	    st != ZOO_EXPIRED_SESSION_STATE && st != ZOO_AUTH_FAILED_STATE &&
	    waituntil(&s->cv, &s->mu, deadline))
		;
	unlock(&s->mu);
	if (st == ZOO_CONNECTED_STATE)
		return 0;
	zookeeper_close(s->zh);
	s->zh = NULL;
	return -1;
}

static void
sess_close(struct sess *s)
{
	int	rc;

	if (s->zh != NULL && (rc = zookeeper_close(s->zh)) != ZOK &&
	    verbose)
		warnx("zookeeper_close: %s", zerror(rc));
	s->zh = NULL;
	syncfree(&s->mu, &s->cv);
}

/* The async request engine: slots that reissue from their callbacks. */

static void
retire(struct slot *s)
{
	struct run	*r = s->run;

	if (atomic_fetch_sub(&r->active, 1) == 1) {
		lock(&r->mu);
		broadcast(&r->cv);
		unlock(&r->mu);
	}
}

static void	issue(struct slot *);

static void
completed(struct slot *s, int rc)
{
	struct run	*r = s->run;

	if (rc == ZOK || (rc == ZNODEEXISTS && r->kind == W_LOAD))
		atomic_fetch_add(&r->done, 1);
	else {
		atomic_fetch_add(&r->errs, 1);
		atomic_store(&r->lastrc, rc);
	}
	issue(s);
}

static void
on_data(int rc, const char *v, int len, const struct Stat *st, const void *d)
{
	(void)v;
	(void)len;
	(void)st;
	completed((struct slot *)d, rc);
}

static void
on_stat(int rc, const struct Stat *st, const void *d)
{
	(void)st;
	completed((struct slot *)d, rc);
}

static void
on_string(int rc, const char *v, const void *d)
{
	(void)v;
	completed((struct slot *)d, rc);
}

static void
on_void(int rc, const void *d)
{
	completed((struct slot *)d, rc);
}

static void
issue(struct slot *s)
{
	struct run	*r = s->run;
	const char	*key;
	long		 n;
	int		 rc = ZOK;

	if (atomic_load(&r->stop)) {
		retire(s);
		return;
	}
	key = keys[s->id % NKEYS];
	switch (r->kind) {
	case W_GET:
		rc = zoo_aget(s->zh, key, 0, on_data, s);
		break;
	case W_SET:
		rc = zoo_aset(s->zh, key, value, vsize, -1, on_stat, s);
		break;
	case W_MIXED:
		key = keys[rand_r(&s->seed) % NKEYS];
		if (rand_r(&s->seed) % 10 == 0)
			rc = zoo_aset(s->zh, key, value, vsize, -1, on_stat, s);
		else
			rc = zoo_aget(s->zh, key, 0, on_data, s);
		break;
	case W_CREATE:
		if (s->phase == 0)
			rc = zoo_acreate(s->zh, s->path, value, vsize,
			    &ZOO_OPEN_ACL_UNSAFE, 0, on_string, s);
		else
			rc = zoo_adelete(s->zh, s->path, -1, on_void, s);
		s->phase ^= 1;
		break;
	case W_LOAD:
		if ((n = atomic_fetch_add(&r->next, 1)) >= r->limit) {
			retire(s);
			return;
		}
		snprintf(s->path, sizeof s->path, r->fmt, n);
		rc = zoo_acreate(s->zh, s->path, value, vsize,
		    &ZOO_OPEN_ACL_UNSAFE, 0, on_string, s);
		break;
	}
	if (rc != ZOK) {	/* not sent: this slot is done */
		atomic_fetch_add(&r->errs, 1);
		atomic_store(&r->lastrc, rc);
		retire(s);
	}
}

/* Start every slot of r on the sessions ss; the caller waits. */
static struct slot *
run_start(struct run *r, int kind, struct sess *ss, int nss, int per)
{
	struct slot	*sl;
	int		 i, n = nss * per;

	memset(r, 0, sizeof *r);
	r->kind = kind;
	syncinit(&r->mu, &r->cv);
	atomic_store(&r->active, n);
	sl = xcalloc(n, sizeof *sl);
	for (i = 0; i < n; i++) {
		sl[i].run = r;
		sl[i].zh = ss[i / per].zh;
		sl[i].id = i;
		sl[i].seed = 0x9e3779b9u * (i + 1);
		snprintf(sl[i].path, sizeof sl[i].path, BASE "/c%d", i);
	}
	return sl;
}

static void
run_go(struct slot *sl, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		issue(&sl[i]);
}

/* Stop r (when stop is set) and wait at most ms for its requests. */
static void
run_wait(struct run *r, int stop, long ms)
{
	int64_t	deadline = now_ns() + ms * 1000000;

	if (stop)
		atomic_store(&r->stop, 1);
	lock(&r->mu);
	while (atomic_load(&r->active) > 0 &&
	    waituntil(&r->cv, &r->mu, deadline))
		;
	unlock(&r->mu);
	if (atomic_load(&r->active) > 0) {
		atomic_store(&r->stop, 1);
		warnx("%d slots still busy after %ld ms", atomic_load(&r->active),
		    ms);
	}
}

static void
run_end(struct run *r, struct slot *sl)
{
	if (atomic_load(&r->errs) > 0)
		warnx("%ld failed requests, the last: %s",
		    atomic_load(&r->errs), zerror(atomic_load(&r->lastrc)));
	free(sl);		/* after the sessions closed */
	syncfree(&r->mu, &r->cv);
}

static struct sess *
open_many(int n)
{
	struct sess	*ss;
	int		 i;

	ss = xcalloc(n, sizeof *ss);
	for (i = 0; i < n; i++) {
		syncinit(&ss[i].mu, &ss[i].cv);
		sess_start(&ss[i], i);
	}
	for (i = 0; i < n; i++)
		if (sess_wait(&ss[i], 30000) == -1)
			errx(EX_UNAVAILABLE, "%s: session %d of %d not "
			    "connected in 30 s", hosts, i + 1, n);
	return ss;
}

static void
close_many(struct sess *ss, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		sess_close(&ss[i]);
	free(ss);
}

/* Create fmt % 0 .. limit-1 (existing ones count as made) on ss. */
static double
load(struct sess *ss, int nss, const char *fmt, long limit)
{
	struct run	 r;
	struct slot	*sl;
	int64_t		 t0, t1;
	int		 per = inflight;

	sl = run_start(&r, W_LOAD, ss, nss, per);
	r.fmt = fmt;
	r.limit = limit;
	t0 = now_ns();
	run_go(sl, nss * per);
	run_wait(&r, 0, 1800 * 1000L);
	t1 = now_ns();
	if (atomic_load(&r.errs) > 0)
		errx(EX_UNAVAILABLE, "loading %s: %ld failed, the last: %s",
		    fmt, atomic_load(&r.errs), zerror(atomic_load(&r.lastrc)));
	run_end(&r, sl);
	return limit / ((t1 - t0) / 1e9);
}

static void
mkbase(zhandle_t *zh, const char *path)
{
	int	rc;

	rc = zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
	if (rc != ZOK && rc != ZNODEEXISTS)
		errx(EX_UNAVAILABLE, "create %s: %s", path, zerror(rc));
}

/* Every key seen by session i on zh, or exit (10 s at most). */
static void
awaitkeys(zhandle_t *zh, int i)
{
	int	k, t, rc;

	for (k = 0; k < NKEYS; k++)
		for (t = 0; (rc = zoo_exists(zh, keys[k], 0, NULL)) != ZOK;
		    t++) {
			if (t == 200)
				errx(EX_UNAVAILABLE, "%s: not seen by session "
				    "%d after 10 s: %s", keys[k], i,
				    zerror(rc));
			sleep_ms(50);
		}
}

/*
 * BASE and its NKEYS keys, on the first of the nss sessions ss; then
 * every key seen by every session, so that none gets NoNode from a
 * server (an observer, say) that has not applied them yet.
 */
static void
prepare(struct sess *ss, int nss)
{
	int	i;

	mkbase(ss[0].zh, BASE);
	load(ss, 1, BASE "/k%04ld", NKEYS);
	for (i = 1; i < nss; i++)
		awaitkeys(ss[i].zh, i);
}

/* Workloads. */

static int	probe(const struct addrinfo *, const char *);

static void
tput(const char *name, int kind)
{
	struct sess	*ss;
	struct slot	*sl;
	struct run	 r;
	double		 c0, c1;
	int64_t		 t0, t1;
	long		 d0, d1;

	ss = open_many(nconn);
	prepare(ss, nconn);
	sl = run_start(&r, kind, ss, nconn, inflight);
	run_go(sl, nconn * inflight);
	sleep_ms(1000);				/* warm-up */
	d0 = atomic_load(&r.done);
	t0 = now_ns();
	c0 = srvcpu();
	sleep_ms(secs * 1000L);
	d1 = atomic_load(&r.done);
	t1 = now_ns();
	c1 = srvcpu();
	run_wait(&r, 1, 30000);
	figure(name, "_tput", (d1 - d0) / ((t1 - t0) / 1e9), "ops/s");
	cpufigure(name, c0, c1, d1 - d0);
	figure(name, "_err", atomic_load(&r.errs), "ops");
	close_many(ss, nconn);
	run_end(&r, sl);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const int64_t *v, long n, double p)
{
	long	i = (long)(n * p);

	return v[i < n ? i : n - 1] / 1e3;
}

/* The percentiles of the n latencies v (ns, sorted here) as name's figures. */
static void
latfigures(const char *name, int64_t *v, long n)
{
	if (n == 0)
		errx(EX_UNAVAILABLE, "%s: no request succeeded", name);
	qsort(v, n, sizeof *v, cmp64);
	figure(name, "_p50", pct(v, n, 0.50), "us");
	figure(name, "_p99", pct(v, n, 0.99), "us");
	figure(name, "_p999", pct(v, n, 0.999), "us");
}

static void
latency_mt(const char *name, int isset)
{
	struct sess	*ss;
	struct Stat	 st;
	int64_t		*v, t, deadline = 0;
	char		*buf;
	long		 n = 0, i, errs = 0;
	int		 rc, len;

	ss = open_many(1);
	prepare(ss, 1);
	v = xcalloc(count, sizeof *v);
	if ((buf = malloc(vsize + 1)) == NULL)
		err(EX_OSERR, "malloc");
	for (i = -200; i < count; i++) {	/* 200 not counted: warm-up */
		if (i == 0)
			deadline = now_ns() + secs * 1000000000LL;
		else if (i > 0 && now_ns() >= deadline)
			break;
		t = now_ns();
		len = vsize + 1;
		if (isset)
			rc = zoo_set(ss[0].zh, keys[0], value, vsize, -1);
		else
			rc = zoo_get(ss[0].zh, keys[0], 0, buf, &len, &st);
		t = now_ns() - t;
		if (rc != ZOK)
			errs++;
		else if (i >= 0)
			v[n++] = t;
	}
	if (errs > 0)
		warnx("%s: %ld failed requests", name, errs);
	latfigures(name, v, n);
	free(v);
	free(buf);
	close_many(ss, 1);
}

struct opener {
	pthread_t	 th;
	int64_t		 deadline;
	long		 pairs, errs;
};

static void *
opener(void *arg)
{
	struct opener	*o = arg;
	struct sess	 s;
	int		 rc;

	syncinit(&s.mu, &s.cv);
	while (now_ns() < o->deadline && o->errs < 100) {
		sess_start(&s, -1);
		if (sess_wait(&s, 10000) == -1) {
			o->errs++;
			continue;
		}
		rc = zookeeper_close(s.zh);
		s.zh = NULL;
		if (rc != ZOK)
			o->errs++;
		else
			o->pairs++;
	}
	syncfree(&s.mu, &s.cv);
	return NULL;
}

static void
sessions_mt(void)
{
	struct opener	*o;
	double		 c0, c1;
	int64_t		 t0, t1;
	long		 pairs = 0, errs = 0;
	int		 i, e;

	o = xcalloc(nconn, sizeof *o);
	c0 = srvcpu();
	t0 = now_ns();
	for (i = 0; i < nconn; i++) {
		o[i].deadline = t0 + secs * 1000000000LL;
		if ((e = pthread_create(&o[i].th, NULL, opener, &o[i])) != 0)
			errc(EX_OSERR, e, "pthread_create");
	}
	for (i = 0; i < nconn; i++) {
		if ((e = pthread_join(o[i].th, NULL)) != 0)
			errc(EX_SOFTWARE, e, "pthread_join");
		pairs += o[i].pairs;
		errs += o[i].errs;
	}
	t1 = now_ns();
	c1 = srvcpu();
	figure("session_mt", "_rate", pairs / ((t1 - t0) / 1e9), "pairs/s");
	cpufigure("session_mt", c0, c1, pairs);
	figure("session_mt", "_err", errs, "ops");
	free(o);
}

static void
fanwatch(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct fan	*f = ctx;

	(void)zh;
	(void)state;
	(void)path;
	if (type != ZOO_CHANGED_EVENT)
		return;
	if (atomic_fetch_add(&f->seen, 1) + 1 == f->want) {
		lock(&f->mu);
		f->t1 = now_ns();
		broadcast(&f->cv);
		unlock(&f->mu);
	}
}

static int
cmpd(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
nofile(long need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(EX_OSERR, "getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > (rlim_t)need ? (rlim_t)need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			err(EX_OSERR, "setrlimit");
	}
}

static void
fanout_mt(void)
{
	struct sess	*ss;
	struct Stat	 st;
	struct fan	 f;
	double		*ms;
	int64_t		 t0, deadline;
	int		 i, k, rc, n = watchers + 1, done = 0;

	nofile(4L * n + 64);	/* a socket and a pipe per handle */
	ss = open_many(n);	/* the last one sets */
	mkbase(ss[0].zh, BASE);
	mkbase(ss[0].zh, BASE "/fan");
	syncinit(&f.mu, &f.cv);
	f.want = watchers;
	ms = xcalloc(rounds, sizeof *ms);
	for (k = 0; k < rounds; k++) {
		atomic_store(&f.seen, 0);
		f.t1 = 0;
		for (i = 0; i < watchers; i++)
			if ((rc = zoo_wexists(ss[i].zh, BASE "/fan", fanwatch,
			    &f, &st)) != ZOK)
				errx(EX_UNAVAILABLE, "exists: %s", zerror(rc));
		t0 = now_ns();
		if ((rc = zoo_set(ss[watchers].zh, BASE "/fan", value, vsize,
		    -1)) != ZOK)
			errx(EX_UNAVAILABLE, "set: %s", zerror(rc));
		deadline = now_ns() + 30 * 1000000000LL;
		lock(&f.mu);
		while (f.t1 == 0 && waituntil(&f.cv, &f.mu, deadline))
			;
		if (f.t1 != 0)
			ms[done++] = (f.t1 - t0) / 1e6;
		unlock(&f.mu);
		if (f.t1 == 0) {
			warnx("fanout-mt: %d of %d events in 30 s",
			    atomic_load(&f.seen), watchers);
			break;
		}
	}
	if (done > 0) {
		qsort(ms, done, sizeof *ms, cmpd);
		figure("fanout_mt", "_ms", ms[done / 2], "ms");
	}
	close_many(ss, n);
	syncfree(&f.mu, &f.cv);
	free(ms);
}

/* The last data znode exists (the data is loaded). */
static int
loaded(char *last, size_t size)
{
	struct sess	*ss;
	struct Stat	 st;
	int		 rc;

	snprintf(last, size, DATA "/n%07ld", znodes - 1);
	ss = open_many(1);
	rc = zoo_exists(ss[0].zh, last, 0, &st);
	close_many(ss, 1);
	if (rc != ZOK && rc != ZNONODE)
		errx(EX_UNAVAILABLE, "exists %s: %s", last, zerror(rc));
	return rc == ZOK;
}

static void
loaddata(void)
{
	struct sess	*ss;
	double		 rate;

	ss = open_many(nconn);
	mkbase(ss[0].zh, DATA);
	rate = load(ss, nconn, DATA "/n%07ld", znodes);
	close_many(ss, nconn);
	figure("load", "_tput", rate, "ops/s");
}

static void
rss(void)
{
	char	last[64];
	long	kb, prev, peak, vm;
	int	i;

	if (srvpid == 0)
		errx(EX_USAGE, "rss: needs the server's pid (-p)");
	if (!loaded(last, sizeof last))
		loaddata();
	/*
	 * Right after the load a server may still be at work on it (zk's
	 * forked snapshot writer, a JVM's collector): sample every 250 ms
	 * until two readings agree within 1% (at most 20 s); rss is the
	 * settled figure, rss_peak the largest seen.
	 */
	peak = prev = kb = srvrss(&vm);
	for (i = 0; i < 80; i++) {
		sleep_ms(250);
		kb = srvrss(&vm);
		if (kb > peak)
			peak = kb;
		if (labs(kb - prev) * 100 <= prev)
			break;
		prev = kb;
	}
	figure("rss", "", kb / 1024.0, "MB");
	figure("rss", "_peak", peak / 1024.0, "MB");
	figure("rss", "_vmrss", vm / 1024.0, "MB");
}

static void
shell(const char *what, const char *cmd)
{
	int	st;

	if ((st = system(cmd)) == -1)
		err(EX_OSERR, "system");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(EX_UNAVAILABLE, "%s command failed (status %#x): %s",
		    what, st, cmd);
}

/* The first host of the list, for the raw probe. */
static struct addrinfo *
firsthost(void)
{
	struct addrinfo	 hints, *ai;
	char		 h[256], *port;
	int		 e;

	snprintf(h, sizeof h, "%s", hosts);
	h[strcspn(h, ",")] = '\0';
	h[strcspn(h, "/")] = '\0';	/* a chroot suffix */
	if ((port = strrchr(h, ':')) == NULL)
		errx(EX_USAGE, "%s: no port", h);
	*port++ = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(h[0] == '[' ? h + 1 : h, port, &hints, &ai)) != 0)
		errx(EX_NOHOST, "%s: %s", h, gai_strerror(e));
	return ai;
}

static void
wait_ready(void)
{
	struct addrinfo	*ai = firsthost();
	int64_t		 deadline = now_ns() + 60 * 1000000000LL;

	while (probe(ai, "/") == -1) {
		if (now_ns() >= deadline)
			errx(EX_UNAVAILABLE, "%s: not serving after 60 s",
			    hosts);
		sleep_ms(10);
	}
	freeaddrinfo(ai);
}

static void
restart(void)
{
	struct addrinfo	*ai = firsthost();
	char		 last[64];
	int64_t		 t0, deadline;

	if (startcmd == NULL)
		errx(EX_USAGE, "restart: needs a start command (-R)");
	if (!loaded(last, sizeof last))
		loaddata();
	if (stopcmd != NULL)
		shell("stop", stopcmd);
	t0 = now_ns();
	deadline = t0 + 300 * 1000000000LL;
	shell("start", startcmd);
	while (probe(ai, last) == -1) {
		if (now_ns() >= deadline)
			errx(EX_UNAVAILABLE, "%s: not serving %s 300 s after "
			    "the start", hosts, last);
		sleep_ms(2);
	}
	figure("restart", "_s", (now_ns() - t0) / 1e9, "s");
	freeaddrinfo(ai);
}

/*
 * The raw probe: one TCP connection to the first host, a ConnectRequest,
 * a getData of path, then closeSession; 0 when the getData came back ok.
 * Raw so that no client library back-off blurs the time it measures.
 */

/* A ConnectRequest frame for a new session: 49 bytes. */
static void
put_hello(unsigned char **p, int timeout)
{
	put32(p, 45);		/* the body's length */
	put32(p, 0);		/* protocolVersion */
	put32(p, 0);		/* lastZxidSeen */
	put32(p, 0);
	put32(p, timeout);
	put32(p, 0);		/* sessionId */
	put32(p, 0);
	put32(p, 16);		/* passwd, then readOnly */
	memset(*p, 0, 17);
	*p += 17;
}

static int
sendall(int fd, const unsigned char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* One frame's body into buf (at most size bytes); its length or -1. */
static long
readframe(int fd, unsigned char *buf, size_t size)
{
	unsigned char	 hdr[4], *p = hdr;
	size_t		 want = 4, got = 0;
	ssize_t		 r;
	int		 body = 0;

	for (;;) {
		if ((r = recv(fd, p + got, want - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;	/* closed: not serving yet */
		if ((got += r) < want)
			continue;
		if (body)
			return (long)want;
		want = get32(hdr);
		if (want > size)
			return -1;
		if (want == 0)
			return 0;
		p = buf;
		got = 0;
		body = 1;
	}
}

static int
probe(const struct addrinfo *ai, const char *path)
{
	struct timeval	 tv = { 5, 0 };
	unsigned char	 out[512], in[4096], *p;
	size_t		 plen = strlen(path);
	long		 n;
	int		 fd, ok = -1, one = 1;

	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1)
		err(EX_OSERR, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
		err(EX_OSERR, "setsockopt");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto out;
	p = out;
	put_hello(&p, 4000);
	if (sendall(fd, out, p - out) == -1 ||
	    readframe(fd, in, sizeof in) < 20)
		goto out;
	/* getData: xid 1, op 4, path, watch 0 */
	p = out;
	put32(&p, 4 + 4 + 4 + plen + 1);
	put32(&p, 1);
	put32(&p, 4);
	put32(&p, plen);
	memcpy(p, path, plen);
	p += plen;
	*p++ = 0;
	if (sendall(fd, out, p - out) == -1 ||
	    (n = readframe(fd, in, sizeof in)) < 16)
		goto out;
	if (get32(in) == 1 && get32(in + 12) == 0)
		ok = 0;
	/* closeSession: xid 2, op -11; its reply is not awaited */
	p = out;
	put32(&p, 8);
	put32(&p, 2);
	put32(&p, (uint32_t)-11);
	(void)sendall(fd, out, p - out);
out:
	if (close(fd) == -1)
		err(EX_OSERR, "close");
	return ok;
}

/*
 * The raw client: one thread, nonblocking sockets on one epoll set, a
 * connection a state, a buffer in and a buffer out.  For session and
 * fanout, where libzookeeper-mt's client threads, not the server, set
 * the pace.
 */

#define RAWBUF	1024		/* a connection's input: our frames are small */
#define RAWMAX	4096		/* session: pairs in flight, at most */
#define RAWERRS	1000		/* session: failures before it gives up */
#define RAWTMO	30000		/* the session timeout asked for, ms */
#define RAWEVS	256		/* events per epoll_wait */
#define RAWBATCH 32		/* fanout: connects at a time */
#define SEC	1000000000LL

enum { R_IDLE, R_CONNECT, R_HELLO, R_OPEN, R_BYE };

struct raw {
	int		 fd;		/* -1 when idle */
	int		 state;
	int		 armed;		/* EPOLLOUT asked for */
	int		 xid;		/* of the last request sent */
	int		 watch;		/* fanout: an event awaited */
	int64_t		 since;		/* when the connect began */
	unsigned char	*out;
	size_t		 off, nout, outsize;
	size_t		 rd, nin;
	unsigned char	 in[RAWBUF];
};

struct rawset {
	int		 ep;
	struct addrinfo	*ai;
	long		 errs;
	char		 why[128];	/* the last failure */
};

static void
raw_init(struct rawset *rs)
{
	memset(rs, 0, sizeof *rs);
	rs->ai = firsthost();
	if ((rs->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(EX_OSERR, "epoll_create1");
}

static struct raw *
raw_new(int n)
{
	struct raw	*cs;
	int		 i;

	cs = xcalloc(n, sizeof *cs);
	for (i = 0; i < n; i++)
		cs[i].fd = -1;
	return cs;
}

/* Closing the socket takes it off the epoll set too. */
static void
raw_close(struct raw *c)
{
	if (c->fd != -1 && close(c->fd) == -1)
		err(EX_OSERR, "close");
	c->fd = -1;
	c->state = R_IDLE;
	c->watch = 0;
}

static void
raw_free(struct rawset *rs, struct raw *cs, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		raw_close(&cs[i]);
		free(cs[i].out);
	}
	free(cs);
	if (close(rs->ep) == -1)
		err(EX_OSERR, "close");
	freeaddrinfo(rs->ai);
}

/* c failed: closed, counted, why kept; -1. */
static int
raw_fail(struct rawset *rs, struct raw *c, const char *what, int e)
{
	if (e != 0)
		snprintf(rs->why, sizeof rs->why, "%s: %s", what, strerror(e));
	else
		snprintf(rs->why, sizeof rs->why, "%s", what);
	rs->errs++;
	raw_close(c);
	return -1;
}

static void
raw_arm(struct rawset *rs, struct raw *c, int op, int out)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(rs->ep, op, c->fd, &ev) == -1)
		err(EX_OSERR, "epoll_ctl");
	c->armed = out;
}

/* Room for n more bytes in c's output: where they go. */
static unsigned char *
raw_room(struct raw *c, size_t n)
{
	unsigned char	*p;

	if (c->nout + n > c->outsize) {
		if ((p = realloc(c->out, c->nout + n + 256)) == NULL)
			err(EX_OSERR, "realloc");
		c->out = p;
		c->outsize = c->nout + n + 256;
	}
	p = c->out + c->nout;
	c->nout += n;
	return p;
}

/* A request of type on c, its xid the next: where its size-byte body goes. */
static unsigned char *
raw_request(struct raw *c, int type, size_t size)
{
	unsigned char	*p;

	p = raw_room(c, 12 + size);
	put32(&p, 8 + size);
	put32(&p, ++c->xid);
	put32(&p, type);
	return p;
}

/* A buffer or ustring. */
static void
put_buf(unsigned char **p, const void *b, size_t n)
{
	put32(p, n);
	memcpy(*p, b, n);
	*p += n;
}

/* Send what c has queued, or what the socket takes (the rest once it is
 * writable again); -1 when c failed. */
static int
raw_flush(struct rawset *rs, struct raw *c)
{
	ssize_t	w = 1;

	if (c->state == R_CONNECT)
		return 0;		/* sent once connected */
	while (c->off < c->nout && w > 0) {	/* each pass sends, or stops */
		w = send(c->fd, c->out + c->off, c->nout - c->off,
		    MSG_NOSIGNAL);
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return raw_fail(rs, c, "send", errno);
		if (w > 0)
			c->off += w;
	}
	if (c->off == c->nout) {
		c->off = c->nout = 0;
		if (c->armed)
			raw_arm(rs, c, EPOLL_CTL_MOD, 0);
	} else if (!c->armed)
		raw_arm(rs, c, EPOLL_CTL_MOD, 1);
	return 0;
}

/* Connect c (nonblocking), a ConnectRequest queued: 0, or -1 (failed). */
static int
raw_open(struct rawset *rs, struct raw *c)
{
	unsigned char	*p;
	int		 one = 1;

	c->rd = c->nin = c->off = c->nout = 0;
	c->xid = 0;
	c->since = now_ns();
	if ((c->fd = socket(rs->ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(EX_OSERR, "socket");
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof one) == -1)
		err(EX_OSERR, "setsockopt");
	p = raw_room(c, 49);
	put_hello(&p, RAWTMO);
	c->state = R_CONNECT;
	if (connect(c->fd, rs->ai->ai_addr, rs->ai->ai_addrlen) == 0) {
		c->state = R_HELLO;
		raw_arm(rs, c, EPOLL_CTL_ADD, 0);
		return raw_flush(rs, c);
	}
	if (errno != EINPROGRESS)
		return raw_fail(rs, c, "connect", errno);
	raw_arm(rs, c, EPOLL_CTL_ADD, 1);
	return 0;
}

/*
 * Events ev on c: finish its connect, send what waits, read what came
 * (one recv).  1 when there are new bytes for raw_frame, 0 when not, -1
 * when c failed or the server closed it.
 */
static int
raw_event(struct rawset *rs, struct raw *c, uint32_t ev)
{
	socklen_t	len = sizeof(int);
	ssize_t		r;
	int		e;

	if (c->state == R_IDLE)
		return -1;
	if (c->state == R_CONNECT) {
		if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			err(EX_OSERR, "getsockopt");
		if (e != 0)
			return raw_fail(rs, c, "connect", e);
		c->state = R_HELLO;
		if (raw_flush(rs, c) == -1)
			return -1;
	} else if ((ev & EPOLLOUT) != 0 && raw_flush(rs, c) == -1)
		return -1;
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0)
		return 0;
	if (c->rd > 0) {		/* the whole frames were handled */
		memmove(c->in, c->in + c->rd, c->nin - c->rd);
		c->nin -= c->rd;
		c->rd = 0;
	}
	if ((r = recv(c->fd, c->in + c->nin, sizeof c->in - c->nin, 0)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return raw_fail(rs, c, "recv", errno);
	}
	if (r == 0)
		return raw_fail(rs, c, "closed by the server", 0);
	c->nin += r;
	return 1;
}

/* The next whole frame in c's input, its body b and length n: 1; 0 when
 * none is whole yet; -1 for one longer than the buffer. */
static int
raw_frame(struct raw *c, const unsigned char **b, size_t *n)
{
	size_t		avail = c->nin - c->rd;
	uint32_t	len;

	if (avail < 4)
		return 0;
	if ((len = get32(c->in + c->rd)) > sizeof c->in - 4)
		return -1;
	if (avail < 4 + len)
		return 0;
	*b = c->in + c->rd + 4;
	*n = len;
	c->rd += 4 + len;
	return 1;
}

/* The ConnectResponse b (n bytes): 0 and c open, or -1. */
static int
raw_hello(struct rawset *rs, struct raw *c, const unsigned char *b, size_t n)
{
	if (n < 20 || n < 20 + (size_t)get32(b + 16))
		return raw_fail(rs, c, "short ConnectResponse", 0);
	if ((int32_t)get32(b + 4) <= 0 || (get32(b + 8) | get32(b + 12)) == 0)
		return raw_fail(rs, c, "session refused: timeOut or sessionId "
		    "0", 0);
	c->state = R_OPEN;
	return 0;
}

/* b (n bytes) answers c's last request with err 0: 0; else -1. */
static int
raw_reply(struct rawset *rs, struct raw *c, const unsigned char *b, size_t n)
{
	char	what[64];

	if (n < 16 || (int32_t)get32(b) != c->xid)
		return raw_fail(rs, c, "unexpected frame", 0);
	if (get32(b + 12) != 0) {
		snprintf(what, sizeof what, "reply to xid %d: error %d",
		    c->xid, (int32_t)get32(b + 12));
		return raw_fail(rs, c, what, 0);
	}
	return 0;
}

static int
raw_bye(struct rawset *rs, struct raw *c)
{
	(void)raw_request(c, -11, 0);	/* closeSession, no body */
	c->state = R_BYE;
	return raw_flush(rs, c);
}

/* epoll_wait until the deadline, 100 ms at most: how many events. */
static int
raw_wait(struct rawset *rs, struct epoll_event *ev, int64_t until)
{
	int64_t	ms = (until - now_ns() + 999999) / 1000000;
	int	n;

	if ((n = epoll_wait(rs->ep, ev, RAWEVS, ms < 0 ? 0 : ms > 100 ? 100 :
	    (int)ms)) == -1) {
		if (errno == EINTR)
			return 0;
		err(EX_OSERR, "epoll_wait");
	}
	return n;
}

typedef int	rawfn(struct rawset *, struct raw *, const unsigned char *,
		    size_t, void *);

/* Events ev on c, then each whole frame read to fn (with arg) until it
 * returns nonzero: c closed. */
static void
raw_dispatch(struct rawset *rs, struct raw *c, uint32_t ev, rawfn *fn,
    void *arg)
{
	const unsigned char	*b;
	size_t			 n;
	int			 k;

	if (raw_event(rs, c, ev) != 1)
		return;
	while ((k = raw_frame(c, &b, &n)) == 1)	/* each takes a frame */
		if (fn(rs, c, b, n, arg) != 0)
			return;
	if (k == -1)
		raw_fail(rs, c, "frame too long", 0);
}

/* session: a frame of a pair; its closeSession answered, one more pair. */
static int
pair_frame(struct rawset *rs, struct raw *c, const unsigned char *b,
    size_t n, void *arg)
{
	long	*pairs = arg;

	if (c->state == R_HELLO)
		return raw_hello(rs, c, b, n) == -1 || raw_bye(rs, c) == -1;
	if (c->state != R_BYE)
		return raw_fail(rs, c, "unexpected frame", 0);
	if (raw_reply(rs, c, b, n) == 0) {
		raw_close(c);
		(*pairs)++;
	}
	return 1;
}

/*
 * session: run the k slots until the deadline or RAWERRS failures, a new
 * pair on each slot whose pair ended when again is set; without it, only
 * until no slot is busy.
 */
static void
pair_loop(struct rawset *rs, struct raw *cs, int k, int64_t until, int again,
    long *pairs)
{
	struct epoll_event	 ev[RAWEVS];
	struct raw		*c;
	int64_t			 t, sweep = 0;
	int			 i, n, busy;

	while ((t = now_ns()) < until && rs->errs < RAWERRS) {
		if (t >= sweep) {	/* every 100 ms: stuck or idle slots */
			for (i = busy = 0; i < k; i++) {
				c = &cs[i];
				if (c->state != R_IDLE && t - c->since > 10 * SEC)
					raw_fail(rs, c, "no answer in 10 s", 0);
				if (c->state == R_IDLE && again)
					(void)raw_open(rs, c);
				busy += c->state != R_IDLE;
			}
			if (busy == 0 && !again)
				return;
			sweep = t + SEC / 10;
		}
		n = raw_wait(rs, ev, sweep < until ? sweep : until);
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			raw_dispatch(rs, c, ev[i].events, pair_frame, pairs);
			if (c->state == R_IDLE && again)
				(void)raw_open(rs, c);
		}
	}
}

static void
sessions(void)
{
	struct rawset	 rs;
	struct raw	*cs;
	double		 c0, c1;
	int64_t		 t0, t1;
	long		 pairs = 0, p0, p1, k = (long)nconn * inflight;

	if (k > RAWMAX) {
		warnx("session: %d sessions in flight, not %ld", RAWMAX, k);
		k = RAWMAX;
	}
	nofile(k + 64);
	raw_init(&rs);
	cs = raw_new(k);
	pair_loop(&rs, cs, k, now_ns() + SEC, 1, &pairs);	/* warm-up */
	c0 = srvcpu();
	t0 = now_ns();
	p0 = pairs;
	pair_loop(&rs, cs, k, t0 + secs * SEC, 1, &pairs);
	t1 = now_ns();
	p1 = pairs;
	c1 = srvcpu();
	/* the pairs in flight end, not counted: no session left open */
	pair_loop(&rs, cs, k, now_ns() + 10 * SEC, 0, &pairs);
	if (rs.errs > 0)
		warnx("session: %ld failures, the last: %s", rs.errs, rs.why);
	if (rs.errs < RAWERRS) {
		figure("session", "_rate", (p1 - p0) / ((t1 - t0) / 1e9),
		    "pairs/s");
		cpufigure("session", c0, c1, p1 - p0);
	}
	figure("session", "_err", rs.errs, "ops");
	raw_free(&rs, cs, k);
}

/* What the raw connections of a latency or fanout run got, counted. */
struct tally {
	const char	*name;		/* the workload, for errors */
	int		 open, replies, events, closed;
	int		 want;		/* events */
	int64_t		 t1;		/* when the want-th event came */
};

/* A frame on c, counted in the tally arg. */
static int
tally_frame(struct rawset *rs, struct raw *c, const unsigned char *b,
    size_t n, void *arg)
{
	struct tally	*ty = arg;

	if (c->state == R_HELLO) {
		if (raw_hello(rs, c, b, n) == -1)
			return 1;
		ty->open++;
	} else if (n >= 16 && (int32_t)get32(b) == -1) {
		/* a notification; its WatcherEvent type 3 is NodeDataChanged */
		if (!c->watch || n < 28 || get32(b + 16) != 3)
			return raw_fail(rs, c, "unexpected event", 0);
		c->watch = 0;
		if (++ty->events == ty->want)
			ty->t1 = now_ns();
	} else if (raw_reply(rs, c, b, n) == -1)
		return 1;
	else if (c->state == R_BYE) {
		raw_close(c);
		ty->closed++;
		return 1;
	} else
		ty->replies++;
	return 0;
}

/* Handle events until *count reaches want: exit on a failure or after 30 s. */
static void
tally_until(struct rawset *rs, struct tally *ty, const int *count, int want,
    const char *what)
{
	struct epoll_event	ev[RAWEVS];
	int64_t			until = now_ns() + 30 * SEC;
	int			i, n;

	while (*count < want && rs->errs == 0) {
		if (now_ns() >= until)
			errx(EX_UNAVAILABLE, "%s: %d of %d %s in 30 s",
			    ty->name, *count, want, what);
		n = raw_wait(rs, ev, until);
		for (i = 0; i < n; i++)
			raw_dispatch(rs, ev[i].data.ptr, ev[i].events,
			    tally_frame, ty);
	}
	if (rs->errs > 0)
		errx(EX_UNAVAILABLE, "%s: %s", ty->name, rs->why);
}

/* Open the n connections cs, RAWBATCH connects at a time. */
static void
tally_open(struct rawset *rs, struct tally *ty, struct raw *cs, int n)
{
	int	i;

	/*
	 * A burst of them all would overflow a listen backlog like
	 * Apache's (50), and the SYNs it drops are sent again only after
	 * 1, 3, 7, 15, 31 s.
	 */
	for (i = 0; i < n; i++) {
		if (raw_open(rs, &cs[i]) == -1)
			errx(EX_UNAVAILABLE, "%s: %s", ty->name, rs->why);
		if ((i + 1) % RAWBATCH == 0 || i + 1 == n)
			tally_until(rs, ty, &ty->open, i + 1, "sessions open");
	}
}

/* Close the n connections cs and free them with rs. */
static void
tally_close(struct rawset *rs, struct tally *ty, struct raw *cs, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		(void)raw_bye(rs, &cs[i]);
	tally_until(rs, ty, &ty->closed, n, "sessions closed");
	raw_free(rs, cs, n);
}

/* path as the raw client sends it, after the chroot of hosts: its length. */
static size_t
raw_path(char *out, size_t size, const char *path)
{
	const char	*root = strchr(hosts, '/');
	int		 n;

	if (root == NULL)
		root = "";
	n = snprintf(out, size, "%s%s", root, path);
	if (n < 0 || (size_t)n >= size)
		errx(EX_USAGE, "%s%s: too long", root, path);
	return n;
}

/* Queue on c a getData (4) or exists (3) of path (plen bytes). */
static void
raw_read(struct raw *c, int type, const char *path, size_t plen, int watch)
{
	unsigned char	*p;

	p = raw_request(c, type, 4 + plen + 1);
	put_buf(&p, path, plen);
	*p = watch != 0;
}

/* Queue on c a setData of value to path, any version. */
static void
raw_set(struct raw *c, const char *path, size_t plen)
{
	unsigned char	*p;

	p = raw_request(c, 5, 4 + plen + 4 + vsize + 4);
	put_buf(&p, path, plen);
	put_buf(&p, value, vsize);
	put32(&p, (uint32_t)-1);
}

static void
latency(const char *name, int isset)
{
	struct rawset	 rs;
	struct tally	 ty;
	struct sess	*ss;
	struct raw	*c;
	char		 path[256];
	size_t		 plen;
	int64_t		*v, t, deadline = 0;
	long		 n = 0, i;

	ss = open_many(1);		/* the keys, made as latency_mt does */
	prepare(ss, 1);
	close_many(ss, 1);
	plen = raw_path(path, sizeof path, keys[0]);
	raw_init(&rs);
	c = raw_new(1);
	memset(&ty, 0, sizeof ty);
	ty.name = name;
	tally_open(&rs, &ty, c, 1);
	v = xcalloc(count, sizeof *v);
	for (i = -200; i < count; i++) {	/* 200 not counted: warm-up */
		if (i == 0)
			deadline = now_ns() + secs * SEC;
		else if (i > 0 && now_ns() >= deadline)
			break;
		if (isset)
			raw_set(c, path, plen);
		else
			raw_read(c, 4, path, plen, 0);
		ty.replies = 0;
		t = now_ns();
		(void)raw_flush(&rs, c);
		tally_until(&rs, &ty, &ty.replies, 1, "replies");
		t = now_ns() - t;
		if (i >= 0)
			v[n++] = t;
	}
	latfigures(name, v, n);
	free(v);
	tally_close(&rs, &ty, c, 1);
}

static void
fanout(void)
{
	struct rawset	 rs;
	struct tally	 ty;
	struct sess	*ss;
	struct raw	*cs, *set;
	char		 path[256];
	double		*ms;
	size_t		 plen;
	int64_t		 t0;
	int		 i, k, n = watchers + 1;

	ss = open_many(1);		/* the node, made as fanout-mt does */
	mkbase(ss[0].zh, BASE);
	mkbase(ss[0].zh, BASE "/fan");
	close_many(ss, 1);
	plen = raw_path(path, sizeof path, BASE "/fan");
	nofile(n + 64);
	raw_init(&rs);
	cs = raw_new(n);
	set = &cs[watchers];		/* the last one sets */
	memset(&ty, 0, sizeof ty);
	ty.name = "fanout";
	tally_open(&rs, &ty, cs, n);
	ms = xcalloc(rounds, sizeof *ms);
	ty.want = watchers;
	for (k = 0; k < rounds; k++) {
		ty.replies = ty.events = 0;
		for (i = 0; i < watchers; i++) {	/* exists, watch */
			raw_read(&cs[i], 3, path, plen, 1);
			cs[i].watch = 1;
			(void)raw_flush(&rs, &cs[i]);
		}
		tally_until(&rs, &ty, &ty.replies, watchers, "exists replies");
		ty.replies = 0;
		raw_set(set, path, plen);
		t0 = now_ns();
		(void)raw_flush(&rs, set);
		tally_until(&rs, &ty, &ty.events, watchers, "events");
		ms[k] = (ty.t1 - t0) / 1e6;
		tally_until(&rs, &ty, &ty.replies, 1, "setData replies");
	}
	qsort(ms, rounds, sizeof *ms, cmpd);
	figure("fanout", "_ms", ms[rounds / 2], "ms");
	tally_close(&rs, &ty, cs, n);
	free(ms);
}

/* What an idle session costs the server in memory. */
static void
conns(void)
{
	struct rawset	 rs;
	struct tally	 ty;
	struct raw	*cs;
	long		 kb0, vm;

	if (srvpid == 0)
		errx(EX_USAGE, "conns: needs the server's pid (-p)");
	nofile(watchers + 64);
	raw_init(&rs);
	cs = raw_new(watchers);
	memset(&ty, 0, sizeof ty);
	ty.name = "conns";
	kb0 = srvrss(&vm);
	tally_open(&rs, &ty, cs, watchers);
	sleep_ms(500);		/* a JVM may still be at work */
	figure("conn", "_mem_kb", (double)(srvrss(&vm) - kb0) / watchers, "kB");
	tally_close(&rs, &ty, cs, watchers);
}
