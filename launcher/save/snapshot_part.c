/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * This launcher's part in a snapshot, a state machine on the loop:
 *
 *   IDLE --CUT--> (hold, stop, cut) PAUSED --SAVE--> MIGRATING (QEMU
 *   writes the device state; polled) --> WRITING (the rest, on the writer
 *   thread) --> SAVED --DONE--> IDLE (or the guest stays paused, to stop)
 *
 * ABORT, rank 0 lost or no word from it within WAIT_MS end the part from
 * any state; a stop signal (part_cancel) gives this rank's save up and
 * answers ECANCELED, and so it answers every later CUT. The pause itself
 * (fabric_hold, QMP stop, fabric_cut) is bounded by HOLD_MS and CUT_MS and runs
 * in one step.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "launcher/save/snapshot_int.h"

#define OF(p, member)                                                          \
	((struct snapshot *)((char *)(p)-offsetof(struct snapshot, member)))

static void on_written(struct loop_fd *e, uint32_t ev);
static void on_wait(struct loop_timer *t);
static void on_poll(struct loop_timer *t);

int part_create(struct snapshot *sn)
{
	sn->save.dfd = sn->save.vmstate_fd = -1;
	sn->save.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sn->save.done_fd < 0)
		return -errno;
	sn->written.fd = sn->save.done_fd;
	sn->written.fn = on_written;
	sn->wait.fn = on_wait;
	sn->poll.fn = on_poll;
	if (loop_add(sn->loop, &sn->written, EPOLLIN) < 0) {
		close(sn->save.done_fd);
		return -errno;
	}
	return 0;
}

void part_destroy(struct snapshot *sn)
{
	if (sn->state == PART_MIGRATING || sn->state == PART_WRITING) {
		save_abandon(sn);
		save_remove(sn, sn->part_seq);
	}
	loop_timer_stop(sn->loop, &sn->wait);
	loop_timer_stop(sn->loop, &sn->poll);
	loop_del(&sn->written);
	close(sn->save.done_fd);
}

static void answer(struct snapshot *sn, uint8_t type, int rc)
{
	fabric_send(sn->f, 0, type, sn->part_seq, rc < 0 ? (uint32_t)-rc : 0);
}

static void enter(struct snapshot *sn, enum part_state st, int wait_ms)
{
	sn->state = st;
	if (wait_ms)
		loop_timer_in(sn->loop, &sn->wait, wait_ms);
	else
		loop_timer_stop(sn->loop, &sn->wait);
}

/* The part is over (ok: with DONE): the guest goes on, or (stop) stays
 * paused. */
static void end_part(struct snapshot *sn, int stop, int ok)
{
	char err[512] = "";

	sn->awaiting = 0;
	sn->part_failed = !ok;
	enter(sn, PART_IDLE, 0);
	loop_timer_stop(sn->loop, &sn->poll);
	if (stop) {
		sn->stopped = 1;
	} else {
		if (sn->guest_stopped &&
		    snap_qmp(sn, "cont", NULL, err, sizeof(err)) < 0)
			snap_say(sn, "cannot resume the guest: %s", err);
		fabric_release(sn->f);
	}
	sn->guest_stopped = 0;
	if (sn->h.over)
		sn->h.over(sn->h.arg, stop);
}

/* CUT: hold the frames, pause the guest, cut the fabric, answer. */
static void pause_guest(struct snapshot *sn, uint32_t seq)
{
	char err[512] = "";
	int r;

	if (sn->c->rank != 0)
		sn->seq = seq;
	sn->part_seq = seq;
	r = fabric_hold(sn->f, HOLD_MS, err, sizeof(err));
	if (r == 0) {
		r = snap_qmp(sn, "stop", NULL, err, sizeof(err));
		sn->guest_stopped = r == 0;
	}
	if (r == 0)
		r = fabric_cut(sn->f, seq, CUT_MS, err, sizeof(err));
	answer(sn, FABRIC_CTL_PAUSED, r);
	if (r < 0)
		snap_say(sn, "cannot pause: %s", err);
	enter(sn, PART_PAUSED, WAIT_MS);
}

/* This rank's save ended (r: 0 or -errno with err): answer rank 0. */
static void saved(struct snapshot *sn, int r, const char *err)
{
	loop_timer_stop(sn->loop, &sn->poll);
	if (r < 0)
		snap_say(sn, "rank %lu cannot save: %s", sn->c->rank, err);
	answer(sn, FABRIC_CTL_SAVED, r);
	enter(sn, PART_SAVED, WAIT_MS);
}

