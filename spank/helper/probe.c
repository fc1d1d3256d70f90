/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The snapshot a --vm-restore names, read and held to the site's policy:
 * request_probe_snapshot() with the manifest in hand. Linked into the
 * helper program and the unit tests, never into the plugin, which runs
 * the helper for it (helper_run.c) and so links no JSON or crypto library.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "launcher/snapdir/manifest.h"
#include "spank/policy.h"
#include "spank/request.h"
#include "spank/request_int.h"
#include "launcher/snapdir/snapdir.h"

/* One file a rank booted from: unchanged, and within image_dirs. */
static int check_ident(const struct request *r, const struct site_config *site,
		       const struct snap_rank *k, const struct snap_ident *id,
		       enum request_field f, char *err, size_t errlen)
{
	char why[4400], label[4200];
	const char *kind = f == REQ_IMAGE    ? "image"
			   : f == REQ_KERNEL ? "kernel"
					     : "initrd";

	if (!id->path[0])
		return 0;
	if (snap_ident_check(id, kind, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s=%s: rank %" PRIu32 ": %s",
			 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE],
			 k->rank, why);
		return -EINVAL;
	}
	if (request_site_default(site, f, id->path))
		return 0;
	snprintf(label, sizeof(label), "%s=%s (rank %" PRIu32 "'s %s %s)",
		 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE], k->rank,
		 kind, id->path);
	return policy_path(site, id->path, label, err, errlen);
}

/* Every rank of a snapshot, against the files and the site's policy. */
static int check_ranks(const struct request *r, const struct site_config *site,
		       const struct snap_manifest *m, char *err, size_t errlen)
{
	char label[4200];
	uint32_t i;

	for (i = 0; i < m->ntasks; i++) {
		const struct snap_rank *k = &m->ranks[i];

		if (check_ident(r, site, k, &k->image, REQ_IMAGE, err, errlen) <
			0 ||
		    check_ident(r, site, k, &k->kernel, REQ_KERNEL, err,
				errlen) < 0 ||
		    check_ident(r, site, k, &k->initrd, REQ_INITRD, err,
				errlen) < 0)
			return -EINVAL;
		snprintf(
		    label, sizeof(label), "%s=%s (rank %" PRIu32 "'s memory)",
		    request_named(r, REQ_RESTORE), r->value[REQ_RESTORE], i);
		if (policy_mem(site, k->mem_mb, label, err, errlen) < 0)
			return -EINVAL;
		snprintf(
		    label, sizeof(label), "%s=%s (rank %" PRIu32 "'s vCPUs)",
		    request_named(r, REQ_RESTORE), r->value[REQ_RESTORE], i);
		if (policy_cpus(site, k->cpus, label, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

int request_probe_snapshot(const struct request *r,
			   const struct site_config *site, const char *given,
			   char *snap, size_t snaplen, unsigned long *ntasks,
			   char *err, size_t errlen)
{
	struct snap_manifest m;
	char why[4400];
	int rc;

	if (snap_resolve(given, snap, snaplen, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s=%s: %s",
			 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE],
			 why);
		return -EINVAL;
	}
	rc = manifest_read(snap, &m, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s=%s: %s",
			 request_named(r, REQ_RESTORE), r->value[REQ_RESTORE],
			 why);
		return -EINVAL;
	}
	rc = check_ranks(r, site, &m, err, errlen);
	*ntasks = m.ntasks;
	manifest_free(&m);
	return rc;
}
