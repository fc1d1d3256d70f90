/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-mount: the host directories each guest mounts (mounts.h has the
 * syntax and the canonical form the launcher reads).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank/mounts.h"
#include "spank/policy.h"
#include "spank/request_int.h"

enum origin { FROM_USER, FROM_SITE, FROM_CWD };

struct mount_list {
	struct mount_entry e[MOUNT_MAX];
	enum origin origin[MOUNT_MAX];
	char label[MOUNT_MAX][PATH_MAX + 64];
	char given[MOUNT_MAX][PATH_MAX]; /* SRC made absolute, unresolved */
	size_t n;
	int none; /* "none": no mount of the directory srun ran in */
};

/*
 * One entry: the host directory made absolute (cwd; NULL on the node,
 * where it is absolute already), checked and resolved; the guest path
 * checked.
 */
static int check_entry(struct mount_list *l, size_t i, const char *cwd,
		       char *err, size_t errlen)
{
	struct mount_entry *m = &l->e[i];
	const char *label = l->label[i];
	char real[PATH_MAX], why[PATH_MAX + 128];
	struct stat st;
	int missing;

	if (m->src[0] != '/' && !cwd) {
		snprintf(err, errlen, "%s: the host path is not absolute",
			 label);
		return -EINVAL;
	}
	if (cwd &&
	    request_absolute(m->src, sizeof(m->src), cwd, label, err, errlen))
		return -EINVAL;
	if (!m->dst[0])
		strcpy(m->dst, m->src);
	if (mount_guest_path(m->dst, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", label, why);
		return -EINVAL;
	}
	missing = stat(m->src, &st) < 0;
	if (missing || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s: %s is %s; give an existing directory to mount",
			 label, m->src,
			 missing ? "missing" : "not a directory");
		return -EINVAL;
	}
	/* srun runs as the user: what they cannot read, QEMU cannot. */
	if (cwd && access(m->src, R_OK | X_OK) < 0) {
		snprintf(err, errlen,
			 "%s: %s is not readable by you (%s); fix its "
			 "permissions or mount another directory",
			 label, m->src, strerror(errno));
		return -EINVAL;
	}
	strcpy(l->given[i], m->src);
	/* QEMU gets what was checked, whatever links change later. */
	if (!realpath(m->src, real)) {
		snprintf(err, errlen, "%s: cannot be resolved (%s)", label,
			 strerror(errno));
		return -EINVAL;
	}
	if (strchr(real, ':') || strchr(real, ',')) {
		snprintf(err, errlen,
			 "%s: %s holds ':' or ',', which the mount syntax "
			 "cannot carry; mount a directory above or below it",
			 label, real);
		return -EINVAL;
	}
	strcpy(m->src, real);
	return 0;
}

/* Adds the comma-separated entries of text (a list of lines). */
static int add_entries(struct mount_list *l, const char *text,
		       enum origin origin, const char *named, char *err,
		       size_t errlen)
{
	const char *p = text;
	char why[256];

	while (*p) {
		size_t n = strcspn(p, ",\n");

		if (n == 4 && !strncmp(p, "none", 4)) {
			l->none = 1;
		} else if (n) {
			if (l->n == MOUNT_MAX) {
				snprintf(err, errlen,
					 "%s: more than %d mounts; mount a "
					 "common parent directory instead",
					 named, MOUNT_MAX);
				return -EINVAL;
			}
			snprintf(l->label[l->n], sizeof(l->label[0]), "%s=%.*s",
				 named, (int)n, p);
			if (n >= PATH_MAX) {
				snprintf(err, errlen, "%s: too long", named);
				return -EINVAL;
			}
			{
				char entry[PATH_MAX];

				memcpy(entry, p, n);
				entry[n] = 0;
				if (mount_parse(entry, &l->e[l->n], why,
						sizeof(why)) < 0) {
					snprintf(err, errlen, "%s: %s",
						 l->label[l->n], why);
					return -EINVAL;
				}
			}
			l->origin[l->n++] = origin;
		}
		p += n + (p[n] != 0);
	}
	return 0;
}

/*
 * Drops an entry that repeats an earlier one; refuses two different ones
 * on one guest path.
 */
static int dedup(struct mount_list *l, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < l->n; i++)
		for (j = 0; j < i; j++) {
			if (strcmp(l->e[i].dst, l->e[j].dst))
				continue;
			if (!strcmp(l->e[i].src, l->e[j].src) &&
			    l->e[i].ro == l->e[j].ro) {
				memmove(&l->e[i], &l->e[i + 1],
					(l->n - i - 1) * sizeof(l->e[0]));
				memmove(&l->origin[i], &l->origin[i + 1],
					(l->n - i - 1) * sizeof(l->origin[0]));
				memmove(l->label[i], l->label[i + 1],
					(l->n - i - 1) * sizeof(l->label[0]));
				memmove(l->given[i], l->given[i + 1],
					(l->n - i - 1) * sizeof(l->given[0]));
				l->n--;
				i--;
				break;
			}
			snprintf(err, errlen,
				 "%s: the guest path %s is taken by %s; give "
				 "each mount its own guest path (SRC:DST)",
				 l->label[i], l->e[i].dst, l->label[j]);
			return -EINVAL;
		}
	return 0;
}

