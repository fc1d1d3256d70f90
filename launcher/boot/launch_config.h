/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What one launcher is asked to do, read from its environment. */
#ifndef SLURM_VM_LAUNCH_CONFIG_H
#define SLURM_VM_LAUNCH_CONFIG_H

#include <stddef.h>

struct launch_config {
	/* The guest. image and kernel may each be NULL, not both. */
	const char *image, *kernel, *initrd, *append;
	unsigned long mem_mb, cpus;
	/* Extra disks, one a line, each PATH or PATH,ro; NULL: none. */
	const char *disks;
	/* A directory keeping the image overlay as n%04d.qcow2, or NULL. */
	const char *persist;
	/* --vm-cloud-init: a directory with the user's user-data, or NULL. */
	const char *cloud_init;
	/* The agent for the seed, or NULL: beside the launcher, else the
	 * installed one. */
	const char *agent;
	/* Host directories the guest mounts: SLURMVM_MOUNTS, one a line,
	 * "SRC:DST:ro|rw" (a line "none" is skipped), or NULL. */
	const char *mounts;
	int as_root; /* --vm-user=root: the command runs as root */
	/* Extra QEMU arguments, split on whitespace, or NULL. */
	const char *qemu_args;
	/* The console file pattern (launch_env.h), or NULL: the run dir. */
	const char *console;
	/* The fabric: transport, MTU, and where counters go (NULL: nowhere,
	 * "": a summary line on stderr, a directory: that and a JSON file). */
	const char *fabric, *stats;
	/* Collective snapshots: the directory (NULL: no snapshots), the
	 * signal that asks for one (0 without a directory, else SIGUSR1 by
	 * default), whether the guests stop after a save triggered by it
	 * (--vm-snapshot-then=stop) and whether the step also saves when its
	 * commands end (--vm-snapshot-at=end). */
	const char *snapshot;
	int snapshot_signal, snapshot_stop, snapshot_at_end;
	/* --vm-snapshot-at=ready: the step saves once every agent is ready,
	 * before any command. */
	int snapshot_at_ready;
	/* --vm-snapshot-at=fail: the step saves when the first rank's
	 * command fails (run.c, snapshot_on_exit()). */
	int snapshot_at_fail;
	/* A snapshot (or a directory of them) to start the guests from
	 * instead of booting, or NULL; image and kernel are then NULL. */
	const char *restore;
	/* A guest restored with a disk (restore.c): the image the saved
	 * overlay is over, and that overlay held open (its name goes when a
	 * later save replaces that snapshot), so that a save of this guest
	 * makes its disk over the image again (snapshot_disk.c), never over
	 * another snapshot's file. NULL (and the fd unused) otherwise. */
	const char *restored_image;
	int restored_disk_fd;
	/* --vm-report: the directory srun made for the ranks' records, or
	 * NULL when no report was asked for. */
	const char *report_dir;
	/* --vm-timeout: seconds the command may run (0: no limit). */
	unsigned long timeout_s;
	/* --vm-keep: what to keep, and where (a pattern, launch_env.h). */
	enum launch_keep { KEEP_NONE, KEEP_FAIL, KEEP_ALWAYS } keep;
	const char *keep_dir;
	/* --vm-capture: the pcap file's bound in bytes, 0 for none. */
	unsigned long long capture_bytes;
	int endpoint; /* --vm-exec=endpoint: no guest */
	int host;     /* --vm-exec=host: the command runs beside the guest */
	int pin;      /* bind vCPUs and memory (--vm-pin=none: 0) */
	int pmi;      /* serve PMI-1 to the command (--vm-pmi=none: 0) */
	int egress;   /* a second NIC with user-mode NAT (ENV_EGRESS=nat) */
	unsigned long mtu;
	/* The node's image cache (image_cache.h): its directory, or NULL,
	 * and the bytes one user's entries may take there. */
	const char *image_cache;
	unsigned long long image_cache_max;
	/* Site settings. */
	const char *qemu, *accel, *rundir;
	unsigned long boot_timeout; /* seconds */
	/* The task. */
	const char *argv0;
	int argv_prepended; /* argv[1..] is the command: skip argv[0] */
	unsigned long job_id, step_id, rank, nranks;
	const char *node; /* Slurm's name for this node */
};

/*
 * Fills c from the variables in env (see launch_env.h and Slurm's
 * SLURM_JOB_ID, SLURM_STEP_ID, SLURM_PROCID). Strings point into env.
 * default_cpus is used when SLURMVM_CPUS is unset, capped at
 * SLURMVM_MAX_CPUS (the site's max_cpus). Returns 0, or -EINVAL
 * with a message for the user in err.
 */
int config_from_env(struct launch_config *c, char *const env[],
		    unsigned long default_cpus, char *err, size_t errlen);

/*
 * The next mount of a SLURMVM_MOUNTS list (launch_env.h) at *p, skipping
 * "none" lines: src and dst point into the list, with their lengths.
 * Advances *p. Returns 1, 0 at the end, or -EINVAL for a malformed line.
 */
int config_next_mount(const char **p, const char **src, size_t *srclen,
		      const char **dst, size_t *dstlen, int *ro);

/* Returns the value of name in env, or NULL. */
const char *env_lookup(char *const env[], const char *name);

#endif
