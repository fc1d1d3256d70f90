#!/bin/sh
# slurm-vm exec and shell on a 2-node step of the lab: exec JOB.0
# hostname prints both hostnames labelled by rank while the task's
# counter goes on undisturbed (its lines whole and in order); an exec's
# exit code comes back (the highest rank's); stdin reaches every rank;
# Ctrl-C (SIGINT to srun) reaches the command; a client killed takes its
# command with it; shell under a pseudo-terminal runs a command and exits
# with its status; nobody is refused; nothing is left on the nodes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t73.tmp
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"; finish' EXIT
SV=$top_builddir/contrib/slurm-vm
export SLURM_VM_CONTROL=$top_builddir/launcher/control/slurm-vm-control

vsrun -N2 -n2 -l -J t73 sh -c 'i=0; while :; do echo "c $i"; i=$((i + 1)); sleep 0.2; done' \
	>"$W/out" 2>&1 &
srun_pid=$!
wait_for 300 sh -c "grep -q '^0: c ' '$W/out' && grep -q '^1: c ' '$W/out'"
ok $? "both guests count"
job=$(squeue -h -n t73 -o %i | head -1)

out=$("$SV" exec "$job.0" hostname 2>&1)
is "$?" 0 "exec JOB.0 hostname succeeds"
is "$(printf '%s\n' "$out" | sort)" "0: n0000
1: n0001" "both hostnames, labelled by rank"
"$SV" exec "$job.0" sh -c 'exit 3' >/dev/null 2>&1
is "$?" 3 "an exec's exit code comes back (sh -c 'exit 3': 3)"
"$SV" exec "$job.0" sh -c 'exit $((5 - SLURM_PROCID))' >/dev/null 2>&1
is "$?" 4 "the highest rank's (rank 1's 4, not rank 0's 5)"
is "$("$SV" exec "$job.0:1" -- sh -c 'echo $SLURM_PROCID $(id -u)' 2>&1)" "1: 1 0" \
	"one rank, with the task's environment, as the job's user"
is "$(echo x | "$SV" exec "$job.0" cat 2>&1 | sort)" "0: x
1: x" "stdin reaches every rank"

# As from a terminal: SIGINT not ignored (a background job of sh has it so).
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$SV" exec "$job.0:0" sleep 301 >/dev/null 2>&1 &
wait_for 30 pgrep -f 'srun.*exec -- sleep 301'
sleep 2
pkill -INT -f 'srun.*exec -- sleep 301'
wait $!
is "$?" 130 "Ctrl-C (SIGINT to srun) reaches the command: 128+2"

"$SV" exec "$job.0:1" sleep 302 >/dev/null 2>&1 &
wait_for 30 pgrep -f 'slurm-vm-control.*exec -- sleep 302'
sleep 2
pkill -KILL -f 'slurm-vm-control.*exec -- sleep 302'
wait $!
sleep 3
is "$("$SV" exec "$job.0:1" sh -c 'ps | grep -c "[s]leep 302"; true' 2>/dev/null)" "1: 0" \
	"a client killed: its command is gone from the guest"

printf 'hostname\nexit 4\n' | script -qec "$SV shell $job.0:1" /dev/null >"$W/sh" 2>&1
is "$?" 4 "shell under a pty: exit 4 ends it with 4"
like "$(tr -d '\r' <"$W/sh")" "n0001" "and it ran a command in rank 1's guest"

out=$(runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" SLURM_VM_CONTROL="$SLURM_VM_CONTROL" "$SV" exec "$job.0" true 2>&1)
ok "$([ $? != 0 ]; echo $?)" "nobody is refused"
like "$out" "job $job is root's, not yours \(nobody\)" "with a clear message"

sleep 1
bad=$(grep -v '^[01]: c [0-9][0-9]*$' "$W/out" | head -3)
is "$bad" "" "the task's output holds its counter lines only, each whole"
for r in 0 1; do
	is "$(grep "^$r: c " "$W/out" | awk '{ print $3 }' | awk 'NR - 1 != $1' | head -1)" "" \
		"rank $r's counter lines are in order, none lost ($(grep -c "^$r: c " "$W/out"))"
done
wait_for 10 sh -c '! pgrep -f slurm-vm-control'
is "$(pgrep -fa slurm-vm-control)" "" "no node-side program is left running"
scancel "$job"
wait "$srun_pid"
assert_clean "after slurm-vm exec and shell"
