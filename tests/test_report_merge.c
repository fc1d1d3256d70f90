/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Joining reports (launcher/report/merge.h) and the program that does it:
 * counts summed, TAP numbered on, the joined JUnit read back by a real
 * JUnit parser when there is one, foreign or cut inputs refused, and the
 * program writing its output whole or not at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/report/merge.h"
#include "launcher/report/report.h"
#include "tap.h"

#define PROGRAM "launcher/report/slurm-vm-report-merge"

static char dir[] = "/tmp/test_report_merge.XXXXXX";

/* Writes a report of the n cases into a malloc'd string. */
static char *report(enum report_format fmt, const char *suite,
		    const struct report_case *c, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || report_write(f, fmt, suite, 1796256000, c, n) < 0)
		abort();
	fclose(f);
	return text;
}

static char *merge(enum report_format fmt, char **texts, size_t n, int *rc,
		   char *why, size_t whylen)
{
	struct report_input in[4];
	char *out = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	for (i = 0; i < n; i++) {
		in[i].name = i ? "second" : "first";
		in[i].text = texts[i];
		in[i].len = strlen(texts[i]);
	}
	*rc = report_merge(f, fmt, "all \"tasks\"", in, n, why, whylen);
	fclose(f);
	return out;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)))
		n++, s++;
	return n;
}

static void two_cases(struct report_case c[2])
{
	memset(c, 0, 2 * sizeof(*c));
	c[0].rank = 0, c[0].seconds = 1.5;
	strcpy(c[0].out, "ok 9 - looks like TAP\n");
	c[1].rank = 1, c[1].status = 3, c[1].seconds = 2;
	strcpy(c[1].err, "it broke\n");
}

