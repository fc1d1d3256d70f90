/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher's side of agent_setup.h: what the agent is to mount, and
 * the job's user the command runs as. The launcher runs as that user, so
 * its own identity is the job's.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/agent/agent_setup.h"
#include "launcher/boot/launch_config.h"
#include "launcher/boot/plan.h"

/* A name the guest's passwd file can hold as it is. */
static int plain_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
			     "VWXYZ0123456789._-");

	return n && n < 64 && !s[n] && s[0] != '-';
}

static char *mounts_entry(const char *mounts)
{
	const char *p = mounts, *src, *dst;
	size_t srclen, dstlen, i;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	int ro;

	if (!out)
		return NULL;
	fprintf(out, "%s=", AGENT_SETUP_MOUNTS);
	for (i = 0;
	     config_next_mount(&p, &src, &srclen, &dst, &dstlen, &ro) > 0;
	     i++) {
		fprintf(out, "%s" PLAN_MOUNT_TAG ":%s:%.*s", i ? "\n" : "", i,
			ro ? "ro" : "rw", (int)dstlen, dst);
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static char *user_entry(void)
{
	gid_t groups[AGENT_SETUP_MAX_GROUPS];
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");
	char name[64], *text = NULL;
	size_t size = 0;
	FILE *out;
	int n, i;

	if (pw && plain_name(pw->pw_name))
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "user%u", (unsigned)getuid());
	if (!home || home[0] != '/' || strpbrk(home, ":\n"))
		home = pw && pw->pw_dir[0] == '/' && !strpbrk(pw->pw_dir, ":\n")
			   ? pw->pw_dir
			   : "/";
	n = getgroups(AGENT_SETUP_MAX_GROUPS, groups);
	if (n < 0) /* more than the agent takes: the first ones */
		n = 0;
	out = open_memstream(&text, &size);
	if (!out)
		return NULL;
	fprintf(out, "%s=%s:%u:%u:", AGENT_SETUP_USER, name, (unsigned)getuid(),
		(unsigned)getgid());
	for (i = 0; i < n; i++)
		fprintf(out, "%s%u", i ? "," : "", (unsigned)groups[i]);
	fprintf(out, ":%s", home);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int launcher_setup_env(char **env, const char *mounts, int as_root,
		       char *out[2])
{
	size_t n = 0;

	out[0] = out[1] = NULL;
	while (env[n])
		n++;
	if (mounts) {
		out[0] = mounts_entry(mounts);
		if (!out[0])
			return -ENOMEM;
		env[n++] = out[0];
	}
	if (!as_root) {
		out[1] = user_entry();
		if (!out[1])
			return -ENOMEM;
		env[n++] = out[1];
	}
	env[n] = NULL;
	return 0;
}
