/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent session on the launcher's loop against a scripted agent: the
 * other end of a socketpair, fed frames before the loop runs or from the
 * loop's own timers while it runs, and read after to see what the session
 * sent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/agent/agent_proto.h"
#include "launcher/common/clock.h"
#include "launcher/common/loop.h"
#include "launcher/session.h"
#include "tap.h"

struct rig {
	struct loop *loop;
	struct vm vm;
	struct session *s;
	int peer;
	char err[2048];
	char dir[64];
};

static void rig_open(struct rig *r)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_session.XXXXXX");
	if (!mkdtemp(r->dir))
		abort();
	snprintf(r->vm.dir, sizeof(r->vm.dir), "%s", r->dir);
	r->vm.agent_fd = sv[0];
	r->peer = sv[1];
	r->loop = loop_create();
	r->s = session_create(r->loop, &r->vm, r->err, sizeof(r->err));
	if (!r->loop || !r->s)
		abort();
}

static void rig_close(struct rig *r)
{
	char path[4200];

	session_destroy(r->s);
	loop_destroy(r->loop);
	close(r->vm.agent_fd);
	close(r->peer);
	vm_path(&r->vm, VM_CONSOLE_LOG, path, sizeof(path));
	unlink(path);
	rmdir(r->dir);
}

static void exit_frame(int fd, uint32_t how, uint32_t val)
{
	uint8_t p[8] = {0, 0, 0, (uint8_t)how, 0, 0, 0, (uint8_t)val};

	agent_send(fd, AGENT_EXIT, p, sizeof(p));
}

/* The next frame the session sent, waiting up to 2 s; its type, or -1. */
static int peer_read(struct rig *r, struct agent_rx *rx, struct agent_msg *m)
{
	long until = now_ms() + 2000;
	int fl = fcntl(r->peer, F_GETFL);

	fcntl(r->peer, F_SETFL, fl | O_NONBLOCK);
	while (now_ms() < until) {
		int n = agent_rx_next(rx, m);

		if (n == 1)
			return m->type;
		if (n < 0)
			return -1;
		if (agent_rx_fill(rx, r->peer) <= 0)
			usleep(1000);
	}
	return -1;
}

/* Runs the loop with fd 1 sent to a pipe; what went there into out. */
static int run_captured(struct rig *r, char *out, size_t len)
{
	int p[2], saved, code;
	ssize_t n;

	fflush(stdout);
	if (pipe(p) < 0 || (saved = dup(1)) < 0)
		abort();
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	dup2(p[1], 1);
	code = loop_run(r->loop);
	dup2(saved, 1);
	close(saved);
	close(p[1]);
	n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	return code;
}

static void test_ready(void)
{
	struct rig r;

	rig_open(&r);
	agent_send(r.peer, AGENT_READY, "6.1", 3);
	ok(session_begin_ready(r.s, 10) == 0, "the ready wait starts");
	ok(loop_run(r.loop) == 0, "READY ends it with 0");
	rig_close(&r);

	rig_open(&r);
	agent_send(r.peer, AGENT_STDOUT, "x", 1);
	session_begin_ready(r.s, 10);
	ok(loop_run(r.loop) == -EPROTO, "a frame before READY: -EPROTO");
	ok(strstr(r.err, "broke the protocol before it was ready") != NULL,
	   "and says so: %s", r.err);
	rig_close(&r);

	rig_open(&r);
	session_begin_ready(r.s, 10);
	session_signal(r.s, SIGTERM);
	ok(loop_run(r.loop) == -EINTR, "SIGTERM while booting: -EINTR");
	ok(strstr(r.err, "signal 15 while the guest was booting") != NULL,
	   "naming the signal: %s", r.err);
	rig_close(&r);

	rig_open(&r);
	session_begin_ready(r.s, 10);
	session_qemu_gone(r.s);
	ok(loop_run(r.loop) == -ECHILD, "QEMU gone while booting: -ECHILD");
	rig_close(&r);
}

