/*
 * fuzz-zabwire: libFuzzer target over ZAB's peer protocol on the quorum
 * port: a line from a peer goes through zkl_parse and zab_parse (must
 * not crash; what parses must say the same once written out with zab_put
 * and parsed again), then into a ZAB state machine led, following and
 * observing, which must stay within its bounds whatever the line says.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

static void
step(const struct zab_msg *m, int me, int role, int leader)
{
	static const int ids[] = { 1, 2, 3, 4 };
	static const int voter[] = { 1, 1, 1, 0 };
	struct zab	 z;
	struct zab_out	 o;
	int		 from;
	size_t		 i;

	ASSERT(zab_init(&z, me, ids, voter, 4, 100, 1000, 500) == 0);
	ASSERT(zab_load(&z, 1, 1, 0x100000000, 0x100000002) == 0);
	ASSERT(zab_logged(&z, 0x100000001) == 0);
	ASSERT(zab_logged(&z, 0x100000002) == 0);
	zab_role(&z, 0, role, leader, &o);
	for (from = 1; from <= 4; from++) {
		if (from == me)
			continue;
		zab_connected(&z, 1, from, &o);
		zab_recv(&z, 2, from, m, &o);
		ASSERT(o.n <= ZAB_MAXACT);
		for (i = 0; i < o.n; i++)
			ASSERT(o.a[i].type >= 0 && o.a[i].type < ZA_NTYPES);
	}
	zab_free(&z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zkbuf	 b = { 0 };
	struct zkline	 l = { 0 }, l2 = { 0 };
	struct zab_msg	 m, m2;
	char		*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (zkl_parse(&l, s, size) == 0 && zab_parse(&l, &m) == 0) {
		ASSERT(m.type >= 0 && m.type < ZM_NTYPES && m.epoch >= 0 &&
		    m.epoch <= UINT32_MAX && m.zxid >= 0 && m.commit >= 0);
		ASSERT((m.data != NULL) ==
		    (m.type == ZM_PROPOSAL || m.type == ZM_INFORM));
		zab_put(&b, &m);
		ASSERT(!b.err && b.len > 0 && b.p[b.len - 1] == '\n');
		ASSERT(memchr(b.p, '\n', b.len) == b.p + b.len - 1);
		b.p[b.len - 1] = '\0';
		ASSERT(zkl_parse(&l2, b.p, b.len - 1) == 0);
		ASSERT(zab_parse(&l2, &m2) == 0);
		ASSERT(m2.type == m.type && m2.epoch == m.epoch &&
		    m2.zxid == m.zxid && m2.commit == m.commit &&
		    m2.observer == m.observer && m2.counted == m.counted &&
		    m2.len == m.len);
		if (m.data != NULL)
			ASSERT(memcmp(m2.data, m.data, m.len) == 0);
		zkl_free(&l2);
		step(&m, 1, FLE_LEADING, 1);
		step(&m, 2, FLE_FOLLOWING, 1);
		step(&m, 4, FLE_OBSERVING, 1);
	}
	zkl_free(&l);
	zkbuf_free(&b);
	free(s);
	return 0;
}
