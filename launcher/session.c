/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Theory of operation. One poll loop serves the agent channel, the task's
 * stdin, QMP events and a signalfd:
 *
 *  1. wait for READY, watching for QEMU's death and the boot timeout;
 *  2. send EXEC (blocking: the agent is waiting for nothing else);
 *  3. relay: STDOUT/STDERR frames go to fds 1 and 2 as they come, stdin
 *     goes to the guest one chunk at a time (stdin is read only when the
 *     previous chunk has left, so the guest's reading speed bounds ours);
 *     SIGTERM/SIGINT/SIGHUP are forwarded to the command, and if it has not
 *     ended after a grace period the session gives up;
 *  4. EXIT ends the session with the command's status.
 *
 * The guest is untrusted: frames are parsed by agent_proto.c, text from the
 * guest is printed only after replacing non-printable bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "agent_proto.h"
#include "pmi/pmi_step.h"
#include "session.h"
#include "snapshot.h"

/* How long the command may take to end after a forwarded SIGTERM. */
#define GRACE_MS 5000
/* --vm-snapshot-at=end: how long to wait for rank 0's CUT after SIGTERM. */
#define END_WAIT_MS 3000

struct session {
	struct vm *vm;
	struct qmp *qmp;
	int sfd;
	struct agent_rx rx;
	uint8_t out[AGENT_HDR_LEN + AGENT_CHUNK]; /* to the guest */
	size_t out_off, out_len;
	int stdin_fd;	   /* -1 once EOF was queued */
	int stdout_broken; /* srun's side went away: discard output */
	long give_up_at;   /* ms; 0 while no stop signal arrived */
	int stop_signal;
	int pass_signal;       /* USR1/USR2 for the command, 0 when none */
	int end_signal;	       /* held for a snapshot at the end */
	long end_until;	       /* ms: when to stop waiting for it */
	struct snapshot *snap; /* NULL without --vm-snapshot */
	struct pmi_step *pmi;  /* NULL with --vm-pmi=none */
};

void session_set_pmi(struct session *s, struct pmi_step *p)
{
	s->pmi = p;
}

void session_set_snapshot(struct session *s, struct snapshot *sn)
{
	s->snap = sn;
}

struct session *session_create(struct vm *vm, struct qmp *qmp, int sfd)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->qmp = qmp;
	s->sfd = sfd;
	s->stdin_fd = 0;
	return s;
}

void session_destroy(struct session *s)
{
	free(s);
}

static void append_tails(struct session *s, char *err, size_t errlen)
{
	size_t n = strlen(err);

	snprintf(err + n, errlen - n, "\nlast console lines:\n");
	vm_tail(s->vm->console, 12, err, errlen);
	n = strlen(err);
	if (n + 40 < errlen) {
		char qemu[1024] = "";

		vm_tail(s->vm->qemu_log, 5, qemu, sizeof(qemu));
		if (qemu[0])
			snprintf(err + n, errlen - n, "\nQEMU said:\n%s", qemu);
	}
}

/* Handles the signalfd. Returns 1 when QEMU has exited, else 0. */
static int take_signals(struct session *s)
{
	struct signalfd_siginfo si;
	int qemu_gone = 0;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;

			if (s->vm->pid &&
			    waitpid(s->vm->pid, &st, WNOHANG) == s->vm->pid) {
				s->vm->pid = 0;
				qemu_gone = 1;
			}
		} else if (s->snap &&
			   (int)si.ssi_signo == snapshot_signal(s->snap)) {
			snapshot_on_signal(s->snap);
		} else if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
			s->pass_signal = (int)si.ssi_signo;
		} else if (s->snap && snapshot_at_end(s->snap) &&
			   !s->end_signal && !s->stop_signal) {
			/* Saved first; the command gets the signal only if
			 * the save does not happen. */
			s->end_signal = (int)si.ssi_signo;
			s->end_until = now_ms() + END_WAIT_MS;
			snapshot_on_end(s->snap);
		} else if (!s->stop_signal) {
			s->stop_signal = (int)si.ssi_signo;
		}
	}
	if (!qemu_gone && s->vm->pid == 0)
		qemu_gone = 1;
	return qemu_gone;
}

