/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A request's --vm-snapshot and --vm-restore: the snapshot options checked,
 * and the snapshot a restore names held to the step and the site's policy,
 * before any job exists (request.h). Reading the snapshot itself is
 * request_probe_snapshot()'s (request_int.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launcher/common/parse.h"
#include "spank/request.h"
#include "spank/request_int.h"

/* --vm-snapshot-signal: a signal the step may use, stored as a number. */
static int check_signal(struct request *r, char *err, size_t errlen)
{
	const char *v = r->value[REQ_SNAPSHOT_SIGNAL];
	char num[16];
	int sig, rc;

	rc = parse_signal(v, &sig);
	if (rc == -EPERM) {
		snprintf(err, errlen,
			 "%s=%s: SIG%s is Slurm's or the launcher's own (to "
			 "end, stop, resume or reap the step) or reports a "
			 "fault; choose USR1 (the default), USR2 or another "
			 "free signal",
			 request_named(r, REQ_SNAPSHOT_SIGNAL), v,
			 signal_name(sig) ? signal_name(sig) : "?");
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s=%s: not a signal; give a name such as USR1 (the "
			 "default) or USR2, or a number",
			 request_named(r, REQ_SNAPSHOT_SIGNAL), v);
		return -EINVAL;
	}
	snprintf(num, sizeof(num), "%d", sig);
	return request_set(r, REQ_SNAPSHOT_SIGNAL, num,
			   r->from[REQ_SNAPSHOT_SIGNAL]) < 0
		   ? -ENOMEM
		   : 0;
}

/* One word among two. */
static int check_word(const struct request *r, enum request_field f,
		      const char *a, const char *b, const char *choices,
		      char *err, size_t errlen)
{
	if (!strcmp(r->value[f], a) || !strcmp(r->value[f], b))
		return 0;
	snprintf(err, errlen, "%s=%s: give %s", request_named(r, f),
		 r->value[f], choices);
	return -EINVAL;
}

/* --vm-snapshot-at=ready beside what it cannot work with (fail works
 * beside --vm-restore: a test restored from a golden snapshot that fails
 * leaves its failure snapshot). */
static int check_at(const struct request *r, char *err, size_t errlen)
{
	const char *at = r->value[REQ_SNAPSHOT_AT];

	if (at && !strcmp(at, "ready") && r->value[REQ_RESTORE]) {
		snprintf(err, errlen,
			 "%s=ready saves guests as they boot, and %s boots "
			 "none: restore the ready snapshot without %s, or "
			 "save at signal or end",
			 request_named(r, REQ_SNAPSHOT_AT),
			 request_named(r, REQ_RESTORE),
			 request_named(r, REQ_SNAPSHOT_AT));
		return -EINVAL;
	}
	if (at && !strcmp(at, "fail") && r->value[REQ_EXEC] &&
	    !strcmp(r->value[REQ_EXEC], "host")) {
		snprintf(err, errlen,
			 "%s=fail saves the guests when a command in one "
			 "fails; with %s=host the command runs on the node: "
			 "drop %s",
			 request_named(r, REQ_SNAPSHOT_AT),
			 request_named(r, REQ_EXEC),
			 request_named(r, REQ_SNAPSHOT_AT));
		return -EINVAL;
	}
	return 0;
}

int request_check_snapshot(struct request *r, const char *cwd, char *err,
			   size_t errlen)
{
	static const enum request_field needs_dir[] = {
	    REQ_SNAPSHOT_SIGNAL, REQ_SNAPSHOT_THEN, REQ_SNAPSHOT_AT};
	size_t i;

	for (i = 0; i < sizeof(needs_dir) / sizeof(needs_dir[0]); i++)
		if (r->value[needs_dir[i]] && !r->value[REQ_SNAPSHOT]) {
			snprintf(err, errlen,
				 "%s refines --vm-snapshot: give "
				 "--vm-snapshot=DIR too (the directory the "
				 "snapshots go to)",
				 request_named(r, needs_dir[i]));
			return -EINVAL;
		}
	if (!r->value[REQ_SNAPSHOT])
		return 0;
	if (r->value[REQ_FABRIC] && !strcmp(r->value[REQ_FABRIC], "verbs")) {
		snprintf(err, errlen,
			 "%s: snapshots need --vm-fabric=auto or tcp (the cut "
			 "is not made over verbs links)",
			 request_named(r, REQ_SNAPSHOT));
		return -EINVAL;
	}
	if (r->value[REQ_DISK]) {
		snprintf(err, errlen,
			 "%s: the drives of --vm-disk are not saved in a "
			 "snapshot, so it could not be restored: drop "
			 "--vm-disk, or keep that data on the image (whose "
			 "overlay is saved)",
			 request_named(r, REQ_SNAPSHOT));
		return -EINVAL;
	}
	if (request_check_dir(
		r, REQ_SNAPSHOT, cwd,
		"give an existing directory (on storage every node of "
		"the job and the restoring job can reach) for the "
		"snapshots",
		err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_SNAPSHOT_SIGNAL] && check_signal(r, err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_SNAPSHOT_THEN] &&
	    check_word(r, REQ_SNAPSHOT_THEN, "continue", "stop",
		       "continue (the guests go on after a save, the default) "
		       "or stop (the step ends after a save)",
		       err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_SNAPSHOT_AT] &&
	    strcmp(r->value[REQ_SNAPSHOT_AT], "ready") &&
	    strcmp(r->value[REQ_SNAPSHOT_AT], "fail") &&
	    check_word(r, REQ_SNAPSHOT_AT, "signal", "end",
		       "signal (save when the step gets the snapshot signal, "
		       "the default), end (also when the step's commands "
		       "end), ready (also once every guest is booted, "
		       "before the command) or fail (also when the first "
		       "rank's command fails)",
		       err, errlen) < 0)
		return -EINVAL;
	return check_at(r, err, errlen);
}

