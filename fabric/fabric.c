/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Theory of operation.
 *
 * One thread, one epoll loop, no busy polling. Every fd carries a typed
 * reference (struct ref) saying what it is: the guest's QEMU stream
 * socket, a listener, a peer connection or the stop eventfd.
 *
 * Guest -> peers. One read from the guest holds many frames. Each frame is
 * routed (route.c): ARP, DHCP and DNS are answered here and never leave;
 * unicast goes to the owning rank's queue, broadcast and multicast to
 * every other rank's; anything else is dropped and counted. Queues are
 * flushed once per batch. A frame that finds a full queue waits: the
 * guest socket is not read again until that queue drains, so a slow
 * receiver slows the sender's guest and memory stays bounded.
 *
 * Peers -> guest. Frames from a peer connection are checked (the source
 * MAC must be that peer's, the destination this guest or a group) and
 * queued for the guest. When the guest's queue is full, peer connections
 * are not read until it drains.
 *
 * Connections are made on first use: the first frame for a rank opens the
 * connection (the shortcut on the same node, TCP otherwise) and waits in
 * the rank's queue while the handshake (handshake.h) runs. A connection
 * accepted from a peer is used for sending to it too, unless this side
 * already opened its own; each side keeps sending on one connection, so
 * frames between two guests stay in order.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "arp.h"
#include "boot.h"
#include "dhcp.h"
#include "dns.h"
#include "fabric.h"
#include "frame.h"
#include "handshake.h"
#include "queue.h"
#include "route.h"

#define PEER_QUEUE (256 * 1024)
#define GUEST_QUEUE (1024 * 1024)
#define HANDSHAKE_TIMEOUT_MS 10000
#define MAX_HANDSHAKES 64

enum ref_kind { REF_GUEST, REF_LISTEN, REF_CONN, REF_STOP };

struct ref {
	enum ref_kind kind;
};

enum conn_state { C_CONNECTING, C_HELLO, C_AUTH, C_PROOF, C_READY };

struct conn {
	struct ref ref;
	int fd;
	enum conn_state state;
	int outgoing;
	uint32_t peer; /* known from the start when outgoing */
	uint8_t challenge[HS_CHALLENGE_LEN];
	uint8_t hs[HS_AUTH_LEN];
	size_t hs_len;
	long started_ms;
	int reading; /* EPOLLIN armed */
	struct fabric_rx *rx;
	struct conn *next; /* all connections */
};

struct peer {
	struct conn *tx;   /* the connection frames to this rank go on */
	struct queue q;	   /* frames for this rank (allocated on first use) */
	int gone;	   /* its connection failed: frames for it are dropped */
};

struct fabric {
	struct fabric_config cfg;
	struct boot_card *cards;
	struct peer *peers;
	struct conn *conns;
	int nhandshakes;
	int epfd, stop_fd, tcp_fd, unix_fd, guest_fd;
	struct ref guest_ref, listen_ref, stop_ref;
	struct fabric_rx *guest_rx;
	struct queue guest_q;
	/* A frame from the guest waiting for room in its queues. */
	const uint8_t *pending;
	size_t pending_len;
	uint32_t pending_dst;
	int pending_action;
	int guest_reading, peers_blocked;
	pthread_t thread;
	int running;
	long bootstrap_ms; /* listeners, PMIx exchange */
	struct fabric_stats stats;
};

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int watch(struct fabric *f, int op, int fd, struct ref *ref,
		 uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = ref};

	return epoll_ctl(f->epfd, op, fd, &ev);
}

static void unix_name(const struct fabric_config *cfg, uint32_t rank,
		      struct sockaddr_un *sa, socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract: nothing on the filesystem to leave behind. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "slurm-vm.%u.%u.%u", cfg->job, cfg->step, rank);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)n);
}

/* The first IPv4 address of this host's name, for the card. */
static void host_addr(char *buf, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_INET}, *ai = NULL;
	char name[256];

	snprintf(buf, len, "127.0.0.1");
	if (gethostname(name, sizeof(name)) < 0 ||
	    getaddrinfo(name, NULL, &hints, &ai) != 0 || !ai)
		return;
	inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, buf,
		  (socklen_t)len);
	freeaddrinfo(ai);
}

