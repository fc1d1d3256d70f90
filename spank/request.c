/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "spank/policy.h"
#include "spank/request.h"
#include "spank/request_int.h"

static const char *const options[REQ_NFIELDS] = {
    "--vm-image",	  "--vm-kernel",
    "--vm-initrd",	  "--vm-append",
    "--vm-mem",		  "--vm-cpus",
    "--vm-fabric",	  "--vm-stats",
    "--vm-exec",	  "--vm-pin",
    "--vm-disk",	  "--vm-disk-persist",
    "--vm-qemu-args",	  "--vm-console",
    "--vm-snapshot",	  "--vm-snapshot-signal",
    "--vm-snapshot-then", "--vm-snapshot-at",
    "--vm-restore",	  "--vm-cloud-init",
    "--vm-report",	  "--vm-report-name",
    "--vm-mount",	  "--vm-user",
    "--vm-pmi",		  "--vm-egress",
    "--vm-timeout",	  "--vm-keep",
    "--vm-keep-dir",	  "--vm-capture",
};

static const char *const envs[REQ_NFIELDS] = {
    ENV_IMAGE,	       ENV_KERNEL,	ENV_INITRD,   ENV_APPEND,
    ENV_MEM,	       ENV_CPUS,	ENV_FABRIC,   ENV_STATS,
    ENV_EXEC,	       ENV_PIN,		ENV_DISK,     ENV_DISK_PERSIST,
    ENV_QEMU_ARGS,     ENV_CONSOLE,	ENV_SNAPSHOT, ENV_SNAPSHOT_SIGNAL,
    ENV_SNAPSHOT_THEN, ENV_SNAPSHOT_AT, ENV_RESTORE,  ENV_CLOUD_INIT,
    ENV_REPORT,	       ENV_REPORT_NAME, ENV_MOUNTS,   ENV_USER,
    ENV_PMI,	       ENV_EGRESS,	ENV_TIMEOUT,  ENV_KEEP,
    ENV_KEEP_DIR,      ENV_CAPTURE,
};

const char *request_option(enum request_field f)
{
	return options[f] + 2;
}

const char *request_named(const struct request *r, enum request_field f)
{
	return r->from[f] ? r->from[f] : options[f];
}

const char *request_env(enum request_field f)
{
	return envs[f];
}

int request_set(struct request *r, enum request_field f, const char *value,
		const char *from)
{
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	free(r->value[f]);
	r->value[f] = v;
	r->from[f] = from;
	return 0;
}

int request_add(struct request *r, enum request_field f, const char *value,
		const char *from)
{
	char *v;

	if (!r->value[f])
		return request_set(r, f, value, from);
	if (asprintf(&v, "%s\n%s", r->value[f], value) < 0)
		return -ENOMEM;
	free(r->value[f]);
	r->value[f] = v;
	/* Messages name the option when any line came from it. */
	if (!from)
		r->from[f] = NULL;
	return 0;
}

int request_per_rank(enum request_field f)
{
	return f == REQ_IMAGE || f == REQ_KERNEL || f == REQ_INITRD ||
	       f == REQ_APPEND || f == REQ_MEM || f == REQ_CPUS ||
	       f == REQ_DISK;
}

int request_active(const struct request *r)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++)
		if (r->value[f])
			return 1;
	return 0;
}

void request_clear(struct request *r)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++)
		free(r->value[f]);
	free(r->restore_dir);
	memset(r, 0, sizeof(*r));
}

int request_check_dir(struct request *r, enum request_field f, const char *cwd,
		      const char *fix, char *err, size_t errlen)
{
	char buf[PATH_MAX], label[PATH_MAX + 40];
	struct stat st;

	snprintf(label, sizeof(label), "%s=%s", request_named(r, f),
		 r->value[f]);
	if (strlen(r->value[f]) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: the path is too long",
			 request_named(r, f));
		return -EINVAL;
	}
	strcpy(buf, r->value[f]);
	if (request_absolute(buf, sizeof(buf), cwd, label, err, errlen) < 0)
		return -EINVAL;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(buf, W_OK) < 0) {
		snprintf(err, errlen,
			 "%s: not a directory you can write to; %s", label,
			 fix);
		return -EINVAL;
	}
	return request_set(r, f, buf, r->from[f]) < 0 ? -ENOMEM : 0;
}

/*
 * --vm-console=PATTERN: only the fields the launcher expands; made
 * absolute; a directory without fields must exist and be writable (one
 * with fields is the user's to create).
 */
