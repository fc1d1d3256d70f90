#!/bin/sh
# The fabric on a 2-node lab: guests of a step reach each other by
# hostname, broadcasts reach every guest, a 50 MB TCP transfer arrives
# intact, concurrent jobs stay apart, and a stray client is refused.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
tmp=$TESTS_DIR/t60.tmp
mkdir -p "$tmp"

# In the guest: wait (up to 60 s) until every other rank answers a ping.
wait_peers='for r in $(seq 0 $((SLURM_NTASKS - 1))); do [ $r = $SLURM_PROCID ] && continue; h=$(printf n%04d $r); for i in $(seq 60); do ping -c1 -W1 $h >/dev/null 2>&1 && break; done; done'

out=$(vsrun -N2 -n2 -l sh -c "$wait_peers"'; peer=$(printf n%04d $((1 - SLURM_PROCID))); ping -c3 $peer | grep -c "bytes from"; sleep 4; hostname; ip -4 addr show eth0 | grep -o "inet [0-9./]*"' 2>"$tmp/err")
is "$?" 0 "a two-node step with pings by hostname succeeds"
like "$out" "0: 3" "n0000 reaches n0001 (on the other node) by hostname: 3 of 3 pings"
like "$out" "1: 3" "n0001 reaches n0000 by hostname: 3 of 3 pings"
like "$out" "0: inet 10.0.0.1/8" "DHCP gave rank 0 its address 10.0.0.1/8"
like "$out" "1: inet 10.0.0.2/8" "DHCP gave rank 1 its address 10.0.0.2/8"
assert_clean "ping job"

# No retries allowed: both guests ping 25 s after they start, once each,
# with no wait for the peer, and both stay up until the other is done (a
# guest that has powered off answers nothing, which is no fabric loss).
# Every ping must cross, and nothing may be dropped or lost on the way.
out=$(vsrun -N2 -n2 -l --vm-stats sh -c 'sleep 25; ping -c 3 -W 5 $(printf n%04d $((1 - SLURM_PROCID))) | grep -c "bytes from"; sleep 10' 2>"$tmp/err")
like "$out" "0: 3" "a ping at boot + 25 s, no retry: n0000 gets 3 of 3"
like "$out" "1: 3" "and n0001 gets 3 of 3"
is "$(grep -c 'dropped 0[;,]' "$tmp/err")" 2 "neither fabric dropped a frame"
is "$(grep -c 'link trouble' "$tmp/err")" 0 "and no link had trouble: $(grep -o 'link trouble[^;]*' "$tmp/err" | head -1)"
assert_clean "ping job without retries"

# Three guests: each broadcasts pings for 4 s; every other guest answers
# (the sender's own kernel answers too).
out=$(vsrun -N2 -n3 -l sh -c 'echo 0 >/proc/sys/net/ipv4/icmp_echo_ignore_broadcasts; '"$wait_peers"'; ping -w 4 10.255.255.255 2>/dev/null | grep -o "from 10\.[0-9.]*" | sort -u | tr "\n" " "; echo; sleep 8' 2>"$tmp/err")
like "$out" "0: .*from 10.0.0.2 from 10.0.0.3" "rank 0's broadcast reaches ranks 1 and 2"
like "$out" "1: from 10.0.0.1 .*from 10.0.0.3" "rank 1's broadcast reaches ranks 0 and 2"
like "$out" "2: from 10.0.0.1 from 10.0.0.2" "rank 2's broadcast reaches ranks 0 and 1"
assert_clean "broadcast job"

