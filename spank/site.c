/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/common/launch_env.h"
#include "spank/mounts.h"
#include "launcher/common/parse.h"
#include "spank/site.h"

enum kind { PATH, PATHS, TEXT, ACCEL, FABRIC, EGRESS, COUNT, YESNO };

struct key {
	const char *name;
	enum kind kind;
	size_t off, size; /* where in struct site_config */
	unsigned long max;
};

#define STR(f, k)                                                              \
	{                                                                      \
#f, k, offsetof(struct site_config, f),                        \
		    sizeof(((struct site_config *)0)->f), 0                    \
	}
#define NUM(f, m)                                                              \
	{                                                                      \
#f, COUNT, offsetof(struct site_config, f), 0, m               \
	}

static const struct key keys[] = {
    STR(launcher, PATH),
    STR(helper, PATH),
    STR(qemu, TEXT),
    STR(accel, ACCEL),
    STR(rundir, PATH),
    STR(default_kernel, PATH),
    STR(default_initrd, PATH),
    STR(default_append, TEXT),
    NUM(default_mem, LAUNCH_MEM_MB_MAX),
    NUM(boot_timeout, LAUNCH_BOOT_TIMEOUT_MAX_S),
    NUM(default_timeout, LAUNCH_TIMEOUT_MAX_S),
    NUM(max_timeout, LAUNCH_TIMEOUT_MAX_S),
    STR(fabric, FABRIC),
    NUM(fabric_mtu, LAUNCH_MTU_MAX),
    STR(image_dirs, PATHS),
    NUM(max_mem, LAUNCH_MEM_MB_MAX),
    NUM(max_cpus, LAUNCH_CPUS_MAX),
    {"allow_qemu_args", YESNO, offsetof(struct site_config, allow_qemu_args), 0,
     0},
    STR(mounts, TEXT),
    {"mount_cwd", YESNO, offsetof(struct site_config, mount_cwd), 0, 0},
    STR(mount_dirs, PATHS),
    STR(egress, EGRESS),
    STR(image_cache, PATH),
    NUM(image_cache_max, LAUNCH_IMAGE_CACHE_MAX_GB_MAX),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void set_defaults(struct site_config *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->launcher, sizeof(s->launcher), "%s",
		 SLURM_VM_LAUNCHER_PATH);
	snprintf(s->helper, sizeof(s->helper), "%s", SLURM_VM_HELPER_PATH);
	snprintf(s->qemu, sizeof(s->qemu), "%s", LAUNCH_QEMU_DEFAULT);
	snprintf(s->accel, sizeof(s->accel), "auto");
	snprintf(s->rundir, sizeof(s->rundir), "%s", LAUNCH_RUNDIR_DEFAULT);
	s->default_mem = LAUNCH_MEM_MB_DEFAULT;
	s->boot_timeout = LAUNCH_BOOT_TIMEOUT_S;
	snprintf(s->fabric, sizeof(s->fabric), "auto");
	s->fabric_mtu = LAUNCH_MTU_DEFAULT;
	s->mount_cwd = 1;
	snprintf(s->egress, sizeof(s->egress), "none");
}

int fabric_transport_known(const char *name)
{
#ifdef HAVE_VERBS
	if (!strcmp(name, "verbs"))
		return 1;
#endif
	return !strcmp(name, "auto") || !strcmp(name, "tcp");
}