static int check_console(struct request *r, const char *cwd, char *err,
			 size_t errlen)
{
	char buf[PATH_MAX], label[PATH_MAX + 40], *slash;
	const char *p;
	struct stat st;

	snprintf(label, sizeof(label), "%s=%s", request_named(r, REQ_CONSOLE),
		 r->value[REQ_CONSOLE]);
	for (p = r->value[REQ_CONSOLE]; (p = strchr(p, '%')); p += 2)
		if (!p[1] || !strchr("jstN%", p[1])) {
			snprintf(
			    err, errlen,
			    "%s: unknown field %%%.1s; use %%j (job), %%s "
			    "(step), %%t (rank), %%N (node) or %%%% for %%",
			    label, p + 1);
			return -EINVAL;
		}
	if (!r->value[REQ_CONSOLE][0] ||
	    r->value[REQ_CONSOLE][strlen(r->value[REQ_CONSOLE]) - 1] == '/') {
		snprintf(err, errlen,
			 "%s: give a file name pattern, e.g. "
			 "console.%%j.%%t.log",
			 label);
		return -EINVAL;
	}
	if (strlen(r->value[REQ_CONSOLE]) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: the path is too long", label);
		return -EINVAL;
	}
	strcpy(buf, r->value[REQ_CONSOLE]);
	if (request_absolute(buf, sizeof(buf), cwd, label, err, errlen) < 0)
		return -EINVAL;
	slash = strrchr(buf, '/');
	*slash = 0;
	if (!strchr(buf, '%') &&
	    (stat(buf[0] ? buf : "/", &st) < 0 || !S_ISDIR(st.st_mode) ||
	     access(buf[0] ? buf : "/", W_OK) < 0)) {
		snprintf(err, errlen,
			 "%s: %s is not a directory you can write to; create "
			 "it first",
			 label, buf[0] ? buf : "/");
		return -EINVAL;
	}
	*slash = '/';
	return request_set(r, REQ_CONSOLE, buf, r->from[REQ_CONSOLE]) < 0
		   ? -ENOMEM
		   : 0;
}

/*
 * --vm-cloud-init=DIR: made absolute; DIR/user-data must be a regular,
 * readable, non-empty file, which the launcher reads on the node.
 */
static int check_cloud_init(struct request *r, const char *cwd, char *err,
			    size_t errlen)
{
	const char *opt = request_named(r, REQ_CLOUD_INIT);
	char dir[PATH_MAX], file[PATH_MAX + 16];
	struct stat st;

	if (strlen(r->value[REQ_CLOUD_INIT]) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: the path is too long", opt);
		return -EINVAL;
	}
	strcpy(dir, r->value[REQ_CLOUD_INIT]);
	if (request_absolute(dir, sizeof(dir), cwd, opt, err, errlen) < 0)
		return -EINVAL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s=%s: not a directory; give the directory that "
			 "holds your cloud-init user-data file",
			 opt, r->value[REQ_CLOUD_INIT]);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%s/user-data", dir);
	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(file, R_OK) < 0 || st.st_size == 0) {
		snprintf(err, errlen,
			 "%s=%s: no readable, non-empty file user-data in it; "
			 "write your #cloud-config (or script) there",
			 opt, r->value[REQ_CLOUD_INIT]);
		return -EINVAL;
	}
	return request_set(r, REQ_CLOUD_INIT, dir, r->from[REQ_CLOUD_INIT]) < 0
		   ? -ENOMEM
		   : 0;
}

/* name is the plugstack key, so a message points at the line to fix. */
static int site_default(struct request *r, enum request_field f,
			const char *value, const char *name)
{
	if (r->value[f] || !value[0])
		return 0;
	return request_set(r, f, value, name);
}

int request_is_endpoint(const struct request *r)
{
	return r->value[REQ_EXEC] && !strcmp(r->value[REQ_EXEC], "endpoint");
}

/* --vm-exec: where the command runs; endpoint boots nothing. */
int request_egress(const struct request *r, const struct site_config *site)
{
	const char *v = r->value[REQ_EGRESS];

	return !strcmp(site->egress, "nat") && !(v && !strcmp(v, "none")) &&
	       !request_is_endpoint(r) && !r->value[REQ_SNAPSHOT] &&
	       !r->value[REQ_RESTORE];
}

/* --vm-egress: a known value, allowed here, and for a guest that can
 * have it. */