static void begin_save(struct snapshot *sn)
{
	char err[512] = "";
	int r = save_begin(sn, err, sizeof(err));

	if (r < 0) {
		saved(sn, r, err);
		return;
	}
	enter(sn, PART_MIGRATING, 0);
	loop_timer_in(sn->loop, &sn->poll, MIGRATE_POLL_MS);
}

static void on_poll(struct loop_timer *t)
{
	struct snapshot *sn = OF(t, poll);
	char err[512] = "";
	int r;

	if (sn->state != PART_MIGRATING)
		return;
	r = save_migrated(sn, err, sizeof(err));
	if (r == 0) {
		loop_timer_in(sn->loop, &sn->poll, MIGRATE_POLL_MS);
		return;
	}
	if (r > 0)
		r = save_write(sn, err, sizeof(err));
	if (r < 0)
		saved(sn, r, err);
	else
		enter(sn, PART_WRITING, 0);
}

static void on_written(struct loop_fd *e, uint32_t ev)
{
	struct snapshot *sn = OF(e, written);
	char err[512] = "";
	uint64_t n;
	int r;

	(void)ev;
	if (read(sn->save.done_fd, &n, sizeof(n)) < 0 ||
	    sn->state != PART_WRITING)
		return;
	r = save_end(sn, err, sizeof(err));
	saved(sn, r, err);
}

static void on_wait(struct loop_timer *t)
{
	struct snapshot *sn = OF(t, wait);

	snap_say(sn, "no word from rank 0 in %d s: the snapshot is given up",
		 WAIT_MS / 1000);
	end_part(sn, 0, 0);
}

void part_ready_failed(struct snapshot *sn, const char *why)
{
	snap_say(sn, "no snapshot at ready: %s", why);
	sn->awaiting = 0;
	sn->part_failed = 1;
	if (sn->h.over)
		sn->h.over(sn->h.arg, 0);
}

void part_on_msg(struct snapshot *sn, const struct fabric_msg *m)
{
	if (m->type == FABRIC_CTL_CUT) {
		if (sn->state != PART_IDLE)
			return;
		if (sn->refuse) /* the step is being stopped */
			fabric_send(sn->f, 0, FABRIC_CTL_PAUSED, m->seq,
				    ECANCELED);
		else
			pause_guest(sn, m->seq);
		return;
	}
	if (sn->state == PART_IDLE) {
		if (sn->exit_wait && m->type == FABRIC_CTL_ABORT && !m->seq)
			fail_released(sn, NULL);
		else if (sn->exit_wait && m->type == FABRIC_MSG_LOST &&
			 m->from == 0)
			fail_released(sn, "rank 0's launcher was lost: no "
					  "snapshot at fail");
		if (sn->awaiting && m->type == FABRIC_MSG_LOST)
			part_ready_failed(sn, "a rank's launcher ended before "
					      "every guest was ready");
		else if (sn->awaiting && m->type == FABRIC_CTL_ABORT)
			part_ready_failed(sn, "rank 0 could not start the save "
					      "(its message says why)");
		return;
	}
	if (m->type == FABRIC_MSG_LOST && m->from == 0) {
		snap_say(sn, "rank 0's launcher was lost: the snapshot is "
			     "given up");
		save_abandon(sn);
		end_part(sn, 0, 0);
		return;
	}
	if (m->seq != sn->part_seq)
		return;
	if (m->type == FABRIC_CTL_SAVE && sn->state == PART_PAUSED) {
		begin_save(sn);
	} else if (m->type == FABRIC_CTL_DONE &&
		   (sn->state == PART_PAUSED || sn->state == PART_SAVED)) {
		end_part(sn, (int)m->arg, 1);
	} else if (m->type == FABRIC_CTL_ABORT) {
		/* Rank 0 removes the partial directory, but may have done
		 * so before this rank's files were written. */
		save_abandon(sn);
		save_remove(sn, sn->part_seq);
		end_part(sn, 0, 0);
	}
}

void part_cancel(struct snapshot *sn)
{
	sn->refuse = 1;
	switch (sn->state) {
	case PART_PAUSED:
		saved(sn, -ECANCELED, "the step is being stopped");
		break;
	case PART_MIGRATING:
	case PART_WRITING:
		save_abandon(sn);
		save_remove(sn, sn->part_seq);
		saved(sn, -ECANCELED, "the step is being stopped");
		break;
	default:
		break;
	}
}
