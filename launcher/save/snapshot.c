/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdarg.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/boot/memory.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/save/snapshot.h"

#define HOLD_MS 5000
#define CUT_MS 30000
#define WAIT_MS 600000		       /* a save of big guests on slow disks */
#define MIGRATE_BANDWIDTH (1ULL << 40) /* bytes/s: no cap */

struct snapshot {
	const struct launch_config *c;
	struct fabric *f;
	struct qmp *qmp;
	struct vm *vm;
	uint32_t seq; /* the last snapshot started (rank 0) or joined */
	/* Rank 0: the snapshot under way. */
	uint32_t paused, saved, failed_rank;
	int failed; /* errno of the first failure, or -1 for a lost rank */
	uint64_t bytes;
	long t_cut, t_paused;
	char cut_time[40];
	int ending;  /* this one saves the step Slurm is ending */
	int stopped; /* the guest stays paused: it is to stop */
};

struct snapshot *snapshot_create(const struct launch_config *c,
				 struct fabric *f, struct qmp *qmp,
				 struct vm *vm)
{
	struct snapshot *sn;

	if (!c->snapshot || !f)
		return NULL;
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return NULL;
	sn->c = c;
	sn->f = f;
	sn->qmp = qmp;
	sn->vm = vm;
	{
		/* The epilog finishes and tidies the directories recorded
		 * here. A record that is not this user's own regular file
		 * (made first by another user: rundir is often /tmp) is not
		 * used; the saves still work, so the step goes on. */
		char path[4200];
		int r = snap_record_dir(c->rundir, c->job_id, c->snapshot);

		if (r < 0 && snap_record_path(c->rundir, c->job_id, path,
					      sizeof(path)) == 0)
			fprintf(stderr,
				"slurm-vm-launch: rank %lu: cannot record "
				"%s in %s: %s; the job epilog will not "
				"finish or tidy this step's snapshots\n",
				c->rank, c->snapshot, path,
				r == -EPERM    ? "it is another user's file"
				: r == -ELOOP  ? "it is a symbolic link"
				: r == -EINVAL ? "it is not a regular file"
					       : strerror(-r));
	}
	return sn;
}

void snapshot_destroy(struct snapshot *sn)
{
	free(sn);
}

int snapshot_fd(const struct snapshot *sn)
{
	return fabric_events_fd(sn->f);
}

int snapshot_signal(const struct snapshot *sn)
{
	return sn->c->snapshot_signal;
}

static void say(const struct snapshot *sn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct snapshot *sn, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "slurm-vm: n%04lu: snapshot %" PRIu32 ": ", sn->c->rank,
		sn->seq);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void snap_name(const struct snapshot *sn, uint32_t seq,
		      enum snap_state state, char *buf, size_t len)
{
	struct snap_name n = {.state = state,
			      .job = (uint32_t)sn->c->job_id,
			      .step = (uint32_t)sn->c->step_id,
			      .seq = seq};

	snap_name_format(&n, buf, len);
}

static void partial_dir(const struct snapshot *sn, uint32_t seq, char *buf,
			size_t len)
{
	char name[96];

	snap_name(sn, seq, SNAP_PARTIAL, name, sizeof(name));
	snprintf(buf, len, "%s/%s", sn->c->snapshot, name);
}

static void broadcast(struct snapshot *sn, uint8_t type, uint32_t arg)
{
	uint32_t r;

	for (r = 0; r < sn->c->nranks; r++)
		if (!fabric_rank_lost(sn->f, r) || r == sn->c->rank)
			fabric_send(sn->f, r, type, sn->seq, arg);
}

