/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-sync (sync_client.h). Stages: parse the arguments; until the
 * deadline, connect to rank 0's agent (connection failures are retried:
 * its command may not have started yet, or DHCP not have run), send the
 * request, read the one-line answer (AGAIN, BUSY or a dropped connection
 * are retried too); report.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fabric/addr.h"
#include "launcher/agent/sync_client.h"
#include "launcher/agent/sync_proto.h"
#include "launcher/common/clock.h"

#define RETRY_MS 200
#define CONNECT_MS 2000
/* How long past the wait the client gives the server to answer. */
#define GRACE_MS 5000

static const char usage[] =
    "usage: slurm-vm-sync NAME [--timeout SECONDS]\n"
    "       slurm-vm-sync --set KEY=VALUE [--timeout SECONDS]\n"
    "       slurm-vm-sync --get KEY [--timeout SECONDS]\n"
    "\n"
    "Barriers and small values between the ranks of a step, inside its\n"
    "guests. NAME waits until every rank has reached barrier NAME (names\n"
    "are single-use: a barrier once passed stays passed). --set stores\n"
    "VALUE as KEY for the step; --get prints KEY's value, waiting until a\n"
    "rank sets it (--timeout 0: only if it is set now). Names: 1 to 64 of\n"
    "A-Z a-z 0-9 . _ -; values: up to 1024 printable ASCII characters.\n"
    "--timeout: seconds (default 600, at most 604800).\n"
    "\n"
    "Exit status: 0 done; 1 the wait timed out; 2 bad arguments; 3 rank 0's\n"
    "guest did not answer or refused the request.\n";

int sync_client_called(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	s = s ? s + 1 : argv0;
	return s && !strcmp(s, "slurm-vm-sync");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "slurm-vm-sync: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(slurm-vm-sync --help tells more)\n");
	return SYNC_EXIT_USAGE;
}

/* Fills r and *secs from argv. Returns 0, 1 (help printed) or
 * SYNC_EXIT_USAGE (said why). */
static int parse_args(int argc, char **argv, struct sync_req *r,
		      unsigned long *secs)
{
	const char *what = NULL, *eq;
	char *end;
	int i;

	r->op = 0;
	*secs = SYNC_TIMEOUT_DEFAULT_S;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			errno = 0;
			*secs = strtoul(argv[++i], &end, 10);
			if (errno || *end || !*argv[i] || *argv[i] == '-' ||
			    *secs > SYNC_TIMEOUT_MAX_S)
				return bad("--timeout %s: give whole seconds, "
					   "0 to 604800",
					   argv[i]);
		} else if ((!strcmp(argv[i], "--set") ||
			    !strcmp(argv[i], "--get")) &&
			   i + 1 < argc && !r->op) {
			r->op = argv[i][2] == 's' ? SYNC_SET : SYNC_GET;
			what = argv[++i];
		} else if (argv[i][0] != '-' && !r->op) {
			r->op = SYNC_BARRIER;
			what = argv[i];
		} else {
			return bad("unexpected argument '%s'", argv[i]);
		}
	}
	if (!r->op)
		return bad("%s", "give a barrier NAME, --set KEY=VALUE or "
				 "--get KEY");
	eq = r->op == SYNC_SET ? strchr(what, '=') : NULL;
	if (r->op == SYNC_SET && !eq)
		return bad("--set %s: give KEY=VALUE", what);
	if (!sync_name_ok(what, eq ? (size_t)(eq - what) : strlen(what)))
		return bad("'%s': a name is 1 to 64 of A-Z a-z 0-9 . _ -",
			   what);
	snprintf(r->name, sizeof(r->name), "%.*s",
		 (int)(eq ? eq - what : (long)strlen(what)), what);
	if (eq && !sync_value_ok(eq + 1, strlen(eq + 1))) {
		char key[SYNC_NAME_MAX + 40];

		snprintf(key, sizeof(key), "%s (%zu bytes)", r->name,
			 strlen(eq + 1));
		return bad("--set %s=...: a value is up to 1024 printable "
			   "ASCII characters",
			   key);
	}
	snprintf(r->value, sizeof(r->value), "%s", eq ? eq + 1 : "");
	return 0;
}

