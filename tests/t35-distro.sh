#!/bin/sh
# A stock distribution image: contrib's --distro image (Debian, systemd,
# cloud-init, nothing of slurm-vm inside) boots under --vm-image alone. The
# launcher's cloud-init seed gives it its hostname, the step's hosts and
# the agent, the fabric's DHCP its address; the task's command runs in it
# and its exit code is the task's. --vm-cloud-init adds the user's own
# user-data beside the seed's.
#
# systemd and cloud-init take a minute or two to boot under TCG on 2 shared
# cores: the boot timeout is generous and the boot time is reported.
BOOT_TIMEOUT=${BOOT_TIMEOUT:-480}
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ "${SLURM_VM_SKIP_INTEGRATION:-0}" = 1 ] &&
	skip_all "SLURM_VM_SKIP_INTEGRATION=1"
[ "$(id -u)" = 0 ] || skip_all "building the distribution image needs root"
command -v debootstrap >/dev/null ||
	skip_all "debootstrap is not installed (contrib/setup-debian installs it)"
distro_build || {
	sed 's/^/# /' "$TESTS_DIR/distro-build.log"
	echo "Bail out! cannot build the distribution image"
	exit 1
}
diag "$(grep -E 'built|up to date' "$TESTS_DIR/distro-build.log")"
# Each node's task on its own core, as on real machines: two systemd
# boots on one core take twice as long.
lab_start 2 --own-cores

# A barrier in the guests: each rank pings its peer by name until it answers,
# then stays up until the peer has pinged it too (the guest's ICMP InEchos
# counter), so neither powers off under the other's ping; 4 minutes at
# most each, as the guests boot at their own pace. Loops count time, not
# tries: a ping to a guest not up yet can fail at once.
cmd='peer=n000$((1 - SLURM_PROCID))
echo uptime=$(cut -d" " -f1 /proc/uptime)
echo host=$(hostname)
. /etc/os-release; echo os=$ID
echo pid1=$(cat /proc/1/comm)
ip -4 -o addr show | grep -o "inet 10[^ ]*"
echoes() {
	awk "/^Icmp:/ { if (!n) { for (i = 1; i <= NF; i++)
		if (\$i == \"InEchos\") n = i } else print \$n }" /proc/net/snmp
}
end=$(($(date +%s) + 240))
while [ "$(date +%s)" -lt $end ]; do
	ping -c1 -W1 $peer >/dev/null 2>&1 && break
	sleep 1
done
ping -c1 -W2 $peer >/dev/null 2>&1 && echo peer=$peer up
while [ "$(echoes)" = 0 ] && [ "$(date +%s)" -lt $end ]; do sleep 1; done
exit 3'
t0=$(date +%s)
out=$(srun -Q -N2 -n2 -l --vm-image="$DISTRO" --vm-mem=768 --vm-stats \
	sh -c "$cmd" 2>&1)
is "$?" 3 "a distribution-image job exits with the command's code"
diag "srun to exit: $(($(date +%s) - t0)) s; guest boot to command:" \
	"$(printf '%s\n' "$out" | sed -n 's/^\([01]\): uptime=/rank \1: /p' |
		tr '\n' ' ')(seconds of guest uptime)"
diag "$(printf '%s\n' "$out" | grep -E 'powered off|was killed')"
like "$out" "0: host=n0000" "rank 0's hostname is n0000 (from the seed)"
like "$out" "1: host=n0001" "rank 1's is n0001"
like "$out" "0: os=debian" "the command runs in the Debian guest"
like "$out" "0: pid1=systemd" "whose PID 1 is systemd"
like "$out" "0: inet 10.0.0.1/8" "rank 0 got 10.0.0.1/8 from the fabric's DHCP"
like "$out" "1: inet 10.0.0.2/8" "rank 1 got 10.0.0.2/8"
like "$out" "0: peer=n0001 up" "rank 0 reaches n0001 by name"
like "$out" "1: peer=n0000 up" "rank 1 reaches n0000 by name"
assert_clean "distribution-image job"

# A job as a user would run it: as that user (nobody), from its own
# directory, mounted in the guest (the default mount of the submit
# directory, over 9p: the image's kernel has the modules), reading its input
# by a relative path and writing its result there, owned on the host by the
# user. --vm-cloud-init: the user's write_files adds to the seed's (its
# hosts). The same guest has the outside network (egress=nat): its second
# NIC reaches a server on the node's address, as the fabric still names
# its peers.
user=nobody
tmp=$(mktemp -d /tmp/slurm-vm-t35.XXXXXX)
chmod 755 "$tmp"
work=$tmp/work
mkdir -p "$work"
echo "the input $$" >"$work/input.dat"
chown -R "$user:$(id -gn "$user")" "$work"
chmod 1777 "$RUNDIR"
W=$TESTS_DIR/t35.www
mkdir -p "$W"
ip=$(hostname -I | awk '{print $1}')
port=18035
echo "hello from the node $$" >"$W/page.txt"
/usr/bin/python3 -m http.server --bind "$ip" --directory "$W" "$port" \
	>"$TESTS_DIR/t35.http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; finish' EXIT
