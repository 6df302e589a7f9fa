/*
 * zk-cli handoff: ask the leader of an ensemble to hand leadership off
 * to its most caught-up follower (the four-letter word hand, zk's own),
 * as a rolling restart of the leader does before it stops.  The servers
 * of -z are asked in turn until the leader answers.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "cli.h"

#define NOTLEADER	"not the leader"

int
c_handoff(int argc, char **argv)
{
	struct zkbuf	 ans;
	char		*list, *s, *next;
	int		 rc = X_LOST, asked = 0;

	if (opt(argc, argv, "") != -1 || optind != argc)
		return cmdusage();
	if ((list = strdup(hosts)) == NULL)
		err(EX_OSERR, NULL);
	memset(&ans, 0, sizeof(ans));
	for (s = list; s != NULL && rc != X_DONE; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		zkbuf_reset(&ans);
		if (zkc_word(s, "hand", connectms, &ans) == -1) {
			warn("%s", s);
			continue;
		}
		asked++;
		zkbuf_addc(&ans, '\0');
		if (ans.err)
			err(EX_OSERR, NULL);
		s = ZKBUF_DATA(&ans);
		s[strcspn(s, "\n")] = '\0';
		if (strncmp(s, NOTLEADER, strlen(NOTLEADER)) == 0) {
			rc = X_ZKERR;
			continue;
		}
		if (strncmp(s, "handed leadership off", 21) == 0) {
			printf("%s\n", s);
			rc = X_DONE;
		} else {
			warnx("%s", s);
			rc = X_ZKERR;
			break;
		}
	}
	if (rc == X_ZKERR && asked > 0 && strncmp(ZKBUF_DATA(&ans), NOTLEADER,
	    strlen(NOTLEADER)) == 0)
		warnx("no server of %s leads", hosts);
	zkbuf_free(&ans);
	free(list);
	return rc;
}
