/*
 * Waiting: the signals the waiting commands catch, events, watch and
 * wait-for.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "zk.h"
#include "cli.h"

volatile sig_atomic_t woke, gotsig, gotchld;


static void
onsig(int sig)
{
	woke = 1;
	if (sig == SIGCHLD)
		gotchld = 1;
	else
		gotsig = sig;
}

/* catch (or, with 0, restore) the signals the waiting commands use */
void
catch(int on)
{
	static struct sigaction	 old[3];
	static const int	 sigs[3] = { SIGINT, SIGTERM, SIGCHLD };
	struct sigaction	 sa;
	int			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		if (sigaction(sigs[i], on ? &sa : &old[i], on ? &old[i] :
		    NULL) == -1)
			err(EX_OSERR, "sigaction");
	woke = gotsig = gotchld = 0;
	zc.intr = on ? &woke : NULL;
}

/* zkc_wait: 1 an event, 0 nothing (timeout or signal), LOST */
int
waitev(int ms)
{
	int	 rc;

	woke = 0;
	if ((rc = zkc_wait(&zc, ms)) == -1) {
		dead = 1;
		if (errno == EPROTO)
			warnx("%s: bad reply from the server", zc.addr);
		else
			warn("%s: connection lost", zc.addr);
		return LOST;
	}
	return rc;
}

static const char *
evname(int type)
{
	switch (type) {
	case ZEV_CREATED:
		return "created";
	case ZEV_DELETED:
		return "deleted";
	case ZEV_CHANGED:
		return "changed";
	case ZEV_CHILD:
		return "child";
	default:
		return "none";
	}
}

/* one-shot watches on path: data (or existence) and children */
static int
arm(const char *path)
{
	struct strv	 sv;
	int		 rc;

	if ((rc = exists(path, 1, NULL)) == ZNONODE)
		return 0;	/* the exists watch waits for a create */
	if (rc != 0)
		return rc;
	rc = children(path, 1, &sv);
	strv_free(&sv);
	return rc == ZNONODE ? 0 : rc;
}

int
c_watch(int argc, char **argv)
{
	struct zkbuf	*b;
	struct zkreply	 rep;
	struct zkevent	*ev;
	const char	*errstr;
	long long	 count = -1;
	int		 ch, rc, iflag = 0, pflag = 0, rflag = 0;

	while ((ch = opt(argc, argv, "eijn:pR")) != -1) {
		switch (ch) {
		case 'e':
			escape = 1;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			count = strtonum(optarg, 1, LLONG_MAX, &errstr);
			if (errstr != NULL) {
				warnx("count is %s: %s", errstr, optarg);
				return EX_USAGE;
			}
			break;
		case 'p':
			pflag = 1;
			break;
		case 'R':
			rflag = 1;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	if (pflag || rflag) {
		b = zkc_begin(&zc, ZOP_ADDWATCH);
		jw_str(b, argv[0]);
		jw_int(b, rflag ? 1 : 0);
		rc = call(&rep);
	} else
		rc = arm(argv[0]);
	if (rc != 0)
		return fail(rc, argv[0]);
	if (iflag) {		/* "ready": the watches are set */
		printf("ready ");
		putval(argv[0], strlen(argv[0]), 1);
		if (fflush(stdout) == EOF) {
			warn("stdout");
			return EX_IOERR;
		}
	}
	catch(1);
	while (count != 0 && !gotsig) {
		if ((rc = waitev(-1)) == LOST)
			break;
		while (count != 0 && (ev = zkc_event(&zc)) != NULL) {
			if (json) {
				printf("{\"type\":\"%s\",\"path\":",
				    evname(ev->type));
				jstr(ev->path, strlen(ev->path));
				printf("}\n");
			} else {
				printf("%s ", evname(ev->type));
				putval(ev->path, strlen(ev->path), 1);
			}
			zkc_event_free(ev);
			if (count > 0)
				count--;
		}
		if (fflush(stdout) == EOF) {
			catch(0);
			warn("stdout");
			return EX_IOERR;
		}
		if (!pflag && !rflag && count != 0 && !gotsig &&
		    (rc = arm(argv[0])) != 0)
			break;
	}
	catch(0);
	if (rc == LOST)
		return X_LOST;
	return rc < 0 ? fail(rc, argv[0]) : 0;	/* 1: waitev's event */
}

/* -w seconds: a monotonic deadline */
int
deadline(const char *arg, int64_t *until)
{
	const char	*errstr;
	int64_t		 secs;

	secs = strtonum(arg, 0, 86400 * 365, &errstr);
	if (errstr != NULL) {
		warnx("seconds are %s: %s", errstr, arg);
		return EX_USAGE;
	}
	*until = zk_mono_ms() + 1000 * secs;
	return 0;
}

/* wait for events (dropped: the caller looks again) until the deadline
 * (-1: none) or a signal: 1 some came, 0 none, LOST */
int
waitany(int64_t until)
{
	struct zkevent	*ev;
	int64_t		 left;
	int		 rc = 0;

	for (;;) {
		left = until < 0 ? -1 : until - zk_mono_ms();
		if (gotsig || (until >= 0 && left <= 0))
			break;
		if ((rc = waitev(left < 0 ? -1 : (int)left)) != 0)
			break;
	}
	while ((ev = zkc_event(&zc)) != NULL)
		zkc_event_free(ev);
	return rc;
}

int
c_wait_for(int argc, char **argv)
{
	int64_t		 until = -1;
	int		 ch, rc, dflag = 0;

	while ((ch = opt(argc, argv, "dw:")) != -1) {
		switch (ch) {
		case 'd':
			dflag = 1;
			break;
		case 'w':
			if ((rc = deadline(optarg, &until)) != 0)
				return rc;
			break;
		default:
			return cmdusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	catch(1);
	for (;;) {
		rc = exists(argv[0], 1, NULL);
		if ((!dflag && rc == 0) || (dflag && rc == ZNONODE)) {
			rc = 0;
			break;
		}
		if (rc != 0 && rc != ZNONODE)
			break;
		/* wait for any event on the path, then look again */
		if ((rc = waitany(until)) == LOST)
			break;
		if (rc == 0) {
			catch(0);
			warnx("%s: %s", argv[0], gotsig ? "interrupted" :
			    "timed out");
			return X_TIMEOUT;
		}
	}
	catch(0);
	if (rc == LOST)
		return X_LOST;
	return rc != 0 ? fail(rc, argv[0]) : 0;
}
