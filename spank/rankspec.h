/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-rank values of an option: "0:8192,1-:2048" gives rank 0 one value
 * and ranks 1 and up another.
 *
 * A value is a rank spec when it starts with a rank range and a colon:
 * "3:", "0-7:" or "4-:" (an open range). Anything else is a plain value
 * for every rank, so a relative path that happens to start that way is
 * written "./0:x". Within a spec a comma starts the next entry only when a
 * rank range and a colon follow it: values may hold commas and colons
 * ("0:/d/a.img,ro,1-:/d/b.img"). The first entry whose range holds a rank
 * gives its value; a rank in no range gets the option's default.
 *
 * Parsing is pure and allocates nothing: entries point into the string.
 */
#ifndef SLURM_VM_RANKSPEC_H
#define SLURM_VM_RANKSPEC_H

#include <stddef.h>

#define RANKSPEC_MAX 64		   /* entries in one spec */
#define RANKSPEC_OPEN (~0UL)	   /* the last rank of "a-" */
#define RANKSPEC_MAX_RANK 16777215 /* ranks are below 2^24 */

struct rankspec_entry {
	unsigned long first, last; /* the range, inclusive */
	const char *value;	   /* into the parsed string, not terminated */
	size_t len;
};

struct rankspec {
	int plain; /* not a spec: one entry, every rank, the whole string */
	size_t n;
	struct rankspec_entry e[RANKSPEC_MAX];
};

/* True when s is written as a rank spec (starts with "RANGE:"). */
int rankspec_is_spec(const char *s);

/*
 * Parses s, which must outlive rs. A plain value gives one entry for every
 * rank. Returns 0, or -EINVAL with a message in err (malformed range, a
 * range backwards, an empty value, an entry no rank can reach because an
 * earlier range holds it, too many entries).
 */
int rankspec_parse(const char *s, struct rankspec *rs, char *err,
		   size_t errlen);

/* The entry giving rank its value, or NULL when no range holds it. */
const struct rankspec_entry *rankspec_find(const struct rankspec *rs,
					   unsigned long rank);

/*
 * Writes the range of e as text: "3", "0-7" or "4-". Returns what
 * snprintf() returns.
 */
int rankspec_range(const struct rankspec_entry *e, char *buf, size_t len);

/*
 * The value of s for rank, copied into out. Returns 1 (found), 0 (no range
 * holds the rank: use the default; out is ""), -EINVAL for a malformed
 * spec (message in err) or -ENOSPC when out is too small.
 */
int rankspec_resolve(const char *s, unsigned long rank, char *out,
		     size_t outlen, char *err, size_t errlen);

#endif