/* A connected socket to rank 0's agent, or -errno after CONNECT_MS. */
static int dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(SYNC_PORT),
				.sin_addr.s_addr = htonl(fabric_addr_ip(0))};
	struct pollfd p;
	socklen_t elen = sizeof(int);
	int fd, e = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			p.fd = fd;
			p.events = POLLOUT;
			e = poll(&p, 1, CONNECT_MS) == 1 ? 0 : ETIMEDOUT;
			if (!e &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
				e = errno;
		}
	}
	if (e) {
		close(fd);
		return -e;
	}
	return fd;
}

/* Sends line and reads the answer into buf until deadline. Returns the
 * answer's length (without newline), 0 when the connection ended without
 * one, or -errno. */
static int exchange(int fd, const char *line, char *buf, size_t len,
		    long deadline)
{
	size_t got = 0, n = strlen(line);
	char *nl;

	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n)
		return 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		r = recv(fd, buf + got, len - 1 - got, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return 0;
		for (; r > 0; r--, got++) /* it reaches a terminal */
			if ((buf[got] < ' ' || buf[got] > '~') &&
			    buf[got] != '\n')
				buf[got] = '?';
		buf[got] = '\0';
		nl = memchr(buf, '\n', got);
		if (nl) {
			*nl = '\0';
			return (int)(nl - buf);
		}
		if (got == len - 1)
			return -EPROTO;
	}
}

/* Acts on an answer. Returns an exit code, or -1 to ask again. */
static int report(const struct sync_req *r, const char *ans, unsigned long secs)
{
	unsigned a, n;
	int off = 0;

	if (!strcmp(ans, "OK"))
		return SYNC_EXIT_OK;
	if (!strncmp(ans, "VALUE ", 6) && r->op == SYNC_GET) {
		printf("%s\n", ans + 6);
		return fflush(stdout) ? SYNC_EXIT_UNREACHABLE : SYNC_EXIT_OK;
	}
	if (!strcmp(ans, "AGAIN") || !strcmp(ans, "BUSY"))
		return -1;
	if (r->op == SYNC_BARRIER &&
	    sscanf(ans, "TIMEOUT %u %u %n", &a, &n, &off) == 2 && off) {
		fprintf(stderr,
			"slurm-vm-sync: barrier %s: %u of %u ranks arrived in "
			"%lu s (missing: %s)\n",
			r->name, a, n, secs, ans + off);
		return SYNC_EXIT_TIMEOUT;
	}
	if (!strcmp(ans, "TIMEOUT")) {
		fprintf(stderr, "slurm-vm-sync: %s was not set in %lu s\n",
			r->name, secs);
		return SYNC_EXIT_TIMEOUT;
	}
	fprintf(stderr, "slurm-vm-sync: rank 0's guest refused '%s': %.200s\n",
		r->name, !strncmp(ans, "ERR ", 4) ? ans + 4 : "bad answer");
	return SYNC_EXIT_UNREACHABLE;
}

int sync_client_main(int argc, char **argv)
{
	char line[SYNC_LINE_MAX + 1], ans[SYNC_VALUE_MAX + 64];
	unsigned long secs;
	struct sync_req r;
	long start = now_ms(), end;
	int st, e = ECONNREFUSED;

	st = parse_args(argc, argv, &r, &secs);
	if (st)
		return st == 1 ? SYNC_EXIT_OK : st;
	end = start + (long)secs * 1000;
	do {
		long left = end - now_ms();
		int fd, n;

		r.ms = left > 0 ? (unsigned long)left : 0;
		if (sync_req_format(&r, line, sizeof(line)) < 0)
			return bad("%s", "cannot write the request");
		fd = dial();
		if (fd < 0) {
			e = -fd;
			if (now_ms() + RETRY_MS < end)
				usleep(RETRY_MS * 1000);
			continue;
		}
		n = exchange(fd, line, ans, sizeof(ans),
			     now_ms() + (long)r.ms + GRACE_MS);
		close(fd);
		if (n < 0) {
			e = -n;
			continue;
		}
		st = n ? report(&r, ans, secs) : -1;
		if (st >= 0)
			return st;
		e = ECONNRESET;
		usleep(RETRY_MS * 1000);
	} while (now_ms() < end);
	fprintf(stderr,
		"slurm-vm-sync: %s: rank 0's guest (n0000, port %d) did not "
		"answer in %lu s: %s\n",
		r.name, SYNC_PORT, secs, strerror(e));
	return SYNC_EXIT_UNREACHABLE;
}
