#!/bin/sh
# The fabric under attack and at scale: idle connections that say nothing,
# a name taken first, a stranger's uid, a launcher that stops answering,
# one that runs out of descriptors, and a 256-task step. Stand-in
# endpoints (--vm-exec=endpoint) exchange one frame between every pair of
# ranks; every pair must get through.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 4

NETBENCH=$top_builddir/fabric/bench/slurm-vm-netbench
ATTACK="python3 $top_srcdir/tests/fabric-attacker.py"
go=$TESTS_DIR/t61.go
out=$TESTS_DIR/t61.out
err=$TESTS_DIR/t61.err
ulimit -n 16384 2>/dev/null

# A step whose ranks wait for $go, then exchange a frame with every peer.
step() { # step NODES TASKS
	rm -f "$go"
	srun -Q -O -N"$1" -n"$2" -J t61 --vm-exec=endpoint --vm-stats sh -c \
		'while [ ! -e "$0" ]; do sleep 1; done; exec "$1" --all-pairs' \
		"$go" "$NETBENCH" >"$out" 2>"$err" &
	step_pid=$!
	step_tasks=$2
}
launchers() { pgrep -x slurm-vm-launch | wc -l; }
all_up() { [ "$(ss -Hltnp | grep -c '"slurm-vm-launch"')" -ge "$step_tasks" ]; }
tcp_ports() { ss -Hltnp | grep '"slurm-vm-launch"' | awk '{n = split($4, a, ":"); print a[n]}'; }
unix_names() { ss -Hlxp | grep '"slurm-vm-launch"' | awk '{print $5}'; }
rank_pid() { # the launcher of rank $1
	for p in $(pgrep -x slurm-vm-launch); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=$1" &&
			echo "$p" && return
	done
}
heard() { grep -c "heard from $(($1 - 1)) of $(($1 - 1)) peers" "$out"; }
finish_step() { # seconds
	t=0
	while kill -0 "$step_pid" 2>/dev/null && [ "$t" -lt "$1" ]; do
		sleep 1
		t=$((t + 1))
	done
	kill -0 "$step_pid" 2>/dev/null && scancel -n t61 && sleep 2
	wait_pid 900 "$step_pid"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 1. Another uid cannot even start a handshake on the node-local listener;
# the job's own uid can (so the check below can fail).
step 1 2
wait_for 60 all_up
name=$(unix_names | head -1)
# The challenge (HELLO) is 28 bytes: 8 of magic, 4 of rank, 16 random.
is "$($ATTACK probe "unix:$name")" 28 "the job's own uid gets the challenge on the node-local listener"
is "$(runuser -u nobody -- $ATTACK probe "unix:$name")" 0 \
	"another uid is refused at once (SO_PEERCRED), with nothing said"
like "$name" '^@slurm-vm\.[0-9]+\.[0-9]+\.[0-9]+\.[0-9a-f]{16}$' "the listener's name ends in a random tag"
touch "$go"
finish_step 60

# 2. A name taken first: another user binds the predictable names of the
# next step's ranks; the step starts and every pair gets through.
job=$(squeue -h -o %i | sort -n | tail -1)
next=$(( $(sacct -n -X -o JobID 2>/dev/null | sort -n | tail -1 | tr -dc 0-9) + 1 ))
runuser -u nobody -- $ATTACK squat "@slurm-vm.$next.0.0" "@slurm-vm.$next.0.1" \
	"@slurm-vm.$next.0.2" "@slurm-vm.$next.0.3" >"$TESTS_DIR/t61.squat" &
squat_pid=$!
wait_for 10 grep -q squatting "$TESTS_DIR/t61.squat"
step 1 4
touch "$go"
finish_step 60
is "$(heard 4)" 4 "with the old names squatted, all 4 ranks reach all their peers"
kill "$squat_pid" 2>/dev/null

# 3. A launcher that accepts and says nothing (stopped: the kernel still
# accepts for it) for longer than a handshake may take, then comes back:
# the others' handshakes time out, are tried again, and heal.
step 2 8
wait_for 60 all_up
victim=$(rank_pid 5)
kill -STOP "$victim"
touch "$go"
sleep 15
kill -CONT "$victim"
finish_step 90
is "$(heard 8)" 8 "after a silent peer came back, all 8 ranks reach all their peers"
like "$(cat "$err")" "timed out [1-9]" "the timed-out handshakes are counted"

# 4. Out of descriptors: a launcher whose limit is cut to 8 more than it
# holds rests its listeners instead of spinning, and its links take turns
# (failed ones are tried again as others close) until every pair got
# through. (A limit cannot be raised again from outside here.)
step 2 16
wait_for 60 all_up
victim=$(rank_pid 7)
open=$(ls "/proc/$victim/fd" | wc -l)
prlimit --pid "$victim" --nofile=$((open + 8)):$((open + 8))
touch "$go"
sleep 3
t0=$(cpu_ticks "$victim")
sleep 5
t1=$(cpu_ticks "$victim")
ok "$([ $((t1 - t0)) -le 50 ]; echo $?)" \
	"out of descriptors, the launcher is not spinning ($((t1 - t0)) ticks of 500 in 5 s)"
t_start=$(date +%s)
finish_step 240
diag "the 16 ranks took $(($(date +%s) - t_start)) s after the limit was cut"
is "$(heard 16)" 16 "with 8 descriptors to spare on one launcher, all 16 ranks reach all their peers"
like "$(grep n0007 "$err")" "rested [1-9]|failed [1-9]" "and the launcher counted its trouble"

# 5. 256 tasks over 4 nodes, without and with a client holding 200 idle
# connections to each of 8 launchers, over TCP and the node-local socket.
for attacked in no yes; do
	step 4 256
	wait_for 180 all_up
	ok $? "256 launchers listen ($(launchers))"
	if [ "$attacked" = yes ]; then
		targets=$( (tcp_ports | head -8 | sed 's/^/tcp:127.0.0.1:/'
			unix_names | head -8 | sed 's/^/unix:/') | tr '\n' ' ')
		(ulimit -n 16384; exec $ATTACK hold 200 $targets) >"$TESTS_DIR/t61.hold" 2>&1 &
		hold_pid=$!
		wait_for 60 grep -q holding "$TESTS_DIR/t61.hold"
		like "$(cat "$TESTS_DIR/t61.hold")" "holding 3200" "the client holds 200 idle connections to each of 8 listeners of each kind"
	fi
	touch "$go"
	finish_step 300
	is "$(heard 256)" 256 "256 tasks ($attacked attacker): all 256 ranks reach all 255 peers"
	[ "$attacked" = yes ] && {
		like "$(cat "$err")" "refused [1-9]" "the idle connections were refused or made room"
		kill "$hold_pid" 2>/dev/null
	}
done
rm -f "$go" "$out" "$err" "$TESTS_DIR"/t61.*
assert_clean "after the fabric attacks"
