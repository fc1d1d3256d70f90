/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control records between launchers, for collective snapshots (their types
 * are public, in fabric.h). They share
 * a connection's byte stream with the guests' frames: where a frame has its
 * 4-byte length, a record has a tag no frame length can reach (0xffffffTT,
 * TT its type), then a big-endian u32 sequence number and a u32 argument.
 *
 *	MARKER	the sender's guest is paused and everything it sent before
 *		is on the wire ahead of this record (one per connection)
 *	CUT	coordinator -> all: pause for snapshot seq
 *	PAUSED	all -> coordinator: paused, every connection drained
 *	SAVE	coordinator -> all: every guest is paused; save
 *	SAVED	all -> coordinator: saved (arg 0) or failed (arg: errno)
 *	DONE	coordinator -> all: the snapshot is complete; arg 1: stop
 *	ABORT	coordinator -> all: give the save up, resume
 *	READY	all -> coordinator: this guest's agent is ready (a save at
 *		ready starts once every rank's has come)
 *	EXITED	all -> coordinator: this rank's command ended (arg: its
 *		exit code); with a save at fail, the first non-zero one
 *		saves the step, and every rank waits for the coordinator
 */
#ifndef SLURM_VM_FABRIC_CTL_H
#define SLURM_VM_FABRIC_CTL_H

#include <stdint.h>

#include "fabric/fabric.h"
#include "fabric/frame.h"

#define FABRIC_CTL_LEN 12
#define FABRIC_CTL_TAG 0xffffff00u

struct fabric_ctl {
	uint8_t type;
	uint32_t seq, arg;
};

void fabric_ctl_pack(const struct fabric_ctl *c, uint8_t out[FABRIC_CTL_LEN]);

/*
 * Takes a control record from the head of rx. Returns 1 (c filled), 0 when
 * the head is a frame or not 4 bytes yet, -EAGAIN when a record has begun
 * but is not whole, -EPROTO for a record of an unknown type.
 */
int fabric_rx_ctl(struct fabric_rx *rx, struct fabric_ctl *c);

#endif