static int qmp_simple(struct snapshot *sn, const char *cmd, json_t *args,
		      char *err, size_t errlen)
{
	json_t *r = qmp_execute(sn->qmp, cmd, args, 10000, err, errlen);

	if (!r)
		return -(errno ? errno : EIO);
	json_decref(r);
	return 0;
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
		say(sn, "already under way; signal ignored");
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
			say(sn, "failed: %s; the previous snapshot is kept",
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

	partial_dir(sn, sn->seq, partial, sizeof(partial));
	m.job = (uint32_t)sn->c->job_id;
	m.step = (uint32_t)sn->c->step_id;
	m.ntasks = (uint32_t)sn->c->nranks;
	m.seq = sn->seq;
	m.pause_ms = now_ms() - sn->t_cut;
	snprintf(m.cut_time, sizeof(m.cut_time), "%s", sn->cut_time);
	qmp_version(sn->qmp, m.qemu_version, sizeof(m.qemu_version));
	rc = manifest_collect(partial, &m, err, errlen);
	if (!rc) {
		sn->bytes = manifest_bytes(&m);
		rc = manifest_write(partial, &m, err, errlen);
	}
	snap_name(sn, sn->seq, SNAP_PARTIAL, pname, sizeof(pname));
	snap_name(sn, sn->seq, SNAP_COMPLETE, name, sizeof(name));
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

	if (!sn->t_cut || (m->type != FABRIC_MSG_LOST && m->seq != sn->seq))
		return;
	partial_dir(sn, sn->seq, partial, sizeof(partial));
	if (m->type == FABRIC_MSG_LOST ||
	    ((m->type == FABRIC_CTL_PAUSED || m->type == FABRIC_CTL_SAVED) &&
	     m->arg)) {
		if (!sn->failed) {
			sn->failed =
			    m->type == FABRIC_MSG_LOST ? -1 : (int)m->arg;
			sn->failed_rank = m->from;
			/* Gone before the message: who reads it may look. */
			snap_remove_tree(partial);
			say(sn,
			    "failed: rank %" PRIu32 " %s; the previous "
			    "snapshot in %s is kept",
			    m->from,
			    m->type == FABRIC_MSG_LOST
				? "was lost (its launcher ended)"
				: strerror((int)m->arg),
			    sn->c->snapshot);
			broadcast(sn, FABRIC_CTL_ABORT, 0);
			sn->t_cut = 0;
		}
		return;
	}
	if (m->type == FABRIC_CTL_PAUSED && ++sn->paused == n) {
		sn->t_paused = now_ms();
		say(sn, "%" PRIu32 " guests paused in %.2f s; saving to %s", n,
		    (double)(sn->t_paused - sn->t_cut) / 1000, sn->c->snapshot);
		broadcast(sn, FABRIC_CTL_SAVE, 0);
	} else if (m->type == FABRIC_CTL_SAVED) {
		struct snap_rank k;

		sn->saved++;
		if (snap_rank_read(partial, m->from, &k, err, sizeof(err)) == 0)
			sn->bytes += k.vmstate.size + k.memory.stored +
				     k.disk.size + k.frames.size + k.agent.size;
		say(sn,
		    "saved %" PRIu32 " of %" PRIu32 " guests, %.1f MB in "
		    "%.2f s",
		    sn->saved, n, (double)sn->bytes / 1e6,
		    (double)(now_ms() - sn->t_paused) / 1000);
		if (sn->saved < n)
			return;
		if (publish(sn, err, sizeof(err)) < 0) {
			snap_remove_tree(partial);
			say(sn, "failed: %s; the previous snapshot is kept",
			    err);
			broadcast(sn, FABRIC_CTL_ABORT, 0);
		} else {
			long t = now_ms();

			double save = (double)(t - sn->t_paused) / 1000;

			say(sn,
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
	}
}

/* Waits for SAVE, DONE or ABORT of seq (rank 0: serving the coordination
 * meanwhile). Returns the type, FABRIC_MSG_LOST when rank 0 is gone, or 0
 * after timeout_ms. */
static int await(struct snapshot *sn, uint32_t seq, int timeout_ms,
		 struct fabric_msg *out)
{
	long until = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = snapshot_fd(sn), .events = POLLIN};
		struct fabric_msg m;
		long left;

		while (fabric_recv(sn->f, &m)) {
			if (sn->c->rank == 0)
				coordinate(sn, &m);
			if (m.type == FABRIC_MSG_LOST && m.from == 0)
				return FABRIC_MSG_LOST;
			if (m.seq == seq && (m.type == FABRIC_CTL_SAVE ||
					     m.type == FABRIC_CTL_DONE ||
					     m.type == FABRIC_CTL_ABORT)) {
				*out = m;
				return m.type;
			}
		}
		left = until - now_ms();
		if (left <= 0)
			return 0;
		poll(&p, 1, (int)left);
	}
}

/* Copies src (the overlay, in this launcher's own run directory or the
 * user's --vm-disk-persist file) to dfd/name (a new file), then syncs it. */
static int copy_file(const char *src, int dfd, const char *dir,
		     const char *name, char *err, size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out, r = 0;
	struct stat st;
	off_t off = 0;

	if (in < 0) {
		r = -errno;
		snprintf(err, errlen, "%.400s: %s", src, strerror(errno));
		return r;
	}
	out = safe_create(dfd, dir, name, O_WRONLY, 0600, 0, err, errlen);
	if (out < 0) {
		close(in);
		return out;
	}
	if (fstat(in, &st) < 0) {
		r = -errno;
		goto out;
	}
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
	}
	if (fsync(out) < 0)
		r = -errno;
out:
	if (r < 0)
		snprintf(err, errlen, "copying the disk overlay: %s",
			 strerror(-r));
	close(in);
	close(out);
	return r;
}

