/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's use of the node's image cache (image_cache.h). */
#include "config.h"

#include <stdio.h>

#include "launcher/boot/image_cache.h"
#include "launcher/boot/launch_config.h"

/* The task's one line while it waits: on srun's stderr. */
static void say_waiting(void *arg, const char *src, unsigned long long done,
			unsigned long long size)
{
	const struct launch_config *c = arg;

	fprintf(stderr,
		"slurm-vm: n%04lu: waiting for this node's copy of %s (%llu "
		"of %llu MiB copied)\n",
		c->rank, src, done >> 20, size >> 20);
}

/* One file: *path pointed at its entry, held in e. */
static void cache_one(const struct image_cache *ic,
		      const struct launch_config *c, const char **path,
		      struct image_cache_entry *e)
{
	char err[2048];
	int how = image_cache_get(ic, *path, e, err, sizeof(err));

	if (err[0])
		fprintf(stderr,
			"slurm-vm: n%04lu: image cache not used for %s: %s\n",
			c->rank, *path, err);
	if (how == IMAGE_CACHE_COPIED && c->stats)
		fprintf(stderr,
			"slurm-vm: n%04lu: image cache: copied %s (%llu MiB "
			"in %.1f s)\n",
			c->rank, *path, e->bytes >> 20,
			(double)e->copy_ms / 1000);
	else if (how == IMAGE_CACHE_HIT && c->stats)
		fprintf(stderr,
			"slurm-vm: n%04lu: image cache: %s from this node's "
			"copy%s\n",
			c->rank, *path, e->waited ? " (waited for it)" : "");
	if (how == IMAGE_CACHE_HIT || how == IMAGE_CACHE_COPIED)
		*path = e->path;
}

void image_cache_boot(struct launch_config *c, struct image_cache_entry held[3])
{
	struct image_cache ic = {
	    .dir = c->image_cache,
	    .max = c->image_cache_max,
	    .wait_ms = (long)c->boot_timeout * 1000,
	    .waiting = say_waiting,
	    .arg = c,
	};

	if (!c->image_cache || c->snapshot || c->restore || c->persist)
		return;
	if (c->image)
		cache_one(&ic, c, &c->image, &held[0]);
	if (c->kernel)
		cache_one(&ic, c, &c->kernel, &held[1]);
	if (c->initrd)
		cache_one(&ic, c, &c->initrd, &held[2]);
}
