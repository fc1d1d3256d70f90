/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The exec relay (launcher/exec_relay.c) between the real control socket
 * and a stand-in agent session: this test pulls the frames the relay
 * sends to the guest (next()) and hands it the guest's (frame()). A
 * session's frames both ways; a guest frame for a session not open; a
 * guest beyond its window; a slow client, whose credit is held back; a
 * client's oversized frame and wrong session; a client gone mid-session
 * (SIGHUP, then SIGKILL); a malformed request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/agent/agent_proto.h"
#include "launcher/common/clock.h"
#include "launcher/common/loop.h"
#include "launcher/control/control.h"
#include "launcher/exec_relay.h"
#include "launcher/session.h"
#include "tap.h"

static struct loop *L;
static struct exec_relay *X;
static struct session_aux aux;
static char dir[64], sock[128];

/* The stand-in session: the relay's hooks, (kicks need nothing here). */
void session_set_aux(struct session *s, const struct session_aux *a)
{
	(void)s;
	aux = *a;
}

void session_kick(struct session *s)
{
	(void)s;
}

static int o_open(void *a, json_t *req, unsigned client, char *err, size_t n)
{
	(void)a;
	return exec_relay_open(X, req, client, err, n);
}

static ssize_t o_input(void *a, int h, const void *buf, size_t len)
{
	(void)a;
	return exec_relay_input(X, h, buf, len);
}

static void o_written(void *a, int h)
{
	(void)a;
	exec_relay_written(X, h);
}

static void o_gone(void *a, int h)
{
	(void)a;
	exec_relay_gone(X, h);
}

static void on_pump(struct loop_timer *t)
{
	(void)t;
	loop_stop(L, 0);
}

static void pump(long ms)
{
	struct loop_timer t = {.fn = on_pump};

	loop_timer_in(L, &t, ms);
	loop_run(L);
	loop_timer_stop(L, &t);
}

