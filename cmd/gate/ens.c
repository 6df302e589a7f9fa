/*
 * ens.c: the node's part in an ensemble, as zk-log says it in `mode`
 * lines (zk-streams(7)).  A node that is not serving (looking for a
 * leader, syncing, or cut off) takes no new client: a new one is closed
 * at its ConnectRequest, and the four-letter words answer as Apache's do
 * then.  The clients it has are held for tickTime (hold()), time for a
 * new leader, their writes waiting in zk-log's outbox; then closed, so
 * that they move to a serving node.
 *
 * Read-only mode (readonlymode.enabled, as Apache's system property of
 * that name): a node that has looked for a leader for longer than
 * Apache's grace, the larger of 2 s and tickTime, takes the clients that
 * ask for it (the readOnly flag of the ConnectRequest) and serves them
 * reads from its tree as it stands; writes and sync get NotReadOnly.  A
 * new read-only session is this node's alone (client.c); a client that
 * brings a session of the ensemble keeps it.  When the node leaves
 * looking, every read-only connection is closed, so that its client goes
 * back to a server that can write, as Apache shuts its read-only server.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "gate.h"

struct ens	 ens;

void
ens_mode(const struct zkline *l)
{
	const char	*v;
	struct client	*cl, *t;
	int		 was = ens.serving, wasleading = ens.leading, looking;

	ens.on = 1;
	ens.serving = zkl_intdef(l, "serving", 0) != 0;
	if ((v = zkl_str(l, "state")) != NULL)
		strlcpy(ens.state, v, sizeof(ens.state));
	if ((v = zkl_str(l, "phase")) != NULL)
		strlcpy(ens.phase, v, sizeof(ens.phase));
	ens.leader = (int)zkl_intdef(l, "leader", -1);
	ens.learners = (int)zkl_intdef(l, "learners", 0);
	ens.followers = (int)zkl_intdef(l, "followers", 0);
	ens.observers = (int)zkl_intdef(l, "observers", 0);
	ens.syncing = (int)zkl_intdef(l, "syncing", 0);
	ens.voters = (int)zkl_intdef(l, "voters", 0);
	ens.leading = ens.serving && strcmp(ens.state, "leading") == 0;
	if (ens.leading && !wasleading)
		ens.since = zk_mono_ms();
	if (was && !ens.serving)
		ens.unserved = zk_mono_ms();	/* held for a while */
	else if (ens.serving)
		ens.unserved = 0;
	looking = !ens.serving && strcmp(ens.state, "looking") == 0;
	if (looking && ens.looking == 0)
		ens.looking = zk_mono_ms();
	else if (!looking) {
		ens.looking = 0;
		if (ens.ro) {
			warnx("read-only mode ends: the node is %s",
			    ens.state);
			ens.ro = 0;
			TAILQ_FOREACH_SAFE(cl, &clients, all, t)
				if (cl->ro && !cl->c->dead) {
					cl->closing = 1;
					zkloop_kill(cl->c);
				}
		}
	}
}

/*
 * A node that stopped serving holds its clients for tickTime, time for a
 * new leader (their writes wait in zk-log's outbox, their reads are
 * answered from the tree as it stands); then it closes them, so that
 * they move to a serving node.
 */
static int
hold(int64_t now)
{
	struct client	*cl, *t;
	int64_t		 due;

	if (ens.unserved == 0)
		return -1;
	due = ens.unserved + cfg.tickTime;
	if (now < due)
		return (int)(due - now);
	ens.unserved = 0;
	zk_dbg("not serving: closing every client connection");
	TAILQ_FOREACH_SAFE(cl, &clients, all, t)
		if (!cl->is4lw && !cl->c->dead) {
			cl->closing = 1;
			zkloop_kill(cl->c);
		}
	return -1;
}

/*
 * The clients held since the node stopped serving are closed, and
 * read-only mode starts once the node has looked for a leader for the
 * grace, on time; the ms until the next of them (-1: none due).
 */
int
ens_tick(int64_t now)
{
	int64_t	 due;
	int	 h = hold(now);

	if (!cfg.readonly || ens.ro || ens.looking == 0)
		return h;
	due = ens.looking + (cfg.tickTime > 2000 ? cfg.tickTime : 2000);
	if (now < due)
		return h != -1 && h < due - now ? h : (int)(due - now);
	ens.ro = 1;
	warnx("read-only mode: no leader for %" PRId64 " ms, serving reads "
	    "to read-only clients", now - ens.looking);
	return h;
}

/* A node that does not serve takes cl as read-only: 1 if it does. */
int
ens_rotake(struct client *cl, int wantro)
{
	if (!ens.ro || !wantro)
		return 0;
	cl->ro = 1;
	return 1;
}

/* Mode: in srvr, stat and mntr's zk_server_state */
const char *
ens_modename(void)
{
	if (!ens.on)
		return cfg.nservers == 0 ? "standalone" : "follower";
	if (ens.ro)
		return "read-only";
	if (strcmp(ens.state, "leading") == 0)
		return "leader";
	if (strcmp(ens.state, "observing") == 0)
		return "observer";
	if (strcmp(ens.state, "following") == 0)
		return "follower";
	return "looking";
}

/* Clients are taken: standalone, or a node of an ensemble that serves;
   not once SIGTERM came (main.c's drain). */
int
ens_serving(void)
{
	return !draining && (cfg.nservers == 0 || (ens.on && ens.serving));
}

/*
 * The voters: as zk-log goes by them (a reconfig changes them while the
 * node runs), or as zoo.cfg has them before it says; 1 standalone.
 */
int
ens_voters(void)
{
	int	 i, voters = 0;

	if (cfg.nservers == 0)
		return 1;
	if (ens.voters > 0)
		return ens.voters;
	for (i = 0; i < cfg.nservers; i++)
		if (!cfg.servers[i].observer)
			voters++;
	return voters;
}

/* mntr's ensemble lines, Apache's names */
void
ens_mntr(struct zkbuf *b)
{
	if (cfg.nservers == 0)
		return;
	zkbuf_printf(b, "zk_peer_state\t%s - %s\n", ens.state[0] ?
	    ens.state : "looking", ens.phase[0] ? ens.phase : "election");
	if (ens.leading) {
		zkbuf_printf(b, "zk_learners\t%d\n", ens.learners);
		zkbuf_printf(b, "zk_synced_followers\t%d\n", ens.followers);
		zkbuf_printf(b, "zk_synced_non_voting_followers\t0\n");
		zkbuf_printf(b, "zk_synced_observers\t%d\n", ens.observers);
		zkbuf_printf(b, "zk_pending_syncs\t%d\n", ens.syncing);
		zkbuf_printf(b, "zk_leader_uptime\t%" PRId64 "\n",
		    zk_mono_ms() - ens.since);
	}
	zkbuf_printf(b, "zk_quorum_size\t%d\n", ens_voters());
}
