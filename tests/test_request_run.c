/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --vm-timeout, --vm-keep and --vm-keep-dir: checked before any job
 * exists (request_run.c), and the site's default_timeout=/max_timeout=. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank/request.h"
#include "spank/site.h"
#include "tap.h"

static char dir[] = "/tmp/slurm-vm-test-run.XXXXXX";
static struct site_config site;
static char value[4096];

/* Validates a kernel request (none for an endpoint) plus n pairs of field and
 * value; value holds the checked --vm-keep-dir (or "(unset)"). */
static int check(char *err, int n, ...)
{
	struct request r = {0};
	va_list ap;
	int i, rc;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		enum request_field f = va_arg(ap, enum request_field);

		request_set(&r, f, va_arg(ap, const char *), NULL);
	}
	va_end(ap);
	if (!request_is_endpoint(&r)) /* an endpoint boots nothing */
		request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	err[0] = 0;
	rc = request_validate(&r, &site, dir, err, 1024);
	snprintf(value, sizeof(value), "%s",
		 r.value[REQ_KEEP_DIR] ? r.value[REQ_KEEP_DIR] : "(unset)");
	request_clear(&r);
	return rc;
}

static void test_timeout(char *err)
{
	ok(check(err, 1, REQ_TIMEOUT, "3") == 0, "--vm-timeout=3 is taken");
	ok(check(err, 1, REQ_TIMEOUT, "2592000") == 0,
	   "30 days is the most: taken");
	ok(check(err, 1, REQ_TIMEOUT, "0") < 0 &&
	       strstr(err, "--vm-timeout=0: not a whole number of seconds "
			   "from 1 to 2592000") &&
	       strstr(err, "e.g. --vm-timeout=600"),
	   "0 is refused with the option, the value and the fix: %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "-5") < 0 &&
	       strstr(err, "--vm-timeout=-5: not a whole number"),
	   "a negative value is refused: %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "10m") < 0 &&
	       strstr(err, "--vm-timeout=10m: not a whole number"),
	   "a unit is refused (seconds only): %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "") < 0 &&
	       strstr(err, "--vm-timeout=: not a whole number"),
	   "an empty value is refused: %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "2592001") < 0 &&
	       strstr(err, "--vm-timeout=2592001"),
	   "over 30 days is refused: %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "99999999999999999999999") < 0,
	   "a number past unsigned long is refused");
	site.max_timeout = 60;
	ok(check(err, 1, REQ_TIMEOUT, "61") < 0 &&
	       strstr(err, "--vm-timeout=61: above the site's limit "
			   "(plugstack.conf: max_timeout=60); ask for at "
			   "most --vm-timeout=60"),
	   "over the site's max_timeout is refused, naming the line: %s", err);
	ok(check(err, 1, REQ_TIMEOUT, "60") == 0, "at the site's limit: taken");
	site.max_timeout = 0;
	ok(check(err, 2, REQ_TIMEOUT, "5", REQ_EXEC, "host") < 0 &&
	       strstr(err, "--vm-timeout=5 stops a command in a guest; with "
			   "--vm-exec=host") &&
	       strstr(err, "drop --vm-timeout"),
	   "with --vm-exec=host it is refused: %s", err);
}

