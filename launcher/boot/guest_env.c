// SPDX-License-Identifier: GPL-2.0-or-later
#include "config.h"

#include <string.h>

#include "launcher/boot/guest_env.h"

/* Names that begin with one of these stay on the node. */
static const char *const host_prefixes[] = {
    /* PMIx client set-up: the server's URIs (127.0.0.1 ports), rank and
     * namespace of the node's server, dstore and tmpdir paths, modules. */
    "PMIX_",
    /* PMI-1/PMI-2 of the node (srun --mpi=pmi2): PMI_FD is a descriptor
     * of the launcher's process; the guest's own come from the agent. */
    "PMI_",
    /* Slurm's PMIx and PMI-2 plugins: abort agent port, tmpdirs, tree
     * ports of the node's stepd. */
    "SLURM_PMIXP_",
    "SLURM_PMIX_",
    "SLURM_PMI2_",
    /* srun's own listening ports on the submit host. */
    "SLURM_SRUN_COMM_",
    /* Open MPI's variables that its runtime or PMIx sets for a client of
     * the node's server (the transport key, the universe it sees). */
    "OMPI_MCA_orte_precondition_transports",
};

/* Whole names that stay on the node. */
static const char *const host_names[] = {
    "SLURM_STEP_LAUNCHER_PORT",
    "SLURM_STEP_RESV_PORTS",
    "SLURM_PMI_KVS_NO_DUP_KEYS",
};

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

int guest_env_host_only(const char *entry)
{
	size_t n, i, p;

	if (!entry)
		return 0;
	n = name_len(entry);
	for (i = 0; i < sizeof(host_prefixes) / sizeof(host_prefixes[0]); i++) {
		p = strlen(host_prefixes[i]);
		if (n >= p && !strncmp(entry, host_prefixes[i], p))
			return 1;
	}
	for (i = 0; i < sizeof(host_names) / sizeof(host_names[0]); i++)
		if (n == strlen(host_names[i]) &&
		    !strncmp(entry, host_names[i], n))
			return 1;
	return 0;
}

int guest_env_strip_host(char **env)
{
	size_t i, j;
	int removed = 0;

	if (!env)
		return 0;
	for (i = j = 0; env[i]; i++) {
		if (guest_env_host_only(env[i]))
			removed++;
		else
			env[j++] = env[i];
	}
	env[j] = NULL;
	return removed;
}
