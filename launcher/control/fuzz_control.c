/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for what slurm-vm-control and the control socket parse from
 * outside: /proc stat lines, run directory names (any file name in the
 * run directory), rank lists (the user's). Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     launcher/control/fuzz_control.c launcher/control/control.c \
 *     launcher/control/ctl_find.c launcher/common/loop.c -ljansson \
 *     -o fuzz-control
 *   ./fuzz-control -max_total_time=60
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/control/control.h"
#include "launcher/control/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	unsigned long long ticks;
	unsigned long j, st, r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	control_parse_stat(s, &ticks);
	ctl_parse_rundir(s, &j, &st, &r);
	for (r = 0; r < 4; r++)
		ctl_rank_in(s, r);
	free(s);
	return 0;
}
