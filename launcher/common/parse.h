/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small parsers shared by the plugin and the launcher. */
#ifndef SLURM_VM_PARSE_H
#define SLURM_VM_PARSE_H

/*
 * Parses s as a positive decimal number no larger than max, with nothing
 * else around it. Returns 0 and sets *out, or -EINVAL (out untouched).
 */
int parse_count(const char *s, unsigned long max, unsigned long *out);

/* As parse_count(), and "0" too (one zero only, no sign or padding). */
int parse_number(const char *s, unsigned long max, unsigned long *out);

/*
 * Parses a signal for --vm-snapshot-signal: a name with or without "SIG"
 * (USR1, SIGUSR2, any case) or a number. Returns 0 and sets *sig, -EINVAL
 * for no signal, or -EPERM for one Slurm or the launcher needs for itself
 * (TERM, KILL, INT, HUP, CHLD, STOP, CONT and the like) or that reports a
 * fault (SEGV, BUS, ...); *sig is set for -EPERM too.
 */
int parse_signal(const char *s, int *sig);

/* The name of a signal without "SIG" ("USR1"), or NULL for a number
 * parse_signal() does not name. */
const char *signal_name(int sig);

/* --vm-report=FORMAT:PATH: "junit:PATH" or "tap:PATH". Sets *format and
 * *path (pointing into spec, whose ':' becomes a NUL). Returns 0 or
 * -EINVAL. */
enum report_format { REPORT_JUNIT, REPORT_TAP };
int report_spec_parse(char *spec, enum report_format *format, char **path);

#endif
