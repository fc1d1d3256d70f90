/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket (launcher/control/control.h) against a fake ops
 * table: the requests, and the attacks: a client that says nothing, a
 * peer of another uid, an oversized request, too many clients, a client
 * that never reads its replies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/loop.h"
#include "launcher/control/control.h"
#include "tap.h"

static struct loop *L;
static char dir[64], sock[128];
static int paused, busy;
static char last_cmd[64];

static int f_status(void *arg, struct control_status *st, char *err,
		    size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	st->job = 12;
	st->step = 0;
	st->rank = 3;
	st->state = paused ? "paused" : "running";
	strcpy(st->hostname, "n0003");
	strcpy(st->addr, "10.0.0.4");
	st->cpus = 2;
	st->mem_mb = 512;
	st->uptime_s = 7;
	st->qemu_pid = getpid();
	strcpy(st->console, "/x/console.log");
	st->node = "node3";
	return 0;
}

static int f_pause(void *arg, char *err, size_t errlen)
{
	(void)arg;
	if (busy) {
		snprintf(err, errlen, "the guest is being saved");
		return -EBUSY;
	}
	paused = 1;
	return 0;
}

static int f_resume(void *arg, char *err, size_t errlen)
{
	(void)arg;
	if (!paused) {
		snprintf(err, errlen, "the guest is not paused");
		return -EINVAL;
	}
	paused = 0;
	return 0;
}

static int big_reply;

static int f_qmp(void *arg, const char *cmd, json_t *args, json_t **ret,
		 char *err, size_t errlen)
{
	static char filler[3001];

	(void)arg, (void)args, (void)err, (void)errlen;
	snprintf(last_cmd, sizeof(last_cmd), "%s", cmd);
	if (big_reply) {
		memset(filler, 'x', sizeof(filler) - 1);
		*ret = json_pack("{ss}", "data", filler);
	} else {
		*ret = json_pack("{ss}", "status", "running");
	}
	return 0;
}

static void on_pump(struct loop_timer *t)
{
	(void)t;
	loop_stop(L, 0);
}

/* Runs the loop for ms. Returns how long it took. */
static long pump(long ms)
{
	struct loop_timer t = {.fn = on_pump};
	long t0 = now_ms();

	loop_timer_in(L, &t, ms);
	loop_run(L);
	loop_timer_stop(L, &t);
	return now_ms() - t0;
}

