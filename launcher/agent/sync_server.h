/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The step's barriers and values (sync_proto.h), served by rank 0's agent
 * while its command runs, from the agent's poll loop.
 *
 * A rank is known by the fabric address its connection comes from (the
 * fabric lets a guest speak only as itself), never by what it says. An
 * arrival at a barrier is kept, so a client that lost its connection, was
 * told AGAIN or timed out and asks again is the same arrival; a barrier
 * that passed stays passed (names are single-use: a new round takes a new
 * name). Everything is bounded: SYNC_CLIENTS_MAX clients, each with a
 * deadline (SYNC_REQUEST_MS to send its request, then the wait it asked
 * for), SYNC_BARRIERS_MAX barriers and SYNC_KEYS_MAX values.
 */
#ifndef SLURM_VM_SYNC_SERVER_H
#define SLURM_VM_SYNC_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_CLIENTS_MAX 512
#define SYNC_BARRIERS_MAX 256
#define SYNC_KEYS_MAX 256
#define SYNC_REQUEST_MS 5000
/* Where the client is found in every guest (a link to the agent, which
 * runs as slurm-vm-sync when called by that name). */
#define SYNC_CLIENT_LINK "/usr/local/bin/slurm-vm-sync"
/* The pollfds sync_server_pollfds() fills: the listener, then a client
 * slot each. */
#define SYNC_POLL_COUNT (1 + SYNC_CLIENTS_MAX)

struct sync_server;

/*
 * A server for a step of nranks (>= 1) on the listening socket lfd (owned
 * from now on, closed by sync_server_destroy(); -1: none, clients come
 * through sync_server_add() only). Returns it, or NULL (errno ENOMEM or
 * EINVAL; lfd is then closed).
 */
struct sync_server *sync_server_create(int lfd, uint32_t nranks);

/* Closes the listener and every client; NULL-safe. */
void sync_server_destroy(struct sync_server *srv);

/*
 * The agent's side: when env (the command's, NULL-terminated) makes this
 * guest rank 0 of a step (SLURM_PROCID, SLURM_STEP_NUM_TASKS), listens on
 * the rank's fabric address, port SYNC_PORT, and returns the server. In
 * every rank links SYNC_CLIENT_LINK to this program (/proc/self/exe).
 * Returns NULL when this is not rank 0 or on failure, with why[0..len)
 * then holding the failure ("" when there is none).
 */
struct sync_server *sync_server_start(char *const env[], char *why, size_t len);

/*
 * Takes a connected, non-blocking socket fd (owned from now on) of rank
 * at time now (ms). Returns 0; or -EBUSY when every slot holds a client
 * that has not sent its request yet (fd got "BUSY" and was closed). When
 * every slot is taken but some client waits, one waiting client is told
 * AGAIN and closed to make room.
 */
int sync_server_add(struct sync_server *srv, int fd, uint32_t rank, long now);

/* Fills p[0..SYNC_POLL_COUNT) with what the server waits for (fd -1 for
 * nothing; all -1 when srv is NULL). */
void sync_server_pollfds(const struct sync_server *srv, struct pollfd *p);

/* Milliseconds from now to the next client deadline (>= 0), or -1 for
 * none (or srv NULL). */
int sync_server_timeout(const struct sync_server *srv, long now);

/*
 * Acts on p[0..SYNC_POLL_COUNT) as poll() returned it after
 * sync_server_pollfds(): accepts, reads requests, answers, and ends the
 * clients whose deadline is not after now. NULL srv does nothing.
 */
void sync_server_step(struct sync_server *srv, const struct pollfd *p,
		      long now);

/* How many clients the server holds (for tests). */
size_t sync_server_clients(const struct sync_server *srv);

#endif
