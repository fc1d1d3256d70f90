/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The relay of sessions beside the task's command (exec_relay.h).
 *
 * Each session is a slot: FREE, OPEN (a client), GONE (its client went;
 * its command is being hung up and killed, its output dropped, until its
 * EXIT frees the slot). What goes to the agent is pulled by the session
 * (next()) one frame at a time, round robin over the slots: SPAWN first,
 * then a signal, a window size, a credit, a STDIN frame, its EOF. Calls
 * into the session and the control socket that could come back here are
 * deferred to a timer of 0 ms (kick), so no handler runs inside another.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/be.h"
#include "launcher/agent/agent_proto.h"
#include "launcher/common/clock.h"
#include "launcher/control/control.h"
#include "launcher/exec_relay.h"
#include "launcher/session.h"

enum xstate { X_FREE, X_OPEN, X_GONE };

struct xr {
	enum xstate state;
	unsigned client;
	uint8_t *spawn; /* the SPAWN payload not sent yet */
	size_t spawn_len;
	uint8_t in[AGENT_HDR_LEN + CONTROL_EXEC_CHUNK]; /* one STDIN frame */
	size_t in_len;
	int eof, sig, winch;
	unsigned rows, cols;
	uint32_t in_credit; /* stdin bytes the agent takes now */
	uint32_t unacked;   /* output the agent sent, not credited back */
	uint32_t passed;    /* of it, passed on (or dropped) */
	int offer;	    /* the client's input may be taken again */
	long kill_at;	    /* GONE: when SIGKILL goes (0: sent) */
};

struct exec_relay {
	struct loop *l;
	struct session *s;
	struct control *c;
	struct xr x[AGENT_SESSIONS]; /* [0] unused: the task's own */
	struct loop_timer kick, killer;
	int rr;
};

#define RELAY_OF(p, member)                                                    \
	((struct exec_relay *)((char *)(p)-offsetof(struct exec_relay, member)))

static void on_frame(void *arg, const struct agent_msg *m);
static size_t next_frame(void *arg, uint8_t *buf, size_t cap);

static void on_kick(struct loop_timer *t)
{
	struct exec_relay *x = RELAY_OF(t, kick);
	int i;

	for (i = 1; i < AGENT_SESSIONS; i++)
		if (x->x[i].offer && x->x[i].state == X_OPEN) {
			x->x[i].offer = 0;
			control_exec_kick(x->c, x->x[i].client);
		}
	session_kick(x->s);
}

static void kick(struct exec_relay *x)
{
	loop_timer_in(x->l, &x->kick, 0);
}

static void on_killer(struct loop_timer *t)
{
	struct exec_relay *x = RELAY_OF(t, killer);
	long now = now_ms(), next = 0;
	int i;

	for (i = 1; i < AGENT_SESSIONS; i++) {
		struct xr *r = &x->x[i];

		if (r->state != X_GONE || !r->kill_at)
			continue;
		if (r->kill_at <= now) {
			r->sig = SIGKILL;
			r->kill_at = 0;
		} else if (!next || r->kill_at < next) {
			next = r->kill_at;
		}
	}
	if (next)
		loop_timer_in(x->l, &x->killer, next - now);
	kick(x);
}

struct exec_relay *exec_relay_create(struct loop *l, struct session *s)
{
	struct exec_relay *x = calloc(1, sizeof(*x));
	struct session_aux aux = {on_frame, next_frame, NULL};

	if (!x)
		return NULL;
	x->l = l;
	x->s = s;
	x->kick.fn = on_kick;
	x->killer.fn = on_killer;
	x->rr = 1;
	aux.arg = x;
	session_set_aux(s, &aux);
	return x;
}

void exec_relay_set_control(struct exec_relay *x, struct control *c)
{
	x->c = c;
}

static void slot_free(struct xr *r)
{
	free(r->spawn);
	memset(r, 0, sizeof(*r));
}