/* A peer that says nothing: the boot timeout ends the wait. */
static void test_ready_timeout(void)
{
	struct rig r;
	long t0;
	int code;

	rig_open(&r);
	session_begin_ready(r.s, 1);
	t0 = now_ms();
	code = loop_run(r.loop);
	ok(code == -ETIMEDOUT && now_ms() - t0 >= 900 && now_ms() - t0 < 3000,
	   "a silent agent: -ETIMEDOUT after the boot timeout (%ld ms)",
	   now_ms() - t0);
	ok(strstr(r.err, "within 1 s") != NULL, "saying so: %.60s", r.err);
	rig_close(&r);
}

static int exit_peer = -1;

static void send_exit(struct loop_timer *t)
{
	(void)t;
	exit_frame(exit_peer, AGENT_EXITED, 3);
}

static void test_run(void)
{
	struct loop_timer later = {.fn = send_exit};
	char *argv[] = {"echo", "hi", NULL}, *env[] = {"A=1", NULL};
	struct agent_rx rx = {0};
	struct agent_msg m;
	struct rig r;
	char out[256];
	int in, code;

	rig_open(&r);
	in = open("/dev/null", O_RDONLY); /* epoll cannot watch it */
	dup2(in, 0);
	close(in);
	ok(session_begin_run(r.s, "n0000", "/", argv, env) == 0,
	   "the command starts");
	ok(peer_read(&r, &rx, &m) == AGENT_EXEC, "the agent gets EXEC");
	agent_send(r.peer, AGENT_STDOUT, "hello\n", 6);
	exit_peer = r.peer;
	loop_timer_in(r.loop, &later, 100);
	code = run_captured(&r, out, sizeof(out));
	ok(code == 3, "EXIT 3 ends the relay with 3 (%d)", code);
	is_str(out, "hello\n", "STDOUT reaches fd 1");
	ok(peer_read(&r, &rx, &m) == AGENT_STDIN_EOF,
	   "stdin at its end (/dev/null) is sent as STDIN_EOF");
	rig_close(&r);
}

/* SIGTERM is forwarded once; with no EXIT, the grace ends the relay. */
static void test_stop_grace(void)
{
	char *argv[] = {"sleep", "9", NULL}, *env[] = {NULL};
	struct agent_rx rx = {0};
	struct agent_msg m;
	struct rig r;
	char out[64];
	int code;

	rig_open(&r);
	session_begin_run(r.s, "n0000", "/", argv, env);
	peer_read(&r, &rx, &m);
	session_signal(r.s, SIGUSR1);
	session_signal(r.s, SIGTERM);
	session_signal(r.s, SIGTERM);
	ok(peer_read(&r, &rx, &m) == AGENT_SIGNAL && m.data[3] == SIGUSR1,
	   "USR1 is passed on");
	code = run_captured(&r, out, sizeof(out));
	ok(code == 128 + SIGTERM, "no EXIT within the grace: 128+15 (%d)",
	   code);
	ok(strstr(r.err, "did not end within 5 s of signal 15") != NULL,
	   "saying so: %s", r.err);
	ok(peer_read(&r, &rx, &m) == AGENT_SIGNAL && m.data[3] == SIGTERM,
	   "TERM was forwarded");
	while (peer_read(&r, &rx, &m) == AGENT_STDIN_EOF)
		;
	ok(m.type != AGENT_SIGNAL, "once");
	rig_close(&r);
}

