/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent protocol codec on valid, partial and hostile input. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/agent/agent_proto.h"
#include "tap.h"

static struct agent_rx rx;

static void test_parse(void)
{
	uint8_t f[16];
	struct agent_msg m;

	agent_msg_header(f, AGENT_STDOUT, 3);
	memcpy(f + 8, "abc", 3);
	ok(agent_msg_parse(f, 11, &m) == 11 && m.type == AGENT_STDOUT &&
	       m.len == 3 && !memcmp(m.data, "abc", 3),
	   "a whole frame parses");
	ok(agent_msg_parse(f, 10, &m) == 0, "a partial payload waits");
	ok(agent_msg_parse(f, 7, &m) == 0, "a partial header waits");
	f[0] = 99;
	ok(agent_msg_parse(f, 11, &m) == -EPROTO, "an unknown type is refused");
	agent_msg_header(f, AGENT_STDOUT, 3);
	f[2] = 1;
	ok(agent_msg_parse(f, 11, &m) == -EPROTO,
	   "non-zero padding is refused");
	agent_msg_header(f, AGENT_STDOUT, AGENT_MAX_PAYLOAD + 1);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "an oversized length is refused from the header alone");
	agent_msg_header(f, AGENT_EXIT, 4);
	ok(agent_msg_parse(f, 12, &m) == -EPROTO,
	   "EXIT with a wrong payload size is refused");
	agent_msg_header(f, AGENT_STDIN_EOF, 1);
	ok(agent_msg_parse(f, 9, &m) == -EPROTO,
	   "STDIN_EOF with a payload is refused");
	agent_msg_header(f, AGENT_POWEROFF, 0);
	ok(agent_msg_parse(f, 8, &m) == 8 && m.type == AGENT_POWEROFF,
	   "an empty POWEROFF is taken");
	agent_msg_header(f, AGENT_POWEROFF, 2);
	ok(agent_msg_parse(f, 10, &m) == -EPROTO,
	   "POWEROFF with a payload is refused");
	agent_msg_header(f, AGENT_PMI, 0);
	ok(agent_msg_parse(f, 8, &m) == 8 && m.type == AGENT_PMI && !m.len,
	   "an empty PMI frame (the socket closed) is taken");
	agent_msg_header(f, AGENT_PMI, AGENT_CHUNK);
	ok(agent_msg_parse(f, 8, &m) == 0,
	   "a PMI frame of AGENT_CHUNK bytes waits for its payload");
	agent_msg_header(f, AGENT_PMI, AGENT_CHUNK + 1);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "a PMI frame longer than AGENT_CHUNK is refused from its header");
	f[0] = AGENT_CREDIT + 1;
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "the type after CREDIT is unknown");
	f[0] = AGENT_WINCH + 1;
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "the type after WINCH is unknown");
}

static void test_exec(void)
{
	char *argv[] = {"sh", "-c", "echo hi", NULL};
	char *env[] = {"A=1", "SLURM_PROCID=0", NULL};
	struct agent_exec ex;
	uint8_t *buf;
	size_t len;

	ok(agent_exec_encode("n0001", "/tmp", argv, env, &buf, &len) == 0,
	   "EXEC encodes");
	ok(agent_exec_decode(buf, len, &ex) == 0, "EXEC decodes");
	is_str(ex.hostname, "n0001", "hostname survives");
	is_str(ex.cwd, "/tmp", "cwd survives");
	is_str(ex.argv[2], "echo hi", "argv survives");
	ok(ex.argv[3] == NULL && ex.env[2] == NULL, "arrays end with NULL");
	is_str(ex.env[1], "SLURM_PROCID=0", "env survives");
	agent_exec_free(&ex);
	ok(agent_exec_decode(buf, len - 1, &ex) == -EPROTO,
	   "a truncated EXEC is refused");
	buf[3] = 9; /* argc larger than the strings present */
	ok(agent_exec_decode(buf, len, &ex) == -EPROTO,
	   "an argc beyond the payload is refused");
	buf[3] = 0;
	ok(agent_exec_decode(buf, len, &ex) == -EPROTO, "argc 0 is refused");
	buf[0] = 0xff; /* a huge count must not allocate */
	ok(agent_exec_decode(buf, len, &ex) == -EPROTO,
	   "a huge argc is refused");
	ok(agent_exec_decode(buf, 3, &ex) == -EPROTO,
	   "a payload shorter than its counts is refused");
	free(buf);
	ok(agent_exec_encode("h", "/", (char *[]){NULL}, env, &buf, &len) ==
	       -EINVAL,
	   "an empty argv cannot be encoded");
}

