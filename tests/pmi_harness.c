// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pmi-harness N PROGRAM [ARG...]: runs N copies of PROGRAM on this host,
 * each with PMI_FD, PMI_RANK and PMI_SIZE, served by one pmi_server each;
 * a barrier ends when every rank waits in it, with every rank's puts.
 * What a step's launchers do, without guests, Slurm or PMIx: for testing
 * the service against a real MPI library. Exits with the highest exit
 * code of the ranks (128+N for signal N), or with the code a rank gave to
 * abort (the others are killed, as a step's abort does); SIGALRM after
 * 120 s.
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

#include "launcher/pmi/pmi_server.h"

#define MAX_RANKS 64

static struct pmi_server *srv[MAX_RANKS];
static int fd[MAX_RANKS];
static pid_t pid[MAX_RANKS];

static void send_out(int r)
{
	size_t n;
	const char *o = pmi_server_out(srv[r], &n);
	ssize_t w = n ? write(fd[r], o, n) : 0;

	if (w > 0)
		pmi_server_out_done(srv[r], (size_t)w);
}

int main(int argc, char **argv)
{
	struct pmi_server_config c = {.kvsname = "kvs_harness"};
	char err[256], buf[4096], *all = NULL;
	int n, r, sv[2], code = 0, st, open_fds;
	size_t len;

	if (argc < 3 || (n = atoi(argv[1])) < 1 || n > MAX_RANKS) {
		fprintf(stderr, "usage: pmi-harness N(1-%d) PROGRAM [ARG...]\n",
			MAX_RANKS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	c.size = (unsigned)n;
	for (r = 0; r < n; r++) {
		c.rank = (unsigned)r;
		srv[r] = pmi_server_create(&c);
		if (!srv[r] ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return 2;
		pid[r] = fork();
		if (!pid[r]) {
			char v[32];

			fcntl(sv[1], F_SETFD, 0);
			snprintf(v, sizeof(v), "%d", sv[1]);
			setenv("PMI_FD", v, 1);
			snprintf(v, sizeof(v), "%d", r);
			setenv("PMI_RANK", v, 1);
			setenv("SLURM_PROCID", v, 1);
			snprintf(v, sizeof(v), "%d", n);
			setenv("PMI_SIZE", v, 1);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		close(sv[1]);
		fd[r] = sv[0];
	}
	for (open_fds = n; open_fds;) {
		struct pollfd p[MAX_RANKS];
		int waiting = 0;

		for (r = 0; r < n; r++)
			p[r] = (struct pollfd){.fd = fd[r], .events = POLLIN};
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 2;
		for (r = 0; r < n; r++) {
			ssize_t got;

			if (!p[r].revents || fd[r] < 0)
				continue;
			got = read(fd[r], buf, sizeof(buf));
			if (got <= 0 ||
			    pmi_server_feed(srv[r], buf, (size_t)got, err,
					    sizeof(err)) != got) {
				if (got > 0)
					fprintf(stderr,
						"pmi-harness: rank %d: %s\n", r,
						err);
				close(fd[r]);
				fd[r] = -1;
				open_fds--;
				continue;
			}
			send_out(r);
			if (pmi_server_state(srv[r]) == PMI_ABORTED) {
				/* As a step's abort does: every rank goes. */
				fprintf(stderr,
					"pmi-harness: rank %d aborted with "
					"code %d\n",
					r, pmi_server_abort_code(srv[r]));
				for (st = 0; st < n; st++)
					kill(pid[st], SIGKILL);
				for (st = 0; st < n; st++)
					waitpid(pid[st], NULL, 0);
				return pmi_server_abort_code(srv[r]);
			}
		}
		for (r = 0; r < n; r++)
			waiting += pmi_server_state(srv[r]) == PMI_IN_BARRIER;
		if (waiting != n)
			continue;
		/* Every rank is in the barrier: the all-gather. */
		len = 0;
		for (r = 0; r < n; r++) {
			size_t m;
			const char *puts = pmi_server_puts(srv[r], &m);

			all = realloc(all, len + m + 1);
			memcpy(all + len, puts, m);
			len += m;
		}
		for (r = 0; r < n; r++) {
			if (pmi_server_barrier_done(srv[r], all, len, err,
						    sizeof(err)) < 0)
				fprintf(stderr, "pmi-harness: %s\n", err);
			pmi_server_feed(srv[r], "", 0, err, sizeof(err));
			send_out(r);
		}
	}
	for (r = 0; r < n; r++) {
		if (waitpid(pid[r], &st, 0) < 0)
			continue;
		st = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		if (st > code)
			code = st;
		pmi_server_destroy(srv[r]);
	}
	free(all);
	return code;
}
