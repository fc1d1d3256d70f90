/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-control's finding of run directories (launcher/control/ctl.h):
 * their names, rank lists, and the directories it must not trust (a
 * link, another user's, one open to others); a request end to end.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/common/loop.h"
#include "launcher/control/control.h"
#include "launcher/control/ctl.h"
#include "tap.h"

static char top[64];

static void names(void)
{
	unsigned long j = 0, s = 0, r = 0;

	ok(ctl_parse_rundir("slurm-vm.12.3.45.aB9xYz", &j, &s, &r) == 0 &&
	       j == 12 && s == 3 && r == 45,
	   "a run directory's name: job, step, rank");
	ok(ctl_parse_rundir("slurm-vm.12.snapdirs", &j, &s, &r) == -EINVAL,
	   "the epilog's record is not one");
	ok(ctl_parse_rundir("slurm-vm.1.2.3.abcde", &j, &s, &r) == -EINVAL,
	   "five random characters");
	ok(ctl_parse_rundir("slurm-vm.1.2.3.abcdef.x", &j, &s, &r) == -EINVAL,
	   "something after");
	ok(ctl_parse_rundir("slurm-vm.1.-2.3.abcdef", &j, &s, &r) == -EINVAL,
	   "a sign");
	ok(ctl_parse_rundir("slurm-vm.1.2.3.ab/def", &j, &s, &r) == -EINVAL,
	   "a slash");
	ok(ctl_rank_in("all", 7) == 1 && ctl_rank_in("0,2-3", 2) == 1 &&
	       ctl_rank_in("0,2-3", 1) == 0 && ctl_rank_in("5-", 900) == 1 &&
	       ctl_rank_in("5-", 4) == 0 && ctl_rank_in("3", 3) == 1,
	   "rank lists");
	ok(ctl_rank_in("", 0) == -EINVAL && ctl_rank_in("1,", 0) == -EINVAL &&
	       ctl_rank_in("a", 0) == -EINVAL &&
	       ctl_rank_in("3-1", 0) == -EINVAL &&
	       ctl_rank_in("1,,2", 0) == -EINVAL &&
	       ctl_rank_in("-1", 0) == -EINVAL,
	   "malformed rank lists are refused");
}

static void mk(const char *name, mode_t mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", top, name);
	mkdir(p, mode);
	chmod(p, mode);
}

static void find(void)
{
	struct ctl_guest *g;
	char p[256], q[256];
	size_t n = 0;
	int rc;

	mk("slurm-vm.7.0.0.AAAAAA", 0700);
	mk("slurm-vm.7.0.1.BBBBBB", 0755); /* open to others */
	mk("own-target", 0700);
	snprintf(p, sizeof(p), "%s/own-target", top);
	snprintf(q, sizeof(q), "%s/slurm-vm.7.0.2.CCCCCC", top);
	ok(symlink(p, q) == 0, "a link named as a run directory");
	mk("slurm-vm.7.0.3.DDDDDD", 0700);
	snprintf(p, sizeof(p), "%s/slurm-vm.7.0.3.DDDDDD", top);
	if (geteuid() == 0 && chown(p, 65534, 65534) < 0)
		ok(0, "chown");
	mk("slurm-vm.7.1.0.EEEEEE", 0700);
	mk("slurm-vm.8.0.0.FFFFFF", 0700);
	rc = ctl_find(top, 7, 0, "all", &g, &n);
	ok(rc == 0 && n == (geteuid() == 0 ? 1u : 2u) && g[0].rank == 0,
	   "step 7.0: only the caller's own closed directory (a link, an "
	   "open one%s are skipped): %zu",
	   geteuid() == 0 ? ", another user's" : "", n);
	ctl_free(g, n);
	rc = ctl_find(top, 7, -1, "0", &g, &n);
	ok(rc == 0 && n == 2 && g[0].step == 0 && g[1].step == 1,
	   "all steps of job 7, rank 0, sorted");
	ctl_free(g, n);
	rc = ctl_find(top, 9, -1, "all", &g, &n);
	ok(rc == 0 && n == 0, "a job with none");
	ctl_free(g, n);
	ok(ctl_find("/nonexistent", 7, 0, "all", &g, &n) == -ENOENT,
	   "a run directory that is not there");
}

static int f_status(void *arg, struct control_status *st, char *err,
		    size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	st->rank = 0;
	st->state = "running";
	return 0;
}

static int f_none(void *arg, char *err, size_t errlen)
{
	(void)arg;
	snprintf(err, errlen, "no");
	return -EPERM;
}

/* A server in a child for 3 s; the parent asks it. */
static void ask(void)
{
	const struct control_ops ops = {
	    .status = f_status, .pause = f_none, .resume = f_none};
	struct ctl_guest *g;
	char *reply = NULL, dir[256], err[256];
	size_t n = 0;
	pid_t pid;
	int rc;

	snprintf(dir, sizeof(dir), "%s/slurm-vm.7.0.0.AAAAAA", top);
	pid = fork();
	if (pid == 0) {
		struct loop *l = loop_create();
		struct control *c =
		    control_open(l, dir, &ops, err, sizeof(err));

		alarm(3);
		if (c)
			loop_run(l);
		_exit(1);
	}
	usleep(200000);
	ctl_find(top, 7, 0, "0", &g, &n);
	rc = n == 1 ? ctl_ask(&g[0], "status", &reply, 2000) : -1;
	ok(rc == 0 && strstr(reply, "\"state\":\"running\"") &&
	       !strchr(reply, '\n'),
	   "a request through the directory's fd, its line back: %s",
	   reply ? reply : "");
	free(reply);
	rc = n == 1 ? ctl_ask(&g[0], "pause", &reply, 2000) : -1;
	ok(rc == 0 && !strcmp(reply, "{\"error\":\"no\"}"),
	   "a refusal comes back as the error line");
	free(reply);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	rc = ctl_ask(&g[0], "status", &reply, 2000);
	ok(rc == -ECONNREFUSED || rc == -ENOENT,
	   "a launcher gone: refused, at once after a few tries (%d)", rc);
	ctl_free(g, n);
}

int main(void)
{
	char cmd[128];

	strcpy(top, "/tmp/test_ctl.XXXXXX");
	ok(mkdtemp(top) != NULL, "a scratch run directory");
	names();
	find();
	ask();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		ok(0, "clean up");
	return done_testing();
}
