/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The snapshot handler on the launcher's loop, as rank 0, against a fake
 * fabric (messages in and out, no network) and a forked child playing
 * QEMU's QMP (it answers every command, logs its name, and in one mode
 * keeps a migration "active" forever: a save to a very slow disk).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "fabric/ctl.h"
#include "launcher/common/loop.h"
#include "launcher/boot/qmp.h"
#include "launcher/save/snapshot.h"
#include "launcher/snapdir/manifest.h"
#include "tap.h"

/* The fake fabric: what this rank sends is recorded (and, to itself,
 * delivered); what the test injects is delivered. */
struct fabric {
	int efd;
	struct fabric_msg in[64], out[64];
	unsigned nin, next, nout;
	int lost[4], held, cut, released;
};

int fabric_events_fd(const struct fabric *f)
{
	return f->efd;
}

static void deliver(struct fabric *f, uint32_t from, uint8_t type, uint32_t seq,
		    uint32_t arg)
{
	uint64_t one = 1;

	f->in[f->nin++ % 64] = (struct fabric_msg){from, type, seq, arg};
	if (write(f->efd, &one, sizeof(one)) < 0)
		abort();
}

int fabric_send(struct fabric *f, uint32_t rank, uint8_t type, uint32_t seq,
		uint32_t arg)
{
	f->out[f->nout++ % 64] = (struct fabric_msg){rank, type, seq, arg};
	if (rank == 0)
		deliver(f, 0, type, seq, arg);
	return 0;
}

int fabric_recv(struct fabric *f, struct fabric_msg *m)
{
	uint64_t n;

	if (f->next == f->nin) {
		if (read(f->efd, &n, sizeof(n)) < 0)
			n = 0;
		return 0;
	}
	*m = f->in[f->next++ % 64];
	return 1;
}

int fabric_rank_lost(const struct fabric *f, uint32_t rank)
{
	return f->lost[rank];
}

int fabric_hold(struct fabric *f, int timeout_ms, char *err, size_t errlen)
{
	(void)timeout_ms, (void)err, (void)errlen;
	f->held++;
	return 0;
}

int fabric_cut(struct fabric *f, uint32_t seq, int timeout_ms, char *err,
	       size_t errlen)
{
	(void)seq, (void)timeout_ms, (void)err, (void)errlen;
	f->cut++;
	return 0;
}

int fabric_save_frames(struct fabric *f, int fd, uint64_t *bytes)
{
	(void)f;
	*bytes = 0;
	return write(fd, "", 0) < 0 ? -1 : 0;
}

void fabric_release(struct fabric *f)
{
	f->released++;
}

