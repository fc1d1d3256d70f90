/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small parsers shared by the plugin and the launcher. */
#ifndef SLURM_VM_PARSE_H
#define SLURM_VM_PARSE_H

/*
 * Parses s as a positive decimal number no larger than max, with nothing
 * else around it. Returns 0 and sets *out, or -EINVAL (out untouched).
 */
int parse_count(const char *s, unsigned long max, unsigned long *out);

#endif
