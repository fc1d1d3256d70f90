# Shared by the integration tests: TAP output, the lab, the test guest and
# the leftover checks. Each test script sources this file, then calls
# lab_start with the number of nodes it needs.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

TESTS_DIR=$top_builddir/tests
GUEST=$TESTS_DIR/guest
LAB=$TESTS_DIR/lab
RUNDIR=$TESTS_DIR/run
PLUGIN=$top_builddir/spank/.libs/spank_vm.so
LAUNCHER=$top_builddir/launcher/slurm-vm-launch
HELPER=$top_builddir/spank/slurm-vm-helper
AGENT=$top_builddir/launcher/slurm-vm-agent
# Generous: guests boot under TCG on 2 shared cores.
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}

tap_n=0
tap_failed=0

ok() { # ok CONDITION-STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

like() { # like TEXT PATTERN DESCRIPTION (grep -E)
	if printf '%s' "$1" | grep -qE -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "$1" | sed 's/^/#   /' | head -20
		echo "#   does not match: $2"
	fi
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
	t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ] && ! "$@" >/dev/null 2>&1; do
		sleep 0.1
		t=$((t - 1))
	done
	"$@" >/dev/null 2>&1
}

# wait_pid SECONDS PID...: waits for background processes, SECONDS at most
# in all; one still running then is killed and counts as status 124. The
# status is the last process's, as wait's.
wait_pid() {
	local limit=$(($(date +%s) + $1)) p rc=0
	shift
	for p in "$@"; do
		while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$limit" ]; do
			sleep 0.2
		done
		if kill -0 "$p" 2>/dev/null; then
			diag "process $p still ran after the time limit: killed"
			kill -TERM "$p" 2>/dev/null
			sleep 3
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			rc=124
		else
			wait "$p"
			rc=$?
		fi
	done
	return $rc
}

at_least() { # at_least FILE PATTERN N: N lines or more of FILE match
	[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

plugstack_line() { # extra key=value arguments
	echo "required $PLUGIN launcher=$LAUNCHER helper=$HELPER accel=tcg rundir=$RUNDIR" \
		"boot_timeout=$BOOT_TIMEOUT $*"
}

set_plugstack() {
	"$top_srcdir/contrib/slurm-vm-lab" plugstack --dir "$LAB" "$@" >/dev/null
}

lab_stop() {
	"$top_srcdir/contrib/slurm-vm-lab" down --dir "$LAB" >/dev/null 2>&1
}

finish() {
	lab_stop
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# Builds the test guest when the agent or its /init is newer than it.
guest_build() {
	if [ ! -f "$GUEST/disk.qcow2" ] || [ "$AGENT" -nt "$GUEST/disk.qcow2" ] ||
		[ "$top_srcdir/contrib/guest-init" -nt "$GUEST/disk.qcow2" ]; then
		"$top_srcdir/contrib/slurm-vm-mkguest" --agent "$AGENT" \
			--out "$GUEST" --disk >/dev/null || return 1
	fi
	KERNEL=$GUEST/vmlinux
	INITRD=$GUEST/initrd.img
	DISK=$GUEST/disk.qcow2
}

# Builds (or finds up to date) the distribution image, in
# SLURM_VM_DISTRO_DIR when set (a cache that outlives the build tree).
# distro_build NAME PACKAGES: a variant with more packages (mkguest
# --packages) in the subdirectory NAME, its log distro-build-NAME.log.
distro_build() {
	local dir=${SLURM_VM_DISTRO_DIR:-$GUEST}${1:+/$1}
	"$top_srcdir/contrib/slurm-vm-mkguest" --distro --out "$dir" \
		${2:+--packages "$2"} >"$TESTS_DIR/distro-build${1:+-$1}.log" 2>&1 ||
		return 1
	DISTRO=$dir/distro.qcow2
}

# mpi_finalize_hang OUTPUT RANKS: every rank of tests/mpi_check.c printed
# its right line and rank 0 its ping-pong, and then the step ran out of
# time (Slurm's limit or --vm-timeout): MPICH 4.0.2 + UCX 1.13.1's own
# deadlock in MPI_Finalize over TCP (mpi_check.c, README "MPI in
# guests"), not the wire-up; the tests run such a step once more.
mpi_finalize_hang() {
	[ "$(printf '%s\n' "$1" | grep -c "^mpi rank [0-9]* of $2 .* right$")" = "$2" ] &&
		printf '%s\n' "$1" | grep -q '^pingpong .* right$' &&
		printf '%s\n' "$1" | grep -qE 'DUE TO TIME LIMIT|ran past --vm-timeout'
}

# mpi_ucx_tcp_fault OUTPUT: a rank died of UCX 1.13.1's own faults in its
# TCP connection manager when ranks open connections to each other at once
# (README "MPI in guests"): its assertion on a stale socket, or an endpoint
# timeout after it found an accepted connection already reset, or a
# connection of its wire-up that timed out (and the peers' refused once
# that rank was gone).
mpi_ucx_tcp_fault() {
	printf '%s\n' "$1" |
		grep -qE "tcp_cm\.c:[0-9]+ +Assertion .connect_ep->stale_fd == -1. failed|sock\.c:[0-9]+ +UCX +ERROR +connect\(.*\) failed: Connection (timed out|refused)" ||
		{ printf '%s\n' "$1" | grep -q 'UCX  WARN .*connection establishment .* was unsuccessful' &&
			printf '%s\n' "$1" | grep -q 'UCX netmod.*Endpoint timeout'; }
}

lab_start() { # lab_start NODES [slurm-vm-lab up options]
	local nodes=$1
	shift
	[ "${SLURM_VM_SKIP_INTEGRATION:-0}" = 1 ] &&
		skip_all "SLURM_VM_SKIP_INTEGRATION=1"
	[ "$(id -u)" = 0 ] || skip_all "the Slurm lab needs root"
	command -v slurmctld >/dev/null || skip_all "Slurm is not installed (slurm-wlm)"
	command -v "${QEMU:-qemu-system-x86_64}" >/dev/null ||
		skip_all "QEMU is not installed (qemu-system-x86)"
	guest_build || { echo "Bail out! cannot build the test guest"; exit 1; }
	mkdir -p "$RUNDIR"
	trap finish EXIT
	lab_stop
	if ! "$top_srcdir/contrib/slurm-vm-lab" up --dir "$LAB" --nodes "$nodes" \
		--plugstack "$(plugstack_line)" "$@" >"$TESTS_DIR/lab-up.log" 2>&1; then
		sed 's/^/# /' "$TESTS_DIR/lab-up.log"
		echo "Bail out! the Slurm lab did not start"
		exit 1
	fi
	export SLURM_CONF=$LAB/etc/slurm.conf
}

# Nothing of any VM job may be left: no QEMU started by a launcher, no run
# directory (with its overlay and console log).
assert_clean() { # DESCRIPTION
	local i qemu dirs
	for i in $(seq 100); do # a killed step is reaped asynchronously
		qemu=$(pgrep -f -- '-name slurm-vm\.' || true)
		dirs=$(ls -d "$RUNDIR"/slurm-vm.* 2>/dev/null || true)
		[ -z "$qemu$dirs" ] && break
		sleep 0.1
	done
	is "$qemu$dirs" "" "nothing left behind: $1"
}

# srun for VM jobs with the test guest; -Q hides the queueing chatter.
vsrun() {
	srun -Q --vm-kernel="$KERNEL" --vm-initrd="$INITRD" --vm-mem=256 "$@"
}
