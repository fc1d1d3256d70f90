/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-helper: the work the plugin does not do inside srun, slurmstepd
 * or the job epilog. The plugin forks only to exec this program (through
 * posix_spawn), with a fixed command line it built itself, no inherited
 * descriptor but stdout and stderr (a pipe it reads, with a time limit) and
 * a minimal environment; it kills the helper when the limit passes.
 *
 * Theory of operation: the helper parses its command line, becomes the
 * job's user (when started as root: supplementary groups, gid, uid, and a
 * check that root cannot be regained) and only then touches anything a
 * user can name: run directories, snapshot directories, the record of
 * them, /proc entries of the user's processes. So no path or file a user
 * chose is ever opened, changed or removed with more rights than the user
 * has. It prints one line per thing it did or found on stdout; the plugin
 * logs them.
 *
 *   probe UID GID FROM VALUE GIVEN -- SITE-ARGS...
 *	the snapshot a --vm-restore names (request_probe_snapshot()):
 *	prints "snapshot PATH" and "ntasks N", or the reason and exits 1
 *   task-exit UID GID JOB STEP RANK -- SITE-ARGS...
 *	removes the run directory a killed launcher left
 *   report UID GID FORMAT PATH DIR SUITE START NTASKS -- SITE-ARGS...
 *	writes the step's report from its launchers' records (report.h)
 *   epilog UID GID JOB -- SITE-ARGS...
 *	kills the job's leftover QEMUs, finishes its snapshots and removes
 *	its run directories
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank/helper/cleanup.h"
#include "spank/helper/write_report.h"
#include "launcher/common/parse.h"
#include "spank/request.h"
#include "spank/request_int.h"
#include "spank/site.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: slurm-vm-helper probe|task-exit|report|epilog ... "
		"(run by the slurm-vm plugin, not by hand)\n");
	return 2;
}

/* Becomes uid:gid for good when started as root. */
static int become(uid_t uid, gid_t gid)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return getuid() == uid ? 0 : -EPERM;
	if (uid == 0)
		return 0;
	pw = getpwuid(uid);
	if ((pw ? initgroups(pw->pw_name, gid) : setgroups(1, &gid)) < 0 ||
	    setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	if (setuid(0) == 0 || geteuid() == 0)
		return -EPERM;
	return 0;
}

static void print_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

static int probe(int ac, char **av, const struct site_config *site)
{
	char snap[PATH_MAX], err[4600];
	struct request r = {0};
	unsigned long ntasks = 0;
	int rc;

	if (ac != 3)
		return usage();
	/* FROM is how the user named the option: its variable, or "-". */
	if (request_set(&r, REQ_RESTORE, av[1],
			strcmp(av[0], "-") ? request_env(REQ_RESTORE) : NULL) <
	    0)
		return 1;
	rc = request_probe_snapshot(&r, site, av[2], snap, sizeof(snap),
				    &ntasks, err, sizeof(err));
	request_clear(&r);
	if (rc < 0) {
		printf("%s\n", err);
		return 1;
	}
	printf("snapshot %s\nntasks %lu\n", snap, ntasks);
	return 0;
}

static int epilog(int ac, char **av, const struct site_config *site, uid_t uid)
{
	unsigned long job;
	char which[32];
	int killed, removed;

	if (ac != 1 || parse_number(av[0], UINT32_MAX, &job) < 0)
		return usage();
	killed = cleanup_qemus((uint32_t)job, uid);
	/* Before the run directories: it reads the record beside them. */
	cleanup_snapshots(site->rundir, (uint32_t)job, uid, print_line, NULL);
	snprintf(which, sizeof(which), "%lu.", job);
	removed = cleanup_rundirs(site->rundir, which, uid);
	if (killed || removed)
		printf("killed %d QEMU process%s, removed %d run director%s "
		       "in %s\n",
		       killed, killed == 1 ? "" : "es", removed,
		       removed == 1 ? "y" : "ies", site->rundir);
	return 0;
}

static int task_exit(int ac, char **av, const struct site_config *site,
		     uid_t uid)
{
	unsigned long job, step, rank;
	char which[64];

	if (ac != 3 || parse_number(av[0], UINT32_MAX, &job) < 0 ||
	    parse_number(av[1], UINT32_MAX, &step) < 0 ||
	    parse_number(av[2], UINT32_MAX, &rank) < 0)
		return usage();
	snprintf(which, sizeof(which), "%lu.%lu.%lu.", job, step, rank);
	cleanup_rundirs(site->rundir, which, uid);
	return 0;
}

int main(int argc, char **argv)
{
	struct site_config site;
	unsigned long uid, gid;
	char err[1024];
	int i, sep = 0, rc;

	for (i = 1; i < argc && !sep; i++)
		if (!strcmp(argv[i], "--"))
			sep = i;
	if (argc < 4 || !sep ||
	    parse_number(argv[2], UINT32_MAX - 1, &uid) < 0 ||
	    parse_number(argv[3], UINT32_MAX - 1, &gid) < 0)
		return usage();
	umask(077);
	rc = chdir("/") < 0 ? -errno : become((uid_t)uid, (gid_t)gid);
	if (rc < 0) {
		printf("cannot become uid %lu gid %lu: %s\n", uid, gid,
		       strerror(-rc));
		return 1;
	}
	if (site_parse(argc - sep - 1, argv + sep + 1, &site, err,
		       sizeof(err)) < 0) {
		printf("%s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "probe"))
		return probe(sep - 4, argv + 4, &site);
	if (!strcmp(argv[1], "epilog"))
		return epilog(sep - 4, argv + 4, &site, (uid_t)uid);
	if (!strcmp(argv[1], "report"))
		return helper_report(sep - 4, argv + 4);
	if (!strcmp(argv[1], "task-exit"))
		return task_exit(sep - 4, argv + 4, &site, (uid_t)uid);
	return usage();
}
