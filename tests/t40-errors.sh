#!/bin/sh
# Bad input fails before any job starts, with a message naming the option,
# the value and the fix; a guest that never becomes ready fails the task
# within the timeout, with the console's last lines.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
tmp=$TESTS_DIR/t40.tmp
mkdir -p "$tmp/adir"
: >"$tmp/empty.img"
cp "$KERNEL" "$tmp/noread"
chmod 000 "$tmp/noread"

# Job ids are consecutive: a refused request must not use one up.
first_job=$(srun -Q -n1 printenv SLURM_JOB_ID)

refused() { # refused DESCRIPTION PATTERN srun-args...
	desc=$1 pattern=$2
	shift 2
	out=$(srun -Q -n1 "$@" true 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ]; echo $?)" "$desc: srun fails (rc $rc)"
	like "$out" "$pattern" "$desc: the message names the problem and the fix"
}

refused "missing image" "--vm-image=/nonexistent.qcow2: No such file.*give the path of a qcow2 or raw disk image" \
	--vm-image=/nonexistent.qcow2
refused "missing kernel" "--vm-kernel=nokernel: No such file" --vm-kernel=nokernel
refused "directory as image" "--vm-image=.*adir: is a directory" --vm-image="$tmp/adir"
refused "empty image" "--vm-image=.*empty.img: the file is empty" --vm-image="$tmp/empty.img"
refused "initrd without kernel" "--vm-initrd needs --vm-kernel" --vm-image="$DISK" --vm-initrd="$INITRD"
refused "append without kernel" "--vm-append needs --vm-kernel" --vm-image="$DISK" --vm-append=quiet
refused "neither image nor kernel" "nothing to boot: give --vm-image=DISK or --vm-kernel=KERNEL" --vm-mem=512
refused "non-numeric memory" "--vm-mem=lots: not a whole number of megabytes" --vm-kernel="$KERNEL" --vm-mem=lots
refused "negative memory" "--vm-mem=-1: not a whole number" --vm-kernel="$KERNEL" --vm-mem=-1
refused "zero memory" "--vm-mem=0: not a whole number" --vm-kernel="$KERNEL" --vm-mem=0
refused "zero vCPUs" "--vm-cpus=0: not a whole number of vCPUs" --vm-kernel="$KERNEL" --vm-cpus=0
refused "non-numeric vCPUs" "--vm-cpus=x: not a whole number of vCPUs" --vm-kernel="$KERNEL" --vm-cpus=x
refused "negative vCPUs" "--vm-cpus=-2: not a whole number of vCPUs" --vm-kernel="$KERNEL" --vm-cpus=-2
if [ "$(id -u)" != 0 ]; then
	refused "unreadable kernel" "not readable by you" --vm-kernel="$tmp/noread"
fi
out=$(SLURMVM_MEM=big srun -Q -n1 --vm-kernel="$KERNEL" true 2>&1)
like "$out" "SLURMVM_MEM=big: not a whole number" "a bad SLURMVM_* variable is named as such"

out=$(sbatch --vm-kernel=/nonexistent --wrap=true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "sbatch refuses a bad --vm-kernel (rc $rc)"
like "$out" "--vm-kernel=/nonexistent: No such file" "sbatch names the option and value"
next_job=$(srun -Q -n1 printenv SLURM_JOB_ID)
is "$next_job" "$((first_job + 1))" "no refused request created a job"

set_plugstack "$(plugstack_line) colour=blue"
out=$(srun -Q -n1 true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "an unknown plugstack key stops srun (rc $rc)"
like "$out" "unknown key 'colour'.*refuses to load" "the plugin says which key and that it refuses to load"
set_plugstack "$(plugstack_line)"

# A guest whose init never starts the agent.
set_plugstack "$(plugstack_line | sed 's/boot_timeout=[0-9]*/boot_timeout=15/')"
start=$(date +%s)
out=$(vsrun -n1 --vm-append='rdinit=/bin/sh -- -c "echo stuck-before-agent; sleep 1000"' true 2>&1)
rc=$?
took=$(($(date +%s) - start))
set_plugstack "$(plugstack_line)"
is "$rc" 125 "a guest that never becomes ready fails the task with 125"
like "$out" "did not start its agent within 15 s" "the error names the timeout"
like "$out" "stuck-before-agent" "and quotes the console's last lines"
ok "$([ "$took" -lt 60 ]; echo $?)" "it fails within the timeout (${took} s for 15 s)"
rm -rf "$tmp"
assert_clean "refused and failed jobs"
