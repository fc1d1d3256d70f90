#!/bin/sh
# Nothing is left behind when a VM job is cancelled or its launcher is
# killed: no QEMU, no run directory, no overlay.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

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
wait_pid 900 "$srun_pid"
assert_clean "after scancel"

# kill -9 of one launcher: its QEMU dies with it, and Slurm's task exit
# hook removes its run directory.
vsrun -N2 -n2 --vm-image="$DISK" -J t50-kill sh -c 'echo running; exec sleep 600' \
	>"$TESTS_DIR/t50.out" 2>&1 &
srun_pid=$!
wait_for 300 guest_running 2
ok $? "both guests run again"
victim=$(pgrep -n -x slurm-vm-launch)
victim_qemu=$(pgrep -P "$victim")
ok "$([ -n "$victim_qemu" ]; echo $?)" "the launcher's QEMU is its child ($victim_qemu)"
kill -9 "$victim"
wait_for 30 sh -c "! kill -0 $victim_qemu"
ok $? "kill -9 of the launcher takes its QEMU with it"
scancel -n t50-kill
wait_pid 900 "$srun_pid"
assert_clean "after kill -9 of a launcher"
rm -f "$TESTS_DIR/t50.out"

# The job epilog: a QEMU and a run directory that outlived their step (its
# slurmstepd crashed, say) go when the job ends, and the node's log says so.
srun -Q -n1 -J t50-epilog --vm-exec=endpoint sh -c \
	'mkdir "$0/slurm-vm.$SLURM_JOB_ID.77.0.left" && echo "$SLURM_JOB_ID" && sleep 8' \
	"$RUNDIR" >"$TESTS_DIR/t50.out" 2>&1 &
srun_pid=$!
wait_for 60 test -s "$TESTS_DIR/t50.out"
job=$(cat "$TESTS_DIR/t50.out")
# A process of the job's user named like one of its guests, outside any
# step: what a crashed step would leave.
perl -e 'sleep 600' -- -name "slurm-vm.$job.77.0" &
orphan=$!
wait_pid 900 "$srun_pid"
wait_for 30 sh -c "! kill -0 $orphan"
ok $? "the epilog kills a QEMU the job left behind"
wait_pid 900 "$orphan" 2>/dev/null
wait_for 30 sh -c "! ls -d '$RUNDIR'/slurm-vm.$job.* >/dev/null 2>&1"
ok $? "and removes its run directory"
like "$(cat "$LAB"/log/slurmd.*.log)" "vm: job $job epilog: killed 1 QEMU process, removed 1 run directory" \
	"and the node's log says what it did"
assert_clean "after the epilog"
rm -f "$TESTS_DIR/t50.out"
