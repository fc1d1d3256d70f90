/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin in the job epilog (root, on every node of the job, after its
 * steps).
 */
#include "config.h"

#include <slurm/spank.h>

#include "spank/epilog.h"
#include "spank/helper_run.h"
#include "spank/site.h"

/* One line of what the epilog did with the job's snapshots. */
static void log_epilog(void *arg, const char *line)
{
	slurm_info("vm: job %u epilog: %s", *(uint32_t *)arg, line);
}

/*
 * The job epilog (root, on every node of the job, after its steps). Root
 * does nothing here but start the helper as the job's user: it kills any
 * QEMU of the job still running, finishes the job's snapshots in each
 * directory its launchers recorded on this node (the step is gone by now)
 * and removes every run directory the job's launchers left, whatever
 * killed them; each thing it did goes to slurmd's log.
 */
int epilog_run(spank_t sp, struct site_config *site, int ac, char **av)
{
	char err[512];
	uint32_t job;
	uid_t uid;
	gid_t gid;

	if (site_parse(ac, av, site, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return 0;
	/* Its failure is logged; the job's end must not wait on it. */
	helper_epilog(site, job, uid, gid, log_epilog, &job);
	return 0;
}