/*
 * The default: the directory srun or sbatch ran in, at the same path,
 * unless a mount checked already takes that guest path.
 */
static int add_cwd(struct mount_list *l, const char *cwd, char *err,
		   size_t errlen)
{
	char dst[PATH_MAX], why[256];
	size_t i;

	if (strlen(cwd) >= sizeof(dst))
		return 0;
	strcpy(dst, cwd);
	/* Run from / or a system directory: nothing sensible to mount. */
	if (mount_guest_path(dst, why, sizeof(why)) < 0)
		return 0;
	for (i = 0; i < l->n; i++) /* one chosen for that path wins */
		if (!strcmp(l->e[i].dst, dst))
			return 0;
	if (l->n == MOUNT_MAX) {
		snprintf(err, errlen,
			 "more than %d mounts with the directory you run "
			 "in; add --vm-mount=none or mount fewer",
			 MOUNT_MAX);
		return -EINVAL;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	strcpy(l->e[l->n].src, cwd);
	snprintf(l->label[l->n], sizeof(l->label[0]),
		 "the directory you run in (%s, mounted by default; "
		 "--vm-mount=none turns that off)",
		 cwd);
	l->origin[l->n++] = FROM_CWD;
	return 0;
}

static int by_dst(const void *a, const void *b)
{
	return strcmp(((const struct mount_entry *)a)->dst,
		      ((const struct mount_entry *)b)->dst);
}

/*
 * Writes the canonical list, sorted by guest path: a directory comes
 * before what lies below it, so the agent, mounting in order, never hides
 * one mount under another.
 */
static int write_list(struct request *r, struct mount_list *l)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *out;
	int rc = 0;

	if (!l->none && !l->n) {
		free(r->value[REQ_MOUNT]);
		r->value[REQ_MOUNT] = NULL;
		return 0;
	}
	qsort(l->e, l->n, sizeof(l->e[0]), by_dst);
	out = open_memstream(&text, &size);
	if (!out)
		return -ENOMEM;
	if (l->none)
		fprintf(out, "none");
	for (i = 0; i < l->n; i++)
		fprintf(out, "%s%s:%s:%s", l->none || i ? "\n" : "",
			l->e[i].src, l->e[i].dst, l->e[i].ro ? "ro" : "rw");
	if (fclose(out) != 0)
		rc = -ENOMEM;
	if (!rc)
		rc = request_set(r, REQ_MOUNT, text, r->from[REQ_MOUNT]);
	free(text);
	return rc;
}

/* Mounts make no sense (or cannot work) with some modes. */
static const char *no_mounts_with(const struct request *r)
{
	const char *exec = r->value[REQ_EXEC];

	if (exec && !strcmp(exec, "endpoint"))
		return "--vm-exec=endpoint runs no guest to mount them in";
	if (exec && !strcmp(exec, "host"))
		return "--vm-exec=host runs the command on the node, where "
		       "the directories are already";
	if (r->value[REQ_SNAPSHOT] || r->value[REQ_RESTORE])
		return "QEMU cannot save or restore a guest with a "
		       "directory of the host mounted (the files are the "
		       "host's, not the guest's); drop --vm-mount, or the "
		       "snapshot options";
	return NULL;
}

int request_check_mounts(struct request *r, const struct site_config *site,
			 const char *cwd, char *err, size_t errlen)
{
	struct mount_list *l = calloc(1, sizeof(*l));
	const char *why = no_mounts_with(r);
	size_t i;
	int rc = -EINVAL;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* The defaults apply where mounts can: else the job runs as
	 * before, without them. The site's come first: a user's mount on
	 * one of their guest paths is the one refused. */
	if (!why && add_entries(l, site->mounts, FROM_SITE,
				"plugstack.conf mounts", err, errlen) < 0)
		goto out;
	if (r->value[REQ_MOUNT] &&
	    add_entries(l, r->value[REQ_MOUNT], FROM_USER,
			request_named(r, REQ_MOUNT), err, errlen) < 0)
		goto out;
	/* Refused when asked for with the option; a list in the variable
	 * alone is dropped: it is how sbatch hands its mounts (its defaults
	 * too) to the job's steps, one of which may be such a step. */
	if (why && l->n && r->from[REQ_MOUNT])
		l->n = 0;
	if (why && l->n) {
		snprintf(err, errlen, "%s: %s", l->label[0], why);
		goto out;
	}
	for (i = 0; i < l->n; i++)
		if (check_entry(l, i, cwd, err, errlen) < 0)
			goto out;
	if (!why && cwd && site->mount_cwd && !l->none) {
		if (add_cwd(l, cwd, err, errlen) < 0)
			goto out;
		if (i < l->n && check_entry(l, i, cwd, err, errlen) < 0)
			goto out;
	}
	if (dedup(l, err, errlen) < 0)
		goto out;
	/* After dedup: a site mount carried in a job's list (sbatch to its
	 * steps, srun to the node) is still the site's. The path as given
	 * (for the message) and the one QEMU gets are both held. */
	for (i = 0; i < l->n; i++)
		if (l->origin[i] != FROM_SITE &&
		    (policy_mount(site, l->given[i], l->label[i], err, errlen) <
			 0 ||
		     policy_mount(site, l->e[i].src, l->label[i], err, errlen) <
			 0))
			goto out;
	rc = write_list(r, l);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
out:
	free(l);
	return rc;
}
