#!/bin/sh
# --vm-report: a step's results as JUnit and TAP, read back by a real
# JUnit parser; bad values refused before the job exists; nothing left
# beside the report.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t25.tmp
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"; finish' EXIT

# Rank 0 passes; rank 1 writes to both streams and fails with status 3.
cmd='echo "hello from $SLURM_PROCID"; if [ "$SLURM_PROCID" = 1 ]; then echo "it <broke> & stopped" >&2; exit 3; fi'
vsrun -N2 -n2 -J t25 --vm-report="junit:$W/r-%j.%s.xml" sh -c "$cmd" >"$W/out" 2>&1
is "$?" 3 "the step fails as its rank did"
f=$(ls "$W"/r-*.0.xml 2>/dev/null)
ok "$([ -f "$f" ]; echo $?)" "the JUnit report is written, %j and %s expanded ($f)"
if /usr/bin/python3 -c 'import junitparser' 2>/dev/null; then
	got=$(/usr/bin/python3 -c '
import sys, junitparser
x = junitparser.JUnitXml.fromfile(sys.argv[1])
for s in x:
  print(s.name, s.tests, s.failures, s.errors)
  for c in s:
    r = c.result[0] if c.result else None
    print(c.name, "pass" if c.is_passed else "fail", r.message if r else "",
          repr(c.system_out), repr(c.system_err))
    if r is not None:
      print("console tail:", "yes" if (r.text or "").strip() else "no")
' "$f" 2>&1)
	is "$got" "t25.0 2 1 0
rank 0 pass  'hello from 0\\n' None
rank 1 fail exit status 3 'hello from 1\\n' 'it <broke> & stopped\\n'
console tail: yes" "a real JUnit parser reads both ranks: names, status, tails, the failure's console"
else
	ok 0 "# SKIP no python3 junitparser"
fi
is "$(ls -a "$W" | grep -c slurm-vm-report)" 0 "the ranks' records are gone"

vsrun -n2 --vm-report="tap:$W/r.tap" --vm-report-name=suite1 sh -c "$cmd" >/dev/null 2>&1
is "$(grep -v '^#' "$W/r.tap")" "1..2
ok 1 - suite1 rank 0
not ok 2 - suite1 rank 1 (exit status 3)" "TAP: a plan and a line per rank, named by --vm-report-name"
like "$(cat "$W/r.tap")" "#   stderr: it <broke> & stopped" "the failed rank's stderr as a comment"

# An array job: one report per array task (%a), joined by
# slurm-vm-report-merge into one a CI reads; task 2 fails.
MERGE=$top_builddir/launcher/report/slurm-vm-report-merge
timeout 900 sbatch -W -Q --array=1-2 -J t25-arr -o /dev/null --wrap \
	"srun -Q --vm-kernel=$KERNEL --vm-initrd=$INITRD --vm-mem=256 \
	--vm-report=junit:$W/arr-%a.xml sh -c 'exit \$((SLURM_ARRAY_TASK_ID - 1))'" \
	>/dev/null 2>&1
is "$(cd "$W" && ls arr-*.xml 2>/dev/null | tr '\n' ' ')" "arr-1.xml arr-2.xml " \
	"each array task writes its own report (%a)"
"$MERGE" --name t25-suite "$W/all.xml" "$W"/arr-*.xml
ok $? "slurm-vm-report-merge joins them"
if /usr/bin/python3 -c 'import junitparser' 2>/dev/null; then
	is "$(/usr/bin/python3 -c '
import sys, junitparser
x = junitparser.JUnitXml.fromfile(sys.argv[1])
print(x.name, x.tests, x.failures, len(list(x)))' "$W/all.xml" 2>&1)" "t25-suite 2 1 2" \
		"a real JUnit parser reads the joined report: 2 suites, 2 tests, 1 failure"
else
	ok 0 "# SKIP no python3 junitparser"
fi

# Bad values: refused by srun, naming the option and the fix, no job.
refused() { # DESCRIPTION EXPECTED ARGS...
	d=$1 e=$2
	shift 2
	out=$(vsrun -n1 -J t25-bad "$@" true 2>&1)
	st=$?
	ok "$([ "$st" != 0 ]; echo $?)" "$d: refused"
	like "$out" "$e" "$d: says why"
}
refused "an unknown format" "--vm-report=xml:r.xml: give junit:PATH" --vm-report=xml:r.xml
refused "a directory that does not exist" "/nonexistent is not a directory you can write to" \
	--vm-report=junit:/nonexistent/r.xml
refused "an unknown pattern" "its name may use %j" --vm-report="junit:$W/r-%t.xml"
refused "a name without a report" "--vm-report-name names the test suite of --vm-report" \
	--vm-report-name=x
is "$(sacct -n -X --name=t25-bad -o JobID 2>/dev/null | grep -c .)" 0 "no job was made for any of them"
assert_clean "after the reports"
