/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connections between the launchers of a step, made on first use.
 *
 * Lifecycle of a connection. Outgoing: CONNECTING (non-blocking connect:
 * the node-local shortcut or TCP), HELLO (wait for the acceptor's
 * challenge, answer with AUTH), PROOF (check the acceptor's proof, send
 * CONFIRM), READY. Incoming: AUTH (after sending HELLO, wait for the
 * connector's AUTH and answer with PROOF), CONFIRM (wait for the
 * connector to say it took the proof: only then may frames of ours go on
 * it), READY. A connector that gives up before CONFIRM thus never leaves
 * frames of ours unread on a socket it closed.
 *
 * Healing. An outgoing connection that fails (refused, out of descriptors,
 * a handshake that errs or takes longer than HANDSHAKE_TIMEOUT_MS) leaves
 * its frames queued and is tried again after a backoff (RETRY_*); a ready
 * connection that closes loses what was queued on it (its stream may have
 * stopped inside a frame: counted), and the next frame opens a new one.
 * Only a peer unreachable for GIVE_UP_MS (for reasons not ours) is given
 * up on, until it connects itself. The accepting side is listen.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fabric/addr.h"
#include "fabric/fabric_int.h"
#include "fabric/stats.h"

/* A random factor from 0.75 to 1.25, so that peers that failed together
 * do not all come back at once. */
static long jitter(long ms)
{
	uint16_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint16_t)fabric_now_ms();
	return ms * 3 / 4 + (long)((uint64_t)ms * r / (2 * 65536));
}

