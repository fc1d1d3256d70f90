/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PMI-1 wire protocol, the codec: one request line into its words, and
 * the exchange blob (the puts one rank contributes to a barrier) in and
 * out. Pure: no I/O, no allocation; every byte is untrusted.
 *
 * A request is one line of at most PMI_LINE_MAX bytes with its newline:
 * words separated by spaces, each NAME=VALUE, the first cmd=NAME (or
 * mcmd=NAME, which begins a multi-line command ended by a line "endcmd").
 * Names are 1..PMI_KEY_MAX bytes of [A-Za-z0-9_-]; values at most
 * PMI_VAL_MAX printable bytes, without spaces (the wire has no quoting).
 */
#ifndef SLURM_VM_PMI_WIRE_H
#define SLURM_VM_PMI_WIRE_H

#include <stddef.h>

/* Bounds for every line, name, value and kvs name on the wire. What
 * get_maxes answers is these. */
#define PMI_LINE_MAX 4096
#define PMI_KEY_MAX 64
#define PMI_VAL_MAX 1024
#define PMI_KVSNAME_MAX 256
/* Words in one request line. */
#define PMI_WORDS_MAX 16

struct pmi_word {
	const char *name; /* points into the line; not NUL-terminated */
	size_t name_len;
	const char *val;
	size_t val_len;
};

struct pmi_line {
	struct pmi_word w[PMI_WORDS_MAX];
	unsigned n;
	int multi; /* the first word was mcmd=, not cmd= */
};

/*
 * Splits LINE (LEN bytes, without its newline) into words. Returns 0, or
 * -EPROTO when a byte is not printable ASCII, a word has no '=' or a bad
 * name, the first word is not cmd= or mcmd=, or a name repeats; -E2BIG
 * when a name, a value or the count of words exceeds its bound. ERR (may
 * be NULL) gets a one-line reason. OUT points into LINE.
 */
int pmi_line_parse(const char *line, size_t len, struct pmi_line *out,
		   char *err, size_t errlen);

/* The value of word NAME, or NULL; *LEN gets its length. */
const char *pmi_line_get(const struct pmi_line *l, const char *name,
			 size_t *len);

/* Whether word NAME has exactly the value VAL. */
int pmi_line_is(const struct pmi_line *l, const char *name, const char *val);

/* Whether KEY (LEN bytes) is a valid kvs key: 1..PMI_KEY_MAX bytes,
 * printable, no space and no '='. VAL: 0..PMI_VAL_MAX printable bytes
 * without spaces. */
int pmi_key_ok(const char *key, size_t len);
int pmi_val_ok(const char *val, size_t len);

/*
 * The exchange blob: entries "KEY=VALUE\n", in order. pmi_blob_next()
 * reads the entry at *OFF of BLOB (LEN bytes) and advances *OFF. Returns
 * 1 with an entry, 0 at the end, -EPROTO for a malformed or oversized
 * entry (the blob comes from another launcher: untrusted).
 */
int pmi_blob_next(const char *blob, size_t len, size_t *off, const char **key,
		  size_t *klen, const char **val, size_t *vlen);

#endif
