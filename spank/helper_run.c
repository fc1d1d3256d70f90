/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running the helper program from srun, slurmstepd and the job epilog.
 * Those are threaded processes: after a fork only async-signal-safe calls
 * are allowed, so the plugin never forks to do work; posix_spawn starts
 * the helper, and everything else (parsing, opening users' files) happens
 * in that fresh program. Every wait here has a time limit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "spank/helper_run.h"
#include "spank/request.h"
#include "spank/request_int.h"

#define MAX_WORDS 16
#define MAX_OUTPUT (64 * 1024)

void log_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Everything the child gets is prepared here, before it exists. */
static int spawn(const char *path, char *const argv[], int out, pid_t *pid)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				     NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	if (posix_spawnattr_init(&at)) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, out, 1);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, out, 2);
	/* No descriptor of slurmstepd reaches a program that drops to the
	 * user: not even one opened without O_CLOEXEC. */
	rc = rc ?: posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = rc ?: posix_spawnattr_setsigmask(&at, &none);
	rc = rc ?: posix_spawnattr_setsigdefault(&at, &all);
	rc = rc ?: posix_spawnattr_setpgroup(&at, 0);
	rc = rc
		 ?: posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
						      POSIX_SPAWN_SETSIGDEF |
						      POSIX_SPAWN_SETPGROUP);
	rc = rc ?: posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* Hands each complete line of buf[0..*len) to line(); keeps the rest. */
static void take_lines(char *buf, size_t *len,
		       void (*line)(void *arg, const char *text), void *arg)
{
	char *start = buf, *nl;

	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
		*nl = 0;
		log_clean(start);
		line(arg, start);
		start = nl + 1;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
}

/* Reads the helper's output until it closes the pipe or the deadline. */
static int read_output(int fd, long deadline,
		       void (*line)(void *arg, const char *text), void *arg)
{
	char buf[8192];
	size_t len = 0, total = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!p.revents)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (total < MAX_OUTPUT) {
			len += (size_t)n;
			total += (size_t)n;
		}
		buf[len] = 0;
		take_lines(buf, &len, line, arg);
		if (len == sizeof(buf) - 1) { /* a line too long: cut it */
			buf[len++] = '\n';
			take_lines(buf, &len, line, arg);
		}
	}
	if (len) {
		buf[len++] = '\n';
		take_lines(buf, &len, line, arg);
	}
	return 0;
}

/* Waits for pid until deadline, polling its status: the helper has closed
 * its output, so it is ending. */
static int reap(pid_t pid, long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

int helper_run(const struct site_config *site, const char *const *words,
	       int timeout_s, void (*line)(void *arg, const char *text),
	       void *arg)
{
	char *argv[MAX_WORDS + 2 + 64];
	long deadline = now_ms() + timeout_s * 1000L;
	int fds[2], i, n = 0, rc, status = 0;
	pid_t pid;

	argv[n++] = (char *)site->helper;
	for (i = 0; words[i] && i < MAX_WORDS; i++)
		argv[n++] = (char *)words[i];
	argv[n++] = "--";
	for (i = 0; i < site->ac && i < 64; i++)
		argv[n++] = site->av[i];
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rc = spawn(site->helper, argv, fds[1], &pid);
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return rc;
	}
	rc = read_output(fds[0], deadline, line, arg);
	close(fds[0]);
	if (rc == 0)
		rc = reap(pid, deadline, &status);
	if (rc < 0 && rc != -ECHILD) {
		/* Out of time (or poll failed): its own process group goes,
		 * whatever it started too, and is reaped. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		/* Even a kill waits on a process stuck in the kernel (a hung
		 * file system): reap it if it goes soon, else leave it. */
		reap(pid, now_ms() + HELPER_REAP_MS, &status);
		return rc;
	}
	if (rc < 0)
		return rc;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What the helper printed, kept for a message. */
struct said {
	char text[4096];
	size_t len;
	char snap[PATH_MAX];
	unsigned long ntasks;
	int got_snap, got_ntasks;
};

static void keep(void *arg, const char *text)
{
	struct said *s = arg;
	char *end;

	if (!strncmp(text, "snapshot /", 10) &&
	    strlen(text + 9) < sizeof(s->snap)) {
		strcpy(s->snap, text + 9);
		s->got_snap = 1;
		return;
	}
	if (!strncmp(text, "ntasks ", 7)) {
		errno = 0;
		s->ntasks = strtoul(text + 7, &end, 10);
		s->got_ntasks = !errno && !*end && s->ntasks;
		return;
	}
	s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len,
				   "%s%s", s->len ? "; " : "", text);
	if (s->len >= sizeof(s->text))
		s->len = sizeof(s->text) - 1;
}

