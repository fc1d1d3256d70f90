#!/bin/sh
# slurm-vm(1) on a 2-node step: list shows both guests with their nodes
# and addresses; pause stops one guest's counter while the other goes on,
# resume lets it go again; console --follow shows new lines; qmp answers;
# another user, a missing rank, a step without guests and an ended job
# get clear errors; nothing is left behind.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t72.tmp
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"; finish' EXIT
SV=$top_builddir/contrib/slurm-vm
export SLURM_VM_CONTROL=$top_builddir/launcher/control/slurm-vm-control

# last RANK: the last counter rank RANK printed.
last() { grep "^$1: c " "$W/out" | tail -1 | sed 's/.* //'; }

# Each rank counts (on its output and its console); rank 0 also pings
# rank 1 over and over, each ping waiting up to 30 s for its answer.
pinger='[ "$SLURM_PROCID" = 0 ] && (j=0; while :; do t=$(ping -c1 -W30 n0001 2>/dev/null | grep -o "time=[0-9]*"); echo "p $j ${t:-lost}"; j=$((j + 1)); sleep 0.5; done) &'
vsrun -N2 -n2 -l -J t72 sh -c "$pinger"' i=0; while :; do echo "c $i"; echo "tick $i" >/dev/console; i=$((i + 1)); sleep 0.3; done' \
	>"$W/out" 2>&1 &
srun_pid=$!
wait_for 300 sh -c "grep -q '^0: c ' '$W/out' && grep -q '^1: c ' '$W/out'"
ok $? "both guests count"
job=$(squeue -h -n t72 -o %i | head -1)

list=$("$SV" list "$job" 2>&1)
like "$list" "$job\.0 +0 +[^ ]+ +running +n0000 +10\.0\.0\.1 " "list: rank 0, running, its hostname and address"
like "$list" "$job\.0 +1 +[^ ]+ +running +n0001 +10\.0\.0\.2 " "list: rank 1 too"
is "$(printf '%s\n' "$list" | awk 'NR > 1 { print $3 }' | sort -u | wc -l)" 2 "on two nodes"
is "$(printf '%s\n' "$list" | awk 'NR > 1' | wc -l)" 2 "each guest once (the lab's nodes share the run directory)"
like "$("$SV" list "$job" --json 2>&1)" '^\[\{.*"rank":1,.*"address":"10\.0\.0\.2".*"node":' "list --json"
like "$("$SV" list 2>&1)" "$job\.0 +1 " "list without a job: the user's running VM steps"

P=$(grep -c '^0: p ' "$W/out")
out=$("$SV" pause "$job.0:1" 2>&1)
is "$?" 0 "pause rank 1 succeeds"
like "$out" "rank 1 \(.*\): paused" "pause says so"
sleep 1
a0=$(last 0) a1=$(last 1)
sleep 3
b0=$(last 0) b1=$(last 1)
is "$b1" "$a1" "a paused rank's counter does not move over 3 s ($a1)"
ok "$([ "$b0" -gt "$a0" ]; echo $?)" "rank 0 goes on meanwhile ($a0 -> $b0)"
like "$("$SV" list "$job.0" 2>&1)" "$job\.0 +1 +[^ ]+ +paused " "list shows it paused"
like "$("$SV" pause "$job.0:1" 2>&1)" "rank 1 is paused, not running" "pausing it again says why not"
"$SV" resume "$job.0:1" >/dev/null 2>&1
is "$?" 0 "resume succeeds"
sleep 3
ok "$([ "$(last 1)" -gt "$b1" ]; echo $?)" "its counter moves again ($b1 -> $(last 1))"
# A ping sent while rank 1 was paused waited in the fabric and was
# answered after resume: none lost, one took the pause's length.
sleep 1
pings=$(grep '^0: p ' "$W/out" | tail -n +$((P + 1)))
is "$(printf '%s\n' "$pings" | grep -c lost)" 0 "no ping to the paused guest was lost"
slow=$(printf '%s\n' "$pings" | sed -n 's/.*time=//p' | sort -n | tail -1)
ok "$([ "${slow:-0}" -ge 2500 ]; echo $?)" "one waited through the pause and was answered after it (${slow:-none} ms)"

con=$("$SV" console "$job.0" 0 2>&1)
like "$con" "tick [0-9]+" "console: the guest's console from its start"
like "$con" "slurm-vm: init" "from the very start"
n=$(printf '%s\n' "$con" | grep -o 'tick [0-9]*' | tail -1 | sed 's/.* //')
timeout 6 "$SV" console "$job.0" 0 --follow >"$W/follow" 2>&1
m=$(grep -o 'tick [0-9]*' "$W/follow" | tail -1 | sed 's/.* //')
ok "$([ "${m:-0}" -gt "$((n + 3))" ]; echo $?)" "console --follow shows the lines printed after it started ($n -> $m)"

like "$("$SV" qmp "$job.0:0" '{"execute":"query-status"}' 2>&1)" '"return":\{.*"status":"running"' "qmp: query-status answers"
like "$("$SV" qmp "$job.0:0" '{"execute":"stop"}' 2>&1)" "stop is slurm-vm pause" "qmp: stop is left to pause"

out=$(runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" SLURM_VM_CONTROL="$SLURM_VM_CONTROL" "$SV" list "$job" 2>&1)
st=$?
ok "$([ $st != 0 ]; echo $?)" "another user: refused"
like "$out" "job $job is root's, not yours \(nobody\)" "another user: says whose job it is"
out=$(runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" srun -Q --jobid="$job" --overlap -N1 -n1 true 2>&1)
ok "$([ $? != 0 ]; echo $?)" "and Slurm itself refuses them the srun: $out"
like "$("$SV" pause "$job.0:5" 2>&1)" "rank 5: no such guest in $job\.0 \(its ranks: 0 1\)" "a missing rank"
like "$("$SV" list "$job.7" 2>&1)" "step $job\.7 has no guests" "a step without guests"
wait_for 10 sh -c '! pgrep -f slurm-vm-control'
is "$(pgrep -fa slurm-vm-control)" "" "no node-side program is left running"

scancel "$job"
wait "$srun_pid"
out=$("$SV" list "$job" 2>&1)
ok "$([ $? != 0 ]; echo $?)" "an ended job: an error"
like "$out" "job $job is (not running|COMPLETING|COMPLETED|CANCELLED)" "that says it has ended: $out"
assert_clean "after slurm-vm"
