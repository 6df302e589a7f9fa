/*
 * lin.c: linearizable reads (linearizableReads=true in an ensemble).
 *
 * A read is served only once this node's tree has everything the leader
 * had committed when it showed, after the read came, that it still
 * leads: the read index (zk-log's `readindex`, zab_read in libzk/zab.c).
 * Reads are taken in batches, one request in flight: the reads that come
 * while it is out wait for the next, so a batch of any size costs one
 * quorum round.  Once its index comes, the batch goes to zk-tree behind
 * `after zxid=Z`, and zk-tree reads nothing more of ours until it has
 * applied Z.  Every line the gate sends zk-tree while reads are held
 * (a closed connection's `gone`) goes behind them, in order.
 *
 * A request zk-log cannot answer (the node lost its leader or its
 * quorum) closes every client connection, as a node that stops serving
 * does, and the batch goes to zk-tree anyway, without `after`: the
 * replies due to those connections are then dropped as any closed
 * connection's (client.c), and no client sees a read that was not
 * confirmed.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "gate.h"

static struct {
	struct zkbuf	 next;		/* lines for the next request */
	struct zkbuf	 asked;		/* lines of the request in flight */
	int64_t		 id;		/* the request in flight, 0: none */
	int64_t		 lastid;
	uint64_t	 rounds;	/* requests answered (mntr) */
} rx;

int
lin_on(void)
{
	return cfg.linearizableReads && cfg.nservers > 0;
}

static void
ask(void)
{
	char	 line[64];
	struct zkbuf	 t;

	if (rx.id != 0 || ZKBUF_LEN(&rx.next) == 0)
		return;
	t = rx.asked;		/* empty: swap the buffers */
	rx.asked = rx.next;
	rx.next = t;
	rx.id = ++rx.lastid;
	snprintf(line, sizeof(line), "readindex id=%" PRId64 "\n", rx.id);
	putline(zlog, line, strlen(line));
}

/* A line for zk-tree: held behind the reads held, if any. */
void
lin_tree(const char *line, size_t len)
{
	if (!lin_on() || (rx.id == 0 && ZKBUF_LEN(&rx.next) == 0)) {
		putline(tree, line, len);
		return;
	}
	zkbuf_add(&rx.next, line, len);
	if (rx.next.err)
		errx(EX_OSERR, "out of memory");
	ask();
}

/* A read's line: held until a read index covers it. */
void
lin_read(const char *line, size_t len)
{
	zkbuf_add(&rx.next, line, len);
	if (rx.next.err)
		errx(EX_OSERR, "out of memory");
	ask();
}

/* zk-log's `readindex id=N zxid=Z` (or err=1) */
void
lin_answer(const struct zkline *l)
{
	struct client	*cl, *t;
	int64_t		 id, z;
	char		 line[64];

	if (zkl_int(l, "id", &id) == -1 || id != rx.id || id == 0)
		return;			/* not ours, or stale */
	if (zkl_int(l, "zxid", &z) == 0) {
		snprintf(line, sizeof(line), "after zxid=0x%" PRIx64 "\n", z);
		putline(tree, line, strlen(line));
		rx.rounds++;
	} else {
		warnx("no read index (the node lost its leader): closing "
		    "every client connection");
		TAILQ_FOREACH_SAFE(cl, &clients, all, t)
			if (!cl->is4lw && !cl->c->dead) {
				cl->closing = 1;
				zkloop_kill(cl->c);
			}
	}
	putline(tree, ZKBUF_DATA(&rx.asked), ZKBUF_LEN(&rx.asked));
	zkbuf_reset(&rx.asked);
	rx.id = 0;
	ask();
}

/* mntr: reads held now (bytes), read indexes answered */
void
lin_mntr(struct zkbuf *b)
{
	if (!lin_on())
		return;
	zkbuf_printf(b, "zk_read_index_rounds\t%" PRIu64 "\n", rx.rounds);
	zkbuf_printf(b, "zk_read_index_held_bytes\t%zu\n",
	    ZKBUF_LEN(&rx.asked) + ZKBUF_LEN(&rx.next));
}
