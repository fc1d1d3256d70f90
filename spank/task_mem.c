/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/parse.h"
#include "spank/task_mem.h"

int task_mem_choose(const struct task_mem *t, const char *asked,
		    unsigned long *mb, char *err, size_t errlen)
{
	unsigned long total = t->step_mb ? t->step_mb : t->job_mb;
	unsigned long tasks = t->tasks ? t->tasks : 1;
	unsigned long share = total / tasks, want;

	if (asked && asked[0]) {
		if (parse_count(asked, LAUNCH_MEM_MB_MAX, &want) < 0) {
			snprintf(err, errlen,
				 "--vm-mem=%s: not a whole number of megabytes",
				 asked);
			return -EINVAL;
		}
		if (total && want > share) {
			snprintf(err, errlen,
				 "--vm-mem=%lu is more than this task's share "
				 "of the step's memory (%lu MB of %lu MB over "
				 "%lu task%s); ask for more with --mem or less "
				 "with --vm-mem",
				 want, share, total, tasks,
				 tasks == 1 ? "" : "s");
			return -EINVAL;
		}
		*mb = want;
		return 0;
	}
	if (total && share == 0) {
		snprintf(err, errlen,
			 "this task's share of the step's memory is under 1 MB "
			 "(%lu MB over %lu tasks); ask for more with --mem",
			 total, tasks);
		return -EINVAL;
	}
	want = total ? share : t->default_mb;
	if (t->max_mb && want > t->max_mb)
		want = t->max_mb;
	*mb = want;
	return 0;
}