static void junit(void)
{
	struct report_case c[2], lost = {.rank = 0, .lost = 1};
	char *t[3], *x, why[256] = "", path[256], cmd[700];
	int rc;
	FILE *p, *f;

	two_cases(c);
	t[0] = report(REPORT_JUNIT, "task1.0", c, 2);
	t[1] = report(REPORT_JUNIT, "task2.0", &lost, 1);
	x = merge(REPORT_JUNIT, t, 2, &rc, why, sizeof(why));
	ok(rc == 0, "two JUnit reports are joined: %s", why);
	ok(strstr(x, "<testsuites name=\"all &quot;tasks&quot;\" tests=\"3\" "
		     "failures=\"1\" errors=\"1\" time=\"2.000\">") != NULL,
	   "one <testsuites>, named, with the sums of both");
	ok(strstr(x, "<testsuite name=\"task1.0\"") &&
	       strstr(x, "<testsuite name=\"task2.0\"") &&
	       strstr(x, "<testsuite name=\"task1.0\"") <
		   strstr(x, "<testsuite name=\"task2.0\""),
	   "both suites, in the order given");
	ok(count(x, "<?xml") == 1 && count(x, "<testsuites") == 1 &&
	       count(x, "</testsuites>") == 1,
	   "one declaration, one <testsuites>");
	snprintf(path, sizeof(path), "%s/joined.xml", dir);
	f = fopen(path, "w");
	if (f) {
		fputs(x, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import junitparser' 2>/dev/null && "
		 "/usr/bin/python3 -c '"
		 "import sys, junitparser\n"
		 "x = junitparser.JUnitXml.fromfile(sys.argv[1])\n"
		 "print(x.tests, x.failures, x.errors)\n"
		 "for s in x:\n"
		 "  for c in s:\n"
		 "    print(s.name, c.name, \"pass\" if c.is_passed else "
		 "\"fail\")\n"
		 "' %s",
		 path);
	p = popen(cmd, "r");
	if (p) {
		char buf[1024] = "";
		size_t n = fread(buf, 1, sizeof(buf) - 1, p);

		buf[n] = 0;
		if (pclose(p) == 0 && buf[0])
			is_str(buf,
			       "3 1 1\ntask1.0 rank 0 pass\ntask1.0 rank 1 "
			       "fail\ntask2.0 rank 0 fail\n",
			       "a real JUnit parser reads the joined report: "
			       "the sums and every case");
		else
			printf("ok %d - # SKIP no python3 junitparser\n",
			       ++tap_n);
	}
	free(x);
	t[2] = report(REPORT_TAP, "t", c, 2);
	x = merge(REPORT_JUNIT, (char *[]){t[0], t[2]}, 2, &rc, why,
		  sizeof(why));
	ok(rc == -EPROTO && strstr(why, "second: not a JUnit report"),
	   "a TAP file among JUnit ones is refused, named: %s", why);
	free(x);
	t[0][strlen(t[0]) - 5] = 0; /* cut */
	x = merge(REPORT_JUNIT, t, 2, &rc, why, sizeof(why));
	ok(rc == -EPROTO && strstr(why, "first:"),
	   "a report cut short is refused: %s", why);
	free(x);
	free(t[0]);
	free(t[1]);
	free(t[2]);
}

static void tap(void)
{
	struct report_case c[2];
	char *t[2], *x, why[256] = "";
	int rc;

	two_cases(c);
	t[0] = report(REPORT_TAP, "a", c, 2);
	t[1] = report(REPORT_TAP, "b", c, 2);
	x = merge(REPORT_TAP, t, 2, &rc, why, sizeof(why));
	ok(rc == 0, "two TAP reports are joined: %s", why);
	is_str(x,
	       "1..4\nok 1 - a rank 0\nnot ok 2 - a rank 1 (exit status 3)\n"
	       "#   stderr: it broke\nok 3 - b rank 0\n"
	       "not ok 4 - b rank 1 (exit status 3)\n#   stderr: it broke\n",
	       "one plan, the tests numbered on, comments kept");
	free(x);
	free(t[1]);
	t[1] = strdup("1..3\nok 1 - x\n");
	x = merge(REPORT_TAP, t, 2, &rc, why, sizeof(why));
	ok(rc == -EPROTO && strstr(why, "second: 1 tests for a plan of 3"),
	   "a plan its lines do not keep is refused: %s", why);
	free(x);
	free(t[1]);
	t[1] = strdup("1..1\nBail out!\n");
	x = merge(REPORT_TAP, t, 2, &rc, why, sizeof(why));
	ok(rc == -EPROTO, "a line that is neither test nor comment: refused");
	free(x);
	free(t[0]);
	free(t[1]);
}

/* The program: OUT whole or not at all; a FIFO is not waited on. */
static void program(void)
{
	struct report_case c[2];
	char a[256], b[256], out[256], fifo[256], cmd[1200], *t;
	struct stat st;
	FILE *f;
	int rc;

	if (access(PROGRAM, X_OK) != 0) {
		printf("ok %d - # SKIP %s not built\n", ++tap_n, PROGRAM);
		return;
	}
	two_cases(c);
	snprintf(a, sizeof(a), "%s/a.xml", dir);
	snprintf(b, sizeof(b), "%s/b.xml", dir);
	snprintf(out, sizeof(out), "%s/out.xml", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	t = report(REPORT_JUNIT, "a", c, 2);
	if ((f = fopen(a, "w"))) {
		fputs(t, f);
		fclose(f);
	}
	if ((f = fopen(b, "w"))) {
		fputs(t, f);
		fclose(f);
	}
	free(t);
	snprintf(cmd, sizeof(cmd), "%s --name all %s %s %s", PROGRAM, out, a,
		 b);
	rc = system(cmd);
	ok(rc == 0 && stat(out, &st) == 0 && st.st_size > 0,
	   "slurm-vm-report-merge OUT A B writes OUT");
	unlink(out);
	mkfifo(fifo, 0600);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s %s %s %s 2>%s/err", PROGRAM,
		 out, a, fifo, dir);
	rc = system(cmd);
	ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 1,
	   "a FIFO as input: refused at once, not waited on (status %d)",
	   WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
	ok(stat(out, &st) < 0 && errno == ENOENT,
	   "and OUT is not written in part");
	snprintf(cmd, sizeof(cmd), "grep -q 'fifo: not a regular file' %s/err",
		 dir);
	ok(system(cmd) == 0, "the message names the input");
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", PROGRAM, out);
	rc = system(cmd);
	ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "no input: usage, status 2");
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir))
		return 1;
	junit();
	tap();
	program();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
