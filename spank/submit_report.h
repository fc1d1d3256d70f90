/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * srun's side of --vm-report: before the tasks start, a records directory
 * beside the report (.slurm-vm-report.JOB.STEP.XXXXXX, the user's own,
 * 0700) for the launchers' rank records, passed to them in
 * SLURMVM_REPORT_DIR; when srun ends, the helper program turns the records
 * into the report and removes the directory.
 */
#ifndef SLURM_VM_SPANK_REPORT_H
#define SLURM_VM_SPANK_REPORT_H

#include <slurm/spank.h>

#include "spank/request.h"
#include "spank/site.h"

/* srun, once the step exists. Returns 0, or -1 (logged). */
int report_begin(spank_t sp, const struct request *req);

/* srun, at its exit: writes the report (logs what the helper said). */
void report_end(const struct site_config *site);

#endif
