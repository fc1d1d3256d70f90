#!/bin/sh
# MPI in guests (issue 14): only what works in the guest reaches it.
# The node's PMIx, PMI-2 and srun variables name ports on 127.0.0.1 and
# paths on the node; a guest's command must not see them.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

# Beside the guest (no agent), the task's environment is the node's: it
# does carry the variables, so the check below can fail.
node=$(srun -Q -n1 --vm-exec=endpoint env 2>&1)
like "$node" "^PMIX_RANK=0" "a task on the node carries the node's PMIX_RANK"
like "$node" "^PMIX_SERVER_URI" "and the node's PMIx server URIs"

out=$(vsrun -N2 -n2 env 2>&1)
is "$?" 0 "a two-node guest step that prints its environment exits 0"
like "$out" "^SLURM_PROCID=1" "the guests get the task's SLURM_ variables"
leaked=$(printf '%s\n' "$out" | grep -E '^(PMIX_|SLURM_PMIXP_|SLURM_PMIX_|SLURM_PMI2_|SLURM_SRUN_COMM_|SLURM_STEP_LAUNCHER_PORT=|SLURM_STEP_RESV_PORTS=|SLURM_PMI_KVS_NO_DUP_KEYS=)')
is "$leaked" "" "no host-only variable (PMIx, PMI-2, srun ports) reaches a guest"
assert_clean "environment job"
