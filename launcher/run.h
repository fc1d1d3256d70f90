/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running a started guest: the task's command in it (through its agent),
 * or beside it on the node (--vm-exec=host). The launcher's loop (loop.h)
 * is made here: the agent session and the snapshot coordinator are its
 * handlers, and the launcher's own signals and QMP events are read on it
 * all the time, a save included.
 */
#ifndef SLURM_VM_RUN_H
#define SLURM_VM_RUN_H

#include <stddef.h>

#include "fabric/fabric.h"
#include "launcher/boot/image_cache.h"
#include "launcher/boot/launch_config.h"
#include "launcher/boot/pin.h"
#include "launcher/save/restore.h"
#include "launcher/boot/vm.h"

/* What main() hands over: one guest, started, and how it started. */
struct report_case;
struct pmi_step;

struct launch {
	const struct launch_config *c;
	struct vm *vm;
	struct restore *rs; /* restored from it, or NULL: booted */
	struct fabric *fabric;
	int sfd; /* signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1/2 */
	hwloc_topology_t topo; /* NULL: no pinning */
	struct pin_plan plan;
	char **argv;
	/* --vm-report or --vm-keep: this rank's result and output tails,
	 * or NULL */
	struct report_case *result;
	int timed_out;	      /* --vm-timeout stopped the command */
	struct pmi_step *pmi; /* the command's PMI service, or NULL */
	/* The image, kernel and initrd entries of the node's image cache
	 * the guest boots from, held until it is gone (fd 0: none). */
	struct image_cache_entry cached[3];
	char err[4096]; /* why it failed, "" when it did not */
};

/*
 * Runs the command in the guest (or re-attaches to it, restored) and asks
 * the guest to power off after (or to quit, when a snapshot stopped it).
 * With c->timeout_s, a command still running that long after it started
 * (or was restored) is stopped as a stop signal would (SIGTERM, then the
 * session's grace) and l->timed_out is set. Returns the command's exit
 * code, LAUNCH_EXIT_TIMEOUT, or LAUNCH_EXIT_FAILED with l->err set.
 */
int run_guest(struct launch *l);

/*
 * --vm-exec=host: the guest runs without its agent; the command runs on
 * the node beside it, told where the guest is. The guest goes when it
 * ends. Returns as run_guest().
 */
int run_beside(struct launch *l);

/* The task's environment without our own variables: what the command
 * gets. NULL when out of memory; free() the array only. */
char **run_env(void);

#endif
