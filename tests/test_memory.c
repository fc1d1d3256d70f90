/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest's memory saved and loaded by the launcher (memory.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/snapdir/manifest.h"
#include "launcher/boot/memory.h"
#include "launcher/save/restore.h"
#include "tap.h"

#define MB (1u << 20)

/* The copy-on-write path: memory_map_check(), and a private mapping of
 * the saved file written by its guest leaves the file as it was. */
static void map_checks(int in, const char *path, const struct snap_file *f)
{
	char err[512] = "", dir[128], *slash;
	struct snap_file g = {0};
	unsigned char *m;
	int rw, st;
	pid_t pid;

	ok(memory_map_check(in, path, f, 16, err, sizeof(err)) == 0,
	   "the saved memory may be mapped copy-on-write: %s", err);
	ok(memory_map_check(in, path, f, 8, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "the guest has 8388608"),
	   "not for a guest of another size (QEMU would resize it): %s", err);
	rw = open(path, O_RDWR | O_CLOEXEC);
	ok(memory_map_check(rw, path, f, 16, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "read-only"),
	   "nor through a descriptor open for writing: %s", err);
	close(rw);
	m = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE, in, 0);
	if (m != MAP_FAILED) {
		memset(m, 0xa5, 16 * MB);
		msync(m, 16 * MB, MS_SYNC);
		munmap(m, 16 * MB);
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	ok(m != MAP_FAILED && snap_file_hash(dir, slash + 1, &g) == 0 &&
	       !strcmp(g.sha256, f->sha256) && g.size == f->size,
	   "a copy-on-write mapping written whole leaves the file unchanged");
	/* Another user than root who made the file read-only: QEMU could
	 * not open it (it opens read-write), so it is refused first. */
	chmod(path, 0400);
	pid = fork();
	if (pid == 0) {
		int rc = seteuid(65534) < 0
			     ? 2
			     : memory_map_check(in, path, f, 16, err,
						sizeof(err)) == -EACCES &&
				   strstr(err, "chmod u+w");
		_exit(rc == 1 ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0,
	   "a file its owner may not write is refused, saying the fix");
	chmod(path, 0600);
}

/* restore_memory() chooses the path: a memfd given (the guest may be
 * saved again) is filled; none, the file's fd is handed out to map. */
static void restore_paths(int in, const char *path, const struct snap_file *f,
			  const unsigned char *want)
{
	static struct restore rs;
	char err[512] = "";
	unsigned char *q;
	int map = 7, fd;

	rs.fd[RS_MEMORY] = in;
	snprintf(rs.path[RS_MEMORY], sizeof(rs.path[RS_MEMORY]), "%s", path);
	rs.r.memory = *f;
	rs.r.mem_mb = 16;
	ok(restore_memory(&rs, -1, &map, err, sizeof(err)) == 0 && map == in,
	   "not to be saved again: the file's own fd is mapped: %s", err);
	fd = memory_create(16, err, sizeof(err));
	ok(restore_memory(&rs, fd, &map, err, sizeof(err)) == 0 && map == -1,
	   "to be saved again: read into the memfd, nothing mapped: %s", err);
	q = mmap(NULL, 16 * MB, PROT_READ, MAP_SHARED, fd, 0);
	ok(q != MAP_FAILED && memcmp(want, q, 16 * MB) == 0,
	   "and the memfd holds what was saved");
	if (q != MAP_FAILED)
		munmap(q, 16 * MB);
	close(fd);
	rs.r.mem_mb = 32;
	map = 7;
	ok(restore_memory(&rs, -1, &map, err, sizeof(err)) == -EBADMSG &&
	       map == -1 && strstr(err, "the guest has 33554432"),
	   "a manifest whose memory size is not the guest's: nothing to map: "
	   "%s",
	   err);
}

int main(void)
{
	char dir[] = "/tmp/test_memory.XXXXXX", path[128], err[512] = "";
	struct snap_file f = {0}, g = {0}, bad;
	unsigned char *p, *q;
	struct stat st;
	int fd, fd2, dfd, in, rc;

	if (!mkdtemp(dir))
		return 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 1;
	fd = memory_create(16, err, sizeof(err));
	ok(fd >= 0, "a 16 MiB memfd: %s", err);
	ok(fstat(fd, &st) == 0 && st.st_size == 16 * MB && st.st_blocks == 0,
	   "it has its size and uses no memory yet (%lld blocks)",
	   (long long)st.st_blocks);
	p = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	/* The guest wrote 1 MiB at 3 MiB and one page at 9 MiB; it touched
	 * (with zeros) 4 MiB at 12 MiB. */
	memset(p + 3 * MB, 0xa5, MB);
	memcpy(p + 9 * MB + 4096, "guest data", 10);
	memset(p + 12 * MB, 0, 4 * MB);

	snprintf(path, sizeof(path), "%s/rank-0.memory", dir);
	rc = memory_save(fd, 16 * MB, dfd, dir, "rank-0.memory", &f, err,
			 sizeof(err));
	ok(rc == 0, "saved: %s", err);
	ok(f.size == 16 * MB, "the file has the memory's size");
	ok(f.stored >= MB + 4096 && f.stored <= 2 * MB + 4 * MB,
	   "only the written data is stored, zero chunks are not (%llu "
	   "bytes)",
	   (unsigned long long)f.stored);
	ok(stat(path, &st) == 0 && (uint64_t)st.st_blocks * 512 <= 8 * MB,
	   "the file is sparse (%lld bytes on disk)",
	   (long long)st.st_blocks * 512);
	ok(snap_file_hash(dir, "rank-0.memory", &g) == 0 &&
	       !strcmp(g.sha256, f.sha256) && g.size == f.size,
	   "the checksum is the file's, read whole (holes as zeros)");
	ok(memory_save(fd, 16 * MB, dfd, dir, "rank-0.memory", &g, err,
		       sizeof(err)) == -EEXIST &&
	       stat(path, &st) == 0 && strstr(err, "rank-0.memory"),
	   "an existing file is never overwritten: %s", err);
	/* A link planted at the name (to a file of the victim's, say): the
	 * save refuses it and the link's target is not written. */
	{
		char target[128], link[128];
		struct stat t;

		snprintf(target, sizeof(target), "%s/target", dir);
		snprintf(link, sizeof(link), "%s/rank-1.memory", dir);
		close(open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		if (symlink(target, link) < 0)
			return 1;
		ok(memory_save(fd, 16 * MB, dfd, dir, "rank-1.memory", &g, err,
			       sizeof(err)) < 0 &&
		       stat(target, &t) == 0 && t.st_size == 0,
		   "a symbolic link at the name is refused, its target "
		   "untouched: %s",
		   err);
	}
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return 1;

	fd2 = memory_create(16, err, sizeof(err));
	err[0] = 0;
	rc = memory_load(fd2, in, path, &f, err, sizeof(err));
	ok(rc == 0, "loaded into a new memfd: %s", err);
	/* Before reading it whole: reading a hole through a map fills it. */
	ok(fstat(fd2, &st) == 0 && (uint64_t)st.st_blocks * 512 <= 8 * MB,
	   "the holes stay holes (%lld bytes used)",
	   (long long)st.st_blocks * 512);
	q = mmap(NULL, 16 * MB, PROT_READ, MAP_SHARED, fd2, 0);
	ok(q != MAP_FAILED && memcmp(p, q, 16 * MB) == 0,
	   "the loaded memory is what was saved");
	munmap(q, 16 * MB);
	close(fd2);

	bad = f;
	bad.sha256[0] = bad.sha256[0] == '0' ? '1' : '0';
	fd2 = memory_create(16, err, sizeof(err));
	ok(memory_load(fd2, in, path, &bad, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "SHA-256") && strstr(err, "rank-0.memory"),
	   "a checksum that differs is refused, naming the file: %s", err);
	close(fd2);
	fd2 = memory_create(8, err, sizeof(err));
	ok(memory_load(fd2, in, path, &f, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "the guest has 8388608"),
	   "memory of another size is refused: %s", err);
	close(fd2);

	map_checks(in, path, &f);
	restore_paths(in, path, &f, p);

	ok(memory_save(fd, 16 * MB, dfd, dir, "../escape", &g, err,
		       sizeof(err)) == -EINVAL,
	   "a name with a slash is refused: %s", err);

	munmap(p, 16 * MB);
	close(in);
	close(dfd);
	close(fd);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return done_testing();
}
