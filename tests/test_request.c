/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of the user's --vm-* request, before any job exists. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "request.h"
#include "tap.h"

static char dir[] = "/tmp/slurm-vm-test.XXXXXX";
static struct site_config site;

static void touch(const char *name, const char *content)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, content, strlen(content)) < 0)
			ok(0, "write %s", path);
		close(fd);
	}
}

/* Validates a request given as pairs of field and value. */
static int check(char *err, int n, ...)
{
	struct request r = {0};
	va_list ap;
	int i, rc;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		enum request_field f = va_arg(ap, enum request_field);

		request_set(&r, f, va_arg(ap, const char *), NULL);
	}
	va_end(ap);
	err[0] = 0;
	rc = request_validate(&r, &site, dir, err, 1024);
	request_clear(&r);
	return rc;
}

/* Validates a request and returns the checked value of field f. */
static const char *checked(char *err, enum request_field f, int n, ...)
{
	static char value[1024];
	struct request r = {0};
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		enum request_field g = va_arg(ap, enum request_field);
		const char *v = va_arg(ap, const char *);

		if (g == REQ_DISK)
			request_add(&r, g, v, NULL);
		else
			request_set(&r, g, v, NULL);
	}
	va_end(ap);
	err[0] = 0;
	if (request_validate(&r, &site, dir, err, 1024) < 0)
		snprintf(value, sizeof(value), "(refused)");
	else
		snprintf(value, sizeof(value), "%s",
			 r.value[f] ? r.value[f] : "(unset)");
	request_clear(&r);
	return value;
}

/* fmt with every %s replaced by the test directory. */
static const char *in_dir(const char *fmt)
{
	static char buf[4][1024];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), fmt, dir, dir, dir);
	return buf[next];
}

/* Per-rank values: every entry is checked, paths made absolute. */
static void test_specs(char *err)
{
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM,
		       "0:8192,1-:2048"),
	       "0:8192,1-:2048", "a memory rank spec is taken");
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM,
		       "0:8192,1-:0"),
	       "(refused)", "every entry of a spec is checked");
	ok(strstr(err, "--vm-mem (ranks 1-: 0): not a whole number"),
	   "the message names the ranks and the value: %s", err);
	is_str(
	    checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "3-1:512"),
	    "(refused)", "a backwards range is refused");
	ok(strstr(err, "--vm-mem=3-1:512: the range 3-1 runs backwards") &&
	       strstr(err, "0:VALUE,1-3:VALUE"),
	   "the message names the option and shows the form: %s", err);
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM,
		       "0:512,1-:"),
	       "(refused)", "an empty entry is refused");
	ok(strstr(err, "rank 1- has an empty value"), "%s", err);
	is_str(checked(err, REQ_CPUS, 2, REQ_KERNEL, "vmlinux", REQ_CPUS,
		       "0-1:4,2-:two"),
	       "(refused)", "a vCPU spec with a bad entry is refused");
	ok(strstr(err, "--vm-cpus (ranks 2-: two): not a whole number"), "%s",
	   err);
	is_str(checked(err, REQ_KERNEL, 1, REQ_KERNEL, "0:vmlinux,1-:vmlinux"),
	       in_dir("0:%s/vmlinux,1-:%s/vmlinux"),
	       "relative paths in a spec are made absolute");
	is_str(checked(err, REQ_KERNEL, 1, REQ_KERNEL, "0:vmlinux,1-:nokernel"),
	       "(refused)", "a missing file in a spec is refused");
	ok(strstr(err, "--vm-kernel (ranks 1-: nokernel): No such file"), "%s",
	   err);
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "1:disk.qcow2"),
	       in_dir("1:%s/disk.qcow2"),
	       "an image for rank 1 only is taken (others get the default)");
	is_str(checked(err, REQ_APPEND, 2, REQ_KERNEL, "vmlinux", REQ_APPEND,
		       "0:console=ttyS0,115200,1-:quiet"),
	       "0:console=ttyS0,115200,1-:quiet",
	       "kernel arguments per rank keep their commas");
}

