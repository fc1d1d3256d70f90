/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values a guest is made of (request.h: image, kernel, initrd,
 * append, memory, vCPUs, disks): each a value for every rank or a rank
 * spec, checked at submit time entry by entry (files, counts, the site's
 * image_dirs) and resolved for one rank on the node.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/parse.h"
#include "spank/policy.h"
#include "spank/rankspec.h"
#include "spank/request.h"
#include "spank/request_int.h"

static const char *const what[REQ_NFIELDS] = {
    [REQ_IMAGE] = "a qcow2 or raw disk image",
    [REQ_KERNEL] = "a kernel image (vmlinux or bzImage)",
    [REQ_INITRD] = "an initrd or initramfs file",
    [REQ_DISK] = "a qcow2 or raw disk image",
};

int request_is_path(enum request_field f)
{
	return f == REQ_IMAGE || f == REQ_KERNEL || f == REQ_INITRD ||
	       f == REQ_DISK;
}

int request_absolute(char *buf, size_t len, const char *cwd, const char *label,
		     char *err, size_t errlen)
{
	char abs[PATH_MAX];

	if (buf[0] == '/')
		return 0;
	if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, buf) >=
		sizeof(abs) ||
	    strlen(abs) >= len) {
		snprintf(err, errlen, "%s: the path is too long", label);
		return -EINVAL;
	}
	strcpy(buf, abs);
	return 0;
}

static int check_file(enum request_field f, const char *path, const char *label,
		      char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s (%s); give the path of %s", label,
			 strerror(errno), path, what[f]);
		return -EINVAL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s: is a directory; give the path of %s inside it",
			 label, what[f]);
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file; give %s", label,
			 what[f]);
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		snprintf(err, errlen,
			 "%s: not readable by you (%s); fix its permissions "
			 "or use a copy you can read",
			 label, strerror(errno));
		return -EINVAL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen,
			 "%s: the file is empty; give %s (the test guest "
			 "builder slurm-vm-mkguest makes one)",
			 label, what[f]);
		return -EINVAL;
	}
	return 0;
}

static int check_count(const char *v, unsigned long max, const char *unit,
		       const char *option, const char *eg, const char *label,
		       unsigned long *out, char *err, size_t errlen)
{
	if (parse_count(v, max, out) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s: not a whole number of %s from 1 to %lu; give e.g. %s=%s",
		 label, unit, max, option, eg);
	return -EINVAL;
}

int request_site_default(const struct site_config *site, enum request_field f,
			 const char *path)
{
	return (f == REQ_KERNEL && !strcmp(path, site->default_kernel)) ||
	       (f == REQ_INITRD && !strcmp(path, site->default_initrd));
}

/* A path value: made absolute, checked, held to image_dirs. */
static int check_path(enum request_field f, char *buf, size_t len,
		      const struct site_config *site, const char *cwd,
		      const char *label, char *err, size_t errlen)
{
	size_t n = strlen(buf);
	int ro = f == REQ_DISK && n > 3 && !strcmp(buf + n - 3, ",ro");
	char real[PATH_MAX];
	int rc = -EINVAL;

	if (ro)
		buf[n - 3] = 0;
	if (!buf[0]) {
		snprintf(err, errlen,
			 "%s: the path is empty; give the path "
			 "of %s",
			 label, what[f]);
		goto out;
	}
	if (cwd &&
	    (request_absolute(buf, len - 3, cwd, label, err, errlen) < 0 ||
	     check_file(f, buf, label, err, errlen) < 0))
		goto out;
	if (!request_site_default(site, f, buf)) {
		if (policy_path(site, buf, label, err, errlen) < 0)
			goto out;
		/* What the guest gets is what was checked: no later swap
		 * of a symbolic link along the path can change it. */
		if (site->image_dirs[0] && realpath(buf, real) &&
		    strlen(real) + 3 < len)
			strcpy(buf, real);
	}
	rc = 0;
out:
	if (ro)
		strcat(buf, ",ro");
	return rc;
}

/*
 * One value of a per-guest field (a plain value, or one entry of a rank
 * spec) in buf, which it may rewrite. cwd is NULL for a policy-only check.
 */
static int check_value(enum request_field f, char *buf, size_t len,
		       const struct site_config *site, const char *cwd,
		       const char *label, char *err, size_t errlen)
{
	unsigned long v;

	if (request_is_path(f))
		return check_path(f, buf, len, site, cwd, label, err, errlen);
	if (f == REQ_MEM) {
		if (check_count(buf, LAUNCH_MEM_MB_MAX, "megabytes", "--vm-mem",
				"2048", label, &v, err, errlen) < 0)
			return -EINVAL;
		return policy_mem(site, v, label, err, errlen);
	}
	if (f == REQ_CPUS) {
		if (check_count(buf, LAUNCH_CPUS_MAX, "vCPUs", "--vm-cpus", "2",
				label, &v, err, errlen) < 0)
			return -EINVAL;
		return policy_cpus(site, v, label, err, errlen);
	}
	return 0;
}

/*
 * Checks one line of a per-guest field, entry by entry, and writes it
 * again (with absolute paths) to out.
 */
