/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric: one private Ethernet segment for all guests of a step. It
 * runs inside each launcher, on its own thread, between the guest's QEMU
 * stream socket and the other launchers of the step.
 */
#ifndef SLURM_VM_FABRIC_H
#define SLURM_VM_FABRIC_H

#include <stddef.h>
#include <stdint.h>

#include "fabric/stats.h"

struct boot_card;

/* Swaps address cards with the step: the contract of boot_exchange(). */
typedef int (*fabric_exchange_fn)(void *arg, const struct boot_card *mine,
				  uint32_t *rank, uint32_t *nranks,
				  struct boot_card **cards, char *err,
				  size_t errlen);

struct fabric_config {
	uint32_t rank, nranks; /* this task and the step's task count */
	uint32_t job, step;
	const char *node; /* Slurm node name: peers on it use the shortcut */
	/* "auto" (shortcut on a node, else TCP), "tcp", or "verbs"
	 * (shortcut on a node, else RDMA verbs) */
	const char *transport;
	uint16_t mtu; /* given to guests by DHCP */
	/* Optional. The IPv4 address peers reach this one at (NULL: the
	 * host name's); the RDMA device (NULL: the first active one); how
	 * cards are swapped (NULL: through PMIx, for launchers under srun). */
	const char *addr;
	const char *verbs_device;
	fabric_exchange_fn exchange;
	void *exchange_arg;
	/* Optional (capture_cap 0: none). The guest's frames, sent and
	 * received, go to capture_fd as a pcap file of at most capture_cap
	 * bytes (pcap.h); the fabric owns the fd from fabric_create() on. */
	int capture_fd;
	uint64_t capture_cap;
};

struct fabric;

/*
 * Opens the listeners and, for a step of more than one task, exchanges
 * address cards with every launcher through PMIx. guest_fd is the
 * launcher's end of QEMU's stream socket; the fabric owns it from now on.
 * Returns the fabric, or NULL with a message in err.
 */
struct fabric *fabric_create(const struct fabric_config *cfg, int guest_fd,
			     char *err, size_t errlen);

/* Starts the fabric's thread. Returns 0 or -errno with a message in err. */
int fabric_start(struct fabric *f, char *err, size_t errlen);

/*
 * Stops the thread, closes every connection and leaves PMIx; NULL-safe.
 * The counters stay readable until fabric_destroy().
 */
void fabric_stop(struct fabric *f);
void fabric_destroy(struct fabric *f);

/* This task's counters (read them after fabric_stop()). */
const struct fabric_stats *fabric_get_stats(const struct fabric *f);

/* --vm-capture, after fabric_stop(): the frames kept and not kept (the
 * cap); returns 0, or -errno of a write that failed. */
int fabric_capture_counts(const struct fabric *f, uint64_t *kept,
			  uint64_t *dropped);

/* How long fabric_create() took: listeners and the PMIx card exchange. */
long fabric_bootstrap_ms(const struct fabric *f);

/*
 * Collective snapshots (cut.c). The launcher's thread drives them; these
 * calls hand the work to the fabric's thread and wait for it.
 *
 * Messages between launchers (CUT, PAUSED, SAVE, SAVED, DONE, ABORT, READY,
 * EXITED;
 * what each means is in ctl.h, their wire form) travel on the fabric's own
 * connections; FABRIC_MSG_LOST says a rank's launcher went away (its
 * connection closed). MARKER is the fabric's own.
 */
enum fabric_ctl_type {
	FABRIC_CTL_MARKER = 1,
	FABRIC_CTL_CUT,
	FABRIC_CTL_PAUSED,
	FABRIC_CTL_SAVE,
	FABRIC_CTL_SAVED,
	FABRIC_CTL_DONE,
	FABRIC_CTL_ABORT,
	FABRIC_CTL_READY,
	FABRIC_CTL_EXITED,
	FABRIC_CTL_LAST = FABRIC_CTL_EXITED
};

#define FABRIC_MSG_LOST 255
struct fabric_msg {
	uint32_t from;
	uint8_t type;
	uint32_t seq, arg;
};

/* Readable (an eventfd) while messages wait for fabric_recv(). */
int fabric_events_fd(const struct fabric *f);
/* Sends a message to rank (this task's own rank included). Returns 0, or
 * -EAGAIN when too many are waiting to go. */
int fabric_send(struct fabric *f, uint32_t rank, uint8_t type, uint32_t seq,
		uint32_t arg);
/* Takes the next message: 1, or 0 when there is none. */
int fabric_recv(struct fabric *f, struct fabric_msg *m);
/* True once a connection from rank closed: its launcher is gone. */
int fabric_rank_lost(const struct fabric *f, uint32_t rank);

/*
 * fabric_hold: stop delivering frames to the guest, then wait until QEMU
 * has read every byte already written to it. Frames that arrive meanwhile
 * are kept (beyond the usual bound: what is in flight at a cut is bounded
 * by the senders' queues and sockets, and their guests are paused).
 * fabric_cut, once the guest is paused: take what QEMU sent, flush every
 * queue, send a marker on every connection and wait until every
 * connection's marker has come. Then every frame in flight to this guest
 * is held here, and every frame from it has left.
 * Both return 0, or -errno with a message naming the cause.
 */
int fabric_hold(struct fabric *f, int timeout_ms, char *err, size_t errlen);
int fabric_cut(struct fabric *f, uint32_t seq, int timeout_ms, char *err,
	       size_t errlen);
/* Writes the held frames (QEMU's stream format) to fd; sets *bytes. */
int fabric_save_frames(struct fabric *f, int fd, uint64_t *bytes);
/* Delivers again, held frames first. */
void fabric_release(struct fabric *f);
/* Restore: queues frames saved by fabric_save_frames() for the guest.
 * Call before fabric_start(). Returns 0 or -errno. */
int fabric_load_frames(struct fabric *f, int fd);

#endif
