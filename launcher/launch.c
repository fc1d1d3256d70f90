/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-launch: runs one Slurm task's command inside its own guest.
 *
 * The SPANK plugin puts this program in the task's argv[0] (the task's own
 * argv[0] is in SLURMVM_ARGV0), so Slurm has already applied the task's CPU
 * binding, environment, limits and TaskProlog when it starts. Stages:
 *
 *  1. read the launch config from the environment;
 *  2. create the run directory and the disk overlays (vm.c, disk.c);
 *  3. start QEMU, open QMP (qmp.c);
 *  4. wait for the guest agent, run the command, relay its I/O (session.c);
 *  5. ask the guest to power off (its agent syncs the disks), kill QEMU
 *     if it has not within a grace period, remove the run directory, exit
 *     with the command's code.
 *
 * Exits with the command's status (128+N for signal N), or 125 when the
 * guest could not run it; the reason is printed on stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/boot/endpoint.h"
#include "fabric/fabric.h"
#include "launcher/boot/launch_config.h"
#include "launcher/boot/keep.h"
#include "launcher/boot/pin.h"
#include "launcher/common/file_tail.h"
#include "launcher/common/launch_env.h"
#include "launcher/boot/plan.h"
#include "launcher/pmi/pmi_step.h"
#include "launcher/report/report.h"
#include "launcher/save/restore.h"
#include "launcher/run.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/boot/vm.h"

#define QUIT_TIMEOUT_MS 5000
/* How long a guest asked to power off may take before QEMU is killed (a
 * distribution's init takes about 4 s under TCG). It and the command's own
 * grace after SIGTERM (session.c) fit in Slurm's KillWait (30 s by
 * default, as on the test lab) before SIGKILL. */
#define POWEROFF_GRACE_MS 10000

extern char **environ;

static unsigned long affinity_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned long)n : 1;
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* For the command in the guest, or the snapshot signal. */
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Joins the step's fabric with the guest side of the NIC on fd, which the
 * fabric owns from now on. */
static struct fabric *join_fabric(int fd, const struct launch_config *c,
				  const struct restore *rs, int capture_fd,
				  char *err, size_t errlen)
{
	struct fabric_config fc = {
	    .rank = (uint32_t)c->rank,
	    .nranks = (uint32_t)c->nranks,
	    .job = (uint32_t)c->job_id,
	    .step = (uint32_t)c->step_id,
	    .node = c->node,
	    .transport = c->fabric,
	    .mtu = (uint16_t)c->mtu,
	    .capture_fd = capture_fd,
	    .capture_cap = capture_fd >= 0 ? c->capture_bytes : 0,
	};
	struct fabric *f = fabric_create(&fc, fd, err, errlen);

	/* Restored: the frames in flight at the cut reach the guest first,
	 * from the file restore_prepare() opened and checked. */
	if (f && rs) {
		int r = fabric_load_frames(f, rs->fd[RS_FRAMES]);

		if (r < 0) {
			snprintf(err, errlen, "%.3000s: %s",
				 rs->path[RS_FRAMES], strerror(-r));
			fabric_destroy(f);
			return NULL;
		}
	}
	if (f && fabric_start(f, err, errlen) < 0) {
		fabric_destroy(f);
		return NULL;
	}
	return f;
}

/*
 * --vm-capture: the pcap file, new in the run directory (never one that
 * exists, never through a link). Returns its fd, or -1 (none asked, or
 * it cannot be made: said, and the guest runs without it).
 */
