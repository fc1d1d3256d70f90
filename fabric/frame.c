/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stream framing and the Ethernet header (frame.h). The bytes come from a
 * guest or a peer: every access is bounds-checked before it is made.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/be.h"
#include "fabric/frame.h"

void fabric_frame_header(uint8_t hdr[FABRIC_LEN_HDR], uint32_t len)
{
	fabric_put_be32(hdr, len);
}

ssize_t fabric_frame_parse(const uint8_t *buf, size_t n, const uint8_t **frame,
			   size_t *len)
{
	uint32_t flen;

	if (n < FABRIC_LEN_HDR)
		return 0;
	flen = fabric_get_be32(buf);
	/* Refuse from the prefix alone: never wait for 4 GiB that won't come */
	if (flen < FABRIC_FRAME_MIN || flen > FABRIC_FRAME_MAX)
		return -EPROTO;
	if (n - FABRIC_LEN_HDR < flen)
		return 0;
	*frame = buf + FABRIC_LEN_HDR;
	*len = flen;
	return (ssize_t)(FABRIC_LEN_HDR + flen);
}

void fabric_rx_init(struct fabric_rx *rx)
{
	rx->start = 0;
	rx->len = 0;
}

/* Consumed frames are dropped only here, so a frame returned by
 * fabric_rx_next() stays valid while the caller routes the batch. */
uint8_t *fabric_rx_space(struct fabric_rx *rx, size_t *room)
{
	if (rx->start) {
		memmove(rx->buf, rx->buf + rx->start, rx->len - rx->start);
		rx->len -= rx->start;
		rx->start = 0;
	}
	*room = sizeof(rx->buf) - rx->len;
	return rx->buf + rx->len;
}

int fabric_rx_commit(struct fabric_rx *rx, size_t n)
{
	if (n > sizeof(rx->buf) - rx->len)
		return -EINVAL;
	rx->len += n;
	return 0;
}

size_t fabric_rx_feed(struct fabric_rx *rx, const void *data, size_t n)
{
	size_t room;
	uint8_t *p = fabric_rx_space(rx, &room);

	if (n > room)
		n = room;
	if (n)
		memcpy(p, data, n);
	rx->len += n;
	return n;
}

int fabric_rx_next(struct fabric_rx *rx, const uint8_t **frame, size_t *len)
{
	ssize_t n = fabric_frame_parse(rx->buf + rx->start, rx->len - rx->start,
				       frame, len);

	if (n <= 0)
		return (int)n;
	rx->start += (size_t)n;
	return 1;
}

int fabric_eth_parse(const uint8_t *frame, size_t len, struct fabric_eth *eth)
{
	if (len < FABRIC_ETH_HLEN)
		return -EPROTO;
	eth->dst = frame;
	eth->src = frame + 6;
	eth->type = fabric_get_be16(frame + 12);
	eth->payload = frame + FABRIC_ETH_HLEN;
	eth->payload_len = len - FABRIC_ETH_HLEN;
	return 0;
}
