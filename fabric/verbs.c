/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <infiniband/verbs.h>

#include "fabric/be.h"
#include "fabric/verbs.h"

#define PORT 1
#define GRANT_BYTES 4

struct verbs_dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_port_attr port;
	int gid_index;
	union ibv_gid gid;
	char name[64];
};

struct vlink {
	struct verbs_dev *d;
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf; /* VLINK_SLOTS receive slots, then as many send slots */
	/* Receive: slots complete in the order they were posted. */
	long done[VLINK_SLOTS]; /* bytes in a completed slot, or -1 */
	unsigned rx_next;	/* the next slot to hand over */
	uint32_t owed;		/* credits not yet granted */
	/* Send: slots complete in the order they were posted too. */
	unsigned tx_next, tx_busy;
	uint32_t credits;
	uint32_t psn; /* our first send PSN, as in our card */
};

void vlink_card_pack(const struct vlink_card *c, uint8_t out[VLINK_CARD_LEN])
{
	memcpy(out, "SVQP", 4);
	fabric_put_be32(out + 4, c->qpn);
	fabric_put_be32(out + 8, c->psn);
	fabric_put_be16(out + 12, c->lid);
	out[14] = c->mtu;
	out[15] = c->is_global;
	memcpy(out + 16, c->gid, 16);
}

int vlink_card_unpack(const uint8_t in[VLINK_CARD_LEN], struct vlink_card *c)
{
	if (memcmp(in, "SVQP", 4))
		return -EPROTO;
	c->qpn = fabric_get_be32(in + 4);
	c->psn = fabric_get_be32(in + 8);
	c->lid = fabric_get_be16(in + 12);
	c->mtu = in[14];
	c->is_global = in[15];
	memcpy(c->gid, in + 16, 16);
	if (c->qpn > 0xffffff || c->psn > 0xffffff || c->is_global > 1 ||
	    c->mtu < IBV_MTU_256 || c->mtu > IBV_MTU_4096)
		return -EPROTO;
	return 0;
}

/* RoCE: prefer the GID that carries the netdev's IPv4 address (RoCE v2
 * over IPv4 is routable and what soft-RoCE uses), else the first set one. */
static int pick_gid(struct verbs_dev *d)
{
	static const uint8_t v4map[12] = {0, 0, 0, 0, 0,    0,
					  0, 0, 0, 0, 0xff, 0xff};
	union ibv_gid g;
	int i, first = -1;

	for (i = 0; i < d->port.gid_tbl_len; i++) {
		if (ibv_query_gid(d->ctx, PORT, i, &g))
			continue;
		if (!memcmp(g.raw, v4map, sizeof(v4map))) {
			d->gid_index = i;
			d->gid = g;
			return 0;
		}
		if (first < 0 &&
		    (g.global.subnet_prefix || g.global.interface_id)) {
			first = i;
			d->gid = g;
		}
	}
	d->gid_index = first;
	return first < 0 ? -ENODEV : 0;
}

static int try_device(struct ibv_device *dev, struct verbs_dev *d)
{
	d->ctx = ibv_open_device(dev);
	if (!d->ctx)
		return -ENODEV;
	if (ibv_query_port(d->ctx, PORT, &d->port) ||
	    d->port.state != IBV_PORT_ACTIVE ||
	    (d->port.link_layer == IBV_LINK_LAYER_ETHERNET &&
	     pick_gid(d) < 0)) {
		ibv_close_device(d->ctx);
		d->ctx = NULL;
		return -ENODEV;
	}
	snprintf(d->name, sizeof(d->name), "%s port %d",
		 ibv_get_device_name(dev), PORT);
	return 0;
}

int verbs_open(const char *name, struct verbs_dev **out, char *err,
	       size_t errlen)
{
	struct verbs_dev *d = calloc(1, sizeof(*d));
	struct ibv_device **list;
	int i, n = 0;

	if (!d) {
		snprintf(err, errlen, "verbs: out of memory");
		return -ENOMEM;
	}
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n && !d->ctx; i++)
		if (!name || !strcmp(name, ibv_get_device_name(list[i])))
			try_device(list[i], d);
	if (list)
		ibv_free_device_list(list);
	if (!d->ctx) {
		snprintf(err, errlen,
			 "verbs: %s%s%s on this node (%d device%s seen); use "
			 "--vm-fabric=auto or tcp here",
			 name ? "no RDMA device "
			      : "no RDMA device with an "
				"active port",
			 name ? name : "", name ? " with an active port" : "",
			 n, n == 1 ? "" : "s");
		free(d);
		return -ENODEV;
	}
	d->pd = ibv_alloc_pd(d->ctx);
	if (!d->pd) {
		snprintf(err, errlen,
			 "verbs: %s: cannot allocate a protection "
			 "domain",
			 d->name);
		ibv_close_device(d->ctx);
		free(d);
		return -EIO;
	}
	*out = d;
	return 0;
}

