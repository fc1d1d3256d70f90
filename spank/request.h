/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A user's VM request: the --vm-* options (or their SLURMVM_* variables),
 * validated where srun/sbatch runs, before any job exists.
 */
#ifndef SLURM_VM_REQUEST_H
#define SLURM_VM_REQUEST_H

#include <stddef.h>

#include "site.h"

enum request_field {
	REQ_IMAGE,
	REQ_KERNEL,
	REQ_INITRD,
	REQ_APPEND,
	REQ_MEM,
	REQ_CPUS,
	REQ_FABRIC,
	REQ_STATS,
	REQ_EXEC,
	REQ_PIN,
	REQ_NFIELDS
};

struct request {
	char *value[REQ_NFIELDS];      /* malloc'd, NULL when not given */
	const char *from[REQ_NFIELDS]; /* NULL (the option) or a variable */
};

/* The option name (without "--") and variable name of a field. */
const char *request_option(enum request_field f);
const char *request_env(enum request_field f);

/* Sets a field from its option (from is NULL) or from the variable or
 * setting named from (a static string); replaces any old value. Returns 0
 * or -ENOMEM. */
int request_set(struct request *r, enum request_field f, const char *value,
		const char *from);

/* True for --vm-exec=endpoint: fabric endpoints, no guests. */
int request_is_endpoint(const struct request *r);

/* True when any field is set: the job asked for VMs. */
int request_active(const struct request *r);

/*
 * Applies the site defaults (kernel, initrd, append when neither an image
 * nor a kernel was given), makes paths absolute against cwd and checks
 * everything: files exist, are regular, readable and not empty; initrd and
 * append come with a kernel; counts are positive numbers. Returns 0, or
 * -EINVAL with a message naming the option, the value and the fix.
 */
int request_validate(struct request *r, const struct site_config *site,
		     const char *cwd, char *err, size_t errlen);

/* Frees the values; the request can be reused. */
void request_clear(struct request *r);

#endif