/* A hostile agent: a bad frame or a bad EXIT ends the relay. */
static void test_attacks(void)
{
	char *argv[] = {"x", NULL}, *env[] = {NULL};
	uint8_t bad[8] = {AGENT_STDOUT, 0, 1, 0, 0, 0, 0, 0};
	uint8_t far[8] = {AGENT_STDOUT, AGENT_SESSIONS, 0, 0, 0, 0, 0, 0};
	struct rig r;
	char out[64];

	rig_open(&r);
	session_begin_run(r.s, "n0000", "/", argv, env);
	if (write(r.peer, bad, sizeof(bad)) != sizeof(bad))
		abort();
	ok(run_captured(&r, out, sizeof(out)) == -EPROTO,
	   "a non-zero pad: -EPROTO");
	ok(strstr(r.err, "broke the protocol") != NULL, "saying so");
	rig_close(&r);

	rig_open(&r);
	session_begin_run(r.s, "n0000", "/", argv, env);
	if (write(r.peer, far, sizeof(far)) != sizeof(far))
		abort();
	ok(run_captured(&r, out, sizeof(out)) == -EPROTO,
	   "a session beyond AGENT_SESSIONS: -EPROTO");
	rig_close(&r);

	rig_open(&r);
	session_begin_run(r.s, "n0000", "/", argv, env);
	exit_frame(r.peer, AGENT_SIGNALED, 0);
	ok(run_captured(&r, out, sizeof(out)) == -EPROTO,
	   "an EXIT by signal 0: -EPROTO");
	rig_close(&r);

	rig_open(&r);
	session_begin_run(r.s, "n0000", "/", argv, env);
	close(r.peer);
	r.peer = open("/dev/null", O_RDONLY);
	ok(run_captured(&r, out, sizeof(out)) == -EPIPE,
	   "the channel closes: -EPIPE");
	rig_close(&r);
}

/* What a save takes with the guest: the part of a frame received. */
struct mid {
	struct loop_timer t;
	struct rig *r;
	size_t unparsed;
};

static void mid_check(struct loop_timer *t)
{
	struct mid *m = (struct mid *)t;
	const uint8_t *p;
	uint8_t rest[2] = {'c', 'd'};

	session_unparsed(m->r->s, &p, &m->unparsed);
	if (write(m->r->peer, rest, sizeof(rest)) != sizeof(rest))
		abort();
	exit_frame(m->r->peer, AGENT_EXITED, 0);
}

static void test_unparsed_and_reattach(void)
{
	char *argv[] = {"x", NULL}, *env[] = {NULL};
	uint8_t half[AGENT_HDR_LEN + 2];
	uint8_t pending[AGENT_HDR_LEN + 8];
	struct mid m = {.t.fn = mid_check};
	struct rig r;
	char out[64];
	int code = -1;

	rig_open(&r);
	m.r = &r;
	session_begin_run(r.s, "n0000", "/", argv, env);
	agent_msg_header(half, AGENT_STDOUT, 4);
	memcpy(half + AGENT_HDR_LEN, "ab", 2);
	if (write(r.peer, half, sizeof(half)) != sizeof(half))
		abort();
	loop_timer_in(r.loop, &m.t, 100);
	ok(run_captured(&r, out, sizeof(out)) == 0, "the relay ends");
	ok(m.unparsed == sizeof(half),
	   "a frame in part received is what is left unparsed (%zu)",
	   m.unparsed);
	is_str(out, "abcd", "and is relayed whole once the rest comes");
	rig_close(&r);

	rig_open(&r);
	agent_msg_header(pending, AGENT_EXIT, 8);
	memset(pending + AGENT_HDR_LEN, 0, 8);
	pending[AGENT_HDR_LEN + 7] = 7;
	ok(session_begin_reattach(r.s, pending, sizeof(pending), &code) == 1 &&
	       code == 7,
	   "restored bytes holding EXIT 7: the command is over, 7");
	pending[2] = 1;
	ok(session_begin_reattach(r.s, pending, sizeof(pending), &code) ==
	       -EPROTO,
	   "restored bytes that are not frames: -EPROTO");
	rig_close(&r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_ready();
	test_ready_timeout();
	test_run();
	test_stop_grace();
	test_attacks();
	test_unparsed_and_reattach();
	return done_testing();
}
