/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin in slurmstepd (SPANK remote context), per task: the hand-off
 * of a VM task to the launcher just before Slurm execs it, and the
 * clean-up when it ends. Runs as root: it parses the job's environment and
 * sets variables, and opens no file a user named (the snapshot a restore
 * names is read by the helper, as the job's user).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "spank/helper_run.h"
#include "launcher/common/launch_env.h"
#include "spank/node.h"
#include "spank/request.h"
#include "spank/site.h"
#include "spank/task_mem.h"

static int job_has(spank_t sp, const char *name)
{
	char buf[8];
	spank_err_t e = spank_getenv(sp, name, buf, sizeof(buf));

	return e == ESPANK_SUCCESS || e == ESPANK_NOSPACE;
}

/* True for the steps that are not the user's tasks. */
static int is_system_step(spank_t sp)
{
	uint32_t step;

	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return 1;
	return step == SLURM_BATCH_SCRIPT || step == SLURM_EXTERN_CONT ||
	       step == SLURM_INTERACTIVE_STEP;
}

int node_is_vm_task(spank_t sp)
{
	return !is_system_step(sp) &&
	       (job_has(sp, ENV_IMAGE) || job_has(sp, ENV_KERNEL) ||
		job_has(sp, ENV_EXEC) || job_has(sp, ENV_RESTORE));
}

static int set_env(spank_t sp, const char *name, const char *value,
		   int overwrite)
{
	spank_err_t e = spank_setenv(sp, name, value, overwrite);

	if (e == ESPANK_SUCCESS || (e == ESPANK_ENV_EXISTS && !overwrite))
		return 0;
	slurm_error("vm: cannot set %s in the task: %s", name,
		    spank_strerror(e));
	return -1;
}

/* A variable of the job's environment, malloc'd; NULL when unset. */
static char *job_getenv(spank_t sp, const char *name)
{
	size_t len;

	for (len = 4096; len <= (1 << 22); len *= 4) {
		char *buf = malloc(len);
		spank_err_t e;

		if (!buf)
			return NULL;
		e = spank_getenv(sp, name, buf, len);
		if (e == ESPANK_SUCCESS)
			return buf;
		free(buf);
		if (e != ESPANK_NOSPACE)
			return NULL;
	}
	return NULL;
}

/* The request as the job's environment carries it (srun validated it). */
static int request_from_job(spank_t sp, struct request *r)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		char *v = job_getenv(sp, request_env(f));
		int rc = v ? request_set(r, f, v, request_env(f)) : 0;

		free(v);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * The guest memory for this task: its share of the step's memory on this
 * node by default, and never more (task_mem.c).
 */
static int choose_mem(spank_t sp, const struct site_config *site,
		      const struct request *r, uint32_t rank)
{
	uint64_t step_mb = 0, job_mb = 0;
	uint32_t tasks = 1;
	struct task_mem t;
	unsigned long mb;
	char err[512], num[32];

	/* Items a Slurm without them does not fill stay 0: no limit. */
	spank_get_item(sp, S_STEP_ALLOC_MEM, &step_mb);
	spank_get_item(sp, S_JOB_ALLOC_MEM, &job_mb);
	spank_get_item(sp, S_JOB_LOCAL_TASK_COUNT, &tasks);
	t.step_mb = step_mb;
	t.job_mb = job_mb;
	t.tasks = tasks;
	t.default_mb = site->default_mem;
	t.max_mb = site->max_mem;
	if (task_mem_choose(&t, r->value[REQ_MEM], &mb, err, sizeof(err)) < 0) {
		log_clean(err);
		slurm_error("vm: rank %u: %s", rank, err);
		return -1;
	}
	snprintf(num, sizeof(num), "%lu", mb);
	return set_env(sp, ENV_MEM, num, 1);
}

/*
 * A task that restores: the snapshot checked again where it runs (the
 * files the guests booted from, the site's policy, the step's task count)
 * before the launcher starts, and pinned for the launcher.
 */
static int restore_task(spank_t sp, const struct site_config *site,
			struct request *r, uint32_t rank)
{
	uint32_t ntasks = 0;
	char err[1536];

	uid_t uid;
	gid_t gid;

	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks) !=
		ESPANK_SUCCESS) {
		slurm_error("vm: rank %u: cannot read the step's task count",
			    rank);
		return -1;
	}
	/* The snapshot is read by the helper, as the job's user. */
	helper_probe_as(uid, gid);
	if (request_check_restore(r, site, ntasks, err, sizeof(err)) < 0) {
		log_clean(err);
		slurm_error("vm: rank %u: %s", rank, err);
		return -1;
	}
	return set_env(sp, ENV_RESTORE, r->value[REQ_RESTORE], 1);
}

