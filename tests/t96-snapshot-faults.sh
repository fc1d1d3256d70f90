#!/bin/sh
# Snapshots that go wrong keep the last good one: a full disk, and a
# launcher killed during the save, each end with an error naming the rank
# and the cause, leave no partial files and leave the guests running. And a
# time-limited batch job with --signal=USR1@N leaves a complete snapshot
# that a new job restores.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

latest() { readlink "$1/latest"; }

# kept DIR FIRST OUT RANK: after a failed save, DIR/latest still names
# FIRST, complete, nothing partial is left, and RANK's guest counts on.
kept() {
	is "$(latest "$1")" "$2" "the previous snapshot stays the latest"
	st=$([ -f "$1/$2/manifest.json" ] && ! ls -a "$1" | grep -q partial; echo $?)
	ok "$st" "complete, with nothing partial left"
	[ "$st" = 0 ] || diag "$(ls -laR "$1")" "$(cat "$3")"
	n=$(grep -c "$4: count" "$3")
	wait_for 60 at_least "$3" "$4: count" $((n + 5))
	ok $? "rank $4's guest goes on"
}

W=$TESTS_DIR/t96.tmp
rm -rf "$W"
mkdir -p "$W"
cleanup() {
	umount "$W/full" 2>/dev/null
	rm -rf "$W"
}
trap 'cleanup; finish' EXIT
# Each guest fills some memory (so a save takes a while), then counts.
count='head -c "$FILL" /dev/urandom >/dev/shm/fill; echo filled; i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.3; done'

# 1. A full disk: a 200 MB file system holds one snapshot of two guests,
#    not two.
mkdir -p "$W/full"
mount -t tmpfs -o size=200m tmpfs "$W/full"
out=$W/full.out
export FILL=20000000
vsrun -N2 -n2 -l -J t96-full --vm-snapshot="$W/full" sh -c "$count" >"$out" 2>&1 &
pid=$!
wait_for 300 at_least "$out" "count 2" 2
job=$(squeue -h -n t96-full -o %i | head -n 1)
scancel --signal=USR1 "$job.0"
wait_for 120 grep -q "snapshot 1: done" "$out"
ok $? "the first snapshot fits"
first=$(latest "$W/full")
scancel --signal=USR1 "$job.0"
wait_for 120 grep -q "snapshot 2: failed" "$out"
ok $? "the second does not, and fails"
like "$(cat "$out")" "snapshot 2: failed: rank [01] No space left on device; the previous snapshot in .* is kept" \
	"rank 0 names the rank and the cause"
like "$(cat "$out")" "rank [01] cannot save: no space left on the file system of" \
	"the rank that failed says what it could not do"
kept "$W/full" "$first" "$out" 1
scancel -n t96-full
wait_pid 900 "$pid"
assert_clean "after the full disk"

# 2. kill -9 of one launcher while the step is being saved.
S=$W/kill
mkdir -p "$S"
out=$W/kill.out
export FILL=150000000
vsrun -N2 -n2 -l -J t96-kill --vm-mem=384 --vm-snapshot="$S" sh -c "$count" >"$out" 2>&1 &
pid=$!
wait_for 600 at_least "$out" "count 2" 2
job=$(squeue -h -n t96-kill -o %i | head -n 1)
scancel --signal=USR1 "$job.0"
wait_for 120 grep -q "snapshot 1: done" "$out"
first=$(latest "$S")
scancel --signal=USR1 "$job.0"
wait_for 60 grep -q "snapshot 2: 2 guests paused" "$out"
victim=$(pgrep -f "slurm-vm-launch" | while read -r p; do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=1" && echo "$p"
done | head -n 1)
kill -9 "$victim"
wait_for 120 grep -q "snapshot 2: failed" "$out"
ok $? "kill -9 of rank 1's launcher during the save fails the snapshot"
like "$(cat "$out")" "snapshot 2: failed: rank 1 was lost \(its launcher ended\); the previous snapshot in .* is kept" \
	"naming the rank and the cause"
kept "$S" "$first" "$out" 0
scancel -n t96-kill
wait_pid 900 "$pid"
assert_clean "after the killed launcher"

# 3. A time-limited batch job saves itself before its limit, and a new job
#    restores that snapshot.
S=$W/batch
mkdir -p "$S"
cat >"$W/job.sh" <<EOF
#!/bin/sh
#SBATCH -t 1 --signal=USR1@45 -N1 -n1 -o $W/batch.out
FILL=1000 srun -Q -l --vm-kernel="$KERNEL" --vm-initrd="$INITRD" --vm-mem=256 --vm-snapshot="$S" sh -c '$count'
EOF
sbatch -Q "$W/job.sh" >/dev/null
wait_for 200 grep -q "snapshot 1: done" "$W/batch.out"
ok $? "USR1 before the time limit saves the step"
wait_for 200 sh -c "! squeue -h | grep -q ."
ok $? "the job then ends at its limit"
out=$W/restored.out
srun -Q -n1 -l -J t96-rest --vm-restore="$S" true >"$out" 2>&1 &
pid=$!
wait_for 300 at_least "$out" "count" 3
ok $? "a new job restores the batch job's snapshot"
first=$(grep "0: count" "$out" | head -n 1 | sed 's/.*count //')
ok "$([ "${first:-0}" -gt 0 ]; echo $?)" "its counter goes on (from ${first:-?})"
scancel -n t96-rest
wait_pid 900 "$pid"
assert_clean "after the batch job and its restore"
