/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The routing decision for one frame a guest sent: the fabric is one
 * learning-free switch whose table is the addressing scheme (addr.h).
 *
 * In order of precedence, a frame from rank src is
 *	DROP_MALFORMED	  shorter than an Ethernet header;
 *	DROP_BAD_SOURCE	  its source MAC is not src's own;
 *	DROP_SPOOFED	  it claims another address above Ethernet: an IPv4,
 *			  ARP or IPv6 source, or a neighbour discovery
 *			  address, that is not src's (guard.h);
 *	DROP_TAGGED	  it carries a VLAN tag (guard.h says why);
 *	DROP_MALFORMED	  too short for the header the guard must read;
 *	LOCAL_ARP	  any untagged ARP: answered by arp.h, never flooded
 *			  (guests never see each other's requests, so no
 *			  guest has a reason to send ARP to another);
 *	LOCAL_DHCP	  IPv4 UDP to port 67: answered by dhcp.h, never
 *			  forwarded, whatever its destination MAC;
 *	DROP_ROGUE_DHCP	  IPv4 UDP from port 67 to port 68: a DHCP server
 *			  inside a guest; the fabric is the only one;
 *	LOCAL_DNS	  IPv4 UDP to FABRIC_SERVER_IP port 53: answered by
 *			  dns.h, never forwarded, whatever its destination
 *			  MAC (DNS to a guest's address is that guest's);
 *	BROADCAST	  to a group MAC (broadcast and multicast): to every
 *			  other rank;
 *	DROP_NO_RANK	  to a MAC outside the scheme (the fabric's own MAC
 *			  included) or of a rank >= nranks;
 *	DROP_LOOP	  to src's own MAC: a switch never sends a frame back
 *			  out of the port it came in on;
 *	UNICAST		  to the rank owning the destination MAC.
 *
 * For LOCAL_ARP, LOCAL_DHCP and LOCAL_DNS the caller hands the frame to
 * fabric_arp_reply(), fabric_dhcp_reply() or fabric_dns_reply() and writes
 * any answer to src's guest only. IPv4 fragments are switched by MAC like
 * any other (the guard needs only the IPv4 header): the local answers are
 * for whole packets.
 */
#ifndef SLURM_VM_FABRIC_ROUTE_H
#define SLURM_VM_FABRIC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/addr.h"

enum fabric_action {
	FABRIC_UNICAST,
	FABRIC_BROADCAST,
	FABRIC_LOCAL_ARP,
	FABRIC_LOCAL_DHCP,
	FABRIC_LOCAL_DNS,
	/* The drops come last (fabric_action_is_drop()). */
	FABRIC_DROP_MALFORMED,
	FABRIC_DROP_BAD_SOURCE,
	FABRIC_DROP_NO_RANK,
	FABRIC_DROP_LOOP,
	FABRIC_DROP_ROGUE_DHCP,
	FABRIC_DROP_SPOOFED,
	FABRIC_DROP_TAGGED,
	FABRIC_NACTIONS
};

/*
 * Decides what to do with frame[0..len) sent by rank src in a step of
 * nranks. Returns an enum fabric_action (>= 0) and, for FABRIC_UNICAST,
 * sets *dst to the destination rank (dst is untouched otherwise). Returns
 * -EINVAL if src >= nranks or nranks > FABRIC_RANKS_MAX. Reads the
 * Ethernet header, what the guard reads (guard.h) and, for IPv4, the IPv4
 * and UDP headers.
 */
int fabric_route(const uint8_t *frame, size_t len, uint32_t src,
		 uint32_t nranks, uint32_t *dst);

/* True for the FABRIC_DROP_* actions. */
int fabric_action_is_drop(int action);

/* A short lower-case name of action ("unicast", "no_rank"), or "?" for a
 * value outside the enum. Static storage. */
const char *fabric_action_name(int action);

#endif
