/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seed disk, in order: gather the inputs (the user's ssh keys and
 * --vm-cloud-init user-data, the agent), write meta-data and user-data
 * into the run directory, make a FAT image of the right size labelled
 * cidata and copy the three files onto it. mkfs.vfat and mcopy write a
 * plain file: no mount, no root.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/file_tail.h"
#include "launcher/common/io.h"
#include "launcher/boot/seed.h"
#include "launcher/boot/seed_text.h"
#include "launcher/boot/tool.h"

#define KEYS_MAX (64 * 1024)		/* all of ~/.ssh/NAME.pub */
#define USER_DATA_MAX (4 * 1024 * 1024) /* --vm-cloud-init user-data */

/*
 * Appends path, a regular file, to *buf (malloc'd, grown, NUL terminated) if
 * *len stays within max. Returns the bytes added, or -errno (-EFBIG when the
 * file does not fit).
 */
static ssize_t append_file(const char *path, char **buf, size_t *len,
			   size_t max)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char *text, *bigger;
	size_t n;
	int rc;

	if (fd < 0)
		return -errno;
	rc = read_regular(fd, max - *len, &text, &n);
	close(fd);
	if (rc < 0)
		return rc;
	bigger = realloc(*buf, *len + n + 2);
	if (!bigger) {
		free(text);
		return -ENOMEM;
	}
	*buf = bigger;
	memcpy(*buf + *len, text, n + 1);
	*len += n;
	free(text);
	return (ssize_t)n;
}

/* The user's public keys, one a line; NULL when there are none. */
static char *ssh_keys(void)
{
	struct passwd *pw = getpwuid(getuid());
	char pattern[PATH_MAX];
	char *keys = NULL;
	size_t len = 0, i;
	glob_t g;

	if (!pw || !pw->pw_dir)
		return NULL;
	snprintf(pattern, sizeof(pattern), "%s/.ssh/*.pub", pw->pw_dir);
	if (glob(pattern, 0, NULL, &g) != 0)
		return NULL;
	for (i = 0; i < g.gl_pathc; i++) {
		/* A key file that cannot be read is no key to give. */
		if (append_file(g.gl_pathv[i], &keys, &len, KEYS_MAX) > 0 &&
		    keys[len - 1] != '\n') {
			keys[len++] = '\n';
			keys[len] = 0;
		}
	}
	globfree(&g);
	return keys;
}

/* The static agent: as configured, else beside the launcher (a build
 * tree), else installed. */
static int agent_path(const struct launch_config *c, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (c->agent) {
		snprintf(buf, len, "%s", c->agent);
		return access(buf, R_OK) == 0 ? 0 : -ENOENT;
	}
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(buf, len, "%.*s/" SEED_AGENT_FILE,
				 (int)(slash - self), self);
			if (access(buf, R_OK) == 0)
				return 0;
		}
	}
	snprintf(buf, len, "%s", SLURM_VM_AGENT_PATH);
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

static int write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = 0;
	size_t done = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (done < len && (n = write(fd, text + done, len - done)) > 0)
		done += (size_t)n;
	if (done < len)
		rc = n < 0 ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* With the outside network: dir/network-config, its size in *bytes. */
static int write_network_config(const struct seed_info *s, const char *dir,
				size_t *bytes)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc = seed_network_config(s, &text, &len);

	if (!rc) {
		snprintf(path, sizeof(path), "%s/network-config", dir);
		rc = write_text(path, text, len);
		*bytes = len;
	}
	free(text);
	return rc;
}

/* Writes dir/meta-data and dir/user-data (and network-config); their total
 * size in *bytes. */
