/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for rank specs, which come from users' options and job
 * environments. Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ispank \
 *     spank/fuzz_rankspec.c spank/rankspec.c -o fuzz-rankspec
 *   ./fuzz-rankspec -max_total_time=60
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spank/rankspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[64], err[256];
	struct rankspec rs;
	unsigned long rank;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (rankspec_parse(s, &rs, err, sizeof(err)) == 0)
		for (rank = 0; rank < 8; rank++)
			rankspec_find(&rs, rank);
	rankspec_resolve(s, size, out, sizeof(out), err, sizeof(err));
	free(s);
	return 0;
}
