/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source guard: a guest speaks only as itself. The route (route.h)
 * has already checked that the Ethernet source is the sender's own MAC;
 * the guard checks every address the frame claims above Ethernet. Pure:
 * it reads the frame and decides, nothing else.
 *
 * Per EtherType, a frame from rank src passes when
 *	IPv4	  its source is src's address (addr.h), or 0.0.0.0 in a
 *		  DHCP message (UDP 68 -> 67: a client before its lease);
 *	ARP	  it is Ethernet/IPv4 ARP whose sender MAC is src's and
 *		  whose sender IP is src's, or 0.0.0.0 (an RFC 5227 probe);
 *	IPv6	  its source is src's link-local address (EUI-64 of its MAC,
 *		  fabric_guard_ll6()), or :: (duplicate address detection,
 *		  and MLD reports sent before the link-local is ready); and,
 *		  for neighbour discovery, see below;
 *	802.1Q, 802.1ad and the older 0x9100 tag: never (DROP_TAGGED);
 *	anything else: always, as before the guard.
 *
 * IPv6 on the fabric is link-local only: the fabric answers DHCPv4 and
 * nothing else, sends no router advertisement, and no guest is a router
 * (the guard drops their advertisements), so no guest gets a global or
 * unique local address by SLAAC or DHCPv6, and one set by hand has no
 * route anywhere but the segment, where the link-local address serves.
 * Allowing only the link-local address keeps the rule one address per
 * guest, as for IPv4. A guest that derives its link-local address some
 * other way (stable-privacy or random addr_gen_mode) has no IPv6 on the
 * fabric; IPv4, which DHCP configures, is unaffected.
 *
 * Neighbour discovery (ICMPv6, after any extension headers) must claim
 * only src's addresses: every source or target link-layer address option
 * names src's MAC; a neighbour advertisement's target is src's
 * link-local; a neighbour solicitation from :: (duplicate address
 * detection) asks only about src's link-local, since a probe for another
 * guest's address is how that guest would be made to give it up. Router
 * advertisements and redirects are dropped: only a router sends them and
 * the segment has none. Neighbour discovery in a fragment is dropped too
 * (RFC 6980: receivers must ignore it, and its options could not all be
 * seen).
 *
 * What carries a packet inside another (IP-in-IP, GRE, MPLS, PPPoE) is let
 * through: it reaches only a receiver that set up that tunnel itself and
 * knows the outer source, which the guard has checked (or, for MPLS and
 * PPPoE, which the receiver has to enable). A VLAN tag is different: a
 * receiver with a VLAN device takes the inner packet as any other, the
 * fabric answers nothing on a VLAN, and looking through stacked tags is
 * a parser for no user; so tagged frames are dropped and counted apart.
 *
 * Every byte is bounds-checked: a frame too short for the header or field
 * the rule needs, an IPv6 packet longer than its frame, or a broken
 * extension header or ND option is dropped as malformed, since no
 * receiver would accept it either.
 */
#ifndef SLURM_VM_FABRIC_GUARD_H
#define SLURM_VM_FABRIC_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/frame.h"

#define FABRIC_IPV6_ALEN 16

/*
 * Judges the Ethernet frame eth (parsed by fabric_eth_parse()) that rank
 * src sent, its Ethernet source already checked. Returns 0 when it may go
 * on, or the drop: FABRIC_DROP_SPOOFED, FABRIC_DROP_TAGGED or
 * FABRIC_DROP_MALFORMED (route.h). Returns -EINVAL if src >
 * FABRIC_RANK_MAX.
 */
int fabric_guard(const struct fabric_eth *eth, uint32_t src);

/*
 * The ARP rule alone, for arp.h: arp points at an Ethernet/IPv4 ARP packet
 * of at least 28 bytes whose format the caller has checked. Returns 0 when
 * the sender MAC is src's and the sender IP src's or 0.0.0.0, else
 * -EPERM.
 */
int fabric_guard_arp(const uint8_t *arp, uint32_t src);

/*
 * Writes rank's IPv6 link-local address to ll: fe80::/64 with the
 * modified EUI-64 interface identifier of its MAC (RFC 4291 appendix A:
 * ff:fe in the middle, the universal/local bit flipped), so 52:55:00:00:00:01
 * gives fe80::5055:ff:fe00:1. Returns 0, or -EINVAL if rank >
 * FABRIC_RANK_MAX (ll untouched).
 */
int fabric_guard_ll6(uint32_t rank, uint8_t ll[FABRIC_IPV6_ALEN]);

#endif
