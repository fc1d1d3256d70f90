/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's DNS answer (RFC 1035): every guest resolves every other
 * guest's hostname with no guest-side setup. DHCP names FABRIC_SERVER_IP
 * as the DNS server and FABRIC_DOMAIN as the domain (dhcp.h); the names
 * are fixed by rank (addr.h), so, as for ARP and DHCP, the answer is a
 * pure function of the query and the step's size: no zone, no state.
 *
 * For a query (QR 0, OPCODE 0, one question) of class IN or ANY, about
 *	nNNNN or nNNNN.vm, the exact hostname of a rank < nranks
 *	(case-insensitive, so "N0001.VM" too, and n12345 for rank 12345;
 *	n00001 and n1 are no hostname):
 *		QTYPE A or ANY	-> NOERROR, one A record, TTL FABRIC_DNS_TTL;
 *		any other QTYPE	-> NOERROR with no answer (so a resolver
 *				   asking for AAAA does not wait for one);
 *	any other name of one label, or ending in .vm
 *				-> NXDOMAIN: the fabric is the authority;
 *	a name outside that zone (example.com, n0001.example)
 *				-> REFUSED: not the fabric's to answer, so a
 *				   resolver asks its next server (the NAT's,
 *				   when the guest has the outside network)
 *				   instead of taking "no such name";
 * and REFUSED for another class, NOTIMP (the header alone) for another
 * OPCODE. Every answer echoes the ID, the OPCODE, RD and the question
 * exactly as asked (resolvers that randomise the case of the name check
 * it), and sets QR, AA (the fabric is the authority for everything a
 * guest can reach) and RA (its answers are final; a stub asking for
 * recursion gets no warning). The question must be plain: no
 * compression pointer, labels of at most 63 bytes, a name of at most 255.
 * Whatever follows the question (an EDNS OPT record in the additional
 * section) is ignored and the answer carries no OPT; a DNS message is
 * never longer than 512 bytes, so it is never truncated.
 *
 * The answer goes from fabric_server_mac / FABRIC_SERVER_IP, UDP port 53,
 * to the guest's MAC and IP, the query's source port. The UDP checksum is
 * 0 (allowed for IPv4); the IPv4 header checksum is set. The caller hands
 * the answer to the querying guest only.
 */
#ifndef SLURM_VM_FABRIC_DNS_H
#define SLURM_VM_FABRIC_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FABRIC_DNS_PORT 53
#define FABRIC_DNS_TTL 86400 /* a rank's address never changes */
/* A bound on every answer: Ethernet, IPv4, UDP, the DNS header, a question
 * of the longest name (255) with its type and class, and one A record with
 * its name compressed (2 + 10 + 4). Only a short name gets a record, so the
 * longest real answer (an NXDOMAIN for a 255-byte name) is 16 bytes less. */
#define FABRIC_DNS_FRAME_MAX (14 + 20 + 8 + 12 + 255 + 4 + 16)

/*
 * Answers the frame[0..len) that rank src (of nranks) sent to
 * FABRIC_SERVER_IP, UDP port FABRIC_DNS_PORT.
 *
 * Returns the answer's length (> 0, at most FABRIC_DNS_FRAME_MAX) written
 * to out. Returns 0, writing nothing, for a DNS response (QR set): a
 * guest's answer is never answered.
 * Fails, writing nothing, with
 *	-EINVAL	 src >= nranks or nranks > FABRIC_RANKS_MAX (a caller bug);
 *	-EPROTO	 not one unfragmented IPv4/UDP packet to FABRIC_SERVER_IP,
 *		 port 53, with a valid IPv4 header checksum; a DNS header cut
 *		 short; for OPCODE 0, a QDCOUNT other than 1 or a question
 *		 that is cut short or not plain (see above);
 *	-EPERM	 the Ethernet source is not src's MAC or the IPv4 source is
 *		 not src's address;
 *	-ENOSPC	 out_size is smaller than the answer (FABRIC_DNS_FRAME_MAX
 *		 always suffices).
 * Reads nothing outside frame[0..len).
 */
ssize_t fabric_dns_reply(const uint8_t *frame, size_t len, uint32_t src,
			 uint32_t nranks, uint8_t *out, size_t out_size);

#endif
