/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * This rank's files of a save, into the partial directory rank 0 made
 * (it must be this user's own directory, not a link): QEMU's device state
 * through its migration (started here, polled by the loop), then the
 * frames in flight and the agent bytes, then on the writer thread the
 * memory, the disk overlay, the checksums and the manifest entry. The
 * thread only writes files: it never touches QMP, the fabric or the loop,
 * and stops within a chunk once told to.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/clock.h"
#include "launcher/boot/memory.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/save/snapshot_int.h"

#define MIGRATE_BANDWIDTH (1ULL << 40) /* bytes/s: no cap */
#define COPY_CHUNK (4u << 20)

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

static int stopping(const struct save *v)
{
	return __atomic_load_n(&v->stop, __ATOMIC_RELAXED);
}

int save_copy_fd(const struct save *v, int in, const char *name, char *err,
		 size_t errlen)
{
	int out, r = 0;
	struct stat st;
	off_t off = 0;

	out = safe_create(v->dfd, v->dir, name, O_WRONLY, 0600, 0, err, errlen);
	if (out < 0)
		return out;
	if (fstat(in, &st) < 0)
		r = -errno;
	while (r == 0 && off < st.st_size) {
		off_t left = st.st_size - off;
		ssize_t n =
		    sendfile(out, in, &off,
			     left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);

		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else if (stopping(v))
			r = -ECANCELED;
	}
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (r < 0)
		snprintf(err, errlen, "copying the disk overlay: %s",
			 strerror(-r));
	close(out);
	return r;
}

int save_copy_file(const struct save *v, const char *src, const char *name,
		   char *err, size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), r;

	if (in < 0) {
		r = -errno;
		snprintf(err, errlen, "%.400s: %s", src, strerror(errno));
		return r;
	}
	r = save_copy_fd(v, in, name, err, errlen);
	close(in);
	return r;
}

/* data into dfd/name, a new file, synced. */
static int write_file(const struct save *v, const char *name, const void *data,
		      size_t len, char *err, size_t errlen)
{
	int fd =
	    safe_create(v->dfd, v->dir, name, O_WRONLY, 0600, 0, err, errlen);
	int r = 0;

	if (fd < 0)
		return fd;
	errno = 0;
	if ((len && write(fd, data, len) != (ssize_t)len) || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r < 0)
		snprintf(err, errlen, "%.400s/%s: %s", v->dir, name,
			 strerror(-r));
	return r;
}

/* The rank's entry, its names and the identity of what the guest runs. */
static int describe(struct snapshot *sn, struct snap_rank *r, char *err,
		    size_t errlen)
{
	const struct launch_config *c = sn->c;
	/* A restored guest's disk is saved over the image again. */
	const char *image = c->restored_image ? c->restored_image : c->image;

	memset(r, 0, sizeof(*r));
	r->rank = (uint32_t)c->rank;
	snprintf(r->node, sizeof(r->node), "%s", c->node ? c->node : "");
	r->mem_mb = c->mem_mb;
	r->cpus = c->cpus;
	if ((image && snap_ident_of(image, &r->image) < 0) ||
	    (c->kernel && snap_ident_of(c->kernel, &r->kernel) < 0) ||
	    (c->initrd && snap_ident_of(c->initrd, &r->initrd) < 0)) {
		snprintf(err, errlen, "the guest's image: %s", strerror(errno));
		return -errno;
	}
	snap_file_name(r->rank, SNAP_VMSTATE, r->vmstate.name,
		       sizeof(r->vmstate.name));
	snap_file_name(r->rank, SNAP_MEMORY, r->memory.name,
		       sizeof(r->memory.name));
	snap_file_name(r->rank, SNAP_FRAMES, r->frames.name,
		       sizeof(r->frames.name));
	snap_file_name(r->rank, SNAP_AGENT, r->agent.name,
		       sizeof(r->agent.name));
	if (vm_overlay(sn->vm)) {
		r->has_disk = 1;
		snap_file_name(r->rank, SNAP_DISK, r->disk.name,
			       sizeof(r->disk.name));
	}
	return 0;
}

