/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A stand-in launcher and guest for exec and shell, on this host
 * (tests/t07-exec.sh): the launcher's real control socket, exec relay and
 * agent session on its loop, and in a child the agent's real sessions
 * (agent_exec.c) on the other end of a socket pair, running commands
 * here. The task's own command is a counter: the child sends
 * "RANK: c N" lines as session 0's STDOUT every 100 ms, which the
 * session writes to stdout, as a launcher does the task's output.
 *   exec-stub DIR RANK NODE SECONDS
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/agent/agent_exec.h"
#include "launcher/agent/agent_setup.h"
#include "launcher/common/clock.h"
#include "launcher/common/loop.h"
#include "launcher/control/control.h"
#include "launcher/exec_relay.h"
#include "launcher/session.h"

static unsigned long rank;
static const char *node;
static struct exec_relay *xr;

/* The guest's side: never returns. */
static void guest(int port)
{
	static struct agent_rx rx;
	static struct agent_setup none;
	static char procid[64];
	char *env[] = {"PATH=/usr/bin:/bin", procid, NULL};
	struct agent_execs *e;
	long tick = now_ms();
	unsigned long n = 0;
	char line[64];

	snprintf(procid, sizeof(procid), "SLURM_PROCID=%lu", rank);
	e = agent_execs_create(port, env, &none);
	for (;;) {
		struct pollfd p[AGENT_EXEC_POLL + 1];
		struct agent_msg m;
		int st, len;
		pid_t pid;

		agent_execs_pollfds(e, p);
		p[AGENT_EXEC_POLL] =
		    (struct pollfd){.fd = port, .events = POLLIN};
		poll(p, AGENT_EXEC_POLL + 1, 20);
		if (p[AGENT_EXEC_POLL].revents) {
			if (agent_rx_fill(&rx, port) <= 0)
				_exit(0); /* the launcher is gone */
			while (agent_rx_next(&rx, &m) == 1)
				if (m.session)
					agent_execs_frame(e, &m);
		}
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			agent_execs_reaped(e, pid, st);
		if (agent_execs_step(e, p) < 0)
			_exit(1);
		if (now_ms() - tick >= 100) {
			tick = now_ms();
			len = snprintf(line, sizeof(line), "%lu: c %lu\n", rank,
				       n++);
			if (agent_send(port, AGENT_STDOUT, line, (size_t)len) <
			    0)
				_exit(1);
		}
	}
}

static int s_status(void *arg, struct control_status *st, char *err,
		    size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	st->job = 9;
	st->rank = rank;
	st->state = "running";
	snprintf(st->hostname, sizeof(st->hostname), "n%04lu", rank);
	st->node = node;
	return 0;
}

static int s_none(void *arg, char *err, size_t errlen)
{
	(void)arg;
	snprintf(err, errlen, "not here");
	return -ENOSYS;
}

static int s_open(void *arg, json_t *req, unsigned client, char *err,
		  size_t errlen)
{
	(void)arg;
	return exec_relay_open(xr, req, client, err, errlen);
}

static ssize_t s_input(void *arg, int h, const void *buf, size_t len)
{
	(void)arg;
	return exec_relay_input(xr, h, buf, len);
}

static void s_written(void *arg, int h)
{
	(void)arg;
	exec_relay_written(xr, h);
}

static void s_gone(void *arg, int h)
{
	(void)arg;
	exec_relay_gone(xr, h);
}

static struct loop *L;

static void on_end(struct loop_timer *t)
{
	(void)t;
	loop_stop(L, 0);
}

int main(int argc, char **argv)
{
	const struct control_ops ops = {.status = s_status,
					.pause = s_none,
					.resume = s_none,
					.exec_open = s_open,
					.exec_input = s_input,
					.exec_written = s_written,
					.exec_gone = s_gone};
	struct loop_timer end = {.fn = on_end};
	char *task[] = {"counter", NULL}, *env[] = {NULL};
	static struct vm vm;
	struct session *s;
	struct control *c;
	char err[2048];
	pid_t child;
	int sv[2];

	if (argc != 5)
		return 2;
	rank = strtoul(argv[2], NULL, 10);
	node = argv[3];
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	child = fork();
	if (!child) {
		close(sv[0]);
		guest(sv[1]);
	}
	close(sv[1]);
	snprintf(vm.dir, sizeof(vm.dir), "%s", argv[1]);
	vm.agent_fd = sv[0];
	L = loop_create();
	s = L ? session_create(L, &vm, err, sizeof(err)) : NULL;
	xr = s ? exec_relay_create(L, s) : NULL;
	c = xr ? control_open(L, argv[1], &ops, err, sizeof(err)) : NULL;
	if (!c || session_begin_run(s, "n0000", "/", task, env) < 0) {
		fprintf(stderr, "exec-stub: %s\n", err);
		return 1;
	}
	exec_relay_set_control(xr, c);
	loop_timer_in(L, &end, atol(argv[4]) * 1000);
	loop_run(L);
	control_close(c);
	exec_relay_destroy(xr);
	session_destroy(s);
	loop_destroy(L);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
