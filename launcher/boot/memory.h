/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's memory as a file the launcher holds (a memfd QEMU maps as the
 * guest's RAM), for guests that may be saved or are restored.
 *
 * Saving then needs nothing of QEMU's migration for the memory (it sends
 * only device state): while the guest is paused, the launcher writes the
 * memory straight to the snapshot with direct I/O, skipping what the
 * guest never touched, and checksums it on the way.
 *
 * Restoring takes one of two paths, by whether the restored guest may be
 * saved again (--vm-snapshot given):
 * - copy-in (it may be saved): the file is read back into a new memfd,
 *   its checksum checked, before QEMU starts; time and host memory grow
 *   with the guest's memory size.
 * - copy-on-write (it may not): QEMU maps the snapshot's file itself,
 *   privately (share=off): a page is read on the guest's first touch,
 *   shared through the page cache by every guest restored from the same
 *   snapshot, and a page the guest writes becomes its own. Restores start
 *   in constant time and take memory only for what the guests write. The
 *   checksum is NOT read (that would read the whole file): the file is the
 *   user's own regular file, opened without following a link
 *   (safe_open()), of exactly the guest's memory size
 *   (memory_map_check()); a damaged one harms only the user's own guest.
 *   Such a guest cannot be saved again: its memory is QEMU's private
 *   mapping, which the launcher cannot read.
 * The snapshot's file is never written on either path. QEMU 7.2 opens the
 * file it maps read-write (only QEMU 8.2's rom=off maps a read-only file
 * writably), but writes nothing to it: its pages are private, QEMU
 * resizes only an empty file, and no device that discards guest memory
 * (a balloon) is attached.
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

/*
 * The copy-on-write path's checks of the saved memory open as in (the
 * caller opened it with safe_open(): read-only, the user's own, no link;
 * path names it in messages), for a guest of mem_mb MiB: a regular file of
 * exactly mem_mb MiB, as the manifest's f says (QEMU would resize another
 * size), and one its owner may write, as QEMU 7.2 opens it read-write
 * (it writes nothing). No checksum. Returns 0, -EBADMSG (a size that
 * differs, all three sizes in err), -EACCES (a file its owner made
 * read-only, err saying the fix) or -errno with err filled.
 */
int memory_map_check(int in, const char *path, const struct snap_file *f,
		     unsigned long mem_mb, char *err, size_t errlen);

#endif
