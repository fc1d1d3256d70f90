/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spank_vm.so: the --vm-* options of srun and sbatch.
 *
 * Theory of operation, by SPANK context:
 *
 *  srun/sbatch (local, allocator): options and SLURMVM_* variables become
 *	a request, validated before any job exists (request.c); its paths,
 *	made absolute, are exported to the job as SLURMVM_* variables. srun
 *	selects its PMIx plugin for VM steps: the fabric bootstraps over it.
 *  slurmstepd (remote), per task: a task whose environment carries a
 *	request gets the launcher as its argv[0] (the task's own argv[0]
 *	travels in SLURMVM_ARGV0) and the site settings in its environment.
 *	Slurm then execs the launcher itself, so CPU binding, limits, TMPDIR
 *	and TaskProlog apply as for any task. The batch step is left alone.
 *	When a task ends, whatever its launcher left on the node is removed.
 *
 * The plugin never prints or exits: it logs with a "vm: " prefix and
 * returns an error. Only slurm_spank_* symbols are exported (spank_vm.map).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "helper_run.h"
#include "launch_env.h"
#include "request.h"
#include "site.h"
#include "task_mem.h"

SPANK_PLUGIN(spank_vm, 1);

static struct site_config site;
static struct request req;

static int option_cb(int val, const char *optarg, int remote);

static struct spank_option options[] = {
    {"vm-image", "PATH",
     "Run each task in a QEMU guest booted from this qcow2 or raw disk "
     "image (a per-task overlay keeps the image unchanged)",
     1, REQ_IMAGE, option_cb},
    {"vm-kernel", "PATH",
     "Boot the guests with this kernel (with --vm-image, the image is "
     "the guests' disk)",
     1, REQ_KERNEL, option_cb},
    {"vm-initrd", "PATH", "Initrd for --vm-kernel", 1, REQ_INITRD, option_cb},
    {"vm-append", "STRING", "Extra kernel arguments for --vm-kernel", 1,
     REQ_APPEND, option_cb},
    {"vm-mem", "MB",
     "Guest memory in megabytes (default: the task's share of the step's "
     "memory)",
     1, REQ_MEM, option_cb},
    {"vm-cpus", "N", "Guest vCPUs (default: the CPUs Slurm bound the task to)",
     1, REQ_CPUS, option_cb},
    {"vm-fabric", "auto|tcp|verbs",
     "The guests' network transport: auto (a shortcut on a node, TCP "
     "between nodes), tcp, or verbs (RDMA between nodes)",
     1, REQ_FABRIC, option_cb},
    {"vm-stats", "[DIR]",
     "Print each task's network counters at exit (and write them as JSON "
     "into DIR)",
     2, REQ_STATS, option_cb},
    {"vm-exec", "agent|host|endpoint",
     "Where the command runs: agent (in the guest), host (on the node, "
     "beside a guest that needs no agent) or endpoint (no guest; the "
     "command drives the guest's network socket, for benchmarks)",
     1, REQ_EXEC, option_cb},
    {"vm-pin", "auto|none",
     "Pin vCPU i to the i-th CPU Slurm gave the task and guest memory to "
     "their NUMA nodes (auto, the default), or not (none)",
     1, REQ_PIN, option_cb},
    {"vm-disk", "PATH[,ro]",
     "Attach this disk image to every guest, after the boot disk, through "
     "a per-task overlay, or read-only with ,ro (repeatable)",
     1, REQ_DISK, option_cb},
    {"vm-disk-persist", "DIR",
     "Keep each rank's overlay of --vm-image as DIR/nNNNN.qcow2 (NNNN: the "
     "rank) and use it again in the next job",
     1, REQ_DISK_PERSIST, option_cb},
    {"vm-cloud-init", "DIR",
     "Add DIR/user-data (cloud-config or script) to the cloud-init seed "
     "each --vm-image guest gets",
     1, REQ_CLOUD_INIT, option_cb},
    {"vm-qemu-args", "STRING",
     "Extra QEMU arguments, split on whitespace (only where the site sets "
     "allow_qemu_args=yes)",
     1, REQ_QEMU_ARGS, option_cb},
    {"vm-console", "PATTERN",
     "Write each guest's serial console to this file, to follow live (%j "
     "job, %s step, %t rank, %N node)",
     1, REQ_CONSOLE, option_cb},
    {"vm-snapshot", "DIR",
     "Save all guests of the step together into DIR when the step gets "
     "the snapshot signal (e.g. scancel --signal=USR1, sbatch "
     "--signal=USR1@120); DIR/latest names the newest",
     1, REQ_SNAPSHOT, option_cb},
    {"vm-snapshot-signal", "SIG",
     "The signal that asks for a snapshot (default USR1)", 1,
     REQ_SNAPSHOT_SIGNAL, option_cb},
    {"vm-snapshot-then", "continue|stop",
     "After a snapshot the guests go on (continue, the default) or the "
     "step ends (stop)",
     1, REQ_SNAPSHOT_THEN, option_cb},
    {"vm-snapshot-at", "signal|end",
     "Save on the signal only (signal, the default) or also when Slurm "
     "ends the step (end: scancel, the time limit)",
     1, REQ_SNAPSHOT_AT, option_cb},
    {"vm-restore", "DIR",
     "Start every guest from the newest snapshot in DIR instead of "
     "booting (same task count, any nodes)",
     1, REQ_RESTORE, option_cb},
    SPANK_OPTIONS_TABLE_END,
};

