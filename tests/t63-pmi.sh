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

# The PMI service for the command in each guest: PMI_RANK and PMI_SIZE are
# the task's, PMI_FD an open socket; --vm-pmi=none gives none of them.
out=$(vsrun -N2 -n2 sh -c 'echo "pmi $SLURM_PROCID $PMI_RANK/$PMI_SIZE fd $([ -S /proc/self/fd/$PMI_FD ] && echo socket)"' 2>&1)
like "$out" "^pmi 0 0/2 fd socket$" "rank 0's guest command gets PMI_RANK=0, PMI_SIZE=2 and a PMI socket"
like "$out" "^pmi 1 1/2 fd socket$" "rank 1's gets PMI_RANK=1 of 2"
out=$(vsrun -n1 --vm-pmi=none env 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^PMI_')" 0 "--vm-pmi=none: no PMI_ variable in the guest"
like "$out" "^SLURM_PROCID=0" "(the environment was printed)"
out=$(vsrun -n1 --vm-pmi=pmix true 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "--vm-pmi=pmix is refused"
like "$out" "vm-pmi=pmix: give pmi1" "naming the choices"

# The service keeps PMIx open for the whole step: a launcher killed
# (SIGKILL, no PMIx_Finalize) makes Slurm cancel the step (measured here;
# with --vm-pmi=none the launchers leave PMIx after the fabric's bootstrap
# and the other ranks go on).
vsrun -N2 -n2 -J t63-kill sh -c 'sleep 25; echo "rank $SLURM_PROCID survived"' \
	>"$TESTS_DIR/t63.kill.out" 2>&1 &
step=$!
rank1() {
	for p in $(pgrep -x slurm-vm-launch); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=1" &&
			echo "$p" && return 0
	done
	return 1
}
wait_for 120 rank1
sleep 15 # past the fabric's bootstrap: rank 1 holds PMIx alone now
kill -9 "$(rank1)"
wait "$step"
like "$(cat "$TESTS_DIR/t63.kill.out")" "STEP [0-9.]+ ON .* CANCELLED" \
	"a launcher killed holding PMIx cancels the step"
assert_clean "killed launcher"

# A command that breaks the protocol gets its PMI socket closed, with the
# reason on stderr naming the rank; the command and the launcher go on.
out=$(vsrun -n1 sh -c '
printf "cmd=init pmi_version=1 pmi_subversion=1\n" >&$PMI_FD
head -n1 <&$PMI_FD
(printf "%05000d" 0 >&$PMI_FD) 2>/dev/null
cat <&$PMI_FD; echo "socket closed"; exit 3' 2>&1)
is "$?" 3 "after a line of 5000 bytes the command goes on and its exit code is the task's"
like "$out" "^cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0" "init was answered first"
like "$out" "rank 0: PMI: the command broke the PMI protocol: a line longer than 4096 bytes" \
	"the launcher names the rank and the reason"
like "$out" "^socket closed$" "the command's PMI socket is closed"
out=$(vsrun -n1 sh -c 'printf "cmd=get key=\001\n" >&$PMI_FD; cat <&$PMI_FD; echo "socket closed"' 2>&1)
like "$out" "PMI: the command broke the PMI protocol: bad character" "a control byte in a line is refused"
like "$out" "^socket closed$" "and closes the socket"
assert_clean "PMI attacks"

# A real MPI program (MPICH, the host's, reached over 9p: the guests mount
# the host's root read-only and run it chrooted), 4 ranks on 2 nodes.
command -v mpicc >/dev/null || {
	ok 0 "# SKIP no mpicc (apt-get install mpich libmpich-dev)"
	exit 0
}
PG=$TESTS_DIR/pmi-guest
"$top_srcdir/contrib/slurm-vm-mkguest" --agent "$AGENT" --out "$PG" \
	--extra-modules "9p 9pnet_virtio" >"$TESTS_DIR/t63-guest.log" 2>&1 ||
	{ echo "Bail out! cannot build the 9p guest"; exit 1; }
mpicc -o "$TESTS_DIR/t63.mpi_check" "$top_srcdir/tests/mpi_check.c" ||
	{ echo "Bail out! mpicc cannot build tests/mpi_check.c"; exit 1; }
set_plugstack "$(plugstack_line) allow_qemu_args=yes"
inhost='mkdir -p /host &&
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host &&
mount -t proc proc /host/proc && mount -t sysfs sysfs /host/sys &&
mount -t devtmpfs devtmpfs /host/dev && mkdir -p /host/dev/shm &&
mount -t tmpfs tmpfs /host/dev/shm &&
exec chroot /host env TMPDIR=/dev/shm "$@"'
mpirun_vm() { # NODES TASKS ARGS...
	local nodes=$1 tasks=$2
	shift 2
	srun -Q -t 8 -N"$nodes" -n"$tasks" --vm-kernel="$PG/vmlinux" --vm-initrd="$PG/initrd.img" \
		--vm-mem=384 --vm-qemu-args="-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		sh -c "$inhost" sh "$TESTS_DIR/t63.mpi_check" "$@"
}
t0=$(date +%s)
out=$(mpirun_vm 2 4 2>&1)
rc=$?
diag "srun -N2 -n4 of the MPI program: $(($(date +%s) - t0)) s"
is "$rc" 0 "srun -N2 -n4 of an MPI program in guests exits 0"
for r in 0 1 2 3; do
	like "$out" "^mpi rank $r of 4 on n000$r procid $r sum 6 right$" \
		"rank $r: MPI_Comm_rank is SLURM_PROCID, in guest n000$r, and MPI_Allreduce gives 6"
done
[ "$rc" = 0 ] || diag "$out"
out=$(mpirun_vm 2 4 2 2>&1)
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "MPI_Abort(..., 7) in rank 2 fails the step (exit $rc)"
like "$out" "rank 2: PMI: the command aborted with exit code 7" "with a message naming rank 2 and the code"
out=$(mpirun_vm 2 4 1 die 2>&1)
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "rank 1 killed after MPI_Init fails the step (exit $rc)"
like "$out" "rank 1: PMI: the command ended \(exit code 137\) without PMI finalize" \
	"with a message naming rank 1"
rm -f "$TESTS_DIR/t63.mpi_check" "$TESTS_DIR/t63.kill.out"
assert_clean "MPI jobs"
