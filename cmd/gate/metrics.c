/*
 * zk-gate's Prometheus server: GET /metrics on metricsProvider.httpPort.
 * One request a connection, answered with Connection: close once
 * zk-tree's stats line is in; nothing here waits on a socket.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "gate.h"

#define MAXHTTP		8192	/* request line and headers of a scrape */
#define MAXSCRAPES	64	/* /metrics connections at once */

struct httpq		 scrapes = TAILQ_HEAD_INITIALIZER(scrapes);
static int		 nscrapes;
static struct zkbuf	 text;		/* a response's body */
/* zk-log's last fsyncstats line, for the fsynctime metric */
static int64_t		 fsynccount, fsyncsumus, fsyncminus, fsyncmaxus;
static char		 fsynchist[32 * 21];

static void	scrape_read(struct zkconn *);

static void
scrape_close(struct zkconn *c)
{
	struct http	*h = c->arg;

	TAILQ_REMOVE(&scrapes, h, entry);
	nscrapes--;
	if (h->waiting)
		h->c = NULL;	/* freed when its stats line comes */
	else
		free(h);
	c->arg = NULL;
}

void
onscrape(struct zkloop *lp, int fd, void *arg)
{
	struct http	*h;

	(void)arg;
	if (nscrapes >= MAXSCRAPES) {
		close(fd);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		warn("metrics");
		close(fd);
		return;
	}
	if ((h->c = zkloop_conn(lp, fd, scrape_read, scrape_close, h)) ==
	    NULL) {
		warn("metrics");
		free(h);
		close(fd);
		return;
	}
	h->born = zk_mono_ms();
	TAILQ_INSERT_TAIL(&scrapes, h, entry);
	nscrapes++;
}

