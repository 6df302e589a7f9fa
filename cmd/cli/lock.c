/*
 * lock and elect: run a command while holding an ephemeral sequential
 * node.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "zk.h"
#include "cli.h"


/* the sequence number of a sequential node's name, -1 if none */
static long long
seqof(const char *name)
{
	size_t		 n = strlen(name);
	const char	*errstr;
	long long	 v;

	if (n < 10 || strspn(name + n - 10, "0123456789") != 10)
		return -1;
	v = strtonum(name + n - 10, 0, LLONG_MAX, &errstr);
	return errstr != NULL ? -1 : v;
}

static int
cmpseq(const void *a, const void *b)
{
	long long	 x = seqof(*(char *const *)a), y = seqof(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* stop the command's process group: TERM, then KILL after 10 s */
static int
stopcmd(pid_t pid)
{
	int	 status, i;

	if (kill(-pid, SIGTERM) == -1 && errno != ESRCH)
		warn("kill");
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	if (kill(-pid, SIGKILL) == -1 && errno != ESRCH)
		warn("kill");
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 0;
	return status;
}

/* run argv while holding me (the node we own), release it after */
static int
runheld(const char *me, char **argv)
{
	struct zkevent	*ev;
	pid_t		 pid;
	int		 status, rc;

	if ((pid = fork()) == -1) {
		warn("fork");
		return EX_OSERR;
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		warn("%s", argv[0]);
		_exit(errno == ENOENT ? 127 : 126);
	}
	(void)setpgid(pid, pid);
	/* a watch on our own node tells us if someone removes it */
	if ((rc = exists(me, 1, NULL)) != 0) {
		status = stopcmd(pid);
		if (rc != LOST)
			warnx("%s: lost (%s)", me, zkerrstr(rc) ?
			    zkerrstr(rc) : "error");
		return X_LOST;
	}
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (gotsig) {
			(void)kill(-pid, gotsig);
			gotsig = 0;
		}
		if ((rc = waitev(500)) == LOST) {
			warnx("%s: lost with the session; stopping %s", me,
			    argv[0]);
			(void)stopcmd(pid);
			return X_LOST;
		}
		while ((ev = zkc_event(&zc)) != NULL) {
			rc = ev->type == ZEV_DELETED;
			zkc_event_free(ev);
			if (rc) {
				warnx("%s: deleted by someone; stopping %s",
				    me, argv[0]);
				(void)stopcmd(pid);
				return X_LOST;
			}
			if ((rc = exists(me, 1, NULL)) != 0) {
				(void)stopcmd(pid);
				return X_LOST;
			}
		}
	}
	if ((rc = delete(me, -1)) != 0 && rc != ZNONODE && rc != LOST)
		warnx("%s: not released: %s", me, zkerrstr(rc) ?
		    zkerrstr(rc) : "error");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * The lock recipe: an ephemeral sequential node under dir; the lowest
 * sequence holds the lock, every other waits for the deletion of the
 * one just before it (no herd).  Election is the same recipe: the
 * holder is the master until its session ends.
 */
static int
holdrun(const char *dir, const char *prefix, int nowait, int64_t until,
    char **argv)
{
	struct strv	 sv;
	char		*me = NULL, *base, *prev, *p, id[300], host[256];
	size_t		 i;
	int		 rc;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());
	p = childpath(dir, prefix);
	if ((rc = parents(p)) != 0) {
		free(p);
		return rc;
	}
	rc = create(p, id, strlen(id), 3, 0, NULL, &me);
	free(p);
	if (rc != 0)
		return fail(rc, dir);
	base = strrchr(me, '/') + 1;
	catch(1);
	for (;;) {
		if ((rc = children(dir, 0, &sv)) != 0)
			break;
		qsort(sv.v, sv.n, sizeof(*sv.v), cmpseq);
		for (prev = NULL, i = 0; i < sv.n; i++) {
			if (strcmp(sv.v[i], base) == 0)
				break;
			if (seqof(sv.v[i]) >= 0)
				prev = sv.v[i];
		}
		if (i == sv.n) {
			strv_free(&sv);
			warnx("%s: our node is gone", me);
			rc = ZNONODE;
			break;
		}
		if (prev == NULL) {
			strv_free(&sv);
			rc = runheld(me, argv);
			catch(0);
			free(me);
			return rc;
		}
		p = childpath(dir, prev);
		strv_free(&sv);
		rc = exists(p, 1, NULL);
		free(p);
		if (rc == ZNONODE)
			continue;
		if (rc != 0)
			break;
		if (nowait) {
			rc = X_TIMEOUT;
			warnx("%s: held by another", dir);
			break;
		}
		if ((rc = waitany(until)) == LOST)
			break;
		if (rc == 0) {
			warnx("%s: %s", dir, gotsig ? "interrupted" :
			    "timed out");
			rc = X_TIMEOUT;
			break;
		}
	}
	catch(0);
	if (rc != LOST && delete(me, -1) == LOST)
		rc = LOST;
	free(me);
	if (rc == LOST)
		return X_LOST;
	if (rc == X_TIMEOUT)
		return rc;
	return fail(rc, dir);
}

/* split "path -- cmd ..." after options */
static int
lockargs(int argc, char **argv, char ***cmd)
{
	if (argc < 2 || argv[1] == NULL)
		return -1;
	if (strcmp(argv[1], "--") == 0) {
		if (argc < 3)
			return -1;
		*cmd = argv + 2;
	} else
		*cmd = argv + 1;
	return 0;
}

int
c_lock(int argc, char **argv)
{
	char		**cmd;
	int64_t		 until = -1;
	int		 ch, rc, nflag = 0;

	while ((ch = opt(argc, argv, "nw:")) != -1) {
		switch (ch) {
		case 'n':
			nflag = 1;
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
	if (lockargs(argc, argv, &cmd) == -1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	return holdrun(argv[0], "lock-", nflag, until, cmd);
}

int
c_elect(int argc, char **argv)
{
	char	**cmd;
	int	 ch, rc;

	while ((ch = opt(argc, argv, "")) != -1)
		return cmdusage();
	argc -= optind;
	argv += optind;
	if (lockargs(argc, argv, &cmd) == -1)
		return cmdusage();
	if ((rc = badpath(argv[0], 0)) != 0 || (rc = conn()) != 0)
		return rc;
	return holdrun(argv[0], "n_", 0, -1, cmd);
}
