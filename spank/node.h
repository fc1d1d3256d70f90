/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugin in slurmstepd, per task (node.c). */
#ifndef SLURM_VM_NODE_H
#define SLURM_VM_NODE_H

#include <slurm/spank.h>

#include "spank/site.h"

/* True for a task of a user's step whose environment asks for a VM. */
int node_is_vm_task(spank_t sp);

/*
 * A VM task, just before Slurm execs it: resolves its rank's values, holds
 * them to the site's policy again, sets the launcher's variables and makes
 * the launcher the task's argv[0] (the task's own travels in
 * SLURMVM_ARGV0). Returns 0, or -1 after logging why (the task fails).
 */
int node_task_init(spank_t sp, const struct site_config *site);

/* A VM task ended: removes what its launcher left in the run directory
 * (when it was killed), through the helper, as the job's user. */
void node_task_exit(spank_t sp, const struct site_config *site);

#endif