/* --vm-cloud-init=DIR: a directory with user-data, with an image. */
static void test_cloud_init(char *err)
{
	char sub[300];

	snprintf(sub, sizeof(sub), "%s/ci", dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/ci-empty", dir);
	mkdir(sub, 0755);
	touch("ci/user-data", "#cloud-config\n");
	is_str(checked(err, REQ_CLOUD_INIT, 2, REQ_IMAGE, "disk.qcow2",
		       REQ_CLOUD_INIT, "ci"),
	       in_dir("%s/ci"), "--vm-cloud-init is made absolute");
	is_str(checked(err, REQ_CLOUD_INIT, 2, REQ_IMAGE, "disk.qcow2",
		       REQ_CLOUD_INIT, "ci-empty"),
	       "(refused)", "a directory without user-data is refused");
	ok(strstr(err, "--vm-cloud-init=ci-empty: no readable, non-empty "
		       "file user-data"),
	   "%s", err);
	is_str(checked(err, REQ_CLOUD_INIT, 2, REQ_IMAGE, "disk.qcow2",
		       REQ_CLOUD_INIT, "ci/user-data"),
	       "(refused)", "a file instead of its directory is refused");
	ok(strstr(err, "not a directory"), "%s", err);
	is_str(checked(err, REQ_CLOUD_INIT, 2, REQ_KERNEL, "vmlinux",
		       REQ_CLOUD_INIT, "ci"),
	       "(refused)", "--vm-cloud-init without --vm-image is refused");
	ok(strstr(err, "give --vm-image=DISK too"), "%s", err);
}

/* --vm-disk: repeatable, PATH[,ro], checked like an image. */
static void test_disks(char *err)
{
	is_str(checked(err, REQ_DISK, 3, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "disk.qcow2", REQ_DISK, "data.img,ro"),
	       in_dir("%s/disk.qcow2\n%s/data.img,ro"),
	       "two disks, one read-only, become absolute lines");
	is_str(checked(err, REQ_DISK, 3, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "disk.qcow2", REQ_DISK, "disk.qcow2"),
	       in_dir("%s/disk.qcow2"), "a disk given twice is attached once");
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "nodisk.img"),
	       "(refused)", "a missing disk is refused");
	ok(strstr(err, "--vm-disk=nodisk.img: No such file"), "%s", err);
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "adir,ro"),
	       "(refused)", "a directory as disk is refused");
	ok(strstr(err, "--vm-disk=adir,ro: is a directory"), "%s", err);
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "empty.img"),
	       "(refused)", "an empty disk is refused");
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "vmlinux", REQ_DISK, ""),
	       "(refused)", "an empty --vm-disk is refused");
	ok(strstr(err, "the path is empty"), "%s", err);
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "vmlinux", REQ_DISK,
		       "0:data.img,ro,1-:disk.qcow2"),
	       in_dir("0:%s/data.img,ro,1-:%s/disk.qcow2"),
	       "a disk rank spec keeps ,ro with its entry");
	is_str(checked(err, REQ_DISK_PERSIST, 2, REQ_IMAGE, "disk.qcow2",
		       REQ_DISK_PERSIST, "adir"),
	       in_dir("%s/adir"), "--vm-disk-persist takes a directory");
	is_str(checked(err, REQ_DISK_PERSIST, 2, REQ_KERNEL, "vmlinux",
		       REQ_DISK_PERSIST, "adir"),
	       "(refused)", "--vm-disk-persist without an image is refused");
	ok(strstr(err, "--vm-disk-persist keeps each rank's overlay") &&
	       strstr(err, "give --vm-image"),
	   "%s", err);
	is_str(checked(err, REQ_DISK_PERSIST, 2, REQ_IMAGE, "disk.qcow2",
		       REQ_DISK_PERSIST, "nodir"),
	       "(refused)", "a missing persist directory is refused");
	ok(strstr(err, "--vm-disk-persist=nodir: not a directory you can "
		       "write to"),
	   "%s", err);
}

