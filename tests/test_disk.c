/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's disks made with qemu-img (no guest is started): the image
 * overlay, --vm-disk overlays and read-only bases, and the kept overlay of
 * --vm-disk-persist, made once and refused over another image.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "launch_config.h"
#include "tap.h"
#include "vm.h"

static char dir[] = "/tmp/slurm-vm-disk-test.XXXXXX";

static const char *in_dir(const char *name)
{
	static char buf[4][512];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", dir, name);
	return buf[next];
}

static void make_file(const char *name, off_t size)
{
	int fd = open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, size) < 0)
		ok(0, "create %s", name);
	if (fd >= 0)
		close(fd);
}

/* A fresh run directory for one vm, as vm_prepare() makes it. */
static void run_dir(struct vm *vm, const char *name)
{
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->dir, sizeof(vm->dir), "%s", in_dir(name));
	mkdir(vm->dir, 0700);
	snprintf(vm->qemu_log, sizeof(vm->qemu_log), "%s/qemu.log", vm->dir);
}

int main(void)
{
	char disks[1100], err[4096];
	struct launch_config c = {0};
	struct stat st;
	struct vm vm;
	char *base, *keep, *other;

	if (system("qemu-img --version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP qemu-img is not installed\n");
		return 0;
	}
	if (!mkdtemp(dir))
		return 1;
	make_file("base.raw", 1 << 20);
	make_file("other.raw", 1 << 20);
	make_file("data.raw", 1 << 20);
	make_file("ref.raw", 1 << 20);
	mkdir(in_dir("keep"), 0755);
	c.qemu = "qemu-system-x86_64";
	/* in_dir()'s buffers are reused: the config keeps copies. */
	c.image = base = strdup(in_dir("base.raw"));
	snprintf(disks, sizeof(disks), "%s\n%s,ro", in_dir("data.raw"),
		 in_dir("ref.raw"));
	c.disks = disks;

	run_dir(&vm, "run1");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) == 0, "disks prepared: %s",
	   err);
	ok(vm.ndrives == 3, "three drives: image, a disk, a read-only disk");
	is_str(vm.drive[0].file, in_dir("run1/disk.qcow2"),
	       "the image's overlay is in the run directory");
	ok(!vm.drive[0].keep && !vm.drive[0].readonly, "and goes with it");
	is_str(vm.drive[1].file, in_dir("run1/disk1.qcow2"),
	       "a writable --vm-disk gets an overlay in the run directory");
	ok(stat(vm.drive[1].file, &st) == 0 && st.st_size < (1 << 20),
	   "a real qcow2 overlay, smaller than its base");
	is_str(vm.drive[2].file, in_dir("ref.raw"),
	       "a read-only disk is its base itself");
	ok(vm.drive[2].readonly && !strcmp(vm.drive[2].format, "raw"),
	   "attached read-only, as raw");

	c.disks = NULL;
	c.persist = keep = strdup(in_dir("keep"));
	c.rank = 3;
	run_dir(&vm, "run2");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) == 0,
	   "a kept overlay is made on first use: %s", err);
	is_str(vm.drive[0].file, in_dir("keep/n0003.qcow2"),
	       "rank 3's kept overlay is DIR/n0003.qcow2");
	ok(vm.drive[0].keep, "kept: written back, not cache=unsafe");
	stat(in_dir("keep/n0003.qcow2"), &st);
	run_dir(&vm, "run3");
	{
		struct stat again;

		ok(disk_prepare(&vm, &c, err, sizeof(err)) == 0 &&
		       stat(in_dir("keep/n0003.qcow2"), &again) == 0 &&
		       again.st_ino == st.st_ino &&
		       again.st_mtime == st.st_mtime,
		   "the next job uses the same file: %s", err);
	}
	ok(access(in_dir("keep/.n0003.qcow2"), F_OK) != 0,
	   "no temporary file is left in DIR");
	c.image = other = strdup(in_dir("other.raw"));
	run_dir(&vm, "run4");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) < 0 &&
	       strstr(err, "is kept over") && strstr(err, "base.raw") &&
	       strstr(err, "not over --vm-image=") &&
	       strstr(err, "remove the file"),
	   "a kept overlay over another image is refused: %s", err);
	make_file("keep/n0004.qcow2", 100);
	c.rank = 4;
	run_dir(&vm, "run5");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) < 0 &&
	       strstr(err, "n0004.qcow2 is not a qcow2 overlay"),
	   "a kept file that is no overlay is refused: %s", err);

	free(base);
	free(keep);
	free(other);
	snprintf(disks, sizeof(disks), "rm -rf %s", dir);
	if (system(disks) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
