/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job epilog's part in snapshots, on a directory of real saves. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank/helper/cleanup.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"
#include "tap.h"

static char top[] = "/tmp/slurm-vm-test-cleanup.XXXXXX";
static char snaps[300], logbuf[16384];

static const char *at(const char *name)
{
	static char buf[4][600];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", snaps, name);
	return buf[next];
}

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		ok(0, "create %s", path);
		return;
	}
	fputs(content, f);
	fclose(f);
}

/*
 * A save of job.step.seq with one rank, its files written and hashed;
 * with manifest, its manifest too.
 */
static void save(const char *name, uint32_t job, uint32_t step, uint32_t seq,
		 int manifest)
{
	char dir[600], file[700], kernel[600], err[1024];
	struct snap_manifest m = {0};
	struct snap_rank *r;

	snprintf(dir, sizeof(dir), "%s", at(name));
	mkdir(dir, 0700);
	m.job = job;
	m.step = step;
	m.seq = seq;
	m.ntasks = 1;
	snprintf(m.cut_time, sizeof(m.cut_time), "2026-11-22T10:00:00Z");
	snprintf(m.qemu_version, sizeof(m.qemu_version), "8.2.2");
	m.ranks = calloc(1, sizeof(*m.ranks));
	r = m.ranks;
	snprintf(r->node, sizeof(r->node), "n1");
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", top);
	snap_ident_of(kernel, &r->kernel);
	r->mem_mb = 1;
	r->cpus = 1;
	snprintf(file, sizeof(file), "%s/rank-0.vmstate", dir);
	put(file, "device state");
	snap_file_hash(dir, "rank-0.vmstate", &r->vmstate);
	snprintf(file, sizeof(file), "%s/rank-0.memory", dir);
	put(file, "guest memory");
	if (truncate(file, 1 << 20) < 0)
		ok(0, "set-up: a 1 MiB memory file");
	snap_file_hash(dir, "rank-0.memory", &r->memory);
	snprintf(file, sizeof(file), "%s/rank-0.frames", dir);
	put(file, "");
	snap_file_hash(dir, "rank-0.frames", &r->frames);
	snprintf(file, sizeof(file), "%s/rank-0.agent", dir);
	put(file, "{}");
	snap_file_hash(dir, "rank-0.agent", &r->agent);
	if (manifest && manifest_write(dir, &m, err, sizeof(err)) < 0)
		ok(0, "manifest_write: %s", err);
	manifest_free(&m);
}

static void collect(void *arg, const char *line)
{
	(void)arg;
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

/* Each line of text as a TAP comment. */
static void diag(const char *text)
{
	const char *p;

	for (p = text; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0))
		printf("# %.*s\n", (int)strcspn(p, "\n"), p);
}

static const char *latest(void)
{
	static char target[256];
	ssize_t n = readlink(at("latest"), target, sizeof(target) - 1);

	target[n > 0 ? n : 0] = 0;
	return target;
}

/*
 * Root only: the clean-up takes nothing over. A snapshot file another
 * user owns stays theirs (the helper runs as the job's user; even when
 * run as root, this code never changes an owner).
 */
static void test_no_ownership_change(void)
{
	struct stat st;

	if (geteuid() != 0) {
		ok(1, "# SKIP ownership needs root");
		return;
	}
	save("snap.50.0.1", 50, 0, 1, 1);
	if (chown(at("snap.50.0.1/rank-0.vmstate"), 12345, 12345) < 0)
		ok(0, "set-up: %s", strerror(errno));
	snap_record_dir(top, 50, snaps);
	logbuf[0] = 0;
	cleanup_snapshots(top, 50, 0, collect, NULL);
	ok(stat(at("snap.50.0.1/rank-0.vmstate"), &st) == 0 &&
	       st.st_uid == 12345,
	   "a snapshot file of another owner keeps its owner");
}

