/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher's side of --vm-snapshot-at=fail (the coordination is
 * launcher/save/snapshot_fail.c): when this rank's command has ended, its
 * guest stays up (the agent waits for what comes next) until rank 0 has
 * saved the step or lets it go; a command past --vm-timeout is stopped
 * only after the save.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/loop.h"
#include "launcher/run_int.h"
#include "launcher/save/snapshot.h"

/* How long a held --vm-timeout stop waits for rank 0's CUT. */
#define FAIL_HOLD_MS 10000
/* Beyond --vm-timeout (and its grace), how long an ended rank waits for
 * the others. */
#define FAIL_SLACK_MS 60000

int run_fail_timeout(struct runner *r)
{
	const struct launch_config *c = r->l->c;

	if (!c->snapshot_at_fail || !r->sn || r->exit_told)
		return 0;
	r->exit_told = 1;
	if (snapshot_on_exit(r->sn, LAUNCH_EXIT_TIMEOUT) < 0)
		return 0;
	r->l->timed_out = 1;
	fprintf(stderr,
		"slurm-vm-launch: rank %lu: the command ran past "
		"--vm-timeout=%lu s; the step is saved first "
		"(--vm-snapshot-at=fail), then it is stopped (the task exits "
		"with %d)\n",
		c->rank, c->timeout_s, LAUNCH_EXIT_TIMEOUT);
	r->held = SIGTERM;
	loop_timer_in(r->loop, &r->end_wait, FAIL_HOLD_MS);
	return 1;
}

static void on_fail_wait(struct loop_timer *t)
{
	struct runner *r = OF(t, ready_wait);

	if (snapshot_busy(r->sn))
		return; /* the save's own limits hold */
	fprintf(stderr,
		"slurm-vm-launch: rank %lu: the other ranks did not end "
		"within --vm-timeout; no longer waiting for them\n",
		r->l->c->rank);
	loop_stop(r->loop, 0);
}

void run_fail_wait(struct runner *r, int code)
{
	const struct launch_config *c = r->l->c;

	if (!c->snapshot_at_fail || r->exit_told || r->snap_stopped ||
	    r->stop_seen || !r->sn)
		return;
	r->exit_told = 1;
	if (snapshot_on_exit(r->sn, code) < 0)
		return;
	r->in_exit = 1;
	if (c->timeout_s) {
		r->ready_wait.fn = on_fail_wait;
		loop_timer_in(r->loop, &r->ready_wait,
			      (long)c->timeout_s * 1000 + FAIL_SLACK_MS);
	}
	loop_run(r->loop);
	loop_timer_stop(r->loop, &r->ready_wait);
	r->in_exit = 0;
}