/*
 * Remote callbacks run twice: request_set() replaces, so that is fine, and
 * the remote side reads the request from the job's environment anyway.
 * --vm-disk is repeatable: each occurrence adds a line.
 */
static int option_cb(int val, const char *arg, int remote)
{
	(void)remote;
	if (val < 0 || val >= REQ_NFIELDS)
		return -1;
	if (val == REQ_DISK)
		return request_add(&req, val, arg ? arg : "", NULL) < 0 ? -1
									: 0;
	return request_set(&req, val, arg ? arg : "", NULL) < 0 ? -1 : 0;
}

/*
 * True when this srun asks for VMs. It runs before options are parsed, so
 * it looks at what it can see: srun's own command line, the SLURMVM_*
 * variables, and the options sbatch passed down to the job.
 */
static int srun_wants_vm(void)
{
	extern char **environ;
	char args[65536];
	ssize_t n = 0;
	char **e, *p;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
	}
	/* A command line longer than args is cut: end it, so that the
	 * scan below never runs past what was read. */
	if (n > 0)
		args[n] = 0;
	for (p = args; n > 0 && p < args + n; p += strlen(p) + 1)
		if (!strncmp(p, "--vm-", 5))
			return 1;
	if (getenv(ENV_IMAGE) || getenv(ENV_KERNEL) || getenv(ENV_EXEC) ||
	    getenv(ENV_RESTORE))
		return 1;
	for (e = environ; *e; e++)
		if (!strncmp(*e, "SLURM_SPANK__SLURM_SPANK_OPTION_spank_vm_vm_",
			     44))
			return 1;
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();
	char err[1024];
	int i;

	if (site_parse(ac, av, &site, err, sizeof(err)) < 0) {
		slurm_error("vm: %s; the plugin refuses to load until "
			    "plugstack.conf is fixed",
			    err);
		return -1;
	}
	if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR && ctx != S_CTX_REMOTE)
		return 0;
	/*
	 * The fabric bootstraps over PMIx. srun reads SLURM_MPI_TYPE before
	 * it parses options, so this is the one place to choose PMIx for a
	 * VM step; a user's own --mpi or SLURM_MPI_TYPE wins.
	 */
	if (ctx == S_CTX_LOCAL && !getenv("SLURM_MPI_TYPE") && srun_wants_vm())
		setenv("SLURM_MPI_TYPE", "pmix", 0);
	for (i = 0; options[i].name; i++)
		if (spank_option_register(sp, &options[i]) != ESPANK_SUCCESS) {
			slurm_error("vm: cannot register --%s",
				    options[i].name);
			return -1;
		}
	return 0;
}

/*
 * Takes SLURMVM_* variables for options not given on the command line.
 * Disks add up: sbatch hands a job's srun steps every --vm-disk in
 * SLURMVM_DISK but only the last in its option, and one given twice is
 * attached once.
 */
