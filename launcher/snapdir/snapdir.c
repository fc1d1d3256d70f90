/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/launch_env.h"
#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"

int snap_name_format(const struct snap_name *n, char *buf, size_t len)
{
	int r = snprintf(buf, len, "%s%" PRIu32 ".%" PRIu32 ".%" PRIu32,
			 n->state == SNAP_PARTIAL ? SNAP_PARTIAL_PREFIX
						  : SNAP_PREFIX,
			 n->job, n->step, n->seq);

	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

/* A decimal uint32 without sign or leading zero, ending at stop. */
static const char *number(const char *s, char stop, uint32_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return NULL;
	}
	if (*p != stop)
		return NULL;
	*out = (uint32_t)v;
	return p;
}

int snap_name_parse(const char *name, struct snap_name *n)
{
	struct snap_name t;
	const char *p;

	if (!strncmp(name, SNAP_PREFIX, strlen(SNAP_PREFIX))) {
		t.state = SNAP_COMPLETE;
		p = name + strlen(SNAP_PREFIX);
	} else if (!strncmp(name, SNAP_PARTIAL_PREFIX,
			    strlen(SNAP_PARTIAL_PREFIX))) {
		t.state = SNAP_PARTIAL;
		p = name + strlen(SNAP_PARTIAL_PREFIX);
	} else {
		return -EINVAL;
	}
	if (!(p = number(p, '.', &t.job)) ||
	    !(p = number(p + 1, '.', &t.step)) ||
	    !(p = number(p + 1, 0, &t.seq)))
		return -EINVAL;
	*n = t;
	return 0;
}

long snap_next_seq(const char *snapdir, uint32_t job, uint32_t step)
{
	DIR *d = opendir(snapdir);
	struct snap_name n;
	struct dirent *e;
	uint32_t max = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (snap_name_parse(e->d_name, &n) == 0 && n.job == job &&
		    n.step == step && n.seq > max)
			max = n.seq;
	closedir(d);
	return max == UINT32_MAX ? -EOVERFLOW : (long)max + 1;
}

