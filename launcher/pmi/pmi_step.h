/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PMI service of one launcher: serves the command in its guest (the
 * bytes of its PMI socket, relayed by the agent in PMI frames) with
 * pmi_server, and runs each barrier's key-value exchange with the whole
 * step over Slurm's PMIx.
 *
 * Why PMIx and not the fabric's links: the launchers are PMIx clients of
 * the node's Slurm already (the fabric's bootstrap), PMIx_Fence with
 * collected data is exactly a barrier with an all-gather, and its time
 * limit is Slurm's (SLURM_PMIX_TIMEOUT, 300 s by default).
 *
 * When PMIx is held: from the command's first PMI line to the service's
 * end, and never before. A launcher killed outright while it holds PMIx
 * makes Slurm end the whole step (Slurm 22.05, PMIx 4), which for an MPI
 * rank is what a lost rank means anyway; a command that never speaks PMI
 * leaves the launcher out of PMIx after the fabric's bootstrap, so its
 * step keeps the property that one lost launcher does not end the others
 * (t96). The fabric's bootstrap has left PMIx by then, so taking it is a
 * second PMIx_Init of the process.
 *
 * Lifecycle: pmi_step_create() before the command starts (no PMIx yet);
 * pmi_step_env() adds PMI_RANK and PMI_SIZE to the command's environment
 * (the agent adds PMI_FD); the session hands PMI frames to
 * pmi_step_input() (the first one takes PMIx when the step has more than
 * one task), sends what pmi_step_next() gives, and calls
 * pmi_step_on_event() when pmi_step_fd() is readable; pmi_step_destroy()
 * leaves PMIx when it was taken.
 * Failures of the command's PMI client are reported on stderr, naming the
 * rank, and end the service (the command's PMI socket is closed), never
 * the session.
 */
#ifndef SLURM_VM_PMI_STEP_H
#define SLURM_VM_PMI_STEP_H

#include <stddef.h>
#include <stdint.h>

/* Requests the command may send while a barrier waits. */
#define PMI_BACKLOG_MAX (64 * 1024)

struct pmi_step;

/* Returns a service for rank RANK of SIZE in job JOB, step STEP, or NULL
 * with a reason in ERR (a bad rank, no memory, no eventfd). Takes no
 * PMIx. */
struct pmi_step *pmi_step_create(unsigned rank, unsigned size,
				 unsigned long job, unsigned long step,
				 char *err, size_t errlen);

/* Leaves PMIx (when it was taken) and frees P; NULL does nothing. */
void pmi_step_destroy(struct pmi_step *p);

/* Appends PMI_RANK and PMI_SIZE to *ENV, a malloc'd NULL-terminated array
 * (reallocated; the new strings belong to P). Returns 0 or -ENOMEM. */
int pmi_step_env(struct pmi_step *p, char ***env);

/* Bytes the command wrote (LEN 0: it closed its PMI socket). */
void pmi_step_input(struct pmi_step *p, const uint8_t *data, size_t len);

/* What to send the guest next: returns 1 with *DATA, *LEN (at most MAX;
 * LEN 0 means: close the command's PMI socket), 0 when nothing waits.
 * pmi_step_sent() says it went. */
int pmi_step_next(struct pmi_step *p, const uint8_t **data, size_t *len,
		  size_t max);
void pmi_step_sent(struct pmi_step *p, size_t len);

/*
 * The command ended with task exit code CODE. One that spoke PMI and
 * neither finalized nor aborted died as an MPI rank: its peers cannot go
 * on, so the step is ended (PMIx_Abort), with a message naming the rank.
 * Returns 1 when it did that, else 0.
 */
int pmi_step_exited(struct pmi_step *p, int code);

/* Readable when a barrier's exchange has ended; -1 when none can. */
int pmi_step_fd(const struct pmi_step *p);
void pmi_step_on_event(struct pmi_step *p);

#endif