long link_backoff_ms(unsigned failures)
{
	long ms = RETRY_FIRST_MS;

	while (failures-- > 1 && ms < RETRY_MAX_MS)
		ms *= 2;
	return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

/* Drops what pr's queue holds, counted: its connection is gone. */
static void discard_queue(struct fabric *f, struct peer *pr)
{
	f->stats.lost_bytes += queue_len(&pr->q);
	pr->q.head = pr->q.tail = 0;
}

/* An attempt to reach pr failed: wait and try again, or give up. Not for
 * a failure of ours (out of descriptors): that says nothing of the peer. */
static void link_failed(struct fabric *f, struct peer *pr, int ours)
{
	long now = fabric_now_ms();

	f->stats.link_failures++;
	pr->tx = NULL;
	if (!pr->failures++ || ours)
		pr->failing_since_ms = now;
	if (now - pr->failing_since_ms >= GIVE_UP_MS) {
		pr->gone = 1;
		discard_queue(f, pr);
		if (pr->retry_ms)
			f->nretry--;
		pr->retry_ms = 0;
		return;
	}
	if (!pr->retry_ms)
		f->nretry++;
	pr->retry_ms = now + jitter(link_backoff_ms(pr->failures));
}

void link_close(struct fabric *f, struct conn *c)
{
	struct conn **p;

	for (p = &f->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->state != C_READY)
		f->npending--;
	if (!c->outgoing && c->state == C_AUTH)
		f->nhandshakes--;
	if (c->state == C_READY || c->outgoing) {
		struct peer *pr = &f->peers[c->peer];

		if (pr->tx == c && c->state == C_READY) {
			/* Its launcher may be gone, or only this socket:
			 * the next frame for it connects again. */
			pr->tx = NULL;
			f->stats.links_lost++;
			discard_queue(f, pr);
		} else if (pr->tx == c) {
			link_failed(f, pr, 0);
		}
	}
	if (c->state == C_READY)
		cut_lost(f, c->peer);
	close(c->fd);
	if (c->v)
		link_verbs_free(c);
	/* Events of this epoll round may still name c: free it after. */
	c->ref.kind = c->vref.kind = REF_DEAD;
	c->next = f->dead;
	f->dead = c;
}

void link_reap(struct fabric *f)
{
	while (f->dead) {
		struct conn *c = f->dead;

		f->dead = c->next;
		free(c->rx);
		free(c);
	}
}

/* The most a socket buffer may be set to (/proc/sys/net/core/NAME), or 0
 * when unknown. */
static long sysctl_max(const char *name)
{
	char path[64];
	long v = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/sys/net/core/%s", name);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	if (fscanf(fp, "%ld", &v) != 1)
		v = 0;
	fclose(fp);
	return v;
}

/*
 * A TCP link: frames go out as they come (no Nagle delay: the guests' own
 * stacks do their batching), and socket buffers of FABRIC_TCP_BUF where
 * the host allows that much. Left to autotuning, loopback-fast links start
 * small and split each batch into partial writes and more, smaller
 * segments; the kernel still bounds what a link holds, and the fabric's
 * queues stay bounded. Where the host caps buffers lower (net.core.wmem_max
 * or rmem_max), setting them would only cap them there and end autotuning,
 * so they are left alone.
 */
static void tcp_tune(int fd)
{
	static int allowed = -1;
	int one = 1, buf = FABRIC_TCP_BUF;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (allowed < 0)
		allowed = sysctl_max("wmem_max") >= FABRIC_TCP_BUF &&
			  sysctl_max("rmem_max") >= FABRIC_TCP_BUF;
	if (!allowed)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
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
	c->started_ms = fabric_now_ms();
	c->next = f->conns;
	f->conns = c;
	f->npending++;
	return c;
}

struct conn *conn_new_in(struct fabric *f, int fd, int is_local, uint32_t src)
{
	struct conn *c;

	if (!is_local)
		tcp_tune(fd);
	c = conn_new(f, fd, 0, 0);
	if (!c)
		return NULL;
	c->is_local = is_local;
	c->src = src;
	c->state = C_AUTH;
	c->reading = 1;
	f->nhandshakes++;
	return c;
}

static int peer_queue(struct peer *pr)
{
	return pr->q.buf ? 0 : queue_init(&pr->q, PEER_QUEUE);
}

/* Opens the connection to rank. NULL when it failed at once (the caller
 * counts it and waits to try again). */
static struct conn *connect_peer(struct fabric *f, uint32_t rank)
{
	const struct boot_card *card = &f->cards[rank];
	int same = strcmp(f->cfg.transport, "tcp") &&
		   !strcmp(card->node, f->cards[f->cfg.rank].node);
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *c;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (same) {
		fabric_unix_name(&f->cfg, rank, card->tag,
				 (struct sockaddr_un *)&ss, &len);
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
		tcp_tune(fd);
	/* A unix socket says EAGAIN when the listener's backlog is full:
	 * not connected, so not in progress either; retried. */
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    (errno != EINPROGRESS || same)) {
		close(fd);
		return NULL;
	}
	c = conn_new(f, fd, 1, rank);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->is_local = same;
	c->state = C_CONNECTING;
	if (fabric_watch(f, EPOLL_CTL_ADD, fd, &c->ref, EPOLLIN | EPOLLOUT) <
	    0) {
		link_close(f, c);
		return NULL;
	}
	c->reading = 1;
	return c;
}

/* Connects to pr's rank now; a failure waits for the next try. */
static void connect_now(struct fabric *f, struct peer *pr, uint32_t rank)
{
	if (pr->retry_ms) {
		pr->retry_ms = 0;
		f->nretry--;
		f->stats.link_retries++;
	}
	pr->tx = connect_peer(f, rank);
	if (!pr->tx)
		link_failed(f, pr,
			    errno == EMFILE || errno == ENFILE ||
				errno == ENOBUFS || errno == ENOMEM);
}

/* Makes sure frames for rank can be queued, connecting on first use.
 * Returns the peer, or NULL when it is given up on. */
struct peer *link_peer(struct fabric *f, uint32_t rank)
{
	struct peer *pr = &f->peers[rank];

	if (pr->gone)
		return NULL;
	if (peer_queue(pr) < 0)
		return NULL;
	/* While it waits to try again, frames wait in its queue. */
	if (!pr->tx && (!pr->retry_ms || fabric_now_ms() >= pr->retry_ms))
		connect_now(f, pr, rank);
	return pr->gone ? NULL : pr;
}

void link_arm(struct fabric *f, struct conn *c)
{
	struct peer *pr = c->state == C_READY ? &f->peers[c->peer] : NULL;
	uint32_t ev = c->reading ? EPOLLIN : 0;

	if (c->v) /* only credits and hang-ups come this way: always read */
		ev = EPOLLIN;
	else if (c->state == C_CONNECTING ||
		 (pr && pr->tx == c && queue_len(&pr->q)))
		ev |= EPOLLOUT;
	fabric_rearm(f, c->fd, &c->ref, ev);
}

void link_flush(struct fabric *f, struct peer *pr)
{
	ssize_t left;

	if (!pr->tx || pr->tx->state != C_READY)
		return;
	if (pr->tx->v) {
		if (link_verbs_flush(f, pr) < 0)
			link_close(f, pr->tx);
		return;
	}
	left = queue_flush(&pr->q, pr->tx->fd);
	if (left < 0) {
		link_close(f, pr->tx);
		return;
	}
	link_arm(f, pr->tx);
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
	link_arm(f, c);
	f->peers_blocked = 1;
}

/* Takes the control records at the head of c's stream. Returns 0 when a
 * frame (or nothing) is next, -EAGAIN for a partial record, -EPROTO. */
static int take_ctl(struct fabric *f, struct conn *c)
{
	struct fabric_ctl ctl;
	int r;

	while ((r = fabric_rx_ctl(c->rx, &ctl)) == 1)
		cut_on_ctl(f, c, &ctl);
	return r;
}

void link_read(struct fabric *f, struct conn *c)
{
	const uint8_t *frame;
	size_t len, room;
	uint8_t *p;
	ssize_t n;
	int r, drained = 0;

	for (;;) {
		/* Deliver what is buffered before reading more. */
		while ((r = take_ctl(f, c)) == 0 &&
		       (r = fabric_rx_next(c->rx, &frame, &len)) == 1) {
			if (!frame_acceptable(f, c->peer, frame, len)) {
				f->stats.drops[FABRIC_DROP_BAD_SOURCE]++;
				continue;
			}
			if (fabric_to_guest(f, frame, len) < 0) {
				/* Put it back: rx keeps it for later. */
				c->rx->start -= FABRIC_LEN_HDR + len;
				block_peers(f, c);
				return;
			}
		}
		if (r < 0 && r != -EAGAIN) {
			link_close(f, c);
			return;
		}
		/* A short read drained the socket: the next one is left to
		 * epoll (level-triggered), not spent on an EAGAIN. */
		if (drained)
			return;
		if (c->v) {
			n = link_verbs_recv(f, c);
		} else {
			p = fabric_rx_space(c->rx, &room);
			n = read(c->fd, p, room);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				link_close(f, c);
				return;
			}
			if (n > 0)
				fabric_rx_commit(c->rx, (size_t)n);
			drained = n > 0 && (size_t)n < room;
		}
		if (n <= 0)
			return;
	}
}

