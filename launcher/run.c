/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's run on the launcher's loop. Handlers: the signalfd and QMP's
 * events (here), the agent session (session.c), the snapshot coordinator
 * (snapshot.c). They never call each other: what a signal means is decided
 * here and handed to the one it is for, and the snapshot tells this file
 * through its hooks when its part is over.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fabric/addr.h"
#include "launcher/agent/agent_setup.h"
#include "launcher/boot/endpoint.h"
#include "launcher/boot/guest_env.h"
#include "launcher/common/launch_env.h"
#include "launcher/common/loop.h"
#include "launcher/boot/plan.h"
#include "launcher/boot/qmp.h"
#include "launcher/common/clock.h"
#include "launcher/control/control.h"
#include "launcher/report/report.h"
#include "launcher/pmi/pmi_step.h"
#include "launcher/run.h"
#include "launcher/session.h"
#include "launcher/save/snapshot.h"

#define QMP_TIMEOUT_MS 30000
#define QUIT_TIMEOUT_MS 5000
/* How long the power-off request may wait for room on the agent channel. */
#define POWEROFF_SEND_MS 2000
/* --vm-snapshot-at=end: how long to wait for rank 0's CUT after SIGTERM. */
#define END_WAIT_MS 3000
/* How long a QMP command asked on the control socket may take. */
#define CONTROL_QMP_MS 5000

extern char **environ;

struct runner {
	struct launch *l;
	struct loop *loop;
	struct qmp *qmp;
	struct session *s;
	struct snapshot *sn;
	struct control *ctl; /* the control socket, or NULL */
	long t0;	     /* when the guest's run began (ms) */
	int started;	     /* the command was started or re-attached */
	int paused;	     /* paused from the control socket */
	struct loop_fd sig, events;
	struct loop_timer end_wait;
	int held;	  /* a stop signal held for the save at the end */
	int stop_seen;	  /* a stop signal went to the session */
	int snap_asked;	  /* the snapshot signal came before the command ran */
	int snap_stopped; /* a snapshot left the guest paused, to stop */
};

#define OF(p, member)                                                          \
	((struct runner *)((char *)(p)-offsetof(struct runner, member)))

char **run_env(void)
{
	size_t n = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	/* Room for the agent's set-up entries (agent_setup.h). */
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (i = j = 0; i < n; i++)
		if (strncmp(environ[i], LAUNCH_ENV_PREFIX,
			    strlen(LAUNCH_ENV_PREFIX)))
			env[j++] = environ[i];
	return env;
}

/*
 * Asks the guest to power off: through its agent, which ends every process
 * and syncs the disks first, and with the ACPI power button, for images
 * whose own init handles it. QEMU exits when the guest is off.
 */
static void request_poweroff(struct vm *vm, struct qmp *qmp, struct session *s)
{
	json_t *r;

	/* A full channel is waited on (a dropped request would leave the
	 * guest to the grace period's kill, its disks unsynced). */
	if (vm->agent_fd >= 0 &&
	    session_poweroff(s, vm->agent_fd, POWEROFF_SEND_MS) == -ETIMEDOUT)
		fprintf(stderr,
			"slurm-vm-launch: the guest's agent did not take the "
			"power-off request within %d ms; pressing the power "
			"button\n",
			POWEROFF_SEND_MS);
	r = qmp_execute(qmp, "system_powerdown", NULL, QUIT_TIMEOUT_MS, NULL,
			0);
	json_decref(r);
	vm->powering_off = 1;
}

/* Binds each vCPU thread to its PU; the plan was made before boot. */
static int pin_vcpus(struct launch *l, struct qmp *qmp)
{
	static pid_t tid[PIN_MAX_VCPUS];
	int n =
	    qmp_vcpu_threads(qmp, tid, PIN_MAX_VCPUS, l->err, sizeof(l->err));

	if (n < 0)
		return n;
	return pin_apply(l->topo, &l->plan, tid, (unsigned)n, l->err,
			 sizeof(l->err));
}

/* A stop signal goes to the command; during a save, this rank gives its
 * part up first (the guest is paused: the command hears it after). */
static void unpause(struct runner *r)
{
	if (r->paused)
		json_decref(
		    qmp_execute(r->qmp, "cont", NULL, CONTROL_QMP_MS, NULL, 0));
	r->paused = 0;
}

static void stop_signal(struct runner *r, int sig)
{
	unpause(r); /* a paused guest could not hear it */
	snapshot_cancel(r->sn);
	r->stop_seen = 1;
	session_signal(r->s, sig);
}

static void release_held(struct runner *r)
{
	int sig = r->held;

	r->held = 0;
	loop_timer_stop(r->loop, &r->end_wait);
	if (sig)
		session_signal(r->s, sig);
}

