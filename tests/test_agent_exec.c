/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest agent's sessions beside the task's command (agent_exec.c), on
 * this host: a socket pair stands for the port. A command's output, exit
 * code and environment; stdin and its credit; the output window held
 * while no credit comes; a pseudo-terminal's size; a signal; a malformed
 * SPAWN and frames for a session that is not open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/agent/agent_exec.h"
#include "launcher/agent/agent_setup.h"
#include "launcher/common/clock.h"
#include "tap.h"

static int port[2];
static struct agent_rx rx;
static struct agent_execs *ex;

/* What came back for a session. */
struct got {
	char out[300000];
	size_t outlen, errlen;
	char err[4096];
	uint32_t credit; /* stdin credited back */
	int code;	 /* -1 until EXIT */
};

static void put(uint8_t sid, uint8_t type, const void *d, size_t len)
{
	if (agent_send_to(port[1], sid, type, d, len) < 0)
		return;
}

/* The agent's side, as its loop would run it, for ms or until stop(). */
static void run(int ms, int (*stop)(const struct got *), const struct got *g)
{
	long until = now_ms() + ms;

	while (now_ms() < until && !(stop && stop(g))) {
		struct pollfd p[AGENT_EXEC_POLL + 1];
		struct agent_msg m;
		int st;
		pid_t pid;

		agent_execs_pollfds(ex, p);
		p[AGENT_EXEC_POLL] =
		    (struct pollfd){.fd = port[0], .events = POLLIN};
		poll(p, AGENT_EXEC_POLL + 1, 20);
		if (p[AGENT_EXEC_POLL].revents &&
		    agent_rx_fill(&rx, port[0]) > 0)
			while (agent_rx_next(&rx, &m) == 1)
				agent_execs_frame(ex, &m);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			agent_execs_reaped(ex, pid, st);
		agent_execs_step(ex, p);
	}
}

/* Takes the frames the agent sent for session sid into g; the rest are
 * counted as strays. Credits output when credit is set. */
static struct agent_rx back;
static int strays;

static void collect(uint8_t sid, struct got *g, int credit)
{
	struct agent_msg m;
	uint32_t n;

	fcntl(port[1], F_SETFL, O_NONBLOCK);
	for (;;) {
		while (agent_rx_next(&back, &m) == 1) {
			if (m.session != sid) {
				strays++;
				continue;
			}
			if (m.type == AGENT_STDOUT &&
			    g->outlen + m.len <= sizeof(g->out)) {
				memcpy(g->out + g->outlen, m.data, m.len);
				g->outlen += m.len;
			} else if ((m.type == AGENT_STDERR ||
				    m.type == AGENT_ERROR) &&
				   g->errlen + m.len < sizeof(g->err)) {
				memcpy(g->err + g->errlen, m.data, m.len);
				g->errlen += m.len;
			} else if (m.type == AGENT_CREDIT &&
				   agent_credit_decode(&m, &n) == 0) {
				g->credit += n;
			} else if (m.type == AGENT_EXIT) {
				g->code = agent_exit_decode(&m);
			}
			if (credit && (m.type == AGENT_STDOUT ||
				       m.type == AGENT_STDERR)) {
				uint8_t c[AGENT_CREDIT_LEN];

				agent_credit_encode(c, m.len);
				put(sid, AGENT_CREDIT, c, sizeof(c));
			}
		}
		if (agent_rx_fill(&back, port[1]) <= 0)
			break;
	}
	fcntl(port[1], F_SETFL, 0);
}

/* Runs the agent and collects for sid until EXIT or ms. */
static void until_exit(uint8_t sid, struct got *g, int credit, int ms)
{
	long until = now_ms() + ms;

	while (g->code < 0 && now_ms() < until) {
		run(50, NULL, g);
		collect(sid, g, credit);
	}
}

static void spawn(uint8_t sid, uint32_t flags, char **argv, char **env)
{
	uint8_t *b;
	size_t len;

	if (agent_spawn_encode(flags, 33, 77, argv, env, &b, &len) == 0) {
		put(sid, AGENT_SPAWN, b, len);
		free(b);
	}
}

