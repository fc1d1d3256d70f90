#!/bin/sh
# The source guard on a 2-node lab: a guest that takes another rank's
# IPv4 address, claims it by ARP and probes for its IPv6 link-local
# address is not heard as that rank; the honest guests' traffic goes on,
# IPv4 and IPv6, and their own frames are never counted as spoofed.
#
# Three ranks: n0000 (10.0.0.1) the victim, n0001 (10.0.0.2) the spoofer,
# n0002 (10.0.0.3) the rank whose addresses the spoofer takes. Each counts
# from the moment every rank answers pings (wait_peers); the spoofer waits
# 10 s more, so its frames fall in the others' windows.
#
# What would show a spoof that got through: the spoofer sends 3 UDP
# probes (traceroute) from 10.0.0.3 to the victim's closed ports; each that
# arrived would raise the victim's UDP NoPorts and send a port unreachable
# to n0002. Only n0002's own 3 probes may do either.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 2
tmp=$TESTS_DIR/t62.tmp
mkdir -p "$tmp"

wait_peers='for r in $(seq 0 $((SLURM_NTASKS - 1))); do [ $r = $SLURM_PROCID ] && continue; h=$(printf n%04d $r); for i in $(seq 60); do ping -c1 -W1 $h >/dev/null 2>&1 && break; done; done'

# A counter of /proc/net/snmp: snmp Udp NoPorts
snmp='snmp() { awk -v p="$1:" -v k="$2" '"'"'$1 == p { if (!n) { for (i = 2; i <= NF; i++) c[$i] = i; n = 1 } else print $c[k] }'"'"' /proc/net/snmp; }'

cmd=$snmp'
'$wait_peers'
case $SLURM_PROCID in
0)	np0=$(snmp Udp NoPorts)
	sleep 35
	echo "noports=$(($(snmp Udp NoPorts) - np0))"
	;;
1)	sleep 10
	# The static neighbour: the spoofed frames leave whatever ARP says.
	arp -s 10.0.0.1 52:55:00:00:00:00
	echo 1 >/proc/sys/net/ipv4/ip_nonlocal_bind
	ip addr add 10.0.0.3/32 dev eth0
	traceroute -n -m 1 -q 3 -w 1 -s 10.0.0.3 10.0.0.1 2>&1 | tail -1
	ping -c 3 -W 2 -I 10.0.0.3 10.0.0.1 >/dev/null 2>&1
	arping -U -c 2 -I eth0 -s 10.0.0.3 10.0.0.3 >/dev/null 2>&1
	arping -A -c 2 -I eth0 -s 10.0.0.1 10.0.0.1 >/dev/null 2>&1
	# Duplicate address detection for n0002'"'"'s link-local address.
	ip addr add fe80::5055:ff:fe00:2/64 dev eth0
	sleep 3
	ip addr del 10.0.0.3/32 dev eth0
	echo "own=$(ping -c 3 -W 2 10.0.0.1 | grep -c "bytes from")"
	;;
2)	du0=$(snmp Icmp InDestUnreachs)
	sleep 5
	traceroute -n -m 1 -q 3 -w 1 10.0.0.1 2>&1 | tail -1 | sed "s/^/trace: /"
	ping -c 20 -i 0.5 10.0.0.1 | grep -o "[0-9]*% packet loss" | sed "s/^/v4: /"
	ping6 -c 3 -I eth0 fe80::5055:ff:fe00:0 >/tmp/v6 2>&1
	grep -o "[0-9]*% packet loss" /tmp/v6 | sed "s/^/v6: /"
	# When it fails: the address and what the kernel said of it.
	grep -q " 0% packet loss" /tmp/v6 || { cat /tmp/v6; ip -6 addr show dev eth0
		dmesg | grep -i -E "ipv6|duplicate|eth0" | tail -5; } | sed "s/^/v6 why: /"
	sleep 15
	echo "unreach=$(($(snmp Icmp InDestUnreachs) - du0))"
	;;
esac'

out=$(vsrun -N2 -n3 -l --vm-stats sh -c "$cmd" 2>&1)
is "$?" 0 "a step with a spoofing guest runs to its end"
diag "$(printf '%s\n' "$out" | grep -E '^[0-9]: slurm-vm: n000' | sed 's/; bootstrap.*//')"
like "$out" "2: trace: +1 +10\.0\.0\.1 " "n0002's own probes reach n0000, which answers"
like "$out" "0: noports=3$" "n0000 got n0002's 3 probes and none of the 3 sent in its name"
like "$out" "2: unreach=3$" "n0002 got the answers to its 3 probes and none meant for the spoofer's"
like "$out" "1:  1  \*  \*  \*" "the spoofer hears nothing back"
like "$out" "2: v4: 0% packet loss" "n0002 pings n0000 with no loss while the spoofer works"
like "$out" "2: v6: 0% packet loss" "and over IPv6, link-local (neighbour discovery passes the guard)"
like "$out" "1: own=3" "the spoofer still speaks as itself: 3 of 3 pings"
stats1=$(printf '%s\n' "$out" | grep '^1: slurm-vm: n0001:')
spoofed=$(printf '%s\n' "$stats1" | sed -n 's/.*spoofed \([0-9]*\).*/\1/p')
ok "$([ "${spoofed:-0}" -ge 3 ]; echo $?)" \
	"the spoofer's --vm-stats counts the spoofed frames (${spoofed:-none}, at least its 3 probes)"
like "$(printf '%s\n' "$out" | grep -E '^[02]: slurm-vm: n000[02]:' | grep -c spoofed)" "^0$" \
	"nothing the honest guests sent is counted as spoofed"
rm -rf "$tmp"
assert_clean "spoof job"
