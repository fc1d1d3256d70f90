#!/bin/bash
# slurm-vm exec and shell without a lab: the user command against the
# stand-ins of t06 for squeue, scontrol and srun, and two stand-in
# launchers (exec-stub) that run the launcher's real control socket,
# exec relay and agent session, and the agent's real sessions, here. Each
# stub's task prints a counter. Asserted: output labelled by rank, the
# highest rank's exit code, stdin to all or one, the task's output whole
# and in order meanwhile, a stopped (slow) client holds back only its own
# command, a client that goes takes its command with it, shell on a
# terminal (size, exit code), a client that breaks the framing (too long
# a frame, a wrong session) is dropped and its command ended, a fifth
# session is refused, another user is refused.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cmd=$top_builddir/contrib/slurm-vm
stub=$top_builddir/tests/exec-stub
[ -x "$cmd" ] && [ -x "$stub" ] || skip_all "build first (contrib/slurm-vm, tests/exec-stub)"
command -v script >/dev/null && command -v python3 >/dev/null || skip_all "needs script and python3"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slurm-vm-t07.XXXXXX")
chmod 755 "$tmp"
pids=
trap 'kill $pids 2>/dev/null; pkill -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/run"
tag=t07-$$ # in the commands run, to find what is left of them

for r in 0 1; do
	d=$tmp/run/slurm-vm.9.0.$r.AAAAA$r
	mkdir -m 700 "$d"
	"$stub" "$d" $r node$((r + 1)) 120 >"$tmp/task$r" 2>&1 &
	pids="$pids $!"
