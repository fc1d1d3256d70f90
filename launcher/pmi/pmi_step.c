// SPDX-License-Identifier: GPL-2.0-or-later
/* One launcher's PMI service and the step's exchange; see pmi_step.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pmix.h>

#include "launcher/pmi/pmi_server.h"
#include "launcher/pmi/pmi_step.h"
#include "launcher/pmi/pmi_wire.h"

struct pmi_step {
	struct pmi_server *srv;
	unsigned rank, size;
	int pmix; /* we hold a PMIx reference */
	int efd;  /* the fence's callback writes it */
	int dead; /* the service ended: close the socket, ignore input */
	int close_sent;
	int exchanging;
	int spoke; /* the command sent PMI bytes */
	int aborted;
	unsigned epoch;
	volatile pmix_status_t fence_status; /* set on PMIx's thread */
	pmix_proc_t me;
	char backlog[PMI_BACKLOG_MAX];
	size_t backlog_len;
	char env[2][48];
};

static void say(const struct pmi_step *p, const char *what)
{
	fprintf(stderr, "slurm-vm-launch: rank %u: PMI: %s\n", p->rank, what);
}

/* Ends the service: the command's PMI socket is closed. */
static void give_up(struct pmi_step *p, const char *why)
{
	char line[512];

	if (p->dead)
		return;
	snprintf(line, sizeof(line),
		 "%s; the command's PMI connection is closed", why);
	say(p, line);
	p->dead = 1;
}

struct pmi_step *pmi_step_create(unsigned rank, unsigned size,
				 unsigned long job, unsigned long step,
				 char *err, size_t errlen)
{
	char kvs[64];
	struct pmi_server_config c = {
	    .rank = rank, .size = size, .kvsname = kvs};
	struct pmi_step *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "PMI: out of memory");
		return NULL;
	}
	p->rank = rank;
	p->size = size;
	p->efd = -1;
	snprintf(kvs, sizeof(kvs), "kvs_%lu_%lu", job, step);
	p->srv = pmi_server_create(&c);
	if (!p->srv) {
		snprintf(err, errlen, "PMI: rank %u of %u: %s", rank, size,
			 strerror(errno));
		goto fail;
	}
	if (size > 1) { /* PMIx itself is taken on the first PMI line */
		p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->efd < 0) {
			snprintf(err, errlen, "PMI: eventfd: %s",
				 strerror(errno));
			goto fail;
		}
	}
	snprintf(p->env[0], sizeof(p->env[0]), "PMI_RANK=%u", rank);
	snprintf(p->env[1], sizeof(p->env[1]), "PMI_SIZE=%u", size);
	return p;
fail:
	pmi_step_destroy(p);
	return NULL;
}

void pmi_step_destroy(struct pmi_step *p)
{
	int i;

	if (!p)
		return;
	/* A fence still running calls back into p: wait for it a little,
	 * else leave p to it (the process is ending). */
	for (i = 0; p->exchanging && i < 500; i++) {
		uint64_t v;

		if (read(p->efd, &v, sizeof(v)) == sizeof(v))
			p->exchanging = 0;
		else
			usleep(10000);
	}
	if (p->exchanging)
		return;
	if (p->pmix)
		PMIx_Finalize(NULL, 0);
	if (p->efd >= 0)
		close(p->efd);
	pmi_server_destroy(p->srv);
	free(p);
}

