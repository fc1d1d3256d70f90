/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The text of a guest's NoCloud seed (meta-data and user-data), so a stock
 * cloud image with cloud-init runs the task's command unprepared. Pure
 * functions, no I/O: tested with golden outputs. seed.c writes the disk.
 */
#ifndef SLURM_VM_SEED_TEXT_H
#define SLURM_VM_SEED_TEXT_H

#include <stddef.h>

/* The agent's file name on the seed disk. */
#define SEED_AGENT_FILE "slurm-vm-agent"
/* The filesystem label cloud-init's NoCloud source looks for. */
#define SEED_LABEL "cidata"
/* Steps larger than this get /etc/hosts entries for their first
 * SEED_HOSTS_MAX ranks only; the fabric's DNS answers for all. */
#define SEED_HOSTS_MAX 4096UL

struct seed_info {
	unsigned long job_id, step_id, rank, nranks;
	/* Public keys, one a line (blank and '#' lines are skipped), or
	 * NULL. */
	const char *ssh_keys;
	/* The user's own user-data (--vm-cloud-init), user_data_len bytes
	 * that need not be text, or NULL. */
	const char *user_data;
	size_t user_data_len;
};

/*
 * meta-data: the instance id (unique per job, step and rank) and the
 * hostname n%04lu of the rank. Sets *out to a malloc'd NUL-terminated
 * string (the caller frees it) and *len to its length. Returns 0 or
 * -ENOMEM (*out is then NULL).
 */
int seed_meta_data(const struct seed_info *s, char **out, size_t *len);

/*
 * user-data: a #cloud-config that sets the hostname, writes /etc/hosts
 * with every rank of the step, installs the ssh keys and, from bootcmd,
 * copies the agent off the seed disk and starts it as a transient service
 * once cloud-init's init stage is done. With s->user_data, a multipart
 * MIME message whose second part is the user's, merged so that both
 * apply (the user's lists are appended to ours). Same return and
 * ownership as seed_meta_data().
 */
int seed_user_data(const struct seed_info *s, char **out, size_t *len);

/*
 * network-config (version 2), for a guest with the outside network: DHCP
 * on both NICs, each matched by its MAC (the fabric's 52:55 one first, the
 * NAT's 52:56 one), so the image's fallback cannot take the wrong one.
 * The step's names stay in /etc/hosts whatever resolver the image keeps.
 * Same return and ownership as seed_meta_data().
 */
int seed_network_config(const struct seed_info *s, char **out, size_t *len);

#endif
