/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A snapshot's files: their names, identities and checksums (manifest.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"

static const char *const suffixes[] = {
    [SNAP_VMSTATE] = "vmstate", [SNAP_MEMORY] = "memory",
    [SNAP_DISK] = "disk.qcow2", [SNAP_FRAMES] = "frames",
    [SNAP_AGENT] = "agent",	[SNAP_ENTRY] = "json",
};

int snap_file_name(uint32_t rank, enum snap_kind kind, char *name, size_t len)
{
	int n =
	    snprintf(name, len, "rank-%" PRIu32 ".%s", rank, suffixes[kind]);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Identities */

int snap_ident_of(const char *path, struct snap_ident *id)
{
	struct stat st;

	if (!path || path[0] != '/' || strlen(path) >= sizeof(id->path))
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	strcpy(id->path, path);
	id->size = (uint64_t)st.st_size;
	id->mtime_ns =
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

int snap_ident_check(const struct snap_ident *id, const char *what, char *err,
		     size_t errlen)
{
	struct snap_ident now;
	int rc;

	if (!id->path[0])
		return 0;
	rc = snap_ident_of(id->path, &now);
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s %s: %s; the snapshot needs the file it was "
			 "taken with",
			 what, id->path, strerror(-rc));
		return rc;
	}
	if (now.size != id->size) {
		snprintf(err, errlen,
			 "%s %s changed since the snapshot (size %" PRIu64
			 " -> %" PRIu64 " bytes); restore needs it unchanged",
			 what, id->path, id->size, now.size);
		return -ESTALE;
	}
	if (now.mtime_ns != id->mtime_ns) {
		snprintf(err, errlen,
			 "%s %s changed since the snapshot (modified after "
			 "it was taken); restore needs it unchanged",
			 what, id->path);
		return -ESTALE;
	}
	return 0;
}

/* Files and their checksums */

int snap_digest_hex(EVP_MD_CTX *ctx, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		return -EIO;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
	return 0;
}

/* Size and SHA-256 (hex) of the file open as fd. */
static int hash_fd(int fd, uint64_t *size, char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t bufsize = 1 << 20;
	char *buf = malloc(bufsize);
	uint64_t total = 0;
	int rc = -EIO;
	ssize_t n;

	if (!ctx || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, buf, bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		total += (uint64_t)n;
	}
	if (snap_digest_hex(ctx, hex) < 0)
		goto out;
	*size = total;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int snap_file_hash(const char *dir, const char *name, struct snap_file *f)
{
	char path[4200], hex[65], why[4400];
	struct stat st;
	uint64_t size;
	int fd, rc;

	if (strlen(name) >= sizeof(f->name) || strchr(name, '/'))
		return -ENAMETOOLONG;
	fd = safe_open_in(dir, name, path, sizeof(path), &st, why, sizeof(why));
	if (fd < 0)
		return fd;
	rc = hash_fd(fd, &size, hex);
	close(fd);
	if (rc < 0)
		return rc;
	memmove(f->name, name, strlen(name) + 1); /* name may be f->name */
	f->size = f->stored = size;
	memcpy(f->sha256, hex, sizeof(hex));
	return 0;
}

int snap_file_verify_fd(int fd, const char *path, const struct snap_file *f,
			int hash, char *err, size_t errlen)
{
	char hex[65];
	struct stat st;
	uint64_t size;
	int rc;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size) {
		snprintf(err, errlen,
			 "%s: %" PRIu64 " bytes, the manifest says %" PRIu64
			 " (cut short: disk full or a killed save?)",
			 path, (uint64_t)st.st_size, f->size);
		return -EBADMSG;
	}
	if (!hash)
		return 0;
	rc = lseek(fd, 0, SEEK_SET) < 0 ? -errno : hash_fd(fd, &size, hex);
	if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (size != f->size || strcmp(hex, f->sha256)) {
		snprintf(err, errlen,
			 "%s: SHA-256 %s, the manifest says %s (the file "
			 "changed or is damaged)",
			 path, hex, f->sha256);
		return -EBADMSG;
	}
	return 0;
}

int snap_file_verify(const char *dir, const struct snap_file *f, int hash,
		     char *err, size_t errlen)
{
	char path[4200];
	struct stat st;
	int fd, rc;

	fd = safe_open_in(dir, f->name, path, sizeof(path), &st, err, errlen);
	if (fd < 0)
		return fd;
	rc = snap_file_verify_fd(fd, path, f, hash, err, errlen);
	close(fd);
	return rc;
}
