/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A connection's verbs side (verbs.h has the transport itself).
 *
 * After the TCP handshake has proved the peer is of this step, each side
 * creates a queue pair and sends its card (C_VERBS). When the peer's card
 * arrives the queue pair is connected and the first credit grant (all
 * receive slots) goes out; the connection is then READY. From then on
 * frames go over the queue pair, and the TCP connection carries only
 * 4-byte credit grants one way and the other, and its close when a
 * launcher ends.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fabric/be.h"
#include "fabric/fabric_int.h"
#include "fabric/verbs.h"

int link_verbs_wanted(struct fabric *f, struct conn *c)
{
	return f->verbs && !c->is_local;
}

void link_verbs_begin(struct fabric *f, struct conn *c)
{
	struct vlink_card mine;
	uint8_t out[VLINK_CARD_LEN];

	c->v = vlink_new(f->verbs, &mine);
	if (!c->v) {
		link_close(f, c);
		return;
	}
	c->vref.kind = REF_VERBS;
	vlink_card_pack(&mine, out);
	if (fabric_watch(f, EPOLL_CTL_ADD, vlink_fd(c->v), &c->vref, EPOLLIN) <
		0 ||
	    link_hs_write(c->fd, out, sizeof(out)) < 0) {
		link_close(f, c);
		return;
	}
	c->state = C_VERBS;
	c->hs_len = 0;
	c->reading = 1;
	link_arm(f, c);
}

static int send_grant(struct conn *c, uint32_t n)
{
	uint8_t msg[4];

	fabric_put_be32(msg, n);
	return link_hs_write(c->fd, msg, sizeof(msg));
}

void link_verbs_card(struct fabric *f, struct conn *c)
{
	struct vlink_card peer;

	if (link_hs_read(f, c, VLINK_CARD_LEN) != 1)
		return;
	if (vlink_card_unpack(c->hs, &peer) < 0 ||
	    vlink_connect(c->v, &peer) < 0 || send_grant(c, VLINK_SLOTS) < 0) {
		link_close(f, c);
		return;
	}
	link_ready(f, c);
}

void link_verbs_control(struct fabric *f, struct conn *c)
{
	struct peer *pr = &f->peers[c->peer];
	uint8_t buf[256];
	ssize_t n, i;

	n = read(c->fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		link_close(f, c); /* the peer's launcher is gone */
		return;
	}
	for (i = 0; i < n; i++) {
		c->grant[c->grant_len++] = buf[i];
		if (c->grant_len == sizeof(c->grant)) {
			vlink_credit(c->v, fabric_get_be32(c->grant));
			c->grant_len = 0;
		}
	}
	if (pr->tx == c)
		link_flush(f, pr);
}

void link_verbs_event(struct fabric *f, struct conn *c)
{
	struct peer *pr = &f->peers[c->peer];

	if (vlink_poll(c->v) < 0) {
		link_close(f, c);
		return;
	}
	if (c->state != C_READY)
		return;
	if (pr->tx == c)
		link_flush(f, pr); /* send slots came free */
	if (c->ref.kind == REF_CONN && c->reading)
		link_read(f, c);
	if (queue_len(&f->guest_q))
		fabric_write_guest(f);
}

long link_verbs_recv(struct fabric *f, struct conn *c)
{
	uint32_t grant = 0;
	long n = vlink_recv(c->v, c->rx, &grant);

	if (n >= 0 && grant >= VLINK_CREDIT_BATCH) {
		if (send_grant(c, grant) < 0)
			n = -EIO;
		else
			vlink_granted(c->v, grant);
	}
	if (n < 0) {
		link_close(f, c);
		return -1;
	}
	return n;
}

int link_verbs_flush(struct fabric *f, struct peer *pr)
{
	(void)f;
	return vlink_send(pr->tx->v, &pr->q) < 0 ? -1 : 0;
}

void link_verbs_free(struct conn *c)
{
	vlink_free(c->v);
	c->v = NULL;
}
