#!/bin/sh
# scancel during a save: a step whose snapshot is being written to a slow
# disk ends within Slurm's KillWait (30 s on the lab), through the
# launchers' own shut-down (not SIGKILL), and the partial snapshot is
# removed. The slow disk: QEMU's migration capped at a few kB/s through
# SLURMVM_TEST_SAVE_BPS, a knob for tests that the plugin never sets (the
# lab has no device-mapper delay target and no cgroup I/O controller), so
# the guests' device state (about 0.4 MB) alone takes minutes to write.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

S=$TESTS_DIR/t98.snap
W=$TESTS_DIR/t98.tmp
rm -rf "$S" "$W"
mkdir -p "$S" "$W"
trap 'rm -rf "$S" "$W"; finish' EXIT
count='i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.3; done'

out=$W/out
SLURMVM_TEST_SAVE_BPS=4000 vsrun -N2 -n2 -l -J t98 --vm-stats --vm-snapshot="$S" \
	sh -c "$count" >"$out" 2>&1 &
pid=$!
wait_for 300 at_least "$out" "1: count" 3
wait_for 60 at_least "$out" "0: count" 3
job=$(squeue -h -n t98 -o %i | head -n 1)
scancel --signal=USR1 "$job.0"
wait_for 60 grep -q "snapshot 1: 2 guests paused" "$out"
ok $? "the save starts"
sleep 3
st=$(ls -a "$S" | grep -q partial; echo $?)
ok "$st" "3 s later it is still being written (the disk is slow)"
[ "$st" = 0 ] || diag "$(ls -la "$S")" "$(cat "$out")"

# The step has ended when its launchers have (srun may return before).
ended() { ! pgrep -x slurm-vm-launch >/dev/null && [ -z "$(squeue -h -j "$job")" ]; }
t0=$(date +%s)
scancel "$job"
wait_for 60 ended
t=$(($(date +%s) - t0))
ok "$([ "$t" -lt 30 ]; echo $?)" "scancel ends the step within KillWait (${t} s)"
wait_pid 900 "$pid"
like "$(cat "$out")" "rank [01] cannot save: the step is being stopped" \
	"the launchers give their part of the save up"
like "$(cat "$out")" "snapshot 1: failed: rank [01] Operation canceled; the previous snapshot in .* is kept" \
	"rank 0 says the snapshot failed, and why"
like "$(cat "$out")" "n000[01]: the guest powered off in" \
	"the guests are powered off, not killed"
is "$(ls -A "$S" | tr '\n' ' ')" "" "the partial snapshot is removed, nothing else is there"
[ -z "$(ls -A "$S")" ] || diag "$(ls -laR "$S")" "$(cat "$out")"
assert_clean "after the cancelled save"
