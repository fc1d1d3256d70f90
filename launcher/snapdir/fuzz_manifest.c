/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for what a restore reads from the user's directory: a
 * snapshot's manifest and one rank's entry. contrib/check-sanitizers builds
 * and runs it (its fuzz_targets list names the sources).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "launcher/snapdir/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_manifest m;
	char err[512];

	if (manifest_parse((const char *)data, size, 0, "fuzz", &m, err,
			   sizeof(err)) == 0)
		manifest_free(&m);
	if (manifest_parse((const char *)data, size, 1, "fuzz", &m, err,
			   sizeof(err)) == 0)
		manifest_free(&m);
	return 0;
}