static void on_signal(struct runner *r, int sig)
{
	const struct launch_config *c = r->l->c;

	if (c->snapshot && sig == c->snapshot_signal) {
		if (r->sn)
			snapshot_on_signal(r->sn);
		else
			r->snap_asked = 1;
	} else if (sig == SIGUSR1 || sig == SIGUSR2) {
		session_signal(r->s, sig);
	} else if (r->sn && snapshot_at_end(r->sn) && !r->held &&
		   !r->stop_seen) {
		/* Saved first; the command gets the signal only if the save
		 * does not stop the guest. */
		r->held = sig;
		r->stop_seen = 1;
		loop_timer_in(r->loop, &r->end_wait, END_WAIT_MS);
		snapshot_on_end(r->sn);
	} else if (!r->held) {
		stop_signal(r, sig);
	}
}

static void on_signals(struct loop_fd *e, uint32_t ev)
{
	struct runner *r = OF(e, sig);
	struct vm *vm = r->l->vm;
	struct signalfd_siginfo si;
	int st;

	(void)ev;
	while (!loop_stopping(r->loop) &&
	       read(e->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			on_signal(r, (int)si.ssi_signo);
		} else if (vm->pid &&
			   waitpid(vm->pid, &st, WNOHANG) == vm->pid) {
			vm->pid = 0;
			session_qemu_gone(r->s);
		}
	}
}

static void on_events(struct loop_fd *e, uint32_t ev)
{
	struct runner *r = OF(e, events);

	(void)ev;
	if (qmp_drain(r->qmp) < 0)
		loop_del(e); /* QEMU is going: SIGCHLD tells */
}

/* No CUT came, or the save is over: the held signal goes on. */
static void on_end_wait(struct loop_timer *t)
{
	struct runner *r = OF(t, end_wait);

	if (r->sn && snapshot_busy(r->sn))
		return; /* the part's end releases it */
	release_held(r);
}

static void snap_unparsed(void *arg, const uint8_t **p, size_t *len)
{
	struct runner *r = arg;

	session_unparsed(r->s, p, len);
}

static void snap_over(void *arg, int stop)
{
	struct runner *r = arg;

	r->paused = 0; /* a save's end lets the guest run (or stops it) */
	if (stop) {
		r->snap_stopped = 1;
		snprintf(r->l->err, sizeof(r->l->err),
			 "stopped after the snapshot, as asked");
		loop_stop(r->loop, 0);
		return;
	}
	if (r->held)
		release_held(r);
}

/* The snapshot handler joins once the command runs. */
static void watch_snapshots(struct runner *r)
{
	struct snapshot_hooks h = {snap_unparsed, snap_over, r};

	r->sn = snapshot_create(r->l->c, r->loop, r->l->fabric, r->qmp,
				r->l->vm, &h);
	if (r->sn && r->snap_asked)
		snapshot_on_signal(r->sn);
}

/*
 * How the guest starts, one step either way. Both return 0 when the loop
 * is to run the command, 1 when the guest is up but the command ended or
 * could not start (*code set, l->err says why), or -1 when the guest never
 * came up (l->err says why).
 */

/* Booted: wait for the agent, then start the command. */
static int boot_start(struct runner *r, int *code)
{
	const struct launch_config *c = r->l->c;
	char hostname[32], cwd[4096], *setup[2] = {NULL, NULL};
	char **env;
	int rc;

	*code = LAUNCH_EXIT_FAILED;
	rc = session_begin_ready(r->s, c->boot_timeout);
	if (rc < 0) {
		snprintf(r->l->err, sizeof(r->l->err), "epoll: %s",
			 strerror(-rc));
		return -1;
	}
	rc = loop_run(r->loop);
	if (rc < 0)
		return -1;
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	plan_hostname(c->rank, hostname, sizeof(hostname));
	r->l->argv[0] = (char *)c->argv0;
	env = run_env();
	if (env) /* only what works in the guest reaches it */
		guest_env_strip_host(env);
	if (!env || launcher_setup_env(env, c->mounts, c->as_root, setup) < 0 ||
	    (r->l->pmi && pmi_step_env(r->l->pmi, &env) < 0)) {
		free(env);
		snprintf(r->l->err, sizeof(r->l->err), "out of memory");
		return 1;
	}
	if (r->l->pmi)
		session_set_pmi(r->s, r->l->pmi);
	rc = session_begin_run(r->s, hostname, cwd, r->l->argv, env);
	free(env);
	free(setup[0]);
	free(setup[1]);
	return rc < 0 ? 1 : 0;
}

