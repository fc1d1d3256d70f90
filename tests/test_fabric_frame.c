/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU stream framing: whole, partial, batched and hostile input. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/frame.h"
#include "tap.h"

static struct fabric_rx rx;
static uint8_t stream[4 * (FABRIC_LEN_HDR + FABRIC_FRAME_MAX)];

/* Appends a length-prefixed frame of len bytes, every byte tagged with
 * tag so a frame taken out can be checked whole. Returns the new end. */
static size_t put_frame(uint8_t *s, size_t off, uint32_t len, uint8_t tag)
{
	fabric_frame_header(s + off, len);
	memset(s + off + FABRIC_LEN_HDR, tag, len);
	return off + FABRIC_LEN_HDR + len;
}

static int frame_is(const uint8_t *f, size_t len, size_t want, uint8_t tag)
{
	size_t i;

	if (len != want)
		return 0;
	for (i = 0; i < len; i++)
		if (f[i] != tag)
			return 0;
	return 1;
}

static void test_parse(void)
{
	uint8_t b[FABRIC_LEN_HDR + 60];
	const uint8_t *f = NULL;
	size_t len = 0;

	put_frame(b, 0, 60, 0xab);
	ok(fabric_frame_parse(b, sizeof(b), &f, &len) == 64 && len == 60 &&
	       f == b + 4,
	   "a whole 60-byte frame parses");
	ok(fabric_frame_parse(b, 63, &f, &len) == 0, "a partial frame waits");
	ok(fabric_frame_parse(b, 3, &f, &len) == 0, "a partial length waits");
	ok(fabric_frame_parse(b, 0, &f, &len) == 0, "nothing waits");
	memcpy(b, "\x00\x00\x00\x0e", 4);
	ok(fabric_frame_parse(b, 18, &f, &len) == 18 && len == 14,
	   "a bare 14-byte Ethernet header is a frame");
	memcpy(b, "\x00\x00\x00\x0d", 4);
	ok(fabric_frame_parse(b, 4, &f, &len) == -EPROTO,
	   "13 bytes is refused from the prefix alone");
	memcpy(b, "\x00\x00\x00\x00", 4);
	ok(fabric_frame_parse(b, 4, &f, &len) == -EPROTO,
	   "an empty frame is refused");
	fabric_frame_header(b, FABRIC_FRAME_MAX + 1);
	ok(fabric_frame_parse(b, 4, &f, &len) == -EPROTO,
	   "65554 bytes is refused from the prefix alone");
	memcpy(b, "\xff\xff\xff\xff", 4);
	ok(fabric_frame_parse(b, 4, &f, &len) == -EPROTO,
	   "a 4 GiB length is refused from the prefix alone");
	memcpy(b, "\x00\x01\x00\x0e", 4); /* 65550: 64 KiB MTU + header */
	ok(fabric_frame_parse(b, 4, &f, &len) == 0,
	   "a 65550-byte frame is waited for");
	put_frame(stream, 0, FABRIC_FRAME_MAX, 0x5a);
	ok(fabric_frame_parse(stream, FABRIC_LEN_HDR + FABRIC_FRAME_MAX, &f,
			      &len) == FABRIC_LEN_HDR + FABRIC_FRAME_MAX &&
	       frame_is(f, len, FABRIC_FRAME_MAX, 0x5a),
	   "the largest frame (65553 bytes) parses");
}

/* Frames split across reads at every byte come out whole and in order. */
static void test_byte_by_byte(void)
{
	static const uint32_t lens[] = {42, 14, 1514, 60, 9014};
	size_t n = 0, i, k;
	const uint8_t *f;
	size_t len;
	int got = 0, whole = 1, fed = 1;

	for (k = 0; k < 5; k++)
		n = put_frame(stream, n, lens[k], (uint8_t)(k + 1));
	fabric_rx_init(&rx);
	for (i = 0; i < n; i++) {
		if (fabric_rx_feed(&rx, stream + i, 1) != 1)
			fed = 0;
		while (fabric_rx_next(&rx, &f, &len) == 1) {
			if (got >= 5 ||
			    !frame_is(f, len, lens[got], (uint8_t)(got + 1)))
				whole = 0;
			got++;
		}
	}
	ok(fed && got == 5 && whole,
	   "byte-by-byte reads give 5 whole frames in order");
	ok(rx.start == rx.len, "nothing is left over");
}