done
echo "required /x/spank_vm.so accel=tcg rundir=$tmp/run" >"$tmp/plugstack.conf"
cat >"$tmp/bin/scontrol" <<STUB
#!/bin/sh
echo "PlugStackConfig         = $tmp/plugstack.conf"
STUB
cat >"$tmp/bin/squeue" <<'STUB'
#!/bin/sh
case " $* " in
*" -j 9 "*) echo "$QUSER|RUNNING|node[1-2]|2" ;;
*) echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1 ;;
esac
STUB
# srun: the program after -- on each node of -w, at once, as that node;
# stdin to each (to the one in the foreground, or a copy for several).
cat >"$tmp/bin/srun" <<'STUB'
#!/bin/bash
w=
while [ "$1" != -- ]; do [ "$1" = -w ] && w=$2; shift; done
shift
case $w in node\[1-2\]) w=node1,node2 ;; esac
[[ $w == *,* ]] || SLURMD_NODENAME=$w exec "$@"
in=$(mktemp)
cat >"$in"
p=
for n in ${w//,/ }; do SLURMD_NODENAME=$n "$@" <"$in" & p="$p $!"; done
rc=0
for q in $p; do wait $q || { s=$?; [ $s -gt $rc ] && rc=$s; }; done
rm -f "$in"
exit $rc
STUB
chmod +x "$tmp/bin/"*
PATH=$tmp/bin:$PATH
QUSER=$(id -un)
SLURM_VM_CONTROL=$top_builddir/launcher/control/slurm-vm-control
export PATH QUSER SLURM_VM_CONTROL
for r in 0 1; do wait_for 5 test -S "$tmp/run/slurm-vm.9.0.$r.AAAAA$r/control.sock"; done

out=$("$cmd" exec 9.0 -- sh -c "echo hi from \$SLURM_PROCID; echo oops >&2; exit \$((5 - SLURM_PROCID))" 2>"$tmp/err")
rc=$?
like "$out" "^0: hi from 0$" "exec: rank 0's line, labelled"
like "$out" "^1: hi from 1$" "rank 1's too"
like "$(cat "$tmp/err")" "^0: oops$" "stderr labelled, on stderr"
is "$rc" 4 "the exit code is the highest rank's (rank 1: 4; rank 0 had 5)"
"$cmd" exec 9.0:0 -- sh -c 'exit 3' >/dev/null 2>&1
is "$?" 3 "exec ... sh -c 'exit 3' on one rank: 3"
echo x | "$cmd" exec 9.0 -- cat >"$tmp/o" 2>"$tmp/e"; cat "$tmp/e"
is "$(sort "$tmp/o")" "0: x
1: x" "stdin goes to every rank"
is "$(echo y | "$cmd" exec --stdin=1 9.0 -- cat)" "1: y" "--stdin=1: to rank 1 only, rank 0 sees its end"

# The task's counter goes on, whole lines in order, while a client that
# does not read holds back its own command only.
"$SLURM_VM_CONTROL" --rundir "$tmp/run" 9.0 0 exec -- bash -c "exec -a $tag-flood yes flood" >/dev/null &
cpid=$!
sleep 1
kill -STOP $cpid
a=$(grep -c '^0: c ' "$tmp/task0")
sleep 2
b=$(grep -c '^0: c ' "$tmp/task0")
ok "$([ $((b - a)) -ge 10 ]; echo $?)" "the task's counter goes on while the exec's client is stopped ($a -> $b)"
ok "$(pgrep -f "^$tag-flood" >/dev/null; echo $?)" "and the exec's command only waits"
kill -KILL $cpid
wait $cpid 2>/dev/null
wait_for 6 sh -c "! pgrep -f '^$tag-flood'"
ok $? "the client killed: its command is gone too"
n=$(grep -c '^0: c ' "$tmp/task0")
is "$(grep '^0: c ' "$tmp/task0" | awk '{ print $3 }' | awk 'NR - 1 != $1' | head -1)" "" "the task's $n counter lines are whole and in order"
is "$(grep -vc '^0: c ' "$tmp/task0")" 0 "and nothing else is in the task's output"

# A client that goes mid-session: its command is hung up.
"$SLURM_VM_CONTROL" --rundir "$tmp/run" 9.0 1 exec -- bash -c "exec -a $tag-sleep sleep 300" >/dev/null &
cpid=$!
wait_for 5 pgrep -f "^$tag-sleep" >/dev/null
kill -KILL $cpid
wait $cpid 2>/dev/null
wait_for 6 sh -c "! pgrep -f '^$tag-sleep'"
ok $? "a client gone mid-session: its command ends"

# Ctrl-C: SIGINT to the node program (srun --disable-status sends it
# there) reaches the command, after stdin's end; SIGINT not ignored, as
# from a terminal (a background job of a script has it ignored).
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$SLURM_VM_CONTROL" --rundir "$tmp/run" 9.0 0 exec -- bash -c "exec -a $tag-int sleep 300" </dev/null >/dev/null 2>&1 &
cpid=$!
wait_for 5 pgrep -f "^$tag-int" >/dev/null
kill -INT $cpid
wait $cpid
is "$?" 130 "Ctrl-C reaches the command: 128+2"

# shell, on a terminal.
printf 'stty size\nexit 4\n' | script -qec "stty rows 30 cols 100; $cmd shell 9.0:1" /dev/null >"$tmp/sh" 2>&1
is "$?" 4 "shell: exit 4 ends it with 4"
like "$(tr -d '\r' <"$tmp/sh")" "^.*30 100$" "shell: the terminal's size reaches the guest's"

# The framing broken by a client: it is dropped and its command ended.
attack() { # attack WHAT: a raw client of rank 0's socket
	python3 - "$tmp/run/slurm-vm.9.0.0.AAAAA0/control.sock" "$1" "$tag" <<'PY'
import socket, struct, sys, time, json
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = {"argv": ["bash", "-c", "exec -a %s-attack sleep 300" % sys.argv[3]]}
s.sendall(b"exec " + json.dumps(req).encode() + b"\n")
f = s.makefile("rb")
print(f.readline().decode().strip())
time.sleep(0.5)
if sys.argv[2].startswith("too long"):
    s.sendall(struct.pack(">BBHI", 17, 1, 0, 5000) + b"x" * 100)
elif sys.argv[2] == "wrong session":
    s.sendall(struct.pack(">BBHI", 17, 2, 0, 1) + b"x")
s.settimeout(5)
try:
    print("closed" if s.recv(100) == b"" else "open")
except socket.timeout:
    print("open")
PY
}
for what in "too long length" "wrong session"; do
	out=$(attack "$what")
	like "$out" '"return":\{"session":[1-4]\}' "attack $what: the session opens"
	like "$out" "closed" "a client's frame with a $what: the connection is dropped"
	wait_for 6 sh -c "! pgrep -f '^$tag-attack'"
	ok $? "and its command ended"
done

# At most 4 sessions in a guest.
busy=
for i in 1 2 3 4; do
	"$SLURM_VM_CONTROL" --rundir "$tmp/run" 9.0 0 exec -- bash -c "exec -a $tag-four sleep 300" >/dev/null 2>&1 &
	busy="$busy $!"
done
wait_for 5 sh -c "[ \$(pgrep -fc '^$tag-four') = 4 ]"
out=$("$cmd" exec 9.0:0 -- true 2>&1)
like "$out" "busy: 4 sessions run in this guest already" "a fifth session is refused, saying why"
kill $busy
wait $busy 2>/dev/null
wait_for 6 sh -c "! pgrep -f '^$tag-four'"
ok $? "their commands end with their clients"

if [ "$(id -u)" = 0 ]; then
	out=$(runuser -u nobody -- env PATH="$PATH" QUSER=root SLURM_VM_CONTROL="$SLURM_VM_CONTROL" "$cmd" exec 9.0 -- id 2>&1)
	like "$out" "job 9 is root's, not yours \(nobody\)" "another user: refused"
else
	ok 0 "# SKIP another user needs root"
fi
out=$("$cmd" exec 9.0 2>&1)
like "$out" "give the command to run" "exec without a command"
out=$("$cmd" exec --stdin=x 9.0 -- true 2>&1)
like "$out" "exec: --stdin=x: give a rank number, or all" "a bad --stdin"
out=$("$cmd" shell 9.0 2>&1)
like "$out" "name one rank" "shell on several ranks"
for c in exec shell; do
	out=$("$cmd" $c --help 2>&1)
	ok "$([ $? = 0 ] && printf '%s' "$out" | grep -q "usage: .*$c"; echo $?)" "$c --help"
done
is "$(pgrep -fc "^$tag")" 0 "nothing of the commands is left"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
