/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The common layer's I/O: a file read whole and bounded, a write with a
 * deadline. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/io.h"
#include "tap.h"

static int open_new(const char *path, const char *text)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd >= 0 && text)
		ok(write(fd, text, strlen(text)) == (ssize_t)strlen(text),
		   "written: %s", path);
	return fd;
}

static void test_read_regular(const char *dir)
{
	char path[4096], *text = NULL;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open_new(path, "hello\n");
	lseek(fd, 0, SEEK_SET);
	ok(read_regular(fd, 6, &text, &len) == 0 && len == 6 && text &&
	       !strcmp(text, "hello\n"),
	   "a file of exactly max bytes is read whole, NUL terminated");
	free(text);
	text = NULL;
	lseek(fd, 0, SEEK_SET);
	ok(read_regular(fd, 5, &text, &len) == -EFBIG && !text,
	   "one byte over max: -EFBIG, nothing allocated");
	close(fd);

	fd = open_new(path, NULL);
	ok(read_regular(fd, 0, &text, &len) == 0 && len == 0 && text && !*text,
	   "an empty file is an empty string");
	free(text);
	text = NULL;
	close(fd);

	snprintf(path, sizeof(path), "%s/fifo", dir);
	ok(mkfifo(path, 0600) == 0, "a FIFO is made");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ok(read_regular(fd, 1024, &text, &len) == -EINVAL && !text,
	   "a FIFO is refused at once, not waited on");
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(read_regular(fd, 1024, &text, &len) == -EINVAL,
	   "a directory is refused");
	close(fd);
	ok(read_regular(-1, 1024, &text, &len) == -EBADF,
	   "a bad descriptor: -EBADF");
}

static void test_write_until(void)
{
	static uint8_t big[1 << 20];
	int sv[2];
	long t0;

	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0,
	   "a socket pair");
	ok(write_until(sv[0], (const uint8_t *)"ab", 2, now_ms() + 1000) == 0,
	   "a short write ends at once");
	t0 = now_ms();
	ok(write_until(sv[0], big, sizeof(big), now_ms() + 300) == -ETIMEDOUT,
	   "a peer that never reads: -ETIMEDOUT");
	ok(now_ms() - t0 >= 250 && now_ms() - t0 < 5000,
	   "after the deadline, not before it nor much later (%ld ms)",
	   now_ms() - t0);
	close(sv[1]);
	ok(write_until(sv[0], big, 1, now_ms() + 1000) == -EPIPE,
	   "a peer gone: -EPIPE");
	close(sv[0]);
}

int main(void)
{
	char dir[] = "/tmp/test_io.XXXXXX";
	char cmd[64];

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		return 1;
	test_read_regular(dir);
	test_write_until();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