int main(void)
{
	char record[600], cmd[700], kernel[400];
	struct stat st;
	int n;

	if (!mkdtemp(top))
		return 1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", top);
	put(kernel, "ELF");
	snprintf(snaps, sizeof(snaps), "%s/snaps", top);
	mkdir(snaps, 0700);

	save(".partial.42.0.1", 42, 0, 1, 0);
	save(".partial.42.0.2", 42, 0, 2, 1);
	snap_publish(snaps, ".partial.42.0.2", "snap.42.0.2", cmd, sizeof(cmd));
	save(".partial.42.0.3", 42, 0, 3, 1);
	save(".partial.42.0.4", 42, 0, 4, 1);
	put(at(".partial.42.0.4/rank-0.vmstate"), "cut");
	save(".partial.43.0.1", 43, 0, 1, 0);
	save("snap.42.1.1", 42, 1, 1, 1);
	put(at("snap.42.1.1/rank-0.agent"), "{\"x\":1}");
	is_str(latest(), "snap.42.0.2", "set-up: snap.42.0.2 is the latest");

	ok(cleanup_snapshots(top, 42, getuid(), collect, NULL) == 0,
	   "without a record there is nothing to do");
	snap_record_dir(top, 42, snaps);
	snap_record_dir(top, 42, "/nonexistent/snaps");
	snprintf(record, sizeof(record), "%s/slurm-vm.42.snapdirs", top);
	logbuf[0] = 0;
	n = cleanup_snapshots(top, 42, getuid(), collect, NULL);
	ok(n == 2, "both recorded directories are handled (%d)", n);
	diag(logbuf);
	ok(access(at(".partial.42.0.1"), F_OK) < 0 &&
	       strstr(logbuf, "removed ") &&
	       strstr(logbuf, ".partial.42.0.1: an unfinished or failed save"),
	   "a save without manifest is removed, and logged");
	ok(access(at(".partial.42.0.4"), F_OK) < 0 &&
	       strstr(logbuf, ".partial.42.0.4: an unfinished or failed save"),
	   "a save with a short file is removed, and logged");
	ok(access(at("snap.42.0.3/manifest.json"), F_OK) == 0 &&
	       !strcmp(latest(), "snap.42.0.3") &&
	       strstr(logbuf, ".partial.42.0.3: a complete save") &&
	       strstr(logbuf, "published as"),
	   "a complete save its step did not publish is published");
	ok(access(at("snap.42.0.2"), F_OK) < 0,
	   "and the one it replaces is gone");
	ok(strstr(logbuf, "snap.42.0.3: complete, 1 rank, ") &&
	       strstr(logbuf, "bytes, sizes verified"),
	   "complete snapshots are verified, and logged");
	ok(access(at("snap.42.1.1"), F_OK) == 0 &&
	       strstr(logbuf, "snap.42.1.1: damaged: rank 0 (saved on n1)") &&
	       strstr(logbuf, "rank-0.agent: 7 bytes, the manifest says 2"),
	   "a damaged snapshot is named, with the file, and kept");
	ok(access(at(".partial.43.0.1"), F_OK) == 0,
	   "another job's save is left alone");
	ok(strstr(logbuf, "/nonexistent/snaps: No such file"),
	   "a directory that is gone is said to be");
	ok(stat(record, &st) < 0 && errno == ENOENT,
	   "the record is removed once read");
	ok(cleanup_snapshots(top, 42, getuid(), collect, NULL) == 0,
	   "a second epilog finds nothing to do");

	put(record, "relative\n\n");
	logbuf[0] = 0;
	ok(cleanup_snapshots(top, 42, getuid(), collect, NULL) == 0 &&
	       !logbuf[0],
	   "a record without absolute paths is nothing to do");
	if (symlink("/etc/passwd", record) == 0 || errno == EEXIST) {
		unlink(record);
		if (symlink("/etc/passwd", record) < 0)
			ok(0, "symlink");
		logbuf[0] = 0;
		ok(cleanup_snapshots(top, 42, getuid(), collect, NULL) == 0 &&
		       strstr(logbuf, "Too many levels of symbolic links"),
		   "a record that is a link is not followed");
		ok(lstat(record, &st) < 0 && errno == ENOENT &&
		       stat("/etc/passwd", &st) == 0 && st.st_size > 0,
		   "the link itself is removed, its target kept");
		diag(logbuf);
		unlink(record);
	}
	test_no_ownership_change();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return done_testing();
}
