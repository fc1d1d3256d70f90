/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's processes: the guest's power-off, the command, its PMI
 * socket. */
#ifndef SLURM_VM_AGENT_PROC_H
#define SLURM_VM_AGENT_PROC_H

#include <stddef.h>

#include "launcher/agent/agent_proto.h"
#include "launcher/agent/agent_setup.h"

/* The command's PMI socket, after stdin, stdout and stderr. */
#define PMI_CHILD_FD 3

/* Ends every process, syncs and powers the guest off; does not return. */
void agent_power_off(void);

/*
 * With PMI_RANK in ex's environment: a PMI socket pair in sv (sv[1] the
 * command's), and in *env the environment with PMI_FD added (fdvar holds
 * it; *env is allocated unless it is ex->env). Returns 0 (nothing asked:
 * sv -1, *env ex->env; or done) or -1.
 */
int agent_pmi_socket(const struct agent_exec *ex, int sv[2], char ***env,
		     char *fdvar, size_t fdlen);

/* In the forked child: the command's stdin, stdout, stderr and PMI socket
 * (at PMI_CHILD_FD) from in, out, err and pmi (-1: none), as the job's user
 * of setup, then ex's command. Never returns (126 or 127 when it cannot). */
void agent_run_command(const struct agent_exec *ex,
		       const struct agent_setup *setup, int in, int out,
		       int err, int pmi);

#endif