static int request_from_env(void)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		const char *v = getenv(request_env(f));

		if (!v || (req.value[f] && f != REQ_DISK))
			continue;
		if (request_add(&req, f, v, request_env(f)) < 0)
			return -1;
	}
	return 0;
}

static int export_request(void)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		const char *v = req.value[f];

		if (!v)
			continue;
		/*
		 * srun pins the snapshot it checked; sbatch passes the
		 * directory, so each of the job's steps restores the latest
		 * snapshot when it starts (one the job itself may have saved).
		 */
		if (f == REQ_RESTORE && req.restore_dir &&
		    spank_context() == S_CTX_ALLOCATOR)
			v = req.restore_dir;
		/* srun and sbatch build the job's environment from their
		 * own (spank_setenv() is not available this early). */
		if (setenv(request_env(f), v, 1) < 0) {
			slurm_error("vm: cannot export %s", request_env(f));
			return -1;
		}
	}
	return 0;
}

/* srun and sbatch: refuse a bad request before the job exists. */
static int validate_local(void)
{
	char cwd[4096], err[1536];

	if (request_from_env() < 0)
		return -1;
	if (!request_active(&req))
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		slurm_error("vm: cannot read the current directory: %s",
			    strerror(errno));
		return -1;
	}
	if (request_validate(&req, &site, cwd, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	return export_request();
}

/*
 * A restore needs the snapshot's task count. srun knows the step's only
 * once the job exists (S_JOB_TOTAL_TASK_COUNT is not available before
 * local_user_init); where it is not known, the node refuses it.
 */
static int check_tasks_local(spank_t sp)
{
	uint32_t ntasks;
	char err[1536];

	if (!req.value[REQ_RESTORE] ||
	    spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks) !=
		ESPANK_SUCCESS)
		return 0;
	if (request_check_tasks(&req, ntasks, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	return 0;
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_ALLOCATOR)
		return validate_local();
	if (spank_context() == S_CTX_LOCAL)
		return validate_local() < 0 ? -1 : check_tasks_local(sp);
	return 0;
}

/* srun, once the job exists and before its tasks start. */
int slurm_spank_local_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_LOCAL)
		return 0;
	return check_tasks_local(sp);
}

static int job_has(spank_t sp, const char *name)
{
	char buf[8];
	spank_err_t e = spank_getenv(sp, name, buf, sizeof(buf));

	return e == ESPANK_SUCCESS || e == ESPANK_NOSPACE;
}

/* True for the steps that are not the user's tasks. */
static int is_system_step(spank_t sp)
{
	uint32_t step;

	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return 1;
	return step == SLURM_BATCH_SCRIPT || step == SLURM_EXTERN_CONT ||
	       step == SLURM_INTERACTIVE_STEP;
}

static int is_vm_task(spank_t sp)
{
	return !is_system_step(sp) &&
	       (job_has(sp, ENV_IMAGE) || job_has(sp, ENV_KERNEL) ||
		job_has(sp, ENV_EXEC) || job_has(sp, ENV_RESTORE));
}

static int set_env(spank_t sp, const char *name, const char *value,
		   int overwrite)
{
	spank_err_t e = spank_setenv(sp, name, value, overwrite);

	if (e == ESPANK_SUCCESS || (e == ESPANK_ENV_EXISTS && !overwrite))
		return 0;
	slurm_error("vm: cannot set %s in the task: %s", name,
		    spank_strerror(e));
	return -1;
}

/* A variable of the job's environment, malloc'd; NULL when unset. */
static char *job_getenv(spank_t sp, const char *name)
{
	size_t len;

	for (len = 4096; len <= (1 << 22); len *= 4) {
		char *buf = malloc(len);
		spank_err_t e;

		if (!buf)
			return NULL;
		e = spank_getenv(sp, name, buf, len);
		if (e == ESPANK_SUCCESS)
			return buf;
		free(buf);
		if (e != ESPANK_NOSPACE)
			return NULL;
	}
	return NULL;
}

