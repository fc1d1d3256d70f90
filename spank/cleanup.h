/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Removing what launchers left on a node: their run directories (overlay,
 * console log, QMP socket) and, in the job epilog, any QEMU still running
 * for the job.
 */
#ifndef SLURM_VM_CLEANUP_H
#define SLURM_VM_CLEANUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Removes every directory matching rundir/slurm-vm.<which>* that belongs
 * to uid, where which is "JOB." or "JOB.STEP.RANK.". Runs as uid/gid in a
 * child (when called as root), so a path the user controls can never make
 * root remove anything. Returns how many directories were removed.
 */
int cleanup_rundirs(const char *rundir, const char *which, uid_t uid,
		    gid_t gid);

/*
 * Kills (SIGKILL) every process of uid whose command line holds
 * "-name slurm-vm.JOB.": the job's QEMUs. Returns how many.
 */
int cleanup_qemus(uint32_t job, uid_t uid);

#endif
