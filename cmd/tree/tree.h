/*
 * zk-tree's private header: the tree's types and what its files share.
 * Include after <sys/queue.h>, <sys/tree.h> and "zk.h".
 */

#define MAXTTL		0xffffffffffLL	/* EphemeralType.MAX_TTL */
#define OUTMAX		(1 << 20)	/* stop reading a gate this far behind */
#define SHMSIZE		(16 << 20)	/* the ring for big values (shm.c) */
#define SHMMIN		4096		/* smaller values go in the line */

enum { K_NORMAL, K_EPHEMERAL, K_CONTAINER, K_TTL };

struct ace {
	int32_t		 perms;
	const char	*scheme, *id;
};

struct acl {
	RB_ENTRY(acl)	 entry;
	size_t		 refs, n;
	char		*key;		/* "perms:scheme:id\n" per entry */
	struct ace	 ent[];
};
RB_HEAD(acltree, acl);

struct node;
RB_HEAD(kids, node);
struct node {
	RB_ENTRY(node)	 entry;
	struct kids	 kids;
	LIST_ENTRY(node) eph;		/* the owner's ephemerals */
	struct node	*parent;
	char		*data;		/* NULL: null; may point after name */
	struct acl	*acl;
	int64_t		 czxid, mzxid, pzxid, ctime, mtime;
	int64_t		 owner;		/* session (ephemeral) or ttl (TTL) */
	int32_t		 version, cver, aversion, nkids, dlen;
	uint64_t	 dh;		/* its term in the digest, 0: none */
	uint32_t	 nlen;
	uint8_t		 kind;
	uint8_t		 linked;	/* in the tree (attached) */
	uint8_t		 dirty;		/* to be hashed again (touch) */
	char		 name[];
};

struct sess {
	RB_ENTRY(sess)	 entry;
	int64_t		 id, timeout;
	char		*passwd;
	LIST_HEAD(, node) eph;
	int		 hadeph;	/* Apache keeps an emptied set */
};
RB_HEAD(sesstree, sess);

/* watches: mode per table, last registration wins as in Apache */
enum { WT_DATA, WT_CHILD };
enum { WM_NONE, WM_STD, WM_PERS, WM_REC };
struct wpath;
struct wsess;
struct watch {
	TAILQ_ENTRY(watch) bypath;
	TAILQ_ENTRY(watch) bysess;
	struct wpath	*wp;
	struct wsess	*ws;
	uint8_t		 mode[2];
};
struct wpath {
	RB_ENTRY(wpath)	 entry;
	TAILQ_HEAD(, watch) w;
	size_t		 n, plen;
	char		 path[];
};
RB_HEAD(wptree, wpath);
struct wsess {
	RB_ENTRY(wsess)	 entry;
	TAILQ_HEAD(, watch) w;
	size_t		 n;
	int64_t		 id;
	uint64_t	 seen;		/* trigger generation */
};
RB_HEAD(wstree, wsess);

/* the undo log of one txn (multi rolls back with it) */
enum { U_CREATE, U_DELETE, U_SETDATA };
struct undo {
	int		 kind;
	struct node	*n;
	char		*data;
	int32_t		 dlen, version;
	int64_t		 mzxid, mtime, ppzxid;
};

/* events to fire once the txn succeeds */
enum { I_CREATED, I_DELETED, I_CHANGED };
struct intent {
	int		 kind;
	size_t		 off, len;
};

enum { R_NONE, R_LOG, R_GATE, R_SESSD, R_SNAP };
struct peer {
	struct zkconn	*c;
	int		 role, pending, wantsnap;
	TAILQ_ENTRY(peer) entry;
};
TAILQ_HEAD(peerq, peer);

struct fv {				/* a range of a line's fields */
	struct zkfield	*f;
	size_t		 n;
};

struct authid {
	const char	*scheme, *id;
	size_t		 slen;
};

struct req {
	int64_t		 session, xid, zxid, time;
	int		 hasxid, super;
	int		 nottl;		/* TTL nodes disabled where accepted */
	int		 away;		/* via another node: not ours to answer */
	struct sess	*s;
	struct authid	*auth;
	size_t		 nauth;
};

RB_PROTOTYPE(kids, node, entry, nodecmp)
RB_PROTOTYPE(acltree, acl, entry, aclcmp)
RB_PROTOTYPE(sesstree, sess, entry, sesscmp)
RB_PROTOTYPE(wptree, wpath, entry, wpcmp)
RB_PROTOTYPE(wstree, wsess, entry, wscmp)

