/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest addressing: rank <-> MAC, IPv4, hostname, and the refusals. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/addr.h"
#include "tap.h"

#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |      \
	 (uint32_t)(d))

static void test_known(void)
{
	uint8_t mac[6];
	char host[FABRIC_HOSTNAME_MAX];

	ok(fabric_addr_mac(0, mac) == 0 &&
	       !memcmp(mac, "\x52\x55\x00\x00\x00\x00", 6),
	   "rank 0 is 52:55:00:00:00:00");
	ok(fabric_addr_mac(65535, mac) == 0 &&
	       !memcmp(mac, "\x52\x55\x00\x00\xff\xff", 6),
	   "rank 65535 is 52:55:00:00:ff:ff");
	ok(fabric_addr_mac(FABRIC_RANK_MAX, mac) == 0 &&
	       !memcmp(mac, "\x52\x55\x00\xff\xff\xfc", 6),
	   "rank 16777212 is 52:55:00:ff:ff:fc");
	ok(fabric_addr_ip(0) == IP4(10, 0, 0, 1), "rank 0 is 10.0.0.1");
	ok(fabric_addr_ip(254) == IP4(10, 0, 0, 255), "rank 254 is 10.0.0.255");
	ok(fabric_addr_ip(255) == IP4(10, 0, 1, 0), "rank 255 is 10.0.1.0");
	ok(fabric_addr_ip(65535) == IP4(10, 1, 0, 0), "rank 65535 is 10.1.0.0");
	ok(fabric_addr_ip(FABRIC_RANK_MAX) == IP4(10, 255, 255, 253),
	   "rank 16777212 is 10.255.255.253");
	ok(fabric_addr_hostname(0, host, sizeof(host)) == 5, "hostname length");
	is_str(host, "n0000", "rank 0 is n0000");
	fabric_addr_hostname(7, host, sizeof(host));
	is_str(host, "n0007", "rank 7 is n0007");
	fabric_addr_hostname(65535, host, sizeof(host));
	is_str(host, "n65535", "rank 65535 is n65535");
	fabric_addr_hostname(FABRIC_RANK_MAX, host, sizeof(host));
	is_str(host, "n16777212", "the highest rank's hostname fits");
}

static void test_round_trips(void)
{
	static const uint32_t ranks[] = {
	    0, 1, 255, 256, 65535, 65536, FABRIC_RANK_MAX};
	uint8_t mac[6];
	size_t i;
	uint32_t r;
	int good = 1;

	for (i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++) {
		r = ranks[i];
		fabric_addr_mac(r, mac);
		ok(fabric_addr_mac_rank(mac, r + 1) == (int)r &&
		       fabric_addr_ip_rank(fabric_addr_ip(r), r + 1) == (int)r,
		   "rank %u round-trips through its MAC and IP", r);
	}
	for (r = 0; r <= FABRIC_RANK_MAX; r += 4099) {
		fabric_addr_mac(r, mac);
		if (fabric_addr_mac_rank(mac, FABRIC_RANKS_MAX) != (int)r ||
		    fabric_addr_ip_rank(fabric_addr_ip(r), FABRIC_RANKS_MAX) !=
			(int)r)
			good = 0;
	}
	ok(good, "every 4099th rank round-trips");
}

