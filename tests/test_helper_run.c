/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin's way of running its helper (spank/helper_run.c): lines come
 * back cleaned, the exit status is the helper's, no descriptor of the
 * caller leaks into it, and a helper that hangs is killed at its limit.
 * Stand-in helpers are small shell scripts written here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spank/helper_run.h"
#include "tap.h"

static char dir[] = "/tmp/slurm-vm-test-helper.XXXXXX";
static char got[8192];

static void collect(void *arg, const char *text)
{
	size_t n = strlen(got);

	(void)arg;
	snprintf(got + n, sizeof(got) - n, "%s|", text);
}

/* A site whose helper is this script, with two plugstack arguments. */
static void script(struct site_config *site, const char *body)
{
	static char *av[] = {"rundir=/tmp", "max_mem=64", NULL};
	FILE *f;

	memset(site, 0, sizeof(*site));
	snprintf(site->helper, sizeof(site->helper), "%s/helper", dir);
	site->ac = 2;
	site->av = av;
	unlink(site->helper);
	f = fopen(site->helper, "w");
	if (!f)
		return;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(site->helper, 0700);
	got[0] = 0;
}

int main(void)
{
	const char *words[] = {"epilog", "1000", "1000", "42", NULL};
	struct site_config site;
	struct timespec t0, t1;
	int rc, leak;

	if (!mkdtemp(dir))
		return 1;

	script(&site, "echo \"$*\"; printf 'a\\033]0;x\\007b\\n'; exit 3");
	rc = helper_run(&site, words, 10, collect, NULL);
	ok(rc == 3, "the helper's exit status comes back (%d)", rc);
	is_str(got, "epilog 1000 1000 42 -- rundir=/tmp max_mem=64|a?]0;x?b|",
	       "its words, then the plugstack arguments; control characters "
	       "become '?'");

	script(&site, "printf 'no newline at the end'");
	rc = helper_run(&site, words, 10, collect, NULL);
	is_str(got, "no newline at the end|", "a last line without newline");

	/* A descriptor without O_CLOEXEC in the caller (slurmstepd has
	 * them) must not reach a program that becomes the user. */
	leak = dup2(open("/dev/null", O_RDONLY), 50);
	script(&site, "ls /proc/self/fd | tr '\\n' ' '; echo; env");
	rc = helper_run(&site, words, 10, collect, NULL);
	ok(rc == 0, "the helper ran");
	{
		char want[64];

		snprintf(want, sizeof(want), " %d ", leak);
		ok(leak == 50 && !strstr(got, want),
		   "descriptor 50, open without O_CLOEXEC, is not inherited: "
		   "%s",
		   got);
	}
	ok(strstr(got, "PATH=/usr/sbin:/usr/bin:/sbin:/bin|") &&
	       !strstr(got, "HOME="),
	   "its environment is PATH alone");
	close(leak);

	script(&site, "echo started; exec sleep 600");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = helper_run(&site, words, 1, collect, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(rc == -ETIMEDOUT, "a helper that hangs is killed at its limit");
	ok(t1.tv_sec - t0.tv_sec < 5, "within the limit, not after it (%ld s)",
	   (long)(t1.tv_sec - t0.tv_sec));
	is_str(got, "started|", "what it said before is kept");

	/* Output kept open by a child that outlives the helper does not
	 * make the caller wait past the limit either. */
	script(&site, "sleep 600 & echo bye");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = helper_run(&site, words, 1, collect, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(rc == -ETIMEDOUT && t1.tv_sec - t0.tv_sec < 5,
	   "a grandchild holding the pipe is killed with the helper's group");

	snprintf(site.helper, sizeof(site.helper), "%s/missing", dir);
	rc = helper_run(&site, words, 1, collect, NULL);
	ok(rc == -ENOENT || rc == 127,
	   "a missing helper is an error, not a hang (%d)", rc);

	snprintf(got, sizeof(got), "x\ty\nz\x7f");
	log_clean(got);
	is_str(got, "x?y?z?", "log_clean() replaces tabs, newlines and DEL");

	snprintf(got, sizeof(got), "rm -rf %s", dir);
	if (system(got) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
