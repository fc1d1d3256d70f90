/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugin in srun and sbatch (submit.c). */
#ifndef SLURM_VM_SUBMIT_H
#define SLURM_VM_SUBMIT_H

#include <slurm/spank.h>

#include "spank/request.h"
#include "spank/site.h"

/*
 * True when this srun asks for VMs. It runs before options are parsed, so
 * it looks at what it can see: srun's own command line, the SLURMVM_*
 * variables, and the options sbatch passed down to the job.
 */
int submit_wants_vm(void);

/*
 * srun and sbatch: completes req from the SLURMVM_* variables, refuses a
 * bad request before the job exists (logging why) and exports it to the
 * job's environment. Returns 0 or -1.
 */
int submit_validate(struct request *req, const struct site_config *site);

/*
 * A restore needs the snapshot's task count. srun knows the step's only
 * once the job exists (S_JOB_TOTAL_TASK_COUNT is not available before
 * local_user_init); where it is not known, the node refuses it. Returns 0,
 * or -1 after logging why.
 */
int submit_check_tasks(spank_t sp, const struct request *req);

#endif
