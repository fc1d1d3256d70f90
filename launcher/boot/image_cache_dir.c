/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The image cache's directories: the site's DIR and this user's DIR/<uid>
 * (checked before anything in them is used), and eviction.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/boot/image_cache.h"
#include "launcher/common/safefile.h"

int image_cache_user_dir(const struct image_cache *ic, char *err, size_t errlen)
{
	char name[32], why[4400];
	struct stat st;
	int dfd, ufd;

	/* The site's directory, as the site wrote it (its links are the
	 * site's); root's (or, for tests, this user's own). */
	dfd = safe_open(AT_FDCWD, NULL, ic->dir,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, &st, why,
			sizeof(why));
	if (dfd < 0) {
		snprintf(err, errlen, "image_cache=%s: %s", ic->dir, why);
		return dfd;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
		snprintf(err, errlen,
			 "image_cache=%s is %s: another user could replace "
			 "this user's entries; the site must make it root's, "
			 "mode 1777 (or 0755)",
			 ic->dir,
			 st.st_uid != 0 && st.st_uid != geteuid()
			     ? "owned by another user"
			     : "writable by others without the sticky bit");
		close(dfd);
		return -EPERM;
	}
	snprintf(name, sizeof(name), "%lu", (unsigned long)geteuid());
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) {
		int e = errno;

		snprintf(err, errlen,
			 "image_cache=%s: cannot make %s in it: %s (the site "
			 "makes the directory mode 1777, or one directory per "
			 "user)",
			 ic->dir, name, strerror(e));
		close(dfd);
		return -e;
	}
	/* Never a link, a directory, this user's own (safe_open()). */
	ufd = safe_open(dfd, ic->dir, name, SAFE_DIR, &st, why, sizeof(why));
	close(dfd);
	if (ufd < 0) {
		snprintf(err, errlen,
			 "%s (the cache is used only from a directory of this "
			 "user's own; remove it, or ask the site to)",
			 why);
		return ufd;
	}
	/* Others must not write in it; what is there is checked anyway. */
	if ((st.st_mode & 077) && fchmod(ufd, 0700) < 0) {
		snprintf(err, errlen, "%s/%s: chmod 0700: %s", ic->dir, name,
			 strerror(errno));
		close(ufd);
		return -EPERM;
	}
	return ufd;
}

struct victim {
	char name[NAME_MAX + 1];
	long long mtime_ns;
	unsigned long long bytes;
};

static int older(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	return (x->mtime_ns > y->mtime_ns) - (x->mtime_ns < y->mtime_ns);
}

/* KEY.part (and KEY.meta.part), left by a copy whose task died: removed
 * when the key's lock is free (no copy is under way). */
static void sweep_part(int ufd, const char *name, size_t len)
{
	char lock[NAME_MAX + 8], meta[NAME_MAX + 16], why[512];
	int fd;

	if (len < 6 || len > NAME_MAX || strcmp(name + len - 5, ".part") ||
	    (len > 10 && !strcmp(name + len - 10, ".meta.part")))
		return;
	snprintf(lock, sizeof(lock), "%.*s.lock", (int)(len - 5), name);
	snprintf(meta, sizeof(meta), "%.*s.meta.part", (int)(len - 5), name);
	fd = safe_open(ufd, NULL, lock, 0, NULL, why, sizeof(why));
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		unlinkat(ufd, name, 0);
		unlinkat(ufd, meta, 0);
	}
	close(fd);
}

/* This user's entries (NAME.img, regular files), into *out. */
static int list_entries(int ufd, struct victim **out, size_t *n,
			unsigned long long *total)
{
	struct victim *v = NULL, *grown;
	size_t cap = 0;
	struct dirent *d;
	struct stat st;
	int fd = dup(ufd);
	DIR *dir;

	*n = 0;
	*total = 0;
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name);

		sweep_part(ufd, d->d_name, len);
		if (len < 5 || strcmp(d->d_name + len - 4, ".img") ||
		    fstatat(ufd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = grown;
		}
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", d->d_name);
		v[*n].mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000 +
				 st.st_mtim.tv_nsec;
		v[*n].bytes = (unsigned long long)st.st_blocks * 512;
		*total += v[*n].bytes;
		(*n)++;
	}
	closedir(dir);
	*out = v;
	return 0;
}

/* Removes the entry name (KEY.img) and its sidecar if nobody holds it.
 * Returns 1 when removed, 0 when in use (or gone). */
static int evict_one(int ufd, const char *name)
{
	char meta[NAME_MAX + 2];
	int fd =
	    openat(ufd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t len = strlen(name);
	int removed = 0;

	if (fd < 0)
		return 0;
	/* A task holds it shared from before it boots until its guest is
	 * gone: the exclusive lock is free only when none does. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		snprintf(meta, sizeof(meta), "%.*s.meta", (int)(len - 4), name);
		removed = unlinkat(ufd, name, 0) == 0;
		unlinkat(ufd, meta, 0);
	}
	close(fd);
	return removed;
}

int image_cache_evict(const struct image_cache *ic, char *err, size_t errlen)
{
	unsigned long long total;
	struct victim *v = NULL;
	int ufd, rc, removed = 0;
	size_t n, i;

	ufd = image_cache_user_dir(ic, err, errlen);
	if (ufd < 0)
		return ufd;
	rc = list_entries(ufd, &v, &n, &total);
	if (rc < 0) {
		snprintf(err, errlen, "image_cache=%s: listing entries: %s",
			 ic->dir, strerror(-rc));
		close(ufd);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), older);
	for (i = 0; i < n && total > ic->max; i++)
		if (evict_one(ufd, v[i].name)) {
			total -= v[i].bytes;
			removed++;
		}
	free(v);
	close(ufd);
	return removed;
}
