/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding this node's launchers of a step and talking to their control
 * sockets (ctl.h). A run directory counts only when it is a real
 * directory (not a link), owned by the caller and closed to everyone
 * else, as the launcher makes it; the socket is reached through the
 * opened directory, so a directory swapped after the check is not.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/launch_env.h"
#include "launcher/control/control.h"
#include "launcher/control/ctl.h"

/* Reads a decimal number ending at stop. Returns the position after
 * stop, or NULL. */
static const char *number(const char *p, char stop, unsigned long *v)
{
	char *end;

	if (*p < '0' || *p > '9')
		return NULL;
	errno = 0;
	*v = strtoul(p, &end, 10);
	if (errno || *end != stop)
		return NULL;
	return end + 1;
}

int ctl_parse_rundir(const char *name, unsigned long *job, unsigned long *step,
		     unsigned long *rank)
{
	const char *p = name;
	size_t i;

	if (strncmp(p, RUNDIR_PREFIX, strlen(RUNDIR_PREFIX)))
		return -EINVAL;
	p += strlen(RUNDIR_PREFIX);
	if (!(p = number(p, '.', job)) || !(p = number(p, '.', step)) ||
	    !(p = number(p, '.', rank)))
		return -EINVAL;
	for (i = 0; i < 6; i++) /* mkdtemp's XXXXXX */
		if (!p[i] || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
				     "OPQRSTUVWXYZ0123456789",
				     p[i]))
			return -EINVAL;
	return p[6] ? -EINVAL : 0;
}

int ctl_rank_in(const char *spec, unsigned long rank)
{
	const char *p = spec;
	unsigned long a, b;
	char *end;

	if (!strcmp(spec, "all"))
		return 1;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		a = b = strtoul(p, &end, 10);
		p = end;
		if (*p == '-') {
			p++;
			if (*p >= '0' && *p <= '9') {
				b = strtoul(p, &end, 10);
				p = end;
			} else {
				b = (unsigned long)-1;
			}
		}
		if (b < a || (*p && *p != ','))
			return -EINVAL;
		if (rank >= a && rank <= b)
			return 1;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	return p == spec ? -EINVAL : 0;
}

/* Opens rundir/name when it is the caller's own closed directory.
 * Returns the fd or -errno. */
static int open_own(int dfd, const char *name)
{
	struct stat a, b;
	int fd;

	if (fstatat(dfd, name, &a, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(a.st_mode) || a.st_uid != getuid() || (a.st_mode & 077))
		return -EPERM;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &b) < 0 || b.st_dev != a.st_dev || b.st_ino != a.st_ino) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int cmp_guest(const void *x, const void *y)
{
	const struct ctl_guest *a = x, *b = y;

	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

int ctl_find(const char *rundir, unsigned long job, long step,
	     const char *ranks, struct ctl_guest **out, size_t *n)
{
	struct ctl_guest *g = NULL, *more;
	unsigned long j, s, r;
	struct dirent *e;
	size_t cnt = 0;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	d = opendir(rundir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (ctl_parse_rundir(e->d_name, &j, &s, &r) < 0 || j != job ||
		    (step >= 0 && s != (unsigned long)step) ||
		    ctl_rank_in(ranks, r) != 1)
			continue;
		fd = open_own(dirfd(d), e->d_name);
		if (fd < 0)
			continue; /* not the caller's, or not a run directory */
		more = realloc(g, (cnt + 1) * sizeof(*g));
		if (!more) {
			close(fd);
			break;
		}
		g = more;
		g[cnt++] = (struct ctl_guest){.step = s, .rank = r, .dfd = fd};
	}
	closedir(d);
	if (g)
		qsort(g, cnt, sizeof(*g), cmp_guest);
	*out = g;
	*n = cnt;
	return 0;
}

void ctl_free(struct ctl_guest *g, size_t n)
{
	size_t i;

	for (i = 0; g && i < n; i++)
		if (g[i].dfd >= 0)
			close(g[i].dfd);
	free(g);
}

int ctl_dial(const struct ctl_guest *g)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, tries, rc = -EAGAIN;

	snprintf(a.sun_path, sizeof(a.sun_path),
		 "/proc/self/fd/%d/" CONTROL_SOCKET, g->dfd);
	/* A launcher whose backlog is full is asked again a little later;
	 * one that is not listening (ECONNREFUSED, ENOENT) is gone. */
	for (tries = 0; tries < 5 && rc == -EAGAIN; tries++) {
		if (tries)
			usleep(100000u << (tries - 1));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    fcntl(fd, F_SETFL, 0) == 0)
			return fd;
		rc = -errno;
		close(fd);
	}
	return rc;
}

/* Reads one line into a new buffer, waiting until until. */
static int read_line(int fd, char **line, long until)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	ssize_t n;

	for (;;) {
		struct pollfd q = {.fd = fd, .events = POLLIN};
		long left = until - now_ms();

		if (left <= 0 || poll(&q, 1, (int)left) != 1) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > CONTROL_OUT_MAX * 2 ||
			    !(p = realloc(buf, cap))) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = p;
		}
		n = read(fd, buf + len, 4096);
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EPIPE;
		}
		len += (size_t)n;
		buf[len] = 0;
		if ((p = memchr(buf, '\n', len))) {
			*p = 0;
			*line = buf;
			return 0;
		}
	}
}

static int ask_once(const struct ctl_guest *g, const char *request,
		    char **reply, long until)
{
	size_t n = strlen(request);
	int fd = ctl_dial(g), rc;

	*reply = NULL;
	if (fd < 0)
		return fd;
	if (write(fd, request, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = read_line(fd, reply, until);
	close(fd);
	return rc;
}

int ctl_ask(const struct ctl_guest *g, const char *request, char **reply,
	    int timeout_ms)
{
	long until = now_ms() + timeout_ms;
	int tries, rc = 0;

	/* A launcher with all its connections taken says busy: again. */
	for (tries = 0; tries < 4; tries++) {
		if (tries)
			usleep(200000u << (tries - 1));
		rc = ask_once(g, request, reply, until);
		if (rc < 0 || strncmp(*reply, "{\"error\": \"busy", 15))
			return rc;
		if (tries < 3) {
			free(*reply);
			*reply = NULL;
		}
	}
	return rc;
}
