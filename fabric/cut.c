/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's part in a collective snapshot: messages between launchers,
 * and the cut.
 *
 * The launcher's thread asks (fabric_hold, fabric_cut, ...) and waits on a
 * condition variable; the fabric's thread does the work between its other
 * events and answers. A cut is a marker protocol: once a guest is paused,
 * its fabric sends everything the guest sent, then a MARKER, on every
 * connection, and waits for every connection's MARKER. Connections are
 * FIFO, so then nothing sent before the cut is still on the wire: it is
 * in this fabric's held queue for the guest, saved with the snapshot.
 * No frame can follow a marker before the snapshot ends, because every
 * guest stays paused until the coordinator's DONE or ABORT.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "fabric/fabric_int.h"

#define CUT_POLL_MS 5

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* an eventfd only fails when its counter would overflow */
	}
}

static int ring_put(struct msg_ring *r, const struct fabric_msg *m)
{
	if (r->tail - r->head == MSG_RING)
		return -EAGAIN;
	r->m[r->tail++ % MSG_RING] = *m;
	return 0;
}

static int ring_get(struct msg_ring *r, struct fabric_msg *m)
{
	if (r->head == r->tail)
		return 0;
	*m = r->m[r->head++ % MSG_RING];
	return 1;
}

static void inbox_put(struct fabric *f, const struct fabric_msg *m)
{
	pthread_mutex_lock(&f->mu);
	ring_put(&f->inbox, m);
	pthread_mutex_unlock(&f->mu);
	wake(f->event_fd);
}

int fabric_events_fd(const struct fabric *f)
{
	return f->event_fd;
}

int fabric_send(struct fabric *f, uint32_t rank, uint8_t type, uint32_t seq,
		uint32_t arg)
{
	struct fabric_msg m = {
	    .from = rank, .type = type, .seq = seq, .arg = arg};
	int r;

	if (rank == f->cfg.rank) {
		inbox_put(f, &m);
		return 0;
	}
	pthread_mutex_lock(&f->mu);
	r = ring_put(&f->outbox, &m);
	pthread_mutex_unlock(&f->mu);
	wake(f->cmd_fd);
	return r;
}

int fabric_recv(struct fabric *f, struct fabric_msg *m)
{
	uint64_t n;
	int r;

	if (read(f->event_fd, &n, sizeof(n)) < 0) {
		/* nothing signalled: messages may still wait */
	}
	pthread_mutex_lock(&f->mu);
	r = ring_get(&f->inbox, m);
	pthread_mutex_unlock(&f->mu);
	return r;
}

static long now_ms(void)
{
	return fabric_now_ms();
}

/* Hands a request to the fabric's thread and waits for its answer. */
static int request(struct fabric *f, enum cut_req req, int fd, int timeout_ms,
		   char *err, size_t errlen)
{
	struct timespec until;
	int r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000 + 2;
	pthread_mutex_lock(&f->mu);
	f->req = req;
	f->req_fd = fd;
	f->req_done = 0;
	f->cut_err[0] = 0;
	f->cut_deadline = now_ms() + timeout_ms;
	pthread_mutex_unlock(&f->mu);
	wake(f->cmd_fd);
	pthread_mutex_lock(&f->mu);
	while (!f->req_done &&
	       pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	if (f->req_done) {
		r = f->req_result;
	} else {
		r = -ETIMEDOUT;
		snprintf(f->cut_err, sizeof(f->cut_err),
			 "the fabric did not answer");
	}
	f->req = CUT_NONE;
	if (err && r < 0)
		snprintf(err, errlen, "%s", f->cut_err);
	pthread_mutex_unlock(&f->mu);
	return r;
}

int fabric_hold(struct fabric *f, int timeout_ms, char *err, size_t errlen)
{
	return request(f, CUT_HOLD, -1, timeout_ms, err, errlen);
}

int fabric_cut(struct fabric *f, uint32_t seq, int timeout_ms, char *err,
	       size_t errlen)
{
	pthread_mutex_lock(&f->mu);
	f->cut_seq = seq;
	pthread_mutex_unlock(&f->mu);
	return request(f, CUT_CUT, -1, timeout_ms, err, errlen);
}

int fabric_save_frames(struct fabric *f, int fd, uint64_t *bytes)
{
	int r = request(f, CUT_SAVE, fd, 60000, NULL, 0);

	*bytes = f->req_bytes;
	return r;
}

void fabric_release(struct fabric *f)
{
	request(f, CUT_RELEASE, -1, 5000, NULL, 0);
}

int fabric_load_frames(struct fabric *f, int fd)
{
	uint8_t buf[64 * 1024];
	const uint8_t *frame;
	size_t len;
	ssize_t n;
	int used;

	/* Whole framed frames only, each checked: the file is the user's. */
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		fabric_rx_feed(f->guest_rx, buf, (size_t)n);
		while ((used = fabric_rx_next(f->guest_rx, &frame, &len)) ==
		       1) {
			if (queue_grow(&f->guest_q, len) < 0)
				return -ENOMEM;
			queue_put(&f->guest_q, frame, len);
		}
		if (used < 0)
			return -EPROTO;
	}
}

