#!/bin/sh
# Disk images: --vm-image boots a qcow2 disk from its own boot loader through
# a per-task overlay (the base never changes); --vm-kernel with --vm-image
# boots that kernel with the image as the guest's disk; sbatch's #SBATCH
# --vm-* lines apply to the job's srun steps.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

before=$(md5sum <"$DISK")
out=$(srun -Q -N2 -n2 -l --vm-image="$DISK" --vm-mem=256 sh -c 'echo disk $(hostname) $(uname -r); echo scratch >/dev/vda; exit 3' 2>&1)
is "$?" 3 "a disk-image job exits with the command's code"
like "$out" "0: disk n0000 [0-9]" "rank 0 ran in a guest booted from the disk"
like "$out" "1: disk n0001 [0-9]" "rank 1 too"
is "$(md5sum <"$DISK")" "$before" "the base image is unchanged, though the guests wrote to their disk"

size=$(qemu-img info --output=json "$DISK" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
out=$(vsrun -n1 --vm-image="$DISK" sh -c 'cat /sys/block/vda/size; dd if=/dev/vda bs=512 count=1 2>/dev/null | od -An -tx1 -j510' 2>&1)
like "$out" "^$((size / 512))
" "--vm-kernel with --vm-image: the image is the guest's disk ($((size / 512)) sectors)"
like "$out" "55 aa" "and reads as the image (boot signature)"
assert_clean "disk-image jobs"

cat >"$TESTS_DIR/t30.sbatch" <<EOS
#!/bin/sh
#SBATCH --vm-kernel=$KERNEL
#SBATCH --vm-initrd=$INITRD
#SBATCH --vm-mem=256
#SBATCH -N2 -n2
#SBATCH -o $TESTS_DIR/t30.out
echo batch on \$(uname -r)
srun -l sh -c 'echo step in \$(hostname)'
EOS
job=$(sbatch --parsable "$TESTS_DIR/t30.sbatch")
ok $? "sbatch with #SBATCH --vm-* lines is accepted"
for i in $(seq 600); do
	squeue -h -j "$job" 2>/dev/null | grep -q . || break
	sleep 0.5
done
out=$(cat "$TESTS_DIR/t30.out" 2>&1)
like "$out" "batch on $(uname -r)" "the batch script itself runs on the node"
like "$out" "0: step in n0000" "its srun step runs in guests (rank 0)"
like "$out" "1: step in n0001" "its srun step runs in guests (rank 1)"
rm -f "$TESTS_DIR/t30.sbatch" "$TESTS_DIR/t30.out"
assert_clean "batch job"
