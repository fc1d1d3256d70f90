/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's memory on the node: by default the task's share of what Slurm
 * gave the step there, and never more than that share. Pure arithmetic.
 */
#ifndef SLURM_VM_TASK_MEM_H
#define SLURM_VM_TASK_MEM_H

#include <stddef.h>

struct task_mem {
	unsigned long step_mb;	  /* Slurm's memory for the step on this node,
				   * 0 when Slurm allocated none */
	unsigned long job_mb;	  /* the same for the job, used without it */
	unsigned long tasks;	  /* the step's tasks on this node */
	unsigned long default_mb; /* plugstack.conf default_mem */
	unsigned long max_mb;	  /* plugstack.conf max_mem, 0: no limit */
};

/*
 * Chooses the guest memory in MB. asked is the user's --vm-mem for this
 * rank (NULL or "" when not given). Without it: the task's share (step
 * memory, else job memory, over the node's tasks), else default_mb, never
 * above max_mb. With it: asked, unless it exceeds the share. Returns 0 and
 * sets *mb, or -EINVAL with a message giving the numbers and the fix.
 */
int task_mem_choose(const struct task_mem *t, const char *asked,
		    unsigned long *mb, char *err, size_t errlen);

#endif
