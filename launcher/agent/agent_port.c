/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding the agent's virtio-serial port (agent_port.h). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/agent/agent_port.h"
#include "launcher/agent/agent_proto.h"

/* Returns an open fd on the agent port, or -1 after about 30 s. */
int agent_open_port(void)
{
	char path[512], name[64];
	int tries, fd = -1;

	for (tries = 0; tries < 300 && fd < 0; tries++) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *e;

		while (d && (e = readdir(d)) && fd < 0) {
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
				 "/sys/class/virtio-ports/%s/name", e->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(name, sizeof(name), f) &&
			    !strncmp(name, AGENT_PORT_NAME,
				     strlen(AGENT_PORT_NAME)) &&
			    (name[strlen(AGENT_PORT_NAME)] == '\n' ||
			     !name[strlen(AGENT_PORT_NAME)])) {
				snprintf(path, sizeof(path), "/dev/%s",
					 e->d_name);
				fd = open(path, O_RDWR | O_CLOEXEC);
			}
			fclose(f);
		}
		if (d)
			closedir(d);
		if (fd < 0)
			usleep(100 * 1000);
	}
	return fd;
}
