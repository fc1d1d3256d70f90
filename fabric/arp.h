/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's ARP responder. Guest addresses are fixed by rank (addr.h),
 * so the fabric knows every answer: it replies to a guest's ARP request on
 * behalf of the target rank and never floods the request (DESIGN.md).
 * Pure: request bytes in, reply bytes out.
 */
#ifndef SLURM_VM_FABRIC_ARP_H
#define SLURM_VM_FABRIC_ARP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Ethernet header and an Ethernet/IPv4 ARP packet, unpadded. */
#define FABRIC_ARP_FRAME_LEN 42

/*
 * Answers the ARP frame[0..len) that rank src (of nranks) sent.
 *
 * Returns the reply's length (FABRIC_ARP_FRAME_LEN) written to out, for
 * a request whose target is another existing rank (the reply names that
 * rank's MAC and IP) or the fabric's own address FABRIC_SERVER_IP (so a
 * DHCP client can renew by unicast). The reply goes to the requester only.
 *
 * Returns 0, writing nothing, for valid ARP that needs no answer: a reply,
 * or a request about src's own address (a gratuitous ARP, or the RFC 5227
 * probe a DHCP client makes for its new address: answering it would make
 * the guest decline its address).
 *
 * Fails, writing nothing, with
 *	-EINVAL	 src >= nranks or nranks > FABRIC_RANKS_MAX (a caller bug);
 *	-EPROTO	 not an Ethernet/IPv4 ARP packet, or cut short;
 *	-EPERM	 the Ethernet source or the ARP sender MAC is not src's, or
 *		 the sender IP is neither src's nor 0.0.0.0 (a probe);
 *	-ENOENT	 the target IP is no rank of this step (the request is
 *		 dropped, never flooded);
 *	-ENOSPC	 out_size < FABRIC_ARP_FRAME_LEN.
 */
ssize_t fabric_arp_reply(const uint8_t *frame, size_t len, uint32_t src,
			 uint32_t nranks, uint8_t *out, size_t out_size);

#endif