static int path_of(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int has_manifest(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	return path_of(path, sizeof(path), dir, SNAP_MANIFEST) == 0 &&
	       lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int snap_publish(const char *snapdir, const char *partial,
		 const char *final_name, char *err, size_t errlen)
{
	char from[PATH_MAX], to[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
	char old[NAME_MAX + 1] = "", gone[PATH_MAX];
	struct snap_name n;
	struct stat st;
	ssize_t len;
	int rc;

	if (!safe_plain_name(partial) || !safe_plain_name(final_name) ||
	    snap_name_parse(final_name, &n) < 0 || n.state != SNAP_COMPLETE) {
		snprintf(err, errlen,
			 "cannot publish %s as %s: not snapshot names", partial,
			 final_name);
		return -EINVAL;
	}
	if (path_of(from, sizeof(from), snapdir, partial) < 0 ||
	    path_of(to, sizeof(to), snapdir, final_name) < 0 ||
	    path_of(link, sizeof(link), snapdir, SNAP_LATEST) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", snapdir, SNAP_LATEST,
		     (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: the path is too long", snapdir);
		return -ENAMETOOLONG;
	}
	if (!has_manifest(from)) {
		snprintf(err, errlen,
			 "%s has no %s: a snapshot is published only "
			 "complete",
			 from, SNAP_MANIFEST);
		return -EINVAL;
	}
	/* rename() would replace an empty directory: refuse any. */
	if (lstat(to, &st) == 0) {
		snprintf(err, errlen, "%s exists already", to);
		return -EEXIST;
	}
	if (rename(from, to) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", from, to,
			 strerror(errno));
		return rc;
	}
	len = readlink(link, old, sizeof(old) - 1);
	old[len > 0 ? len : 0] = 0;
	unlink(tmp);
	if (symlink(final_name, tmp) < 0 || rename(tmp, link) < 0) {
		rc = -errno;
		snprintf(err, errlen,
			 "cannot point %s to %s: %s; the new snapshot is "
			 "complete in %s, %s still names the previous one",
			 link, final_name, strerror(errno), to, link);
		unlink(tmp);
		return rc;
	}
	sync_dir(snapdir);
	if (!old[0] || !strcmp(old, final_name) ||
	    snap_name_parse(old, &n) < 0 || n.state != SNAP_COMPLETE)
		return 0;
	if (path_of(gone, sizeof(gone), snapdir, old) == 0 &&
	    (rc = snap_remove_tree(gone)) < 0) {
		snprintf(err, errlen,
			 "published %s, but cannot remove the previous "
			 "snapshot %s: %s",
			 to, gone, strerror(-rc));
		return 1;
	}
	return 0;
}

/*
 * Checks that dfd/name (dir names dfd in messages) is a complete snapshot
 * of this user's: a directory of theirs (not a link unless follow) holding
 * their own regular manifest.json. Returns 0, -ENOENT (no manifest) or
 * -errno, with a message.
 */
static int snapshot_ok(int dfd, const char *dir, const char *name, int follow,
		       char *err, size_t errlen)
{
	char show[PATH_MAX + NAME_MAX + 2];
	int sfd, fd;

	sfd = safe_open(dfd, dir, name, SAFE_DIR | (follow ? SAFE_FOLLOW : 0),
			NULL, err, errlen);
	if (sfd < 0)
		return sfd;
	safe_describe(show, sizeof(show), dir, name);
	fd = safe_open(sfd, show, SNAP_MANIFEST, 0, NULL, err, errlen);
	close(sfd);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int snap_latest(const char *snapdir, char *out, size_t len, char *err,
		size_t errlen)
{
	char link[PATH_MAX], target[NAME_MAX + 1], dir[PATH_MAX];
	struct snap_name n;
	struct stat st;
	int dfd, rc;
	ssize_t r;

	if (path_of(link, sizeof(link), snapdir, SNAP_LATEST) < 0) {
		snprintf(err, errlen, "%s: the path is too long", snapdir);
		return -ENAMETOOLONG;
	}
	/* DIR itself may be shared (a project's): what is in it is checked. */
	dfd = open(snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
	if (dfd < 0 && errno == ENOENT) {
		snprintf(err, errlen,
			 "%s holds no complete snapshot (no %s): save one "
			 "first with --vm-snapshot=%s",
			 snapdir, link, snapdir);
		return -ENOENT;
	}
	if (dfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", snapdir, strerror(errno));
		return rc;
	}
	r = readlinkat(dfd, SNAP_LATEST, target, sizeof(target) - 1);
	if (r < 0 && errno == ENOENT) {
		snprintf(err, errlen,
			 "%s holds no complete snapshot (no %s): save one "
			 "first with --vm-snapshot=%s",
			 snapdir, link, snapdir);
		rc = -ENOENT;
		goto out;
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "%s: %s; it should be a symbolic link to "
			 "the newest snapshot",
			 link, strerror(errno));
		rc = errno == EINVAL ? -EINVAL : -errno;
		goto out;
	}
	target[r] = 0;
	if (fstatat(dfd, SNAP_LATEST, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not by you (uid %u): refused, "
			 "another user could have pointed it elsewhere",
			 link, (unsigned)st.st_uid, (unsigned)geteuid());
		rc = -EPERM;
		goto out;
	}
	if (snap_name_parse(target, &n) < 0 || n.state != SNAP_COMPLETE) {
		snprintf(err, errlen,
			 "%s points to '%s', not to a snapshot of this "
			 "directory (snap.JOB.STEP.SEQ)",
			 link, target);
		rc = -EINVAL;
		goto out;
	}
	if (path_of(dir, sizeof(dir), snapdir, target) < 0 ||
	    strlen(dir) >= len) {
		snprintf(err, errlen, "%s: the path is too long", snapdir);
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = snapshot_ok(dfd, snapdir, target, 0, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen,
			 "%s points to %s, which has no %s: not a complete "
			 "snapshot",
			 link, target, SNAP_MANIFEST);
	}
	if (rc == 0)
		strcpy(out, dir);
out:
	close(dfd);
	return rc;
}

int snap_resolve(const char *path, char *out, size_t len, char *err,
		 size_t errlen)
{
	char manifest[PATH_MAX];
	struct stat st;
	int rc;

	/* A manifest of any kind there: path is meant as one snapshot. */
	if (path_of(manifest, sizeof(manifest), path, SNAP_MANIFEST) == 0 &&
	    lstat(manifest, &st) == 0) {
		if (strlen(path) >= len) {
			snprintf(err, errlen, "%s: the path is too long", path);
			return -ENAMETOOLONG;
		}
		rc = snapshot_ok(AT_FDCWD, NULL, path, 1, err, errlen);
		if (rc < 0)
			return rc;
		strcpy(out, path);
		return 0;
	}
	return snap_latest(path, out, len, err, errlen);
}

long snap_partial_create(const char *snapdir, uint32_t job, uint32_t step,
			 uint32_t first, char *name, size_t len, char *err,
			 size_t errlen)
{
	struct snap_name n = {.state = SNAP_PARTIAL, .job = job, .step = step};
	int tries, dfd, fd = -EEXIST;

	/* DIR itself may be shared (a project's): what is made in it is ours.
	 */
	dfd = safe_open(AT_FDCWD, NULL, snapdir,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, err,
			errlen);
	if (dfd < 0)
		return dfd;
	for (tries = 0; tries < 64 && first + (uint32_t)tries >= first;
	     tries++) {
		n.seq = first + (uint32_t)tries;
		if (snap_name_format(&n, name, len) < 0) {
			snprintf(err, errlen, "%s: the name is too long",
				 snapdir);
			fd = -ENAMETOOLONG;
			break;
		}
		fd = safe_mkdir(dfd, snapdir, name, 0700, err, errlen);
		if (fd != -EEXIST)
			break;
	}
	close(dfd);
	if (fd < 0)
		return fd;
	close(fd);
	return (long)n.seq;
}

/* Largest .snapdirs file read: many directories, each a path. */
#define MAX_RECORD (256 * 1024)

/* True when text (len bytes) holds line as a whole line. */
static int has_line(const char *text, size_t len, const char *line)
{
	size_t n = strlen(line);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l == n && !memcmp(p, line, n))
			return 1;
		p += l + 1;
	}
	return 0;
}

int snap_record_path(const char *rundir, unsigned long job, char *out,
		     size_t len)
{
	int n = snprintf(out, len, "%s/" RUNDIR_PREFIX "%lu%s", rundir, job,
			 SNAP_RECORD_SUFFIX);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int snap_record_dir(const char *rundir, unsigned long job, const char *dir)
{
	char path[PATH_MAX], why[PATH_MAX + 200], *text = NULL, *line = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, dfd, rc = 0;

	if (dir[0] != '/' || strchr(dir, '\n') || strlen(dir) >= PATH_MAX)
		return -EINVAL;
	if (snap_record_path(rundir, job, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	/* rundir is /tmp by default: a name another user made first (a file,
	 * a link, a FIFO) is refused, never written through. */
	dfd = open(rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = safe_create(dfd, rundir, strrchr(path, '/') + 1, O_RDWR | O_APPEND,
			 0600, SAFE_REUSE, why, sizeof(why));
	close(dfd);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX) < 0) {
		rc = -errno;
		goto out;
	}
	text = malloc(MAX_RECORD);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	while (len < MAX_RECORD &&
	       (n = pread(fd, text + len, MAX_RECORD - len, (off_t)len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		len += (size_t)n;
	}
	if (has_line(text, len, dir))
		goto out;
	if (asprintf(&line, "%s\n", dir) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	n = write(fd, line, strlen(line));
	if (n != (ssize_t)strlen(line))
		rc = n < 0 ? -errno : -EIO;
	else if (fsync(fd) < 0)
		rc = -errno;
out:
	free(line);
	free(text);
	close(fd); /* drops the lock */
	return rc;
}

int snap_record_parse(const char *text, size_t len,
		      void (*each)(const char *dir, void *arg), void *arg)
{
	const char *p = text, *end = text + len;
	char line[PATH_MAX];
	int count = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l > 0 && l < sizeof(line) && p[0] == '/' &&
		    !memchr(p, 0, l)) {
			memcpy(line, p, l);
			line[l] = 0;
			if (!has_line(text, (size_t)(p - text), line)) {
				each(line, arg);
				count++;
			}
		}
		p += l + 1;
	}
	return count;
}
