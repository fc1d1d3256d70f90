#!/bin/sh
# The outside network: with egress=nat a guest fetches a page from a
# server on the node's address through its NAT NIC, still reaching its
# peers on the fabric; with --vm-egress=none, or where the site says none
# (the default), it cannot, and asking for it there is refused before the
# job exists. A guest never reaches another step's guests.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
W=$TESTS_DIR/t47.tmp
rm -rf "$W"
mkdir -p "$W/www"
ip=$(hostname -I | awk '{print $1}')
port=18047
echo "hello from the node $$" >"$W/www/page.txt"
/usr/bin/python3 -m http.server --bind "$ip" --directory "$W/www" "$port" \
	>"$W/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$W"; finish' EXIT
wait_for 30 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null
# (busybox's static wget crashes; nc speaks the HTTP here)
fetch="printf 'GET /page.txt HTTP/1.0\r\n\r\n' | nc -w 10 $ip $port | grep hello || echo no way out"

set_plugstack "$(plugstack_line) egress=nat"
out=$(vsrun -N2 -n2 -l sh -c "if [ \$SLURM_PROCID = 0 ]; then $fetch; else ping -c1 -W5 n0000 >/dev/null && echo peer ok; fi" 2>&1)
like "$out" "^0: hello from the node $$" "egress=nat: a guest fetches a page from a server on the node's address"
like "$out" "^1: peer ok" "and its peers are still on the fabric"
like "$(cat "$W/http.log")" "GET /page.txt" "the server saw the request"
out=$(vsrun -n1 --vm-egress=none sh -c "$fetch" 2>&1)
like "$out" "no way out" "--vm-egress=none: the guest cannot reach the node"

# Another step's guest: its address is the other step's own (each step
# has its own segment), so a listener in one is out of reach of the other.
vsrun -n1 -J t47-a sh -c 'echo listening; nc -l -p 9000 >/dev/null; echo reached' \
	>"$W/a.out" 2>&1 &
a=$!
wait_for 300 at_least "$W/a.out" listening 1
out=$(vsrun -n2 -J t47-b sh -c '[ $SLURM_PROCID = 1 ] && { echo x | nc -w 3 10.0.0.1 9000 && echo sent || echo refused; }; true' 2>&1)
like "$out" "refused" "a guest with the outside network cannot reach another step's listener (its 10.0.0.1 is its own rank 0)"
scancel -n t47-a
wait_pid 900 "$a"
ok "$(! grep -q reached "$W/a.out"; echo $?)" "and the other step's listener heard nothing"

set_plugstack "$(plugstack_line)"
out=$(vsrun -n1 sh -c "$fetch" 2>&1)
like "$out" "no way out" "the default (egress=none): no outside network"
out=$(vsrun -n1 -J t47-bad --vm-egress=nat true 2>&1)
ok "$([ $? != 0 ]; echo $?)" "--vm-egress=nat where the site says none: refused"
like "$out" "--vm-egress=nat: this site gives guests no outside network" "naming the setting and the fix"
is "$(sacct -n -X --name=t47-bad -o JobID 2>/dev/null | grep -c .)" 0 "no job was made"
assert_clean "after the egress steps"
