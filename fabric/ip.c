/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4 and UDP headers (ip.h). Every length is checked before it is used. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/be.h"
#include "fabric/ip.h"

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

uint16_t fabric_ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += fabric_get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int fabric_udp4_parse(const uint8_t *ip, size_t len, int check_csum,
		      struct fabric_udp *udp)
{
	size_t hlen, tot, ulen;
	uint16_t frag;

	if (len < FABRIC_IP_HLEN || ip[0] >> 4 != 4)
		return -EPROTO;
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	tot = fabric_get_be16(ip + 2);
	/* Ethernet pads short packets: trust the IPv4 total length, within
	 * what was received. */
	if (hlen < FABRIC_IP_HLEN || tot < hlen || tot > len)
		return -EPROTO;
	if (check_csum && fabric_ip_csum(ip, hlen) != 0)
		return -EPROTO;
	frag = fabric_get_be16(ip + 6);
	if (ip[9] != FABRIC_IPPROTO_UDP || (frag & (IP_MF | IP_OFFMASK)))
		return -ENOENT;
	if (tot - hlen < FABRIC_UDP_HLEN)
		return -EPROTO;
	ulen = fabric_get_be16(ip + hlen + 4);
	if (ulen < FABRIC_UDP_HLEN || ulen > tot - hlen)
		return -EPROTO;
	udp->saddr = fabric_get_be32(ip + 12);
	udp->daddr = fabric_get_be32(ip + 16);
	udp->sport = fabric_get_be16(ip + hlen);
	udp->dport = fabric_get_be16(ip + hlen + 2);
	udp->payload = ip + hlen + FABRIC_UDP_HLEN;
	udp->payload_len = ulen - FABRIC_UDP_HLEN;
	return 0;
}

void fabric_udp4_header(uint8_t *ip, uint32_t saddr, uint32_t daddr,
			uint16_t sport, uint16_t dport, size_t payload_len)
{
	uint8_t *udp = ip + FABRIC_IP_HLEN;

	memset(ip, 0, FABRIC_IP_HLEN + FABRIC_UDP_HLEN);
	fabric_put_be16(udp, sport);
	fabric_put_be16(udp + 2, dport);
	fabric_put_be16(udp + 4, (uint16_t)(FABRIC_UDP_HLEN + payload_len));
	ip[0] = 0x45;
	fabric_put_be16(
	    ip + 2, (uint16_t)(FABRIC_IP_HLEN + FABRIC_UDP_HLEN + payload_len));
	ip[8] = 64; /* TTL */
	ip[9] = FABRIC_IPPROTO_UDP;
	fabric_put_be32(ip + 12, saddr);
	fabric_put_be32(ip + 16, daddr);
	fabric_put_be16(ip + 10, fabric_ip_csum(ip, FABRIC_IP_HLEN));
}
