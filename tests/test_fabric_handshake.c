/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The connection handshake: members get in, strangers and replays do not. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/handshake.h"
#include "tap.h"

int main(void)
{
	uint8_t secret[BOOT_SECRET_LEN], other[BOOT_SECRET_LEN];
	uint8_t chal_a[HS_CHALLENGE_LEN], chal_c[HS_CHALLENGE_LEN];
	uint8_t chal_a2[HS_CHALLENGE_LEN];
	uint8_t hello[HS_HELLO_LEN], hello2[HS_HELLO_LEN], auth[HS_AUTH_LEN];
	uint8_t bad[HS_AUTH_LEN], proof[HS_PROOF_LEN];

	hs_random(secret, sizeof(secret));
	hs_random(other, sizeof(other));
	/* Rank 1 connects to rank 3 of a 4-rank step. */
	ok(hs_hello(3, chal_a, hello) == 0, "the acceptor says hello");
	ok(hs_auth(hello, 1, 2, secret, chal_c, auth) == -EPROTO,
	   "the connector refuses a hello from the wrong rank");
	ok(hs_auth(hello, 1, 3, secret, chal_c, auth) == 0,
	   "the connector answers with its proof");
	ok(hs_check_auth(auth, 3, 4, secret, chal_a, proof) == 1,
	   "the acceptor admits rank 1");
	ok(hs_check_proof(proof, 1, 3, secret, chal_c) == 0,
	   "the connector admits the acceptor");
	ok(hs_check_proof(proof, 1, 3, other, chal_c) == -EACCES,
	   "a proof under another secret is refused");

	ok(hs_auth(hello, 1, 3, other, chal_c, bad) == 0 &&
	       hs_check_auth(bad, 3, 4, secret, chal_a, proof) == -EACCES,
	   "a client without the step's secret is refused");
	hs_hello(3, chal_a2, hello2);
	ok(hs_check_auth(auth, 3, 4, secret, chal_a2, proof) == -EACCES,
	   "a replayed handshake fails against a fresh challenge");
	memcpy(bad, auth, sizeof(bad));
	bad[11] = 9; /* source rank 9 */
	ok(hs_check_auth(bad, 3, 4, secret, chal_a, proof) == -EACCES,
	   "a source rank outside the step is refused");
	hs_auth(hello, 3, 3, secret, chal_c, bad);
	ok(hs_check_auth(bad, 3, 4, secret, chal_a, proof) == -EACCES,
	   "a connection claiming to come from the acceptor is refused");
	memcpy(bad, auth, sizeof(bad));
	bad[40] ^= 1;
	ok(hs_check_auth(bad, 3, 4, secret, chal_a, proof) == -EACCES,
	   "one flipped bit in the MAC is refused");
	return done_testing();
}
