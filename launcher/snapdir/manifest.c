/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "launcher/common/io.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"

static struct snap_file *rank_file(struct snap_rank *r, enum snap_kind k)
{
	switch (k) {
	case SNAP_VMSTATE:
		return &r->vmstate;
	case SNAP_MEMORY:
		return &r->memory;
	case SNAP_DISK:
		return &r->disk;
	case SNAP_FRAMES:
		return &r->frames;
	default:
		return &r->agent;
	}
}

/* To JSON */

static json_t *ident_json(const struct snap_ident *id)
{
	if (!id->path[0])
		return json_null();
	return json_pack("{s:s, s:I, s:I}", "path", id->path, "size",
			 (json_int_t)id->size, "mtime_ns",
			 (json_int_t)id->mtime_ns);
}

static json_t *file_json(const struct snap_file *f)
{
	return json_pack("{s:s, s:I, s:s}", "name", f->name, "size",
			 (json_int_t)f->size, "sha256", f->sha256);
}

static json_t *memory_json(const struct snap_file *f)
{
	return json_pack("{s:s, s:I, s:I, s:s}", "name", f->name, "size",
			 (json_int_t)f->size, "stored", (json_int_t)f->stored,
			 "sha256", f->sha256);
}

static json_t *rank_json(const struct snap_rank *r)
{
	json_t *files =
	    json_pack("{s:o, s:o, s:o, s:o}", "vmstate", file_json(&r->vmstate),
		      "memory", memory_json(&r->memory), "frames",
		      file_json(&r->frames), "agent", file_json(&r->agent));

	if (files && r->has_disk &&
	    json_object_set_new(files, "disk", file_json(&r->disk)) < 0) {
		json_decref(files);
		return NULL;
	}
	if (!files)
		return NULL;
	return json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "rank",
			 (json_int_t)r->rank, "node", r->node, "mem_mb",
			 (json_int_t)r->mem_mb, "cpus", (json_int_t)r->cpus,
			 "image", ident_json(&r->image), "kernel",
			 ident_json(&r->kernel), "initrd",
			 ident_json(&r->initrd), "files", files);
}

static json_t *manifest_json(const struct snap_manifest *m)
{
	json_t *ranks = json_array(), *o;
	uint32_t i;

	if (!ranks)
		return NULL;
	for (i = 0; i < m->ntasks; i++)
		if (json_array_append_new(ranks, rank_json(&m->ranks[i])) < 0) {
			json_decref(ranks);
			return NULL;
		}
	o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:s, s:I, s:s, s:s, "
		      "s:o}",
		      "format", SNAP_FORMAT, "version", SNAP_VERSION, "job",
		      (json_int_t)m->job, "step", (json_int_t)m->step, "ntasks",
		      (json_int_t)m->ntasks, "seq", (json_int_t)m->seq,
		      "cut_time", m->cut_time, "pause_ms",
		      (json_int_t)m->pause_ms, "qemu_version", m->qemu_version,
		      "at",
		      m->at_ready  ? "ready"
		      : m->at_fail ? "fail"
				   : "command",
		      "ranks", ranks);
	/* Saved at fail: which rank failed first, and how. */
	if (o && m->at_fail &&
	    (json_object_set_new(o, "failed_rank",
				 json_integer((json_int_t)m->failed_rank)) <
		 0 ||
	     json_object_set_new(o, "failed_code",
				 json_integer(m->failed_code)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A new temporary file in dfd, named .name.<random hex>: created with
 * O_EXCL, so a name someone made first (a file, a link) is never written
 * through; tmp gets its name. */
static int create_tmp(int dfd, const char *dir, const char *name, char *tmp,
		      size_t len, char *err, size_t errlen)
{
	int tries, fd = -EEXIST;

	for (tries = 0; tries < 16 && fd == -EEXIST; tries++) {
		uint64_t r = 0;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint64_t)getpid() << 20 ^ (uint64_t)tries;
		if (snprintf(tmp, len, ".%s.%016" PRIx64, name, r) >=
		    (int)len) {
			snprintf(err, errlen, "%s/%s: the name is too long",
				 dir, name);
			return -ENAMETOOLONG;
		}
		fd = safe_create(dfd, dir, tmp, O_WRONLY, 0600, 0, err, errlen);
	}
	return fd;
}

/* Writes text to dir/name through a new temporary file, fsync, rename, and
 * an fsync of dir: dir must be this user's own directory. */
static int write_atomic(const char *dir, const char *name, const char *text,
			char *err, size_t errlen)
{
	char tmp[NAME_MAX + 1];
	size_t len = strlen(text), off = 0;
	int fd, dfd, rc = 0;

	dfd = safe_open(AT_FDCWD, NULL, dir, SAFE_DIR | SAFE_FOLLOW, NULL, err,
			errlen);
	if (dfd < 0)
		return dfd;
	fd = create_tmp(dfd, dir, name, tmp, sizeof(tmp), err, errlen);
	if (fd < 0) {
		close(dfd);
		return fd;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, name,
			 strerror(-rc));
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return rc;
	}
	if (fsync(dfd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot sync %s: %s", dir, strerror(-rc));
	}
	close(dfd);
	return rc;
}

static int write_json(const char *dir, const char *name, json_t *o, char *err,
		      size_t errlen)
{
	char *text;
	int rc;

	if (!o) {
		snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		return -ENOMEM;
	}
	text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text) {
		snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		return -ENOMEM;
	}
	rc = write_atomic(dir, name, text, err, errlen);
	free(text);
	return rc;
}

/* Reads dir/name whole (at most max bytes) into a malloc'd buffer. */
static int slurp(const char *dir, const char *name, size_t max, char **text,
		 size_t *len, char *err, size_t errlen)
{
	char path[4200];
	struct stat st;
	int fd, rc;

	fd = safe_open_in(dir, name, path, sizeof(path), &st, err, errlen);
	if (fd < 0)
		return fd;
	rc = read_regular(fd, max, text, len);
	close(fd);
	if (rc == -EINVAL || rc == -EFBIG)
		snprintf(err, errlen,
			 "%s: not a regular file of at most %zu "
			 "bytes; the snapshot is damaged",
			 path, max);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc == -EFBIG ? -EINVAL : rc;
}

/* One manifest entry per task needs well under 4 KiB. */
#define MAX_RANK_JSON (64 * 1024)

int snap_rank_write(const char *dir, const struct snap_rank *r, char *err,
		    size_t errlen)
{
	char name[64];

	snap_file_name(r->rank, SNAP_ENTRY, name, sizeof(name));
	return write_json(dir, name, rank_json(r), err, errlen);
}

int snap_rank_read(const char *dir, uint32_t rank, struct snap_rank *r,
		   char *err, size_t errlen)
{
	char name[64], source[4200];
	struct snap_manifest one;
	size_t len;
	char *text;
	int rc;

	snap_file_name(rank, SNAP_ENTRY, name, sizeof(name));
	rc = slurp(dir, name, MAX_RANK_JSON, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(source, sizeof(source), "%s/%s", dir, name);
	rc = manifest_parse(text, len, 1, source, &one, err, errlen);
	free(text);
	if (rc < 0)
		return rc;
	if (one.ranks[0].rank != rank) {
		snprintf(err, errlen, "%s: holds rank %" PRIu32, source,
			 one.ranks[0].rank);
		manifest_free(&one);
		return -EINVAL;
	}
	*r = one.ranks[0];
	manifest_free(&one);
	return 0;
}

int manifest_collect(const char *dir, struct snap_manifest *m, char *err,
		     size_t errlen)
{
	char why[4400];
	uint32_t i;
	int rc;

	if (!m->ntasks || m->ntasks > SNAP_MAX_TASKS) {
		snprintf(err, errlen, "%" PRIu32 " tasks: out of range",
			 m->ntasks);
		return -EINVAL;
	}
	m->ranks = calloc(m->ntasks, sizeof(*m->ranks));
	if (!m->ranks) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < m->ntasks; i++) {
		rc = snap_rank_read(dir, i, &m->ranks[i], why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "rank %" PRIu32 ": %s", i, why);
			manifest_free(m);
			return rc;
		}
	}
	return 0;
}