static int open_listeners(struct fabric *f, struct boot_card *mine, char *err,
			  size_t errlen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct sockaddr_un sun;
	socklen_t ulen;

	f->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (f->tcp_fd < 0 ||
	    bind(f->tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->tcp_fd, 128) < 0 ||
	    getsockname(f->tcp_fd, (struct sockaddr *)&sin, &len) < 0) {
		snprintf(err, errlen, "fabric: TCP listener: %s",
			 strerror(errno));
		return -errno;
	}
	mine->port = ntohs(sin.sin_port);
	unix_name(&f->cfg, f->cfg.rank, &sun, &ulen);
	f->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
	if (f->unix_fd < 0 || bind(f->unix_fd, (struct sockaddr *)&sun, ulen) ||
	    listen(f->unix_fd, 128) < 0) {
		snprintf(err, errlen, "fabric: node-local listener @%s: %s",
			 sun.sun_path + 1, strerror(errno));
		return -errno;
	}
	return 0;
}

struct fabric *fabric_create(const struct fabric_config *cfg, int guest_fd,
			     char *err, size_t errlen)
{
	struct fabric *f = calloc(1, sizeof(*f));
	struct boot_card mine = {0};
	uint32_t rank, n;
	long t0 = now_ms();

	if (!f) {
		close(guest_fd);
		snprintf(err, errlen, "fabric: out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	f->guest_fd = guest_fd;
	f->epfd = f->stop_fd = f->tcp_fd = f->unix_fd = -1;
	f->guest_rx = malloc(sizeof(*f->guest_rx));
	if (!f->guest_rx || queue_init(&f->guest_q, GUEST_QUEUE) < 0 ||
	    !(f->peers = calloc(cfg->nranks, sizeof(*f->peers)))) {
		snprintf(err, errlen, "fabric: out of memory");
		goto fail;
	}
	fabric_rx_init(f->guest_rx);
	if (strcmp(cfg->transport, "auto") && strcmp(cfg->transport, "tcp")) {
		snprintf(err, errlen,
			 "fabric: transport '%s' is not available in this "
			 "build (use auto or tcp)",
			 cfg->transport);
		goto fail;
	}
	snprintf(mine.node, sizeof(mine.node), "%s", cfg->node);
	host_addr(mine.addr, sizeof(mine.addr));
	if (hs_random(mine.secret, sizeof(mine.secret)) < 0 ||
	    open_listeners(f, &mine, err, errlen) < 0)
		goto fail;
	if (cfg->nranks > 1) {
		if (boot_exchange(&mine, &rank, &n, &f->cards, err, errlen) < 0)
			goto fail;
		if (rank != cfg->rank || n != cfg->nranks) {
			snprintf(err, errlen,
				 "fabric: PMIx says rank %u of %u, Slurm says "
				 "%u of %u",
				 rank, n, cfg->rank, cfg->nranks);
			goto fail;
		}
	} else {
		f->cards = calloc(1, sizeof(*f->cards));
		if (!f->cards)
			goto fail;
		f->cards[0] = mine;
	}
	f->bootstrap_ms = now_ms() - t0;
	return f;
fail:
	fabric_destroy(f);
	return NULL;
}

const struct fabric_stats *fabric_get_stats(const struct fabric *f)
{
	return &f->stats;
}

long fabric_bootstrap_ms(const struct fabric *f)
{
	return f->bootstrap_ms;
}

static void conn_close(struct fabric *f, struct conn *c)
{
	struct conn **p;

	for (p = &f->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->state != C_READY && !c->outgoing)
		f->nhandshakes--;
	if (c->state == C_READY || c->outgoing) {
		struct peer *pr = &f->peers[c->peer];

		if (pr->tx == c) {
			pr->tx = NULL;
			/* Its launcher is gone (or never came): stop
			 * queueing for it rather than retrying forever. */
			pr->gone = 1;
			pr->q.head = pr->q.tail = 0;
		}
	}
	close(c->fd);
	free(c->rx);
	free(c);
}

static struct conn *conn_new(struct fabric *f, int fd, int outgoing,
			     uint32_t peer)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ref.kind = REF_CONN;
	c->fd = fd;
	c->outgoing = outgoing;
	c->peer = peer;
	c->started_ms = now_ms();
	c->next = f->conns;
	f->conns = c;
	return c;
}

static int peer_queue(struct peer *pr)
{
	return pr->q.buf ? 0 : queue_init(&pr->q, PEER_QUEUE);
}

/* Opens the connection to rank, on first use. */
static struct conn *connect_peer(struct fabric *f, uint32_t rank)
{
	const struct boot_card *card = &f->cards[rank];
	int same = !strcmp(f->cfg.transport, "auto") &&
		   !strcmp(card->node, f->cards[f->cfg.rank].node);
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *c;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (same) {
		unix_name(&f->cfg, rank, (struct sockaddr_un *)&ss, &len);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(card->port);
		if (inet_pton(AF_INET, card->addr, &sin->sin_addr) != 1)
			return NULL;
		len = sizeof(*sin);
	}
	fd = socket(same ? AF_UNIX : AF_INET,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (!same)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		close(fd);
		return NULL;
	}
	c = conn_new(f, fd, 1, rank);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->state = C_CONNECTING;
	if (watch(f, EPOLL_CTL_ADD, fd, &c->ref, EPOLLIN | EPOLLOUT) < 0) {
		conn_close(f, c);
		return NULL;
	}
	c->reading = 1;
	return c;
}

/* Makes sure frames for rank can be queued. Returns the peer or NULL
 * when it is gone. */
static struct peer *peer_for(struct fabric *f, uint32_t rank)
{
	struct peer *pr = &f->peers[rank];

	if (pr->gone)
		return NULL;
	if (peer_queue(pr) < 0)
		return NULL;
	if (!pr->tx && !(pr->tx = connect_peer(f, rank))) {
		pr->gone = 1;
		return NULL;
	}
	return pr;
}

static void arm(struct fabric *f, struct conn *c)
{
	struct peer *pr = c->state == C_READY ? &f->peers[c->peer] : NULL;
	uint32_t ev = c->reading ? EPOLLIN : 0;

	if (c->state == C_CONNECTING ||
	    (pr && pr->tx == c && queue_len(&pr->q)))
		ev |= EPOLLOUT;
	watch(f, EPOLL_CTL_MOD, c->fd, &c->ref, ev);
}

static void guest_arm(struct fabric *f)
{
	uint32_t ev = f->guest_reading ? EPOLLIN : 0;

	if (queue_len(&f->guest_q))
		ev |= EPOLLOUT;
	watch(f, EPOLL_CTL_MOD, f->guest_fd, &f->guest_ref, ev);
}

static void flush_peer(struct fabric *f, struct peer *pr)
{
	ssize_t left;

	if (!pr->tx || pr->tx->state != C_READY)
		return;
	left = queue_flush(&pr->q, pr->tx->fd);
	if (left < 0) {
		conn_close(f, pr->tx);
		return;
	}
	arm(f, pr->tx);
}

/* Queues a frame for the guest. Returns 0, or -ENOSPC when full. */
static int to_guest(struct fabric *f, const uint8_t *frame, size_t len)
{
	if (!queue_room(&f->guest_q, len))
		return -ENOSPC;
	queue_put(&f->guest_q, frame, len);
	fabric_stats_deliver(&f->stats, len);
	return 0;
}

static void answer_locally(struct fabric *f, int action, const uint8_t *frame,
			   size_t len)
{
	uint8_t out[FABRIC_DHCP_FRAME_LEN + FABRIC_DNS_FRAME_MAX];
	ssize_t n;
	uint8_t type = 0;

	if (action == FABRIC_LOCAL_ARP) {
		n = fabric_arp_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				     out, sizeof(out));
		fabric_stats_arp(&f->stats, n);
	} else if (action == FABRIC_LOCAL_DNS) {
		n = fabric_dns_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				     out, sizeof(out));
		fabric_stats_dns(&f->stats, n);
	} else {
		n = fabric_dhcp_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				      f->cfg.mtu, out, sizeof(out), &type);
		fabric_stats_dhcp(&f->stats, n, type);
	}
	/* An answer that finds the guest's queue full is dropped: the guest
	 * asks again, as it would on a real network. */
	if (n > 0)
		to_guest(f, out, (size_t)n);
}

