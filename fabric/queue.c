/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabric/frame.h"
#include "fabric/queue.h"

int queue_init(struct queue *q, size_t cap)
{
	q->buf = malloc(cap);
	q->cap = cap;
	q->head = q->tail = 0;
	return q->buf ? 0 : -ENOMEM;
}

void queue_free(struct queue *q)
{
	free(q->buf);
	q->buf = NULL;
	q->cap = q->head = q->tail = 0;
}

size_t queue_len(const struct queue *q)
{
	return q->tail - q->head;
}

int queue_room(const struct queue *q, size_t len)
{
	return q->cap - queue_len(q) >= FABRIC_LEN_HDR + len;
}

void queue_put(struct queue *q, const uint8_t *frame, size_t len)
{
	if (q->cap - q->tail < FABRIC_LEN_HDR + len) { /* compact */
		memmove(q->buf, q->buf + q->head, queue_len(q));
		q->tail -= q->head;
		q->head = 0;
	}
	fabric_frame_header(q->buf + q->tail, (uint32_t)len);
	memcpy(q->buf + q->tail + FABRIC_LEN_HDR, frame, len);
	q->tail += FABRIC_LEN_HDR + len;
}

int queue_room_raw(const struct queue *q, size_t len)
{
	return q->cap - queue_len(q) >= len;
}

void queue_put_raw(struct queue *q, const void *data, size_t len)
{
	if (q->cap - q->tail < len) { /* compact */
		memmove(q->buf, q->buf + q->head, queue_len(q));
		q->tail -= q->head;
		q->head = 0;
	}
	memcpy(q->buf + q->tail, data, len);
	q->tail += len;
}

int queue_grow(struct queue *q, size_t len)
{
	size_t cap = q->cap;
	uint8_t *buf;

	while (cap - queue_len(q) < FABRIC_LEN_HDR + len)
		cap *= 2;
	if (cap == q->cap)
		return 0;
	buf = realloc(q->buf, cap);
	if (!buf)
		return -ENOMEM;
	q->buf = buf;
	q->cap = cap;
	return 0;
}

size_t queue_take(struct queue *q, uint8_t *dst, size_t max)
{
	size_t n = queue_len(q) < max ? queue_len(q) : max;

	memcpy(dst, q->buf + q->head, n);
	q->head += n;
	if (q->head == q->tail)
		q->head = q->tail = 0;
	return n;
}

ssize_t queue_flush(struct queue *q, int fd)
{
	while (q->head < q->tail) {
		ssize_t n = write(fd, q->buf + q->head, q->tail - q->head);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		q->head += (size_t)n;
	}
	if (q->head == q->tail)
		q->head = q->tail = 0;
	return (ssize_t)queue_len(q);
}
