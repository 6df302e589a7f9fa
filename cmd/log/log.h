/* log.h: what the files of zk-log share. */
#ifndef LOG_H
#define LOG_H

struct segs {
	struct zkseg	*v;
	size_t		 n;
};

struct client {
	struct zkconn		*c;
	int			 gate;	/* said hello role=gate */
	int			 sessiond;	/* ... role=sessiond */
	struct zkbuf		 fail;	/* its batch's `fail` lines */
	LIST_ENTRY(client)	 entry;
};

struct logstate {
	struct zklog	 log;			/* DIR/zk: libzk/seg.c */
	long long	 segsize;
	struct zkbuf	 rec;			/* framed records of the batch */
	struct zkbuf	 fwd;			/* the batch for zk-tree */
	struct zkbuf	 tmp;
	int64_t		 next;			/* zxid for the next txn */
	int64_t		 first;			/* first zxid of the batch */
	struct zkconn	*tree;
	LIST_HEAD(, client) clients;
	int		 fault;			/* ZK_LOG_FAULT */
	long		 faultn, nwrite, nsync, nalloc;
	int		 quorum;		/* in an ensemble: quorum.c */
};
extern struct logstate L;

/* serve.c */
void	 usage(void) __attribute__((noreturn));
void	 listsegs(const char *, struct segs *);
int	 walk(struct segs *, struct zkscan *);
void	 baddata(const struct zkscan *) __attribute__((noreturn));
void	 cutlog(struct zklog *, int64_t);
const char *field(const char *, size_t, const char *, size_t *);
int64_t	 hello(const char *, int *, struct zkbuf *,
	    void (*)(const char *, size_t));
void	 treeready(struct zkloop *, int, int64_t, struct zkbuf *);
void	 opendir_zk(const char *);
void	 allocwarn(void);
void	 writeall(int, const void *, size_t);
void	 durable(int, const char *, const char *, const void *, size_t);
int	 istxn(const char *, size_t);
void	 fsynced(int64_t);
void	 fsyncreport(void);
void	 togates(const struct zkbuf *);
void	 onaccept(struct zkloop *, int, void *);
void	 onread(struct zkconn *);
void	 ontreeclose(struct zkconn *);
void	 faultinit(void);
int	 faulty(void *, int);

/* quorum.c: the node in an ensemble */
int	 qserve(const struct zkcfg *, const char *);
void	 qtake(struct client *, char *, size_t);
void	 qhello(struct client *);
void	 qtouch(const char *, size_t);
void	 qsnapshot(char *, size_t);
void	 qdigest(char *, size_t);
void	 qsync(struct client *, char *, size_t);
void	 qbehind(struct client *, char *, size_t);
void	 qread(char *, size_t);
void	 qhandoff(struct client *);
void	 qstatreset(void);
void	 qgone(struct client *);

/* outbox.c: this node's writes until their fate is known (ensemble) */
enum { OB_WRITE, OB_SYNC, OB_READ };
void	 ob_emitter(void (*)(const char *, size_t));
int	 ob_add(struct client *, const char *, size_t, int);
size_t	 ob_queued(void);
void	 ob_send(int (*)(const char *, size_t, int));
void	 ob_done(const char *, size_t);
void	 ob_seen(const char *, size_t);
void	 ob_resync(void);
void	 ob_expire(int64_t, void (*)(struct client *, const char *, size_t));
void	 ob_gone(struct client *);

/* member.c: the ensemble's members, reconfig */
struct members {
	struct zkserver	 sv[ZK_MAXSERVERS];
	int		 n;
	int64_t		 version;	/* of the config text, 0 zoo.cfg's */
};
extern struct members M;
void	 members_init(const struct zkcfg *);
int	 members_prep(struct zkbuf *, const char *, size_t, int64_t,
	    const int *, int, int, int);
int	 members_adopt(const char *, const char *, size_t);

/* owner.c: which server each session is attached to (the leader's) */
void	 owner_set(int64_t, int);
void	 owner_drop(int64_t);
void	 owner_clear(void);
int	 owner_moved(int64_t, int);
void	 owner_touch(const char *, size_t, int);
int64_t	 owner_session(const char *, size_t);

/* tool.c: dump, last, verify, replay, truncate */
int	 tool(int, char *[]);

#endif