/* Restored: load its state, let it run, re-attach to its command. */
static int resume_start(struct runner *r, int *code)
{
	const struct restore *rs = r->l->rs;
	char *err = r->l->err;
	size_t errlen = sizeof(r->l->err);
	uint8_t *bytes = NULL;
	size_t len = 0;
	json_t *q;
	int rc;

	*code = LAUNCH_EXIT_FAILED;
	if (restore_incoming(r->qmp, rs, err, errlen) < 0 ||
	    restore_agent_bytes(rs, &bytes, &len) < 0)
		return -1;
	q = qmp_execute(r->qmp, "cont", NULL, QUIT_TIMEOUT_MS, err, errlen);
	if (!q) {
		free(bytes);
		return -1;
	}
	json_decref(q);
	rc = session_begin_reattach(r->s, bytes, len, code);
	free(bytes);
	return rc < 0 ? -1 : rc;
}

/*
 * The control socket's ops (control.h): what slurm-vm(1) sees and may do.
 * Pausing stops the guest's vCPUs only; the command's channel, its
 * signals and a stop of the step are heard meanwhile (a stop signal
 * resumes the guest first).
 */
static const char *run_state(struct runner *r)
{
	if (!r->started)
		return "booting";
	if (r->stop_seen || r->held || r->l->vm->powering_off ||
	    !r->l->vm->pid || loop_stopping(r->loop))
		return "stopping";
	if (r->sn && snapshot_busy(r->sn))
		return "saving";
	return r->paused ? "paused" : "running";
}

static int ctl_status(void *arg, struct control_status *st, char *err,
		      size_t errlen)
{
	struct runner *r = arg;
	const struct launch_config *c = r->l->c;
	uint32_t a = fabric_addr_ip((uint32_t)c->rank);

	(void)err, (void)errlen;
	st->job = c->job_id;
	st->step = c->step_id;
	st->rank = c->rank;
	st->state = run_state(r);
	plan_hostname(c->rank, st->hostname, sizeof(st->hostname));
	if (r->l->fabric)
		snprintf(st->addr, sizeof(st->addr), "%u.%u.%u.%u", a >> 24,
			 a >> 16 & 255, a >> 8 & 255, a & 255);
	st->cpus = c->cpus;
	st->mem_mb = c->mem_mb;
	st->uptime_s = (now_ms() - r->t0) / 1000;
	st->qemu_pid = r->l->vm->pid;
	st->console = r->l->vm->console;
	st->node = c->node;
	return 0;
}

/* stop or cont, from state from to state to. */
static int ctl_run(struct runner *r, const char *cmd, const char *from,
		   int paused, char *err, size_t errlen)
{
	const char *now = run_state(r);
	json_t *q;

	if (strcmp(now, from)) {
		snprintf(err, errlen, "rank %lu is %s, not %s", r->l->c->rank,
			 now, from);
		return -EBUSY;
	}
	err[0] = 0;
	q = qmp_execute(r->qmp, cmd, NULL, CONTROL_QMP_MS, err, errlen);
	if (!q) {
		int e = errno;

		if (!err[0])
			snprintf(err, errlen, "QMP %s: %s", cmd, strerror(e));
		return -e;
	}
	json_decref(q);
	r->paused = paused;
	return 0;
}

static int ctl_pause(void *arg, char *err, size_t errlen)
{
	return ctl_run(arg, "stop", "running", 1, err, errlen);
}

static int ctl_resume(void *arg, char *err, size_t errlen)
{
	return ctl_run(arg, "cont", "paused", 0, err, errlen);
}

static int ctl_qmp(void *arg, const char *cmd, json_t *args, json_t **ret,
		   char *err, size_t errlen)
{
	struct runner *r = arg;

	if (!strcmp(run_state(r), "saving")) {
		snprintf(err, errlen,
			 "qmp: rank %lu is saving a snapshot, which QEMU's "
			 "commands could upset: try again when it is done",
			 r->l->c->rank);
		return -EBUSY;
	}
	if (!strcmp(cmd, "stop") || !strcmp(cmd, "cont")) {
		snprintf(err, errlen,
			 "qmp: %s is slurm-vm pause or resume (the launcher "
			 "keeps track of it)",
			 cmd);
		return -EPERM;
	}
	err[0] = 0;
	*ret = qmp_execute(r->qmp, cmd, json_incref(args), CONTROL_QMP_MS, err,
			   errlen);
	if (!*ret) {
		int e = errno;

		if (!err[0])
			snprintf(err, errlen, "QMP %s: %s", cmd, strerror(e));
		return -e;
	}
	return 0;
}

/* The control socket joins the loop; without it the guest runs on. */
static void control_join(struct runner *r)
{
	const struct control_ops ops = {ctl_status, ctl_pause, ctl_resume,
					ctl_qmp, r};
	char err[512];

	r->t0 = now_ms();
	r->ctl = control_open(r->loop, r->l->vm->dir, &ops, err, sizeof(err));
	if (!r->ctl)
		fprintf(stderr,
			"slurm-vm-launch: %s; slurm-vm cannot reach "
			"this guest\n",
			err);
}

/* The loop and its handlers but the snapshot's. Returns 0 or -1 with
 * l->err set. */
