/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spank_vm.so: the --vm-* options of srun and sbatch. This file holds the
 * option table and the entry points, each dispatching by SPANK context:
 *
 *  srun/sbatch (local, allocator), submit.c: options and SLURMVM_*
 *	variables become a request, validated before any job exists
 *	(request.c); its paths, made absolute, are exported to the job as
 *	SLURMVM_* variables. srun selects its PMIx plugin for VM steps: the
 *	fabric bootstraps over it.
 *  slurmstepd (remote), per task, node.c: a task whose environment carries
 *	a request gets the launcher as its argv[0] (the task's own argv[0]
 *	travels in SLURMVM_ARGV0) and the site settings in its environment.
 *	Slurm then execs the launcher itself, so CPU binding, limits, TMPDIR
 *	and TaskProlog apply as for any task. The batch step is left alone.
 *	When a task ends, whatever its launcher left on the node is removed.
 *  the job epilog, epilog.c: the helper program, as the job's user,
 *	cleans up after the job on each node.
 *
 * The plugin never prints or exits: it logs with a "vm: " prefix and
 * returns an error. Only slurm_spank_* symbols are exported (spank_vm.map).
 */
#include "config.h"

#include <stdlib.h>

#include <slurm/spank.h>

#include "spank/epilog.h"
#include "spank/node.h"
#include "spank/submit_report.h"
#include "spank/request.h"
#include "spank/site.h"
#include "spank/submit.h"

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
    {"vm-pmi", "pmi1|none",
     "The PMI service MPI libraries find in each guest (PMI_FD, PMI_RANK, "
     "PMI_SIZE): pmi1, served by the launchers (the default), or none",
     1, REQ_PMI, option_cb},
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
    {"vm-snapshot-at", "signal|end|ready|fail",
     "Save on the signal only (signal, the default), also when Slurm "
     "ends the step (end: scancel, the time limit), also once every "
     "guest is booted, before the command (ready: a golden snapshot), "
     "or also when the first rank's command fails (fail)",
     1, REQ_SNAPSHOT_AT, option_cb},
    {"vm-restore", "DIR",
     "Start every guest from the newest snapshot in DIR instead of "
     "booting (same task count, any nodes)",
     1, REQ_RESTORE, option_cb},
    {"vm-report", "junit:PATH|tap:PATH",
     "Write the step's results to PATH as JUnit XML or TAP, one test case "
     "per rank with its time, exit status and output tails (%j job, %s "
     "step, %A array job, %a array task in the file name)",
     1, REQ_REPORT, option_cb},
    {"vm-report-name", "NAME",
     "The test suite's name in --vm-report (default: the job name and the "
     "step)",
     1, REQ_REPORT_NAME, option_cb},
    {"vm-mount", "SRC[:DST][:ro|rw]",
     "Mount this host directory in every guest, at DST (default: the same "
     "path), read-write or read-only (repeatable, comma-separated; the "
     "directory you run in is mounted by default, none turns that off)",
     1, REQ_MOUNT, option_cb},
    {"vm-egress", "nat|none",
     "Reach the node's networks from the guests through user-mode NAT "
     "(nat), or only each other (none); where the site allows it "
     "(egress=nat in plugstack.conf), nat is the default",
     1, REQ_EGRESS, option_cb},
    {"vm-user", "root",
     "Run the command as root in the guest (default: as you, with your "
     "uid, groups and home)",
     1, REQ_USER, option_cb},
    {"vm-timeout", "SECONDS",
     "Stop the command in each guest after this many seconds; the task "
     "then exits with 124 and --vm-report says timeout",
     1, REQ_TIMEOUT, option_cb},
    {"vm-keep", "fail|always",
     "Keep each rank's console log, output tails and stats in the results "
     "directory when its command failed (fail) or always",
     1, REQ_KEEP, option_cb},
    {"vm-capture", "[MIB]",
     "Write the frames each guest sends and receives on the step's "
     "network to a pcap file (at most MIB MiB, default 64), kept with "
     "--vm-keep",
     2, REQ_CAPTURE, option_cb},
    {"vm-keep-dir", "DIR",
     "The results directory of --vm-keep, one subdirectory per rank "
     "(default slurm-vm-results.%j.%s in the working directory; %j job, "
     "%s step)",
     1, REQ_KEEP_DIR, option_cb},
    SPANK_OPTIONS_TABLE_END,
};

/*
 * Remote callbacks run twice: request_set() replaces, so that is fine, and
 * the remote side reads the request from the job's environment anyway.
 * --vm-disk and --vm-mount are repeatable: each occurrence adds a line.
 */
static int option_cb(int val, const char *arg, int remote)
{
	(void)remote;
	if (val < 0 || val >= REQ_NFIELDS)
		return -1;
	if (val == REQ_DISK || val == REQ_MOUNT)
		return request_add(&req, val, arg ? arg : "", NULL) < 0 ? -1
									: 0;
	return request_set(&req, val, arg ? arg : "", NULL) < 0 ? -1 : 0;
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
	if (ctx == S_CTX_LOCAL && !getenv("SLURM_MPI_TYPE") &&
	    submit_wants_vm())
		setenv("SLURM_MPI_TYPE", "pmix", 0);
	for (i = 0; options[i].name; i++)
		if (spank_option_register(sp, &options[i]) != ESPANK_SUCCESS) {
			slurm_error("vm: cannot register --%s",
				    options[i].name);
			return -1;
		}
	return 0;
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_ALLOCATOR)
		return submit_validate(&req, &site);
	if (spank_context() == S_CTX_LOCAL)
		return submit_validate(&req, &site) < 0
			   ? -1
			   : submit_check_tasks(sp, &req);
	return 0;
}

/* srun, once the job exists and before its tasks start. */
int slurm_spank_local_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_LOCAL)
		return 0;
	return submit_check_tasks(sp, &req) < 0 ? -1 : report_begin(sp, &req);
}

/* In the task, just before Slurm execs it: hand it to the launcher. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE || !node_is_vm_task(sp))
		return 0;
	return node_task_init(sp, &site);
}

int slurm_spank_task_exit(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE && node_is_vm_task(sp))
		node_task_exit(sp, &site);
	return 0;
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	return epilog_run(sp, &site, ac, av);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_LOCAL)
		report_end(&site);
	request_clear(&req);
	return 0;
}