/* DIR[:DIR...]: each one absolute, none empty. */
static int check_paths(const char *name, const char *v, char *err,
		       size_t errlen)
{
	const char *p = v;

	for (;;) {
		size_t n = strcspn(p, ":");

		if (n == 0 || p[0] != '/') {
			snprintf(err, errlen,
				 "%s=%s: each directory must be an absolute "
				 "path, separated by ':' (e.g. %s=/shared/"
				 "images:/scratch/images)",
				 name, v, name);
			return -EINVAL;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static int apply(struct site_config *s, const struct key *k, const char *v,
		 char *err, size_t errlen)
{
	char *field = (char *)s + k->off;

	switch (k->kind) {
	case COUNT:
		if (parse_count(v, k->max, (unsigned long *)field) < 0) {
			snprintf(err, errlen,
				 "%s=%s: not a whole number from 1 to %lu",
				 k->name, v, k->max);
			return -EINVAL;
		}
		return 0;
	case ACCEL:
		if (strcmp(v, "auto") && strcmp(v, "kvm") && strcmp(v, "tcg")) {
			snprintf(err, errlen,
				 "accel=%s: must be auto, kvm or tcg", v);
			return -EINVAL;
		}
		break;
	case FABRIC:
		if (!fabric_transport_known(v)) {
			snprintf(err, errlen,
				 "fabric=%s: must be auto, tcp or verbs%s", v,
				 strcmp(v, "verbs") ? ""
						    : " (this build has no "
						      "verbs transport)");
			return -EINVAL;
		}
		break;
	case EGRESS:
		if (strcmp(v, "none") && strcmp(v, "nat")) {
			snprintf(err, errlen,
				 "egress=%s: must be none (guests reach only "
				 "each other, the default) or nat (they reach "
				 "the node's networks through user-mode NAT)",
				 v);
			return -EINVAL;
		}
		break;
	case PATH:
		if (v[0] != '/') {
			snprintf(err, errlen, "%s=%s: must be an absolute path",
				 k->name, v);
			return -EINVAL;
		}
		break;
	case PATHS:
		if (check_paths(k->name, v, err, errlen) < 0)
			return -EINVAL;
		break;
	case YESNO:
		if (strcmp(v, "yes") && strcmp(v, "no")) {
			snprintf(err, errlen, "%s=%s: must be yes or no",
				 k->name, v);
			return -EINVAL;
		}
		*(int *)field = !strcmp(v, "yes");
		return 0;
	case TEXT:
		break;
	}
	if (strlen(v) >= k->size) {
		snprintf(err, errlen, "%s=: value longer than %zu bytes",
			 k->name, k->size - 1);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

static void unknown_key(const char *arg, size_t n, char *err, size_t errlen)
{
	size_t j, used;

	used = (size_t)snprintf(
	    err, errlen, "plugstack.conf: unknown key '%.*s' (known: ", (int)n,
	    arg);
	for (j = 0; j < NKEYS && used < errlen; j++)
		used +=
		    (size_t)snprintf(err + used, errlen - used, "%s%s",
				     keys[j].name, j + 1 < NKEYS ? ", " : ")");
}

int site_parse(int ac, char **av, struct site_config *s, char *err,
	       size_t errlen)
{
	char why[512];
	int i;

	set_defaults(s);
	s->ac = ac;
	s->av = av;
	for (i = 0; i < ac; i++) {
		const char *eq = strchr(av[i], '=');
		size_t j, n = eq ? (size_t)(eq - av[i]) : 0;

		if (!eq) {
			snprintf(err, errlen,
				 "plugstack.conf argument '%s' is not "
				 "key=value",
				 av[i]);
			return -EINVAL;
		}
		for (j = 0; j < NKEYS; j++)
			if (strlen(keys[j].name) == n &&
			    !strncmp(keys[j].name, av[i], n))
				break;
		if (j == NKEYS) {
			unknown_key(av[i], n, err, errlen);
			return -EINVAL;
		}
		if (apply(s, &keys[j], eq + 1, err, errlen) < 0)
			return -EINVAL;
	}
	if (mount_list_syntax(s->mounts, why, sizeof(why)) < 0) {
		snprintf(err, errlen,
			 "mounts=%s: %s (write SRC[:DST][:ro|rw],... with "
			 "absolute paths)",
			 s->mounts, why);
		return -EINVAL;
	}
	if (s->image_cache_max && !s->image_cache[0]) {
		snprintf(err, errlen,
			 "image_cache_max=%lu is set without image_cache=; add "
			 "image_cache=DIR (a node-local directory) or remove "
			 "image_cache_max",
			 s->image_cache_max);
		return -EINVAL;
	}
	if (!strcmp(s->image_cache, "/")) {
		snprintf(err, errlen,
			 "image_cache=/: the cache needs a directory of its "
			 "own (e.g. image_cache=/var/cache/slurm-vm, mode "
			 "1777, owned by root)");
		return -EINVAL;
	}
	if (s->max_timeout && s->default_timeout > s->max_timeout) {
		snprintf(err, errlen,
			 "default_timeout=%lu is above max_timeout=%lu; lower "
			 "default_timeout or raise max_timeout",
			 s->default_timeout, s->max_timeout);
		return -EINVAL;
	}
	if (s->max_mem && s->default_mem > s->max_mem) {
		snprintf(err, errlen,
			 "default_mem=%lu is above max_mem=%lu; lower "
			 "default_mem or raise max_mem",
			 s->default_mem, s->max_mem);
		return -EINVAL;
	}
	return 0;
}