/* The fake QEMU: answers each command with its id; logs names to log. */
static void qemu(int fd, int slow, const char *log)
{
	char buf[8192], cbuf[CMSG_SPACE(sizeof(int))];
	FILE *l = fopen(log, "w");
	size_t len = 0;
	int cancelled = 0;

	dprintf(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n");
	for (;;) {
		struct iovec iov = {buf + len, sizeof(buf) - len - 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fd, &mh, 0);
		char *nl;

		if (n <= 0)
			_exit(0);
		len += (size_t)n;
		buf[len] = 0;
		while ((nl = strchr(buf, '\n'))) {
			json_t *o =
			    json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			const char *cmd =
			    json_string_value(json_object_get(o, "execute"));
			long long id =
			    json_integer_value(json_object_get(o, "id"));
			const char *ret = "{}";

			cmd = cmd ? cmd : "?";
			fprintf(l, "%s\n", cmd);
			fflush(l);
			if (!strcmp(cmd, "migrate_cancel"))
				cancelled = 1;
			if (!strcmp(cmd, "query-migrate"))
				ret = !slow ? "{\"status\": \"completed\"}"
				      : cancelled
					  ? "{\"status\": \"cancelled\"}"
					  : "{\"status\": \"active\"}";
			if (!strcmp(cmd, "query-version"))
				ret = "{\"qemu\": {\"major\": 7, \"minor\": 2,"
				      " \"micro\": 0}, \"package\": \"\"}";
			dprintf(fd, "{\"return\": %s, \"id\": %lld}\n", ret,
				id);
			json_decref(o);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
}

struct rig {
	struct launch_config c;
	struct vm vm;
	struct fabric f;
	struct loop *loop;
	struct qmp *qmp;
	struct snapshot *sn;
	struct loop_timer limit, poke;
	pid_t pid;
	int overs, last_stop;
	char dir[64], snap[96], log[96], kernel[96];
};

static struct rig *R;

static void on_over(void *arg, int stop)
{
	struct rig *r = arg;

	r->overs++;
	r->last_stop = stop;
	loop_stop(r->loop, 0);
}

static void on_limit(struct loop_timer *t)
{
	(void)t;
	loop_stop(R->loop, -ETIMEDOUT);
}

static void unparsed(void *arg, const uint8_t **p, size_t *len)
{
	(void)arg;
	*p = (const uint8_t *)"\x02";
	*len = 1;
}

static void rig_open(struct rig *r, int nranks, int slow)
{
	struct snapshot_hooks h = {unparsed, on_over, r};
	int sv[2];

	memset(r, 0, sizeof(*r));
	R = r;
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_snapshot.XXXXXX");
	if (!mkdtemp(r->dir) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	snprintf(r->snap, sizeof(r->snap), "%s/snap", r->dir);
	snprintf(r->log, sizeof(r->log), "%s/qmp.log", r->dir);
	snprintf(r->kernel, sizeof(r->kernel), "%s/vmlinux", r->dir);
	mkdir(r->snap, 0700);
	close(open(r->kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	r->pid = fork();
	if (r->pid == 0) {
		close(sv[0]);
		qemu(sv[1], slow, r->log);
	}
	close(sv[1]);
	r->c.snapshot = r->snap;
	r->c.rundir = r->dir;
	r->c.kernel = r->kernel;
	r->c.job_id = 7;
	r->c.step_id = 0;
	r->c.nranks = (unsigned long)nranks;
	r->c.mem_mb = 1;
	r->c.cpus = 1;
	r->c.snapshot_signal = SIGUSR1;
	r->vm.memory_fd = memfd_create("guest", MFD_CLOEXEC);
	if (ftruncate(r->vm.memory_fd, 1 << 20) < 0 ||
	    pwrite(r->vm.memory_fd, "data", 4, 4096) != 4)
		abort();
	r->f.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->loop = loop_create();
	r->qmp = qmp_open(sv[0], 2000);
	r->sn = snapshot_create(&r->c, r->loop, &r->f, r->qmp, &r->vm, &h);
	r->limit.fn = on_limit;
	loop_timer_in(r->loop, &r->limit, 10000);
	if (!r->qmp || !r->sn)
		abort();
}

static void rig_close(struct rig *r)
{
	char cmd[200];

	snapshot_destroy(r->sn);
	loop_timer_stop(r->loop, &r->limit);
	loop_timer_stop(r->loop, &r->poke);
	loop_destroy(r->loop);
	qmp_close(r->qmp);
	waitpid(r->pid, NULL, 0);
	close(r->vm.memory_fd);
	close(r->f.efd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	if (system(cmd) != 0)
		abort();
}

/* How many times QEMU was sent cmd. */
static int count(const struct rig *r, const char *cmd)
{
	char line[128];
	FILE *l = fopen(r->log, "r");
	int n = 0;

	while (l && fgets(line, sizeof(line), l))
		if (!strncmp(line, cmd, strlen(cmd)) &&
		    line[strlen(cmd)] == '\n')
			n++;
	if (l)
		fclose(l);
	return n;
}

static int sent(const struct rig *r, const char *cmd)
{
	return count(r, cmd) > 0;
}

/* Entries of the snapshot directory whose name has what. */
static int entries(const struct rig *r, const char *what)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c '%s'", r->snap, what);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void test_save(void)
{
	struct rig r;
	char path[200];

	rig_open(&r, 1, 0);
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 0,
	   "a one-rank step is saved and its part ends, the guest going on");
	snprintf(path, sizeof(path), "%s/latest/manifest.json", r.snap);
	ok(access(path, F_OK) == 0, "the snapshot is published, with its "
				    "manifest");
	ok(entries(&r, "partial") == 0, "nothing partial is left");
	ok(sent(&r, "stop") && sent(&r, "migrate") && sent(&r, "cont"),
	   "QEMU was paused, saved and resumed");
	ok(r.f.held == 1 && r.f.cut == 1 && r.f.released == 1,
	   "the fabric was held, cut and released");
	ok(!snapshot_busy(r.sn), "no part is under way after");
	rig_close(&r);
}

/* --vm-snapshot-then=stop: the guest stays paused after the save. */
static void test_then_stop(void)
{
	struct rig r;

	rig_open(&r, 1, 0);
	r.c.snapshot_stop = 1;
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 1,
	   "then=stop: the part ends with the guest to stop");
	ok(entries(&r, "latest") == 1 && !sent(&r, "cont") && r.f.released == 0,
	   "saved, and neither the guest nor the fabric goes on");
	rig_close(&r);
}

static void cancel_now(struct loop_timer *t)
{
	(void)t;
	ok(snapshot_busy(R->sn), "a save that does not end is under way");
	ok(entries(R, "partial") == 1, "its partial directory is there");
	snapshot_cancel(R->sn);
}

/* A save that never ends (QEMU's migration stays active): a stop signal
 * gives it up, rank 0 aborts, the partial files go, the guest goes on. */
static void test_cancel(void)
{
	struct rig r;

	rig_open(&r, 1, 1);
	r.poke.fn = cancel_now;
	loop_timer_in(r.loop, &r.poke, 300);
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 0,
	   "the cancelled part ends, the guest going on");
	ok(sent(&r, "migrate_cancel"), "QEMU's migration was cancelled");
	ok(entries(&r, "partial") == 0 && entries(&r, "latest") == 0,
	   "the partial snapshot is removed, nothing published");
	ok(sent(&r, "cont") && r.f.released == 1,
	   "the guest and the fabric go on");
	snapshot_on_signal(r.sn);
	loop_timer_in(r.loop, &r.limit, 300);
	loop_run(r.loop);
	ok(r.overs == 1 && count(&r, "stop") == 1,
	   "once stopped, the launcher takes part in no more snapshots");
	ok(entries(&r, "partial") == 0 && entries(&r, "latest") == 0,
	   "and that one leaves nothing either");
	rig_close(&r);
}

static void lose_rank1(struct loop_timer *t)
{
	(void)t;
	R->f.lost[1] = 1;
	deliver(&R->f, 1, FABRIC_MSG_LOST, 0, 0);
}

/* Two ranks; rank 1's launcher is lost before it pauses. */
static void test_lost(void)
{
	struct rig r;
	unsigned i, cut1 = 0, abort1 = 0;

	rig_open(&r, 2, 0);
	r.poke.fn = lose_rank1;
	loop_timer_in(r.loop, &r.poke, 100);
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1,
	   "a lost rank ends rank 0's part");
	for (i = 0; i < r.f.nout; i++) {
		cut1 +=
		    r.f.out[i].from == 1 && r.f.out[i].type == FABRIC_CTL_CUT;
		abort1 +=
		    r.f.out[i].from == 1 && r.f.out[i].type == FABRIC_CTL_ABORT;
	}
	ok(cut1 == 1, "rank 1 was sent CUT");
	ok(abort1 == 0, "a lost rank is sent nothing more");
	ok(entries(&r, "partial") == 0 && entries(&r, "latest") == 0,
	   "the partial snapshot is removed, nothing published");
	rig_close(&r);
}

/* How many messages of type went to rank. */
static int sent_to(const struct rig *r, uint32_t rank, uint8_t type)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < r->f.nout && i < 64; i++)
		n += r->f.out[i].from == rank && r->f.out[i].type == type;
	return n;
}

static int latest_at_ready(const struct rig *r)
{
	struct snap_manifest m = {0};
	char dir[200], err[512];
	int at;

	snprintf(dir, sizeof(dir), "%s/latest", r->snap);
	if (manifest_read(dir, &m, err, sizeof(err)) < 0)
		return -1;
	at = m.at_ready;
	manifest_free(&m);
	return at;
}

/* One rank at ready: it saves as soon as its agent is, and says so. */
static void test_ready_one(void)
{
	struct rig r;

	rig_open(&r, 1, 0);
	r.c.snapshot_at_ready = 1;
	snapshot_on_ready(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 0 &&
	       !snapshot_failed(r.sn),
	   "a one-rank step saves at ready and its part ends");
	ok(latest_at_ready(&r) == 1, "the manifest says: taken at ready");
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 2, "a later signal saves again");
	ok(latest_at_ready(&r) == 0, "and that one is of a command");
	rig_close(&r);
}

