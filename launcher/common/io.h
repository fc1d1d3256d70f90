/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SLURM_VM_IO_H
#define SLURM_VM_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the non-blocking fd, waiting for room until until (ms
 * on the monotonic clock, clock.h). Returns 0, -ETIMEDOUT or -errno. */
int write_until(int fd, const uint8_t *p, size_t n, long until);

/* Reads the regular file open on fd whole into *text (malloc'd, NUL
 * terminated, *len bytes). Returns 0; -EINVAL when fd is not a regular file
 * (a FIFO, a device, a directory), -EFBIG when it is over max bytes, -EIO
 * when it shrank while read, or -errno. The caller opens fd its own way
 * (no link followed, an owner checked) and closes it. */
int read_regular(int fd, size_t max, char **text, size_t *len);

#endif
