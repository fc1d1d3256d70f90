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

#include "clock.h"
#include "agent_proto.h"
#include "endpoint.h"
#include "fabric.h"
#include "launch_config.h"
#include "pin.h"
#include "guest_env.h"
#include "launch_env.h"
#include "plan.h"
#include "pmi/pmi_step.h"
#include "qmp.h"
#include "restore.h"
#include "session.h"
#include "snapdir.h"
#include "snapshot.h"
#include "vm.h"

#define QMP_TIMEOUT_MS 30000
#define QUIT_TIMEOUT_MS 5000
/* How long a guest asked to power off may take before QEMU is killed (a
 * distribution's init takes about 4 s under TCG). It and the command's own
 * grace after SIGTERM (session.c) fit in Slurm's KillWait (30 s by
 * default, as on the test lab) before SIGKILL. */
#define POWEROFF_GRACE_MS 10000
/* How long the power-off request may wait for room on the agent channel. */
#define POWEROFF_SEND_MS 2000

/* Set once the guest was asked to power off: main() then waits for it. */
static int powering_off;

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
	powering_off = 1;
}

extern char **environ;

/* The PMI service for the command in the guest, or NULL. */
static struct pmi_step *pmi_service;

static unsigned long affinity_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned long)n : 1;
}

/* The task's environment without our own variables: what the guest gets. */
static char **guest_env(void)
{
	size_t n = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = j = 0; i < n; i++)
		if (strncmp(environ[i], LAUNCH_ENV_PREFIX,
			    strlen(LAUNCH_ENV_PREFIX)))
			env[j++] = environ[i];
	return env;
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

/* Runs the command in a started guest. Returns the exit code. */
/* Binds each vCPU thread to its PU; the plan was made before boot. */
static int pin_vcpus(struct qmp *qmp, hwloc_topology_t topo,
		     const struct pin_plan *plan, char *err, size_t errlen)
{
	static pid_t tid[PIN_MAX_VCPUS];
	int n = qmp_vcpu_threads(qmp, tid, PIN_MAX_VCPUS, err, errlen);

	if (n < 0)
		return n;
	return pin_apply(topo, plan, tid, (unsigned)n, err, errlen);
}

/* A restored guest: load its state, let it run, re-attach to its command. */
static int resume_guest(struct session *s, struct qmp *qmp,
			const struct restore *rs, char *err, size_t errlen)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	json_t *r;
	int code;

	if (restore_incoming(qmp, rs, err, errlen) < 0 ||
	    restore_agent_bytes(rs, &bytes, &len) < 0)
		return LAUNCH_EXIT_FAILED;
	r = qmp_execute(qmp, "cont", NULL, QUIT_TIMEOUT_MS, err, errlen);
	if (!r) {
		free(bytes);
		return LAUNCH_EXIT_FAILED;
	}
	json_decref(r);
	code = session_reattach(s, bytes, len, err, errlen);
	free(bytes);
	return code < 0 ? LAUNCH_EXIT_FAILED : code;
}

