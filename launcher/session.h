/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher's side of one agent session: ready, exec, relay, exit, as
 * a handler on the launcher's loop (loop.h). Each session_begin_*() arms
 * the session; the launcher then runs the loop, which returns what the
 * phase ended with. The session watches the agent channel and the task's
 * stdin only: signals and QEMU's end reach it through the launcher
 * (session_signal(), session_qemu_gone()).
 */
#ifndef SLURM_VM_SESSION_H
#define SLURM_VM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "launcher/common/loop.h"
#include "launcher/boot/vm.h"

struct session;

/*
 * Creates a session on a started vm (its agent channel), for loop. What
 * ends a phase with an error is written to err (errlen bytes, the
 * caller's, kept for the session's life). Returns NULL when out of memory.
 */
struct session *session_create(struct loop *l, const struct vm *vm, char *err,
			       size_t errlen);
/* Removes the session's entries from the loop and frees it; NULL-safe. */
void session_destroy(struct session *s);

/*
 * Waits up to timeout_s for the agent's READY: the loop then returns 0,
 * or -errno with a message (the console's last lines too) in err:
 * -ETIMEDOUT, -ECHILD when QEMU exited, -EINTR when the launcher was told
 * to stop, -EPROTO. Returns 0, or -errno when the loop refused the entry.
 */
int session_begin_ready(struct session *s, unsigned long timeout_s);

/*
 * Runs argv with env in the guest (as hostname, in cwd) and relays stdin,
 * stdout and stderr until it ends: the loop then returns the task's exit
 * code (0-255: the status, or 128+N for signal N), or -errno with a
 * message in err. Returns 0, or -errno with a message in err.
 */
int session_begin_run(struct session *s, const char *hostname, const char *cwd,
		      char *const argv[], char *const env[]);

/*
 * A restored guest: its command runs already. Takes the agent bytes saved
 * with it (a frame may have been cut in two), then relays as
 * session_begin_run() does, with no stdin. Returns 0, 1 when those bytes
 * held the command's EXIT already (its code in *code), or -errno with a
 * message in err.
 */
int session_begin_reattach(struct session *s, const uint8_t *pending,
			   size_t len, int *code);

/*
 * A guest restored from a snapshot saved at fail: the agent bytes saved
 * with it (a frame of the old command's output may have been cut in two)
 * are taken before what comes next, so the framing holds; call before
 * session_begin_run(). Returns 0, or -EPROTO with a message in err.
 */
int session_prime(struct session *s, const uint8_t *pending, size_t len);

/* The agent bytes received and not parsed yet (saved with the guest). */
void session_unparsed(const struct session *s, const uint8_t **p, size_t *len);

/*
 * A signal for the command: SIGUSR1/SIGUSR2 are passed on; others
 * (SIGTERM, SIGINT, SIGHUP) are forwarded once, and if the command has not
 * ended GRACE later the session gives up (the loop returns 128+N). While
 * the guest boots, a stop signal ends the wait (-EINTR).
 */
void session_signal(struct session *s, int sig);

/* Keeps the last max bytes of the command's stdout and stderr in out and
 * err (max + 1 bytes each, NUL-terminated; for --vm-report). */
void session_keep_tails(struct session *s, char *out, char *err, size_t max);

/* QEMU exited: the loop returns -ECHILD with the console's last lines. */
void session_qemu_gone(struct session *s);

/* The PMI service for the command (NULL: none; the caller owns it). */
struct pmi_step;
void session_set_pmi(struct session *s, struct pmi_step *p);

/*
 * The sessions beside the task's command (exec_relay.h): the agent's
 * frames of sessions 1.. go to frame() (the message valid during the
 * call); when the channel has room and the command's own frames do not
 * wait, next() may write one whole frame of at most cap bytes to buf and
 * return its length (0: none). Neither may call back into the session.
 */
struct agent_msg;
struct session_aux {
	void (*frame)(void *arg, const struct agent_msg *m);
	size_t (*next)(void *arg, uint8_t *buf, size_t cap);
	void *arg;
};
void session_set_aux(struct session *s, const struct session_aux *a);
/* next() has frames again: they go when the channel has room (never
 * call it from frame() or next()). */
void session_kick(struct session *s);

/* Appends the console's and QEMU's last lines to err (a message). */
void session_console_tails(const struct vm *vm, char *err, size_t errlen);

/*
 * Asks the guest's agent on agent_fd to power off: what the session s
 * still had to send (a frame in part written) goes out first, then
 * POWEROFF, each write retried while the channel is full, for at most
 * timeout_ms in all. s may be NULL (no session). Returns 0, -ETIMEDOUT
 * or -errno (the channel is gone).
 */
int session_poweroff(struct session *s, int agent_fd, int timeout_ms);

#endif
