/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/boot/memory.h"
#include "launcher/save/restore.h"
#include "launcher/snapdir/snapdir.h"

#define LOAD_MS 600000

void restore_close(struct restore *rs)
{
	int i;

	for (i = 0; i < RS_FILES; i++) {
		if (rs->fd[i] >= 0)
			close(rs->fd[i]);
		rs->fd[i] = -1;
	}
	if (rs->disk_fd >= 0)
		close(rs->disk_fd);
	rs->disk_fd = -1;
}

/* Opens and checks this rank's files of the snapshot in rs->dir. */
static int open_files(struct restore *rs, char *err, size_t errlen)
{
	const struct snap_rank *r = &rs->r;
	const struct snap_file *f[RS_FILES] = {[RS_VMSTATE] = &r->vmstate,
					       [RS_MEMORY] = &r->memory,
					       [RS_FRAMES] = &r->frames,
					       [RS_AGENT] = &r->agent};
	int dfd, i, rc = 0;

	dfd = safe_open(AT_FDCWD, NULL, rs->dir, SAFE_DIR | SAFE_FOLLOW, NULL,
			err, errlen);
	if (dfd < 0)
		return dfd;
	for (i = 0; i < RS_FILES && rc == 0; i++) {
		snprintf(rs->path[i], sizeof(rs->path[i]), "%s/%s", rs->dir,
			 f[i]->name);
		rs->fd[i] =
		    safe_open(dfd, rs->dir, f[i]->name, 0, NULL, err, errlen);
		/* The memory's checksum is checked as it loads, on the
		 * copy-in path only (memory.h). */
		rc = rs->fd[i] < 0
			 ? rs->fd[i]
			 : snap_file_verify_fd(rs->fd[i], rs->path[i], f[i],
					       i != RS_MEMORY, err, errlen);
	}
	/* The saved overlay is checked here, then opened by path as the new
	 * overlay's base (its directory and it are the user's own). */
	if (rc == 0 && r->has_disk) {
		int fd =
		    safe_open(dfd, rs->dir, r->disk.name, 0, NULL, err, errlen);

		rc = fd < 0 ? fd
			    : snap_file_verify_fd(fd, rs->disk, &r->disk, 1,
						  err, errlen);
		rs->disk_fd = fd; /* a later save reads it (launch_config.h) */
	}
	close(dfd);
	if (rc < 0)
		restore_close(rs);
	return rc;
}

int restore_prepare(struct launch_config *c, struct restore *rs, char *err,
		    size_t errlen)
{
	struct snap_manifest m = {0};
	const struct snap_rank *r;
	int rc, i;

	for (i = 0; i < RS_FILES; i++)
		rs->fd[i] = -1;
	rs->disk_fd = -1;
	rc = snap_resolve(c->restore, rs->dir, sizeof(rs->dir), err, errlen);
	if (rc < 0)
		return rc;
	rc = manifest_read(rs->dir, &m, err, errlen);
	if (rc < 0)
		return rc;
	if (m.ntasks != c->nranks) {
		snprintf(err, errlen,
			 "--vm-restore=%s: the snapshot has %u tasks, this "
			 "step has %lu; run with -n%u",
			 c->restore, m.ntasks, c->nranks, m.ntasks);
		manifest_free(&m);
		return -EINVAL;
	}
	rs->r = m.ranks[c->rank];
	snprintf(rs->qemu_version, sizeof(rs->qemu_version), "%s",
		 m.qemu_version);
	rs->at_ready = m.at_ready;
	rs->at_fail = m.at_fail;
	manifest_free(&m);
	r = &rs->r;
	if (r->has_disk)
		snprintf(rs->disk, sizeof(rs->disk), "%s/%s", rs->dir,
			 r->disk.name);
	if ((r->image.path[0] &&
	     (rc = snap_ident_check(&r->image, "image", err, errlen)) < 0) ||
	    (r->kernel.path[0] &&
	     (rc = snap_ident_check(&r->kernel, "kernel", err, errlen)) < 0) ||
	    (r->initrd.path[0] &&
	     (rc = snap_ident_check(&r->initrd, "initrd", err, errlen)) < 0) ||
	    (rc = open_files(rs, err, errlen)) < 0)
		return rc;
	/* The saved overlay (over the image) is the new overlay's base. */
	c->image = r->has_disk ? rs->disk : NULL;
	c->restored_image =
	    r->has_disk && r->image.path[0] ? r->image.path : NULL;
	c->restored_disk_fd = rs->disk_fd;
	c->kernel = r->kernel.path[0] ? r->kernel.path : NULL;
	c->initrd = r->initrd.path[0] ? r->initrd.path : NULL;
	c->mem_mb = r->mem_mb;
	c->cpus = r->cpus;
	c->persist = NULL;
	return 0;
}

int restore_memory(const struct restore *rs, int fd, int *map, char *err,
		   size_t errlen)
{
	int rc;

	*map = -1;
	if (fd >= 0)
		return memory_load(fd, rs->fd[RS_MEMORY], rs->path[RS_MEMORY],
				   &rs->r.memory, err, errlen);
	/* Not to be saved again: QEMU maps the checked file copy-on-write,
	 * through the descriptor opened here, never by its name. */
	rc = memory_map_check(rs->fd[RS_MEMORY], rs->path[RS_MEMORY],
			      &rs->r.memory, rs->r.mem_mb, err, errlen);
	if (rc == 0)
		*map = rs->fd[RS_MEMORY];
	return rc;
}

int restore_incoming(struct qmp *qmp, const struct restore *rs, char *err,
		     size_t errlen)
{
	char here[96], what[480];
	json_t *r;

	if (qmp_version(qmp, here, sizeof(here)) == 0 && rs->qemu_version[0] &&
	    strcmp(here, rs->qemu_version)) {
		snprintf(err, errlen,
			 "the snapshot was saved by QEMU %s, this node runs "
			 "QEMU %s: restore it where that QEMU is installed",
			 rs->qemu_version, here);
		return -EINVAL;
	}
	if (qmp_migrate_without_memory(qmp, err, errlen) < 0)
		return -EIO;
	/* QEMU reads the file the launcher opened and checked (at offset 0
	 * after its checksum), never the name again. */
	r = qmp_execute_fd(qmp, "getfd",
			   json_pack("{s:s}", "fdname", "slurmvm-restore"),
			   rs->fd[RS_VMSTATE], 10000, err, errlen);
	if (!r)
		return -EIO;
	json_decref(r);
	r = qmp_execute(qmp, "migrate-incoming",
			json_pack("{s:s}", "uri", "fd:slurmvm-restore"), 10000,
			err, errlen);
	if (!r)
		return -EIO;
	json_decref(r);
	snprintf(what, sizeof(what), "loading the saved state of %.400s",
		 rs->path[RS_VMSTATE]);
	return qmp_migration_wait(qmp, what, LOAD_MS, err, errlen);
}

int restore_agent_bytes(const struct restore *rs, uint8_t **buf, size_t *len)
{
	int fd = rs->fd[RS_AGENT];
	uint64_t size = rs->r.agent.size;
	size_t off = 0;

	/* The size was checked against the manifest's; the session takes
	 * far less (session_reattach()). */
	if (size > (1u << 24))
		return -EFBIG;
	if (fd < 0 || !(*buf = malloc((size_t)size + 1)))
		return fd < 0 ? -EBADF : -ENOMEM;
	while (off < size) {
		ssize_t n =
		    pread(fd, *buf + off, (size_t)size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(*buf);
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	*len = off;
	return 0;
}
