/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-control, the node-side part of slurm-vm(1): it runs on a node
 * as the job's user (srun --jobid=J --overlap), finds the launchers of a
 * step in the run directory and asks their control sockets (control.h).
 */
#ifndef SLURM_VM_CTL_H
#define SLURM_VM_CTL_H

#include <stddef.h>

/* One guest's launcher on this node: its run directory, open. */
struct ctl_guest {
	unsigned long step, rank;
	int dfd;
};

/*
 * Parses a run directory's name, RUNDIR_PREFIX "JOB.STEP.RANK.XXXXXX"
 * (launch_env.h). Returns 0 or -EINVAL for any other name.
 */
int ctl_parse_rundir(const char *name, unsigned long *job, unsigned long *step,
		     unsigned long *rank);

/*
 * Whether rank is in spec: "all", or a list of N, N-M and N- separated
 * by commas. Returns 1, 0, or -EINVAL for a malformed spec.
 */
int ctl_rank_in(const char *spec, unsigned long rank);

/*
 * The run directories under rundir of job (of step, or of all its steps
 * when step < 0) whose rank is in ranks, that are real directories owned
 * by the caller and closed to others (anything else is skipped), sorted
 * by step and rank. Returns 0 with *out (ctl_free() it) and *n, or
 * -errno when rundir cannot be read.
 */
int ctl_find(const char *rundir, unsigned long job, long step,
	     const char *ranks, struct ctl_guest **out, size_t *n);

void ctl_free(struct ctl_guest *g, size_t n);

/*
 * Sends one request to g's control socket (connecting again a few times
 * when it is busy) and reads the one-line reply, within timeout_ms.
 * Returns 0 with *reply (free() it), or -errno: -ENOENT when there is no
 * socket, -ECONNREFUSED when no launcher listens, -ETIMEDOUT.
 */
int ctl_ask(const struct ctl_guest *g, const char *request, char **reply,
	    int timeout_ms);

/* Connects to g's control socket (again a few times while its backlog
 * is full). Returns a blocking fd or -errno. */
int ctl_dial(const struct ctl_guest *g);

/* exec and shell: what to run and how (ctl_exec.c). */
struct ctl_exec {
	char **argv;	 /* the command, NULL-terminated */
	int pty;	 /* shell: one guest, a terminal */
	long stdin_rank; /* -1: stdin to every rank */
	long code_of;	 /* exec: whose exit code is ours, -1: the last's */
	unsigned long job;
};

/*
 * Runs the command beside the task's in each guest of g (exec: output
 * labelled "RANK: " line by line, stdin to every rank or one, INT, TERM,
 * HUP and QUIT passed on; shell: g[0] only, this terminal raw and its
 * size passed on). Returns the exit code of rank code_of (0 when it is
 * not among g; g's last, the highest, when code_of is -1), 125 when it
 * could not run there.
 */
int ctl_exec_run(const struct ctl_exec *x, const struct ctl_guest *g, size_t n);

#endif
