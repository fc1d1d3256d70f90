/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for everything in fabric/ that reads guest or peer
 * bytes: the stream reader, the route and its source guard, the ARP, DHCP
 * and DNS responders and the counters. Not built by `make`; after ./configure
 *(for config.h), from the top of the tree:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *	-fno-sanitize-recover=all -I. -o fuzz_fabric fabric/fuzz_fabric.c \
 *	fabric/addr.c fabric/frame.c fabric/ip.c fabric/arp.c fabric/dhcp.c \
 *	fabric/dns.c fabric/guard.c fabric/route.c fabric/stats.c -ljansson
 *   mkdir -p corpus && ./fuzz_fabric -max_total_time=60 corpus
 *
 * Input: 9 bytes of parameters (nranks, sender rank, MTU, read size, and
 * whether to make the whole-input frame speak as the sender), then the
 * byte stream as QEMU would write it. Every frame the reader yields goes
 * through the route and every responder, and the whole input after the
 * parameters is also tried as one frame, so the responders are reached
 * without a valid length prefix too; with the last parameter's low bit
 * set, that frame first gets the sender's MAC, IPv4, ARP sender and IPv6
 * link-local source written in, so the guard's deeper rules (extension
 * headers, neighbour discovery options) are reached at once. Whatever the
 * route forwards must speak as its sender (checked here independently of
 * the guard). Besides memory errors
 * (answers are written to buffers of exactly their size, so ASan sees
 * one byte too many; a DNS answer's size is known only once made, so it
 * is made twice), the target aborts when a contract is broken.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/arp.h"
#include "fabric/dhcp.h"
#include "fabric/dns.h"
#include "fabric/frame.h"
#include "fabric/guard.h"
#include "fabric/ip.h"
#include "fabric/route.h"
#include "fabric/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fabric_rx rx;
static struct fabric_stats st;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* The DNS answer: first into a buffer of the largest size, then again into
 * one of exactly the answer's size (which must give the same bytes) and
 * one a byte short (which must fail and write nothing). */
static void dns_frame(const uint8_t *f, size_t len, uint32_t src,
		      uint32_t nranks, int action)
{
	uint8_t *big = malloc(FABRIC_DNS_FRAME_MAX), *exact;
	uint8_t own[FABRIC_MAC_LEN];
	const uint8_t *ip, *udp;
	ssize_t n, i;

	CHECK(big);
	memset(big, 0xa5, FABRIC_DNS_FRAME_MAX);
	n = fabric_dns_reply(f, len, src, nranks, big, FABRIC_DNS_FRAME_MAX);
	CHECK(n <= FABRIC_DNS_FRAME_MAX);
	CHECK(n == 0 || n == -EPROTO || n == -EPERM || n > 0);
	fabric_stats_dns(&st, n);
	if (n <= 0) {
		for (i = 0; i < FABRIC_DNS_FRAME_MAX; i++)
			CHECK(big[i] == 0xa5);
		free(big);
		return;
	}
	CHECK(action == FABRIC_LOCAL_DNS);
	CHECK(n >= FABRIC_ETH_HLEN + FABRIC_IP_HLEN + FABRIC_UDP_HLEN + 12);
	fabric_addr_mac(src, own);
	CHECK(!memcmp(big, own, FABRIC_MAC_LEN));
	ip = big + FABRIC_ETH_HLEN;
	udp = ip + FABRIC_IP_HLEN;
	CHECK(fabric_ip_csum(ip, FABRIC_IP_HLEN) == 0);
	CHECK((size_t)(ip[2] << 8 | ip[3]) == (size_t)n - FABRIC_ETH_HLEN);
	CHECK((size_t)(udp[4] << 8 | udp[5]) ==
	      (size_t)n - FABRIC_ETH_HLEN - FABRIC_IP_HLEN);
	CHECK(udp[0] == 0 && udp[1] == FABRIC_DNS_PORT);

	exact = malloc((size_t)n);
	CHECK(exact);
	CHECK(fabric_dns_reply(f, len, src, nranks, exact, (size_t)n) == n);
	CHECK(!memcmp(exact, big, (size_t)n));
	memset(exact, 0xa5, (size_t)n);
	CHECK(fabric_dns_reply(f, len, src, nranks, exact, (size_t)n - 1) ==
	      -ENOSPC);
	for (i = 0; i < n; i++)
		CHECK(exact[i] == 0xa5);
	free(exact);
	free(big);
}