static int runner_init(struct runner *r, struct launch *l)
{
	int fd = l->vm->qmp_fd;

	r->l = l;
	l->vm->qmp_fd = -1; /* the qmp client owns it now */
	r->qmp = qmp_open(fd, QMP_TIMEOUT_MS);
	if (!r->qmp) {
		snprintf(l->err, sizeof(l->err),
			 "QEMU did not answer on QMP: %s", strerror(errno));
		return -1;
	}
	if (l->topo && pin_vcpus(l, r->qmp) < 0) {
		size_t n = strlen(l->err);

		snprintf(l->err + n, sizeof(l->err) - n,
			 " (run with --vm-pin=none to go without pinning)");
		return -1;
	}
	r->loop = loop_create();
	if (r->loop)
		r->s = session_create(r->loop, l->vm, l->err, sizeof(l->err));
	if (r->s && l->result)
		session_keep_tails(r->s, l->result->out, l->result->err,
				   REPORT_TAIL_MAX);
	if (!r->s) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -1;
	}
	r->sig = (struct loop_fd){.fd = l->sfd, .fn = on_signals};
	r->events = (struct loop_fd){.fd = qmp_fd(r->qmp), .fn = on_events};
	r->end_wait.fn = on_end_wait;
	if (loop_add(r->loop, &r->sig, EPOLLIN) < 0 ||
	    loop_add(r->loop, &r->events, EPOLLIN) < 0) {
		snprintf(l->err, sizeof(l->err), "epoll: %s", strerror(errno));
		return -1;
	}
	control_join(r);
	return 0;
}

static void runner_fini(struct runner *r)
{
	snapshot_destroy(r->sn);
	control_close(r->ctl);
	session_destroy(r->s);
	if (r->loop) {
		loop_del(&r->sig);
		loop_del(&r->events);
		loop_timer_stop(r->loop, &r->end_wait);
		loop_destroy(r->loop);
	}
	qmp_close(r->qmp);
}

int run_guest(struct launch *l)
{
	struct runner r = {0};
	int code = LAUNCH_EXIT_FAILED, ready = 0, rc;

	if (runner_init(&r, l) < 0)
		goto out;
	/* How the guest starts: booted (its agent says ready, then it gets
	 * the command) or restored (its command runs already). */
	rc = l->rs ? resume_start(&r, &code) : boot_start(&r, &code);
	ready = rc >= 0;
	if (rc != 0)
		goto out;
	r.started = 1;
	watch_snapshots(&r);
	code = loop_run(r.loop);
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
out:
	/* The command is done or lost: a guest that came up powers off
	 * cleanly (its disks synced); one that never did is stopped. */
	if (r.qmp && ready && !r.snap_stopped) {
		unpause(&r);
		request_poweroff(l->vm, r.qmp, r.s);
	} else if (r.qmp) {
		json_decref(
		    qmp_execute(r.qmp, "quit", NULL, QUIT_TIMEOUT_MS, NULL, 0));
	}
	runner_fini(&r);
	return code;
}

int run_beside(struct launch *l)
{
	const struct launch_config *c = l->c;
	char ip[64], host[64], console[4300], qmp_path[4300];
	char *extra[] = {ip, host, console, qmp_path, NULL};
	uint32_t a = fabric_addr_ip((uint32_t)c->rank);
	char **env = run_env();
	struct qmp *qmp;
	int code = LAUNCH_EXIT_FAILED, fd = l->vm->qmp_fd;

	l->vm->qmp_fd = -1;
	/* QEMU answers QMP once its sockets exist: then the command may
	 * use them. */
	qmp = qmp_open(fd, QMP_TIMEOUT_MS);
	if (!qmp || !env) {
		snprintf(l->err, sizeof(l->err),
			 "QEMU did not answer on QMP: %s", strerror(errno));
		goto out;
	}
	if (l->topo && pin_vcpus(l, qmp) < 0)
		goto out;
	snprintf(ip, sizeof(ip), "SLURMVM_GUEST_IP=%u.%u.%u.%u", a >> 24,
		 a >> 16 & 255, a >> 8 & 255, a & 255);
	strcpy(host, "SLURMVM_GUEST_HOSTNAME=");
	plan_hostname(c->rank, host + strlen(host),
		      sizeof(host) - strlen(host));
	snprintf(console, sizeof(console), "SLURMVM_CONSOLE=%s",
		 l->vm->console);
	snprintf(qmp_path, sizeof(qmp_path), "SLURMVM_QMP=%s", l->vm->user_qmp);
	code = endpoint_run(c->argv0, l->argv, env, extra, -1, l->sfd, l->err,
			    sizeof(l->err));
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
	request_poweroff(l->vm, qmp, NULL);
out:
	qmp_close(qmp);
	free(env);
	return code;
}
