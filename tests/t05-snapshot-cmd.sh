#!/bin/sh
# The user command slurm-vm-snapshot, against stand-ins for squeue and
# scancel that answer as Slurm does and log what they were asked: which
# steps get the signal, the refusals, and --wait on a snapshot directory.
# Needs no lab.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cmd=$top_srcdir/contrib/slurm-vm-snapshot
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slurm-vm-t05.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/snaps"

# squeue -h -j JOB -o %T and squeue -h -s -j JOB -o %i, from $STATE and
# $STEPS; scancel logs its arguments and, with $PUBLISH, saves a
# snapshot the way the launchers do (the manifest, then latest).
cat >"$tmp/bin/squeue" <<'STUB'
#!/bin/sh
case " $* " in
*" -s "*) printf '%s\n' $STEPS ;;
*) [ -n "$STATE" ] || { echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; }
   echo "$STATE" ;;
esac
STUB
cat >"$tmp/bin/scancel" <<'STUB'
#!/bin/sh
echo "$*" >>"$LOG"
if [ -n "$PUBLISH" ]; then
	mkdir -p "$PUBLISH/snap.77.0.2"
	echo '{}' >"$PUBLISH/snap.77.0.2/manifest.json"
	ln -s snap.77.0.2 "$PUBLISH/.latest.tmp" && mv -T "$PUBLISH/.latest.tmp" "$PUBLISH/latest"
fi
STUB
chmod +x "$tmp/bin/squeue" "$tmp/bin/scancel"
PATH=$tmp/bin:$PATH
LOG=$tmp/log
STATE=RUNNING
STEPS="77.batch 77.extern 77.0 77.1"
PUBLISH=
export PATH LOG STATE STEPS PUBLISH

run() { # run ARGS...: output in $out, status in $rc
	: >"$LOG"
	out=$("$cmd" "$@" 2>&1)
	rc=$?
}

run 77
is "$rc" 0 "a running job's steps are signalled"
is "$(cat "$LOG" | tr '\n' ';')" "--signal=USR1 77.0;--signal=USR1 77.1;" \
	"every step but batch and extern gets USR1 through scancel"
like "$out" "asked step 77.0 for a snapshot \(SIGUSR1\)" "and the command says so"

run 77.1 --signal USR2
is "$(cat "$LOG")" "--signal=USR2 77.1" "JOBID.STEP signals that step only, with the signal given"
run 77.5
ok "$([ $rc -ne 0 ]; echo $?)" "a step that is not running is refused"
like "$out" "step 77.5 is not running \(running steps of job 77: 77.0" "naming the running ones"
run 77 --signal=TERM
ok "$([ $rc -ne 0 ] && [ ! -s "$LOG" ]; echo $?)" "--signal=TERM is refused before anything is sent"
like "$out" "--signal=TERM: that signal ends or stops the step" "saying why"
run 77 --signal=9
ok "$([ $rc -ne 0 ]; echo $?)" "so is signal 9"
run abc
ok "$([ $rc -ne 0 ]; echo $?)" "a job id that is not one is refused"
like "$out" "abc: give a job id" "with the form"
run
is "$rc" 2 "no job id prints the usage"

# Assignments before a function call need not be undone: set and reset.
STATE=
run 78
ok "$([ $rc -ne 0 ]; echo $?)" "an unknown job is refused"
like "$out" "job 78 not found" "the message says it is not found"
STATE=PENDING
run 77
like "$out" "job 77 is PENDING, not running" "a pending job is refused"
STATE=RUNNING
STEPS="77.batch 77.extern"
run 77
ok "$([ $rc -ne 0 ] && [ ! -s "$LOG" ]; echo $?)" "a job with no steps of its own is refused"
like "$out" "job 77 has no running steps but its batch script or extern step" "saying what it has"

mkdir -p "$tmp/snaps/snap.77.0.1"
echo '{}' >"$tmp/snaps/snap.77.0.1/manifest.json"
ln -s snap.77.0.1 "$tmp/snaps/latest"
STEPS="77.batch 77.extern 77.0 77.1"
PUBLISH=$tmp/snaps
run 77.0 --wait "$tmp/snaps" --timeout 10
PUBLISH=
is "$rc" 0 "--wait returns once a new snapshot is published"
is "$(echo "$out" | tail -1)" "$tmp/snaps/snap.77.0.2" "and prints its path"
start=$(date +%s)
run 77.0 --wait "$tmp/snaps" --timeout 1
ok "$([ $rc -ne 0 ] && [ $(($(date +%s) - start)) -lt 5 ]; echo $?)" \
	"--wait gives up after its timeout when nothing new comes"
like "$out" "no new complete snapshot in .*/snaps within 1 s" "with a clear message"
run 77 --wait "$tmp/nodir"
ok "$([ $rc -ne 0 ] && [ ! -s "$LOG" ]; echo $?)" "--wait on a missing directory is refused first"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
