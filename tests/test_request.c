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
#include <time.h>
#include <unistd.h>

#include "launcher/snapdir/manifest.h"
#include "spank/request.h"
#include "launcher/snapdir/snapdir.h"
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

/* --vm-pmi: pmi1 or none; anything else is refused, naming both. */
static void test_pmi(char *err)
{
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_PMI, "pmi1") == 0,
	   "--vm-pmi=pmi1 is taken");
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_PMI, "none") == 0,
	   "--vm-pmi=none is taken");
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_PMI, "pmix") < 0 &&
	       strstr(err, "--vm-pmi=pmix: give pmi1") &&
	       strstr(err, "or none"),
	   "--vm-pmi=pmix is refused, naming the choices: %s", err);
}

/* --vm-egress: as the site allows, for guests that are not saved. */
static void test_egress(char *err)
{
	struct request r = {0};

	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_EGRESS, "nat") < 0 &&
	       strstr(err, "--vm-egress=nat: this site gives guests no "
			   "outside network (plugstack.conf: egress=none") &&
	       strstr(err, "ask the site for egress=nat"),
	   "nat where the site says none (the default) is refused, naming "
	   "the setting: %s",
	   err);
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_EGRESS, "none") == 0,
	   "none is always taken");
	strcpy(site.egress, "nat");
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_EGRESS, "nat") == 0,
	   "nat where the site allows it");
	ok(check(err, 2, REQ_IMAGE, "disk.qcow2", REQ_EGRESS, "open") < 0 &&
	       strstr(err, "--vm-egress=open: give nat") &&
	       strstr(err, "or none"),
	   "an unknown value is refused, naming the choices: %s", err);
	ok(check(err, 2, REQ_EXEC, "endpoint", REQ_EGRESS, "nat") < 0 &&
	       strstr(err, "endpoint runs no guest"),
	   "nat with --vm-exec=endpoint is refused: %s", err);
	ok(check(err, 3, REQ_IMAGE, "disk.qcow2", REQ_SNAPSHOT, "adir",
		 REQ_EGRESS, "nat") < 0 &&
	       strstr(err, "a snapshot cannot carry the NAT's connections"),
	   "nat with --vm-snapshot is refused: %s", err);
	request_set(&r, REQ_IMAGE, "disk.qcow2", NULL);
	ok(request_egress(&r, &site),
	   "the site's nat is every guest's default");
	request_set(&r, REQ_EGRESS, "none", NULL);
	ok(!request_egress(&r, &site), "unless the job says none");
	request_set(&r, REQ_EGRESS, "nat", NULL);
	request_set(&r, REQ_SNAPSHOT, "/s", NULL);
	ok(!request_egress(&r, &site), "a saved step gets none");
	request_clear(&r);
	strcpy(site.egress, "none");
	request_set(&r, REQ_IMAGE, "disk.qcow2", NULL);
	request_set(&r, REQ_EGRESS, "nat", NULL);
	ok(!request_egress(&r, &site),
	   "and where the site says none, a job's nat (its environment, "
	   "unchecked) gets none");
	request_clear(&r);
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
	request_set(&r, REQ_IMAGE, in_dir("%s/images/not-yet.qcow2"),
		    "SLURMVM_IMAGE");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_IMAGE") &&
	       strstr(err, "cannot be resolved (No such file"),
	   "a path that does not resolve (yet) is refused on the node: %s",
	   err);
	request_clear(&r);
	site.image_dirs[0] = 0;
	site.max_mem = 0;
}

static void test_snapshot_verbs(char *err)
{
	struct request r = {0};

	request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	request_set(&r, REQ_SNAPSHOT, "adir", NULL);
	request_set(&r, REQ_FABRIC, "verbs", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "snapshots need --vm-fabric=auto or tcp"),
	   "snapshots over the verbs transport are refused: %s", err);
	request_clear(&r);
	request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	request_set(&r, REQ_SNAPSHOT, "adir", NULL);
	request_set(&r, REQ_DISK, "images/in.qcow2", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "--vm-disk are not saved in a snapshot") &&
	       strstr(err, "drop --vm-disk"),
	   "snapshots of guests with --vm-disk drives are refused: %s", err);
	request_clear(&r);
}

