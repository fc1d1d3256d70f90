/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files another user may have a hand in: the rules are in safefile.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/safefile.h"
int safe_plain_name(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int remove_at(int dfd, const char *name)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno
								     : 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		int r;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = remove_at(dirfd(d), e->d_name);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}

int snap_remove_tree(const char *path)
{
	char copy[PATH_MAX], *slash;
	int dfd, rc;

	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	slash = strrchr(copy, '/');
	if (slash && slash == copy) {
		dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (slash) {
		*slash = 0;
		dfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return -errno;
	rc = remove_at(dfd, slash ? slash + 1 : copy);
	close(dfd);
	return rc;
}

void safe_describe(char *buf, size_t len, const char *dir, const char *name)
{
	if (dir)
		snprintf(buf, len, "%s/%s", dir, name);
	else
		snprintf(buf, len, "%s", name);
}

static const char *type_name(mode_t m)
{
	return S_ISLNK(m)    ? "a symbolic link"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISREG(m)  ? "a regular file"
			     : "of an unknown type";
}

/* Checks what fd holds; clears O_NONBLOCK on a regular file. */
static int check_opened(int fd, const char *show, int flags, struct stat *st,
			char *err, size_t errlen)
{
	int want_dir = flags & SAFE_DIR;

	if (fstat(fd, st) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "%s: %s", show, strerror(errno));
		return rc;
	}
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: %s, not a %s: refused", show,
			 type_name(st->st_mode),
			 want_dir ? "directory" : "regular file");
		return -EINVAL;
	}
	if (!(flags & SAFE_ANY_OWNER) && st->st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not by you (uid %u): refused, "
			 "another user could have written it",
			 show, (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (!want_dir) {
		int fl = fcntl(fd, F_GETFL);

		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			int rc = -errno;

			snprintf(err, errlen, "%s: %s", show, strerror(errno));
			return rc;
		}
	}
	return 0;
}

/* Why opening dfd/name failed with errno e: a link is named as one. */
static int open_failed(int dfd, const char *show, const char *name, int e,
		       char *err, size_t errlen)
{
	struct stat st;

	if ((e == ELOOP || e == ENOTDIR || e == ENXIO || e == EMLINK) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "%s: %s: refused", show,
			 type_name(st.st_mode));
		return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
	}
	snprintf(err, errlen, "%s: %s", show, strerror(e));
	return -e;
}

int safe_open(int dfd, const char *dir, const char *name, int flags,
	      struct stat *st, char *err, size_t errlen)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
	char show[PATH_MAX + NAME_MAX + 2];
	struct stat own;
	int fd, rc;

	safe_describe(show, sizeof(show), dir, name);
	if (!(flags & SAFE_FOLLOW) && (!safe_plain_name(name))) {
		snprintf(err, errlen, "%s: not a plain file name", show);
		return -EINVAL;
	}
	if (flags & SAFE_DIR)
		oflags |= O_DIRECTORY;
	if (!(flags & SAFE_FOLLOW))
		oflags |= O_NOFOLLOW;
	fd = openat(dfd, name, oflags);
	if (fd < 0)
		return open_failed(dfd, show, name, errno, err, errlen);
	rc = check_opened(fd, show, flags, st ? st : &own, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int safe_create(int dfd, const char *dir, const char *name, int oflags,
		mode_t mode, int flags, char *err, size_t errlen)
{
	int base = O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		   (oflags & O_RDWR ? O_RDWR : O_WRONLY) |
		   (oflags & (O_APPEND | O_DIRECT));
	char show[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int fd, rc;

	safe_describe(show, sizeof(show), dir, name);
	if (!safe_plain_name(name)) {
		snprintf(err, errlen, "%s: not a plain file name", show);
		return -EINVAL;
	}
	fd = openat(dfd, name, base, mode);
	if (fd < 0 && errno == EINVAL && (base & O_DIRECT)) {
		base &= ~O_DIRECT; /* tmpfs may have no direct I/O */
		fd = openat(dfd, name, base, mode);
	}
	if (fd < 0 && errno == EEXIST && (flags & SAFE_REUSE))
		fd = openat(dfd, name, base & ~(O_CREAT | O_EXCL));
	if (fd < 0) {
		if (errno == EEXIST) {
			snprintf(err, errlen,
				 "%s exists already: a new file is never "
				 "written over one",
				 show);
			return -EEXIST;
		}
		return open_failed(dfd, show, name, errno, err, errlen);
	}
	/* A new file is ours; one reused is checked like any other. */
	rc = check_opened(fd, show, flags & SAFE_ANY_OWNER, &st, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Opens path's directory (see snapdir.h); *base is then its last part. */
static int open_parent(const char *path, char *dir, size_t len,
		       const char **base, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	int dfd;

	if (!slash || !slash[1] || strlen(path) >= len) {
		snprintf(err, errlen, "%s: not a file in a directory", path);
		return -EINVAL;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash == path ? 1 : slash - path] = 0;
	if (slash == path)
		dir[0] = '/';
	*base = slash + 1;
	dfd = safe_open(AT_FDCWD, NULL, dir,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, err,
			errlen);
	return dfd;
}

int safe_open_path(const char *path, int flags, struct stat *st, char *err,
		   size_t errlen)
{
	char dir[PATH_MAX];
	const char *base;
	int dfd = open_parent(path, dir, sizeof(dir), &base, err, errlen), fd;

	if (dfd < 0)
		return dfd;
	fd = safe_open(dfd, strcmp(dir, "/") ? dir : "", base,
		       flags & ~SAFE_FOLLOW, st, err, errlen);
	close(dfd);
	return fd;
}

int safe_create_path(const char *path, int oflags, mode_t mode, int flags,
		     char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *base;
	int dfd = open_parent(path, dir, sizeof(dir), &base, err, errlen), fd;

	if (dfd < 0)
		return dfd;
	fd = safe_create(dfd, strcmp(dir, "/") ? dir : "", base, oflags, mode,
			 flags, err, errlen);
	close(dfd);
	return fd;
}

int safe_mkdir(int dfd, const char *dir, const char *name, mode_t mode,
	       char *err, size_t errlen)
{
	char show[PATH_MAX + NAME_MAX + 2];
	int rc;

	safe_describe(show, sizeof(show), dir, name);
	if (!safe_plain_name(name)) {
		snprintf(err, errlen, "%s: not a plain file name", show);
		return -EINVAL;
	}
	if (mkdirat(dfd, name, mode) < 0) {
		rc = -errno;
		if (errno == EEXIST)
			snprintf(err, errlen,
				 "%s exists already: a directory is never "
				 "adopted",
				 show);
		else
			snprintf(err, errlen, "cannot create %s: %s", show,
				 strerror(errno));
		return rc;
	}
	return safe_open(dfd, dir, name, SAFE_DIR, NULL, err, errlen);
}

int safe_open_in(const char *dir, const char *name, char *path, size_t len,
		 struct stat *st, char *err, size_t errlen)
{
	int dfd, fd, rc;

	rc = snprintf(path, len, "%s/%s", dir, name);
	if (rc < 0 || (size_t)rc >= len) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen, "%s/%s: the path is too long", dir, name);
		return rc;
	}
	dfd = safe_open(AT_FDCWD, NULL, dir, SAFE_DIR | SAFE_FOLLOW, NULL, err,
			errlen);
	if (dfd < 0)
		return dfd;
	fd = safe_open(dfd, dir, name, 0, st, err, errlen);
	close(dfd);
	return fd;
}
