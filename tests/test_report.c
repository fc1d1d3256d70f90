/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The step's report (launcher/report): the --vm-report spec, the tails,
 * the rank records read back as untrusted text, and the JUnit and TAP
 * files, the JUnit one read back by a real JUnit parser when there is one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/report/report.h"
#include "tap.h"

static void spec(void)
{
	char a[] = "junit:/tmp/r.xml", b[] = "tap:out.tap", c[] = "xml:r",
	     d[] = "junit:", e[] = "junit";
	enum report_format f;
	char *path;

	ok(report_spec_parse(a, &f, &path) == 0 && f == REPORT_JUNIT &&
	       !strcmp(path, "/tmp/r.xml"),
	   "junit:PATH");
	ok(report_spec_parse(b, &f, &path) == 0 && f == REPORT_TAP &&
	       !strcmp(path, "out.tap"),
	   "tap:PATH");
	ok(report_spec_parse(c, &f, &path) == -EINVAL &&
	       report_spec_parse(d, &f, &path) == -EINVAL &&
	       report_spec_parse(e, &f, &path) == -EINVAL,
	   "an unknown format, no path, no colon: refused");
}

static void tails(void)
{
	char t[9] = "";

	report_tail_add(t, 8, "abc", 3);
	report_tail_add(t, 8, "defgh", 5);
	is_str(t, "abcdefgh", "the tail fills up to its size");
	report_tail_add(t, 8, "ij", 2);
	is_str(t, "cdefghij", "then drops the oldest bytes");
	report_tail_add(t, 8, "0123456789", 10);
	is_str(t, "23456789", "a write longer than the tail keeps its end");
}

static void records(void)
{
	struct report_case c = {.rank = 3, .status = 2, .seconds = 1.5}, r;
	char why[128], *text;
	static const char *const bad[] = {
	    "[]",
	    "{\"rank\":-1,\"status\":0,\"timed_out\":false,\"seconds\":1,"
	    "\"node\":\"n\",\"stdout\":\"\",\"stderr\":\"\",\"console\":\"\"}",
	    "{\"rank\":1,\"status\":256,\"timed_out\":false,\"seconds\":1,"
	    "\"node\":\"n\",\"stdout\":\"\",\"stderr\":\"\",\"console\":\"\"}",
	    "{\"rank\":1,\"status\":0,\"timed_out\":false,\"seconds\":1,"
	    "\"node\":\"n\",\"stdout\":\"a\\u0000b\",\"stderr\":\"\","
	    "\"console\":\"\"}",
	    "{\"rank\":1,\"rank\":2,\"status\":0,\"timed_out\":false,"
	    "\"seconds\":1,\"node\":\"n\",\"stdout\":\"\",\"stderr\":\"\","
	    "\"console\":\"\"}",
	    "{\"rank\":1,\"status\":0,\"timed_out\":0,\"seconds\":1,"
	    "\"node\":\"n\",\"stdout\":\"\",\"stderr\":\"\",\"console\":\"\"}",
	};
	char *big;
	size_t i;

	strcpy(c.node, "n2");
	strcpy(c.out, "out <&> \"quoted\"\n");
	strcpy(c.err, "err\n");
	strcpy(c.console, "panic\n");
	text = report_case_format(&c);
	ok(text &&
	       report_case_parse(text, strlen(text), &r, why, sizeof(why)) ==
		   0 &&
	       r.rank == 3 && r.status == 2 && r.seconds == 1.5 &&
	       !strcmp(r.node, "n2") && !strcmp(r.out, c.out) &&
	       !strcmp(r.err, c.err) && !strcmp(r.console, c.console),
	   "a record reads back as written");
	free(text);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(report_case_parse(bad[i], strlen(bad[i]), &r, why,
				     sizeof(why)) == -EPROTO,
		   "refused: %s (%s)", bad[i], why);
	big = malloc(REPORT_TAIL_MAX + 200);
	memset(big, 'x', REPORT_TAIL_MAX + 200);
	sprintf(
	    big,
	    "{\"rank\":1,\"status\":0,\"timed_out\":false,\"seconds\":1,"
	    "\"node\":\"n\",\"stderr\":\"\",\"console\":\"\",\"stdout\":\"");
	memset(big + strlen(big), 'x', REPORT_TAIL_MAX + 1);
	strcpy(big + REPORT_TAIL_MAX + 120, "\"}");
	ok(report_case_parse(big, strlen(big), &r, why, sizeof(why)) ==
		   -EPROTO &&
	       strstr(why, "stdout"),
	   "a tail longer than REPORT_TAIL_MAX is refused (%s)", why);
	free(big);
}

/* Two ranks: 0 passes, 1 fails with hostile text in its tails. */
static void cases(struct report_case c[2])
{
	memset(c, 0, 2 * sizeof(*c));
	c[0].rank = 0, c[0].seconds = 2.25;
	strcpy(c[0].node, "n1");
	strcpy(c[0].out, "hello from rank 0\n");
	c[1].rank = 1, c[1].status = 3, c[1].seconds = 3.5;
	strcpy(c[1].node, "n2");
	strcpy(c[1].out, "ok 5 - not a test\n</system-out>]]>");
	strcpy(c[1].err, "bad \x01\x1b[31m \xff\xfe byte\n");
	strcpy(c[1].console, "Kernel panic & <oops>\n");
}

static char *slurp(FILE *f)
{
	static char buf[65536];
	size_t n;

	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	return buf;
}

