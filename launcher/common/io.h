/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SLURM_VM_IO_H
#define SLURM_VM_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the non-blocking fd, waiting for room until until (ms
 * on the monotonic clock, clock.h). Returns 0, -ETIMEDOUT or -errno. */
int write_until(int fd, const uint8_t *p, size_t n, long until);

#endif
