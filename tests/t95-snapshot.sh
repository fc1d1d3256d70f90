#!/bin/sh
# Collective snapshots: a 3-task step over 2 nodes is saved on USR1 and
# goes on; a new job restores it on 3 nodes, where the counters and a TCP
# stream between two guests continue from the cut, with no gap and no
# duplicate. Mismatched restores are refused before the job starts.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 3

# contiguous FILE PREFIX: the numbers after PREFIX, in order, step by one
contiguous() {
	grep -- "$2" "$1" | sed "s/.*$2//" | awk 'NR > 1 && $1 != prev + 1 {bad = 1} {prev = $1} END {exit bad || NR < 3}'
}
first_value() { grep -- "$2" "$1" | head -n 1 | sed "s/.*$2//"; }
last_value() { grep -- "$2" "$1" | tail -n 1 | sed "s/.*$2//"; }

S=$TESTS_DIR/t95.snap
W=$TESTS_DIR/t95.tmp
rm -rf "$S" "$W"
mkdir -p "$S" "$W"
# The kernel the step boots, a copy of the test guest's: changed later.
cp -p "$KERNEL" "$W/vmlinux"

# Rank 0 counts and streams numbered lines over TCP to rank 1, which prints
# what it gets; rank 2 counts. Port 9001 tells rank 0 that rank 1 listens.
# The listener's stdin never ends: nc stops at the end of its stdin.
step='
case $SLURM_PROCID in
0) until nc n0001 9001 </dev/null 2>/dev/null; do sleep 0.5; done
   (i=0; while :; do echo "seq $i"; i=$((i+1)); sleep 0.1; done) | nc n0001 9000 &
   i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.2; done ;;
1) sleep 100000 | nc -l -p 9000 | while read -r l; do echo "got $l"; done &
   sleep 1; nc -l -p 9001 </dev/null >/dev/null; wait ;;
2) i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.2; done ;;
esac'

out=$W/first.out
srun -Q -N2 -n3 -l -J t95 --vm-kernel="$W/vmlinux" --vm-initrd="$INITRD" --vm-mem=256 \
	--vm-snapshot="$S" sh -c "$step" >"$out" 2>&1 &
srun_pid=$!
wait_for 300 at_least "$out" "1: got seq" 10
ok $? "the stream runs from rank 0 to rank 1"
# Both counters have started too (the last guest to boot may lag).
wait_for 300 at_least "$out" "2: count" 3
wait_for 60 at_least "$out" "0: count" 3
job=$(squeue -h -n t95 -o %i | head -n 1)
scancel --signal=USR1 "$job.0"
wait_for 120 grep -q "snapshot 1: done" "$out"
ok $? "USR1 saves the step"
like "$(cat "$out")" "0: slurm-vm: n0000: snapshot 1: 3 guests paused in [0-9.]+ s" \
	"rank 0 says when every guest is paused"
like "$(cat "$out")" "snapshot 1: done: 3 guests, [0-9.]+ MB in [0-9.]+ s \([0-9]+ MB/s\); the guests were paused [0-9.]+ s" \
	"and the size, the time, the throughput and the pause"
ok "$([ -f "$S/latest/manifest.json" ]; echo $?)" "the snapshot has its manifest, written last"
c_done=$(last_value "$out" "2: count ")
wait_for 60 sh -c "[ \$(grep '2: count ' '$out' | tail -n 1 | sed 's/.*count //') -ge $((c_done + 10)) ]"
ok $? "the step goes on after the save"
scancel -n t95
wait_pid 900 "$srun_pid"
assert_clean "after the first job"
left=$(ls -a "$S" | grep -c partial)
is "$left" 0 "no partial snapshot is left"

# Restore on another placement: one task per node.
out2=$W/restored.out
srun -Q -N3 -n3 -l -J t95r --vm-restore="$S" true >"$out2" 2>&1 &
srun_pid=$!
wait_for 300 at_least "$out2" "1: got seq" 20
ok $? "the restored step's stream flows again"
wait_for 60 at_least "$out2" "2: count" 20
scancel -n t95r
wait_pid 900 "$srun_pid"
contiguous "$out2" "0: count "
ok $? "rank 0's counter goes on with no gap and no duplicate"
contiguous "$out2" "2: count "
ok $? "rank 2's counter too"
contiguous "$out2" "1: got seq "
ok $? "the stream resumes with no gap and no duplicate"
first=$(first_value "$out2" "1: got seq ")
ok "$([ "${first:-0}" -gt 0 ] && [ "$first" -le "$(last_value "$out" "1: got seq ")" ]; echo $?)" \
	"it resumes where the cut was (seq ${first:-?}), not from the start"
first=$(first_value "$out2" "2: count ")
ok "$([ "${first:-0}" -gt 0 ] && [ "$first" -le "$(last_value "$out" "2: count ")" ]; echo $?)" \
	"rank 2 counts on from the cut (${first:-?}), not from 0 nor from where the first job ended"
assert_clean "after the restore"

# Mismatches are refused before any job starts.
out3=$(srun -Q -n2 --vm-restore="$S" true 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "restoring 3 tasks as 2 fails"
like "$out3" "has 3 tasks.*-n3" "naming both counts and the fix"
touch -d '1 hour ago' "$W/vmlinux"
out3=$(srun -Q -n3 --vm-restore="$S" true 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "a snapshot of a kernel changed since is refused"
like "$out3" "kernel .*vmlinux changed since the snapshot" "saying which file changed"
assert_clean "after the refused restores"
rm -rf "$S" "$W"
