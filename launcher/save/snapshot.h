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
 */
#ifndef SLURM_VM_SNAPSHOT_H
#define SLURM_VM_SNAPSHOT_H

#include <stddef.h>

#include "launcher/agent/agent_proto.h"
#include "fabric/fabric.h"
#include "launcher/boot/launch_config.h"
#include "launcher/boot/qmp.h"
#include "launcher/boot/vm.h"

struct snapshot;

/* NULL when c asks for no snapshots (or on out of memory). */
struct snapshot *snapshot_create(const struct launch_config *c,
				 struct fabric *f, struct qmp *qmp,
				 struct vm *vm);
void snapshot_destroy(struct snapshot *sn);

/* The fd to poll (readable when launchers' messages wait). */
int snapshot_fd(const struct snapshot *sn);
/* The signal that asks for a snapshot. */
int snapshot_signal(const struct snapshot *sn);

/* The snapshot signal came: rank 0 starts a snapshot, others leave it
 * to rank 0 (every task gets the signal). */
void snapshot_on_signal(struct snapshot *sn);

/* True once the guest was left paused after a save, to be stopped: its
 * state is in the snapshot, so QEMU may simply quit. */
int snapshot_stopped(const struct snapshot *sn);

/* Slurm is ending the step and --vm-snapshot-at=end: as the signal, but
 * the guests stop after the save. */
void snapshot_on_end(struct snapshot *sn);

/*
 * Messages came. rx holds the agent bytes not parsed yet (saved with the
 * guest). Returns 0 to go on, 1 when the guest was stopped after the save
 * (--vm-snapshot-then=stop), or -1 when the guest is gone.
 */
int snapshot_on_event(struct snapshot *sn, const struct agent_rx *rx);

/* True with --vm-snapshot-at=end: Slurm ending the step (scancel, the
 * time limit) saves it first, and the guests stop after the save. */
int snapshot_at_end(const struct snapshot *sn);

#endif