/* The options a snapshot fixes, refused beside --vm-restore. */
static const enum request_field fixed_by_snapshot[] = {
    REQ_IMAGE, REQ_KERNEL, REQ_INITRD,	     REQ_APPEND,
    REQ_MEM,   REQ_CPUS,   REQ_DISK_PERSIST, REQ_DISK,
};

/*
 * --vm-restore: the snapshot it names, read and checked; cwd is NULL on
 * the node (the value is absolute already).
 */
int request_check_restore_in(struct request *r, const struct site_config *site,
			     const char *cwd, unsigned long ntasks, char *err,
			     size_t errlen)
{
	char given[PATH_MAX], snap[PATH_MAX], why[4400];
	struct stat st;
	size_t i;
	int rc;

	for (i = 0;
	     i < sizeof(fixed_by_snapshot) / sizeof(fixed_by_snapshot[0]); i++)
		if (r->value[fixed_by_snapshot[i]]) {
			snprintf(err, errlen,
				 "%s comes from the snapshot with %s: a "
				 "restored guest keeps what it booted, its "
				 "memory and vCPUs; drop %s",
				 request_named(r, fixed_by_snapshot[i]),
				 request_named(r, REQ_RESTORE),
				 request_named(r, fixed_by_snapshot[i]));
			return -EINVAL;
		}
	if (strlen(r->value[REQ_RESTORE]) >= sizeof(given)) {
		snprintf(err, errlen, "%s: the path is too long",
			 request_named(r, REQ_RESTORE));
		return -EINVAL;
	}
	strcpy(given, r->value[REQ_RESTORE]);
	snprintf(why, sizeof(why), "%s=%s", request_named(r, REQ_RESTORE),
		 given);
	if (!given[0] || (cwd && request_absolute(given, sizeof(given), cwd,
						  why, err, errlen) < 0))
		goto bad_dir;
	if (given[0] != '/' || stat(given, &st) < 0 || !S_ISDIR(st.st_mode))
		goto bad_dir;
	rc = request_probe_snapshot(r, site, given, snap, sizeof(snap),
				    &r->restore_ntasks, err, errlen);
	if (rc < 0 || request_check_tasks(r, ntasks, err, errlen) < 0)
		return -EINVAL;
	free(r->restore_dir);
	r->restore_dir = strdup(given);
	if (!r->restore_dir ||
	    request_set(r, REQ_RESTORE, snap, r->from[REQ_RESTORE]) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
bad_dir:
	snprintf(err, errlen,
		 "%s=%s: not a directory; give the directory a step saved "
		 "into with --vm-snapshot=DIR, or one snapshot in it",
		 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE]);
	return -EINVAL;
}

int request_check_restore(struct request *r, const struct site_config *site,
			  unsigned long ntasks, char *err, size_t errlen)
{
	if (!r->value[REQ_RESTORE])
		return 0;
	return request_check_restore_in(r, site, NULL, ntasks, err, errlen);
}

int request_check_tasks(const struct request *r, unsigned long ntasks,
			char *err, size_t errlen)
{
	if (!r->value[REQ_RESTORE] || !ntasks || !r->restore_ntasks ||
	    ntasks == r->restore_ntasks)
		return 0;
	snprintf(err, errlen,
		 "%s=%s: the snapshot has %lu task%s, this step has %lu; run "
		 "with -n%lu",
		 request_named(r, REQ_RESTORE),
		 r->restore_dir ? r->restore_dir : r->value[REQ_RESTORE],
		 r->restore_ntasks, r->restore_ntasks == 1 ? "" : "s", ntasks,
		 r->restore_ntasks);
	return -EINVAL;
}
