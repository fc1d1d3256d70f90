/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's image cache (launcher/boot/image_cache.h) on scratch files:
 * four tasks at once make one copy, a second use copies nothing, a changed
 * source is copied again, eviction spares an entry in use, and the
 * attacks of another user (links, FIFOs, directories of theirs) and a
 * lock holder that never finishes are survived.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/boot/image_cache.h"
#include "launcher/common/clock.h"
#include "tap.h"

static char base[64];
static int waits; /* calls of the waiting callback */

static void on_wait(void *arg, const char *src, unsigned long long done,
		    unsigned long long size)
{
	(void)arg;
	(void)src;
	(void)done;
	(void)size;
	waits++;
}

/* path: size bytes of a pattern that depends on seed (never zeros). */
static void make_source(const char *path, size_t size, int seed)
{
	char *buf = malloc(size);
	size_t i;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	for (i = 0; i < size; i++)
		buf[i] = (char)(1 + (i * 7 + (size_t)seed * 13) % 251);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
		perror("make_source");
	close(fd);
	free(buf);
}

static int same_content(const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

/* How many names in dir end with suffix; the last one into name. */
static int count(const char *dir, const char *suffix, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = strlen(suffix);
	int c = 0;

	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > n && !strcmp(e->d_name + l - n, suffix)) {
			c++;
			if (name)
				snprintf(name, len, "%s", e->d_name);
		}
	}
	if (d)
		closedir(d);
	return c;
}

static void new_cache(char *dir, size_t len, const char *name, mode_t mode)
{
	snprintf(dir, len, "%s/%s", base, name);
	mkdir(dir, 0755);
	chmod(dir, mode);
}

static struct image_cache cache_at(const char *dir, long wait_ms)
{
	struct image_cache ic = {.dir = dir,
				 .max = 1ULL << 30,
				 .wait_ms = wait_ms,
				 .waiting = on_wait};
	return ic;
}

/* Four processes at once on one source: exactly one copies. */
static void four_at_once(const char *dir, const char *src, char *udir,
			 size_t len)
{
	struct image_cache ic = cache_at(dir, 20000);
	int go[2], i, copied = 0, hit = 0, waited = 0, st;
	pid_t pid[4];

	if (pipe(go) < 0)
		return;
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct image_cache_entry e;
			char c, err[1024];
			int how;

			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(99);
			how = image_cache_get(&ic, src, &e, err, sizeof(err));
			if (err[0])
				fprintf(stderr, "# child: %s\n", err);
			_exit(how < 0 ? 99 : how + 10 * e.waited);
		}
	}
	close(go[0]);
	close(go[1]); /* all of them go */
	for (i = 0; i < 4; i++) {
		if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st))
			continue;
		copied += WEXITSTATUS(st) % 10 == IMAGE_CACHE_COPIED;
		hit += WEXITSTATUS(st) % 10 == IMAGE_CACHE_HIT;
		waited += WEXITSTATUS(st) / 10 == 1;
	}
	ok(copied == 1 && hit == 3,
	   "four tasks at once: one copied, three used its copy (copied %d, "
	   "hit %d, %d of them waited)",
	   copied, hit, waited);
	/* How many waited depends on the scheduler (a late one finds the
	 * entry published); waiting itself is tested in attacks(). */
	snprintf(udir, len, "%s/%lu", dir, (unsigned long)geteuid());
	ok(count(udir, ".img", NULL, 0) == 1 &&
	       count(udir, ".part", NULL, 0) == 0,
	   "one entry, no part left");
}

static void reuse_and_change(const char *dir, const char *src, const char *udir)
{
	struct image_cache ic = cache_at(dir, 5000);
	struct image_cache_entry e, f;
	struct timespec t[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
	char err[1024], first[PATH_MAX];
	int how;

	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_HIT && !e.waited && e.fd >= 0 &&
	       !strncmp(e.path, udir, strlen(udir)),
	   "a second use finds the entry, copies nothing: %s", e.path);
	ok(same_content(e.path, src), "the entry holds the source's bytes");
	snprintf(first, sizeof(first), "%s", e.path);
	image_cache_put(&e);

	make_source(src, 3 << 20, 2); /* rewritten in place: new size */
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_COPIED && strcmp(e.path, first) &&
	       same_content(e.path, src),
	   "a rewritten source is copied again, under a new key");
	image_cache_put(&e);
	/* Same size, only the mtime changes (a touch). */
	utimensat(AT_FDCWD, src, t, 0);
	how = image_cache_get(&ic, src, &f, err, sizeof(err));
	ok(how == IMAGE_CACHE_COPIED && strcmp(f.path, e.path),
	   "a touched source (new mtime) is copied again");
	image_cache_put(&f);
}

