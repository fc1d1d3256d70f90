// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A tiny MPI program for the PMI tests, compiled by the test with mpicc:
 * each rank prints its rank, size, host, SLURM_PROCID and the sum of all
 * ranks from MPI_Allreduce, with "right" when it is n(n-1)/2. With an
 * argument R, rank R calls MPI_Abort(..., 7) instead; with R die, rank R
 * kills itself (SIGKILL) after MPI_Init.
 */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int rank, size, sum = 0, want, abort_rank = -1;
	char host[64] = "";
	const char *procid = getenv("SLURM_PROCID");

	if (argc > 1)
		abort_rank = atoi(argv[1]);
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	gethostname(host, sizeof(host));
	if (rank == abort_rank && argc > 2 && !strcmp(argv[2], "die"))
		raise(SIGKILL);
	if (rank == abort_rank)
		MPI_Abort(MPI_COMM_WORLD, 7);
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	want = size * (size - 1) / 2;
	printf("mpi rank %d of %d on %s procid %s sum %d %s\n", rank, size,
	       host, procid ? procid : "-", sum,
	       sum == want ? "right" : "WRONG");
	MPI_Finalize();
	return 0;
}
