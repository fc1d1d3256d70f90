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

#include "stats.h"

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

/* How long fabric_create() took: listeners and the PMIx card exchange. */
long fabric_bootstrap_ms(const struct fabric *f);

#endif
