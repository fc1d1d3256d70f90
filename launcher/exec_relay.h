/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sessions beside the task's command (slurm-vm exec and shell): the
 * launcher's relay between a control socket's client (control.h) and the
 * guest's agent (agent_proto.h, sessions 1..), on the launcher's loop.
 *
 * The request: exec {"argv": [...], "env": ["NAME=value", ...],
 * "pty": true|false, "rows": N, "cols": N} (env, pty, rows and cols may
 * be left out). The client then sends STDIN (at most CONTROL_EXEC_CHUNK
 * bytes, not empty), STDIN_EOF (nothing after it), SIGNAL and WINCH
 * frames and gets STDOUT, STDERR, ERROR and one EXIT, after which the
 * connection closes; on this link every header names session
 * EXEC_LINK_SESSION. Anything else drops the client.
 *
 * Bounds: at most AGENT_SESSIONS - 1 sessions; a client's stdin goes one
 * frame at a time within the agent's window; the guest's output is
 * credited back only once the client's buffer holds less than a window,
 * so a slow client holds back its own command and nothing else. A client
 * that goes hangs its command up (SIGHUP), and EXEC_KILL_MS later kills
 * it (SIGKILL); its output is dropped meanwhile. A guest that sends
 * beyond its window, or an EXIT that is not one, ends that session.
 */
#ifndef SLURM_VM_EXEC_RELAY_H
#define SLURM_VM_EXEC_RELAY_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "launcher/common/loop.h"

#define EXEC_KILL_MS 2000

struct exec_relay;
struct session;
struct control;

/* The relay of session s's agent channel, on l; it hooks itself into s
 * (session_set_aux()). NULL when out of memory. */
struct exec_relay *exec_relay_create(struct loop *l, struct session *s);
/* The control socket its clients come from (NULL: none). */
void exec_relay_set_control(struct exec_relay *x, struct control *c);
/* Frees it (the guest is going: its sessions with it); NULL-safe. */
void exec_relay_destroy(struct exec_relay *x);

/* control_ops' exec_open, exec_input, exec_written and exec_gone. */
int exec_relay_open(struct exec_relay *x, json_t *req, unsigned client,
		    char *err, size_t errlen);
ssize_t exec_relay_input(struct exec_relay *x, int h, const void *buf,
			 size_t len);
void exec_relay_written(struct exec_relay *x, int h);
void exec_relay_gone(struct exec_relay *x, int h);

/* How many sessions are open (for tests). */
unsigned exec_relay_open_count(const struct exec_relay *x);

#endif