/* The guard's contract, and what leaves the sender speaks as it. */
static void check_guard(const uint8_t *f, size_t len, uint32_t src, int action)
{
	static const uint8_t any[FABRIC_IPV6_ALEN];
	uint8_t ll[FABRIC_IPV6_ALEN];
	struct fabric_eth eth;
	uint32_t saddr;
	int g;

	if (fabric_eth_parse(f, len, &eth) < 0)
		return;
	g = fabric_guard(&eth, src);
	CHECK(g == 0 || g == FABRIC_DROP_SPOOFED || g == FABRIC_DROP_TAGGED ||
	      g == FABRIC_DROP_MALFORMED);
	if (action == FABRIC_DROP_SPOOFED || action == FABRIC_DROP_TAGGED)
		CHECK(g == action);
	if (action != FABRIC_UNICAST && action != FABRIC_BROADCAST &&
	    action != FABRIC_LOCAL_ARP)
		return;
	CHECK(g == 0);
	CHECK(eth.type != 0x8100 && eth.type != 0x88a8 && eth.type != 0x9100);
	if (eth.type == FABRIC_ETH_P_IP) {
		CHECK(eth.payload_len >= FABRIC_IP_HLEN);
		saddr = (uint32_t)eth.payload[12] << 24 |
			(uint32_t)eth.payload[13] << 16 |
			(uint32_t)eth.payload[14] << 8 | eth.payload[15];
		CHECK(saddr == fabric_addr_ip(src));
	} else if (eth.type == 0x86dd) {
		CHECK(eth.payload_len >= 40);
		fabric_guard_ll6(src, ll);
		CHECK(!memcmp(eth.payload + 8, ll, FABRIC_IPV6_ALEN) ||
		      !memcmp(eth.payload + 8, any, FABRIC_IPV6_ALEN));
	} else if (eth.type == FABRIC_ETH_P_ARP) {
		CHECK(eth.payload_len >= 28);
		CHECK(fabric_guard_arp(eth.payload, src) == 0);
	}
}

/* Writes src's own addresses over frame[0..len)'s source fields, where
 * they fit. */
static void speak_as(uint8_t *f, size_t len, uint32_t src)
{
	uint8_t *p = f + FABRIC_ETH_HLEN;
	uint32_t ip = fabric_addr_ip(src);
	uint16_t type;
	size_t n;

	if (len < FABRIC_ETH_HLEN)
		return;
	n = len - FABRIC_ETH_HLEN;
	fabric_addr_mac(src, f + 6);
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == FABRIC_ETH_P_IP && n >= FABRIC_IP_HLEN) {
		p[12] = (uint8_t)(ip >> 24);
		p[13] = (uint8_t)(ip >> 16);
		p[14] = (uint8_t)(ip >> 8);
		p[15] = (uint8_t)ip;
	} else if (type == FABRIC_ETH_P_ARP && n >= 28) {
		fabric_addr_mac(src, p + 8);
		p[14] = (uint8_t)(ip >> 24);
		p[15] = (uint8_t)(ip >> 16);
		p[16] = (uint8_t)(ip >> 8);
		p[17] = (uint8_t)ip;
	} else if (type == 0x86dd && n >= 40) {
		fabric_guard_ll6(src, p + 8);
	}
}

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
	check_guard(f, len, src, action);

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
	dns_frame(f, len, src, nranks, action);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[FABRIC_STATS_LINE_MAX];
	uint32_t nranks, src;
	const uint8_t *f;
	size_t len, chunk, off, take;
	uint8_t *own;
	uint16_t mtu;
	int r;

	if (size < 9)
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
	if (data[8] & 1) {
		/* Exactly the frame's size, so ASan sees a byte too many. */
		own = malloc(size > 9 ? size - 9 : 1);
		CHECK(own);
		memcpy(own, data + 9, size - 9);
		speak_as(own, size - 9, src);
		one_frame(own, size - 9, src, nranks, mtu);
		free(own);
	}
	data += 9;
	size -= 9;

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
