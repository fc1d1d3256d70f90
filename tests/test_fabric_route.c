/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The routing decision: one test or more for every action. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/route.h"
#include "tap.h"

#define NRANKS 4
#define SRC 1

static uint8_t f[128];

/*
 * An Ethernet header from rank SRC to dst with EtherType type and, for
 * IPv4, ARP and IPv6, the start of a packet that speaks as SRC (the
 * guard's business, tested in test_fabric_guard.c).
 */
static void eth(const char *dst, uint16_t type)
{
	memset(f, 0, sizeof(f));
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x52\x55\x00\x00\x00\x01", 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	if (type == 0x0800) {
		f[14] = 0x45;
		f[17] = 20;
		memcpy(f + 26, "\x0a\x00\x00\x02", 4);
	} else if (type == 0x0806) {
		memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
		memcpy(f + 22, "\x52\x55\x00\x00\x00\x01\x0a\x00\x00\x02", 10);
		memcpy(f + 38, "\x0a\x00\x00\x03", 4);
	} else if (type == 0x86dd) {
		f[14] = 0x60;
		f[20] = 59; /* no next header */
		f[21] = 64;
		/* fe80::5055:ff:fe00:1, rank 1's link-local address */
		memcpy(f + 22,
		       "\xfe\x80\0\0\0\0\0\0\x50\x55\x00\xff\xfe\x00\x00\x01",
		       16);
	}
}

/* Makes the frame an IPv4/UDP packet sport -> dport (checksums are not
 * the route's business). Returns the frame's length. */
