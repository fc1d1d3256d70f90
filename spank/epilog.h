/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugin in the job epilog (epilog.c). */
#ifndef SLURM_VM_EPILOG_H
#define SLURM_VM_EPILOG_H

#include <slurm/spank.h>

#include "spank/site.h"

/*
 * Parses the plugstack arguments into site, then has the helper, as the
 * job's user, kill the job's leftover QEMUs, finish its snapshots and
 * remove its run directories on this node, logging each thing it did.
 * Returns 0, or -1 for a broken plugstack line.
 */
int epilog_run(spank_t sp, struct site_config *site, int ac, char **av);

#endif