/* One read holding many frames gives them all before the next read. */
static void test_batch(void)
{
	size_t n = 0, room, take;
	const uint8_t *f[64];
	size_t len[64];
	int got = 0, whole = 1, i;
	uint8_t *p;

	for (i = 0; i < 64; i++)
		n = put_frame(stream, n, 64, (uint8_t)i);
	/* plus the first half of a 65th */
	n = put_frame(stream, n, 1500, 0xee) - 750;
	fabric_rx_init(&rx);
	p = fabric_rx_space(&rx, &room);
	ok(room == FABRIC_RX_SIZE, "an empty reader offers all its space");
	memcpy(p, stream, n);
	ok(fabric_rx_commit(&rx, n) == 0, "one read of 64.5 frames");
	while (got < 64 && fabric_rx_next(&rx, &f[got], &len[got]) == 1)
		got++;
	/* all 64 are still valid together: nothing moved between reads */
	for (i = 0; i < got; i++)
		if (!frame_is(f[i], len[i], 64, (uint8_t)i))
			whole = 0;
	ok(got == 64 && whole, "64 frames come out and stay valid together");
	ok(fabric_rx_next(&rx, f, len) == 0, "the half frame waits");
	p = fabric_rx_space(&rx, &room);
	ok(p == rx.buf + 754 && room == FABRIC_RX_SIZE - 754,
	   "the half frame moves to the start");
	take = fabric_rx_feed(&rx, stream + n, 750);
	ok(take == 750 && fabric_rx_next(&rx, f, len) == 1 &&
	       frame_is(f[0], len[0], 1500, 0xee),
	   "the rest of it completes the frame");
	ok(fabric_rx_commit(&rx, FABRIC_RX_SIZE) == -EINVAL,
	   "committing more than the room is refused");
}

static void test_hostile(void)
{
	uint8_t b[8] = {0, 0, 0, 20};
	size_t room, n = 0, take;
	const uint8_t *f;
	size_t len;
	int i, first, again;

	fabric_rx_init(&rx);
	n = put_frame(stream, 0, 60, 1);
	memcpy(stream + n, "\x7f\xff\xff\xff", 4);
	fabric_rx_feed(&rx, stream, n + 4);
	ok(fabric_rx_next(&rx, &f, &len) == 1, "the good frame comes out");
	first = fabric_rx_next(&rx, &f, &len);
	again = fabric_rx_next(&rx, &f, &len);
	ok(first == -EPROTO && again == -EPROTO,
	   "a hostile length is an error, and stays one");

	/* Four largest frames overfill the reader: it takes what fits, gives
	 * the whole ones, then has room for the rest of the fourth. */
	fabric_rx_init(&rx);
	for (i = 0, n = 0; i < 4; i++)
		n = put_frame(stream, n, FABRIC_FRAME_MAX, (uint8_t)(i + 1));
	take = fabric_rx_feed(&rx, stream, n);
	ok(take == FABRIC_RX_SIZE, "a full reader takes only what fits");
	for (i = 0; i < 3; i++)
		if (fabric_rx_next(&rx, &f, &len) != 1 ||
		    !frame_is(f, len, FABRIC_FRAME_MAX, (uint8_t)(i + 1)))
			break;
	ok(i == 3 && fabric_rx_next(&rx, &f, &len) == 0,
	   "three whole frames come out of it, the fourth waits");
	fabric_rx_space(&rx, &room);
	ok(room == 3 * (FABRIC_LEN_HDR + FABRIC_FRAME_MAX),
	   "consumed frames make room");
	ok(fabric_rx_feed(&rx, stream + take, n - take) == n - take &&
	       fabric_rx_next(&rx, &f, &len) == 1 &&
	       frame_is(f, len, FABRIC_FRAME_MAX, 4),
	   "the fourth completes");

	fabric_rx_init(&rx);
	n = fabric_rx_feed(&rx, b, 0);
	ok(n == 0 && fabric_rx_next(&rx, &f, &len) == 0,
	   "an empty read gives nothing");
}

static void test_eth(void)
{
	static const uint8_t f[] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* dst */
	    0x52, 0x55, 0x00, 0x00, 0x00, 0x01, /* src */
	    0x08, 0x06,				/* ARP */
	    0xaa};
	struct fabric_eth eth;

	ok(fabric_eth_parse(f, sizeof(f), &eth) == 0 && eth.dst == f &&
	       eth.src == f + 6 && eth.type == FABRIC_ETH_P_ARP &&
	       eth.payload == f + 14 && eth.payload_len == 1,
	   "the Ethernet header is read");
	ok(fabric_eth_parse(f, 14, &eth) == 0 && eth.payload_len == 0,
	   "a bare header has an empty payload");
	ok(fabric_eth_parse(f, 13, &eth) == -EPROTO,
	   "13 bytes is no Ethernet header");
}

int main(void)
{
	test_parse();
	test_byte_by_byte();
	test_batch();
	test_hostile();
	test_eth();
	return done_testing();
}
