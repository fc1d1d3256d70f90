/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A step's results as JUnit XML or TAP (report.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "launcher/report/report.h"

void report_tail_add(char *tail, size_t max, const char *data, size_t len)
{
	size_t have = strlen(tail);

	if (len >= max) {
		memcpy(tail, data + len - max, max);
		tail[max] = 0;
		return;
	}
	if (have + len > max) {
		size_t drop = have + len - max;

		memmove(tail, tail + drop, have - drop);
		have -= drop;
	}
	memcpy(tail + have, data, len);
	tail[have + len] = 0;
}

char *report_case_format(const struct report_case *c)
{
	json_t *o = json_pack("{s:I, s:s, s:i, s:b, s:f, s:s%, s:s%, s:s%}",
			      "rank", (json_int_t)c->rank, "node", c->node,
			      "status", c->status, "timed_out", c->timed_out,
			      "seconds", c->seconds, "stdout", c->out,
			      strlen(c->out), "stderr", c->err, strlen(c->err),
			      "console", c->console, strlen(c->console));
	char *text;

	if (!o)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static int bad(char *why, size_t len, const char *field, const char *what)
{
	snprintf(why, len, "%s: %s", field, what);
	return -EPROTO;
}

/* A string field into buf (max bytes and its NUL); bytes past max are
 * refused, NULs inside too. */
static int get_text(json_t *o, const char *key, char *buf, size_t max,
		    char *why, size_t whylen)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return bad(why, whylen, key, "missing or not a string");
	n = json_string_length(v);
	if (n > max)
		return bad(why, whylen, key, "too long");
	if (memchr(json_string_value(v), 0, n))
		return bad(why, whylen, key, "holds a NUL");
	memcpy(buf, json_string_value(v), n);
	buf[n] = 0;
	return 0;
}

int report_case_parse(const char *text, size_t len, struct report_case *c,
		      char *why, size_t whylen)
{
	json_t *o, *v;
	int rc = -EPROTO;

	memset(c, 0, sizeof(*c));
	if (len > REPORT_RECORD_MAX)
		return bad(why, whylen, "record", "too long");
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		bad(why, whylen, "record", "not a JSON object");
		goto out;
	}
	v = json_object_get(o, "rank");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > UINT32_MAX) {
		bad(why, whylen, "rank", "not a rank");
		goto out;
	}
	c->rank = (uint32_t)json_integer_value(v);
	v = json_object_get(o, "status");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 255) {
		bad(why, whylen, "status", "not an exit status (0-255)");
		goto out;
	}
	c->status = (int)json_integer_value(v);
	v = json_object_get(o, "timed_out");
	if (!json_is_boolean(v)) {
		bad(why, whylen, "timed_out", "not true or false");
		goto out;
	}
	c->timed_out = json_is_true(v);
	v = json_object_get(o, "seconds");
	if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
	    json_number_value(v) < 0 || json_number_value(v) > 1e9) {
		bad(why, whylen, "seconds", "not a duration");
		goto out;
	}
	c->seconds = json_number_value(v);
	if (get_text(o, "node", c->node, sizeof(c->node) - 1, why, whylen) ||
	    get_text(o, "stdout", c->out, REPORT_TAIL_MAX, why, whylen) ||
	    get_text(o, "stderr", c->err, REPORT_TAIL_MAX, why, whylen) ||
	    get_text(o, "console", c->console, REPORT_TAIL_MAX, why, whylen))
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Length of the valid UTF-8 sequence at s for a character XML 1.0 allows
 * (tab, newline, carriage return, U+0020-U+D7FF, U+E000-U+FFFD,
 * U+10000-U+10FFFF), else 0. */
static size_t xml_char(const unsigned char *s)
{
	unsigned cp, n, i;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' ||
		       s[0] == '\r';
	if ((s[0] & 0xe0) == 0xc0)
		cp = s[0] & 0x1f, n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		cp = s[0] & 0x0f, n = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		cp = s[0] & 0x07, n = 4;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/* Writes s as XML character data (also fit for an attribute value). */
void report_xml_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = xml_char(p);

		if (!n) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			p++;
			continue;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		default:
			fwrite(p, 1, n, f);
		}
		p += n;
	}
}

static int failed(const struct report_case *c)
{
	return c->status != 0 || c->timed_out || c->lost;
}