/* The request as the job's environment carries it (srun validated it). */
static int request_from_job(spank_t sp, struct request *r)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		char *v = job_getenv(sp, request_env(f));
		int rc = v ? request_set(r, f, v, request_env(f)) : 0;

		free(v);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * The guest memory for this task: its share of the step's memory on this
 * node by default, and never more (task_mem.c).
 */
static int choose_mem(spank_t sp, const struct request *r, uint32_t rank)
{
	uint64_t step_mb = 0, job_mb = 0;
	uint32_t tasks = 1;
	struct task_mem t;
	unsigned long mb;
	char err[512], num[32];

	/* Items a Slurm without them does not fill stay 0: no limit. */
	spank_get_item(sp, S_STEP_ALLOC_MEM, &step_mb);
	spank_get_item(sp, S_JOB_ALLOC_MEM, &job_mb);
	spank_get_item(sp, S_JOB_LOCAL_TASK_COUNT, &tasks);
	t.step_mb = step_mb;
	t.job_mb = job_mb;
	t.tasks = tasks;
	t.default_mb = site.default_mem;
	t.max_mb = site.max_mem;
	if (task_mem_choose(&t, r->value[REQ_MEM], &mb, err, sizeof(err)) < 0) {
		log_clean(err);
		slurm_error("vm: rank %u: %s", rank, err);
		return -1;
	}
	snprintf(num, sizeof(num), "%lu", mb);
	return set_env(sp, ENV_MEM, num, 1);
}

/*
 * A task that restores: the snapshot checked again where it runs (the
 * files the guests booted from, the site's policy, the step's task count)
 * before the launcher starts, and pinned for the launcher.
 */
static int restore_task(spank_t sp, struct request *r, uint32_t rank)
{
	uint32_t ntasks = 0;
	char err[1536];

	uid_t uid;
	gid_t gid;

	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks) !=
		ESPANK_SUCCESS) {
		slurm_error("vm: rank %u: cannot read the step's task count",
			    rank);
		return -1;
	}
	/* The snapshot is read by the helper, as the job's user. */
	helper_probe_as(uid, gid);
	if (request_check_restore(r, &site, ntasks, err, sizeof(err)) < 0) {
		log_clean(err);
		slurm_error("vm: rank %u: %s", rank, err);
		return -1;
	}
	return set_env(sp, ENV_RESTORE, r->value[REQ_RESTORE], 1);
}

/*
 * Resolves the per-guest options for this task's rank, holds them to the
 * site's policy once more (a job's environment can be set without srun's
 * check, e.g. with srun --export) and writes them back for the launcher,
 * which sees plain values only.
 */
static int resolve_task(spank_t sp)
{
	struct request r = {0};
	char err[1536];
	uint32_t rank;
	int f, rc = -1;

	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS) {
		slurm_error("vm: cannot read the task's rank");
		return -1;
	}
	if (request_from_job(sp, &r) < 0) {
		slurm_error("vm: out of memory");
		goto out;
	}
	if (request_resolve(&r, rank, err, sizeof(err)) < 0 ||
	    request_check_policy(&r, &site, err, sizeof(err)) < 0) {
		log_clean(err); /* a user's bytes, bound for slurmd's log */
		slurm_error("vm: rank %u: %s", rank, err);
		goto out;
	}
	if (r.value[REQ_RESTORE]) {
		rc = restore_task(sp, &r, rank);
		goto out;
	}
	if (!request_is_endpoint(&r) && !r.value[REQ_IMAGE] &&
	    !r.value[REQ_KERNEL]) {
		slurm_error("vm: rank %u: nothing to boot: no entry of "
			    "--vm-image or --vm-kernel holds this rank; add "
			    "one, or an open range such as 1-:PATH",
			    rank);
		goto out;
	}
	if (r.value[REQ_DISK_PERSIST] && !r.value[REQ_IMAGE]) {
		slurm_error("vm: rank %u: --vm-disk-persist keeps the overlay "
			    "of --vm-image, which gives this rank none",
			    rank);
		goto out;
	}
	for (f = 0; f < REQ_NFIELDS; f++) {
		if (!request_per_rank(f) || f == REQ_MEM)
			continue;
		if (r.value[f]
			? set_env(sp, request_env(f), r.value[f], 1)
			: spank_unsetenv(sp, request_env(f)) != ESPANK_SUCCESS)
			goto out;
	}
	/* An endpoint boots no guest: no memory to choose. */
	rc = request_is_endpoint(&r) ? 0 : choose_mem(sp, &r, rank);
