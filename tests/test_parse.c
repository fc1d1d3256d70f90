/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The common layer's parsers: counts, numbers, signals (--vm-report's
 * spec: test_report). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "launcher/common/parse.h"
#include "tap.h"

static void test_counts(void)
{
	unsigned long v = 99;

	ok(parse_count("7", 10, &v) == 0 && v == 7, "a count");
	ok(parse_count("10", 10, &v) == 0 && v == 10, "its maximum");
	v = 99;
	ok(parse_count("11", 10, &v) == -EINVAL && v == 99,
	   "over it: refused, out untouched");
	ok(parse_count("0", 10, &v) == -EINVAL, "a count is positive");
	ok(parse_count("-1", 10, &v) == -EINVAL, "no sign");
	ok(parse_count("+1", 10, &v) == -EINVAL, "no plus either");
	ok(parse_count(" 1", 10, &v) == -EINVAL, "no blank before");
	ok(parse_count("1 ", 10, &v) == -EINVAL, "nor after");
	ok(parse_count("", 10, &v) == -EINVAL, "not empty");
	ok(parse_count(NULL, 10, &v) == -EINVAL, "not NULL");
	ok(parse_count("99999999999999999999999", ~0UL, &v) == -EINVAL,
	   "not beyond the type");
	ok(parse_number("0", 10, &v) == 0 && v == 0, "a number may be 0");
	ok(parse_number("00", 10, &v) == -EINVAL, "one zero only");
	ok(parse_number("4294967295", 4294967295UL, &v) == 0 &&
	       v == 4294967295UL,
	   "up to its maximum");
	ok(parse_number("-0", 10, &v) == -EINVAL, "no sign on 0");
	ok(parse_number(NULL, 10, &v) == -EINVAL, "not NULL");
}

static void test_signals(void)
{
	int sig = 0;

	ok(parse_signal("USR1", &sig) == 0 && sig == SIGUSR1, "USR1");
	ok(parse_signal("sigusr2", &sig) == 0 && sig == SIGUSR2,
	   "sigusr2, any case");
	ok(parse_signal("TERM", &sig) == -EPERM && sig == SIGTERM,
	   "TERM is Slurm's: refused, named");
	ok(parse_signal("SEGV", &sig) == -EPERM, "a fault is refused");
	ok(parse_signal("NOSUCH", &sig) == -EINVAL, "no such signal");
	is_str(signal_name(SIGUSR1), "USR1", "USR1 named back");
}

int main(void)
{
	test_counts();
	test_signals();
	return done_testing();
}
