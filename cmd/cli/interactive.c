/*
 * Interactive mode, with libedit: the prompt, history, sh-like quoting.
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <histedit.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <editline/readline.h>

#include "zk.h"
#include "cli.h"


/*
 * Wait for the next command line while keeping the session alive, so
 * that ephemeral nodes made at the prompt outlive a pause.
 */
static void
idle(void)
{
	struct pollfd	 pfd;
	int		 ms;

	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	while (connected && !dead) {
		ms = zc.timeout > 0 ? zc.timeout / 3 : 1000;
		if (poll(&pfd, 1, ms) != 0)
			return;		/* input, or an error read reports */
		if (zkc_keepalive(&zc) == -1) {
			warnx("session lost");
			dead = 1;
		}
	}
}

/*
 * Interactive mode: one command per line, quoted as in sh; history in
 * ~/.zk_cli_history when reading a terminal.
 */
int
shell(void)
{
	Tokenizer	*tok;
	const char	**targv, *home;
	char		*line = NULL, hist[PATH_MAX], prompt[400];
	size_t		 cap = 0;
	ssize_t		 n;
	int		 tty, targc, rc = 0, i;
	char		**av;

	tty = isatty(STDIN_FILENO);
	hist[0] = '\0';
	if (tty && (home = getenv("HOME")) != NULL &&
	    (size_t)snprintf(hist, sizeof(hist), "%s/.zk_cli_history",
	    home) < sizeof(hist)) {
		stifle_history(1000);
		(void)read_history(hist);
	}
	if ((tok = tok_init(NULL)) == NULL)
		err(EX_OSERR, "tok_init");
	snprintf(prompt, sizeof(prompt), "zk %s> ", hosts);
	if (!tty)	/* idle() polls the fd: no lines hidden in a buffer */
		setvbuf(stdin, NULL, _IONBF, 0);
	for (;;) {
		idle();
		if (tty) {
			free(line);
			if ((line = readline(prompt)) == NULL)
				break;
		} else {
			if ((n = getline(&line, &cap, stdin)) == -1)
				break;
			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = '\0';
		}
		tok_reset(tok);
		if (tok_str(tok, line, &targc, &targv) != 0) {
			warnx("unmatched quote");
			rc = EX_USAGE;
			continue;
		}
		if (targc == 0 || targv[0][0] == '#')
			continue;
		if (tty)
			add_history(line);
		if (strcmp(targv[0], "quit") == 0 ||
		    strcmp(targv[0], "exit") == 0)
			break;
		/* getopt wants char **; copies keep the tokenizer's own */
		if ((av = calloc((size_t)targc + 1, sizeof(*av))) == NULL)
			err(EX_OSERR, NULL);
		for (i = 0; i < targc; i++)
			if ((av[i] = strdup(targv[i])) == NULL)
				err(EX_OSERR, NULL);
		rc = run(targc, av);
		for (i = 0; i < targc; i++)
			free(av[i]);
		free(av);
		if (fflush(stdout) == EOF)
			err(EX_IOERR, "stdout");
		if (dead) {
			warnx("session lost; leaving");
			break;
		}
	}
	if (tty && hist[0] != '\0' && write_history(hist) != 0)
		warnx("%s: history not saved", hist);
	free(line);
	tok_end(tok);
	return rc;
}
