#!/bin/sh
# Golden snapshots: a 2-task step over 2 nodes is saved once both agents
# are ready (--vm-snapshot-at=ready), before any command. Three steps
# restore it, each running its own command with its own output and exit
# code; each clone gets the present time and a machine-id of its own; the
# snapshot is byte for byte what it was.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

S=$TESTS_DIR/t94.snap
C=$TESTS_DIR/t94.cont
D=$TESTS_DIR/t94.disk
W=$TESTS_DIR/t94.tmp
rm -rf "$S" "$C" "$D" "$W"
mkdir -p "$S" "$C" "$D" "$W"
trap 'rm -rf "$S" "$C" "$D" "$W"; finish' EXIT

# A restored guest with a disk, saved into the directory it came from,
# which removes the snapshot it was restored from: the new snapshot's disk
# must not need it.
disk_chain() {
	srun -Q -n1 -l -J t94d --vm-image="$DISK" --vm-mem=256 --vm-snapshot="$D" \
		--vm-snapshot-at=ready --vm-snapshot-then=stop true >"$W/d0.out" 2>&1
	is "$?" 0 "an image-booted guest is saved at ready"
	loop='echo gen1 | dd of=/dev/vda bs=512 seek=4096 conv=notrunc 2>/dev/null; sync
while :; do echo 3 >/proc/sys/vm/drop_caches
echo "disk $(dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | head -c 4)"; sleep 1; done'
	srun -Q -n1 -l -J t94d1 --vm-restore="$D" --vm-snapshot="$D" sh -c "$loop" \
		>"$W/d1.out" 2>&1 &
	pid=$!
	wait_for 200 grep -q "disk gen1" "$W/d1.out"
	ok $? "restored from it, the guest writes its disk"
	job=$(squeue -h -n t94d1 -o %i | head -n 1)
	scancel --signal=USR1 "$job.0"
	wait_for 120 grep -q "snapshot [0-9]*: done" "$W/d1.out"
	ok $? "and is saved into the directory it was restored from"
	scancel -n t94d1
	wait_pid 900 "$pid"
	is "$(ls "$D" | grep -c '^snap\.')" 1 "the snapshot it was restored from is gone"
	srun -Q -n1 -l -J t94d2 --vm-restore="$D" true >"$W/d2.out" 2>&1 &
	pid=$!
	wait_for 200 at_least "$W/d2.out" "disk gen1" 2
	rc=$?
	ok $rc "the new snapshot restores, its disk whole without the removed one"
	[ $rc = 0 ] || sed 's/^/# /' "$W/d1.out" "$W/d2.out" | tail -n 30
	scancel -n t94d2
	wait_pid 900 "$pid"
	assert_clean "after the disk's generations"
}
disk_chain

# Each file of the snapshot directory with its checksum (through latest).
sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); }

# Saved at ready, then the step stops: no command runs.
vsrun -N2 -n2 -l -J t94 --vm-snapshot="$S" --vm-snapshot-at=ready \
	--vm-snapshot-then=stop sh -c 'echo "the command ran"' >"$W/save.out" 2>&1
is "$?" 0 "saved at ready with then=stop: the step ends well"
like "$(cat "$W/save.out")" "every guest is ready: saving" "rank 0 says why it saves"
like "$(cat "$W/save.out")" "snapshot 1: done: 2 guests" "the snapshot is done"
ok "$(! grep -q "the command ran" "$W/save.out"; echo $?)" "and the command never ran"
like "$(cat "$S/latest/manifest.json" 2>/dev/null)" '"at": *"ready"' \
	"the manifest says it was taken at ready"
assert_clean "after the save at ready"

# then=continue: saved, then the step's own command runs.
vsrun -N2 -n2 -l -J t94c --vm-snapshot="$C" --vm-snapshot-at=ready \
	sh -c 'echo "ran after the save"' >"$W/cont.out" 2>&1
is "$?" 0 "saved at ready with then=continue"
is "$(grep -c "ran after the save" "$W/cont.out")" 2 "both ranks then ran the command"
ok "$([ -f "$C/latest/manifest.json" ]; echo $?)" "and the snapshot is there"
rm -rf "$C"

sums "$S/latest/" >"$W/before"
before_ls=$(ls -la "$S" | wc -l)
sleep 10 # a clone with the snapshot's clock would be 10 s behind

# Restore 1: stdin reaches rank 0's command; output is this step's own.
printf 'piped in\n' | srun -Q -N2 -n2 -l --vm-restore="$S" \
	sh -c 'echo "A $SLURM_PROCID"; cat' >"$W/r1.out" 2>&1
is "$?" 0 "the first restore runs its own command"
like "$(cat "$W/r1.out")" "0: A 0" "rank 0 says A"
like "$(cat "$W/r1.out")" "1: A 1" "rank 1 too"
like "$(cat "$W/r1.out")" "0: piped in" "srun's stdin reaches the restored guest"

# Restore 2: the clock, the hostname and the machine-id.
t0=$(date +%s)
srun -Q -N2 -n2 -l --vm-restore="$S" \
	sh -c 'echo "host $(hostname)"; echo "clock $(date +%s)"; echo "id $(cat /etc/machine-id)"' \
	>"$W/r2.out" 2>&1
rc=$?
t1=$(date +%s)
is "$rc" 0 "the second restore runs another command"
like "$(cat "$W/r2.out")" "0: host n0000" "rank 0's hostname is its rank's"
like "$(cat "$W/r2.out")" "1: host n0001" "rank 1's too"
for r in 0 1; do
	c=$(grep "^$r: clock " "$W/r2.out" | sed 's/.*clock //')
	ok "$([ -n "$c" ] && [ "$c" -ge $((t0 - 3)) ] && [ "$c" -le $((t1 + 3)) ]; echo $?)" \
		"rank $r's clock is the present ($c, host $t0..$t1), not the snapshot's"
done
ids=$(grep ": id " "$W/r2.out" | sed 's/.*id //')
is "$(echo "$ids" | grep -cE '^[0-9a-f]{32}$')" 2 "each clone has a machine-id"
is "$(echo "$ids" | sort -u | wc -l)" 2 "and no two share one"
srun -Q -N2 -n2 -l --vm-restore="$S" cat /etc/machine-id >"$W/r2b.out" 2>&1
ids2=$(sed 's/^[0-9]*: //' "$W/r2b.out")
is "$(printf '%s\n%s\n' "$ids" "$ids2" | sort -u | wc -l)" 4 \
	"another restore gets other machine-ids"

# Restore 3: its own exit code.
srun -Q -N2 -n2 -l --vm-restore="$S" sh -c 'echo "C $SLURM_PROCID"; exit 3' \
	>"$W/r3.out" 2>&1
is "$?" 3 "the third restore fails with its command's code"
like "$(cat "$W/r3.out")" "1: C 1" "with its own output"
ok "$(! grep -q "A 0\|host n" "$W/r3.out"; echo $?)" "and none of the others'"

sums "$S/latest/" >"$W/after"
ok "$(cmp -s "$W/before" "$W/after"; echo $?)" \
	"the snapshot is byte for byte what it was ($(wc -l <"$W/after") files)"
is "$(ls -la "$S" | wc -l)" "$before_ls" "and nothing was added beside it"
assert_clean "after the restores"

# At ready with --vm-restore: refused before any job exists.
out=$(srun -Q -n2 --vm-restore="$S" --vm-snapshot="$S" --vm-snapshot-at=ready true 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "a restore cannot save at ready"
like "$out" "restore the ready snapshot without --vm-snapshot-at" "naming the fix"