void verbs_close(struct verbs_dev *d)
{
	if (!d)
		return;
	ibv_dealloc_pd(d->pd);
	ibv_close_device(d->ctx);
	free(d);
}

const char *verbs_name(const struct verbs_dev *d)
{
	return d->name;
}

static int post_recv(struct vlink *v, unsigned slot)
{
	struct ibv_sge sge = {
	    .addr = (uintptr_t)(v->buf + (size_t)slot * VLINK_SLOT),
	    .length = VLINK_SLOT,
	    .lkey = v->mr->lkey,
	};
	struct ibv_recv_wr wr = {.wr_id = slot, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;

	v->done[slot] = -1;
	return ibv_post_recv(v->qp, &wr, &bad) ? -EIO : 0;
}

struct vlink *vlink_new(struct verbs_dev *d, struct vlink_card *mine)
{
	struct ibv_qp_init_attr init = {
	    .cap = {.max_send_wr = VLINK_SLOTS,
		    .max_recv_wr = VLINK_SLOTS,
		    .max_send_sge = 1,
		    .max_recv_sge = 1},
	    .qp_type = IBV_QPT_RC,
	};
	struct ibv_qp_attr attr = {
	    .qp_state = IBV_QPS_INIT,
	    .pkey_index = 0,
	    .port_num = PORT,
	};
	struct vlink *v = calloc(1, sizeof(*v));
	size_t size = 2 * (size_t)VLINK_SLOTS * VLINK_SLOT;
	uint32_t psn = 0;
	unsigned i;

	if (!v)
		return NULL;
	v->d = d;
	if (!(v->buf = malloc(size)) ||
	    !(v->mr =
		  ibv_reg_mr(d->pd, v->buf, size, IBV_ACCESS_LOCAL_WRITE)) ||
	    !(v->ch = ibv_create_comp_channel(d->ctx)) ||
	    fcntl(v->ch->fd, F_SETFL, O_NONBLOCK) < 0 ||
	    !(v->cq = ibv_create_cq(d->ctx, 2 * VLINK_SLOTS, v, v->ch, 0)) ||
	    ibv_req_notify_cq(v->cq, 0))
		goto fail;
	init.send_cq = init.recv_cq = v->cq;
	if (!(v->qp = ibv_create_qp(d->pd, &init)) ||
	    ibv_modify_qp(v->qp, &attr,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			      IBV_QP_ACCESS_FLAGS))
		goto fail;
	for (i = 0; i < VLINK_SLOTS; i++)
		if (post_recv(v, i) < 0)
			goto fail;
	if (getrandom(&psn, sizeof(psn), 0) != sizeof(psn))
		goto fail;
	memset(mine, 0, sizeof(*mine));
	mine->qpn = v->qp->qp_num;
	mine->psn = v->psn = psn & 0xffffff;
	mine->lid = d->port.lid;
	mine->mtu = (uint8_t)d->port.active_mtu;
	mine->is_global = d->port.link_layer == IBV_LINK_LAYER_ETHERNET;
	memcpy(mine->gid, d->gid.raw, sizeof(mine->gid));
	return v;
fail:
	if (!errno)
		errno = EIO;
	vlink_free(v);
	return NULL;
}

int vlink_connect(struct vlink *v, const struct vlink_card *peer)
{
	struct ibv_qp_attr a = {
	    .qp_state = IBV_QPS_RTR,
	    .path_mtu = peer->mtu < v->d->port.active_mtu
			    ? (enum ibv_mtu)peer->mtu
			    : v->d->port.active_mtu,
	    .dest_qp_num = peer->qpn,
	    .rq_psn = peer->psn,
	    .max_dest_rd_atomic = 1,
	    .min_rnr_timer = 12,
	    .ah_attr = {.dlid = peer->lid, .port_num = PORT},
	};

	if (peer->is_global) {
		a.ah_attr.is_global = 1;
		memcpy(a.ah_attr.grh.dgid.raw, peer->gid, 16);
		a.ah_attr.grh.sgid_index = (uint8_t)v->d->gid_index;
		a.ah_attr.grh.hop_limit = 64;
	}
	if (ibv_modify_qp(v->qp, &a,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		return -EIO;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14; /* 4.096 us * 2^14: about 67 ms */
	a.retry_cnt = 7;
	a.rnr_retry = 7; /* credits make RNR impossible; retry anyway */
	a.sq_psn = v->psn;
	a.max_rd_atomic = 1;
	if (ibv_modify_qp(v->qp, &a,
			  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			      IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			      IBV_QP_MAX_QP_RD_ATOMIC))
		return -EIO;
	return 0;
}

void vlink_free(struct vlink *v)
{
	if (!v)
		return;
	if (v->qp)
		ibv_destroy_qp(v->qp);
	if (v->cq)
		ibv_destroy_cq(v->cq);
	if (v->ch)
		ibv_destroy_comp_channel(v->ch);
	if (v->mr)
		ibv_dereg_mr(v->mr);
	free(v->buf);
	free(v);
}

int vlink_fd(const struct vlink *v)
{
	return v->ch->fd;
}

int vlink_poll(struct vlink *v)
{
	struct ibv_wc wc[2 * VLINK_SLOTS];
	struct ibv_cq *cq;
	void *ctx;
	int i, n;

	/* Take the event (if any) and re-arm before polling, so a
	 * completion that lands after the last poll still wakes us. */
	while (ibv_get_cq_event(v->ch, &cq, &ctx) == 0) {
		ibv_ack_cq_events(cq, 1);
		if (ibv_req_notify_cq(v->cq, 0))
			return -EIO;
	}
	while ((n = ibv_poll_cq(v->cq, 2 * VLINK_SLOTS, wc)) > 0)
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS)
				return -EIO;
			if (wc[i].opcode == IBV_WC_RECV)
				v->done[wc[i].wr_id] = wc[i].byte_len;
			else
				v->tx_busy--;
		}
	return n < 0 ? -EIO : 0;
}

int vlink_send(struct vlink *v, struct queue *q)
{
	while (queue_len(q) && v->credits && v->tx_busy < VLINK_SLOTS) {
		uint8_t *slot =
		    v->buf + (size_t)(VLINK_SLOTS + v->tx_next) * VLINK_SLOT;
		struct ibv_sge sge = {
		    .addr = (uintptr_t)slot,
		    .length = (uint32_t)queue_take(q, slot, VLINK_SLOT),
		    .lkey = v->mr->lkey,
		};
		struct ibv_send_wr wr = {
		    .wr_id = v->tx_next,
		    .sg_list = &sge,
		    .num_sge = 1,
		    .opcode = IBV_WR_SEND,
		    .send_flags = IBV_SEND_SIGNALED,
		};
		struct ibv_send_wr *bad;

		if (ibv_post_send(v->qp, &wr, &bad))
			return -EIO;
		v->tx_next = (v->tx_next + 1) % VLINK_SLOTS;
		v->tx_busy++;
		v->credits--;
	}
	return 0;
}

void vlink_credit(struct vlink *v, uint32_t n)
{
	v->credits += n;
}

long vlink_recv(struct vlink *v, struct fabric_rx *rx, uint32_t *grant)
{
	long moved = 0;

	while (v->done[v->rx_next] >= 0) {
		long n = v->done[v->rx_next];
		size_t room;

		fabric_rx_space(rx, &room);
		if ((size_t)n > room)
			break; /* the parser holds undelivered frames */
		fabric_rx_feed(rx, v->buf + (size_t)v->rx_next * VLINK_SLOT,
			       (size_t)n);
		if (post_recv(v, v->rx_next) < 0)
			return -EIO;
		v->rx_next = (v->rx_next + 1) % VLINK_SLOTS;
		v->owed++;
		moved += n;
	}
	*grant = v->owed;
	return moved;
}

void vlink_granted(struct vlink *v, uint32_t n)
{
	v->owed -= n;
}