/* Frames split across reads at every byte come out whole and in order. */
static void test_rx_partial(void)
{
	uint8_t stream[64];
	size_t n = 0, i;
	struct agent_msg m;
	int fds[2], got = 0, order_ok = 1;

	for (i = 0; i < 3; i++) {
		agent_msg_header(stream + n, AGENT_STDERR, 2);
		stream[n + 8] = 'a' + (uint8_t)i;
		stream[n + 9] = '\n';
		n += 10;
	}
	if (pipe(fds) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (write(fds[1], stream + i, 1) != 1 ||
		    agent_rx_fill(&rx, fds[0]) != 1)
			order_ok = 0;
		while (agent_rx_next(&rx, &m) == 1) {
			if (m.data[0] != 'a' + got)
				order_ok = 0;
			got++;
		}
	}
	ok(got == 3 && order_ok, "byte-by-byte reads give 3 frames in order");
	close(fds[0]);
	close(fds[1]);
}

/* EXIT and SIGNAL payloads: only the codec reads and writes them. */
static void test_exit_signal(void)
{
	uint8_t b[AGENT_EXIT_LEN], sig[AGENT_SIGNAL_LEN];
	struct agent_msg m = {
	    .type = AGENT_EXIT, .len = AGENT_EXIT_LEN, .data = b};

	agent_exit_encode(b, AGENT_EXITED, 3);
	ok(agent_exit_decode(&m) == 3, "EXIT: status 3 is exit code 3");
	agent_exit_encode(b, AGENT_SIGNALED, 9);
	ok(agent_exit_decode(&m) == 137, "EXIT: signal 9 is exit code 137");
	agent_exit_encode(b, AGENT_EXITED, 256);
	ok(agent_exit_decode(&m) == -EPROTO, "EXIT: status 256 is refused");
	agent_exit_encode(b, AGENT_SIGNALED, 0);
	ok(agent_exit_decode(&m) == -EPROTO, "EXIT: signal 0 is refused");
	agent_exit_encode(b, 7, 0);
	ok(agent_exit_decode(&m) == -EPROTO, "EXIT: an unknown how is refused");
	m.len = 4;
	ok(agent_exit_decode(&m) == -EPROTO,
	   "EXIT: a short payload is refused");
	agent_signal_encode(sig, 15);
	m = (struct agent_msg){
	    .type = AGENT_SIGNAL, .len = sizeof(sig), .data = sig};
	ok(agent_signal_decode(&m) == 15, "SIGNAL: 15 round-trips");
	agent_signal_encode(sig, 200);
	ok(agent_signal_decode(&m) == -EPROTO, "SIGNAL: 200 is refused");
	m.type = AGENT_EXIT;
	ok(agent_signal_decode(&m) == -EPROTO,
	   "SIGNAL: another type is refused");
}

/* Which frames may name which session, and their lengths. */
static void test_sessions(void)
{
	uint8_t f[16] = {0};
	struct agent_msg m;

	agent_msg_header_to(f, 3, AGENT_STDOUT, 2);
	ok(agent_msg_parse(f, 10, &m) == 10 && m.session == 3 &&
	       m.type == AGENT_STDOUT,
	   "STDOUT of session 3 parses, its session kept");
	agent_msg_header_to(f, AGENT_SESSIONS, AGENT_STDOUT, 2);
	ok(agent_msg_parse(f, 10, &m) == -EPROTO,
	   "session AGENT_SESSIONS (one too many) is refused");
	agent_msg_header_to(f, 255, AGENT_STDIN, 2);
	ok(agent_msg_parse(f, 10, &m) == -EPROTO, "session 255 is refused");
	agent_msg_header_to(f, 1, AGENT_STDOUT, AGENT_CHUNK + 1);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "a session's STDOUT over AGENT_CHUNK is refused from its header");
	agent_msg_header_to(f, 0, AGENT_STDOUT, AGENT_CHUNK + 1);
	ok(agent_msg_parse(f, 8, &m) == 0,
	   "the task's own STDOUT may be longer (it waits for its payload)");
	agent_msg_header_to(f, 1, AGENT_PMI, 0);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO, "PMI of session 1: refused");
	agent_msg_header_to(f, 2, AGENT_EXEC, 0);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO, "EXEC of session 2: refused");
	agent_msg_header_to(f, 1, AGENT_POWEROFF, 0);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "POWEROFF of session 1: refused");
	agent_msg_header_to(f, 0, AGENT_SPAWN, 16);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "SPAWN of session 0 (the task's) is refused");
	agent_msg_header_to(f, 0, AGENT_CREDIT, 4);
	ok(agent_msg_parse(f, 12, &m) == -EPROTO, "CREDIT of session 0 too");
	agent_msg_header_to(f, 0, AGENT_WINCH, 4);
	ok(agent_msg_parse(f, 12, &m) == -EPROTO, "WINCH of session 0 too");
	agent_msg_header_to(f, 1, AGENT_CREDIT, 5);
	ok(agent_msg_parse(f, 13, &m) == -EPROTO, "CREDIT of 5 bytes: refused");
	agent_msg_header_to(f, 1, AGENT_WINCH, 3);
	ok(agent_msg_parse(f, 11, &m) == -EPROTO, "WINCH of 3 bytes: refused");
	agent_msg_header_to(f, 4, AGENT_SPAWN, AGENT_SPAWN_MAX + 1);
	ok(agent_msg_parse(f, 8, &m) == -EPROTO,
	   "SPAWN over AGENT_SPAWN_MAX is refused from its header");
	agent_msg_header_to(f, 2, AGENT_SIGNAL, 4);
	f[11] = 2;
	ok(agent_msg_parse(f, 12, &m) == 12 && m.session == 2 &&
	       agent_signal_decode(&m) == 2,
	   "SIGNAL of session 2 parses");
	agent_msg_header_to(f, 2, AGENT_SIGNAL, 4);
	f[3] = 1;
	ok(agent_msg_parse(f, 12, &m) == -EPROTO,
	   "the padding after the session stays zero");
}

