/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest agent's side of agent_setup.h: mounts and the job's user. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/agent/agent_setup.h"

/* A decimal id below 2^32 - 1 (which is "no id") at *p, up to a stop
 * character in stops. */
static int take_id(const char **p, const char *stops, unsigned *out)
{
	unsigned long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s++ - '0');
		if (v >= 0xffffffffUL)
			return -EINVAL;
	}
	if (!*s || !strchr(stops, *s))
		return -EINVAL;
	*out = (unsigned)v;
	*p = s;
	return 0;
}

static int parse_user(const char *v, struct agent_setup *s)
{
	size_t n = strcspn(v, ":");
	unsigned id;

	if (!n || n >= sizeof(s->name) || v[n] != ':' || strchr(v, '\n'))
		return -EINVAL;
	memcpy(s->name, v, n);
	s->name[n] = 0;
	v += n + 1;
	if (take_id(&v, ":", &id) < 0)
		return -EINVAL;
	s->uid = id;
	v++;
	if (take_id(&v, ":", &id) < 0)
		return -EINVAL;
	s->gid = id;
	v++;
	while (*v != ':') {
		if (s->ngroups == AGENT_SETUP_MAX_GROUPS ||
		    take_id(&v, ",:", &id) < 0)
			return -EINVAL;
		s->groups[s->ngroups++] = id;
		v += *v == ',';
	}
	v++;
	if (v[0] != '/' || strlen(v) >= sizeof(s->home))
		return -EINVAL;
	strcpy(s->home, v);
	s->has_user = 1;
	return 0;
}

int agent_setup_take(char **env, struct agent_setup *s, char *err,
		     size_t errlen)
{
	size_t plen = strlen(AGENT_SETUP_PREFIX), i, j;
	size_t ulen = strlen(AGENT_SETUP_USER),
	       mlen = strlen(AGENT_SETUP_MOUNTS);

	memset(s, 0, sizeof(*s));
	for (i = j = 0; env[i]; i++) {
		const char *e = env[i];

		if (strncmp(e, AGENT_SETUP_PREFIX, plen)) {
			env[j++] = env[i];
			continue;
		}
		if (!strncmp(e, AGENT_SETUP_USER, ulen) && e[ulen] == '=') {
			if (parse_user(e + ulen + 1, s) < 0) {
				snprintf(err, errlen, "malformed %.200s", e);
				return -EINVAL;
			}
		} else if (!strncmp(e, AGENT_SETUP_MOUNTS, mlen) &&
			   e[mlen] == '=') {
			s->mounts = e + mlen + 1;
		}
	}
	env[j] = NULL;
	return 0;
}

/* mkdir -p, as root; existing directories are fine. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i])
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

static int mount_one(const char *tag, int ro, const char *dst, char *err,
		     size_t errlen)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0);
	int r = make_dirs(dst);

	if (r < 0) {
		snprintf(err, errlen, "cannot create %s in the guest: %s", dst,
			 strerror(-r));
		return -1;
	}
	/* 512 KiB messages where the guest kernel takes them. */
	if (mount(tag, dst, "9p", flags,
		  "trans=virtio,version=9p2000.L,msize=524288") < 0 &&
	    mount(tag, dst, "9p", flags, "trans=virtio,version=9p2000.L") < 0) {
		int e = errno;

		snprintf(err, errlen,
			 "cannot mount the host directory for %s in the guest "
			 "(9p share %s): %s; the guest kernel needs the 9p and "
			 "9pnet_virtio modules",
			 dst, tag, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * Mounts each line of list. Returns 0, -1 with the reason in err, or 1
 * when the guest kernel has no 9p file system at all (the first mount
 * fails with ENODEV: a stock image without the module): then nothing is
 * mounted, as before mounts existed, and err says so for the user.
 */
static int setup_mounts(const char *list, char *err, size_t errlen)
{
	const char *p = list;
	int first = 1;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[4200], *c1, *c2;

		if (n >= sizeof(line)) {
			snprintf(err, errlen, "a mount line is too long");
			return -1;
		}
		memcpy(line, p, n);
		line[n] = 0;
		p += n + (p[n] == '\n');
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2 - c1 != 3 || c2[1] != '/') {
			snprintf(err, errlen, "malformed mount line '%s'",
				 line);
			return -1;
		}
		*c1 = 0;
		if (mount_one(line, c1[2] == 'o', c2 + 1, err, errlen) < 0) {
			if (!first || errno != ENODEV)
				return -1;
			snprintf(err, errlen,
				 "the guest kernel has no 9p file system: the "
				 "job's directories are not mounted and the "
				 "command runs without them (give the image "
				 "the 9p and 9pnet_virtio modules)");
			return 1;
		}
		first = 0;
	}
	return 0;
}

/* True when file has a line whose field 2 (0-based) is id. */
static int has_id(const char *file, unsigned id)
{
	char line[1024];
	FILE *f = fopen(file, "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		c = c ? strchr(c + 1, ':') : NULL;
		found = c && strtoul(c + 1, NULL, 10) == id && c[1] >= '0' &&
			c[1] <= '9';
	}
	if (f)
		fclose(f);
	return found;
}

static int append(const char *file, const char *line)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, line, strlen(line));
	close(fd);
	return n == (ssize_t)strlen(line) ? 0 : -1;
}

static int setup_user(const struct agent_setup *s, char *err, size_t errlen)
{
	char line[1200];
	struct stat st;

	if (s->uid && !has_id("/etc/passwd", s->uid)) {
		snprintf(line, sizeof(line), "%s:x:%u:%u::%s:/bin/sh\n",
			 s->name, (unsigned)s->uid, (unsigned)s->gid, s->home);
		if (append("/etc/passwd", line) < 0) {
			snprintf(err, errlen, "cannot add %s to /etc/passwd",
				 s->name);
			return -1;
		}
	}
	if (s->gid && !has_id("/etc/group", s->gid)) {
		snprintf(line, sizeof(line), "%s:x:%u:\n", s->name,
			 (unsigned)s->gid);
		if (append("/etc/group", line) < 0) {
			snprintf(err, errlen,
				 "cannot add a group to /etc/group");
			return -1;
		}
	}
	/* A home that is no mount: the user's own, empty, in the guest. */
	if (stat(s->home, &st) < 0 && errno == ENOENT) {
		if (make_dirs(s->home) < 0 ||
		    chown(s->home, s->uid, s->gid) < 0 ||
		    chmod(s->home, 0700) < 0) {
			snprintf(err, errlen, "cannot create the home %s",
				 s->home);
			return -1;
		}
	}
	return 0;
}

int agent_setup_apply(const struct agent_setup *s, char *err, size_t errlen)
{
	int r = s->mounts ? setup_mounts(s->mounts, err, errlen) : 0;
	char why[512];

	if (r < 0)
		return -1;
	if (s->has_user &&
	    setup_user(s, r ? why : err, r ? sizeof(why) : errlen) < 0) {
		if (r)
			snprintf(err, errlen, "%s", why);
		return -1;
	}
	return r;
}

int agent_setup_become(const struct agent_setup *s)
{
	if (!s->has_user)
		return 0;
	if (setgroups(s->ngroups, s->groups) < 0 || setgid(s->gid) < 0 ||
	    setuid(s->uid) < 0)
		return -errno;
	/* Nothing of root's must be left: a failed drop would be silent. */
	if (s->uid && setuid(0) == 0)
		return -EPERM;
	return 0;
}
