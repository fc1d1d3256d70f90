/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A stand-in launcher for tests/t06-slurm-vm-cmd.sh: the real control
 * socket (launcher/control/control.h) in DIR, with ops that keep a
 * paused flag and answer for RANK on NODE, for SECONDS.
 *   control-stub DIR RANK NODE SECONDS
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/common/loop.h"
#include "launcher/control/control.h"

static unsigned long rank;
static const char *node;
static char console[4200];
static int paused;

static int s_status(void *arg, struct control_status *st, char *err,
		    size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	st->job = 9;
	st->rank = rank;
	st->state = paused ? "paused" : "running";
	snprintf(st->hostname, sizeof(st->hostname), "n%04lu", rank);
	snprintf(st->addr, sizeof(st->addr), "10.0.0.%lu", rank + 1);
	st->cpus = 1;
	st->mem_mb = 256;
	st->qemu_pid = getpid();
	snprintf(st->console, sizeof(st->console), "%s", console);
	st->node = node;
	return 0;
}

static int s_run(int to, char *err, size_t errlen)
{
	if (paused == to) {
		snprintf(err, errlen, "rank %lu is %s", rank,
			 to ? "paused, not running" : "running, not paused");
		return -EBUSY;
	}
	paused = to;
	return 0;
}

static int s_pause(void *arg, char *err, size_t errlen)
{
	(void)arg;
	return s_run(1, err, errlen);
}

static int s_resume(void *arg, char *err, size_t errlen)
{
	(void)arg;
	return s_run(0, err, errlen);
}

static int s_qmp(void *arg, const char *cmd, json_t *args, json_t **ret,
		 char *err, size_t errlen)
{
	(void)arg, (void)args, (void)err, (void)errlen;
	*ret = json_pack("{ss}", "asked", cmd);
	return 0;
}

static struct loop *L;

static void on_end(struct loop_timer *t)
{
	(void)t;
	loop_stop(L, 0);
}

int main(int argc, char **argv)
{
	const struct control_ops ops = {.status = s_status,
					.pause = s_pause,
					.resume = s_resume,
					.qmp = s_qmp};
	struct loop_timer end = {.fn = on_end};
	struct control *c;
	struct loop *l;
	char err[512];

	if (argc != 5)
		return 2;
	rank = strtoul(argv[2], NULL, 10);
	node = argv[3];
	snprintf(console, sizeof(console), "%s/console.log", argv[1]);
	L = l = loop_create();
	c = l ? control_open(l, argv[1], &ops, err, sizeof(err)) : NULL;
	if (!c) {
		fprintf(stderr, "control-stub: %s\n", err);
		return 1;
	}
	loop_timer_in(l, &end, atol(argv[4]) * 1000);
	loop_run(l);
	control_close(c);
	loop_destroy(l);
	return 0;
}