static void test_spawn(void)
{
	char *argv[] = {"hostname", "-s", NULL};
	char *env[] = {"TERM=xterm", NULL};
	struct agent_spawn sp;
	struct agent_msg m = {.type = AGENT_SPAWN, .session = 1};
	uint8_t *buf, w[AGENT_WINCH_LEN], c[AGENT_CREDIT_LEN];
	unsigned rows = 0, cols = 0;
	uint32_t n = 0;
	size_t len;

	ok(agent_spawn_encode(AGENT_SPAWN_PTY, 40, 132, argv, env, &buf,
			      &len) == 0,
	   "SPAWN encodes");
	m.data = buf;
	m.len = (uint32_t)len;
	ok(agent_spawn_decode(&m, &sp) == 0, "SPAWN decodes");
	ok(sp.flags == AGENT_SPAWN_PTY && sp.rows == 40 && sp.cols == 132,
	   "its pty flag and window size survive");
	is_str(sp.argv[1], "-s", "its argv survives");
	ok(!sp.argv[2] && !sp.env[1], "its arrays end with NULL");
	is_str(sp.env[0], "TERM=xterm", "its env survives");
	agent_spawn_free(&sp);
	m.len--;
	ok(agent_spawn_decode(&m, &sp) == -EPROTO,
	   "a truncated SPAWN is refused");
	m.len++;
	buf[3] = 2;
	ok(agent_spawn_decode(&m, &sp) == -EPROTO,
	   "an unknown flag is refused");
	buf[3] = 1;
	buf[8] = 0x7f; /* argc beyond the payload: no allocation */
	ok(agent_spawn_decode(&m, &sp) == -EPROTO, "a huge argc is refused");
	buf[8] = 0;
	buf[11] = 0;
	ok(agent_spawn_decode(&m, &sp) == -EPROTO, "argc 0 is refused");
	free(buf);
	ok(agent_spawn_encode(0, 1, 1, argv, (char *[]){"NOEQUALS", NULL}, &buf,
			      &len) == 0,
	   "an env entry without '=' encodes...");
	m.data = buf;
	m.len = (uint32_t)len;
	ok(agent_spawn_decode(&m, &sp) == -EPROTO, "...and is refused");
	free(buf);
	ok(agent_spawn_encode(0, 70000, 1, argv, NULL, &buf, &len) == -EINVAL,
	   "a window over 65535 rows cannot be encoded");
	agent_winch_encode(w, 50, 200);
	m = (struct agent_msg){.type = AGENT_WINCH, .len = 4, .data = w};
	ok(agent_winch_decode(&m, &rows, &cols) == 0 && rows == 50 &&
	       cols == 200,
	   "WINCH round-trips");
	agent_credit_encode(c, 4096);
	m = (struct agent_msg){.type = AGENT_CREDIT, .len = 4, .data = c};
	ok(agent_credit_decode(&m, &n) == 0 && n == 4096, "CREDIT round-trips");
	agent_credit_encode(c, AGENT_WINDOW + 1);
	ok(agent_credit_decode(&m, &n) == -EPROTO,
	   "a CREDIT over the window is refused");
	agent_credit_encode(c, 0);
	ok(agent_credit_decode(&m, &n) == -EPROTO, "a CREDIT of 0 is refused");
}

int main(void)
{
	test_parse();
	test_sessions();
	test_spawn();
	test_exec();
	test_rx_partial();
	test_exit_signal();
	return done_testing();
}
