/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verbs transport: one reliable connected queue pair per peer, set up
 * over the peer's authenticated TCP connection, which then carries only
 * flow-control credits and tells when the peer is gone.
 *
 * The bytes a link carries are the same framed stream as on a socket
 * (4-byte length, frame), cut into messages of at most VLINK_SLOT bytes:
 * the sender copies what its queue holds into a free send slot and posts
 * a SEND; the receiver copies each completed receive slot into its stream
 * parser, posts the slot again and, every VLINK_CREDIT_BATCH slots, grants
 * the sender that many more SENDs. A sender never has more SENDs in flight
 * than the receiver has slots posted, so no SEND meets an empty receive
 * queue, and memory stays at 2 * VLINK_SLOTS * VLINK_SLOT per link.
 *
 * Completions are event-driven: each link has a completion channel whose
 * fd goes in the fabric's epoll set. Nothing polls while idle.
 */
#ifndef SLURM_VM_FABRIC_VERBS_H
#define SLURM_VM_FABRIC_VERBS_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/frame.h"
#include "fabric/queue.h"

#define VLINK_SLOTS 16
#define VLINK_SLOT (32 * 1024)
#define VLINK_CREDIT_BATCH 4

/* What each side tells the other over TCP to connect the queue pair. */
#define VLINK_CARD_LEN 32
struct vlink_card {
	uint32_t qpn, psn;
	uint16_t lid;
	uint8_t mtu;	   /* enum ibv_mtu */
	uint8_t is_global; /* RoCE: address by GID */
	uint8_t gid[16];
};

/* Pure: the card on the wire ("SVQP", then big-endian fields). */
void vlink_card_pack(const struct vlink_card *c, uint8_t out[VLINK_CARD_LEN]);
/* Returns 0, or -EPROTO when the bytes are not a card. */
int vlink_card_unpack(const uint8_t in[VLINK_CARD_LEN], struct vlink_card *c);

struct verbs_dev;
struct vlink;

/*
 * Opens the first RDMA device with an active port, or the one named by
 * name (NULL: any). Returns 0, or -errno with a message naming the fix.
 */
int verbs_open(const char *name, struct verbs_dev **out, char *err,
	       size_t errlen);
void verbs_close(struct verbs_dev *d);
/* "rxe0 port 1" and friends, for logs. */
const char *verbs_name(const struct verbs_dev *d);

/* A queue pair in INIT with its receives posted; fills mine. NULL on
 * failure (errno set). */
struct vlink *vlink_new(struct verbs_dev *d, struct vlink_card *mine);
/* Moves the queue pair to ready-to-send against the peer's card. */
int vlink_connect(struct vlink *v, const struct vlink_card *peer);
void vlink_free(struct vlink *v);

/* The completion channel's fd, for epoll (non-blocking). */
int vlink_fd(const struct vlink *v);

/* Takes the channel's events and every completion. Returns 0, or -EIO when
 * a work request failed (the peer is gone). */
int vlink_poll(struct vlink *v);

/* Posts SENDs from q while credits and send slots last. Returns 0 or -EIO. */
int vlink_send(struct vlink *v, struct queue *q);

/* More SENDs the peer allows. */
void vlink_credit(struct vlink *v, uint32_t n);

/*
 * Moves completed receive slots into rx while it has room, posting each
 * again. Returns the bytes moved, or -EIO. *grant is the number of
 * credits now owed to the peer (the caller sends them and zeroes it
 * with vlink_granted()).
 */
long vlink_recv(struct vlink *v, struct fabric_rx *rx, uint32_t *grant);
void vlink_granted(struct vlink *v, uint32_t n);

#endif
