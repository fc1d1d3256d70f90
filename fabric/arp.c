/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fabric's ARP responder (arp.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/arp.h"
#include "fabric/be.h"
#include "fabric/frame.h"
#include "fabric/guard.h"

#define ARP_HRD_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_LEN 28 /* Ethernet/IPv4 ARP without padding */

/* Offsets in the ARP packet (RFC 826) for Ethernet and IPv4. */
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24

static void build_reply(uint8_t *out, const uint8_t tmac[FABRIC_MAC_LEN],
			uint32_t tip, const uint8_t rmac[FABRIC_MAC_LEN],
			uint32_t rip)
{
	uint8_t *a = out + FABRIC_ETH_HLEN;

	memcpy(out, rmac, FABRIC_MAC_LEN);
	memcpy(out + 6, tmac, FABRIC_MAC_LEN);
	fabric_put_be16(out + 12, FABRIC_ETH_P_ARP);
	fabric_put_be16(a, ARP_HRD_ETHER);
	fabric_put_be16(a + 2, FABRIC_ETH_P_IP);
	a[4] = FABRIC_MAC_LEN;
	a[5] = 4;
	fabric_put_be16(a + 6, ARP_OP_REPLY);
	memcpy(a + ARP_SHA, tmac, FABRIC_MAC_LEN);
	fabric_put_be32(a + ARP_SPA, tip);
	memcpy(a + ARP_THA, rmac, FABRIC_MAC_LEN);
	fabric_put_be32(a + ARP_TPA, rip);
}

ssize_t fabric_arp_reply(const uint8_t *frame, size_t len, uint32_t src,
			 uint32_t nranks, uint8_t *out, size_t out_size)
{
	uint8_t own[FABRIC_MAC_LEN], tmac[FABRIC_MAC_LEN];
	struct fabric_eth eth;
	const uint8_t *a;
	uint32_t sip, tip;
	uint16_t op;
	int target;

	if (nranks > FABRIC_RANKS_MAX || src >= nranks)
		return -EINVAL;
	fabric_addr_mac(src, own);
	if (fabric_eth_parse(frame, len, &eth) < 0 ||
	    eth.type != FABRIC_ETH_P_ARP || eth.payload_len < ARP_LEN)
		return -EPROTO;
	a = eth.payload; /* padding after the 28 bytes is ignored */
	if (fabric_get_be16(a) != ARP_HRD_ETHER ||
	    fabric_get_be16(a + 2) != FABRIC_ETH_P_IP ||
	    a[4] != FABRIC_MAC_LEN || a[5] != 4)
		return -EPROTO;
	op = fabric_get_be16(a + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return -EPROTO;
	/* The route already checked the Ethernet source and the ARP sender
	 * (guard.h); checked again here, this being callable alone. */
	if (memcmp(eth.src, own, FABRIC_MAC_LEN) || fabric_guard_arp(a, src))
		return -EPERM;
	sip = fabric_get_be32(a + ARP_SPA);
	if (op == ARP_OP_REPLY)
		return 0;
	tip = fabric_get_be32(a + ARP_TPA);
	if (tip == fabric_addr_ip(src))
		return 0;
	if (tip == FABRIC_SERVER_IP) {
		memcpy(tmac, fabric_server_mac, FABRIC_MAC_LEN);
	} else {
		target = fabric_addr_ip_rank(tip, nranks);
		if (target < 0)
			return -ENOENT;
		fabric_addr_mac((uint32_t)target, tmac);
	}
	if (out_size < FABRIC_ARP_FRAME_LEN)
		return -ENOSPC;
	build_reply(out, tmac, tip, own, sip);
	return FABRIC_ARP_FRAME_LEN;
}