/* plugstack.conf policy: every rule refuses with its line, and accepts. */
static void test_policy(char *err)
{
	char link[600];

	snprintf(site.image_dirs, sizeof(site.image_dirs), "%s/images", dir);
	snprintf(link, sizeof(link), "%s/images/escape.img", dir);
	if (symlink(in_dir("%s/disk.qcow2"), link) < 0)
		ok(0, "symlink %s", link);
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "images/in.qcow2"),
	       in_dir("%s/images/in.qcow2"),
	       "an image inside image_dirs is taken");
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "disk.qcow2"), "(refused)",
	       "an image outside image_dirs is refused");
	ok(strstr(err, "--vm-image=disk.qcow2: outside the site's image "
		       "directories (plugstack.conf: image_dirs=") &&
	       strstr(err, "use a file from one of them"),
	   "the message names the plugstack line: %s", err);
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "images/../disk.qcow2"),
	       "(refused)", "'..' cannot leave image_dirs");
	ok(strstr(err, "it resolves to"), "the message says where: %s", err);
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "images/escape.img"),
	       "(refused)", "a symbolic link cannot leave image_dirs");
	is_str(checked(err, REQ_KERNEL, 1, REQ_KERNEL, "images/vmlinux"),
	       in_dir("%s/images/vmlinux"), "a kernel inside is taken");
	is_str(checked(err, REQ_KERNEL, 1, REQ_KERNEL, "vmlinux"), "(refused)",
	       "a kernel outside is refused");
	ok(strstr(err, "--vm-kernel=vmlinux: outside"), "%s", err);
	is_str(checked(err, REQ_INITRD, 2, REQ_KERNEL, "images/vmlinux",
		       REQ_INITRD, "vmlinux"),
	       "(refused)", "an initrd outside is refused");
	ok(strstr(err, "--vm-initrd=vmlinux: outside"), "%s", err);
	is_str(checked(err, REQ_DISK, 2, REQ_KERNEL, "images/vmlinux", REQ_DISK,
		       "data.img,ro"),
	       "(refused)", "a disk outside is refused");
	ok(strstr(err, "--vm-disk=data.img,ro: outside"), "%s", err);
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE,
		       "0:images/in.qcow2,1-:disk.qcow2"),
	       "(refused)", "one entry of a spec outside is refused");
	ok(strstr(err, "--vm-image (ranks 1-: disk.qcow2): outside"), "%s",
	   err);
	snprintf(site.image_dirs, sizeof(site.image_dirs), "/nonexistent:%s",
		 in_dir("%s/images"));
	is_str(checked(err, REQ_IMAGE, 1, REQ_IMAGE, "images/in.qcow2"),
	       in_dir("%s/images/in.qcow2"),
	       "any directory of the list will do");
	snprintf(site.default_kernel, sizeof(site.default_kernel), "%s",
		 in_dir("%s/vmlinux"));
	is_str(checked(err, REQ_KERNEL, 1, REQ_MEM, "256"),
	       in_dir("%s/vmlinux"),
	       "the site's own default kernel is not held to image_dirs");
	site.default_kernel[0] = 0;
	site.image_dirs[0] = 0;

	site.max_mem = 4096;
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "8192"),
	       "(refused)", "--vm-mem above max_mem is refused");
	is_str(err,
	       "--vm-mem=8192: above the site's limit (plugstack.conf: "
	       "max_mem=4096); ask for at most --vm-mem=4096",
	       "the message names the plugstack line and the fix");
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "4096"),
	       "4096", "--vm-mem at max_mem is taken");
	is_str(checked(err, REQ_MEM, 2, REQ_KERNEL, "vmlinux", REQ_MEM,
		       "0:8192,1-:1024"),
	       "(refused)", "a spec entry above max_mem is refused");
	ok(strstr(err, "--vm-mem (rank 0: 8192): above the site's limit"), "%s",
	   err);
	site.max_mem = 0;

	site.max_cpus = 4;
	is_str(checked(err, REQ_CPUS, 2, REQ_KERNEL, "vmlinux", REQ_CPUS, "8"),
	       "(refused)", "--vm-cpus above max_cpus is refused");
	is_str(err,
	       "--vm-cpus=8: above the site's limit (plugstack.conf: "
	       "max_cpus=4); ask for at most --vm-cpus=4",
	       "the message names the plugstack line");
	is_str(checked(err, REQ_CPUS, 2, REQ_KERNEL, "vmlinux", REQ_CPUS, "4"),
	       "4", "--vm-cpus at max_cpus is taken");
	site.max_cpus = 0;

	is_str(checked(err, REQ_QEMU_ARGS, 2, REQ_KERNEL, "vmlinux",
		       REQ_QEMU_ARGS, "-device virtio-rng-pci"),
	       "(refused)", "--vm-qemu-args is refused by default");
	ok(strstr(err, "--vm-qemu-args: this site does not allow extra QEMU "
		       "arguments (plugstack.conf: allow_qemu_args=no"),
	   "%s", err);
	site.allow_qemu_args = 1;
	is_str(checked(err, REQ_QEMU_ARGS, 2, REQ_KERNEL, "vmlinux",
		       REQ_QEMU_ARGS, "-device virtio-rng-pci"),
	       "-device virtio-rng-pci", "allow_qemu_args=yes lets them in");
	site.allow_qemu_args = 0;
}

