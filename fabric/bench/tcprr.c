/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-tcprr: a small-message request/response rate over TCP, for the
 * guests' network benchmark (contrib/bench-guest-net), run inside guests.
 *
 *   slurm-vm-tcprr server PORT
 *	accepts one connection (within 120 s) and echoes every message back
 *	until the peer closes; every wait is bounded (10 s without a byte
 *	ends it).
 *   slurm-vm-tcprr client HOST PORT SECONDS SIZE
 *	connects (retrying for up to 60 s), then sends SIZE-byte requests
 *	one at a time, each answered before the next, for SECONDS; prints
 *	"rr_per_s N", "rr_p50_us N" and "rr_p99_us N".
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 65536
#define MAX_SAMPLES (1 << 20)
#define IDLE_MS 10000

static uint8_t buf[MAX_MSG];

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Waits for fd to be ready for ev, at most ms. 0 on ready, -ETIMEDOUT. */
static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

/* Moves exactly len bytes; returns 0, 1 on a clean end before any, -errno. */
static int xfer(int fd, uint8_t *p, size_t len, int sending)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;
		int r = wait_fd(fd, sending ? POLLOUT : POLLIN, IDLE_MS);

		if (r < 0)
			return r;
		n = sending ? send(fd, p + done, len - done, MSG_NOSIGNAL)
			    : recv(fd, p + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return done ? -ECONNRESET : 1;
		done += (size_t)n;
	}
	return 0;
}

static int server(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int one = 1, ls, fd;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 1) < 0) {
		perror("slurm-vm-tcprr: listen");
		return 1;
	}
	if (wait_fd(ls, POLLIN, 120000) < 0 ||
	    (fd = accept(ls, NULL, NULL)) < 0) {
		fprintf(stderr, "slurm-vm-tcprr: no client within 120 s\n");
		return 1;
	}
	close(ls);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, IDLE_MS) < 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || xfer(fd, buf, (size_t)n, 1) < 0)
			break;
	}
	close(fd);
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int client(const char *host, int port, double secs, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int64_t *lat, t0, end, deadline = now_ns() + 60000000000LL;
	size_t n = 0;
	int one = 1, fd = -1;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr,
			"slurm-vm-tcprr: HOST %s: not an IPv4 address\n", host);
		return 2;
	}
	while (now_ns() < deadline) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(200000);
	}
	if (fd < 0) {
		fprintf(stderr, "slurm-vm-tcprr: cannot connect to %s:%d\n",
			host, port);
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	if (!lat)
		return 1;
	memset(buf, 0x5a, size);
	end = now_ns() + (int64_t)(secs * 1e9);
	while (n < MAX_SAMPLES && (t0 = now_ns()) < end) {
		if (xfer(fd, buf, size, 1) || xfer(fd, buf, size, 0)) {
			fprintf(stderr,
				"slurm-vm-tcprr: the connection failed\n");
			free(lat);
			return 1;
		}
		lat[n++] = now_ns() - t0;
	}
	close(fd);
	if (!n) {
		free(lat);
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp64);
	printf("rr_per_s %.0f\n", (double)n / secs);
	printf("rr_p50_us %.0f\n", (double)lat[n / 2] / 1000);
	printf("rr_p99_us %.0f\n", (double)lat[n * 99 / 100] / 1000);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "client")) {
		double secs = atof(argv[4]);
		long size = atol(argv[5]);

		if (secs <= 0 || secs > 600 || size < 1 || size > MAX_MSG) {
			fprintf(stderr, "slurm-vm-tcprr: SECONDS must be in "
					"(0, 600] and SIZE in [1, 65536]\n");
			return 2;
		}
		return client(argv[2], atoi(argv[3]), secs, (size_t)size);
	}
	fprintf(stderr,
		"usage: slurm-vm-tcprr server PORT\n"
		"       slurm-vm-tcprr client HOST PORT SECONDS SIZE\n");
	return 2;
}