/* Opens this rank's view of the partial directory as v->dfd. */
static int open_dir(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	char pname[96];
	int sfd;

	snap_partial_dir(sn, sn->part_seq, v->dir, sizeof(v->dir));
	snap_name_of(sn, sn->part_seq, SNAP_PARTIAL, pname, sizeof(pname));
	sfd = safe_open(AT_FDCWD, NULL, sn->c->snapshot,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, err,
			errlen);
	if (sfd < 0)
		return sfd;
	v->dfd =
	    safe_open(sfd, sn->c->snapshot, pname, SAFE_DIR, NULL, err, errlen);
	close(sfd);
	return v->dfd < 0 ? v->dfd : 0;
}

static json_int_t bandwidth(void)
{
	const char *s = getenv(ENV_TEST_SAVE_BPS);
	char *end;
	long long n;

	if (!s || !*s)
		return (json_int_t)MIGRATE_BANDWIDTH;
	n = strtoll(s, &end, 10);
	return *end || n <= 0 ? (json_int_t)MIGRATE_BANDWIDTH : n;
}

int save_begin(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	json_t *q;
	int r;

	v->stop = 0;
	v->rc = 0;
	v->err[0] = 0;
	r = describe(sn, &v->r, err, errlen);
	if (r < 0 || (r = open_dir(sn, err, errlen)) < 0)
		return r;
	v->t0 = now_ms();
	r = snap_qmp(sn, "migrate-set-parameters",
		     json_pack("{s:I}", "max-bandwidth", bandwidth()), err,
		     errlen);
	if (r < 0 || (r = qmp_migrate_without_memory(sn->qmp, err, errlen)) < 0)
		goto fail;
	v->vmstate_fd = safe_create(v->dfd, v->dir, v->r.vmstate.name, O_WRONLY,
				    0600, 0, err, errlen);
	if (v->vmstate_fd < 0) {
		r = v->vmstate_fd;
		goto fail;
	}
	q = qmp_execute_fd(sn->qmp, "getfd",
			   json_pack("{s:s}", "fdname", "slurmvm-snapshot"),
			   v->vmstate_fd, 10000, err, errlen);
	r = q ? 0 : -EIO;
	json_decref(q);
	if (r == 0)
		r = snap_qmp(sn, "migrate",
			     json_pack("{s:s}", "uri", "fd:slurmvm-snapshot"),
			     err, errlen);
	if (r == 0)
		return 0;
fail:
	save_abandon(sn);
	return disk_full(v->dir) ? disk_full_error(v->dir, err, errlen) : r;
}

int save_migrated(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	json_t *q =
	    qmp_execute(sn->qmp, "query-migrate", NULL, 10000, err, errlen);
	const char *st, *why;
	int r = 0;

	if (!q) {
		if (errno != EIO) /* EIO: err has QEMU's reason */
			snprintf(err, errlen,
				 "saving the guest's state: query-migrate: %s",
				 strerror(errno));
		r = -EIO;
		goto fail;
	}
	st = json_string_value(json_object_get(q, "status"));
	if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
		why = json_string_value(json_object_get(q, "error-desc"));
		snprintf(err, errlen, "saving the guest's state: %s",
			 why ? why : st);
		r = -EIO;
	} else if (st && !strcmp(st, "completed")) {
		r = 1;
	}
	json_decref(q);
	if (r == 0)
		return 0;
	/* The same file QEMU wrote: our fd, not the name again. */
	if (r == 1 && fsync(v->vmstate_fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "syncing %.400s/%s: %s", v->dir,
			 v->r.vmstate.name, strerror(-r));
	}
	close(v->vmstate_fd);
	v->vmstate_fd = -1;
	if (r == 1)
		return 1;
fail:
	save_abandon(sn);
	return disk_full(v->dir) ? disk_full_error(v->dir, err, errlen) : r;
}

