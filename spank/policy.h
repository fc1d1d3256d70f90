/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The site's policy on one value of a user's request: the plugstack.conf
 * keys image_dirs, mount_dirs, max_mem, max_cpus, max_timeout and
 * allow_qemu_args. Each
 * refusal names the plugstack.conf line that made it, so users know it is the
 * site's rule and admins know where to change it.
 */
#ifndef SLURM_VM_POLICY_H
#define SLURM_VM_POLICY_H

#include <stddef.h>

#include "spank/site.h"

/*
 * Checks that path (absolute) lies inside one of site->image_dirs once
 * both are resolved with realpath(), so ".." and symbolic links cannot
 * leave them. label names the value for the message ("--vm-image=x").
 * Returns 0 (inside, or no image_dirs set), or -EINVAL with a message
 * in err; a path that does not resolve is left to the caller's own check.
 */
int policy_path(const struct site_config *site, const char *path,
		const char *label, char *err, size_t errlen);

/* As policy_path(), for a directory a user mounts in the guests
 * (--vm-mount) against site->mount_dirs. */
int policy_mount(const struct site_config *site, const char *path,
		 const char *label, char *err, size_t errlen);

/* Checks a guest memory size in MB against max_mem. Returns 0 or -EINVAL
 * with a message in err. */
int policy_mem(const struct site_config *site, unsigned long mb,
	       const char *label, char *err, size_t errlen);

/* Checks a vCPU count against max_cpus. Returns 0 or -EINVAL. */
int policy_cpus(const struct site_config *site, unsigned long cpus,
		const char *label, char *err, size_t errlen);

/* Checks a --vm-timeout in seconds against max_timeout. Returns 0 or
 * -EINVAL. */
int policy_timeout(const struct site_config *site, unsigned long s,
		   const char *label, char *err, size_t errlen);

/* Refuses extra QEMU arguments unless allow_qemu_args=yes. Returns 0 or
 * -EINVAL with a message in err. */
int policy_qemu_args(const struct site_config *site, const char *label,
		     char *err, size_t errlen);

#endif