void exec_relay_destroy(struct exec_relay *x)
{
	static const struct session_aux none;
	int i;

	if (!x)
		return;
	session_set_aux(x->s, &none);
	loop_timer_stop(x->l, &x->kick);
	loop_timer_stop(x->l, &x->killer);
	for (i = 1; i < AGENT_SESSIONS; i++)
		slot_free(&x->x[i]);
	free(x);
}

unsigned exec_relay_open_count(const struct exec_relay *x)
{
	unsigned n = 0;
	int i;

	for (i = 1; i < AGENT_SESSIONS; i++)
		n += x->x[i].state != X_FREE;
	return n;
}

/* A NAME=value entry with a name of letters, digits and '_'. */
static int env_ok(const char *e)
{
	size_t n = strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			     "wxyz0123456789_");

	return n && e[n] == '=' && !(e[0] >= '0' && e[0] <= '9');
}

/* The strings of array a (NULL-terminated, pointing into a), or NULL
 * with a message. */
static char **strings(json_t *a, const char *what, int need,
		      int (*check)(const char *), char *err, size_t errlen)
{
	size_t i, n = json_array_size(a);
	char **v;

	if ((a && !json_is_array(a)) || (need && !n)) {
		snprintf(err, errlen,
			 "exec: \"%s\" must be a%s array of strings", what,
			 need ? " non-empty" : "n");
		return NULL;
	}
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; v && i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (!s || (check && !check(s))) {
			snprintf(err, errlen,
				 "exec: \"%s\" entry %zu is not %s", what, i,
				 check ? "NAME=value" : "a string");
			free(v);
			return NULL;
		}
		v[i] = (char *)s;
	}
	if (!v)
		snprintf(err, errlen, "exec: out of memory");
	return v;
}

static int size_of(json_t *req, const char *k, unsigned *v)
{
	json_t *j = json_object_get(req, k);

	*v = 0;
	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > 65535)
		return -1;
	*v = (unsigned)json_integer_value(j);
	return 0;
}

/* The SPAWN payload of a request, into r. Returns 0 or -EINVAL. */
static int make_spawn(struct xr *r, json_t *req, char *err, size_t errlen)
{
	char **argv =
	    strings(json_object_get(req, "argv"), "argv", 1, NULL, err, errlen);
	char **env = argv ? strings(json_object_get(req, "env"), "env", 0,
				    env_ok, err, errlen)
			  : NULL;
	json_t *pty = json_object_get(req, "pty");
	unsigned rows, cols;
	int rc = -EINVAL;

	if (!env)
		goto out;
	if ((pty && !json_is_boolean(pty)) || size_of(req, "rows", &rows) ||
	    size_of(req, "cols", &cols)) {
		snprintf(err, errlen,
			 "exec: \"pty\" must be true or false, \"rows\" and "
			 "\"cols\" numbers from 0 to 65535");
		goto out;
	}
	rc = agent_spawn_encode(json_is_true(pty) ? AGENT_SPAWN_PTY : 0, rows,
				cols, argv, env, &r->spawn, &r->spawn_len);
	if (rc < 0)
		snprintf(err, errlen, "exec: the command and environment %s",
			 rc == -E2BIG ? "exceed 64 KiB" : "cannot be encoded");
out:
	free(argv);
	free(env);
	return rc;
}

int exec_relay_open(struct exec_relay *x, json_t *req, unsigned client,
		    char *err, size_t errlen)
{
	int i;

	for (i = 1; i < AGENT_SESSIONS && x->x[i].state != X_FREE; i++)
		;
	if (i == AGENT_SESSIONS) {
		snprintf(err, errlen,
			 "busy: %d sessions run in this guest already, try "
			 "again when one has ended",
			 AGENT_SESSIONS - 1);
		return -EBUSY;
	}
	if (make_spawn(&x->x[i], req, err, errlen) < 0) {
		slot_free(&x->x[i]);
		return -EINVAL;
	}
	x->x[i].state = X_OPEN;
	x->x[i].client = client;
	x->x[i].in_credit = AGENT_WINDOW;
	kick(x);
	return i;
}

