#!/bin/sh
# The user command slurm-vm, against stand-ins for squeue, scontrol and
# srun (which runs the real node-side slurm-vm-control as the node named
# by -w) and two stand-in launchers serving the real control socket
# (control-stub): the table and JSON, pause and resume by rank, qmp,
# console, and the refusals. Needs no lab.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cmd=$top_builddir/contrib/slurm-vm
stub=$top_builddir/tests/control-stub
[ -x "$cmd" ] && [ -x "$stub" ] || skip_all "build first (contrib/slurm-vm, tests/control-stub)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slurm-vm-t06.XXXXXX")
chmod 755 "$tmp"
pids=
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/run"

# Two guests of step 9.0, one on node1 and one on node2, in one run
# directory (as in the lab: each node's program must answer for its own).
for r in 0 1; do
	d=$tmp/run/slurm-vm.9.0.$r.AAAAA$r
	mkdir -m 700 "$d"
	printf 'boot of rank %s\nready\n' $r >"$d/console.log"
	"$stub" "$d" $r node$((r + 1)) 60 &
	pids="$pids $!"
done
# Not trusted: a link to rank 0's directory named as rank 5's, and a
# directory open to others named as rank 6's.
ln -s "$tmp/run/slurm-vm.9.0.0.AAAAA0" "$tmp/run/slurm-vm.9.0.5.LINK00"
mkdir -m 755 "$tmp/run/slurm-vm.9.0.6.OPEN00"

echo "required /x/spank_vm.so accel=tcg rundir=$tmp/run" >"$tmp/plugstack.conf"
cat >"$tmp/bin/scontrol" <<STUB
#!/bin/sh
echo "PlugStackConfig         = $tmp/plugstack.conf"
STUB
# squeue: job 9 runs on node[1-2] as \$QUSER; job 8 has ended.
cat >"$tmp/bin/squeue" <<'STUB'
#!/bin/sh
case " $* " in
*" -u "*) echo 9 ;;
*" -j 9 "*) echo "$QUSER|RUNNING|node[1-2]|2" ;;
*) echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1 ;;
esac
STUB
# srun: the program after -- on each node of -w, as that node; or
# Slurm's refusal with $SRUN_DENY.
cat >"$tmp/bin/srun" <<'STUB'
#!/bin/bash
[ -n "${SRUN_DENY:-}" ] && { echo "srun: error: Unable to create step for job 9: Access/permission denied" >&2; exit 1; }
[ -z "${SLURMVM_IMAGE:-}${SLURM_JOB_ID:-}" ] || { echo "srun: got the caller's job environment" >&2; exit 9; }
w=
while [ "$1" != -- ]; do [ "$1" = -w ] && w=$2; shift; done
shift
case $w in node\[1-2\]) w=node1,node2 ;; esac
rc=0
for n in ${w//,/ }; do SLURMD_NODENAME=$n "$@" || rc=$?; done
exit $rc
STUB
chmod +x "$tmp/bin/"*
# slurm-vm-snapshot: beside slurm-vm once installed; here, from the
# sources (a build tree apart from them has only slurm-vm).
PATH=$tmp/bin:$PATH:$top_srcdir/contrib
QUSER=$(id -un)
SLURM_VM_CONTROL=$top_builddir/launcher/control/slurm-vm-control
SLURMVM_IMAGE=/x.img SLURM_JOB_ID=1
export PATH QUSER SLURM_VM_CONTROL SLURMVM_IMAGE SLURM_JOB_ID
for r in 0 1; do wait_for 5 test -S "$tmp/run/slurm-vm.9.0.$r.AAAAA$r/control.sock"; done

run() { # run ARGS...: output in $out, status in $rc
	out=$("$cmd" "$@" 2>&1)
	rc=$?
}

run list 9
is "$rc" 0 "list 9 succeeds"
like "$out" "^STEP +RANK +NODE +STATE" "a table with a header"
like "$out" "9\.0 +0 +node1 +running +n0000 +10\.0\.0\.1 +1 +256M" "rank 0 on node1, its hostname, address, vCPUs, memory"
like "$out" "9\.0 +1 +node2 +running +n0001 +10\.0\.0\.2 " "rank 1 on node2"
is "$(printf '%s\n' "$out" | grep -c '^9\.0')" 2 "each guest once; the link and the open directory are not asked"
run list --json
like "$out" '^\[\{"job":9,"step":0,"rank":0,.*"node":"node1"\},\{.*"rank":1,.*"node":"node2"\}\]$' "list --json: an array, one object a guest"

run pause 9.0:1
is "$rc" 0 "pause 9.0:1"
is "$out" "9.0 rank 1 (node2): paused" "pause says which rank, where"
run list 9.0
like "$out" "9\.0 +1 +node2 +paused" "list shows it paused"
like "$out" "9\.0 +0 +node1 +running" "and rank 0 running"
run pause 9.0
ok "$([ "$rc" = 1 ]; echo $?)" "pausing all when one is paused fails"
like "$out" "rank 1 \(node2\): error: rank 1 is paused, not running" "and says which"
run resume 9.0:0-1
like "$out" "rank 0 \(node1\): resumed" "resume 0-1: rank 0"
like "$out" "rank 1 \(node2\): resumed" "and rank 1"

run qmp 9.0:1 '{"execute": "query-status"}'
is "$out" '{"return":{"asked":"query-status"}}' "qmp: the command reaches rank 1's launcher, its reply back"
run qmp 9.0:1 'not json'
like "$out" '"error":"qmp: not a QMP command' "qmp: not JSON, the reason"
run console 9.0 1
is "$out" "boot of rank 1
ready" "console: rank 1's log from its start"

# Refusals.
run pause 9.0:4
like "$out" "rank 4: no such guest in 9\.0 \(its ranks: 0 1\)" "a missing rank"
run pause 9.0:5
like "$out" "rank 5: no such guest" "a link named as rank 5's directory is no guest"
run list 8
like "$out" "job 8 is not running: it has finished, or there is no such job" "an ended job"
run list 9.3
like "$out" "step 9\.3 has no guests" "a step without guests"
SRUN_DENY=1 run list 9
like "$out" "Slurm refused to reach job 9: it is not yours" "Slurm's refusal, made clear"
if [ "$(id -u)" = 0 ]; then
	out=$(runuser -u nobody -- env PATH="$PATH" QUSER=root SLURM_VM_CONTROL="$SLURM_VM_CONTROL" "$cmd" list 9 2>&1)
	like "$out" "job 9 is root's, not yours \(nobody\)" "another user's job"
else
	ok 0 "# SKIP another user needs root"
fi
run pause 9
like "$out" "name the step, JOB.STEP" "pause without a step"
run qmp 9.0:0-1 '{}'
like "$out" "name one rank" "qmp to several ranks"
run pause 9.0:x
like "$out" "ranks 'x' are not a list like 0,2-3" "a bad rank list"
run frobnicate
like "$out" "unknown command 'frobnicate'" "an unknown command"
for c in list console pause resume qmp snapshot; do
	run $c --help
	ok "$([ $rc = 0 ] && printf '%s' "$out" | grep -q "usage: .*$c"; echo $?)" "$c --help"
done
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
