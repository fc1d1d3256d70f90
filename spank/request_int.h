/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the request module: what request.c (the options, their paths and
 * values), request_snap.c (--vm-snapshot and --vm-restore) and the
 * snapshot probe share. Not for the plugin's other parts.
 */
#ifndef SLURM_VM_REQUEST_INT_H
#define SLURM_VM_REQUEST_INT_H

#include <stddef.h>

#include "spank/request.h"
#include "spank/site.h"

/* How the user named a field, for messages: "--vm-mem" or "SLURMVM_MEM". */
const char *request_named(const struct request *r, enum request_field f);

/* True for the fields that name files: image, kernel, initrd, disk. */
int request_is_path(enum request_field f);

/*
 * Checks every entry of a per-guest field f (request_guest.c): files exist
 * and are what f needs, counts are counts, the site's image_dirs hold
 * (with cwd NULL: the node's second check, paths already absolute).
 * Returns 0, or -errno with a message in err.
 */
int request_check_field(struct request *r, enum request_field f,
			const struct site_config *site, const char *cwd,
			char *err, size_t errlen);

/* Makes buf (a path) absolute against cwd, in place. Returns 0 or -EINVAL
 * with a message naming label in err. */
int request_absolute(char *buf, size_t len, const char *cwd, const char *label,
		     char *err, size_t errlen);

/* True when path is the admin's own default for f (not held to the users'
 * image_dirs). */
int request_site_default(const struct site_config *site, enum request_field f,
			 const char *path);

/* r's value of f: a directory the user can write to, made absolute against
 * cwd. Returns 0, -EINVAL with a message ending in fix, or -ENOMEM. */
int request_check_dir(struct request *r, enum request_field f, const char *cwd,
		      const char *fix, char *err, size_t errlen);

/* --vm-report=FORMAT:PATH and --vm-report-name (request_report.c): the
 * format is known, PATH is made absolute, its directory exists and is
 * writable, its file name uses only the known patterns; the name is
 * printable. */
int request_check_report(struct request *r, const char *cwd, char *err,
			 size_t errlen);

/*
 * --vm-timeout, --vm-keep and --vm-keep-dir (request_run.c): the timeout
 * a whole number of seconds from 1 to LAUNCH_TIMEOUT_MAX_S within the
 * site's max_timeout=, for a command in a guest (not --vm-exec=host or
 * endpoint); keep is fail or always; keep-dir comes with keep, uses only
 * %j, %s and %%, is made absolute against cwd, and its parent (when it
 * has no pattern) is a directory the user can write to. Returns 0,
 * -EINVAL with a message naming the option, the value and the fix, or
 * -ENOMEM.
 */
int request_check_run(struct request *r, const struct site_config *site,
		      const char *cwd, char *err, size_t errlen);

/* The timeout alone, on the node (the job's environment may have been
 * set without srun's check). Returns 0 or -EINVAL with a message. */
int request_check_timeout(const struct request *r,
			  const struct site_config *site, char *err,
			  size_t errlen);

/* --vm-snapshot=DIR and the options that refine it (request_snap.c).
 * Returns 0 or -EINVAL/-ENOMEM with a message. */
int request_check_snapshot(struct request *r, const char *cwd, char *err,
			   size_t errlen);

/*
 * --vm-mount (request_mount.c): the user's mounts, the site's mounts= and
 * the default mount of cwd (the directory srun runs in; NULL on the node,
 * where the list is canonical already and only checked again), each
 * checked and held to mount_dirs; replaces the value by the canonical list
 * (mounts.h), or unsets it when there is none. Returns 0, or -EINVAL with
 * a message naming the option, the value and the fix, or -ENOMEM.
 */
int request_check_mounts(struct request *r, const struct site_config *site,
			 const char *cwd, char *err, size_t errlen);

/* --vm-restore: the snapshot it names, read and checked against the site
 * and ntasks (0: not known yet); cwd is NULL on the node, where the value
 * is absolute already (request_snap.c). Returns 0 or -errno with a
 * message. */
int request_check_restore_in(struct request *r, const struct site_config *site,
			     const char *cwd, unsigned long ntasks, char *err,
			     size_t errlen);

/*
 * The part of a --vm-restore check that reads the snapshot: resolves given
 * (an absolute directory: one snapshot, or a directory of them whose
 * "latest" names one) into snap, reads its manifest, holds each rank's
 * image, kernel, initrd (unchanged since, within image_dirs), memory and
 * vCPUs to the site's policy, and sets *ntasks. Returns 0 or -errno with a
 * message naming r's option in err.
 *
 * It has two homes by design: spank/helper/probe.c reads the manifest (the
 * helper program and the unit tests link it); spank/helper_run.c, in the
 * plugin, runs the helper program for it, so that srun and slurmstepd
 * load no JSON or crypto library and never parse a user's file in-process.
 */
int request_probe_snapshot(const struct request *r,
			   const struct site_config *site, const char *given,
			   char *snap, size_t snaplen, unsigned long *ntasks,
			   char *err, size_t errlen);

#endif
