/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin in srun and sbatch (SPANK local and allocator contexts): the
 * user's request, from options and SLURMVM_* variables, validated before
 * any job exists and exported to the job.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "launcher/common/launch_env.h"
#include "spank/request.h"
#include "spank/site.h"
#include "spank/submit.h"

/*
 * True when this srun asks for VMs. It runs before options are parsed, so
 * it looks at what it can see: srun's own command line, the SLURMVM_*
 * variables, and the options sbatch passed down to the job.
 */
int submit_wants_vm(void)
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

/*
 * Takes SLURMVM_* variables for options not given on the command line.
 * Disks and mounts add up: sbatch hands a job's srun steps every --vm-disk
 * in SLURMVM_DISK but only the last in its option, and one given twice is
 * attached once (mounts likewise).
 */
static int request_from_env(struct request *req)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		const char *v = getenv(request_env(f));

		if (!v || (req->value[f] && f != REQ_DISK && f != REQ_MOUNT))
			continue;
		if (request_add(req, f, v, request_env(f)) < 0)
			return -1;
	}
	return 0;
}

static int export_request(const struct request *req)
{
	int f;

	for (f = 0; f < REQ_NFIELDS; f++) {
		const char *v = req->value[f];

		if (!v)
			continue;
		/*
		 * srun pins the snapshot it checked; sbatch passes the
		 * directory, so each of the job's steps restores the latest
		 * snapshot when it starts (one the job itself may have saved).
		 */
		if (f == REQ_RESTORE && req->restore_dir &&
		    spank_context() == S_CTX_ALLOCATOR)
			v = req->restore_dir;
		/* srun and sbatch build the job's environment from their
		 * own (spank_setenv() is not available this early). */
		if (setenv(request_env(f), v, 1) < 0) {
			slurm_error("vm: cannot export %s", request_env(f));
			return -1;
		}
	}
	return 0;
}

int submit_validate(struct request *req, const struct site_config *site)
{
	char cwd[4096], err[1536];

	if (request_from_env(req) < 0)
		return -1;
	if (!request_active(req))
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		slurm_error("vm: cannot read the current directory: %s",
			    strerror(errno));
		return -1;
	}
	if (request_validate(req, site, cwd, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	return export_request(req);
}

int submit_check_tasks(spank_t sp, const struct request *req)
{
	uint32_t ntasks;
	char err[1536];

	if (!req->value[REQ_RESTORE] ||
	    spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks) !=
		ESPANK_SUCCESS)
		return 0;
	if (request_check_tasks(req, ntasks, err, sizeof(err)) < 0) {
		slurm_error("vm: %s", err);
		return -1;
	}
	return 0;
}
