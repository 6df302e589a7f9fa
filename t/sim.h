/*
 * sim.h: what the seeded simulations (t/sim-*.c) share: one PRNG, so a
 * seed is one run, and a heap of events by time, ties in the order they
 * were queued.  An event is any struct that begins with struct simkey.
 */
#ifndef SIM_H
#define SIM_H

#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

struct simkey {
	int64_t		 at, seq;
};

struct simheap {
	char		*v;
	size_t		 n, cap, size;	/* size: of one event */
	int64_t		 seq;
	char		 tmp[512];
};

/* splitmix64 */
static inline uint64_t
sim_rnd(uint64_t *state)
{
	uint64_t	 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline int
sim_less(const void *a, const void *b)
{
	const struct simkey	*x = a, *y = b;

	return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

#define SIM_AT(h, i)	((h)->v + (i) * (h)->size)

/* queue x (its seq is set here); -1: out of memory */
static inline int
simheap_push(struct simheap *h, void *x)
{
	size_t	 i;
	void	*p;

	((struct simkey *)x)->seq = h->seq++;
	if (h->n == h->cap) {
		if ((p = reallocarray(h->v, h->cap ? h->cap * 2 : 256,
		    h->size)) == NULL)
			return -1;
		h->v = p;
		h->cap = h->cap ? h->cap * 2 : 256;
	}
	for (i = h->n++; i > 0 && sim_less(x, SIM_AT(h, (i - 1) / 2));
	    i = (i - 1) / 2)
		memcpy(SIM_AT(h, i), SIM_AT(h, (i - 1) / 2), h->size);
	memcpy(SIM_AT(h, i), x, h->size);
	return 0;
}

/* the earliest event into x; the heap must not be empty */
static inline void
simheap_pop(struct simheap *h, void *x)
{
	size_t	 i = 0, c;
	char	*last = h->tmp;

	memcpy(x, SIM_AT(h, 0), h->size);
	memcpy(last, SIM_AT(h, --h->n), h->size);
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && sim_less(SIM_AT(h, c + 1), SIM_AT(h, c)))
			c++;
		if (!sim_less(SIM_AT(h, c), last))
			break;
		memcpy(SIM_AT(h, i), SIM_AT(h, c), h->size);
		i = c;
	}
	if (h->n > 0)
		memcpy(SIM_AT(h, i), last, h->size);
}

static inline const struct simkey *
simheap_top(const struct simheap *h)
{
	return h->n > 0 ? (const struct simkey *)h->v : NULL;
}

/* one step of a run, with its time, when -v asked for them */
static inline void __attribute__((format(printf, 3, 0)))
sim_vtrace(int verbose, int64_t now, const char *fmt, va_list ap)
{
	if (!verbose)
		return;
	printf("%7" PRId64 " ", now);
	vprintf(fmt, ap);
	putchar('\n');
}

static inline void __attribute__((noreturn))
sim_usage(void)
{
	fprintf(stderr, "usage: %s [-v] [-n voters] [-o observers] [-s seed] "
	    "[-c count]\n", getprogname());
	exit(EX_USAGE);
}

/* the options every simulation takes */
static inline void
sim_args(int argc, char *argv[], int maxvoters, int *voters, int *obs,
    uint64_t *seed, uint64_t *count, int *verbose)
{
	const char	*errstr;
	int		 ch;

	while ((ch = getopt(argc, argv, "c:n:o:s:v")) != -1) {
		switch (ch) {
		case 'c':
			*count = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "count is %s: %s", errstr, optarg);
			break;
		case 'n':
			*voters = strtonum(optarg, 1, maxvoters, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "voters: %s: %s", errstr, optarg);
			break;
		case 'o':
			*obs = strtonum(optarg, 0, 2, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "observers: %s: %s", errstr,
				    optarg);
			break;
		case 's':
			*seed = strtonum(optarg, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "seed is %s: %s", errstr, optarg);
			break;
		case 'v':
			*verbose = 1;
			break;
		default:
			sim_usage();
		}
	}
	if (optind != argc)
		sim_usage();
}

#endif
