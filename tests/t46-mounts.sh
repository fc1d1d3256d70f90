#!/bin/sh
# --vm-mount: the job's files in the guest, as the job's user. A step reads
# its input by a relative path through the default mount of the directory
# srun ran in and writes its result there, owned on the host by the user
# who ran it; the command runs as that user; a read-only mount refuses
# writes; a symbolic link in a mount that points outside it reaches
# nothing of the host; bad mounts are refused before any job exists.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2

user=nobody
group=$(id -gn "$user")
id "$user" >/dev/null 2>&1 || skip_all "no user $user"
uid=$(id -u "$user")
tmp=$(mktemp -d /tmp/slurm-vm-t46.XXXXXX)
chmod 755 "$tmp"
work=$tmp/work
mkdir -p "$work/ro" "$work/m" "$tmp/outside"
echo "the input" >"$work/input.dat"
echo "read only" >"$work/ro/r.txt"
# World-readable, so only the mount can keep the guest from it.
echo "host secret" >"$tmp/outside/secret.txt"
chmod 644 "$tmp/outside/secret.txt"
ln -s "$tmp/outside/secret.txt" "$work/m/abs"
ln -s ../../outside/secret.txt "$work/m/rel"
chown -R "$user:$group" "$work"
# The user's launchers write their run directories here, as in /tmp.
chmod 1777 "$RUNDIR"
as_user() { runuser -u "$user" -- env SLURM_CONF="$SLURM_CONF" "$@"; }
in_work() { as_user sh -c 'cd "$0" && exec "$@"' "$work" "$@"; }
vm() { echo --vm-kernel="$KERNEL" --vm-initrd="$INITRD" --vm-mem=256; }

# 1. Two nodes, relative paths, the default mount of the submit directory.
out=$(in_work srun -Q -N2 -n2 $(vm) sh -c \
	'cat input.dat >"out.$SLURM_PROCID" && echo "$(id -u) $(id -un) $HOME"' 2>&1)
rc=$?
is "$rc" 0 "a 2-node step with relative paths runs (rc $rc)"
like "$out" "^$uid $user " "the command runs as the job's user (uid and name)"
is "$(cat "$work/out.0" "$work/out.1" 2>&1)" "the input
the input" "each rank read input.dat and wrote out.N in the submit directory"
is "$(stat -c %U "$work/out.0" "$work/out.1" 2>&1 | sort -u)" "$user" \
	"the results are owned by the job's user on the host"

# 2. Read-only, and links out of a mount.
out=$(in_work srun -Q -n1 $(vm) --vm-mount="$work/ro:/data:ro,$work/m:/m" sh -c '
	cat /data/r.txt
	echo x >/data/new && echo "wrote to ro" || echo "ro refused"
	cat /m/abs || echo "abs refused"
	cat /m/rel || echo "rel refused"
	echo end' 2>&1)
like "$out" "read only" "a read-only mount reads"
like "$out" "ro refused" "a read-only mount refuses writes in the guest"
ok "$([ ! -e "$work/ro/new" ]; echo $?)" "and nothing was written on the host"
like "$out" "abs refused" "an absolute link out of a mount reaches nothing"
like "$out" "rel refused" "a relative link out of a mount reaches nothing"
ok "$(! printf '%s' "$out" | grep -q "host secret\|wrote to ro"; echo $?)" \
	"the host's file behind the links was not read, nothing was written"
like "$out" "^end$" "the command ran to its end"
diag "$out"

# 3. A batch job: #SBATCH lines, its step mounts the submit directory.
cat >"$work/job.sh" <<EOS
#!/bin/sh
#SBATCH --vm-kernel=$KERNEL
#SBATCH --vm-initrd=$INITRD
#SBATCH --vm-mem=256
#SBATCH -o $work/job.out
srun -n1 sh -c 'cat input.dat >batch.out && id -un'
EOS
chown "$user:$group" "$work/job.sh"
job=$(in_work sbatch --parsable job.sh)
ok $? "sbatch with #SBATCH --vm-* lines is accepted"
for i in $(seq 600); do
	squeue -h -j "$job" 2>/dev/null | grep -q . || break
	sleep 0.5
done
like "$(cat "$work/job.out" 2>&1)" "^$user$" "the batch job's step runs as the job's user"
is "$(cat "$work/batch.out" 2>&1)" "the input" "and reads and writes the submit directory"
is "$(stat -c %U "$work/batch.out" 2>&1)" "$user" "its result is the user's on the host"

# 4. --vm-user=root: root in the guest, still the user on the host.
out=$(in_work srun -Q -n1 $(vm) --vm-user=root sh -c 'id -u; echo x >byroot' 2>&1)
is "$out" 0 "--vm-user=root runs the command as root in the guest"
is "$(stat -c %U "$work/byroot" 2>&1)" "$user" \
	"what root in the guest writes is the job user's on the host"

# 5. Bad mounts: refused by srun, before any job exists.
first_job=$(in_work srun -Q -n1 --vm-exec=endpoint --vm-mount=none printenv SLURM_JOB_ID)
refused() { # refused DESCRIPTION PATTERN srun-args...
	desc=$1 pattern=$2
	shift 2
	out=$(in_work srun -Q -n1 $(vm) "$@" true 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ]; echo $?)" "$desc: srun fails (rc $rc)"
	like "$out" "$pattern" "$desc: the message names the option, value and fix"
}
refused "missing SRC" "--vm-mount=nodir: $work/nodir is missing; give an existing directory" \
	--vm-mount=nodir
refused "relative DST" "--vm-mount=ro:data: the guest path data is relative; give an absolute one" \
	--vm-mount=ro:data
refused "DST /proc" "the guest path /proc would hide .* the guest's own /proc" \
	--vm-mount=ro:/proc
refused "two mounts on one DST" "--vm-mount=m:/d: the guest path /d is taken by --vm-mount=ro:/d" \
	--vm-mount=ro:/d,m:/d
out=$(in_work srun -Q -n1 --vm-exec=endpoint --vm-mount=ro true 2>&1)
like "$out" "--vm-mount=ro: --vm-exec=endpoint runs no guest" "--vm-mount with --vm-exec=endpoint is refused"
set_plugstack "$(plugstack_line) mount_dirs=$work/ro"
refused "a mount outside mount_dirs" "--vm-mount=m: outside the site's mount directories \(plugstack.conf: mount_dirs=$work/ro\)" \
	--vm-mount=m,none
refused "the default mount outside mount_dirs" "the directory you run in \($work, .*outside the site's mount directories" \
	--vm-mount=ro
set_plugstack "$(plugstack_line)"
next_job=$(in_work srun -Q -n1 --vm-exec=endpoint --vm-mount=none printenv SLURM_JOB_ID)
is "$next_job" "$((first_job + 1))" "no refused request created a job"

chmod 755 "$RUNDIR"
rm -rf "$tmp"
assert_clean "mount jobs"