static int open_capture(const struct launch *l)
{
	char path[4200];
	int fd;

	if (!l->c->capture_bytes ||
	    vm_path(l->vm, LAUNCH_CAPTURE_FILE, path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		fprintf(stderr,
			"slurm-vm-launch: rank %lu: --vm-capture: %s: %s; "
			"no capture\n",
			l->c->rank, path, strerror(errno));
	return fd;
}

/* --vm-capture, the fabric stopped: the file is whole; frames past its
 * bound or a failed write are said. */
static void capture_said(const struct launch *l)
{
	uint64_t kept, dropped;
	int r;

	if (!l->c->capture_bytes || !l->fabric)
		return;
	r = fabric_capture_counts(l->fabric, &kept, &dropped);
	if (r < 0 || dropped)
		fprintf(stderr,
			"slurm-vm-launch: rank %lu: --vm-capture: %llu frames "
			"kept, %llu not (%s)\n",
			l->c->rank, (unsigned long long)kept,
			(unsigned long long)dropped,
			r < 0 ? strerror(-r)
			      : "the capture's bound was reached");
}

/* The launcher's peak resident memory (VmHWM), or -1. */
static long peak_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *s = fopen("/proc/self/status", "re");

	while (s && fgets(line, sizeof(line), s))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (s)
		fclose(s);
	return kib;
}

/* --vm-stats: a summary line on stderr and, given a directory, JSON. */
static void report_stats(const struct fabric *f, const struct launch_config *c)
{
	const struct fabric_stats *st = fabric_get_stats(f);
	char line[FABRIC_STATS_LINE_MAX], path[4200], why[4400];
	int fd;

	if (!c->stats)
		return;
	if (fabric_stats_summary(st, (uint32_t)c->rank, line, sizeof(line)) >=
	    0)
		fprintf(stderr,
			"slurm-vm: %s; bootstrap %ld ms, launcher peak "
			"RSS %ld KiB\n",
			line, fabric_bootstrap_ms(f), peak_rss_kib());
	if (!c->stats[0])
		return;
	snprintf(path, sizeof(path), "%s/fabric.%lu.%lu.%lu.json", c->stats,
		 c->job_id, c->step_id, c->rank);
	/* DIR may be shared: a name another user planted there (a link, a
	 * FIFO, a file of theirs) is refused, never written through. */
	fd = safe_create_path(path, O_WRONLY, 0644, SAFE_REUSE, why,
			      sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "slurm-vm-launch: --vm-stats=%s: %s\n",
			c->stats, why);
		return;
	}
	if (ftruncate(fd, 0) < 0 ||
	    fabric_stats_write_json(st, (uint32_t)c->rank, fd) < 0)
		fprintf(stderr, "slurm-vm-launch: cannot write %s: %s\n", path,
			strerror(errno));
	close(fd);
}

/* --vm-exec=endpoint: the fabric with the command as the guest's NIC. */
static int run_endpoint(const struct launch_config *c, int sfd, char *argv[])
{
	char err[4096] = "";
	struct fabric *fabric = NULL;
	char **env = run_env();
	int code = LAUNCH_EXIT_FAILED, net[2];

	if (!env ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, net) < 0) {
		snprintf(err, sizeof(err), "endpoint: %s", strerror(errno));
		goto out;
	}
	fabric = join_fabric(net[0], c, NULL, -1, err, sizeof(err));
	if (!fabric) {
		close(net[1]);
		goto out;
	}
	code = endpoint_run(c->argv0, argv, env, NULL, net[1], sfd, err,
			    sizeof(err));
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
	fabric_stop(fabric);
	report_stats(fabric, c);
	fabric_destroy(fabric);
out:
	free(env);
	if (err[0])
		fprintf(stderr, "slurm-vm-launch: rank %lu: %s\n", c->rank,
			err);
	return code;
}

/* Waits for the guest to go (powering off, or quitting), or kills it. */
static void stop_guest(struct vm *vm, const struct launch_config *c, int asked)
{
	long t0 = now_ms();
	int st, killed;

	/* Without a fabric the guest was never asked to go: kill it. */
	st = vm_stop(vm, vm->powering_off ? POWEROFF_GRACE_MS
			 : asked	  ? QUIT_TIMEOUT_MS
					  : 0);
	if (!vm->powering_off || st == -1)
		return;
	killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	if (killed)
		fprintf(stderr,
			"slurm-vm-launch: rank %lu: the guest did not power "
			"off within %d s; QEMU was killed\n",
			c->rank, POWEROFF_GRACE_MS / 1000);
	else if (c->stats)
		fprintf(stderr,
			"slurm-vm: n%04lu: the guest powered off in %.2f s\n",
			c->rank, (double)(now_ms() - t0) / 1000);
}

/* Signals, the config, the accelerator. Returns the accelerator, or NULL
 * after saying why. */
