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

# The PMI service for the command in each guest, on by default: PMI_RANK
# and PMI_SIZE are the task's, PMI_FD an open socket; --vm-pmi=none gives
# none of them.
out=$(vsrun -N2 -n2 sh -c 'echo "pmi $SLURM_PROCID $PMI_RANK/$PMI_SIZE fd $([ -S /proc/self/fd/$PMI_FD ] && echo socket)"' 2>&1)
like "$out" "^pmi 0 0/2 fd socket$" "rank 0's guest command gets PMI_RANK=0, PMI_SIZE=2 and a PMI socket"
like "$out" "^pmi 1 1/2 fd socket$" "rank 1's gets PMI_RANK=1 of 2"
out=$(vsrun -n1 --vm-pmi=none env 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^PMI_')" 0 "--vm-pmi=none: no PMI_ variable in the guest"
like "$out" "^SLURM_PROCID=0" "(the environment was printed)"
out=$(vsrun -n1 --vm-pmi=pmix true 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "--vm-pmi=pmix is refused"
like "$out" "vm-pmi=pmix: give pmi1" "naming the choices"

# A launcher takes PMIx only once its command speaks PMI. Killed then
# (SIGKILL, no PMIx_Finalize), it makes Slurm end the step, which is what
# a lost MPI rank means; killed while its command never spoke PMI, the
# other rank goes on, as with --vm-pmi=none (the service is on by default).
rank1() {
	for p in $(pgrep -x slurm-vm-launch); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=1" &&
			echo "$p" && return 0
	done
	return 1
}
kill_rank1() { # COMMAND: rank 1's launcher killed 15 s into a two-rank step
	vsrun -N2 -n2 -J t63-kill sh -c "$1" >"$TESTS_DIR/t63.kill.out" 2>&1 &
	step=$!
	wait_for 120 rank1
	sleep 15 # the guests have booted and the command has begun
	kill -9 "$(rank1)"
	wait_pid 900 "$step"
}
kill_rank1 'printf "cmd=init pmi_version=1 pmi_subversion=1\n" >&$PMI_FD; head -n1 <&$PMI_FD
sleep 25; echo "rank $SLURM_PROCID survived"'
# Whether Slurm then cancels the other rank depends on its PMIx plugin
# noticing the lost client (both were seen on this lab): either way the
# step ends, and the loss is reported.
like "$(cat "$TESTS_DIR/t63.kill.out")" "task 1: Killed" \
	"a launcher killed holding PMIx (its command spoke PMI): the step ends and srun names the lost task"
assert_clean "killed launcher holding PMIx"
kill_rank1 'sleep 25; echo "rank $SLURM_PROCID survived"'
like "$(cat "$TESTS_DIR/t63.kill.out")" "^rank 0 survived$" \
	"a launcher killed whose command never spoke PMI holds no PMIx: the other rank goes on"
assert_clean "killed launcher without PMIx"

# A command that breaks the protocol gets its PMI socket closed, with the
# reason on stderr naming the rank; the command and the launcher go on.
out=$(vsrun -n1 --vm-pmi=pmi1 sh -c '
printf "cmd=init pmi_version=1 pmi_subversion=1\n" >&$PMI_FD
head -n1 <&$PMI_FD
(printf "%05000d" 0 >&$PMI_FD) 2>/dev/null
cat <&$PMI_FD; echo "socket closed"; exit 3' 2>&1)
is "$?" 3 "after a line of 5000 bytes the command goes on and its exit code is the task's"
like "$out" "^cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0" "init was answered first"
like "$out" "rank 0: PMI: the command broke the PMI protocol: a line longer than 4096 bytes" \
	"the launcher names the rank and the reason"
like "$out" "^socket closed$" "the command's PMI socket is closed"
out=$(vsrun -n1 --vm-pmi=pmi1 sh -c 'printf "cmd=get key=\001\n" >&$PMI_FD; cat <&$PMI_FD; echo "socket closed"' 2>&1)
like "$out" "PMI: the command broke the PMI protocol: bad character" "a control byte in a line is refused"
like "$out" "^socket closed$" "and closes the socket"
assert_clean "PMI attacks"
rm -f "$TESTS_DIR/t63.kill.out"
