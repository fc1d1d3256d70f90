/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A step's results as a CI reads them: one test case per rank, written as
 * JUnit XML or TAP.
 *
 * Each launcher leaves its rank's case as a small JSON record (rank, node,
 * exit status, whether it timed out, seconds, and the tails of its stdout,
 * stderr and console) in the step's report directory; when the step ends,
 * srun's side of the plugin has the helper gather the records into the
 * report file. The records are the user's files: every field is checked
 * and bounded when read back.
 *
 * JUnit (the schema CI servers accept): <testsuites> with one <testsuite>
 * named after the step, and per rank a <testcase classname="SUITE"
 * name="rank R" time=...>, a <failure> (exit status or timeout, with the
 * console's tail) when it failed, an <error> when it left no result,
 * <system-out> and <system-err> with the tails. Text is escaped for XML 1.0:
 * characters it cannot carry (control characters, invalid UTF-8) become U+FFFD.
 * TAP: "1..N", then "ok R - SUITE rank R" or "not ok ...", the tails of a
 * failed rank as "# " lines.
 */
#ifndef SLURM_VM_REPORT_H
#define SLURM_VM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "launcher/common/parse.h"

/* The most of each tail a record keeps, and of a record's text. */
#define REPORT_TAIL_MAX 4096
#define REPORT_RECORD_MAX (8 * REPORT_TAIL_MAX)
#define REPORT_NAME_MAX 256

struct report_case {
	uint32_t rank;
	char node[64];
	int status;    /* as srun reports it: the exit code, 128 + a signal */
	int timed_out; /* --vm-timeout ended it */
	int lost;      /* its launcher left no result (killed, node lost) */
	double seconds;
	char out[REPORT_TAIL_MAX + 1], err[REPORT_TAIL_MAX + 1],
	    console[REPORT_TAIL_MAX + 1];
};

/* The record of one case as JSON text (malloc'd), or NULL. */
char *report_case_format(const struct report_case *c);

/* Reads a record from untrusted text. Returns 0, or -EPROTO with why
 * (a field name and what is wrong with it). */
int report_case_parse(const char *text, size_t len, struct report_case *c,
		      char *why, size_t whylen);

/*
 * Writes the report of n cases (in rank order) to f. suite names the step;
 * timestamp is when it began (seconds since the epoch). Returns 0 or -EIO.
 */
int report_write(FILE *f, enum report_format format, const char *suite,
		 long timestamp, const struct report_case *cases, size_t n);

/* Writes c as DIR/rank-R.json (a new file; DIR the user's own directory,
 * never through a link). Returns 0 or -errno with err. */
int report_record_write(const char *dir, const struct report_case *c, char *err,
			size_t errlen);

/* s as XML 1.0 text or attribute value (escaped; what XML cannot carry
 * becomes U+FFFD). */
void report_xml_text(FILE *f, const char *s);

/* Keeps the last max bytes of a stream: appends len bytes to tail (a
 * buffer of max + 1, NUL-terminated), dropping the oldest. */
void report_tail_add(char *tail, size_t max, const char *data, size_t len);

#endif
