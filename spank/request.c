/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch_env.h"
#include "parse.h"
#include "request.h"

static const char *const options[REQ_NFIELDS] = {
    "--vm-image", "--vm-kernel", "--vm-initrd", "--vm-append", "--vm-mem",
    "--vm-cpus",  "--vm-fabric", "--vm-stats",	"--vm-exec",   "--vm-pin",
};

static const char *const envs[REQ_NFIELDS] = {
    ENV_IMAGE, ENV_KERNEL, ENV_INITRD, ENV_APPEND, ENV_MEM,
    ENV_CPUS,  ENV_FABRIC, ENV_STATS,  ENV_EXEC,   ENV_PIN,
};

const char *request_option(enum request_field f)
{
	return options[f] + 2;
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
	memset(r, 0, sizeof(*r));
}

/* How the user named a field, for messages: "--vm-mem" or "SLURMVM_MEM". */
static const char *named(const struct request *r, enum request_field f)
{
	return r->from[f] ? r->from[f] : options[f];
}

static int absolute(struct request *r, enum request_field f, const char *cwd)
{
	char *abs;

	if (r->value[f][0] == '/')
		return 0;
	if (asprintf(&abs, "%s/%s", cwd, r->value[f]) < 0)
		return -ENOMEM;
	free(r->value[f]);
	r->value[f] = abs;
	return 0;
}

static const char *const what[REQ_NFIELDS] = {
    "a qcow2 or raw disk image",
    "a kernel image (vmlinux or bzImage)",
    "an initrd or initramfs file",
};

static int check_file(const struct request *r, enum request_field f,
		      const char *shown, char *err, size_t errlen)
{
	const char *path = r->value[f];
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s=%s: %s (%s); give the path of %s",
			 named(r, f), shown, strerror(errno), path, what[f]);
		return -EINVAL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "%s=%s: is a directory; give the path of %s inside it",
			 named(r, f), shown, what[f]);
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s=%s: not a regular file; give %s",
			 named(r, f), shown, what[f]);
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		snprintf(err, errlen,
			 "%s=%s: not readable by you (%s); fix its permissions "
			 "or use a copy you can read",
			 named(r, f), shown, strerror(errno));
		return -EINVAL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen,
			 "%s=%s: the file is empty; give %s (the test guest "
			 "builder slurm-vm-mkguest makes one)",
			 named(r, f), shown, what[f]);
		return -EINVAL;
	}
	return 0;
}

static int check_count(const struct request *r, enum request_field f,
		       unsigned long max, const char *unit, const char *eg,
		       char *err, size_t errlen)
{
	unsigned long v;

	if (!r->value[f] || parse_count(r->value[f], max, &v) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s=%s: not a whole number of %s from 1 to %lu; give e.g. "
		 "%s=%s",
		 named(r, f), r->value[f], unit, max, options[f], eg);
	return -EINVAL;
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
			 named(r, REQ_EXEC), v);
		return -EINVAL;
	}
	if (request_is_endpoint(r) &&
	    (r->value[REQ_IMAGE] || r->value[REQ_KERNEL])) {
		snprintf(err, errlen,
			 "%s=endpoint runs no guest: drop --vm-image and "
			 "--vm-kernel",
			 named(r, REQ_EXEC));
		return -EINVAL;
	}
	return 0;
}

int request_validate(struct request *r, const struct site_config *site,
		     const char *cwd, char *err, size_t errlen)
{
	enum request_field f;

	if (check_exec(r, err, errlen) < 0)
		return -EINVAL;
	if (request_is_endpoint(r))
		goto options;
	if (!r->value[REQ_IMAGE] && !r->value[REQ_KERNEL] &&
	    site->default_kernel[0] &&
	    (site_default(r, REQ_KERNEL, site->default_kernel,
			  "plugstack.conf default_kernel") ||
	     site_default(r, REQ_INITRD, site->default_initrd,
			  "plugstack.conf default_initrd") ||
	     site_default(r, REQ_APPEND, site->default_append,
			  "plugstack.conf default_append")))
		goto oom;
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
			 named(r, f));
		return -EINVAL;
	}
	for (f = REQ_IMAGE; f <= REQ_INITRD; f++) {
		char *shown;
		int rc;

		if (!r->value[f])
			continue;
		if (!r->value[f][0]) {
			snprintf(err, errlen,
				 "%s is empty; give the path of %s",
				 named(r, f), what[f]);
			return -EINVAL;
		}
		shown = strdup(r->value[f]);
		if (!shown || absolute(r, f, cwd) < 0) {
			free(shown);
			goto oom;
		}
		rc = check_file(r, f, shown, err, errlen);
		free(shown);
		if (rc < 0)
			return rc;
	}
options:
	if (r->value[REQ_PIN] && strcmp(r->value[REQ_PIN], "auto") &&
	    strcmp(r->value[REQ_PIN], "none")) {
		snprintf(err, errlen,
			 "%s=%s: give auto (vCPU i on the i-th CPU Slurm gave "
			 "the task) or none",
			 named(r, REQ_PIN), r->value[REQ_PIN]);
		return -EINVAL;
	}
	if (r->value[REQ_FABRIC] &&
	    !fabric_transport_known(r->value[REQ_FABRIC])) {
		snprintf(err, errlen,
			 "%s=%s: the fabric transport must be auto (a "
			 "shortcut between guests on one node, TCP between "
			 "nodes), tcp or verbs (RDMA between nodes)%s",
			 named(r, REQ_FABRIC), r->value[REQ_FABRIC],
			 strcmp(r->value[REQ_FABRIC], "verbs")
			     ? ""
			     : "; this build has no verbs transport (configure "
			       "found no libibverbs)");
		return -EINVAL;
	}
	if (r->value[REQ_STATS] && r->value[REQ_STATS][0]) {
		struct stat st;
		char *shown = strdup(r->value[REQ_STATS]);

		if (!shown || absolute(r, REQ_STATS, cwd) < 0) {
			free(shown);
			goto oom;
		}
		if (stat(r->value[REQ_STATS], &st) < 0 ||
		    !S_ISDIR(st.st_mode) ||
		    access(r->value[REQ_STATS], W_OK) < 0) {
			snprintf(
			    err, errlen,
			    "%s=%s: not a directory you can write to; give "
			    "an existing directory for the counter files, "
			    "or --vm-stats alone for a summary line",
			    named(r, REQ_STATS), shown);
			free(shown);
			return -EINVAL;
		}
		free(shown);
	}
	if (check_count(r, REQ_MEM, 1UL << 24, "megabytes", "2048", err,
			errlen) ||
	    check_count(r, REQ_CPUS, 1024, "vCPUs", "2", err, errlen))
		return -EINVAL;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}