/* data into dfd/name, a new file, synced. */
static int write_file(int dfd, const char *dir, const char *name,
		      const void *data, size_t len, char *err, size_t errlen)
{
	int fd = safe_create(dfd, dir, name, O_WRONLY, 0600, 0, err, errlen);
	int r = 0;

	if (fd < 0)
		return fd;
	if ((len && write(fd, data, len) != (ssize_t)len) || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r < 0)
		snprintf(err, errlen, "%.400s/%s: %s", dir, name, strerror(-r));
	return r;
}

/* The guest's device state, through QEMU's migration straight into the
 * new file dfd/name (QEMU gets its fd), with no bandwidth cap, then
 * synced; the memory is left out (the launcher saves it itself). The
 * guest is paused already. */
static int save_vmstate(struct snapshot *sn, int dfd, const char *dir,
			const char *name, char *err, size_t errlen)
{
	int fd, r;
	json_t *q;

	r = qmp_simple(
	    sn, "migrate-set-parameters",
	    json_pack("{s:I}", "max-bandwidth", (json_int_t)MIGRATE_BANDWIDTH),
	    err, errlen);
	if (r < 0 || (r = qmp_migrate_without_memory(sn->qmp, err, errlen)) < 0)
		return r;
	fd = safe_create(dfd, dir, name, O_WRONLY, 0600, 0, err, errlen);
	if (fd < 0)
		return fd;
	q = qmp_execute_fd(sn->qmp, "getfd",
			   json_pack("{s:s}", "fdname", "slurmvm-snapshot"), fd,
			   10000, err, errlen);
	if (!q) {
		close(fd);
		return -EIO;
	}
	json_decref(q);
	r = qmp_simple(sn, "migrate",
		       json_pack("{s:s}", "uri", "fd:slurmvm-snapshot"), err,
		       errlen);
	if (r == 0)
		r = qmp_migration_wait(sn->qmp, "saving the guest's state",
				       WAIT_MS, err, errlen);
	/* The same file QEMU wrote: our fd, not the name again. */
	if (r == 0 && fsync(fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "syncing %.400s/%s: %s", dir, name,
			 strerror(-r));
	}
	close(fd);
	return r;
}

/* True when dir's file system has (next to) no room left: QEMU only says
 * its writer failed. */
static int disk_full(const char *dir)
{
	struct statvfs v;

	return statvfs(dir, &v) == 0 &&
	       (uint64_t)v.f_bavail * v.f_frsize < 1024 * 1024;
}

