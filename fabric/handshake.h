/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The handshake that opens every connection between two fabrics of one
 * step. Both sides prove they know the acceptor's secret (from its PMIx
 * card, which only the step's members can read) over fresh challenges, so
 * another job, a stray client or a replayed handshake is refused.
 *
 *	acceptor  -> connector  HELLO  "SVMF" u8 version u8[3] 0
 *				       u32 acceptor rank, u8[16] challenge A
 *	connector -> acceptor   AUTH   "SVMF" u8 version u8[3] 0
 *				       u32 source rank, u32 destination rank,
 *				       u8[16] challenge C,
 *				       u8[32] HMAC-SHA256(secret, "C" A src dst)
 *	acceptor  -> connector  PROOF  u8[32] HMAC-SHA256(secret, "A" C src dst)
 *	connector -> acceptor   CONFIRM "SVMC"
 *
 * Integers are big-endian. The connector sends frames right after CONFIRM,
 * the acceptor only once CONFIRM has come: a connector may give up on a
 * slow handshake until it has PROOF, and what the acceptor sent on a
 * connection given up on would be lost unseen.
 */
#ifndef SLURM_VM_FABRIC_HANDSHAKE_H
#define SLURM_VM_FABRIC_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/boot.h"

#define HS_CHALLENGE_LEN 16
#define HS_MAC_LEN 32
#define HS_HELLO_LEN (8 + 4 + HS_CHALLENGE_LEN)
#define HS_AUTH_LEN (8 + 4 + 4 + HS_CHALLENGE_LEN + HS_MAC_LEN)
#define HS_PROOF_LEN HS_MAC_LEN
#define HS_CONFIRM_LEN 4

extern const uint8_t hs_confirm[HS_CONFIRM_LEN];

/* The acceptor's HELLO; challenge is filled with fresh random bytes. */
int hs_hello(uint32_t acceptor, uint8_t challenge[HS_CHALLENGE_LEN],
	     uint8_t out[HS_HELLO_LEN]);

/*
 * The connector's AUTH in answer to hello, for the link src -> dst where
 * dst's secret is given. Fills challenge with fresh bytes to check PROOF.
 * Returns 0, or -EPROTO when hello is not dst's.
 */
int hs_auth(const uint8_t hello[HS_HELLO_LEN], uint32_t src, uint32_t dst,
	    const uint8_t secret[BOOT_SECRET_LEN],
	    uint8_t challenge[HS_CHALLENGE_LEN], uint8_t out[HS_AUTH_LEN]);

/*
 * The acceptor checks AUTH against its own rank, secret and challenge, and
 * that the source is a rank of the step. Returns the source rank (>= 0)
 * and fills proof, or -EACCES.
 */
int64_t hs_check_auth(const uint8_t auth[HS_AUTH_LEN], uint32_t self,
		      uint32_t nranks, const uint8_t secret[BOOT_SECRET_LEN],
		      const uint8_t challenge[HS_CHALLENGE_LEN],
		      uint8_t proof[HS_PROOF_LEN]);

/* The connector checks PROOF. Returns 0 or -EACCES. */
int hs_check_proof(const uint8_t proof[HS_PROOF_LEN], uint32_t src,
		   uint32_t dst, const uint8_t secret[BOOT_SECRET_LEN],
		   const uint8_t challenge[HS_CHALLENGE_LEN]);

/* Fresh random bytes for secrets and challenges. Returns 0 or -errno. */
int hs_random(uint8_t *buf, size_t len);

#endif
