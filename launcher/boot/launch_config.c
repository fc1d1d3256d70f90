/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/parse.h"
#include "launcher/boot/launch_config.h"

const char *env_lookup(char *const env[], const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int number(char *const env[], const char *name, unsigned long dflt,
		  unsigned long max, unsigned long *out, char *err,
		  size_t errlen)
{
	const char *s = env_lookup(env, name);

	if (!s) {
		*out = dflt;
		return 0;
	}
	if (parse_count(s, max, out) < 0) {
		snprintf(err, errlen, "%s='%s' is not a number from 1 to %lu",
			 name, s, max);
		return -EINVAL;
	}
	return 0;
}

/* The snapshot variables; each one but SLURMVM_SNAPSHOT needs it. */
static int snapshot_options(struct launch_config *c, char *const env[],
			    char *err, size_t errlen)
{
	const char *sig = env_lookup(env, ENV_SNAPSHOT_SIGNAL);
	const char *then = env_lookup(env, ENV_SNAPSHOT_THEN);
	const char *at = env_lookup(env, ENV_SNAPSHOT_AT);

	c->snapshot = env_lookup(env, ENV_SNAPSHOT);
	c->restore = env_lookup(env, ENV_RESTORE);
	if (c->snapshot && c->snapshot[0] != '/') {
		snprintf(err, errlen, "%s='%s' is not an absolute path",
			 ENV_SNAPSHOT, c->snapshot);
		return -EINVAL;
	}
	if (c->restore && c->restore[0] != '/') {
		snprintf(err, errlen, "%s='%s' is not an absolute path",
			 ENV_RESTORE, c->restore);
		return -EINVAL;
	}
	if (!c->snapshot && (sig || then || at)) {
		snprintf(err, errlen, "%s is set without %s",
			 sig ? ENV_SNAPSHOT_SIGNAL
			     : (then ? ENV_SNAPSHOT_THEN : ENV_SNAPSHOT_AT),
			 ENV_SNAPSHOT);
		return -EINVAL;
	}
	if (!c->snapshot)
		return 0;
	c->snapshot_signal = SIGUSR1;
	if (sig && parse_signal(sig, &c->snapshot_signal) < 0) {
		snprintf(err, errlen,
			 "%s='%s' is not a signal the step may use for "
			 "snapshots",
			 ENV_SNAPSHOT_SIGNAL, sig);
		return -EINVAL;
	}
	if (then && strcmp(then, "continue") && strcmp(then, "stop")) {
		snprintf(err, errlen, "%s='%s' is neither continue nor stop",
			 ENV_SNAPSHOT_THEN, then);
		return -EINVAL;
	}
	c->snapshot_stop = then && !strcmp(then, "stop");
	if (at && strcmp(at, "signal") && strcmp(at, "end") &&
	    strcmp(at, "ready") && strcmp(at, "fail")) {
		snprintf(err, errlen,
			 "%s='%s' is not signal, end, ready or fail",
			 ENV_SNAPSHOT_AT, at);
		return -EINVAL;
	}
	c->snapshot_at_end = at && !strcmp(at, "end");
	c->snapshot_at_ready = at && !strcmp(at, "ready");
	c->snapshot_at_fail = at && !strcmp(at, "fail");
	return 0;
}

/* --vm-keep and --vm-keep-dir (srun checked them; checked again). */
static int keep_options(struct launch_config *c, char *const env[], char *err,
			size_t errlen)
{
	const char *keep = env_lookup(env, ENV_KEEP);

	if (!keep) {
		c->keep = KEEP_NONE;
	} else if (!strcmp(keep, "fail")) {
		c->keep = KEEP_FAIL;
	} else if (!strcmp(keep, "always")) {
		c->keep = KEEP_ALWAYS;
	} else {
		snprintf(err, errlen, "%s='%s' is neither fail nor always",
			 ENV_KEEP, keep);
		return -EINVAL;
	}
	if (c->keep_dir && c->keep_dir[0] != '/') {
		snprintf(err, errlen, "%s='%s' is not an absolute path",
			 ENV_KEEP_DIR, c->keep_dir);
		return -EINVAL;
	}
	return 0;
}

int config_next_mount(const char **p, const char **src, size_t *srclen,
		      const char **dst, size_t *dstlen, int *ro)
{
	const char *line, *c1, *c2;
	size_t n;

	for (;;) {
		line = *p;
		if (!*line)
			return 0;
		n = strcspn(line, "\n");
		*p = line + n + (line[n] == '\n');
		if (!(n == 4 && !strncmp(line, "none", 4)) && n)
			break;
	}
	/* SRC:DST:MODE, and neither path holds ':' (spank/mounts.h). */
	c1 = memchr(line, ':', n);
	c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
	if (!c1 || !c2 || line[0] != '/' || c1[1] != '/' ||
	    (size_t)(line + n - c2) != 3 ||
	    (strncmp(c2, ":ro", 3) && strncmp(c2, ":rw", 3)))
		return -EINVAL;
	*src = line;
	*srclen = (size_t)(c1 - line);
	*dst = c1 + 1;
	*dstlen = (size_t)(c2 - c1 - 1);
	*ro = c2[2] == 'o';
	return 1;
}

/* SLURMVM_MOUNTS: each line well formed, at most 32 (spank/mounts.h). */
static int check_mounts(const char *mounts, char *err, size_t errlen)
{
	const char *p = mounts, *src, *dst;
	size_t srclen, dstlen, n = 0;
	int ro, r;

	while ((r = config_next_mount(&p, &src, &srclen, &dst, &dstlen, &ro)) >
	       0)
		n++;
	if (r < 0 || n > 32) {
		snprintf(err, errlen,
			 "%s is not a list of at most 32 lines SRC:DST:ro|rw "
			 "with absolute paths",
			 ENV_MOUNTS);
		return -EINVAL;
	}
	return 0;
}

/* The site's image cache: an absolute directory and its limit in GB. */
static int image_cache_options(struct launch_config *c, char *const env[],
			       char *err, size_t errlen)
{
	unsigned long gb;

	c->image_cache = env_lookup(env, ENV_IMAGE_CACHE);
	if (c->image_cache && c->image_cache[0] != '/') {
		snprintf(err, errlen,
			 "%s='%s' is not an absolute path (fix image_cache= "
			 "in plugstack.conf)",
			 ENV_IMAGE_CACHE, c->image_cache);
		return -EINVAL;
	}
	if (number(env, ENV_IMAGE_CACHE_MAX, LAUNCH_IMAGE_CACHE_MAX_GB_DEFAULT,
		   LAUNCH_IMAGE_CACHE_MAX_GB_MAX, &gb, err, errlen) < 0)
		return -EINVAL;
	c->image_cache_max = (unsigned long long)gb << 30;
	return 0;
}

/* The string settings, with their defaults. */
static void strings_from_env(struct launch_config *c, char *const env[])
{
	memset(c, 0, sizeof(*c));
	c->image = env_lookup(env, ENV_IMAGE);
	c->kernel = env_lookup(env, ENV_KERNEL);
	c->initrd = env_lookup(env, ENV_INITRD);
	c->append = env_lookup(env, ENV_APPEND);
	c->qemu = env_lookup(env, ENV_QEMU);
	c->accel = env_lookup(env, ENV_ACCEL);
	c->rundir = env_lookup(env, ENV_RUNDIR);
	c->argv0 = env_lookup(env, ENV_ARGV0);
	c->argv_prepended = env_lookup(env, ENV_ARGV_PREPENDED) != NULL;
	c->fabric = env_lookup(env, ENV_FABRIC);
	c->stats = env_lookup(env, ENV_STATS);
	c->disks = env_lookup(env, ENV_DISK);
	c->persist = env_lookup(env, ENV_DISK_PERSIST);
	c->qemu_args = env_lookup(env, ENV_QEMU_ARGS);
	c->mounts = env_lookup(env, ENV_MOUNTS);
	c->as_root = env_lookup(env, ENV_USER) &&
		     !strcmp(env_lookup(env, ENV_USER), "root");
	c->console = env_lookup(env, ENV_CONSOLE);
	c->report_dir = env_lookup(env, ENV_REPORT_DIR);
	c->cloud_init = env_lookup(env, ENV_CLOUD_INIT);
	c->keep_dir = env_lookup(env, ENV_KEEP_DIR);
	c->agent = env_lookup(env, ENV_AGENT);
	c->node = env_lookup(env, "SLURMD_NODENAME");
	if (!c->fabric)
		c->fabric = "auto";
	if (!c->node)
		c->node = "localhost";
	if (!c->qemu)
		c->qemu = LAUNCH_QEMU_DEFAULT;
	if (!c->accel)
		c->accel = "auto";
	if (!c->rundir)
		c->rundir = LAUNCH_RUNDIR_DEFAULT;
}

int config_from_env(struct launch_config *c, char *const env[],
		    unsigned long default_cpus, char *err, size_t errlen)
{
	unsigned long max_cpus;

	strings_from_env(c, env);
	c->pin = !env_lookup(env, ENV_PIN) ||
		 strcmp(env_lookup(env, ENV_PIN), "none");
	/* On unless turned off: the service takes PMIx only when the
	 * command speaks PMI (launcher/pmi/pmi_step.h). */
	c->pmi = !env_lookup(env, ENV_PMI) ||
		 strcmp(env_lookup(env, ENV_PMI), "none");
	c->egress = env_lookup(env, ENV_EGRESS) &&
		    !strcmp(env_lookup(env, ENV_EGRESS), "nat");
	c->host = env_lookup(env, ENV_EXEC) &&
		  !strcmp(env_lookup(env, ENV_EXEC), "host");
	c->endpoint = env_lookup(env, ENV_EXEC) &&
		      !strcmp(env_lookup(env, ENV_EXEC), "endpoint");
	if (snapshot_options(c, env, err, errlen) < 0 ||
	    (c->mounts && check_mounts(c->mounts, err, errlen) < 0))
		return -EINVAL;
	if (!c->image && !c->kernel && !c->endpoint && !c->restore) {
		snprintf(err, errlen,
			 "neither %s nor %s (nor %s) is set: nothing to boot",
			 ENV_IMAGE, ENV_KERNEL, ENV_RESTORE);
		return -EINVAL;
	}
	if (!c->argv0) {
		snprintf(err, errlen,
			 "%s is not set: start the launcher through srun with "
			 "a --vm-* option",
			 ENV_ARGV0);
		return -EINVAL;
	}
	if (number(env, ENV_MAX_CPUS, LAUNCH_CPUS_MAX, LAUNCH_CPUS_MAX,
		   &max_cpus, err, errlen))
		return -EINVAL;
	if (default_cpus > max_cpus)
		default_cpus = max_cpus;
	if (number(env, ENV_MEM, LAUNCH_MEM_MB_DEFAULT, LAUNCH_MEM_MB_MAX,
		   &c->mem_mb, err, errlen) ||
	    number(env, ENV_CPUS, default_cpus, LAUNCH_CPUS_MAX, &c->cpus, err,
		   errlen) ||
	    number(env, ENV_BOOT_TIMEOUT, LAUNCH_BOOT_TIMEOUT_S,
		   LAUNCH_BOOT_TIMEOUT_MAX_S, &c->boot_timeout, err, errlen) ||
	    number(env, ENV_MTU, LAUNCH_MTU_DEFAULT, LAUNCH_MTU_MAX, &c->mtu,
		   err, errlen) ||
	    number(env, "SLURM_STEP_NUM_TASKS", 1, 16777213, &c->nranks, err,
		   errlen) ||
	    number(env, "SLURM_JOB_ID", 0, ~0UL, &c->job_id, err, errlen))
		return -EINVAL;
	/* Step and rank may be 0, which number() refuses. */
	c->step_id = strtoul(env_lookup(env, "SLURM_STEP_ID") ?: "0", NULL, 10);
	c->rank = strtoul(env_lookup(env, "SLURM_PROCID") ?: "0", NULL, 10);
	if (number(env, ENV_TIMEOUT, 0, LAUNCH_TIMEOUT_MAX_S, &c->timeout_s,
		   err, errlen) ||
	    keep_options(c, env, err, errlen) < 0)
		return -EINVAL;
	if (image_cache_options(c, env, err, errlen) < 0)
		return -EINVAL;
	if (env_lookup(env, ENV_CAPTURE)) { /* "" or MiB */
		unsigned long mb = LAUNCH_CAPTURE_DEFAULT_MB;

		if (*env_lookup(env, ENV_CAPTURE) &&
		    number(env, ENV_CAPTURE, 0, LAUNCH_CAPTURE_MAX_MB, &mb, err,
			   errlen))
			return -EINVAL;
		c->capture_bytes = (unsigned long long)mb << 20;
	}
	if (c->rank >= c->nranks) {
		snprintf(err, errlen,
			 "SLURM_PROCID=%lu is not below "
			 "SLURM_STEP_NUM_TASKS=%lu",
			 c->rank, c->nranks);
		return -EINVAL;
	}
	return 0;
}