static int dial(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Reads what is there after the loop ran (without waiting). Returns the
 * bytes, 0 at EOF, -1 when nothing is there yet. */
static ssize_t grab(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* One request, its reply. */
static void ask(const char *req, char *buf, size_t len)
{
	int fd = dial();

	buf[0] = 0;
	if (fd < 0)
		return;
	if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		pump(50);
		grab(fd, buf, len);
	}
	close(fd);
}

static void requests(void)
{
	char buf[4096];

	ask("status\n", buf, sizeof(buf));
	ok(strstr(buf, "\"rank\":3") && strstr(buf, "\"state\":\"running\"") &&
	       strstr(buf, "\"address\":\"10.0.0.4\"") &&
	       strstr(buf, "\"cpu_s\":") && !strstr(buf, "\"cpu_s\":-1") &&
	       strstr(buf, "\"console\":\"/x/console.log\"") &&
	       strstr(buf, "\"node\":\"node3\""),
	   "status: rank, state, address, node, console and the CPU time of a "
	   "live pid");
	ok(buf[0] && buf[strlen(buf) - 1] == '\n' && !strchr(buf, '\n')[1],
	   "status: one line");
	ask("pause\n", buf, sizeof(buf));
	is_str(buf, "{\"return\":{}}\n", "pause answers");
	ok(paused, "pause reached the ops");
	ask("status\r\n", buf, sizeof(buf));
	ok(strstr(buf, "\"state\":\"paused\"") != NULL,
	   "status says paused (a CRLF line is taken)");
	busy = 1;
	ask("pause\n", buf, sizeof(buf));
	is_str(buf, "{\"error\":\"the guest is being saved\"}\n",
	       "a refused pause gives the launcher's reason");
	busy = 0;
	ask("resume\n", buf, sizeof(buf));
	ok(!paused && !strcmp(buf, "{\"return\":{}}\n"), "resume");
	ask("resume\n", buf, sizeof(buf));
	ok(strstr(buf, "not paused") != NULL, "resume when not paused");
	ask("qmp {\"execute\":\"query-status\"}\n", buf, sizeof(buf));
	ok(!strcmp(last_cmd, "query-status") &&
	       strstr(buf, "{\"return\":{\"status\":\"running\"}}"),
	   "qmp: the command reaches the ops, its return comes back");
	ask("qmp {\"execute\":\n", buf, sizeof(buf));
	ok(strstr(buf, "\"error\":\"qmp: not a QMP command") != NULL,
	   "qmp: broken JSON is an error naming the form");
	ask("qmp {\"execute\":\"x\",\"arguments\":3}\n", buf, sizeof(buf));
	ok(strstr(buf, "not a QMP command") != NULL,
	   "qmp: arguments that are not an object");
	ask("reboot\n", buf, sizeof(buf));
	ok(strstr(buf, "unknown request 'reboot'") != NULL,
	   "an unknown request is named");
}

static void two_requests_one_connection(struct control *c)
{
	char buf[4096];
	int fd = dial();

	ok(write(fd, "status\npause\n", 13) == 13, "two requests written");
	pump(50);
	grab(fd, buf, sizeof(buf));
	ok(strstr(buf, "\"rank\":3") && strstr(buf, "\n{\"return\":{}}\n"),
	   "two requests on one connection, two replies in order");
	paused = 0;
	shutdown(fd, SHUT_WR);
	pump(50);
	ok(control_clients(c) == 0 && grab(fd, buf, sizeof(buf)) == 0,
	   "EOF from the client: the connection goes");
	close(fd);
}

static void oversized(struct control *c)
{
	char big[5000], buf[4096];
	int fd = dial();
	ssize_t n;

	memset(big, 'a', sizeof(big));
	n = send(fd, big, sizeof(big), MSG_DONTWAIT);
	pump(100);
	grab(fd, buf, sizeof(buf));
	ok(n > 4096 && strstr(buf, "request longer than 4096 bytes"),
	   "an oversized request is refused with a reason");
	ok(control_clients(c) == 0, "and its connection is closed");
	close(fd);
}

static void silent(struct control *c)
{
	char buf[64];
	int fd = dial();
	long took;

	pump(100);
	ok(control_clients(c) == 1, "a silent client is held for a while");
	took = pump(CONTROL_IDLE_MS + 500);
	ok(control_clients(c) == 0 && grab(fd, buf, sizeof(buf)) == 0,
	   "a client that says nothing is dropped after %d ms",
	   CONTROL_IDLE_MS);
	ok(took < CONTROL_IDLE_MS + 1500, "the loop was never held (%ld ms)",
	   took);
	close(fd);
}

static void too_many(struct control *c)
{
	int fd[CONTROL_CLIENTS + 1], i;
	char buf[256];

	for (i = 0; i <= CONTROL_CLIENTS; i++) {
		fd[i] = dial();
		pump(10);
	}
	ok(control_clients(c) == CONTROL_CLIENTS, "%d clients held",
	   CONTROL_CLIENTS);
	grab(fd[CONTROL_CLIENTS], buf, sizeof(buf));
	ok(strstr(buf, "busy") != NULL, "one more is told busy and closed");
	for (i = 0; i <= CONTROL_CLIENTS; i++)
		close(fd[i]);
	pump(20);
	ok(control_clients(c) == 0, "all gone when they close");
}

/* A client that asks a lot and never reads: dropped, the loop free. */
static void never_reads(struct control *c)
{
	const char *req = "qmp {\"execute\":\"query-big\"}\n";
	int fd = dial(), i, sent = 0;
	long t0 = now_ms();

	big_reply = 1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	pump(10);
	ok(control_clients(c) == 1, "a client that will not read");
	for (i = 0; i < 600 && control_clients(c); i++) {
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0)
			sent++;
		pump(1);
	}
	big_reply = 0;
	ok(control_clients(c) == 0 && sent > 80,
	   "a client that does not read its replies is dropped (after %d "
	   "requests of 3 kB replies)",
	   sent);
	ok(now_ms() - t0 < 5000, "and the loop went on meanwhile");
	close(fd);
}