int manifest_write(const char *dir, const struct snap_manifest *m, char *err,
		   size_t errlen)
{
	struct snap_manifest check;
	json_t *o = manifest_json(m);
	char *text;
	int rc;

	if (!o) {
		snprintf(err, errlen,
			 "%s: cannot build the manifest (out of "
			 "memory, or a string that is not UTF-8)",
			 dir);
		return -ENOMEM;
	}
	text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -ENOMEM;
	}
	/* What is written must read back: never publish a manifest the
	 * restore would refuse. */
	rc = manifest_parse(text, strlen(text), 0, "the new manifest", &check,
			    err, errlen);
	if (rc == 0) {
		manifest_free(&check);
		rc = write_atomic(dir, SNAP_MANIFEST, text, err, errlen);
	}
	free(text);
	return rc;
}

int manifest_read(const char *dir, struct snap_manifest *m, char *err,
		  size_t errlen)
{
	char source[4200];
	size_t len, max;
	char *text;
	int rc;

	memset(m, 0, sizeof(*m));
	/* Generous for the largest step: a few hundred bytes a rank. */
	max = (size_t)64 << 20;
	rc = slurp(dir, SNAP_MANIFEST, max, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(source, sizeof(source), "%s/%s", dir, SNAP_MANIFEST);
	rc = manifest_parse(text, len, 0, source, m, err, errlen);
	free(text);
	return rc;
}

int manifest_verify(const char *dir, const struct snap_manifest *m, int hash,
		    char *err, size_t errlen)
{
	char why[4400];
	uint32_t i;
	int k, rc;

	for (i = 0; i < m->ntasks; i++)
		for (k = SNAP_VMSTATE; k <= SNAP_AGENT; k++) {
			if (k == SNAP_DISK && !m->ranks[i].has_disk)
				continue;
			rc = snap_file_verify(dir, rank_file(&m->ranks[i], k),
					      hash, why, sizeof(why));
			if (rc < 0) {
				snprintf(err, errlen,
					 "rank %" PRIu32 " (saved on %s): %s",
					 i, m->ranks[i].node, why);
				return rc;
			}
		}
	return 0;
}

uint64_t manifest_bytes(const struct snap_manifest *m)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < m->ntasks && m->ranks; i++)
		total += m->ranks[i].vmstate.size + m->ranks[i].memory.stored +
			 m->ranks[i].frames.size + m->ranks[i].agent.size +
			 (m->ranks[i].has_disk ? m->ranks[i].disk.size : 0);
	return total;
}

void manifest_free(struct snap_manifest *m)
{
	free(m->ranks);
	memset(m, 0, sizeof(*m));
}
