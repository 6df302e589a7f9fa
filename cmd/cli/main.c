/*
 * zk-cli: a command-line client for zk (or any ZooKeeper 3.5+ server),
 * made for pipes and scripts: data raw on stdout and nothing else, one
 * child per line, exit statuses that say what happened (see zk-cli(1)).
 * Speaks the client protocol through libzk's jute codec and client.c.
 *
 * main.c the options, cmd.c the command table and the one-request
 * commands, session.c the connection and the requests they share,
 * print.c output (plain and JSON), watch.c watch and wait-for,
 * lock.c lock and elect, interactive.c the prompt (libedit).
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "cli.h"

const char	*hosts = "127.0.0.1:2181";
int		 connectms = 5000, sessionms = 10000;
int		 gescape, gjson;	/* -e, -j before the command */
int		 interactive;
struct strv	 auths;			/* -a scheme:auth */


const struct option longopts[] = {
	{ "escape", no_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-ehij] [-a scheme:auth] [-S session_ms] "
	    "[-t seconds] [-z host:port[,...]]\n"
	    "              [command [arg ...]]\n", getprogname());
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	const char	*errstr, *e;
	int		 ch, iflag = 0, rc;

	if ((e = getenv("ZK_HOSTS")) != NULL && *e != '\0')
		hosts = e;
	while ((ch = getopt_long(argc, argv, "+a:ehijS:t:z:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if ((auths.v = reallocarray(auths.v, auths.n + 1,
			    sizeof(*auths.v))) == NULL)
				err(EX_OSERR, NULL);
			auths.v[auths.n++] = optarg;
			if (strchr(optarg, ':') == NULL)
				errx(EX_USAGE, "-a %s: want scheme:auth", optarg);
			break;
		case 'e':
			gescape = 1;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'j':
			gjson = 1;
			break;
		case 'S':
			sessionms = strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "session timeout is %s: %s",
				    errstr, optarg);
			break;
		case 't':
			connectms = 1000 * strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "connect timeout is %s: %s",
				    errstr, optarg);
			break;
		case 'z':
			hosts = optarg;
			break;
		case 'h':
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_OSERR, "signal");
	if (argc == 0 || iflag) {
		if (argc != 0)
			usage();
		interactive = 1;
		rc = shell();
	} else
		rc = run(argc, argv);
	if (connected && !dead)
		zkc_close(&zc);
	if (fflush(stdout) == EOF && rc == 0) {
		warn("stdout");
		rc = EX_IOERR;
	}
	return rc;
}
