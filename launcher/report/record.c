/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A launcher's rank record for the step's report (report.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/common/safefile.h"
#include "launcher/report/report.h"

int report_record_write(const char *dir, const struct report_case *c, char *err,
			size_t errlen)
{
	char name[64], *text = report_case_format(c);
	size_t len;
	int dfd, fd, rc = 0;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	len = strlen(text);
	snprintf(name, sizeof(name), "rank-%" PRIu32 ".json", c->rank);
	/* srun made dir for this step: the user's own, never a link. */
	dfd = safe_open_path(dir, SAFE_DIR, NULL, err, errlen);
	fd = dfd < 0
		 ? dfd
		 : safe_create(dfd, dir, name, O_WRONLY, 0600, 0, err, errlen);
	if (fd >= 0) {
		if (write(fd, text, len) != (ssize_t)len) {
			rc = -EIO;
			snprintf(err, errlen, "%s/%s: short write", dir, name);
		}
		close(fd);
	} else {
		rc = fd;
	}
	if (dfd >= 0)
		close(dfd);
	free(text);
	return rc;
}