static int run_guest(struct vm *vm, const struct launch_config *c,
		     const struct restore *rs, struct fabric *fabric, int sfd,
		     hwloc_topology_t topo, const struct pin_plan *plan,
		     char *argv[], char *err, size_t errlen)
{
	char hostname[32], cwd[4096];
	struct session *s = NULL;
	struct snapshot *sn = NULL;
	int ready = 0;
	struct qmp *qmp;
	char **env = NULL;
	json_t *r;
	int code = LAUNCH_EXIT_FAILED, fd = vm->qmp_fd;

	vm->qmp_fd = -1; /* the qmp client owns it now */
	qmp = qmp_open(fd, QMP_TIMEOUT_MS);
	if (!qmp) {
		snprintf(err, errlen, "QEMU did not answer on QMP: %s",
			 strerror(errno));
		return code;
	}
	if (topo && pin_vcpus(qmp, topo, plan, err, errlen) < 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n,
			 " (run with --vm-pin=none to go without pinning)");
		goto out;
	}
	s = session_create(vm, qmp, sfd);
	env = guest_env();
	if (!s || !env) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	guest_env_strip_host(env);
	if (pmi_service && pmi_step_env(pmi_service, &env) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	session_set_pmi(s, pmi_service);
	sn = snapshot_create(c, fabric, qmp, vm);
	session_set_snapshot(s, sn);
	if (rs) {
		code = resume_guest(s, qmp, rs, err, errlen);
		ready = code != LAUNCH_EXIT_FAILED || !err[0];
		goto out;
	}
	if (session_wait_ready(s, c->boot_timeout, err, errlen) < 0)
		goto out;
	ready = 1;
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	plan_hostname(c->rank, hostname, sizeof(hostname));
	argv[0] = (char *)c->argv0;
	code = session_run(s, hostname, cwd, argv, env, err, errlen);
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
out:
	/* The command is done or lost: a guest that came up powers off
	 * cleanly (its disks synced); one that never did is stopped. */
	if (ready && !snapshot_stopped(sn)) {
		request_poweroff(vm, qmp, s);
	} else {
		r = qmp_execute(qmp, "quit", NULL, QUIT_TIMEOUT_MS, NULL, 0);
		json_decref(r);
	}
	free(env);
	session_destroy(s);
	snapshot_destroy(sn);
	qmp_close(qmp);
	return code;
}

/*
 * --vm-exec=host: the guest runs without its agent; the command runs on the
 * node beside it, told where the guest is. The guest goes when it ends.
 */
static int run_beside(struct vm *vm, const struct launch_config *c, int sfd,
		      hwloc_topology_t topo, const struct pin_plan *plan,
		      char *argv[], char *err, size_t errlen)
{
	char ip[64], host[64], console[4300], qmp_path[4300];
	char *extra[] = {ip, host, console, qmp_path, NULL};
	uint32_t a = (uint32_t)c->rank + 1;
	char **env = guest_env();
	struct qmp *qmp;
	int code = LAUNCH_EXIT_FAILED, fd = vm->qmp_fd;

	vm->qmp_fd = -1;
	/* QEMU answers QMP once its sockets exist: then the command may
	 * use them. */
	qmp = qmp_open(fd, QMP_TIMEOUT_MS);
	if (!qmp || !env) {
		snprintf(err, errlen, "QEMU did not answer on QMP: %s",
			 strerror(errno));
		goto out;
	}
	if (topo && pin_vcpus(qmp, topo, plan, err, errlen) < 0)
		goto out;
	snprintf(ip, sizeof(ip), "SLURMVM_GUEST_IP=10.%u.%u.%u", a >> 16 & 255,
		 a >> 8 & 255, a & 255);
	snprintf(host, sizeof(host), "SLURMVM_GUEST_HOSTNAME=n%04lu", c->rank);
	snprintf(console, sizeof(console), "SLURMVM_CONSOLE=%s", vm->console);
	snprintf(qmp_path, sizeof(qmp_path), "SLURMVM_QMP=%s", vm->user_qmp);
	code = endpoint_run(c->argv0, argv, env, extra, -1, sfd, err, errlen);
	if (code < 0)
		code = LAUNCH_EXIT_FAILED;
	request_poweroff(vm, qmp, NULL);
out:
	qmp_close(qmp);
	free(env);
	return code;
}

/* Joins the step's fabric with the guest side of the NIC on fd, which the
 * fabric owns from now on. */