static void ready1(struct loop_timer *t)
{
	(void)t;
	ok(sent_to(R, 1, FABRIC_CTL_CUT) == 0,
	   "rank 0 alone ready: nothing is cut yet");
	deliver(&R->f, 0, FABRIC_CTL_READY, 0, 0); /* again: counted once */
	deliver(&R->f, 7, FABRIC_CTL_READY, 0, 0); /* no such rank */
	R->poke.fn = lose_rank1;
	loop_timer_in(R->loop, &R->poke, 100);
}

/* Two ranks: READY twice from one or from a rank out of range starts
 * nothing; rank 1 lost before it is ready fails the wait. */
static void test_ready_lost(void)
{
	struct rig r;

	rig_open(&r, 2, 0);
	r.c.snapshot_at_ready = 1;
	r.poke.fn = ready1;
	loop_timer_in(r.loop, &r.poke, 100);
	snapshot_on_ready(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && snapshot_failed(r.sn),
	   "a rank lost before every guest is ready ends the wait, failed");
	ok(sent_to(&r, 1, FABRIC_CTL_CUT) == 0 && !sent(&r, "stop"),
	   "nothing was cut or paused");
	ok(entries(&r, "partial") == 0 && entries(&r, "latest") == 0,
	   "and nothing is left in the directory");
	rig_close(&r);
}

