/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source guard, through the route as the fabric calls it: each way of
 * speaking as another guest is dropped and counted, each way a guest
 * legitimately speaks passes, and cut-short frames are dropped.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/guard.h"
#include "fabric/route.h"
#include "fabric/stats.h"
#include "tap.h"

#define NRANKS 4
#define SRC 1

static const uint8_t own_mac[6] = {0x52, 0x55, 0, 0, 0, 1};
static const uint8_t mac2[6] = {0x52, 0x55, 0, 0, 0, 2};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* fe80::5055:ff:fe00:1 and :2, ranks 1 and 2 */
static const uint8_t own_ll[16] = {0xfe, 0x80, 0,    0,	   0,	 0, 0, 0,
				   0x50, 0x55, 0x00, 0xff, 0xfe, 0, 0, 1};
static const uint8_t ll2[16] = {0xfe, 0x80, 0,	  0,	0,    0, 0, 0,
				0x50, 0x55, 0x00, 0xff, 0xfe, 0, 0, 2};
static const uint8_t any6[16];
/* 33:33:ff:00:00:01, the solicited-node group of rank 1's address */
static const uint8_t snm[6] = {0x33, 0x33, 0xff, 0, 0, 1};

static uint8_t f[256];
static struct fabric_stats st;

/* The route as from_guest() runs it, counted as it counts. */
static int route(size_t len)
{
	uint32_t dst = 99;
	int a = fabric_route(f, len, SRC, NRANKS, &dst);

	fabric_stats_route(&st, a, len);
	return a;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void eth(const uint8_t dst[6], uint16_t type)
{
	memset(f, 0, sizeof(f));
	memcpy(f, dst, 6);
	memcpy(f + 6, own_mac, 6);
	put16(f + 12, type);
}

/* IPv4/UDP saddr:sport -> daddr:dport with 4 bytes of payload. */
static size_t udp4(uint32_t saddr, uint32_t daddr, uint16_t sport,
		   uint16_t dport)
{
	uint8_t *ip = f + 14, *u = ip + 20;

	eth(bcast, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + 4);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, 8 + 4);
	return 14 + 20 + 8 + 4;
}

/* ARP op from sha/spa about tpa, broadcast. */
static size_t arp(uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
	uint8_t *a = f + 14;

	eth(bcast, 0x0806);
	memcpy(a, "\x00\x01\x08\x00\x06\x04", 6);
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	put32(a + 24, tpa);
	return 42;
}

/* An IPv6 header from src to the group or MAC dst, next header nh, and
 * plen bytes of payload the caller writes at f + 54. */
static void ip6(const uint8_t dst[6], const uint8_t src[16], uint8_t nh,
		size_t plen)
{
	eth(dst, 0x86dd);
	f[14] = 0x60;
	put16(f + 18, (uint16_t)plen);
	f[20] = nh;
	f[21] = 255;
	memcpy(f + 22, src, 16);
	f[38] = 0xff; /* some destination; the guard does not read it */
	f[39] = 0x02;
}

/* ICMPv6 type at p, with a target (NS, NA) and one link-layer address
 * option (opt 1 or 2; 0 for none). Returns its length. */
static size_t nd(uint8_t *p, uint8_t type, const uint8_t target[16],
		 uint8_t opt, const uint8_t lladdr[6])
{
	p[0] = type;
	memcpy(p + 8, target, 16);
	if (!opt)
		return 24;
	p[24] = opt;
	p[25] = 1;
	memcpy(p + 26, lladdr, 6);
	return 32;
}

/* A neighbour message from src in a whole frame. */
static size_t nd6(const uint8_t dst[6], const uint8_t src[16], uint8_t type,
		  const uint8_t target[16], uint8_t opt, const uint8_t ll[6])
{
	uint8_t body[32] = {0};
	size_t n = nd(body, type, target, opt, ll);

	ip6(dst, src, 58, n);
	memcpy(f + 54, body, n);
	return 54 + n;
}

static void test_ll6(void)
{
	uint8_t ll[16], keep[16];

	ok(fabric_guard_ll6(1, ll) == 0 && !memcmp(ll, own_ll, 16),
	   "rank 1's link-local is fe80::5055:ff:fe00:1 (U/L bit flipped)");
	ok(fabric_guard_ll6(0xabcdef, ll) == 0 &&
	       !memcmp(ll, "\xfe\x80\0\0\0\0\0\0", 8) &&
	       !memcmp(ll + 8, "\x50\x55\x00\xff\xfe\xab\xcd\xef", 8),
	   "rank 0xabcdef (52:55:00:ab:cd:ef): fe80::5055:ff:feab:cdef");
	memset(keep, 0xa5, 16);
	memcpy(ll, keep, 16);
	ok(fabric_guard_ll6(FABRIC_RANK_MAX + 1, ll) == -EINVAL &&
	       !memcmp(ll, keep, 16),
	   "a rank outside the scheme has none, and ll is untouched");
}

