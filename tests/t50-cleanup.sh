#!/bin/sh
# Nothing is left behind when a VM job is cancelled or its launcher is
# killed: no QEMU, no run directory, no overlay.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
	t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ] && ! "$@" >/dev/null 2>&1; do
		sleep 0.1
		t=$((t - 1))
	done
	"$@" >/dev/null 2>&1
}
guest_running() { [ "$(grep -c running "$TESTS_DIR/t50.out" 2>/dev/null)" -ge "$1" ]; }

# scancel of a running two-node VM job (with an image, so overlays exist).
vsrun -N2 -n2 --vm-image="$DISK" -J t50-cancel sh -c 'echo running; exec sleep 600' \
	>"$TESTS_DIR/t50.out" 2>&1 &
srun_pid=$!
wait_for 300 guest_running 2
ok $? "both guests run their command"
overlays=$(ls "$RUNDIR"/slurm-vm.*/disk.qcow2 2>/dev/null | wc -l)
is "$overlays" 2 "each task has its overlay in the run directory"
scancel -n t50-cancel
wait "$srun_pid"
assert_clean "after scancel"

# kill -9 of one launcher: its QEMU dies with it, and Slurm's task exit
# hook removes its run directory.
vsrun -N2 -n2 --vm-image="$DISK" -J t50-kill sh -c 'echo running; exec sleep 600' \
	>"$TESTS_DIR/t50.out" 2>&1 &
srun_pid=$!
wait_for 300 guest_running 2
ok $? "both guests run again"
victim=$(pgrep -f -n slurm-vm-launch)
victim_qemu=$(pgrep -P "$victim")
ok "$([ -n "$victim_qemu" ]; echo $?)" "the launcher's QEMU is its child ($victim_qemu)"
kill -9 "$victim"
wait_for 30 sh -c "! kill -0 $victim_qemu"
ok $? "kill -9 of the launcher takes its QEMU with it"
scancel -n t50-kill
wait "$srun_pid"
assert_clean "after kill -9 of a launcher"
rm -f "$TESTS_DIR/t50.out"
