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

#include "launcher/boot/launch_config.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/boot/qmp.h"

/* Which rank file of struct restore's fd[]. */
enum restore_file { RS_VMSTATE, RS_MEMORY, RS_FRAMES, RS_AGENT, RS_FILES };

struct restore {
	char dir[4200]; /* the snapshot directory DIR/latest points to */
	struct snap_rank r;
	char qemu_version[96]; /* of the QEMU that saved it */
	int at_ready;	       /* saved at ready: no command inside */
	char disk[4400];       /* the saved overlay: the new one's base */
	/* This rank's files, opened once by restore_prepare() (safe_open()
	 * of snapdir.h: the user's own regular files, no link, no FIFO) and
	 * read through these fds only, so what was checked is what is
	 * loaded; close-on-exec, -1 when closed. */
	int fd[RS_FILES];
	char path[RS_FILES][4400]; /* their paths, for messages */
	int disk_fd; /* the saved overlay, checked and held open, or -1 */
};

/*
 * Finds the snapshot, checks it fits this step (task count, this rank's
 * files, the images unchanged) and points c's guest at it. A snapshot
 * directory, its latest link or a file in it that is not the user's own,
 * not a regular file (a FIFO, a device) or a symbolic link is refused, the
 * message naming it, before any guest starts. Returns 0 (rs holds open
 * files: restore_close()) or -errno with a message naming the problem in
 * err (rs then holds none).
 */
int restore_prepare(struct launch_config *c, struct restore *rs, char *err,
		    size_t errlen);

/* Closes rs's files; safe to call twice. */
void restore_close(struct restore *rs);

/*
 * Reads the saved memory into fd (the new guest's memory, vm.h), checking
 * its checksum; before QEMU starts. Returns 0 or -errno with err filled.
 */
int restore_memory(const struct restore *rs, int fd, char *err, size_t errlen);

/* Loads the saved device state into the waiting QEMU (its memory is in
 * place already: restore_memory()), passing it the file's fd; the guest
 * stays paused. */
int restore_incoming(struct qmp *qmp, const struct restore *rs, char *err,
		     size_t errlen);

/* The agent bytes saved with the guest: malloc'd into *buf. 0 or -errno. */
int restore_agent_bytes(const struct restore *rs, uint8_t **buf, size_t *len);

#endif
