/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A process's host CPU time from /proc, for "status" (control.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/control/control.h"

int control_parse_stat(const char *line, unsigned long long *ticks)
{
	const char *p = strrchr(line, ')');
	unsigned long long ut, st;
	int field;

	if (!p)
		return -EPROTO;
	/* After the name: state (field 3) ... utime (14), stime (15). */
	p++;
	for (field = 2; field < 14 && *p; p++)
		if (*p == ' ')
			field++;
	if (field != 14 || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return -EPROTO;
	*ticks = ut + st;
	return 0;
}

int control_cpu_time(pid_t pid, double *seconds)
{
	char path[64], line[1024];
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, line, sizeof(line) - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	line[n] = 0;
	rc = control_parse_stat(line, &ticks);
	if (rc < 0)
		return rc;
	*seconds = (double)ticks / (double)(hz > 0 ? hz : 100);
	return 0;
}
