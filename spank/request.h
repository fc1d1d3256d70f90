/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A user's VM request: the --vm-* options (or their SLURMVM_* variables),
 * validated where srun/sbatch runs, before any job exists.
 */
#ifndef SLURM_VM_REQUEST_H
#define SLURM_VM_REQUEST_H

#include <stddef.h>

#include "spank/site.h"

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
	REQ_DISK,	  /* one disk a line, each PATH[,ro] */
	REQ_DISK_PERSIST, /* directory of the ranks' kept overlays */
	REQ_QEMU_ARGS,
	REQ_CONSOLE,  /* file pattern: %j job, %s step, %t rank, %N node */
	REQ_SNAPSHOT, /* directory the step's snapshots go to */
	REQ_SNAPSHOT_SIGNAL, /* the signal asking for one (a number once
			      * checked) */
	REQ_SNAPSHOT_THEN,   /* continue|stop */
	REQ_SNAPSHOT_AT,     /* signal|end */
	REQ_RESTORE,	     /* a snapshot (once checked: the complete snapshot
			      * directory, not the directory of snapshots) */
	REQ_CLOUD_INIT,	 /* directory with the user's cloud-init user-data */
	REQ_REPORT,	 /* junit:PATH or tap:PATH (launch_env.h) */
	REQ_REPORT_NAME, /* the report's test suite name */
	REQ_MOUNT,	 /* host directories in the guests (mounts.h) */
	REQ_USER,	 /* root: the command runs as root in the guest */
	REQ_PMI,	 /* pmi1|none */
	REQ_EGRESS,	 /* nat|none: the outside network (site.h) */
	REQ_TIMEOUT,	 /* seconds the command may run in the guest */
	REQ_KEEP,	 /* fail|always: keep each rank's evidence */
	REQ_KEEP_DIR,	 /* where (%j job, %s step), made absolute */
	REQ_CAPTURE,	 /* "" or MiB: the fabric's pcap of each guest */
	REQ_NFIELDS
};

struct request {
	char *value[REQ_NFIELDS];      /* malloc'd, NULL when not given */
	const char *from[REQ_NFIELDS]; /* NULL (the option) or a variable */
	/* Set by a check of --vm-restore: the directory as the user gave it,
	 * made absolute (malloc'd), and the snapshot's task count. */
	char *restore_dir;
	unsigned long restore_ntasks;
};

/* The option name (without "--") and variable name of a field. */
const char *request_option(enum request_field f);
const char *request_env(enum request_field f);

/* Sets a field from its option (from is NULL) or from the variable or
 * setting named from (a static string); replaces any old value. Returns 0
 * or -ENOMEM. */
int request_set(struct request *r, enum request_field f, const char *value,
		const char *from);

/* Adds value as one more line of a repeatable field (--vm-disk,
 * --vm-mount). Returns 0
 * or -ENOMEM. */
int request_add(struct request *r, enum request_field f, const char *value,
		const char *from);

/* True for a field whose value may be a rank spec (rankspec.h). */
int request_per_rank(enum request_field f);

/* True when this job's guests get the outside network: the site allows
 * it (egress=nat), the job did not say --vm-egress=none, and the step
 * boots guests that are not saved or restored. */
int request_egress(const struct request *r, const struct site_config *site);

/* True for --vm-exec=endpoint: fabric endpoints, no guests. */
int request_is_endpoint(const struct request *r);

/* True when any field is set: the job asked for VMs. */
int request_active(const struct request *r);

/*
 * Applies the site defaults (kernel, initrd, append when neither an image
 * nor a kernel was given), makes paths absolute against cwd and checks
 * everything: files exist, are regular, readable and not empty; initrd and
 * append come with a kernel; counts are positive numbers; rank specs parse;
 * --vm-cloud-init is a directory holding a readable user-data and comes
 * with an image;
 * the site's policy holds (policy.h; with image_dirs= set, paths are
 * replaced by what they resolve to). Every entry of a rank spec is checked.
 * --vm-snapshot is a writable directory, its signal one the step may use
 * (stored as a number); --vm-restore is checked as request_check_restore()
 * does (without a task count) and excludes the options that choose what
 * the guests boot.
 * Returns 0, or -EINVAL with a message naming the option, the value and the
 * fix (and the plugstack.conf line, for a policy refusal).
 */
int request_validate(struct request *r, const struct site_config *site,
		     const char *cwd, char *err, size_t errlen);

/*
 * --vm-restore on the node, before the launcher runs: the snapshot (the
 * value, or the latest of a directory) has a manifest that reads, every
 * rank's image, kernel and initrd are unchanged and within the site's
 * policy, and it has ntasks tasks (0: not known, not checked). Replaces
 * the value by the snapshot's directory. Returns 0, or -EINVAL with a
 * message naming the option and the reason.
 */
int request_check_restore(struct request *r, const struct site_config *site,
			  unsigned long ntasks, char *err, size_t errlen);

/*
 * After request_validate() or request_check_restore() took a
 * --vm-restore: refuses a step of another task count than the snapshot's
 * ("the snapshot has 3 tasks, this step has 2; run with -n3"). Returns 0
 * (also without --vm-restore) or -EINVAL.
 */
int request_check_tasks(const struct request *r, unsigned long ntasks,
			char *err, size_t errlen);

/*
 * Checks only the site's policy on a request read back on the node (paths
 * already absolute, nothing changed but the resolution of paths). Returns 0
 * or -EINVAL with a message as request_validate() gives.
 */
int request_check_policy(struct request *r, const struct site_config *site,
			 char *err, size_t errlen);

/*
 * Replaces every per-guest field by its value for rank: the matching entry
 * of a rank spec, or NULL (unset: the default applies) when no range holds
 * the rank; each --vm-disk line on its own, lines without a value dropped.
 * Plain values stay. Returns 0, -EINVAL (a malformed spec, message in err)
 * or -ENOMEM.
 */
int request_resolve(struct request *r, unsigned long rank, char *err,
		    size_t errlen);

/* Frees the values; the request can be reused. */
void request_clear(struct request *r);

#endif