static int disk_full_error(const char *dir, char *err, size_t errlen)
{
	snprintf(err, errlen, "no space left on the file system of %.*s",
		 (int)(errlen > 64 ? errlen - 64 : 0), dir);
	return -ENOSPC;
}

/* This rank's files and its manifest entry, into the partial dir (which
 * rank 0 made: it must be this user's own directory, not a link). */
static int save_rank(struct snapshot *sn, uint32_t seq,
		     const struct agent_rx *rx, char *err, size_t errlen)
{
	const struct launch_config *c = sn->c;
	struct snap_rank r = {0};
	char dir[4200], pname[96];
	uint64_t bytes;
	long t0, t1;
	int sfd, dfd, fd, rc;

	partial_dir(sn, seq, dir, sizeof(dir));
	snap_name(sn, seq, SNAP_PARTIAL, pname, sizeof(pname));
	r.rank = (uint32_t)c->rank;
	snprintf(r.node, sizeof(r.node), "%s", c->node ? c->node : "");
	r.mem_mb = c->mem_mb;
	r.cpus = c->cpus;
	if ((c->image && snap_ident_of(c->image, &r.image) < 0) ||
	    (c->kernel && snap_ident_of(c->kernel, &r.kernel) < 0) ||
	    (c->initrd && snap_ident_of(c->initrd, &r.initrd) < 0)) {
		snprintf(err, errlen, "the guest's image: %s", strerror(errno));
		return -errno;
	}
	sfd = safe_open(AT_FDCWD, NULL, c->snapshot,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, err,
			errlen);
	if (sfd < 0)
		return sfd;
	dfd = safe_open(sfd, c->snapshot, pname, SAFE_DIR, NULL, err, errlen);
	close(sfd);
	if (dfd < 0)
		return dfd;
	snap_file_name(r.rank, SNAP_VMSTATE, r.vmstate.name,
		       sizeof(r.vmstate.name));
	snap_file_name(r.rank, SNAP_MEMORY, r.memory.name,
		       sizeof(r.memory.name));
	snap_file_name(r.rank, SNAP_FRAMES, r.frames.name,
		       sizeof(r.frames.name));
	snap_file_name(r.rank, SNAP_AGENT, r.agent.name, sizeof(r.agent.name));
	t0 = now_ms();
	rc = save_vmstate(sn, dfd, dir, r.vmstate.name, err, errlen);
	t1 = now_ms();
	if (rc < 0) {
		rc = disk_full(dir) ? disk_full_error(dir, err, errlen) : rc;
		goto out;
	}
	rc = memory_save(sn->vm->memory_fd, (uint64_t)c->mem_mb << 20, dfd, dir,
			 r.memory.name, &r.memory, err, errlen);
	t1 = now_ms();
	if (rc == -ENOSPC || (rc < 0 && disk_full(dir))) {
		rc = disk_full_error(dir, err, errlen);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (sn->vm->overlay[0]) {
		r.has_disk = 1;
		snap_file_name(r.rank, SNAP_DISK, r.disk.name,
			       sizeof(r.disk.name));
		rc = copy_file(sn->vm->overlay, dfd, dir, r.disk.name, err,
			       errlen);
		if (rc < 0)
			goto out;
	}
	fd = safe_create(dfd, dir, r.frames.name, O_WRONLY, 0600, 0, err,
			 errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fabric_save_frames(sn->f, fd, &bytes) < 0 || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "saving the frames in flight: %s",
			 strerror(-rc));
		close(fd);
		goto out;
	}
	close(fd);
	rc = write_file(dfd, dir, r.agent.name, rx->buf + rx->start,
			rx->len - rx->start, err, errlen);
	if (rc < 0)
		goto out;
	if ((rc = snap_file_hash(dir, r.vmstate.name, &r.vmstate)) < 0 ||
	    (r.has_disk &&
	     (rc = snap_file_hash(dir, r.disk.name, &r.disk)) < 0) ||
	    (rc = snap_file_hash(dir, r.frames.name, &r.frames)) < 0 ||
	    (rc = snap_file_hash(dir, r.agent.name, &r.agent)) < 0) {
		snprintf(err, errlen, "checksums of this rank's files: %s",
			 strerror(-rc));
		goto out;
	}
	if ((rc = snap_rank_write(dir, &r, err, errlen)) < 0)
		goto out;
	if (c->stats)
		say(sn,
		    "rank %lu: %.1f MB of memory and %.1f MB of device state "
		    "in %.2f s, the rest %.2f s later",
		    c->rank, (double)r.memory.stored / 1e6,
		    (double)r.vmstate.size / 1e6, (double)(t1 - t0) / 1000,
		    (double)(now_ms() - t1) / 1000);
out:
	close(dfd);
	return rc;
}