static struct xr *slot(struct exec_relay *x, int h, enum xstate want)
{
	if (h < 1 || h >= AGENT_SESSIONS || x->x[h].state != want)
		return NULL;
	return &x->x[h];
}

/* Takes the client's whole frames while there is room for them. */
ssize_t exec_relay_input(struct exec_relay *x, int h, const void *buf,
			 size_t len)
{
	struct xr *r = slot(x, h, X_OPEN);
	const uint8_t *p = buf;
	size_t used = 0;
	struct agent_msg m;
	ssize_t n;

	if (!r)
		return -1;
	for (;; used += (size_t)n) {
		/* A frame that could never fit the control's buffer. */
		if (len - used >= AGENT_HDR_LEN &&
		    fabric_get_be32(p + used + 4) > CONTROL_EXEC_CHUNK)
			return -1;
		n = agent_msg_parse(p + used, len - used, &m);
		if (n <= 0)
			break;
		if (m.session != EXEC_LINK_SESSION)
			return -1;
		if (m.type == AGENT_STDIN || m.type == AGENT_STDIN_EOF) {
			if (r->eof)
				return -1; /* no stdin after its end */
			if (r->in_len || r->in_credit < m.len)
				break; /* one at a time, in the window */
			if (m.type == AGENT_STDIN && !m.len)
				return -1;
			r->eof = m.type == AGENT_STDIN_EOF;
			memcpy(r->in, p + used, (size_t)n);
			r->in_len = r->eof ? 0 : (size_t)n;
		} else if (m.type == AGENT_SIGNAL) {
			r->sig = agent_signal_decode(&m);
		} else if (m.type == AGENT_WINCH) {
			if (agent_winch_decode(&m, &r->rows, &r->cols) < 0)
				return -1;
			r->winch = 1;
		} else {
			return -1;
		}
	}
	if (n < 0)
		return -1;
	if (used)
		kick(x);
	return (ssize_t)used;
}

void exec_relay_written(struct exec_relay *x, int h)
{
	struct xr *r = slot(x, h, X_OPEN);

	if (r && r->passed)
		kick(x); /* a credit may go now */
}

void exec_relay_gone(struct exec_relay *x, int h)
{
	struct xr *r = slot(x, h, X_OPEN);

	if (!r)
		return;
	r->state = X_GONE;
	r->sig = SIGHUP;
	r->kill_at = now_ms() + EXEC_KILL_MS;
	r->passed = r->unacked; /* what it had not read is dropped */
	loop_timer_in(x->l, &x->killer, EXEC_KILL_MS);
	kick(x);
}

/* The session's end: the client gets the EXIT (or a message) and goes. */
static void end(struct exec_relay *x, int h, const char *why)
{
	struct xr *r = &x->x[h];

	if (r->state == X_OPEN) {
		if (why) {
			uint8_t hdr[AGENT_HDR_LEN];
			size_t n = strlen(why);

			agent_msg_header_to(hdr, EXEC_LINK_SESSION, AGENT_ERROR,
					    (uint32_t)n);
			control_exec_output(x->c, r->client, hdr, sizeof(hdr));
			control_exec_output(x->c, r->client, why, n);
		}
		control_exec_end(x->c, r->client);
	}
	slot_free(r);
}

