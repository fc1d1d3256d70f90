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
#include "launcher/agent/agent_fresh.h"
#include "launcher/agent/agent_setup.h"
#include "launcher/boot/endpoint.h"
#include "launcher/boot/guest_env.h"
#include "launcher/common/launch_env.h"
#include "launcher/common/loop.h"
#include "launcher/boot/plan.h"
#include "launcher/boot/qmp.h"
#include "launcher/control/control.h"
#include "launcher/exec_relay.h"
#include "launcher/report/report.h"
#include "launcher/pmi/pmi_step.h"
#include "launcher/run.h"
#include "launcher/run_int.h"
#include "launcher/session.h"
#include "launcher/save/snapshot.h"

#define QMP_TIMEOUT_MS 30000
#define QUIT_TIMEOUT_MS 5000
/* How long the power-off request may wait for room on the agent channel. */
#define POWEROFF_SEND_MS 2000
/* --vm-snapshot-at=end: how long to wait for rank 0's CUT after SIGTERM. */
#define END_WAIT_MS 3000
/* --vm-snapshot-at=ready: how much longer than the boot timeout a ready
 * guest waits for the others (rank 0 gives up first). */
#define READY_SLACK_MS 60000

extern char **environ;

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
static void stop_signal(struct runner *r, int sig)
{
	run_unpause(r); /* a paused guest could not hear it */
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
		if (r->sn && !r->in_ready)
			snapshot_on_signal(r->sn);
		else
			r->snap_asked = 1;
	} else if (sig == SIGUSR1 || sig == SIGUSR2) {
		session_signal(r->s, sig);
	} else if (r->in_exit && !snapshot_busy(r->sn)) {
		r->stop_seen = 1; /* the command is over: stop waiting */
		snapshot_cancel(r->sn);
		loop_stop(r->loop, 0);
	} else if (r->in_ready && !snapshot_busy(r->sn)) {
		snapshot_cancel(r->sn);
		snprintf(r->l->err, sizeof(r->l->err),
			 "stopped by signal %d before the snapshot at ready",
			 sig);
		loop_stop(r->loop, 128 + sig);
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

/* --vm-timeout: the command is stopped as a stop signal would stop it,
 * unless one came first (the step is ending anyway). */
static void on_timeout(struct loop_timer *t)
{
	struct runner *r = OF(t, timeout);

	if (r->stop_seen || r->held || run_fail_timeout(r))
		return;
	r->l->timed_out = 1;
	fprintf(stderr,
		"slurm-vm-launch: rank %lu: the command ran past "
		"--vm-timeout=%lu s; stopping it (the task exits with %d)\n",
		r->l->c->rank, r->l->c->timeout_s, LAUNCH_EXIT_TIMEOUT);
	stop_signal(r, SIGTERM);
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
		snprintf(r->l->err, sizeof(r->l->err), "%s",
			 r->l->c->snapshot_at_fail
			     ? "stopped after the snapshot at fail"
			     : "stopped after the snapshot, as asked");
		loop_stop(r->loop, 0);
		return;
	}
	if (r->in_ready ||
	    (r->in_exit && (!snapshot_exit_waiting(r->sn) || r->stop_seen)))
		loop_stop(r->loop, 0);
	else if (r->held)
		release_held(r);
}