static const char *setup(struct launch_config *c, int *sfd)
{
	char err[4096] = "";
	const char *accel;

	*sfd = block_signals();
	if (*sfd < 0) {
		perror("slurm-vm-launch: signalfd");
		return NULL;
	}
	if (config_from_env(c, environ, affinity_cpus(), err, sizeof(err))) {
		fprintf(stderr, "slurm-vm-launch: %s\n", err);
		return NULL;
	}
	accel = plan_accel(c->accel, vm_kvm_module_loaded());
	if (!accel)
		fprintf(stderr,
			"slurm-vm-launch: accel='%s' is not one of auto, kvm, "
			"tcg (fix accel= in plugstack.conf)\n",
			c->accel);
	return accel;
}

/* --vm-pin: the plan, made before the guest starts. */
static int pin_setup(struct launch *l)
{
	char line[1024];

	if (pin_prepare(&l->topo, &l->plan, (unsigned)l->c->cpus, l->err,
			sizeof(l->err)) < 0) {
		size_t n = strlen(l->err);

		snprintf(l->err + n, sizeof(l->err) - n,
			 " (run with --vm-pin=none to go without pinning)");
		return -1;
	}
	pin_plan_format(&l->plan, line, sizeof(line));
	if (l->c->stats)
		fprintf(stderr, "slurm-vm: n%04lu: pin plan: %s\n", l->c->rank,
			line);
	return 0;
}

/*
 * How the guest starts, in one step: its resources made and QEMU started,
 * booting from its image, or (c->restore) waiting for the snapshot's state
 * with its memory loaded (l->rs then holds the snapshot's files for the
 * later steps). Returns 0, or -1 with l->err set; launch_free() undoes it.
 */
static int guest_up(struct launch *l, struct launch_config *c,
		    const char *accel)
{
	l->vm = calloc(1, sizeof(*l->vm));
	l->rs = c->restore ? calloc(1, sizeof(*l->rs)) : NULL;
	if (!l->vm || (c->restore && !l->rs)) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -1;
	}
	if (l->rs && restore_prepare(c, l->rs, l->err, sizeof(l->err)) < 0)
		return -1;
	if (c->pin && pin_setup(l) < 0)
		return -1;
	image_cache_boot(c, l->cached);
	if (vm_prepare(l->vm, c, l->err, sizeof(l->err)) < 0) {
		free(l->vm); /* nothing of it is left */
		l->vm = NULL;
		return -1;
	}
	if (l->rs &&
	    restore_memory(l->rs, l->vm->memory_fd, &l->vm->memory_map_fd,
			   l->err, sizeof(l->err)) < 0)
		return -1;
	return vm_start(l->vm, c, accel, l->err, sizeof(l->err));
}

/*
 * --vm-report: this rank's record for srun's report (report.h): its exit
 * status, time, the tails the session kept and, when it failed, the
 * console's. A record that cannot be written is said on stderr; the
 * report then counts the rank as one that left no result.
 */
static void report_result(struct launch *l, int code, long t0)
{
	struct report_case *r = l->result;
	char err[512], path[4200];

	if (!r)
		return;
	if (!l->c->report_dir)
		goto out;
	r->rank = (uint32_t)l->c->rank;
	snprintf(r->node, sizeof(r->node), "%s", l->c->node ? l->c->node : "");
	r->status = code & 255;
	r->timed_out = l->timed_out;
	r->seconds = (double)(now_ms() - t0) / 1000;
	if (code && l->vm && vm_console_path(l->vm, path, sizeof(path)) == 0)
		file_tail(path, 40, r->console, sizeof(r->console));
	if (report_record_write(l->c->report_dir, r, err, sizeof(err)) < 0)
		fprintf(stderr, "slurm-vm-launch: rank %lu: --vm-report: %s\n",
			l->c->rank, err);
out:
	free(r);
	l->result = NULL;
}

/*
 * --vm-keep: this rank's evidence in the results directory, once QEMU is
 * gone (its console complete) and before the run directory is removed.
 * A failure is said on stderr; the task's code stays the command's.
 */
