#!/bin/sh
# Stopping a VM job: scancel or the time limit sends the launcher SIGTERM;
# the command in the guest gets it too, then the guest is asked to power
# off and does so cleanly within the grace period (QEMU is not killed).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
	t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ] && ! "$@" >/dev/null 2>&1; do
		sleep 0.1
		t=$((t - 1))
	done
	"$@" >/dev/null 2>&1
}
out=$TESTS_DIR/t55.out

# scancel: the command traps SIGTERM and exits 3.
vsrun -n1 --vm-stats -J t55-cancel sh -c \
	'trap "echo got TERM; exit 3" TERM; echo running; while :; do sleep 1; done' \
	>"$out" 2>&1 &
srun_pid=$!
wait_for 300 grep -q running "$out"
ok $? "the guest runs its command"
scancel -n t55-cancel
wait "$srun_pid"
text=$(cat "$out")
like "$text" "got TERM" "scancel's SIGTERM reaches the command in the guest"
like "$text" "n0000: the guest powered off in [0-3]\.[0-9]+ s" \
	"then the guest powers off cleanly, within the grace period"
ok "$(printf '%s' "$text" | grep -q 'QEMU was killed'; echo $((1 - $?)))" \
	"QEMU is not killed"
assert_clean "after scancel"

# The time limit (1 minute; Slurm checks it every 30 s or so).
vsrun -n1 -t 1 --vm-stats -J t55-time sh -c 'echo running; exec sleep 600' \
	>"$out" 2>&1
text=$(cat "$out")
like "$text" "TIME LIMIT" "a time-limited job is stopped at its limit"
like "$text" "n0000: the guest powered off in [0-3]\.[0-9]+ s" \
	"and its guest powers off cleanly"
assert_clean "after the time limit"
rm -f "$out"