static int check_egress(const struct request *r, const struct site_config *site,
			char *err, size_t errlen)
{
	const char *v = r->value[REQ_EGRESS],
		   *name = request_named(r, REQ_EGRESS);

	if (!v || !strcmp(v, "none"))
		return 0;
	if (strcmp(v, "nat")) {
		snprintf(err, errlen,
			 "%s=%s: give nat (the guests reach the node's "
			 "networks through user-mode NAT) or none (they reach "
			 "only each other)",
			 name, v);
		return -EINVAL;
	}
	if (strcmp(site->egress, "nat")) {
		snprintf(err, errlen,
			 "%s=nat: this site gives guests no outside network "
			 "(plugstack.conf: egress=none, the default); drop "
			 "it, or ask the site for egress=nat",
			 name);
		return -EPERM;
	}
	if (request_is_endpoint(r) || r->value[REQ_SNAPSHOT] ||
	    r->value[REQ_RESTORE]) {
		snprintf(err, errlen, "%s=nat: %s; drop one of them", name,
			 request_is_endpoint(r)
			     ? "--vm-exec=endpoint runs no guest"
			     : "a snapshot cannot carry the NAT's "
			       "connections, so saved and restored steps have "
			       "no outside network");
		return -EINVAL;
	}
	return 0;
}

static int check_exec(const struct request *r, char *err, size_t errlen)
{
	const char *v = r->value[REQ_EXEC];

	if (v && strcmp(v, "agent") && strcmp(v, "host") &&
	    strcmp(v, "endpoint")) {
		snprintf(err, errlen,
			 "%s=%s: give agent (the command runs in the guest), "
			 "host (it runs on the node beside a guest that needs "
			 "no agent) or endpoint (no guest: the command drives "
			 "the guest's network socket, for benchmarks)",
			 request_named(r, REQ_EXEC), v);
		return -EINVAL;
	}
	if (request_is_endpoint(r) &&
	    (r->value[REQ_IMAGE] || r->value[REQ_KERNEL])) {
		snprintf(err, errlen,
			 "%s=endpoint runs no guest: drop --vm-image and "
			 "--vm-kernel",
			 request_named(r, REQ_EXEC));
		return -EINVAL;
	}
	if (request_is_endpoint(r) &&
	    (r->value[REQ_SNAPSHOT] || r->value[REQ_RESTORE])) {
		snprintf(err, errlen,
			 "%s=endpoint runs no guest, so there is none to "
			 "save or restore: drop %s",
			 request_named(r, REQ_EXEC),
			 request_named(r, r->value[REQ_SNAPSHOT]
					      ? REQ_SNAPSHOT
					      : REQ_RESTORE));
		return -EINVAL;
	}
	return 0;
}

/* What a guest boots, and what must come with it. */
static int check_boot(struct request *r, const struct site_config *site,
		      char *err, size_t errlen)
{
	enum request_field f;

	if (!r->value[REQ_IMAGE] && !r->value[REQ_KERNEL] &&
	    site->default_kernel[0] &&
	    (site_default(r, REQ_KERNEL, site->default_kernel,
			  "plugstack.conf default_kernel") ||
	     site_default(r, REQ_INITRD, site->default_initrd,
			  "plugstack.conf default_initrd") ||
	     site_default(r, REQ_APPEND, site->default_append,
			  "plugstack.conf default_append"))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!r->value[REQ_IMAGE] && !r->value[REQ_KERNEL]) {
		snprintf(err, errlen,
			 "nothing to boot: give --vm-image=DISK or "
			 "--vm-kernel=KERNEL (this site sets no "
			 "default_kernel= in plugstack.conf)");
		return -EINVAL;
	}
	if (!r->value[REQ_KERNEL] &&
	    (r->value[REQ_INITRD] || r->value[REQ_APPEND])) {
		f = r->value[REQ_INITRD] ? REQ_INITRD : REQ_APPEND;
		snprintf(err, errlen,
			 "%s needs --vm-kernel: an initrd and kernel "
			 "arguments apply only to a kernel given with "
			 "--vm-kernel=KERNEL",
			 request_named(r, f));
		return -EINVAL;
	}
	if (r->value[REQ_CLOUD_INIT] && !r->value[REQ_IMAGE]) {
		snprintf(err, errlen,
			 "%s adds user-data to the cloud-init seed of a "
			 "--vm-image guest: give --vm-image=DISK too",
			 request_named(r, REQ_CLOUD_INIT));
		return -EINVAL;
	}
	if (r->value[REQ_DISK_PERSIST] && !r->value[REQ_IMAGE]) {
		snprintf(err, errlen,
			 "%s keeps each rank's overlay of its --vm-image: give "
			 "--vm-image=DISK too",
			 request_named(r, REQ_DISK_PERSIST));
		return -EINVAL;
	}
	return 0;
}

