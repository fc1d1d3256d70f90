/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner: run.c's state of a guest's run, shared with run_control.c
 * (the control socket's side of it). Private to the launcher's top.
 */
#ifndef SLURM_VM_RUN_INT_H
#define SLURM_VM_RUN_INT_H

#include <stddef.h>

#include "launcher/common/loop.h"
#include "launcher/run.h"

struct qmp;
struct session;
struct snapshot;
struct control;
struct exec_relay;

struct runner {
	struct launch *l;
	struct loop *loop;
	struct qmp *qmp;
	struct session *s;
	struct snapshot *sn;
	struct control *ctl;   /* the control socket, or NULL */
	struct exec_relay *xr; /* sessions beside the command, or NULL */
	long t0;	       /* when the guest's run began (ms) */
	int started;	       /* the command was started or re-attached */
	int paused;	       /* paused from the control socket */
	struct loop_fd sig, events;
	struct loop_timer end_wait;
	struct loop_timer ready_wait; /* the others' agents, at ready */
	struct loop_timer timeout;    /* --vm-timeout */
	int in_ready;		      /* waiting for the save at ready */
	int held;	  /* a stop signal held for the save at the end */
	int stop_seen;	  /* a stop signal went to the session */
	int snap_asked;	  /* the snapshot signal came before the command ran */
	int snap_stopped; /* a snapshot left the guest paused, to stop */
	int in_exit;	  /* --vm-snapshot-at=fail: waiting for rank 0 */
	int exit_told;	  /* rank 0 was told how the command ended */
};

#define OF(p, member)                                                          \
	((struct runner *)((char *)(p)-offsetof(struct runner, member)))

/*
 * The control socket joins r's loop (in r's run directory); when it
 * cannot, the guest runs on without it and the launcher says why.
 */
void run_control_join(struct runner *r);

/* Lets a guest paused from the control socket run again (a stop, a
 * power-off must reach it). */
void run_unpause(struct runner *r);

/*
 * --vm-snapshot-at=fail (run_fail.c). run_fail_timeout: the command ran
 * past --vm-timeout; rank 0 is told (124) and the stop is held until the
 * save is over (returns 1), or 0 when this is not such a step (the caller
 * stops the command). run_fail_wait: the command ended with code and its
 * guest is still up; rank 0 is told, and the loop runs until rank 0 lets
 * this launcher go or the step was saved (r->snap_stopped).
 */
int run_fail_timeout(struct runner *r);
void run_fail_wait(struct runner *r, int code);

#endif
