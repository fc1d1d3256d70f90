/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The step's barriers and values (launcher/agent/sync_server.h,
 * sync_proto.h) without guests: clients are socket pairs handed to the
 * server with the rank the test chooses; the clock is the test's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/agent/sync_proto.h"
#include "launcher/agent/sync_server.h"
#include "tests/tap.h"

static struct pollfd pf[SYNC_POLL_COUNT];

static void step(struct sync_server *srv, long now)
{
	sync_server_pollfds(srv, pf);
	poll(pf, SYNC_POLL_COUNT, 0);
	sync_server_step(srv, pf, now);
}

/* A client of rank that sent text (may be NULL); returns the test's end. */
static int client(struct sync_server *srv, uint32_t rank, const char *text,
		  long now)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	sync_server_add(srv, sv[1], rank, now);
	/* A refused client is closed by now: its write fails, its answer
	 * waits to be read. */
	if (text && write(sv[0], text, strlen(text)) >= 0)
		step(srv, now);
	return sv[0];
}

/* What the server said on fd by now: its line, "" for nothing yet, or
 * "EOF" when it closed without a word. */
static const char *heard(int fd)
{
	static char buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0)
		return "";
	buf[n] = '\0';
	return n ? buf : "EOF";
}

static void test_proto(void)
{
	char big[SYNC_VALUE_MAX + 100], line[SYNC_LINE_MAX + 64];
	struct sync_req r;

	ok(!sync_req_parse("BARRIER start 600000", 20, &r) &&
	       r.op == SYNC_BARRIER && !strcmp(r.name, "start") &&
	       r.ms == 600000,
	   "a barrier request parses");
	ok(!sync_req_parse("SET k a b=c", 11, &r) && r.op == SYNC_SET &&
	       !strcmp(r.value, "a b=c"),
	   "SET's value is the rest of the line, spaces included");
	ok(!sync_req_parse("SET k ", 6, &r) && !r.value[0],
	   "an empty value is a value");
	ok(sync_req_parse("GET k", 5, &r) < 0, "GET without a time: refused");
	ok(sync_req_parse("GET k -1", 8, &r) < 0, "a signed time: refused");
	ok(sync_req_parse("GET k 604800001", 15, &r) < 0,
	   "a wait over a week: refused");
	ok(sync_req_parse("WAIT k 1", 8, &r) < 0, "an unknown verb: refused");
	ok(sync_req_parse("GET a/b 1", 9, &r) < 0,
	   "a name with a slash: refused");
	ok(sync_req_parse("SET k \x01", 7, &r) < 0,
	   "a value with a control byte: refused");
	ok(sync_req_parse("GET k\0x 1", 9, &r) < 0, "a NUL: refused");
	memset(big, 'a', sizeof(big));
	snprintf(line, sizeof(line), "GET %.*s 1", SYNC_NAME_MAX + 1, big);
	ok(sync_req_parse(line, strlen(line), &r) < 0,
	   "a name of %d bytes: refused", SYNC_NAME_MAX + 1);
	snprintf(line, sizeof(line), "GET %.*s 1", SYNC_NAME_MAX, big);
	ok(!sync_req_parse(line, strlen(line), &r), "a name of %d bytes: taken",
	   SYNC_NAME_MAX);
	snprintf(line, sizeof(line), "SET k %.*s", SYNC_VALUE_MAX + 1, big);
	ok(sync_req_parse(line, strlen(line), &r) < 0,
	   "a value of %d bytes: refused", SYNC_VALUE_MAX + 1);
	r.op = SYNC_SET;
	snprintf(r.name, sizeof(r.name), "%.*s", SYNC_NAME_MAX, big);
	snprintf(r.value, sizeof(r.value), "%.*s", SYNC_VALUE_MAX, big);
	ok(sync_req_format(&r, line, sizeof(line)) ==
		   (int)(SYNC_NAME_MAX + SYNC_VALUE_MAX + 6) &&
	       (int)strlen(line) <= SYNC_LINE_MAX,
	   "the longest SET fits in SYNC_LINE_MAX");
	snprintf(r.name, sizeof(r.name), "a b");
	ok(sync_req_format(&r, line, sizeof(line)) == -EINVAL,
	   "a request with a bad name is not written");
}

