/*
 * fuzz-zab: libFuzzer target over ZAB's state machine (libzk/zab.c) as a
 * hostile or broken peer drives it: the input is a sequence of events
 * (a role from the election, any message from any peer with any fields,
 * a connection up or closed, a durable report, a tick, a proposal, a
 * read index request), fed to one node of four.  Whatever comes, the machine stays within its
 * bounds: no more actions than ZAB_MAXACT, nothing handed to the tree
 * past what is logged, commits that only grow, a role it can have.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

static int64_t
get64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	/* small values and real-looking zxids more often than not */
	if (p[0] & 0x80)
		return (int64_t)(v & 0x3) << 32 | (int64_t)(v >> 8 & 0xf);
	return (int64_t)v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ids[] = { 1, 2, 3, 4 };
	static const int voter[] = { 1, 1, 1, 0 };
	struct zab	 z;
	struct zab_out	 o;
	struct zab_msg	 m;
	int64_t		 now = 0, delivered, v = 7;
	size_t		 i;
	int		 who = 1 + (size > 0 ? data[0] % 4 : 0), k;

	if (zab_init(&z, who, ids, voter, 4, 100, 1000, 500) != 0)
		abort();
	ASSERT(zab_load(&z, 2, 1, 0x100000000, 0x100000000) == 0);
	for (k = 1; k <= 3; k++)
		ASSERT(zab_logged(&z, 0x100000000 | k) == 0);
	for (i = 1; i + 19 <= size; i += 19) {
		const uint8_t	*p = data + i;
		int		 peer = 1 + p[1] % 5;	/* 5: unknown */

		now += p[2];
		delivered = z.delivered;
		memset(&m, 0, sizeof(m));
		switch (p[0] % 8) {
		case 0:
			zab_role(&z, now, p[1] % 4, 1 + p[2] % 4, &o);
			break;
		case 1:
		case 2:
		case 3:
			m.type = p[3] % (ZM_NTYPES + 1);
			m.observer = p[4] & 1;
			m.counted = p[4] >> 1 & 1;
			m.epoch = get64(p + 3) & 0xf;
			m.zxid = get64(p + 11);
			m.commit = m.zxid;
			m.data = &v;
			m.len = sizeof(v);
			zab_recv(&z, now, peer, &m, &o);
			break;
		case 4:
			zab_connected(&z, now, peer, &o);
			break;
		case 5:
			zab_closed(&z, now, peer, &o);
			break;
		case 6:
			zab_durable(&z, now, get64(p + 3), &o);
			break;
		default:
			if (p[1] & 1)
				zab_tick(&z, now, &o);
			else if (p[1] & 2)	/* a read index */
				zab_read(&z, now, p[4], &o);
			else if (p[1] & 4)	/* a handoff, to any or one */
				(void)zab_handoff(&z, now, p[4] & 1 ? -1 :
				    1 + p[4] % 5, &o);
			else
				(void)zab_propose(&z, now, &v, sizeof(v), &o);
			break;
		}
		ASSERT(o.n <= ZAB_MAXACT);
		ASSERT(z.role >= FLE_LOOKING && z.role <= FLE_OBSERVING);
		ASSERT(z.delivered >= delivered);
		ASSERT(z.delivered <= zab_last(&z) || z.delivered == z.base);
		ASSERT(z.durable <= zab_last(&z));
		if (zab_serving(&z))
			ASSERT(z.role != FLE_LOOKING);
		if (z.role == FLE_LOOKING)
			ASSERT(!zab_serving(&z));
		if (z.hto != -1)	/* handing off: a serving leader */
			ASSERT(z.role == FLE_LEADING && zab_serving(&z) &&
			    !zab_proposing(&z));
	}
	zab_free(&z);
	return 0;
}
