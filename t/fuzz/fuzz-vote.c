/*
 * fuzz-vote: libFuzzer target over the election's peer protocol: a line
 * from a peer's election port goes through zkl_parse and fle_parse (must
 * not crash; what parses must say the same once written out with fle_put
 * and parsed again), then into an election state machine in each state,
 * with a peer's connection closing and an epoch from zk-log, which must
 * stay within its bounds whatever the vote says.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk.h"
#include "fuzz.h"

static void
step(const struct fle_msg *m, int voter)
{
	static const int ids[] = { 1, 2, 3, 4 };
	int		 voters[] = { 1, 1, 1, 0 };
	struct fle	 f;
	struct fle_out	 o;
	size_t		 i;

	voters[0] = voter;
	ASSERT(fle_init(&f, 1, ids, voters, 4) == 0);
	/* sometimes a leader that handed off to a voter, or to no one */
	if (m->round & 2)
		f.handto = (int64_t)(m->vote.leader % 6);
	fle_start(&f, 0, 0x100000002, 1, &o);
	ASSERT(f.handto == -1);
	if (voter && (m->round & 2) && f.mine.leader != 1)
		ASSERT(f.mine.leader == (m->vote.leader % 6) &&
		    f.mine.leader >= 2 && f.mine.leader <= 3);
	fle_recv(&f, 1, m, &o);
	ASSERT(o.nsend <= FLE_MAXSEND);
	for (i = 0; i < o.nsend; i++)
		ASSERT(o.send[i].from == 1 && o.send[i].to != 1);
	/* a peer's connection closes (its own, or another's) */
	fle_peerdown(&f, 2, 2 + (int)(m->round & 1), &o);
	ASSERT(o.nsend <= FLE_MAXSEND);
	for (i = 0; i < o.nsend; i++)
		ASSERT(o.send[i].from == 1 && o.send[i].to != 1);
	fle_tick(&f, 1000, &o);
	ASSERT(f.state >= FLE_LOOKING && f.state <= FLE_OBSERVING);
	if (f.state == FLE_LEADING)
		ASSERT(f.leader == 1 && voter);
	if (f.state != FLE_LOOKING)
		ASSERT(f.leader >= 1 && f.leader <= 3);
	fle_epoch(&f, m->vote.epoch);	/* zk-log serves in some epoch */
	if (f.state != FLE_LOOKING)
		ASSERT(f.settled.leader == f.leader);
	fle_recv(&f, 2, m, &o);		/* settled: a looker hears back */
	ASSERT(o.nsend <= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zkbuf	 b = { 0 };
	struct zkline	 l = { 0 }, l2 = { 0 };
	struct fle_msg	 m, m2;
	char		*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (zkl_parse(&l, s, size) == 0 && fle_parse(&l, &m) == 0) {
		fle_put(&b, &m, NULL, 0);
		ASSERT(!b.err && b.len > 0 && b.p[b.len - 1] == '\n');
		b.p[b.len - 1] = '\0';
		ASSERT(zkl_parse(&l2, b.p, b.len - 1) == 0);
		ASSERT(fle_parse(&l2, &m2) == 0);
		ASSERT(memcmp(&m, &m2, sizeof(m)) == 0);
		zkl_free(&l2);
		step(&m, 1);
		step(&m, 0);
	}
	zkl_free(&l);
	zkbuf_free(&b);
	free(s);
	return 0;
}