/* Fabric thread. */

static void finish(struct fabric *f, int result, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->mu);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(f->cut_err, sizeof(f->cut_err), fmt, ap);
		va_end(ap);
	}
	f->req_result = result;
	f->req_done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int cut_queue_ctl(struct fabric *f, struct peer *pr, uint8_t type, uint32_t seq,
		  uint32_t arg)
{
	struct fabric_ctl ctl = {.type = type, .seq = seq, .arg = arg};
	uint8_t rec[FABRIC_CTL_LEN];

	(void)f;
	if (!queue_room_raw(&pr->q, sizeof(rec)) &&
	    queue_grow(&pr->q, sizeof(rec)) < 0)
		return -ENOSPC;
	fabric_ctl_pack(&ctl, rec);
	queue_put_raw(&pr->q, rec, sizeof(rec));
	return 0;
}

void cut_on_ctl(struct fabric *f, struct conn *c, const struct fabric_ctl *ctl)
{
	struct fabric_msg m = {.from = c->peer,
			       .type = ctl->type,
			       .seq = ctl->seq,
			       .arg = ctl->arg};

	if (ctl->type == FABRIC_CTL_MARKER)
		c->marker = ctl->seq;
	else
		inbox_put(f, &m);
}

int fabric_rank_lost(const struct fabric *f, uint32_t rank)
{
	return rank < f->cfg.nranks &&
	       __atomic_load_n(&f->peers[rank].lost, __ATOMIC_RELAXED);
}

void cut_lost(struct fabric *f, uint32_t rank)
{
	struct fabric_msg m = {.from = rank, .type = FABRIC_MSG_LOST};

	if (f->peers[rank].lost)
		return;
	__atomic_store_n(&f->peers[rank].lost, 1, __ATOMIC_RELAXED);
	inbox_put(f, &m);
}

/* Messages the launcher wants sent go on the peers' queues. */
static void send_outbox(struct fabric *f)
{
	struct fabric_msg m;

	for (;;) {
		struct peer *pr;
		int got;

		pthread_mutex_lock(&f->mu);
		got = ring_get(&f->outbox, &m);
		pthread_mutex_unlock(&f->mu);
		if (!got)
			return;
		pr = link_peer(f, m.from);
		if (!pr || cut_queue_ctl(f, pr, m.type, m.seq, m.arg) < 0) {
			cut_lost(f, m.from);
			continue;
		}
		link_flush(f, pr);
	}
}

/* Bytes written to QEMU that it has not read yet. */
static int guest_unread(struct fabric *f)
{
	int n = 0;

	return ioctl(f->guest_fd, SIOCOUTQ, &n) < 0 ? 0 : n;
}

/* A marker on every ready connection: queued behind the frames on the one
 * that carries our frames to a peer, written straight on the others (they
 * carry nothing of ours). */
