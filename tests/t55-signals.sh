#!/bin/sh
# Stopping a VM job: scancel or the time limit sends the launcher SIGTERM;
# the command in the guest gets it too, then the guest is asked to power
# off and does so cleanly within the grace period (QEMU is not killed).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

out=$TESTS_DIR/t55.out

# scancel: the command traps SIGTERM and exits 3. The console goes to a
# file of the user's (--vm-console), followed while the guest runs.
rm -f "$TESTS_DIR"/t55-console.*
vsrun -n1 --vm-stats -J t55-cancel --vm-console="$TESTS_DIR/t55-console.%j.%t.log" sh -c \
	'trap "echo got TERM; exit 3" TERM; echo running; while :; do sleep 1; done' \
	>"$out" 2>&1 &
srun_pid=$!
wait_for 300 grep -q running "$out"
ok $? "the guest runs its command"
console=$(ls "$TESTS_DIR"/t55-console.*.0.log 2>/dev/null)
like "$console" "t55-console\.[0-9]+\.0\.log$" "--vm-console names the file by job and rank"
like "$(cat "$console" 2>/dev/null)" "slurm-vm: init" "the console is there to follow while the guest runs"
scancel -n t55-cancel
wait_pid 900 "$srun_pid"
text=$(cat "$out")
like "$text" "got TERM" "scancel's SIGTERM reaches the command in the guest"
like "$text" "n0000: the guest powered off in [0-3]\.[0-9]+ s" \
	"then the guest powers off cleanly, within the grace period"
ok "$(printf '%s' "$text" | grep -q 'QEMU was killed'; echo $((1 - $?)))" \
	"QEMU is not killed"
like "$(cat "$console" 2>/dev/null)" "slurm-vm-agent: powering off" \
	"the console shows the agent powering the guest off"
like "$(cat "$console" 2>/dev/null)" "reboot: Power down" \
	"and the kernel's own power-off; the file is kept after the job"
rm -f "$console"
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
