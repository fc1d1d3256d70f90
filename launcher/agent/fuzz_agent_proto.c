/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for what either side parses: frames, EXEC payloads and
 * FRESH payloads (the agent's side), SPAWN, WINCH and CREDIT.
 * contrib/check-sanitizers builds and runs it (its fuzz_targets list names the
 * sources).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "launcher/agent/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_msg m;
	struct agent_exec ex;
	struct agent_fresh f;
	struct agent_spawn sp;
	unsigned rows, cols;
	uint32_t credit;
	size_t off = 0;
	ssize_t n;

	while ((n = agent_msg_parse(data + off, size - off, &m)) > 0) {
		if (m.type == AGENT_EXEC &&
		    agent_exec_decode(m.data, m.len, &ex) == 0)
			agent_exec_free(&ex);
		if (m.type == AGENT_FRESH)
			agent_fresh_decode(&m, &f);
		if (m.type == AGENT_SPAWN && agent_spawn_decode(&m, &sp) == 0)
			agent_spawn_free(&sp);
		agent_winch_decode(&m, &rows, &cols);
		agent_credit_decode(&m, &credit);
		off += (size_t)n;
	}
	if (agent_exec_decode(data, size, &ex) == 0)
		agent_exec_free(&ex);
	return 0;
}