static uid_t probe_uid = (uid_t)-1;
static gid_t probe_gid = (gid_t)-1;

void helper_probe_as(uid_t uid, gid_t gid)
{
	probe_uid = uid;
	probe_gid = gid;
}

static void why_failed(int rc, const char *what, char *err, size_t errlen)
{
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "%s: no answer within its time limit",
			 what);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	else
		snprintf(err, errlen, "%s: failed (status %d)", what, rc);
}

int request_probe_snapshot(const struct request *r,
			   const struct site_config *site, const char *given,
			   char *snap, size_t snaplen, unsigned long *ntasks,
			   char *err, size_t errlen)
{
	char uid[16], gid[16], what[PATH_MAX + 64];
	const char *words[] = {"probe",
			       uid,
			       gid,
			       r->from[REQ_RESTORE] ? "env" : "-",
			       r->value[REQ_RESTORE],
			       given,
			       NULL};
	struct said s = {0};
	int rc;

	snprintf(uid, sizeof(uid), "%u",
		 (unsigned)(probe_uid != (uid_t)-1 ? probe_uid : getuid()));
	snprintf(gid, sizeof(gid), "%u",
		 (unsigned)(probe_gid != (gid_t)-1 ? probe_gid : getgid()));
	rc = helper_run(site, words, HELPER_PROBE_S, keep, &s);
	if (rc == 0 && s.got_snap && s.got_ntasks && strlen(s.snap) < snaplen) {
		strcpy(snap, s.snap);
		*ntasks = s.ntasks;
		return 0;
	}
	if (rc == 1 && s.len) { /* the reason, as the helper wrote it */
		snprintf(err, errlen, "%s", s.text);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "%s=%s: reading the snapshot (%s)",
		 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE],
		 site->helper);
	why_failed(rc, what, err, errlen);
	return -EIO;
}

/* Logs each line the epilog's helper printed. */
struct relay {
	void (*log)(void *arg, const char *line);
	void *arg;
};

static void relay_line(void *arg, const char *text)
{
	struct relay *r = arg;

	r->log(r->arg, text);
}

int helper_epilog(const struct site_config *site, uint32_t job, uid_t uid,
		  gid_t gid, void (*log)(void *arg, const char *line),
		  void *arg)
{
	char j[16], u[16], g[16], why[4400];
	const char *words[] = {"epilog", u, g, j, NULL};
	struct relay r = {log, arg};
	int rc;

	snprintf(j, sizeof(j), "%u", job);
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	rc = helper_run(site, words, HELPER_EPILOG_S, relay_line, &r);
	if (rc != 0) {
		why_failed(rc, site->helper, why, sizeof(why));
		log(arg, why);
	}
	return rc;
}

static void ignore(void *arg, const char *text)
{
	(void)arg;
	(void)text;
}

int helper_task_exit(const struct site_config *site, uint32_t job,
		     uint32_t step, uint32_t rank, uid_t uid, gid_t gid)
{
	char j[16], s[16], k[16], u[16], g[16];
	const char *words[] = {"task-exit", u, g, j, s, k, NULL};

	snprintf(j, sizeof(j), "%u", job);
	snprintf(s, sizeof(s), "%u", step);
	snprintf(k, sizeof(k), "%u", rank);
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	return helper_run(site, words, HELPER_TASK_EXIT_S, ignore, NULL);
}
