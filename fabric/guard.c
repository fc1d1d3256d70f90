/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The source guard (guard.h). Every offset is checked against the end of
 * the bytes it may read before it is read. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/be.h"
#include "fabric/frame.h"
#include "fabric/guard.h"
#include "fabric/ip.h"
#include "fabric/route.h"

#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1 0x9100 /* the stacked tag before 802.1ad */

#define ARP_LEN 28 /* Ethernet/IPv4 ARP without padding */
#define ARP_SHA 8
#define ARP_SPA 14

#define IP6_HLEN 40
#define IP6_SRC 8
#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_ICMP6 58
#define NH_DSTOPTS 60
/* Real stacks send at most a few; more is a way to hide what follows. */
#define IP6_EXT_MAX 8

#define ND_RS 133
#define ND_RA 134
#define ND_NS 135
#define ND_NA 136
#define ND_REDIRECT 137
#define ND_HLEN 24 /* NS and NA: type to target */
#define ND_TARGET 8
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2

#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67

int fabric_guard_ll6(uint32_t rank, uint8_t ll[FABRIC_IPV6_ALEN])
{
	uint8_t mac[FABRIC_MAC_LEN];

	if (fabric_addr_mac(rank, mac) < 0)
		return -EINVAL;
	memset(ll, 0, FABRIC_IPV6_ALEN);
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = mac[0] ^ 0x02; /* the universal/local bit */
	ll[9] = mac[1];
	ll[10] = mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = mac[3];
	ll[14] = mac[4];
	ll[15] = mac[5];
	return 0;
}

int fabric_guard_arp(const uint8_t *arp, uint32_t src)
{
	uint8_t own[FABRIC_MAC_LEN];
	uint32_t sip;

	if (fabric_addr_mac(src, own) < 0)
		return -EPERM;
	sip = fabric_get_be32(arp + ARP_SPA);
	if (memcmp(arp + ARP_SHA, own, FABRIC_MAC_LEN) ||
	    (sip != 0 && sip != fabric_addr_ip(src)))
		return -EPERM;
	return 0;
}

static int guard_arp(const struct fabric_eth *eth, uint32_t src)
{
	const uint8_t *a = eth->payload;

	/* What the ARP responder would refuse as malformed anyway. */
	if (eth->payload_len < ARP_LEN || fabric_get_be16(a) != 1 ||
	    fabric_get_be16(a + 2) != FABRIC_ETH_P_IP ||
	    a[4] != FABRIC_MAC_LEN || a[5] != 4)
		return FABRIC_DROP_MALFORMED;
	return fabric_guard_arp(a, src) ? FABRIC_DROP_SPOOFED : 0;
}

static int guard_ip4(const struct fabric_eth *eth, uint32_t src)
{
	const uint8_t *ip = eth->payload;
	struct fabric_udp udp;
	uint32_t saddr;

	if (eth->payload_len < FABRIC_IP_HLEN || ip[0] >> 4 != 4 ||
	    (ip[0] & 0x0f) < 5)
		return FABRIC_DROP_MALFORMED;
	saddr = fabric_get_be32(ip + 12);
	if (saddr == fabric_addr_ip(src))
		return 0;
	if (saddr == 0 &&
	    fabric_udp4_parse(ip, eth->payload_len, 0, &udp) == 0 &&
	    udp.sport == DHCP_CLIENT_PORT && udp.dport == DHCP_SERVER_PORT)
		return 0;
	return FABRIC_DROP_SPOOFED;
}

/* Every link-layer address option in p[off..end) must name own. */
static int guard_nd_options(const uint8_t *p, size_t off, size_t end,
			    const uint8_t own[FABRIC_MAC_LEN])
{
	size_t olen;

	while (off < end) {
		if (end - off < 2)
			return FABRIC_DROP_MALFORMED;
		olen = (size_t)p[off + 1] * 8;
		/* A zero length makes receivers drop the whole message. */
		if (olen == 0 || olen > end - off)
			return FABRIC_DROP_MALFORMED;
		if ((p[off] == ND_OPT_SLLA || p[off] == ND_OPT_TLLA) &&
		    (olen < 2 + FABRIC_MAC_LEN ||
		     memcmp(p + off + 2, own, FABRIC_MAC_LEN)))
			return FABRIC_DROP_SPOOFED;
		off += olen;
	}
	return 0;
}

