// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A tiny MPI program for the PMI tests, compiled by the test with mpicc:
 * each rank prints its rank, size, host, SLURM_PROCID and the sum of all
 * ranks from MPI_Allreduce, with "right" when it is n(n-1)/2; then rank 0
 * and the last rank play ping-pong (PINGS round trips that carry the
 * round's number and each side's SLURM_NODEID back), and rank 0 prints
 * the two nodes. With an argument R, rank R calls MPI_Abort(..., 7)
 * instead; with R die, rank R kills itself (SIGKILL) after MPI_Init.
 *
 * Before MPI_Finalize every rank waits in a barrier, then a moment: the
 * MPICH 4.0.2 and UCX 1.13.1 of Debian 12 over TCP deadlock in
 * MPI_Finalize in about a third of the runs of 4 ranks (one rank
 * waits for its endpoints' wire-up while the others sit in the PMI
 * barrier without progress; the same with MPICH's own mpiexec on a bare
 * host, README "MPI in guests"), and a quiet moment first makes that rare.
 */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PINGS 100

/* Rank 0 and the last rank: PINGS round trips; returns 1 when each came
 * back as sent. PEER_NODE gets the other side's SLURM_NODEID. */
static int pingpong(int rank, int size, int node, int *peer_node)
{
	int msg[2], i, good = 1, peer = rank ? 0 : size - 1;

	for (i = 0; i < PINGS; i++) {
		if (rank == 0) {
			msg[0] = i;
			msg[1] = node;
			MPI_Send(msg, 2, MPI_INT, peer, 1, MPI_COMM_WORLD);
			MPI_Recv(msg, 2, MPI_INT, peer, 2, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			good &= msg[0] == i;
			*peer_node = msg[1];
		} else {
			MPI_Recv(msg, 2, MPI_INT, peer, 1, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			good &= msg[0] == i;
			*peer_node = msg[1];
			msg[1] = node;
			MPI_Send(msg, 2, MPI_INT, peer, 2, MPI_COMM_WORLD);
		}
	}
	return good;
}
int main(int argc, char **argv)
{
	int rank, size, sum = 0, want, abort_rank = -1;
	char host[64] = "";
	const char *procid = getenv("SLURM_PROCID");
	const char *nodeid = getenv("SLURM_NODEID");
	int node = nodeid ? atoi(nodeid) : -1, peer_node = -1;

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
	fflush(stdout);
	if (size > 1 && (rank == 0 || rank == size - 1)) {
		int good = pingpong(rank, size, node, &peer_node);

		if (rank == 0)
			printf(
			    "pingpong rank 0 node %d <-> rank %d node %d: %d "
			    "round trips %s\n",
			    node, size - 1, peer_node, PINGS,
			    good ? "right" : "WRONG");
	}
	MPI_Barrier(MPI_COMM_WORLD);
	usleep(500000);
	MPI_Finalize();
	return 0;
}
