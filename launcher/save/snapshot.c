/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

/*
 * The snapshot handler: the fabric's messages go to rank 0's coordination
 * (here) and to this launcher's part (snapshot_part.c).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/save/snapshot_int.h"

static void on_msgs(struct loop_fd *e, uint32_t ev);
static void ready_from(struct snapshot *sn, uint32_t from);

/* The epilog finishes and tidies the directories recorded here. A record
 * that is not this user's own regular file (made first by another user:
 * rundir is often /tmp) is not used; the saves still work, so the step
 * goes on. */
static void record(const struct launch_config *c)
{
	char path[4200];
	int r = snap_record_dir(c->rundir, c->job_id, c->snapshot);

	if (r < 0 &&
	    snap_record_path(c->rundir, c->job_id, path, sizeof(path)) == 0)
		fprintf(stderr,
			"slurm-vm-launch: rank %lu: cannot record %s in %s: "
			"%s; the job epilog will not finish or tidy this "
			"step's snapshots\n",
			c->rank, c->snapshot, path,
			r == -EPERM    ? "it is another user's file"
			: r == -ELOOP  ? "it is a symbolic link"
			: r == -EINVAL ? "it is not a regular file"
				       : strerror(-r));
}

int snap_qmp(struct snapshot *sn, const char *cmd, json_t *args, char *err,
	     size_t errlen)
{
	json_t *r = qmp_execute(sn->qmp, cmd, args, 10000, err, errlen);

	if (!r)
		return -(errno ? errno : EIO);
	json_decref(r);
	return 0;
}

struct snapshot *snapshot_create(const struct launch_config *c, struct loop *l,
				 struct fabric *f, struct qmp *qmp,
				 const struct vm *vm,
				 const struct snapshot_hooks *h)
{
	struct snapshot *sn;

	if (!c->snapshot || !f)
		return NULL;
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return NULL;
	sn->c = c;
	sn->loop = l;
	sn->f = f;
	sn->qmp = qmp;
	sn->vm = vm;
	sn->h = *h;
	sn->msgs.fd = fabric_events_fd(f);
	sn->msgs.fn = on_msgs;
	if (loop_add(l, &sn->msgs, EPOLLIN) < 0 || part_create(sn) < 0) {
		loop_del(&sn->msgs);
		free(sn);
		return NULL;
	}
	record(c);
	return sn;
}

void snapshot_destroy(struct snapshot *sn)
{
	if (!sn)
		return;
	part_destroy(sn);
	/* Rank 0 gone mid-snapshot: nobody else removes the partial
	 * directory. */
	if (sn->c->rank == 0 && sn->t_cut) {
		char partial[4200];

		snap_partial_dir(sn, sn->seq, partial, sizeof(partial));
		snap_remove_tree(partial);
	}
	loop_del(&sn->msgs);
	free(sn->ready_seen);
	free(sn->exit_seen);
	free(sn);
}

static void on_msgs(struct loop_fd *e, uint32_t ev)
{
	struct snapshot *sn =
	    (struct snapshot *)((char *)e - offsetof(struct snapshot, msgs));
	struct fabric_msg m;

	(void)ev;
	while (!loop_stopping(sn->loop) && fabric_recv(sn->f, &m)) {
		if (sn->c->rank == 0)
			snap_coordinate(sn, &m);
		part_on_msg(sn, &m);
	}
}

int snapshot_signal(const struct snapshot *sn)
{
	return sn->c->snapshot_signal;
}

void snap_say(const struct snapshot *sn, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "slurm-vm: n%04lu: snapshot %" PRIu32 ": ", sn->c->rank,
		sn->seq);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void snap_name_of(const struct snapshot *sn, uint32_t seq,
		  enum snap_state state, char *buf, size_t len)
{
	struct snap_name n = {.state = state,
			      .job = (uint32_t)sn->c->job_id,
			      .step = (uint32_t)sn->c->step_id,
			      .seq = seq};

	snap_name_format(&n, buf, len);
}

void snap_partial_dir(const struct snapshot *sn, uint32_t seq, char *buf,
		      size_t len)
{
	char name[96];

	snap_name_of(sn, seq, SNAP_PARTIAL, name, sizeof(name));
	snprintf(buf, len, "%s/%s", sn->c->snapshot, name);
}

static void broadcast(struct snapshot *sn, uint8_t type, uint32_t arg)
{
	uint32_t r;

	for (r = 0; r < sn->c->nranks; r++)
		if (!fabric_rank_lost(sn->f, r) || r == sn->c->rank)
			fabric_send(sn->f, r, type, sn->seq, arg);
}

void snapshot_on_end(struct snapshot *sn)
{
	sn->ending = 1;
	snapshot_on_signal(sn);
}