static void test_refusals(void)
{
	uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
	char host[8] = "keep";

	/* 16777213 would be 10.255.255.254 (the fabric's own address) and
	 * 16777214 10.255.255.255 (the /8 broadcast): not usable by guests */
	ok(fabric_addr_mac(FABRIC_RANK_MAX + 1, mac) == -EINVAL && mac[0] == 1,
	   "rank 16777213 has no MAC, and mac is untouched");
	ok(fabric_addr_mac(16777214, mac) == -EINVAL, "rank 16777214 neither");
	ok(fabric_addr_ip(FABRIC_RANK_MAX + 1) == 0 &&
	       fabric_addr_ip(16777214) == 0 && fabric_addr_ip(UINT32_MAX) == 0,
	   "no IP above the highest rank");
	ok(fabric_addr_hostname(FABRIC_RANK_MAX + 1, host, sizeof(host)) ==
	       -EINVAL,
	   "no hostname above the highest rank");
	ok(fabric_addr_hostname(123456, host, 7) == -ENOSPC &&
	       !strcmp(host, "keep"),
	   "a short buffer is refused and untouched");
	ok(fabric_addr_hostname(12345, host, 7) == 6, "an exact fit works");

	ok(fabric_addr_mac_rank((const uint8_t *)"\x52\x55\x00\x00\x00\x04",
				4) == -ENOENT,
	   "MAC of rank 4 in a step of 4: no such rank");
	ok(fabric_addr_mac_rank((const uint8_t *)"\x52\x55\x00\x00\x00\x03",
				4) == 3,
	   "MAC of rank 3 in a step of 4");
	ok(fabric_addr_mac_rank((const uint8_t *)"\x52\x54\x00\x12\x34\x56",
				4) == -EINVAL,
	   "QEMU's default MAC is outside the scheme");
	ok(fabric_addr_mac_rank(fabric_server_mac, FABRIC_RANKS_MAX) == -EINVAL,
	   "the fabric's own MAC is no rank");
	ok(fabric_addr_mac_rank((const uint8_t *)"\x52\x55\xff\xff\xff\xff",
				FABRIC_RANKS_MAX) == -EINVAL,
	   "52:55:ff:ff:ff:ff is outside the scheme");
	ok(fabric_addr_mac_rank(fabric_bcast_mac, 4) == -EINVAL,
	   "broadcast is no rank");
	ok(fabric_addr_mac_rank((const uint8_t *)"\x52\x55\x00\x00\x00\x00",
				0) == -ENOENT,
	   "no rank in a step of 0");

	ok(fabric_addr_ip_rank(IP4(10, 0, 0, 0), FABRIC_RANKS_MAX) == -EINVAL,
	   "10.0.0.0 is the network, no rank");
	ok(fabric_addr_ip_rank(IP4(10, 255, 255, 255), FABRIC_RANKS_MAX) ==
	       -EINVAL,
	   "10.255.255.255 is the broadcast, no rank");
	ok(fabric_addr_ip_rank(FABRIC_SERVER_IP, FABRIC_RANKS_MAX) == -EINVAL,
	   "10.255.255.254 is the fabric's, no rank");
	ok(fabric_addr_ip_rank(IP4(11, 0, 0, 1), FABRIC_RANKS_MAX) == -EINVAL &&
	       fabric_addr_ip_rank(IP4(9, 255, 255, 255), FABRIC_RANKS_MAX) ==
		   -EINVAL &&
	       fabric_addr_ip_rank(IP4(192, 168, 0, 1), FABRIC_RANKS_MAX) ==
		   -EINVAL,
	   "addresses outside 10/8 are refused");
	ok(fabric_addr_ip_rank(IP4(10, 0, 0, 5), 4) == -ENOENT,
	   "10.0.0.5 (rank 4) in a step of 4: no such rank");
	ok(fabric_addr_ip_rank(IP4(10, 0, 0, 4), 4) == 3, "10.0.0.4 is rank 3");
}

static void test_group(void)
{
	ok(fabric_addr_mac_is_group(fabric_bcast_mac), "broadcast is a group");
	ok(fabric_addr_mac_is_group(
	       (const uint8_t *)"\x33\x33\x00\x00\x00\x01"),
	   "IPv6 multicast is a group");
	ok(fabric_addr_mac_is_group(
	       (const uint8_t *)"\x01\x00\x5e\x00\x00\x01"),
	   "IPv4 multicast is a group");
	ok(!fabric_addr_mac_is_group(
	       (const uint8_t *)"\x52\x55\x00\x00\x00\x01") &&
	       !fabric_addr_mac_is_group(fabric_server_mac),
	   "rank and server MACs are unicast");
}

int main(void)
{
	test_known();
	test_round_trips();
	test_refusals();
	test_group();
	return done_testing();
}
