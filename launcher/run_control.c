/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's side of a guest's run (control.h): the ops run.c's
 * loop serves it with, on the runner's state. What slurm-vm(1) sees and
 * may do. Pausing stops the guest's vCPUs only; the command's channel,
 * its signals and a stop of the step are heard meanwhile (a stop signal
 * resumes the guest first).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fabric/addr.h"
#include "launcher/boot/qmp.h"
#include "launcher/boot/vm.h"
#include "launcher/common/clock.h"
#include "launcher/control/control.h"
#include "launcher/exec_relay.h"
#include "launcher/run_int.h"
#include "launcher/save/snapshot.h"

/* How long a QMP command asked on the control socket may take. */
#define CONTROL_QMP_MS 5000

void run_unpause(struct runner *r)
{
	if (r->paused)
		json_decref(
		    qmp_execute(r->qmp, "cont", NULL, CONTROL_QMP_MS, NULL, 0));
	r->paused = 0;
}

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
	fabric_addr_hostname((uint32_t)c->rank, st->hostname,
			     sizeof(st->hostname));
	if (r->l->fabric)
		snprintf(st->addr, sizeof(st->addr), "%u.%u.%u.%u", a >> 24,
			 a >> 16 & 255, a >> 8 & 255, a & 255);
	st->cpus = c->cpus;
	st->mem_mb = c->mem_mb;
	st->uptime_s = (now_ms() - r->t0) / 1000;
	st->qemu_pid = r->l->vm->pid;
	if (vm_console_path(r->l->vm, st->console, sizeof(st->console)) < 0)
		st->console[0] = 0;
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

/* exec: only in a running guest (a paused one would hold it, a saved one
 * would carry it into its snapshot). */
static int ctl_exec_open(void *arg, json_t *req, unsigned client, char *err,
			 size_t errlen)
{
	struct runner *r = arg;
	const char *now = run_state(r);

	if (!r->xr) {
		snprintf(err, errlen, "exec: out of memory in the launcher");
		return -ENOMEM;
	}
	if (strcmp(now, "running")) {
		snprintf(err, errlen,
			 "exec: rank %lu is %s: a command runs beside the "
			 "task's only while it is running",
			 r->l->c->rank, now);
		return -EBUSY;
	}
	return exec_relay_open(r->xr, req, client, err, errlen);
}

static ssize_t ctl_exec_input(void *arg, int h, const void *buf, size_t len)
{
	return exec_relay_input(((struct runner *)arg)->xr, h, buf, len);
}

static void ctl_exec_written(void *arg, int h)
{
	exec_relay_written(((struct runner *)arg)->xr, h);
}

static void ctl_exec_gone(void *arg, int h)
{
	exec_relay_gone(((struct runner *)arg)->xr, h);
}

/* The control socket joins the loop; without it the guest runs on. */
void run_control_join(struct runner *r)
{
	const struct control_ops ops = {
	    ctl_status,	   ctl_pause,	   ctl_resume,	     ctl_qmp,	   r,
	    ctl_exec_open, ctl_exec_input, ctl_exec_written, ctl_exec_gone};
	char err[512];

	r->t0 = now_ms();
	r->xr = exec_relay_create(r->loop, r->s);
	r->ctl = control_open(r->loop, r->l->vm->dir, &ops, err, sizeof(err));
	if (r->xr)
		exec_relay_set_control(r->xr, r->ctl);
	if (!r->ctl)
		fprintf(stderr,
			"slurm-vm-launch: %s; slurm-vm cannot reach "
			"this guest\n",
			err);
}