/*
 * Resolves the per-guest options for this task's rank, holds them to the
 * site's policy once more (a job's environment can be set without srun's
 * check, e.g. with srun --export) and writes them back for the launcher,
 * which sees plain values only.
 */
static int resolve_task(spank_t sp, const struct site_config *site)
{
	struct request r = {0};
	char err[1536];
	uint32_t rank;
	int f, rc = -1;

	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS) {
		slurm_error("vm: cannot read the task's rank");
		return -1;
	}
	if (request_from_job(sp, &r) < 0) {
		slurm_error("vm: out of memory");
		goto out;
	}
	if (request_resolve(&r, rank, err, sizeof(err)) < 0 ||
	    request_check_policy(&r, site, err, sizeof(err)) < 0) {
		log_clean(err); /* a user's bytes, bound for slurmd's log */
		slurm_error("vm: rank %u: %s", rank, err);
		goto out;
	}
	if (r.value[REQ_RESTORE]) {
		rc = restore_task(sp, site, &r, rank);
		goto out;
	}
	if (!request_is_endpoint(&r) && !r.value[REQ_IMAGE] &&
	    !r.value[REQ_KERNEL]) {
		slurm_error("vm: rank %u: nothing to boot: no entry of "
			    "--vm-image or --vm-kernel holds this rank; add "
			    "one, or an open range such as 1-:PATH",
			    rank);
		goto out;
	}
	if (r.value[REQ_DISK_PERSIST] && !r.value[REQ_IMAGE]) {
		slurm_error("vm: rank %u: --vm-disk-persist keeps the overlay "
			    "of --vm-image, which gives this rank none",
			    rank);
		goto out;
	}
	for (f = 0; f < REQ_NFIELDS; f++) {
		if (!request_per_rank(f) || f == REQ_MEM)
			continue;
		if (r.value[f]
			? set_env(sp, request_env(f), r.value[f], 1)
			: spank_unsetenv(sp, request_env(f)) != ESPANK_SUCCESS)
			goto out;
	}
	/* The outside network: only as the site and the job say, whatever
	 * the job's environment holds. */
	if (set_env(sp, ENV_EGRESS, request_egress(&r, site) ? "nat" : "none",
		    1))
		goto out;
	/* The mounts as checked here, host paths resolved. */
	if (r.value[REQ_MOUNT]
		? set_env(sp, ENV_MOUNTS, r.value[REQ_MOUNT], 1)
		: spank_unsetenv(sp, ENV_MOUNTS) != ESPANK_SUCCESS)
		goto out;
	/* An endpoint boots no guest: no memory to choose. */
	rc = request_is_endpoint(&r) ? 0 : choose_mem(sp, site, &r, rank);
out:
	request_clear(&r);
	return rc;
}

/*
 * The task's program becomes the launcher, its command kept for it
 * (launch_env.h). Where Slurm has spank_prepend_task_argv() (23.11 and
 * later), the launcher is put before the command. Elsewhere, Slurm execs
 * argv[0] of the array S_JOB_ARGV gives: spank.h asks plugins not to
 * change it; this is the one change, of one pointer, before the exec,
 * checked to be in the array Slurm execs. Verified on Slurm 22.05 (this
 * project's lab and tests: every VM test fails if the task is not the
 * launcher).
 */
static int make_launcher_the_task(spank_t sp, const struct site_config *site,
				  char **argv)
{
#if HAVE_DECL_SPANK_PREPEND_TASK_ARGV
	const char *pre[] = {site->launcher};

	(void)argv;
	if (set_env(sp, ENV_ARGV_PREPENDED, "1", 1) ||
	    spank_prepend_task_argv(sp, 1, pre) != ESPANK_SUCCESS) {
		slurm_error("vm: cannot make the launcher the task's program");
		return -1;
	}
	return 0;
#else
	char **again, *launcher = strdup(site->launcher);
	int argc;

	/* A user's own SLURMVM_ARGV_PREPENDED would cost the command its
	 * first argument. */
	if (!launcher ||
	    spank_unsetenv(sp, ENV_ARGV_PREPENDED) != ESPANK_SUCCESS)
		return -1;
	argv[0] = launcher;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &again) != ESPANK_SUCCESS ||
	    argc < 1 || again[0] != launcher) {
		slurm_error("vm: this Slurm did not take the launcher as the "
			    "task's program (S_JOB_ARGV is a copy): it "
			    "needs spank_prepend_task_argv(), Slurm 23.11 "
			    "or later, or 22.05");
		return -1;
	}
	return 0;
