#!/bin/bash
# The verbs transport over real RDMA verbs. This host's kernel has no RDMA,
# so the fabric runs where one exists: inside two QEMU guests, each with a
# soft-RoCE device (rdma_rxe) on its NIC, the NICs joined by a QEMU stream
# link. In each guest one fabric instance (slurm-vm-fabric-peer, its cards
# swapped over a TCP rendezvous since no Slurm runs there) carries the
# frames of a stand-in endpoint (the fabric benchmark's), over a reliable
# connected queue pair to the other guest. The guests run the checkout's
# own programs from the host's root, mounted read-only over 9p.
. "$(dirname "$0")/lib.sh"

[ "${SLURM_VM_SKIP_INTEGRATION:-0}" = 1 ] && skip_all "SLURM_VM_SKIP_INTEGRATION=1"
grep -q '^#define HAVE_VERBS 1' "$top_builddir/config.h" ||
	skip_all "built without libibverbs: no verbs transport to test"
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || skip_all "QEMU is not installed (qemu-system-x86)"
kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n 1)
kver=${kver#vmlinuz-}
grep -q '/rdma_rxe\.ko' "/lib/modules/$kver/modules.dep" 2>/dev/null ||
	skip_all "the guest kernel ($kver) has no rdma_rxe module: no soft-RoCE device"

PEER=$top_builddir/fabric/bench/slurm-vm-fabric-peer
NETBENCH=$top_builddir/fabric/bench/slurm-vm-netbench
VGUEST=$TESTS_DIR/verbs-guest
W=$TESTS_DIR/verbs-run
rm -rf "$W"
mkdir -p "$W"

cleanup() {
	pkill -f -- "$W/l2.sock" 2>/dev/null
	rm -rf "$W"
}
trap 'cleanup; echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]' EXIT

"$top_srcdir/contrib/slurm-vm-mkguest" --agent "$AGENT" --out "$VGUEST" \
	--init "$top_srcdir/tests/verbs-init" \
	--extra-modules "crc32_generic rdma_rxe ib_uverbs 9p 9pnet_virtio" >/dev/null ||
	{ echo "Bail out! cannot build the verbs guest"; exit 1; }

# guest N SERVER: boots guest N (10.0.0.N) running one fabric instance of
# rank N-1 with the stand-in endpoint.
guest() {
	local n=$1 server=$2 cmd
	cmd="cd $top_builddir && $PEER --rank $((n - 1)) --nranks 2 \
--rendezvous 10.0.0.1:7000 --addr 10.0.0.$n --transport verbs \
-- $NETBENCH verbs"
	timeout 900 "$QEMU" -accel tcg -m 512 -smp 2 -nographic -nodefaults \
		-no-reboot -serial "file:$W/g$n.log" \
		-kernel "$VGUEST/vmlinux" -initrd "$VGUEST/initrd.img" \
		-append "console=ttyS0 quiet panic=-1 slurmvm.ip=10.0.0.$n/24 slurmvm.cmd64=$(printf '%s' "$cmd" | base64 -w0)" \
		-netdev "stream,id=l2,server=$server,addr.type=unix,addr.path=$W/l2.sock" \
		-device "virtio-net-pci,netdev=l2,mac=52:54:00:00:00:0$n" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		>"$W/q$n.out" 2>&1
}

t0=$(date +%s)
guest 1 on &
g1=$!
for _ in $(seq 100); do [ -S "$W/l2.sock" ] && break; sleep 0.1; done
guest 2 off &
g2=$!
wait_pid 900 $g1 $g2
diag "both guests ran in $(($(date +%s) - t0)) s"

if grep -q 'verbs-test: no-rxe' "$W/g1.log" "$W/g2.log"; then
	skip_all "no soft-RoCE device in the guest: $(grep -h 'verbs-test: no-rxe' "$W/g1.log" | head -1)"
fi
g1log=$(cat "$W/g1.log") g2log=$(cat "$W/g2.log")
like "$g1log" 'verbs-test: start .*rxe0.* ACTIVE' "guest 1 has an active soft-RoCE device"
like "$g1log" 'verbs-test: rc=0' "rank 0's endpoint finished its exchange (exit 0)"
like "$g2log" 'verbs-test: rc=0' "rank 1's endpoint finished its exchange (exit 0)"
for s in 64B 1500B 9000B; do
	like "$g1log" "^verbs $s frames/s [1-9]" "$s frames went across over verbs"
	like "$g1log" "^verbs $s lost 0" "no $s frame was lost"
done
like "$g1log" '^verbs 64B rtt_p50_us [0-9]' "64-byte round trips went across"
like "$g1log" 'n0000: out [1-9].* links 0/0/1 local/tcp/verbs, dropped 0' \
	"rank 0's fabric used one verbs link and dropped nothing"
like "$g2log" 'n0001: out [1-9].* in [1-9].* links 0/0/1 local/tcp/verbs, dropped 0' \
	"rank 1's fabric used one verbs link and dropped nothing"
grep -E '^verbs ' "$W/g1.log" | tr -d '\r' | sed 's/^/# /'
grep -h 'fabric-peer:' "$W/g1.log" "$W/g2.log" | tr -d '\r' | sed 's/^/# /'
left=$(pgrep -f -- "$W/l2.sock" || true)
is "$left" "" "no QEMU left behind"
