/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "launcher/common/file_tail.h"
#include "launcher/common/safefile.h"

void file_tail(const char *file, int max_lines, char *buf, size_t len)
{
	char chunk[4096];
	ssize_t n = 0;
	/* Never blocks on a FIFO another user put in the console's place. */
	int fd = safe_open_path(file, 0, NULL, chunk, sizeof(chunk)), lines = 0;
	off_t size;
	char *start;
	size_t used = strlen(buf);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0) {
		off_t from = size > (off_t)sizeof(chunk) - 1
				 ? size - (off_t)sizeof(chunk) + 1
				 : 0;
		n = pread(fd, chunk, sizeof(chunk) - 1, from);
	}
	close(fd);
	if (n <= 0)
		return;
	chunk[n] = 0;
	/* Walk back over max_lines newlines, ignoring a final one. */
	start = chunk + n;
	if (start > chunk && start[-1] == '\n')
		start--;
	while (start > chunk && lines < max_lines)
		if (*--start == '\n')
			lines++;
	if (*start == '\n')
		start++;
	for (; *start && used + 1 < len; start++) {
		/* Console bytes come from the guest: keep them printable. */
		unsigned char ch = (unsigned char)*start;

		buf[used++] =
		    (ch == '\n' || ch == '\t' || (ch >= 32 && ch < 127))
			? (char)ch
			: '?';
	}
	buf[used] = 0;
}
