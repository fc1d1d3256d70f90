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

/*
 * The job epilog's part in snapshots. For each directory the job's
 * launchers recorded on this node (<rundir>/slurm-vm.<job>.snapdirs,
 * snapdir.h), as root: gives the job's entries there (snap.<job>.* and
 * .partial.<job>.* and the files directly in them) that another user owns
 * to uid:gid, only in a directory uid owns, never through a link or to a
 * file with other hard links. Then, as uid:gid in a child: publishes a
 * .partial.<job>.* save whose manifest is complete and whose files have
 * their sizes (the step ended between the two) when it is newer than the
 * latest, removes every other .partial.<job>.* (a failed or killed save),
 * checks the sizes of every snap.<job>.* against its manifest, and
 * removes the .snapdirs file. Calls log(arg, line) for each thing it did
 * or found. Returns how many directories it handled.
 */
int cleanup_snapshots(const char *rundir, uint32_t job, uid_t uid, gid_t gid,
		      void (*log)(void *arg, const char *line), void *arg);

#endif
