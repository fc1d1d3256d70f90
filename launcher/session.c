/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Theory of operation. The session is a handler on the launcher's loop: it
 * watches the agent channel and the task's stdin, and keeps two timers
 * (the boot timeout, the grace after a stop signal). Phases:
 *
 *  1. READY: wait for the agent's READY (the boot timeout bounds it);
 *  2. send EXEC (blocking: the agent is waiting for nothing else);
 *  3. RUN: STDOUT/STDERR frames go to fds 1 and 2 as they come, stdin
 *     goes to the guest one chunk at a time (stdin is read only when the
 *     previous chunk has left, so the guest's reading speed bounds ours);
 *     signals the launcher hands over are forwarded to the command, and if
 *     a stop signal's command has not ended after a grace period the
 *     session gives up;
 *  4. EXIT ends the phase with the command's status.
 *
 * Each phase ends by stopping the loop with its result. The guest is
 * untrusted: frames are parsed by agent_proto.c, text from the guest is
 * printed only after replacing non-printable bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "launcher/agent/agent_proto.h"
#include "launcher/common/clock.h"
#include "launcher/common/io.h"
#include "launcher/pmi/pmi_step.h"
#include "launcher/report/report.h"
#include "launcher/session.h"

/* How long the command may take to end after a forwarded SIGTERM. */
#define GRACE_MS 5000

enum phase { IDLE, READY, RUN };

struct session {
	struct loop *loop;
	const struct vm *vm;
	char *err;
	size_t errlen;
	enum phase phase;
	unsigned long boot_s;
	struct loop_fd agent, in;
	struct loop_timer deadline;   /* READY: boot; RUN: grace */
	struct loop_timer stdin_tick; /* stdin that epoll cannot watch */
	int stdin_plain;	      /* ...such as /dev/null or a file */
	struct agent_rx rx;
	uint8_t out[AGENT_HDR_LEN + AGENT_CHUNK]; /* to the guest */
	size_t out_off, out_len;
	int stdin_fd;	      /* -1 once EOF was queued */
	int stdout_broken;    /* srun's side went away: discard output */
	int stop_signal;      /* 0 while none came */
	int forwarded;	      /* stop_signal went to the command */
	int pass_signal;      /* USR1/USR2 for the command, 0 when none */
	struct pmi_step *pmi; /* the command's PMI service, or NULL */
	struct loop_fd pmi_ev;
	char *tail[3]; /* by fd: stdout's and stderr's tails, or NULL */
	size_t tail_max;
	struct session_aux aux; /* the sessions beside the command */
};

#define OF(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static void on_agent(struct loop_fd *e, uint32_t ev);
static void on_stdin(struct loop_fd *e, uint32_t ev);
static void on_deadline(struct loop_timer *t);
static void on_stdin_tick(struct loop_timer *t);

struct session *session_create(struct loop *l, const struct vm *vm, char *err,
			       size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = l;
	s->vm = vm;
	s->err = err;
	s->errlen = errlen;
	s->agent.fd = vm->agent_fd;
	s->agent.fn = on_agent;
	s->in.fd = 0;
	s->in.fn = on_stdin;
	s->deadline.fn = on_deadline;
	s->stdin_tick.fn = on_stdin_tick;
	s->stdin_fd = 0;
	return s;
}

void session_destroy(struct session *s)
{
	if (!s)
		return;
	loop_del(&s->agent);
	loop_del(&s->in);
	loop_del(&s->pmi_ev);
	loop_timer_stop(s->loop, &s->deadline);
	loop_timer_stop(s->loop, &s->stdin_tick);
	free(s);
}

/* Ends the phase: the loop returns code. */
static void finish(struct session *s, int code)
{
	s->phase = IDLE;
	loop_timer_stop(s->loop, &s->deadline);
	loop_timer_stop(s->loop, &s->stdin_tick);
	loop_stop(s->loop, code);
}

/* Writes all of buf to fd; after EPIPE, output is discarded. */
static void write_out(struct session *s, int fd, const uint8_t *buf, size_t len)
{
	if (s->tail[fd])
		report_tail_add(s->tail[fd], s->tail_max, (const char *)buf,
				len);
	while (len && !s->stdout_broken) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->stdout_broken = 1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void queue(struct session *s, uint8_t type, const void *data, size_t len)
{
	agent_msg_header(s->out, type, (uint32_t)len);
	if (len)
		memcpy(s->out + AGENT_HDR_LEN, data, len);
	s->out_off = 0;
	s->out_len = AGENT_HDR_LEN + len;
}

static int flush_out(struct session *s)
{
	while (s->out_off < s->out_len) {
		ssize_t n = write(s->vm->agent_fd, s->out + s->out_off,
				  s->out_len - s->out_off);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return -errno;
		s->out_off += (size_t)n;
	}
	s->out_off = s->out_len = 0;
	return 0;
}

static void read_stdin(struct session *s)
{
	uint8_t buf[AGENT_CHUNK];
	ssize_t n = read(s->stdin_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		queue(s, AGENT_STDIN_EOF, NULL, 0);
		s->stdin_fd = -1;
		return;
	}
	queue(s, AGENT_STDIN, buf, (size_t)n);
}

/* Returns 1 with *code set on EXIT, 0 to go on, -EPROTO. */
static int handle_frame(struct session *s, const struct agent_msg *m, int *code)
{
	if (m->session) { /* not the task's: dropped without a relay */
		if (s->aux.frame)
			s->aux.frame(s->aux.arg, m);
		return 0;
	}
	switch (m->type) {
	case AGENT_STDOUT:
		write_out(s, 1, m->data, m->len);
		return 0;
	case AGENT_STDERR:
		write_out(s, 2, m->data, m->len);
		return 0;
	case AGENT_ERROR: {
		char text[512];

		agent_error_text(m, text, sizeof(text));
		fprintf(stderr, "%s\n", text);
		return 0;
	}
	case AGENT_PMI: /* without a service, nobody asked for it: ignored */
		if (s->pmi)
			pmi_step_input(s->pmi, m->data, m->len);
		return 0;
	case AGENT_EXIT:
		*code = agent_exit_decode(m);
		if (*code < 0)
			return -EPROTO;
		return 1;
	default:
		return -EPROTO;
	}
}

static int send_exec(struct session *s, const char *hostname, const char *cwd,
		     char *const argv[], char *const env[])
{
	char *err = s->err;
	size_t errlen = s->errlen;
	uint8_t *payload;
	size_t len;
	int r = agent_exec_encode(hostname, cwd, argv, env, &payload, &len);

	if (r < 0) {
		snprintf(err, errlen,
			 "cannot pass the command to the guest: %s",
			 r == -E2BIG ? "its arguments and environment exceed "
				       "1 MiB"
				     : strerror(-r));
		return r;
	}
	r = agent_send(s->vm->agent_fd, AGENT_EXEC, payload, len);
	free(payload);
	if (r < 0)
		snprintf(err, errlen,
			 "cannot send the command to the guest: %s",
			 strerror(-r));
	return r;
}

/* Handles every whole frame received so far. Returns 1 with *code set on
 * EXIT, 0 when more must be read, -EPROTO. */
static int handle_frames(struct session *s, int *code)
{
	struct agent_msg m;
	int r;

	while ((r = agent_rx_next(&s->rx, &m)) == 1) {
		r = handle_frame(s, &m, code);
		if (r)
			break;
	}
	return r;
}

int session_poweroff(struct session *s, int agent_fd, int timeout_ms)
{
	uint8_t hdr[AGENT_HDR_LEN];
	long until = now_ms() + timeout_ms;
	int fl = fcntl(agent_fd, F_GETFL), r;

	if (fl < 0 || fcntl(agent_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	/* A frame half sent goes out whole first: POWEROFF never lands in
	 * the middle of one. */
	if (s && s->out_off < s->out_len) {
		r = write_until(agent_fd, s->out + s->out_off,
				s->out_len - s->out_off, until);
		if (r < 0)
			return r;
		s->out_off = s->out_len = 0;
	}
	agent_msg_header(hdr, AGENT_POWEROFF, 0);
	return write_until(agent_fd, hdr, sizeof(hdr), until);
}

/* The phase ends with an error: the loop returns code, err says why. */
static void fail(struct session *s, int code, const char *why, int tails)
{
	snprintf(s->err, s->errlen, "%s", why);
	if (tails)
		session_console_tails(s->vm, s->err, s->errlen);
	finish(s, code);
}

/* Watches what the relay waits for now: room on the agent channel while a
 * frame is going out, else stdin. */
static void want(struct session *s)
{
	int busy = s->out_len > 0;

	loop_mod(&s->agent, EPOLLIN | (busy ? EPOLLOUT : 0));
	if (s->phase != RUN || s->stdin_fd < 0)
		return;
	if (s->stdin_plain) {
		if (!busy)
			loop_timer_in(s->loop, &s->stdin_tick, 0);
		return;
	}
	loop_mod(&s->in, busy ? 0 : EPOLLIN);
}

/* Queues what goes to the command next, one frame at a time: a signal the
 * launcher handed over, else what its PMI service answers. */
static void pass_signals(struct session *s)
{
	uint8_t sig[AGENT_SIGNAL_LEN];
	const uint8_t *data;
	size_t len;

	if (s->out_len)
		return;
	if (s->pass_signal) {
		agent_signal_encode(sig, s->pass_signal);
		queue(s, AGENT_SIGNAL, sig, sizeof(sig));
		s->pass_signal = 0;
	} else if (s->stop_signal && !s->forwarded) {
		agent_signal_encode(sig, s->stop_signal);
		queue(s, AGENT_SIGNAL, sig, sizeof(sig));
		s->forwarded = 1;
		loop_timer_in(s->loop, &s->deadline, GRACE_MS);
	} else if (s->pmi && pmi_step_next(s->pmi, &data, &len, AGENT_CHUNK)) {
		queue(s, AGENT_PMI, data, len);
		pmi_step_sent(s->pmi, len);
	} else if (s->aux.next) {
		s->out_off = 0;
		s->out_len = s->aux.next(s->aux.arg, s->out, sizeof(s->out));
	}
}

/* Sends what waits; then what to watch. */
static void pump(struct session *s)
{
	for (;;) {
		pass_signals(s);
		if (!s->out_len)
			break;
		if (flush_out(s) < 0) {
			fail(s, -EPIPE,
			     "the agent channel closed while the command was "
			     "running",
			     1);
			return;
		}
		if (s->out_len)
			break; /* the channel is full: wait for room */
	}
	want(s);
}

void session_signal(struct session *s, int sig)
{
	if (s->phase == READY && sig != SIGUSR1 && sig != SIGUSR2) {
		char why[96];

		snprintf(why, sizeof(why),
			 "stopped by signal %d while the guest was booting",
			 sig);
		fail(s, -EINTR, why, 0);
		return;
	}
	if (sig == SIGUSR1 || sig == SIGUSR2)
		s->pass_signal = sig;
	else if (!s->stop_signal)
		s->stop_signal = sig;
	if (s->phase == RUN)
		pump(s);
}

void session_set_aux(struct session *s, const struct session_aux *a)
{
	s->aux = *a;
}

void session_kick(struct session *s)
{
	if (s->phase == RUN)
		pump(s);
}

void session_keep_tails(struct session *s, char *out, char *err, size_t max)
{
	s->tail[1] = out;
	s->tail[2] = err;
	s->tail_max = max;
	out[0] = err[0] = 0;
}

void session_qemu_gone(struct session *s)
{
	if (s->phase == READY)
		fail(s, -ECHILD, "QEMU exited before the guest was ready", 1);
	else if (s->phase == RUN)
		fail(s, -ECHILD, "QEMU exited while the command was running",
		     1);
}

static void on_deadline(struct loop_timer *t)
{
	struct session *s = OF(t, struct session, deadline);
	char why[256];

	if (s->phase == READY) {
		snprintf(why, sizeof(why),
			 "the guest did not start its agent within %lu s "
			 "(does the image run slurm-vm-agent? raise "
			 "boot_timeout= in plugstack.conf for slow guests)",
			 s->boot_s);
		fail(s, -ETIMEDOUT, why, 1);
		return;
	}
	snprintf(s->err, s->errlen,
		 "the command did not end within %d s of signal %d; "
		 "stopping the guest",
		 GRACE_MS / 1000, s->stop_signal);
	finish(s, 128 + s->stop_signal);
}

/* READY: the first frame must be READY. */
static void ready_frames(struct session *s)
{
	struct agent_msg m;
	int r = agent_rx_next(&s->rx, &m);

	if (r == 0)
		return;
	if (r < 0 || m.type != AGENT_READY) {
		fail(s, -EPROTO,
		     "the guest agent broke the protocol before it was ready",
		     0);
		return;
	}
	finish(s, 0);
}

static void on_agent(struct loop_fd *e, uint32_t ev)
{
	struct session *s = OF(e, struct session, agent);
	int r, code = -1;
	ssize_t n;

	if (s->phase == RUN && (ev & EPOLLOUT))
		pump(s);
	if (s->phase == IDLE || !(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = agent_rx_fill(&s->rx, s->agent.fd);
	if (n == -EAGAIN)
		return;
	if (s->phase == READY) {
		/* A closed channel: QEMU's exit follows, SIGCHLD reports it. */
		if (n > 0)
			ready_frames(s);
		else
			loop_del(&s->agent);
		return;
	}
	if (n <= 0) {
		fail(s, -EPIPE,
		     "the agent channel closed while the command was running",
		     1);
		return;
	}
	r = handle_frames(s, &code);
	if (r == 1 && s->pmi)
		pmi_step_exited(s->pmi, code);
	if (r == 1)
		finish(s, code);
	else if (r == 0)
		pump(s); /* the PMI service may have answered */
	else
		fail(s, -EPROTO,
		     "the guest agent broke the protocol; stopping the guest",
		     0);
}

static void on_stdin(struct loop_fd *e, uint32_t ev)
{
	struct session *s = OF(e, struct session, in);

	(void)ev;
	if (s->phase != RUN || s->out_len || s->stdin_fd < 0)
		return;
	read_stdin(s);
	if (s->stdin_fd < 0)
		loop_del(&s->in);
	pump(s);
}

static void on_pmi(struct loop_fd *e, uint32_t ev)
{
	struct session *s = OF(e, struct session, pmi_ev);

	(void)ev;
	pmi_step_on_event(s->pmi);
	if (s->phase == RUN)
		pump(s);
}

void session_set_pmi(struct session *s, struct pmi_step *p)
{
	s->pmi = p;
	s->pmi_ev = (struct loop_fd){.fd = pmi_step_fd(p), .fn = on_pmi};
}

static void on_stdin_tick(struct loop_timer *t)
{
	struct session *s = OF(t, struct session, stdin_tick);

	on_stdin(&s->in, EPOLLIN);
}

int session_begin_ready(struct session *s, unsigned long timeout_s)
{
	int r;

	if (!s->agent.loop && (r = loop_add(s->loop, &s->agent, EPOLLIN)) < 0)
		return r;
	s->phase = READY;
	s->boot_s = timeout_s;
	loop_timer_in(s->loop, &s->deadline, (long)timeout_s * 1000);
	return 0;
}

/* RUN: watches the channel and stdin (which epoll may refuse: /dev/null
 * and files are always readable, so they are read whenever there is
 * room). */
static int begin_relay(struct session *s)
{
	int r;

	fcntl(s->agent.fd, F_SETFL, fcntl(s->agent.fd, F_GETFL) | O_NONBLOCK);
	if (!s->agent.loop && (r = loop_add(s->loop, &s->agent, EPOLLIN)) < 0)
		return r;
	s->phase = RUN;
	/* A step of one task has no exchange to wait for: no fd. */
	if (s->pmi && s->pmi_ev.fd >= 0 && !s->pmi_ev.loop &&
	    (r = loop_add(s->loop, &s->pmi_ev, EPOLLIN)) < 0)
		return r;
	if (s->stdin_fd >= 0 && loop_add(s->loop, &s->in, EPOLLIN) < 0)
		s->stdin_plain = 1;
	pump(s);
	return 0;
}

int session_begin_run(struct session *s, const char *hostname, const char *cwd,
		      char *const argv[], char *const env[])
{
	int r = send_exec(s, hostname, cwd, argv, env);

	if (r < 0)
		return r;
	r = begin_relay(s);
	if (r < 0)
		snprintf(s->err, s->errlen, "cannot watch the agent: %s",
			 strerror(-r));
	return r;
}

int session_prime(struct session *s, const uint8_t *pending, size_t len)
{
	if (len > sizeof(s->rx.buf)) {
		snprintf(s->err, s->errlen, "too many saved agent bytes");
		return -EPROTO;
	}
	memcpy(s->rx.buf, pending, len);
	s->rx.start = 0, s->rx.len = len;
	return 0;
}

int session_begin_reattach(struct session *s, const uint8_t *pending,
			   size_t len, int *code)
{
	int r = session_prime(s, pending, len);

	if (r < 0)
		return r;
	s->stdin_fd = -1; /* the first job's stdin is gone */
	r = handle_frames(s, code);
	if (r == 1)
		return 1;
	if (r < 0) {
		snprintf(s->err, s->errlen,
			 "the saved agent bytes are not valid");
		return -EPROTO;
	}
	r = begin_relay(s);
	if (r < 0)
		snprintf(s->err, s->errlen, "cannot watch the agent: %s",
			 strerror(-r));
	return r;
}

void session_unparsed(const struct session *s, const uint8_t **p, size_t *len)
{
	*p = s->rx.buf + s->rx.start;
	*len = s->rx.len - s->rx.start;
}