/*
 * Sends one routed frame. Returns 0 when done (sent, queued or dropped),
 * -EAGAIN when a queue is full and the frame must wait.
 */
static int forward(struct fabric *f, int action, uint32_t dst,
		   const uint8_t *frame, size_t len)
{
	uint32_t r;

	if (action == FABRIC_UNICAST) {
		struct peer *pr = peer_for(f, dst);

		if (!pr) {
			f->stats.drops[FABRIC_DROP_NO_RANK]++;
			return 0;
		}
		if (!queue_room(&pr->q, len))
			return -EAGAIN;
		queue_put(&pr->q, frame, len);
		return 0;
	}
	/* Broadcast: all queues must have room, or none is used, so a retry
	 * never delivers twice. */
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = r == f->cfg.rank ? NULL : peer_for(f, r);

		if (pr && !queue_room(&pr->q, len))
			return -EAGAIN;
	}
	for (r = 0; r < f->cfg.nranks; r++)
		if (r != f->cfg.rank && !f->peers[r].gone && f->peers[r].q.buf)
			queue_put(&f->peers[r].q, frame, len);
	return 0;
}

static void flush_all(struct fabric *f)
{
	uint32_t r;

	for (r = 0; r < f->cfg.nranks; r++)
		if (f->peers[r].q.buf && queue_len(&f->peers[r].q))
			flush_peer(f, &f->peers[r]);
}

