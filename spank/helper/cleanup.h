/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Removing what launchers left on a node: their run directories (overlay,
 * console log, QMP socket), any QEMU still running for the job, and the
 * job's unfinished snapshots. The helper program calls these after it has
 * become the job's user, so nothing here acts with more rights than the
 * user has: a path the user wrote can only lead it where the user could go.
 */
#ifndef SLURM_VM_CLEANUP_H
#define SLURM_VM_CLEANUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Removes every directory rundir/slurm-vm.<which>* owned by uid (never
 * through a link), where which is "JOB." or "JOB.STEP.RANK.". Returns how
 * many were removed.
 */
int cleanup_rundirs(const char *rundir, const char *which, uid_t uid);

/*
 * Kills (SIGKILL, through a pidfd taken before the check, so a PID reused
 * meanwhile is never hit) every process of uid whose command line holds
 * "-name slurm-vm.JOB.": the job's QEMUs. Returns how many.
 */
int cleanup_qemus(uint32_t job, uid_t uid);

/*
 * The job's snapshots on this node. For each directory the job's launchers
 * recorded (<rundir>/slurm-vm.<job>.snapdirs, snapdir.h; used only when it
 * is uid's own regular file): publishes a .partial.<job>.* save whose
 * manifest is complete and whose files have their sizes (the step ended
 * between the two) when it is newer than the latest, removes every other
 * .partial.<job>.* (a failed or killed save), checks the sizes of every
 * snap.<job>.* against its manifest, and removes the record (also one
 * that is not a regular file: as the job's user, only the user's own goes).
 * Calls log(arg, line) for each thing it did or found. Returns how many
 * directories it handled.
 */
int cleanup_snapshots(const char *rundir, uint32_t job, uid_t uid,
		      void (*log)(void *arg, const char *line), void *arg);

#endif