static void test_console(char *err)
{
	struct request r = {0};
	char want[400];

	request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	request_set(&r, REQ_CONSOLE, "adir/console.%j.%t.log", NULL);
	snprintf(want, sizeof(want), "%s/adir/console.%%j.%%t.log", dir);
	ok(request_validate(&r, &site, dir, err, 1024) == 0 &&
	       !strcmp(r.value[REQ_CONSOLE], want),
	   "a console pattern is taken and made absolute: %s",
	   r.value[REQ_CONSOLE]);
	request_set(&r, REQ_CONSOLE, "console.%x.log", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "unknown field %x") && strstr(err, "%t (rank)"),
	   "an unknown field is refused, the known ones named: %s", err);
	request_set(&r, REQ_CONSOLE, "console.%", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0,
	   "a lone %% at the end is refused");
	request_set(&r, REQ_CONSOLE, "nodir/console.log", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "nodir is not a directory you can write to"),
	   "a missing directory is refused: %s", err);
	request_set(&r, REQ_CONSOLE, "logs.%j/console.log", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) == 0,
	   "a directory with fields is left to the user");
	request_set(&r, REQ_CONSOLE, "adir/", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "file name pattern"),
	   "a directory alone is refused: %s", err);
	request_clear(&r);
}

/* --vm-snapshot and the options that refine it. */
static void test_snapshot(char *err)
{
	is_str(checked(err, REQ_SNAPSHOT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir"),
	       in_dir("%s/adir"), "--vm-snapshot takes a directory, absolute");
	is_str(checked(err, REQ_SNAPSHOT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "nodir"),
	       "(refused)", "a missing snapshot directory is refused");
	ok(strstr(err, "--vm-snapshot=nodir: not a directory you can write "
		       "to; give an existing directory"),
	   "%s", err);
	is_str(checked(err, REQ_SNAPSHOT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "disk.qcow2"),
	       "(refused)", "a file as snapshot directory is refused");
	is_str(checked(err, REQ_SNAPSHOT, 1, REQ_SNAPSHOT, "adir"), "(refused)",
	       "--vm-snapshot still needs something to boot");
	ok(strstr(err, "nothing to boot"), "%s", err);
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "USR2"),
	       "12", "USR2 is stored as its number");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "SIGUSR1"),
	       "10", "SIGUSR1 too");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "usr1"),
	       "10", "in any case");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "12"),
	       "12", "a number is taken");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "35"),
	       "35", "a real-time signal is taken");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir"),
	       "(unset)", "no signal given: the launcher's default (USR1)");
	{
		static const char *const reserved[] = {
		    "TERM", "KILL",    "INT", "HUP",  "CHLD", "STOP",
		    "CONT", "SIGTERM", "9",   "SEGV", "15"};
		size_t i;

		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL,
				       "vmlinux", REQ_SNAPSHOT, "adir",
				       REQ_SNAPSHOT_SIGNAL, reserved[i]),
			       "(refused)", "signal %s is refused",
			       reserved[i]);
			ok(strstr(err, "is Slurm's or the launcher's own") &&
			       strstr(err, "choose USR1"),
			   "and the message says why and what to use: %s", err);
		}
	}
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "FOO"),
	       "(refused)", "an unknown signal is refused");
	ok(strstr(err, "--vm-snapshot-signal=FOO: not a signal"), "%s", err);
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "65"),
	       "(refused)", "signal 65 is refused");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_SIGNAL, "0"),
	       "(refused)", "signal 0 is refused");
	is_str(checked(err, REQ_SNAPSHOT_THEN, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_THEN, "stop"),
	       "stop", "--vm-snapshot-then=stop is taken");
	is_str(checked(err, REQ_SNAPSHOT_THEN, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_THEN, "continue"),
	       "continue", "and continue");
	is_str(checked(err, REQ_SNAPSHOT_THEN, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_THEN, "halt"),
	       "(refused)", "anything else is refused");
	ok(strstr(err, "--vm-snapshot-then=halt: give continue") &&
	       strstr(err, "or stop"),
	   "%s", err);
	is_str(checked(err, REQ_SNAPSHOT_AT, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "end"),
	       "end", "--vm-snapshot-at=end is taken");
	is_str(checked(err, REQ_SNAPSHOT_AT, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "start"),
	       "(refused)", "--vm-snapshot-at=start is refused");
	ok(strstr(err, "--vm-snapshot-at=start: give signal") &&
	       strstr(err, "end (") && strstr(err, "ready (") &&
	       strstr(err, "or fail ("),
	   "%s", err);
	is_str(checked(err, REQ_SNAPSHOT_AT, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "fail"),
	       "fail", "--vm-snapshot-at=fail is taken");
	is_str(checked(err, REQ_SNAPSHOT_AT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT_AT, "fail"),
	       "(refused)",
	       "--vm-snapshot-at=fail without --vm-snapshot is refused");
	ok(strstr(err, "give --vm-snapshot=DIR too"), "naming the fix: %s",
	   err);
	is_str(checked(err, REQ_SNAPSHOT_AT, 4, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "fail", REQ_EXEC,
		       "host"),
	       "(refused)",
	       "--vm-snapshot-at=fail with --vm-exec=host is refused");
	ok(strstr(err, "--vm-snapshot-at=fail saves the guests when a command "
		       "in one fails; with --vm-exec=host the command runs on "
		       "the node: drop --vm-snapshot-at"),
	   "saying why: %s", err);
	is_str(checked(err, REQ_SNAPSHOT_AT, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "ready"),
	       "ready", "--vm-snapshot-at=ready is taken");
	is_str(checked(err, REQ_SNAPSHOT_AT, 3, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT, "adir", REQ_SNAPSHOT_AT, "READY"),
	       "(refused)", "--vm-snapshot-at=READY is refused (one spelling)");
	is_str(checked(err, REQ_SNAPSHOT_AT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT_AT, "ready"),
	       "(refused)",
	       "--vm-snapshot-at=ready without --vm-snapshot is refused");
	ok(strstr(err, "--vm-snapshot-at refines --vm-snapshot: give "
		       "--vm-snapshot=DIR too"),
	   "naming the fix: %s", err);
	is_str(checked(err, REQ_SNAPSHOT_AT, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT_AT, "end"),
	       "(refused)",
	       "--vm-snapshot-at without --vm-snapshot is refused");
	ok(strstr(err, "--vm-snapshot-at refines --vm-snapshot: give "
		       "--vm-snapshot=DIR too"),
	   "%s", err);
	is_str(checked(err, REQ_SNAPSHOT_THEN, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT_THEN, "stop"),
	       "(refused)", "so is --vm-snapshot-then");
	is_str(checked(err, REQ_SNAPSHOT_SIGNAL, 2, REQ_KERNEL, "vmlinux",
		       REQ_SNAPSHOT_SIGNAL, "USR1"),
	       "(refused)", "and --vm-snapshot-signal");
	ok(strstr(err, "--vm-snapshot-signal refines --vm-snapshot"), "%s",
	   err);
	is_str(checked(err, REQ_SNAPSHOT, 2, REQ_EXEC, "endpoint", REQ_SNAPSHOT,
		       "adir"),
	       "(refused)", "an endpoint step has no guest to save");
	ok(strstr(err, "--vm-exec=endpoint runs no guest") &&
	       strstr(err, "drop --vm-snapshot"),
	   "%s", err);
}