/*
 * forward(), flushing the full queues once before giving up: a queue that
 * drains completely arms no EPOLLOUT, so waiting for one would wait
 * forever.
 */
static int forward_or_flush(struct fabric *f, int action, uint32_t dst,
			    const uint8_t *frame, size_t len)
{
	if (forward(f, action, dst, frame, len) == 0)
		return 0;
	flush_all(f);
	return forward(f, action, dst, frame, len);
}

/* Routes what the guest sent, until a queue fills or the input ends. */
static void from_guest(struct fabric *f)
{
	const uint8_t *frame;
	size_t len;
	int r;

	if (f->pending) {
		if (forward_or_flush(f, f->pending_action, f->pending_dst,
				     f->pending, f->pending_len) < 0)
			return;
		fabric_stats_route(&f->stats, f->pending_action,
				   f->pending_len);
		f->pending = NULL;
	}
	while ((r = fabric_rx_next(f->guest_rx, &frame, &len)) == 1) {
		uint32_t dst = 0;
		int action = fabric_route(frame, len, f->cfg.rank,
					  f->cfg.nranks, &dst);

		if (action == FABRIC_LOCAL_ARP || action == FABRIC_LOCAL_DHCP ||
		    action == FABRIC_LOCAL_DNS) {
			fabric_stats_route(&f->stats, action, len);
			answer_locally(f, action, frame, len);
			continue;
		}
		if (fabric_action_is_drop(action)) {
			fabric_stats_route(&f->stats, action, len);
			continue;
		}
		if (forward_or_flush(f, action, dst, frame, len) < 0) {
			f->pending = frame;
			f->pending_len = len;
			f->pending_dst = dst;
			f->pending_action = action;
			break;
		}
		fabric_stats_route(&f->stats, action, len);
	}
	if (r < 0) { /* QEMU broke the stream: nothing sane can follow */
		f->guest_reading = 0;
		return;
	}
	f->guest_reading = !f->pending;
}

static void read_guest(struct fabric *f)
{
	size_t room;
	uint8_t *p = fabric_rx_space(f->guest_rx, &room);
	ssize_t n = read(f->guest_fd, p, room);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			f->guest_reading = 0; /* QEMU is gone */
		return;
	}
	fabric_rx_commit(f->guest_rx, (size_t)n);
	from_guest(f);
	flush_all(f);
}

/* A frame from peer rank: only its own source MAC, only for us or a group. */
static int frame_acceptable(struct fabric *f, uint32_t peer,
			    const uint8_t *frame, size_t len)
{
	uint8_t mine[FABRIC_MAC_LEN], theirs[FABRIC_MAC_LEN];

	if (len < FABRIC_ETH_HLEN)
		return 0;
	fabric_addr_mac(f->cfg.rank, mine);
	fabric_addr_mac(peer, theirs);
	if (memcmp(frame + 6, theirs, FABRIC_MAC_LEN))
		return 0;
	return !memcmp(frame, mine, FABRIC_MAC_LEN) ||
	       fabric_addr_mac_is_group(frame);
}

static void block_peers(struct fabric *f, struct conn *c)
{
	c->reading = 0;
	arm(f, c);
	f->peers_blocked = 1;
}

static void read_frames(struct fabric *f, struct conn *c)
{
	const uint8_t *frame;
	size_t len, room;
	uint8_t *p;
	ssize_t n;
	int r;

	/* Deliver what is buffered before reading more. */
	while ((r = fabric_rx_next(c->rx, &frame, &len)) == 1) {
		if (!frame_acceptable(f, c->peer, frame, len)) {
			f->stats.drops[FABRIC_DROP_BAD_SOURCE]++;
			continue;
		}
		if (to_guest(f, frame, len) < 0) {
			/* Put it back: rx keeps it until the next read. */
			c->rx->start -= FABRIC_LEN_HDR + len;
			block_peers(f, c);
			return;
		}
	}
	if (r < 0) {
		conn_close(f, c);
		return;
	}
	p = fabric_rx_space(c->rx, &room);
	n = read(c->fd, p, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(f, c);
		return;
	}
	if (n > 0) {
		fabric_rx_commit(c->rx, (size_t)n);
		read_frames(f, c);
	}
}

