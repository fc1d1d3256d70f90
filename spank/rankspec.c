/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spank/rankspec.h"

/*
 * Reads a decimal rank at s (at most RANKSPEC_MAX_RANK). Returns the
 * number of digits, 0 when there are none, -1 when the number is too big.
 */
static int rank_number(const char *s, unsigned long *out)
{
	unsigned long v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (unsigned long)(s[n] - '0');
		if (v > RANKSPEC_MAX_RANK)
			return -1;
		n++;
	}
	*out = v;
	return n;
}

/*
 * Reads "a:", "a-b:" or "a-:" at s. Returns its length with the colon and
 * fills first and last, 0 when s does not start with a range and a colon,
 * or -1 for a rank above RANKSPEC_MAX_RANK.
 */
static int range_at(const char *s, unsigned long *first, unsigned long *last)
{
	int n = rank_number(s, first), m;

	if (n <= 0)
		return n;
	*last = *first;
	if (s[n] == '-') {
		m = rank_number(s + n + 1, last);
		if (m < 0)
			return -1;
		if (m == 0)
			*last = RANKSPEC_OPEN;
		n += 1 + m;
	}
	return s[n] == ':' ? n + 1 : 0;
}

int rankspec_is_spec(const char *s)
{
	unsigned long a, b;

	return s && range_at(s, &a, &b) != 0;
}

int rankspec_range(const struct rankspec_entry *e, char *buf, size_t len)
{
	if (e->last == e->first)
		return snprintf(buf, len, "%lu", e->first);
	if (e->last == RANKSPEC_OPEN)
		return snprintf(buf, len, "%lu-", e->first);
	return snprintf(buf, len, "%lu-%lu", e->first, e->last);
}

/* The entry before e whose range holds all of e's, or NULL. */
static const struct rankspec_entry *shadowed(const struct rankspec *rs,
					     const struct rankspec_entry *e)
{
	const struct rankspec_entry *p;

	for (p = rs->e; p < e; p++)
		if (p->first <= e->first && p->last >= e->last)
			return p;
	return NULL;
}

static int check_entry(const struct rankspec *rs,
		       const struct rankspec_entry *e, char *err, size_t errlen)
{
	const struct rankspec_entry *p;
	char range[48], earlier[48];

	rankspec_range(e, range, sizeof(range));
	if (e->last < e->first) {
		snprintf(err, errlen,
			 "the range %s runs backwards; write the lower rank "
			 "first (%lu-%lu)",
			 range, e->last, e->first);
		return -EINVAL;
	}
	if (e->len == 0) {
		snprintf(err, errlen,
			 "rank %s has an empty value; give one after the "
			 "colon (%s:VALUE)",
			 range, range);
		return -EINVAL;
	}
	p = shadowed(rs, e);
	if (p) {
		rankspec_range(p, earlier, sizeof(earlier));
		snprintf(err, errlen,
			 "the entry for rank %s is never used: the earlier "
			 "range %s already holds it and the first match wins; "
			 "put the narrower range first",
			 range, earlier);
		return -EINVAL;
	}
	return 0;
}

int rankspec_parse(const char *s, struct rankspec *rs, char *err, size_t errlen)
{
	const char *p = s;

	memset(rs, 0, sizeof(*rs));
	if (!rankspec_is_spec(s)) {
		rs->plain = 1;
		rs->n = 1;
		rs->e[0].first = 0;
		rs->e[0].last = RANKSPEC_OPEN;
		rs->e[0].value = s;
		rs->e[0].len = strlen(s);
		return 0;
	}
	while (*p) {
		struct rankspec_entry *e = &rs->e[rs->n];
		unsigned long a, b;
		int n = range_at(p, &e->first, &e->last);

		if (n < 0) {
			snprintf(err, errlen,
				 "a rank in '%.20s' is above %d; ranks are "
				 "counted from 0",
				 p, RANKSPEC_MAX_RANK);
			return -EINVAL;
		}
		/* Only the first entry can lack a range, and it cannot. */
		e->value = p + n;
		for (p += n; *p; p++)
			if (*p == ',' && range_at(p + 1, &a, &b) != 0)
				break;
		e->len = (size_t)(p - e->value);
		if (++rs->n == RANKSPEC_MAX && *p) {
			snprintf(err, errlen,
				 "more than %d entries; join ranges that share "
				 "a value (0-3:VALUE)",
				 RANKSPEC_MAX);
			return -EINVAL;
		}
		if (check_entry(rs, e, err, errlen) < 0)
			return -EINVAL;
		if (*p == ',')
			p++;
	}
	return 0;
}

const struct rankspec_entry *rankspec_find(const struct rankspec *rs,
					   unsigned long rank)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->e[i].first <= rank && rank <= rs->e[i].last)
			return &rs->e[i];
	return NULL;
}

int rankspec_resolve(const char *s, unsigned long rank, char *out,
		     size_t outlen, char *err, size_t errlen)
{
	struct rankspec rs;
	const struct rankspec_entry *e;

	if (outlen)
		out[0] = 0;
	if (rankspec_parse(s, &rs, err, errlen) < 0)
		return -EINVAL;
	e = rankspec_find(&rs, rank);
	if (!e)
		return 0;
	if (e->len >= outlen)
		return -ENOSPC;
	memcpy(out, e->value, e->len);
	out[e->len] = 0;
	return 1;
}
