/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A manifest from its JSON text (manifest.h): untrusted, so every field is
 * type- and range-checked and each refusal names the source and the field.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "launcher/common/launch_env.h"
#include "launcher/snapdir/manifest.h"

/* The key of each kind of file in a rank's "files". */
static const char *const kinds[] = {
    [SNAP_VMSTATE] = "vmstate", [SNAP_MEMORY] = "memory", [SNAP_DISK] = "disk",
    [SNAP_FRAMES] = "frames",	[SNAP_AGENT] = "agent",
};

struct reader {
	const char *source; /* the file, for messages */
	char *err;
	size_t errlen;
};

static int bad(struct reader *rd, const char *field, const char *why)
{
	snprintf(rd->err, rd->errlen,
		 "%s: %s %s; the snapshot is damaged or not one of this "
		 "version's",
		 rd->source, field, why);
	return -EINVAL;
}

static int get_uint(struct reader *rd, json_t *o, const char *key,
		    const char *field, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	char label[128];

	snprintf(label, sizeof(label), "%s%s%s", field, field[0] ? "." : "",
		 key);
	if (!v)
		return bad(rd, label, "is missing");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad(rd, label, "is not a number in range");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_str(struct reader *rd, json_t *o, const char *key,
		   const char *field, char *out, size_t len)
{
	json_t *v = json_object_get(o, key);
	char label[128];
	const char *s;

	snprintf(label, sizeof(label), "%s%s%s", field, field[0] ? "." : "",
		 key);
	if (!v)
		return bad(rd, label, "is missing");
	if (!json_is_string(v))
		return bad(rd, label, "is not a string");
	s = json_string_value(v);
	if (strlen(s) >= len || strlen(s) != json_string_length(v))
		return bad(rd, label, "is too long or holds a NUL");
	strcpy(out, s);
	return 0;
}

static int read_ident(struct reader *rd, json_t *o, const char *key,
		      const char *field, struct snap_ident *id)
{
	json_t *v = json_object_get(o, key);
	char label[128];

	snprintf(label, sizeof(label), "%s.%s", field, key);
	memset(id, 0, sizeof(*id));
	if (!v)
		return bad(rd, label, "is missing");
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(rd, label, "is not an object or null");
	if (get_str(rd, v, "path", label, id->path, sizeof(id->path)) < 0)
		return -EINVAL;
	if (id->path[0] != '/')
		return bad(rd, label, "path is not absolute");
	if (get_uint(rd, v, "size", label, INT64_MAX, &id->size) < 0)
		return -EINVAL;
	/* mtime_ns may be negative (before 1970): any integer. */
	v = json_object_get(v, "mtime_ns");
	if (!json_is_integer(v))
		return bad(rd, label, "mtime_ns is missing or not a number");
	id->mtime_ns = json_integer_value(v);
	return 0;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == 0;
}

static int read_file(struct reader *rd, json_t *files, uint32_t rank,
		     enum snap_kind k, const char *field, struct snap_file *f)
{
	json_t *v = json_object_get(files, kinds[k]);
	char label[128], want[64];

	snprintf(label, sizeof(label), "%s.files.%s", field, kinds[k]);
	memset(f, 0, sizeof(*f));
	if (!v)
		return bad(rd, label, "is missing");
	if (!json_is_object(v))
		return bad(rd, label, "is not an object");
	if (get_str(rd, v, "name", label, f->name, sizeof(f->name)) < 0 ||
	    get_uint(rd, v, "size", label, INT64_MAX, &f->size) < 0 ||
	    get_str(rd, v, "sha256", label, f->sha256, sizeof(f->sha256)) < 0)
		return -EINVAL;
	snap_file_name(rank, k, want, sizeof(want));
	if (strcmp(f->name, want)) {
		char why[128];

		snprintf(why, sizeof(why), "name is not %s", want);
		return bad(rd, label, why);
	}
	if (!is_hex64(f->sha256))
		return bad(rd, label, "sha256 is not 64 lowercase hex digits");
	if (k != SNAP_MEMORY) {
		f->stored = f->size;
		return 0;
	}
	if (get_uint(rd, v, "stored", label, f->size, &f->stored) < 0)
		return -EINVAL;
	return 0;
}

static int read_rank(struct reader *rd, json_t *o, const char *field,
		     struct snap_rank *r)
{
	json_t *files;
	uint64_t n;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return bad(rd, field, "is not an object");
	if (get_uint(rd, o, "rank", field, SNAP_MAX_TASKS - 1, &n) < 0)
		return -EINVAL;
	r->rank = (uint32_t)n;
	if (get_str(rd, o, "node", field, r->node, sizeof(r->node)) < 0 ||
	    get_uint(rd, o, "mem_mb", field, LAUNCH_MEM_MB_MAX, &n) < 0)
		return -EINVAL;
	r->mem_mb = (unsigned long)n;
	if (get_uint(rd, o, "cpus", field, 1024, &n) < 0)
		return -EINVAL;
	r->cpus = (unsigned long)n;
	if (!r->mem_mb || !r->cpus)
		return bad(rd, field, "has no memory or no vCPUs");
	if (read_ident(rd, o, "image", field, &r->image) < 0 ||
	    read_ident(rd, o, "kernel", field, &r->kernel) < 0 ||
	    read_ident(rd, o, "initrd", field, &r->initrd) < 0)
		return -EINVAL;
	if (!r->image.path[0] && !r->kernel.path[0])
		return bad(rd, field, "has neither image nor kernel");
	files = json_object_get(o, "files");
	if (!json_is_object(files))
		return bad(rd, field, "files is missing or not an object");
	r->has_disk = json_object_get(files, "disk") != NULL;
	if (read_file(rd, files, r->rank, SNAP_VMSTATE, field, &r->vmstate) <
		0 ||
	    read_file(rd, files, r->rank, SNAP_MEMORY, field, &r->memory) < 0 ||
	    read_file(rd, files, r->rank, SNAP_FRAMES, field, &r->frames) < 0 ||
	    read_file(rd, files, r->rank, SNAP_AGENT, field, &r->agent) < 0 ||
	    (r->has_disk &&
	     read_file(rd, files, r->rank, SNAP_DISK, field, &r->disk) < 0))
		return -EINVAL;
	if (r->memory.size != (uint64_t)r->mem_mb << 20)
		return bad(rd, field, "files.memory.size is not mem_mb MiB");
	return 0;
}

static int read_header(struct reader *rd, json_t *o, struct snap_manifest *m)
{
	json_t *v;
	uint64_t n;
	char fmt[32];

	if (!json_is_object(o))
		return bad(rd, "the top level", "is not an object");
	if (get_str(rd, o, "format", "", fmt, sizeof(fmt)) < 0)
		return -EINVAL;
	if (strcmp(fmt, SNAP_FORMAT))
		return bad(rd, "format", "is not " SNAP_FORMAT);
	if (get_uint(rd, o, "version", "", 1000, &n) < 0)
		return -EINVAL;
	if (n != SNAP_VERSION) {
		snprintf(rd->err, rd->errlen,
			 "%s: version %" PRIu64 ", this slurm-vm reads "
			 "version %d only",
			 rd->source, n, SNAP_VERSION);
		return -EINVAL;
	}
	if (get_uint(rd, o, "job", "", UINT32_MAX, &n) < 0)
		return -EINVAL;
	m->job = (uint32_t)n;
	if (get_uint(rd, o, "step", "", UINT32_MAX, &n) < 0)
		return -EINVAL;
	m->step = (uint32_t)n;
	if (get_uint(rd, o, "ntasks", "", SNAP_MAX_TASKS, &n) < 0)
		return -EINVAL;
	m->ntasks = (uint32_t)n;
	if (!m->ntasks)
		return bad(rd, "ntasks", "is 0");
	if (get_uint(rd, o, "seq", "", UINT32_MAX, &n) < 0)
		return -EINVAL;
	m->seq = (uint32_t)n;
	if (get_uint(rd, o, "pause_ms", "", INT32_MAX, &n) < 0)
		return -EINVAL;
	m->pause_ms = (long)n;
	if (get_str(rd, o, "cut_time", "", m->cut_time, sizeof(m->cut_time)) <
		0 ||
	    get_str(rd, o, "qemu_version", "", m->qemu_version,
		    sizeof(m->qemu_version)) < 0)
		return -EINVAL;
	v = json_object_get(o, "at");
	if (v &&
	    (!json_is_string(v) || (strcmp(json_string_value(v), "command") &&
				    strcmp(json_string_value(v), "ready") &&
				    strcmp(json_string_value(v), "fail"))))
		return bad(rd, "at",
			   "is not \"command\", \"ready\" or \"fail\"");
	m->at_ready = v && !strcmp(json_string_value(v), "ready");
	m->at_fail = v && !strcmp(json_string_value(v), "fail");
	if (m->at_fail) {
		if (get_uint(rd, o, "failed_rank", "", m->ntasks - 1, &n) < 0)
			return -EINVAL;
		m->failed_rank = (uint32_t)n;
		if (get_uint(rd, o, "failed_code", "", 255, &n) < 0)
			return -EINVAL;
		m->failed_code = (int)n;
	}
	v = json_object_get(o, "ranks");
	if (!json_is_array(v))
		return bad(rd, "ranks", "is missing or not an array");
	if (json_array_size(v) != m->ntasks) {
		snprintf(rd->err, rd->errlen,
			 "%s: ranks has %zu entries for ntasks %" PRIu32
			 "; the snapshot is damaged",
			 rd->source, json_array_size(v), m->ntasks);
		return -EINVAL;
	}
	return 0;
}

int manifest_parse(const char *text, size_t len, int rank_only,
		   const char *source, struct snap_manifest *m, char *err,
		   size_t errlen)
{
	struct reader rd = {source, err, errlen};
	json_error_t je;
	json_t *o, *ranks;
	char field[48];
	uint32_t i;
	int rc = -EINVAL;

	memset(m, 0, sizeof(*m));
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(err, errlen,
			 "%s: not valid JSON (line %d: %s); the snapshot is "
			 "damaged",
			 source, je.line, je.text);
		return -EINVAL;
	}
	if (rank_only) {
		m->ntasks = 1;
		m->ranks = calloc(1, sizeof(*m->ranks));
		if (!m->ranks) {
			rc = -ENOMEM;
			goto out;
		}
		rc = read_rank(&rd, o, "the entry", &m->ranks[0]);
		goto out;
	}
	if (read_header(&rd, o, m) < 0)
		goto out;
	ranks = json_object_get(o, "ranks");
	m->ranks = calloc(m->ntasks, sizeof(*m->ranks));
	if (!m->ranks) {
		snprintf(err, errlen, "%s: out of memory", source);
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->ntasks; i++) {
		json_t *e = json_array_get(ranks, i);
		json_t *rank = json_object_get(e, "rank");

		snprintf(field, sizeof(field), "ranks[%" PRIu32 "]", i);
		/* Before the entry's file names, which depend on it. */
		if (json_is_integer(rank) && json_integer_value(rank) != i) {
			snprintf(err, errlen,
				 "%s: ranks[%" PRIu32
				 "] is rank %" JSON_INTEGER_FORMAT
				 "; entries must be in rank order; the "
				 "snapshot is damaged",
				 source, i, json_integer_value(rank));
			goto out;
		}
		if (read_rank(&rd, e, field, &m->ranks[i]) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(o);
	if (rc < 0)
		manifest_free(m);
	return rc;
}
