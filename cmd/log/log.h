/* log.h: what the files of zk-log share. */
#ifndef LOG_H
#define LOG_H

struct segs {
	struct zkseg	*v;
	size_t		 n;
};

/* serve.c */
void	 usage(void) __attribute__((noreturn));
void	 listsegs(const char *, struct segs *);
int	 walk(struct segs *, struct zkscan *);
const char *field(const char *, size_t, const char *, size_t *);

/* tool.c: dump, last, verify, replay, truncate */
int	 tool(int, char *[]);

#endif
