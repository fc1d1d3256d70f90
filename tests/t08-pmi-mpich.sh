#!/bin/sh
# The PMI-1 service (launcher/pmi/) against a real MPI library, on this
# host, without guests or Slurm: tests/pmi-harness gives each of N copies
# of a tiny MPI program a pmi_server, as the launchers do for guests.
# MPI_Init must wire every rank up, MPI_Allreduce must give the right sum,
# and MPI_Abort must end the run with its code. Needs no lab.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v mpicc >/dev/null ||
	skip_all "no mpicc (Debian: apt-get install mpich libmpich-dev)"
HARNESS=$top_builddir/tests/pmi-harness
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slurm-vm-t08.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mpicc -o "$tmp/mpi_check" "$top_srcdir/tests/mpi_check.c" 2>"$tmp/cc.log" || {
	sed 's/^/# /' "$tmp/cc.log"
	echo "Bail out! mpicc cannot build tests/mpi_check.c"
	exit 1
}

for n in 1 4; do
	out=$("$HARNESS" $n "$tmp/mpi_check" 2>&1)
	is "$?" 0 "$n rank(s): every rank wires up through PMI-1 and exits 0"
	r=0
	while [ $r -lt $n ]; do
		like "$out" "^mpi rank $r of $n on .* procid $r sum $((n * (n - 1) / 2)) right$" \
			"$n rank(s): rank $r has MPI rank $r of $n and the right MPI_Allreduce sum"
		r=$((r + 1))
	done
done

out=$("$HARNESS" 4 "$tmp/mpi_check" 2 2>&1)
is "$?" 7 "MPI_Abort(..., 7) in rank 2 ends the run with code 7"
like "$out" "rank 2 aborted with code 7" "the service saw the abort from rank 2"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
