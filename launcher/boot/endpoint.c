/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/boot/endpoint.h"
#include "launcher/common/launch_env.h"

int endpoint_run(const char *argv0, char *argv[], char *const env[],
		 char *const extra[], int fd, int sfd, char *err, size_t errlen)
{
	struct signalfd_siginfo si;
	sigset_t none;
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		extern char **environ;
		char num[16];

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Only the socket: no fd of the launcher's (PMIx's) leaks. */
		if (fd >= 0 && dup2(fd, 3) < 0)
			_exit(126);
		close_range(fd >= 0 ? 4 : 3, ~0U, 0);
		environ = (char **)env;
		for (; extra && *extra; extra++)
			putenv(*extra);
		if (fd >= 0) {
			snprintf(num, sizeof(num), "%d", 3);
			setenv(ENV_NET_FD, num, 1);
		}
		argv[0] = (char *)argv0;
		execvp(argv0, argv);
		fprintf(stderr, "slurm-vm-launch: cannot run '%s': %s\n", argv0,
			strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (fd >= 0)
		close(fd);
	for (;;) {
		struct pollfd p = {.fd = sfd, .events = POLLIN};

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				kill(pid, (int)si.ssi_signo);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st)
					       : WEXITSTATUS(st);
	}
	snprintf(err, errlen, "poll: %s", strerror(errno));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -EIO;
}
