/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The links (link.c): how long a failed connection waits before the next
 * try, and that an accepted connection carries nothing of ours before its
 * connector has confirmed the handshake, and that frames over a link reach
 * the guest whatever pieces its bytes come in. The last two run a real fabric
 * of rank 0 in a step of two; this test plays rank 1 over loopback TCP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fabric/boot.h"
#include "fabric/fabric.h"
#include "fabric/fabric_int.h"
#include "fabric/handshake.h"
#include "tap.h"

static struct boot_card cards[2];

static void bail_out(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

/* Rank 1's card names a listener that accepts and never says HELLO: the
 * fabric's own connection to rank 1 stays waiting. */
static int exchange(void *arg, const struct boot_card *mine, uint32_t *rank,
		    uint32_t *nranks, struct boot_card **out, char *err,
		    size_t errlen)
{
	(void)err, (void)errlen;
	cards[0] = *mine;
	cards[1] = *mine;
	cards[1].port = *(uint16_t *)arg;
	cards[1].secret[0] ^= 0xff;
	*rank = 0;
	*nranks = 2;
	*out = malloc(sizeof(cards));
	if (!*out)
		return -1;
	memcpy(*out, cards, sizeof(cards));
	return 0;
}

static int quiet_listener(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, len) < 0 ||
	    listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Reads exactly n bytes within ms; returns 1, or 0 on timeout or EOF. */
static int read_in(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, ms) != 1)
			return 0;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

/*
 * Rank 1's frames for rank 0 reach the guest however the link's bytes
 * come: a frame cut in two with a pause between the halves (a short read
 * of the first half must not end the reading of that link), then a burst
 * of frames in one write.
 */
static void back_in_pieces(int link, int guest)
{
	enum { N = 200, FL = 4 + 64 };
	static uint8_t burst[N * FL], got[N * FL];
	uint8_t one[FL] = {0, 0,    0,	  64, 0x52, 0x55, 0, 0,	   0,
			   0, 0x52, 0x55, 0,  0,    0,	  1, 0x88, 0xb5};
	int i;

	ok(write(link, one, 10) == 10, "rank 1 sends half a frame");
	usleep(100000);
	ok(write(link, one + 10, FL - 10) == FL - 10, "and the rest later");
	ok(read_in(guest, got, FL, 5000) && !memcmp(got, one, FL),
	   "the guest gets the whole frame");
	for (i = 0; i < N; i++) {
		memcpy(burst + i * FL, one, FL);
		burst[i * FL + FL - 1] = (uint8_t)i;
	}
	ok(write(link, burst, sizeof(burst)) == (ssize_t)sizeof(burst),
	   "rank 1 sends %d frames in one write", N);
	ok(read_in(guest, got, sizeof(got), 5000) &&
	       !memcmp(got, burst, sizeof(burst)),
	   "the guest gets all %d, in order", N);
}

static void confirm_before_frames(void)
{
	struct fabric_config cfg = {.rank = 0,
				    .nranks = 2,
				    .job = 1,
				    .step = 1,
				    .node = "a",
				    .transport = "tcp",
				    .mtu = 1500,
				    .addr = "127.0.0.1",
				    .exchange = exchange};
	uint8_t frame[4 + 64] = {0, 0,	  0,	64, 0x52, 0x55, 0, 0,	 0,
				 1, 0x52, 0x55, 0,  0,	  0,	0, 0x88, 0xb5};
	uint8_t hello[HS_HELLO_LEN], auth[HS_AUTH_LEN], proof[HS_PROOF_LEN];
	uint8_t challenge[HS_CHALLENGE_LEN], got[sizeof(frame)];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct pollfd p;
	char err[256];
	struct fabric *f;
	uint16_t port;
	int sv[2], lfd, fd;

	lfd = quiet_listener(&port);
	cfg.exchange_arg = &port;
	if (lfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bail_out("setup");
	f = fabric_create(&cfg, sv[0], err, sizeof(err));
	if (!f || fabric_start(f, err, sizeof(err)) < 0)
		bail_out(err);
	/* A frame for rank 1 waits: the fabric's connection to rank 1 hangs
	 * before HELLO. */
	if (write(sv[1], frame, sizeof(frame)) != (ssize_t)sizeof(frame))
		bail_out("guest write");
	usleep(200000);
	/* Rank 1 reaches rank 0 and takes its PROOF. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(cards[0].port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    !read_in(fd, hello, sizeof(hello), 5000) ||
	    hs_auth(hello, 1, 0, cards[0].secret, challenge, auth) < 0 ||
	    write(fd, auth, sizeof(auth)) != (ssize_t)sizeof(auth))
		bail_out("handshake as rank 1");
	ok(read_in(fd, proof, sizeof(proof), 5000) &&
	       !hs_check_proof(proof, 1, 0, cards[0].secret, challenge),
	   "rank 0 proves itself to rank 1");
	/* Before CONFIRM, rank 1 could still give up on this connection:
	 * nothing of rank 0's may be on it yet. */
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	ok(poll(&p, 1, 500) == 0, "no frame before the connector confirms");
	ok(write(fd, hs_confirm, HS_CONFIRM_LEN) == HS_CONFIRM_LEN,
	   "rank 1 confirms");
	ok(read_in(fd, got, sizeof(got), 5000) &&
	       !memcmp(got, frame, sizeof(frame)),
	   "then the waiting frame comes over it");
	back_in_pieces(fd, sv[1]);
	fabric_stop(f);
	fabric_destroy(f);
	close(fd);
	close(lfd);
	close(sv[1]);
}

int main(void)
{
	ok(link_backoff_ms(1) == RETRY_FIRST_MS, "the first retry waits %d ms",
	   RETRY_FIRST_MS);
	ok(link_backoff_ms(2) == 2 * RETRY_FIRST_MS, "the second twice that");
	ok(link_backoff_ms(4) == 8 * RETRY_FIRST_MS, "then it doubles");
	ok(link_backoff_ms(6) == 32 * RETRY_FIRST_MS &&
	       link_backoff_ms(7) == RETRY_MAX_MS,
	   "up to RETRY_MAX_MS (%d ms)", RETRY_MAX_MS);
	ok(link_backoff_ms(1000) == RETRY_MAX_MS &&
	       link_backoff_ms(~0u) == RETRY_MAX_MS,
	   "and stays there, however many failures");
	ok(link_backoff_ms(0) == RETRY_FIRST_MS,
	   "0 failures is the first wait");
	confirm_before_frames();
	return done_testing();
}
