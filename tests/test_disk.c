/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's disks made with qemu-img (no guest is started): the image
 * overlay, --vm-disk overlays and read-only bases, and the kept overlay of
 * --vm-disk-persist, made once and refused over another image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/boot/disk.h"
#include "launcher/boot/launch_config.h"
#include "tap.h"
#include "launcher/boot/vm.h"

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

/* A fresh run directory for one vm, as vm_prepare() makes it (the
 * previous case's drive names freed). */
static void run_dir(struct vm *vm, const char *name)
{
	size_t i;

	for (i = 0; i < vm->ndrives; i++)
		free(vm->drive[i].file);
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->dir, sizeof(vm->dir), "%s", in_dir(name));
	mkdir(vm->dir, 0700);
}

int main(void)
{
	char disks[1100], cmd[1100], err[4096];
	struct launch_config c = {0};
	struct stat st;
	struct vm vm = {0};
	char *base, *keep, *other, *agent, *cloud;

	if (system("qemu-img --version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP qemu-img is not installed\n");
		return 0;
	}
	if (system("command -v mcopy >/dev/null && { command -v mkfs.vfat "
		   "|| test -x /usr/sbin/mkfs.vfat || test -x /sbin/mkfs.vfat; "
		   "} >/dev/null") != 0) {
		printf("1..0 # SKIP mtools or dosfstools is not installed\n");
		return 0;
	}
	if (!mkdtemp(dir))
		return 1;
	make_file("base.raw", 1 << 20);
	make_file("other.raw", 1 << 20);
	make_file("data.raw", 1 << 20);
	make_file("ref.raw", 1 << 20);
	make_file("agent", 300 << 10);
	mkdir(in_dir("keep"), 0755);
	mkdir(in_dir("cloud"), 0755);
	make_file("cloud/user-data", 100);
	c.qemu = "qemu-system-x86_64";
	c.agent = agent = strdup(in_dir("agent"));
	c.nranks = 8;
	/* in_dir()'s buffers are reused: the config keeps copies. */
	c.image = base = strdup(in_dir("base.raw"));
	snprintf(disks, sizeof(disks), "%s\n%s,ro", in_dir("data.raw"),
		 in_dir("ref.raw"));
	c.disks = disks;

	run_dir(&vm, "run1");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) == 0, "disks prepared: %s",
	   err);
	ok(vm.ndrives == 4,
	   "four drives: image, a disk, a read-only disk, the seed");
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
	is_str(vm.drive[3].file, in_dir("run1/seed.img"),
	       "the cloud-init seed comes last, from the run directory");
	ok(vm.drive[3].readonly && !strcmp(vm.drive[3].format, "raw"),
	   "read-only, raw");
	snprintf(cmd, sizeof(cmd),
		 "MTOOLS_SKIP_CHECK=1 mdir -b -i %s ::/ | sort | tr '\\n' ' ' "
		 ">%s",
		 vm.drive[3].file, in_dir("run1/ls"));
	ok(system(cmd) == 0, "mtools reads the seed");
	{
		char got[256] = "";
		FILE *f = fopen(in_dir("run1/ls"), "r");

		if (f && !fgets(got, sizeof(got), f))
			got[0] = 0;
		if (f)
			fclose(f);
		is_str(got, "::/meta-data ::/slurm-vm-agent ::/user-data ",
		       "it holds meta-data, user-data and the agent");
	}
	snprintf(cmd, sizeof(cmd),
		 "blkid -o value -s LABEL %s | grep -qx cidata",
		 vm.drive[3].file);
	ok(system(cmd) == 0, "its label is cidata");

	c.cloud_init = cloud = strdup(in_dir("cloud"));
	run_dir(&vm, "run6");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) == 0 && vm.ndrives == 4,
	   "with --vm-cloud-init: %s", err);
	snprintf(cmd, sizeof(cmd), "grep -q '^Merge-Type: ' %s",
		 in_dir("run6/user-data"));
	ok(system(cmd) == 0, "the user's user-data is a second MIME part");
	c.cloud_init = in_dir("nowhere");
	run_dir(&vm, "run7");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) < 0 &&
	       strstr(err, "--vm-cloud-init: cannot read"),
	   "a --vm-cloud-init directory without user-data fails: %s", err);
	c.cloud_init = NULL;
	c.agent = in_dir("no-agent");
	run_dir(&vm, "run8");
	ok(disk_prepare(&vm, &c, err, sizeof(err)) < 0 &&
	       strstr(err, "no guest agent"),
	   "no agent for the seed fails: %s", err);
	c.agent = agent;

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
	/* DIR may be shared: a good overlay over the right image, but planted
	 * as a link, or as another user's file, is refused. */
	c.image = base;
	c.rank = 5;
	run_dir(&vm, "run6");
	ok(symlink(in_dir("keep/n0003.qcow2"), in_dir("keep/n0005.qcow2")) ==
		   0 &&
	       disk_prepare(&vm, &c, err, sizeof(err)) == -ELOOP &&
	       strstr(err, "n0005.qcow2: a symbolic link: refused"),
	   "a kept overlay that is a symbolic link is refused: %s", err);
	if (geteuid() == 0) {
		char plant[9000];

		snprintf(plant, sizeof(plant), "cp %s %s && chown 65534 %s",
			 in_dir("keep/n0003.qcow2"), in_dir("keep/n0006.qcow2"),
			 in_dir("keep/n0006.qcow2"));
		c.rank = 6;
		run_dir(&vm, "run7");
		ok(system(plant) == 0 &&
		       disk_prepare(&vm, &c, err, sizeof(err)) == -EPERM &&
		       strstr(err, "n0006.qcow2: owned by uid 65534"),
		   "a kept overlay of another user is refused: %s", err);
	} else {
		printf("ok %d # SKIP no second user to own a file (not "
		       "root)\n",
		       ++tap_n);
	}

	free(base);
	free(agent);
	free(cloud);
	free(keep);
	free(other);
	snprintf(disks, sizeof(disks), "rm -rf %s", dir);
	if (system(disks) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