/* A peer of another uid: the directory keeps it out, and where it does
 * not (opened here on purpose), SO_PEERCRED does. */
static void other_uid(void)
{
	int p[2], go[2], st = 0, i;
	char buf[256] = "";
	pid_t pid;
	ssize_t n;

	if (geteuid() != 0) {
		ok(1, "# SKIP another uid needs root");
		ok(1, "# SKIP another uid needs root");
		return;
	}
	if (pipe(p) < 0 || pipe(go) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct pollfd g = {.fd = go[0], .events = POLLIN};
		int fd, first;

		close(p[0]);
		close(go[1]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		/* The run directory is 0700: no way in. */
		fd = dial();
		first = fd == -EACCES;
		if (fd >= 0)
			close(fd);
		if (write(p[1], first ? "A" : "a", 1) != 1)
			_exit(3);
		/* The parent opens it meanwhile (it says when): try again. */
		if (poll(&g, 1, 10000) != 1)
			_exit(4);
		fd = dial();
		if (fd >= 0) {
			struct pollfd q = {.fd = fd, .events = POLLIN};

			if (write(fd, "status\n", 7) != 7) {
				/* Refused (and closed) before the request
				 * was written: the reason is still there. */
			}
			if (poll(&q, 1, 3000) == 1) {
				n = read(fd, buf, sizeof(buf) - 1);
				if (n > 0 && write(p[1], buf, (size_t)n) < 0)
					_exit(5);
			}
		}
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	for (i = 0; i < 20 && read(p[0], buf, 1) != 1; i++)
		pump(10);
	ok(buf[0] == 'A', "another uid cannot reach the socket in the 0700 "
			  "run directory");
	chmod(dir, 0711);
	chmod(sock, 0666);
	if (write(go[1], "g", 1) != 1)
		ok(0, "the child is told to try again");
	close(go[1]);
	for (i = 0; i < 200 && waitpid(pid, &st, WNOHANG) == 0; i++)
		pump(20);
	memset(buf, 0, sizeof(buf));
	n = read(p[0], buf, sizeof(buf) - 1);
	ok(n > 0 && strstr(buf, "refused: this guest is another user's") &&
	       !strstr(buf, "rank"),
	   "a peer of another uid is refused (SO_PEERCRED): %s", buf);
	close(p[0]);
	chmod(sock, 0600);
	chmod(dir, 0700);
}

int main(void)
{
	const struct control_ops ops = {.status = f_status,
					.pause = f_pause,
					.resume = f_resume,
					.qmp = f_qmp};
	struct control *c;
	unsigned long long ticks = 0;
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/test_control.XXXXXX");
	L = loop_create();
	ok(L && mkdtemp(dir), "a run directory");
	snprintf(sock, sizeof(sock), "%s/" CONTROL_SOCKET, dir);
	c = control_open(L, dir, &ops, err, sizeof(err));
	ok(c != NULL, "control_open: %s", err);
	if (!c)
		return done_testing();
	ok(!control_open(L, dir, &ops, err, sizeof(err)) &&
	       strstr(err, "control.sock"),
	   "a second socket on the same path is refused: %s", err);
	requests();
	two_requests_one_connection(c);
	oversized(c);
	too_many(c);
	never_reads(c);
	other_uid();
	silent(c);
	control_close(c);
	ok(access(sock, F_OK) < 0, "control_close removes the socket");
	rmdir(dir);
	loop_destroy(L);

	ok(control_parse_stat("12 (a) b) (c) S 1 1 1 0 -1 4194560 100 0 0 0 "
			      "250 50 0 0 20 0 1 0 100 0 0",
			      &ticks) == 0 &&
	       ticks == 300,
	   "parse_stat: utime+stime after a name with parentheses");
	ok(control_parse_stat("12 (a) S 1 2", &ticks) == -EPROTO,
	   "parse_stat: a short line");
	ok(control_parse_stat("garbage", &ticks) == -EPROTO,
	   "parse_stat: no name");
	return done_testing();
}
