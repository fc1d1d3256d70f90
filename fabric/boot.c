/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pmix.h>

#include "fabric/boot.h"

#define BOOT_KEY "slurmvm.card"

static int initialized;

int boot_card_format(const struct boot_card *c, char *buf, size_t len)
{
	char hex[2 * BOOT_SECRET_LEN + 1];
	int i, n;

	for (i = 0; i < BOOT_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", c->secret[i]);
	n = snprintf(buf, len, "v2 %s %s %u %016" PRIx64 " %s", c->node,
		     c->addr, (unsigned)c->port, c->tag, hex);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

/* Copies a space-free word of at most max-1 bytes; returns its end. */
static const char *word(const char *p, char *out, size_t max)
{
	size_t n = 0;

	while (*p && *p != ' ') {
		if (n + 1 >= max || *p < 33 || *p > 126)
			return NULL;
		out[n++] = *p++;
	}
	out[n] = 0;
	return n ? p : NULL;
}

int boot_card_parse(const char *text, struct boot_card *c)
{
	char port[8], tag[18], hex[2 * BOOT_SECRET_LEN + 2];
	const char *p = text;
	unsigned long v;
	char *end;
	int i;

	memset(c, 0, sizeof(*c));
	if (strncmp(p, "v2 ", 3))
		return -EPROTO;
	p += 3;
	if (!(p = word(p, c->node, sizeof(c->node))) || *p++ != ' ' ||
	    !(p = word(p, c->addr, sizeof(c->addr))) || *p++ != ' ' ||
	    !(p = word(p, port, sizeof(port))) || *p++ != ' ' ||
	    !(p = word(p, tag, sizeof(tag))) || *p++ != ' ' ||
	    !(p = word(p, hex, sizeof(hex))) || *p)
		return -EPROTO;
	if (strlen(tag) != 16 || strspn(tag, "0123456789abcdef") != 16)
		return -EPROTO;
	c->tag = strtoull(tag, NULL, 16);
	errno = 0;
	v = strtoul(port, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EPROTO;
	c->port = (uint16_t)v;
	if (strlen(hex) != 2 * BOOT_SECRET_LEN)
		return -EPROTO;
	for (i = 0; i < BOOT_SECRET_LEN; i++) {
		char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};

		v = strtoul(byte, &end, 16);
		if (*end)
			return -EPROTO;
		c->secret[i] = (uint8_t)v;
	}
	return 0;
}

static int fail(pmix_status_t rc, const char *call, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "%s: %s (the fabric needs Slurm's PMIx: is the mpi/pmix "
		 "plugin installed, with libpmix-dev?)",
		 call, PMIx_Error_string(rc));
	boot_finalize();
	return -EIO;
}

int boot_exchange(const struct boot_card *mine, uint32_t *rank,
		  uint32_t *nranks, struct boot_card **cards, char *err,
		  size_t errlen)
{
	char text[BOOT_CARD_TEXT_MAX];
	pmix_proc_t me, wild, peer;
	pmix_value_t val, *got = NULL;
	pmix_info_t *info;
	pmix_status_t rc;
	bool collect = true;
	struct boot_card *all;
	uint32_t i, n;

	rc = PMIx_Init(&me, NULL, 0);
	if (rc != PMIX_SUCCESS)
		return fail(rc, "PMIx_Init", err, errlen);
	initialized = 1;
	PMIX_PROC_CONSTRUCT(&wild);
	PMIX_LOAD_PROCID(&wild, me.nspace, PMIX_RANK_WILDCARD);
	rc = PMIx_Get(&wild, PMIX_JOB_SIZE, NULL, 0, &got);
	if (rc != PMIX_SUCCESS || got->type != PMIX_UINT32)
		return fail(rc, "PMIx_Get(job size)", err, errlen);
	n = got->data.uint32;
	PMIX_VALUE_RELEASE(got);
	if (boot_card_format(mine, text, sizeof(text)) < 0) {
		snprintf(err, errlen, "the address card is too long");
		boot_finalize();
		return -ENAMETOOLONG;
	}
	PMIX_VALUE_LOAD(&val, text, PMIX_STRING);
	rc = PMIx_Put(PMIX_GLOBAL, BOOT_KEY, &val);
	PMIX_VALUE_DESTRUCT(&val);
	if (rc != PMIX_SUCCESS)
		return fail(rc, "PMIx_Put", err, errlen);
	rc = PMIx_Commit();
	if (rc != PMIX_SUCCESS)
		return fail(rc, "PMIx_Commit", err, errlen);
	PMIX_INFO_CREATE(info, 1);
	PMIX_INFO_LOAD(&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
	rc = PMIx_Fence(&wild, 1, info, 1);
	PMIX_INFO_FREE(info, 1);
	if (rc != PMIX_SUCCESS)
		return fail(rc, "PMIx_Fence", err, errlen);
	all = calloc(n, sizeof(*all));
	if (!all) {
		snprintf(err, errlen, "out of memory for %" PRIu32 " cards", n);
		boot_finalize();
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		PMIX_LOAD_PROCID(&peer, me.nspace, i);
		rc = PMIx_Get(&peer, BOOT_KEY, NULL, 0, &got);
		if (rc != PMIX_SUCCESS || got->type != PMIX_STRING ||
		    boot_card_parse(got->data.string, &all[i]) < 0) {
			if (rc == PMIX_SUCCESS)
				PMIX_VALUE_RELEASE(got);
			free(all);
			snprintf(err, errlen,
				 "rank %" PRIu32 " published no valid address "
				 "card",
				 i);
			boot_finalize();
			return -EPROTO;
		}
		PMIX_VALUE_RELEASE(got);
	}
	*rank = me.rank;
	*nranks = n;
	*cards = all;
	return 0;
}

void boot_finalize(void)
{
	if (initialized)
		PMIx_Finalize(NULL, 0);
	initialized = 0;
}