# 50 MB over TCP between guests on two nodes, served and fetched by name.
out=$(vsrun -N2 -n2 -l --vm-mem=512 sh -c '
if [ $SLURM_PROCID = 1 ]; then
	mkdir /tmp/www; dd if=/dev/urandom of=/tmp/www/f bs=1000000 count=50 2>/dev/null
	md5sum </tmp/www/f | cut -d" " -f1; httpd -f -p 8080 -h /tmp/www & sleep 2; touch /tmp/www/ready
	for i in $(seq 120); do [ -e /tmp/www/done ] && break; sleep 1; done
else
	'"$wait_peers"'
	for i in $(seq 60); do wget -q -O /dev/null http://n0001:8080/ready 2>/dev/null && break; sleep 1; done
	wget -q -O - http://n0001:8080/f | md5sum | cut -d" " -f1
fi' 2>"$tmp/err")
sent=$(echo "$out" | sed -n 's/^1: \([0-9a-f]\{32\}\)$/\1/p')
got=$(echo "$out" | sed -n 's/^0: \([0-9a-f]\{32\}\)$/\1/p')
ok "$([ -n "$sent" ] && [ "$sent" = "$got" ]; echo $?)" "50 MB over TCP from n0001 to n0000 arrive with the same md5 ($got)"
assert_clean "transfer job"

# Two jobs at once on the same nodes: each rank 0 fetches its own step's
# rank 1 marker, never the other job's.
job_marker() { # MARKER
	vsrun -N2 -n2 -l sh -c '
if [ $SLURM_PROCID = 1 ]; then
	mkdir /tmp/www; echo '"$1"' >/tmp/www/m; httpd -f -p 8080 -h /tmp/www & sleep 25
else
	'"$wait_peers"'
	for i in $(seq 30); do wget -q -O - http://n0001:8080/m 2>/dev/null && break; sleep 1; done
fi' 2>/dev/null
}
job_marker job-A >"$tmp/a" &
a=$!
job_marker job-B >"$tmp/b" &
b=$!
wait_pid 900 $a $b
is "$(grep '^0:' "$tmp/a")" "0: job-A" "job A's guests see only job A"
is "$(grep '^0:' "$tmp/b")" "0: job-B" "job B's guests see only job B"
assert_clean "concurrent jobs"

# Earlier steps' launchers are gone before this one starts.
for i in $(seq 100); do pgrep -f slurm-vm-launch >/dev/null || break; sleep 0.1; done

# A hand-made client on a launcher's fabric port gets a challenge and,
# answering without the step's secret, is cut off; the step goes on.
vsrun -N2 -n2 -l --vm-stats sh -c "$wait_peers"'; echo up; sleep 30; '"$wait_peers"'; ping -c2 $(printf n%04d $((1 - SLURM_PROCID))) | grep -c "bytes from"; sleep 4' \
	>"$tmp/out" 2>"$tmp/err" &
job=$!
for i in $(seq 600); do # both guests up: the fabrics are running
	[ "$(grep -c up "$tmp/out")" -ge 2 ] && break
	sleep 0.2
done
# While the guests sleep the step is idle: its launchers (the fabric's
# thread included) must use next to no CPU. Their CPU time over 5 s, from
# /proc/PID/stat (user + system, all threads).
launchers=$(pgrep -f slurm-vm-launch | tr '\n' ' ')
ticks() { # the launchers' ticks, and how many were read
	for p in $launchers; do awk '{print $14 + $15}' "/proc/$p/stat"; done |
		awk '{s += $1} END {print s + 0, NR}'
}
set -- $(ticks)
t0=$1
sleep 5
set -- $(ticks)
used=$(($1 - t0)) hz=$(getconf CLK_TCK)
ok "$([ "$2" = 2 ] && [ "$used" -le $((hz / 10)) ]; echo $?)" \
	"idle, the step's $2 launchers use $used ticks of CPU in 5 s (1/$hz s each; at most $((hz / 10)): 1 % of a CPU)"
# Every TCP port the launchers listen on; the fabric's says hello first.
ports=$(ss -ltnpH 2>/dev/null | grep slurm-vm-launc | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ')
ok "$([ -n "$ports" ]; echo $?)" "the launchers listen ($ports)"
reply=$(python3 - $ports <<'EOS' 2>&1
import socket, sys
for port in sys.argv[1:]:
	try:
		# The fabric says hello on accept; other listeners stay silent.
		s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
		hello = s.recv(28)
	except OSError: # a launcher of an earlier step, closing
		continue
	if not hello.startswith(b"SVMF"):
		continue
	# An AUTH from rank 1 to the acceptor, with a made-up MAC.
	s.sendall(b"SVMF\x02\x00\x00\x00" + b"\x00\x00\x00\x01" + hello[8:12] + bytes(48))
	try:
		rest = s.recv(100)
		print("hello=%d closed=%s" % (len(hello), rest == b""))
	except ConnectionResetError:
		print("hello=%d closed=True" % len(hello))
	break
EOS
)
is "$reply" "hello=28 closed=True" "the stray client gets a challenge, then is disconnected"
wait_pid 900 $job
like "$(cat "$tmp/out")" "0: 2" "the step goes on: rank 0 still reaches rank 1"
like "$(cat "$tmp/out")" "1: 2" "and rank 1 still reaches rank 0"
assert_clean "isolation job"

# One task of three is killed mid-run: the other two keep talking, and
# srun names the lost task.
vsrun -N2 -n3 -l sh -c '
if [ $SLURM_PROCID = 2 ]; then echo up; exec sleep 600; fi
'"$wait_peers"'; echo up; sleep 15
ping -c2 $(printf n%04d $((1 - SLURM_PROCID))) | grep -c "bytes from"; sleep 4' \
	>"$tmp/out" 2>"$tmp/err" &
job=$!
for i in $(seq 600); do
	[ "$(grep -c up "$tmp/out")" -ge 3 ] && break
	sleep 0.2
done
victim=
for p in $(pgrep -f slurm-vm-launch); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx SLURM_PROCID=2 && victim=$p
done
ok "$([ -n "$victim" ]; echo $?)" "rank 2's launcher found ($victim)"
kill -9 "$victim"
wait_pid 900 $job
like "$(cat "$tmp/out")" "0: 2" "after rank 2 is killed, rank 0 still reaches rank 1"
like "$(cat "$tmp/out")" "1: 2" "and rank 1 still reaches rank 0"
like "$(cat "$tmp/err")" "task 2: Killed" "srun names the lost task"
rm -rf "$tmp"
assert_clean "job with a killed task"
