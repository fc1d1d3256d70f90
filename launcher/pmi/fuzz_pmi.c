/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for what the PMI service parses: a guest command's request
 * bytes, fed in pieces whose sizes the input chooses, and the exchange
 * blob that comes from other launchers. Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ilauncher/pmi \
 *     launcher/pmi/fuzz_pmi.c launcher/pmi/pmi_wire.c \
 *     launcher/pmi/pmi_server.c -o fuzz-pmi
 *   ./fuzz-pmi -max_total_time=60
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "launcher/pmi/pmi_server.h"
#include "launcher/pmi/pmi_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmi_server_config c = {
	    .rank = 1, .size = 3, .kvsname = "kvs_1_0", .kvs_bytes_max = 4096};
	struct pmi_server *s;
	const char *p = (const char *)data;
	char err[256];
	size_t off = 0, n, step;
	ssize_t r;

	s = pmi_server_create(&c);
	if (!s)
		return 0;
	while (off < size) {
		/* The first byte of each piece chooses its length. */
		step = 1 + (data[off] % 64) * 17;
		off++;
		n = size - off < step ? size - off : step;
		r = pmi_server_feed(s, p + off, n, err, sizeof(err));
		if (r < 0)
			break;
		pmi_server_out(s, &n);
		pmi_server_out_done(s, n);
		if (pmi_server_state(s) == PMI_IN_BARRIER) {
			/* The rest of the input is the exchange. */
			pmi_server_barrier_done(s, p + off, size - off, err,
						sizeof(err));
			pmi_server_puts(s, &n);
		}
		off += (size_t)r;
		if (r == 0 && pmi_server_state(s) != PMI_RUNNING)
			break;
	}
	pmi_server_destroy(s);
	return 0;
}
