/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --vm-timeout, --vm-keep, --vm-keep-dir and --vm-capture
 * (request_int.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "launcher/common/parse.h"
#include "spank/policy.h"
#include "spank/request.h"
#include "spank/request_int.h"

/* The --vm-exec mode that has no command in a guest, or NULL. */
static const char *no_guest_command(const struct request *r)
{
	const char *v = r->value[REQ_EXEC];

	return v && (!strcmp(v, "host") || !strcmp(v, "endpoint")) ? v : NULL;
}

int request_check_timeout(const struct request *r,
			  const struct site_config *site, char *err,
			  size_t errlen)
{
	const char *v = r->value[REQ_TIMEOUT];
	char label[128];
	unsigned long s;

	if (!v)
		return 0;
	snprintf(label, sizeof(label), "%s=%.64s",
		 request_named(r, REQ_TIMEOUT), v);
	if (parse_count(v, LAUNCH_TIMEOUT_MAX_S, &s) < 0) {
		snprintf(err, errlen,
			 "%s: not a whole number of seconds from 1 to %lu; "
			 "give the command's time limit in seconds, e.g. "
			 "--vm-timeout=600",
			 label, LAUNCH_TIMEOUT_MAX_S);
		return -EINVAL;
	}
	return policy_timeout(site, s, label, err, errlen);
}

/* The patterns a results directory may use; NULL when all are known,
 * else the first unknown one. */
static const char *unknown_pattern(const char *s)
{
	const char *p;

	for (p = strchr(s, '%'); p; p = strchr(p + 2, '%'))
		if (!p[1] || !strchr("js%", p[1]))
			return p;
	return NULL;
}

/* --vm-keep-dir: patterns known, made absolute, its parent writable. */
static int check_keep_dir(struct request *r, const char *cwd, char *err,
			  size_t errlen)
{
	char buf[PATH_MAX], label[PATH_MAX + 40], *slash;
	const char *parent;
	size_t n;
	struct stat st;

	snprintf(label, sizeof(label), "%s=%s", request_named(r, REQ_KEEP_DIR),
		 r->value[REQ_KEEP_DIR]);
	if (unknown_pattern(r->value[REQ_KEEP_DIR])) {
		snprintf(err, errlen,
			 "%s: the directory's name may use %%j (job), %%s "
			 "(step) and %%%% (a %%) only",
			 label);
		return -EINVAL;
	}
	if (!r->value[REQ_KEEP_DIR][0] ||
	    strlen(r->value[REQ_KEEP_DIR]) >= sizeof(buf)) {
		snprintf(err, errlen,
			 "%s: give a directory for the results, e.g. "
			 "--vm-keep-dir=results.%%j.%%s",
			 label);
		return -EINVAL;
	}
	strcpy(buf, r->value[REQ_KEEP_DIR]);
	if (request_absolute(buf, sizeof(buf), cwd, label, err, errlen) < 0)
		return -EINVAL;
	for (n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
		buf[n - 1] = 0;
	slash = strrchr(buf, '/');
	if (!slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, "..")) {
		snprintf(err, errlen,
			 "%s: name the results directory itself (it is made "
			 "when needed), e.g. --vm-keep-dir=results.%%j.%%s",
			 label);
		return -EINVAL;
	}
	*slash = 0;
	parent = buf[0] ? buf : "/";
	if (!strchr(parent, '%') &&
	    (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode) ||
	     access(parent, W_OK | X_OK) < 0)) {
		snprintf(err, errlen,
			 "%s: %s is not a directory you can write to; create "
			 "it first (the results directory itself is made "
			 "when needed)",
			 label, parent);
		return -EINVAL;
	}
	*slash = '/';
	return request_set(r, REQ_KEEP_DIR, buf, r->from[REQ_KEEP_DIR]) < 0
		   ? -ENOMEM
		   : 0;
}

static int check_keep(struct request *r, char *err, size_t errlen)
{
	const char *v = r->value[REQ_KEEP];

	if (!v && r->value[REQ_KEEP_DIR]) {
		snprintf(err, errlen,
			 "%s says where --vm-keep puts each rank's results: "
			 "give --vm-keep=fail or --vm-keep=always too",
			 request_named(r, REQ_KEEP_DIR));
		return -EINVAL;
	}
	if (v && strcmp(v, "fail") && strcmp(v, "always")) {
		snprintf(err, errlen,
			 "%s=%.64s: give fail (keep each rank's console log "
			 "and output when its command failed) or always",
			 request_named(r, REQ_KEEP), v);
		return -EINVAL;
	}
	if (v && request_is_endpoint(r)) {
		snprintf(err, errlen,
			 "%s=endpoint runs no guest, so there is no console "
			 "to keep: drop %s",
			 request_named(r, REQ_EXEC),
			 request_named(r, REQ_KEEP));
		return -EINVAL;
	}
	return 0;
}

/* --vm-capture[=MIB]: a size, and a guest whose frames to capture. */
static int check_capture(const struct request *r, char *err, size_t errlen)
{
	const char *v = r->value[REQ_CAPTURE];
	unsigned long mb;

	if (!v)
		return 0;
	if (*v && parse_count(v, LAUNCH_CAPTURE_MAX_MB, &mb) < 0) {
		snprintf(err, errlen,
			 "%s=%.64s: give the capture's bound in MiB, from 1 "
			 "to %d (or %s alone: %d MiB)",
			 request_named(r, REQ_CAPTURE), v,
			 LAUNCH_CAPTURE_MAX_MB, request_named(r, REQ_CAPTURE),
			 LAUNCH_CAPTURE_DEFAULT_MB);
		return -EINVAL;
	}
	if (request_is_endpoint(r)) {
		snprintf(err, errlen,
			 "%s=endpoint runs no guest and has no run directory "
			 "for the capture: drop %s",
			 request_named(r, REQ_EXEC),
			 request_named(r, REQ_CAPTURE));
		return -EINVAL;
	}
	return 0;
}

int request_check_run(struct request *r, const struct site_config *site,
		      const char *cwd, char *err, size_t errlen)
{
	const char *mode = no_guest_command(r);

	if (r->value[REQ_TIMEOUT] && mode) {
		snprintf(err, errlen,
			 "%s=%.64s stops a command in a guest; with "
			 "%s=%s the command runs on the node: drop %s",
			 request_named(r, REQ_TIMEOUT), r->value[REQ_TIMEOUT],
			 request_named(r, REQ_EXEC), mode,
			 request_named(r, REQ_TIMEOUT));
		return -EINVAL;
	}
	if (request_check_timeout(r, site, err, errlen) < 0 ||
	    check_keep(r, err, errlen) < 0 || check_capture(r, err, errlen) < 0)
		return -EINVAL;
	return r->value[REQ_KEEP_DIR] ? check_keep_dir(r, cwd, err, errlen) : 0;
}
