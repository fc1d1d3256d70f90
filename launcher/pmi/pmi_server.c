// SPDX-License-Identifier: GPL-2.0-or-later
/* The PMI-1 service for one rank; see pmi_server.h for its lifecycle. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/pmi/pmi_server.h"
#include "launcher/pmi/pmi_wire.h"

#define KVS_BUCKETS 1024

struct kvs_entry {
	struct kvs_entry *next;
	size_t klen, vlen;
	char *val; /* points into key's allocation */
	char key[];
};

struct pmi_server {
	unsigned rank, size, appnum;
	char kvsname[PMI_KVSNAME_MAX + 1];
	enum pmi_state state;
	int abort_code;
	/* Input: one line at most, without the bytes not yet taken. */
	char in[PMI_LINE_MAX];
	size_t in_len;
	/* Inside a multi-line command: its lines so far; is it spawn. */
	unsigned multi_lines;
	int multi, multi_spawn;
	/* Replies not sent yet: out[out_off..out_len). */
	char *out;
	size_t out_off, out_len, out_cap;
	/* Puts since the last barrier, an exchange blob. */
	char *puts;
	size_t puts_len, puts_cap;
	/* The space as this rank sees it. */
	struct kvs_entry *bucket[KVS_BUCKETS];
	size_t kvs_bytes, kvs_max;
};

static unsigned hash(const char *k, size_t n)
{
	unsigned h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*k++) * 16777619u;
	return h % KVS_BUCKETS;
}

static struct kvs_entry *kvs_find(const struct pmi_server *s, const char *k,
				  size_t klen)
{
	struct kvs_entry *e;

	for (e = s->bucket[hash(k, klen)]; e; e = e->next)
		if (e->klen == klen && !memcmp(e->key, k, klen))
			return e;
	return NULL;
}

/* Sets KEY to VAL, replacing an older value. -ENOSPC past the bound. */
static int kvs_set(struct pmi_server *s, const char *k, size_t klen,
		   const char *v, size_t vlen)
{
	struct kvs_entry *old = kvs_find(s, k, klen), *e, **pp;
	size_t had = old ? old->klen + old->vlen : 0;

	if (s->kvs_bytes - had + klen + vlen > s->kvs_max)
		return -ENOSPC;
	e = malloc(sizeof(*e) + klen + vlen + 2);
	if (!e)
		return -ENOMEM;
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->key, k, klen);
	e->key[klen] = 0;
	e->val = e->key + klen + 1;
	memcpy(e->val, v, vlen);
	e->val[vlen] = 0;
	pp = &s->bucket[hash(k, klen)];
	if (old) {
		while (*pp != old)
			pp = &(*pp)->next;
		*pp = old->next;
		free(old);
	}
	e->next = s->bucket[hash(k, klen)];
	s->bucket[hash(k, klen)] = e;
	s->kvs_bytes = s->kvs_bytes - had + klen + vlen;
	return 0;
}

struct pmi_server *pmi_server_create(const struct pmi_server_config *c)
{
	struct pmi_server *s;
	char map[64];
	size_t n = c->kvsname ? strlen(c->kvsname) : 0;

