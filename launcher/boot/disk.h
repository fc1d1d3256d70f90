/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's disks: the per-task qcow2 overlay over the image (or the
 * rank's kept one with --vm-disk-persist) and the --vm-disk drives.
 */
#ifndef SLURM_VM_DISK_H
#define SLURM_VM_DISK_H

#include <stddef.h>

#include "launcher/boot/launch_config.h"
#include "launcher/boot/vm.h"

/*
 * Fills vm->drive[0..ndrives) for c, creating the overlays in vm->dir (a
 * kept overlay in c->persist). Each overlay is created in constant time
 * whatever the base's size; QEMU opens the bases read-only. With an image,
 * the last drive is the cloud-init seed (seed.h). Returns 0 or
 * -errno with a message naming the disk and the fix in err; what it made
 * in vm->dir is left for vm_cleanup().
 */
int disk_prepare(struct vm *vm, const struct launch_config *c, char *err,
		 size_t errlen);

/* qemu-img: beside the QEMU binary qemu names, else "qemu-img" (PATH). */
void disk_qemu_img(const char *qemu, char *buf, size_t len);

#endif
