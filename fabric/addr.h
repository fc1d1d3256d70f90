/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest addressing on the fabric:
 *
 *	MAC       52:55:<rank as a 32-bit big-endian number>
 *	IPv4      10.a.b.c with (a << 16 | b << 8 | c) == rank + 1, netmask /8
 *	hostname  n%04u of the rank, in the DNS domain FABRIC_DOMAIN ("vm")
 *
 * Two addresses in 10.0.0.0/8 are not ranks: 10.255.255.255 is the
 * subnet's broadcast address and 10.255.255.254 is the fabric's own
 * address (the DHCP server identifier, answered for by ARP). So the
 * highest usable rank is 16777212 (10.255.255.253) and a step has at most
 * FABRIC_RANKS_MAX ranks; the formula alone would give rank 16777214 the
 * broadcast address, which no guest can use. 10.0.0.0 (the network
 * address) is not a rank either: rank 0 is 10.0.0.1.
 *
 * The fabric's own MAC, FABRIC_SERVER_MAC, has the 52:55 prefix but a
 * "rank" above FABRIC_RANK_MAX, so it can never be a guest's.
 *
 * IPv4 addresses are uint32_t in host byte order (10.0.0.1 is 0x0a000001).
 * All functions are pure.
 */
#ifndef SLURM_VM_FABRIC_ADDR_H
#define SLURM_VM_FABRIC_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define FABRIC_MAC_LEN 6
#define FABRIC_RANK_MAX 16777212u
#define FABRIC_RANKS_MAX (FABRIC_RANK_MAX + 1)
#define FABRIC_NET 0x0a000000u	   /* 10.0.0.0 */
#define FABRIC_NETMASK 0xff000000u /* /8 */
#define FABRIC_BCAST_IP 0x0affffffu
#define FABRIC_SERVER_IP 0x0afffffeu
/* "n" and up to 8 digits (FABRIC_RANK_MAX) and the NUL, rounded up. */
#define FABRIC_HOSTNAME_MAX 16
/* The domain DHCP hands out (option 15) and DNS answers under (dns.h):
 * n0001.vm is n0001. One label, lower case. */
#define FABRIC_DOMAIN "vm"

extern const uint8_t fabric_server_mac[FABRIC_MAC_LEN];
extern const uint8_t fabric_bcast_mac[FABRIC_MAC_LEN];

/* Writes rank's MAC to mac. Returns 0, or -EINVAL if rank > FABRIC_RANK_MAX
 * (mac is then untouched). */
int fabric_addr_mac(uint32_t rank, uint8_t mac[FABRIC_MAC_LEN]);

/* Returns rank's IPv4 address (> 0), or 0 if rank > FABRIC_RANK_MAX. */
uint32_t fabric_addr_ip(uint32_t rank);

/*
 * Writes rank's hostname ("n0007") with its NUL to buf. Returns its length
 * without the NUL, -EINVAL if rank > FABRIC_RANK_MAX, or -ENOSPC if it does
 * not fit in size bytes (buf is then untouched).
 */
int fabric_addr_hostname(uint32_t rank, char *buf, size_t size);

/*
 * The rank owning mac in a step of nranks. Returns the rank (>= 0),
 * -EINVAL when mac is outside the scheme (another prefix, or a rank above
 * FABRIC_RANK_MAX, such as FABRIC_SERVER_MAC), or -ENOENT when it is a
 * rank >= nranks.
 */
int fabric_addr_mac_rank(const uint8_t mac[FABRIC_MAC_LEN], uint32_t nranks);

/*
 * The rank owning ip in a step of nranks. Returns the rank (>= 0), -EINVAL
 * when ip is outside the scheme (not in 10.0.0.0/8, or the network,
 * broadcast or server address), or -ENOENT when it is a rank >= nranks.
 */
int fabric_addr_ip_rank(uint32_t ip, uint32_t nranks);

/* True when mac is broadcast or multicast (the group bit is set). */
int fabric_addr_mac_is_group(const uint8_t mac[FABRIC_MAC_LEN]);

#endif
