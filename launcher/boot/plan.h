/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launch plan: from a launch_config and the run directory to the exact
 * QEMU command line. Pure functions, no I/O: tested with golden outputs.
 */
#ifndef SLURM_VM_PLAN_H
#define SLURM_VM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "launcher/boot/launch_config.h"

struct plan_fds {
	int qmp;    /* our end is elsewhere; QEMU's end of the QMP socketpair */
	int agent;  /* QEMU's end of the agent channel socketpair */
	int net;    /* QEMU's end of the fabric's stream socketpair */
	int memory; /* the guest's memory QEMU maps (memory.h), or -1 */
	/* 0: memory is a memfd the launcher holds, mapped shared; 1: it is a
	 * snapshot's memory file, mapped copy-on-write (share=off). */
	int memory_cow;
};

/* One virtio-blk drive: the boot disk (vda) first, then --vm-disk ones. */
struct plan_disk {
	char *file;	    /* an overlay, or the base of a read-only disk */
	const char *format; /* qcow2 or raw */
	int readonly;	    /* attached with readonly=on */
	int keep;	    /* outlives the task: written back, not unsafe */
};

/*
 * Chooses the accelerator: "kvm" or "tcg" as asked, and for "auto" KVM only
 * when a hardware KVM module is loaded (kvm_module is true), because
 * /dev/kvm can open on hosts where KVM cannot run a stock guest.
 * Returns NULL for an unknown name.
 */
const char *plan_accel(const char *want, int kvm_module);

/*
 * Builds QEMU's argv (NULL-terminated, malloc'd strings in a malloc'd
 * array; free with plan_argv_free()). disks[0..ndisks) are the drives in
 * order (the per-task overlay of the image first, when there is one);
 * console is the console log path; user_qmp is the path of a second QMP
 * socket for the user's own tools, in the private run directory. The
 * user's extra QEMU arguments (c->qemu_args, split on spaces, tabs and
 * newlines) come last. Returns the array or NULL when out of memory.
 */
char **plan_qemu_argv(const struct launch_config *c, const char *accel,
		      const struct plan_disk *disks, size_t ndisks,
		      const char *console, const char *user_qmp,
		      const struct plan_fds *fds);

void plan_argv_free(char **argv);

/* The MAC of the outside network's NIC (launch_env.h): 52:56 and the
 * rank. */
void plan_egress_mac(unsigned long rank, uint8_t mac[6]);

/* The 9p mount tag of the i-th mount (the guest agent mounts it). */
#define PLAN_MOUNT_TAG "slurmvm%zu"

/*
 * Expands a console file pattern: %j job, %s step, %t rank, %N node, %%
 * a '%'. Returns 0, -EINVAL for another field, -ENAMETOOLONG when the
 * result does not fit in len.
 */
int plan_console_path(const char *pattern, const struct launch_config *c,
		      char *out, size_t len);

#endif
