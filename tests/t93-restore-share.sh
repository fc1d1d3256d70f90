#!/bin/sh
# Fan-out: four steps restore one snapshot at once on one node. A guest
# restored without --vm-snapshot maps the snapshot's memory file
# copy-on-write, so the four guests share its pages through the page cache:
# while each restored guest reads back intact the memory it filled, the
# sum of the QEMUs' proportional set sizes stays well below four private
# copies. The snapshot's files are byte-for-byte unchanged after.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

S=$TESTS_DIR/t93.snap
W=$TESTS_DIR/t93.tmp
FILL=200 # MiB of random data the guest holds in its memory (tmpfs)
rm -rf "$S" "$W"
mkdir -p "$S" "$W"
trap 'scancel -n t93a 2>/dev/null; rm -rf "$S" "$W"; finish' EXIT

# The guest fills FILL MiB of its memory, then prints its checksum again
# and again: every pass reads all of it (after a restore, from the map).
step="mount -o remount,size=280m /tmp &&
dd if=/dev/urandom of=/tmp/fill bs=1M count=$FILL 2>/dev/null &&
echo \"filled \$(md5sum </tmp/fill | cut -c1-32)\" &&
while :; do echo \"sum \$(md5sum </tmp/fill | cut -c1-32)\"; sleep 1; done"
out=$W/first.out
srun -Q -n1 -J t93 --vm-kernel="$KERNEL" --vm-initrd="$INITRD" --vm-mem=384 \
	--vm-snapshot="$S" --vm-snapshot-then=stop sh -c "$step" >"$out" 2>&1 &
srun_pid=$!
wait_for 600 at_least "$out" "^sum " 1
ok $? "the guest filled $FILL MiB and reads it back"
sum=$(sed -n 's/^filled //p' "$out")
job=$(squeue -h -n t93 -o %i | head -n 1)
scancel --signal=USR1 "$job.0"
wait_pid 300 "$srun_pid"
ok "$([ -f "$S/latest/manifest.json" ]; echo $?)" "the step is saved and ends"
(cd "$S/latest/" && sha256sum -- *) >"$W/before.sha"

# One allocation of the node; four one-task steps in it at once.
salloc -Q -N1 -n1 -c2 --no-shell -J t93a >/dev/null 2>&1
alloc=$(squeue -h -n t93a -o %i | head -n 1)
ok "$([ -n "$alloc" ]; echo $?)" "an allocation of the node for the restores"
pids=
for i in 1 2 3 4; do
	srun -Q --jobid="$alloc" --overlap -n1 -c2 --vm-restore="$S" true \
		>"$W/r$i.out" 2>&1 &
	pids="$pids $!"
done
all=0
for i in 1 2 3 4; do
	# The first pass may have begun before the save: wait for two.
	wait_for 900 at_least "$W/r$i.out" "^sum " 2 || all=1
done
ok "$all" "four restores of one snapshot run at once"
bad=0
for i in 1 2 3 4; do
	[ "$(grep '^sum ' "$W/r$i.out" | sort -u)" = "sum $sum" ] || bad=1
done
ok "$bad" "each restored guest reads back the $FILL MiB it saved ($sum)"

qemus=$(pgrep -f -- "-name slurm-vm\.$alloc\.")
is "$(echo "$qemus" | grep -c .)" 4 "four QEMUs on the node"
pss=0 cow=0 rss_max=0 rss_min=
for p in $qemus; do
	kb=$(sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' "/proc/$p/smaps_rollup")
	rss=$(sed -n 's/^Rss: *\([0-9]*\) kB/\1/p' "/proc/$p/smaps_rollup")
	pss=$((pss + ${kb:-0}))
	[ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
	[ -z "$rss_min" ] || [ "${rss:-0}" -lt "$rss_min" ] && rss_min=${rss:-0}
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q 'mem-path=/proc/self/fd/[0-9]*,share=off' &&
		cow=$((cow + 1))
	diag "QEMU $p: Rss $((${rss:-0} / 1024)) MiB, Pss $((${kb:-0} / 1024)) MiB"
done
mem=rank-0.memory
diag "sum of Pss $((pss / 1024)) MiB" \
	"page cache of the memory file: $(fincore -n -o RES "$S/latest/$mem" 2>/dev/null)"
is "$cow" 4 "each maps the snapshot's memory copy-on-write (share=off)"
ok "$([ "${rss_min:-0}" -ge $((FILL * 1024)) ]; echo $?)" \
	"each has the guest's $FILL MiB mapped (the smallest Rss: $((${rss_min:-0} / 1024)) MiB)"
# Private copies would make the sum of Pss about four times one QEMU's
# Rss; shared pages count a quarter in each.
ok "$([ "$pss" -gt 0 ] && [ "$pss" -lt $((2 * rss_max)) ]; echo $?)" \
	"the four guests share the snapshot's pages: sum of Pss $((pss / 1024)) MiB < 2 x the largest Rss ($((rss_max / 1024)) MiB; private copies: about $((4 * rss_max / 1024)))"

scancel "$alloc"
# shellcheck disable=SC2086 # one word per pid
wait_pid 300 $pids
(cd "$S/latest/" && sha256sum -c --quiet "$W/before.sha") >"$W/check" 2>&1
ok $? "the snapshot's files are unchanged after four restores"
assert_clean "after the restores"
