#!/bin/sh
# Another user's hand in a job's files: the lab's jobs run as root (the
# victim); the attacker is a process of user nobody planting files in
# directories it can write (mode 1777, or a snapshot directory made
# writable to all) before the victim's save, restore, console and stats.
# (a) planted .partial directories are never adopted: the save makes its
# own; (b) a rank file swapped for another user's copy, same bytes, is
# refused before any guest starts; (c) a FIFO as manifest.json fails the
# restore at once; (d) a link planted at the --vm-console or --vm-stats
# file name is refused, its target unwritten.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is not installed"

# as_nobody COMMAND: runs sh -c COMMAND as user nobody.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1"
}

W=$(mktemp -d /tmp/slurm-vm-t97.XXXXXX)
chmod 755 "$W"
cleanup() { rm -rf "$W"; }
trap 'cleanup; finish' EXIT
S=$W/snaps
mkdir -m 1777 "$S"
printf 'precious\n' >"$W/victim"
count='i=0; while :; do echo "count $i"; i=$((i+1)); sleep 0.3; done'

# (a) The save, while nobody plants .partial directories (with a rank
#     entry of theirs) under the names the step would use.
out=$W/save.out
vsrun -n1 -l -J t97 --vm-snapshot="$S" sh -c "$count" >"$out" 2>&1 &
pid=$!
wait_for 300 at_least "$out" "count" 3
job=$(squeue -h -n t97 -o %i | head -n 1)
as_nobody "for q in 1 2; do d=$S/.partial.$job.0.\$q; mkdir -m 777 \$d &&
	echo '{\"rank\":0}' >\$d/rank-0.json && chmod 666 \$d/rank-0.json; done"
ok "$([ "$(stat -c %u "$S/.partial.$job.0.1")" = 65534 ]; echo $?)" \
	"set-up: nobody planted .partial.$job.0.1 and .2"
scancel --signal=USR1 "$job.0"
wait_for 120 grep -q "snapshot 3: done" "$out"
ok $? "the save succeeds under a fresh name (snapshot 3)"
[ $? = 0 ] || diag "$(cat "$out")" "$(ls -la "$S")"
snap=$S/snap.$job.0.3
is "$(readlink "$S/latest")" "snap.$job.0.3" "latest names it"
is "$(find "$snap" ! -user root | wc -l)" 0 "every file of it is the victim's own"
is "$(stat -c '%u %s' "$S/.partial.$job.0.1/rank-0.json")" "65534 11" \
	"the planted directories are left as they were, unused"
scancel -n t97
wait_pid 900 "$pid"
assert_clean "after the save"

# (b) The snapshot directory made writable and its files readable to all
#     (a group project directory without the sticky bit); nobody swaps
#     rank-0.vmstate for a copy of its own, byte for byte, so only its
#     owner tells it apart.
chmod 777 "$snap"
chmod a+r "$snap"/*
as_nobody "cp $snap/rank-0.vmstate $snap/.x && mv -f $snap/.x $snap/rank-0.vmstate"
ok "$([ "$(stat -c %u "$snap/rank-0.vmstate")" = 65534 ]; echo $?)" \
	"set-up: rank-0.vmstate is now nobody's"
start=$(date +%s)
msg=$(timeout 120 srun -Q -n1 --vm-restore="$S" true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ]; echo $?)" "the restore fails (rc $rc)"
like "$msg" "rank-0.vmstate: owned by uid 65534, not by you \(uid 0\): refused" \
	"naming the file and its owner"
ok "$([ $(($(date +%s) - start)) -lt 60 ]; echo $?)" "before any guest boots"
assert_clean "after the refused restore"

# (c) A FIFO as manifest.json (of a snapshot named directly, and behind
#     latest): refused at once, not waited on.
F=$W/fifo
mkdir -p "$F/snap.9.0.1"
mkfifo "$F/snap.9.0.1/manifest.json"
ln -s snap.9.0.1 "$F/latest"
for given in "$F" "$F/snap.9.0.1"; do
	start=$(date +%s)
	msg=$(timeout 60 srun -Q -n1 --vm-restore="$given" true 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $(($(date +%s) - start)) -lt 30 ]; echo $?)" \
		"--vm-restore=$given with a FIFO as manifest.json fails at once (rc $rc)"
	like "$msg" "manifest.json: a FIFO, not a regular file: refused" "and says so"
done

# (d) Links planted where the console and the stats go, to the victim's
#     file: refused, the file untouched.
P=$W/pub
mkdir -m 1777 "$P"
as_nobody "ln -s $W/victim $P/console.log"
msg=$(vsrun -n1 --vm-console="$P/console.log" true 2>&1)
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "a console name planted as a link fails the task (rc $rc)"
like "$msg" "--vm-console=$P/console.log: $P/console.log: a symbolic link: refused" \
	"naming the option and the file"
next=$(($(srun -Q -n1 --vm-exec=endpoint sh -c 'echo $SLURM_JOB_ID') + 1))
as_nobody "for j in $next $((next + 1)); do ln -s $W/victim $P/fabric.\$j.0.0.json; done"
msg=$(srun -Q -n1 --vm-exec=endpoint --vm-stats="$P" true 2>&1)
like "$msg" "--vm-stats=$P: $P/fabric.[0-9]+.0.0.json: a symbolic link: refused" \
	"a stats file planted as a link is refused, named"
is "$(cat "$W/victim")" "precious" "the link's target is not written"
assert_clean "after the planted links"
