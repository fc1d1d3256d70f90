// SPDX-License-Identifier: GPL-2.0-or-later
/* Which task variables stay on the node (launcher/guest_env.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "launcher/boot/guest_env.h"
#include "tap.h"

int main(void)
{
	/* What a task under srun --mpi=pmix and --mpi=pmi2 carries. */
	static const char *const host[] = {
	    "PMIX_SERVER_URI2=pmix-server.123;tcp4://127.0.0.1:40000",
	    "PMIX_SERVER_URI21=pmix-server.123;tcp4://127.0.0.1:40000",
	    "PMIX_RANK=3",
	    "PMIX_NAMESPACE=slurm.pmix.7.0",
	    "PMIX_DSTORE_21_BASE_PATH=/var/spool/slurmd/pmix.7.0/pmix_dstor",
	    "PMIX_DSTORE_ESH_BASE_PATH=/var/spool/slurmd/pmix.7.0/pmix_dstor",
	    "PMIX_SERVER_TMPDIR=/var/spool/slurmd/pmix.7.0",
	    "PMIX_SECURITY_MODE=munge,native",
	    "PMIX_MCA_psec=native",
	    "SLURM_PMIXP_ABORT_AGENT_PORT=41234",
	    "SLURM_PMIX_MAPPING_SERV=(vector,(0,2,2))",
	    "SLURM_SRUN_COMM_HOST=127.0.0.1",
	    "SLURM_SRUN_COMM_PORT=35000",
	    "SLURM_STEP_LAUNCHER_PORT=35000",
	    "SLURM_STEP_RESV_PORTS=12000-12001",
	    "PMI_FD=5",
	    "PMI_RANK=3",
	    "PMI_SIZE=4",
	    "SLURM_PMI2_SRUN_PORT=35001",
	    "SLURM_PMI_KVS_NO_DUP_KEYS=1",
	    "PMIX_RANK", /* a bare name */
	};
	/* What the guest needs, including near misses of the list. */
	static const char *const keep[] = {
	    "SLURM_PROCID=3",
	    "SLURM_JOB_ID=7",
	    "SLURM_NODELIST=n[1-2]",
	    "SLURM_STEP_NODELIST=n[1-2]",
	    "SLURM_MPI_TYPE=pmix",
	    "SLURM_PMIXVERSION=4",	   /* not SLURM_PMIX_ */
	    "SLURM_STEP_LAUNCHER_PORTS=1", /* longer than the name */
	    "SLURM_STEP_LAUNCHER=x",	   /* shorter than the name */
	    "PMIXRANK=3",		   /* not PMIX_ */
	    "PMI=1",			   /* not PMI_ */
	    "HOME=/home/u",
	    "PATH=/usr/bin:/bin",
	    "X=PMIX_RANK=3", /* the value never counts */
	    "",
	};
	char *env[64];
	size_t i, n = 0, nh = sizeof(host) / sizeof(host[0]),
		  nk = sizeof(keep) / sizeof(keep[0]);
	int removed;

	for (i = 0; i < nh; i++)
		ok(guest_env_host_only(host[i]), "'%s' stays on the node",
		   host[i]);
	for (i = 0; i < nk; i++)
		ok(!guest_env_host_only(keep[i]), "'%s' reaches the guest",
		   keep[i]);
	ok(!guest_env_host_only(NULL), "NULL is not host-only");

	/* Interleaved: stripping keeps the others in order. */
	for (i = 0; i < nh || i < nk; i++) {
		if (i < nk)
			env[n++] = (char *)keep[i];
		if (i < nh)
			env[n++] = (char *)host[i];
	}
	env[n] = NULL;
	removed = guest_env_strip_host(env);
	ok(removed == (int)nh, "strip removes all %zu host-only (%d)", nh,
	   removed);
	for (i = 0; i < nk; i++)
		ok(env[i] == keep[i], "entry %zu kept in order", i);
	ok(env[nk] == NULL, "the array ends after the kept entries");
	ok(guest_env_strip_host(NULL) == 0, "NULL array: nothing removed");
	return done_testing();
}
