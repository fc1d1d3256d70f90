/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's side of one agent session: ready, exec, relay, exit. */
#ifndef SLURM_VM_SESSION_H
#define SLURM_VM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "qmp.h"
#include "vm.h"

struct session;

/*
 * Creates a session on a started vm. sfd is a signalfd for SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP. Returns NULL when out of memory.
 */
struct session *session_create(struct vm *vm, struct qmp *qmp, int sfd);
void session_destroy(struct session *s);

/*
 * Waits up to timeout_s for the agent's READY. Returns 0, or -errno with a
 * message (including the console's last lines) in err: -ETIMEDOUT, -ECHILD
 * when QEMU exited, -EINTR when the launcher was told to stop, -EPROTO.
 */
int session_wait_ready(struct session *s, unsigned long timeout_s, char *err,
		       size_t errlen);

/*
 * Runs argv with env in the guest (as hostname, in cwd) and relays stdin,
 * stdout and stderr until it ends. Returns the task's exit code (0-255:
 * the status, or 128+N for signal N), or -errno with a message in err.
 */
/*
 * A restored guest: its command runs already. Takes the agent bytes saved
 * with it (a frame may have been cut in two), then relays as session_run()
 * does, with no stdin.
 */
int session_reattach(struct session *s, const uint8_t *pending, size_t len,
		     char *err, size_t errlen);

/* Lets the session take part in the step's snapshots (sn may be NULL). */
struct snapshot;
void session_set_snapshot(struct session *s, struct snapshot *sn);

/* The PMI service for the command (NULL: none; the caller owns it). */
struct pmi_step;
void session_set_pmi(struct session *s, struct pmi_step *p);

int session_run(struct session *s, const char *hostname, const char *cwd,
		char *const argv[], char *const env[], char *err,
		size_t errlen);

/*
 * Asks the guest's agent on agent_fd to power off: what the session s
 * still had to send (a frame in part written) goes out first, then
 * POWEROFF, each write retried while the channel is full, for at most
 * timeout_ms in all. s may be NULL (no session). Returns 0, -ETIMEDOUT
 * or -errno (the channel is gone).
 */
int session_poweroff(struct session *s, int agent_fd, int timeout_ms);

#endif
