/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "launcher/agent/agent_fresh.h"

/* rand_pool_info with room for the seed. */
struct pool_entry {
	int entropy_count;
	int buf_size;
	uint8_t buf[AGENT_FRESH_SEED];
};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fail(int rc, char *why, size_t len, const char *what)
{
	snprintf(why, len, "%s: %s", what, strerror(-rc));
	return rc;
}

int agent_fresh_machine_id(const char *dir, const char *id, char *why,
			   size_t len)
{
	char path[512], tmp[520], text[AGENT_MACHINE_ID_LEN + 2];
	int fd, rc;

	if (strlen(id) != AGENT_MACHINE_ID_LEN)
		return fail(-EINVAL, why, len, "machine-id");
	snprintf(text, sizeof(text), "%s\n", id);
	snprintf(path, sizeof(path), "%s/machine-id", dir);
	snprintf(tmp, sizeof(tmp), "%s/.machine-id.new", dir);
	unlink(tmp); /* a leftover of ours, or a link: never written through */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0444);
	if (fd >= 0) {
		rc = write_all(fd, text, strlen(text));
		if (close(fd) < 0 && !rc)
			rc = -errno;
		if (!rc && rename(tmp, path) == 0)
			return 0;
		unlink(tmp);
	}
	/* A machine-id bind-mounted by the guest's init cannot be replaced:
	 * written in place, never through a link. */
	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(-errno, why, len, path);
	rc = write_all(fd, text, strlen(text));
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc < 0 ? fail(rc, why, len, path) : 0;
}

/* Mixes the seed into the kernel's pool; root credits it as entropy. */
static int reseed(const struct agent_fresh *f, char *why, size_t len)
{
	struct pool_entry e = {.entropy_count = AGENT_FRESH_SEED * 8,
			       .buf_size = AGENT_FRESH_SEED};
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return fail(-errno, why, len, "/dev/urandom");
	rc = write_all(fd, f->seed, sizeof(f->seed));
	memcpy(e.buf, f->seed, sizeof(e.buf));
	if (!rc && geteuid() == 0 && ioctl(fd, RNDADDENTROPY, &e) < 0)
		rc = -errno;
	close(fd);
	memset(&e, 0, sizeof(e));
	return rc < 0 ? fail(rc, why, len, "reseeding the random pool") : 0;
}

int agent_fresh_apply(const struct agent_fresh *f, char *why, size_t len)
{
	struct timespec ts = {.tv_sec = (time_t)f->sec,
			      .tv_nsec = (long)f->nsec};
	char w[256];
	int rc = 0, r;

	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		rc = fail(-errno, why, len, "setting the clock");
	r = reseed(f, w, sizeof(w));
	if (r < 0 && !rc) {
		snprintf(why, len, "%s", w);
		rc = r;
	}
	r = agent_fresh_machine_id("/etc", f->machine_id, w, sizeof(w));
	if (r < 0 && !rc) {
		snprintf(why, len, "%s", w);
		rc = r;
	}
	return rc;
}

static int random_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = getrandom(b, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int agent_fresh_send(int fd, char *why, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct agent_fresh f = {0};
	uint8_t id[AGENT_MACHINE_ID_LEN / 2], p[AGENT_FRESH_LEN];
	struct timespec ts;
	size_t i;
	int rc = random_bytes(f.seed, sizeof(f.seed));

	if (!rc)
		rc = random_bytes(id, sizeof(id));
	if (rc < 0)
		return fail(rc, why, len, "getrandom");
	id[sizeof(id) - 1] |= 1; /* never all zero */
	for (i = 0; i < sizeof(id); i++) {
		f.machine_id[2 * i] = hex[id[i] >> 4];
		f.machine_id[2 * i + 1] = hex[id[i] & 15];
	}
	/* Taken last: the guest sets what the host's clock says now. */
	clock_gettime(CLOCK_REALTIME, &ts);
	f.sec = (uint64_t)ts.tv_sec;
	f.nsec = (uint32_t)ts.tv_nsec;
	rc = agent_fresh_encode(p, &f);
	if (!rc)
		rc = agent_send(fd, AGENT_FRESH, p, sizeof(p));
	memset(&f, 0, sizeof(f));
	memset(p, 0, sizeof(p));
	return rc < 0 ? fail(rc, why, len, "sending FRESH to the guest") : 0;
}
