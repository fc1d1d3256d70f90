/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One rank's evidence for --vm-keep (keep.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/boot/keep.h"
#include "launcher/common/safefile.h"

int keep_path(const char *pattern, unsigned long job, unsigned long step,
	      char *buf, size_t len)
{
	size_t n = 0;
	const char *p;
	int w;

	if (pattern[0] != '/') {
		if (!getcwd(buf, len))
			return -ENAMETOOLONG;
		n = strlen(buf);
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		if (n > 1)
			buf[n++] = '/';
	}
	for (p = pattern; *p; p++) {
		if (*p != '%') {
			w = snprintf(buf + n, len - n, "%c", *p);
		} else if (p[1] == 'j' || p[1] == 's') {
			w = snprintf(buf + n, len - n, "%lu",
				     *++p == 'j' ? job : step);
		} else if (p[1] == '%') {
			w = snprintf(buf + n, len - n, "%%");
			p++;
		} else {
			return -EINVAL;
		}
		if (w < 0 || (size_t)w >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	buf[n] = 0;
	return 0;
}

/* dir made when missing, opened: the user's own directory, no link. */
static int open_results(const char *dir, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dir, '/'), *base;
	int pfd, fd;

	if (dir[0] != '/' || !slash || !slash[1] ||
	    strlen(dir) >= sizeof(parent)) {
		snprintf(err, errlen, "%s: not an absolute directory name",
			 dir);
		return -EINVAL;
	}
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
	if (!parent[0])
		strcpy(parent, "/");
	base = slash + 1;
	/* Where the user pointed: links on the way are theirs. */
	pfd = safe_open(AT_FDCWD, NULL, parent,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, err,
			errlen);
	if (pfd < 0)
		return pfd;
	/* Every rank of the step makes it: one that exists is checked. */
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
		fd = -errno;
		snprintf(err, errlen, "cannot create %s: %s", dir,
			 strerror(errno));
	} else {
		fd = safe_open(pfd, parent, base, SAFE_DIR, NULL, err, errlen);
	}
	close(pfd);
	return fd;
}

static int write_all(int fd, const char *show, const void *buf, size_t len,
		     char *err, size_t errlen)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			snprintf(err, errlen, "%s: %s", show, strerror(errno));
			return rc;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new file name in rfd (the rank's directory rdir) holding text. */
static int put_text(int rfd, const char *rdir, const char *name,
		    const char *text, char *err, size_t errlen)
{
	char show[PATH_MAX + 32];
	int fd = safe_create(rfd, rdir, name, O_WRONLY, 0600, 0, err, errlen);
	int rc;

	if (fd < 0)
		return fd;
	safe_describe(show, sizeof(show), rdir, name);
	rc = write_all(fd, show, text, strlen(text), err, errlen);
	close(fd);
	return rc;
}

/* A copy of the console log or the capture as name: the user's own file,
 * never through a link (a missing one, from a guest that never started,
 * is no error). */
static int put_copy(int rfd, const char *rdir, const char *console,
		    const char *name, char *err, size_t errlen)
{
	char buf[65536], show[PATH_MAX + 32];
	int in, out, rc = 0;
	ssize_t n;

	in = safe_open_path(console, 0, NULL, err, errlen);
	if (in == -ENOENT)
		return 0;
	if (in < 0)
		return in;
	out = safe_create(rfd, rdir, name, O_WRONLY, 0600, 0, err, errlen);
	if (out < 0) {
		close(in);
		return out;
	}
	safe_describe(show, sizeof(show), rdir, name);
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", console,
				 strerror(errno));
			break;
		}
		rc = write_all(out, show, buf, (size_t)n, err, errlen);
	}
	close(in);
	close(out);
	return rc;
}

static int put_stats(int rfd, const char *rdir, const struct keep_evidence *e,
		     char *err, size_t errlen)
{
	int fd = safe_create(rfd, rdir, "stats.json", O_WRONLY, 0600, 0, err,
			     errlen);
	int rc;

	if (fd < 0)
		return fd;
	rc = fabric_stats_write_json(e->stats, (uint32_t)e->rank, fd);
	if (rc < 0)
		snprintf(err, errlen, "%s/stats.json: %s", rdir, strerror(-rc));
	close(fd);
	return rc;
}

int keep_write(const char *dir, const struct keep_evidence *e, char *err,
	       size_t errlen)
{
	char name[32], rdir[PATH_MAX + 32], status[96];
	int dfd, rfd, rc;

	dfd = open_results(dir, err, errlen);
	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "n%04lu", e->rank);
	rfd = safe_mkdir(dfd, dir, name, 0700, err, errlen);
	close(dfd);
	if (rfd < 0)
		return rfd;
	snprintf(rdir, sizeof(rdir), "%s/%s", dir, name);
	if (e->timed_out)
		snprintf(status, sizeof(status),
			 "timeout after %lu s (exit %d)\n", e->timeout,
			 e->code);
	else
		snprintf(status, sizeof(status), "exit %d\n", e->code);
	rc = put_text(rfd, rdir, "status", status, err, errlen);
	if (!rc && e->console)
		rc =
		    put_copy(rfd, rdir, e->console, "console.log", err, errlen);
	if (!rc && e->capture)
		rc = put_copy(rfd, rdir, e->capture, "capture.pcap", err,
			      errlen);
	if (!rc && e->out)
		rc = put_text(rfd, rdir, "stdout.tail", e->out, err, errlen);
	if (!rc && e->err)
		rc = put_text(rfd, rdir, "stderr.tail", e->err, err, errlen);
	if (!rc && e->stats)
		rc = put_stats(rfd, rdir, e, err, errlen);
	close(rfd);
	return rc;
}