/* Why a case failed, for humans: "timeout", "exit status 3", "signal 9". */
static void reason(const struct report_case *c, char *buf, size_t len)
{
	if (c->lost)
		snprintf(buf, len, "no result: its launcher left none");
	else if (c->timed_out)
		snprintf(buf, len, "timeout");
	else if (c->status > 128)
		snprintf(buf, len, "exit status %d (signal %d)", c->status,
			 c->status - 128);
	else
		snprintf(buf, len, "exit status %d", c->status);
}

static void junit_case(FILE *f, const char *suite, const struct report_case *c)
{
	char why[64];

	fputs("    <testcase classname=\"", f);
	report_xml_text(f, suite);
	fprintf(f, "\" name=\"rank %u\" time=\"%.3f\">\n", c->rank, c->seconds);
	if (c->lost) {
		reason(c, why, sizeof(why));
		fprintf(f, "      <error type=\"lost\" message=\"%s\"/>\n",
			why);
	} else if (failed(c)) {
		reason(c, why, sizeof(why));
		fprintf(f, "      <failure type=\"%s\" message=\"",
			c->timed_out ? "timeout" : "exit");
		report_xml_text(f, why);
		fputs("\">", f);
		report_xml_text(f, c->console[0] ? c->console : why);
		fputs("</failure>\n", f);
	}
	fputs("      <system-out>", f);
	report_xml_text(f, c->out);
	fputs("</system-out>\n      <system-err>", f);
	report_xml_text(f, c->err);
	fputs("</system-err>\n    </testcase>\n", f);
}

static void junit(FILE *f, const char *suite, long timestamp,
		  const struct report_case *cases, size_t n)
{
	size_t i, fails = 0, errors = 0;
	double total = 0;
	char when[32], host[64] = "";
	time_t t = (time_t)timestamp;
	struct tm tm;

	for (i = 0; i < n; i++) {
		errors += cases[i].lost;
		fails += failed(&cases[i]) && !cases[i].lost;
		if (cases[i].seconds > total)
			total = cases[i].seconds; /* ranks run side by side */
	}
	if (n)
		snprintf(host, sizeof(host), "%s", cases[0].node);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"",
	      f);
	report_xml_text(f, suite);
	fprintf(f,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"time=\"%.3f\">\n",
		n, fails, errors, total);
	fputs("  <testsuite name=\"", f);
	report_xml_text(f, suite);
	fprintf(
	    f,
	    "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" "
	    "time=\"%.3f\" timestamp=\"%s\" hostname=\"",
	    n, fails, errors, total, when);
	report_xml_text(f, host);
	fputs("\">\n", f);
	for (i = 0; i < n; i++)
		junit_case(f, suite, &cases[i]);
	fputs("  </testsuite>\n</testsuites>\n", f);
}

/* s (len bytes) on one TAP line: control characters become '?'. */
static void tap_text(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i],
		      f);
}

/* Each line of text as a TAP comment, "#   label: line". */
static void tap_lines(FILE *f, const char *label, const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		fprintf(f, "#   %s: ", label);
		tap_text(f, p, nl ? (size_t)(nl - p) : strlen(p));
		fputc('\n', f);
		p = nl ? nl + 1 : p + strlen(p);
	}
}

static void tap(FILE *f, const char *suite, const struct report_case *cases,
		size_t n)
{
	char why[64];
	size_t i;

	fprintf(f, "1..%zu\n", n);
	for (i = 0; i < n; i++) {
		const struct report_case *c = &cases[i];

		fprintf(f, "%sok %zu - ", failed(c) ? "not " : "", i + 1);
		tap_text(f, suite, strlen(suite));
		fprintf(f, " rank %u", c->rank);
		if (!failed(c)) {
			fputc('\n', f);
			continue;
		}
		reason(c, why, sizeof(why));
		fprintf(f, " (%s)\n", why);
		tap_lines(f, "stdout", c->out);
		tap_lines(f, "stderr", c->err);
		tap_lines(f, "console", c->console);
	}
}

int report_write(FILE *f, enum report_format format, const char *suite,
		 long timestamp, const struct report_case *cases, size_t n)
{
	if (format == REPORT_JUNIT)
		junit(f, suite, timestamp, cases, n);
	else
		tap(f, suite, cases, n);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
