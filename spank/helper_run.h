/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin's side of its helper program (spank/helper/main.c): whatever
 * work would open a user's files, parse them or act on a user's paths runs
 * there, as the job's user, never inside srun, slurmstepd or the epilog.
 */
#ifndef SLURM_VM_HELPER_RUN_H
#define SLURM_VM_HELPER_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spank/site.h"

/* Time limits, in seconds, after which the helper is killed. */
#define HELPER_PROBE_S 60
#define HELPER_TASK_EXIT_S 30
#define HELPER_EPILOG_S 60
/* After the kill, how long the caller waits to reap it, in ms. */
#define HELPER_REAP_MS 2000

/*
 * Runs site->helper with the words given (NULL-terminated), then "--" and
 * the plugstack arguments site was parsed from. It is started with
 * posix_spawn (no code of this process runs in the child), in its own
 * process group, with /dev/null as stdin, one pipe as stdout and stderr,
 * no other descriptor, default signal handling, an empty signal mask and
 * PATH as its only variable. Each line it prints (at most 64 KiB in all)
 * goes to line(arg, text), its control characters replaced by '?'. After
 * timeout_s seconds it is killed. Returns its exit status (0-255),
 * -ETIMEDOUT when it was killed for the time limit, -ECHILD when its
 * status was lost, or -errno when it could not start.
 */
int helper_run(const struct site_config *site, const char *const *words,
	       int timeout_s, void (*line)(void *arg, const char *text),
	       void *arg);

/*
 * The job epilog's work on this node, as uid:gid (helper "epilog"): logs
 * each line with log(arg, line), and why when the helper failed. Returns
 * the helper's status as helper_run().
 */
int helper_epilog(const struct site_config *site, uint32_t job, uid_t uid,
		  gid_t gid, void (*log)(void *arg, const char *line),
		  void *arg);

/* Removes the run directory a killed task's launcher left, as uid:gid
 * (helper "task-exit"). Returns as helper_run(). */
int helper_task_exit(const struct site_config *site, uint32_t job,
		     uint32_t step, uint32_t rank, uid_t uid, gid_t gid);

/* The user the snapshot probe (request_probe_snapshot()) runs as: the
 * job's, in slurmstepd. By default the caller's own uid and gid. */
void helper_probe_as(uid_t uid, gid_t gid);

/* Replaces each control character of s (a user's bytes bound for a log)
 * by '?', in place. */
void log_clean(char *s);

#endif
