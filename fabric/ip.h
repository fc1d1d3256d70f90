/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Just enough IPv4 and UDP for the fabric's local answers: find a UDP
 * datagram in an Ethernet payload (to recognise DHCP) and compute the
 * IPv4 header checksum (to build DHCP answers). Pure functions.
 */
#ifndef SLURM_VM_FABRIC_IP_H
#define SLURM_VM_FABRIC_IP_H

#include <stddef.h>
#include <stdint.h>

#define FABRIC_IP_HLEN 20 /* without options */
#define FABRIC_UDP_HLEN 8
#define FABRIC_IPPROTO_UDP 17

/* A UDP datagram; payload points into the caller's bytes. */
struct fabric_udp {
	uint32_t saddr, daddr; /* host byte order */
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t payload_len;
};

/*
 * Finds the UDP datagram in the IPv4 packet ip[0..len) (an Ethernet
 * payload, which may carry padding after the packet). Returns 0 and fills
 * udp; -ENOENT when it is a valid IPv4 packet but not UDP or a fragment
 * (only a first fragment has a UDP header, and the fabric reassembles
 * nothing); -EPROTO when the IPv4 or UDP header is malformed or cut short.
 * The header checksum is checked only when check_csum is non-zero.
 */
int fabric_udp4_parse(const uint8_t *ip, size_t len, int check_csum,
		      struct fabric_udp *udp);

/* The Internet checksum (RFC 1071) of p[0..len), ready to store
 * big-endian; over a header holding its own checksum it is 0. */
uint16_t fabric_ip_csum(const uint8_t *p, size_t len);

/*
 * Writes an IPv4 header (no options, TTL 64, with its checksum) and a UDP
 * header (checksum 0, allowed for IPv4) at ip, for payload_len bytes of
 * UDP payload that follow. Addresses and ports in host byte order; the
 * caller makes room for FABRIC_IP_HLEN + FABRIC_UDP_HLEN bytes.
 */
void fabric_udp4_header(uint8_t *ip, uint32_t saddr, uint32_t daddr,
			uint16_t sport, uint16_t dport, size_t payload_len);

#endif
