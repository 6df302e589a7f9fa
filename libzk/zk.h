/*
 * zk.h: what more than one zk program needs.
 * libzk never calls exit() or err(); it returns -1 with errno set.
 */
#ifndef ZK_H
#define ZK_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ZK_VERSION	"3.8.0-zk"	/* what srvr/stat/envi print */

/* Apache's defaults */
#define ZK_MAXBUFFER	0xfffff		/* jute.maxbuffer */
#define ZK_TICKTIME	2000

/*
 * opcodes (ZooDefs.OpCode), which are also the txn types of Apache's
 * logs (TxnHeader.type; createSession, closeSession and error occur
 * only there)
 */
enum {
	ZOP_NOTIFICATION = 0, ZOP_CREATE = 1, ZOP_DELETE = 2, ZOP_EXISTS = 3,
	ZOP_GETDATA = 4, ZOP_SETDATA = 5, ZOP_GETACL = 6, ZOP_SETACL = 7,
	ZOP_GETCHILDREN = 8, ZOP_SYNC = 9, ZOP_PING = 11,
	ZOP_GETCHILDREN2 = 12, ZOP_CHECK = 13, ZOP_MULTI = 14,
	ZOP_CREATE2 = 15, ZOP_RECONFIG = 16, ZOP_CHECKWATCHES = 17,
	ZOP_REMOVEWATCHES = 18, ZOP_CREATECONTAINER = 19,
	ZOP_DELETECONTAINER = 20, ZOP_CREATETTL = 21, ZOP_MULTIREAD = 22,
	ZOP_AUTH = 100, ZOP_SETWATCHES = 101, ZOP_SASL = 102,
	ZOP_GETEPHEMERALS = 103, ZOP_GETALLCHILDRENNUMBER = 104,
	ZOP_SETWATCHES2 = 105, ZOP_ADDWATCH = 106, ZOP_WHOAMI = 107,
	ZOP_CREATESESSION = -10, ZOP_CLOSESESSION = -11, ZOP_ERROR = -1
};

/* error codes (KeeperException.Code) */
enum {
	ZOK = 0, ZSYSTEMERROR = -1, ZRUNTIMEINCONSISTENCY = -2,
	ZMARSHALLINGERROR = -5, ZNEWCONFIGNOQUORUM = -13,
	ZRECONFIGINPROGRESS = -14,
	ZUNIMPLEMENTED = -6, ZBADARGUMENTS = -8, ZNONODE = -101,
	ZNOAUTH = -102, ZBADVERSION = -103, ZNOCHILDRENFOREPHEMERALS = -108,
	ZNODEEXISTS = -110, ZNOTEMPTY = -111, ZSESSIONEXPIRED = -112,
	ZINVALIDACL = -114, ZAUTHFAILED = -115, ZSESSIONMOVED = -118,
	ZNOTREADONLY = -119, ZNOWATCHER = -121, ZRECONFIGDISABLED = -123
};

/* watch event types */
enum {
	ZEV_CREATED = 1, ZEV_DELETED = 2, ZEV_CHANGED = 3, ZEV_CHILD = 4
};

/* permissions */
#define ZPERM_READ	1
#define ZPERM_WRITE	2
#define ZPERM_CREATE	4
#define ZPERM_DELETE	8
#define ZPERM_ADMIN	16
#define ZPERM_ALL	31

struct zkstat {
	int64_t		czxid, mzxid, ctime, mtime;
	int32_t		version, cversion, aversion;
	int64_t		ephemeralOwner;
	int32_t		dataLength, numChildren;
	int64_t		pzxid;
};

/* buf.c: a growable byte buffer.  Writers never fail one by one: an
 * allocation failure sets err and later writes do nothing; check err
 * once when the record is done. */