	if (c->rank >= c->size || !n || n > PMI_KVSNAME_MAX ||
	    !pmi_val_ok(c->kvsname, n)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rank = c->rank;
	s->size = c->size;
	s->appnum = c->appnum;
	memcpy(s->kvsname, c->kvsname, n + 1);
	s->kvs_max =
	    c->kvs_bytes_max ? c->kvs_bytes_max : PMI_KVS_BYTES_DEFAULT;
	/* One rank per node: each guest is a node of its own, so the MPI
	 * library never assumes memory shared between ranks. */
	snprintf(map, sizeof(map), "(vector,(0,%u,1))", c->size);
	if (kvs_set(s, "PMI_process_mapping", 19, map, strlen(map)) < 0) {
		pmi_server_destroy(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void pmi_server_destroy(struct pmi_server *s)
{
	struct kvs_entry *e, *next;
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < KVS_BUCKETS; i++)
		for (e = s->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(s->out);
	free(s->puts);
	free(s);
}

/* Grows *BUF to hold NEED bytes. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 1024;
	char *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int reply(struct pmi_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues one reply; a reply fits 2 * PMI_LINE_MAX by construction. */
static int reply(struct pmi_server *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	if (reserve(&s->out, &s->out_cap, s->out_len + 2 * PMI_LINE_MAX) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(s->out + s->out_len, 2 * PMI_LINE_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= 2 * PMI_LINE_MAX)
		return -EOVERFLOW;
	s->out_len += (size_t)n;
	return 0;
}

/* kvsname= of a put or get names our space. */
static int our_kvs(const struct pmi_server *s, const struct pmi_line *l)
{
	return pmi_line_is(l, "kvsname", s->kvsname);
}

static int do_put(struct pmi_server *s, const struct pmi_line *l)
{
	size_t klen, vlen = 0;
	const char *k = pmi_line_get(l, "key", &klen);
	const char *v = pmi_line_get(l, "value", &vlen);
	int r;

	if (!our_kvs(s, l))
		return reply(s, "cmd=put_result rc=-1 msg=unknown_kvsname\n");
	if (!k || !pmi_key_ok(k, klen))
		return reply(s, "cmd=put_result rc=-1 msg=bad_key\n");
	if (!v)
		v = "";
	if (klen >= 4 && !memcmp(k, "PMI_", 4))
		return reply(s, "cmd=put_result rc=-1 msg=reserved_key\n");
	if (s->kvs_bytes + s->puts_len + klen + vlen + 2 > s->kvs_max)
		return reply(s, "cmd=put_result rc=-1 msg=space_full\n");
	if (reserve(&s->puts, &s->puts_cap, s->puts_len + klen + vlen + 2) < 0)
		return -ENOMEM;
	r = kvs_set(s, k, klen, v, vlen);
	if (r == -ENOSPC)
		return reply(s, "cmd=put_result rc=-1 msg=space_full\n");
	if (r < 0)
		return r;
	memcpy(s->puts + s->puts_len, k, klen);
	s->puts[s->puts_len + klen] = '=';
	memcpy(s->puts + s->puts_len + klen + 1, v, vlen);
	s->puts[s->puts_len + klen + 1 + vlen] = '\n';
	s->puts_len += klen + vlen + 2;
	return reply(s, "cmd=put_result rc=0 msg=success\n");
}

static int do_get(struct pmi_server *s, const struct pmi_line *l)
{
	size_t klen;
	const char *k = pmi_line_get(l, "key", &klen);
	const struct kvs_entry *e;

	if (!our_kvs(s, l))
		return reply(s, "cmd=get_result rc=-1 msg=unknown_kvsname\n");
	if (!k || !pmi_key_ok(k, klen))
		return reply(s, "cmd=get_result rc=-1 msg=bad_key\n");
	e = kvs_find(s, k, klen);
	if (!e)
		return reply(s, "cmd=get_result rc=-1 msg=key_not_found\n");
	return reply(s, "cmd=get_result rc=0 msg=success value=%s\n", e->val);
}

static int do_abort(struct pmi_server *s, const struct pmi_line *l)
{
	size_t n;
	const char *v = pmi_line_get(l, "exitcode", &n);
	char num[16];
	long code = 1;
	char *end;

	if (v && n && n < sizeof(num)) {
		memcpy(num, v, n);
		num[n] = 0;
		code = strtol(num, &end, 10);
		if (*end || code < INT_MIN || code > INT_MAX)
			code = 1;
	}
	s->abort_code = (int)code;
	s->state = PMI_ABORTED;
	return 0;
}

/* Handles one request line (no newline). */
/* A line of a multi-line command (mcmd=spawn...endcmd): counted, bounded,
 * and the whole command refused at its end. */
static int multi_line(struct pmi_server *s, const char *line, size_t len,
		      char *err, size_t errlen)
{
	if (len == 6 && !memcmp(line, "endcmd", 6)) {
		s->multi = 0;
		return reply(s, "cmd=%s_result rc=-1 msg=%s\n",
			     s->multi_spawn ? "spawn" : "mcmd",
			     s->multi_spawn ? "spawn_is_not_supported_in_guests"
					    : "unknown_command");
	}
	if (++s->multi_lines > PMI_MULTI_LINES_MAX) {
		snprintf(err, errlen,
			 "a multi-line command of more than %d lines",
			 PMI_MULTI_LINES_MAX);
		return -E2BIG;
	}
	return 0;
}

static int handle(struct pmi_server *s, const char *line, size_t len, char *err,
		  size_t errlen)
{
	struct pmi_line l;
	size_t n;
	const char *cmd;
	int r;

	if (s->multi)
		return multi_line(s, line, len, err, errlen);
	r = pmi_line_parse(line, len, &l, err, errlen);
	if (r < 0)
		return r;
	cmd = l.w[0].val;
	n = l.w[0].val_len;
	if (l.multi) {
		s->multi = 1;
		s->multi_lines = 0;
		s->multi_spawn = n == 5 && !memcmp(cmd, "spawn", 5);
		return 0;
	}
#define IS(name) (n == sizeof(name) - 1 && !memcmp(cmd, name, n))
	if (IS("init"))
		return reply(s,
			     "cmd=response_to_init pmi_version=1 "
			     "pmi_subversion=1 rc=%d\n",
			     pmi_line_is(&l, "pmi_version", "1") ? 0 : -1);
	if (IS("initack"))
		return reply(s,
			     "cmd=initack rc=0\ncmd=set size=%u\n"
			     "cmd=set rank=%u\ncmd=set debug=0\n",
			     s->size, s->rank);
	if (IS("get_maxes"))
		return reply(s,
			     "cmd=maxes kvsname_max=%d keylen_max=%d "
			     "vallen_max=%d rc=0\n",
			     PMI_KVSNAME_MAX, PMI_KEY_MAX, PMI_VAL_MAX);
	if (IS("get_appnum"))
		return reply(s, "cmd=appnum appnum=%u rc=0\n", s->appnum);
	if (IS("get_my_kvsname"))
		return reply(s, "cmd=my_kvsname kvsname=%s rc=0\n", s->kvsname);
	if (IS("get_universe_size"))
		return reply(s, "cmd=universe_size size=%u rc=0\n", s->size);
	if (IS("put"))
		return do_put(s, &l);
	if (IS("get"))
		return do_get(s, &l);
	if (IS("barrier_in")) {
		s->state = PMI_IN_BARRIER;
		return 0;
	}
	if (IS("finalize")) {
		s->state = PMI_FINALIZED;
		return reply(s, "cmd=finalize_ack rc=0\n");
	}
	if (IS("abort"))
		return do_abort(s, &l);
	if (IS("spawn"))
		return reply(s, "cmd=spawn_result rc=-1 "
				"msg=spawn_is_not_supported_in_guests\n");
	if (IS("publish_name"))
		return reply(s, "cmd=publish_result rc=-1 msg=not_supported\n");
	if (IS("unpublish_name"))
		return reply(s,
			     "cmd=unpublish_result rc=-1 msg=not_supported\n");
	if (IS("lookup_name"))
		return reply(s, "cmd=lookup_result rc=-1 msg=not_supported\n");
#undef IS
	return reply(s, "cmd=%.*s_result rc=-1 msg=unknown_command\n", (int)n,
		     cmd);
}

static int fail(struct pmi_server *s, int r)
{
	s->state = PMI_FAILED;
	return r;
}

ssize_t pmi_server_feed(struct pmi_server *s, const char *buf, size_t len,
			char *err, size_t errlen)
{
	size_t taken = 0, n, line;
	char *nl;
	int r;

	if (s->state == PMI_FAILED) {
		snprintf(err, errlen, "the PMI connection failed earlier");
		return -EPROTO;
	}
	for (;;) {
		if (s->state != PMI_RUNNING ||
		    s->out_len - s->out_off > PMI_OUT_MAX)
			break;
		nl = memchr(s->in, '\n', s->in_len);
		if (nl) {
			line = (size_t)(nl - s->in);
			r = handle(s, s->in, line, err, errlen);
			if (r < 0)
				return fail(s, r);
			memmove(s->in, nl + 1, s->in_len - line - 1);
			s->in_len -= line + 1;
			continue;
		}
		if (s->in_len == sizeof(s->in)) {
			snprintf(err, errlen,
				 "a line longer than %d bytes (the bound of "
				 "the PMI wire)",
				 PMI_LINE_MAX);
			return fail(s, -E2BIG);
		}
		if (taken == len)
			break;
		n = len - taken;
		if (n > sizeof(s->in) - s->in_len)
			n = sizeof(s->in) - s->in_len;
		memcpy(s->in + s->in_len, buf + taken, n);
		s->in_len += n;
		taken += n;
	}
	return (ssize_t)taken;
}

enum pmi_state pmi_server_state(const struct pmi_server *s)
{
	return s->state;
}

int pmi_server_abort_code(const struct pmi_server *s)
{
	return s->abort_code;
}

const char *pmi_server_out(const struct pmi_server *s, size_t *len)
{
	*len = s->out_len - s->out_off;
	return s->out ? s->out + s->out_off : "";
}

void pmi_server_out_done(struct pmi_server *s, size_t n)
{
	if (n > s->out_len - s->out_off)
		n = s->out_len - s->out_off;
	s->out_off += n;
}

const char *pmi_server_puts(const struct pmi_server *s, size_t *len)
{
	*len = s->puts_len;
	return s->puts ? s->puts : "";
}

int pmi_server_barrier_done(struct pmi_server *s, const char *all, size_t len,
			    char *err, size_t errlen)
{
	const char *k, *v;
	size_t off = 0, klen, vlen, sum = 0;
	int r;

	if (s->state != PMI_IN_BARRIER) {
		snprintf(err, errlen, "no barrier waits");
		return -EINVAL;
	}
	/* Check it all first: a failed call changes nothing. */
	while ((r = pmi_blob_next(all, len, &off, &k, &klen, &v, &vlen)) > 0)
		sum += klen + vlen;
	if (r < 0) {
		snprintf(err, errlen,
			 "a malformed key-value entry at byte %zu of the "
			 "exchange",
			 off);
		return r;
	}
	if (s->kvs_bytes + sum > s->kvs_max) {
		snprintf(err, errlen,
			 "the exchange holds %zu bytes of keys and values, "
			 "past the bound of %zu",
			 sum, s->kvs_max);
		return -ENOSPC;
	}
	if (reserve(&s->out, &s->out_cap, s->out_len + 2 * PMI_LINE_MAX) < 0)
		return -ENOMEM;
	off = 0;
	while (pmi_blob_next(all, len, &off, &k, &klen, &v, &vlen) > 0) {
		/* PMI_ keys are the service's own: a rank may not set them
		 * for the others either. */
		if (klen >= 4 && !memcmp(k, "PMI_", 4))
			continue;
		r = kvs_set(s, k, klen, v, vlen);
		if (r < 0) {
			snprintf(err, errlen, "%s", strerror(-r));
			return r;
		}
	}
	s->puts_len = 0;
	s->state = PMI_RUNNING;
	return reply(s, "cmd=barrier_out rc=0\n");
}