/* A client with its session open; its reply in buf. */
static int client(const char *req, char *buf, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	strcpy(a.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		abort();
	pump(30);
	n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return fd;
}

/* The next frame for the guest (type, its session and payload in m). */
static uint8_t fbuf[AGENT_HDR_LEN + AGENT_CHUNK];
static int next(struct agent_msg *m)
{
	size_t n = aux.next(aux.arg, fbuf, sizeof(fbuf));

	if (!n || agent_msg_parse(fbuf, n, m) != (ssize_t)n)
		return 0;
	return m->type;
}

/* A frame of the guest for session sid. */
static void guest(uint8_t sid, uint8_t type, const void *d, size_t len)
{
	static uint8_t b[AGENT_HDR_LEN + AGENT_CHUNK];
	struct agent_msg m;

	agent_msg_header_to(b, sid, type, (uint32_t)len);
	memcpy(b + AGENT_HDR_LEN, d, len);
	if (agent_msg_parse(b, AGENT_HDR_LEN + len, &m) > 0)
		aux.frame(aux.arg, &m);
}

static void frames_both_ways(void)
{
	char buf[256];
	uint8_t f[32];
	struct agent_msg m;
	uint32_t n = 0;
	int fd = client("exec {\"argv\": [\"cat\"], \"env\": [\"A=1\"]}\n", buf,
			sizeof(buf));

	ok(strstr(buf, "{\"return\":{\"session\":1}}") != NULL,
	   "exec opens session 1: %s", buf);
	ok(next(&m) == AGENT_SPAWN && m.session == 1,
	   "SPAWN goes to session 1");
	agent_msg_header_to(f, EXEC_LINK_SESSION, AGENT_STDIN, 3);
	memcpy(f + AGENT_HDR_LEN, "abc", 3);
	if (write(fd, f, 11) != 11)
		abort();
	pump(20);
	ok(next(&m) == AGENT_STDIN && m.session == 1 && m.len == 3 &&
	       !memcmp(m.data, "abc", 3),
	   "the client's STDIN goes to session 1");
	guest(1, AGENT_STDOUT, "hello", 5);
	guest(3, AGENT_STDOUT, "stray", 5);
	pump(20);
	ok(recv(fd, f, sizeof(f), MSG_DONTWAIT) == 13 && f[0] == AGENT_STDOUT &&
	       !memcmp(f + AGENT_HDR_LEN, "hello", 5),
	   "the guest's STDOUT reaches the client; session 3's does not");
	ok(next(&m) == AGENT_CREDIT && agent_credit_decode(&m, &n) == 0 &&
	       n == 5,
	   "what the client got is credited back (%u)", n);
	agent_msg_header_to(f, EXEC_LINK_SESSION, AGENT_STDIN_EOF, 0);
	agent_msg_header_to(f + 8, EXEC_LINK_SESSION, AGENT_SIGNAL, 4);
	agent_signal_encode(f + 16, SIGINT);
	if (write(fd, f, 8) != 8 || write(fd, f + 8, 8) != 8 ||
	    write(fd, f + 16, 4) != 4)
		abort();
	pump(20);
	ok(next(&m) == AGENT_SIGNAL && agent_signal_decode(&m) == SIGINT,
	   "a SIGNAL after STDIN_EOF is passed on (Ctrl-C after stdin's end)");
	ok(next(&m) == AGENT_STDIN_EOF, "and the EOF too");
	guest(1, AGENT_EXIT, "\0\0\0\0\0\0\0\3", 8);
	pump(20);
	ok(recv(fd, f, sizeof(f), MSG_DONTWAIT) == 16 && f[0] == AGENT_EXIT,
	   "EXIT reaches the client");
	ok(recv(fd, f, sizeof(f), MSG_DONTWAIT) == 0,
	   "then the connection closes");
	ok(exec_relay_open_count(X) == 0, "and the session is free");
	close(fd);
}

/* A client that does not read: its credit is held back. */
static void slow_client(void)
{
	static uint8_t big[60000];
	char buf[256];
	struct agent_msg m;
	uint32_t n;
	int fd = client("exec {\"argv\": [\"yes\"]}\n", buf, sizeof(buf)), i,
	    held = 0;
	size_t sent = 0, credited = 0;

	next(&m); /* SPAWN */
	for (i = 0; i < 100 && !held; i++) {
		guest(1, AGENT_STDOUT, big, sizeof(big));
		sent += sizeof(big);
		pump(5);
		if (next(&m) == AGENT_CREDIT &&
		    agent_credit_decode(&m, &n) == 0)
			credited += n;
		else
			held = 1;
	}
	ok(held,
	   "a client that does not read: the credit stops (after %zu "
	   "bytes)",
	   sent);
	guest(1, AGENT_STDOUT, big, sizeof(big)); /* beyond the window */
	pump(20);
	ok(exec_relay_open_count(X) == 0,
	   "a guest sending beyond its window ends the session");
	close(fd);
	pump(20);
}

/* A client that breaks the framing, or goes: its command is hung up,
 * then killed. */
static void client_goes(const char *what, const uint8_t *bad, size_t len)
{
	char buf[256];
	struct agent_msg m;
	long t0;
	int fd =
	    client("exec {\"argv\": [\"sleep\", \"9\"]}\n", buf, sizeof(buf));

	next(&m); /* SPAWN */
	if (bad && write(fd, bad, len) != (ssize_t)len)
		abort();
	if (!bad)
		close(fd);
	pump(30);
	ok(next(&m) == AGENT_SIGNAL && agent_signal_decode(&m) == SIGHUP,
	   "%s: its command is hung up", what);
	t0 = now_ms();
	while (now_ms() - t0 < EXEC_KILL_MS + 500 && !next(&m))
		pump(50);
	ok(m.type == AGENT_SIGNAL && agent_signal_decode(&m) == SIGKILL,
	   "%s: and killed %d ms later", what, EXEC_KILL_MS);
	ok(exec_relay_open_count(X) == 1, "its slot waits for the EXIT");
	guest(m.session, AGENT_EXIT, "\0\0\0\1\0\0\0\11", 8);
	ok(exec_relay_open_count(X) == 0, "which frees it");
	if (bad)
		close(fd);
}

int main(void)
{
	const struct control_ops ops = {.exec_open = o_open,
					.exec_input = o_input,
					.exec_written = o_written,
					.exec_gone = o_gone};
	uint8_t longf[AGENT_HDR_LEN], wrong[AGENT_HDR_LEN + 1] = {0};
	struct control *c;
	char err[512], buf[512];
	int fd;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test_exec_relay.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/" CONTROL_SOCKET, dir);
	L = loop_create();
	X = exec_relay_create(L, NULL);
	c = control_open(L, dir, &ops, err, sizeof(err));
	ok(c && X, "the relay and the control socket");
	exec_relay_set_control(X, c);
	frames_both_ways();
	slow_client();
	client_goes("a client gone mid-session", NULL, 0);
	agent_msg_header_to(longf, EXEC_LINK_SESSION, AGENT_STDIN,
			    CONTROL_EXEC_CHUNK + 1);
	client_goes("a client's frame over CONTROL_EXEC_CHUNK", longf,
		    sizeof(longf));
	agent_msg_header_to(wrong, 2, AGENT_STDIN, 1);
	client_goes("a client's frame of another session", wrong,
		    sizeof(wrong));
	fd = client("exec {\"argv\": []}\n", buf, sizeof(buf));
	ok(strstr(buf, "must be a non-empty array") != NULL,
	   "an empty argv is refused: %s", buf);
	close(fd);
	fd = client("exec {\"argv\": [\"x\"], \"env\": [\"1A=b\"]}\n", buf,
		    sizeof(buf));
	ok(strstr(buf, "is not NAME=value") != NULL,
	   "a bad env entry is refused: %s", buf);
	close(fd);
	control_close(c);
	exec_relay_destroy(X);
	loop_destroy(L);
	rmdir(dir);
	return done_testing();
}