/* Three ranks arrive at a barrier in each of the six orders. */
static void test_barrier_orders(void)
{
	static const int order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	int o, i, fd[3], waited, all;

	for (o = 0; o < 6; o++) {
		struct sync_server *srv = sync_server_create(-1, 3);

		waited = 1;
		for (i = 0; i < 3; i++) {
			fd[i] = client(srv, (uint32_t)order[o][i],
				       "BARRIER b 10000\n", 0);
			if (i < 2)
				waited &= !strcmp(heard(fd[i]), "");
		}
		all = 1;
		for (i = 0; i < 3; i++) {
			all &= !strcmp(heard(fd[i]), "OK\n");
			close(fd[i]);
		}
		ok(waited && all,
		   "order %d%d%d: the first two wait, the third releases all",
		   order[o][0], order[o][1], order[o][2]);
		sync_server_destroy(srv);
	}
}

static void test_barrier_duplicate(void)
{
	struct sync_server *srv = sync_server_create(-1, 2);
	int a, b, q, c;

	a = client(srv, 1, "BARRIER d 10000\n", 0);
	b = client(srv, 1, "BARRIER d 10000\n", 0);
	is_str(heard(a), "", "rank 1 waits at d");
	is_str(heard(b), "", "rank 1 again at d: still waits (one rank)");
	q = client(srv, 1, "BARRIER d 0\n", 0);
	is_str(heard(q), "TIMEOUT 1 2 0\n",
	       "a query: 1 of 2 arrived, rank 0 missing");
	c = client(srv, 0, "BARRIER d 10000\n", 0);
	is_str(heard(c), "OK\n", "rank 0 arrives: passed");
	ok(!strcmp(heard(a), "OK\n") && !strcmp(heard(b), "OK\n"),
	   "both of rank 1's clients are released");
	close(q);
	q = client(srv, 1, "BARRIER d 10000\n", 0);
	is_str(heard(q), "OK\n", "a passed barrier stays passed");
	ok(sync_server_clients(srv) == 0, "no client left");
	close(a), close(b), close(c), close(q);
	sync_server_destroy(srv);
}

static void test_barrier_timeout(void)
{
	struct sync_server *srv = sync_server_create(-1, 20);
	int a, b;

	a = client(srv, 0, "BARRIER t 3000\n", 100);
	ok(sync_server_timeout(srv, 100) == 3000,
	   "the next deadline is the wait asked for");
	step(srv, 3099);
	is_str(heard(a), "", "still waiting 1 ms before its deadline");
	step(srv, 3100);
	is_str(heard(a), "TIMEOUT 1 20 1 2 3 4 5 6 7 8 ...\n",
	       "at its deadline: 1 of 20, the first missing ranks, then ...");
	b = client(srv, 5, "BARRIER t 0\n", 3100);
	is_str(heard(b), "TIMEOUT 2 20 1 2 3 4 6 7 8 9 ...\n",
	       "the arrival of the rank that timed out is kept");
	close(a);
	close(b);
	sync_server_destroy(srv);
}

static void test_values(void)
{
	struct sync_server *srv = sync_server_create(-1, 2);
	int g, g0, s, g2, s2;

	g0 = client(srv, 1, "GET k 0\n", 0);
	is_str(heard(g0), "TIMEOUT\n", "GET with no wait of an unset key");
	g = client(srv, 1, "GET k 5000\n", 0);
	is_str(heard(g), "", "GET before SET waits");
	s = client(srv, 0, "SET k port=4242 up\n", 10);
	is_str(heard(s), "OK\n", "SET stored");
	is_str(heard(g), "VALUE port=4242 up\n", "the waiting GET gets it");
	g2 = client(srv, 1, "GET k 0\n", 20);
	is_str(heard(g2), "VALUE port=4242 up\n", "GET after SET: at once");
	s2 = client(srv, 1, "SET k v2\n", 30);
	close(g2);
	g2 = client(srv, 0, "GET k 0\n", 40);
	ok(!strcmp(heard(s2), "OK\n") && !strcmp(heard(g2), "VALUE v2\n"),
	   "a second SET replaces the value");
	close(g);
	g = client(srv, 1, "GET other 2000\n", 0);
	step(srv, 2000);
	is_str(heard(g), "TIMEOUT\n", "a GET whose key is never set times out");
	close(g), close(g0), close(s), close(g2), close(s2);
	sync_server_destroy(srv);
}

