/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Joining reports (merge.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/report/merge.h"
#include "launcher/report/report.h"

#define JUNIT_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
#define JUNIT_TAIL "</testsuites>\n"
#define SUITE_OPEN "<testsuite "

struct sums {
	unsigned long tests, failures, errors;
	double time;
};

/* The value of attribute key in the tag that starts at tag (up to '>'):
 * attribute values are escaped, so '>' and '"' end them. */
static int attr(const char *tag, const char *key, double *v)
{
	const char *end = strchr(tag, '>'), *p = tag;
	size_t k = strlen(key);
	char *num_end;

	while (end && (p = strstr(p, key)) && p < end) {
		if (p[-1] == ' ' && p[k] == '=' && p[k + 1] == '"') {
			*v = strtod(p + k + 2, &num_end);
			return num_end > p + k + 2 && *num_end == '"' ? 0 : -1;
		}
		p += k;
	}
	return -1;
}

/* Checks one JUnit input and adds its suites' counts; *body and *blen
 * are its <testsuite> elements. */
static int junit_input(const struct report_input *in, struct sums *s,
		       const char **body, size_t *blen, char *why,
		       size_t whylen)
{
	size_t hl = strlen(JUNIT_HEAD), tl = strlen(JUNIT_TAIL);
	const char *b, *e, *p;
	double v[4];
	int suites = 0;

	if (in->len < hl + tl || memcmp(in->text, JUNIT_HEAD, hl) ||
	    memcmp(in->text + in->len - tl, JUNIT_TAIL, tl) ||
	    !(b = strchr(in->text + hl, '>'))) {
		snprintf(why, whylen,
			 "%s: not a JUnit report of --vm-report (its "
			 "beginning or end is not one)",
			 in->name);
		return -EPROTO;
	}
	b++;
	e = in->text + in->len - tl;
	for (p = b; (p = strstr(p, "<"
				   "testsuite")) &&
		    p < e;
	     p++) {
		if (strncmp(p, SUITE_OPEN, strlen(SUITE_OPEN)))
			continue; /* </testsuite> */
		if (attr(p, "tests", &v[0]) || attr(p, "failures", &v[1]) ||
		    attr(p, "errors", &v[2]) || attr(p, "time", &v[3])) {
			snprintf(why, whylen,
				 "%s: a <testsuite> without its tests, "
				 "failures, errors and time",
				 in->name);
			return -EPROTO;
		}
		s->tests += (unsigned long)v[0];
		s->failures += (unsigned long)v[1];
		s->errors += (unsigned long)v[2];
		s->time += v[3];
		suites++;
	}
	if (!suites) {
		snprintf(why, whylen, "%s: no <testsuite> in it", in->name);
		return -EPROTO;
	}
	*body = b;
	*blen = (size_t)(e - b);
	return 0;
}

static int junit_merge(FILE *f, const char *name, const struct report_input *in,
		       size_t n, char *why, size_t whylen)
{
	const char **body = calloc(n ? n : 1, sizeof(*body));
	size_t *blen = calloc(n ? n : 1, sizeof(*blen)), i;
	struct sums s = {0};
	int rc = 0;

	if (!body || !blen) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = junit_input(&in[i], &s, &body[i], &blen[i], why, whylen);
	if (rc < 0)
		goto out;
	fputs(JUNIT_HEAD "name=\"", f);
	report_xml_text(f, name);
	fprintf(f,
		"\" tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" "
		"time=\"%.3f\">",
		s.tests, s.failures, s.errors, s.time);
	for (i = 0; i < n; i++)
		fwrite(body[i], 1, blen[i], f);
	fputs(JUNIT_TAIL, f);
out:
	free(body);
	free(blen);
	return rc;
}

/* One TAP line of an input: a test line numbered on, or kept as is. */
static int tap_line(FILE *f, const char *line, size_t len, size_t *next)
{
	size_t skip = !strncmp(line, "not ok ", 7) ? 7
		      : !strncmp(line, "ok ", 3)   ? 3
						   : 0;
	size_t d = skip;

	if (!skip) {
		if (line[0] != '#')
			return -1;
		fwrite(line, 1, len, f);
		return 0;
	}
	while (d < len && line[d] >= '0' && line[d] <= '9')
		d++;
	if (d == skip)
		return -1;
	fprintf(f, "%.*s%zu", (int)skip, line, ++*next);
	fwrite(line + d, 1, len - d, f);
	return 0;
}

static int tap_merge(FILE *f, const struct report_input *in, size_t n,
		     char *why, size_t whylen)
{
	size_t i, total = 0, next = 0;
	unsigned long plan;

	/* The plans first: the sum goes at the top. */
	for (i = 0; i < n; i++) {
		char *end;

		if (strncmp(in[i].text, "1..", 3) ||
		    (plan = strtoul(in[i].text + 3, &end, 10), *end != '\n')) {
			snprintf(why, whylen,
				 "%s: not a TAP report of --vm-report (no "
				 "plan on its first line)",
				 in[i].name);
			return -EPROTO;
		}
		total += plan;
	}
	fprintf(f, "1..%zu\n", total);
	for (i = 0; i < n; i++) {
		const char *p = strchr(in[i].text, '\n') + 1, *nl;
		size_t first = next;

		for (; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl ||
			    tap_line(f, p, (size_t)(nl - p + 1), &next) < 0) {
				snprintf(why, whylen,
					 "%s: a line that is neither a test "
					 "nor a comment, or no newline at "
					 "its end",
					 in[i].name);
				return -EPROTO;
			}
		}
		plan = strtoul(in[i].text + 3, NULL, 10);
		if (next - first != plan) {
			snprintf(why, whylen, "%s: %zu tests for a plan of %lu",
				 in[i].name, next - first, plan);
			return -EPROTO;
		}
	}
	return 0;
}

int report_merge(FILE *f, enum report_format format, const char *name,
		 const struct report_input *in, size_t n, char *why,
		 size_t whylen)
{
	int rc = format == REPORT_JUNIT
		     ? junit_merge(f, name, in, n, why, whylen)
		     : tap_merge(f, in, n, why, whylen);

	if (rc < 0)
		return rc;
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