/* the whole response, then close */
static void
http_reply(struct http *h, const char *status, const char *ctype,
    const struct zkbuf *body)
{
	struct zkconn	*c = h->c;

	zkbuf_printf(&c->out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n", status, ctype, ZKBUF_LEN(body));
	if (strncmp(status, "405", 3) == 0)
		zkbuf_printf(&c->out, "Allow: GET\r\n");
	zkbuf_printf(&c->out, "Connection: close\r\n\r\n");
	zkbuf_add(&c->out, ZKBUF_DATA(body), ZKBUF_LEN(body));
	if (c->out.err)
		errx(EX_OSERR, "out of memory");
	zkloop_pause(c, 1);
	zkloop_close(c);
}

static void
http_error(struct http *h, const char *status)
{
	zkbuf_reset(&text);
	zkbuf_printf(&text, "%s\n", status);
	http_reply(h, status, "text/plain; charset=utf-8", &text);
}

/* a token of RFC 9110: what a method and a header name are made of */
static int
tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * The request line "METHOD SP target SP HTTP/1.x" in [p, eol) (a CR
 * before eol is allowed): 1 for GET /metrics, 0 for another well-formed
 * request with its status in *status, -1 for garbage.
 */
static int
http_reqline(const char *p, const char *eol, const char **status)
{
	const char	*m = p, *t;
	size_t		 ml, tl;

	if (eol > p && eol[-1] == '\r')
		eol--;
	while (p < eol && tchar((unsigned char)*p))
		p++;
	ml = (size_t)(p - m);
	if (ml == 0 || p >= eol || *p++ != ' ')
		return -1;
	for (t = p; p < eol && *p > ' ' && *p < 0x7f; p++)
		;
	tl = (size_t)(p - t);
	if (tl == 0 || *t != '/' || p >= eol || *p++ != ' ')
		return -1;
	if (eol - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1'))
		return -1;
	if (!(tl == 8 || (tl > 8 && t[8] == '?')) ||
	    memcmp(t, "/metrics", 8) != 0) {
		*status = "404 Not Found";
		return 0;
	}
	if (ml != 3 || memcmp(m, "GET", 3) != 0) {
		*status = "405 Method Not Allowed";
		return 0;
	}
	return 1;
}

/* header lines "name:value" in [p, end), each ending in LF */
static int
http_headers(const char *p, const char *end)
{
	const char	*e, *n;

	while (p < end) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		for (n = p; p < e && tchar((unsigned char)*p); p++)
			;
		if (p == n || *p != ':')
			return -1;
		p = e + 1;
	}
	return 0;
}

static void
scrape_read(struct zkconn *c)
{
	struct http	*h = c->arg;
	const char	*p = ZKBUF_DATA(&c->in), *eol, *hend = NULL, *status;
	size_t		 n = ZKBUF_LEN(&c->in), i;
	int		 rc;

	if (h == NULL || h->waiting || c->closing) {
		zkbuf_consume(&c->in, n);
		return;
	}
	if ((eol = memchr(p, '\n', n)) == NULL) {
		if (n > MAXHTTP)
			http_error(h, "400 Bad Request");
		return;
	}
	status = "400 Bad Request";
	if ((rc = http_reqline(p, eol, &status)) == -1) {
		http_error(h, status);
		return;
	}
	/* the headers end at an empty line */
	for (i = (size_t)(eol - p) + 1; i < n; i++) {
		if (p[i] == '\n' && p[i - 1] == '\n')
			hend = p + i - 1;
		else if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n')
			hend = p + i - 2;
		if (hend != NULL)
			break;
	}
	if (hend == NULL) {
		if (n > MAXHTTP)
			http_error(h, "400 Bad Request");
		return;
	}
	if (hend - p > MAXHTTP || http_headers(eol + 1, hend + 1) == -1) {
		http_error(h, "400 Bad Request");
		return;
	}
	zkbuf_consume(&c->in, n);
	if (rc == 0) {
		http_error(h, status);
		return;
	}
	/* answered when zk-tree's stats line comes (scrape_answer) */
	zkloop_pause(c, 1);
	h->waiting = 1;
	w4wait(&treeq, tree, NULL, "stats\n")->h = h;
}

static void
metric(struct zkbuf *b, const char *name, const char *type, const char *help)
{
	zkbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
gauge(struct zkbuf *b, const char *name, const char *help, int64_t v)
{
	metric(b, name, "gauge", help);
	zkbuf_printf(b, "%s %" PRId64 "\n", name, v);
}

/* zk-log's fsync times, sent to us at most once a second */
void
fsyncstats(const struct zkline *l)
{
	const char	*h = zkl_str(l, "hist");

	fsynccount = zkl_intdef(l, "count", 0);
	fsyncsumus = zkl_intdef(l, "sumus", 0);
	fsyncminus = zkl_intdef(l, "minus", 0);
	fsyncmaxus = zkl_intdef(l, "maxus", 0);
	strlcpy(fsynchist, h != NULL ? h : "", sizeof(fsynchist));
}

/* mntr's fsynctime lines, as Apache's (ms): since zk-log started */
void
fsync_mntr(struct zkbuf *b)
{
	char	 avg[64];

	javadouble(avg, sizeof(avg), fsyncsumus, fsynccount * 1000);
	zkbuf_printf(b, "zk_avg_fsynctime\t%s\n", avg);
	zkbuf_printf(b, "zk_min_fsynctime\t%" PRId64 "\n", fsyncminus / 1000);
	zkbuf_printf(b, "zk_max_fsynctime\t%" PRId64 "\n", fsyncmaxus / 1000);
	zkbuf_printf(b, "zk_cnt_fsynctime\t%" PRId64 "\n", fsynccount);
	zkbuf_printf(b, "zk_sum_fsynctime\t%" PRId64 "\n", fsyncsumus / 1000);
}

/*
 * fsynctime, as Apache's summary (ms): zk-log's log2 histogram of its
 * fdatasync times (fsyncstats); a quantile is the upper bound of the
 * bucket it falls in.
 */
static void
fsynctime(struct zkbuf *b)
{
	static const double	 q[] = { 0.5, 0.9, 0.99 };
	int64_t			 h[32], n = fsynccount, sum = fsyncsumus, seen;
	const char		*s = fsynchist, *e;
	size_t			 i;
	int			 k;

	metric(b, "fsynctime", "summary", "Time to fsync the transaction "
	    "log in ms");
	for (k = 0; k < 32; k++)
		h[k] = 0;
	for (k = 0; s != NULL && *s != '\0' && k < 32; k++) {
		h[k] = strtoll(s, (char **)&e, 10);
		s = *e == ',' ? e + 1 : e;
	}
	for (i = 0; n > 0 && i < sizeof(q) / sizeof(q[0]); i++) {
		for (seen = 0, k = 0; k < 31; k++)
			if ((seen += h[k]) >= q[i] * (double)n)
				break;
		zkbuf_printf(b, "fsynctime{quantile=\"%g\"} %g\n", q[i],
		    (double)((int64_t)1 << k) / 1000.0);
	}
	zkbuf_printf(b, "fsynctime_count %" PRId64 "\nfsynctime_sum %g\n", n,
	    (double)sum / 1000.0);
}

/* the text format 0.0.4, names as Apache's Prometheus provider's */
static void
metrics(struct zkbuf *b)
{
	char	 avg[64];
	gauge(b, "znode_count", "Number of znodes",
	    zkl_intdef(&lastw4, "nodes", 0));
	gauge(b, "watch_count", "Number of watches",
	    zkl_intdef(&lastw4, "watches", 0));
	gauge(b, "ephemerals_count", "Number of ephemeral nodes",
	    zkl_intdef(&lastw4, "ephemerals", 0));
	gauge(b, "approximate_data_size", "Bytes of path and data in the "
	    "tree", zkl_intdef(&lastw4, "datasize", 0));
	gauge(b, "global_sessions", "Number of sessions",
	    zkl_intdef(&lastw4, "sessions", 0));
	gauge(b, "local_sessions", "Number of local sessions", 0);
	gauge(b, "outstanding_requests", "Requests read, not yet answered",
	    outstanding());
	gauge(b, "num_alive_connections", "Client connections",
	    nclients);
	gauge(b, "packets_received", "Packets received (reset by srst)",
	    (int64_t)st.received);
	gauge(b, "packets_sent", "Packets sent (reset by srst)",
	    (int64_t)st.sent);
	javadouble(avg, sizeof(avg), st.totlat, st.nlat);
	metric(b, "avg_latency", "gauge", "Average request latency in ms "
	    "(reset by srst)");
	zkbuf_printf(b, "avg_latency %s\n", avg);
	gauge(b, "max_latency", "Highest request latency in ms (reset by "
	    "srst)", st.maxlat);
	gauge(b, "min_latency", "Lowest request latency in ms (reset by "
	    "srst)", st.minlat);
	metric(b, "readlatency", "summary", "Read request latency in ms");
	zkbuf_printf(b, "readlatency_count %" PRId64 "\nreadlatency_sum %"
	    PRId64 "\n", lat.rn, lat.rsum);
	metric(b, "updatelatency", "summary", "Write request latency in ms");
	zkbuf_printf(b, "updatelatency_count %" PRId64 "\n"
	    "updatelatency_sum %" PRId64 "\n", lat.un, lat.usum);
	fsynctime(b);
	gauge(b, "uptime", "Milliseconds since the gate started",
	    zk_mono_ms() - started);
	gauge(b, "quorum_size", "Voting servers (1 standalone)",
	    ens_voters());
	gauge(b, "open_file_descriptor_count", "Open file descriptors of "
	    "zk-gate", opencount());
	gauge(b, "max_file_descriptor_count", "File descriptor limit of "
	    "zk-gate", sysconf(_SC_OPEN_MAX));
}

/* zk-tree's stats line (in lastw4) is in: answer the scrape */
void
scrape_answer(struct http *h)
{
	h->waiting = 0;
	if (h->c == NULL) {		/* closed meanwhile */
		free(h);
		return;
	}
	if (h->c->dead)
		return;
	zkbuf_reset(&text);
	metrics(&text);
	if (text.err)
		errx(EX_OSERR, "out of memory");
	http_reply(h, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
	    &text);
}
