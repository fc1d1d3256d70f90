/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for everything in fabric/ that reads guest or peer
 * bytes: the stream reader, the route, the ARP and DHCP responders and the
 * counters. Not built by `make`; after ./configure (for config.h), from
 * the top of the tree:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-fno-sanitize-recover=all -I. -o fuzz_fabric fabric/fuzz_fabric.c \
 *	fabric/addr.c fabric/frame.c fabric/ip.c fabric/arp.c fabric/dhcp.c \
 *	fabric/route.c fabric/stats.c -ljansson
 *   mkdir -p corpus && ./fuzz_fabric -max_total_time=60 corpus
 *
 * Input: 8 bytes of parameters (nranks, sender rank, MTU, read size),
 * then the byte stream as QEMU would write it. Every frame the reader
 * yields goes through the route and both responders, and the whole input
 * after the parameters is also tried as one frame, so the responders are
 * reached without a valid length prefix too. Besides memory errors
 * (answers are written to buffers of exactly their size, so ASan sees
 * one byte too many), the target aborts when a contract is broken.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "arp.h"
#include "dhcp.h"
#include "frame.h"
#include "ip.h"
#include "route.h"
#include "stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fabric_rx rx;
static struct fabric_stats st;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static void one_frame(const uint8_t *f, size_t len, uint32_t src,
		      uint32_t nranks, uint16_t mtu)
{
	uint8_t *arp = malloc(FABRIC_ARP_FRAME_LEN);
	uint8_t *dhcp = malloc(FABRIC_DHCP_FRAME_LEN);
	uint32_t dst = UINT32_MAX;
	uint8_t type = 0;
	ssize_t n;
	int action;

	CHECK(arp && dhcp);
	action = fabric_route(f, len, src, nranks, &dst);
	CHECK(action >= 0 && action < FABRIC_NACTIONS);
	if (action == FABRIC_UNICAST)
		CHECK(dst < nranks && dst != src);
	else
		CHECK(dst == UINT32_MAX);
	fabric_stats_route(&st, action, len);

	n = fabric_arp_reply(f, len, src, nranks, arp, FABRIC_ARP_FRAME_LEN);
	CHECK(n == FABRIC_ARP_FRAME_LEN || n <= 0);
	if (n > 0)
		CHECK(action == FABRIC_LOCAL_ARP);
	fabric_stats_arp(&st, n);

	n = fabric_dhcp_reply(f, len, src, nranks, mtu, dhcp,
			      FABRIC_DHCP_FRAME_LEN, &type);
	CHECK(n == FABRIC_DHCP_FRAME_LEN || n <= 0);
	if (n > 0) {
		CHECK(action == FABRIC_LOCAL_DHCP);
		CHECK(type == FABRIC_DHCPOFFER || type == FABRIC_DHCPACK ||
		      type == FABRIC_DHCPNAK);
		CHECK(fabric_ip_csum(dhcp + FABRIC_ETH_HLEN, FABRIC_IP_HLEN) ==
		      0);
	}
	fabric_stats_dhcp(&st, n, type);
	free(arp);
	free(dhcp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[FABRIC_STATS_LINE_MAX];
	uint32_t nranks, src;
	const uint8_t *f;
	size_t len, chunk, off, take;
	uint16_t mtu;
	int r;

	if (size < 8)
		return 0;
	/* Small steps most of the time, so sender MACs are easy to hit, but
	 * every size up to the scheme's limit is reachable. */
	nranks = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2];
	nranks = data[7] & 1 ? 1 + nranks % FABRIC_RANKS_MAX : 1 + nranks % 8;
	src = ((uint32_t)data[3] << 8 | data[4]) % nranks;
	mtu = (uint16_t)(data[5] << 8 | data[6]);
	if (mtu && mtu < 68)
		mtu = 0;
	chunk = 1 + (data[7] >> 1);
	data += 8;
	size -= 8;

	one_frame(data, size, src, nranks, mtu);

	fabric_rx_init(&rx);
	for (off = 0; off < size; off += take) {
		take = size - off < chunk ? size - off : chunk;
		CHECK(fabric_rx_feed(&rx, data + off, take) == take);
		while ((r = fabric_rx_next(&rx, &f, &len)) == 1) {
			CHECK(len >= FABRIC_FRAME_MIN &&
			      len <= FABRIC_FRAME_MAX);
			CHECK(f >= rx.buf && f + len <= rx.buf + rx.len);
			one_frame(f, len, src, nranks, mtu);
		}
		if (r < 0)
			break;
	}
	CHECK(fabric_stats_summary(&st, src, line, sizeof(line)) > 0);
	return 0;
}