/* A frame of the agent for session m->session. */
static void on_frame(void *arg, const struct agent_msg *m)
{
	struct exec_relay *x = arg;
	struct xr *r = &x->x[m->session];
	uint8_t hdr[AGENT_HDR_LEN];
	uint32_t n;

	if (r->state == X_FREE)
		return; /* not open: the guest's, dropped */
	if (m->type == AGENT_CREDIT) {
		if (agent_credit_decode(m, &n) == 0 &&
		    r->in_credit + n <= AGENT_WINDOW) {
			r->in_credit += n;
			r->offer = 1;
			kick(x);
		}
		return;
	}
	if (m->type == AGENT_STDOUT || m->type == AGENT_STDERR) {
		if (r->unacked + m->len > AGENT_WINDOW) {
			end(x, m->session,
			    "slurm-vm: the guest sent beyond its window: "
			    "session ended\n");
			return;
		}
		r->unacked += m->len;
		if (r->state == X_GONE)
			r->passed += m->len;
	}
	if (m->type == AGENT_EXIT && agent_exit_decode(m) < 0) {
		end(x, m->session,
		    "slurm-vm: a malformed EXIT from the guest\n");
		return;
	}
	if (r->state == X_OPEN) {
		agent_msg_header_to(hdr, EXEC_LINK_SESSION, m->type, m->len);
		if (control_exec_output(x->c, r->client, hdr, sizeof(hdr)) ||
		    control_exec_output(x->c, r->client, m->data, m->len)) {
			unsigned client = r->client;

			/* It cannot take more: it goes, its command too. */
			exec_relay_gone(x, m->session);
			control_exec_end(x->c, client);
		}
		if (r->state == X_OPEN &&
		    (m->type == AGENT_STDOUT || m->type == AGENT_STDERR))
			r->passed += m->len;
	}
	if (m->type == AGENT_EXIT)
		end(x, m->session, NULL);
	else
		kick(x); /* a credit may go */
}

/* The next frame of slot h, if any, into buf. */
static size_t slot_frame(struct exec_relay *x, int h, uint8_t *buf, size_t cap)
{
	struct xr *r = &x->x[h];
	uint8_t *d = buf + AGENT_HDR_LEN;
	size_t n = 0;
	uint8_t t = 0;

	if (r->spawn && AGENT_HDR_LEN + r->spawn_len <= cap) {
		t = AGENT_SPAWN;
		memcpy(d, r->spawn, n = r->spawn_len);
		free(r->spawn);
		r->spawn = NULL;
	} else if (r->spawn) {
		return 0;
	} else if (r->sig > 0) {
		agent_signal_encode(d, r->sig);
		t = AGENT_SIGNAL, n = AGENT_SIGNAL_LEN, r->sig = 0;
	} else if (r->winch) {
		agent_winch_encode(d, r->rows, r->cols);
		t = AGENT_WINCH, n = AGENT_WINCH_LEN, r->winch = 0;
	} else if (r->passed &&
		   (r->state == X_GONE ||
		    control_exec_pending(x->c, r->client) < AGENT_WINDOW)) {
		agent_credit_encode(d, r->passed);
		t = AGENT_CREDIT, n = AGENT_CREDIT_LEN;
		r->unacked -= r->passed;
		r->passed = 0;
	} else if (r->in_len) {
		n = r->in_len - AGENT_HDR_LEN;
		memcpy(d, r->in + AGENT_HDR_LEN, n);
		t = AGENT_STDIN;
		r->in_credit -= (uint32_t)n;
		r->in_len = 0;
		r->offer = 1;
	} else if (r->eof == 1) {
		t = AGENT_STDIN_EOF, r->eof = 2;
	} else {
		return 0;
	}
	agent_msg_header_to(buf, (uint8_t)h, t, (uint32_t)n);
	return AGENT_HDR_LEN + n;
}

static size_t next_frame(void *arg, uint8_t *buf, size_t cap)
{
	struct exec_relay *x = arg;
	int i;

	for (i = 0; i < AGENT_SESSIONS - 1; i++) {
		int h = (x->rr + i - 1) % (AGENT_SESSIONS - 1) + 1;
		size_t n;

		if (x->x[h].state == X_FREE)
			continue;
		n = slot_frame(x, h, buf, cap);
		if (n) {
			x->rr = h % (AGENT_SESSIONS - 1) + 1;
			if (x->x[h].offer)
				kick(x); /* the client's input, later */
			return n;
		}
	}
	return 0;
}
