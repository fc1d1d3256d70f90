#!/bin/sh
# Streams and exit codes: stdout and stderr stay apart, 10 MB arrive
# intact, stdin reaches the command, exit codes and signals map as
# documented (status N, or 128+N for signal N).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
tmp=$TESTS_DIR/t20.tmp
mkdir -p "$tmp"

vsrun -n1 sh -c 'echo to-out; echo to-err >&2; echo more-out' >"$tmp/out" 2>"$tmp/err"
is "$(cat "$tmp/out")" "to-out
more-out" "stdout carries only stdout"
is "$(cat "$tmp/err")" "to-err" "stderr carries only stderr"

# Output streams while the command runs, not when it ends.
times=$(vsrun -n1 sh -c 'echo first; sleep 4; echo second' |
	while read -r line; do echo "$(date +%s) $line"; done)
first=$(echo "$times" | sed -n 's/ first$//p')
second=$(echo "$times" | sed -n 's/ second$//p')
ok "$([ -n "$first" ] && [ -n "$second" ] && [ $((second - first)) -ge 3 ]; echo $?)" \
	"output streams as it is produced (lines $((second - first)) s apart)"

vsrun -n1 sh -c 'dd if=/dev/urandom bs=1000000 count=10 2>/dev/null >/tmp/f; md5sum </tmp/f | cut -d" " -f1 >&2; cat /tmp/f' \
	>"$tmp/big" 2>"$tmp/bigsum"
is "$(stat -c %s "$tmp/big")" 10000000 "10 MB of output arrive"
is "$(md5sum <"$tmp/big" | cut -d' ' -f1)" "$(cat "$tmp/bigsum")" \
	"with the checksum the guest computed"

seq 1 200000 >"$tmp/in"
got=$(vsrun -n1 md5sum <"$tmp/in" | cut -d' ' -f1)
is "$got" "$(md5sum <"$tmp/in" | cut -d' ' -f1)" "stdin (1.3 MB) reaches the guest command intact"

# A short pipe: its bytes and its end reach the agent in the same read as
# the command (a command waiting on them used to wait for ever).
got=$(printf 'piped\n' | timeout --foreground 300 srun -Q -n1 --vm-kernel="$KERNEL" \
	--vm-initrd="$INITRD" --vm-mem=256 sh -c 'read x; echo "got $x"; cat; echo end' 2>&1)
is "$got" "got piped
end" "a short pipe on stdin: its line, then its end, reach the command"

for code in 0 1 3; do
	vsrun -n1 sh -c "exit $code"
	is "$?" "$code" "exit $code in the guest is srun's exit code $code"
done
vsrun -n1 sh -c 'kill -9 $$'
is "$?" 137 "a command killed by SIGKILL in the guest gives 128+9"
vsrun -n1 sh -c 'kill -TERM $$'
is "$?" 143 "a command killed by SIGTERM in the guest gives 128+15"
out=$(vsrun -n1 no-such-command 2>&1)
is "$?" 127 "a command missing in the guest gives 127"
like "$out" "cannot run 'no-such-command' in the guest" "with a message saying so"
rm -rf "$tmp"
assert_clean "I/O jobs"