static void test_ipv4(void)
{
	uint64_t before = st.drops[FABRIC_DROP_SPOOFED];
	size_t n;

	n = udp4(0x0a000002, 0x0a000003, 40000, 5001);
	memcpy(f, mac2, 6);
	ok(route(n) == FABRIC_UNICAST, "IPv4 from its own address passes");
	n = udp4(0, FABRIC_BCAST_IP, 68, 67);
	ok(route(n) == FABRIC_LOCAL_DHCP,
	   "a DHCP DISCOVER from 0.0.0.0 passes (answered locally)");
	n = udp4(0x0a000002, FABRIC_SERVER_IP, 68, 67);
	ok(route(n) == FABRIC_LOCAL_DHCP, "a DHCP renewal from its own passes");
	ok(st.drops[FABRIC_DROP_SPOOFED] == before, "none of them counted");

	n = udp4(0x0a000003, 0x0a000001, 40000, 5001);
	memcpy(f, "\x52\x55\x00\x00\x00\x00", 6);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "IPv4 from rank 2's address is dropped");
	n = udp4(0x0a000005, 0x0a000001, 40000, 5001);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "from the address of a rank outside the step");
	n = udp4(0xc0a80001, 0x0a000001, 40000, 5001);
	ok(route(n) == FABRIC_DROP_SPOOFED, "from outside 10/8");
	n = udp4(FABRIC_SERVER_IP, 0x0a000001, 53, 40000);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "from the fabric's own address (a forged DNS answer)");
	n = udp4(0, 0x0a000001, 40000, 5001);
	ok(route(n) == FABRIC_DROP_SPOOFED, "from 0.0.0.0 but not DHCP");
	n = udp4(0, FABRIC_BCAST_IP, 67, 68);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "from 0.0.0.0 as a DHCP server (68 -> 67 only)");
	n = udp4(0, FABRIC_BCAST_IP, 68, 67);
	f[14 + 6] = 0x20; /* a fragment: no UDP header to show it is DHCP */
	ok(route(n) == FABRIC_DROP_SPOOFED, "a fragment from 0.0.0.0");
	n = udp4(0x0a000003, FABRIC_BCAST_IP, 68, 67);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "DHCP from rank 2's address is dropped, not answered");
	ok(st.drops[FABRIC_DROP_SPOOFED] == before + 8,
	   "the 8 are counted as spoofed");
}

static void test_arp(void)
{
	uint64_t before = st.drops[FABRIC_DROP_SPOOFED];
	size_t n;

	n = arp(1, own_mac, 0x0a000002, 0x0a000003);
	ok(route(n) == FABRIC_LOCAL_ARP, "an ARP request from its own passes");
	n = arp(1, own_mac, 0, 0x0a000002);
	ok(route(n) == FABRIC_LOCAL_ARP, "an ARP probe from 0.0.0.0 passes");
	n = arp(2, own_mac, 0x0a000002, 0x0a000002);
	ok(route(n) == FABRIC_LOCAL_ARP,
	   "a gratuitous ARP for its own address passes");

	n = arp(1, own_mac, 0x0a000003, 0x0a000001);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "ARP with rank 2's sender IP is dropped");
	n = arp(2, own_mac, 0x0a000001, 0x0a000001);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "a gratuitous reply claiming rank 0's IP is dropped");
	n = arp(1, mac2, 0x0a000002, 0x0a000001);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "ARP with rank 2's sender MAC is dropped");
	n = arp(1, own_mac, FABRIC_SERVER_IP, 0x0a000001);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "ARP claiming the fabric's address is dropped");
	ok(st.drops[FABRIC_DROP_SPOOFED] == before + 4,
	   "the 4 are counted as spoofed");
	n = arp(1, own_mac, 0x0a000002, 0x0a000003);
	f[19] = 16; /* plen */
	ok(route(n) == FABRIC_DROP_MALFORMED, "a non-IPv4 ARP is malformed");
	ok(fabric_guard_arp(f + 14, SRC) == 0, "the ARP rule alone: own");
	f[14 + 14] = 0x0b;
	ok(fabric_guard_arp(f + 14, SRC) == -EPERM,
	   "the ARP rule alone: another IP");
}

