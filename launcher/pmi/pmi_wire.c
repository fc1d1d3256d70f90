// SPDX-License-Identifier: GPL-2.0-or-later
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launcher/pmi/pmi_wire.h"

static void say(char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", what);
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Printable ASCII but space. */
static int val_char(char c)
{
	return c > ' ' && c < 127;
}

int pmi_key_ok(const char *key, size_t len)
{
	size_t i;

	if (!key || !len || len > PMI_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!val_char(key[i]) || key[i] == '=')
			return 0;
	return 1;
}

int pmi_val_ok(const char *val, size_t len)
{
	size_t i;

	if (len > PMI_VAL_MAX || (len && !val))
		return 0;
	for (i = 0; i < len; i++)
		if (!val_char(val[i]))
			return 0;
	return 1;
}

static int same(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && !memcmp(a, b, alen);
}

int pmi_line_parse(const char *line, size_t len, struct pmi_line *out,
		   char *err, size_t errlen)
{
	size_t i = 0, j, k;
	struct pmi_word *w;

	out->n = 0;
	out->multi = 0;
	if (len >= PMI_LINE_MAX) {
		say(err, errlen, "line too long");
		return -E2BIG;
	}
	while (i < len) {
		if (line[i] == ' ') {
			i++;
			continue;
		}
		if (out->n == PMI_WORDS_MAX) {
			say(err, errlen, "too many words in one line");
			return -E2BIG;
		}
		w = &out->w[out->n];
		w->name = line + i;
		while (i < len && line[i] != '=' && line[i] != ' ') {
			if (!name_char(line[i])) {
				say(err, errlen, "bad character in a name");
				return -EPROTO;
			}
			i++;
		}
		w->name_len = (size_t)(line + i - w->name);
		if (i == len || line[i] != '=' || !w->name_len) {
			say(err, errlen, "a word is not NAME=VALUE");
			return -EPROTO;
		}
		if (w->name_len > PMI_KEY_MAX) {
			say(err, errlen, "name too long");
			return -E2BIG;
		}
		w->val = line + ++i;
		while (i < len && line[i] != ' ') {
			if (!val_char(line[i])) {
				say(err, errlen, "bad character in a value");
				return -EPROTO;
			}
			i++;
		}
		w->val_len = (size_t)(line + i - w->val);
		if (w->val_len > PMI_VAL_MAX) {
			say(err, errlen, "value too long");
			return -E2BIG;
		}
		for (k = 0; k < out->n; k++)
			if (out->w[k].name_len == w->name_len &&
			    !memcmp(out->w[k].name, w->name, w->name_len)) {
				say(err, errlen, "a name repeats in one line");
				return -EPROTO;
			}
		out->n++;
	}
	if (!out->n) {
		say(err, errlen, "empty line");
		return -EPROTO;
	}
	w = &out->w[0];
	if (same(w->name, w->name_len, "mcmd"))
		out->multi = 1;
	else if (!same(w->name, w->name_len, "cmd")) {
		say(err, errlen, "the line does not start with cmd=");
		return -EPROTO;
	}
	for (j = 0; j < w->val_len; j++)
		if (!name_char(w->val[j])) {
			say(err, errlen, "bad command name");
			return -EPROTO;
		}
	if (!w->val_len) {
		say(err, errlen, "empty command name");
		return -EPROTO;
	}
	return 0;
}

const char *pmi_line_get(const struct pmi_line *l, const char *name,
			 size_t *len)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (same(l->w[i].name, l->w[i].name_len, name)) {
			if (len)
				*len = l->w[i].val_len;
			return l->w[i].val;
		}
	return NULL;
}

int pmi_line_is(const struct pmi_line *l, const char *name, const char *val)
{
	size_t n;
	const char *v = pmi_line_get(l, name, &n);

	return v && same(v, n, val);
}

int pmi_blob_next(const char *blob, size_t len, size_t *off, const char **key,
		  size_t *klen, const char **val, size_t *vlen)
{
	const char *p, *eq, *nl;
	size_t left;

	if (*off >= len)
		return 0;
	p = blob + *off;
	left = len - *off;
	nl = memchr(p, '\n', left);
	if (!nl)
		return -EPROTO;
	eq = memchr(p, '=', (size_t)(nl - p));
	if (!eq)
		return -EPROTO;
	*key = p;
	*klen = (size_t)(eq - p);
	*val = eq + 1;
	*vlen = (size_t)(nl - eq - 1);
	if (!pmi_key_ok(*key, *klen) || !pmi_val_ok(*val, *vlen))
		return -EPROTO;
	*off += (size_t)(nl - p) + 1;
	return 1;
}
