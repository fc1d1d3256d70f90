/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for what rank 0's agent parses from the network: a
 * slurm-vm-sync request line. contrib/check-sanitizers builds and runs it.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "launcher/agent/sync_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[SYNC_LINE_MAX + 16];
	struct sync_req r;

	if (sync_req_parse((const char *)data, size, &r) == 0 &&
	    sync_req_format(&r, line, sizeof(line)) < 0)
		__builtin_trap(); /* what parses must be writable again */
	return 0;
}
