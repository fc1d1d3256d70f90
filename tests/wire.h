/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Byte helpers for tests that build and check frames by hand. The checksum
 * is written out again here so the fabric's own is not trusted.
 */
#ifndef SLURM_VM_TESTS_WIRE_H
#define SLURM_VM_TESTS_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071. */
static inline uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline void set_ip_csum(uint8_t *ip, size_t hlen)
{
	ip[10] = ip[11] = 0;
	put16(ip + 10, csum(ip, hlen));
}

#endif
