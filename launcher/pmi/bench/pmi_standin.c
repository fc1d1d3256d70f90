// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * slurm-vm-pmi-standin CMD [ARG...]: one task of an srun --mpi=pmix step
 * that serves CMD with a launcher's PMI service (pmi_step.h) as the
 * launcher would serve a guest's command, without a guest: CMD gets one
 * end of a socket pair as PMI_FD, with PMI_RANK and PMI_SIZE, and the
 * bytes go to and from the service directly instead of through the agent.
 * For contrib/bench-mpi: the PMI exchange alone, at many ranks. Exits
 * with CMD's status (128+N for signal N).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/pmi/pmi_step.h"

static unsigned long env_num(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoul(v, NULL, 10) : 0;
}

/* Sends what the service has for CMD; returns -1 once the service closed
 * CMD's socket. */
static int pump(struct pmi_step *p, int fd)
{
	const uint8_t *d;
	size_t len;
	ssize_t w;

	while (pmi_step_next(p, &d, &len, 4096)) {
		if (!len) {
			shutdown(fd, SHUT_WR);
			pmi_step_sent(p, 0);
			return -1;
		}
		w = write(fd, d, len);
		if (w <= 0)
			return -1;
		pmi_step_sent(p, (size_t)w);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned rank = (unsigned)env_num("SLURM_PROCID");
	unsigned size = (unsigned)env_num("SLURM_STEP_NUM_TASKS");
	char err[256], v[32], buf[4096];
	struct pmi_step *p;
	int sv[2], st, code, open_ = 1;
	pid_t pid;

	if (argc < 2 || !size) {
		fprintf(stderr, "usage: slurm-vm-pmi-standin CMD [ARG...] "
				"(as a task of srun --mpi=pmix)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	p = pmi_step_create(rank, size, env_num("SLURM_JOB_ID"),
			    env_num("SLURM_STEP_ID"), err, sizeof(err));
	if (!p || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "slurm-vm-pmi-standin: %s\n",
			p ? strerror(errno) : err);
		return 2;
	}
	pid = fork(); /* no PMIx yet: this process has one thread */
	if (pid == 0) {
		fcntl(sv[1], F_SETFD, 0);
		snprintf(v, sizeof(v), "%d", sv[1]);
		setenv("PMI_FD", v, 1);
		snprintf(v, sizeof(v), "%u", rank);
		setenv("PMI_RANK", v, 1);
		snprintf(v, sizeof(v), "%u", size);
		setenv("PMI_SIZE", v, 1);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(sv[1]);
	while (open_) {
		struct pollfd pf[2] = {
		    {.fd = sv[0], .events = POLLIN},
		    {.fd = pmi_step_fd(p), .events = POLLIN}};
		ssize_t n;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN)
			pmi_step_on_event(p);
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			n = read(sv[0], buf, sizeof(buf));
			if (n <= 0) {
				pmi_step_input(p, NULL, 0);
				open_ = 0;
			} else {
				pmi_step_input(p, (const uint8_t *)buf,
					       (size_t)n);
			}
		}
		if (pump(p, sv[0]) < 0)
			open_ = 0;
	}
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	pmi_step_exited(p, code);
	pmi_step_destroy(p);
	return code;
}