static void ready_timeout(struct loop_timer *t)
{
	(void)t;
	snapshot_ready_timeout(R->sn);
}

static void late_ready(struct loop_timer *t)
{
	(void)t;
	deliver(&R->f, 1, FABRIC_CTL_READY, 0, 0);
}

/* Rank 1 never says it is ready: rank 0's time limit makes every rank
 * give the wait up, and a READY after that starts nothing. */
static void test_ready_timeout(void)
{
	struct rig r;

	rig_open(&r, 2, 0);
	r.c.snapshot_at_ready = 1;
	r.poke.fn = ready_timeout;
	loop_timer_in(r.loop, &r.poke, 100);
	snapshot_on_ready(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && snapshot_failed(r.sn),
	   "the time limit ends the wait, failed");
	ok(sent_to(&r, 1, FABRIC_CTL_ABORT) == 1 &&
	       sent_to(&r, 0, FABRIC_CTL_ABORT) == 1,
	   "every rank is told to give it up");
	r.poke.fn = late_ready;
	loop_timer_in(r.loop, &r.poke, 50);
	loop_timer_in(r.loop, &r.limit, 300);
	loop_run(r.loop);
	ok(sent_to(&r, 1, FABRIC_CTL_CUT) == 0 && !sent(&r, "stop"),
	   "a READY that comes late starts no save");
	rig_close(&r);
}

/* Rank 1, ready in time: rank 0 cuts once both are. */
static void test_ready_both(void)
{
	struct rig r;

	rig_open(&r, 2, 0);
	r.c.snapshot_at_ready = 1;
	r.poke.fn = late_ready;
	loop_timer_in(r.loop, &r.poke, 50);
	snapshot_on_ready(r.sn);
	loop_timer_in(r.loop, &r.limit, 400);
	loop_run(r.loop);
	ok(sent_to(&r, 1, FABRIC_CTL_CUT) == 1 &&
	       sent_to(&r, 0, FABRIC_CTL_CUT) == 1,
	   "every guest ready: rank 0 cuts every rank");
	ok(sent(&r, "stop"), "and this guest is paused");
	rig_close(&r);
}

/* The manifest of the latest snapshot (0), or -1. */
static int latest_manifest(const struct rig *r, struct snap_manifest *m)
{
	char dir[200], err[512];

	memset(m, 0, sizeof(*m));
	snprintf(dir, sizeof(dir), "%s/latest", r->snap);
	return manifest_read(dir, m, err, sizeof(err));
}

