#!/bin/sh
# Pinning: each vCPU thread runs on its own task's CPU, a 2-vCPU guest of
# a 2-CPU task spreads over both, and --vm-pin=none leaves threads alone.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
lab_start 1
tmp=$TESTS_DIR/t70.tmp
mkdir -p "$tmp"

cpus_of() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$1"; }

# Prints "<task cpus> <vCPU0 cpus> [<vCPU1 cpus>]" for every running guest.
vcpu_report() {
	for l in $(pgrep -f slurm-vm-launch); do
		q=$(pgrep -P "$l" -f qemu-system) || continue
		line=$(cpus_of "/proc/$l/status")
		for t in /proc/$q/task/*; do
			case "$(cat "$t/comm")" in
			"CPU "*"/TCG") line="$line $(cat "$t/comm" | tr -d ' /'):$(cpus_of "$t/status")" ;;
			esac
		done
		echo "$line"
	done | sort
}

# Runs a step in the background until its guests are up, reports, ends it.
report_for() { # srun options...
	vsrun "$@" sh -c 'echo up; sleep 30' >"$tmp/out" 2>&1 &
	job=$!
	n=$(echo "$@" | sed -n 's/.*-n\([0-9]*\).*/\1/p')
	for i in $(seq 600); do
		[ "$(grep -c up "$tmp/out")" -ge "$n" ] && break
		sleep 0.2
	done
	vcpu_report
	scancel -u root
	wait_pid 900 $job
}

out=$(report_for -N1 -n2)
is "$(echo "$out" | wc -l)" 2 "two guests run"
is "$(echo "$out" | awk '{print $1}' | sort -u | wc -l)" 2 "the two tasks have different CPUs"
is "$(echo "$out" | awk '{split($2, a, ":"); print ($1 == a[2]) ? "same" : "differs"}' | sort -u)" \
	same "each guest's vCPU thread is bound to its own task's CPU"
diag "$out"

out=$(report_for -N1 -n1 -c2)
like "$out" "^0-1 CPU0TCG:[01] CPU1TCG:[01]$" "a 2-CPU task gets a 2-vCPU guest with one vCPU per PU"
ok "$(echo "$out" | awk '{split($2, a, ":"); split($3, b, ":"); exit !(a[2] != b[2])}'; echo $?)" \
	"its two vCPUs land on distinct PUs"
diag "$out"

out=$(report_for -N1 -n1 -c2 --vm-pin=none)
is "$out" "0-1 CPU0TCG:0-1 CPU1TCG:0-1" "--vm-pin=none leaves the vCPU threads on the task's CPUs"

out=$(vsrun -n1 --vm-stats true 2>&1)
like "$out" "pin plan: vcpu0=pu[01] mem=numa0" "--vm-stats logs the pin plan"
rm -rf "$tmp"
assert_clean "pinning jobs"