/* main.c */
extern struct zkcfg	 cfg;
void	 usage(void) __attribute__((noreturn));
void	*xmalloc(size_t);
void	*xgrow(void *, size_t *, size_t, size_t);
void	 bufcheck(struct zkbuf *);

/* tree.c */
extern struct node	*root;
extern struct node	*confignode;	/* /zookeeper/config */
void	 initconfig(void);
uint64_t	 treedigest(void);
void		 touch(struct node *);
void		 digestflush(void);
extern size_t		 nnodes, nephem, nspecial;
extern int64_t		 datasize;
int	 namecmp(const char *, size_t, const char *, size_t);
struct node	*kid(const struct node *, const char *, size_t);
struct node	*lookup(const char *, size_t);
size_t	 nodepath(struct zkbuf *, const struct node *);
void	 putstat(struct zkbuf *, const struct node *);
struct node	*newnode(struct node *, const char *, size_t,
    const struct zkfield *, struct acl *, int, int64_t);
void	 freedata(const struct node *, char *);
void	 setdata(struct node *, const struct zkfield *);
void	 freenode(struct node *);
struct node	*kidinsert(struct node *, struct node *);
void	 attach(struct node *);
void	 attached(struct node *);
void	 detach(struct node *);
int	 isspecial(const char *, size_t);
int	 validpath(const char *, size_t);
int64_t	 countall(struct node *);
void	 inittree(void);

/* acl.c */
void	 aclunref(struct acl *);
struct acl	*aclintern(const char *, size_t);
int	 fixacl(const struct req *, const struct fv *, struct acl **);
int	 allowed(const struct req *, const struct acl *, int);
void	 putacl(struct zkbuf *, const struct acl *, int);

/* sess.c */
extern struct sesstree	 sessions;
extern size_t		 nsess;
struct sess	*sessfind(int64_t);
void	 closesess(struct sess *, int64_t);
void	 op_createsession(const struct req *, const struct fv *);
void	 sendtable(void);

/* watch.c */
extern struct wptree	 wpaths;
extern struct wstree	 wsessions;
extern size_t		 nwmode[2][4];	/* watches by table and mode */
extern size_t		 nwatch, nwpath, nwsess;
void	 intent(int, const char *, size_t);
void	 intentnode(int, const struct node *);
struct wpath	*wpfind(const char *, size_t);
struct wsess	*wsfind(int64_t);
struct watch	*wfind(struct wsess *, struct wpath *);
void	 wsetmode(struct watch *, int, int);
void	 wadd(int64_t, const char *, size_t, int, int);
void	 emit(int64_t, int, const char *, size_t);
void	 fire(void);
void	 intentclear(void);
void	 wdropsess(int64_t);
void	 wdropall(void);

/* apply.c */
extern int64_t		 lastzxid;
void	 commit(void);
void	 delnode(struct node *, int64_t);
void	 reqinit(struct req *, const struct zkline *, struct fv *);
size_t	 nextop(const struct zkline *, size_t, struct fv *);
void	 apply(struct zkline *);

/* read.c */
void	 serve(struct zkconn *, struct zkline *);

/* fourlw.c */
void	 text(struct zkconn *, const char *);
void	 stats(struct zkconn *);

/* conn.c */
extern struct peerq	 pending;
extern struct zkconn	*logc, *gatec, *sessc;
extern struct zkshm	 shm;	/* the ring for big values */
extern int		 gateshm;	/* gatec said hello shm=1 */
extern int		 ready, logclosed;
void	 replyhead(struct zkbuf *, const struct req *, int64_t);
void	 reply(struct zkconn *, const struct req *, int64_t, int,
    const struct zkbuf *);
void	 onaccept(struct zkloop *, int, void *);
void	 drain(void);
void	 unblock(struct zkconn *);

/* sweep.c */
void	 sweep(struct node *, int64_t);

/* snap.c */
extern pid_t		 snappid;	/* the child writing one */
extern long		 sincesnap, snapat;
void	 snapsetup(const char *);
long	 snapthreshold(void);
void	 snapstart(void);
void	 snapreap(void);
void	 snapreq(struct peer *);
void	 snapunwait(struct peer *);

/* load.c */
extern int64_t		 loadedzxid;	/* the snapshot we started from */
void	 loadsnap(char *[]);
int	 loadmain(int, char *[]);
