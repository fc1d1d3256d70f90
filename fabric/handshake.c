/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fabric/be.h"
#include "fabric/handshake.h"

static const uint8_t magic[8] = {'S', 'V', 'M', 'F', 2, 0, 0, 0};
const uint8_t hs_confirm[HS_CONFIRM_LEN] = {'S', 'V', 'M', 'C'};

int hs_random(uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* HMAC-SHA256(secret, role | challenge | src | dst). */
static int mac(const uint8_t secret[BOOT_SECRET_LEN], char role,
	       const uint8_t challenge[HS_CHALLENGE_LEN], uint32_t src,
	       uint32_t dst, uint8_t out[HS_MAC_LEN])
{
	uint8_t msg[1 + HS_CHALLENGE_LEN + 8];
	unsigned int len = HS_MAC_LEN;

	msg[0] = (uint8_t)role;
	memcpy(msg + 1, challenge, HS_CHALLENGE_LEN);
	fabric_put_be32(msg + 1 + HS_CHALLENGE_LEN, src);
	fabric_put_be32(msg + 5 + HS_CHALLENGE_LEN, dst);
	return HMAC(EVP_sha256(), secret, BOOT_SECRET_LEN, msg, sizeof(msg),
		    out, &len) &&
		       len == HS_MAC_LEN
		   ? 0
		   : -EIO;
}

int hs_hello(uint32_t acceptor, uint8_t challenge[HS_CHALLENGE_LEN],
	     uint8_t out[HS_HELLO_LEN])
{
	int r = hs_random(challenge, HS_CHALLENGE_LEN);

	if (r < 0)
		return r;
	memcpy(out, magic, sizeof(magic));
	fabric_put_be32(out + 8, acceptor);
	memcpy(out + 12, challenge, HS_CHALLENGE_LEN);
	return 0;
}

int hs_auth(const uint8_t hello[HS_HELLO_LEN], uint32_t src, uint32_t dst,
	    const uint8_t secret[BOOT_SECRET_LEN],
	    uint8_t challenge[HS_CHALLENGE_LEN], uint8_t out[HS_AUTH_LEN])
{
	if (memcmp(hello, magic, sizeof(magic)) ||
	    fabric_get_be32(hello + 8) != dst)
		return -EPROTO;
	if (hs_random(challenge, HS_CHALLENGE_LEN) < 0)
		return -EIO;
	memcpy(out, magic, sizeof(magic));
	fabric_put_be32(out + 8, src);
	fabric_put_be32(out + 12, dst);
	memcpy(out + 16, challenge, HS_CHALLENGE_LEN);
	return mac(secret, 'C', hello + 12, src, dst,
		   out + 16 + HS_CHALLENGE_LEN);
}

int64_t hs_check_auth(const uint8_t auth[HS_AUTH_LEN], uint32_t self,
		      uint32_t nranks, const uint8_t secret[BOOT_SECRET_LEN],
		      const uint8_t challenge[HS_CHALLENGE_LEN],
		      uint8_t proof[HS_PROOF_LEN])
{
	uint8_t want[HS_MAC_LEN];
	uint32_t src = fabric_get_be32(auth + 8);

	if (memcmp(auth, magic, sizeof(magic)) ||
	    fabric_get_be32(auth + 12) != self || src >= nranks || src == self)
		return -EACCES;
	if (mac(secret, 'C', challenge, src, self, want) < 0 ||
	    CRYPTO_memcmp(want, auth + 16 + HS_CHALLENGE_LEN, HS_MAC_LEN))
		return -EACCES;
	if (mac(secret, 'A', auth + 16, src, self, proof) < 0)
		return -EACCES;
	return src;
}

int hs_check_proof(const uint8_t proof[HS_PROOF_LEN], uint32_t src,
		   uint32_t dst, const uint8_t secret[BOOT_SECRET_LEN],
		   const uint8_t challenge[HS_CHALLENGE_LEN])
{
	uint8_t want[HS_MAC_LEN];

	if (mac(secret, 'A', challenge, src, dst, want) < 0 ||
	    CRYPTO_memcmp(want, proof, HS_MAC_LEN))
		return -EACCES;
	return 0;
}
