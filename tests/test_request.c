/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of the user's --vm-* request, before any job exists. */
#include "config.h"

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
	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	if (system(sub) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