#endif
}

/* The node's image cache, the site's alone: a job's own value of these
 * variables is dropped. */
static int site_image_cache(spank_t sp, const struct site_config *site)
{
	char num[32];

	if (!site->image_cache[0])
		return spank_unsetenv(sp, ENV_IMAGE_CACHE) != ESPANK_SUCCESS ||
			       spank_unsetenv(sp, ENV_IMAGE_CACHE_MAX) !=
				   ESPANK_SUCCESS
			   ? -1
			   : 0;
	snprintf(num, sizeof(num), "%lu",
		 site->image_cache_max ? site->image_cache_max
				       : LAUNCH_IMAGE_CACHE_MAX_GB_DEFAULT);
	return set_env(sp, ENV_IMAGE_CACHE, site->image_cache, 1) ||
		       set_env(sp, ENV_IMAGE_CACHE_MAX, num, 1)
		   ? -1
		   : 0;
}

int node_task_init(spank_t sp, const struct site_config *site)
{
	char num[32];
	char **argv;
	int argc;

	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    argc < 1) {
		slurm_error("vm: cannot read the task's command");
		return -1;
	}
	if (access(site->launcher, X_OK) < 0) {
		slurm_error("vm: launcher %s: %s (fix launcher= in "
			    "plugstack.conf)",
			    site->launcher, strerror(errno));
		return -1;
	}
	if (access(site->helper, X_OK) < 0) {
		slurm_error("vm: helper %s: %s (fix helper= in "
			    "plugstack.conf)",
			    site->helper, strerror(errno));
		return -1;
	}
	if (resolve_task(sp, site) < 0)
		return -1;
	if (set_env(sp, ENV_ARGV0, argv[0], 1) ||
	    set_env(sp, ENV_QEMU, site->qemu, 1) ||
	    set_env(sp, ENV_ACCEL, site->accel, 1) ||
	    set_env(sp, ENV_RUNDIR, site->rundir, 1) ||
	    set_env(sp, ENV_FABRIC, site->fabric, 0))
		return -1;
	snprintf(num, sizeof(num), "%lu", site->fabric_mtu);
	if (set_env(sp, ENV_MTU, num, 1))
		return -1;
	snprintf(num, sizeof(num), "%lu", site->boot_timeout);
	if (set_env(sp, ENV_BOOT_TIMEOUT, num, 1))
		return -1;
	/* The site's command time limit, unless the job asked for its own
	 * (held to max_timeout= in resolve_task()). */
	snprintf(num, sizeof(num), "%lu",
		 site->default_timeout ? site->default_timeout
				       : site->max_timeout);
	if ((site->default_timeout || site->max_timeout) &&
	    set_env(sp, ENV_TIMEOUT, num, 0))
		return -1;
	snprintf(num, sizeof(num), "%lu", site->max_cpus);
	if (site->max_cpus ? set_env(sp, ENV_MAX_CPUS, num, 1)
			   : spank_unsetenv(sp, ENV_MAX_CPUS) != ESPANK_SUCCESS)
		return -1;
	if (site_image_cache(sp, site) < 0)
		return -1;
	return make_launcher_the_task(sp, site, argv);
}

void node_task_exit(spank_t sp, const struct site_config *site)
{
	uint32_t job, step, rank;
	uid_t uid;
	gid_t gid;
	int rc;

	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return;
	rc = helper_task_exit(site, job, step, rank, uid, gid);
	if (rc != 0)
		slurm_error("vm: job %u.%u rank %u: removing the launcher's "
			    "run directory: %s",
			    job, step, rank,
			    rc == -ETIMEDOUT ? "the helper was killed at its "
					       "time limit"
			    : rc < 0	     ? strerror(-rc)
					     : "the helper failed");
}
