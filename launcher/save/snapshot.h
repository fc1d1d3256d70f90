/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collective snapshots of a step, from the launcher's side.
 *
 * Rank 0's launcher coordinates. On the snapshot signal it sends CUT to
 * every launcher (itself included). Each one then holds the frames for its
 * guest, pauses the guest (QMP stop), cuts its fabric (fabric.h) and
 * answers PAUSED. When all have, rank 0 makes the partial snapshot
 * directory and sends SAVE; each launcher saves its guest's memory and
 * device state (QMP migrate, no bandwidth cap), its disk overlay, the
 * frames in flight to it and the agent bytes it had not parsed, with its
 * entry of the manifest, and answers SAVED. Rank 0 writes the manifest
 * last and publishes the directory (manifest.h), then sends DONE; every
 * guest goes on (or powers off with --vm-snapshot-then=stop). A failure
 * anywhere, or a launcher lost, makes rank 0 send ABORT instead: the
 * partial files go, the previous snapshot stays, the guests go on.
 *
 * The snapshot is a handler on the launcher's loop (loop.h): it watches
 * the fabric's messages and its own timers, and a save is a state machine
 * on that loop, so the launcher reads its signals all through a save. A
 * stop signal during a save (snapshot_cancel()) makes this launcher give
 * its part up: QEMU's migration is cancelled, the writer stops within a
 * chunk, its files go, and rank 0 aborts the snapshot as for any failure.
 * What the snapshot needs of the session, and tells the launcher, goes
 * through the hooks given at creation: it never calls the session.
 */
#ifndef SLURM_VM_SNAPSHOT_H
#define SLURM_VM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/fabric.h"
#include "launcher/boot/launch_config.h"
#include "launcher/common/loop.h"
#include "launcher/boot/qmp.h"
#include "launcher/boot/vm.h"

struct snapshot;

struct snapshot_hooks {
	/* The agent bytes received and not parsed yet (saved with the
	 * guest). */
	void (*unparsed)(void *arg, const uint8_t **p, size_t *len);
	/* This launcher's part in a snapshot is over; stop: the guest was
	 * left paused after the save, to be stopped (its state is in the
	 * snapshot, so QEMU may simply quit). */
	void (*over)(void *arg, int stop);
	void *arg;
};

/*
 * Registers on l; NULL when c asks for no snapshots (or on out of memory
 * or a loop that refuses the entry).
 */
struct snapshot *snapshot_create(const struct launch_config *c, struct loop *l,
				 struct fabric *f, struct qmp *qmp,
				 const struct vm *vm,
				 const struct snapshot_hooks *h);
/* Gives up a part under way (as snapshot_cancel()), waits for the writer,
 * removes the entries and frees sn; NULL-safe. */
void snapshot_destroy(struct snapshot *sn);

/* The signal that asks for a snapshot. */
int snapshot_signal(const struct snapshot *sn);

/* The snapshot signal came: rank 0 starts a snapshot, others leave it
 * to rank 0 (every task gets the signal). */
void snapshot_on_signal(struct snapshot *sn);

/* Slurm is ending the step and --vm-snapshot-at=end: as the signal, but
 * the guests stop after the save. */
void snapshot_on_end(struct snapshot *sn);

/*
 * --vm-snapshot-at=ready: this guest's agent is ready (no command sent).
 * Every launcher tells rank 0, which saves the step once all have, as for
 * the signal. This launcher's part ends through the over hook as for any
 * save, also when the save at ready cannot be made (a rank lost before
 * it, or rank 0 could not start it): then snapshot_failed() is true.
 */
void snapshot_on_ready(struct snapshot *sn);

/* The wait for the save at ready is over (the launcher's time limit; no
 * part under way): rank 0 makes every rank give it up; another rank gives
 * it up and refuses a CUT that comes later (its command may be running
 * by then, and a save at ready must hold none). */
void snapshot_ready_timeout(struct snapshot *sn);

/*
 * --vm-snapshot-at=fail (snapshot_fail.c): this rank's command ended with
 * code (124 for --vm-timeout, told before the command is stopped). Tells
 * rank 0, which saves the step on the first non-zero code (the guests
 * stop after it: the over hook with stop), and lets every rank go once
 * all have ended (the over hook without stop, snapshot_exit_waiting()
 * false). Returns 0, or -1 when rank 0 cannot be told (lost): no wait.
 */
int snapshot_on_exit(struct snapshot *sn, int code);

/* True while this launcher waits for rank 0's word after
 * snapshot_on_exit(). */
int snapshot_exit_waiting(const struct snapshot *sn);

/* --vm-snapshot-at=fail: opens the link to rank 0 as the command starts,
 * so that rank 0 counts this launcher if it is lost; NULL-safe. */
void snapshot_hello(struct snapshot *sn);

/* True when the last save this launcher took part in (or waited for with
 * snapshot_on_ready()) did not complete. */
int snapshot_failed(const struct snapshot *sn);

/* True with --vm-snapshot-at=end: Slurm ending the step (scancel, the
 * time limit) saves it first, and the guests stop after the save. */
int snapshot_at_end(const struct snapshot *sn);

/* True while this launcher takes part in a snapshot (its guest paused). */
int snapshot_busy(const struct snapshot *sn);

/*
 * The step is being stopped: this launcher takes part in no more
 * snapshots (it answers their CUT with ECANCELED), and gives up a part
 * under way (answers rank 0 with ECANCELED, its files removed; the guest
 * goes on once rank 0 aborts) unless its files are all written already.
 */
void snapshot_cancel(struct snapshot *sn);

#endif