/* On the node: per-rank values for one rank, and the policy again. */
static void test_resolve(char *err)
{
	struct request r = {0};

	request_set(&r, REQ_MEM, "0:384,1-:256", NULL);
	request_set(&r, REQ_KERNEL, "/k/vmlinux", NULL);
	request_set(&r, REQ_IMAGE, "2-3:/i/a.qcow2", NULL);
	request_set(&r, REQ_DISK, "0:/d/a.img,ro,1-:/d/b.img\n/d/c.img\n5:/x",
		    NULL);
	request_set(&r, REQ_FABRIC, "tcp", NULL);
	ok(request_resolve(&r, 0, err, 1024) == 0, "rank 0 resolves");
	is_str(r.value[REQ_MEM], "384", "rank 0 gets its memory");
	is_str(r.value[REQ_KERNEL], "/k/vmlinux", "a plain value stays");
	ok(!r.value[REQ_IMAGE], "a spec holding no rank 0 leaves it unset");
	is_str(r.value[REQ_DISK], "/d/a.img,ro\n/d/c.img",
	       "each disk line resolves on its own, unmatched ones dropped");
	is_str(r.value[REQ_FABRIC], "tcp", "other options are untouched");
	request_clear(&r);
	request_set(&r, REQ_MEM, "0:384,1-:256", NULL);
	request_set(&r, REQ_DISK, "0:/d/a.img", NULL);
	ok(request_resolve(&r, 7, err, 1024) == 0 &&
	       !strcmp(r.value[REQ_MEM], "256") && !r.value[REQ_DISK],
	   "rank 7 gets the open range and no disk");
	request_clear(&r);
	request_set(&r, REQ_MEM, "4-2:1", "SLURMVM_MEM");
	ok(request_resolve(&r, 0, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_MEM=4-2:1: the range 4-2 runs backwards"),
	   "a malformed spec in the job's environment is named: %s", err);
	request_clear(&r);

	site.max_mem = 1024;
	site.allow_qemu_args = 0;
	request_set(&r, REQ_MEM, "2048", "SLURMVM_MEM");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_MEM=2048: above the site's limit"),
	   "the node holds a value set around srun to max_mem: %s", err);
	request_clear(&r);
	request_set(&r, REQ_QEMU_ARGS, "-S", "SLURMVM_QEMU_ARGS");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_QEMU_ARGS: this site does not allow"),
	   "and to allow_qemu_args: %s", err);
	request_clear(&r);
	snprintf(site.image_dirs, sizeof(site.image_dirs), "%s/images", dir);
	request_set(&r, REQ_DISK, in_dir("%s/data.img,ro"), "SLURMVM_DISK");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "outside the site's image directories"),
	   "and to image_dirs: %s", err);
	request_clear(&r);
	request_set(&r, REQ_DISK, in_dir("%s/images/in.qcow2"), "SLURMVM_DISK");
	ok(request_check_policy(&r, &site, err, 1024) == 0,
	   "a disk inside passes on the node too");
	request_clear(&r);
	site.image_dirs[0] = 0;
	site.max_mem = 0;
}

