/*
 * zk-cli's private header: what its files share.  Include after
 * <getopt.h>, <signal.h> and "zk.h".
 */

/* exit statuses, zk-cli(1) */
#define X_DONE		0
#define X_NONODE	1
#define X_EXISTS	2
#define X_BADVERSION	3
#define X_NOAUTH	4
#define X_NOTEMPTY	5
#define X_BADACL	6
#define X_BADARGS	7
#define X_EPHEMERAL	8
#define X_ZKERR		9
#define X_TIMEOUT	EX_TEMPFAIL	/* 75: lock held, wait-for timed out */
#define X_LOST		EX_UNAVAILABLE	/* 69: unreachable, connection lost */

#define LOST		1000	/* call(): the connection is gone */
#define MAXDATA		ZK_MAXBUFFER

struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*usage;
};

struct strv {
	char		**v;
	size_t		  n;
};

/* main.c: the options */
extern const struct option longopts[];
extern const char	*hosts;
extern int		 connectms, sessionms;
extern int		 gescape, gjson;	/* -e, -j before the command */
extern int		 interactive;
extern struct strv	 auths;			/* -a scheme:auth */

/* cmd.c */
extern int		 escape, json;		/* this command's */
int		 cmdusage(void);
int		 run(int, char **);
int		 opt(int, char **, const char *);
int		 c_config(int, char **);
int		 c_reconfig(int, char **);
int		 c_handoff(int, char **);

/* session.c */
extern struct zkclient	 zc;
extern int		 connected, dead;	/* dead: the session is lost */
const char	*zkerrstr(int);
int		 fail(int, const char *);
int		 conn(void);
int		 call(struct zkreply *);
int		 badpath(const char *, int);
int		 putacls(struct zkbuf *, const char *);
int		 checkacl(const char *);
void		 strv_free(struct strv *);
int		 children(const char *, int, struct strv *);
int		 exists(const char *, int, struct zkstat *);
int		 delete(const char *, int32_t);
int		 create(const char *, const char *, size_t, int, int64_t,
		    const char *, char **);
int		 parents(const char *);
char		*childpath(const char *, const char *);

/* print.c */
void		 putval(const char *, size_t, int);
void		 jstr(const char *, size_t);
void		 jstat(const struct zkstat *);
void		 putstat(const struct zkstat *);

/* watch.c */
extern volatile sig_atomic_t woke, gotsig, gotchld;
void		 catch(int);
int		 waitev(int);
int		 deadline(const char *, int64_t *);
int		 waitany(int64_t);
int		 c_watch(int, char **);
int		 c_wait_for(int, char **);

/* lock.c */
int		 c_lock(int, char **);
int		 c_elect(int, char **);

/* interactive.c */
int		 shell(void);
