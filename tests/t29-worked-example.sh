#!/bin/sh
# The README's worked example ("A regression suite, worked through") run as
# a whole, as written there but smaller: the golden snapshot is of the
# small test guest (kernel and initrd, 2 guests on 2 nodes) instead of
# three guests of the distribution image (a minute each to boot under TCG
# here), the array is 1-3 instead of 1-20, and the test itself is the
# README's script with its server and client left out (the guest has
# none): the ranks meet at its barriers, pass the port as a value, and
# test 2 fails on purpose (rank 1 exits 3). Checked: the joined JUnit,
# read by a real parser (3 suites, 6 cases, 1 failure); the failing
# test's evidence kept and its fleet saved at the failure, restored and
# looked into; the passing tests leave neither.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t29.tmp
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"; finish' EXIT
MERGE=$top_builddir/launcher/report/slurm-vm-report-merge
cd "$W" || exit 1

# 1. The golden snapshot, saved before any command, then stopped.
mkdir -p "$W/gold"
vsrun -N2 -n2 -J t29-gold --vm-snapshot="$W/gold" \
	--vm-snapshot-at=ready --vm-snapshot-then=stop true >gold.out 2>&1
is "$?" 0 "1. the golden snapshot is saved"
[ -e "$W/gold/latest" ] || sed 's/^/# /' gold.out | tail -n 20

# 2. One test (the README's run-test.sh, its programs left out).
cat >run-test.sh <<'EOF2'
t=$1
if [ "$SLURM_PROCID" = 0 ]; then
    slurm-vm-sync --set port=4242
fi
slurm-vm-sync up
rc=0
if [ "$SLURM_PROCID" != 0 ]; then
    echo "test $t against n0000:$(slurm-vm-sync --get port)" >/tmp/test.log
    [ "$t" != 2 ] || { echo "test $t: broken on purpose" >&2; rc=3; }
fi
slurm-vm-sync done
exit $rc
EOF2

# 3. The suite, as the README's suite.sh (its golden snapshot here).
cat >suite.sh <<EOF2
#!/bin/sh
#SBATCH -N2 -n2 --array=1-3 -o logs/%A_%a.out
t=\$SLURM_ARRAY_TASK_ID
mkdir -p results/fail-\$t
srun --vm-restore=$W/gold --vm-timeout=300 \\
     --vm-keep=fail --vm-keep-dir=results/keep-%j.%s \\
     --vm-snapshot=results/fail-\$t --vm-snapshot-at=fail \\
     --vm-report=junit:results/test-%a.xml --vm-report-name=test-\$t \\
     sh -c "\$(cat run-test.sh)" run-test "\$t"
EOF2
mkdir -p results logs
timeout 1200 sbatch -W -J t29 suite.sh >sbatch.out 2>&1
is "$(echo results/test-*.xml)" \
	"results/test-1.xml results/test-2.xml results/test-3.xml" \
	"3. each array task wrote its JUnit file"

# 4. One JUnit file for the CI server, read by a real parser.
"$MERGE" --name nightly results/all.xml results/test-*.xml
ok $? "4. slurm-vm-report-merge joins them"
if /usr/bin/python3 -c 'import junitparser' 2>/dev/null; then
	got=$(/usr/bin/python3 -c '
import sys, junitparser
x = junitparser.JUnitXml.fromfile(sys.argv[1])
print(x.name, x.tests, x.failures, len(list(x)))
for s in x:
  for c in s:
    if not c.is_passed:
      print(s.name, c.name, c.result[0].message, repr(c.system_err))' results/all.xml 2>&1)
	like "$got" "^nightly 6 1 3$" "a real JUnit parser reads it: 3 suites, 6 cases, 1 failure"
	like "$got" "^test-2 rank 1 .*3.*broken on purpose" "the failure is test 2's rank 1, with its stderr"
else
	ok 0 "# SKIP no python3 junitparser"
fi

# The failing test's evidence, and its fleet saved at the failure.
k=$(ls -d results/keep-* 2>/dev/null)
is "$(echo "$k" | grep -c .)" 1 "only the failing test kept evidence ($k)"
is "$(cat "$k/n0001/status" 2>&1)" "exit 3" "its failed rank's status"
# A restored guest's console holds what it printed since the restore
# (here nothing: the test guest's kernel spoke before the save).
ok "$([ -e "$k/n0001/console.log" ]; echo $?)" "... and console log"
is "$(/usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["at"], m["failed_rank"], m["failed_code"])' results/fail-2/latest/manifest.json 2>&1)" \
	"fail 1 3" "test 2's fleet was saved at its failure (rank 1, exit 3)"
is "$(find results/fail-1 results/fail-3 -mindepth 1 | grep -c .)" 0 \
	"the passing tests saved nothing"
out=$(srun -Q -N2 -n2 -l -J t29-look --vm-restore=results/fail-2 cat /tmp/test.log 2>&1)
like "$out" "^1: test 2 against n0000:4242" "restored, the failed fleet is looked into"
[ -n "$k" ] || sed 's/^/# /' sbatch.out logs/* | tail -n 40
cd / || exit 1
assert_clean "after the worked example"