static void test_ipv6(void)
{
	uint64_t before = st.drops[FABRIC_DROP_SPOOFED];
	size_t n;

	ip6(mac2, own_ll, 58, 8);
	f[54] = 128; /* echo request */
	ok(route(54 + 8) == FABRIC_UNICAST, "ping6 from its link-local passes");
	n = nd6(snm, any6, 135, own_ll, 0, NULL);
	ok(route(n) == FABRIC_BROADCAST,
	   "duplicate address detection (NS from :: for its own) passes");
	n = nd6(snm, own_ll, 135, ll2, 1, own_mac);
	ok(route(n) == FABRIC_BROADCAST,
	   "NS for rank 2 with its own MAC as source option passes");
	n = nd6(mac2, own_ll, 136, own_ll, 2, own_mac);
	ok(route(n) == FABRIC_UNICAST,
	   "NA for its own address with its own MAC passes");
	n = nd6(bcast, own_ll, 133, own_ll, 0, NULL);
	f[54 + 8] = 1; /* RS: options right after the 8-byte header */
	f[54 + 9] = 1;
	memcpy(f + 54 + 10, own_mac, 6);
	put16(f + 18, 16);
	ok(route(54 + 16) == FABRIC_BROADCAST,
	   "a router solicitation with its own MAC passes");
	/* An MLDv2 report from :: behind a hop-by-hop router alert. */
	ip6(bcast, any6, 0, 8 + 8);
	f[54] = 58;
	memcpy(f + 56, "\x05\x02\x00\x00\x01\x00", 6);
	f[62] = 143;
	ok(route(54 + 16) == FABRIC_BROADCAST,
	   "an MLD report from :: behind a hop-by-hop header passes");
	ip6(mac2, own_ll, 44, 8 + 8);
	f[54] = 58;
	put16(f + 56, 185 << 3); /* a later fragment */
	ok(route(54 + 16) == FABRIC_UNICAST,
	   "a later fragment from its own address passes");
	ip6(mac2, own_ll, 6, 20);
	ok(route(54 + 20) == FABRIC_UNICAST, "TCP from its own passes");
	ok(st.drops[FABRIC_DROP_SPOOFED] == before, "none of them counted");

	ip6(snm, ll2, 58, 8);
	f[54] = 128;
	ok(route(54 + 8) == FABRIC_DROP_SPOOFED,
	   "IPv6 from rank 2's link-local is dropped");
	memcpy(f + 22, "\x20\x01\x0d\xb8", 4);
	ok(route(54 + 8) == FABRIC_DROP_SPOOFED,
	   "from a global address (none is given on the fabric)");
	ip6(mac2, own_ll, 6, 20);
	f[30] = 0x52; /* the MAC's first octet, the U/L bit unflipped */
	ok(route(54 + 20) == FABRIC_DROP_SPOOFED,
	   "from an identifier that is not the modified EUI-64");
	n = nd6(snm, own_ll, 135, ll2, 1, mac2);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "NS with rank 2's MAC as source option is dropped");
	n = nd6(snm, own_ll, 136, ll2, 2, own_mac);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "NA for rank 2's address is dropped");
	n = nd6(snm, own_ll, 136, own_ll, 2, mac2);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "NA with rank 2's MAC as target option is dropped");
	n = nd6(snm, any6, 135, ll2, 0, NULL);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "DAD for rank 2's address is dropped (it would make 2 give it up)");
	n = nd6(snm, own_ll, 134, own_ll, 0, NULL);
	ok(route(n) == FABRIC_DROP_SPOOFED,
	   "a router advertisement is dropped (no guest is a router)");
	n = nd6(snm, own_ll, 137, own_ll, 0, NULL);
	ok(route(n) == FABRIC_DROP_SPOOFED, "so is a redirect");
	/* NA for rank 2 behind a destination options header */
	ip6(snm, own_ll, 60, 8 + 32);
	f[54] = 58;
	nd(f + 62, 136, ll2, 2, own_mac);
	ok(route(54 + 40) == FABRIC_DROP_SPOOFED,
	   "an NA for rank 2 behind an extension header is dropped");
	ip6(snm, own_ll, 44, 8 + 24);
	f[54] =
	    58; /* a first fragment of an NS, which must not be fragmented */
	nd(f + 62, 135, ll2, 0, NULL);
	ok(route(54 + 32) == FABRIC_DROP_SPOOFED,
	   "neighbour discovery in a fragment is dropped");
	ok(st.drops[FABRIC_DROP_SPOOFED] == before + 11,
	   "the 11 are counted as spoofed");
}