static void keep_evidence(const struct launch *l, int code)
{
	const struct launch_config *c = l->c;
	struct keep_evidence e = {
	    .rank = c->rank,
	    .code = code,
	    .timed_out = l->timed_out,
	    .timeout = c->timeout_s,
	    .out = l->result ? l->result->out : NULL,
	    .err = l->result ? l->result->err : NULL,
	    .stats = c->stats && l->fabric ? fabric_get_stats(l->fabric) : NULL,
	};
	char dir[4096], err[4400], console[4200], capture[4200];
	int rc;

	if (c->keep == KEEP_NONE || (c->keep == KEEP_FAIL && code == 0))
		return;
	if (vm_console_path(l->vm, console, sizeof(console)) == 0)
		e.console = console;
	if (c->capture_bytes &&
	    vm_path(l->vm, LAUNCH_CAPTURE_FILE, capture, sizeof(capture)) == 0)
		e.capture = capture;
	rc = keep_path(c->keep_dir ? c->keep_dir : LAUNCH_KEEP_DIR_DEFAULT,
		       c->job_id, c->step_id, dir, sizeof(dir));
	if (rc < 0)
		snprintf(err, sizeof(err), "%s: %s",
			 c->keep_dir ? c->keep_dir : LAUNCH_KEEP_DIR_DEFAULT,
			 strerror(-rc));
	else
		rc = keep_write(dir, &e, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "slurm-vm-launch: rank %lu: --vm-keep: %s%s\n",
			c->rank, err,
			rc == -EEXIST ? " (remove it, or give --vm-keep-dir "
					"another directory)"
				      : "");
	else
		fprintf(stderr,
			"slurm-vm: n%04lu: evidence kept in %s/n%04lu\n",
			c->rank, dir, c->rank);
}

/*
 * The PMI service for the command in the guest (pmi_step.h). It takes
 * PMIx only when the command first speaks PMI, long after QEMU's fork. A
 * restored guest's command is past its wire-up; host mode runs on the
 * node. Returns 0, or -1 with l->err set (the guest is then stopped).
 */
static int pmi_up(struct launch *l)
{
	const struct launch_config *c = l->c;

	if (!c->pmi || c->host || c->restore)
		return 0;
	l->pmi = pmi_step_create((unsigned)c->rank, (unsigned)c->nranks,
				 c->job_id, c->step_id, l->err, sizeof(l->err));
	return l->pmi ? 0 : -1;
}

static void launch_free(struct launch *l)
{
	pmi_step_destroy(l->pmi);
	if (l->vm) {
		vm_cleanup(l->vm);
		free(l->vm);
	}
	image_cache_put(&l->cached[0]);
	image_cache_put(&l->cached[1]);
	image_cache_put(&l->cached[2]);
	if (l->rs) {
		restore_close(l->rs);
		free(l->rs);
	}
	if (l->topo) {
		pin_plan_free(&l->plan);
		hwloc_topology_destroy(l->topo);
	}
	if (l->err[0])
		fprintf(stderr, "slurm-vm-launch: rank %lu: %s\n", l->c->rank,
			l->err);
}

int main(int argc, char *argv[])
{
	struct launch_config c;
	struct launch l = {.c = &c, .argv = argv};
	const char *accel = setup(&c, &l.sfd);
	int code = LAUNCH_EXIT_FAILED;
	long t0 = now_ms();

	if (!accel)
		return code;
	/* The command from argv[1] on, whichever way the plugin made the
	 * launcher the task's program (launch_env.h); its argv[0] is
	 * c.argv0. */
	if (c.argv_prepended && argc > 1)
		l.argv = argv + 1;
	if ((c.report_dir || c.keep) && !c.endpoint)
		l.result = calloc(1, sizeof(*l.result));
	if (c.endpoint)
		return run_endpoint(&c, l.sfd, l.argv);
	if (guest_up(&l, &c, accel) == 0) {
		/* The guest boots while the PMI service and the fabric come
		 * up. */
		if (pmi_up(&l) == 0) {
			l.fabric =
			    join_fabric(l.vm->net_fd, &c, l.rs,
					open_capture(&l), l.err, sizeof(l.err));
			l.vm->net_fd = -1;
		}
		if (l.fabric)
			code = c.host ? run_beside(&l) : run_guest(&l);
		stop_guest(l.vm, &c, l.fabric != NULL);
		fabric_stop(l.fabric);
		if (l.fabric)
			report_stats(l.fabric, &c);
		capture_said(&l);
		keep_evidence(&l, code);
		fabric_destroy(l.fabric);
	}
	report_result(&l, code, t0);
	launch_free(&l);
	return code;
}
