// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One launcher's PMI service (launcher/pmi/pmi_step.c) for a step of one
 * task, where a barrier needs no other launcher (no PMIx): the session's
 * side of it, frames in and out, and how a hostile command is cut off.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/pmi/pmi_server.h"
#include "launcher/pmi/pmi_step.h"
#include "tap.h"

static char got[8192];
static int closed;

/* What the session would send the guest now, as text; sets closed when
 * the service asks to close the socket. */
static const char *drain(struct pmi_step *p)
{
	const uint8_t *d;
	size_t len, n = 0;

	got[0] = 0;
	while (pmi_step_next(p, &d, &len, 16)) { /* small frames on purpose */
		if (!len)
			closed = 1;
		else if (n + len < sizeof(got)) {
			memcpy(got + n, d, len);
			n += len;
			got[n] = 0;
		}
		pmi_step_sent(p, len);
		if (!len)
			break;
	}
	return got;
}

static void in(struct pmi_step *p, const char *text)
{
	pmi_step_input(p, (const uint8_t *)text, strlen(text));
}

/* Threads of this process: PMIx_Init starts its own. */
static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* A step of two tasks: PMIx is taken on the first PMI line, not before
 * (a launcher holding PMIx that is killed ends the whole step). */
static void test_lazy_pmix(void)
{
	char err[256];
	int before = threads();
	struct pmi_step *p = pmi_step_create(1, 2, 42, 3, err, sizeof(err));

	ok(p && pmi_step_fd(p) >= 0,
	   "a service for rank 1 of 2 comes up without Slurm's PMIx: %s",
	   p ? "" : err);
	ok(threads() == before,
	   "and takes no PMIx on the way (no new thread: %d, %d before)",
	   threads(), before);
	pmi_step_destroy(p);
	ok(threads() == before, "nor when it ends unused");
	closed = 0;
	p = pmi_step_create(1, 2, 42, 3, err, sizeof(err));
	in(p, "cmd=init pmi_version=1 pmi_subversion=1\n");
	drain(p);
	ok(threads() > before || closed,
	   "the first PMI line takes PMIx (a thread of PMIx's, %d, or the "
	   "service gave up without a server: %s)",
	   threads(), closed ? "closed" : "open");
	pmi_step_destroy(p);
}

int main(void)
{
	char err[256], **env = calloc(2, sizeof(*env));
	struct pmi_step *p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	static char big[PMI_BACKLOG_MAX + 10];
	int i;

	ok(p != NULL, "a service for a step of one task, without PMIx");
	ok(pmi_step_fd(p) == -1, "alone, no exchange can wait: no fd");
	env[0] = "HOME=/";
	ok(pmi_step_env(p, &env) == 0 && env[0] && !strcmp(env[0], "HOME=/") &&
	       env[1] && !strcmp(env[1], "PMI_RANK=0") && env[2] &&
	       !strcmp(env[2], "PMI_SIZE=1") && !env[3],
	   "PMI_RANK and PMI_SIZE join the command's environment");
	free(env);

	in(p, "cmd=init pmi_version=1 pmi_subversion=1\ncmd=get_my_kvsname\n");
	is_str(drain(p),
	       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"
	       "cmd=my_kvsname kvsname=kvs_42_3 rc=0\n",
	       "answers arrive in pieces of at most the frame size asked");
	/* A request split across two frames. */
	in(p, "cmd=put kvsname=kvs_42_3 ke");
	in(p, "y=card value=x\ncmd=barrier_in\n");
	is_str(drain(p),
	       "cmd=put_result rc=0 msg=success\ncmd=barrier_out rc=0\n",
	       "a request split across frames, then a barrier alone");
	in(p, "cmd=get kvsname=kvs_42_3 key=card\n");
	is_str(drain(p), "cmd=get_result rc=0 msg=success value=x\n",
	       "the put is there after the barrier");
	ok(!closed, "the socket stays open");

	/* Unread answers hold requests back, up to the backlog's bound. */
	for (i = 0; i + 15 <= (int)sizeof(big) - 1; i += 14)
		memcpy(big + i, "cmd=get_maxes\n", 14);
	big[i] = 0;
	in(p, big);
	ok(!closed, "requests beyond what can be answered at once are held");
	in(p, big);
	drain(p);
	ok(closed, "more than %d bytes of unanswered requests close the socket",
	   PMI_BACKLOG_MAX);
	in(p, "cmd=get_appnum\n");
	is_str(drain(p), "", "and nothing more is served");
	pmi_step_destroy(p);

	closed = 0;
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	in(p, "cmd=init pmi_version=1\nhello\ncmd=get_appnum\n");
	is_str(drain(p),
	       "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n",
	       "answers before a malformed line still go out");
	ok(closed, "then the socket is closed");
	pmi_step_destroy(p);

	closed = 0;
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	in(p, "cmd=abort exitcode=9\n");
	drain(p);
	ok(closed, "after abort the socket is closed");
	pmi_step_destroy(p);

	/* How the command ended. */
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	pmi_step_input(p, NULL, 0); /* its socket closes as it exits */
	ok(pmi_step_exited(p, 0) == 0,
	   "a command that never spoke PMI ends the step in no way");
	pmi_step_destroy(p);
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	in(p, "cmd=init pmi_version=1\ncmd=finalize\n");
	drain(p);
	ok(pmi_step_exited(p, 0) == 0, "nor one that finalized");
	pmi_step_destroy(p);
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	in(p, "cmd=init pmi_version=1\n");
	drain(p);
	ok(pmi_step_exited(p, 139) == 1,
	   "one that initialized and died is an MPI rank lost: the step ends");
	pmi_step_destroy(p);
	p = pmi_step_create(0, 1, 42, 3, err, sizeof(err));
	in(p, "cmd=init pmi_version=1\ncmd=abort exitcode=7\n");
	drain(p);
	ok(pmi_step_exited(p, 7) == 0, "one that aborted was dealt with then");
	pmi_step_destroy(p);

	ok(!pmi_step_create(1, 1, 42, 3, err, sizeof(err)) && err[0],
	   "rank 1 of 1 is refused: %s", err);
	pmi_step_destroy(NULL);
	test_lazy_pmix();
	return done_testing();
}
