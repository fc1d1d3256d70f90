#!/bin/sh
# The job epilog runs as root on every node: a user who can write the
# record of a job's snapshot directories (it lies in the run directory, in
# /tmp by default) must not be able to steer it. Each attack is made as an
# unprivileged user would make it, and must fail cleanly.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

user=nobody
group=$(id -gn "$user")
id "$user" >/dev/null 2>&1 || skip_all "no user $user"
work=$(mktemp -d /tmp/slurm-vm-t51.XXXXXX)
chmod 755 "$work"
# The user's launchers write their run directories here, as in /tmp.
chmod 1777 "$RUNDIR"
as_user() { runuser -u "$user" -- env SLURM_CONF="$SLURM_CONF" "$@"; }
cleanup_t51() { rm -rf "$work"; chmod 755 "$RUNDIR"; }

job_gone() { [ -z "$(squeue -h -j "$1" -o %T 2>/dev/null)" ]; }
node_state() { sinfo -h -N -o '%T' | sort -u | tr '\n' ' '; }

# A root-only directory stands in for anything the user may not touch.
mkdir -m 700 "$work/rootonly"
echo secret >"$work/rootonly/secret"
chmod 600 "$work/rootonly/secret"
mkdir -m 755 "$work/user"
chown "$user:$group" "$work/user"

# 1. /proc/PID/cwd of a process in the user's own user and mount
# namespace, where snap.JOB.* is a bind mount of the root-only directory.
# The attacker's process outlives the job (it runs beside it, as a login
# shell's would), so the epilog finds it.
as_user sh -c 'cd "$0" && exec srun -Q -n1 -J t51-ns --vm-exec=endpoint \
	sh -c "echo \$SLURM_JOB_ID"' "$work/user" >"$work/job1" 2>&1
job=$(cat "$work/job1")
diag "job $job (the first job is only there to learn a job id's form)"
# The epilog of the next job is the one attacked: predict its id.
next=$((job + 1))
as_user unshare -U -m -r sh -c '
	mkdir -p "$0/snap.$1.0.1" &&
	mount --bind "$2" "$0/snap.$1.0.1" && cd "$0" &&
	echo ready >"$0/ns-ready" && exec sleep 120' \
	"$work/user" "$next" "$work/rootonly" &
ns_pid=$!
wait_for 10 test -f "$work/user/ns-ready"
ok $? "the attacker's namespace holds a bind mount of the root-only directory"
inner=$(pgrep -P "$ns_pid" -x sleep || echo "$ns_pid")
as_user sh -c 'cd "$0" && exec srun -Q -n1 -J t51-ns --vm-exec=endpoint \
	sh -c "echo \$SLURM_JOB_ID; echo /proc/$1/cwd/. >$2/slurm-vm.\$SLURM_JOB_ID.snapdirs"' \
	"$work/user" "$inner" "$RUNDIR" >"$work/job2" 2>&1
job2=$(cat "$work/job2")
is "$job2" "$next" "the attacked job has the predicted id"
wait_for 60 job_gone "$job2"
ok $? "the attacked job ends"
is "$(stat -c '%U %a' "$work/rootonly" "$work/rootonly/secret" | tr '\n' ' ')" \
	"root 700 root 600 " "the root-only directory and its file stay root's"
like "$(cat "$LAB"/log/slurmd.*.log)" "vm: job $job2 epilog: (.*snap.$job2.0.1.*not usable|/proc/$inner/cwd/.: Permission denied)" \
	"the epilog, as the user, could not even read it, and says so"
kill "$ns_pid" 2>/dev/null
wait_pid 900 "$ns_pid" 2>/dev/null

# 2. A FIFO where the epilog reads a manifest: the job leaves COMPLETING
# at once and the node is not drained.
as_user sh -c 'cd "$0" && exec srun -Q -n1 -J t51-fifo --vm-exec=endpoint sh -c "
	mkdir -p $0/snaps/snap.\$SLURM_JOB_ID.0.1 $0/snaps/.partial.\$SLURM_JOB_ID.0.2 &&
	mkfifo $0/snaps/snap.\$SLURM_JOB_ID.0.1/manifest.json \
		$0/snaps/.partial.\$SLURM_JOB_ID.0.2/manifest.json &&
	echo $0/snaps >$1/slurm-vm.\$SLURM_JOB_ID.snapdirs && echo \$SLURM_JOB_ID"' \
	"$work/user" "$RUNDIR" >"$work/job3" 2>&1
job3=$(cat "$work/job3")
start=$(date +%s)
wait_for 120 job_gone "$job3"
took=$(($(date +%s) - start))
ok "$([ "$took" -le 20 ]; echo $?)" "the job with FIFOs in its snapshot directory ends in ${took} s (at most 20)"
like "$(node_state)" "^idle $" "the node is idle, not drained"
like "$(cat "$LAB"/log/slurmd.*.log)" "vm: job $job3 epilog: .*manifest.json.*(not a regular file|FIFO)" \
	"the epilog names the FIFO instead of waiting on it"

# 3. A FIFO as the record itself is refused without a read (it is opened
# non-blocking).
as_user sh -c 'cd "$0" && exec srun -Q -n1 -J t51-rec --vm-exec=endpoint sh -c "
	mkfifo $1/slurm-vm.\$SLURM_JOB_ID.snapdirs && echo \$SLURM_JOB_ID"' \
	"$work/user" "$RUNDIR" >"$work/job4" 2>&1
job4=$(cat "$work/job4")
wait_for 60 job_gone "$job4"
ok $? "a FIFO as the record does not hold the job either"
like "$(cat "$LAB"/log/slurmd.*.log)" "vm: job $job4 epilog: .*snapdirs is not a file of the job's user" \
	"and is named in the log"

# 4. The epilog removes the user's run directories only: one root owns,
# named as the job's, stays.
job5=$((job4 + 1))
mkdir -m 700 "$RUNDIR/slurm-vm.$job5.0.0.rootowned"
as_user sh -c 'cd "$0" && exec srun -Q -n1 -J t51-own --vm-exec=endpoint sh -c "
	mkdir $1/slurm-vm.\$SLURM_JOB_ID.0.0.userowned && echo \$SLURM_JOB_ID"' \
	"$work/user" "$RUNDIR" >"$work/job5" 2>&1
is "$(cat "$work/job5")" "$job5" "the next job has the predicted id"
wait_for 60 job_gone "$job5"
wait_for 10 sh -c "! test -d '$RUNDIR/slurm-vm.$job5.0.0.userowned'"
ok $? "the epilog removes the user's own run directory"
ok "$(test -d "$RUNDIR/slurm-vm.$job5.0.0.rootowned"; echo $?)" \
	"and leaves one root owns, though its name is the job's"
rmdir "$RUNDIR/slurm-vm.$job5.0.0.rootowned" 2>/dev/null
cleanup_t51
assert_clean "after the attacks"
