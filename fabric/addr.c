/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest addressing: rank <-> MAC, IPv4 and hostname (addr.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/be.h"

/* 0x52 is a locally administered unicast first octet, as QEMU's 52:54. */
#define MAC_PREFIX0 0x52
#define MAC_PREFIX1 0x55

const uint8_t fabric_server_mac[FABRIC_MAC_LEN] = {
    MAC_PREFIX0, MAC_PREFIX1, 0xff, 0xff, 0xff, 0xfe};
const uint8_t fabric_bcast_mac[FABRIC_MAC_LEN] = {0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff};

int fabric_addr_mac(uint32_t rank, uint8_t mac[FABRIC_MAC_LEN])
{
	if (rank > FABRIC_RANK_MAX)
		return -EINVAL;
	mac[0] = MAC_PREFIX0;
	mac[1] = MAC_PREFIX1;
	fabric_put_be32(mac + 2, rank);
	return 0;
}

uint32_t fabric_addr_ip(uint32_t rank)
{
	if (rank > FABRIC_RANK_MAX)
		return 0;
	return FABRIC_NET | (rank + 1);
}

int fabric_addr_hostname(uint32_t rank, char *buf, size_t size)
{
	char tmp[FABRIC_HOSTNAME_MAX];
	int n;

	if (rank > FABRIC_RANK_MAX)
		return -EINVAL;
	n = snprintf(tmp, sizeof(tmp), "n%04u", (unsigned int)rank);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

int fabric_addr_mac_rank(const uint8_t mac[FABRIC_MAC_LEN], uint32_t nranks)
{
	uint32_t rank;

	if (mac[0] != MAC_PREFIX0 || mac[1] != MAC_PREFIX1)
		return -EINVAL;
	rank = fabric_get_be32(mac + 2);
	if (rank > FABRIC_RANK_MAX)
		return -EINVAL;
	if (rank >= nranks)
		return -ENOENT;
	return (int)rank;
}

int fabric_addr_ip_rank(uint32_t ip, uint32_t nranks)
{
	uint32_t host = ip & ~FABRIC_NETMASK;
	uint32_t rank;

	/* host 0 is the network address; the top two are not ranks either */
	if ((ip & FABRIC_NETMASK) != FABRIC_NET || host == 0)
		return -EINVAL;
	rank = host - 1;
	if (rank > FABRIC_RANK_MAX)
		return -EINVAL;
	if (rank >= nranks)
		return -ENOENT;
	return (int)rank;
}

int fabric_addr_mac_is_group(const uint8_t mac[FABRIC_MAC_LEN])
{
	return mac[0] & 1;
}
