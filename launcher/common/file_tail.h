/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The last lines of a log file, for error messages. */
#ifndef SLURM_VM_FILE_TAIL_H
#define SLURM_VM_FILE_TAIL_H

#include <stddef.h>

/*
 * Appends the last lines (at most max_lines, from the file's last 4 KiB)
 * of file to the string in buf (len bytes in all), bytes that are not
 * printable as '?'. A file that cannot be opened (or is not a regular
 * file: a FIFO is never waited on) adds nothing.
 */
void file_tail(const char *file, int max_lines, char *buf, size_t len);

#endif
