/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's messages and its snapshot cut (cut.c), on two real fabrics
 * of one step in this process (ranks 0 and 1 over loopback TCP). The test
 * plays both guests through their stream sockets, and both launchers'
 * threads: a frame crosses, a message crosses, frames in flight at a cut
 * are held and saved on the receiving side and delivered after release, a
 * cut whose peer never cuts fails in time with the reason, and a rank
 * whose launcher went away is reported lost.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fabric/boot.h"
#include "fabric/fabric.h"
#include "tap.h"

#define FLEN 64

static struct boot_card cards[2];
static pthread_barrier_t swapped;

static void bail_out(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

/* Both fabrics publish their card, wait for each other, read both. */
static int exchange(void *arg, const struct boot_card *mine, uint32_t *rank,
		    uint32_t *nranks, struct boot_card **out, char *err,
		    size_t errlen)
{
	uint32_t me = *(uint32_t *)arg;

	(void)err, (void)errlen;
	cards[me] = *mine;
	pthread_barrier_wait(&swapped);
	*rank = me;
	*nranks = 2;
	*out = malloc(sizeof(cards));
	if (!*out)
		return -1;
	memcpy(*out, cards, sizeof(cards));
	return 0;
}

struct side {
	uint32_t rank;
	int guest; /* the test's end of the guest's stream socket */
	struct fabric *f;
	uint32_t seq; /* for cut_thread */
	int rc;
	char err[256];
};

static void *create_thread(void *arg)
{
	struct side *s = arg;
	struct fabric_config cfg = {.rank = s->rank,
				    .nranks = 2,
				    .job = 7,
				    .step = 0,
				    .node = s->rank ? "b" : "a",
				    .transport = "tcp",
				    .mtu = 1500,
				    .addr = "127.0.0.1",
				    .exchange = exchange,
				    .exchange_arg = &s->rank};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	s->guest = sv[1];
	s->f = fabric_create(&cfg, sv[0], s->err, sizeof(s->err));
	if (s->f && fabric_start(s->f, s->err, sizeof(s->err)) < 0)
		s->f = NULL;
	return NULL;
}

static void *cut_thread(void *arg)
{
	struct side *s = arg;

	s->rc = fabric_cut(s->f, s->seq, 5000, s->err, sizeof(s->err));
	return NULL;
}

/* A frame from rank `from` to rank `to`, numbered n, with its length. */
static void frame(uint8_t out[4 + FLEN], uint32_t from, uint32_t to, int n)
{
	memset(out, 0, 4 + FLEN);
	out[3] = FLEN;
	out[4] = 0x52, out[5] = 0x55, out[9] = (uint8_t)to;
	out[10] = 0x52, out[11] = 0x55, out[15] = (uint8_t)from;
	out[16] = 0x88, out[17] = 0xb5;
	out[18] = (uint8_t)n;
}

static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

/* Reads one framed frame within ms; returns its number, or -1. */
static int read_frame(int fd, int ms)
{
	uint8_t buf[4 + FLEN];
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t n;

		if (!readable(fd, ms))
			return -1;
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return buf[3] == FLEN ? buf[18] : -1;
}

static int send_frames(struct side *s, uint32_t to, int first, int n)
{
	uint8_t buf[4 + FLEN];
	int i;

	for (i = first; i < first + n; i++) {
		frame(buf, s->rank, to, i);
		if (write(s->guest, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return -1;
	}
	return 0;
}

static int recv_msg(struct fabric *f, struct fabric_msg *m, int ms)
{
	while (ms > 0) {
		if (readable(fabric_events_fd(f), 50) && fabric_recv(f, m))
			return 1;
		ms -= 50;
	}
	return 0;
}

int main(void)
{
	struct side s[2] = {{.rank = 0}, {.rank = 1}};
	pthread_t t[2];
	struct fabric_msg m;
	char path[] = "/tmp/test_fabric_cut.XXXXXX";
	uint64_t bytes = 0;
	int i, fd, got[4], in_order;

	pthread_barrier_init(&swapped, NULL, 2);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, create_thread, &s[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (!s[0].f || !s[1].f)
		bail_out(s[0].f ? s[1].err : s[0].err);

	ok(send_frames(&s[0], 1, 1, 1) == 0 &&
	       read_frame(s[1].guest, 5000) == 1,
	   "a frame from guest 0 reaches guest 1");
	ok(send_frames(&s[1], 0, 2, 1) == 0 &&
	       read_frame(s[0].guest, 5000) == 2,
	   "and one back");
	ok(fabric_send(s[0].f, 1, FABRIC_CTL_CUT, 41, 9) == 0 &&
	       recv_msg(s[1].f, &m, 5000) && m.from == 0 &&
	       m.type == FABRIC_CTL_CUT && m.seq == 41 && m.arg == 9,
	   "a message from launcher 0 reaches launcher 1 (from, type, seq, "
	   "arg)");

	/* A snapshot: both hold, guest 0 sends three frames and "pauses";
	 * both cut at once (each waits for the other's marker). */
	ok(fabric_hold(s[0].f, 5000, s[0].err, sizeof(s[0].err)) == 0 &&
	       fabric_hold(s[1].f, 5000, s[1].err, sizeof(s[1].err)) == 0,
	   "both fabrics hold their guests' frames");
	send_frames(&s[0], 1, 10, 3);
	s[0].seq = s[1].seq = 1;
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, cut_thread, &s[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ok(s[0].rc == 0 && s[1].rc == 0, "both cuts complete ('%s' '%s')",
	   s[0].err, s[1].err);
	ok(!readable(s[1].guest, 200), "guest 1 got none of them while held");
	fd = mkstemp(path);
	if (fd < 0)
		bail_out("mkstemp");
	unlink(path);
	ok(fabric_save_frames(s[1].f, fd, &bytes) == 0 &&
	       bytes == 3 * (4 + FLEN),
	   "rank 1 saves the three frames in flight (%llu bytes)",
	   (unsigned long long)bytes);
	ok(fabric_save_frames(s[0].f, fd, &bytes) == 0 && bytes == 0,
	   "rank 0 has none to save");
	fabric_release(s[0].f);
	fabric_release(s[1].f);
	for (i = 0; i < 3; i++)
		got[i] = read_frame(s[1].guest, 5000);
	in_order = got[0] == 10 && got[1] == 11 && got[2] == 12;
	ok(in_order, "after release guest 1 gets them, in order (%d %d %d)",
	   got[0], got[1], got[2]);
	/* The saved file holds them in the guest's stream format. */
	lseek(fd, 0, SEEK_SET);
	ok(read_frame(fd, 0) == 10, "the saved file starts with the first");
	close(fd);

	/* A cut whose peer never cuts fails in time, saying why. */
	ok(fabric_hold(s[1].f, 5000, NULL, 0) == 0 &&
	       fabric_cut(s[1].f, 2, 500, s[1].err, sizeof(s[1].err)) < 0 &&
	       s[1].err[0],
	   "a cut the peer does not join fails within its time: %s", s[1].err);
	fabric_release(s[1].f);

	/* Launcher 0 goes away: launcher 1 hears of it. */
	fabric_stop(s[0].f);
	fabric_destroy(s[0].f);
	ok(recv_msg(s[1].f, &m, 5000) && m.type == FABRIC_MSG_LOST &&
	       m.from == 0 && fabric_rank_lost(s[1].f, 0),
	   "launcher 1 is told rank 0 is lost");
	fabric_stop(s[1].f);
	fabric_destroy(s[1].f);
	return done_testing();
}