static void test_tagged(void)
{
	eth(bcast, 0x8100);
	put16(f + 16, 0x0800);
	ok(route(60) == FABRIC_DROP_TAGGED,
	   "an 802.1Q-tagged frame is dropped");
	eth(bcast, 0x88a8);
	ok(route(60) == FABRIC_DROP_TAGGED, "so is an 802.1ad one");
	eth(bcast, 0x9100);
	ok(route(60) == FABRIC_DROP_TAGGED, "and one with the older 0x9100");
	ok(st.drops[FABRIC_DROP_TAGGED] == 3, "counted as tagged");
}

/* Every cut of the frame made by make_frame is dropped (and read inside
 * the cut: the tests run under the sanitizers in CI). */
static void every_cut(size_t (*make_frame)(void), size_t from, int want,
		      const char *what)
{
	size_t n = make_frame(), len;
	int all = 1, a;

	for (len = from; len < n; len++) {
		make_frame();
		a = route(len);
		if (!fabric_action_is_drop(a) || (want >= 0 && a != want))
			all = 0;
	}
	ok(all, "%s cut short at %zu..%zu bytes is dropped", what, from, n - 1);
}

static size_t arp_frame(void)
{
	return arp(1, own_mac, 0x0a000002, 0x0a000003);
}

static size_t dhcp_frame(void)
{
	return udp4(0, FABRIC_BCAST_IP, 68, 67);
}

static size_t ns_frame(void)
{
	return nd6(snm, own_ll, 135, ll2, 1, own_mac);
}

static size_t mld_frame(void)
{
	ip6(bcast, any6, 0, 8 + 8);
	f[54] = 58;
	f[62] = 143;
	return 54 + 16;
}

static void test_truncated(void)
{
	size_t n;

	every_cut(arp_frame, 14, FABRIC_DROP_MALFORMED, "ARP");
	every_cut(dhcp_frame, 14, -1, "DHCP from 0.0.0.0");
	every_cut(ns_frame, 14, FABRIC_DROP_MALFORMED, "an NS");
	every_cut(mld_frame, 14, FABRIC_DROP_MALFORMED, "an MLD report");
	udp4(0x0a000002, 0x0a000003, 40000, 5001);
	memcpy(f, mac2, 6);
	ok(route(33) == FABRIC_DROP_MALFORMED && route(34) == FABRIC_UNICAST,
	   "IPv4 needs its 20-byte header to pass; then the receiver judges");

	ns_frame();
	f[54 + 25] = 0; /* an option of length 0 */
	ok(route(54 + 32) == FABRIC_DROP_MALFORMED,
	   "an ND option of length 0 is malformed");
	ns_frame();
	f[54 + 25] = 2; /* 16 bytes, past the message */
	ok(route(54 + 32) == FABRIC_DROP_MALFORMED,
	   "an ND option past the message is malformed");
	ip6(mac2, own_ll, 60, 8);
	f[54] = 58;
	f[55] = 1; /* 16 bytes in an 8-byte payload */
	ok(route(54 + 8) == FABRIC_DROP_MALFORMED,
	   "an extension header past the payload is malformed");
	ip6(mac2, own_ll, 60, 9 * 8);
	for (n = 0; n < 9; n++)
		f[54 + 8 * n] = 60;
	ok(route(54 + 72) == FABRIC_DROP_MALFORMED,
	   "nine extension headers in a row are refused");
	ip6(mac2, own_ll, 6, 20);
	ok(route(54 + 19) == FABRIC_DROP_MALFORMED,
	   "an IPv6 packet longer than its frame is dropped");
	f[14] = 0x40;
	ok(route(54 + 20) == FABRIC_DROP_MALFORMED,
	   "an IPv6 EtherType with version 4 is malformed");
	ip6(mac2, own_ll, 6, 0);
	ok(route(54 + 6) == FABRIC_UNICAST,
	   "Ethernet padding after an IPv6 packet is allowed");
}

static void test_caller_bugs(void)
{
	struct fabric_eth e;

	arp_frame();
	fabric_eth_parse(f, 42, &e);
	ok(fabric_guard(&e, FABRIC_RANK_MAX + 1) == -EINVAL,
	   "a sender outside the scheme is a caller bug");
	ok(fabric_guard(&e, SRC) == 0, "the same frame from its sender passes");
}

int main(void)
{
	test_ll6();
	test_ipv4();
	test_arp();
	test_ipv6();
	test_tagged();
	test_truncated();
	test_caller_bugs();
	return done_testing();
}
