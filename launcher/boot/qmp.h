/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal QMP client on a connected socket: greeting, commands. */
#ifndef SLURM_VM_QMP_H
#define SLURM_VM_QMP_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct qmp;

/*
 * Takes fd (a connected QMP socket; the qmp owns it from now on), reads the
 * greeting and negotiates capabilities, waiting at most timeout_ms.
 * Returns the client, or NULL with errno set (ETIMEDOUT, EPROTO, ...).
 */
struct qmp *qmp_open(int fd, int timeout_ms);

/* Closes the socket and frees the client; NULL-safe. */
void qmp_close(struct qmp *q);

/* The socket, to poll for events (drain them with qmp_drain()). */
int qmp_fd(const struct qmp *q);

/*
 * Runs one command (args may be NULL; the reference is stolen) under a
 * new id and waits at most timeout_ms, in all, for the reply with that
 * id, skipping events and discarding replies with another or no id (a
 * late reply to a command that timed out: see qmp_discarded()). Returns
 * the "return" value (a new reference) or NULL with errno set: EIO when
 * QEMU answered with an error (its text in err), ETIMEDOUT, EPIPE when
 * QEMU went away, EPROTO for a line that is not a JSON object or is longer
 * than the client's buffer.
 */
json_t *qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		    int timeout_ms, char *err, size_t errlen);

/* As qmp_execute(), passing fd to QEMU with the command (for getfd). */
json_t *qmp_execute_fd(struct qmp *q, const char *cmd, json_t *args, int fd,
		       int timeout_ms, char *err, size_t errlen);

/*
 * The host thread of each vCPU, from query-cpus-fast: tid[cpu-index] for
 * cpu-index < max. Returns the number of vCPUs, or -errno with a message
 * in err (-EPROTO for a reply of the wrong shape).
 */
int qmp_vcpu_threads(struct qmp *q, pid_t *tid, unsigned max, char *err,
		     size_t errlen);

/*
 * Waits (polling query-migrate) until a migration, either way, is over.
 * Returns 0 when it completed, -EIO when it failed (QEMU's reason, or the
 * QMP error, in err after what), -ETIMEDOUT after timeout_ms.
 */
int qmp_migration_wait(struct qmp *q, const char *what, int timeout_ms,
		       char *err, size_t errlen);

/*
 * Has QEMU's migration leave out the guest's memory when the launcher holds
 * it (memory.h: a shared memory backend), so only device state goes
 * through the stream (the x-ignore-shared capability, on both the saving
 * and the loading side). Returns 0 or -errno with err filled.
 */
int qmp_migrate_without_memory(struct qmp *q, char *err, size_t errlen);

/* QEMU's version as "7.2.22 <package>" into buf. Returns 0 or -errno. */
int qmp_version(struct qmp *q, char *buf, size_t len);

/*
 * Reads and discards pending events and late replies, without waiting,
 * and at most a few hundred per call. Returns 0, or -EPIPE at EOF.
 */
int qmp_drain(struct qmp *q);

/* How many replies were discarded as not awaited (late or foreign ids). */
unsigned long qmp_discarded(const struct qmp *q);

#endif
