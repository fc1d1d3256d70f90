#!/bin/sh
# --vm-exec=host: the guest boots without needing its agent and the task's
# command runs on the node beside it, told the guest's address, console
# log and QMP socket; the guest goes when the command ends.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1

out=$(vsrun -n1 --vm-exec=host sh -c '
echo "guest $SLURMVM_GUEST_IP $SLURMVM_GUEST_HOSTNAME"
test -S "$SLURMVM_QMP" && echo "qmp socket"
for i in $(seq 240); do grep -q "slurm-vm: init" "$SLURMVM_CONSOLE" && break; sleep 0.5; done
echo "console $(grep -c "slurm-vm: init" "$SLURMVM_CONSOLE")"
python3 - "$SLURMVM_QMP" <<EOS
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline(); f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush(); f.readline()
f.write(json.dumps({"execute": "query-status"}) + "\n"); f.flush()
print("status", json.loads(f.readline())["return"]["status"])
EOS
echo "runs on $(uname -r)"; exit 5' 2>&1)
rc=$?
is "$rc" 5 "the command's exit code is the task's"
like "$out" "guest 10.0.0.1 n0000" "the command is told the guest's address and hostname"
like "$out" "qmp socket" "and its QMP socket"
like "$out" "console 1" "and its console log, where the guest's boot shows"
like "$out" "status running" "the QMP socket answers: the guest is running"
like "$out" "runs on $(uname -r)" "the command ran on the node, not in the guest"
assert_clean "host-mode job"

# --vm-fabric=verbs where the node has no RDMA device (this lab's nodes):
# every task fails at once, saying so and naming the fix.
out=$(srun -Q -n2 --vm-exec=endpoint --vm-fabric=verbs true 2>&1)
rc=$?
ok "$([ "$rc" -ne 0 ] && echo 0 || echo 1)" "verbs without an RDMA device fails the step (exit $rc)"
like "$out" "no RDMA device with an active port on this node.*use --vm-fabric=auto or tcp" \
	"the error names the missing device and the fix"
assert_clean "verbs refused"