/* An entry held by another process survives eviction; an idle one goes. */
static void eviction(const char *dir)
{
	struct image_cache ic = cache_at(dir, 5000);
	char a[300], b[300], c[300], err[1024], pb[PATH_MAX], pa[PATH_MAX];
	struct image_cache_entry e;
	int hold[2], done[2], st;
	pid_t pid;
	char x;

	snprintf(a, sizeof(a), "%s/a.img", base);
	snprintf(b, sizeof(b), "%s/b.img", base);
	snprintf(c, sizeof(c), "%s/c.img", base);
	make_source(a, 4 << 20, 3);
	make_source(b, 4 << 20, 4);
	make_source(c, 4 << 20, 5);
	if (pipe(hold) < 0 || pipe(done) < 0)
		return;
	pid = fork();
	if (pid == 0) { /* holds a's entry until told */
		close(hold[0]);
		close(done[1]);
		image_cache_get(&ic, a, &e, err, sizeof(err));
		if (write(hold[1], e.path, strlen(e.path) + 1) < 0 ||
		    read(done[0], &x, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(hold[1]);
	close(done[0]);
	memset(pa, 0, sizeof(pa));
	if (read(hold[0], pa, sizeof(pa) - 1) <= 0)
		pa[0] = 0;
	image_cache_get(&ic, b, &e, err, sizeof(err));
	snprintf(pb, sizeof(pb), "%s", e.path);
	image_cache_put(&e); /* b: idle, and older than c */
	usleep(20000);
	ic.max = 9 << 20; /* room for two of the three */
	image_cache_get(&ic, c, &e, err, sizeof(err));
	ok(e.how == IMAGE_CACHE_COPIED && access(pb, F_OK) < 0 &&
	       access(pa, F_OK) == 0 && access(e.path, F_OK) == 0,
	   "above the limit the idle entry went; the one in use and the new "
	   "one stayed (%s)",
	   err[0] ? err : "no message");
	ic.max = 1 << 20; /* room for none */
	ok(image_cache_evict(&ic, err, sizeof(err)) == 0 &&
	       access(pa, F_OK) == 0 && access(e.path, F_OK) == 0,
	   "even far above the limit, entries in use are never removed");
	image_cache_put(&e);
	ok(image_cache_evict(&ic, err, sizeof(err)) == 1 &&
	       access(e.path, F_OK) < 0 && access(pa, F_OK) == 0,
	   "released, the entry can go; the other process's still stays");
	if (write(done[1], "x", 1) < 0)
		return;
	waitpid(pid, &st, 0);
	ok(image_cache_evict(&ic, err, sizeof(err)) == 1 &&
	       access(pa, F_OK) < 0,
	   "once that process has gone, its entry can go too");
}

/* A planted name in place of the entry: never used, replaced. */
static void planted_entry(const char *src, const char *kind)
{
	char dir[300], udir[400], name[256], img[700], err[1024];
	char decoy[300];
	struct image_cache ic;
	struct image_cache_entry e;
	int how;

	new_cache(dir, sizeof(dir), kind, 01777);
	ic = cache_at(dir, 3000);
	image_cache_get(&ic, src, &e, err, sizeof(err));
	image_cache_put(&e);
	snprintf(udir, sizeof(udir), "%s/%lu", dir, (unsigned long)geteuid());
	count(udir, ".img", name, sizeof(name));
	snprintf(img, sizeof(img), "%s/%s", udir, name);
	snprintf(decoy, sizeof(decoy), "%s/decoy-%s", base, kind);
	make_source(decoy, 3 << 20, 9); /* the source's size, other bytes */
	unlink(img);
	if (!strcmp(kind, "fifo"))
		mkfifo(img, 0600);
	else if (!strcmp(kind, "symlink"))
		symlink(decoy, img);
	else
		link(decoy, img);
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_COPIED && same_content(e.path, src),
	   "an entry that is a %s is never used: copied again over it", kind);
	image_cache_put(&e);
}

static void attacks(const char *src)
{
	struct image_cache ic;
	struct image_cache_entry e;
	char dir[300], udir[400], err[1024], name[256], lock[700], part[700];
	long t0;
	int how, st;
	pid_t pid;

	new_cache(dir, sizeof(dir), "linked", 01777);
	snprintf(udir, sizeof(udir), "%s/%lu", dir, (unsigned long)geteuid());
	symlink(base, udir);
	ic = cache_at(dir, 3000);
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_ORIGINAL && !strcmp(e.path, src) &&
	       strstr(err, "symbolic link"),
	   "DIR/<uid> a symbolic link: the source is used as it is: %s", err);

	new_cache(dir, sizeof(dir), "open", 0777);
	ic = cache_at(dir, 3000);
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_ORIGINAL && strstr(err, "without the sticky bit"),
	   "DIR writable by all without the sticky bit is refused: %s", err);

	if (geteuid() == 0) {
		new_cache(dir, sizeof(dir), "theirs", 01777);
		snprintf(udir, sizeof(udir), "%s/0", dir);
		mkdir(udir, 0700);
		chown(udir, 12345, 12345);
		ic = cache_at(dir, 3000);
		how = image_cache_get(&ic, src, &e, err, sizeof(err));
		ok(how == IMAGE_CACHE_ORIGINAL && strstr(err, "another user"),
		   "DIR/<uid> owned by another uid is refused: %s", err);
	} else {
		ok(1, "# SKIP DIR/<uid> of another uid needs root");
	}
	planted_entry(src, "fifo");
	planted_entry(src, "symlink");
	planted_entry(src, "hardlink");

	/* The lock file a FIFO: refused without blocking. */
	new_cache(dir, sizeof(dir), "lockfifo", 01777);
	ic = cache_at(dir, 3000);
	image_cache_get(&ic, src, &e, err, sizeof(err));
	image_cache_put(&e);
	snprintf(udir, sizeof(udir), "%s/%lu", dir, (unsigned long)geteuid());
	count(udir, ".lock", name, sizeof(name));
	snprintf(lock, sizeof(lock), "%s/%s", udir, name);
	unlink(lock);
	mkfifo(lock, 0600);
	ic.max = 1; /* every entry goes: the next get must lock */
	image_cache_evict(&ic, err, sizeof(err));
	ic.max = 1ULL << 30;
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	ok(how == IMAGE_CACHE_ORIGINAL && strstr(err, "not a regular file"),
	   "a lock file that is a FIFO: the source is used as it is: %s", err);

	/* A lock holder that never finishes: the waiter gives up. */
	unlink(lock);
	pid = fork();
	if (pid == 0) {
		int fd = open(lock, O_RDWR | O_CREAT, 0600);

		flock(fd, LOCK_EX);
		pause();
		_exit(0);
	}
	usleep(200000);
	waits = 0;
	ic.wait_ms = 1000;
	t0 = now_ms();
	how = image_cache_get(&ic, src, &e, err, sizeof(err));
	t0 = now_ms() - t0;
	ok(how == IMAGE_CACHE_ORIGINAL && !strcmp(e.path, src) && e.waited &&
	       waits == 1 && t0 >= 1000 && t0 < 4000 &&
	       strstr(err, "did not end within 1 s"),
	   "a holder that never finishes: the waiter said so once and gave "
	   "up at its deadline (%ld ms): %s",
	   t0, err);
	/* A copy under way (its lock held) keeps its part; one whose task
	 * died loses it at the next eviction. */
	snprintf(part, sizeof(part), "%.*s.part", (int)(strlen(lock) - 5),
		 lock);
	close(open(part, O_WRONLY | O_CREAT, 0600));
	ok(image_cache_evict(&ic, err, sizeof(err)) == 0 &&
	       access(part, F_OK) == 0,
	   "eviction leaves the part of a copy under way");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ok(image_cache_evict(&ic, err, sizeof(err)) == 0 &&
	       access(part, F_OK) < 0,
	   "and removes it once its task is gone");
}

