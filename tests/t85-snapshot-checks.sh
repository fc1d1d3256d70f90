#!/bin/sh
# Snapshots on the lab, around the save itself: a restore that cannot work
# is refused before any task starts (task count, a changed kernel, boot
# options beside it, no snapshot), bad snapshot options are refused, and
# the job epilog finishes what a job's saves left in a recorded directory.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
tmp=$TESTS_DIR/t85.tmp
rm -rf "$tmp"
mkdir -p "$tmp/snaps" "$tmp/empty"
cp "$KERNEL" "$tmp/vmlinux"
touch -d @1700000000 "$tmp/vmlinux"
sha=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

file() { # file DIR NAME KIND RANK CONTENT: writes it, prints its JSON
	printf '%s' "$5" >"$1/rank-$4.$2"
	printf '"%s":{"name":"rank-%s.%s","size":%s,"sha256":"%s"}' \
		"$3" "$4" "$2" "$(stat -c %s "$1/rank-$4.$2")" "$sha"
}

memory() { # memory DIR RANK: a 1 MiB memory file (a hole), prints its JSON
	truncate -s 1M "$1/rank-$2.memory"
	printf '"memory":{"name":"rank-%s.memory","size":1048576,"stored":0,"sha256":"%s"}' \
		"$2" "$sha"
}

# snapshot DIR NAME JOB NTASKS: a complete snapshot of NTASKS ranks booted
# from $tmp/vmlinux, its files written (checksums are not checked here).
snapshot() {
	d=$1/$2
	mkdir -p "$d"
	ranks=
	r=0
	while [ $r -lt "$4" ]; do
		ranks="$ranks${ranks:+,}{\"rank\":$r,\"node\":\"n1\",\"mem_mb\":1,\"cpus\":1,\"image\":null,\"kernel\":{\"path\":\"$tmp/vmlinux\",\"size\":$(stat -c %s "$tmp/vmlinux"),\"mtime_ns\":1700000000000000000},\"initrd\":null,\"files\":{$(file "$d" vmstate vmstate $r devices),$(memory "$d" $r),$(file "$d" frames frames $r ''),$(file "$d" agent agent $r '{}')}}"
		r=$((r + 1))
	done
	printf '{"format":"slurm-vm-snapshot","version":2,"job":%s,"step":0,"ntasks":%s,"seq":1,"cut_time":"2026-11-22T10:00:00Z","pause_ms":5,"qemu_version":"8.2.2","ranks":[%s]}\n' \
		"$3" "$4" "$ranks" >"$d/manifest.json"
}

snapshot "$tmp/snaps" snap.9.0.1 9 3
ln -s snap.9.0.1 "$tmp/snaps/latest"

refused() { # refused DESCRIPTION PATTERN srun-args...
	desc=$1 pattern=$2
	shift 2
	out=$(srun -Q "$@" true 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ]; echo $?)" "$desc: srun fails (rc $rc)"
	like "$out" "$pattern" "$desc: the message says why"
}

refused "a restore of 3 tasks with 2" \
	"--vm-restore=$tmp/snaps: the snapshot has 3 tasks, this step has 2; run with -n3" \
	-n2 --vm-restore="$tmp/snaps"
refused "boot options beside a restore" "--vm-kernel comes from the snapshot with --vm-restore" \
	-n3 --vm-restore="$tmp/snaps" --vm-kernel="$KERNEL"
refused "a directory without snapshots" "--vm-restore=.*empty: .*holds no complete snapshot" \
	-n1 --vm-restore="$tmp/empty"
touch "$tmp/vmlinux"
refused "a kernel changed since the snapshot" \
	"rank 0: kernel $tmp/vmlinux changed since the snapshot" \
	-n3 --vm-restore="$tmp/snaps"
refused "a snapshot signal Slurm needs" "--vm-snapshot-signal=TERM: SIGTERM is Slurm's or the launcher's own" \
	-n1 --vm-kernel="$KERNEL" --vm-snapshot="$tmp/snaps" --vm-snapshot-signal=TERM
refused "a snapshot option without --vm-snapshot" "--vm-snapshot-at refines --vm-snapshot" \
	-n1 --vm-kernel="$KERNEL" --vm-snapshot-at=end
out=$(sbatch --vm-restore="$tmp/empty" --wrap=true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "sbatch refuses a restore from nothing (rc $rc)"
like "$out" "holds no complete snapshot" "and says why"

# The epilog: a step recorded a snapshot directory holding one save it
# did not finish and one complete snapshot; both of this job.
srun -Q -n1 --vm-exec=endpoint sh -c '
	d=$1 j=$SLURM_JOB_ID
	mkdir -p "$d/.partial.$j.0.1" && echo half >"$d/.partial.$j.0.1/rank-0.vmstate"
	echo "$d" >"$2/slurm-vm.$j.snapdirs"
	echo "$j"' sh "$tmp/snaps" "$RUNDIR" >"$tmp/job" 2>&1
job=$(cat "$tmp/job")
ok "$([ -n "$job" ]; echo $?)" "a step recorded a snapshot directory (job $job)"
i=0
while [ $i -lt 100 ] && [ -e "$RUNDIR/slurm-vm.$job.snapdirs" ]; do
	sleep 0.1
	i=$((i + 1))
done
ok "$([ ! -e "$tmp/snaps/.partial.$job.0.1" ]; echo $?)" "the epilog removes the unfinished save"
ok "$([ ! -e "$RUNDIR/slurm-vm.$job.snapdirs" ]; echo $?)" "and the record"
like "$(cat "$LAB"/log/slurmd.*.log)" "vm: job $job epilog: removed $tmp/snaps/.partial.$job.0.1: an unfinished or failed save" \
	"the node's log says what it did"
ok "$([ -e "$tmp/snaps/snap.9.0.1/manifest.json" ]; echo $?)" "another job's snapshot is untouched"
rm -rf "$tmp"
assert_clean "snapshot checks"