/* Reads exactly want handshake bytes; returns 1 when complete. */
static int hs_read(struct fabric *f, struct conn *c, size_t want)
{
	ssize_t n = read(c->fd, c->hs + c->hs_len, want - c->hs_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(f, c);
		return -1;
	}
	if (n > 0)
		c->hs_len += (size_t)n;
	return c->hs_len == want;
}

static int hs_write(int fd, const uint8_t *buf, size_t len)
{
	/* Handshake messages are tiny and go first on a fresh socket. */
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static void become_ready(struct fabric *f, struct conn *c)
{
	struct peer *pr = &f->peers[c->peer];

	c->state = C_READY;
	c->hs_len = 0;
	if (!c->outgoing)
		f->nhandshakes--;
	c->rx = malloc(sizeof(*c->rx));
	if (!c->rx) {
		conn_close(f, c);
		return;
	}
	fabric_rx_init(c->rx);
	if (!pr->tx && !pr->gone)
		pr->tx = c;
	if (pr->tx == c) {
		if (peer_queue(pr) < 0) {
			conn_close(f, c);
			return;
		}
		flush_peer(f, pr);
	}
	arm(f, c);
}

static void handshake(struct fabric *f, struct conn *c, uint32_t events)
{
	uint8_t out[HS_AUTH_LEN];
	int64_t src;
	int err = 0;
	socklen_t len = sizeof(err);

	switch (c->state) {
	case C_CONNECTING:
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err) {
			conn_close(f, c);
			return;
		}
		c->state = C_HELLO;
		arm(f, c);
		return;
	case C_HELLO:
		if (hs_read(f, c, HS_HELLO_LEN) != 1)
			return;
		if (hs_auth(c->hs, f->cfg.rank, c->peer,
			    f->cards[c->peer].secret, c->challenge, out) < 0 ||
		    hs_write(c->fd, out, HS_AUTH_LEN) < 0) {
			conn_close(f, c);
			return;
		}
		c->state = C_PROOF;
		c->hs_len = 0;
		return;
	case C_PROOF:
		if (hs_read(f, c, HS_PROOF_LEN) != 1)
			return;
		if (hs_check_proof(c->hs, f->cfg.rank, c->peer,
				   f->cards[c->peer].secret, c->challenge) < 0) {
			conn_close(f, c);
			return;
		}
		become_ready(f, c);
		return;
	case C_AUTH:
		if (hs_read(f, c, HS_AUTH_LEN) != 1)
			return;
		src = hs_check_auth(c->hs, f->cfg.rank, f->cfg.nranks,
				    f->cards[f->cfg.rank].secret, c->challenge,
				    out);
		if (src < 0 || hs_write(c->fd, out, HS_PROOF_LEN) < 0) {
			conn_close(f, c); /* not of this step: refused */
			return;
		}
		c->peer = (uint32_t)src;
		become_ready(f, c);
		return;
	case C_READY:
		return;
	}
}

static void accept_conns(struct fabric *f, int lfd)
{
	uint8_t hello[HS_HELLO_LEN];
	struct conn *c;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (f->nhandshakes >= MAX_HANDSHAKES) {
			close(fd);
			continue;
		}
		if (lfd == f->tcp_fd)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		c = conn_new(f, fd, 0, 0);
		if (!c) {
			close(fd);
			continue;
		}
		f->nhandshakes++;
		c->state = C_AUTH;
		c->reading = 1;
		if (hs_hello(f->cfg.rank, c->challenge, hello) < 0 ||
		    hs_write(fd, hello, sizeof(hello)) < 0 ||
		    watch(f, EPOLL_CTL_ADD, fd, &c->ref, EPOLLIN) < 0)
			conn_close(f, c);
	}
}

/* Closes handshakes that take too long: a stray client cannot hold a
 * slot forever. */
static void expire_handshakes(struct fabric *f)
{
	long limit = now_ms() - HANDSHAKE_TIMEOUT_MS;
	struct conn *c = f->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->state != C_READY && c->started_ms < limit)
			conn_close(f, c);
	}
}