/* A snapshot of ntasks ranks booted from the test kernel, in DIR/sub. */
static void make_snapshot(const char *sub, uint32_t ntasks)
{
	char parent[600], partial[700], final[64], err[1024];
	struct snap_manifest m = {0};
	uint32_t i;

	snprintf(parent, sizeof(parent), "%s/%s", dir, sub);
	mkdir(parent, 0755);
	snprintf(partial, sizeof(partial), "%s/.partial.9.0.%u", parent,
		 ntasks);
	mkdir(partial, 0755);
	m.job = 9;
	m.ntasks = ntasks;
	m.seq = ntasks;
	snprintf(m.cut_time, sizeof(m.cut_time), "2026-11-22T10:00:00Z");
	snprintf(m.qemu_version, sizeof(m.qemu_version), "8.2.2");
	m.ranks = calloc(ntasks, sizeof(*m.ranks));
	for (i = 0; m.ranks && i < ntasks; i++) {
		struct snap_rank *r = &m.ranks[i];

		r->rank = i;
		snprintf(r->node, sizeof(r->node), "n1");
		snap_ident_of(in_dir("%s/vmlinux"), &r->kernel);
		if (i == 1)
			snap_ident_of(in_dir("%s/images/in.qcow2"), &r->image);
		r->mem_mb = 256 * (i + 1);
		r->cpus = 1;
		snap_file_name(i, SNAP_VMSTATE, r->vmstate.name, 64);
		snap_file_name(i, SNAP_FRAMES, r->frames.name, 64);
		snap_file_name(i, SNAP_AGENT, r->agent.name, 64);
		snap_file_name(i, SNAP_MEMORY, r->memory.name, 64);
		r->memory.size = (uint64_t)r->mem_mb << 20;
		memset(r->memory.sha256, 'd', 64);
		memset(r->vmstate.sha256, 'a', 64);
		memset(r->frames.sha256, 'b', 64);
		memset(r->agent.sha256, 'c', 64);
	}
	if (manifest_write(partial, &m, err, sizeof(err)) < 0)
		ok(0, "manifest_write: %s", err);
	snprintf(final, sizeof(final), "snap.9.0.%u", ntasks);
	snprintf(partial, sizeof(partial), ".partial.9.0.%u", ntasks);
	if (snap_publish(parent, partial, final, err, sizeof(err)) < 0)
		ok(0, "snap_publish: %s", err);
	manifest_free(&m);
}

