/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spank/helper/cleanup.h"
#include "launcher/common/launch_env.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"

int cleanup_rundirs(const char *rundir, const char *which, uid_t uid)
{
	char prefix[64];
	struct dirent *e;
	int dfd, removed = 0;
	size_t n;
	DIR *d;

	n = (size_t)snprintf(prefix, sizeof(prefix), RUNDIR_PREFIX "%s", which);
	if (n >= sizeof(prefix))
		return 0;
	dfd = open(rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((e = readdir(d))) {
		char path[4400];
		struct stat sb;

		if (strncmp(e->d_name, prefix, n) ||
		    fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(sb.st_mode) || sb.st_uid != uid)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rundir, e->d_name);
		if (snap_remove_tree(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* True when the NUL-separated args hold "-name" then "slurm-vm.JOB.*". */
static int is_job_qemu(const char *args, size_t len, const char *name)
{
	const char *p = args, *end = args + len;
	int after_name = 0;

	while (p < end) {
		if (after_name && !strncmp(p, name, strlen(name)))
			return 1;
		after_name = !strcmp(p, "-name");
		p += strlen(p) + 1;
	}
	return 0;
}

/* Reads /proc/PID/cmdline; returns its length or -1. */
static ssize_t read_cmdline(int procfd, char *args, size_t len)
{
	int fd = openat(procfd, "cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, args, len - 1);
	close(fd);
	if (n > 0)
		args[n] = 0;
	return n;
}

/*
 * The process is held by a pidfd before it is checked, so a process that
 * exits between the check and the kill cannot hand its PID to another:
 * the signal then goes to nobody (ESRCH).
 */
static int kill_if_job_qemu(long pid, const char *name, uid_t uid)
{
	char path[64], args[8192];
	struct stat sb;
	int procfd, pidfd, killed = 0;
	ssize_t n;

	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld", pid);
	procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd >= 0 && fstat(procfd, &sb) == 0 && sb.st_uid == uid &&
	    (n = read_cmdline(procfd, args, sizeof(args))) > 0 &&
	    is_job_qemu(args, (size_t)n, name))
		killed = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL,
				 0) == 0;
	if (procfd >= 0)
		close(procfd);
	close(pidfd);
	return killed;
}

int cleanup_qemus(uint32_t job, uid_t uid)
{
	char name[64];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int killed = 0;

	if (!d)
		return 0;
	snprintf(name, sizeof(name), RUNDIR_PREFIX "%u.", job);
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 1 || pid == (long)getpid())
			continue;
		killed += kill_if_job_qemu(pid, name, uid);
	}
	closedir(d);
	return killed;
}

/* Snapshots: the job epilog's part. */

#define MAX_SNAPDIRS 64

struct snapdirs {
	char *dir[MAX_SNAPDIRS];
	int n;
};

static void add_dir(const char *dir, void *arg)
{
	struct snapdirs *d = arg;

	if (d->n < MAX_SNAPDIRS && (d->dir[d->n] = strdup(dir)))
		d->n++;
}

static void say(void (*log)(void *, const char *), void *arg, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

static void say(void (*log)(void *, const char *), void *arg, const char *fmt,
		...)
{
	char line[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log(arg, line);
}

/* Reads the job's .snapdirs file, which must be uid's own regular file. */
static int read_snapdirs(const char *path, uid_t uid, struct snapdirs *d,
			 void (*log)(void *, const char *), void *arg)
{
	char text[64 * 1024];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		if (errno != ENOENT)
			say(log, arg, "cannot read %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid) {
		say(log, arg, "%s is not a file of the job's user: ignored",
		    path);
		close(fd);
		return -1;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return -1;
	snap_record_parse(text, (size_t)n, add_dir, d);
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct snap_name *x = a, *y = b;

	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* True when the save n is newer than what dir/latest names. */
static int newer_than_latest(const char *dir, const struct snap_name *n)
{
	char link[4200], target[256];
	struct snap_name l;
	ssize_t len;

	snprintf(link, sizeof(link), "%s/%s", dir, SNAP_LATEST);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return 1;
	target[len] = 0;
	if (snap_name_parse(target, &l) < 0 || l.job != n->job ||
	    l.step != n->step)
		return 1;
	return n->seq > l.seq;
}

/* A save whose step ended after its manifest but before publishing. */
static int finish_partial(const char *dir, const struct snap_name *n,
			  void (*log)(void *, const char *), void *arg)
{
	char from[64], to[64], path[4200], why[4400];
	struct snap_manifest m;
	struct snap_name f;
	uint64_t bytes;
	int rc;

	snap_name_format(n, from, sizeof(from));
	snprintf(path, sizeof(path), "%s/%s", dir, from);
	if (manifest_read(path, &m, why, sizeof(why)) < 0)
		return -1;
	rc = m.job == n->job && m.step == n->step && m.seq == n->seq &&
		     newer_than_latest(dir, n)
		 ? manifest_verify(path, &m, 0, why, sizeof(why))
		 : -1;
	bytes = manifest_bytes(&m);
	manifest_free(&m);
	if (rc < 0)
		return -1;
	f = *n;
	f.state = SNAP_COMPLETE;
	snap_name_format(&f, to, sizeof(to));
	rc = snap_publish(dir, from, to, why, sizeof(why));
	if (rc < 0)
		return -1;
	say(log, arg,
	    "%s/%s: a complete save (%" PRIu64 " bytes) its step did not "
	    "publish: published as %s/%s%s%s",
	    dir, from, bytes, dir, to, rc > 0 ? "; " : "", rc > 0 ? why : "");
	return 0;
}

/* Checks a complete snapshot of the job against its manifest. */
static void check_complete(const char *dir, const struct snap_name *n,
			   void (*log)(void *, const char *), void *arg)
{
	char name[64], path[4200], why[4400];
	struct snap_manifest m;

	snap_name_format(n, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (manifest_read(path, &m, why, sizeof(why)) < 0) {
		say(log, arg, "%s: not usable: %s", path, why);
		return;
	}
	if (manifest_verify(path, &m, 0, why, sizeof(why)) < 0)
		say(log, arg, "%s: damaged: %s", path, why);
	else
		say(log, arg,
		    "%s: complete, %" PRIu32 " rank%s, %" PRIu64
		    " bytes, sizes verified",
		    path, m.ntasks, m.ntasks == 1 ? "" : "s",
		    manifest_bytes(&m));
	manifest_free(&m);
}

/* The job's saves in dir, oldest first. */
static void tidy_dir(const char *dir, uint32_t job,
		     void (*log)(void *, const char *), void *arg)
{
	struct snap_name *names = NULL, n;
	size_t count = 0, cap = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d) {
		say(log, arg, "%s: %s", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		if (snap_name_parse(e->d_name, &n) < 0 || n.job != job)
			continue;
		if (count == cap) {
			struct snap_name *more =
			    realloc(names, (cap + 16) * sizeof(*names));

			if (!more)
				break;
			names = more;
			cap += 16;
		}
		names[count++] = n;
	}
	closedir(d);
	qsort(names, count, sizeof(*names), by_seq);
	for (i = 0; i < count; i++) {
		char name[64], path[4200];
		int rc;

		if (names[i].state != SNAP_PARTIAL)
			continue;
		if (finish_partial(dir, &names[i], log, arg) == 0) {
			names[i].state = SNAP_COMPLETE;
			continue;
		}
		snap_name_format(&names[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		rc = snap_remove_tree(path);
		say(log, arg, "%s %s: an unfinished or failed save%s%s",
		    rc < 0 ? "cannot remove" : "removed", path,
		    rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
	}
	for (i = 0; i < count; i++) {
		char path[4200], name[64];
		struct stat st;

		snap_name_format(&names[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		/* A publish since removed the one before. */
		if (names[i].state == SNAP_COMPLETE && lstat(path, &st) == 0)
			check_complete(dir, &names[i], log, arg);
	}
	free(names);
}

int cleanup_snapshots(const char *rundir, uint32_t job, uid_t uid,
		      void (*log)(void *arg, const char *line), void *arg)
{
	struct snapdirs d = {0};
	char path[4200];
	int i;

	snprintf(path, sizeof(path), "%s/" RUNDIR_PREFIX "%u%s", rundir, job,
		 SNAP_RECORD_SUFFIX);
	if (read_snapdirs(path, uid, &d, log, arg) < 0) {
		/* Whatever stands there (a FIFO, a link): the user's own
		 * goes, as the user may remove it; another's stays. */
		unlink(path);
		return 0;
	}
	for (i = 0; i < d.n; i++)
		tidy_dir(d.dir[i], job, log, arg);
	unlink(path);
	for (i = 0; i < d.n; i++)
		free(d.dir[i]);
	return d.n;
}
