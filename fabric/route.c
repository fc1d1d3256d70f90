/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The routing decision (route.h): a pure function of the headers. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/dhcp.h"
#include "fabric/dns.h"
#include "fabric/frame.h"
#include "fabric/guard.h"
#include "fabric/ip.h"
#include "fabric/route.h"

static const char *const action_names[FABRIC_NACTIONS] = {
    [FABRIC_UNICAST] = "unicast",
    [FABRIC_BROADCAST] = "broadcast",
    [FABRIC_LOCAL_ARP] = "arp",
    [FABRIC_LOCAL_DHCP] = "dhcp",
    [FABRIC_LOCAL_DNS] = "dns",
    [FABRIC_DROP_MALFORMED] = "malformed",
    [FABRIC_DROP_BAD_SOURCE] = "bad_source",
    [FABRIC_DROP_NO_RANK] = "no_rank",
    [FABRIC_DROP_LOOP] = "loop",
    [FABRIC_DROP_ROGUE_DHCP] = "rogue_dhcp",
    [FABRIC_DROP_SPOOFED] = "spoofed",
    [FABRIC_DROP_TAGGED] = "tagged",
};

int fabric_action_is_drop(int action)
{
	return action >= FABRIC_DROP_MALFORMED && action < FABRIC_NACTIONS;
}

const char *fabric_action_name(int action)
{
	if (action < 0 || action >= FABRIC_NACTIONS)
		return "?";
	return action_names[action];
}

/* DHCP to or from a server port, or DNS to the fabric; a malformed IPv4
 * packet is not ours to judge and is switched like any frame. */
static int local_action(const struct fabric_eth *eth)
{
	struct fabric_udp udp;

	if (eth->type != FABRIC_ETH_P_IP ||
	    fabric_udp4_parse(eth->payload, eth->payload_len, 0, &udp) < 0)
		return -1;
	if (udp.dport == FABRIC_DHCP_SERVER_PORT)
		return FABRIC_LOCAL_DHCP;
	if (udp.sport == FABRIC_DHCP_SERVER_PORT &&
	    udp.dport == FABRIC_DHCP_CLIENT_PORT)
		return FABRIC_DROP_ROGUE_DHCP;
	if (udp.daddr == FABRIC_SERVER_IP && udp.dport == FABRIC_DNS_PORT)
		return FABRIC_LOCAL_DNS;
	return -1;
}

int fabric_route(const uint8_t *frame, size_t len, uint32_t src,
		 uint32_t nranks, uint32_t *dst)
{
	uint8_t own[FABRIC_MAC_LEN];
	struct fabric_eth eth;
	int action, rank;

	if (nranks > FABRIC_RANKS_MAX || src >= nranks)
		return -EINVAL;
	if (fabric_eth_parse(frame, len, &eth) < 0)
		return FABRIC_DROP_MALFORMED;
	fabric_addr_mac(src, own);
	if (memcmp(eth.src, own, FABRIC_MAC_LEN))
		return FABRIC_DROP_BAD_SOURCE;
	action = fabric_guard(&eth, src);
	if (action)
		return action;
	if (eth.type == FABRIC_ETH_P_ARP)
		return FABRIC_LOCAL_ARP;
	action = local_action(&eth);
	if (action >= 0)
		return action;
	if (fabric_addr_mac_is_group(eth.dst))
		return FABRIC_BROADCAST;
	rank = fabric_addr_mac_rank(eth.dst, nranks);
	if (rank < 0)
		return FABRIC_DROP_NO_RANK;
	if ((uint32_t)rank == src)
		return FABRIC_DROP_LOOP;
	*dst = (uint32_t)rank;
	return FABRIC_UNICAST;
}
