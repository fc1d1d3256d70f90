/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank/policy.h"

/* True when real (resolved) is dir (resolved) or below it. */
static int below(const char *real, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return 1;
	return !strncmp(real, dir, n) && (real[n] == '/' || !real[n]);
}

/*
 * Holds path to the directories in dirs (the value of plugstack key key),
 * once all are resolved; what names the kind of thing for the messages
 * ("image", "mount") and noun what path is ("file", "directory").
 */
static int within(const char *dirs, const char *key, const char *what,
		  const char *noun, const char *path, const char *label,
		  char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX], rdir[PATH_MAX];
	const char *p = dirs;

	if (!dirs[0])
		return 0;
	/* A path that does not resolve cannot be shown to be inside: it is
	 * refused, or a file made after the check could land anywhere. */
	if (!realpath(path, real)) {
		snprintf(err, errlen,
			 "%s: cannot be resolved (%s), so it cannot be checked "
			 "against the site's %s directories (plugstack.conf: "
			 "%s=%s); give an existing %s in one of them",
			 label, strerror(errno), what, key, dirs, noun);
		return -EINVAL;
	}
	while (*p) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		if (realpath(dir, rdir) && below(real, rdir))
			return 0;
		p += n + (p[n] == ':');
	}
	snprintf(err, errlen,
		 "%s: outside the site's %s directories%s%s%s "
		 "(plugstack.conf: %s=%s); use a %s from one of them",
		 label, what, strcmp(real, path) ? " (it resolves to " : "",
		 strcmp(real, path) ? real : "", strcmp(real, path) ? ")" : "",
		 key, dirs, noun);
	return -EINVAL;
}

int policy_path(const struct site_config *site, const char *path,
		const char *label, char *err, size_t errlen)
{
	return within(site->image_dirs, "image_dirs", "image", "file", path,
		      label, err, errlen);
}

int policy_mount(const struct site_config *site, const char *path,
		 const char *label, char *err, size_t errlen)
{
	return within(site->mount_dirs, "mount_dirs", "mount", "directory",
		      path, label, err, errlen);
}

static int limit(unsigned long v, unsigned long max, const char *key,
		 const char *label, const char *option, char *err,
		 size_t errlen)
{
	if (!max || v <= max)
		return 0;
	snprintf(err, errlen,
		 "%s: above the site's limit (plugstack.conf: %s=%lu); ask "
		 "for at most %s=%lu",
		 label, key, max, option, max);
	return -EINVAL;
}

int policy_mem(const struct site_config *site, unsigned long mb,
	       const char *label, char *err, size_t errlen)
{
	return limit(mb, site->max_mem, "max_mem", label, "--vm-mem", err,
		     errlen);
}

int policy_cpus(const struct site_config *site, unsigned long cpus,
		const char *label, char *err, size_t errlen)
{
	return limit(cpus, site->max_cpus, "max_cpus", label, "--vm-cpus", err,
		     errlen);
}

int policy_timeout(const struct site_config *site, unsigned long s,
		   const char *label, char *err, size_t errlen)
{
	return limit(s, site->max_timeout, "max_timeout", label, "--vm-timeout",
		     err, errlen);
}

int policy_qemu_args(const struct site_config *site, const char *label,
		     char *err, size_t errlen)
{
	if (site->allow_qemu_args)
		return 0;
	snprintf(err, errlen,
		 "%s: this site does not allow extra QEMU arguments "
		 "(plugstack.conf: allow_qemu_args=no, the default); drop the "
		 "option, or ask the administrators to set "
		 "allow_qemu_args=yes",
		 label);
	return -EINVAL;
}