int link_hs_read(struct fabric *f, struct conn *c, size_t want)
{
	ssize_t n = read(c->fd, c->hs + c->hs_len, want - c->hs_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		link_close(f, c);
		return -1;
	}
	if (n > 0)
		c->hs_len += (size_t)n;
	return c->hs_len == want;
}

int link_hs_write(int fd, const uint8_t *buf, size_t len)
{
	/* Handshake messages are tiny and go first on a fresh socket. */
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

void link_ready(struct fabric *f, struct conn *c)
{
	struct peer *pr = &f->peers[c->peer];

	if (c->state != C_VERBS && link_verbs_wanted(f, c)) {
		link_verbs_begin(f, c);
		return;
	}
	c->state = C_READY;
	c->hs_len = 0;
	f->npending--;
	f->stats.links[c->v	     ? FABRIC_LINK_VERBS
		       : c->is_local ? FABRIC_LINK_LOCAL
				     : FABRIC_LINK_TCP]++;
	c->rx = malloc(sizeof(*c->rx));
	if (!c->rx) {
		link_close(f, c);
		return;
	}
	fabric_rx_init(c->rx);
	/*
	 * The peer reached us while our own connection to it still waits for
	 * its first word (its listener is slow, resting, or out of
	 * descriptors): send on this one, which works, and drop ours, which
	 * has carried nothing yet (frames go out only on a ready link) and
	 * which the peer has not taken as a link (it answers AUTH only
	 * after its HELLO). Else a peer could finish with its frames for us
	 * still waiting on a connection we cannot take.
	 */
	if (!c->outgoing && pr->tx && pr->tx != c &&
	    (pr->tx->state == C_CONNECTING || pr->tx->state == C_HELLO)) {
		struct conn *ours = pr->tx;

		pr->tx = NULL;
		link_close(f, ours);
	}
	/* A peer given up on, or waiting to be tried again, that reached
	 * us is back: this connection carries its frames. */
	if (!pr->tx) {
		pr->tx = c;
		pr->gone = 0;
		if (pr->retry_ms)
			f->nretry--;
		pr->retry_ms = 0;
	}
	if (pr->tx == c)
		pr->failures = 0;
	if (pr->tx == c) {
		if (peer_queue(pr) < 0) {
			link_close(f, c);
			return;
		}
		link_flush(f, pr);
	}
	link_arm(f, c);
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
			link_close(f, c);
			return;
		}
		c->state = C_HELLO;
		link_arm(f, c);
		return;
	case C_HELLO:
		if (link_hs_read(f, c, HS_HELLO_LEN) != 1)
			return;
		if (hs_auth(c->hs, f->cfg.rank, c->peer,
			    f->cards[c->peer].secret, c->challenge, out) < 0 ||
		    link_hs_write(c->fd, out, HS_AUTH_LEN) < 0) {
			link_close(f, c);
			return;
		}
		c->state = C_PROOF;
		c->hs_len = 0;
		return;
	case C_PROOF:
		if (link_hs_read(f, c, HS_PROOF_LEN) != 1)
			return;
		if (hs_check_proof(c->hs, f->cfg.rank, c->peer,
				   f->cards[c->peer].secret,
				   c->challenge) < 0 ||
		    link_hs_write(c->fd, hs_confirm, HS_CONFIRM_LEN) < 0) {
			link_close(f, c);
			return;
		}
		link_ready(f, c);
		return;
	case C_AUTH:
		if (link_hs_read(f, c, HS_AUTH_LEN) != 1)
			return;
		src = hs_check_auth(c->hs, f->cfg.rank, f->cfg.nranks,
				    f->cards[f->cfg.rank].secret, c->challenge,
				    out);
		if (src < 0 || link_hs_write(c->fd, out, HS_PROOF_LEN) < 0) {
			link_close(f, c); /* not of this step: refused */
			return;
		}
		c->peer = (uint32_t)src;
		c->state = C_CONFIRM;
		c->hs_len = 0;
		f->nhandshakes--;
		return;
	case C_CONFIRM:
		if (link_hs_read(f, c, HS_CONFIRM_LEN) != 1)
			return;
		if (memcmp(c->hs, hs_confirm, HS_CONFIRM_LEN)) {
			link_close(f, c);
			return;
		}
		link_ready(f, c);
		return;
	case C_VERBS:
		link_verbs_card(f, c);
		return;
	case C_READY:
		return;
	}
}

void link_event(struct fabric *f, struct conn *c, uint32_t events)
{
	struct peer *pr;

	if (c->state != C_READY) {
		handshake(f, c, events);
		return;
	}
	if (c->v) {
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			link_verbs_control(f, c);
		return;
	}
	pr = &f->peers[c->peer];
	if ((events & EPOLLOUT) && pr->tx == c)
		link_flush(f, pr);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		link_read(f, c);
	/* Hand the frames over now rather than after another epoll round. */
	if (queue_len(&f->guest_q))
		fabric_write_guest(f);
}