static void other_sources(const char *dir, const char *udir)
{
	struct image_cache ic = cache_at(dir, 3000);
	struct image_cache_entry e;
	char err[1024], q[300], inside[600];
	unsigned char h[80] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
	int fd;

	snprintf(inside, sizeof(inside), "%s/own.img", udir);
	make_source(inside, 1 << 20, 6);
	ok(image_cache_get(&ic, inside, &e, err, sizeof(err)) ==
		   IMAGE_CACHE_ORIGINAL &&
	       !err[0] && !strcmp(e.path, inside),
	   "a source inside the cache is used where it is, silently");
	snprintf(q, sizeof(q), "%s/over.qcow2", base);
	h[15] = 0x80; /* a backing file name at offset 128 */
	fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		perror(q);
	close(fd);
	ok(image_cache_get(&ic, q, &e, err, sizeof(err)) ==
		   IMAGE_CACHE_ORIGINAL &&
	       strstr(err, "a qcow2 image over other files"),
	   "a qcow2 image with a backing file is not copied: %s", err);
	ic.max = 1 << 19;
	ok(image_cache_get(&ic, inside, &e, err, sizeof(err)) ==
	       IMAGE_CACHE_ORIGINAL,
	   "a source larger than the limit is used where it is");
	ok(image_cache_get(&ic, "/nonexistent/x.img", &e, err, sizeof(err)) <
		   0 &&
	       strstr(err, "x.img"),
	   "a source that cannot be opened is an error: %s", err);
}

int main(void)
{
	char dir[300], src[300], udir[400], cmd[400];

	alarm(120);
	snprintf(base, sizeof(base), "/tmp/test_image_cache.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	chmod(base, 0755);
	snprintf(src, sizeof(src), "%s/source.img", base);
	make_source(src, 48 << 20, 1);
	new_cache(dir, sizeof(dir), "cache", 01777);
	four_at_once(dir, src, udir, sizeof(udir));
	reuse_and_change(dir, src, udir);
	other_sources(dir, udir);
	new_cache(dir, sizeof(dir), "evict", 01777);
	eviction(dir);
	attacks(src);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", base);
	return done_testing();
}
