/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/boot/tool.h"

/* In the child: never returns. */
static void exec_tool(char *const argv[], const char *log, const char *out)
{
	static const char *const sbin[] = {"/usr/sbin", "/sbin"};
	/* Close-on-exec: only the dup2 copies (0, 1, 2) reach the tool. The
	 * files are in the launcher's own run directory. */
	int fd = open(
	    log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	int ofd =
	    out ? open(out,
		       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		       0600)
		: fd;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char path[4200];
	size_t i;

	if (null >= 0)
		dup2(null, 0);
	if (fd >= 0)
		dup2(fd, 2);
	if (ofd >= 0)
		dup2(ofd, 1);
	/* mtools compares a FAT image's geometry with a floppy's unless
	 * told not to; the seed is no floppy. Harmless for other tools. */
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	execvp(argv[0], argv);
	for (i = 0; i < sizeof(sbin) / sizeof(sbin[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", sbin[i], argv[0]);
		execv(path, argv);
	}
	fprintf(stderr,
		"cannot run %s: not found in PATH, /usr/sbin or /sbin\n",
		argv[0]);
	_exit(127);
}

int tool_run(char *const argv[], const char *log, const char *out)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid)
		exec_tool(argv, log, out);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}
