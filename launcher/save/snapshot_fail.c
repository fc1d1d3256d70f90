/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-snapshot-at=fail: the step is saved at the moment the first rank's
 * command fails, every guest still up.
 *
 *  1. Each launcher whose command ended (or ran past --vm-timeout) tells
 *     rank 0 EXITED with its exit code, and keeps its guest up: the
 *     command is over, the agent waits for what comes next.
 *  2. Rank 0 counts the ranks that ended (a lost launcher counts, and
 *     fails nothing). The first non-zero code starts one save of the
 *     whole step, as the snapshot signal does, that stops the guests
 *     after it (the manifest says "at": "fail" and names the rank).
 *  3. Once every rank has ended and no save is under way, rank 0 lets
 *     the waiting launchers go (an ABORT of no snapshot, seq 0); a
 *     launcher whose rank 0 was lost goes by itself.
 *
 * A passing step so saves nothing and ends when its last command does.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>

#include "launcher/save/snapshot_int.h"

/* Rank 0: rank from ended with code (-1: its launcher was lost). */
static void ended(struct snapshot *sn, uint32_t from, int code)
{
	uint32_t n = (uint32_t)sn->c->nranks;

	if (from >= n)
		return;
	if (!sn->exit_seen && !(sn->exit_seen = calloc(n / 8 + 1, 1))) {
		sn->fail_started = 1; /* no save; let everyone go */
		sn->nexited = n;
		return;
	}
	if (sn->exit_seen[from / 8] & (1u << from % 8))
		return;
	sn->exit_seen[from / 8] |= (uint8_t)(1u << from % 8);
	sn->nexited++;
	if (code <= 0 || sn->fail_started)
		return;
	sn->fail_started = 1;
	sn->fail_rank = from;
	sn->fail_code = code;
	if (sn->t_cut) {
		snap_say(sn,
			 "rank %" PRIu32 "'s command failed (exit %d) during "
			 "another save: no snapshot at fail",
			 from, code);
		return;
	}
	snap_say(sn,
		 "rank %" PRIu32 "'s command failed (exit %d): saving "
		 "the step",
		 from, code);
	sn->fail_save = 1;
	sn->ending = 1; /* the guests stop after it */
	snapshot_on_signal(sn);
	if (!sn->t_cut)
		sn->fail_save = 0; /* it said why */
}

void fail_note(struct snapshot *sn, const struct fabric_msg *m)
{
	if (!sn->c->snapshot_at_fail)
		return;
	if (m->type == FABRIC_CTL_EXITED)
		ended(sn, m->from, (int)(m->arg & 255));
	else if (m->type == FABRIC_MSG_LOST)
		ended(sn, m->from, -1);
}

void fail_check(struct snapshot *sn)
{
	uint32_t r;

	if (!sn->c->snapshot_at_fail || sn->released || sn->t_cut ||
	    sn->nexited < (uint32_t)sn->c->nranks)
		return;
	sn->released = 1;
	for (r = 0; r < sn->c->nranks; r++)
		if (!fabric_rank_lost(sn->f, r) || r == sn->c->rank)
			fabric_send(sn->f, r, FABRIC_CTL_ABORT, 0, 0);
}

void fail_released(struct snapshot *sn, const char *why)
{
	if (why)
		snap_say(sn, "%s", why);
	sn->exit_wait = 0;
	if (sn->h.over)
		sn->h.over(sn->h.arg, 0);
}

int snapshot_on_exit(struct snapshot *sn, int code)
{
	sn->exit_wait = 1;
	if (sn->c->rank != 0 && fabric_rank_lost(sn->f, 0)) {
		sn->exit_wait = 0;
		return -1;
	}
	if (fabric_send(sn->f, 0, FABRIC_CTL_EXITED, 0,
			(uint32_t)(code & 255)) < 0) {
		sn->exit_wait = 0;
		return -1;
	}
	return 0;
}

void snapshot_hello(struct snapshot *sn)
{
	/* READY is taken only by a save at ready: here it opens the link,
	 * so that rank 0 hears of this launcher's loss. */
	if (sn && sn->c->rank != 0)
		fabric_send(sn->f, 0, FABRIC_CTL_READY, 0, 0);
}

int snapshot_exit_waiting(const struct snapshot *sn)
{
	return sn && sn->exit_wait;
}