/* The snapshot handler joins once the command runs. */
static void watch_snapshots(struct runner *r)
{
	struct snapshot_hooks h = {snap_unparsed, snap_over, r};

	if (!r->sn)
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

static void on_ready_wait(struct loop_timer *t)
{
	struct runner *r = OF(t, ready_wait);

	if (!snapshot_busy(r->sn)) /* else the save's own limits hold */
		snapshot_ready_timeout(r->sn);
}

/*
 * --vm-snapshot-at=ready: this guest is ready, no command sent; the step
 * saves once every guest is. Returns 0 to run the command (also when the
 * save failed: rank 0 said why, and the step goes on as after a failed
 * save on the signal), or 1 when the step ends here: *code 0 after the
 * save with --vm-snapshot-then=stop, else a failure (l->err says why).
 */
static int ready_save(struct runner *r, int *code)
{
	const struct launch_config *c = r->l->c;
	int rc, asked = r->snap_asked;

	/* A signal that came while booting asks for a save of the command:
	 * after it starts (run_guest()). */
	r->snap_asked = 0;
	watch_snapshots(r);
	r->snap_asked = asked;
	if (!r->sn) {
		snprintf(r->l->err, sizeof(r->l->err), "out of memory");
		return 1;
	}
	r->in_ready = 1;
	r->ready_wait.fn = on_ready_wait;
	loop_timer_in(r->loop, &r->ready_wait,
		      (long)c->boot_timeout * 1000 +
			  (c->rank ? 2 : 1) * READY_SLACK_MS);
	snapshot_on_ready(r->sn);
	rc = loop_run(r->loop);
	r->in_ready = 0;
	loop_timer_stop(r->loop, &r->ready_wait);
	if (r->snap_stopped) {
		*code = 0;
		snprintf(r->l->err, sizeof(r->l->err),
			 "saved at ready; the guests stop, as "
			 "--vm-snapshot-then=stop asks");
		return 1;
	}
	if (rc > 0) { /* a stop signal */
		*code = rc;
		return 1;
	}
	if (r->stop_seen) { /* a stop signal during the save: given up */
		snprintf(r->l->err, sizeof(r->l->err),
			 "stopped by a signal during the snapshot at ready");
		return 1;
	}
	if (snapshot_failed(r->sn) && c->snapshot_stop) {
		snprintf(r->l->err, sizeof(r->l->err),
			 "no snapshot at ready was made (see the snapshot's "
			 "messages); the step ends, as --vm-snapshot-then=stop "
			 "asks");
		return 1;
	}
	return 0;
}

/* The step's own command, sent to the ready agent. */
static int start_command(struct runner *r)
{
	const struct launch_config *c = r->l->c;
	char hostname[32], cwd[4096], *setup[2] = {NULL, NULL};
	char **env;
	int rc;

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	if (fabric_addr_hostname((uint32_t)c->rank, hostname,
				 sizeof(hostname)) < 0)
		hostname[0] = 0;
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

/* Booted: wait for the agent, then start the command. */
static int boot_start(struct runner *r, int *code)
{
	int rc;

	*code = LAUNCH_EXIT_FAILED;
	rc = session_begin_ready(r->s, r->l->c->boot_timeout);
	if (rc < 0) {
		snprintf(r->l->err, sizeof(r->l->err), "epoll: %s",
			 strerror(-rc));
		return -1;
	}
	rc = loop_run(r->loop);
	if (rc < 0)
		return -1;
	if (r->l->c->snapshot_at_ready && ready_save(r, code))
		return 1;
	return start_command(r);
}

/* Restored: load its state, let it run, re-attach to its command; or,
 * saved at ready, make the clone fresh and run this step's command. */
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
	if (rs->at_ready) { /* no command inside: the step's own runs */
		free(bytes);
		if (agent_fresh_send(r->l->vm->agent_fd, err, errlen) < 0)
			return -1;
		return start_command(r);
	}
	if (rs->at_fail) { /* evidence: the step's own command looks */
		rc = session_prime(r->s, bytes, len);
		free(bytes);
		return rc < 0 ? -1 : start_command(r);
	}
	rc = session_begin_reattach(r->s, bytes, len, code);
	free(bytes);
	return rc < 0 ? -1 : rc;
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
	r->timeout.fn = on_timeout;
	if (loop_add(r->loop, &r->sig, EPOLLIN) < 0 ||
	    loop_add(r->loop, &r->events, EPOLLIN) < 0) {
		snprintf(l->err, sizeof(l->err), "epoll: %s", strerror(errno));
		return -1;
	}
	run_control_join(r);
	return 0;
}

static void runner_fini(struct runner *r)
{
	snapshot_destroy(r->sn);
	control_close(r->ctl); /* its sessions' clients go first */
	exec_relay_destroy(r->xr);
	session_destroy(r->s);
	if (r->loop) {
		loop_del(&r->sig);
		loop_del(&r->events);
		loop_timer_stop(r->loop, &r->end_wait);
		loop_timer_stop(r->loop, &r->ready_wait);
		loop_timer_stop(r->loop, &r->timeout);
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
	if (l->c->snapshot_at_fail)
		snapshot_hello(r.sn);
	if (l->c->timeout_s)
		loop_timer_in(r.loop, &r.timeout, (long)l->c->timeout_s * 1000);
	code = loop_run(r.loop);
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
	if (l->timed_out && (!r.snap_stopped || r.exit_told))
		code = LAUNCH_EXIT_TIMEOUT; /* whatever the stop left */
	run_fail_wait(&r, code); /* --vm-snapshot-at=fail: the guest is up */
out:
	/* The command is done or lost: a guest that came up powers off
	 * cleanly (its disks synced); one that never did is stopped. */
	if (r.qmp && ready && !r.snap_stopped) {
		run_unpause(&r);
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
	size_t n;

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
	n = strlen(strcpy(host, "SLURMVM_GUEST_HOSTNAME="));
	if (fabric_addr_hostname((uint32_t)c->rank, host + n,
				 sizeof(host) - n) < 0)
		host[n] = 0;
	strcpy(console, "SLURMVM_CONSOLE=");
	vm_console_path(l->vm, console + strlen(console),
			sizeof(console) - strlen(console));
	strcpy(qmp_path, "SLURMVM_QMP=");
	vm_path(l->vm, VM_USER_QMP, qmp_path + strlen(qmp_path),
		sizeof(qmp_path) - strlen(qmp_path));
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
