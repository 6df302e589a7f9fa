/*
 * zk-snap's private header: main.c the subcommands, import.c an Apache
 * ZooKeeper data directory made into a zk one, apache.c reading
 * Apache's files.
 */
#ifndef ZK_SNAP_H
#define ZK_SNAP_H

#define AP_SNAPMAGIC	0x5a4b534eu	/* "ZKSN" */
#define AP_LOGMAGIC	0x5a4b4c47u	/* "ZKLG" */
#define AP_SECRET	0xB3415C00LL	/* SessionTrackerImpl's superSecret */
#define AP_CONTAINER	INT64_MIN	/* EphemeralType.CONTAINER owner */
#define AP_EXTMASK	((int64_t)0xff00000000000000ULL)
#define AP_TTLMASK	((int64_t)0x0000ffffffffffffULL)

struct apfile {
	int64_t			 zxid;
	char			 path[PATH_MAX];
};

extern const char	*apin;

/* main.c */
void	 fsyncdir(const char *);
void	 mkdirs(const char *);

/* import.c */
int	 zkimport(const char *, const char *, const char *);

/* apache.c */
uint32_t adler32(uint32_t, const unsigned char *, size_t);
void	 appasswd(int64_t, char [33]);
void	 apbad(const struct jr *, const char *) __attribute__((noreturn));
void	 apok(const struct jr *);
int32_t	 apint(struct jr *);
int64_t	 aplong(struct jr *);
const unsigned char *apbuf(struct jr *, int32_t *);
void	 apmap(const char *, struct jr *);
void	 apheader(struct jr *, uint32_t, const char *, const char *);
void	 apunmap(struct jr *);
void	 apseal(struct jr *, uint32_t *, size_t *);
struct apfile *apfiles(const char *, const char *, size_t *);
int	 emptydir(const char *);
void	 apdir(const char *, char *, size_t);

#endif
