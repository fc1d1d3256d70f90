/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-sync, the client of the step's barriers and values
 * (sync_proto.h), for commands in a guest. The agent is the program: it
 * runs as slurm-vm-sync when called by that name (SYNC_CLIENT_LINK).
 *
 *	slurm-vm-sync NAME [--timeout S]	  wait at barrier NAME
 *	slurm-vm-sync --set KEY=VALUE [--timeout S]
 *	slurm-vm-sync --get KEY [--timeout S]  print KEY's value
 *
 * Exit codes: SYNC_EXIT_OK, SYNC_EXIT_TIMEOUT (the wait ran out),
 * SYNC_EXIT_USAGE (bad arguments), SYNC_EXIT_UNREACHABLE (rank 0's agent
 * did not answer, or refused the request).
 */
#ifndef SLURM_VM_SYNC_CLIENT_H
#define SLURM_VM_SYNC_CLIENT_H

#define SYNC_EXIT_OK 0
#define SYNC_EXIT_TIMEOUT 1
#define SYNC_EXIT_USAGE 2
#define SYNC_EXIT_UNREACHABLE 3

/* 1 when argv0's last path component is "slurm-vm-sync", else 0. */
int sync_client_called(const char *argv0);

/* Runs the client; returns its exit code. Prints to stdout (a value) and
 * stderr (everything else). */
int sync_client_main(int argc, char **argv);

#endif
