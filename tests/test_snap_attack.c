/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshot files in directories another user can write: what that user
 * plants (a .partial directory, a temporary file, the .snapdirs record, a
 * FIFO, a symbolic link, a file of theirs) is refused or left alone, never
 * adopted, written through or blocked on (snapdir.c, manifest.c).
 *
 * The other user is uid 65534 in a child process when the test runs as
 * root; else the cases that need a second user are skipped, with a reason,
 * and the rest plant as this user (a link or a FIFO is refused whoever made
 * it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"
#include "tap.h"

#define OTHER 65534

static char top[] = "/tmp/slurm-vm-test-attack.XXXXXX";
static char shared[4200]; /* top/shared: mode 1777, like /tmp */

static const char *at(const char *dir, const char *name)
{
	static char buf[4][4400];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", dir, name);
	return buf[next];
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("# cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
}

static uid_t owner(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Runs plant(arg) as the other user in a child; 0 when it succeeded, -1
 * when there is no other user to be (not root). */
static int as_other(int (*plant)(const char *), const char *arg)
{
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(OTHER) < 0 ||
		    setuid(OTHER) < 0)
			_exit(2);
		_exit(plant(arg) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int plant_dir(const char *path)
{
	return mkdir(path, 0777) < 0 ? -1 : chmod(path, 0777);
}

static int plant_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);

	if (fd < 0)
		return -1;
	fchmod(fd, 0666);
	return close(fd);
}

static void test_partial(void)
{
	char name[96], err[4400] = "", planted[4300];
	struct stat st;
	long seq;
	int r;

	snprintf(planted, sizeof(planted), "%s/.partial.42.0.1", shared);
	r = as_other(plant_dir, planted);
	if (r < 0) {
		/* The name is taken all the same: by a failed save. */
		mkdir(planted, 0777);
		printf("# not root: the .partial directory is planted by this "
		       "user\n");
	}
	seq = snap_partial_create(shared, 42, 0, 1, name, sizeof(name), err,
				  sizeof(err));
	ok(seq == 2 && !strcmp(name, ".partial.42.0.2"),
	   "a save never adopts a .partial directory that exists: it makes "
	   "%s (%ld) %s",
	   name, seq, err);
	ok(lstat(at(shared, name), &st) == 0 && st.st_uid == geteuid() &&
	       (st.st_mode & 07777) == 0700,
	   "its own, mode 0700 (%o)", st.st_mode & 07777);
	if (r >= 0)
		ok(r == 0 && owner(planted) == OTHER,
		   "the planted one is left to its owner");
	else
		printf("ok %d # SKIP no second user to plant as (not root)\n",
		       ++tap_n);
}

/* Another user's temporary file, at the name a writer used to use, and
 * their rank entry: the entry written is the writer's own, whole. */
static void test_tmp(void)
{
	char dir[4300];
	struct snap_rank r = {0}, back;
	char err[4400] = "";

	snprintf(dir, sizeof(dir), "%s/ourdir", top);
	mkdir(dir, 0700);
	chmod(dir, 01777); /* ours, but others may write in it */
	if (as_other(plant_file, at(dir, ".rank-0.json.tmp")) != 0 ||
	    as_other(plant_file, at(dir, "rank-0.json")) != 0) {
		printf("ok %d # SKIP no second user to plant as (not root)\n",
		       ++tap_n);
		printf("ok %d # SKIP no second user to plant as (not root)\n",
		       ++tap_n);
		return;
	}
	r.rank = 0;
	r.mem_mb = r.cpus = 1;
	snprintf(r.kernel.path, sizeof(r.kernel.path), "/vmlinux");
	snap_file_name(0, SNAP_VMSTATE, r.vmstate.name, sizeof(r.vmstate.name));
	snap_file_name(0, SNAP_MEMORY, r.memory.name, sizeof(r.memory.name));
	snap_file_name(0, SNAP_FRAMES, r.frames.name, sizeof(r.frames.name));
	snap_file_name(0, SNAP_AGENT, r.agent.name, sizeof(r.agent.name));
	memset(r.vmstate.sha256, 'a', 64);
	memset(r.memory.sha256, 'a', 64);
	memset(r.frames.sha256, 'a', 64);
	memset(r.agent.sha256, 'a', 64);
	r.memory.size = 1 << 20;
	ok(snap_rank_write(dir, &r, err, sizeof(err)) == 0 &&
	       owner(at(dir, "rank-0.json")) == geteuid() &&
	       owner(at(dir, ".rank-0.json.tmp")) == OTHER &&
	       size_of(at(dir, ".rank-0.json.tmp")) == 0,
	   "a rank entry is written through a new temporary file: the one "
	   "another user planted is neither used nor emptied, the entry is "
	   "ours %s",
	   err);
	ok(snap_rank_read(dir, 0, &back, err, sizeof(err)) == 0,
	   "and reads back: %s", err);
}

static void test_record(void)
{
	char victim[4300];
	int r;

	snprintf(victim, sizeof(victim), "%s/victim", top);
	put(victim, "precious\n", 0600);
	r = as_other(plant_file, at(shared, "slurm-vm.77.snapdirs"));
	if (r == 0) {
		ok(snap_record_dir(shared, 77, "/x/snaps") == -EPERM &&
		       size_of(at(shared, "slurm-vm.77.snapdirs")) == 0,
		   "a .snapdirs record another user made first is refused "
		   "and left unwritten");
	} else {
		printf("ok %d # SKIP no second user to plant as (not root)\n",
		       ++tap_n);
	}
	if (symlink(victim, at(shared, "slurm-vm.78.snapdirs")) < 0)
		ok(0, "set-up: a link");
	ok(snap_record_dir(shared, 78, "/x/snaps") == -ELOOP &&
	       size_of(victim) == 9,
	   "a record that is a symbolic link is refused, its target "
	   "untouched");
	if (mkfifo(at(shared, "slurm-vm.79.snapdirs"), 0666) < 0)
		ok(0, "set-up: a FIFO");
	alarm(10);
	ok(snap_record_dir(shared, 79, "/x/snaps") == -EINVAL,
	   "a record that is a FIFO is refused at once");
	alarm(0);
	ok(snap_record_dir(shared, 80, "/x/snaps") == 0 &&
	       owner(at(shared, "slurm-vm.80.snapdirs")) == geteuid() &&
	       snap_record_dir(shared, 80, "/y") == 0 &&
	       size_of(at(shared, "slurm-vm.80.snapdirs")) == 12,
	   "a new record is created, and our own is added to");
}

/* A snapshot of one rank in dir, its files written and hashed. */
static int make_snapshot(const char *dir)
{
	static const char *const text[] = {"devices", "", "", "{}"};
	static const enum snap_kind kinds[] = {SNAP_VMSTATE, SNAP_MEMORY,
					       SNAP_FRAMES, SNAP_AGENT};
	struct snap_manifest m = {.job = 42, .ntasks = 1, .seq = 1};
	struct snap_rank r = {0};
	struct snap_file *f[] = {&r.vmstate, &r.memory, &r.frames, &r.agent};
	char err[4400] = "", name[64];
	size_t i;
	int rc;

	mkdir(dir, 0700);
	r.mem_mb = r.cpus = 1;
	snprintf(r.kernel.path, sizeof(r.kernel.path), "/vmlinux");
	for (i = 0; i < 4; i++) {
		snap_file_name(0, kinds[i], name, sizeof(name));
		put(at(dir, name), text[i], 0600);
		if (kinds[i] == SNAP_MEMORY && truncate(at(dir, name), 1 << 20))
			return -1;
		snap_file_hash(dir, name, f[i]);
	}
	m.ranks = &r;
	snprintf(m.cut_time, sizeof(m.cut_time), "2026-11-22T10:00:00Z");
	rc = manifest_write(dir, &m, err, sizeof(err));
	if (rc < 0)
		printf("# %s\n", err);
	return rc;
}

static void test_restore(void)
{
	struct snap_manifest m = {0};
	char err[4400] = "", out[4200], snaps[4200], dir[4300];

	snprintf(snaps, sizeof(snaps), "%s/snaps", top);
	snprintf(dir, sizeof(dir), "%s/snap.42.0.1", snaps);
	mkdir(snaps, 0700);
	chmod(snaps, 01777);
	ok(make_snapshot(dir) == 0 &&
	       symlink("snap.42.0.1", at(snaps, "latest")) == 0 &&
	       snap_resolve(snaps, out, sizeof(out), err, sizeof(err)) == 0 &&
	       manifest_read(out, &m, err, sizeof(err)) == 0 &&
	       manifest_verify(out, &m, 1, err, sizeof(err)) == 0,
	   "set-up: a good snapshot resolves, reads and verifies: %s", err);

	/* A FIFO as a rank file and as the manifest: refused, not waited
	 * on (a blocking open would hang here until the alarm). */
	rename(at(dir, "rank-0.frames"), at(dir, "frames.saved"));
	mkfifo(at(dir, "rank-0.frames"), 0600);
	alarm(10);
	ok(manifest_verify(dir, &m, 1, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "rank-0.frames: a FIFO"),
	   "a FIFO as a rank file is refused at once: %s", err);
	unlink(at(dir, "rank-0.frames"));
	rename(at(dir, "frames.saved"), at(dir, "rank-0.frames"));
	manifest_free(&m);
	rename(at(dir, SNAP_MANIFEST), at(dir, "manifest.saved"));
	mkfifo(at(dir, SNAP_MANIFEST), 0600);
	ok(manifest_read(dir, &m, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "manifest.json: a FIFO"),
	   "a FIFO as manifest.json is refused at once: %s", err);
	ok(snap_resolve(snaps, out, sizeof(out), err, sizeof(err)) < 0 &&
	       strstr(err, "manifest.json: a FIFO"),
	   "and latest to it is refused, naming it: %s", err);
	ok(snap_resolve(dir, out, sizeof(out), err, sizeof(err)) < 0 &&
	       strstr(err, "manifest.json: a FIFO"),
	   "as is the snapshot named itself: %s", err);
	alarm(0);
	unlink(at(dir, SNAP_MANIFEST));
	rename(at(dir, "manifest.saved"), at(dir, SNAP_MANIFEST));
	ok(manifest_read(dir, &m, err, sizeof(err)) == 0,
	   "set-up: the manifest is back: %s", err);

	/* A link in place of a rank file: refused, even to a good copy. */
	rename(at(dir, "rank-0.agent"), at(top, "agent.copy"));
	if (symlink(at(top, "agent.copy"), at(dir, "rank-0.agent")) < 0)
		ok(0, "set-up: a link");
	ok(manifest_verify(dir, &m, 1, err, sizeof(err)) == -ELOOP &&
	       strstr(err, "rank-0.agent: a symbolic link"),
	   "a symbolic link as a rank file is refused: %s", err);
	unlink(at(dir, "rank-0.agent"));
	rename(at(top, "agent.copy"), at(dir, "rank-0.agent"));

	if (geteuid() != 0) {
		printf("ok %d # SKIP no second user to own files (not root)\n",
		       ++tap_n);
		manifest_free(&m);
		return;
	}
	/* Another user's rank file, same bytes: refused, naming it. */
	if (chown(at(dir, "rank-0.vmstate"), OTHER, OTHER) < 0)
		ok(0, "set-up: chown");
	ok(manifest_verify(dir, &m, 0, err, sizeof(err)) == -EPERM &&
	       strstr(err, "rank-0.vmstate: owned by uid 65534, not by you"),
	   "a rank file of another user is refused: %s", err);
	if (chown(at(dir, "rank-0.vmstate"), 0, 0) < 0 ||
	    chown(at(dir, SNAP_MANIFEST), OTHER, OTHER) < 0)
		ok(0, "set-up: chown");
	manifest_free(&m); /* the read below starts afresh */
	ok(manifest_read(dir, &m, err, sizeof(err)) == -EPERM &&
	       strstr(err, "manifest.json: owned by uid 65534"),
	   "a manifest of another user is refused: %s", err);
	if (chown(at(dir, SNAP_MANIFEST), 0, 0) < 0 ||
	    chown(dir, OTHER, OTHER) < 0)
		ok(0, "set-up: chown");
	ok(snap_resolve(snaps, out, sizeof(out), err, sizeof(err)) == -EPERM &&
	       strstr(err, "snap.42.0.1: owned by uid 65534"),
	   "a snapshot directory of another user is refused: %s", err);
	if (chown(dir, 0, 0) < 0 ||
	    lchown(at(snaps, "latest"), OTHER, OTHER) < 0)
		ok(0, "set-up: chown");
	ok(snap_resolve(snaps, out, sizeof(out), err, sizeof(err)) == -EPERM &&
	       strstr(err, "latest: owned by uid 65534"),
	   "a latest link of another user is refused: %s", err);
	manifest_free(&m);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(top))
		return 1;
	chmod(top, 0711); /* the other user reaches shared/ */
	snprintf(shared, sizeof(shared), "%s/shared", top);
	if (mkdir(shared, 0777) < 0 || chmod(shared, 01777) < 0)
		return 1;
	test_partial();
	test_tmp();
	test_record();
	test_restore();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return done_testing();
}
