/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frame codec for the launcher <-> guest agent protocol (agent_proto.h).
 * Shared by both sides; every access to received bytes is bounds-checked
 * because the launcher treats everything from the guest as untrusted.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabric/be.h"
#include "launcher/agent/agent_proto.h"

static int type_known(uint8_t t)
{
	return (t >= AGENT_READY && t <= AGENT_CREDIT) ||
	       (t >= AGENT_EXEC && t <= AGENT_WINCH);
}

/* Which sessions a frame of type may name (agent_proto.h). */
static int session_ok(uint8_t type, uint8_t sid)
{
	if (sid >= AGENT_SESSIONS)
		return 0;
	switch (type) {
	case AGENT_CREDIT:
	case AGENT_SPAWN:
	case AGENT_WINCH:
		return sid != 0;
	case AGENT_STDOUT:
	case AGENT_STDERR:
	case AGENT_EXIT:
	case AGENT_ERROR:
	case AGENT_STDIN:
	case AGENT_STDIN_EOF:
	case AGENT_SIGNAL:
		return 1;
	default:
		return sid == 0;
	}
}

/* The length a frame of type may have (for session sid). */
static int length_ok(uint8_t type, uint8_t sid, uint32_t len)
{
	switch (type) {
	case AGENT_EXIT:
		return len == AGENT_EXIT_LEN;
	case AGENT_SIGNAL:
		return len == AGENT_SIGNAL_LEN;
	case AGENT_FRESH:
		return len == AGENT_FRESH_LEN;
	case AGENT_STDIN_EOF:
	case AGENT_POWEROFF:
		return len == 0;
	case AGENT_PMI:
		return len <= AGENT_CHUNK;
	case AGENT_CREDIT:
		return len == AGENT_CREDIT_LEN;
	case AGENT_WINCH:
		return len == AGENT_WINCH_LEN;
	case AGENT_SPAWN:
		return len <= AGENT_SPAWN_MAX;
	default: /* a session beside the task's sends in chunks */
		return !sid || len <= AGENT_CHUNK;
	}
}

ssize_t agent_msg_parse(const uint8_t *buf, size_t n, struct agent_msg *msg)
{
	uint32_t len;

	if (n < AGENT_HDR_LEN)
		return 0;
	if (!type_known(buf[0]) || !session_ok(buf[0], buf[1]) || buf[2] ||
	    buf[3])
		return -EPROTO;
	len = fabric_get_be32(buf + 4);
	if (len > AGENT_MAX_PAYLOAD || !length_ok(buf[0], buf[1], len))
		return -EPROTO;
	if (n - AGENT_HDR_LEN < len)
		return 0;
	msg->type = buf[0];
	msg->session = buf[1];
	msg->len = len;
	msg->data = buf + AGENT_HDR_LEN;
	return (ssize_t)(AGENT_HDR_LEN + len);
}

void agent_msg_header_to(uint8_t hdr[AGENT_HDR_LEN], uint8_t sid, uint8_t type,
			 uint32_t len)
{
	hdr[0] = type;
	hdr[1] = sid;
	hdr[2] = hdr[3] = 0;
	fabric_put_be32(hdr + 4, len);
}

void agent_msg_header(uint8_t hdr[AGENT_HDR_LEN], uint8_t type, uint32_t len)
{
	agent_msg_header_to(hdr, 0, type, len);
}

/* Consumed frames are dropped only here, so a frame returned by
 * agent_rx_next() stays valid until the next read. */
