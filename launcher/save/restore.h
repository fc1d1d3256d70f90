/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-restore=DIR: this rank's guest comes back from the newest complete
 * snapshot in DIR instead of booting. Its kernel, initrd, memory and vCPUs
 * are the snapshot's (its memory read into a new memfd before QEMU starts,
 * or mapped copy-on-write by QEMU: restore_memory());
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
	int at_fail;	 /* saved at fail: the restoring step's command runs */
	char disk[4400]; /* the saved overlay: the new one's base */
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
 * Puts the saved memory in place before QEMU starts (the two paths of
 * memory.h). A guest that may be saved again has a memfd (fd, vm.h): the
 * memory is read into it and its checksum checked. Else (fd is -1) the
 * file is checked for QEMU to map copy-on-write (memory_map_check()) and
 * *map is its descriptor (rs keeps it; -1 on the copy-in path). Returns
 * 0 or -errno with err filled.
 */
int restore_memory(const struct restore *rs, int fd, int *map, char *err,
		   size_t errlen);

/* Loads the saved device state into the waiting QEMU (its memory is in
 * place already: restore_memory(); the stream carries none, so QEMU waits
 * for none), passing it the file's fd; the guest
 * stays paused. */
int restore_incoming(struct qmp *qmp, const struct restore *rs, char *err,
		     size_t errlen);

/* The agent bytes saved with the guest: malloc'd into *buf. 0 or -errno. */
int restore_agent_bytes(const struct restore *rs, uint8_t **buf, size_t *len);

#endif
