/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The image cache (image_cache.h). Stages of one image_cache_get():
 *
 *  1. open the source (never blocking on a FIFO) and fstat it: its
 *     identity is the key;
 *  2. open this user's directory (image_cache_dir.c), checked;
 *  3. an entry published under the key whose sidecar says the same
 *     identity: used, with a shared flock held until image_cache_put();
 *  4. else the key's lock file, its exclusive flock waited for until the
 *     deadline (the caller is told once that the task waits); past it,
 *     the source is used where it is;
 *  5. under the lock, 3 again (another task copied it meanwhile); else
 *     the copy: into KEY.part, hashed (SHA-256) as it is read, fsync'd,
 *     read back from the disk and compared, the source checked unchanged;
 *     the sidecar written, then both renamed into place (atomic: a task
 *     sees the whole entry or none);
 *  6. above the limit, eviction (image_cache_dir.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "launcher/boot/image_cache.h"
#include "launcher/common/clock.h"
#include "launcher/common/safefile.h"

#define CHUNK (1 << 20)
#define POLL_MS 50

/* One lookup: the source, this user's directory, the key's names. */
struct lookup {
	const struct image_cache *ic;
	const char *src;
	int sfd, ufd;
	struct stat st; /* the source's, at open */
	char key[128], img[160], meta[160], part[160], meta_part[160];
	char line[256]; /* the sidecar's first line: the identity */
	long deadline;	/* now_ms() past which nothing more is waited for */
};

static void make_names(struct lookup *k)
{
	snprintf(k->key, sizeof(k->key), "%llx-%llx-%lld-%lld.%09ld",
		 (unsigned long long)k->st.st_dev,
		 (unsigned long long)k->st.st_ino, (long long)k->st.st_size,
		 (long long)k->st.st_mtim.tv_sec, k->st.st_mtim.tv_nsec);
	snprintf(k->img, sizeof(k->img), "%s.img", k->key);
	snprintf(k->meta, sizeof(k->meta), "%s.meta", k->key);
	snprintf(k->part, sizeof(k->part), "%s.part", k->key);
	snprintf(k->meta_part, sizeof(k->meta_part), "%s.meta.part", k->key);
	snprintf(k->line, sizeof(k->line), "slurm-vm image cache 1 %s\n",
		 k->key);
}

/* True when the sidecar of k is this user's regular file and opens with
 * k's identity line. */
static int meta_matches(const struct lookup *k)
{
	char buf[256], why[512];
	size_t want = strlen(k->line);
	ssize_t n;
	int fd = safe_open(k->ufd, NULL, k->meta, 0, NULL, why, sizeof(why));

	if (fd < 0)
		return 0;
	n = pread(fd, buf, want, 0);
	close(fd);
	return n == (ssize_t)want && !memcmp(buf, k->line, want);
}

/*
 * Step 3: the published entry of k, if there is a good one, into e with a
 * shared flock on it. Returns 1 (used), 0 (none).
 */
static int try_entry(struct lookup *k, struct image_cache_entry *e)
{
	char why[512];
	struct stat st;
	int fd = safe_open(k->ufd, NULL, k->img, 0, &st, why, sizeof(why));

	if (fd < 0)
		return 0;
	/* The size of its source, one name (no link planted from
	 * elsewhere), and the sidecar says the same identity. */
	if (st.st_size != k->st.st_size || st.st_nlink != 1 || !meta_matches(k))
		goto no;
	/* An eviction holds it exclusively only while it removes it. */
	while (flock(fd, LOCK_SH | LOCK_NB) < 0)
		if (errno != EWOULDBLOCK || now_ms() > k->deadline)
			goto no;
		else
			usleep(POLL_MS * 1000);
	/* Removed before we held it: not an entry any more. */
	if (fstat(fd, &st) < 0 || st.st_nlink != 1)
		goto no;
	futimens(fd, NULL); /* used: the most recent, for eviction */
	e->fd = fd;
	snprintf(e->path, sizeof(e->path), "%s/%lu/%s", k->ic->dir,
		 (unsigned long)geteuid(), k->img);
	return 1;
no:
	close(fd);
	return 0;
}

/* Step 4: the key's lock, exclusively, by the deadline. Returns its fd,
 * or -errno (-ETIMEDOUT past the deadline) with err. */
static int lock_key(struct lookup *k, struct image_cache_entry *e, char *err,
		    size_t errlen)
{
	char lock[160], why[512];
	struct stat st;
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", k->key);
	fd = safe_create(k->ufd, NULL, lock, O_RDWR, 0600, SAFE_REUSE, why,
			 sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "%s/%lu/%s", k->ic->dir,
			 (unsigned long)geteuid(), why);
		return fd;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "locking %s: %s", lock,
				 strerror(errno));
			close(fd);
			return -EIO;
		}
		if (now_ms() > k->deadline) {
			snprintf(err, errlen,
				 "the copy another task makes of %s did not "
				 "end within %ld s",
				 k->src, k->ic->wait_ms / 1000);
			close(fd);
			return -ETIMEDOUT;
		}
		if (!e->waited && k->ic->waiting) {
			unsigned long long done = 0;

			if (fstatat(k->ufd, k->part, &st,
				    AT_SYMLINK_NOFOLLOW) == 0)
				done = (unsigned long long)st.st_size;
			k->ic->waiting(k->ic->arg, k->src, done,
				       (unsigned long long)k->st.st_size);
		}
		e->waited = 1;
		usleep(POLL_MS * 1000);
	}
	return fd;
}

