/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A restored guest's disk, for a save. Its overlay is over the saved
 * overlay of the snapshot it was restored from, and that snapshot's files
 * go once a later save into the same directory replaces it: copied as it
 * is, the new snapshot's disk would be over a file about to be removed.
 * So the new disk is made over the image again: the saved overlay (read
 * from the fd the restore kept open, which works after its name went) is
 * copied as the new disk, which is over the image as it was; the guest's
 * own overlay is copied beside it, pointed at that copy (qemu-img rebase
 * -u: its header only) and committed into it (qemu-img commit). The work
 * is the two overlays' size, not the image's; the snapshot restored from
 * is only read.
 *
 * This runs on the writer thread: qemu-img is started with posix_spawn
 * (the child only execs) and waited for here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/boot/disk.h"
#include "launcher/boot/vm.h"
#include "launcher/save/snapshot_int.h"

extern char **environ;

/* Runs qemu-img args (argv[0] is its path) with its output in log. */
static int qemu_img(char *const argv[], const char *log, char *err,
		    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, st;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(
		    &fa, 1, log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW,
		    0600);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!rc)
		rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
			 strerror(rc));
		return -rc;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s %s failed on the saved disk (its messages are in %.300s)",
		 argv[0], argv[1], log);
	return -EIO;
}

int save_restored_disk(struct snapshot *sn, char *err, size_t errlen)
{
	struct save *v = &sn->save;
	const struct launch_config *c = sn->c;
	char top[64], disk[4300], top_path[4300], tool[4200], log[4200];
	char *rebase[] = {tool, "rebase", "-u", "-q", "-f",	"qcow2",
			  "-F", "qcow2",  "-b", disk, top_path, NULL};
	char *commit[] = {tool, "commit", "-q", "-f", "qcow2", top_path, NULL};
	int rc;

	snprintf(top, sizeof(top), ".rank-%lu.top.qcow2", c->rank);
	snprintf(disk, sizeof(disk), "%s/%s", v->dir, v->r.disk.name);
	snprintf(top_path, sizeof(top_path), "%s/%s", v->dir, top);
	disk_qemu_img(c->qemu, tool, sizeof(tool));
	vm_path(sn->vm, VM_QEMU_LOG, log, sizeof(log));
	rc = save_copy_fd(v, c->restored_disk_fd, v->r.disk.name, err, errlen);
	if (!rc)
		rc = save_copy_file(v, vm_overlay(sn->vm), top, err, errlen);
	if (!rc)
		rc = qemu_img(rebase, log, err, errlen);
	if (!rc)
		rc = qemu_img(commit, log, err, errlen);
	unlinkat(v->dfd, top, 0);
	return rc;
}
