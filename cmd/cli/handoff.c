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
#define NOTSERVING	"not currently serving"

int
c_handoff(int argc, char **argv)
{
	struct zkbuf	 ans;
	char		*list, *s, *next, *a;
	int		 rc = X_LOST;

	if (opt(argc, argv, "") != -1 || optind != argc)
		return cmdusage();
	if ((list = strdup(hosts)) == NULL)
		err(EX_OSERR, NULL);
	memset(&ans, 0, sizeof(ans));
	for (s = list; s != NULL; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		zkbuf_reset(&ans);
		if (zkc_word(s, "hand", connectms, &ans) == -1) {
			warn("%s", s);
			continue;
		}
		zkbuf_addc(&ans, '\0');
		if (ans.err)
			err(EX_OSERR, NULL);
		a = ZKBUF_DATA(&ans);
		a[strcspn(a, "\n")] = '\0';
		rc = X_ZKERR;
		if (strncmp(a, NOTLEADER, strlen(NOTLEADER)) == 0 ||
		    strstr(a, NOTSERVING) != NULL)
			continue;		/* the next may lead */
		if (strncmp(a, "handed leadership off", 21) == 0) {
			printf("%s\n", a);
			rc = X_DONE;
		} else
			warnx("%s: %s", s, a);
		break;
	}
	if (s == NULL && rc == X_ZKERR)	/* every answer: not the leader */
		warnx("no server of %s leads", hosts);
	zkbuf_free(&ans);
	free(list);
	return rc;
}
