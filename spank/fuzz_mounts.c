/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for mount entries, which come from users' options, job
 * environments and plugstack.conf. Not built by default
 * (contrib/check-sanitizers builds and runs it):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ispank \
 *     spank/fuzz_mounts.c spank/mounts.c -o fuzz-mounts
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spank/mounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256];
	struct mount_entry m;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	mount_list_syntax(s, err, sizeof(err));
	if (!strpbrk(s, ",\n") && mount_parse(s, &m, err, sizeof(err)) == 0 &&
	    m.dst[0])
		mount_guest_path(m.dst, err, sizeof(err));
	free(s);
	return 0;
}
