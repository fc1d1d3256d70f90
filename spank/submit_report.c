/* SPDX-License-Identifier: GPL-2.0-or-later */
/* srun's side of --vm-report (report.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "spank/helper_run.h"
#include "spank/submit_report.h"

#define HELPER_REPORT_S 60

static struct {
	int active;
	char format[8], path[PATH_MAX], dir[PATH_MAX], suite[256];
	uint32_t ntasks;
	long start;
} rep;

/* Expands the file name's patterns into out. Returns 0 or -ENAMETOOLONG. */
static int expand(const char *in, uint32_t job, uint32_t step, char *out,
		  size_t len)
{
	const char *array_job = getenv("SLURM_ARRAY_JOB_ID");
	const char *array_task = getenv("SLURM_ARRAY_TASK_ID");
	char num[32];
	size_t o = 0;

	for (; *in; in++) {
		const char *add = num;

		if (*in != '%') {
			num[0] = *in, num[1] = 0;
		} else {
			switch (*++in) {
			case 'j':
				snprintf(num, sizeof(num), "%" PRIu32, job);
				break;
			case 's':
				snprintf(num, sizeof(num), "%" PRIu32, step);
				break;
			case 'A':
				add = array_job ? array_job : "";
				if (!array_job)
					snprintf(num, sizeof(num), "%" PRIu32,
						 job),
					    add = num;
				break;
			case 'a':
				add = array_task ? array_task : "0";
				break;
			default: /* '%': the only other one request_report.c
				  * lets through */
				add = "%";
			}
		}
		if (o + strlen(add) >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
	}
	out[o] = 0;
	return 0;
}

static void suite_name(spank_t sp, const struct request *req, uint32_t step)
{
	const char *name = req->value[REQ_REPORT_NAME];
	const char *job = getenv("SLURM_JOB_NAME");
	char **argv = NULL;
	int argc = 0;

	if (name) {
		snprintf(rep.suite, sizeof(rep.suite), "%s", name);
		return;
	}
	if (!job &&
	    spank_get_item(sp, S_JOB_ARGV, &argc, &argv) == ESPANK_SUCCESS &&
	    argc > 0) {
		job =
		    strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	}
	snprintf(rep.suite, sizeof(rep.suite), "%s.%" PRIu32, job ? job : "job",
		 step);
}

int report_begin(spank_t sp, const struct request *req)
{
	const char *spec = req->value[REQ_REPORT];
	uint32_t job, step;
	char *slash;

	if (!spec || rep.active)
		return 0;
	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &rep.ntasks) !=
		ESPANK_SUCCESS) {
		slurm_error("vm: --vm-report: Slurm does not say the job, "
			    "step and task count");
		return -1;
	}
	/* request_check_report() left "FORMAT:/ABSOLUTE/PATH". */
	snprintf(rep.format, sizeof(rep.format), "%.*s",
		 (int)(strchr(spec, ':') - spec), spec);
	if (expand(strchr(spec, ':') + 1, job, step, rep.path,
		   sizeof(rep.path)) < 0) {
		slurm_error("vm: --vm-report: the report's path is too long");
		return -1;
	}
	slash = strrchr(rep.path, '/');
	snprintf(rep.dir, sizeof(rep.dir),
		 "%.*s/.slurm-vm-report.%" PRIu32 ".%" PRIu32 ".XXXXXX",
		 (int)(slash - rep.path), rep.path, job, step);
	if (!mkdtemp(rep.dir)) {
		slurm_error("vm: --vm-report: cannot make %s: %s", rep.dir,
			    strerror(errno));
		return -1;
	}
	if (setenv(ENV_REPORT_DIR, rep.dir, 1) < 0) {
		rmdir(rep.dir);
		return -1;
	}
	suite_name(sp, req, step);
	rep.start = (long)time(NULL);
	rep.active = 1;
	return 0;
}

/* Each line the helper prints; the last is kept to say why it failed. */
static void log_line(void *arg, const char *line)
{
	snprintf(arg, 512, "%s", line);
	slurm_info("vm: %s", line);
}

void report_end(const struct site_config *site)
{
	char uid[16], gid[16], start[24], ntasks[16], last[512] = "";
	const char *words[] = {"report", uid,	    gid,   rep.format, rep.path,
			       rep.dir,	 rep.suite, start, ntasks,     NULL};
	int rc;

	if (!rep.active)
		return;
	rep.active = 0;
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	snprintf(start, sizeof(start), "%ld", rep.start);
	snprintf(ntasks, sizeof(ntasks), "%" PRIu32, rep.ntasks);
	rc = helper_run(site, words, HELPER_REPORT_S, log_line, last);
	if (rc != 0)
		slurm_error("vm: the report %s was not written: %s", rep.path,
			    rc == -ETIMEDOUT ? "the helper ran out of time"
			    : last[0]	     ? last
					     : "the helper failed");
}