static size_t udp(uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f + 14, *u = ip + 20;

	ip[0] = 0x45;
	/* 10.0.0.2 (rank 1, SRC) -> 10.0.0.3 (rank 2) */
	memcpy(ip + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x03", 8);
	ip[3] = 20 + 8 + 4;
	ip[8] = 64;
	ip[9] = 17;
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[5] = 8 + 4;
	return 14 + 20 + 8 + 4;
}

static int route(size_t len, uint32_t *dst)
{
	return fabric_route(f, len, SRC, NRANKS, dst);
}

static void test_actions(void)
{
	uint32_t dst = 99;
	size_t n;

	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(40000, 5001);
	ok(route(n, &dst) == FABRIC_UNICAST && dst == 2,
	   "IPv4 to rank 2's MAC goes to rank 2");
	f[5] = 0;
	ok(route(n, &dst) == FABRIC_UNICAST && dst == 0, "to rank 0");
	f[5] = 3;
	ok(route(n, &dst) == FABRIC_UNICAST && dst == 3, "to the last rank");
	eth("\x52\x55\x00\x00\x00\x02", 0x86dd);
	ok(route(60, &dst) == FABRIC_UNICAST && dst == 2,
	   "IPv6 is switched by MAC too");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	f[14] = 0x45;
	f[17] = 200; /* total length past the frame: not ours to judge */
	ok(route(60, &dst) == FABRIC_UNICAST && dst == 2,
	   "a malformed IPv4 packet is still switched");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	ok(route(14, &dst) == FABRIC_DROP_MALFORMED,
	   "a bare 14-byte IPv4 header is dropped: no source to judge");
	eth("\x52\x55\x00\x00\x00\x02", 0x88b5);
	ok(route(14, &dst) == FABRIC_UNICAST,
	   "a bare 14-byte header of another EtherType is switched");

	dst = 99;
	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	n = udp(40000, 5001);
	ok(route(n, &dst) == FABRIC_BROADCAST && dst == 99,
	   "broadcast goes to every other rank; dst untouched");
	eth("\x33\x33\x00\x00\x00\x01", 0x86dd);
	ok(route(60, &dst) == FABRIC_BROADCAST, "IPv6 multicast is flooded");
	eth("\x01\x00\x5e\x00\x00\xfb", 0x0800);
	ok(route(60, &dst) == FABRIC_BROADCAST, "IPv4 multicast is flooded");
	eth("\xff\xff\xff\xff\xff\xff", 0x8100);
	f[16] = 0x08;
	f[17] = 0x06;
	ok(route(60, &dst) == FABRIC_DROP_TAGGED,
	   "a VLAN-tagged ARP is dropped, not switched nor answered");

	eth("\xff\xff\xff\xff\xff\xff", 0x0806);
	ok(route(42, &dst) == FABRIC_LOCAL_ARP,
	   "a broadcast ARP request is answered locally");
	eth("\x52\x55\x00\x00\x00\x02", 0x0806);
	ok(route(42, &dst) == FABRIC_LOCAL_ARP,
	   "a unicast ARP request is answered locally, not forwarded");
	eth("\x52\x55\x00\x00\x00\x09", 0x0806);
	ok(route(42, &dst) == FABRIC_LOCAL_ARP,
	   "ARP to a MAC of no rank is still answered locally");

	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	n = udp(68, 67);
	ok(route(n, &dst) == FABRIC_LOCAL_DHCP,
	   "a broadcast DHCP DISCOVER is answered locally");
	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	n = udp(68, 67);
	ok(route(n, &dst) == FABRIC_LOCAL_DHCP,
	   "a DHCP renewal unicast to the fabric's MAC is answered locally");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(68, 67);
	ok(route(n, &dst) == FABRIC_LOCAL_DHCP,
	   "DHCP to another rank's MAC is answered locally, not forwarded");
	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	n = udp(67, 68);
	ok(route(n, &dst) == FABRIC_DROP_ROGUE_DHCP,
	   "a DHCP server answer from a guest is dropped");
	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	n = udp(68, 67);
	f[20] = 0x20; /* a fragment carries no UDP header to look at */
	ok(route(n, &dst) == FABRIC_BROADCAST,
	   "a fragment of a DHCP message is only switched");
}

/* Sets the IPv4 destination address of the frame udp() made. */
static void to_ip(uint32_t ip)
{
	f[30] = (uint8_t)(ip >> 24);
	f[31] = (uint8_t)(ip >> 16);
	f[32] = (uint8_t)(ip >> 8);
	f[33] = (uint8_t)ip;
}

static void test_dns(void)
{
	uint32_t dst = 99;
	size_t n;

	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	ok(route(n, &dst) == FABRIC_LOCAL_DNS && dst == 99,
	   "DNS to the fabric's address and MAC is answered locally");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	ok(route(n, &dst) == FABRIC_LOCAL_DNS,
	   "DNS to the fabric's address via a rank's MAC is not forwarded");
	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	ok(route(n, &dst) == FABRIC_LOCAL_DNS,
	   "DNS to the fabric's address via broadcast is not flooded");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(40000, 53);
	ok(route(n, &dst) == FABRIC_UNICAST && dst == 2,
	   "DNS to a rank's address (a guest's own server) is switched");
	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	n = udp(40000, 5353);
	to_ip(0x0afffffe);
	ok(route(n, &dst) == FABRIC_DROP_NO_RANK,
	   "another port on the fabric's address is dropped");
	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	f[14 + 9] = 6; /* TCP: the fabric answers over UDP only */
	ok(route(n, &dst) == FABRIC_DROP_NO_RANK,
	   "TCP to port 53 of the fabric's address is dropped");
	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	f[20] = 0x20; /* a fragment carries no UDP header to look at */
	ok(route(n, &dst) == FABRIC_DROP_NO_RANK,
	   "a fragment of a DNS query is only switched (and dropped)");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(40000, 53);
	to_ip(0x0afffffe);
	f[11] = 2;
	ok(route(n, &dst) == FABRIC_DROP_BAD_SOURCE,
	   "a DNS query from another rank's MAC is dropped");
	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	n = udp(53, 40000);
	ok(route(n, &dst) == FABRIC_UNICAST && dst == 2,
	   "a DNS answer between guests is switched");
}

static void test_drops(void)
{
	uint32_t dst = 99;

	eth("\x52\x55\x00\x00\x00\x02", 0x0800);
	ok(route(13, &dst) == FABRIC_DROP_MALFORMED,
	   "13 bytes is dropped as malformed");
	ok(route(0, &dst) == FABRIC_DROP_MALFORMED, "so is nothing");
	f[11] = 2;
	ok(route(60, &dst) == FABRIC_DROP_BAD_SOURCE,
	   "a source MAC of another rank is dropped");
	memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
	ok(route(60, &dst) == FABRIC_DROP_BAD_SOURCE,
	   "QEMU's default MAC as source is dropped");
	eth("\xff\xff\xff\xff\xff\xff", 0x0806);
	memset(f + 6, 0xff, 6);
	ok(route(42, &dst) == FABRIC_DROP_BAD_SOURCE,
	   "a broadcast source is dropped, before ARP is answered");
	eth("\xff\xff\xff\xff\xff\xff", 0x0800);
	udp(68, 67);
	f[11] = 0;
	ok(route(60, &dst) == FABRIC_DROP_BAD_SOURCE,
	   "a DHCP message from another rank's MAC is dropped");

	eth("\x52\x55\x00\x00\x00\x04", 0x0800);
	ok(route(60, &dst) == FABRIC_DROP_NO_RANK,
	   "rank 4 in a step of 4 does not exist");
	eth("\x52\x55\x00\xff\xff\xfc", 0x0800);
	ok(route(60, &dst) == FABRIC_DROP_NO_RANK, "nor does the highest rank");
	eth("\x52\x54\x00\x12\x34\x56", 0x0800);
	ok(route(60, &dst) == FABRIC_DROP_NO_RANK,
	   "a MAC outside the scheme is dropped");
	eth("\x52\x55\xff\xff\xff\xfe", 0x0800);
	ok(route(60, &dst) == FABRIC_DROP_NO_RANK,
	   "non-DHCP to the fabric's MAC is dropped");
	eth("\x52\x55\x00\x00\x00\x01", 0x0800);
	ok(route(60, &dst) == FABRIC_DROP_LOOP,
	   "a frame to its own MAC is not sent back");
	ok(dst == 99, "dst is untouched by drops");

	ok(fabric_route(f, 60, NRANKS, NRANKS, &dst) == -EINVAL,
	   "a sender outside the step is a caller bug");
	ok(fabric_route(f, 60, 0, FABRIC_RANKS_MAX + 1, &dst) == -EINVAL,
	   "a step larger than the scheme is a caller bug");
}

static void test_names(void)
{
	int a, drops = 0, named = 1;

	for (a = 0; a < FABRIC_NACTIONS; a++) {
		drops += fabric_action_is_drop(a);
		if (!strcmp(fabric_action_name(a), "?"))
			named = 0;
	}
	ok(drops == 7 && named, "seven drop actions, every action named");
	is_str(fabric_action_name(FABRIC_DROP_SPOOFED), "spoofed",
	       "the name of DROP_SPOOFED");
	is_str(fabric_action_name(FABRIC_DROP_TAGGED), "tagged",
	       "the name of DROP_TAGGED");
	is_str(fabric_action_name(FABRIC_DROP_NO_RANK), "no_rank",
	       "the name of DROP_NO_RANK");
	is_str(fabric_action_name(FABRIC_LOCAL_DNS), "dns",
	       "the name of LOCAL_DNS");
	ok(!fabric_action_is_drop(FABRIC_LOCAL_ARP) &&
	       !fabric_action_is_drop(FABRIC_LOCAL_DNS) &&
	       !fabric_action_is_drop(-1) &&
	       !fabric_action_is_drop(FABRIC_NACTIONS),
	   "local answers and out-of-range values are no drops");
	is_str(fabric_action_name(FABRIC_NACTIONS), "?", "out of range");
	is_str(fabric_action_name(-EINVAL), "?", "an error has no name");
}

int main(void)
{
	test_actions();
	test_dns();
	test_drops();
	test_names();
	return done_testing();
}
