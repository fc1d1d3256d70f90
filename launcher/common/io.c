/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing with a deadline, reading a file whole (io.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/io.h"

int write_until(int fd, const uint8_t *p, size_t n, long until)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		long left;

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		left = until - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)left);
	}
	return 0;
}

int read_regular(int fd, size_t max, char **text, size_t *len)
{
	struct stat st;
	size_t size, off = 0;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	buf[off] = 0;
	*text = buf;
	*len = off;
	return 0;
}
