/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for --vm-keep-dir patterns (keep_path()), which come from
 * users' options and job environments. Not built by default (see
 * contrib/check-sanitizers):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     launcher/boot/fuzz_keep_path.c launcher/boot/keep.c \
 *     launcher/common/safefile.c fabric/stats.c fabric/addr.c \
 *     fabric/route.c fabric/frame.c fabric/guard.c fabric/ip.c \
 *     $(pkg-config --libs jansson) -o fuzz-keep-path
 *   ./fuzz-keep-path -max_total_time=60
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/boot/keep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), small[16], big[4096];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	/* A buffer too small for most and one of the launcher's size: the
	 * result always ends inside it. */
	if (keep_path(s, 4294967295UL, 123, small, sizeof(small)) == 0 &&
	    strlen(small) >= sizeof(small))
		abort();
	if (keep_path(s, 1, 0, big, sizeof(big)) == 0 &&
	    strlen(big) >= sizeof(big))
		abort();
	free(s);
	return 0;
}
