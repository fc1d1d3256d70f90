/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's DHCP server (RFC 2131/2132). Every guest's address is fixed
 * by its rank (addr.h), so there is no lease table: the answer is a pure
 * function of the request and the sender's rank, and any stock image with
 * a DHCP client joins the network with no guest-side script.
 *
 *	DISCOVER		-> OFFER of the rank's address
 *	REQUEST for it		-> ACK
 *	REQUEST for another	-> NAK
 *	REQUEST naming another server, DECLINE, RELEASE, INFORM -> nothing
 *
 * OFFER and ACK carry: yiaddr (the rank's IP), subnet mask 255.0.0.0,
 * broadcast address 10.255.255.255, host name n%04u, domain name
 * FABRIC_DOMAIN ("vm"), the DNS server FABRIC_SERVER_IP (answered by
 * dns.h, so every guest resolves every other's host name), the interface
 * MTU when one is given, an infinite lease, and the server identifier
 * FABRIC_SERVER_IP (10.255.255.254, an address no rank has; addr.h).
 * The lease is infinite because the address can never change for the
 * step's life: a client never needs to renew, so the fabric sees no DHCP
 * after boot. No router is offered: the segment is private and has no
 * way out. The domain name is what DHCP clients that write resolv.conf
 * (dhclient, NetworkManager) take as the search list, so "n0001" is
 * tried as "n0001.vm" too; the DNS answer takes both forms.
 *
 * Answers are sent from FABRIC_SERVER_IP / fabric_server_mac to
 * 255.255.255.255 / ff:ff:ff:ff:ff:ff, UDP 67 -> 68, which every client
 * receives whether or not it has an address yet. The caller hands the
 * answer to the requesting guest only. The UDP checksum is 0 (allowed
 * for IPv4); the IPv4 header checksum is set.
 */
#ifndef SLURM_VM_FABRIC_DHCP_H
#define SLURM_VM_FABRIC_DHCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FABRIC_DHCP_SERVER_PORT 67
#define FABRIC_DHCP_CLIENT_PORT 68
/* Every answer: Ethernet, IPv4, UDP and a BOOTP message padded to the
 * 300 bytes that RFC 1542 relays and old clients expect. */
#define FABRIC_DHCP_FRAME_LEN (14 + 20 + 8 + 300)
#define FABRIC_DHCP_LEASE_INFINITE 0xffffffffu

enum fabric_dhcp_type {
	FABRIC_DHCPDISCOVER = 1,
	FABRIC_DHCPOFFER = 2,
	FABRIC_DHCPREQUEST = 3,
	FABRIC_DHCPDECLINE = 4,
	FABRIC_DHCPACK = 5,
	FABRIC_DHCPNAK = 6,
	FABRIC_DHCPRELEASE = 7,
	FABRIC_DHCPINFORM = 8,
};

/*
 * Answers the frame[0..len) that rank src (of nranks) sent to UDP port 67.
 * mtu is the interface MTU to offer (option 26), or 0 to offer none.
 *
 * Returns the answer's length (FABRIC_DHCP_FRAME_LEN) written to out and,
 * if type is not NULL, sets *type to FABRIC_DHCPOFFER, _ACK or _NAK.
 * Returns 0, writing nothing, for a valid message that needs no answer.
 * Fails, writing nothing, with
 *	-EINVAL	 src >= nranks, nranks > FABRIC_RANKS_MAX, or 0 < mtu < 68;
 *	-EPROTO	 not a well-formed BOOTREQUEST in one unfragmented IPv4/UDP
 *		 packet to port 67 with a valid IPv4 header checksum, with
 *		 DHCP options inside their bounds and a message type;
 *	-EPERM	 the Ethernet source or chaddr is not src's MAC, or the
 *		 message came through a relay (giaddr set);
 *	-ENOSPC	 out_size < FABRIC_DHCP_FRAME_LEN.
 */
ssize_t fabric_dhcp_reply(const uint8_t *frame, size_t len, uint32_t src,
			  uint32_t nranks, uint16_t mtu, uint8_t *out,
			  size_t out_size, uint8_t *type);

#endif
