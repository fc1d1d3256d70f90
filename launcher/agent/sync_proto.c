/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The slurm-vm-sync request line (sync_proto.h): parsed and written. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launcher/agent/sync_proto.h"

int sync_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > SYNC_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int sync_value_ok(const char *s, size_t len)
{
	size_t i;

	if (len > SYNC_VALUE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* Digits only, no sign or space, at most SYNC_TIMEOUT_MAX_S * 1000. */
static int parse_ms(const char *s, size_t len, unsigned long *ms)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10)
		return -EPROTO;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > SYNC_TIMEOUT_MAX_S * 1000UL)
		return -EPROTO;
	*ms = v;
	return 0;
}

int sync_req_parse(const char *line, size_t len, struct sync_req *r)
{
	const char *sp, *name, *rest;
	size_t vlen, nlen;

	sp = memchr(line, ' ', len);
	if (!sp)
		return -EPROTO;
	if ((size_t)(sp - line) == 7 && !memcmp(line, "BARRIER", 7))
		r->op = SYNC_BARRIER;
	else if ((size_t)(sp - line) == 3 && !memcmp(line, "SET", 3))
		r->op = SYNC_SET;
	else if ((size_t)(sp - line) == 3 && !memcmp(line, "GET", 3))
		r->op = SYNC_GET;
	else
		return -EPROTO;
	name = sp + 1;
	sp = memchr(name, ' ', len - (size_t)(name - line));
	if (!sp)
		return -EPROTO;
	nlen = (size_t)(sp - name);
	rest = sp + 1;
	vlen = len - (size_t)(rest - line);
	if (!sync_name_ok(name, nlen))
		return -EPROTO;
	memcpy(r->name, name, nlen);
	r->name[nlen] = '\0';
	r->value[0] = '\0';
	r->ms = 0;
	if (r->op != SYNC_SET)
		return parse_ms(rest, vlen, &r->ms);
	if (!sync_value_ok(rest, vlen))
		return -EPROTO;
	memcpy(r->value, rest, vlen);
	r->value[vlen] = '\0';
	return 0;
}

int sync_req_format(const struct sync_req *r, char *buf, size_t size)
{
	int n;

	if (!sync_name_ok(r->name, strnlen(r->name, SYNC_NAME_MAX + 1)))
		return -EINVAL;
	if (r->op == SYNC_SET) {
		if (!sync_value_ok(r->value,
				   strnlen(r->value, SYNC_VALUE_MAX + 1)))
			return -EINVAL;
		n = snprintf(buf, size, "SET %s %s\n", r->name, r->value);
	} else if (r->op == SYNC_BARRIER || r->op == SYNC_GET) {
		if (r->ms > SYNC_TIMEOUT_MAX_S * 1000UL)
			return -EINVAL;
		n = snprintf(buf, size, "%s %s %lu\n",
			     r->op == SYNC_GET ? "GET" : "BARRIER", r->name,
			     r->ms);
	} else {
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
