/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Big-endian loads and stores: the one byte-order codec of the tree (the
 * fabric's wire, the agent protocol). Header-only and dependency-free. Byte
 * by byte, so they need no alignment and read exactly the bytes named.
 * Callers bounds-check before calling.
 */
#ifndef SLURM_VM_FABRIC_BE_H
#define SLURM_VM_FABRIC_BE_H

#include <stdint.h>

static inline uint16_t fabric_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t fabric_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void fabric_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void fabric_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
