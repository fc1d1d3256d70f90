/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's NoCloud seed disk: a small FAT filesystem labelled cidata with
 * meta-data, user-data (seed_text.c) and the static agent, so a stock
 * cloud image with cloud-init starts the agent by itself.
 */
#ifndef SLURM_VM_SEED_H
#define SLURM_VM_SEED_H

#include <stddef.h>

#include "launcher/boot/launch_config.h"

/*
 * Writes dir/seed.img for c's rank (mkfs.vfat and mcopy, logging to log)
 * and its path into file. The ssh keys are the user's ~/.ssh/NAME.pub files;
 * with c->cloud_init, c->cloud_init/user-data is added as a second part. The
 * agent is found beside the launcher, else where it is installed.
 * Returns 0 or -errno with a message naming what is missing in err; what
 * it wrote in dir is left for the caller to remove.
 */
int seed_create(const struct launch_config *c, const char *dir, const char *log,
		char *file, size_t filelen, char *err, size_t errlen);

#endif