struct zkbuf {
	char		*p;
	size_t		 len;		/* bytes in p */
	size_t		 off;		/* bytes already consumed from the front */
	size_t		 scan;		/* bytes after off known to hold no '\n' */
	size_t		 cap;
	int		 err;		/* ENOMEM seen */
	void		(*onfill)(struct zkbuf *);	/* before an append */
};
int	 zkbuf_reserve(struct zkbuf *, size_t);
void	 zkbuf_add(struct zkbuf *, const void *, size_t);
void	 zkbuf_addc(struct zkbuf *, int);
void	 zkbuf_printf(struct zkbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 zkbuf_consume(struct zkbuf *, size_t);
void	 zkbuf_reset(struct zkbuf *);
void	 zkbuf_free(struct zkbuf *);
ssize_t	 zkbuf_read(struct zkbuf *, int);
ssize_t	 zkbuf_flush(struct zkbuf *, int);
#define ZKBUF_DATA(b)	((b)->p + (b)->off)
#define ZKBUF_LEN(b)	((b)->len - (b)->off)

/*
 * jute.c: ZooKeeper's big-endian record encoding.  A failed read sets
 * bad and returns 0 (or -1 and NULL for a buffer); later reads fail
 * too.  why and at tell the first failure: "truncated" or "bad length",
 * and its offset (base + bytes from start: set base when the record
 * sits inside a file).
 */
struct jr {
	const unsigned char	*p, *end;
	int			 bad;	/* read past the end or bad length */
	const unsigned char	*start;	/* where jr_init began */
	size_t			 base;	/* the offset of start, 0 */
	const char		*why;	/* the first failure, or NULL */
	size_t			 at;	/* and its offset */
};
void	 jr_init(struct jr *, const void *, size_t);
size_t	 jr_off(const struct jr *);		/* base + (p - start) */
int32_t	 jr_int(struct jr *);
int64_t	 jr_long(struct jr *);
int	 jr_bool(struct jr *);
int32_t	 jr_buf(struct jr *, const char **);	/* length, -1 = null */
char	*jr_strdup(struct jr *);		/* NULL for null or bad */
void	 jr_stat(struct jr *, struct zkstat *);
void	 jw_int(struct zkbuf *, int32_t);
void	 jw_long(struct zkbuf *, int64_t);
void	 jw_bool(struct zkbuf *, int);
void	 jw_buf(struct zkbuf *, const void *, int32_t);	/* -1 = null */
void	 jw_str(struct zkbuf *, const char *);		/* NULL = null */
void	 jw_stat(struct zkbuf *, const struct zkstat *);
size_t	 jw_frame_begin(struct zkbuf *);
void	 jw_frame_end(struct zkbuf *, size_t);

/* jute.c: 4-byte length framing */
int	 zkframe_next(struct zkbuf *, size_t, const char **, size_t *);

/* line.c: one record per line, "verb key=value ...", values escaped */
struct zkfield {
	char		*key;
	char		*val;		/* unescaped, NUL-terminated */
	size_t		 len;		/* of val, NULs included */
};
struct zkline {
	char		*verb;
	struct zkfield	*f;
	size_t		 nf, cap;
};
int	 zkl_next(struct zkbuf *, char **, size_t *);
int	 zkl_parse(struct zkline *, char *, size_t);
void	 zkl_free(struct zkline *);
const struct zkfield *zkl_get(const struct zkline *, const char *);
const char *zkl_str(const struct zkline *, const char *);
int	 zkl_int(const struct zkline *, const char *, int64_t *);
int64_t	 zkl_intdef(const struct zkline *, const char *, int64_t);
const struct zkfield *zkf_get(const struct zkfield *, size_t, const char *);
const char *zkf_str(const struct zkfield *, size_t, const char *);
int	 zkf_int(const struct zkfield *, size_t, const char *, int64_t *);
int64_t	 zkf_intdef(const struct zkfield *, size_t, const char *, int64_t);
int	 zkl_parsestat(const char *, struct zkstat *);
int	 zkl_parseint(const char *, int64_t *);
int	 zkl_number(const char *, const char **, int64_t *);
void	 zkl_begin(struct zkbuf *, const char *);
void	 zkl_put(struct zkbuf *, const char *, const void *, size_t);
void	 zkl_puts(struct zkbuf *, const char *, const char *);
void	 zkl_putd(struct zkbuf *, const char *, int64_t);
void	 zkl_putx(struct zkbuf *, const char *, int64_t);
void	 zkl_putstat(struct zkbuf *, const char *, const struct zkstat *);
void	 zkl_end(struct zkbuf *);
size_t	 zkl_escape(char *, const void *, size_t);
ssize_t	 zkl_unescape(char *, size_t);

/* cfg.c: zoo.cfg, Apache's keys */
#define ZK_MAXSERVERS	32
struct zkserver {
	int		 id;
	char		 host[256];
	int		 quorumport, electionport;
	int		 observer;
	char		 clienthost[256];
	int		 clientport;
	int		 line;		/* its line in the file */
};
struct zkcfg {
	char		 file[1024];
	int		 tickTime, initLimit, syncLimit;
	int		 minSessionTimeout, maxSessionTimeout;
	char		 dataDir[1024], dataLogDir[1024];
	int		 clientPort, clientPortSet;	/* set: in the file */
	char		 clientPortAddress[256];
	int		 maxClientCnxns;
	long		 snapCount;
	int		 snapRetainCount, purgeInterval;
	char		 whitelist[1024];	/* "" = only srvr */
	int		 extendedTypesEnabled;
	int		 reconfigEnabled;
	int		 skipACL;	/* skipACL=yes: no ACL is checked */
	int		 readonly;	/* readonlymode.enabled */
	int		 linearizableReads;
	int		 syncEnabled;	/* an observer fsyncs every batch */
	char		 superDigest[256];	/* "super:b64sha1" or "" */
	char		 jaasFile[1024];	/* JAAS login file, "" = no SASL */
	char		 superUser[256];	/* SASL user that is super, or "" */
	long		 containerCheckMs;
	int		 metricsPort;
	char		 metricsHost[256];	/* "" = every address */
	long		 maxbuffer;
	long long	 clientOutputLimit;	/* bytes: hold a client's reads */
	long long	 clientOutputMax;	/* bytes: close the client */
	int		 myid;			/* from dataDir/myid, 0 = none */
	int		 peerTypeObserver;
	struct zkserver	 servers[ZK_MAXSERVERS];
	int		 nservers;
	int64_t		 configVersion;		/* of the servers: 0 zoo.cfg's,
						   else dataDir/zoo.cfg.dynamic's */
	int		 role;			/* ZKR_*: what this node does */
};
/*
 * A node's part: standalone (the only one zk has yet), or in an ensemble
 * looking for a leader, leading, following or observing.  The work one
 * node of an ensemble does for all (session expiry, the container and TTL
 * sweep) is done where zkcfg_leads says so.
 */
enum { ZKR_STANDALONE, ZKR_LOOKING, ZKR_LEADING, ZKR_FOLLOWING,
    ZKR_OBSERVING };
int	 zkcfg_leads(const struct zkcfg *);
int	 zkcfg_load(struct zkcfg *, const char *, char *, size_t);
int	 zkcfg_standalone(struct zkcfg *, char *, size_t);
int	 zkcfg_node(struct zkcfg *, char *, size_t);
void	 zkcfg_defaults(struct zkcfg *);
int	 zkcfg_4lw_allowed(const struct zkcfg *, const char *);
char	*zkcfg_trim(char *);
int	 zkcfg_num(const char *, long long, long long, long long *);

/* member.c: the ensemble's membership, reconfig */
#define ZK_DYNAMIC	"zoo.cfg.dynamic"	/* in dataDir */
int	 zkcfg_server(struct zkserver *, int, char *, const char **);
void	 zkcfg_conftext(struct zkbuf *, struct zkserver *, int, int64_t);
int	 zkcfg_reconfig(const struct zkserver *, int, const char *,
	    const char *, const char *, struct zkserver *, int *,
	    const char **);
int	 zkcfg_parsetext(const char *, struct zkserver *, int *, int64_t *,
	    const char **);
int	 zkmembers(int *, int *, int *, int, const int *, const int *, int,
	    int *);

/* loop.c: one epoll loop per daemon, buffered connections */
struct zkloop;
struct zkconn {
	int		 fd;
	struct zkbuf	 in, out;
	void		*arg;
	int		 closing;	/* close once out is flushed */
	int		 dead;
	int		 noread;	/* stop reading: set with zkloop_pause */
	int		 owe;		/* an answer is due: zkloop_owe */
	int		 eof;		/* the peer shut its side, owed one */
	int		 linger;	/* a close after output: shut our side,
					   read the peer's to its end (a
					   while), then close: no reset */
	int		 lingering;	/* ... doing that, after onclose */
	int64_t		 lingerto;	/* ... until then (ms, monotonic) */
	uint32_t	 events;	/* what epoll watches for (the loop's) */
	uint64_t	 seq;		/* opened seq-th: the order passes serve */
	int		 queued;	/* on the loop's to-flush list */
	void		(*onread)(struct zkconn *);
	void		(*onclose)(struct zkconn *);
	void		(*ondrain)(struct zkconn *);	/* out all written:
					   room for more of a stream too big
					   to queue whole; NULL none */
	struct zkloop	*loop;
	TAILQ_ENTRY(zkconn) entry;	/* on the loop's live or dead list */
	TAILQ_ENTRY(zkconn) qentry;	/* on its to-flush queue */
};
struct zkloop	*zkloop_new(void);
struct zkconn	*zkloop_conn(struct zkloop *, int, void (*)(struct zkconn *),
		    void (*)(struct zkconn *), void *);
int		 zkloop_listen(struct zkloop *, int,
		    void (*)(struct zkloop *, int, void *), void *);
void		 zkloop_close(struct zkconn *);
void		 zkloop_pause(struct zkconn *, int);
void		 zkloop_owe(struct zkconn *, int);
void		 zkloop_forks(struct zkloop *);
const struct sockaddr *zkloop_peer(struct zkloop *, socklen_t *);
void		 zkloop_kill(struct zkconn *);
int		 zkloop_run(struct zkloop *, int);
void		 zkloop_push(struct zkloop *);
void		 zkloop_free(struct zkloop *);

/* digest.c */
size_t	 zk_base64(char *, const void *, size_t);
size_t	 zk_digest_id(char *, const char *, size_t);

/* sasl.c: SASL DIGEST-MD5 server side; users from a JAAS file's Server entry */
struct zksasluser {
	char		*name;
	char		*pass;
	size_t		 passlen;
};
struct zkjaas {
	struct zksasluser *u;
	size_t		 n;
	int		 server;	/* the file has a Server entry */
};
struct zksasl {
	int		 step;		/* 0 challenge next, 1 verify, 2 over */
	int		 done;		/* authenticated as user */
	char		 nonce[48];
	char		 user[256];
};
int	 zkjaas_load(struct zkjaas *, const char *, char *, size_t);
const struct zksasluser *zkjaas_user(const struct zkjaas *, const char *,
	    size_t);
void	 zkjaas_free(struct zkjaas *);
int	 zksasl_step(struct zksasl *, const struct zkjaas *, const void *,
	    size_t, struct zkbuf *, const char **);

/*
 * req.c: the client port's records.  zkreq_decode turns one request
 * frame body (RequestHeader + record) into its request line (see
 * STREAMS.md), appended to line, with session= xid= and the given
 * preformatted auth fields (" auth=ip:127.0.0.1 ...", may be "").
 * Returns 0, or a ZooKeeper error code to answer with (ZMARSHALLINGERROR
 * for an undecodable record, ZUNIMPLEMENTED for an unknown opcode,
 * ZBADARGUMENTS ...); *xid and *type are set whenever the header could be
 * read.  zkrep_encode turns a reply line from zk-tree (`r ...`) for a
 * request of the given type into a whole reply frame appended to frame.
 */
int	 zkreq_decode(struct zkbuf *, const char *, size_t, int64_t,
	    const char *, int32_t *, int32_t *);
int	 zkrep_encode(struct zkbuf *, const struct zkline *, int32_t);

/* client.c: a synchronous client of the client port (zk-cli) */
struct zkevent {
	int32_t		 type, state;
	char		*path;
	TAILQ_ENTRY(zkevent) entry;
};
struct zkreply {
	int32_t		 xid, err;
	int64_t		 zxid;
	struct jr	 r;		/* the body, valid until the next call */
};
struct zkclient {
	int		 fd;
	char		 addr[300];	/* the server last tried, as given */
	int64_t		 session, lastzxid;
	int		 timeout;	/* negotiated, ms */
	unsigned char	 passwd[16];
	int32_t		 xid, cxid;
	int64_t		 lastsend;	/* monotonic ms */
	size_t		 frame, consume;
	struct zkbuf	 in, out;
	volatile sig_atomic_t *intr;	/* set by a handler: zkc_wait returns */
	TAILQ_HEAD(, zkevent) events;
};
int	 zkc_connect(struct zkclient *, const char *, int, int);
struct zkbuf *zkc_begin(struct zkclient *, int32_t);
struct zkbuf *zkc_beginx(struct zkclient *, int32_t, int32_t);
int	 zkc_call(struct zkclient *, struct zkreply *);
int	 zkc_wait(struct zkclient *, int);
int	 zkc_keepalive(struct zkclient *);
struct zkevent *zkc_event(struct zkclient *);
void	 zkc_event_free(struct zkevent *);
void	 zkc_close(struct zkclient *);
int	 zkc_word(const char *, const char *, int, struct zkbuf *);

/* util.c */
int64_t	 zk_now_ms(void);		/* wall clock, ms since the epoch */
int64_t	 zk_mono_ms(void);		/* monotonic, ms */
int	 zk_daemonopt(int, const char *, const char **, const char **);
int	 zk_nonblock(int);
int	 zk_replace(int, const char *, const void *, size_t);
int	 zk_listen_unix(const char *);
int	 zk_connect_unix(const char *, int);
pid_t	 zk_supervisor(void);		/* ZK_NODE_PID, or 0 */
int	 zk_onterm(void);		/* SIGTERM sets zk_termed() */
int	 zk_termed(void);
int	 zk_supervisor_fd(void);	/* its pidfd, or < 0 */
int	 zk_orphaned(void);		/* 1 once it is gone */
int	 zk_listen_tcp(const char *, int);
int	 zk_dial_tcp(const char *, int);
uint32_t zk_crc32c(uint32_t, const void *, size_t);
void	 zk_hexenc(char *, const void *, size_t);	/* 2n digits + NUL */
int	 zk_hexdec(void *, size_t, const char *);	/* -1: not 2n digits */
const char *zk_opname(int);
int	 zk_opcode(const char *);
int	 zk_isreadop(int);
int	 zk_iswriteop(int);
extern int zk_debug;
void	 zk_dbg(const char *, ...) __attribute__((format(printf, 1, 2)));

/* snap.c: snapshot files (zk-snap(1)); DIR is a dataDir */
struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
struct zksnapent {
	int64_t		 zxid;
	char		 path[4096];
};
struct zksnapw {
	int		 fd;
	char		 path[4096], tmp[4100], dir[4096];
	struct ZSTD_CCtx_s *cs;
	char		*out;
	size_t		 outcap;
	uint64_t	 written;	/* compressed bytes */
};
/*
 * The longest snapshot line a reader takes, unless the header's
 * maxline= says more (at most ZKSNAP_MAXLINEMAX): a line that never
 * ends is refused, not read into memory without bound.
 */
#define ZKSNAP_MAXLINE		((size_t)16 << 20)
#define ZKSNAP_MAXLINEMAX	((size_t)1 << 36)
struct zksnapr {
	int		 fd, eof, any;
	struct ZSTD_DCtx_s *ds;
	char		*in;
	size_t		 incap, inpos, inlen, last, consume;
	size_t		 nline, maxline;
	struct zkbuf	 out;
};
struct zksnapinfo {
	int64_t		 zxid, time, nodes, sessions;
};
int	 zksnap_dir(const char *, char *, size_t);
int64_t	 zksnap_namezxid(const char *);
int	 zksnap_list(const char *, struct zksnapent **, size_t *);
int	 zksnap_wopen(struct zksnapw *, const char *, int64_t);
int	 zksnap_write(struct zksnapw *, const void *, size_t);
int	 zksnap_commit(struct zksnapw *);
void	 zksnap_abort(struct zksnapw *);
int	 zksnap_ropen(struct zksnapr *, const char *);
int	 zksnap_line(struct zksnapr *, char **, size_t *, const char **);
size_t	 zksnap_hdrmax(const char *);
void	 zksnap_rclose(struct zksnapr *);
int	 zksnap_read(const char *, struct zksnapinfo *,
	    int (*)(struct zkline *, void *, const char **), void *,
	    const char **);

/*
 * epochs.c: an ensemble node's accepted and current epochs, DIR/epochs:
 * two blocks, each a checksummed line, updated in place by turns.
 */
#define ZKEP_BLOCK	4096
struct zkepochs {
	int		 fd;
	int		 at;		/* the block with the newest state */
	uint64_t	 seq;		/* ... its number */
	int64_t		 accepted, current;
	char		 why[160];	/* zkep_open's failure */
};
size_t	 zkep_format(char *, uint64_t, int64_t, int64_t);
int	 zkep_parse(const void *, size_t, uint64_t *, int64_t *, int64_t *);
int	 zkep_open(struct zkepochs *, int);
int	 zkep_set(struct zkepochs *, int64_t, int64_t);
void	 zkep_close(struct zkepochs *);

/*
 * seg.c: the transaction log's segments, DIR/log.<16 hex: first zxid>,
 * records be32 length | be32 crc32c(line) | line, zeros to the
 * preallocated end (zk-log(1)).
 */
#define ZKSEG_HDRLEN	8
enum { ZKSEG_OK, ZKSEG_BAD, ZKSEG_GAP };	/* or -1 with errno */
struct zkseg {
	int64_t		 first;		/* from the name */
	char		 path[4096];
};
/*
 * A walk over the stored records, oldest first.  Records after floor go
 * to fn (-1 stops the walk); with strict set, the first of them must be
 * floor + 1.
 */
struct zkscan {
	int64_t		 floor;
	int		 strict;
	int64_t		 stop;		/* 0, or done once this zxid is read */
	off_t		 at;		/* 0, or the first segment from here, */
	int64_t		 atz;		/* ... where record atz starts */
	int		(*fn)(struct zkscan *, const char *, size_t, int64_t);
	void		*arg;
	/* filled in */
	int64_t		 last;		/* last zxid seen, 0 none */
	size_t		 nrec, ndeliv;
	size_t		 seg;		/* segment being read, or bad */
	off_t		 off;		/* end of the record just read, bad
					   offset, or end of the last segment */
	const char	*why;		/* ZKSEG_BAD: what is bad */
	int		 torn;		/* the last segment has a torn tail */
	int64_t		 gapz;		/* ZKSEG_GAP: first zxid after floor */
	char		 path[4096];	/* segment seg */
	char		 whybuf[128];
};
/* what a fault hook is asked before each step (tests make one fail) */
enum { ZKLOG_FWRITE = 'w', ZKLOG_FSYNC = 's', ZKLOG_FALLOC = 'a' };
struct zklog {
	char		 dir[4096];
	int		 dirfd;		/* locked */
	int		 fd;		/* current segment, -1 none */
	char		 path[4096];
	int64_t		 first;		/* its name */
	off_t		 end;		/* its logical end */
	long long	 segsize;	/* 0: no preallocation, no limit */
	int		 noprealloc;	/* preallocation failed on fd */
	int		 allocerr;	/* errno of a failed preallocation */
	int		 dead;		/* errno: could not undo a failure */
	const char	*deadwhy;
	int64_t		 last;		/* last zxid written (durable unless
					   syncms) */
	int64_t		 syncus;	/* the last append's fdatasync, -1
					   none */
	int64_t		 syncms;	/* 0: fdatasync every append; else at
					   most once in this many ms */
	int64_t		 syncedus;	/* when the last one was (usecs) */
	int		(*fault)(void *, int);	/* 1: fail this step */
	void		*faultarg;
};
int	 zkseg_list(const char *, struct zkseg **, size_t *);
int	 zkseg_walk(const struct zkseg *, size_t, struct zkscan *);
int	 zkseg_scan(struct zkscan *, int64_t, int, const void *, size_t);
void	 zkseg_header(void *, const void *, size_t);
void	 zkseg_frame(struct zkbuf *, const void *, size_t);
int	 zklog_open(struct zklog *, const char *, long long);
int	 zklog_resume(struct zklog *, const char *, int64_t, off_t, int,
	    int64_t);
int	 zklog_skip(struct zklog *, int64_t);
int	 zklog_append(struct zklog *, const void *, size_t, int64_t, int64_t);
int	 zklog_truncate(struct zklog *, int64_t, struct zkscan *);
int	 zklog_syncall(struct zklog *, struct zkscan *);
void	 zklog_close(struct zklog *);
/* elect.c: fast leader election, a state machine without I/O */
enum { FLE_LOOKING, FLE_FOLLOWING, FLE_LEADING, FLE_OBSERVING };
#define FLE_FINALIZE	200	/* ms a settled count waits for a better vote */
#define FLE_RESEND	200	/* ms before a looker sends its vote again, */
#define FLE_RESENDMAX	1600	/* ... doubling up to this */
#define FLE_MAXSEND	(2 * ZK_MAXSERVERS)
struct fle_vote {
	int64_t		 leader;	/* its myid; -1: no one (an observer) */
	int64_t		 zxid;		/* the last zxid it logged */
	int64_t		 epoch;		/* its current epoch */
};
struct fle_msg {
	int		 from, to;	/* myids */
	int		 state;		/* the sender's, FLE_* */
	int64_t		 round;		/* its election round */
	struct fle_vote	 vote;
};
struct fle_seen {
	int		 has, state;
	int64_t		 round;
	struct fle_vote	 vote;
};
struct fle {
	int		 myid, me, n, nvoters;	/* me: our slot */
	int		 ids[ZK_MAXSERVERS];	/* every server, us too */
	int		 voter[ZK_MAXSERVERS];	/* 0: an observer */
	int		 state;
	int64_t		 round;
	struct fle_vote	 mine, prop, settled;
	int64_t		 leader;		/* settled on, or -1 */
	struct fle_seen	 recv[ZK_MAXSERVERS];	/* this round's votes */
	struct fle_seen	 out[ZK_MAXSERVERS];	/* those out of election */
	int64_t		 finalize;		/* settle then, 0: not yet */
	int		 down[ZK_MAXSERVERS];	/* its connection closed */
	int64_t		 resend, interval;
	int64_t		 handto;	/* the next fle_start votes for this
					   voter, not us (a leader that
					   handed off), then -1 again */
};
struct fle_out {
	struct fle_msg	 send[FLE_MAXSEND];
	size_t		 nsend;
	int		 settled;	/* state, leader and round are new */
};
int	 fle_init(struct fle *, int, const int *, const int *, int);
int	 fle_members(struct fle *, const int *, const int *, int);
void	 fle_start(struct fle *, int64_t, int64_t, int64_t, struct fle_out *);
void	 fle_recv(struct fle *, int64_t, const struct fle_msg *,
	    struct fle_out *);
void	 fle_tick(struct fle *, int64_t, struct fle_out *);
void	 fle_peerup(struct fle *, int, struct fle_out *);
void	 fle_peerdown(struct fle *, int64_t, int, struct fle_out *);
void	 fle_epoch(struct fle *, int64_t);
int64_t	 fle_deadline(const struct fle *);
int	 fle_better(const struct fle_vote *, const struct fle_vote *);
const char *fle_statename(int);
void	 fle_put(struct zkbuf *, const struct fle_msg *, const char *,
	    size_t);
int	 fle_parse(const struct zkline *, struct fle_msg *);

/* zab.c: ZooKeeper atomic broadcast between peers, a state machine without I/O */
enum {				/* peer messages */
	ZM_FINFO, ZM_LINFO, ZM_ACKEPOCH, ZM_DIFF, ZM_TRUNC, ZM_SNAP,
	ZM_PROPOSAL, ZM_NEWLEADER, ZM_ACK, ZM_UPTODATE, ZM_COMMIT, ZM_INFORM,
	ZM_PING, ZM_READ, ZM_READOK, ZM_NTYPES
};
struct zab_msg {
	int		 type;		/* ZM_* */
	int		 observer;	/* FINFO: the learner is an observer */
	int		 counted;	/* LINFO: the epoch has its quorum */
	int64_t		 epoch;		/* FINFO accepted, LINFO new, ACKEPOCH
					   current, NEWLEADER the new epoch */
	int64_t		 zxid;		/* FINFO/ACKEPOCH last logged;
					   DIFF/TRUNC/SNAP base; PROPOSAL/
					   INFORM its own; NEWLEADER the end of
					   the history; ACK, COMMIT, UPTODATE */
	int64_t		 commit;	/* PROPOSAL: the leader's commit point;
					   READ, READOK: the request's id */
	const void	*data;		/* PROPOSAL/INFORM: the transaction */
	size_t		 len;
};
/* Actions, done by the caller in order, all before the next event: a
   message listed before a durable write may go out before the write is
   done (the caller writes its queued messages first, so that peers work
   while it waits on the disk); one listed after goes out only after. */
enum {
	ZA_SEND,	/* .m to .peer */
	ZA_SENDLOG,	/* to .peer the logged txns (zxid, zxid2] as PROPOSALs,
			   or INFORMs if .m.type is ZM_INFORM */
	ZA_SENDSNAP,	/* to .peer a SNAP: the tree as every commit handed
			   on so far left it, at .zxid */
	ZA_ACCEPTED,	/* make acceptedEpoch .zxid durable, now */
	ZA_CURRENT,	/* make currentEpoch .zxid durable, now */
	ZA_TRUNC,	/* cut the log after .zxid, durably, now */
	ZA_SNAPLOAD,	/* make the SNAP that came with the message durable,
			   load it into the tree, empty the log: all now */
	ZA_APPEND,	/* append .m (zxid, commit, data), report zab_durable */
	ZA_COMMIT,	/* hand the tree every txn up to .zxid */
	ZA_CONNECT,	/* dial the leader .peer, report zab_connected */
	ZA_CLOSE,	/* close the connection to .peer, -1: every one;
			   .zxid 1: once what is queued to it is written */
	ZA_READ,	/* the read index of our request .zxid2 (zab_read):
			   reads may be served once the tree has .zxid;
			   -1: none (not serving) */
	ZA_NTYPES
};
#define ZAB_MAXACT	(12 * ZK_MAXSERVERS + 16)
struct zab_act {
	int		 type, peer;
	int64_t		 zxid, zxid2;
	struct zab_msg	 m;
};
struct zab_out {
	struct zab_act	 a[ZAB_MAXACT];
	size_t		 n;
	int		 looking;	/* left its role: elect again */
	int		 serving;	/* -1 unchanged, else 0 or 1 */
	const char	*why;		/* why it left, for the log */
};
struct zab_span {			/* counters first..last of one epoch */
	int64_t		 epoch;
	uint32_t	 first, last;
};
struct zab_peer {
	int		 phase;		/* ZPP_* in zab.c */
	int		 observer;
	int64_t		 aepoch, cepoch, last;	/* what it reported */
	int64_t		 upto;		/* its NEWLEADER zxid */
	int64_t		 ack;		/* durable and ours up to here */
	int64_t		 sent;		/* sent up to here (observers) */
	int64_t		 heard;		/* ms */
	int64_t		 pong;		/* the last read round it echoed */
};
struct zab {
	int		 myid, me, n, nvoters;
	int		 ids[ZK_MAXSERVERS], voter[ZK_MAXSERVERS];
	int		 tick, initlimit, synclimit;	/* ms */
	int		 role;		/* FLE_* */
	int		 phase;		/* ZP_* in zab.c */
	int		 leader;	/* slot, -1 */
	int64_t		 aepoch, cepoch;	/* durable */
	int		 aleader;	/* slot aepoch came from, -1 */
	int64_t		 epoch;		/* the one being led or followed */
	int64_t		 seen;		/* leader: the highest accepted epoch
					   a late learner reported */
	int64_t		 base;		/* log holds (base, last] */
	struct zab_span	*span;
	size_t		 nspan, capspan;
	int64_t		 durable, commit, delivered;
	uint32_t	 counter;	/* leader: last proposal's */
	int64_t		 upto;		/* NEWLEADER zxid */
	int64_t		 acked;		/* learner: last ACK sent */
	int64_t		 deadline, heard, nextping;
	struct zab_peer	 peer[ZK_MAXSERVERS];
	/* read index (zab_read): a leader's rounds of pings, each
	   confirming that it still leads, and the requests by slot */
	int64_t		 rround;	/* the last round started */
	int64_t		 rcommit;	/* the commit point it started at */
	int		 rbusy;		/* it has no quorum yet */
	uint64_t	 rcur[ZK_MAXSERVERS];	/* answered by this round */
	uint64_t	 rnext[ZK_MAXSERVERS];	/* by the next */
	uint64_t	 rwait;		/* a learner's, at its leader */
	/* leader handoff (zab_handoff) */
	int		 hto;		/* the slot handed to, -1: none */
	int64_t		 hdeadline;	/* ms: given up then */
	int		 handto;	/* once it stepped down: the myid its
					   election votes for, -1: itself */
};
int	 zab_init(struct zab *, int, const int *, const int *, int, int, int,
	    int);
void	 zab_free(struct zab *);
int	 zab_members(struct zab *, const int *, const int *, int, int *,
	    struct zab_out *);
int	 zab_synced(const struct zab *, int *);
int	 zab_load(struct zab *, int64_t, int64_t, int64_t, int64_t);
int	 zab_logged(struct zab *, int64_t);
int64_t	 zab_last(const struct zab *);
void	 zab_role(struct zab *, int64_t, int, int, struct zab_out *);
void	 zab_recv(struct zab *, int64_t, int, const struct zab_msg *,
	    struct zab_out *);
void	 zab_connected(struct zab *, int64_t, int, struct zab_out *);
void	 zab_closed(struct zab *, int64_t, int, struct zab_out *);
void	 zab_durable(struct zab *, int64_t, int64_t, struct zab_out *);
void	 zab_tick(struct zab *, int64_t, struct zab_out *);
int64_t	 zab_propose(struct zab *, int64_t, const void *, size_t,
	    struct zab_out *);
void	 zab_purged(struct zab *, int64_t);
void	 zab_read(struct zab *, int64_t, uint64_t, struct zab_out *);
int	 zab_handoff(struct zab *, int64_t, int, struct zab_out *);
int	 zab_leavable(const struct zab *);
int	 zab_proposing(const struct zab *);
int64_t	 zab_deadline(const struct zab *);
int	 zab_serving(const struct zab *);
struct zab_status {
	const char	*phase;		/* election, discovery,
					   synchronization, broadcast */
	int		 learners;	/* a leader's: connected */
	int		 followers, observers;	/* up to date */
	int		 syncing;	/* being synced */
};
void	 zab_status(const struct zab *, struct zab_status *);
const char *zab_msgname(int);
void	 zab_put(struct zkbuf *, const struct zab_msg *);
int	 zab_parse(const struct zkline *, struct zab_msg *);

/* shm.c: the ring zk-tree hands big values to zk-gate in */
struct zkshm {
	void		*map;
	size_t		 maplen;
	char		*data;
	uint64_t	 size;
	_Atomic uint64_t *done;		/* in the header: the gate's */
	_Atomic int64_t	*zxid;		/* ... zk-tree's applied zxid */
	uint64_t	 head;		/* zk-tree's next position */
	int		 fd;		/* zk-tree's memfd, else -1 */
};
int	 zkshm_create(struct zkshm *, size_t);
int	 zkshm_send(const struct zkshm *, int);
int	 zkshm_fetch(struct zkshm *, const char *, int);
int	 zkshm_map(struct zkshm *, int);
void	 zkshm_close(struct zkshm *);
int	 zkshm_put(struct zkshm *, const void *, size_t, uint64_t *);
void	 zkshm_reset(struct zkshm *);
const char *zkshm_at(const struct zkshm *, uint64_t, uint64_t);
void	 zkshm_release(struct zkshm *, uint64_t);
int	 zkshm_parse(const char *, uint64_t *, uint64_t *);
void	 zkshm_setzxid(struct zkshm *, int64_t);
int64_t	 zkshm_zxid(const struct zkshm *);
extern struct zkshm	*zkrep_shm;	/* where zkrep_encode finds shm= */
int	 zkrep_split(const struct zkline *, struct zkbuf *, const char **,
	    size_t *, struct zkbuf *);

#endif