static struct fabric *join_fabric(int fd, const struct launch_config *c,
				  const struct restore *rs, char *err,
				  size_t errlen)
{
	struct fabric_config fc = {
	    .rank = (uint32_t)c->rank,
	    .nranks = (uint32_t)c->nranks,
	    .job = (uint32_t)c->job_id,
	    .step = (uint32_t)c->step_id,
	    .node = c->node,
	    .transport = c->fabric,
	    .mtu = (uint16_t)c->mtu,
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
	char **env = guest_env();
	int code = LAUNCH_EXIT_FAILED, net[2];

	if (!env ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, net) < 0) {
		snprintf(err, sizeof(err), "endpoint: %s", strerror(errno));
		goto out;
	}
	fabric = join_fabric(net[0], c, NULL, err, sizeof(err));
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
	st = vm_stop(vm, powering_off ? POWEROFF_GRACE_MS
			 : asked      ? QUIT_TIMEOUT_MS
				      : 0);
	if (!powering_off || st == -1)
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

int main(int argc, char *argv[])
{
	char err[4096] = "";
	struct launch_config c;
	struct fabric *fabric = NULL;
	hwloc_topology_t topo = NULL;
	struct pin_plan plan = {0};
	struct vm vm;
	struct restore rs;
	const char *accel;
	int sfd, code = LAUNCH_EXIT_FAILED;

	(void)argc;
	sfd = block_signals();
	if (sfd < 0) {
		perror("slurm-vm-launch: signalfd");
		return code;
	}
	if (config_from_env(&c, environ, affinity_cpus(), err, sizeof(err))) {
		fprintf(stderr, "slurm-vm-launch: %s\n", err);
		return code;
	}
	accel = plan_accel(c.accel, vm_kvm_module_loaded());
	if (!accel) {
		fprintf(stderr,
			"slurm-vm-launch: accel='%s' is not one of auto, kvm, "
			"tcg (fix accel= in plugstack.conf)\n",
			c.accel);
		return code;
	}
	if (c.endpoint)
		return run_endpoint(&c, sfd, argv);
	if (c.restore && restore_prepare(&c, &rs, err, sizeof(err)) < 0)
		goto report;
	if (c.pin) {
		char line[1024];

		if (pin_prepare(&topo, &plan, (unsigned)c.cpus, err,
				sizeof(err)) < 0) {
			size_t n = strlen(err);

			snprintf(err + n, sizeof(err) - n,
				 " (run with --vm-pin=none to go without "
				 "pinning)");
			goto report;
		}
		pin_plan_format(&plan, line, sizeof(line));
		if (c.stats)
			fprintf(stderr, "slurm-vm: n%04lu: pin plan: %s\n",
				c.rank, line);
	}
	if (vm_prepare(&vm, &c, err, sizeof(err)) < 0)
		goto report;
	if (c.restore &&
	    restore_memory(&rs, vm.memory_fd, err, sizeof(err)) < 0)
		goto cleanup;
	if (vm_start(&vm, &c, accel, err, sizeof(err)) < 0)
		goto cleanup;
	/* Before the fabric: the service keeps the PMIx that the fabric's
	 * bootstrap leaves (pmi_step.h). After QEMU's fork: PMIx starts
	 * threads. */
	if (c.pmi && !c.host && !c.restore) {
		pmi_service =
		    pmi_step_create((unsigned)c.rank, (unsigned)c.nranks,
				    c.job_id, c.step_id, err, sizeof(err));
		if (!pmi_service) {
			stop_guest(&vm, &c, 0);
			goto cleanup;
		}
	}
	/* The guest boots while the fabric bootstraps. */
	fabric = join_fabric(vm.net_fd, &c, c.restore ? &rs : NULL, err,
			     sizeof(err));
	vm.net_fd = -1;
	if (fabric && c.host)
		code = run_beside(&vm, &c, sfd, topo, &plan, argv, err,
				  sizeof(err));
	else if (fabric)
		code = run_guest(&vm, &c, c.restore ? &rs : NULL, fabric, sfd,
				 topo, &plan, argv, err, sizeof(err));
	stop_guest(&vm, &c, fabric != NULL);
	fabric_stop(fabric);
	if (fabric)
		report_stats(fabric, &c);
	fabric_destroy(fabric);
cleanup:
	pmi_step_destroy(pmi_service);
	vm_cleanup(&vm);
report:
	if (c.restore)
		restore_close(&rs);
	if (topo) {
		pin_plan_free(&plan);
		hwloc_topology_destroy(topo);
	}
	if (err[0])
		fprintf(stderr, "slurm-vm-launch: rank %lu: %s\n", c.rank, err);
	return code;
}
