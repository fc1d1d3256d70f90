/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-netbench: a stand-in for two guests' NICs, for measuring the
 * fabric alone. Each end speaks QEMU's stream protocol (4-byte big-endian
 * length, then the Ethernet frame) on one socket:
 *
 *   under srun --vm-exec=endpoint -n2: the launcher's fabric socket
 *	(SLURMVM_NET_FD), rank from SLURM_PROCID;
 *   --pair: two processes on a direct unix socketpair, the baseline.
 *
 * Rank 0 sends frames of 64, 1500 and 9000 bytes for 1 s each, then 2000
 * 64-byte ping-pongs (--quick: 50 ms and 100); rank 1 counts and answers. Rank
 *0 prints one line per figure: "<label> <what> <value>". Frames carry the
 *fabric's addressing (52:55:<rank>), so the fabric routes them like a guest's.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE 0x88b5 /* local experimental */
#define HDR 4
#define ETH 14
#define BATCH (64 * 1024)
#define PINGS 2000

enum kind { DATA = 1, END = 2, REPORT = 3, PING = 4, PONG = 5, HELLO = 6 };

static int fd, rank, pings = PINGS, peer_rank = -1;
static int64_t send_ns = 1000000000LL; /* per frame size */
static uint8_t inbuf[1 << 20];
static size_t inlen, inoff;

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "netbench rank %d: %s: %s\n", rank, what,
		strerror(errno));
	exit(1);
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Writes a framed frame of len bytes into out; returns bytes used. */
static size_t frame(uint8_t *out, size_t len, enum kind k, uint64_t a,
		    uint64_t b, uint64_t c)
{
	uint8_t *f = out + HDR;
	uint32_t peer = (uint32_t)(peer_rank >= 0 ? peer_rank : 1 - rank);
	uint32_t me = (uint32_t)rank;

	memset(out, 0, HDR + len);
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	f[0] = 0x52, f[1] = 0x55, f[6] = 0x52, f[7] = 0x55;
	f[2] = (uint8_t)(peer >> 24), f[3] = (uint8_t)(peer >> 16);
	f[4] = (uint8_t)(peer >> 8), f[5] = (uint8_t)peer;
	f[8] = (uint8_t)(me >> 24), f[9] = (uint8_t)(me >> 16);
	f[10] = (uint8_t)(me >> 8), f[11] = (uint8_t)me;
	f[12] = ETHERTYPE >> 8, f[13] = ETHERTYPE & 0xff;
	f[14] = (uint8_t)k;
	put64(f + 15, a);
	put64(f + 23, b);
	put64(f + 31, c);
	return HDR + len;
}

