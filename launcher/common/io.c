/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing with a deadline (io.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
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