ssize_t agent_rx_fill(struct agent_rx *rx, int fd)
{
	ssize_t n;

	if (rx->start) {
		memmove(rx->buf, rx->buf + rx->start, rx->len - rx->start);
		rx->len -= rx->start;
		rx->start = 0;
	}
	if (rx->len == sizeof(rx->buf))
		return -ENOBUFS; /* cannot happen: a full buffer holds a frame
				  */
	do
		n = read(fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rx->len += (size_t)n;
	return n;
}

int agent_rx_next(struct agent_rx *rx, struct agent_msg *msg)
{
	ssize_t n =
	    agent_msg_parse(rx->buf + rx->start, rx->len - rx->start, msg);

	if (n <= 0)
		return (int)n;
	rx->start += (size_t)n;
	return 1;
}

int agent_send(int fd, uint8_t type, const void *data, size_t len)
{
	return agent_send_to(fd, 0, type, data, len);
}

int agent_send_to(int fd, uint8_t sid, uint8_t type, const void *data,
		  size_t len)
{
	uint8_t hdr[AGENT_HDR_LEN];
	const uint8_t *p[2] = {hdr, data};
	size_t left[2] = {AGENT_HDR_LEN, len};
	int i;

	if (len > AGENT_MAX_PAYLOAD)
		return -E2BIG;
	agent_msg_header_to(hdr, sid, type, (uint32_t)len);
	for (i = 0; i < 2; i++) {
		while (left[i]) {
			ssize_t n = write(fd, p[i], left[i]);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			p[i] += n;
			left[i] -= (size_t)n;
		}
	}
	return 0;
}

static size_t strings_len(char *const v[], uint32_t *count)
{
	size_t total = 0;

	*count = 0;
	for (; v && *v; v++, (*count)++)
		total += strlen(*v) + 1;
	return total;
}

int agent_exec_encode(const char *hostname, const char *cwd, char *const argv[],
		      char *const env[], uint8_t **out, size_t *out_len)
{
	uint32_t argc, envc;
	size_t total = 8 + strlen(hostname) + 1 + strlen(cwd) + 1;
	uint8_t *buf, *p;
	char *const *v;

	total += strings_len(argv, &argc);
	total += strings_len(env, &envc);
	if (total > AGENT_MAX_PAYLOAD)
		return -E2BIG;
	if (!argc)
		return -EINVAL;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	fabric_put_be32(buf, argc);
	fabric_put_be32(buf + 4, envc);
	p = buf + 8;
	p = (uint8_t *)stpcpy((char *)p, hostname) + 1;
	p = (uint8_t *)stpcpy((char *)p, cwd) + 1;
	for (v = argv; *v; v++)
		p = (uint8_t *)stpcpy((char *)p, *v) + 1;
	for (v = env; v && *v; v++)
		p = (uint8_t *)stpcpy((char *)p, *v) + 1;
	*out = buf;
	*out_len = total;
	return 0;
}

/* Takes the next NUL-terminated string from [*p, end); NULL if none. */
static const char *next_string(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	const char *s = (const char *)*p;

	if (!nul)
		return NULL;
	*p = nul + 1;
	return s;
}

int agent_exec_decode(const uint8_t *data, size_t len, struct agent_exec *ex)
{
	const uint8_t *p = data + 8, *end = data + len;
	uint32_t argc, envc, i;

	memset(ex, 0, sizeof(*ex));
	if (len < 8)
		return -EPROTO;
	argc = fabric_get_be32(data);
	envc = fabric_get_be32(data + 4);
	/* Each string takes at least one byte: bounds the allocations. */
	if (argc < 1 || argc > len || envc > len || argc + envc > len)
		return -EPROTO;
	ex->argv = calloc((size_t)argc + 1, sizeof(char *));
	ex->env = calloc((size_t)envc + 1, sizeof(char *));
	if (!ex->argv || !ex->env) {
		agent_exec_free(ex);
		return -ENOMEM;
	}
	ex->hostname = next_string(&p, end);
	ex->cwd = next_string(&p, end);
	if (!ex->cwd)
		goto bad;
	for (i = 0; i < argc; i++)
		if (!(ex->argv[i] = (char *)next_string(&p, end)))
			goto bad;
	for (i = 0; i < envc; i++)
		if (!(ex->env[i] = (char *)next_string(&p, end)))
			goto bad;
	if (p != end)
		goto bad;
	return 0;
bad:
	agent_exec_free(ex);
	return -EPROTO;
}

void agent_exec_free(struct agent_exec *ex)
{
	if (!ex)
		return;
	free(ex->argv);
	free(ex->env);
	memset(ex, 0, sizeof(*ex));
}

void agent_exit_encode(uint8_t out[AGENT_EXIT_LEN], enum agent_exit_how how,
		       uint32_t val)
{
	fabric_put_be32(out, (uint32_t)how);
	fabric_put_be32(out + 4, val);
}

int agent_exit_decode(const struct agent_msg *m)
{
	uint32_t how, val;

	if (m->type != AGENT_EXIT || m->len != AGENT_EXIT_LEN)
		return -EPROTO;
	how = fabric_get_be32(m->data);
	val = fabric_get_be32(m->data + 4);
	if (how == AGENT_EXITED && val <= 255)
		return (int)val;
	if (how == AGENT_SIGNALED && val >= 1 && val < 128)
		return 128 + (int)val;
	return -EPROTO;
}

void agent_signal_encode(uint8_t out[AGENT_SIGNAL_LEN], int sig)
{
	fabric_put_be32(out, (uint32_t)sig);
}

int agent_signal_decode(const struct agent_msg *m)
{
	uint32_t sig;

	if (m->type != AGENT_SIGNAL || m->len != AGENT_SIGNAL_LEN)
		return -EPROTO;
	sig = fabric_get_be32(m->data);
	return sig >= 1 && sig < 128 ? (int)sig : -EPROTO;
}

void agent_error_text(const struct agent_msg *m, char *out, size_t len)
{
	size_t i, n;

	if (!len)
		return;
	n = m->len < len - 1 ? m->len : len - 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = m->data[i];

		out[i] = (ch >= 32 && ch < 127) || ch == '\n' ? (char)ch : '?';
	}
	out[n] = 0;
}