/* The ICMPv6 message at p[off..end): neighbour discovery claims only
 * src's addresses (guard.h). */
static int guard_icmp6(const uint8_t *p, size_t off, size_t end,
		       int unspecified, int fragment, uint32_t src)
{
	uint8_t own[FABRIC_MAC_LEN], ll[FABRIC_IPV6_ALEN];
	uint8_t type;

	if (off >= end)
		return FABRIC_DROP_MALFORMED;
	type = p[off];
	if (type < ND_RS || type > ND_REDIRECT)
		return 0;
	if (fragment || type == ND_RA || type == ND_REDIRECT)
		return FABRIC_DROP_SPOOFED;
	fabric_addr_mac(src, own);
	fabric_guard_ll6(src, ll);
	if (type == ND_RS)
		return end - off < 8 ? FABRIC_DROP_MALFORMED
				     : guard_nd_options(p, off + 8, end, own);
	if (end - off < ND_HLEN)
		return FABRIC_DROP_MALFORMED;
	/* An advertisement names the sender's own address; a solicitation
	 * from :: is duplicate address detection for the sender's own. */
	if ((type == ND_NA || unspecified) &&
	    memcmp(p + off + ND_TARGET, ll, FABRIC_IPV6_ALEN))
		return FABRIC_DROP_SPOOFED;
	return guard_nd_options(p, off + ND_HLEN, end, own);
}

static int guard_ip6(const struct fabric_eth *eth, uint32_t src)
{
	static const uint8_t any[FABRIC_IPV6_ALEN];
	const uint8_t *p = eth->payload;
	uint8_t ll[FABRIC_IPV6_ALEN];
	size_t off = IP6_HLEN, end, hlen;
	int unspecified, fragment = 0, n;
	uint8_t nh;

	if (eth->payload_len < IP6_HLEN || p[0] >> 4 != 6)
		return FABRIC_DROP_MALFORMED;
	/* Ethernet may pad: the payload length counts, within the frame. A
	 * packet longer than its frame is dropped by every receiver. */
	end = IP6_HLEN + (size_t)fabric_get_be16(p + 4);
	if (end > eth->payload_len)
		return FABRIC_DROP_MALFORMED;
	fabric_guard_ll6(src, ll);
	unspecified = !memcmp(p + IP6_SRC, any, FABRIC_IPV6_ALEN);
	if (!unspecified && memcmp(p + IP6_SRC, ll, FABRIC_IPV6_ALEN))
		return FABRIC_DROP_SPOOFED;
	nh = p[6];
	for (n = 0; n <= IP6_EXT_MAX; n++) {
		switch (nh) {
		case NH_ICMP6:
			return guard_icmp6(p, off, end, unspecified, fragment,
					   src);
		case NH_HOP:
		case NH_ROUTING:
		case NH_DSTOPTS:
		case NH_AH:
		case NH_FRAGMENT:
			break;
		default: /* an upper layer, or nothing: no ND here */
			return 0;
		}
		if (end - off < 8)
			return FABRIC_DROP_MALFORMED;
		if (nh == NH_FRAGMENT) {
			/* A later fragment has no headers to look at; the
			 * first says what the reassembled packet is. */
			if (fabric_get_be16(p + off + 2) >> 3)
				return 0;
			fragment = 1;
			hlen = 8;
		} else if (nh == NH_AH) {
			hlen = ((size_t)p[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)p[off + 1] + 1) * 8;
		}
		if (hlen > end - off)
			return FABRIC_DROP_MALFORMED;
		nh = p[off];
		off += hlen;
	}
	return FABRIC_DROP_MALFORMED;
}

int fabric_guard(const struct fabric_eth *eth, uint32_t src)
{
	if (src > FABRIC_RANK_MAX)
		return -EINVAL;
	switch (eth->type) {
	case FABRIC_ETH_P_IP:
		return guard_ip4(eth, src);
	case FABRIC_ETH_P_ARP:
		return guard_arp(eth, src);
	case ETH_P_IPV6:
		return guard_ip6(eth, src);
	case ETH_P_8021Q:
	case ETH_P_8021AD:
	case ETH_P_QINQ1:
		return FABRIC_DROP_TAGGED;
	default:
		return 0;
	}
}
