/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rank specs: which value each rank gets, and malformed specs refused. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "spank/rankspec.h"
#include "tap.h"

/* The value of spec for rank, "(none)" for no match, "(error)". */
static const char *at(const char *spec, unsigned long rank)
{
	static char out[256];
	char err[256];
	int rc =
	    rankspec_resolve(spec, rank, out, sizeof(out), err, sizeof(err));

	if (rc < 0)
		return "(error)";
	return rc ? out : "(none)";
}

static int refused(const char *spec, const char *want, char *err)
{
	struct rankspec rs;

	err[0] = 0;
	return rankspec_parse(spec, &rs, err, 256) == -EINVAL &&
	       strstr(err, want);
}

int main(void)
{
	struct rankspec rs;
	char err[256], small[4];

	ok(!rankspec_is_spec("2048") && !rankspec_is_spec("/a/b.img") &&
	       !rankspec_is_spec("disk.qcow2") && !rankspec_is_spec("") &&
	       !rankspec_is_spec("./0:x") && !rankspec_is_spec("0x:1") &&
	       !rankspec_is_spec("1-2-3:x"),
	   "plain values are not specs");
	ok(rankspec_is_spec("0:1") && rankspec_is_spec("0-3:1") &&
	       rankspec_is_spec("4-:1") && rankspec_is_spec("12:"),
	   "a leading RANGE: makes a spec");

	is_str(at("2048", 0), "2048", "a plain value is every rank's");
	is_str(at("2048", 99), "2048", "also rank 99's");
	is_str(at("0:8192,1-:2048", 0), "8192", "0:8192,1-:2048: rank 0");
	is_str(at("0:8192,1-:2048", 1), "2048", "0:8192,1-:2048: rank 1");
	is_str(at("0:8192,1-:2048", 500), "2048",
	       "0:8192,1-:2048: an open range reaches rank 500");
	is_str(at("0-3:4096,4-7:2048", 3), "4096", "0-3:4096,4-7:2048: rank 3");
	is_str(at("0-3:4096,4-7:2048", 4), "2048", "0-3:4096,4-7:2048: rank 4");
	is_str(at("0-3:4096,4-7:2048", 8), "(none)",
	       "a rank in no range falls back to the default");
	is_str(at("1:x", 0), "(none)", "1:x leaves rank 0 to the default");
	is_str(at("0-2:a,1-4:b", 1), "a", "the first match wins (overlap)");
	is_str(at("0-2:a,1-4:b", 3), "b", "the later entry holds the rest");
	is_str(at("0:/d/a.img,ro,1-:/d/b,c.img", 0), "/d/a.img,ro",
	       "a comma not followed by RANGE: stays in the value");
	is_str(at("0:/d/a.img,ro,1-:/d/b,c.img", 1), "/d/b,c.img",
	       "a value may hold a comma");
	is_str(at("0:console=ttyS0,115200 a=b:c,1-:quiet", 0),
	       "console=ttyS0,115200 a=b:c", "a value may hold a colon");
	is_str(at("/p/0:x", 0), "/p/0:x", "a path with a colon is plain");
	is_str(at("0:5,", 0), "5,", "a trailing comma belongs to the value");

	ok(rankspec_parse("0:a,2-5:b,6-:c", &rs, err, sizeof(err)) == 0 &&
	       rs.n == 3 && !rs.plain && rs.e[1].first == 2 &&
	       rs.e[1].last == 5 && rs.e[2].last == RANKSPEC_OPEN &&
	       rs.e[1].len == 1 && rs.e[1].value[0] == 'b',
	   "entries and ranges are parsed");
	ok(rankspec_parse("x", &rs, err, sizeof(err)) == 0 && rs.plain &&
	       rs.n == 1 && rankspec_find(&rs, 7) == &rs.e[0],
	   "a plain value is one entry for every rank");
	rankspec_range(&rs.e[0], err, sizeof(err));
	is_str(err, "0-", "the plain entry's range reads 0-");

	ok(refused("0:", "rank 0 has an empty value", err),
	   "an empty value is refused: %s", err);
	ok(refused("0:1,1-:", "rank 1- has an empty value", err),
	   "an empty last value is refused: %s", err);
	ok(refused("5-2:x", "runs backwards", err) && strstr(err, "2-5"),
	   "a backwards range is refused with the fix: %s", err);
	ok(refused("0-:a,3:b", "never used", err) && strstr(err, "0-"),
	   "an entry an earlier range hides is refused: %s", err);
	ok(refused("0-3:a,1-2:b", "rank 1-2 is never used", err),
	   "also a partly nested one: %s", err);
	ok(refused("99999999:x", "above", err),
	   "a rank above 2^24 is refused: %s", err);
	{
		char big[RANKSPEC_MAX * 8 + 16];
		size_t n = 0;
		int i;

		for (i = 0; i <= RANKSPEC_MAX; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n,
					      "%s%d:x", i ? "," : "", i);
		ok(refused(big, "more than 64 entries", err),
		   "too many entries are refused: %s", err);
		big[strlen(big) - 5] = 0; /* drop the last entry */
		ok(rankspec_parse(big, &rs, err, sizeof(err)) == 0 &&
		       rs.n == RANKSPEC_MAX,
		   "64 entries are fine");
	}
	ok(rankspec_resolve("0:12345", 0, small, sizeof(small), err,
			    sizeof(err)) == -ENOSPC,
	   "a value too long for the buffer is -ENOSPC");
	ok(rankspec_resolve("3-1:x", 0, small, sizeof(small), err,
			    sizeof(err)) == -EINVAL,
	   "resolving a malformed spec is -EINVAL");
	return done_testing();
}
