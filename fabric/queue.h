/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A bounded byte queue of framed Ethernet frames (4-byte length + frame),
 * written to a non-blocking fd. The bound is what makes a slow receiver
 * push back on the sender instead of growing memory.
 */
#ifndef SLURM_VM_FABRIC_QUEUE_H
#define SLURM_VM_FABRIC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct queue {
	uint8_t *buf;
	size_t cap, head, tail; /* bytes [head, tail) are queued */
};

/* Returns 0 or -ENOMEM. */
int queue_init(struct queue *q, size_t cap);
void queue_free(struct queue *q);

/* True when a frame of len bytes fits now. */
int queue_room(const struct queue *q, size_t len);

/* Appends one frame with its length header; the caller checked room. */
void queue_put(struct queue *q, const uint8_t *frame, size_t len);

/* Appends len raw bytes (a control record); the caller checked room for
 * them with queue_room_raw(). */
void queue_put_raw(struct queue *q, const void *data, size_t len);
int queue_room_raw(const struct queue *q, size_t len);

/* Makes room for a frame of len bytes by growing the buffer. Only for
 * what is in flight at a snapshot's cut, which is bounded elsewhere.
 * Returns 0 or -ENOMEM. */
int queue_grow(struct queue *q, size_t len);

/* Bytes queued. */
size_t queue_len(const struct queue *q);

/* Moves up to max queued bytes (whole frames or not) to dst; returns how
 * many. The receiver's stream parser puts frames back together. */
size_t queue_take(struct queue *q, uint8_t *dst, size_t max);

/*
 * Writes as much as fd takes. Returns the bytes still queued (0 when
 * empty), or -errno on a write error other than EAGAIN.
 */
ssize_t queue_flush(struct queue *q, int fd);

#endif
