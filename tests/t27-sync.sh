#!/bin/sh
# slurm-vm-sync between the guests of a step: rank 1 waits at a barrier
# until rank 0 reaches it (the order is measured: a value rank 0 sets just
# before its barrier is there for rank 1 right after, and was not before);
# values pass between ranks; a rank that never arrives makes the other
# time out with a clear message; bad arguments are refused.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
# vsrun with a time limit, on two nodes, each line labelled with its rank.
step2() {
	timeout 600 srun -Q --vm-kernel="$KERNEL" --vm-initrd="$INITRD" \
		--vm-mem=256 -N2 -n2 -l "$@"
}

# Rank 1 says it is about to wait, looks for rank 0's value (not there
# yet), and waits at "start", timing its wait on its own clock. Rank 0
# waits until rank 1 is at the barrier, sleeps 5 s, sets the value, then
# reaches the barrier. Rank 1 then reads the value without waiting. Both
# end at a last barrier: rank 0's guest serves only while its command runs.
cmd='up() { cut -d" " -f1 /proc/uptime; }
if [ "$SLURM_PROCID" = 0 ]; then
	slurm-vm-sync --get r1 --timeout 300 >/dev/null || exit 10
	sleep 5
	slurm-vm-sync --set order=set-before-barrier || exit 11
	slurm-vm-sync start || exit 12
	slurm-vm-sync --set port=4242 || exit 13
	echo "link $(readlink /usr/local/bin/slurm-vm-sync)"
	slurm-vm-sync done || exit 14
else
	v=$(slurm-vm-sync --get order --timeout 0 2>/dev/null)
	echo "before rc=$? [$v]"
	slurm-vm-sync --set r1=waiting || exit 20
	t0=$(up)
	slurm-vm-sync start || exit 21
	t1=$(up)
	v=$(slurm-vm-sync --get order --timeout 0) || exit 22
	echo "after [$v] waited $(awk "BEGIN { if ($t1 - $t0 >= 4) print \"4s+\"; else print $t1 - $t0 }")"
	echo "port [$(slurm-vm-sync --get port --timeout 60)]"
	slurm-vm-sync done || exit 23
fi'
out=$(step2 sh -c "$cmd" 2>&1)
is "$?" 0 "both ranks pass the barrier and exchange values"
diag "$out"
like "$out" "^1: before rc=[13] \[\]$" "before rank 0's barrier, its value is not there"
like "$out" "^1: after \[set-before-barrier\] waited 4s\+$" \
	"rank 1 left the barrier after rank 0 set the value and reached it, having waited for it (>= 4 s of rank 0's 5)"
like "$out" "^1: port \[4242\]$" "a value set by rank 0 is read by rank 1"
like "$out" "^0: link /sbin/slurm-vm-agent$" "slurm-vm-sync is on the PATH, the agent by that name"

# Rank 1 never arrives: rank 0 times out, saying who is missing. Bad
# arguments: refused with status 2.
cmd='if [ "$SLURM_PROCID" = 0 ]; then
	slurm-vm-sync lonely --timeout 5
	echo "timeout rc=$?"
	slurm-vm-sync "bad name" 2>&1; echo "name rc=$?"
	slurm-vm-sync --set "k=$(printf "%01100d" 0)" 2>&1; echo "long rc=$?"
	slurm-vm-sync --get k --timeout -1 2>&1; echo "time rc=$?"
fi'
out=$(step2 sh -c "$cmd" 2>&1)
diag "$out"
like "$out" "^0: slurm-vm-sync: barrier lonely: 1 of 2 ranks arrived in 5 s \(missing: 1\)$" \
	"a rank that never arrives: the others time out, naming it"
like "$out" "^0: timeout rc=1$" "a timed-out barrier exits 1"
like "$out" "^0: slurm-vm-sync: 'bad name': a name is 1 to 64 of" "a bad name: refused, saying why"
like "$out" "^0: name rc=2$" "a bad name exits 2"
like "$out" "^0: long rc=2$" "a value over 1024 bytes exits 2"
like "$out" "^0: slurm-vm-sync: --timeout -1: give whole seconds" "a negative timeout: refused"
assert_clean "after the sync steps"