static int check_line(const struct request *r, enum request_field f,
		      const char *line, FILE *out,
		      const struct site_config *site, const char *cwd,
		      char *err, size_t errlen)
{
	char buf[PATH_MAX + 8], label[PATH_MAX + 160], range[48], why[512];
	struct rankspec rs;
	size_t i;

	if (rankspec_parse(line, &rs, why, sizeof(why)) < 0) {
		snprintf(err, errlen,
			 "%s=%s: %s (a rank spec reads 0:VALUE,1-3:VALUE,4-:"
			 "VALUE)",
			 request_named(r, f), line, why);
		return -EINVAL;
	}
	for (i = 0; i < rs.n; i++) {
		const struct rankspec_entry *e = &rs.e[i];

		if (e->len >= sizeof(buf) - 8) {
			snprintf(err, errlen, "%s: a value is too long",
				 request_named(r, f));
			return -EINVAL;
		}
		memcpy(buf, e->value, e->len);
		buf[e->len] = 0;
		rankspec_range(e, range, sizeof(range));
		if (rs.plain)
			snprintf(label, sizeof(label), "%s=%s",
				 request_named(r, f), buf);
		else
			snprintf(label, sizeof(label), "%s (rank%s %s: %s)",
				 request_named(r, f),
				 e->first == e->last ? "" : "s", range, buf);
		if (check_value(f, buf, sizeof(buf), site, cwd, label, err,
				errlen) < 0)
			return -EINVAL;
		if (rs.plain)
			fprintf(out, "%s", buf);
		else
			fprintf(out, "%s%s:%s", i ? "," : "", range, buf);
	}
	return 0;
}

/* True when the line at line (of len bytes) occurs before it in all. */
static int seen_before(const char *all, const char *line, size_t len)
{
	const char *p;

	for (p = all; p < line; p += strcspn(p, "\n") + 1)
		if (strcspn(p, "\n") == len && !strncmp(p, line, len))
			return 1;
	return 0;
}

/*
 * Checks every value of a per-guest field and replaces it with its checked
 * form: paths absolute (or resolved), disks given twice once.
 */
int request_check_field(struct request *r, enum request_field f,
			const struct site_config *site, const char *cwd,
			char *err, size_t errlen)
{
	char *text = NULL, *line = NULL, *p;
	size_t size = 0, cap = 0;
	FILE *out;
	int rc = 0;

	if (!r->value[f])
		return 0;
	out = open_memstream(&text, &size);
	if (!out)
		return -ENOMEM;
	for (p = r->value[f]; rc == 0;) {
		size_t n = f == REQ_DISK ? strcspn(p, "\n") : strlen(p);

		if (n >= cap) {
			char *bigger = realloc(line, n + 1);

			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			line = bigger;
			cap = n + 1;
		}
		memcpy(line, p, n);
		line[n] = 0;
		if (!seen_before(r->value[f], p, n)) {
			if (p != r->value[f] && ftell(out) > 0)
				fputc('\n', out);
			rc =
			    check_line(r, f, line, out, site, cwd, err, errlen);
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	free(line);
	if (fclose(out) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0) {
		free(r->value[f]);
		r->value[f] = text;
	} else {
		free(text);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

/* The value of one line for rank, malloc'd into *out (NULL: none). */
static int resolve_line(const char *line, unsigned long rank, char **out,
			char *err, size_t errlen)
{
	struct rankspec rs;
	const struct rankspec_entry *e;

	*out = NULL;
	if (rankspec_parse(line, &rs, err, errlen) < 0)
		return -EINVAL;
	e = rankspec_find(&rs, rank);
	if (e && !(*out = strndup(e->value, e->len)))
		return -ENOMEM;
	return 0;
}

static int resolve_field(struct request *r, enum request_field f,
			 unsigned long rank, char *err, size_t errlen)
{
	char *copy = strdup(r->value[f]), *line, *save = NULL, *v;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	int rc = 0;

	if (!copy || !out) {
		free(copy);
		if (out)
			fclose(out);
		free(text);
		return -ENOMEM;
	}
	/* Only --vm-disk has lines; other values hold no newline. */
	for (line = strtok_r(copy, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		rc = resolve_line(line, rank, &v, err, errlen);
		if (v)
			fprintf(out, "%s%s", ftell(out) > 0 ? "\n" : "", v);
		free(v);
	}
	free(copy);
	if (fclose(out) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		free(text);
		return rc;
	}
	free(r->value[f]);
	r->value[f] = NULL;
	if (text[0])
		r->value[f] = text;
	else
		free(text);
	return 0;
}

int request_resolve(struct request *r, unsigned long rank, char *err,
		    size_t errlen)
{
	enum request_field f;
	char why[512];
	int rc;

	for (f = 0; f < REQ_NFIELDS; f++) {
		if (!request_per_rank(f) || !r->value[f])
			continue;
		rc = resolve_field(r, f, rank, why, sizeof(why));
		if (rc == -EINVAL)
			snprintf(err, errlen, "%s=%s: %s", request_named(r, f),
				 r->value[f], why);
		else if (rc < 0)
			snprintf(err, errlen, "out of memory");
		if (rc < 0)
			return rc;
	}
	return 0;
}
