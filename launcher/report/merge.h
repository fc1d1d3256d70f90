/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Joins reports this project wrote (report.h), e.g. the one file per
 * array task of `sbatch --array ... --vm-report=junit:r-%a.xml`, into one.
 *
 * JUnit: one <testsuites> holding every input's <testsuite> elements as
 * they are, its counts (tests, failures, errors) and time the sums of
 * theirs. TAP: one plan, the inputs' test lines numbered on, their
 * comment lines kept. Only this project's own reports are taken: an
 * input of any other shape is refused, named, and nothing is written.
 */
#ifndef SLURM_VM_REPORT_MERGE_H
#define SLURM_VM_REPORT_MERGE_H

#include <stddef.h>
#include <stdio.h>

#include "launcher/common/parse.h"

/* The largest input taken (a step's report holds 4 tails of 4 KiB a rank). */
#define REPORT_MERGE_INPUT_MAX (256UL << 20)

struct report_input {
	const char *name; /* for messages */
	const char *text; /* NUL-terminated */
	size_t len;
};

/*
 * Writes the n inputs joined to f in format, the JUnit <testsuites> named
 * name. Returns 0, -EPROTO when an input is not a report of that format
 * (why names it and what is wrong), or -EIO.
 */
int report_merge(FILE *f, enum report_format format, const char *name,
		 const struct report_input *in, size_t n, char *why,
		 size_t whylen);

#endif
