/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-report-merge [--name NAME] OUT IN...: joins --vm-report files
 * (merge.h), e.g. those of an array job's tasks, into OUT. The format is
 * the inputs' (all JUnit or all TAP). OUT is written whole or not at all:
 * into a new file beside it, renamed over it at the end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/common/io.h"
#include "launcher/report/merge.h"

static const char usage[] =
    "usage: slurm-vm-report-merge [--name NAME] OUT IN...\n"
    "Joins reports of --vm-report (all JUnit or all TAP), e.g. one per\n"
    "array task, into OUT. --name names the joined JUnit <testsuites>\n"
    "(default: slurm-vm).\n";

/* Reads a report: a regular file (not a FIFO or a device), bounded. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char *buf = NULL;
	int rc;

	if (fd < 0) {
		fprintf(stderr, "slurm-vm-report-merge: %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	rc = read_regular(fd, REPORT_MERGE_INPUT_MAX, &buf, len);
	close(fd);
	if (rc == -EINVAL || rc == -EFBIG) {
		fprintf(stderr,
			"slurm-vm-report-merge: %s: not a regular file of at "
			"most %lu MiB\n",
			path, REPORT_MERGE_INPUT_MAX >> 20);
		return NULL;
	}
	if (rc < 0 || memchr(buf, 0, *len)) {
		fprintf(stderr,
			"slurm-vm-report-merge: %s: cannot read it whole, or "
			"it holds NUL bytes\n",
			path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Writes the joined inputs to a new file beside out, then renames it. */
static int write_out(const char *out, enum report_format format,
		     const char *name, const struct report_input *in, size_t n)
{
	char tmp[4200], why[1024] = "", *copy = strdup(out);
	int fd, rc;
	FILE *f;

	if (!copy)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(copy),
		 strrchr(out, '/') ? strrchr(out, '/') + 1 : out);
	free(copy);
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "slurm-vm-report-merge: %s: %s\n", out,
			strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return 1;
	}
	fchmod(fd, 0644);
	rc = report_merge(f, format, name, in, n, why, sizeof(why));
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, out) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		fprintf(stderr, "slurm-vm-report-merge: %s\n",
			rc == -EPROTO ? why : strerror(-rc));
		return 1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	const char *name = "slurm-vm";
	struct report_input *in;
	enum report_format format = REPORT_JUNIT;
	int i, a = 1, n, rc = 1;

	if (a < argc && !strcmp(argv[a], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (a + 1 < argc && !strcmp(argv[a], "--name"))
		name = argv[a + 1], a += 2;
	if (argc - a < 2) {
		fputs(usage, stderr);
		return 2;
	}
	n = argc - a - 1;
	in = calloc((size_t)n, sizeof(*in));
	if (!in)
		return 1;
	for (i = 0; i < n; i++) {
		in[i].name = argv[a + 1 + i];
		in[i].text = slurp(in[i].name, &in[i].len);
		if (!in[i].text)
			goto out;
		if (i == 0)
			format = strncmp(in[0].text, "1..", 3) ? REPORT_JUNIT
							       : REPORT_TAP;
	}
	rc = write_out(argv[a], format, name, in, (size_t)n);
out:
	for (i = 0; i < n; i++)
		free((char *)in[i].text);
	free(in);
	return rc;
}
