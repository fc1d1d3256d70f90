#!/bin/sh
# Site policy in plugstack.conf: every rule refuses a request outside it
# before any job exists, with a message naming the plugstack line; a request
# inside it runs. Rank specs give ranks their own values (rank 0 more
# memory, seen in the guest); --vm-disk and --vm-disk-persist reach the
# guest; --vm-mem above the task's share of --mem fails before boot.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
tmp=$TESTS_DIR/t45.tmp
rm -rf "$tmp"
mkdir -p "$tmp/allowed" "$tmp/keep"
ln -s "$KERNEL" "$tmp/allowed/vmlinux"
head -c 1048576 /dev/zero >"$tmp/data.img"
cp "$tmp/data.img" "$tmp/allowed/in.img"

refused() { # refused DESCRIPTION PATTERN srun-args...
	desc=$1 pattern=$2
	shift 2
	out=$(srun -Q -n1 "$@" true 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ]; echo $?)" "$desc: srun fails (rc $rc)"
	like "$out" "$pattern" "$desc: the message names the policy line and the fix"
}

# Job ids are consecutive: a refused request must not use one up.
first_job=$(srun -Q -n1 printenv SLURM_JOB_ID)

set_plugstack "$(plugstack_line) image_dirs=$tmp/allowed"
refused "kernel outside image_dirs" \
	"--vm-kernel=$KERNEL: outside the site's image directories \(plugstack.conf: image_dirs=$tmp/allowed\); use a file from one of them" \
	--vm-kernel="$KERNEL"
refused "a symbolic link out of image_dirs" \
	"--vm-kernel=$tmp/allowed/vmlinux: outside the site's image directories \(it resolves to $(readlink -f "$KERNEL")\)" \
	--vm-kernel="$tmp/allowed/vmlinux"
refused "'..' out of image_dirs" \
	"--vm-image=$tmp/allowed/../data.img: outside the site's image directories \(it resolves to $(readlink -f "$tmp/data.img")\)" \
	--vm-image="$tmp/allowed/../data.img"
refused "a disk outside image_dirs" "--vm-disk=$tmp/data.img,ro: outside the site's image directories" \
	--vm-image="$tmp/allowed/in.img" --vm-disk="$tmp/data.img,ro"
refused "one rank's image outside image_dirs" "--vm-image \(ranks 1-: $DISK\): outside" \
	--vm-image="0:$tmp/allowed/in.img,1-:$DISK"

set_plugstack "$(plugstack_line) max_mem=512 max_cpus=1"
refused "memory above max_mem" \
	"--vm-mem=1024: above the site's limit \(plugstack.conf: max_mem=512\); ask for at most --vm-mem=512" \
	--vm-kernel="$KERNEL" --vm-mem=1024
refused "one rank's memory above max_mem" "--vm-mem \(rank 0: 1024\): above the site's limit \(plugstack.conf: max_mem=512\)" \
	--vm-kernel="$KERNEL" --vm-mem=0:1024,1-:256
refused "vCPUs above max_cpus" \
	"--vm-cpus=2: above the site's limit \(plugstack.conf: max_cpus=1\); ask for at most --vm-cpus=1" \
	--vm-kernel="$KERNEL" --vm-cpus=2
out=$(SLURMVM_MEM=4096 srun -Q -n1 --vm-kernel="$KERNEL" true 2>&1)
like "$out" "SLURMVM_MEM=4096: above the site's limit \(plugstack.conf: max_mem=512\)" \
	"a SLURMVM_* variable is held to the policy too"