static void test_keep(char *err)
{
	char want[4200];

	ok(check(err, 1, REQ_KEEP, "fail") == 0 && !strcmp(value, "(unset)"),
	   "--vm-keep=fail alone: the launcher's default directory");
	ok(check(err, 1, REQ_KEEP, "always") == 0, "--vm-keep=always is taken");
	ok(check(err, 1, REQ_KEEP, "never") < 0 &&
	       strstr(err, "--vm-keep=never: give fail") &&
	       strstr(err, "or always"),
	   "an unknown --vm-keep is refused: %s", err);
	ok(check(err, 1, REQ_KEEP_DIR, "res") < 0 &&
	       strstr(err, "--vm-keep-dir says where --vm-keep puts") &&
	       strstr(err, "give --vm-keep=fail"),
	   "--vm-keep-dir without --vm-keep is refused: %s", err);
	snprintf(want, sizeof(want), "%s/res.%%j.%%s", dir);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "res.%j.%s") == 0,
	   "a relative directory with %%j and %%s is taken: %s", err);
	is_str(value, want, "... made absolute against the cwd");
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "res/") == 0 &&
	       strstr(value, "/res") && value[strlen(value) - 1] == 's',
	   "a trailing slash is dropped: %s", value);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "r.%t") < 0 &&
	       strstr(err, "--vm-keep-dir=r.%t: the directory's name may use "
			   "%j (job), %s (step) and %% (a %) only"),
	   "an unknown pattern is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "r.%") < 0,
	   "a lone %% is refused");
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "/nonexistent/r") <
		   0 &&
	       strstr(err, "/nonexistent is not a directory you can write "
			   "to; create it first"),
	   "a results directory in a missing directory is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "file/r") < 0 &&
	       strstr(err, "is not a directory you can write to"),
	   "a results directory under a file is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "/") < 0 &&
	       strstr(err, "name the results directory itself"),
	   "/ is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_KEEP_DIR, "") < 0 &&
	       strstr(err, "give a directory for the results"),
	   "an empty directory is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "always", REQ_EXEC, "endpoint") < 0 &&
	       strstr(err, "no console to keep: drop --vm-keep"),
	   "--vm-keep with --vm-exec=endpoint is refused: %s", err);
	ok(check(err, 2, REQ_KEEP, "fail", REQ_EXEC, "host") == 0,
	   "--vm-keep with --vm-exec=host keeps the console: taken");
}

static void test_capture(char *err)
{
	ok(check(err, 1, REQ_CAPTURE, "") == 0,
	   "--vm-capture alone is taken (the default bound)");
	ok(check(err, 1, REQ_CAPTURE, "16") == 0, "--vm-capture=16 is taken");
	ok(check(err, 1, REQ_CAPTURE, "0") < 0 &&
	       strstr(err, "--vm-capture=0: give the capture's bound in "
			   "MiB, from 1 to 4096 (or --vm-capture alone: 64 "
			   "MiB)"),
	   "a zero bound is refused, naming the fix: %s", err);
	ok(check(err, 1, REQ_CAPTURE, "64M") < 0,
	   "a unit is refused (MiB only)");
	ok(check(err, 1, REQ_CAPTURE, "4097") < 0, "over 4 GiB is refused");
	ok(check(err, 2, REQ_CAPTURE, "", REQ_EXEC, "endpoint") < 0 &&
	       strstr(err, "--vm-exec=endpoint runs no guest") &&
	       strstr(err, "drop --vm-capture"),
	   "with --vm-exec=endpoint it is refused: %s", err);
}

static void test_site(char *err)
{
	char a[] = "default_timeout=600", b[] = "max_timeout=300",
	     c[] = "max_timeout=0", d[] = "default_timeout=1h";
	char *av[] = {a, b};
	struct site_config s;

	ok(site_parse(1, av, &s, err, 512) == 0 && s.default_timeout == 600 &&
	       s.max_timeout == 0,
	   "default_timeout= parses");
	ok(site_parse(2, av, &s, err, 512) < 0 &&
	       strstr(err, "default_timeout=600 is above max_timeout=300"),
	   "a default above the limit is refused: %s", err);
	av[0] = c;
	ok(site_parse(1, av, &s, err, 512) < 0 && strstr(err, "max_timeout=0"),
	   "max_timeout=0 is refused: %s", err);
	av[0] = d;
	ok(site_parse(1, av, &s, err, 512) < 0 &&
	       strstr(err, "default_timeout=1h: not a whole number"),
	   "a unit in default_timeout= is refused: %s", err);
}

int main(void)
{
	char err[1024], path[256];
	int fd;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vmlinux", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "k", 1) != 1)
		ok(0, "write %s", path);
	close(fd);
	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	site_parse(0, NULL, &site, err, sizeof(err));
	test_timeout(err);
	test_keep(err);
	test_capture(err);
	test_site(err);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