/* --vm-snapshot-at=fail, one rank: its command fails, the step is saved
 * with the guest left to stop; the manifest names the rank and code. */
static void test_fail_one(void)
{
	struct snap_manifest m;
	struct rig r;

	rig_open(&r, 1, 0);
	r.c.snapshot_at_fail = 1;
	ok(snapshot_on_exit(r.sn, 3) == 0, "rank 0 is told the command ended");
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 1,
	   "a failed command saves the step, the guest to stop after");
	ok(sent(&r, "stop") && !sent(&r, "cont"),
	   "the guest was paused and is not resumed");
	ok(latest_manifest(&r, &m) == 0 && m.at_fail && !m.at_ready &&
	       m.failed_rank == 0 && m.failed_code == 3,
	   "the manifest says: at fail, rank 0, exit 3");
	manifest_free(&m);
	rig_close(&r);
}

/* One rank whose command passed: no save, the wait is let go. */
static void test_fail_pass(void)
{
	struct rig r;

	rig_open(&r, 1, 0);
	r.c.snapshot_at_fail = 1;
	snapshot_on_exit(r.sn, 0);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 0 &&
	       !snapshot_exit_waiting(r.sn),
	   "a passing command is let go");
	ok(!sent(&r, "stop") && entries(&r, "latest") == 0 &&
	       entries(&r, "partial") == 0,
	   "nothing was paused or saved");
	rig_close(&r);
}

static void rank1_fails(struct loop_timer *t)
{
	(void)t;
	ok(sent_to(R, 1, FABRIC_CTL_CUT) == 0 && snapshot_exit_waiting(R->sn),
	   "rank 0 passed: it waits, nothing is cut");
	deliver(&R->f, 1, FABRIC_CTL_EXITED, 0, 3);
	deliver(&R->f, 1, FABRIC_CTL_EXITED, 0, 4); /* again: counted once */
	deliver(&R->f, 9, FABRIC_CTL_EXITED, 0, 5); /* no such rank */
}

/* Two ranks: rank 0's command passed and waits; rank 1's fails, and
 * rank 0 cuts every rank (once). */
static void test_fail_two(void)
{
	struct rig r;

	rig_open(&r, 2, 0);
	r.c.snapshot_at_fail = 1;
	r.poke.fn = rank1_fails;
	loop_timer_in(r.loop, &r.poke, 50);
	snapshot_on_exit(r.sn, 0);
	loop_timer_in(r.loop, &r.limit, 400);
	loop_run(r.loop);
	ok(sent_to(&r, 1, FABRIC_CTL_CUT) == 1 &&
	       sent_to(&r, 0, FABRIC_CTL_CUT) == 1,
	   "rank 1's failure cuts every rank, once");
	ok(sent(&r, "stop") && r.overs == 0,
	   "rank 0's guest, its command over, is paused for the save");
	rig_close(&r);
}

static void rank1_passes(struct loop_timer *t)
{
	(void)t;
	deliver(&R->f, 1, FABRIC_CTL_EXITED, 0, 0);
}

/* Two ranks, both pass (or rank 1's launcher is lost): every rank is let
 * go, nothing saved. */
static void test_fail_none(void)
{
	struct rig r;
	int lost;

	for (lost = 0; lost < 2; lost++) {
		rig_open(&r, 2, 0);
		r.c.snapshot_at_fail = 1;
		r.poke.fn = lost ? lose_rank1 : rank1_passes;
		loop_timer_in(r.loop, &r.poke, 50);
		snapshot_on_exit(r.sn, 0);
		ok(loop_run(r.loop) == 0 && r.overs == 1 && r.last_stop == 0 &&
		       !snapshot_exit_waiting(r.sn),
		   "%s: rank 0 is let go",
		   lost ? "rank 1 lost" : "both passed");
		ok(sent_to(&r, 1, FABRIC_CTL_ABORT) == !lost &&
		       sent_to(&r, 1, FABRIC_CTL_CUT) == 0 &&
		       !sent(&r, "stop") && entries(&r, "latest") == 0,
		   "%s: nothing cut or saved",
		   lost ? "rank 1 lost" : "and rank 1 too");
		rig_close(&r);
	}
}