/* --vm-restore: the snapshot read at submit time, and on the node. */
static void test_restore(char *err)
{
	struct request r = {0};
	struct timespec ts[2];
	char want[700];

	make_snapshot("snaps", 3);
	snprintf(want, sizeof(want), "%s/snaps/snap.9.0.3", dir);
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps"), want,
	       "--vm-restore=DIR resolves to its latest snapshot");
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps/snap.9.0.3"),
	       want, "a snapshot itself is taken too");
	request_set(&r, REQ_RESTORE, "snaps", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) == 0 &&
	       r.restore_ntasks == 3 && r.restore_dir &&
	       !strcmp(r.restore_dir, in_dir("%s/snaps")),
	   "the task count and the directory as given are kept");
	ok(request_check_tasks(&r, 3, err, 1024) == 0,
	   "a step of 3 tasks restores a 3-task snapshot");
	ok(request_check_tasks(&r, 0, err, 1024) == 0,
	   "an unknown task count is not refused");
	ok(request_check_tasks(&r, 2, err, 1024) == -EINVAL, "2 tasks are "
							     "refused");
	snprintf(want, sizeof(want),
		 "--vm-restore=%s/snaps: the snapshot has 3 tasks, this step "
		 "has 2; run with -n3",
		 dir);
	is_str(err, want, "the message gives both counts and the fix");
	request_clear(&r);

	/* On the node, from the job's environment. */
	request_set(&r, REQ_RESTORE, in_dir("%s/snaps/snap.9.0.3"),
		    "SLURMVM_RESTORE");
	ok(request_check_restore(&r, &site, 3, err, 1024) == 0,
	   "the node checks it again: %s", err);
	ok(request_check_restore(&r, &site, 4, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_RESTORE=") &&
	       strstr(err, "the snapshot has 3 tasks, this step has 4; run "
			   "with -n3"),
	   "and refuses another task count: %s", err);
	request_clear(&r);
	ok(request_check_restore(&r, &site, 4, err, 1024) == 0,
	   "without --vm-restore there is nothing to check");

	/* What it must not be given with. */
	is_str(checked(err, REQ_RESTORE, 2, REQ_RESTORE, "snaps", REQ_IMAGE,
		       "disk.qcow2"),
	       "(refused)", "--vm-image with --vm-restore is refused");
	ok(strstr(err,
		  "--vm-image comes from the snapshot with --vm-restore") &&
	       strstr(err, "drop --vm-image"),
	   "%s", err);
	is_str(
	    checked(err, REQ_RESTORE, 2, REQ_RESTORE, "snaps", REQ_MEM, "512"),
	    "(refused)", "--vm-mem with --vm-restore is refused");
	is_str(checked(err, REQ_RESTORE, 2, REQ_RESTORE, "snaps", REQ_KERNEL,
		       "vmlinux"),
	       "(refused)", "--vm-kernel too");
	is_str(checked(err, REQ_RESTORE, 2, REQ_RESTORE, "snaps", REQ_EXEC,
		       "endpoint"),
	       "(refused)", "and an endpoint step");
	snprintf(want, sizeof(want), "%s/snaps/snap.9.0.3", dir);
	is_str(checked(err, REQ_RESTORE, 3, REQ_RESTORE, "snaps", REQ_SNAPSHOT,
		       "snaps", REQ_FABRIC, "tcp"),
	       want, "a restore may save again, into the same directory");
	is_str(checked(err, REQ_RESTORE, 4, REQ_RESTORE, "snaps", REQ_SNAPSHOT,
		       "snaps", REQ_FABRIC, "tcp", REQ_SNAPSHOT_AT, "ready"),
	       "(refused)", "but not at ready: a restore boots nothing");
	ok(strstr(err, "--vm-snapshot-at=ready saves guests as they boot") &&
	       strstr(err, "restore the ready snapshot without "
			   "--vm-snapshot-at"),
	   "%s", err);
	snprintf(site.default_kernel, sizeof(site.default_kernel), "%s",
		 in_dir("%s/vmlinux"));
	is_str(checked(err, REQ_KERNEL, 1, REQ_RESTORE, "snaps"), "(unset)",
	       "the site's default kernel does not fill in for a restore");
	site.default_kernel[0] = 0;

	/* Not a snapshot. */
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "nodir"), "(refused)",
	       "a missing directory is refused");
	ok(strstr(err, "--vm-restore=nodir: not a directory"), "%s", err);
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "adir"), "(refused)",
	       "a directory without snapshots is refused");
	ok(strstr(err, "--vm-restore=adir: ") &&
	       strstr(err, "holds no complete snapshot"),
	   "%s", err);
	unlink(in_dir("%s/snaps/snap.9.0.3/manifest.json"));
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps"), "(refused)",
	       "a snapshot whose manifest is gone is refused");
	ok(strstr(err, "which has no manifest.json"), "%s", err);
	touch("snaps/snap.9.0.3/manifest.json", "{\"format\":\"x\"}");
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps"), "(refused)",
	       "a damaged manifest is refused");
	ok(strstr(err, "manifest.json: format is not slurm-vm-snapshot"), "%s",
	   err);

	/* The files the guests booted from. */
	make_snapshot("snaps2", 2);
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps2"),
	       in_dir("%s/snaps2/snap.9.0.2"), "a 2-task snapshot is taken");
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[1] = ts[0];
	ts[1].tv_sec += 5;
	utimensat(AT_FDCWD, in_dir("%s/images/in.qcow2"), ts, 0);
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps2"), "(refused)",
	       "a modified base image is refused");
	ok(strstr(err, "--vm-restore=snaps2: rank 1: image ") &&
	       strstr(err, "in.qcow2 changed since the snapshot"),
	   "the message names the rank and the image: %s", err);
	touch("images/in.qcow2", "QFI\xfb....");
	make_snapshot("snaps3", 2);
	snprintf(site.image_dirs, sizeof(site.image_dirs), "%s/images", dir);
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps3"), "(refused)",
	       "a snapshot's kernel outside image_dirs is refused");
	ok(strstr(err, "rank 0's kernel") &&
	       strstr(err, "outside the site's image directories"),
	   "%s", err);
	site.image_dirs[0] = 0;
	site.max_mem = 256;
	is_str(checked(err, REQ_RESTORE, 1, REQ_RESTORE, "snaps3"), "(refused)",
	       "a snapshot's memory above max_mem is refused");
	ok(strstr(err, "rank 1's memory") && strstr(err, "max_mem=256"), "%s",
	   err);
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
	test_pmi(err);
	test_egress(err);

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
	test_console(err);
	test_snapshot_verbs(err);
	test_snapshot(err);
	test_restore(err);
	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	if (system(sub) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