static void test_pipes(void)
{
	static struct got g = {.code = -1};
	char *argv[] = {"sh", "-c",
			"echo $FOO $BAR; cat; echo oops >&2; exit 3", NULL};
	char *env[] = {"BAR=added", "FOO=over", NULL};

	spawn(2, 0, argv, env);
	put(2, AGENT_STDIN, "hello\n", 6);
	put(2, AGENT_STDIN_EOF, NULL, 0);
	until_exit(2, &g, 1, 5000);
	g.out[g.outlen] = 0;
	g.err[g.errlen] = 0;
	is_str(g.out, "over added\nhello\n",
	       "a session's stdout, with its env over the task's, and stdin");
	is_str(g.err, "oops\n", "its stderr apart");
	ok(g.code == 3, "its exit code comes back (%d)", g.code);
	ok(g.credit == 6, "the stdin it took is credited back (%u)", g.credit);
	ok(agent_execs_open(ex) == 0, "the session is free after EXIT");
	ok(strays == 0, "no frame of another session");
}

static int window_full(const struct got *g)
{
	return g->outlen >= AGENT_WINDOW;
}

/* Output waits when the launcher gives no credit; the task's port does
 * not (the agent keeps reading it). */
static void test_window(void)
{
	static struct got g = {.code = -1};
	char *argv[] = {"head", "-c", "200000", "/dev/zero", NULL};

	spawn(1, 0, argv, NULL);
	run(600, window_full, &g);
	collect(1, &g, 0);
	run(300, NULL, &g);
	collect(1, &g, 0);
	ok(g.outlen == AGENT_WINDOW,
	   "without credit the session sends its window and waits (%zu)",
	   g.outlen);
	ok(g.code < 0, "its command has not ended meanwhile");
	{
		uint8_t c[AGENT_CREDIT_LEN];

		agent_credit_encode(c, AGENT_WINDOW);
		put(1, AGENT_CREDIT, c, sizeof(c));
	}
	until_exit(1, &g, 1, 5000);
	ok(g.outlen == 200000 && g.code == 0,
	   "with credit, all of it and EXIT 0 (%zu, %d)", g.outlen, g.code);
}

static void test_pty(void)
{
	static struct got g = {.code = -1};
	char *argv[] = {"sh", "-c", "stty size; tty", NULL};

	spawn(3, AGENT_SPAWN_PTY, argv, NULL);
	until_exit(3, &g, 1, 5000);
	g.out[g.outlen] = 0;
	ok(strstr(g.out, "33 77") != NULL,
	   "a pty session has the window size asked");
	ok(strstr(g.out, "/dev/pts/") != NULL, "and a terminal");
	ok(g.code == 0, "and ends with its code");
}

static void test_signal_and_bad(void)
{
	static struct got g = {.code = -1}, b = {.code = -1};
	char *argv[] = {"sleep", "100", NULL};
	uint8_t sig[AGENT_SIGNAL_LEN], junk[20] = {0};

	spawn(4, 0, argv, NULL);
	run(200, NULL, &g);
	agent_signal_encode(sig, SIGTERM);
	put(4, AGENT_SIGNAL, sig, sizeof(sig));
	until_exit(4, &g, 1, 5000);
	ok(g.code == 128 + SIGTERM, "SIGNAL reaches the session's command");
	junk[11] = 1; /* argc 1, but no strings */
	put(2, AGENT_SPAWN, junk, sizeof(junk));
	until_exit(2, &b, 1, 2000);
	b.err[b.errlen] = 0;
	ok(b.code == 125 && strstr(b.err, "malformed"),
	   "a malformed SPAWN: an ERROR and EXIT 125");
	put(3, AGENT_STDIN, "x", 1);
	put(3, AGENT_SIGNAL, sig, sizeof(sig));
	run(100, NULL, NULL);
	ok(agent_execs_open(ex) == 0,
	   "frames for a session not open are dropped");
}

int main(void)
{
	static struct agent_setup none;
	char *env[] = {"PATH=/usr/bin:/bin", "FOO=task", NULL};
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL); /* as the agent has it */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, port) < 0)
		return 1;
	ex = agent_execs_create(port[0], env, &none);
	ok(ex != NULL, "sessions created");
	test_pipes();
	test_window();
	test_pty();
	test_signal_and_bad();
	agent_execs_destroy(ex);
	return done_testing();
}
