/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The links' backoff: how long a failed connection waits before the next
 * try (link.c). */
#include "config.h"

#include "fabric_int.h"
#include "tap.h"

int main(void)
{
	ok(link_backoff_ms(1) == RETRY_FIRST_MS, "the first retry waits %d ms",
	   RETRY_FIRST_MS);
	ok(link_backoff_ms(2) == 2 * RETRY_FIRST_MS, "the second twice that");
	ok(link_backoff_ms(4) == 8 * RETRY_FIRST_MS, "then it doubles");
	ok(link_backoff_ms(6) == 32 * RETRY_FIRST_MS &&
	       link_backoff_ms(7) == RETRY_MAX_MS,
	   "up to RETRY_MAX_MS (%d ms)", RETRY_MAX_MS);
	ok(link_backoff_ms(1000) == RETRY_MAX_MS &&
	       link_backoff_ms(~0u) == RETRY_MAX_MS,
	   "and stays there, however many failures");
	ok(link_backoff_ms(0) == RETRY_FIRST_MS,
	   "0 failures is the first wait");
	return done_testing();
}