static void write_all(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* Returns the next frame (pointer into inbuf) and its length. */
static const uint8_t *next_frame(size_t *len)
{
	for (;;) {
		size_t have = inlen - inoff;

		if (have >= HDR) {
			const uint8_t *p = inbuf + inoff;
			size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
				   (size_t)p[2] << 8 | p[3];

			if (n < ETH + 39 || n > sizeof(inbuf) - HDR) {
				errno = EPROTO;
				die("frame length");
			}
			if (have >= HDR + n) {
				inoff += HDR + n;
				*len = n;
				return p + HDR;
			}
		}
		memmove(inbuf, inbuf + inoff, have);
		inlen = have;
		inoff = 0;
		ssize_t r = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read");
		inlen += (size_t)r;
	}
}

static const uint8_t *expect(enum kind k)
{
	size_t len;
	const uint8_t *f;

	do /* the fabric may deliver stray guest traffic: none here */
		f = next_frame(&len);
	while (f[12] != ETHERTYPE >> 8 || f[13] != (ETHERTYPE & 0xff) ||
	       f[14] != k);
	return f;
}

static void sender(const char *label)
{
	static uint8_t out[BATCH + 16384];
	const size_t sizes[] = {64, 1500, 9000};
	int64_t rtt[PINGS];
	unsigned i;

	for (i = 0; i < 3; i++) {
		size_t n, used = 0;
		uint64_t sent = 0;
		int64_t t0 = now_ns();
		const uint8_t *r;

		while (now_ns() - t0 < send_ns) {
			for (used = 0; used + HDR + sizes[i] <= BATCH; sent++)
				used += frame(out + used, sizes[i], DATA, sent,
					      0, 0);
			write_all(out, used);
		}
		n = frame(out, 64, END, sent, 0, 0);
		write_all(out, n);
		r = expect(REPORT);
		{
			uint64_t got = get64(r + 15), ns = get64(r + 31);
			double fps = (double)got * 1e9 / (double)ns;

			printf("%s %zuB frames/s %.0f\n", label, sizes[i], fps);
			printf("%s %zuB Gbit/s %.3f\n", label, sizes[i],
			       fps * (double)sizes[i] * 8 / 1e9);
			printf("%s %zuB lost %" PRIu64 "\n", label, sizes[i],
			       sent - got);
		}
	}
	for (i = 0; i < (unsigned)pings; i++) {
		int64_t t = now_ns();

		write_all(out, frame(out, 64, PING, i, 0, 0));
		expect(PONG);
		rtt[i] = now_ns() - t;
	}
	write_all(out, frame(out, 64, END, 0, 0, 0));
	for (i = 1; i < (unsigned)pings; i++) { /* insertion sort */
		int64_t v = rtt[i];
		int j = (int)i - 1;

		while (j >= 0 && rtt[j] > v) {
			rtt[j + 1] = rtt[j];
			j--;
		}
		rtt[j + 1] = v;
	}
	printf("%s 64B rtt_p50_us %.1f\n", label, (double)rtt[pings / 2] / 1e3);
	printf("%s 64B rtt_p99_us %.1f\n", label,
	       (double)rtt[pings * 99 / 100] / 1e3);
}

static void receiver(void)
{
	uint8_t out[256];
	int phase;

	for (phase = 0; phase < 3; phase++) {
		uint64_t got = 0, bytes = 0;
		int64_t first = 0;

		for (;;) {
			size_t len;
			const uint8_t *f = next_frame(&len);

			if (f[14] == DATA) {
				if (!got)
					first = now_ns();
				got++;
				bytes += len;
			} else if (f[14] == END) {
				break;
			}
		}
		write_all(out, frame(out, 64, REPORT, got, bytes,
				     (uint64_t)(now_ns() - first)));
	}
	for (;;) {
		size_t len;
		const uint8_t *f = next_frame(&len);

		if (f[14] == END)
			return;
		if (f[14] == PING)
			write_all(out,
				  frame(out, 64, PONG, get64(f + 15), 0, 0));
	}
}

/*
 * --all-pairs: every rank sends one frame to every other rank and waits
 * for one from each. Prints "rank R: heard from N of M peers" and exits 0
 * when all arrived; lingers a moment so its own frames leave first.
 */
static int all_pairs(int nranks)
{
	static uint8_t heard[1 << 16];
	uint8_t out[256];
	int r, got = 0;

	if (nranks > (int)sizeof(heard))
		return 2;
	for (r = 0; r < nranks; r++) {
		if (r == rank)
			continue;
		peer_rank = r;
		write_all(out, frame(out, 64, HELLO, (uint64_t)rank, 0, 0));
	}
	while (got < nranks - 1) {
		const uint8_t *f = expect(HELLO);
		uint64_t from = get64(f + 15);

		if (from < (uint64_t)nranks && from != (uint64_t)rank &&
		    !heard[from]) {
			heard[from] = 1;
			got++;
		}
	}
	printf("rank %d: heard from %d of %d peers\n", rank, got, nranks - 1);
	fflush(stdout);
	sleep(3);
	return 0;
}

int main(int argc, char **argv)
{
	const char *label = "fabric";
	int pair = 0, allpairs = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pair"))
			pair = 1;
		else if (!strcmp(argv[i], "--all-pairs"))
			allpairs = 1;
		else if (!strcmp(argv[i], "--quick"))
			send_ns = 50000000LL, pings = 100;
		else
			label = argv[i];
	}
	if (pair && !strcmp(label, "fabric"))
		label = "pair";
	if (pair) {
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			die("socketpair");
		pid = fork();
		if (pid < 0)
			die("fork");
		rank = pid == 0;
		fd = sv[rank];
		close(sv[1 - rank]);
		if (rank) {
			receiver();
			return 0;
		}
		sender(label);
		waitpid(pid, NULL, 0);
		return 0;
	}
	if (!getenv("SLURMVM_NET_FD") || !getenv("SLURM_PROCID")) {
		fprintf(
		    stderr,
		    "usage: srun -n2 --vm-exec=endpoint %s [--quick] [LABEL]\n"
		    "       %s --pair [--quick] [LABEL]\n",
		    argv[0], argv[0]);
		return 2;
	}
	fd = atoi(getenv("SLURMVM_NET_FD"));
	rank = atoi(getenv("SLURM_PROCID"));
	if (allpairs)
		return all_pairs(atoi(getenv("SLURM_NTASKS") ?: "1"));
	if (rank > 1)
		return 0;
	if (rank == 0)
		sender(label);
	else
		receiver();
	return 0;
}
