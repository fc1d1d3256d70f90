#!/bin/sh
# The spine on a 2-node lab: each task's command runs in its own guest,
# with its output, exit code, environment and working directory.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

out=$(vsrun -N2 -n2 -l sh -c 'echo from $(hostname) $(uname -r); exit 3' 2>"$TESTS_DIR/t10.err")
rc=$?
is "$rc" 3 "srun exits with the guests' exit code"
host_release=$(uname -r)
like "$out" "^0: from n0000 [^ ]+$" "rank 0 prints from its guest n0000"
like "$out" "1: from n0001 [^ ]+" "rank 1 prints from its guest n0001"
release=$(printf '%s\n' "$out" | sed -n 's/^0: from n0000 //p')
ok "$([ -n "$release" ] && [ "$release" != "$host_release" ] && [ -d "/lib/modules/$release" ]; echo $?)" \
	"the guest runs the guest kernel ($release), not the host's ($host_release)"
is "$(printf '%s\n' "$out" | wc -l)" 2 "one line from each guest, nothing else"
rm -f "$TESTS_DIR/t10.err"
assert_clean "two-node job"

out=$(cd /tmp && vsrun -n1 sh -c 'echo "$SLURM_PROCID $SLURM_NTASKS $SLURM_JOB_ID" ; pwd; echo "$SLURMVM_ARGV0"')
like "$out" "^0 1 [0-9]+" "the guest command sees the task's SLURM_* environment"
like "$out" "
/tmp
" "it runs in the task's working directory where that exists in the guest"
like "$out" "/tmp
$" "the launcher's own SLURMVM_* variables are not passed in"
out=$(cd "$top_builddir" && vsrun -n1 --vm-mount=none pwd)
is "$out" / "a working directory missing in the guest falls back to /"
out=$(cd "$top_builddir" && vsrun -n1 pwd)
is "$out" "$(cd "$top_builddir" && pwd -P)" "by default it is mounted, and the command runs in it"

# Relative paths are resolved against srun's directory.
out=$(cd "$GUEST" && srun -Q --vm-kernel=vmlinux --vm-initrd=initrd.img --vm-mem=256 -n1 echo relative ok 2>&1)
is "$out" "relative ok" "relative --vm-kernel and --vm-initrd resolve against srun's cwd"

# A job without --vm-* runs as if the plugin were not there.
with=$(srun -Q -n1 sh -c 'echo $0 $#; readlink /proc/$$/exe; env | cut -d= -f1 | grep -v "^SLURM_\(JOB\|STEP\)_\?ID" | sort' 2>&1)
set_plugstack ""
without=$(srun -Q -n1 sh -c 'echo $0 $#; readlink /proc/$$/exe; env | cut -d= -f1 | grep -v "^SLURM_\(JOB\|STEP\)_\?ID" | sort' 2>&1)
set_plugstack "$(plugstack_line)"
is "$with" "$without" "a job without --vm-* options: same argv, program and environment as without the plugin"
like "$with" "^(/usr)?/bin/sh 0" "it ran on the host, unchanged"
assert_clean "all spine jobs"
