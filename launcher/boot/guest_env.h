/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which of the task's environment reaches the command in a guest.
 *
 * The node's Slurm and its MPI plugins give the task variables that name
 * node-local things: a PMIx server's socket and shared-memory paths, an
 * srun port on 127.0.0.1, a PMI descriptor that is open only in the
 * launcher. In a guest they point at nothing, and an MPI library that
 * finds them tries to reach a server that is not there, so they stay on
 * the node. This file is the one home of that list. The guest gets the
 * variables of the service that does serve it from the agent instead.
 * Commands that run on the node (--vm-exec=host, endpoint) keep them all.
 */
#ifndef SLURM_VM_GUEST_ENV_H
#define SLURM_VM_GUEST_ENV_H

/* Returns 1 when ENTRY ("NAME=VALUE", or a bare NAME) is a host-only
 * variable that must not reach a guest, else 0. ENTRY NULL gives 0. */
int guest_env_host_only(const char *entry);

/* Removes the host-only entries from the NULL-terminated array ENV in
 * place, keeping the others' order (the strings are not freed: the array
 * owns none). Returns how many were removed. */
int guest_env_strip_host(char **env);

#endif
