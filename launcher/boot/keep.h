/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-keep: one rank's evidence kept after its command, in the results
 * directory the user chose (--vm-keep-dir) or the default one in the
 * task's working directory, one subdirectory per rank:
 *
 *   DIR/nNNNN/status       "exit 3", or "timeout after 60 s (exit 124)"
 *   DIR/nNNNN/console.log  the guest's serial console
 *   DIR/nNNNN/stdout.tail  the last bytes of the command's stdout
 *   DIR/nNNNN/stderr.tail  ... and of its stderr
 *   DIR/nNNNN/stats.json   the fabric's counters (with --vm-stats)
 *   DIR/nNNNN/capture.pcap the guest's frames (with --vm-capture)
 *
 * DIR is the user's choice and may sit in a directory others write to:
 * it is made when missing and must then be the user's own directory,
 * never a link; nNNNN is always made fresh (one that exists, whatever it
 * is, is refused: never adopted), so nothing in it was planted, and every
 * file is created new inside it.
 */
#ifndef SLURM_VM_KEEP_H
#define SLURM_VM_KEEP_H

#include <stddef.h>

#include "fabric/stats.h"

struct keep_evidence {
	unsigned long rank;
	int code;			  /* the task's exit code */
	int timed_out;			  /* --vm-timeout stopped it */
	unsigned long timeout;		  /* ...after this many seconds */
	const char *console;		  /* the console log's path, or NULL */
	const char *capture;		  /* the pcap file's path, or NULL */
	const char *out, *err;		  /* the output tails, or NULL */
	const struct fabric_stats *stats; /* or NULL */
};

/*
 * The results directory of pattern (%j job, %s step, %% a %; relative to
 * the working directory) as an absolute path in buf. Returns 0, -EINVAL
 * (an unknown pattern) or -ENAMETOOLONG.
 */
int keep_path(const char *pattern, unsigned long job, unsigned long step,
	      char *buf, size_t len);

/*
 * Writes e into dir/nNNNN (dir absolute, from keep_path()) as above.
 * Returns 0, or -errno with err naming the file and why (what was written
 * before the failure stays).
 */
int keep_write(const char *dir, const struct keep_evidence *e, char *err,
	       size_t errlen);

#endif
