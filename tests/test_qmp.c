/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP client against a scripted peer on a socketpair: a forked child
 * plays QEMU, reads each command line, checks that it carries a fresh id
 * and answers with the id it received (or, in the attack cases, with a
 * stale, foreign or missing one). The child's exit status says whether
 * what it read was right; alarm() bounds every case.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "launcher/common/clock.h"
#include "launcher/boot/qmp.h"
#include "tap.h"

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": []}}"

/* The peer's side: the ids it was given, to check each one is fresh. */
static json_int_t peer_ids[64];
static unsigned peer_nids;
static int peer_bad_id; /* a command without an id, or one used twice */

static void peer_fail(const char *why)
{
	fprintf(stderr, "# peer: %s\n", why);
	_exit(3);
}

static void peer_send(int fd, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		peer_fail("line too long");
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		peer_fail("send");
}

/* Reads one command, checks its name and that its id is a new integer. */
static json_int_t peer_cmd(int fd, const char *want)
{
	char line[4096];
	size_t len = 0;
	json_t *o, *id;
	json_int_t v;
	unsigned i;

	for (;;) {
		if (len == sizeof(line) || read(fd, line + len, 1) != 1)
			peer_fail("no command");
		if (line[len++] == '\n')
			break;
	}
	o = json_loadb(line, len, 0, NULL);
	if (!o || strcmp(json_string_value(json_object_get(o, "execute")) ?: "",
			 want))
		peer_fail("not the command expected");
	id = json_object_get(o, "id");
	v = json_integer_value(id);
	if (!json_is_integer(id))
		peer_bad_id = 1; /* answered anyway, with id 0 */
	for (i = 0; i < peer_nids; i++)
		if (peer_ids[i] == v)
			peer_bad_id = 1;
	if (peer_nids < sizeof(peer_ids) / sizeof(peer_ids[0]))
		peer_ids[peer_nids++] = v;
	json_decref(o);
	return v;
}

/* Keeps the line open until the client closes its end. */
static void peer_wait_close(int fd)
{
	char c;

	while (read(fd, &c, 1) > 0)
		;
}

static void peer_hello(int fd)
{
	peer_send(fd, GREETING "\n");
	peer_send(fd, "{\"return\": {}, \"id\": %lld}\n",
		  (long long)peer_cmd(fd, "qmp_capabilities"));
}

/* Runs script(fd) in a child; returns the client on the other end. */
static struct qmp *start(void (*script)(int), pid_t *pid)
{
	int sv[2];
	struct qmp *q;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return NULL;
	*pid = fork();
	if (*pid == 0) {
		close(sv[0]);
		peer_nids = 0;
		script(sv[1]);
		_exit(peer_bad_id ? 2 : 0);
	}
	close(sv[1]);
	q = qmp_open(sv[0], 2000);
	return q;
}

/* Closes the client and returns the peer's exit status (0: all it read
 * was right). */
