/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-mount=SRC[:DST][:ro|rw]: host directories each guest mounts
 * (repeatable, and comma-separated within one option). SRC is a host
 * directory (relative to where srun runs), DST the absolute path in the
 * guest (default: SRC made absolute), rw by default. "none" turns off
 * the default mount of the directory srun or sbatch ran in.
 *
 * Checked (request_check_mounts() in request_int.h), the list the job's
 * environment carries in SLURMVM_MOUNTS is canonical: "none" on a line of
 * its own when given, then one mount a line, "SRC:DST:ro" or
 * "SRC:DST:rw", SRC resolved with realpath(), DST normalized; the site's
 * mounts= and the default mount of the directory srun ran in included.
 */
#ifndef SLURM_VM_MOUNTS_H
#define SLURM_VM_MOUNTS_H

#include <limits.h>
#include <stddef.h>

/* The most mounts one guest gets. */
#define MOUNT_MAX 32

struct mount_entry {
	char src[PATH_MAX]; /* host directory */
	char dst[PATH_MAX]; /* guest path; "" until checked: SRC's */
	int ro;
};

/*
 * Parses one entry SRC[:DST][:ro|rw] (no ',' or newline in it) into m,
 * syntax only. Returns 0 or -EINVAL with the reason (without the label)
 * in err.
 */
int mount_parse(const char *entry, struct mount_entry *m, char *err,
		size_t errlen);

/*
 * Checks a guest path and normalizes it in place (no repeated or trailing
 * '/'): absolute, no "." or ".." component, not /, nor /proc, /sys, /dev
 * or below them. Returns 0 or -EINVAL with the reason in err.
 */
int mount_guest_path(char *dst, char *err, size_t errlen);

/*
 * Checks the syntax of a list of entries (comma- or newline-separated;
 * "none" allowed) with absolute host paths, as plugstack.conf mounts=
 * holds: each entry parses and its guest path is valid. Nothing is looked
 * up on disk. Returns 0 or -EINVAL with "ENTRY: reason" in err.
 */
int mount_list_syntax(const char *list, char *err, size_t errlen);

#endif
