/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's side of the fabric: what QEMU's stream socket brings is
 * routed (answered here, queued for peers, or dropped and counted), and
 * what peers send is queued for the guest (fabric.c has the theory of
 * operation).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fabric/arp.h"
#include "fabric/dhcp.h"
#include "fabric/dns.h"
#include "fabric/fabric.h"
#include "fabric/fabric_int.h"
#include "fabric/frame.h"
#include "fabric/queue.h"
#include "fabric/route.h"

void fabric_guest_arm(struct fabric *f)
{
	uint32_t ev = f->guest_reading ? EPOLLIN : 0;

	if (queue_len(&f->guest_q) && !f->held)
		ev |= EPOLLOUT;
	fabric_rearm(f, f->guest_fd, &f->guest_ref, ev);
}

/* Queues a frame for the guest. Returns 0, or -ENOSPC when full. */
int fabric_to_guest(struct fabric *f, const uint8_t *frame, size_t len)
{
	/* Held for a snapshot, what is in flight is kept whatever its size:
	 * the senders are paused, so it is bounded by their queues. */
	if (!queue_room(&f->guest_q, len) &&
	    (!f->held || queue_grow(&f->guest_q, len) < 0))
		return -ENOSPC;
	queue_put(&f->guest_q, frame, len);
	fabric_stats_deliver(&f->stats, len);
	if (f->pcap)
		fabric_pcap_frame(f->pcap, frame, len);
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
		fabric_to_guest(f, out, (size_t)n);
}

/*
 * Sends the run straight from the guest's receive buffer; what the socket
 * does not take now goes into the peer's queue (empty when the run began,
 * and the run is never longer than the queue) and waits for EPOLLOUT.
 */
static void run_send(struct fabric *f)
{
	struct peer *pr = f->run.pr;
	ssize_t n;

	if (!pr)
		return;
	f->run.pr = NULL;
	do
		n = write(pr->tx->fd, f->run.start, f->run.len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		link_close(f, pr->tx);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n < f->run.len) {
		queue_put_raw(&pr->q, f->run.start + n, f->run.len - (size_t)n);
		link_arm(f, pr->tx);
	}
}

/*
 * Adds a unicast frame for pr to the run, when it can be: pr's stream
 * connection is ready and its queue empty, and the frame follows the run
 * in the buffer. Returns 1 when taken, 0 when the frame must be queued
 * (the run has been sent first, so frames stay in order).
 */
static int run_take(struct fabric *f, struct peer *pr, const uint8_t *frame,
		    size_t len)
{
	const uint8_t *hdr = frame - FABRIC_LEN_HDR;

	if (f->run.pr && (f->run.pr != pr || f->run.start + f->run.len != hdr ||
			  f->run.len + FABRIC_LEN_HDR + len > pr->q.cap))
		run_send(f);
	if (!f->run.pr) {
		if (!pr->tx || pr->tx->state != C_READY || pr->tx->v ||
		    queue_len(&pr->q))
			return 0;
		f->run.pr = pr;
		f->run.start = hdr;
		f->run.len = 0;
	}
	f->run.len += FABRIC_LEN_HDR + len;
	return 1;
}

/*
 * Whether a full queue for pr holds its sender back: over a link that is
 * up (the receiver's back-pressure) or being made for the first time (the
 * frames that open a link wait for it).
 */
static int pushes_back(const struct peer *pr)
{
	return pr->tx && (pr->tx->state == C_READY || !pr->failures);
}

/*
 * A frame for pr finds its queue full. Where pr pushes back, the frame
 * waits (-EAGAIN) and the guest is not read meanwhile. Once a link to pr
 * has failed, waiting could stop the guest's whole network for a peer
 * that may never come back: until a link is up again, the frame is
 * dropped and counted instead (returns 0).
 */
static int unsent(struct fabric *f, const struct peer *pr, size_t len)
{
	if (pushes_back(pr))
		return -EAGAIN;
	f->stats.lost_frames++;
	f->stats.lost_bytes += len;
	return 0;
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
		struct peer *pr = link_peer(f, dst);

		if (!pr) {
			f->stats.drops[FABRIC_DROP_NO_RANK]++;
			return 0;
		}
		if (run_take(f, pr, frame, len))
			return 0;
		if (pr->gone) { /* sending the run failed: as link_peer() */
			f->stats.drops[FABRIC_DROP_NO_RANK]++;
			return 0;
		}
		if (!queue_room(&pr->q, len))
			return unsent(f, pr, len);
		queue_put(&pr->q, frame, len);
		return 0;
	}
	/* Broadcast: all queues that push back must have room, or none is
	 * used, so a retry never delivers twice. */
	run_send(f);
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = r == f->cfg.rank ? NULL : link_peer(f, r);

		if (pr && !queue_room(&pr->q, len) && pushes_back(pr))
			return -EAGAIN;
	}
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = &f->peers[r];

		if (r == f->cfg.rank || pr->gone || !pr->q.buf)
			continue;
		if (queue_room(&pr->q, len))
			queue_put(&pr->q, frame, len);
		else
			unsent(f, pr, len);
	}
	return 0;
}

static void flush_all(struct fabric *f)
{
	uint32_t r;

	for (r = 0; r < f->cfg.nranks; r++)
		if (f->peers[r].q.buf && queue_len(&f->peers[r].q))
			link_flush(f, &f->peers[r]);
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

void fabric_route_guest(struct fabric *f)
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
		int action =
		    fabric_route(frame, len, f->cfg.rank, f->cfg.nranks, &dst);

		if (f->pcap) /* what the guest sent, kept or not */
			fabric_pcap_frame(f->pcap, frame, len);

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
	run_send(f); /* before the buffer it points into moves */
	/*
	 * Send the batch. Not while a frame waits: a flush that empties the
	 * queue it waits for would disarm EPOLLOUT, and with it the only
	 * event that retries the frame. forward_or_flush() has flushed.
	 */
	if (!f->pending)
		flush_all(f);
	if (r < 0) { /* QEMU broke the stream: nothing sane can follow */
		f->guest_reading = 0;
		return;
	}
	f->guest_reading = !f->pending;
}

void fabric_read_guest(struct fabric *f)
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
	fabric_route_guest(f);
}

void fabric_drain_guest(struct fabric *f)
{
	while (f->guest_reading && !f->pending) {
		size_t room;
		uint8_t *p = fabric_rx_space(f->guest_rx, &room);
		ssize_t n = read(f->guest_fd, p, room);

		if (n <= 0)
			return;
		fabric_rx_commit(f->guest_rx, (size_t)n);
		fabric_route_guest(f);
	}
}

void fabric_write_guest(struct fabric *f)
{
	struct conn *c, *next;

	if (f->held)
		return;
	if (queue_flush(&f->guest_q, f->guest_fd) < 0)
		f->guest_q.head = f->guest_q.tail = 0; /* QEMU is gone */
	if (f->peers_blocked && queue_len(&f->guest_q) < GUEST_QUEUE / 2) {
		f->peers_blocked = 0;
		/* link_read() may close c: keep its successor first. */
		for (c = f->conns; c; c = next) {
			next = c->next;
			if (c->state == C_READY && !c->reading) {
				c->reading = 1;
				link_arm(f, c);
				link_read(f, c);
				if (f->peers_blocked)
					break;
			}
		}
	}
}