static int all_zero(const char *buf, size_t n)
{
	return n == 0 || (buf[0] == 0 && !memcmp(buf, buf + 1, n - 1));
}

static void hex(const unsigned char *md, char out[65])
{
	static const char d[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = d[md[i] >> 4];
		out[2 * i + 1] = d[md[i] & 15];
	}
	out[64] = 0;
}

/*
 * Reads fd from the start to its end (or, with out >= 0, copies it
 * there, leaving holes for zero chunks) and hashes it into sum. Gives up
 * at deadline (-ETIMEDOUT). Returns the bytes read or -errno.
 */
static long long pass(int fd, int out, long deadline, char sum[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	char *buf = malloc(CHUNK);
	long long total = 0, rc = -EIO;
	ssize_t n;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while ((n = pread(fd, buf, CHUNK, total)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || now_ms() > deadline) {
			rc = n < 0 ? -errno : -ETIMEDOUT;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		if (out >= 0 && !all_zero(buf, (size_t)n) &&
		    pwrite(out, buf, (size_t)n, total) != n) {
			rc = errno ? -errno : -EIO;
			goto out;
		}
		total += n;
	}
	if (out >= 0 && ftruncate(out, total) < 0) {
		rc = -errno;
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	hex(md, sum);
	rc = total;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The source still what it was when opened (its identity is the key). */
static int unchanged(const struct lookup *k)
{
	struct stat now;

	return fstat(k->sfd, &now) == 0 && now.st_size == k->st.st_size &&
	       now.st_mtim.tv_sec == k->st.st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == k->st.st_mtim.tv_nsec;
}

/* The sidecar, under its temporary name: identity, checksum, source. */
static int write_meta(struct lookup *k, const char *sum, char *err,
		      size_t errlen)
{
	char text[PATH_MAX + 512];
	int fd, n, rc = 0;

	unlinkat(k->ufd, k->meta_part, 0);
	fd = safe_create(k->ufd, NULL, k->meta_part, O_WRONLY, 0600, 0, err,
			 errlen);
	if (fd < 0)
		return fd;
	n = snprintf(text, sizeof(text), "%ssha256 %s\nsource %s\n", k->line,
		     sum, k->src);
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0)
		rc = -EIO;
	close(fd);
	if (rc < 0)
		snprintf(err, errlen, "writing %s: %s", k->meta_part,
			 strerror(errno ? errno : EIO));
	return rc;
}

/*
 * Step 5: copies the source into KEY.part, verifies it, publishes it.
 * Returns 0, or -errno with err (nothing of it is left).
 */
static int copy_entry(struct lookup *k, struct image_cache_entry *e, char *err,
		      size_t errlen)
{
	char sum[65], back[65];
	long t0 = now_ms();
	long long n;
	int out, rc;

	/* A part left by a task that died: the lock is ours now. */
	unlinkat(k->ufd, k->part, 0);
	out = safe_create(k->ufd, NULL, k->part, O_RDWR, 0600, 0, err, errlen);
	if (out < 0)
		return out;
	n = pass(k->sfd, out, k->deadline, sum);
	rc = n < 0 ? (int)n : 0;
	if (rc == 0 && (n != k->st.st_size || !unchanged(k)))
		rc = -ESTALE;
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	/* Read back from the disk, not from the page cache: what a guest
	 * will read. */
	if (rc == 0) {
		posix_fadvise(out, 0, 0, POSIX_FADV_DONTNEED);
		n = pass(out, -1, k->deadline, back);
		rc = n < 0					 ? (int)n
		     : (n != k->st.st_size || strcmp(sum, back)) ? -EIO
								 : 0;
	}
	close(out);
	if (rc == 0 && (rc = write_meta(k, sum, err, errlen)) < 0)
		goto fail;
	if (rc == 0 && (renameat(k->ufd, k->meta_part, k->ufd, k->meta) < 0 ||
			renameat(k->ufd, k->part, k->ufd, k->img) < 0))
		rc = -errno;
	if (rc == 0) {
		fsync(k->ufd);
		e->bytes = (unsigned long long)k->st.st_size;
		e->copy_ms = now_ms() - t0;
		return 0;
	}
	snprintf(err, errlen, "copying %s into the cache: %s", k->src,
		 rc == -ESTALE	    ? "it changed while it was copied"
		 : rc == -ETIMEDOUT ? "the copy took too long"
		 : rc == -EIO	    ? "the copy read back differs"
				    : strerror(-rc));
fail:
	unlinkat(k->ufd, k->part, 0);
	unlinkat(k->ufd, k->meta_part, 0);
	return rc;
}

/* A qcow2 image with a backing file or an external data file: the copy
 * of one file would not be the whole disk. */
static int qcow2_needs_others(int fd)
{
	unsigned char h[80];
	uint64_t backing = 0, incompat = 0;
	int i;

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h, "QFI\xfb", 4))
		return 0;
	for (i = 0; i < 8; i++) {
		backing = backing << 8 | h[8 + i];
		incompat = incompat << 8 | h[72 + i];
	}
	return backing != 0 || (h[7] >= 3 && (incompat & 4));
}

/* src under ic->dir (compared after realpath): used where it is. */
static int inside_cache(const char *dir, const char *src)
{
	char *d = realpath(dir, NULL), *s = realpath(src, NULL);
	size_t n = d ? strlen(d) : 0;
	int in = d && s && !strncmp(s, d, n) && s[n] == '/';

	free(d);
	free(s);
	return in;
}

/* Stages 2-6 with the source open; 0 or -errno, err saying why not. */
static int lookup(struct lookup *k, struct image_cache_entry *e, char *err,
		  size_t errlen)
{
	char why[1024] = "";
	int lfd, rc;

	if (k->st.st_size > 0 &&
	    (unsigned long long)k->st.st_size > k->ic->max) {
		snprintf(err, errlen,
			 "%s (%lld MiB) is larger than image_cache_max", k->src,
			 (long long)k->st.st_size >> 20);
		return -EFBIG;
	}
	if (qcow2_needs_others(k->sfd)) {
		snprintf(err, errlen,
			 "%s is a qcow2 image over other files (a backing "
			 "or data file); only single files are cached",
			 k->src);
		return -EINVAL;
	}
	if ((k->ufd = image_cache_user_dir(k->ic, err, errlen)) < 0)
		return k->ufd;
	make_names(k);
	if (try_entry(k, e)) {
		e->how = IMAGE_CACHE_HIT;
		return 0;
	}
	if ((lfd = lock_key(k, e, err, errlen)) < 0)
		return lfd;
	if (try_entry(k, e)) {
		e->how = IMAGE_CACHE_HIT;
	} else if ((rc = copy_entry(k, e, err, errlen)) < 0 ||
		   !try_entry(k, e)) {
		close(lfd);
		if (!err[0])
			snprintf(err, errlen, "%s: the new entry is gone",
				 k->src);
		return rc < 0 ? rc : -ENOENT;
	} else {
		e->how = IMAGE_CACHE_COPIED;
	}
	close(lfd);
	if (e->how == IMAGE_CACHE_COPIED &&
	    image_cache_evict(k->ic, why, sizeof(why)) < 0)
		snprintf(err, errlen, "eviction: %s", why);
	return 0;
}

int image_cache_get(const struct image_cache *ic, const char *src,
		    struct image_cache_entry *e, char *err, size_t errlen)
{
	struct lookup k = {.ic = ic, .src = src, .ufd = -1};
	char why[1024];

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	err[0] = 0;
	snprintf(e->path, sizeof(e->path), "%s", src);
	k.sfd = safe_open(AT_FDCWD, NULL, src, SAFE_FOLLOW | SAFE_ANY_OWNER,
			  &k.st, why, sizeof(why));
	if (k.sfd < 0) {
		snprintf(err, errlen, "%s", why);
		return k.sfd;
	}
	k.deadline = now_ms() + ic->wait_ms;
	if (!inside_cache(ic->dir, src) && lookup(&k, e, err, errlen) < 0) {
		image_cache_put(e);
		snprintf(e->path, sizeof(e->path), "%s", src);
		e->how = IMAGE_CACHE_ORIGINAL;
	}
	if (k.ufd >= 0)
		close(k.ufd);
	close(k.sfd);
	return e->how;
}

void image_cache_put(struct image_cache_entry *e)
{
	if (e->fd > 0)
		close(e->fd);
	e->fd = -1;
}