/* An aborted snapshot: this rank's files and entry go (rank 0 removes the
 * partial directory, but may have done so before they were written), then the
 * directory if it is empty by now. */
static void remove_own(struct snapshot *sn, uint32_t seq)
{
	char dir[4200], path[4400];
	int k;

	partial_dir(sn, seq, dir, sizeof(dir));
	for (k = SNAP_VMSTATE; k <= SNAP_ENTRY; k++) {
		char name[64];

		if (snap_file_name((uint32_t)sn->c->rank, (enum snap_kind)k,
				   name, sizeof(name)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			unlink(path);
		}
	}
	rmdir(dir);
}

/* This launcher's part in snapshot seq. Returns 1 when the guest is to
 * stop after it, else 0. */
static int take_part(struct snapshot *sn, uint32_t seq,
		     const struct agent_rx *rx)
{
	struct fabric_msg m;
	char err[512] = "";
	int r, stopped = 0, stop = 0, t;

	if (sn->c->rank != 0)
		sn->seq = seq;
	r = fabric_hold(sn->f, HOLD_MS, err, sizeof(err));
	if (r == 0) {
		r = qmp_simple(sn, "stop", NULL, err, sizeof(err));
		stopped = r == 0;
	}
	if (r == 0)
		r = fabric_cut(sn->f, seq, CUT_MS, err, sizeof(err));
	fabric_send(sn->f, 0, FABRIC_CTL_PAUSED, seq, r < 0 ? (uint32_t)-r : 0);
	if (r < 0)
		say(sn, "cannot pause: %s", err);
	t = await(sn, seq, WAIT_MS, &m);
	if (t == FABRIC_CTL_SAVE) {
		r = save_rank(sn, seq, rx, err, sizeof(err));
		if (r < 0)
			say(sn, "rank %lu cannot save: %s", sn->c->rank, err);
		fabric_send(sn->f, 0, FABRIC_CTL_SAVED, seq,
			    r < 0 ? (uint32_t)-r : 0);
		t = await(sn, seq, WAIT_MS, &m);
	}
	if (t == FABRIC_CTL_DONE)
		stop = (int)m.arg;
	else if (t == FABRIC_CTL_ABORT)
		remove_own(sn, seq);
	else if (t == FABRIC_MSG_LOST)
		say(sn, "rank 0's launcher was lost: the snapshot is given up");
	else if (t == 0)
		say(sn, "no word from rank 0 in %d s: the snapshot is given up",
		    WAIT_MS / 1000);
	if (stop) {
		sn->stopped = 1;
		return 1;
	}
	if (stopped && qmp_simple(sn, "cont", NULL, err, sizeof(err)) < 0)
		say(sn, "cannot resume the guest: %s", err);
	fabric_release(sn->f);
	return 0;
}

int snapshot_on_event(struct snapshot *sn, const struct agent_rx *rx)
{
	struct fabric_msg m;

	while (fabric_recv(sn->f, &m)) {
		if (sn->c->rank == 0)
			coordinate(sn, &m);
		if (m.type == FABRIC_CTL_CUT && take_part(sn, m.seq, rx))
			return 1;
	}
	return 0;
}

int snapshot_stopped(const struct snapshot *sn)
{
	return sn && sn->stopped;
}

int snapshot_at_end(const struct snapshot *sn)
{
	return sn->c->snapshot_at_end;
}