int main(void)
{
	char err[1024], sub[300];
	struct request r = {0};

	if (!mkdtemp(dir))
		return 1;
	touch("disk.qcow2", "QFI\xfb....");
	touch("vmlinux", "ELF");
	touch("empty.img", "");
	snprintf(sub, sizeof(sub), "%s/adir", dir);
	mkdir(sub, 0755);
	touch("data.img", "raw data");
	snprintf(sub, sizeof(sub), "%s/images", dir);
	mkdir(sub, 0755);
	touch("images/in.qcow2", "QFI\xfb....");
	touch("images/vmlinux", "ELF");
	site_parse(0, NULL, &site, err, sizeof(err));

	ok(check(err, 1, REQ_IMAGE, "disk.qcow2") == 0,
	   "a relative image is fine");
	request_set(&r, REQ_IMAGE, "disk.qcow2", NULL);
	request_validate(&r, &site, dir, err, sizeof(err));
	ok(r.value[REQ_IMAGE] && r.value[REQ_IMAGE][0] == '/' &&
	       strstr(r.value[REQ_IMAGE], dir),
	   "a relative path is made absolute against the cwd: %s",
	   r.value[REQ_IMAGE]);
	request_clear(&r);
	ok(check(err, 1, REQ_IMAGE, "nope.qcow2") < 0 &&
	       strstr(err, "--vm-image=nope.qcow2") &&
	       strstr(err, "No such file"),
	   "a missing image names option and value: %s", err);
	ok(check(err, 1, REQ_IMAGE, "adir") < 0 && strstr(err, "directory"),
	   "a directory is refused: %s", err);
	ok(check(err, 1, REQ_IMAGE, "empty.img") < 0 && strstr(err, "empty"),
	   "an empty image is refused: %s", err);
	ok(check(err, 1, REQ_KERNEL, "nokernel") < 0 &&
	       strstr(err, "--vm-kernel=nokernel"),
	   "a missing kernel is refused: %s", err);
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_INITRD, "vmlinux") < 0 &&
	       strstr(err, "--vm-initrd needs --vm-kernel"),
	   "--vm-initrd without --vm-kernel is refused: %s", err);
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_APPEND, "quiet") < 0 &&
	       strstr(err, "--vm-append needs --vm-kernel"),
	   "--vm-append without --vm-kernel is refused: %s", err);
	ok(check(err, 1, REQ_MEM, "1024") < 0 && strstr(err, "nothing to boot"),
	   "neither image nor kernel is refused: %s", err);
	ok(check(err, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "abc") < 0 &&
	       strstr(err, "--vm-mem=abc"),
	   "non-numeric --vm-mem is refused: %s", err);
	ok(check(err, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "-5") < 0,
	   "negative --vm-mem is refused");
	ok(check(err, 2, REQ_KERNEL, "vmlinux", REQ_MEM, "0") < 0,
	   "zero --vm-mem is refused");
	ok(check(err, 2, REQ_KERNEL, "vmlinux", REQ_CPUS, "0") < 0 &&
	       strstr(err, "--vm-cpus=0"),
	   "zero --vm-cpus is refused: %s", err);
	ok(check(err, 2, REQ_KERNEL, "vmlinux", REQ_CPUS, "two") < 0,
	   "non-numeric --vm-cpus is refused");
	ok(check(err, 3, REQ_KERNEL, "vmlinux", REQ_MEM, "256", REQ_CPUS,
		 "2") == 0,
	   "a kernel with memory and vCPUs is fine");
	snprintf(site.default_kernel, sizeof(site.default_kernel), "%s/vmlinux",
		 dir);
	ok(check(err, 1, REQ_MEM, "1024") == 0,
	   "the site's default kernel fills in");
	snprintf(site.default_kernel, sizeof(site.default_kernel), "%s/gone",
		 dir);
	ok(check(err, 1, REQ_MEM, "1024") < 0 &&
	       strstr(err, "plugstack.conf default_kernel"),
	   "a broken site default names the plugstack key: %s", err);
	site_parse(0, NULL, &site, err, sizeof(err));
	test_specs(err);
	test_disks(err);
	test_cloud_init(err);
	test_policy(err);
	test_resolve(err);
	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	if (system(sub) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
