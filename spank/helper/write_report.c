/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The step's report, written when srun ends (report.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/parse.h"
#include "launcher/common/safefile.h"
#include "launcher/report/report.h"
#include "spank/helper/write_report.h"

/* Largest step a report covers (one test case per rank). */
#define REPORT_RANKS_MAX 65536

/* Rank r's record from dfd (DIR), or a lost case saying why not. */
static void read_case(int dfd, const char *dir, uint32_t r,
		      struct report_case *c)
{
	char name[64], why[512], text[REPORT_RECORD_MAX + 1];
	ssize_t n = -1;
	int fd;

	snprintf(name, sizeof(name), "rank-%" PRIu32 ".json", r);
	fd = safe_open(dfd, dir, name, 0, NULL, why, sizeof(why));
	if (fd >= 0) {
		n = read(fd, text, sizeof(text));
		close(fd);
	}
	if (n >= 0 && n <= REPORT_RECORD_MAX &&
	    report_case_parse(text, (size_t)n, c, why, sizeof(why)) == 0 &&
	    c->rank == r)
		return;
	if (fd >= 0 && (n < 0 || n > REPORT_RECORD_MAX))
		printf("%s/%s: unreadable or too long\n", dir, name);
	else if (fd >= 0)
		printf("%s/%s: %s\n", dir, name,
		       c->rank == r ? why : "another rank's record");
	memset(c, 0, sizeof(*c));
	c->rank = r;
	c->lost = 1;
}

/* Writes the report to path: a new file beside it, renamed into place. */
static int write_report(const char *path, enum report_format format,
			const char *suite, long start,
			const struct report_case *cases, size_t n)
{
	char copy[PATH_MAX], tmp[NAME_MAX], why[512], *dir, *base;
	unsigned long long salt = 0;
	int dfd, fd, rc;
	FILE *f;

	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	base = strrchr(copy, '/');
	if (!base || !base[1])
		return -EINVAL;
	*base++ = 0;
	dir = copy[0] ? copy : "/";
	dfd = safe_open(AT_FDCWD, NULL, dir,
			SAFE_DIR | SAFE_FOLLOW | SAFE_ANY_OWNER, NULL, why,
			sizeof(why));
	if (dfd < 0) {
		printf("%s\n", why);
		return dfd;
	}
	if (getrandom(&salt, sizeof(salt), 0) < 0)
		salt = (unsigned long long)getpid();
	snprintf(tmp, sizeof(tmp), ".%.200s.%llx", base, salt);
	fd = safe_create(dfd, dir, tmp, O_WRONLY, 0644, 0, why, sizeof(why));
	if (fd < 0) {
		printf("%s\n", why);
		close(dfd);
		return fd;
	}
	f = fdopen(fd, "w");
	rc = f ? report_write(f, format, suite, start, cases, n) : -ENOMEM;
	if (rc == 0 && fsync(fileno(f)) < 0)
		rc = -errno;
	if (f ? fclose(f) : close(fd))
		rc = rc ?: -EIO;
	if (rc == 0 && renameat(dfd, tmp, dfd, base) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, tmp, 0);
		printf("cannot write %s: %s\n", path, strerror(-rc));
	}
	close(dfd);
	return rc;
}

int helper_report(int ac, char **av)
{
	struct report_case *cases;
	enum report_format format;
	unsigned long ntasks, start;
	size_t i, failed = 0;
	char why[512];
	int dfd, rc;

	if (ac != 6 || (strcmp(av[0], "junit") && strcmp(av[0], "tap")) ||
	    av[1][0] != '/' || av[2][0] != '/' ||
	    parse_count(av[5], REPORT_RANKS_MAX, &ntasks) < 0 ||
	    parse_number(av[4], LONG_MAX, &start) < 0)
		return 2;
	format = strcmp(av[0], "junit") ? REPORT_TAP : REPORT_JUNIT;
	cases = calloc(ntasks, sizeof(*cases));
	if (!cases)
		return 1;
	/* DIR is the records directory srun made: the user's own. */
	dfd = safe_open_path(av[2], SAFE_DIR, NULL, why, sizeof(why));
	if (dfd < 0)
		printf("%s\n", why);
	for (i = 0; i < ntasks; i++) {
		if (dfd >= 0) {
			read_case(dfd, av[2], (uint32_t)i, &cases[i]);
		} else {
			cases[i].rank = (uint32_t)i;
			cases[i].lost = 1;
		}
		failed +=
		    cases[i].status || cases[i].timed_out || cases[i].lost;
	}
	if (dfd >= 0)
		close(dfd);
	rc = write_report(av[1], format, av[3], (long)start, cases, ntasks);
	if (rc == 0)
		printf("report %s: %lu rank%s, %zu failed\n", av[1], ntasks,
		       ntasks == 1 ? "" : "s", failed);
	free(cases);
	if (snap_remove_tree(av[2]) < 0)
		printf("cannot remove %s\n", av[2]);
	return rc < 0;
}