static void junit(void)
{
	struct report_case c[2];
	char path[] = "/tmp/test_report.XXXXXX", cmd[512], *x;
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	FILE *p;

	cases(c);
	ok(f && report_write(f, REPORT_JUNIT, "job \"a\".0", 1796256000, c,
			     2) == 0,
	   "a JUnit report is written");
	x = slurp(f);
	ok(strstr(x, "tests=\"2\" failures=\"1\"") != NULL,
	   "it counts 2 tests, 1 failure");
	ok(strstr(x, "name=\"job &quot;a&quot;.0\"") != NULL,
	   "the suite's name is escaped");
	ok(strstr(x, "<failure type=\"exit\" message=\"exit status 3\">"
		     "Kernel panic &amp; &lt;oops&gt;") != NULL,
	   "the failure says the status and carries the console's tail");
	ok(strstr(x, "&lt;/system-out&gt;]]&gt;") != NULL && !strstr(x, "]]>"),
	   "stdout that looks like markup stays text");
	ok(strstr(x, "bad \xef\xbf\xbd\xef\xbf\xbd[31m "
		     "\xef\xbf\xbd\xef\xbf\xbd byte") != NULL,
	   "control characters and invalid UTF-8 become U+FFFD");
	ok(strstr(x, "timestamp=\"2026-12-03T00:00:00\"") != NULL,
	   "the timestamp is ISO 8601");
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import junitparser' 2>/dev/null && "
		 "/usr/bin/python3 -c '"
		 "import sys, junitparser\n"
		 "x = junitparser.JUnitXml.fromfile(sys.argv[1])\n"
		 "for s in x:\n"
		 "  for c in s:\n"
		 "    print(c.name, c.time, \"pass\" if c.is_passed else "
		 "\"fail\", c.result[0].message if c.result else \"\", "
		 "repr(c.system_out))\n"
		 "' %s",
		 path);
	p = popen(cmd, "r");
	x = p ? slurp(p) : "";
	if (p && pclose(p) == 0 && x[0])
		is_str(x,
		       "rank 0 2.25 pass  'hello from rank 0\\n'\n"
		       "rank 1 3.5 fail exit status 3 'ok 5 - not a "
		       "test\\n</system-out>]]>'\n",
		       "a real JUnit parser reads both cases back");
	else
		printf("ok %d - # SKIP no python3 junitparser\n", ++tap_n);
	unlink(path);
}

static void lost_case(void)
{
	struct report_case c = {.rank = 4, .lost = 1};
	FILE *f = tmpfile();
	char *x;

	ok(f && report_write(f, REPORT_JUNIT, "s", 0, &c, 1) == 0,
	   "a report with a rank that left no record");
	x = slurp(f);
	ok(strstr(x, "failures=\"0\" errors=\"1\"") &&
	       strstr(x, "<error type=\"lost\" message=\"no result: its "
			 "launcher left none\"/>"),
	   "counts it as an error, not a failure");
	if (f)
		fclose(f);
}

static void tap_report(void)
{
	struct report_case c[2];
	FILE *f = tmpfile();
	char *x;

	cases(c);
	c[1].timed_out = 1;
	ok(f && report_write(f, REPORT_TAP, "suite\nx", 0, c, 2) == 0,
	   "a TAP report is written");
	x = slurp(f);
	is_str(x,
	       "1..2\nok 1 - suite?x rank 0\n"
	       "not ok 2 - suite?x rank 1 (timeout)\n"
	       "#   stdout: ok 5 - not a test\n"
	       "#   stdout: </system-out>]]>\n"
	       "#   stderr: bad ??[31m \xff\xfe byte\n"
	       "#   console: Kernel panic & <oops>\n",
	       "TAP: a plan, a line per rank, a failed rank's tails as "
	       "comments (no control character)");
	if (f)
		fclose(f);
}

/* A launcher's record: written once, never through a link. */
static void record_files(void)
{
	char dir[] = "/tmp/test_report_dir.XXXXXX", path[256], link[256],
	     why[256], text[REPORT_RECORD_MAX + 1];
	struct report_case c = {.rank = 7, .status = 1, .seconds = 0.5}, r;
	ssize_t n;
	int fd;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	strcpy(c.node, "n1");
	strcpy(c.out, "last words\n");
	ok(report_record_write(dir, &c, why, sizeof(why)) == 0,
	   "a launcher writes its rank record");
	snprintf(path, sizeof(path), "%s/rank-7.json", dir);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text)) : -1;
	if (fd >= 0)
		close(fd);
	ok(n > 0 &&
	       report_case_parse(text, (size_t)n, &r, why, sizeof(why)) == 0 &&
	       r.rank == 7 && r.status == 1 && !strcmp(r.out, c.out),
	   "and it reads back");
	ok(report_record_write(dir, &c, why, sizeof(why)) < 0,
	   "a record already there is never overwritten (%s)", why);
	unlink(path);
	snprintf(link, sizeof(link), "%s/target", dir);
	symlink(link, path);
	ok(report_record_write(dir, &c, why, sizeof(why)) < 0 &&
	       access(link, F_OK) < 0,
	   "nor written through a link at its name (%s)", why);
	unlink(path);
	snprintf(link, sizeof(link), "%s.link", dir);
	symlink(dir, link);
	ok(report_record_write(link, &c, why, sizeof(why)) < 0,
	   "and the directory is never a link (%s)", why);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	spec();
	tails();
	records();
	junit();
	tap_report();
	lost_case();
	record_files();
	return done_testing();
}
