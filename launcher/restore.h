/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-restore=DIR: this rank's guest comes back from the newest complete
 * snapshot in DIR instead of booting. Its kernel, initrd, memory and vCPUs
 * are the snapshot's (the memory read into a new memfd before QEMU starts);
 * its disk is a fresh overlay over the saved one (the
 * snapshot itself is never written); QEMU starts paused, waiting for the
 * saved state, which restore_incoming() feeds it.
 */
#ifndef SLURM_VM_RESTORE_H
#define SLURM_VM_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "launch_config.h"
#include "manifest.h"
#include "qmp.h"

struct restore {
	char dir[4200]; /* the snapshot directory DIR/latest points to */
	struct snap_rank r;
	char qemu_version[96]; /* of the QEMU that saved it */
	char disk[4400], vmstate[4400], memory[4400], frames[4400], agent[4400];
};

/*
 * Finds the snapshot, checks it fits this step (task count, this rank's
 * files, the images unchanged) and points c's guest at it. Returns 0 or
 * -errno with a message naming the problem in err.
 */
int restore_prepare(struct launch_config *c, struct restore *rs, char *err,
		    size_t errlen);

/*
 * Reads the saved memory into fd (the new guest's memory, vm.h), checking
 * its checksum; before QEMU starts. Returns 0 or -errno with err filled.
 */
int restore_memory(const struct restore *rs, int fd, char *err, size_t errlen);

/* Loads the saved device state into the waiting QEMU (its memory is in
 * place already: restore_memory()); the guest stays paused. */
int restore_incoming(struct qmp *qmp, const struct restore *rs, char *err,
		     size_t errlen);

/* The agent bytes saved with the guest: malloc'd into *buf. 0 or -errno. */
int restore_agent_bytes(const struct restore *rs, uint8_t **buf, size_t *len);

#endif
