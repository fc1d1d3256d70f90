/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest's memory: the task's share of the step's, or the site default. */
#include "config.h"

#include <string.h>

#include "spank/task_mem.h"
#include "tap.h"

int main(void)
{
	struct task_mem none = {0, 0, 2, 512, 0};
	struct task_mem step = {4096, 8192, 2, 512, 0};
	struct task_mem job = {0, 3000, 3, 512, 0};
	struct task_mem capped = {16384, 0, 2, 512, 4096};
	struct task_mem tiny = {1, 0, 4, 512, 0};
	unsigned long mb = 0;
	char err[512];

	ok(task_mem_choose(&none, NULL, &mb, err, sizeof(err)) == 0 &&
	       mb == 512,
	   "no memory from Slurm: the site default (%lu)", mb);
	ok(task_mem_choose(&none, "100000", &mb, err, sizeof(err)) == 0 &&
	       mb == 100000,
	   "no memory from Slurm: any --vm-mem is taken");
	ok(task_mem_choose(&step, NULL, &mb, err, sizeof(err)) == 0 &&
	       mb == 2048,
	   "the step's 4096 MB over 2 tasks: 2048 (%lu)", mb);
	ok(task_mem_choose(&job, "", &mb, err, sizeof(err)) == 0 && mb == 1000,
	   "without step memory the job's: 3000 MB over 3 tasks (%lu)", mb);
	ok(task_mem_choose(&step, "2048", &mb, err, sizeof(err)) == 0 &&
	       mb == 2048,
	   "asking for exactly the share is fine");
	ok(task_mem_choose(&step, "1024", &mb, err, sizeof(err)) == 0 &&
	       mb == 1024,
	   "asking for less is fine");
	ok(task_mem_choose(&step, "4096", &mb, err, sizeof(err)) < 0,
	   "asking for more than the share is refused");
	is_str(err,
	       "--vm-mem=4096 is more than this task's share of the step's "
	       "memory (2048 MB of 4096 MB over 2 tasks); ask for more with "
	       "--mem or less with --vm-mem",
	       "the message gives the numbers and both fixes");
	ok(task_mem_choose(&capped, NULL, &mb, err, sizeof(err)) == 0 &&
	       mb == 4096,
	   "the default share is capped at max_mem (%lu)", mb);
	ok(task_mem_choose(&tiny, NULL, &mb, err, sizeof(err)) < 0 &&
	       strstr(err, "under 1 MB"),
	   "a share under 1 MB is refused: %s", err);
	ok(task_mem_choose(&step, "lots", &mb, err, sizeof(err)) < 0 &&
	       strstr(err, "--vm-mem=lots"),
	   "a malformed value is named: %s", err);
	return done_testing();
}