static int write_seed_text(const struct launch_config *c, const char *dir,
			   size_t *bytes, char *err, size_t errlen)
{
	struct seed_info s = {.job_id = c->job_id,
			      .step_id = c->step_id,
			      .rank = c->rank,
			      .nranks = c->nranks};
	char path[PATH_MAX], *meta = NULL, *user = NULL, *data = NULL;
	size_t meta_len = 0, user_len = 0, data_len = 0, net_len = 0;
	ssize_t n;
	int rc;

	if (c->cloud_init) {
		snprintf(path, sizeof(path), "%s/user-data", c->cloud_init);
		n = append_file(path, &data, &data_len, USER_DATA_MAX);
		if (n < 0) {
			snprintf(err, errlen,
				 "--vm-cloud-init: cannot read %s: %s%s", path,
				 strerror((int)-n),
				 n == -EFBIG ? " (at most 4 MiB)" : "");
			free(data);
			return (int)n;
		}
		s.user_data = data ? data : "";
		s.user_data_len = data_len;
	}
	s.ssh_keys = ssh_keys();
	rc = seed_meta_data(&s, &meta, &meta_len);
	if (!rc)
		rc = seed_user_data(&s, &user, &user_len);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/meta-data", dir);
		rc = write_text(path, meta, meta_len);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/user-data", dir);
		rc = write_text(path, user, user_len);
	}
	if (!rc && c->egress)
		rc = write_network_config(&s, dir, &net_len);
	if (rc)
		snprintf(err, errlen,
			 "cannot write the cloud-init seed in %s: %s", dir,
			 strerror(-rc));
	*bytes = meta_len + user_len + net_len;
	free((char *)s.ssh_keys);
	free(data);
	free(meta);
	free(user);
	return rc;
}

int seed_create(const struct launch_config *c, const char *dir, const char *log,
		char *file, size_t filelen, char *err, size_t errlen)
{
	char agent[PATH_MAX], meta[PATH_MAX], user[PATH_MAX], kib[32];
	char *mkfs[] = {"mkfs.vfat", "-C", "-n", SEED_LABEL, file, kib, NULL};
	char net[PATH_MAX];
	char *mcopy[] = {"mcopy", "-i", file, meta, user, "::/", NULL, NULL};
	char *mcopy_agent[] = {
	    "mcopy", "-i", file, agent, "::/" SEED_AGENT_FILE, NULL};
	char tail[1024] = "";
	struct stat st;
	size_t bytes = 0;
	int rc;

	if (agent_path(c, agent, sizeof(agent)) < 0 || stat(agent, &st) < 0) {
		snprintf(err, errlen,
			 "no guest agent for the cloud-init seed at %s%s: "
			 "reinstall slurm-vm",
			 c->agent ? c->agent : SLURM_VM_AGENT_PATH,
			 c->agent ? "" : " nor beside the launcher");
		return -ENOENT;
	}
	rc = write_seed_text(c, dir, &bytes, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(file, filelen, "%s/seed.img", dir);
	snprintf(meta, sizeof(meta), "%s/meta-data", dir);
	snprintf(user, sizeof(user), "%s/user-data", dir);
	if (c->egress) {
		snprintf(net, sizeof(net), "%s/network-config", dir);
		mcopy[5] = net;
		mcopy[6] = "::/";
	}
	/* The files, a tenth more for clusters and the FAT, and room for
	 * the boot sector and directories. */
	bytes += (size_t)st.st_size;
	snprintf(kib, sizeof(kib), "%zu", (bytes + bytes / 10) / 1024 + 256);
	if (tool_run(mkfs, log, NULL) != 0) {
		file_tail(log, 3, tail, sizeof(tail));
		snprintf(err, errlen,
			 "cannot make the cloud-init seed with mkfs.vfat "
			 "(Debian package dosfstools):\n%s",
			 tail);
		return -EIO;
	}
	if (tool_run(mcopy, log, NULL) != 0 ||
	    tool_run(mcopy_agent, log, NULL) != 0) {
		file_tail(log, 3, tail, sizeof(tail));
		snprintf(err, errlen,
			 "cannot fill the cloud-init seed with mcopy (Debian "
			 "package mtools):\n%s",
			 tail);
		return -EIO;
	}
	return 0;
}