out=$(sbatch --vm-kernel="$KERNEL" --vm-mem=1024 --wrap=true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "sbatch refuses memory above max_mem (rc $rc)"
like "$out" "--vm-mem=1024: above the site's limit \(plugstack.conf: max_mem=512\)" "sbatch names the policy line"

set_plugstack "$(plugstack_line)"
refused "QEMU arguments by default" \
	"--vm-qemu-args: this site does not allow extra QEMU arguments \(plugstack.conf: allow_qemu_args=no, the default\)" \
	--vm-kernel="$KERNEL" --vm-qemu-args="-device virtio-rng-pci"
refused "a backwards rank range" "--vm-mem=3-1:256: the range 3-1 runs backwards; write the lower rank first \(1-3\)" \
	--vm-kernel="$KERNEL" --vm-mem=3-1:256
refused "an empty rank value" "--vm-cpus=0:1,1-:: rank 1- has an empty value" \
	--vm-kernel="$KERNEL" --vm-cpus=0:1,1-:
refused "a hidden rank entry" "--vm-mem=0-:256,1:384: the entry for rank 1 is never used" \
	--vm-kernel="$KERNEL" --vm-mem=0-:256,1:384
refused "--vm-disk-persist without an image" "--vm-disk-persist keeps each rank's overlay of its --vm-image" \
	--vm-kernel="$KERNEL" --vm-disk-persist="$tmp/keep"
refused "a missing disk" "--vm-disk=$tmp/nodisk.img: No such file" \
	--vm-kernel="$KERNEL" --vm-disk="$tmp/nodisk.img"
next_job=$(srun -Q -n1 printenv SLURM_JOB_ID)
is "$next_job" "$((first_job + 1))" "no refused request created a job"

# Inside the policy, a rank spec gives rank 0 more memory than rank 1.
set_plugstack "$(plugstack_line) image_dirs=$GUEST max_mem=512 max_cpus=1 allow_qemu_args=yes"
out=$(srun -Q -n2 -l --vm-kernel="$KERNEL" --vm-initrd="$INITRD" --vm-mem=0:384,1-:256 \
	--vm-qemu-args="-device virtio-rng-pci" sh -c 'grep MemTotal /proc/meminfo; echo pci $(cat /sys/bus/pci/devices/*/device)' 2>&1)
is "$?" 0 "a request inside image_dirs, max_mem, max_cpus and with allowed QEMU arguments runs"
m0=$(printf '%s\n' "$out" | sed -n 's/^0: MemTotal: *\([0-9]*\) kB/\1/p')
m1=$(printf '%s\n' "$out" | sed -n 's/^1: MemTotal: *\([0-9]*\) kB/\1/p')
diag "MemTotal: rank 0 ${m0:-?} kB, rank 1 ${m1:-?} kB"
ok "$([ -n "$m0" ] && [ -n "$m1" ] && [ "$m0" -le 393216 ] && [ "$m1" -le 262144 ] &&
	[ $((m0 - m1)) -ge 120000 ] && [ $((m0 - m1)) -le 135000 ]; echo $?)" \
	"--vm-mem=0:384,1-:256: rank 0's guest has 128 MiB more memory than rank 1's"
like "$out" "0: pci .*0x(1005|1044)" "--vm-qemu-args reached QEMU: the guest has a virtio-rng device"
set_plugstack "$(plugstack_line)"
assert_clean "policy and rank spec jobs"

# Extra disks and a kept per-rank disk: the first job writes, the next reads.
before=$(md5sum <"$DISK")
head -c 1048576 /dev/zero >"$tmp/scratch.img"
printf 'read-only-data' | dd of="$tmp/data.img" conv=notrunc status=none
out=$(vsrun -n1 --vm-image="$DISK" --vm-disk-persist="$tmp/keep" --vm-disk="$tmp/data.img,ro" \
	--vm-disk="$tmp/scratch.img" sh -c 'echo kept-marker >/dev/vda; cat /sys/block/vdb/ro /sys/block/vdc/ro; head -c 14 /dev/vdb; echo; echo scratch >/dev/vdc; echo done' 2>&1)
is "$out" "1
0
read-only-data
done" "--vm-disk: vdb read-only with the base's data, vdc writable"
is "$(md5sum <"$DISK")" "$before" "the image is unchanged"
is "$(head -c 7 "$tmp/scratch.img" | tr -d '\0')" "" "a writable --vm-disk writes to its overlay, not the base"
ok "$([ -f "$tmp/keep/n0000.qcow2" ]; echo $?)" "--vm-disk-persist keeps rank 0's overlay as n0000.qcow2"
out=$(vsrun -n1 --vm-image="$DISK" --vm-disk-persist="$tmp/keep" head -c 11 /dev/vda 2>&1)
is "$out" "kept-marker" "the next job's guest sees what the last one wrote"
assert_clean "disk jobs"

# --mem gives each of 2 tasks 256 MB (the lab charges memory: CR_Core_Memory):
# asking for 384 fails before boot.
out=$(vsrun -n2 --mem=512 --vm-mem=384 true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "--vm-mem above the task's share fails the step (rc $rc)"
like "$out" "--vm-mem=384 is more than this task's share of the step's memory \(256 MB of 512 MB over 2 tasks\); ask for more with --mem or less with --vm-mem" \
	"the message gives the numbers and the fixes"
# Without --vm-mem the guest gets the task's share: 320 MB here.
kib=$(srun -Q -n1 --mem=320 --vm-kernel="$KERNEL" --vm-initrd="$INITRD" \
	sh -c "grep MemTotal /proc/meminfo" 2>&1 | awk '{print $2}')
ok "$([ "${kib:-0}" -gt 250000 ] && [ "${kib:-0}" -le 327680 ]; echo $?)" \
	"without --vm-mem the guest gets the task's share of --mem=320 (MemTotal ${kib:-?} kB)"
rm -rf "$tmp"
assert_clean "refused and failed jobs"
