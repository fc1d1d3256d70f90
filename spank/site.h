/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Site settings: the key=value arguments of the plugin in plugstack.conf. */
#ifndef SLURM_VM_SITE_H
#define SLURM_VM_SITE_H

#include <stddef.h>

struct site_config {
	char launcher[4096];	    /* launcher= */
	char helper[4096];	    /* helper= the plugin's helper program */
	char qemu[4096];	    /* qemu= */
	char accel[8];		    /* accel=auto|kvm|tcg */
	char rundir[4096];	    /* rundir= node-local directory */
	char default_kernel[4096];  /* default_kernel= */
	char default_initrd[4096];  /* default_initrd= */
	char default_append[1024];  /* default_append= */
	unsigned long default_mem;  /* default_mem= MB */
	unsigned long boot_timeout; /* boot_timeout= seconds */
	/* --vm-timeout when a job gives none (0: none), and its limit. */
	unsigned long default_timeout; /* default_timeout= seconds */
	unsigned long max_timeout;     /* max_timeout= seconds */
	char fabric[8];		       /* fabric=auto|tcp|verbs: default */
	unsigned long fabric_mtu;      /* fabric_mtu= the guests' MTU */
	/* Policy: what users may ask for; 0 or "" is no limit. */
	char image_dirs[4096];	/* image_dirs=DIR[:DIR...] */
	unsigned long max_mem;	/* max_mem= MB per guest */
	unsigned long max_cpus; /* max_cpus= vCPUs per guest */
	int allow_qemu_args;	/* allow_qemu_args=yes|no (no) */
	/* Mounts (mounts.h): mounted for every VM job, as a user's
	 * --vm-mount list; whether the directory srun ran in is mounted by
	 * default; the only directories users may mount (none: anywhere). */
	char mounts[4096];     /* mounts=SRC[:DST][:ro|rw],... */
	int mount_cwd;	       /* mount_cwd=yes|no (yes) */
	char mount_dirs[4096]; /* mount_dirs=DIR[:DIR...] */
	/* The outside network: none (the default), or nat: each guest gets
	 * a second NIC with user-mode NAT, on unless a job says
	 * --vm-egress=none. */
	char egress[8]; /* egress=none|nat */
	/* The node's image cache: a directory ("": none) and the GB one
	 * user's entries may take there (0: the default). */
	char image_cache[4096];	       /* image_cache=DIR */
	unsigned long image_cache_max; /* image_cache_max=GB */
	/* The arguments parsed (not owned): the helper program parses the
	 * same ones, so both sides see one configuration. */
	int ac;
	char **av;
};

/*
 * Fills s with the defaults, then applies the plugstack arguments av[0..ac).
 * Returns 0, or -EINVAL with a message naming the argument and the fix in
 * err (an unknown key, a malformed value, a relative path, a default_mem
 * above max_mem).
 */
int site_parse(int ac, char **av, struct site_config *s, char *err,
	       size_t errlen);

/* True for a fabric transport this build has: auto, tcp, and verbs when
 * built with libibverbs. */
int fabric_transport_known(const char *name);

#endif
