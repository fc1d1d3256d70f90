/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's side of FRESH (agent_proto.h): a guest restored from a
 * snapshot taken at ready is one of many clones of the same booted guest,
 * and must not share with them what a test could notice. Before the
 * command, the agent sets the clock to the host's present time, mixes the
 * host's fresh random bytes into the kernel's pool (credited as entropy
 * when the agent is root) and writes the new machine-id. The launcher's
 * side makes the message (agent_fresh_send()). Libc only: the static
 * agent links it.
 */
#ifndef SLURM_VM_AGENT_FRESH_H
#define SLURM_VM_AGENT_FRESH_H

#include <stddef.h>

#include "launcher/agent/agent_proto.h"

/*
 * The launcher's side: sends FRESH on the agent channel fd (blocking)
 * with the host's present time, AGENT_FRESH_SEED bytes of getrandom() and
 * a new random machine-id. Returns 0 or -errno with why.
 */
int agent_fresh_send(int fd, char *why, size_t len);

/*
 * Writes id and a newline as dir/machine-id: a new file (O_EXCL, never
 * through a link) renamed over the old one, or, when the old one cannot
 * be replaced (a mount point), written in place without following a
 * link. Returns 0 or -errno with why naming the step.
 */
int agent_fresh_machine_id(const char *dir, const char *id, char *why,
			   size_t len);

/*
 * Applies f to this guest: the clock, the random pool, /etc/machine-id.
 * Every step is tried. Returns 0, or the first failure's -errno with why
 * naming it.
 */
int agent_fresh_apply(const struct agent_fresh *f, char *why, size_t len);

#endif