int session_wait_ready(struct session *s, unsigned long timeout_s, char *err,
		       size_t errlen)
{
	long deadline = now_ms() + (long)timeout_s * 1000;

	for (;;) {
		struct pollfd p[3] = {
		    {.fd = s->vm->agent_fd, .events = POLLIN},
		    {.fd = s->sfd, .events = POLLIN},
		    {.fd = qmp_fd(s->qmp), .events = POLLIN},
		};
		long left = deadline - now_ms();
		struct agent_msg m;
		int r;

		if (left <= 0) {
			snprintf(
			    err, errlen,
			    "the guest did not start its agent within %lu s "
			    "(does the image run slurm-vm-agent? raise "
			    "boot_timeout= in plugstack.conf for slow guests)",
			    timeout_s);
			append_tails(s, err, errlen);
			return -ETIMEDOUT;
		}
		if (poll(p, 3, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents && take_signals(s)) {
			snprintf(err, errlen,
				 "QEMU exited before the guest "
				 "was ready");
			append_tails(s, err, errlen);
			return -ECHILD;
		}
		if (s->stop_signal) {
			snprintf(err, errlen,
				 "stopped by signal %d while the "
				 "guest was booting",
				 s->stop_signal);
			return -EINTR;
		}
		if (p[2].revents)
			qmp_drain(s->qmp);
		if (!p[0].revents)
			continue;
		if (agent_rx_fill(&s->rx, s->vm->agent_fd) <= 0)
			continue; /* QEMU's exit follows; SIGCHLD reports it */
		r = agent_rx_next(&s->rx, &m);
		if (r == 0)
			continue;
		if (r < 0 || m.type != AGENT_READY) {
			snprintf(err, errlen,
				 "the guest agent broke the protocol "
				 "before it was ready");
			return -EPROTO;
		}
		return 0;
	}
}

/* Writes all of buf to fd; after EPIPE, output is discarded. */
static void write_out(struct session *s, int fd, const uint8_t *buf, size_t len)
{
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

static void print_guest_text(const struct agent_msg *m)
{
	char text[512];
	size_t i, n = m->len < sizeof(text) - 1 ? m->len : sizeof(text) - 1;

	for (i = 0; i < n; i++) {
		unsigned char ch = m->data[i];

		text[i] = (ch >= 32 && ch < 127) || ch == '\n' ? (char)ch : '?';
	}
	text[n] = 0;
	fprintf(stderr, "%s\n", text);
}

/* Returns 1 with *code set on EXIT, 0 to go on, -EPROTO. */
static int handle_frame(struct session *s, const struct agent_msg *m, int *code)
{
	uint32_t how, val;

	switch (m->type) {
	case AGENT_STDOUT:
		write_out(s, 1, m->data, m->len);
		return 0;
	case AGENT_STDERR:
		write_out(s, 2, m->data, m->len);
		return 0;
	case AGENT_ERROR:
		print_guest_text(m);
		return 0;
	case AGENT_PMI: /* without a service, nobody asked for it: ignored */
		if (s->pmi)
			pmi_step_input(s->pmi, m->data, m->len);
		return 0;
	case AGENT_EXIT:
		how = (uint32_t)m->data[0] << 24 | (uint32_t)m->data[1] << 16 |
		      (uint32_t)m->data[2] << 8 | m->data[3];
		val = (uint32_t)m->data[4] << 24 | (uint32_t)m->data[5] << 16 |
		      (uint32_t)m->data[6] << 8 | m->data[7];
		if (how == AGENT_EXITED && val <= 255)
			*code = (int)val;
		else if (how == AGENT_SIGNALED && val >= 1 && val < 128)
			*code = 128 + (int)val;
		else
			return -EPROTO;
		return 1;
	default:
		return -EPROTO;
	}
}

static int send_exec(struct session *s, const char *hostname, const char *cwd,
		     char *const argv[], char *const env[], char *err,
		     size_t errlen)
{
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

/* Queues the PMI service's next frame for the guest when the slot is
 * free. Returns whether the slot is taken. */
static int pump_pmi(struct session *s)
{
	const uint8_t *data;
	size_t len;

	if (s->pmi && !s->out_len &&
	    pmi_step_next(s->pmi, &data, &len, AGENT_CHUNK)) {
		queue(s, AGENT_PMI, data, len);
		pmi_step_sent(s->pmi, len);
	}
	return s->out_len > 0;
}

/* Relays the command's I/O until its EXIT: the session's main loop. */
static int relay(struct session *s, char *err, size_t errlen)
{
	int r, code = -1;

	fcntl(s->vm->agent_fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		int busy = pump_pmi(s);
		struct pollfd p[6] = {
		    {.fd = s->vm->agent_fd,
		     .events = POLLIN | (busy ? POLLOUT : 0)},
		    {.fd = busy ? -1 : s->stdin_fd, .events = POLLIN},
		    {.fd = s->sfd, .events = POLLIN},
		    {.fd = qmp_fd(s->qmp), .events = POLLIN},
		    {.fd = s->snap ? snapshot_fd(s->snap) : -1,
		     .events = POLLIN},
		    {.fd = s->pmi ? pmi_step_fd(s->pmi) : -1, .events = POLLIN},
		};
		int timeout = s->end_signal ? 100 : -1;
		ssize_t n;

		if (s->give_up_at) {
			timeout = (int)(s->give_up_at - now_ms());
			if (timeout <= 0) {
				snprintf(err, errlen,
					 "the command did not end within %d s "
					 "of signal %d; stopping the guest",
					 GRACE_MS / 1000, s->stop_signal);
				return 128 + s->stop_signal;
			}
		}
		if (poll(p, 6, timeout) < 0 && errno != EINTR)
			return -errno;
		if (p[4].revents && snapshot_on_event(s->snap, &s->rx) == 1) {
			snprintf(err, errlen,
				 "stopped after the snapshot, as asked");
			return 0;
		}
		if (s->end_signal &&
		    (p[4].revents || now_ms() > s->end_until)) {
			/* The save at the end is over (given up, or it never
			 * came): the command gets the signal after all. */
			s->stop_signal = s->end_signal;
			s->end_signal = 0;
		}
		if (p[2].revents && take_signals(s)) {
			snprintf(err, errlen,
				 "QEMU exited while the command "
				 "was running");
			append_tails(s, err, errlen);
			return -ECHILD;
		}
		if (s->pass_signal && !busy) {
			uint8_t sig[4] = {0, 0, 0, (uint8_t)s->pass_signal};

			queue(s, AGENT_SIGNAL, sig, sizeof(sig));
			s->pass_signal = 0;
			busy = 1;
		}
		if (s->stop_signal && !s->give_up_at && !busy) {
			uint8_t sig[4] = {0, 0, 0, (uint8_t)s->stop_signal};

			queue(s, AGENT_SIGNAL, sig, sizeof(sig));
			s->give_up_at = now_ms() + GRACE_MS;
		}
		if (p[3].revents)
			qmp_drain(s->qmp);
		if (p[5].revents)
			pmi_step_on_event(s->pmi);
		if (p[1].revents && !s->out_len)
			read_stdin(s);
		if ((p[0].revents & POLLOUT) || s->out_len) {
			r = flush_out(s);
			if (r < 0)
				goto broken;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = agent_rx_fill(&s->rx, s->vm->agent_fd);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)
			goto broken;
		r = handle_frames(s, &code);
		if (r == 1) {
			if (s->pmi)
				pmi_step_exited(s->pmi, code);
			return code;
		}
		if (r < 0) {
			snprintf(err, errlen,
				 "the guest agent broke the "
				 "protocol; stopping the guest");
			return -EPROTO;
		}
	}
broken:
	snprintf(err, errlen,
		 "the agent channel closed while the command was "
		 "running");
	append_tails(s, err, errlen);
	return -EPIPE;
}

/* Writes n bytes to the non-blocking fd, waiting for room until until
 * (ms). Returns 0, -ETIMEDOUT or -errno. */
static int write_until(int fd, const uint8_t *p, size_t n, long until)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		long left;

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		left = until - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)left);
	}
	return 0;
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

int session_run(struct session *s, const char *hostname, const char *cwd,
		char *const argv[], char *const env[], char *err, size_t errlen)
{
	int r = send_exec(s, hostname, cwd, argv, env, err, errlen);

	return r < 0 ? r : relay(s, err, errlen);
}

int session_reattach(struct session *s, const uint8_t *pending, size_t len,
		     char *err, size_t errlen)
{
	int r, code = -1;

	if (len > sizeof(s->rx.buf)) {
		snprintf(err, errlen, "the saved agent bytes are too many");
		return -EPROTO;
	}
	memcpy(s->rx.buf, pending, len);
	s->rx.start = 0;
	s->rx.len = len;
	s->stdin_fd = -1; /* the first job's stdin is gone */
	r = handle_frames(s, &code);
	if (r == 1)
		return code;
	if (r < 0) {
		snprintf(err, errlen, "the saved agent bytes are not valid");
		return -EPROTO;
	}
	return relay(s, err, errlen);
}
