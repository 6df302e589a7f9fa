/*
 * Reading Apache ZooKeeper's files for zk-snap import: libzk's jute
 * reader over a mapped file (its first failure, or a value that makes no
 * sense here, ends the import with the file and offset), the Adler32
 * seals, Apache's session passwords, and the version-2 directory.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "zk.h"
#include "snap.h"

const char	*apin;		/* the Apache file being read */

/* java.util.zip.Adler32 */
uint32_t
adler32(uint32_t a, const unsigned char *p, size_t n)
{
	uint32_t	 s1 = a & 0xffff, s2 = a >> 16;
	size_t		 k;

	while (n > 0) {
		k = n < 5552 ? n : 5552;	/* no overflow before the mod */
		n -= k;
		while (k-- > 0) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

/*
 * The password Apache gives a session: new java.util.Random(id ^
 * superSecret).nextBytes(16), as 32 hex digits.
 */
void
appasswd(int64_t id, char hex[33])
{
	const uint64_t	 mult = 0x5DEECE66DULL, mask = (1ULL << 48) - 1;
	uint64_t	 seed = ((uint64_t)id ^ (uint64_t)AP_SECRET ^ mult) & mask;
	uint32_t	 r;
	unsigned char	 pw[16];
	int		 i, k;

	for (i = 0; i < 16;) {
		seed = (seed * mult + 0xB) & mask;
		r = (uint32_t)(seed >> 16);		/* next(32) */
		for (k = 0; k < 4 && i < 16; k++, i++) {
			pw[i] = r & 0xff;
			r >>= 8;
		}
	}
	zk_hexenc(hex, pw, sizeof(pw));
}

/*
 * Reading an Apache file: libzk's jute reader over it (jr.base is the
 * file offset of a record's start); its first failure, or a value
 * that makes no sense here, ends the import.
 */
void __attribute__((noreturn))
apbad(const struct jr *c, const char *why)
{
	errx(EX_DATAERR, "%s: %s at offset %zu", apin, why, jr_off(c));
}

void
apok(const struct jr *c)
{
	if (c->bad)
		errx(EX_DATAERR, "%s: %s at offset %zu", apin, c->why != NULL ?
		    c->why : "bad record", c->at);
}

int32_t
apint(struct jr *c)
{
	int32_t	 v = jr_int(c);

	apok(c);
	return v;
}

int64_t
aplong(struct jr *c)
{
	int64_t	 v = jr_long(c);

	apok(c);
	return v;
}

/* A buffer or string: its bytes ("" if none), *len -1 for null. */
const unsigned char *
apbuf(struct jr *c, int32_t *len)
{
	const char	*p;

	*len = jr_buf(c, &p);
	apok(c);
	return *len <= 0 ? (const unsigned char *)"" :
	    (const unsigned char *)p;
}

void
apmap(const char *path, struct jr *c)
{
	struct stat	 sb;
	void		*m;
	int		 fd;

	apin = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(errno == ENOENT || errno == EACCES ? EX_NOINPUT :
		    EX_IOERR, "%s", path);
	if (fstat(fd, &sb) == -1)
		err(EX_IOERR, "%s", path);
	if (sb.st_size > 0) {
		if ((m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0)) == MAP_FAILED)
			err(EX_IOERR, "%s: mmap", path);
		jr_init(c, m, (size_t)sb.st_size);
	} else
		jr_init(c, "", 0);
	close(fd);
}

/* FileHeader: the magic, version 2, the dbid */
void
apheader(struct jr *c, uint32_t magic, const char *notit, const char *badver)
{
	if (c->end - c->start < 16 || (uint32_t)apint(c) != magic) {
		c->p = c->start;
		apbad(c, notit);
	}
	if (apint(c) != 2) {
		c->p -= 4;
		apbad(c, badver);
	}
	(void)aplong(c);			/* dbid */
}

void
apunmap(struct jr *c)
{
	size_t	 len = (size_t)(c->end - c->start);

	if (len > 0 && munmap((void *)(uintptr_t)c->start, len) == -1)
		err(EX_OSERR, "%s: munmap", apin);
}

/* Checks a seal: the Adler32 of everything before it, then "/". */
void
apseal(struct jr *c, uint32_t *sum, size_t *summed)
{
	const unsigned char	*s;
	int64_t			 val;
	int32_t			 sl;

	*sum = adler32(*sum, c->start + *summed, jr_off(c) - *summed);
	val = aplong(c);
	if ((uint64_t)val != *sum) {
		c->p -= 8;
		apbad(c, "Adler32 checksum mismatch");
	}
	s = apbuf(c, &sl);
	if (sl != 1 || s[0] != '/')
		apbad(c, "bad seal");
	*summed = jr_off(c);
	*sum = adler32(*sum, c->p - 13, 13);
}

static int
apfilecmp(const void *a, const void *b)
{
	const struct apfile	*x = a, *y = b;

	return x->zxid < y->zxid ? -1 : x->zxid > y->zxid;
}

/* version-2/PREFIX<hex zxid> files, oldest first */
struct apfile *
apfiles(const char *dir, const char *prefix, size_t *n)
{
	struct apfile	*v = NULL, *nv;
	struct dirent	*de;
	DIR		*d;
	size_t		 cap = 0, pl = strlen(prefix);
	char		*end;
	uint64_t	 z;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		err(errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT :
		    EX_IOERR, "%s", dir);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0 ||
		    de->d_name[pl] == '\0')
			continue;
		errno = 0;
		z = strtoull(de->d_name + pl, &end, 16);
		if (errno != 0 || z > INT64_MAX || !isxdigit((unsigned char)
		    de->d_name[pl]))
			continue;
		/* Apache's snapshot.compression.method: not read here,
		 * and skipping it would import an older snapshot */
		if (strcmp(end, ".gz") == 0 || strcmp(end, ".snappy") == 0)
			errx(EX_DATAERR, "%s/%s: a snapshot compressed with "
			    "%s (snapshot.compression.method): zk-snap import "
			    "reads uncompressed ones only", dir, de->d_name,
			    end + 1);
		if (*end != '\0') {
			warnx("%s/%s: not an uncompressed Apache file, skipped",
			    dir, de->d_name);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				err(EX_OSERR, NULL);
			v = nv;
		}
		v[*n].zxid = (int64_t)z;
		if ((size_t)snprintf(v[*n].path, sizeof(v[*n].path), "%s/%s",
		    dir, de->d_name) >= sizeof(v[*n].path))
			errx(EX_USAGE, "%s: name too long", dir);
		(*n)++;
	}
	if (errno != 0)
		err(EX_IOERR, "%s", dir);
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), apfilecmp);
	return v;
}

int
emptydir(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 empty = 1;

	if ((d = opendir(dir)) == NULL)
		err(EX_CANTCREAT, "%s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* The version-2 directory: SRC/version-2, or SRC itself. */
void
apdir(const char *src, char *v2, size_t len)
{
	struct stat	 sb;

	if (stat(src, &sb) == -1)
		err(EX_NOINPUT, "%s", src);
	if (!S_ISDIR(sb.st_mode))
		errx(EX_NOINPUT, "%s: not a directory", src);
	if ((size_t)snprintf(v2, len, "%s/version-2", src) >= len)
		errx(EX_USAGE, "%s: name too long", src);
	if (stat(v2, &sb) == 0 && S_ISDIR(sb.st_mode))
		return;
	if (strlcpy(v2, src, len) >= len)
		errx(EX_USAGE, "%s: name too long", src);
}
