/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch_env.h"

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

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
				    nftw(g.gl_pathv[i], remove_entry, 16,
					 FTW_DEPTH | FTW_PHYS) == 0 &&
				    access(g.gl_pathv[i], F_OK) < 0)
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
