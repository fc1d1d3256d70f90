/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One guest's host-side resources: the run directory, the disk overlay and
 * the QEMU process.
 */
#ifndef SLURM_VM_VM_H
#define SLURM_VM_VM_H

#include <stddef.h>
#include <sys/types.h>

#include "launcher/boot/launch_config.h"
#include "launcher/boot/plan.h"

#define VM_MAX_DISKS 16 /* --vm-disk drives besides the image */

/* The files of the run directory, each named here once. */
#define VM_CONSOLE_LOG "console.log" /* the console, without --vm-console */
#define VM_QEMU_LOG "qemu.log"	     /* QEMU's own stdout and stderr */
#define VM_USER_QMP "qmp.sock"	     /* QMP for the user's tools */

/*
 * One guest: its descriptors, QEMU's pid and one directory; every other
 * path is derived (vm_path(), vm_console_path()) from it and the config.
 */
struct vm {
	char dir[4096];		       /* the run directory, "" when none */
	const struct launch_config *c; /* what vm_prepare() was given */
	/* What QEMU gets: the image's overlay (drive 0 with an image; with
	 * --vm-disk-persist the rank's kept one), the --vm-disk drives, the
	 * cloud-init seed. Each file name is the vm's (disk.c), freed by
	 * vm_cleanup(). */
	struct plan_disk drive[VM_MAX_DISKS + 2];
	size_t ndrives;
	pid_t pid;  /* QEMU, 0 when not running */
	int qmp_fd; /* our ends of the socketpairs */
	int agent_fd;
	int net_fd;	   /* for the fabric, which takes it over */
	int memory_fd;	   /* the guest's memory (memory.h) when it may be saved
			    * (c->snapshot), else -1 */
	int memory_map_fd; /* a restored guest's memory file QEMU maps
			    * copy-on-write (memory.h; not the vm's: the
			    * restore's), else -1 */
	int console_fd;	   /* console, opened by the launcher (never through a
			    * link, the user's own file): QEMU gets it */
	int powering_off;  /* the guest was asked to power off: wait for it */
};

/* dir/name into buf; -ENAMETOOLONG when it does not fit. */
int vm_path(const struct vm *vm, const char *name, char *buf, size_t len);

/* The console log: the --vm-console file, or dir/console.log. */
int vm_console_path(const struct vm *vm, char *buf, size_t len);

/* The image's overlay QEMU writes (NULL without an image). */
const char *vm_overlay(const struct vm *vm);

/*
 * Creates the run directory (mode 0700, a fresh name under c->rundir), the
 * guest's memory as a memfd when it may be saved (c->snapshot; a guest
 * restored without it maps the snapshot's file: memory_map_fd), and,
 * with an image, the copy-on-write overlay over it (with c->persist, the
 * rank's kept overlay there, made on first use and checked to be over the
 * same image after); then one overlay for each writable --vm-disk (a
 * read-only one is attached as it is). Returns 0 or -errno with a message
 * in err; on failure nothing is left behind in the run directory.
 */
int vm_prepare(struct vm *vm, const struct launch_config *c, char *err,
	       size_t errlen);

/*
 * Starts QEMU with the plan's argv; QEMU is killed if the launcher dies.
 * Returns 0 or -errno with a message in err.
 */
int vm_start(struct vm *vm, const struct launch_config *c, const char *accel,
	     char *err, size_t errlen);

/*
 * Waits up to timeout_ms for QEMU to exit, then kills it. Returns QEMU's
 * wait status, or -1 when it was not running. Safe to call twice.
 */
int vm_stop(struct vm *vm, int timeout_ms);

/* Removes the run directory and everything in it; safe to call twice. */
void vm_cleanup(struct vm *vm);

/* True when a hardware KVM module is loaded on this host. */
int vm_kvm_module_loaded(void);

#endif