wait_for 30 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null
set_plugstack "$(plugstack_line) egress=nat"
fetch="timeout 60 bash -c 'until exec 3<>/dev/tcp/$ip/$port; do sleep 1; done
printf \"GET /page.txt HTTP/1.0\\r\\n\\r\\n\" >&3; cat <&3' | grep hello || echo no way out"
ci=$tmp/cloud-init
mkdir -p "$ci"
cat >"$ci/user-data" <<'EOS'
#cloud-config
write_files:
- path: /etc/from-user
  content: |
    hello from user-data
EOS
t0=$(date +%s)
chmod -R a+rX "$ci"
out=$(runuser -u "$user" -- env SLURM_CONF="$SLURM_CONF" sh -c 'cd "$0" && exec "$@"' "$work" \
	srun -Q -N1 -n1 --vm-image="$DISTRO" --vm-mem=768 --vm-cloud-init="$ci" \
	sh -c "cat /etc/from-user; getent hosts n0000
	cat input.dat >result.txt && echo \"user=\$(id -un) in \$(pwd)\"; $fetch" 2>&1)
is "$?" 0 "a job with --vm-cloud-init runs"
diag "srun to exit with --vm-cloud-init: $(($(date +%s) - t0)) s"
like "$out" "user=$user in $work" "the command runs as the job's user, in the submit directory"
is "$(cat "$work/result.txt" 2>&1)" "the input $$" "it read input.dat and wrote result.txt by relative paths, through the mount"
is "$(stat -c %U "$work/result.txt" 2>&1)" "$user" "the result is owned on the host by the job's user"
like "$out" "hello from user-data" "the user's user-data applied"
like "$out" "10.0.0.1 +n0000" "and the seed's own still did (/etc/hosts)"
like "$out" "hello from the node $$" "egress=nat: the Debian guest fetches a page from a server on the node's address"
like "$(cat "$TESTS_DIR/t35.http.log")" "GET /page.txt" "the server saw the request"
[ -n "${out##*hello from the node*}" ] && diag "$out"
set_plugstack "$(plugstack_line)"
rm -rf "$tmp" "$W"
assert_clean "--vm-cloud-init job"

# A golden snapshot of two distribution guests (saved once both agents are
# ready, before any command), restored by three steps that each run their
# own command, with their own output and exit code; the snapshot is left
# byte for byte as it was.
G=$TESTS_DIR/t35.gold
rm -rf "$G"
mkdir -p "$G"
t0=$(date +%s)
out=$(srun -Q -N2 -n2 -l --vm-image="$DISTRO" --vm-mem=768 --vm-snapshot="$G" \
	--vm-snapshot-at=ready --vm-snapshot-then=stop sh -c 'echo never' 2>&1)
is "$?" 0 "a ready snapshot of two distribution guests, then the step stops"
diag "srun to the snapshot saved: $(($(date +%s) - t0)) s"
ok "$(! printf '%s\n' "$out" | grep -q never; echo $?)" "the command never ran"
[ -f "$G/latest/manifest.json" ] || diag "$out"
sums() { (cd "$G" && find -L latest -type f -exec sha256sum {} + | sort); }
before=$(sums)
t0=$(date +%s)
out=$(srun -Q -N2 -n2 -l --vm-restore="$G" sh -c '. /etc/os-release; echo "$ID on $(hostname)"' 2>&1)
is "$?" 0 "restore 1 runs its own command"
diag "srun to exit, restored: $(($(date +%s) - t0)) s"
like "$out" "0: debian on n0000" "in the restored Debian guest, rank 0"
like "$out" "1: debian on n0001" "and rank 1"
out=$(srun -Q -N2 -n2 -l --vm-restore="$G" sh -c 'exit $((4 + SLURM_PROCID))' 2>&1)
is "$?" 5 "restore 2: its own exit code (the highest rank's, 5)"
out=$(echo piped | srun -Q -N2 -n2 -l --vm-restore="$G" sh -c 'read x; echo "got $x"' 2>&1)
like "$out" "0: got piped" "restore 3: its own stdin and output"
is "$(sums)" "$before" "the snapshot is unchanged, every file"
rm -rf "$G"
assert_clean "golden distribution snapshot"
