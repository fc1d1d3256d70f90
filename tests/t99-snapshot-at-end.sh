#!/bin/sh
# --vm-snapshot-at=end: when Slurm ends a step (scancel here, the time
# limit alike), the step is saved before its commands hear of it, the
# guests then stop, and a later step restores it: the counters go on from
# where the end came.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

S=$TESTS_DIR/t99.snap
W=$TESTS_DIR/t99.tmp
rm -rf "$S" "$W"
mkdir -p "$S" "$W"
trap 'rm -rf "$S" "$W"; finish' EXIT
count='trap "echo heard TERM; exit 9" TERM; i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.3; done'
last_value() { grep -- "$2" "$1" | tail -n 1 | sed "s/.*$2//"; }
first_value() { grep -- "$2" "$1" | head -n 1 | sed "s/.*$2//"; }

out=$W/out
vsrun -N2 -n2 -l -J t99 --vm-snapshot="$S" --vm-snapshot-at=end \
	sh -c "$count" >"$out" 2>&1 &
pid=$!
wait_for 300 at_least "$out" "1: count" 3
wait_for 60 at_least "$out" "0: count" 3
job=$(squeue -h -n t99 -o %i | head -n 1)
ok "$([ -z "$(ls -A "$S")" ]; echo $?)" "nothing is saved while the step runs"
scancel "$job"
wait_pid 900 "$pid"
like "$(cat "$out")" "snapshot 1: done: 2 guests" "scancel: the step is saved first"
ok "$([ -f "$S/latest/manifest.json" ]; echo $?)" "the snapshot is complete (its manifest)"
[ -f "$S/latest/manifest.json" ] || diag "$(cat "$out")" "$(ls -laR "$S")"
ok "$(! grep -q "heard TERM" "$out"; echo $?)" \
	"the commands did not hear of the end: the guests stopped after the save"
end0=$(last_value "$out" "0: count ")
assert_clean "after the step saved at its end"

out2=$W/restored
srun -Q -N2 -n2 -l -J t99r --vm-restore="$S" true >"$out2" 2>&1 &
pid=$!
wait_for 300 at_least "$out2" "0: count" 5
first=$(first_value "$out2" "0: count ")
ok "$([ -n "$first" ] && [ "$first" -gt 0 ] && [ "$first" -le $((end0 + 1)) ]; echo $?)" \
	"the restored counter goes on from the end (${end0:-?} -> ${first:-?}), not from 0"
wait_for 60 at_least "$out2" "1: count" 5
ok $? "both ranks run again"
scancel -n t99r
wait_pid 900 "$pid"
assert_clean "after the restored step"