static int send_markers(struct fabric *f, uint32_t seq)
{
	struct fabric_ctl ctl = {.type = FABRIC_CTL_MARKER, .seq = seq};
	uint8_t rec[FABRIC_CTL_LEN];
	struct conn *c, *next;

	fabric_ctl_pack(&ctl, rec);
	for (c = f->conns; c; c = next) {
		struct peer *pr = &f->peers[c->peer];

		next = c->next;
		if (c->state != C_READY)
			continue;
		if (pr->tx == c) {
			if (cut_queue_ctl(f, pr, FABRIC_CTL_MARKER, seq, 0) < 0)
				return -ENOSPC;
			link_flush(f, pr);
		} else if (c->v) {
			return -EOPNOTSUPP;
		} else if (write(c->fd, rec, sizeof(rec)) != sizeof(rec)) {
			link_close(f, c);
		}
	}
	return 0;
}

/* True when everything the guest sent has left this fabric. */
static int all_sent(struct fabric *f)
{
	uint32_t r;

	if (f->pending)
		return 0;
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = &f->peers[r];

		if (pr->gone || !pr->q.buf || !queue_len(&pr->q))
			continue;
		link_flush(f, pr);
		if (queue_len(&pr->q))
			return 0;
	}
	return 1;
}

/* The rank of a ready connection whose marker has not come, or -1. */
static long waiting_marker(struct fabric *f, uint32_t seq)
{
	struct conn *c;

	for (c = f->conns; c; c = c->next)
		if (c->state == C_READY && c->marker != seq)
			return c->peer;
	return -1;
}

static void do_cut(struct fabric *f, uint32_t seq)
{
	long r;

	if (!f->cut_flushed) {
		fabric_drain_guest(f);
		if (!all_sent(f))
			return;
		r = send_markers(f, seq);
		if (r == -EOPNOTSUPP) {
			finish(f, -EOPNOTSUPP,
			       "snapshots need --vm-fabric=auto or tcp");
			return;
		}
		if (r < 0) {
			finish(f, (int)r, "out of memory for a marker");
			return;
		}
		f->cut_flushed = 1;
	}
	r = waiting_marker(f, seq);
	if (r < 0)
		finish(f, 0, NULL);
}

static void do_save(struct fabric *f, int fd)
{
	size_t off = f->guest_q.head;
	ssize_t n;

	f->req_bytes = queue_len(&f->guest_q);
	while (off < f->guest_q.tail) {
		n = write(fd, f->guest_q.buf + off, f->guest_q.tail - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			finish(f, n < 0 ? -errno : -EIO,
			       "writing the frames in flight: %s",
			       strerror(n < 0 ? errno : EIO));
			return;
		}
		off += (size_t)n;
	}
	finish(f, 0, NULL);
}

void cut_progress(struct fabric *f)
{
	enum cut_req req;
	uint32_t seq;
	long late;
	int fd;

	send_outbox(f);
	pthread_mutex_lock(&f->mu);
	req = f->req_done ? CUT_NONE : f->req;
	seq = f->cut_seq;
	fd = f->req_fd;
	late = now_ms() - f->cut_deadline;
	pthread_mutex_unlock(&f->mu);
	if (req == CUT_NONE)
		return;
	if (late > 0 && req != CUT_RELEASE && req != CUT_SAVE) {
		long lag = waiting_marker(f, seq);

		if (req == CUT_HOLD)
			finish(f, -ETIMEDOUT,
			       "the guest did not take the frames already "
			       "sent to it (%d bytes)",
			       guest_unread(f));
		else if (lag >= 0)
			finish(f, -ETIMEDOUT,
			       "no marker from rank %ld: its launcher did not "
			       "pause",
			       lag);
		else
			finish(
			    f, -ETIMEDOUT,
			    "the frames of this guest could not all be sent");
		return;
	}
	switch (req) {
	case CUT_HOLD:
		f->held = 1;
		if (!guest_unread(f))
			finish(f, 0, NULL);
		break;
	case CUT_CUT:
		do_cut(f, seq);
		break;
	case CUT_SAVE:
		do_save(f, fd);
		break;
	case CUT_RELEASE:
		f->held = 0;
		f->cut_flushed = 0;
		fabric_guest_arm(f);
		finish(f, 0, NULL);
		break;
	case CUT_NONE:
		break;
	}
}

int cut_timeout(const struct fabric *f)
{
	/* Racy read on purpose: a request just made wakes cmd_fd anyway. */
	return f->req != CUT_NONE && !f->req_done ? CUT_POLL_MS : -1;
}
