/*
 * wire.h: big-endian integers of the ZooKeeper client protocol, for the
 * standalone bench programs (zk-bench, zk-null), which do not link libzk.
 */
#ifndef ZK_BENCH_WIRE_H
#define ZK_BENCH_WIRE_H

#include <stdint.h>

/* v at *p, and *p moved past it. */
static inline void
put32(unsigned char **p, uint32_t v)
{
	(*p)[0] = v >> 24;
	(*p)[1] = v >> 16;
	(*p)[2] = v >> 8;
	(*p)[3] = v;
	*p += 4;
}

static inline void
put64(unsigned char **p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p, v);
}

static inline uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

#endif
