/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's memory as a file the launcher holds (a memfd QEMU maps as the
 * guest's RAM), for guests that may be saved or are restored.
 *
 * Saving then needs nothing of QEMU's migration for the memory (it sends
 * only device state): while the guest is paused, the launcher writes the
 * memory straight to the snapshot with direct I/O, skipping what the
 * guest never touched, and checksums it on the way. Restoring reads the
 * file back into a new memfd, checking the checksum, before QEMU starts.
 */
#ifndef SLURM_VM_MEMORY_H
#define SLURM_VM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "launcher/snapdir/manifest.h"

/*
 * A new memfd of mem_mb MiB (sparse: no memory is used until the guest
 * touches it), close-on-exec. Returns the fd or -errno with err filled.
 */
int memory_create(unsigned long mem_mb, char *err, size_t errlen);

/*
 * Writes the memory in fd (size bytes; the guest must be paused) to
 * dfd/name (dir names dfd in messages), a new file (safe_create() of
 * snapdir.h: O_EXCL, never through a link; direct I/O where the file
 * system has it), holes where the memory was never touched or a whole
 * chunk is zero, then syncs it. Fills f's size, stored (bytes of data
 * written) and sha256 (of all size bytes, holes as zeros); f->name is the
 * caller's. Returns 0 or -errno with err filled (-EEXIST when the name is
 * taken); a failed save removes the file it created.
 */
int memory_save(int fd, uint64_t size, int dfd, const char *dir,
		const char *name, struct snap_file *f, char *err,
		size_t errlen);

/*
 * As memory_save(), giving up with -ECANCELED (the file removed) once
 * *stop is set by another thread: within one chunk's write (4 MiB).
 */
int memory_save_until(int fd, uint64_t size, int dfd, const char *dir,
		      const char *name, struct snap_file *f, const int *stop,
		      char *err, size_t errlen);

/*
 * Reads the saved memory open as in (a regular file the caller opened and
 * checked: safe_open() of snapdir.h; path names it in messages) into the
 * memory fd (f->size bytes, which fd must have), its holes left as holes,
 * and checks its size and checksum against f. The caller keeps in.
 * Returns 0, -EBADMSG (a size or checksum that differs, with both in err)
 * or -errno with err filled.
 */
int memory_load(int fd, int in, const char *path, const struct snap_file *f,
		char *err, size_t errlen);

#endif
