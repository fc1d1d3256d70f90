/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's disks, in the order QEMU gets them:
 *
 *  1. the image's overlay: a fresh qcow2 in the run directory whose backing
 *     file is the image, or with --vm-disk-persist the rank's kept overlay
 *     DIR/n%04d.qcow2, made on first use and checked to be over the same
 *     image when used again;
 *  2. each --vm-disk: an overlay in the run directory as for the image, or
 *     with ",ro" the base itself, attached read-only;
 *  3. with an image, the NoCloud seed (seed.c), read-only and last, so
 *     the --vm-disk drives keep their names (vdb, vdc, ...).
 *
 * Overlays are made with qemu-img, in constant time whatever the base's
 * size; a base is never written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "launcher/common/clock.h"
#include "launcher/boot/disk.h"
#include "launcher/snapdir/snapdir.h"
#include "launcher/boot/seed.h"
#include "launcher/boot/tool.h"
#include "launcher/common/file_tail.h"
#include "launcher/boot/vm.h"

void disk_qemu_img(const char *qemu, char *buf, size_t len)
{
	const char *slash = strrchr(qemu, '/');

	if (slash) {
		snprintf(buf, len, "%.*s/qemu-img", (int)(slash - qemu), qemu);
		if (access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "qemu-img");
}

/* The base image's format from its first bytes: qcow2 or raw. */
static const char *image_format(const char *path)
{
	unsigned char magic[4] = {0};
	/* Non-blocking: a FIFO in the image's place reads as nothing. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0) {
		if (read(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic))
			magic[0] = 0;
		close(fd);
	}
	return memcmp(magic, "QFI\xfb", 4) ? "raw" : "qcow2";
}

/* Creates file, a qcow2 overlay whose backing file is base. */
static int overlay_create(const struct vm *vm, const struct launch_config *c,
			  const char *base, const char *file, char *err,
			  size_t errlen)
{
	char tool[4200];
	char *argv[] = {tool,
			"create",
			"-q",
			"-f",
			"qcow2",
			"-F",
			(char *)image_format(base),
			"-b",
			(char *)base,
			(char *)file,
			NULL};
	char tail[1024] = "", log[4200];

	disk_qemu_img(c->qemu, tool, sizeof(tool));
	vm_path(vm, VM_QEMU_LOG, log, sizeof(log));
	if (tool_run(argv, log, NULL) == 0)
		return 0;
	file_tail(log, 5, tail, sizeof(tail));
	snprintf(err, errlen,
		 "cannot create the disk overlay on %s with %s:\n%s", base,
		 tool, tail);
	return -EIO;
}

/*
 * The image a kept overlay was made over, from qemu-img's JSON, into buf.
 * -U: another job using the overlay does not stop us from reading it;
 * starting QEMU on it will.
 */
static int overlay_backing(const struct vm *vm, const struct launch_config *c,
			   const char *overlay, char *buf, size_t len)
{
	char tool[4200], info[4200], log[4200];
	char *argv[] = {tool, "info", "-U", "--output=json", (char *)overlay,
			NULL};
	json_t *root, *backing;
	int rc = -EIO;

	disk_qemu_img(c->qemu, tool, sizeof(tool));
	vm_path(vm, "persist-info.json", info, sizeof(info));
	vm_path(vm, VM_QEMU_LOG, log, sizeof(log));
	if (tool_run(argv, log, info) != 0)
		return -EIO;
	root = json_load_file(info, 0, NULL);
	unlink(info);
	backing = json_object_get(root, "full-backing-filename");
	if (!backing)
		backing = json_object_get(root, "backing-filename");
	if (json_is_string(backing) &&
	    !strcmp(json_string_value(json_object_get(root, "format")) ?: "",
		    "qcow2")) {
		snprintf(buf, len, "%s", json_string_value(backing));
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/*
 * --vm-disk-persist: the rank's overlay is kept in DIR. It is made under a
 * temporary name and linked into place, so two jobs racing for the same
 * rank never truncate each other's disk.
 */
static int persist_overlay(struct vm *vm, const struct launch_config *c,
			   const char *overlay, char *err, size_t errlen)
{
	char tmp[4300], backing[4200], why[4400];
	int rc, fd;

	if (access(overlay, F_OK) != 0) {
		/* The temporary name is made first, O_EXCL (never a link or
		 * a file someone else put there); qemu-img writes into it. */
		snprintf(tmp, sizeof(tmp), "%s/.n%04lu.qcow2.%ld.%lx",
			 c->persist, c->rank, (long)getpid(),
			 (unsigned long)now_ms());
		fd = safe_create_path(tmp, O_WRONLY, 0600, 0, why, sizeof(why));
		if (fd < 0) {
			snprintf(err, errlen, "--vm-disk-persist=%s: %s",
				 c->persist, why);
			return fd;
		}
		close(fd);
		rc = overlay_create(vm, c, c->image, tmp, err, errlen);
		if (rc == 0 && link(tmp, overlay) < 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen,
				 "cannot keep the disk as %s: %s (give "
				 "--vm-disk-persist a directory you can write "
				 "to)",
				 overlay, strerror(errno));
		}
		unlink(tmp);
		if (rc < 0)
			return rc;
	}
	/* DIR may be shared: the kept disk must be the user's own regular
	 * file (another user's would be their content in this guest). */
	fd = safe_open_path(overlay, 0, NULL, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "--vm-disk-persist=%s: %s", c->persist,
			 why);
		return fd;
	}
	close(fd);
	if (overlay_backing(vm, c, overlay, backing, sizeof(backing)) < 0) {
		snprintf(err, errlen,
			 "%s is not a qcow2 overlay qemu-img can read; remove "
			 "it to start this rank's disk afresh",
			 overlay);
		return -EINVAL;
	}
	if (strcmp(backing, c->image)) {
		snprintf(err, errlen,
			 "%s is kept over %s, not over --vm-image=%s; give "
			 "that image again, or remove the file to start this "
			 "rank's disk afresh",
			 overlay, backing, c->image);
		return -EINVAL;
	}
	return 0;
}

/* Adds the next drive: file (copied), in format. */
static struct plan_disk *add_drive(struct vm *vm, const char *file,
				   const char *format, char *err, size_t errlen)
{
	struct plan_disk *d = &vm->drive[vm->ndrives];

	memset(d, 0, sizeof(*d));
	if (!(d->file = strdup(file))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->format = format;
	vm->ndrives++;
	return d;
}

static int boot_disk(struct vm *vm, const struct launch_config *c, char *err,
		     size_t errlen)
{
	struct plan_disk *d;
	char file[4200];
	int rc;

	if (c->persist) {
		snprintf(file, sizeof(file), "%s/n%04lu.qcow2", c->persist,
			 c->rank);
		rc = persist_overlay(vm, c, file, err, errlen);
	} else {
		vm_path(vm, "disk.qcow2", file, sizeof(file));
		rc = overlay_create(vm, c, c->image, file, err, errlen);
	}
	if (rc < 0)
		return rc;
	if (!(d = add_drive(vm, file, "qcow2", err, errlen)))
		return -ENOMEM;
	d->keep = c->persist != NULL;
	return 0;
}

/* One --vm-disk line: PATH (an overlay over it) or PATH,ro (itself). */
static int extra_disk(struct vm *vm, const struct launch_config *c,
		      const char *line, size_t len, size_t i, char *err,
		      size_t errlen)
{
	char base[4200], file[4200];
	int ro = len > 3 && !strncmp(line + len - 3, ",ro", 3);
	struct plan_disk *d;

	if (ro)
		len -= 3;
	if (len == 0 || len >= sizeof(base)) {
		snprintf(err, errlen, "SLURMVM_DISK line %zu: no usable path",
			 i + 1);
		return -EINVAL;
	}
	snprintf(base, sizeof(base), "%.*s", (int)len, line);
	if (ro) {
		if (!(d = add_drive(vm, base, image_format(base), err, errlen)))
			return -ENOMEM;
		d->readonly = 1;
		return 0;
	}
	snprintf(file, sizeof(file), "%s/disk%zu.qcow2", vm->dir, i + 1);
	if (overlay_create(vm, c, base, file, err, errlen) < 0)
		return -EIO;
	return add_drive(vm, file, "qcow2", err, errlen) ? 0 : -ENOMEM;
}

/* The cloud-init seed: a stock cloud image finds its agent there. */
static int seed_disk(struct vm *vm, const struct launch_config *c, char *err,
		     size_t errlen)
{
	char file[4200], log[4200];
	struct plan_disk *d;
	int rc;

	vm_path(vm, VM_QEMU_LOG, log, sizeof(log));
	rc = seed_create(c, vm->dir, log, file, sizeof(file), err, errlen);
	if (rc < 0)
		return rc;
	if (!(d = add_drive(vm, file, "raw", err, errlen)))
		return -ENOMEM;
	d->readonly = 1;
	return 0;
}

int disk_prepare(struct vm *vm, const struct launch_config *c, char *err,
		 size_t errlen)
{
	const char *p = c->disks;
	size_t i = 0;
	int rc;

	if (c->image && (rc = boot_disk(vm, c, err, errlen)) < 0)
		return rc;
	while (p && *p) {
		size_t n = strcspn(p, "\n");

		if (n && i == VM_MAX_DISKS) {
			snprintf(err, errlen,
				 "more than %d --vm-disk drives; attach at "
				 "most %d",
				 VM_MAX_DISKS, VM_MAX_DISKS);
			return -E2BIG;
		}
		if (n && (rc = extra_disk(vm, c, p, n, i++, err, errlen)) < 0)
			return rc;
		p += n + (p[n] == '\n');
	}
	if (c->image)
		return seed_disk(vm, c, err, errlen);
	return 0;
}
