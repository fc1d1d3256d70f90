/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plugstack.conf arguments: defaults, every key, and refusals. */
#include "config.h"

#include <string.h>

#include "site.h"
#include "tap.h"

static int parse(char *arg, struct site_config *s, char *err)
{
	char *av[] = {arg};

	err[0] = 0;
	return site_parse(arg ? 1 : 0, av, s, err, 512);
}

int main(void)
{
	struct site_config s;
	char err[512];
	char *all[] = {
	    "launcher=/opt/l",	    "qemu=/opt/qemu",	 "accel=tcg",
	    "rundir=/scratch",	    "default_kernel=/k", "default_initrd=/i",
	    "default_append=quiet", "default_mem=2048",	 "boot_timeout=60"};

	ok(parse(NULL, &s, err) == 0, "no arguments is fine");
	is_str(s.accel, "auto", "accel defaults to auto");
	ok(s.default_mem == 512 && s.boot_timeout == 300,
	   "default_mem 512 and boot_timeout 300 by default");
	ok(site_parse(9, all, &s, err, sizeof(err)) == 0, "every key parses");
	ok(!strcmp(s.launcher, "/opt/l") && !strcmp(s.rundir, "/scratch") &&
	       !strcmp(s.default_append, "quiet") && s.default_mem == 2048 &&
	       s.boot_timeout == 60,
	   "values land in their fields");
	ok(parse("colour=blue", &s, err) < 0 &&
	       strstr(err, "unknown key 'colour'"),
	   "an unknown key is refused by name: %s", err);
	ok(parse("accel=xen", &s, err) < 0 && strstr(err, "auto, kvm or tcg"),
	   "a bad accel is refused: %s", err);
	ok(parse("rundir=tmp", &s, err) < 0 && strstr(err, "absolute"),
	   "a relative rundir is refused: %s", err);
	ok(parse("default_mem=0", &s, err) < 0 && strstr(err, "default_mem=0"),
	   "default_mem=0 is refused: %s", err);
	ok(parse("default_mem=12x", &s, err) < 0, "default_mem=12x is refused");
	ok(parse("verbose", &s, err) < 0 && strstr(err, "key=value"),
	   "an argument without = is refused: %s", err);
	ok(parse("fabric=ib", &s, err) < 0 && strstr(err, "auto, tcp or verbs"),
	   "an unknown fabric transport is refused: %s", err);
#ifdef HAVE_VERBS
	ok(parse("fabric=verbs", &s, err) == 0 && !strcmp(s.fabric, "verbs"),
	   "fabric=verbs is taken (this build has the verbs transport)");
#else
	ok(parse("fabric=verbs", &s, err) < 0 && strstr(err, "no verbs"),
	   "fabric=verbs is refused in a build without libibverbs: %s", err);
#endif
	return done_testing();
}
