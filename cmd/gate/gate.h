/*
 * zk-gate's private header: what its files share.  Include after
 * <sys/tree.h>, <netinet/in.h> and "zk.h".
 *
 *	main.c		options, startup, the loop, housekeeping
 *	peer.c		the lines of zk-tree, zk-log and zk-sessiond
 *	client.c	connections, handshakes, requests in per-session
 *			order, replies, back-pressure, closed connections'
 *			leftovers
 *	auth.c		auth packets, whoAmI, SASL
 *	fourlw.c	four-letter words
 *	lin.c		linearizable reads: reads held for a read index
 *	metrics.c	the Prometheus /metrics server
 */

#define SESSIONLESS_MS	10000	/* NIO factory's sessionless timeout */

enum { C_FRESH, C_HANDSHAKE, C_OPEN };
enum { K_LOCAL, K_READ, K_WRITE };

/* a request of a client, from the frame read until its reply is out */
struct pend {
	TAILQ_ENTRY(pend) entry;
	int32_t		 xid, type;
	int		 kind;
	int		 sent;		/* line went to tree/log */
	int		 done;		/* reply is in frame (or out) */
	int		 direct;	/* reply went straight to out */
	int		 patchzxid;	/* set zxid at flush (local replies) */
	int		 closeafter;	/* close once this reply is out */
	int		 vialog;	/* sent to zk-log (a write, or a
					   read behind one: cango) */
	int64_t		 born;
	struct zkbuf	 line;		/* held request line */
	struct zkbuf	 frame;		/* the reply */
};
TAILQ_HEAD(pendq, pend);

struct client {
	struct zkconn	*c;
	int		 id;		/* conn= for zk-sessiond */
	int		 state;
	int		 is4lw;
	char		 ip[INET6_ADDRSTRLEN];
	int		 port;
	int64_t		 born;
	int64_t		 session;
	int		 timeout;
	unsigned char	 passwd[16];
	int		 oldclient;	/* no readOnly byte */
	int		 ro;		/* a read-only session (ens.c) */
	int64_t		 heard;		/* its last request, zk_mono_ms */
	int		 touched;
	int		 closing;	/* stop reading requests */
	int		 expired;	/* `closed` came while closeSession ran */
	struct zkbuf	 auth;		/* " auth=ip:.. auth=digest:.." */
	struct zkbuf	 ids;		/* scheme\0id\0 ... for whoAmI */
	struct zksasl	*sasl;		/* the DIGEST-MD5 exchange, once begun */
	struct pend	*authfail;	/* its failure, held (auth.c) */
	int64_t		 failat;	/* when authfail goes out */
	TAILQ_ENTRY(client) failing;
	struct pendq	 pq;
	struct pend	*unsent;	/* first request not yet sent, or NULL */
	int		 npend;
	int		 ntree, nlog;	/* sent, unanswered: see cango */
	int		 nrlog;		/* of nlog, reads */
	int64_t		 repsize;	/* a read's reply, estimated: cango */
	/* stats for cons/stat */
	uint64_t	 recved, sent;
	int64_t		 est, lzxid, lresp, llat, minlat, maxlat, totlat, nlat;
	int32_t		 lcxid;
	const char	*lop;
	/* a four-letter word waiting for zk-tree/zk-sessiond */
	char		 word[5];
	int		 w4stage;	/* dump: zk-sessiond's part is in */
	int64_t		 mask;		/* stmk's argument */
	struct zkbuf	 w4;
	RB_ENTRY(client) byid;
	RB_ENTRY(client) bysess;
	TAILQ_ENTRY(client) all;
	TAILQ_ENTRY(client) stalled;	/* on the stalled list */
	int		 isstalled;
	int		 held;		/* reads held by clientOutputLimit */
};
TAILQ_HEAD(clientq, client);

/* an HTTP connection to the metrics port */
struct http {
	struct zkconn	*c;		/* NULL once closed while waiting */
	int64_t		 born;
	int		 waiting;	/* for zk-tree's stats line */
	TAILQ_ENTRY(http) entry;
};
TAILQ_HEAD(httpq, http);

/* a 4lw connection (or a scrape) waiting for a peer's answer, in
 * request order */
struct w4wait {
	int		 id;
	struct http	*h;		/* a scrape, not a 4lw connection */
	TAILQ_ENTRY(w4wait) entry;
};
TAILQ_HEAD(w4q, w4wait);