/* The options that are not per guest. */
static int check_options(struct request *r, const struct site_config *site,
			 const char *cwd, char *err, size_t errlen)
{
	char label[128];

	if (r->value[REQ_USER] && strcmp(r->value[REQ_USER], "root")) {
		snprintf(err, errlen,
			 "%s=%s: the command runs as you in the guest; the "
			 "one other choice is root (--vm-user=root)",
			 request_named(r, REQ_USER), r->value[REQ_USER]);
		return -EINVAL;
	}
	if (r->value[REQ_PIN] && strcmp(r->value[REQ_PIN], "auto") &&
	    strcmp(r->value[REQ_PIN], "none")) {
		snprintf(err, errlen,
			 "%s=%s: give auto (vCPU i on the i-th CPU Slurm gave "
			 "the task) or none",
			 request_named(r, REQ_PIN), r->value[REQ_PIN]);
		return -EINVAL;
	}
	if (r->value[REQ_PMI] && strcmp(r->value[REQ_PMI], "pmi1") &&
	    strcmp(r->value[REQ_PMI], "none")) {
		snprintf(err, errlen,
			 "%s=%s: give pmi1 (the launchers serve the PMI-1 "
			 "wire protocol to the command in each guest) or "
			 "none (the default)",
			 request_named(r, REQ_PMI), r->value[REQ_PMI]);
		return -EINVAL;
	}
	if (r->value[REQ_FABRIC] &&
	    !fabric_transport_known(r->value[REQ_FABRIC])) {
		snprintf(err, errlen,
			 "%s=%s: the fabric transport must be auto (a "
			 "shortcut between guests on one node, TCP between "
			 "nodes), tcp or verbs (RDMA between nodes)%s",
			 request_named(r, REQ_FABRIC), r->value[REQ_FABRIC],
			 strcmp(r->value[REQ_FABRIC], "verbs")
			     ? ""
			     : "; this build has no verbs transport (configure "
			       "found no libibverbs)");
		return -EINVAL;
	}
	if (r->value[REQ_STATS] && r->value[REQ_STATS][0] &&
	    request_check_dir(
		r, REQ_STATS, cwd,
		"give an existing directory for the counter files, or "
		"--vm-stats alone for a summary line",
		err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_DISK_PERSIST] &&
	    request_check_dir(
		r, REQ_DISK_PERSIST, cwd,
		"give an existing directory (on the nodes' shared or "
		"local storage) to keep the ranks' disks in",
		err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_CONSOLE] && check_console(r, cwd, err, errlen) < 0)
		return -EINVAL;
	if (request_check_snapshot(r, cwd, err, errlen) < 0)
		return -EINVAL;
	if (request_check_report(r, cwd, err, errlen) < 0 ||
	    request_check_run(r, site, cwd, err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_CLOUD_INIT] &&
	    check_cloud_init(r, cwd, err, errlen) < 0)
		return -EINVAL;
	if (r->value[REQ_QEMU_ARGS]) {
		snprintf(label, sizeof(label), "%s",
			 request_named(r, REQ_QEMU_ARGS));
		if (policy_qemu_args(site, label, err, errlen) < 0)
			return -EINVAL;
	}
	if (check_egress(r, site, err, errlen) < 0)
		return -EINVAL;
	return request_check_mounts(r, site, cwd, err, errlen);
}

int request_validate(struct request *r, const struct site_config *site,
		     const char *cwd, char *err, size_t errlen)
{
	enum request_field f;
	int rc;

	if (check_exec(r, err, errlen) < 0)
		return -EINVAL;
	/* A restore boots nothing: the snapshot says what the guests are. */
	if (r->value[REQ_RESTORE]) {
		rc = request_check_restore_in(r, site, cwd, 0, err, errlen);
		if (rc < 0)
			return rc;
	} else if (!request_is_endpoint(r)) {
		rc = check_boot(r, site, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (f = 0; f < REQ_NFIELDS; f++) {
		/* An endpoint boots nothing: its paths are never opened. */
		if (!request_per_rank(f) ||
		    (request_is_endpoint(r) && request_is_path(f)))
			continue;
		rc = request_check_field(r, f, site, cwd, err, errlen);
		if (rc < 0)
			return rc;
	}
	return check_options(r, site, cwd, err, errlen);
}

int request_check_policy(struct request *r, const struct site_config *site,
			 char *err, size_t errlen)
{
	enum request_field f;
	int rc;

	for (f = 0; f < REQ_NFIELDS; f++) {
		if (!request_per_rank(f))
			continue;
		rc = request_check_field(r, f, site, NULL, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (r->value[REQ_QEMU_ARGS] &&
	    policy_qemu_args(site, request_named(r, REQ_QEMU_ARGS), err,
			     errlen) < 0)
		return -EINVAL;
	if (check_egress(r, site, err, errlen) < 0 ||
	    request_check_timeout(r, site, err, errlen) < 0)
		return -EINVAL;
	return request_check_mounts(r, site, NULL, err, errlen);
}