static void write_guest(struct fabric *f)
{
	struct conn *c;

	if (queue_flush(&f->guest_q, f->guest_fd) < 0)
		f->guest_q.head = f->guest_q.tail = 0; /* QEMU is gone */
	if (f->peers_blocked && queue_len(&f->guest_q) < GUEST_QUEUE / 2) {
		f->peers_blocked = 0;
		for (c = f->conns; c; c = c->next)
			if (c->state == C_READY && !c->reading) {
				c->reading = 1;
				arm(f, c);
				read_frames(f, c);
				if (f->peers_blocked)
					break;
			}
	}
}

static void conn_event(struct fabric *f, struct conn *c, uint32_t events)
{
	struct peer *pr;

	if (c->state != C_READY) {
		handshake(f, c, events);
		return;
	}
	pr = &f->peers[c->peer];
	if ((events & EPOLLOUT) && pr->tx == c)
		flush_peer(f, pr);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_frames(f, c);
	/* Hand the frames over now rather than after another epoll round. */
	if (queue_len(&f->guest_q))
		write_guest(f);
}

static void *loop(void *arg)
{
	struct fabric *f = arg;
	struct epoll_event ev[64];

	for (;;) {
		int i, n, timeout = f->nhandshakes ? 1000 : -1;

		n = epoll_wait(f->epfd, ev, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			struct ref *ref = ev[i].data.ptr;

			switch (ref->kind) {
			case REF_STOP:
				return NULL;
			case REF_GUEST:
				if (ev[i].events & EPOLLOUT)
					write_guest(f);
				if (ev[i].events & (EPOLLIN | EPOLLHUP))
					read_guest(f);
				guest_arm(f);
				break;
			case REF_LISTEN:
				accept_conns(f, f->tcp_fd);
				accept_conns(f, f->unix_fd);
				break;
			case REF_CONN:
				conn_event(f, (struct conn *)ref,
					   ev[i].events);
				guest_arm(f);
				break;
			}
		}
		if (f->nhandshakes)
			expire_handshakes(f);
		/* A queue may have drained (a flush, a finished handshake):
		 * the guest's waiting frame goes on, and reading resumes. */
		if (f->pending) {
			from_guest(f);
			flush_all(f);
			guest_arm(f);
		}
	}
	return NULL;
}

int fabric_start(struct fabric *f, char *err, size_t errlen)
{
	int r;

	f->guest_ref.kind = REF_GUEST;
	f->listen_ref.kind = REF_LISTEN;
	f->stop_ref.kind = REF_STOP;
	f->guest_reading = 1;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fcntl(f->guest_fd, F_SETFL, O_NONBLOCK);
	if (f->epfd < 0 || f->stop_fd < 0 ||
	    watch(f, EPOLL_CTL_ADD, f->guest_fd, &f->guest_ref, EPOLLIN) ||
	    watch(f, EPOLL_CTL_ADD, f->tcp_fd, &f->listen_ref, EPOLLIN) ||
	    watch(f, EPOLL_CTL_ADD, f->unix_fd, &f->listen_ref, EPOLLIN) ||
	    watch(f, EPOLL_CTL_ADD, f->stop_fd, &f->stop_ref, EPOLLIN)) {
		snprintf(err, errlen, "fabric: epoll: %s", strerror(errno));
		return -errno;
	}
	r = pthread_create(&f->thread, NULL, loop, f);
	if (r) {
		snprintf(err, errlen, "fabric: thread: %s", strerror(r));
		return -r;
	}
	f->running = 1;
	return 0;
}

void fabric_stop(struct fabric *f)
{
	uint64_t one = 1;

	if (!f || !f->running)
		return;
	if (write(f->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(f->thread, NULL);
	f->running = 0;
}

void fabric_destroy(struct fabric *f)
{
	uint32_t r;

	if (!f)
		return;
	fabric_stop(f);
	while (f->conns)
		conn_close(f, f->conns);
	for (r = 0; f->peers && r < f->cfg.nranks; r++)
		queue_free(&f->peers[r].q);
	boot_finalize();
	if (f->epfd >= 0)
		close(f->epfd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	if (f->tcp_fd >= 0)
		close(f->tcp_fd);
	if (f->unix_fd >= 0)
		close(f->unix_fd);
	close(f->guest_fd);
	queue_free(&f->guest_q);
	free(f->guest_rx);
	free(f->peers);
	free(f->cards);
	free(f);
}
