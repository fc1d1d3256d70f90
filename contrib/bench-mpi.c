// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The MPI program of contrib/bench-mpi, compiled there with mpicc: every
 * rank prints "init R" as soon as MPI_Init returns (the benchmark stamps
 * the line's arrival); with "pingpong", ranks 0 and 1 measure the latency
 * (half the round trip of 8 bytes, 1000 times) and the bandwidth (50
 * messages of 1 MiB from 0 to 1, then an acknowledgement), and rank 0
 * prints "pingpong lat_us L bw_MBps B". A barrier and a moment before
 * MPI_Finalize, as in tests/mpi_check.c (the library's finalize race).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAT_N 1000
#define BW_N 50
#define BW_SIZE (1 << 20)

static void pingpong(int rank)
{
	char small[8] = "", *big = calloc(1, BW_SIZE);
	int peer = !rank, i;
	double t0 = 0, lat, bw;

	for (i = -100; i < LAT_N; i++) { /* 100 to warm up */
		if (i == 0)
			t0 = MPI_Wtime();
		if (rank == 0) {
			MPI_Send(small, 8, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
			MPI_Recv(small, 8, MPI_CHAR, peer, 1, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(small, 8, MPI_CHAR, peer, 1, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			MPI_Send(small, 8, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
		}
	}
	lat = (MPI_Wtime() - t0) / LAT_N / 2 * 1e6;
	t0 = MPI_Wtime();
	for (i = 0; i < BW_N; i++) {
		if (rank == 0)
			MPI_Send(big, BW_SIZE, MPI_CHAR, peer, 2,
				 MPI_COMM_WORLD);
		else
			MPI_Recv(big, BW_SIZE, MPI_CHAR, peer, 2,
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	}
	if (rank == 0)
		MPI_Recv(small, 1, MPI_CHAR, peer, 3, MPI_COMM_WORLD,
			 MPI_STATUS_IGNORE);
	else
		MPI_Send(small, 1, MPI_CHAR, peer, 3, MPI_COMM_WORLD);
	bw = (double)BW_N * BW_SIZE / (MPI_Wtime() - t0) / 1e6;
	if (rank == 0)
		printf("pingpong lat_us %.1f bw_MBps %.1f\n", lat, bw);
	free(big);
}

int main(int argc, char **argv)
{
	int rank, size;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	printf("init %d\n", rank);
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "pingpong") && size > 1 && rank < 2)
		pingpong(rank);
	fflush(stdout);
	MPI_Barrier(MPI_COMM_WORLD);
	usleep(500000);
	MPI_Finalize();
	return 0;
}
