#!/bin/sh
# --vm-snapshot-at=fail on the lab with the test guest: a passing step
# saves nothing; a 2-node step whose rank 1 writes a marker and exits 3
# (rank 0 still running, after a barrier) ends with 3, is saved at that
# moment ("at": "fail", rank 1, code 3), and a later step restores it and
# finds both ranks' files, running its own command; a command past
# --vm-timeout is saved before it is stopped (124); the option without
# --vm-snapshot is refused. --vm-capture: two guests ping each other with
# the capture on and --vm-keep=always; each kept capture.pcap, read by
# tcpdump, holds the echo request and the reply. No run directory is left.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t28.tmp
rm -rf "$W"
mkdir -p "$W/pass" "$W/fail" "$W/time"
trap 'rm -rf "$W"; finish' EXIT

# "at failed_rank failed_code" of the latest snapshot in $1.
at_of() {
	/usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/latest/manifest.json"))
print(m["at"], m.get("failed_rank"), m.get("failed_code"))' "$1" 2>&1
}

# 1. Both ranks pass: nothing is saved.
vsrun -N2 -n2 -l -J t28p --vm-snapshot="$W/pass" --vm-snapshot-at=fail \
	sh -c 'echo fine' >"$W/p.out" 2>&1
is "$?" 0 "a passing step passes"
is "$(find "$W/pass" -mindepth 1 | grep -c .)" 0 "and leaves no snapshot"

# 2. Rank 1 fails after a barrier with rank 0, whose command runs on.
t0=$(date +%s)
# shellcheck disable=SC2016 # expanded in the guest
vsrun -N2 -n2 -l -J t28 --vm-snapshot="$W/fail" --vm-snapshot-at=fail sh -c '
if [ "$SLURM_PROCID" = 0 ]; then
	echo alive >/tmp/y; slurm-vm-sync up; sleep 300; echo never
else
	slurm-vm-sync up; echo broken >/tmp/x; echo failing; exit 3
fi' >"$W/f.out" 2>&1
st=$?
took=$(($(date +%s) - t0))
is "$st" 3 "the step ends with the failing rank's exit code"
ok "$([ "$took" -lt 250 ]; echo $?)" "at the failure, not after rank 0's sleep (${took} s)"
like "$(cat "$W/f.out")" "rank 1's command failed \(exit 3\): saving the step" \
	"rank 0 says why it saves"
like "$(cat "$W/f.out")" "snapshot 1: done: 2 guests" "the snapshot is done"
is "$(grep -c never "$W/f.out")" 0 "rank 0's command did not run on"
is "$(at_of "$W/fail")" "fail 1 3" "the manifest: at fail, rank 1, exit 3"
[ "$st" = 3 ] || sed 's/^/# /' "$W/f.out" | tail -n 30

# 3. A later step restores the failed fleet and looks inside.
# shellcheck disable=SC2016 # expanded in the guest
out=$(srun -Q -N2 -n2 -l -J t28r --vm-restore="$W/fail" \
	sh -c 'cat /tmp/x /tmp/y 2>/dev/null; echo "rank $SLURM_PROCID looked"' 2>&1)
st=$?
is "$st" 0 "a restore of it runs its own command"
like "$out" "^1: broken" "rank 1's guest holds what its failed command wrote"
like "$out" "^0: alive" "rank 0's guest what its running command wrote"
like "$out" "^0: rank 0 looked" "the new command ran in rank 0's guest"
is "$(echo "$out" | grep -c never)" 0 "the saved command in rank 0 was ended, not resumed"
[ "$st" = 0 ] || diag "$out"

# 4. Past --vm-timeout: saved first (124 as the code), then stopped.
vsrun -n1 -J t28t --vm-snapshot="$W/time" --vm-snapshot-at=fail --vm-timeout=3 \
	sh -c 'echo late >/tmp/t; sleep 300' >"$W/t.out" 2>&1
is "$?" 124 "a command past --vm-timeout still ends with 124"
like "$(cat "$W/t.out")" "the step is saved first" "the launcher says it saves first"
is "$(at_of "$W/time")" "fail 0 124" "the manifest: at fail, rank 0, 124"

# 5. Without --vm-snapshot: refused by srun, naming the fix.
out=$(vsrun -n1 -J t28-bad --vm-snapshot-at=fail true 2>&1)
st=$?
ok "$([ "$st" != 0 ]; echo $?)" "--vm-snapshot-at=fail without --vm-snapshot is refused"
like "$out" "give --vm-snapshot=DIR too" "naming the fix"

# 6. --vm-capture: a ping between two guests, kept and read by tcpdump.
# shellcheck disable=SC2016 # expanded in the guest
vsrun -N2 -n2 -l -J t28c --vm-capture --vm-keep=always --vm-keep-dir="$W/cap" \
	sh -c 'if [ "$SLURM_PROCID" = 0 ]; then
	for i in $(seq 60); do ping -c1 -W1 n0001 >/dev/null 2>&1 && break; done
	ping -c2 n0001 | grep -c "bytes from"; fi; slurm-vm-sync done' \
	>"$W/c.out" 2>&1
is "$?" 0 "a step with --vm-capture passes"
like "$(cat "$W/c.out")" "^0: 2" "its pings were answered"
if command -v tcpdump >/dev/null; then
	for r in 0 1; do
		f=$W/cap/n000$r/capture.pcap
		got=$(tcpdump -nn -r "$f" icmp 2>&1)
		like "$got" "IP 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request" \
			"rank $r's kept capture holds the echo request (tcpdump -r)"
		like "$got" "IP 10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo reply" \
			"... and the reply"
	done
	like "$(tcpdump -nn -r "$W/cap/n0000/capture.pcap" 2>&1)" "BOOTP/DHCP|ARP" \
		"the frames the fabric answers itself are there too"
else
	ok 0 "# SKIP no tcpdump"
fi
ok "$(find "$W/cap" -name capture.pcap -perm 0600 | grep -c . | grep -qx 2; echo $?)" \
	"both captures are the user's alone (0600)"
assert_clean "after saves at fail and captures"