/* main.c */
extern struct zkcfg	 cfg;
extern struct zkjaas	 jaas;		/* SASL users; jaas.server: SASL on */
extern struct zkloop	*loop;
extern struct zkconn	*tree, *zlog, *sess;
extern int		 draining;	/* SIGTERM came: main.c */
extern int64_t		 lastzxid;	/* zk-tree's, as last heard */
extern int64_t		 started;
/* never reset (srst resets st): latency summaries for /metrics, ms */
extern struct latsum {
	int64_t		 rsum, rn, usum, un;
} lat;
/* server stats (srvr, mntr; srst resets) */
extern struct srvstats {
	uint64_t	 received, sent;
	int64_t		 minlat, maxlat, totlat, nlat;
} st;
void		 putline(struct zkconn *, const char *, size_t);
/* output bounds (client.c): connections whose reads are held now, and
 * those closed for clientOutputMax since start (mntr) */
extern int	 nheld;
extern int64_t	 nclosedmax;
void		 replied(struct client *, size_t);
int		 overflow(struct client *);

/* ens.c: the node's part in an ensemble (zk-log's mode lines) */
extern struct ens {
	int		 on;		/* a mode line came */
	int		 serving, leading;
	char		 state[16], phase[24];
	int		 leader, learners, followers, observers, syncing;
	int64_t		 since;		/* leading and serving since */
	int64_t		 looking;	/* looking since (zk_mono_ms), 0 */
	int64_t		 unserved;	/* clients held since, 0 */
	int		 ro;		/* read-only mode is on */
	int		 voters;	/* as zk-log goes by them, 0: unsaid */
} ens;
void		 ens_mode(const struct zkline *);
const char	*ens_modename(void);
int		 ens_serving(void);
int		 ens_rotake(struct client *, int);
int		 ens_tick(int64_t);
int		 ens_voters(void);
void		 ens_mntr(struct zkbuf *);

/* lin.c: linearizable reads */
int		 lin_on(void);
void		 lin_tree(const char *, size_t);
void		 lin_read(const char *, size_t);
void		 lin_answer(const struct zkline *);
void		 lin_mntr(struct zkbuf *);

/* peer.c */
extern int	 ready;
int64_t		 treezxid(void);	/* zk-tree's applied zxid now */
struct zkconn	*peer(const char *, const char *, const char *);

/* client.c */
extern struct clientq	 clients;
/* open clients not read from (back-pressure), looked at every pass */
extern struct clientq	 stalled;
extern int		 nclients;
void		 onaccept(struct zkloop *, int, void *);
void		 client_reap(void);
struct client	*byconn(int);
struct client	*bysession(int64_t);
void		 invalid_session(struct client *);
void		 connect_response(struct client *);
void		 bind_session(struct client *, int64_t);
struct pend	*local_reply(struct client *, int32_t, int32_t, int32_t,
		    const void *, size_t);
void		 flushreplies(struct client *);
void		 dispatch(struct client *);
int		 leftreply(int64_t);
void		 goneback(int64_t);
int		 oldevents(int64_t);
void		 forget(int64_t);

/* auth.c */
void		 whoami(struct client *, struct zkbuf *);
void		 doauth(struct client *, int32_t, const char *, size_t);
void		 dosasl(struct client *, int32_t, const char *, size_t);
int		 auth_tick(int64_t);
void		 auth_forget(struct client *);

/* fourlw.c */
extern struct w4q	 treeq, sessq, logq;
extern struct zkline	 lastw4;	/* the answer fourletter() reads */
void		 javadouble(char *, size_t, int64_t, int64_t);
int		 opencount(void);
int64_t		 outstanding(void);
void		 w4keep(const struct zkline *, const char *, size_t);
void		 w4answer(struct w4q *, const struct zkline *);
struct w4wait	*w4wait(struct w4q *, struct zkconn *, struct client *,
		    const char *);
void		 fourletter(struct client *, const char *);

/* metrics.c */
extern struct httpq	 scrapes;
void		 onscrape(struct zkloop *, int, void *);
void		 scrape_answer(struct http *);
void		 fsyncstats(const struct zkline *);
void		 fsync_mntr(struct zkbuf *);
void		 propsizes(const struct zkline *);
