/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --vm-exec=endpoint: no guest. The task's command runs on the node with
 * the fabric's guest-side socket as fd SLURMVM_NET_FD and speaks QEMU's
 * stream protocol on it, standing in for a guest's NIC. Benchmarks and
 * scale tests use it to measure the fabric alone.
 */
#ifndef SLURM_VM_ENDPOINT_H
#define SLURM_VM_ENDPOINT_H

#include <stddef.h>

/*
 * Runs argv (argv[0] replaced by argv0) on the node with env plus the
 * "NAME=value" strings of extra and, when fd >= 0, SLURMVM_NET_FD=fd;
 * forwards SIGTERM, SIGINT and SIGHUP from the signalfd sfd, until it
 * exits. Returns its exit code (128+N for signal N) or -errno with a
 * message in err. Used by --vm-exec=endpoint and --vm-exec=host.
 */
int endpoint_run(const char *argv0, char *argv[], char *const env[],
		 char *const extra[], int fd, int sfd, char *err,
		 size_t errlen);

#endif