out:
	request_clear(&r);
	return rc;
}

/* In the task, just before Slurm execs it: hand it to the launcher. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char num[32];
	char **argv, *launcher;
	int argc;

	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE || !is_vm_task(sp))
		return 0;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    argc < 1) {
		slurm_error("vm: cannot read the task's command");
		return -1;
	}
	if (access(site.launcher, X_OK) < 0) {
		slurm_error("vm: launcher %s: %s (fix launcher= in "
			    "plugstack.conf)",
			    site.launcher, strerror(errno));
		return -1;
	}
	if (access(site.helper, X_OK) < 0) {
		slurm_error("vm: helper %s: %s (fix helper= in "
			    "plugstack.conf)",
			    site.helper, strerror(errno));
		return -1;
	}
	if (resolve_task(sp) < 0)
		return -1;
	if (set_env(sp, ENV_ARGV0, argv[0], 1) ||
	    set_env(sp, ENV_QEMU, site.qemu, 1) ||
	    set_env(sp, ENV_ACCEL, site.accel, 1) ||
	    set_env(sp, ENV_RUNDIR, site.rundir, 1) ||
	    set_env(sp, ENV_FABRIC, site.fabric, 0))
		return -1;
	snprintf(num, sizeof(num), "%lu", site.fabric_mtu);
	if (set_env(sp, ENV_MTU, num, 1))
		return -1;
	snprintf(num, sizeof(num), "%lu", site.boot_timeout);
	if (set_env(sp, ENV_BOOT_TIMEOUT, num, 1))
		return -1;
	snprintf(num, sizeof(num), "%lu", site.max_cpus);
	if (site.max_cpus ? set_env(sp, ENV_MAX_CPUS, num, 1)
			  : spank_unsetenv(sp, ENV_MAX_CPUS) != ESPANK_SUCCESS)
		return -1;
	launcher = strdup(site.launcher);
	if (!launcher)
		return -1;
	/* Slurm execs argv[0] of this array: the task becomes the launcher. */
	argv[0] = launcher;
	return 0;
}

/*
 * Removes what a task's launcher left in the run directory (it was killed
 * before it could), through the helper, as the job's user.
 */
static void remove_leftovers(spank_t sp)
{
	uint32_t job, step, rank;
	uid_t uid;
	gid_t gid;
	int rc;

	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return;
	rc = helper_task_exit(&site, job, step, rank, uid, gid);
	if (rc != 0)
		slurm_error("vm: job %u.%u rank %u: removing the launcher's "
			    "run directory: %s",
			    job, step, rank,
			    rc == -ETIMEDOUT ? "the helper was killed at its "
					       "time limit"
			    : rc < 0	     ? strerror(-rc)
					     : "the helper failed");
}

int slurm_spank_task_exit(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE && is_vm_task(sp))
		remove_leftovers(sp);
	return 0;
}

/* One line of what the epilog did with the job's snapshots. */
static void log_epilog(void *arg, const char *line)
{
	slurm_info("vm: job %u epilog: %s", *(uint32_t *)arg, line);
}

/*
 * The job epilog (root, on every node of the job, after its steps). Root
 * does nothing here but start the helper as the job's user: it kills any
 * QEMU of the job still running, finishes the job's snapshots in each
 * directory its launchers recorded on this node (the step is gone by now)
 * and removes every run directory the job's launchers left, whatever
 * killed them; each thing it did goes to slurmd's log.
 */
int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	char err[512];
	uint32_t job;
	uid_t uid;
	gid_t gid;

	if (site_parse(ac, av, &site, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return 0;
	/* Its failure is logged; the job's end must not wait on it. */
	helper_epilog(&site, job, uid, gid, log_epilog, &job);
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	request_clear(&req);
	return 0;
}