/* Runs a shell command in the rig's directory; its exit status. */
static int sh(const struct rig *r, const char *fmt, const char *arg)
{
	char cmd[1024], line[900];

	snprintf(line, sizeof(line), fmt, arg);
	snprintf(cmd, sizeof(cmd), "cd '%s' && { %s; } >>qemu-img.log 2>&1",
		 r->dir, line);
	return system(cmd);
}

/*
 * A restored guest with a disk, saved again into the directory it was
 * restored from: its overlay is over the snapshot's saved overlay, whose
 * name goes (removed here before the save, as a publish removes the
 * previous snapshot). The new snapshot's disk must be over the image,
 * hold what the guest sees, and not need the removed file.
 */
static void test_restored_disk(void)
{
	struct rig r;
	char base[128], old[128], top[128], path[256];
	int fd;

	if (system("command -v qemu-img >/dev/null && command -v qemu-io "
		   ">/dev/null") != 0) {
		ok(1, "# SKIP no qemu-img or qemu-io");
		return;
	}
	rig_open(&r, 1, 0);
	snprintf(base, sizeof(base), "%s/base.img", r.dir);
	snprintf(old, sizeof(old), "%s/old.qcow2", r.dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", r.dir);
	ok(sh(&r,
	      "qemu-img create -q -f raw base.img 1M && qemu-io -f raw -c "
	      "'write -P 0xaa 0 1M' base.img && qemu-img create -q -f qcow2 "
	      "-F raw -b %s old.qcow2 && qemu-io -c 'write -P 0xbb 0 64k' "
	      "old.qcow2",
	      base) == 0,
	   "an image and a snapshot's saved overlay over it");
	ok(sh(&r,
	      "qemu-img create -q -f qcow2 -F qcow2 -b %s top.qcow2 && "
	      "qemu-io -c 'write -P 0xcc 128k 64k' top.qcow2 && "
	      "qemu-img convert -O raw top.qcow2 expect.raw",
	      old) == 0,
	   "and the restored guest's overlay over that, written to");
	fd = open(old, O_RDONLY | O_CLOEXEC);
	unlink(old); /* the previous snapshot, removed */
	snprintf(r.vm.dir, sizeof(r.vm.dir), "%s", r.dir);
	r.vm.c = &r.c;
	r.vm.drive[0].file = top;
	r.vm.ndrives = 1;
	r.c.qemu = "qemu-system-x86_64";
	r.c.image = old;
	r.c.restored_image = base;
	r.c.restored_disk_fd = fd;
	snapshot_on_signal(r.sn);
	ok(loop_run(r.loop) == 0 && r.overs == 1 && !snapshot_failed(r.sn),
	   "the restored guest is saved");
	snprintf(path, sizeof(path), "%s/latest/rank-0.disk.qcow2", r.snap);
	ok(sh(&r, "qemu-img info %s | grep -q '^backing file: .*/base.img'",
	      path) == 0,
	   "its disk is over the image, not over the removed overlay");
	ok(sh(&r, "qemu-img compare -q -F raw %s expect.raw", path) == 0,
	   "and holds what the guest saw: the snapshot's and its own writes");
	ok(sh(&r, "test -z \"$(ls -A %s/latest | grep top)\"", r.snap) == 0,
	   "no work file is left in the snapshot");
	{
		struct snap_manifest m = {0};
		char dir[200], err[512];

		snprintf(dir, sizeof(dir), "%s/latest", r.snap);
		ok(manifest_read(dir, &m, err, sizeof(err)) == 0 &&
		       !strcmp(m.ranks[0].image.path, base),
		   "the manifest names the image, not the removed file");
		manifest_free(&m);
	}
	close(fd);
	rig_close(&r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_save();
	test_then_stop();
	test_cancel();
	test_lost();
	test_ready_one();
	test_ready_lost();
	test_ready_timeout();
	test_ready_both();
	test_fail_one();
	test_fail_pass();
	test_fail_two();
	test_fail_none();
	test_restored_disk();
	return done_testing();
}
