/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the mount list the launcher reads from its environment
 * (SLURMVM_MOUNTS) and the set-up entries the agent takes from an EXEC.
 * Not built by default (contrib/check-sanitizers builds and runs it):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ilauncher \
 *     launcher/fuzz_agent_setup.c launcher/agent_setup.c \
 *     launcher/guest_setup.c launcher/launch_config.c launcher/parse.c \
 *     -o fuzz-agent-setup
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/agent/agent_setup.h"
#include "launcher/boot/launch_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256];
	const char *p, *src, *dst;
	size_t srclen, dstlen;
	struct agent_setup st;
	char *env[4];
	int ro;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	for (p = s;
	     config_next_mount(&p, &src, &srclen, &dst, &dstlen, &ro) > 0;)
		;
	env[0] = s;
	env[1] = "SLURMVM_AGENT_MOUNTS=x";
	env[2] = s;
	env[3] = NULL;
	agent_setup_take(env, &st, err, sizeof(err));
	free(s);
	return 0;
}