/* The writer thread: memory, overlay, checksums, the entry. */
static void *writer(void *arg)
{
	struct snapshot *sn = arg;
	struct save *v = &sn->save;
	struct snap_rank *r = &v->r;
	uint64_t one = 1;
	int rc;

	rc = memory_save_until(sn->vm->memory_fd, (uint64_t)sn->c->mem_mb << 20,
			       v->dfd, v->dir, r->memory.name, &r->memory,
			       &v->stop, v->err, sizeof(v->err));
	v->t1 = now_ms();
	if (rc == -ENOSPC || (rc < 0 && rc != -ECANCELED && disk_full(v->dir)))
		rc = disk_full_error(v->dir, v->err, sizeof(v->err));
	if (rc == 0 && r->has_disk && sn->c->restored_image)
		rc = save_restored_disk(sn, v->err, sizeof(v->err));
	else if (rc == 0 && r->has_disk)
		rc = save_copy_file(v, vm_overlay(sn->vm), r->disk.name, v->err,
				    sizeof(v->err));
	if (rc == 0 &&
	    ((rc = snap_file_hash(v->dir, r->vmstate.name, &r->vmstate)) < 0 ||
	     (r->has_disk &&
	      (rc = snap_file_hash(v->dir, r->disk.name, &r->disk)) < 0) ||
	     (rc = snap_file_hash(v->dir, r->frames.name, &r->frames)) < 0 ||
	     (rc = snap_file_hash(v->dir, r->agent.name, &r->agent)) < 0))
		snprintf(v->err, sizeof(v->err),
			 "checksums of this rank's files: %s", strerror(-rc));
	if (rc == 0 && stopping(v))
		rc = -ECANCELED;
	if (rc == 0)
		rc = snap_rank_write(v->dir, r, v->err, sizeof(v->err));
	v->rc = rc;
	if (write(v->done_fd, &one, sizeof(one)) < 0)
		v->rc = rc ? rc : -EIO; /* an eventfd takes this */
	return NULL;
}

/* The frames in flight to this guest. */
static int save_frames(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	uint64_t bytes;
	int fd = safe_create(v->dfd, v->dir, v->r.frames.name, O_WRONLY, 0600,
			     0, err, errlen);
	int rc = 0;

	if (fd < 0)
		return fd;
	errno = 0;
	if (fabric_save_frames(sn->f, fd, &bytes) < 0 || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "saving the frames in flight: %s",
			 strerror(-rc));
	}
	close(fd);
	return rc;
}

int save_write(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	const uint8_t *p = NULL;
	size_t len = 0;
	int rc;

	if (sn->h.unparsed)
		sn->h.unparsed(sn->h.arg, &p, &len);
	rc = save_frames(sn, err, errlen);
	if (rc == 0)
		rc = write_file(v, v->r.agent.name, p, len, err, errlen);
	if (rc == 0) {
		rc = -pthread_create(&v->thread, NULL, writer, sn);
		if (rc < 0)
			snprintf(err, errlen, "cannot start the writer: %s",
				 strerror(-rc));
	}
	if (rc < 0) {
		save_abandon(sn);
		return rc;
	}
	v->running = 1;
	return 0;
}

int save_end(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	int rc = v->rc;

	if (v->running) {
		pthread_join(v->thread, NULL);
		v->running = 0;
		rc = v->rc;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s", v->err);
	else if (sn->c->stats)
		snap_say(sn,
			 "rank %lu: %.1f MB of memory and %.1f MB of device "
			 "state in %.2f s, the rest %.2f s later",
			 sn->c->rank, (double)v->r.memory.stored / 1e6,
			 (double)v->r.vmstate.size / 1e6,
			 (double)(v->t1 - v->t0) / 1000,
			 (double)(now_ms() - v->t1) / 1000);
	if (v->dfd >= 0)
		close(v->dfd);
	v->dfd = -1;
	return rc;
}

void save_abandon(struct snapshot *sn)
{
	struct save *v = &sn->save;
	char err[256];

	if (v->vmstate_fd >= 0) {
		/* QEMU holds its own copy of the fd: it stops writing. */
		snap_qmp(sn, "migrate_cancel", NULL, err, sizeof(err));
		close(v->vmstate_fd);
		v->vmstate_fd = -1;
	}
	if (v->running) {
		uint64_t n;

		__atomic_store_n(&v->stop, 1, __ATOMIC_RELAXED);
		pthread_join(v->thread, NULL);
		v->running = 0;
		if (read(v->done_fd, &n, sizeof(n)) < 0)
			n = 0; /* read already */
	}
	if (v->dfd >= 0)
		close(v->dfd);
	v->dfd = -1;
}

void save_remove(struct snapshot *sn, uint32_t seq)
{
	char dir[4200], path[4400];
	int k;

	snap_partial_dir(sn, seq, dir, sizeof(dir));
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
