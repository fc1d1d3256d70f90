/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running the host tools a launch needs (qemu-img, mkfs.vfat, mcopy). */
#ifndef SLURM_VM_TOOL_H
#define SLURM_VM_TOOL_H

/*
 * Runs argv (argv[0] looked up in PATH, then in /usr/sbin and /sbin, where
 * Debian keeps mkfs.* and which a job's PATH often lacks) with stdin from
 * /dev/null, stderr appended to log and stdout to out (truncated; NULL:
 * to log too). Returns its wait status, or -1 when it could not be
 * started.
 */
int tool_run(char *const argv[], const char *log, const char *out);

#endif