void snapshot_on_signal(struct snapshot *sn)
{
	if (sn->c->rank != 0)
		return;
	if (sn->t_cut) { /* one at a time */
		snap_say(sn, "already under way; signal ignored");
		return;
	}
	{
		/* Numbers go on from what the directory holds: a restored
		 * step's snapshots never reuse an older one's name. The save's
		 * own directory is made now, under a fresh name: one that
		 * exists (planted by another user in a shared directory, or
		 * left by a failed save) is never adopted. */
		long next =
		    snap_next_seq(sn->c->snapshot, (uint32_t)sn->c->job_id,
				  (uint32_t)sn->c->step_id);
		char name[96], err[4400];

		next = snap_partial_create(
		    sn->c->snapshot, (uint32_t)sn->c->job_id,
		    (uint32_t)sn->c->step_id,
		    next > (long)sn->seq ? (uint32_t)next : sn->seq + 1, name,
		    sizeof(name), err, sizeof(err));
		if (next < 0) {
			snap_say(sn,
				 "failed: %s; the previous snapshot is kept",
				 err);
			return;
		}
		sn->seq = (uint32_t)next;
	}
	sn->paused = sn->saved = 0;
	sn->failed = 0;
	sn->bytes = 0;
	sn->t_cut = now_ms();
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(sn->cut_time, sizeof(sn->cut_time),
			 "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	broadcast(sn, FABRIC_CTL_CUT, 0);
}

/* Rank 0: the whole step is saved; write the manifest, publish. */
static int publish(struct snapshot *sn, char *err, size_t errlen)
{
	struct snap_manifest m = {0};
	char partial[4200], pname[96], name[96];
	int rc;

	snap_partial_dir(sn, sn->seq, partial, sizeof(partial));
	m.job = (uint32_t)sn->c->job_id;
	m.step = (uint32_t)sn->c->step_id;
	m.ntasks = (uint32_t)sn->c->nranks;
	m.seq = sn->seq;
	m.pause_ms = now_ms() - sn->t_cut;
	m.at_ready = sn->ready_save;
	m.at_fail = sn->fail_save;
	m.failed_rank = sn->fail_rank;
	m.failed_code = sn->fail_code;
	snprintf(m.cut_time, sizeof(m.cut_time), "%s", sn->cut_time);
	qmp_version(sn->qmp, m.qemu_version, sizeof(m.qemu_version));
	rc = manifest_collect(partial, &m, err, errlen);
	if (!rc) {
		sn->bytes = manifest_bytes(&m);
		rc = manifest_write(partial, &m, err, errlen);
	}
	snap_name_of(sn, sn->seq, SNAP_PARTIAL, pname, sizeof(pname));
	snap_name_of(sn, sn->seq, SNAP_COMPLETE, name, sizeof(name));
	if (!rc)
		rc = snap_publish(sn->c->snapshot, pname, name, err, errlen);
	manifest_free(&m);
	return rc < 0 ? rc : 0;
}

/* Rank 0: a message of the snapshot under way. */
static void coordinate(struct snapshot *sn, const struct fabric_msg *m)
{
	char partial[4200], err[512] = "";
	uint32_t n = (uint32_t)sn->c->nranks;

	if (m->type == FABRIC_CTL_READY) {
		ready_from(sn, m->from);
		return;
	}
	if (!sn->t_cut || (m->type != FABRIC_MSG_LOST && m->seq != sn->seq))
		return;
	snap_partial_dir(sn, sn->seq, partial, sizeof(partial));
	if (m->type == FABRIC_MSG_LOST ||
	    ((m->type == FABRIC_CTL_PAUSED || m->type == FABRIC_CTL_SAVED) &&
	     m->arg)) {
		if (!sn->failed) {
			sn->failed =
			    m->type == FABRIC_MSG_LOST ? -1 : (int)m->arg;
			sn->failed_rank = m->from;
			/* Gone before the message: who reads it may look. */
			snap_remove_tree(partial);
			snap_say(sn,
				 "failed: rank %" PRIu32 " %s; the previous "
				 "snapshot in %s is kept",
				 m->from,
				 m->type == FABRIC_MSG_LOST
				     ? "was lost (its launcher ended)"
				     : strerror((int)m->arg),
				 sn->c->snapshot);
			broadcast(sn, FABRIC_CTL_ABORT, 0);
			sn->t_cut = 0;
			sn->ready_save = sn->fail_save = 0;
		}
		return;
	}
	if (m->type == FABRIC_CTL_PAUSED && ++sn->paused == n) {
		sn->t_paused = now_ms();
		snap_say(
		    sn, "%" PRIu32 " guests paused in %.2f s; saving to %s", n,
		    (double)(sn->t_paused - sn->t_cut) / 1000, sn->c->snapshot);
		broadcast(sn, FABRIC_CTL_SAVE, 0);
	} else if (m->type == FABRIC_CTL_SAVED) {
		struct snap_rank k;

		sn->saved++;
		if (snap_rank_read(partial, m->from, &k, err, sizeof(err)) == 0)
			sn->bytes += k.vmstate.size + k.memory.stored +
				     k.disk.size + k.frames.size + k.agent.size;
		snap_say(sn,
			 "saved %" PRIu32 " of %" PRIu32 " guests, %.1f MB in "
			 "%.2f s",
			 sn->saved, n, (double)sn->bytes / 1e6,
			 (double)(now_ms() - sn->t_paused) / 1000);
		if (sn->saved < n)
			return;
		if (publish(sn, err, sizeof(err)) < 0) {
			snap_remove_tree(partial);
			snap_say(sn,
				 "failed: %s; the previous snapshot is kept",
				 err);
			broadcast(sn, FABRIC_CTL_ABORT, 0);
		} else {
			long t = now_ms();

			double save = (double)(t - sn->t_paused) / 1000;

			snap_say(
			    sn,
			    "done: %" PRIu32 " guests, %.1f MB in %.2f s "
			    "(%.0f MB/s); the guests were paused %.2f s; "
			    "%s/latest",
			    n, (double)sn->bytes / 1e6, save,
			    save > 0 ? (double)sn->bytes / 1e6 / save : 0.0,
			    (double)(t - sn->t_cut) / 1000, sn->c->snapshot);
			broadcast(
			    sn, FABRIC_CTL_DONE,
			    (uint32_t)(sn->c->snapshot_stop || sn->ending));
		}
		sn->t_cut = 0;
		sn->ready_save = sn->fail_save = 0;
	}
}

void snap_coordinate(struct snapshot *sn, const struct fabric_msg *m)
{
	fail_note(sn, m);
	coordinate(sn, m);
	fail_check(sn);
}

/* Rank 0: the save at ready cannot be made; every rank gives its wait up
 * (an ABORT of no snapshot: seq 0). */
static void ready_abort(struct snapshot *sn)
{
	uint32_t r;

	for (r = 0; r < sn->c->nranks; r++)
		if (!fabric_rank_lost(sn->f, r) || r == sn->c->rank)
			fabric_send(sn->f, r, FABRIC_CTL_ABORT, 0, 0);
}

/* Rank 0: a rank's agent is ready; once all are, the step saves. */
static void ready_from(struct snapshot *sn, uint32_t from)
{
	uint32_t n = (uint32_t)sn->c->nranks;

	if (!sn->c->snapshot_at_ready || sn->ready_started || from >= n)
		return;
	if (!sn->ready_seen && !(sn->ready_seen = calloc(n / 8 + 1, 1))) {
		sn->ready_started = 1;
		ready_abort(sn);
		return;
	}
	if (sn->ready_seen[from / 8] & (1u << from % 8))
		return;
	sn->ready_seen[from / 8] |= (uint8_t)(1u << from % 8);
	if (++sn->nready < n)
		return;
	sn->ready_started = 1;
	if (!sn->t_cut) {
		snap_say(sn, "every guest is ready: saving");
		sn->ready_save = 1;
		snapshot_on_signal(sn);
	}
	if (!sn->t_cut || !sn->ready_save) {
		sn->ready_save = 0;
		ready_abort(sn);
	}
}

void snapshot_on_ready(struct snapshot *sn)
{
	sn->awaiting = 1;
	if (fabric_send(sn->f, 0, FABRIC_CTL_READY, 0, 0) < 0)
		part_ready_failed(sn, "cannot tell rank 0 that this guest is "
				      "ready");
}

void snapshot_ready_timeout(struct snapshot *sn)
{
	if (!sn->awaiting)
		return;
	if (sn->c->rank == 0 && !sn->ready_started) {
		snap_say(sn,
			 "only %" PRIu32 " of %lu guests were ready in "
			 "time: no snapshot at ready",
			 sn->nready, sn->c->nranks);
		sn->ready_started = 1;
		ready_abort(sn);
		return;
	}
	part_cancel(sn);
	part_ready_failed(sn, "no word from rank 0 in time");
}

int snapshot_failed(const struct snapshot *sn)
{
	return sn && sn->part_failed;
}

int snapshot_at_end(const struct snapshot *sn)
{
	return sn->c->snapshot_at_end;
}

int snapshot_busy(const struct snapshot *sn)
{
	return sn && sn->state != PART_IDLE;
}

void snapshot_cancel(struct snapshot *sn)
{
	if (sn)
		part_cancel(sn);
}