static int finish(struct qmp *q, pid_t pid)
{
	int st;

	qmp_close(q);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *which(json_t *r)
{
	return json_string_value(json_object_get(r, "which"));
}

static void script_plain(int fd)
{
	json_int_t id;

	peer_hello(fd);
	id = peer_cmd(fd, "query-status");
	peer_send(fd, "{\"return\": {\"which\": \"status\"}, \"id\": %lld}\n",
		  (long long)id);
	id = peer_cmd(fd, "stop");
	peer_send(fd,
		  "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		  "\"not now\"}, \"id\": %lld}\n",
		  (long long)id);
	id = peer_cmd(fd, "cont");
	peer_send(fd,
		  "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, "
		  "\"microseconds\": 2}}\n"
		  "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		  "\"active\"}}\n"
		  "{\"return\": {\"which\": \"cont\"}, \"id\": %lld}\n"
		  "{\"event\": \"STOP\"}\n",
		  (long long)id);
	peer_wait_close(fd);
}

static void test_plain(void)
{
	char err[256] = "";
	pid_t pid;
	struct qmp *q = start(script_plain, &pid);
	json_t *r;

	ok(q != NULL, "greeting and capabilities: the client opens");
	if (!q)
		return;
	r = qmp_execute(q, "query-status", NULL, 2000, err, sizeof(err));
	is_str(which(r), "status", "a command gets its return value");
	json_decref(r);
	errno = 0;
	r = qmp_execute(q, "stop", NULL, 2000, err, sizeof(err));
	ok(!r && errno == EIO, "an error reply fails the command with EIO");
	is_str(err, "stop: not now", "the error's text names the command");
	r = qmp_execute(q, "cont", NULL, 2000, err, sizeof(err));
	is_str(which(r), "cont", "events before the reply are skipped");
	json_decref(r);
	ok(qmp_drain(q) == 0, "the event after the reply drains");
	ok(qmp_discarded(q) == 0, "nothing was a foreign reply");
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* The first command's reply comes only after the second command. */
static void script_late(int fd)
{
	json_int_t first, second;

	peer_hello(fd);
	first = peer_cmd(fd, "query-status");
	second = peer_cmd(fd, "query-version");
	peer_send(fd,
		  "{\"return\": {\"which\": \"first\"}, \"id\": %lld}\n"
		  "{\"return\": {\"which\": \"second\"}, \"id\": %lld}\n",
		  (long long)first, (long long)second);
	first = peer_cmd(fd, "query-name");
	peer_send(fd, "{\"return\": {\"which\": \"third\"}, \"id\": %lld}\n",
		  (long long)first);
	peer_wait_close(fd);
}

static void test_late(void)
{
	char err[256];
	pid_t pid;
	struct qmp *q = start(script_late, &pid);
	json_t *r;

	ok(q != NULL, "late: the client opens");
	if (!q)
		return;
	errno = 0;
	r = qmp_execute(q, "query-status", NULL, 200, err, sizeof(err));
	ok(!r && errno == ETIMEDOUT, "a command with no reply times out");
	json_decref(r);
	r = qmp_execute(q, "query-version", NULL, 2000, err, sizeof(err));
	is_str(which(r), "second", "the next command gets its own reply");
	json_decref(r);
	r = qmp_execute(q, "query-name", NULL, 2000, err, sizeof(err));
	is_str(which(r), "third", "and the one after that is not shifted");
	json_decref(r);
	ok(qmp_discarded(q) == 1, "the late reply was counted, discarded");
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* Replies with another id, a string id and no id before the right one. */
static void script_foreign(int fd)
{
	json_int_t id;

	peer_hello(fd);
	id = peer_cmd(fd, "query-status");
	peer_send(fd,
		  "{\"return\": {\"which\": \"other\"}, \"id\": %lld}\n"
		  "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, "
		  "\"id\": \"%lld\"}\n"
		  "{\"return\": {\"which\": \"no id\"}}\n"
		  "{\"return\": {\"which\": \"real\"}, \"id\": %lld.0}\n"
		  "{\"return\": {\"which\": \"mine\"}, \"id\": %lld}\n",
		  (long long)id + 1000, (long long)id, (long long)id,
		  (long long)id);
	peer_wait_close(fd);
}

static void test_foreign(void)
{
	char err[256] = "";
	pid_t pid;
	struct qmp *q = start(script_foreign, &pid);
	json_t *r;

	ok(q != NULL, "foreign: the client opens");
	if (!q)
		return;
	r = qmp_execute(q, "query-status", NULL, 2000, err, sizeof(err));
	is_str(which(r), "mine", "replies with a foreign id are ignored");
	json_decref(r);
	ok(qmp_discarded(q) == 4, "four foreign replies discarded (got %lu)",
	   qmp_discarded(q));
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* The peer goes away in the middle of a reply line. */
static void script_cut(int fd)
{
	json_int_t id;

	peer_hello(fd);
	id = peer_cmd(fd, "query-status");
	peer_send(fd, "{\"return\": {\"which\": \"cut\"}, \"i");
	(void)id;
}

static void test_cut(void)
{
	char err[256];
	pid_t pid;
	struct qmp *q = start(script_cut, &pid);
	json_t *r;

	ok(q != NULL, "cut: the client opens");
	if (!q)
		return;
	errno = 0;
	r = qmp_execute(q, "query-status", NULL, 60000, err, sizeof(err));
	ok(!r && errno == EPIPE, "a peer closing mid-reply gives EPIPE");
	ok(qmp_drain(q) == -EPIPE, "and drain reports it gone");
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* Takes the greeting's answer, then reads nothing more for 3 s. */
static void script_deaf(int fd)
{
	peer_hello(fd);
	sleep(3);
}

static void test_deaf(void)
{
	char err[256];
	pid_t pid;
	struct qmp *q = start(script_deaf, &pid);
	size_t big = 4 << 20; /* more than the socket holds */
	char *text = malloc(big + 1);
	long t0;
	json_t *r;

	ok(q != NULL, "deaf: the client opens");
	if (!q || !text) {
		free(text);
		return;
	}
	memset(text, 'x', big);
	text[big] = 0;
	t0 = now_ms();
	errno = 0;
	r = qmp_execute(q, "human-monitor-command",
			json_pack("{s:s}", "command-line", text), 300, err,
			sizeof(err));
	ok(!r && errno == ETIMEDOUT,
	   "a peer that takes no more bytes: the write gives up at the "
	   "command's deadline (ETIMEDOUT)");
	ok(now_ms() - t0 < 2000, "in time (%ld ms for a 300 ms deadline)",
	   now_ms() - t0);
	free(text);
	kill(pid, SIGKILL);
	finish(q, pid);
}

/* Events keep coming but the reply never does. */
static void script_chatty(int fd)
{
	long until = now_ms() + 8000;

	peer_hello(fd);
	peer_cmd(fd, "query-status");
	while (now_ms() < until) {
		char ev[] = "{\"event\": \"RTC_CHANGE\"}\n";

		if (send(fd, ev, sizeof(ev) - 1, MSG_NOSIGNAL) < 0)
			break; /* the client is gone */
		usleep(20 * 1000);
	}
}

static void test_chatty(void)
{
	char err[256];
	pid_t pid;
	struct qmp *q = start(script_chatty, &pid);
	json_t *r;

	ok(q != NULL, "chatty: the client opens");
	if (!q)
		return;
	errno = 0;
	r = qmp_execute(q, "query-status", NULL, 300, err, sizeof(err));
	ok(!r && errno == ETIMEDOUT,
	   "a stream of events does not stretch the time limit");
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* A line that is not JSON, then a line longer than the client's buffer. */
static void script_garbage(int fd)
{
	static char big[300 * 1024];
	json_int_t id;

	peer_hello(fd);
	id = peer_cmd(fd, "query-status");
	peer_send(fd, "{\"return\": {]\n");
	peer_send(fd, "{\"return\": {}, \"id\": %lld}\n", (long long)id);
	peer_cmd(fd, "query-version");
	memset(big, ' ', sizeof(big));
	send(fd, big, sizeof(big), MSG_NOSIGNAL);
}

static void test_garbage(void)
{
	char err[256];
	pid_t pid;
	struct qmp *q = start(script_garbage, &pid);
	json_t *r;

	ok(q != NULL, "garbage: the client opens");
	if (!q)
		return;
	errno = 0;
	r = qmp_execute(q, "query-status", NULL, 2000, err, sizeof(err));
	ok(!r && errno == EPROTO, "a line that is not JSON gives EPROTO");
	errno = 0;
	r = qmp_execute(q, "query-version", NULL, 2000, err, sizeof(err));
	ok(!r && errno == EPROTO, "a line over the limit gives EPROTO");
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

static void script_migrate(int fd)
{
	json_int_t id;

	peer_hello(fd);
	id = peer_cmd(fd, "query-migrate");
	peer_send(fd,
		  "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		  "\"active\"}}\n{\"return\": {\"status\": \"active\"}, "
		  "\"id\": %lld}\n",
		  (long long)id);
	id = peer_cmd(fd, "query-migrate");
	peer_send(fd,
		  "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
		  "\"completed\"}}\n{\"return\": {\"status\": \"completed\"}, "
		  "\"id\": %lld}\n",
		  (long long)id);
	peer_wait_close(fd);
}

static void test_migrate(void)
{
	char err[256] = "";
	pid_t pid;
	struct qmp *q = start(script_migrate, &pid);

	ok(q != NULL, "migrate: the client opens");
	if (!q)
		return;
	ok(qmp_migration_wait(q, "loading", 5000, err, sizeof(err)) == 0,
	   "the migration wait sees 'completed' among events (%s)", err);
	ok(finish(q, pid) == 0, "the peer saw a fresh id on each command");
}

/* The capabilities' reply carries another id: opening fails in time. */
static void script_bad_hello(int fd)
{
	peer_send(fd, GREETING "\n");
	peer_send(fd, "{\"return\": {}, \"id\": %lld}\n",
		  (long long)peer_cmd(fd, "qmp_capabilities") + 1);
	peer_wait_close(fd);
}

static void test_bad_hello(void)
{
	pid_t pid;
	struct qmp *q;

	errno = 0;
	q = start(script_bad_hello, &pid);
	ok(!q && errno == ETIMEDOUT,
	   "a capabilities reply with another id is not taken");
	ok(finish(q, pid) == 0, "the peer saw an id on the capabilities");
}

int main(void)
{
	static void (*const cases[])(void) = {
	    test_plain,	  test_late,	test_foreign,	test_cut,  test_chatty,
	    test_garbage, test_migrate, test_bad_hello, test_deaf,
	};
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0); /* what ran, if alarm() fires */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		alarm(20); /* a case that hangs kills the test */
		cases[i]();
	}
	return done_testing();
}