int pmi_step_env(struct pmi_step *p, char ***env)
{
	size_t n = 0;
	char **e;

	while ((*env)[n])
		n++;
	e = realloc(*env, (n + 3) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	e[n] = p->env[0];
	e[n + 1] = p->env[1];
	e[n + 2] = NULL;
	*env = e;
	return 0;
}

static void fence_done(pmix_status_t status, void *arg)
{
	struct pmi_step *p = arg;
	uint64_t one = 1;

	p->fence_status = status;
	if (write(p->efd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only past 2^64-1 */
	}
}

/* Every rank's puts of this epoch, concatenated in rank order, into
 * *ALL (malloc'd). */
static int gather(struct pmi_step *p, const char *key, char **all, size_t *len,
		  char *err, size_t errlen)
{
	pmix_proc_t peer;
	pmix_value_t *v;
	pmix_status_t rc;
	size_t cap = 0, n;
	char *buf = NULL, *nb;
	unsigned i;

	*len = 0;
	for (i = 0; i < p->size; i++) {
		PMIX_LOAD_PROCID(&peer, p->me.nspace, i);
		rc = PMIx_Get(&peer, key, NULL, 0, &v);
		if (rc != PMIX_SUCCESS || v->type != PMIX_STRING) {
			if (rc == PMIX_SUCCESS)
				PMIX_VALUE_RELEASE(v);
			snprintf(err, errlen,
				 "rank %u published no key-value entries for "
				 "this barrier (%s)",
				 i, PMIx_Error_string(rc));
			free(buf);
			return -EPROTO;
		}
		n = v->data.string ? strlen(v->data.string) : 0;
		if (*len + n > PMI_KVS_BYTES_DEFAULT) {
			PMIX_VALUE_RELEASE(v);
			snprintf(err, errlen,
				 "the step's key-value entries pass %u bytes",
				 PMI_KVS_BYTES_DEFAULT);
			free(buf);
			return -ENOSPC;
		}
		if (*len + n + 1 > cap) {
			cap = (*len + n + 1) * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				PMIX_VALUE_RELEASE(v);
				free(buf);
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			buf = nb;
		}
		if (n)
			memcpy(buf + *len, v->data.string, n);
		*len += n;
		PMIX_VALUE_RELEASE(v);
	}
	*all = buf;
	return 0;
}

static void finish_barrier(struct pmi_step *p, const char *all, size_t len)
{
	char err[256];

	if (pmi_server_barrier_done(p->srv, all, len, err, sizeof(err)) < 0) {
		char why[400];

		snprintf(why, sizeof(why), "the barrier's exchange: %s", err);
		give_up(p, why);
	}
}

/* The client entered a barrier: publish its puts and fence. */
static void start_barrier(struct pmi_step *p)
{
	char key[64], why[400];
	size_t len;
	const char *puts = pmi_server_puts(p->srv, &len);
	char *copy;
	pmix_value_t val;
	pmix_info_t *info;
	pmix_proc_t wild;
	pmix_status_t rc;
	bool collect = true;

	if (p->size < 2) { /* alone in the step */
		finish_barrier(p, puts, len);
		return;
	}
	copy = strndup(puts, len);
	if (!copy) {
		give_up(p, "out of memory");
		return;
	}
	snprintf(key, sizeof(key), "slurmvm.pmi.%u", ++p->epoch);
	PMIX_VALUE_LOAD(&val, copy, PMIX_STRING);
	free(copy);
	rc = PMIx_Put(PMIX_GLOBAL, key, &val);
	PMIX_VALUE_DESTRUCT(&val);
	if (rc == PMIX_SUCCESS)
		rc = PMIx_Commit();
	if (rc != PMIX_SUCCESS) {
		snprintf(why, sizeof(why), "PMIx_Put/Commit: %s",
			 PMIx_Error_string(rc));
		give_up(p, why);
		return;
	}
	PMIX_PROC_CONSTRUCT(&wild);
	PMIX_LOAD_PROCID(&wild, p->me.nspace, PMIX_RANK_WILDCARD);
	PMIX_INFO_CREATE(info, 1);
	PMIX_INFO_LOAD(&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
	p->exchanging = 1;
	rc = PMIx_Fence_nb(&wild, 1, info, 1, fence_done, p);
	/* PMIx copies what it needs before Fence_nb returns. */
	PMIX_INFO_FREE(info, 1);
	if (rc != PMIX_SUCCESS) {
		p->exchanging = 0;
		snprintf(why, sizeof(why), "PMIx_Fence_nb: %s",
			 PMIx_Error_string(rc));
		give_up(p, why);
	}
}

/* Feeds what the command sent and waits in the backlog. */
static void serve(struct pmi_step *p)
{
	char err[256], why[400];
	ssize_t n;

	while (!p->dead) {
		n = pmi_server_feed(p->srv, p->backlog, p->backlog_len, err,
				    sizeof(err));
		if (n < 0) {
			snprintf(why, sizeof(why),
				 "the command broke the PMI protocol: %s", err);
			give_up(p, why);
			return;
		}
		memmove(p->backlog, p->backlog + n, p->backlog_len - (size_t)n);
		p->backlog_len -= (size_t)n;
		switch (pmi_server_state(p->srv)) {
		case PMI_IN_BARRIER:
			if (!p->exchanging) {
				start_barrier(p);
				continue; /* alone: it may have ended */
			}
			return;
		case PMI_ABORTED:
			snprintf(why, sizeof(why),
				 "the command aborted with exit code %d; "
				 "ending the step",
				 pmi_server_abort_code(p->srv));
			say(p, why);
			if (p->pmix)
				PMIx_Abort(pmi_server_abort_code(p->srv), why,
					   NULL, 0);
			p->dead = p->aborted = 1;
			return;
		default:
			return;
		}
	}
}

/*
 * The command speaks PMI: take Slurm's PMIx for the step's exchanges. Not
 * before: a launcher that holds PMIx and is killed outright makes Slurm
 * end the whole step, which only a step whose command is an MPI rank
 * should pay for. Returns 0, or -1 when the service gave up.
 */
static int take_pmix(struct pmi_step *p)
{
	char why[300];
	pmix_status_t rc;

	if (p->pmix || p->size < 2)
		return 0;
	rc = PMIx_Init(&p->me, NULL, 0);
	if (rc != PMIX_SUCCESS) {
		snprintf(why, sizeof(why),
			 "PMIx_Init: %s (the PMI service needs Slurm's PMIx: "
			 "the mpi/pmix plugin with libpmix-dev, and no --mpi "
			 "other than pmix)",
			 PMIx_Error_string(rc));
		give_up(p, why);
		return -1;
	}
	p->pmix = 1;
	return 0;
}

void pmi_step_input(struct pmi_step *p, const uint8_t *data, size_t len)
{
	char why[200];

	if (p->dead)
		return;
	if (!len) { /* the command closed its socket (or ended) */
		p->dead = p->close_sent = 1;
		return;
	}
	if (take_pmix(p) < 0) /* the reason is said; the command fails */
		return;
	p->spoke = 1;
	if (len > sizeof(p->backlog) - p->backlog_len) {
		snprintf(why, sizeof(why),
			 "the command sent more than %d bytes of requests "
			 "that were not answered yet",
			 PMI_BACKLOG_MAX);
		give_up(p, why);
		return;
	}
	memcpy(p->backlog + p->backlog_len, data, len);
	p->backlog_len += len;
	serve(p);
}

int pmi_step_next(struct pmi_step *p, const uint8_t **data, size_t *len,
		  size_t max)
{
	size_t n;
	const char *out = pmi_server_out(p->srv, &n);

	if (n) { /* replies go out even after an error, before the close */
		*data = (const uint8_t *)out;
		*len = n < max ? n : max;
		return 1;
	}
	if (p->dead && !p->close_sent) {
		*data = NULL;
		*len = 0;
		return 1;
	}
	return 0;
}

void pmi_step_sent(struct pmi_step *p, size_t len)
{
	size_t n;

	pmi_server_out(p->srv, &n);
	if (!n && !len) {
		p->close_sent = 1;
		return;
	}
	pmi_server_out_done(p->srv, len);
	/* Replies made room: requests held back may go on. */
	serve(p);
}

int pmi_step_exited(struct pmi_step *p, int code)
{
	char why[300];

	if (!p->spoke || p->aborted ||
	    pmi_server_state(p->srv) == PMI_FINALIZED)
		return 0;
	snprintf(why, sizeof(why),
		 "the command ended (exit code %d) without PMI finalize, so "
		 "its MPI peers cannot go on; ending the step",
		 code);
	say(p, why);
	if (p->pmix)
		PMIx_Abort(code ? code : 1, why, NULL, 0);
	p->dead = p->aborted = 1;
	return 1;
}

int pmi_step_fd(const struct pmi_step *p)
{
	return p->efd;
}

void pmi_step_on_event(struct pmi_step *p)
{
	char key[64], err[256], why[400];
	uint64_t v;
	char *all = NULL;
	size_t len;

	if (read(p->efd, &v, sizeof(v)) != sizeof(v) || !p->exchanging)
		return;
	p->exchanging = 0;
	if (p->dead) /* nobody waits for the answer */
		return;
	if (p->fence_status != PMIX_SUCCESS) {
		snprintf(why, sizeof(why),
			 "the barrier across the step failed: %s (a rank "
			 "ended, or did not reach it within Slurm's PMIx "
			 "time limit)",
			 PMIx_Error_string(p->fence_status));
		give_up(p, why);
		return;
	}
	snprintf(key, sizeof(key), "slurmvm.pmi.%u", p->epoch);
	if (gather(p, key, &all, &len, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "the barrier's exchange: %s", err);
		give_up(p, why);
		return;
	}
	finish_barrier(p, all ? all : "", len);
	free(all);
	serve(p);
}
