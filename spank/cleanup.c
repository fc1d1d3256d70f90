/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch_env.h"
#include "manifest.h"
#include "snapdir.h"

int cleanup_rundirs(const char *rundir, const char *which, uid_t uid, gid_t gid)
{
	char pattern[4300];
	int st, removed = 0;
	glob_t g;
	pid_t pid;
	size_t i;

	snprintf(pattern, sizeof(pattern), "%s/" RUNDIR_PREFIX "%s*", rundir,
		 which);
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		if ((getuid() == 0 && (setgroups(0, NULL) < 0 ||
				       setgid(gid) < 0 || setuid(uid) < 0)))
			_exit(0);
		if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc; i++) {
				struct stat sb;

				if (lstat(g.gl_pathv[i], &sb) == 0 &&
				    S_ISDIR(sb.st_mode) && sb.st_uid == uid &&
				    snap_remove_tree(g.gl_pathv[i]) == 0)
					removed++;
			}
			globfree(&g);
		}
		_exit(removed > 255 ? 255 : removed);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
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

int cleanup_qemus(uint32_t job, uid_t uid)
{
	char name[64], path[64], args[8192];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int killed = 0;

	if (!d)
		return 0;
	snprintf(name, sizeof(name), RUNDIR_PREFIX "%u.", job);
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		struct stat sb;
		ssize_t n;
		int fd;

		if (*end || pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld", pid);
		if (stat(path, &sb) < 0 || sb.st_uid != uid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = 0;
		if (is_job_qemu(args, (size_t)n, name) &&
		    kill((pid_t)pid, SIGKILL) == 0)
			killed++;
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

/* Gives the entry name of dfd to uid:gid when another user owns it. */
static int give(int dfd, const char *name, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int changed = 0;

	if (fd < 0)
		return 0;
	/* Never a link, never a file that has another name elsewhere. */
	if (fstat(fd, &st) == 0 && st.st_uid != uid &&
	    (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_nlink == 1)))
		changed = fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == 0;
	close(fd);
	return changed;
}

/* As root: the job's snapshot entries in dir, and the files in them. */
static int give_snapshots(const char *dir, uint32_t job, uid_t uid, gid_t gid,
			  void (*log)(void *, const char *), void *arg)
{
	struct snap_name n;
	struct dirent *e;
	struct stat st;
	int dfd, changed = 0;
	DIR *d;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	if (fstat(dfd, &st) < 0 || st.st_uid != uid) {
		say(log, arg,
		    "%s: not the job's user's directory: ownership of its "
		    "snapshots left as it is",
		    dir);
		close(dfd);
		return 0;
	}
	d = fdopendir(dup(dfd));
	while (d && (e = readdir(d))) {
		struct dirent *f;
		DIR *sub;
		int sfd;

		if (snap_name_parse(e->d_name, &n) < 0 || n.job != job)
			continue;
		changed += give(dfd, e->d_name, uid, gid);
		sfd = openat(dfd, e->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sub = sfd >= 0 ? fdopendir(sfd) : NULL;
		if (!sub && sfd >= 0)
			close(sfd);
		while (sub && (f = readdir(sub)))
			if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
				changed +=
				    give(dirfd(sub), f->d_name, uid, gid);
		if (sub)
			closedir(sub);
	}
	if (d)
		closedir(d);
	close(dfd);
	return changed;
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

/* As the job's user: the job's saves in dir, oldest first. */
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

/* In the child: each line goes up the pipe. */
static void to_pipe(void *arg, const char *line)
{
	int fd = *(int *)arg;
	char buf[8200];
	size_t i, n = (size_t)snprintf(buf, sizeof(buf) - 1, "%s", line);

	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (write(fd, buf, n) < 0)
		_exit(1);
}

int cleanup_snapshots(const char *rundir, uint32_t job, uid_t uid, gid_t gid,
		      void (*log)(void *arg, const char *line), void *arg)
{
	struct snapdirs d = {0};
	char path[4200], line[8200];
	int fds[2], i, st, changed = 0;
	size_t len = 0;
	FILE *in;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/" RUNDIR_PREFIX "%u%s", rundir, job,
		 SNAP_RECORD_SUFFIX);
	if (read_snapdirs(path, uid, &d, log, arg) < 0)
		return 0;
	if (geteuid() == 0)
		for (i = 0; i < d.n; i++)
			changed +=
			    give_snapshots(d.dir[i], job, uid, gid, log, arg);
	if (changed)
		say(log, arg,
		    "gave %d snapshot entr%s (files, directories) of another "
		    "owner to the job's user (uid %u)",
		    changed, changed == 1 ? "y" : "ies", (unsigned)uid);
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		if (getuid() == 0 && (setgroups(0, NULL) < 0 ||
				      setgid(gid) < 0 || setuid(uid) < 0))
			_exit(1);
		for (i = 0; i < d.n; i++)
			tidy_dir(d.dir[i], job, to_pipe, &fds[1]);
		unlink(path);
		_exit(0);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[len - 1] = 0;
		log(arg, line);
	}
	if (in)
		fclose(in);
	else
		close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
out:
	for (i = 0; i < d.n; i++)
		free(d.dir[i]);
	return d.n;
}
