/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --vm-report and --vm-report-name (request_int.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/parse.h"
#include "spank/request.h"
#include "spank/request_int.h"

#define REPORT_NAME_MAX 200

/* The patterns a report's file name may use; NULL when all are known,
 * else the first unknown one. */
static const char *unknown_pattern(const char *name)
{
	const char *p;

	for (p = strchr(name, '%'); p; p = strchr(p + 2, '%')) {
		if (!p[1] || !strchr("jsAa%", p[1]))
			return p;
	}
	return NULL;
}

static int check_name(struct request *r, char *err, size_t errlen)
{
	const unsigned char *p =
	    (const unsigned char *)r->value[REQ_REPORT_NAME];

	if (!r->value[REQ_REPORT]) {
		snprintf(err, errlen,
			 "%s names the test suite of --vm-report: give "
			 "--vm-report=junit:PATH or tap:PATH too",
			 request_named(r, REQ_REPORT_NAME));
		return -EINVAL;
	}
	if (!*p || strlen((const char *)p) > REPORT_NAME_MAX) {
		snprintf(err, errlen,
			 "%s: give a name of 1 to %d characters for the "
			 "report's test suite",
			 request_named(r, REQ_REPORT_NAME), REPORT_NAME_MAX);
		return -EINVAL;
	}
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen,
				 "%s holds a control character: give a "
				 "printable name for the report's test suite",
				 request_named(r, REQ_REPORT_NAME));
			return -EINVAL;
		}
	return 0;
}

int request_check_report(struct request *r, const char *cwd, char *err,
			 size_t errlen)
{
	char spec[PATH_MAX + 8], abs[PATH_MAX], dir[PATH_MAX], *path, *slash;
	const char *bad;
	enum report_format format;
	struct stat st;

	if (r->value[REQ_REPORT_NAME] && check_name(r, err, errlen) < 0)
		return -EINVAL;
	if (!r->value[REQ_REPORT])
		return 0;
	snprintf(spec, sizeof(spec), "%s", r->value[REQ_REPORT]);
	if (report_spec_parse(spec, &format, &path) < 0) {
		snprintf(err, errlen,
			 "%s=%s: give junit:PATH (JUnit XML) or tap:PATH (TAP) "
			 "for the step's report",
			 request_named(r, REQ_REPORT), r->value[REQ_REPORT]);
		return -EINVAL;
	}
	snprintf(abs, sizeof(abs), "%s", path);
	if (request_absolute(abs, sizeof(abs), cwd,
			     request_named(r, REQ_REPORT), err, errlen) < 0)
		return -EINVAL;
	slash = strrchr(abs, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - abs), abs);
	if (!dir[0])
		strcpy(dir, "/");
	if (!slash[1] || strchr(dir, '%') ||
	    (bad = unknown_pattern(slash + 1))) {
		snprintf(err, errlen,
			 "%s=%s: the report is a file; its name may use %%j "
			 "(job), %%s (step), %%A (array job), %%a (array task) "
			 "and %%%% (a %%), its directory none",
			 request_named(r, REQ_REPORT), r->value[REQ_REPORT]);
		return -EINVAL;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen,
			 "%s=%s: %s is not a directory you can write to; "
			 "give the report a path in one (on storage the "
			 "compute nodes share: each node's launchers leave "
			 "their results beside it)",
			 request_named(r, REQ_REPORT), r->value[REQ_REPORT],
			 dir);
		return -EINVAL;
	}
	free(r->value[REQ_REPORT]);
	r->value[REQ_REPORT] = malloc(strlen(abs) + 8);
	if (!r->value[REQ_REPORT])
		return -ENOMEM;
	sprintf(r->value[REQ_REPORT], "%s:%s",
		format == REPORT_JUNIT ? "junit" : "tap", abs);
	return 0;
}
