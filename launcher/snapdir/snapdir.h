/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A snapshot directory DIR (the user's --vm-snapshot=DIR):
 *
 *   DIR/.partial.<job>.<step>.<seq>/   a save in progress (or a failed one)
 *   DIR/snap.<job>.<step>.<seq>/       a complete snapshot (manifest.h)
 *   DIR/latest -> snap.<job>.<step>.<seq>   the newest good one
 *
 * A save writes into its .partial directory, the manifest last, then
 * snap_publish() renames it to its final name, swings latest to it (a
 * new symbolic link renamed over the old one: never absent, never
 * dangling) and only then removes the snapshot latest pointed to before.
 * Whatever fails or is killed before the swing leaves latest and what it
 * points to as they were.
 *
 * Each launcher also notes, on its node, every snapshot directory its
 * step used, in <rundir>/slurm-vm.<job>.snapdirs (one absolute path a
 * line), for the job epilog: the step is gone when that runs.
 */
#ifndef SLURM_VM_SNAPDIR_H
#define SLURM_VM_SNAPDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "launcher/common/safefile.h"

#define SNAP_LATEST "latest"
#define SNAP_PREFIX "snap."
#define SNAP_PARTIAL_PREFIX ".partial."
/* <rundir>/slurm-vm.<job> + this: the epilog's list of directories. */
#define SNAP_RECORD_SUFFIX ".snapdirs"

enum snap_state { SNAP_COMPLETE, SNAP_PARTIAL };

struct snap_name {
	enum snap_state state;
	uint32_t job, step, seq;
};

/*
 * Formats "snap.J.S.Q" or ".partial.J.S.Q" into buf. Returns 0 or
 * -ENAMETOOLONG.
 */
int snap_name_format(const struct snap_name *n, char *buf, size_t len);

/*
 * Parses a directory entry's name as one of the two forms above, strictly
 * (decimal numbers without sign or leading zeros, nothing after). Returns
 * 0 and fills n, or -EINVAL.
 */
int snap_name_parse(const char *name, struct snap_name *n);

/*
 * The next free sequence number for job.step in snapdir: one more than
 * the largest found in either form, 1 when none. Returns it, or -errno
 * when snapdir cannot be read.
 */
long snap_next_seq(const char *snapdir, uint32_t job, uint32_t step);

/*
 * Publishes snapdir/partial (a name, no '/'), which must hold a manifest:
 * renames it to snapdir/final_name (which must not exist), swings
 * snapdir/latest to it, fsyncs snapdir, then removes the snapshot latest
 * named before (when it was another snap.* directory). Returns 0, or
 * -errno with a message; before the swing nothing of the old snapshot
 * has changed. A failure to remove the old one is not an error (err
 * holds a note, and the return is 1).
 */
int snap_publish(const char *snapdir, const char *partial,
		 const char *final_name, char *err, size_t errlen);

/*
 * Resolves snapdir/latest to the absolute path of a complete snapshot
 * (a snap.* directory holding manifest.json) into out. Returns 0, or
 * -ENOENT (no snapshot yet), -EINVAL (latest is not a link to a
 * snapshot) or -errno, with a message.
 */
int snap_latest(const char *snapdir, char *out, size_t len, char *err,
		size_t errlen);

/*
 * What --vm-restore=PATH restores: PATH itself when it holds a manifest
 * (a snapshot directory), else snap_latest(PATH). Returns as snap_latest.
 */
int snap_resolve(const char *path, char *out, size_t len, char *err,
		 size_t errlen);

/*
 * Creates the new save's own directory snapdir/.partial.<job>.<step>.<seq>
 * (mode 0700), trying seq = first, first + 1, ... (up to 64 names): a name
 * that exists already (a failed save's, or one another user planted) is
 * never adopted. Returns the seq used, or -errno with a message; the name
 * made is formatted into name (len bytes).
 */
long snap_partial_create(const char *snapdir, uint32_t job, uint32_t step,
			 uint32_t first, char *name, size_t len, char *err,
			 size_t errlen);

/* Formats <rundir>/slurm-vm.<job>.snapdirs into out. 0 or -ENAMETOOLONG. */
int snap_record_path(const char *rundir, unsigned long job, char *out,
		     size_t len);

/*
 * Adds dir (absolute) to <rundir>/slurm-vm.<job>.snapdirs unless it is
 * there already; safe against the other launchers of the node doing the
 * same (an exclusive lock on the file). The file is created 0600, with
 * O_EXCL; one that exists is used only when it is this user's own regular
 * file (rundir is often /tmp). Returns 0 or -errno: -ELOOP (a symbolic
 * link), -EINVAL (not a regular file), -EPERM (another user's).
 */
int snap_record_dir(const char *rundir, unsigned long job, const char *dir);

/*
 * Splits the text of a .snapdirs file into its lines: calls each(line,
 * arg) once for every distinct absolute path shorter than 4096 bytes,
 * in order; other lines are skipped. Returns how many it passed on.
 */
int snap_record_parse(const char *text, size_t len,
		      void (*each)(const char *dir, void *arg), void *arg);

#endif