/* 32 lowercase hex digits, not all zero (systemd's rule for a machine-id). */
static int machine_id_ok(const char *id, size_t len)
{
	size_t i, zero = 0;

	for (i = 0; i < len; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
		zero += id[i] == '0';
	}
	return len == AGENT_MACHINE_ID_LEN && zero < len;
}

int agent_fresh_encode(uint8_t out[AGENT_FRESH_LEN],
		       const struct agent_fresh *f)
{
	if (f->nsec >= 1000000000u ||
	    strnlen(f->machine_id, sizeof(f->machine_id)) !=
		AGENT_MACHINE_ID_LEN ||
	    !machine_id_ok(f->machine_id, AGENT_MACHINE_ID_LEN))
		return -EINVAL;
	fabric_put_be32(out, (uint32_t)(f->sec >> 32));
	fabric_put_be32(out + 4, (uint32_t)f->sec);
	fabric_put_be32(out + 8, f->nsec);
	memcpy(out + 12, f->seed, AGENT_FRESH_SEED);
	memcpy(out + 12 + AGENT_FRESH_SEED, f->machine_id,
	       AGENT_MACHINE_ID_LEN);
	return 0;
}

int agent_fresh_decode(const struct agent_msg *m, struct agent_fresh *f)
{
	const char *id = (const char *)m->data + 12 + AGENT_FRESH_SEED;

	if (m->type != AGENT_FRESH || m->len != AGENT_FRESH_LEN)
		return -EPROTO;
	f->sec = (uint64_t)fabric_get_be32(m->data) << 32 |
		 fabric_get_be32(m->data + 4);
	f->nsec = fabric_get_be32(m->data + 8);
	if (f->nsec >= 1000000000u || !machine_id_ok(id, AGENT_MACHINE_ID_LEN))
		return -EPROTO;
	memcpy(f->seed, m->data + 12, AGENT_FRESH_SEED);
	memcpy(f->machine_id, id, AGENT_MACHINE_ID_LEN);
	f->machine_id[AGENT_MACHINE_ID_LEN] = 0;
	return 0;
}