static void test_bad_clients(void)
{
	struct sync_server *srv = sync_server_create(-1, 2);
	char line[SYNC_LINE_MAX + 8];
	int a, b, c, d, e;

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "SET k ", 6);
	a = client(srv, 0, line, 0);
	is_str(heard(a), "ERR request line too long\n",
	       "a line over SYNC_LINE_MAX without its end: refused");
	snprintf(line, sizeof(line), "GET %065d 1\n", 0);
	b = client(srv, 0, line, 0);
	ok(!strncmp(heard(b), "ERR bad request", 15),
	   "a name of %d bytes: refused with a reason", SYNC_NAME_MAX + 1);
	c = client(srv, 0, NULL, 1000);
	step(srv, 1000 + SYNC_REQUEST_MS - 1);
	ok(!strcmp(heard(c), "") && sync_server_clients(srv) == 1,
	   "a silent client is held until its deadline");
	step(srv, 1000 + SYNC_REQUEST_MS);
	ok(!strcmp(heard(c), "EOF") && sync_server_clients(srv) == 0,
	   "a silent client is dropped at its deadline, without a word");
	d = client(srv, 2, "GET k 0\n", 0);
	is_str(heard(d), "ERR not a rank of this step\n",
	       "a rank outside the step is refused");
	e = client(srv, 1, "GET k 9000\nGET k 9000\n", 0);
	is_str(
	    heard(e), "",
	    "a second line after the request: the first is served, it waits");
	if (write(e, "x", 1) == 1)
		step(srv, 1);
	is_str(heard(e), "ERR one request per connection\n",
	       "a waiting client that says more is ended");
	close(a), close(b), close(c), close(d), close(e);
	sync_server_destroy(srv);
}

/* SYNC_CLIENTS_MAX silent clients: one more is refused; waiting ones make
 * room for a new one (told AGAIN, their arrival kept). */
static void test_bound(void)
{
	struct sync_server *srv = sync_server_create(-1, 2);
	static int held[SYNC_CLIENTS_MAX];
	struct rlimit rl;
	int i, first, fd, busy;

	for (i = 0; i < SYNC_CLIENTS_MAX; i++) {
		fd = client(srv, 1, NULL, 0);
		close(fd); /* the server notices at its next step only */
	}
	fd = client(srv, 1, NULL, 0);
	busy = !strcmp(heard(fd), "BUSY\n");
	ok(busy && sync_server_clients(srv) == SYNC_CLIENTS_MAX,
	   "client %d over the bound of silent ones: BUSY, refused",
	   SYNC_CLIENTS_MAX + 1);
	close(fd);
	sync_server_destroy(srv);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < 2 * SYNC_CLIENTS_MAX + 64) {
		rl.rlim_cur = 2 * SYNC_CLIENTS_MAX + 64;
		if (rl.rlim_max < rl.rlim_cur ||
		    setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			ok(1, "# SKIP fewer than %d descriptors",
			   2 * SYNC_CLIENTS_MAX + 64);
			ok(1, "# SKIP");
			return;
		}
	}
	srv = sync_server_create(-1, 3);
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		held[i] = client(srv, 1, "BARRIER w 9000\n", 0);
	first = held[0];
	fd = client(srv, 2, "BARRIER w 0\n", 0);
	is_str(heard(first), "AGAIN\n",
	       "full of waiting clients: one is told "
	       "AGAIN to make room");
	is_str(heard(fd), "TIMEOUT 2 3 0\n",
	       "the new client is served; the evicted rank's arrival is kept");
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		close(held[i]);
	close(fd);
	sync_server_destroy(srv);
}

/* Through a real listener: a peer whose address is no fabric rank (here
 * 127.0.0.1) is refused. */
static void test_listener(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct sync_server *srv;
	int l, c;

	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0) {
		ok(1, "# SKIP no loopback TCP: %s", strerror(errno));
		return;
	}
	srv = sync_server_create(l, 2);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(c, "GET k 0\n", 8) != 8)
		ok(0, "connect: %s", strerror(errno));
	step(srv, 0);
	usleep(10000);
	step(srv, 0);
	{
		char buf[128];
		ssize_t n = recv(c, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		is_str(
		    buf, "ERR not a rank of this step\n",
		    "a peer that is not at a rank's fabric address is refused");
	}
	close(c);
	sync_server_destroy(srv);
}

int main(void)
{
	signal(SIGPIPE,
	       SIG_IGN); /* a refused client is closed before the test writes */
	test_proto();
	test_barrier_orders();
	test_barrier_duplicate();
	test_barrier_timeout();
	test_values();
	test_bad_clients();
	test_bound();
	test_listener();
	return done_testing();
}
