// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * slurm-vm-pmi-client: a stand-in MPI rank for the PMI exchange alone.
 * It speaks the PMI-1 wire protocol on PMI_FD (PMI_RANK, PMI_SIZE) as an
 * MPI library's wire-up does: init, get_maxes, get_my_kvsname, a put of a
 * 100-byte card, barrier, a get of every rank's card (each checked), and
 * finalize. Served by Slurm's own mpi/pmi2 plugin (srun --mpi=pmi2) or by
 * a launcher's service (slurm-vm-pmi-standin). Rank 0 prints "exchange
 * MS" (init to the last get) on stdout; exits 1 on a wrong answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fd;
static char line[8192];

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Sends REQ and reads one reply line into LINE; exits on failure. */
static void ask(const char *req)
{
	size_t n = 0;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		exit(1);
	while (n + 1 < sizeof(line)) {
		if (read(fd, line + n, 1) != 1)
			exit(1);
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
}

static const char *field(const char *name)
{
	static char val[2048];
	char key[64];
	const char *p;
	size_t n = 0;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	if (!p)
		return "";
	p += strlen(key);
	while (p[n] && p[n] != ' ' && p[n] != '\n' && n + 1 < sizeof(val))
		n++;
	memcpy(val, p, n);
	val[n] = 0;
	return val;
}

int main(void)
{
	const char *fdv = getenv("PMI_FD");
	int rank = atoi(getenv("PMI_RANK") ? getenv("PMI_RANK") : "-1");
	int size = atoi(getenv("PMI_SIZE") ? getenv("PMI_SIZE") : "0");
	char kvs[256], req[512], want[128];
	double t0;
	int r;

	if (!fdv || rank < 0 || size < 1) {
		fprintf(stderr, "slurm-vm-pmi-client: no PMI_FD/RANK/SIZE\n");
		return 2;
	}
	fd = atoi(fdv);
	t0 = now_ms();
	ask("cmd=init pmi_version=1 pmi_subversion=1\n");
	if (strcmp(field("rc"), "0"))
		return 1;
	ask("cmd=get_maxes\n");
	ask("cmd=get_my_kvsname\n");
	snprintf(kvs, sizeof(kvs), "%s", field("kvsname"));
	snprintf(req, sizeof(req),
		 "cmd=put kvsname=%s key=card-%d value=%0100d\n", kvs, rank,
		 rank);
	ask(req);
	ask("cmd=barrier_in\n");
	for (r = 0; r < size; r++) {
		snprintf(req, sizeof(req), "cmd=get kvsname=%s key=card-%d\n",
			 kvs, r);
		ask(req);
		snprintf(want, sizeof(want), "%0100d", r);
		if (strcmp(field("value"), want)) {
			fprintf(stderr, "rank %d: card of rank %d wrong: %s",
				rank, r, line);
			return 1;
		}
	}
	if (rank == 0)
		printf("exchange %.1f\n", now_ms() - t0);
	ask("cmd=finalize\n");
	return 0;
}
