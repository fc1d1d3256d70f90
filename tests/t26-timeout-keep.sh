#!/bin/sh
# --vm-timeout and --vm-keep on the lab with the test guest: a sleeping
# command is stopped at its timeout with exit 124 and a "timeout" JUnit
# case (read back by a real JUnit parser); --vm-keep=fail keeps a failed
# rank's console log, output tails and status and nothing of a passing
# rank; --vm-keep=always keeps a passing one; bad values are refused
# before any job exists; the site's default_timeout= and max_timeout=
# hold; no run directory is left.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
W=$TESTS_DIR/t26.tmp
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"; finish' EXIT

# 1. A command that sleeps past its timeout (kept: it failed).
t0=$(date +%s)
vsrun -n1 -J t26 --vm-timeout=3 --vm-report="junit:$W/t-%j.xml" \
	--vm-keep=fail --vm-keep-dir="$W/keep.%j.%s" \
	sh -c 'echo started; echo going >&2; sleep 60; echo never' >"$W/out1" 2>"$W/err1"
st=$?
took=$(($(date +%s) - t0))
is "$st" 124 "a command past --vm-timeout ends the task with 124"
ok "$([ "$took" -lt 55 ]; echo $?)" "within a bounded time, not after the sleep (${took} s)"
like "$(cat "$W/err1")" "ran past --vm-timeout=3 s; stopping it \(the task exits with 124\)" \
	"the launcher says why"
is "$(grep -c never "$W/out1")" 0 "the command did not run on"
f=$(ls "$W"/t-*.xml 2>/dev/null)
if /usr/bin/python3 -c 'import junitparser' 2>/dev/null; then
	got=$(/usr/bin/python3 -c '
import sys, junitparser
x = junitparser.JUnitXml.fromfile(sys.argv[1])
for s in x:
  print(s.name, s.tests, s.failures, s.errors)
  for c in s:
    r = c.result[0] if c.result else None
    print(c.name, "pass" if c.is_passed else "fail", r.type if r else "",
          r.message if r else "", repr(c.system_out))
' "$f" 2>&1)
	is "$got" "t26.0 1 1 0
rank 0 fail timeout timeout 'started\\n'" "a real JUnit parser reads a timeout failure"
else
	ok 0 "# SKIP no python3 junitparser"
fi
k=$(ls -d "$W"/keep.*.0 2>/dev/null)
is "$(cat "$k/n0000/status" 2>&1)" "timeout after 3 s (exit 124)" "--vm-keep=fail keeps the timed-out rank's status ($k)"
ok "$([ -s "$k/n0000/console.log" ]; echo $?)" "... its console log"
is "$(cat "$k/n0000/stdout.tail" "$k/n0000/stderr.tail" 2>&1)" "started
going" "... and the tails of its stdout and stderr"

# 2. Two ranks, one fails, in the default directory in the working
# directory: only the failed rank is kept.
(cd "$W" && vsrun -n2 -J t26b --vm-keep=fail sh -c \
	'if [ "$SLURM_PROCID" = 1 ]; then echo broke >&2; exit 3; fi; echo fine' \
	>/dev/null 2>&1)
is "$?" 3 "the step fails as its rank did"
k=$(ls -d "$W"/slurm-vm-results.*.* 2>/dev/null)
ok "$([ -d "$k" ]; echo $?)" "the default results directory is in the working directory ($k)"
is "$(cat "$k/n0001/status" "$k/n0001/stderr.tail" 2>&1)" "exit 3
broke" "the failed rank's status and stderr tail are kept"
ok "$([ -s "$k/n0001/console.log" ]; echo $?)" "... and its console log"
ok "$([ ! -e "$k/n0000" ]; echo $?)" "the passing rank left nothing"

# 3. --vm-keep=always keeps a passing rank, with --vm-stats its counters.
vsrun -n1 -J t26c --vm-keep=always --vm-keep-dir="$W/always" --vm-stats true >/dev/null 2>&1
is "$?" 0 "a passing step with --vm-keep=always passes"
is "$(cat "$W/always/n0000/status" 2>&1)" "exit 0" "--vm-keep=always keeps a passing rank"
ok "$([ -s "$W/always/n0000/console.log" ]; echo $?)" "... with its console log"
like "$(cat "$W/always/n0000/stats.json" 2>&1)" '"rank": ?0' "... and with --vm-stats its fabric counters"

# A command that ignores SIGTERM: the session's grace ends it, still 124.
t0=$(date +%s)
vsrun -n1 -J t26e --vm-timeout=2 sh -c 'trap "" TERM; sleep 60' >/dev/null 2>&1
st=$?
took=$(($(date +%s) - t0))
is "$st" 124 "a command that ignores SIGTERM is stopped after the grace, 124 too"
ok "$([ "$took" -lt 55 ]; echo $?)" "... within a bounded time (${took} s)"

# 4. Bad values: refused by srun, naming the option and the fix, no job.
refused() { # DESCRIPTION EXPECTED ARGS...
	d=$1 e=$2
	shift 2
	out=$(vsrun -n1 -J t26-bad "$@" true 2>&1)
	st=$?
	ok "$([ "$st" != 0 ]; echo $?)" "$d: refused"
	like "$out" "$e" "$d: says why"
}
refused "a zero timeout" "--vm-timeout=0: not a whole number of seconds from 1 to 2592000; give the command's time limit in seconds" \
	--vm-timeout=0
refused "a timeout with a unit" "--vm-timeout=5m: not a whole number of seconds" --vm-timeout=5m
refused "an unknown keep" "--vm-keep=never: give fail" --vm-keep=never
is "$(sacct -n -X --name=t26-bad -o JobID 2>/dev/null | grep -c .)" 0 "no job was made for any of them"

# 5. The site's default_timeout= and max_timeout=: a longer --vm-timeout
# is refused naming the line; a job that gives none gets the default (the
# node sets it).
set_plugstack "$(plugstack_line) default_timeout=3 max_timeout=4"
refused "a timeout over the site's limit" \
	"--vm-timeout=10: above the site's limit \(plugstack.conf: max_timeout=4\); ask for at most --vm-timeout=4" \
	--vm-timeout=10
vsrun -n1 -J t26d sh -c 'sleep 60' >/dev/null 2>&1
is "$?" 124 "a job without --vm-timeout gets the site's default_timeout"
set_plugstack "$(plugstack_line)"
assert_clean "after timeouts and kept evidence"
