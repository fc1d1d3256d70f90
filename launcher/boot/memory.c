/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "launcher/boot/memory.h"
#include "launcher/snapdir/snapdir.h"

#define CHUNK (4u << 20) /* bytes per write: large enough for the disk */

int memory_create(unsigned long mem_mb, char *err, size_t errlen)
{
	int fd = memfd_create("slurm-vm-memory", MFD_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return rc;
	}
	if (ftruncate(fd, (off_t)mem_mb << 20) < 0) {
		rc = -errno;
		snprintf(err, errlen,
			 "sizing the guest's memory to %lu MiB: %s", mem_mb,
			 strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

/* Where fd's next data at or after off begins and ends (SEEK_DATA and
 * SEEK_HOLE); *start == size when there is none. */
static int next_data(int fd, uint64_t off, uint64_t size, uint64_t *start,
		     uint64_t *end)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO) {
		*start = *end = size;
		return 0;
	}
	if (d < 0)
		return -errno;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	*start = (uint64_t)d < size ? (uint64_t)d : size;
	*end = (uint64_t)h < size ? (uint64_t)h : size;
	return 0;
}

/* Adds n zero bytes to the digest. */
static int hash_zeros(EVP_MD_CTX *ctx, uint64_t n)
{
	static const unsigned char zero[64 * 1024];

	while (n) {
		size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);

		if (EVP_DigestUpdate(ctx, zero, k) != 1)
			return -EIO;
		n -= k;
	}
	return 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int write_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Writing the data extents of fd (but for zero chunks) to out, at their
 * offsets; on its own thread, while the caller hashes. */
struct writer {
	int fd, out;
	const unsigned char *map;
	uint64_t size, stored;
	const int *stop; /* set (by another thread): give up */
	int rc;
};

static int stopped(const int *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static void *write_extents(void *arg)
{
	struct writer *w = arg;
	uint64_t off = 0, start, end;

	while (off < w->size) {
		w->rc = next_data(w->fd, off, w->size, &start, &end);
		if (w->rc < 0)
			break;
		for (off = start; w->rc == 0 && off < end;) {
			size_t n =
			    end - off < CHUNK ? (size_t)(end - off) : CHUNK;

			if (stopped(w->stop)) {
				w->rc = -ECANCELED;
				break;
			}
			if (!all_zero(w->map + off, n)) {
				w->rc = write_all(w->out, w->map + off, n, off);
				w->stored += n;
			}
			off += n;
		}
		if (w->rc < 0)
			break;
	}
	return NULL;
}

/* All size bytes of fd into the digest, holes as zeros. */
static int hash_extents(int fd, const unsigned char *map, uint64_t size,
			EVP_MD_CTX *ctx, const int *stop)
{
	uint64_t off = 0, start, end;
	int rc;

	while (off < size) {
		rc = next_data(fd, off, size, &start, &end);
		if (rc < 0 || (rc = hash_zeros(ctx, start - off)) < 0)
			return rc;
		if (stopped(stop))
			return -ECANCELED;
		if (EVP_DigestUpdate(ctx, map + start, end - start) != 1)
			return -EIO;
		off = end;
	}
	return 0;
}

/* The save: writing and hashing both read the paused guest's memory, so
 * they run side by side (the disk works while a CPU hashes). */
static int copy_out(int fd, const unsigned char *map, uint64_t size, int out,
		    EVP_MD_CTX *ctx, uint64_t *stored, const int *stop)
{
	struct writer w = {
	    .fd = fd, .out = out, .map = map, .size = size, .stop = stop};
	pthread_t t;
	int rc;

	rc = -pthread_create(&t, NULL, write_extents, &w);
	if (rc < 0)
		return rc;
	rc = hash_extents(fd, map, size, ctx, stop);
	pthread_join(t, NULL);
	*stored = w.stored;
	return w.rc < 0 ? w.rc : rc;
}

int memory_save(int fd, uint64_t size, int dfd, const char *dir,
		const char *name, struct snap_file *f, char *err, size_t errlen)
{
	return memory_save_until(fd, size, dfd, dir, name, f, NULL, err,
				 errlen);
}

int memory_save_until(int fd, uint64_t size, int dfd, const char *dir,
		      const char *name, struct snap_file *f, const int *stop,
		      char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *map = MAP_FAILED;
	uint64_t stored = 0;
	char hex[65], path[4400];
	int out, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Direct I/O where the file system has it (tmpfs may not). */
	out = safe_create(dfd, dir, name, O_WRONLY | O_DIRECT, 0600, 0, err,
			  errlen);
	if (out < 0) {
		EVP_MD_CTX_free(ctx);
		return out;
	}
	if (size)
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (!ctx || (size && map == MAP_FAILED)) {
		rc = ctx ? -errno : -ENOMEM;
		snprintf(err, errlen, "mapping the guest's memory: %s",
			 strerror(-rc));
		goto fail;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = -EIO;
		snprintf(err, errlen, "SHA-256 is not available");
		goto fail;
	}
	rc = copy_out(fd, map, size, out, ctx, &stored, stop);
	if (rc == 0 && (ftruncate(out, (off_t)size) < 0 || fsync(out) < 0))
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen,
			 "writing the guest's memory to %.400s: %s", path,
			 strerror(-rc));
		goto fail;
	}
	if (snap_digest_hex(ctx, hex) < 0) {
		rc = -EIO;
		snprintf(err, errlen, "SHA-256 of the guest's memory failed");
		goto fail;
	}
	f->size = size;
	f->stored = stored;
	memcpy(f->sha256, hex, sizeof(hex));
	munmap(map, size);
	close(out);
	EVP_MD_CTX_free(ctx);
	return 0;
fail:
	if (map != MAP_FAILED)
		munmap(map, size);
	close(out);
	unlinkat(dfd, name, 0);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int read_all(int fd, unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* The load's loop: the data extents of in, into map, hashed. */
static int copy_in(int in, unsigned char *map, uint64_t size, EVP_MD_CTX *ctx)
{
	uint64_t off = 0, start, end;
	int rc;

	while (off < size) {
		rc = next_data(in, off, size, &start, &end);
		if (rc < 0 || (rc = hash_zeros(ctx, start - off)) < 0)
			return rc;
		for (off = start; off < end;) {
			size_t n =
			    end - off < CHUNK ? (size_t)(end - off) : CHUNK;

			rc = read_all(in, map + off, n, off);
			if (rc < 0)
				return rc;
			if (EVP_DigestUpdate(ctx, map + off, n) != 1)
				return -EIO;
			off += n;
		}
	}
	return 0;
}

int memory_load(int fd, int in, const char *path, const struct snap_file *f,
		char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *map = MAP_FAILED;
	struct stat st, mst;
	char hex[65] = "";
	int rc;

	if (fstat(in, &st) < 0 || fstat(fd, &mst) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size ||
	    (uint64_t)mst.st_size != f->size) {
		rc = -EBADMSG;
		snprintf(err, errlen,
			 "%.400s: %" PRIu64 " bytes, the manifest says %" PRIu64
			 " and the guest has %" PRIu64,
			 path, (uint64_t)st.st_size, f->size,
			 (uint64_t)mst.st_size);
		goto out;
	}
	if (f->size)
		map = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
	if (!ctx || (f->size && map == MAP_FAILED)) {
		rc = ctx ? -errno : -ENOMEM;
		snprintf(err, errlen, "mapping the guest's memory: %s",
			 strerror(-rc));
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = -EIO;
		snprintf(err, errlen, "SHA-256 is not available");
		goto out;
	}
	rc = copy_in(in, map, f->size, ctx);
	if (rc < 0) {
		snprintf(err, errlen, "reading %.400s: %s", path,
			 strerror(-rc));
		goto out;
	}
	if (snap_digest_hex(ctx, hex) < 0 || strcmp(hex, f->sha256)) {
		rc = -EBADMSG;
		snprintf(err, errlen,
			 "%.400s: SHA-256 %s, the manifest says %s (the file "
			 "changed or is damaged)",
			 path, hex, f->sha256);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, f->size);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int memory_map_check(int in, const char *path, const struct snap_file *f,
		     unsigned long mem_mb, char *err, size_t errlen)
{
	uint64_t want = (uint64_t)mem_mb << 20;
	struct stat st;
	int rc, fl = fcntl(in, F_GETFL);

	if (fl < 0 || fstat(in, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		return rc;
	}
	if ((fl & O_ACCMODE) != O_RDONLY || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "%.400s: not a regular file open read-only", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != f->size || f->size != want) {
		snprintf(err, errlen,
			 "%.400s: %" PRIu64 " bytes, the manifest says %" PRIu64
			 " and the guest has %" PRIu64,
			 path, (uint64_t)st.st_size, f->size, want);
		return -EBADMSG;
	}
	if (geteuid() != 0 && !(st.st_mode & S_IWUSR)) {
		snprintf(err, errlen,
			 "%.400s: its owner may not write it, and QEMU opens "
			 "a guest's memory file read-write to map it (it "
			 "writes nothing): chmod u+w %.400s",
			 path, path);
		return -EACCES;
	}
	return 0;
}
