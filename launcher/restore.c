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

#include "clock.h"
#include "memory.h"
#include "restore.h"
#include "snapdir.h"

#define LOAD_MS 600000

int restore_prepare(struct launch_config *c, struct restore *rs, char *err,
		    size_t errlen)
{
	struct snap_manifest m = {0};
	const struct snap_rank *r;
	int rc;

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
	manifest_free(&m);
	r = &rs->r;
	if ((r->image.path[0] &&
	     (rc = snap_ident_check(&r->image, "image", err, errlen)) < 0) ||
	    (r->kernel.path[0] &&
	     (rc = snap_ident_check(&r->kernel, "kernel", err, errlen)) < 0) ||
	    (r->initrd.path[0] &&
	     (rc = snap_ident_check(&r->initrd, "initrd", err, errlen)) < 0) ||
	    (rc = snap_file_verify(rs->dir, &r->vmstate, 1, err, errlen)) < 0 ||
	    (rc = snap_file_verify(rs->dir, &r->memory, 0, err, errlen)) < 0 ||
	    (rc = snap_file_verify(rs->dir, &r->frames, 1, err, errlen)) < 0 ||
	    (rc = snap_file_verify(rs->dir, &r->agent, 1, err, errlen)) < 0 ||
	    (r->has_disk &&
	     (rc = snap_file_verify(rs->dir, &r->disk, 1, err, errlen)) < 0))
		return rc;
	snprintf(rs->vmstate, sizeof(rs->vmstate), "%s/%s", rs->dir,
		 r->vmstate.name);
	snprintf(rs->memory, sizeof(rs->memory), "%s/%s", rs->dir,
		 r->memory.name);
	snprintf(rs->frames, sizeof(rs->frames), "%s/%s", rs->dir,
		 r->frames.name);
	snprintf(rs->agent, sizeof(rs->agent), "%s/%s", rs->dir, r->agent.name);
	if (r->has_disk)
		snprintf(rs->disk, sizeof(rs->disk), "%s/%s", rs->dir,
			 r->disk.name);
	/* The saved overlay (over the image) is the new overlay's base. */
	c->image = r->has_disk ? rs->disk : NULL;
	c->kernel = r->kernel.path[0] ? r->kernel.path : NULL;
	c->initrd = r->initrd.path[0] ? r->initrd.path : NULL;
	c->mem_mb = r->mem_mb;
	c->cpus = r->cpus;
	c->persist = NULL;
	return 0;
}

int restore_memory(const struct restore *rs, int fd, char *err, size_t errlen)
{
	return memory_load(fd, rs->memory, &rs->r.memory, err, errlen);
}

int restore_incoming(struct qmp *qmp, const struct restore *rs, char *err,
		     size_t errlen)
{
	char uri[4500], here[96], what[480];
	json_t *r;

	if (qmp_version(qmp, here, sizeof(here)) == 0 && rs->qemu_version[0] &&
	    strcmp(here, rs->qemu_version)) {
		snprintf(err, errlen,
			 "the snapshot was saved by QEMU %s, this node runs "
			 "QEMU %s: restore it where that QEMU is installed",
			 rs->qemu_version, here);
		return -EINVAL;
	}
	if (strchr(rs->vmstate, '\'')) {
		snprintf(err, errlen, "%s: a quote in the snapshot path",
			 rs->vmstate);
		return -EINVAL;
	}
	if (qmp_migrate_without_memory(qmp, err, errlen) < 0)
		return -EIO;
	snprintf(uri, sizeof(uri), "exec:cat '%s'", rs->vmstate);
	r = qmp_execute(qmp, "migrate-incoming", json_pack("{s:s}", "uri", uri),
			10000, err, errlen);
	if (!r)
		return -EIO;
	json_decref(r);
	snprintf(what, sizeof(what), "loading the saved state of %.400s",
		 rs->vmstate);
	return qmp_migration_wait(qmp, what, LOAD_MS, err, errlen);
}

int restore_agent_bytes(const struct restore *rs, uint8_t **buf, size_t *len)
{
	int fd = open(rs->agent, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		return -EIO;
	}
	*len = (size_t)n;
	return 0;
}
