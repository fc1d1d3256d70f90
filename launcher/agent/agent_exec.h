/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest agent's sessions beside the task's command (agent_proto.h:
 * SPAWN, WINCH, CREDIT): each runs one command with pipes or a
 * pseudo-terminal, as the task's user, and relays it within its windows,
 * so a session whose reader is slow waits alone.
 *
 * Driven by the agent's poll loop: agent_execs_pollfds() fills
 * AGENT_EXEC_POLL entries, agent_execs_step() acts on them; the loop
 * hands over the frames of sessions 1.. and the children it reaps.
 * Every call takes a NULL e (no sessions: out of memory) and does nothing.
 */
#ifndef SLURM_VM_AGENT_EXEC_H
#define SLURM_VM_AGENT_EXEC_H

#include <poll.h>
#include <sys/types.h>

#include "launcher/agent/agent_proto.h"

struct agent_setup;

#define AGENT_EXEC_POLL (3 * (AGENT_SESSIONS - 1))

struct agent_execs;

/*
 * The sessions of the agent on port: their commands get the task's
 * environment env (borrowed, NULL-terminated) with the SPAWN's entries
 * over it, and become the user of setup (borrowed). NULL when out of
 * memory.
 */
struct agent_execs *agent_execs_create(int port, char *const *env,
				       const struct agent_setup *setup);
/* Ends every session's command (SIGKILL) and frees; NULL-safe. */
void agent_execs_destroy(struct agent_execs *e);

/* A frame of session 1.. (m->session). Returns 0, or -1 when the port
 * failed. Frames for a session not open are dropped. */
int agent_execs_frame(struct agent_execs *e, const struct agent_msg *m);

void agent_execs_pollfds(const struct agent_execs *e, struct pollfd *p);
/* Acts on what poll returned in p. Returns 0, or -1 when the port
 * failed. */
int agent_execs_step(struct agent_execs *e, const struct pollfd *p);

/* A child reaped: returns 1 when it was a session's command. */
int agent_execs_reaped(struct agent_execs *e, pid_t pid, int status);

/* How many sessions are open (for tests). */
unsigned agent_execs_open(const struct agent_execs *e);

#endif