int agent_spawn_encode(uint32_t flags, unsigned rows, unsigned cols,
		       char *const argv[], char *const env[], uint8_t **out,
		       size_t *out_len)
{
	uint32_t argc, envc;
	size_t total = 16;
	uint8_t *buf, *p;
	char *const *v;

	total += strings_len(argv, &argc);
	total += strings_len(env, &envc);
	if (!argc || rows > 65535 || cols > 65535)
		return -EINVAL;
	if (total > AGENT_SPAWN_MAX)
		return -E2BIG;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	fabric_put_be32(buf, flags);
	fabric_put_be16(buf + 4, (uint16_t)rows);
	fabric_put_be16(buf + 6, (uint16_t)cols);
	fabric_put_be32(buf + 8, argc);
	fabric_put_be32(buf + 12, envc);
	p = buf + 16;
	for (v = argv; *v; v++)
		p = (uint8_t *)stpcpy((char *)p, *v) + 1;
	for (v = env; v && *v; v++)
		p = (uint8_t *)stpcpy((char *)p, *v) + 1;
	*out = buf;
	*out_len = total;
	return 0;
}

int agent_spawn_decode(const struct agent_msg *m, struct agent_spawn *sp)
{
	const uint8_t *p = m->data + 16, *end = m->data + m->len;
	uint32_t argc, envc, i;

	memset(sp, 0, sizeof(*sp));
	if (m->type != AGENT_SPAWN || m->len < 16 || m->len > AGENT_SPAWN_MAX)
		return -EPROTO;
	sp->flags = fabric_get_be32(m->data);
	sp->rows = fabric_get_be16(m->data + 4);
	sp->cols = fabric_get_be16(m->data + 6);
	argc = fabric_get_be32(m->data + 8);
	envc = fabric_get_be32(m->data + 12);
	/* Each string takes a byte at least: bounds the allocations. */
	if ((sp->flags & ~AGENT_SPAWN_PTY) || argc < 1 || argc > m->len ||
	    envc > m->len || argc + envc > m->len - 16)
		return -EPROTO;
	sp->argv = calloc((size_t)argc + 1, sizeof(char *));
	sp->env = calloc((size_t)envc + 1, sizeof(char *));
	if (!sp->argv || !sp->env) {
		agent_spawn_free(sp);
		return -ENOMEM;
	}
	for (i = 0; i < argc; i++)
		if (!(sp->argv[i] = (char *)next_string(&p, end)))
			goto bad;
	for (i = 0; i < envc; i++)
		if (!(sp->env[i] = (char *)next_string(&p, end)) ||
		    !strchr(sp->env[i], '=') || sp->env[i][0] == '=')
			goto bad;
	if (p != end)
		goto bad;
	return 0;
bad:
	agent_spawn_free(sp);
	return -EPROTO;
}

void agent_spawn_free(struct agent_spawn *sp)
{
	if (!sp)
		return;
	free(sp->argv);
	free(sp->env);
	memset(sp, 0, sizeof(*sp));
}

void agent_winch_encode(uint8_t out[AGENT_WINCH_LEN], unsigned rows,
			unsigned cols)
{
	fabric_put_be16(out, (uint16_t)rows);
	fabric_put_be16(out + 2, (uint16_t)cols);
}

int agent_winch_decode(const struct agent_msg *m, unsigned *rows,
		       unsigned *cols)
{
	if (m->type != AGENT_WINCH || m->len != AGENT_WINCH_LEN)
		return -EPROTO;
	*rows = fabric_get_be16(m->data);
	*cols = fabric_get_be16(m->data + 2);
	return 0;
}

void agent_credit_encode(uint8_t out[AGENT_CREDIT_LEN], uint32_t n)
{
	fabric_put_be32(out, n);
}

int agent_credit_decode(const struct agent_msg *m, uint32_t *n)
{
	if (m->type != AGENT_CREDIT || m->len != AGENT_CREDIT_LEN)
		return -EPROTO;
	*n = fabric_get_be32(m->data);
	return *n >= 1 && *n <= AGENT_WINDOW ? 0 : -EPROTO;
}
