/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "site.h"

enum kind { PATH, TEXT, ACCEL, FABRIC, COUNT };

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
    STR(launcher, PATH),       STR(qemu, TEXT),
    STR(accel, ACCEL),	       STR(rundir, PATH),
    STR(default_kernel, PATH), STR(default_initrd, PATH),
    STR(default_append, TEXT), NUM(default_mem, 1UL << 24),
    NUM(boot_timeout, 86400),  STR(fabric, FABRIC),
    NUM(fabric_mtu, 65521),
};

static void set_defaults(struct site_config *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->launcher, sizeof(s->launcher), "%s",
		 SLURM_VM_LAUNCHER_PATH);
	snprintf(s->qemu, sizeof(s->qemu), "qemu-system-x86_64");
	snprintf(s->accel, sizeof(s->accel), "auto");
	snprintf(s->rundir, sizeof(s->rundir), "/tmp");
	s->default_mem = 512;
	s->boot_timeout = 300;
	snprintf(s->fabric, sizeof(s->fabric), "auto");
	s->fabric_mtu = 1500;
}

int fabric_transport_known(const char *name)
{
#ifdef HAVE_VERBS
	if (!strcmp(name, "verbs"))
		return 1;
#endif
	return !strcmp(name, "auto") || !strcmp(name, "tcp");
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
	case PATH:
		if (v[0] != '/') {
			snprintf(err, errlen, "%s=%s: must be an absolute path",
				 k->name, v);
			return -EINVAL;
		}
		break;
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

int site_parse(int ac, char **av, struct site_config *s, char *err,
	       size_t errlen)
{
	int i;

	set_defaults(s);
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
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (strlen(keys[j].name) == n &&
			    !strncmp(keys[j].name, av[i], n))
				break;
		if (j == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errlen,
				 "plugstack.conf: unknown key '%.*s' (known: "
				 "launcher, qemu, accel, rundir, "
				 "default_kernel, default_initrd, "
				 "default_append, default_mem, boot_timeout, "
				 "fabric, fabric_mtu)",
				 (int)n, av[i]);
			return -EINVAL;
		}
		if (apply(s, &keys[j], eq + 1, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}
