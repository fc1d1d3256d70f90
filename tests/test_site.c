/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plugstack.conf arguments: defaults, every key, and refusals. */
#include "config.h"

#include <string.h>

#include "spank/site.h"
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
	ok(parse(NULL, &s, err) == 0 && !s.image_dirs[0] && !s.max_mem &&
	       !s.max_cpus && !s.allow_qemu_args,
	   "no policy by default: images anywhere, no limits, no QEMU args");
	ok(parse("image_dirs=/shared/images:/scratch/img", &s, err) == 0 &&
	       !strcmp(s.image_dirs, "/shared/images:/scratch/img"),
	   "image_dirs takes a list of directories");
	ok(parse("image_dirs=/a:images", &s, err) < 0 &&
	       strstr(err, "image_dirs=/a:images: each directory must be an "
			   "absolute path"),
	   "a relative image directory is refused: %s", err);
	ok(parse("image_dirs=/a::/b", &s, err) < 0 && strstr(err, "absolute"),
	   "an empty image directory is refused: %s", err);
	ok(parse("image_dirs=", &s, err) < 0, "an empty image_dirs is refused");
	ok(parse("max_mem=4096", &s, err) == 0 && s.max_mem == 4096,
	   "max_mem is read");
	ok(parse("max_mem=0", &s, err) < 0 && strstr(err, "max_mem=0"),
	   "max_mem=0 is refused: %s", err);
	ok(parse("max_cpus=8", &s, err) == 0 && s.max_cpus == 8,
	   "max_cpus is read");
	ok(parse("max_cpus=2000", &s, err) < 0 && strstr(err, "1 to 1024"),
	   "max_cpus above 1024 is refused: %s", err);
	ok(parse("allow_qemu_args=yes", &s, err) == 0 && s.allow_qemu_args,
	   "allow_qemu_args=yes is read");
	ok(parse("allow_qemu_args=no", &s, err) == 0 && !s.allow_qemu_args,
	   "allow_qemu_args=no is read");
	ok(parse("allow_qemu_args=1", &s, err) < 0 && strstr(err, "yes or no"),
	   "allow_qemu_args=1 is refused: %s", err);
	{
		char *low[] = {"max_mem=1024", "default_mem=2048"};

		ok(site_parse(2, low, &s, err, sizeof(err)) < 0 &&
		       strstr(err, "default_mem=2048 is above max_mem=1024"),
		   "a default_mem above max_mem is refused: %s", err);
	}
	ok(parse("colour=blue", &s, err) < 0 &&
	       strstr(err,
		      "image_dirs, max_mem, max_cpus, allow_qemu_args, "
		      "mounts, mount_cwd, mount_dirs, egress, image_cache, "
		      "image_cache_max)"),
	   "the unknown-key message lists the policy keys");
	ok(parse("egress=nat", &s, err) == 0 && !strcmp(s.egress, "nat"),
	   "egress=nat");
	ok(parse("launcher=/x", &s, err) == 0 && !strcmp(s.egress, "none"),
	   "egress is none by default");
	ok(parse("egress=open", &s, err) < 0 &&
	       strstr(err, "egress=open: must be none"),
	   "egress=open is refused, naming the choices: %s", err);
	ok(parse(NULL, &s, err) == 0 && s.mount_cwd && !s.mounts[0] &&
	       !s.mount_dirs[0],
	   "by default the submit directory is mounted, nothing else, and "
	   "users may mount anything");
	ok(parse("mount_cwd=no", &s, err) == 0 && !s.mount_cwd, "mount_cwd=no");
	ok(parse("mount_cwd=off", &s, err) < 0 && strstr(err, "yes or no"),
	   "mount_cwd=off is refused: %s", err);
	ok(parse("mounts=/home,/scratch:/s:ro", &s, err) == 0 &&
	       !strcmp(s.mounts, "/home,/scratch:/s:ro"),
	   "mounts= takes a --vm-mount list");
	ok(parse("mounts=/data:rel", &s, err) < 0 &&
	       strstr(err, "mounts=/data:rel: /data:rel: the guest path rel is "
			   "relative"),
	   "a site mount with a relative guest path stops the plugin: %s", err);
	ok(parse("mounts=/a,b", &s, err) < 0 &&
	       strstr(err, "b: the host path must be absolute"),
	   "a site mount with a relative host path stops the plugin: %s", err);
	ok(parse("mounts=/a:/proc/x", &s, err) < 0 &&
	       strstr(err, "the guest's own /proc"),
	   "a site mount on /proc stops the plugin: %s", err);
	ok(parse("mounts=/a:/d:rx", &s, err) < 0 && strstr(err, "'rx'"),
	   "a site mount with a bad mode stops the plugin: %s", err);
	ok(parse("mount_dirs=/home:/scratch", &s, err) == 0 &&
	       !strcmp(s.mount_dirs, "/home:/scratch"),
	   "mount_dirs= takes a list of directories");
	ok(parse("mount_dirs=/home:scratch", &s, err) < 0 &&
	       strstr(err, "mount_dirs=/home:scratch: each directory must be "
			   "an absolute path"),
	   "a relative mount directory is refused: %s", err);
	ok(parse(NULL, &s, err) == 0 && !s.image_cache[0] && !s.image_cache_max,
	   "no image cache by default");
	{
		char *both[] = {"image_cache=/var/cache/vm",
				"image_cache_max=50"};

		ok(site_parse(2, both, &s, err, sizeof(err)) == 0 &&
		       !strcmp(s.image_cache, "/var/cache/vm") &&
		       s.image_cache_max == 50,
		   "image_cache= and image_cache_max= are read");
	}
	ok(parse("image_cache=cache", &s, err) < 0 &&
	       strstr(err, "image_cache=cache: must be an absolute path"),
	   "a relative image_cache is refused: %s", err);
	ok(parse("image_cache=/", &s, err) < 0 &&
	       strstr(err, "image_cache=/: the cache needs a directory"),
	   "image_cache=/ is refused: %s", err);
	ok(parse("image_cache_max=10", &s, err) < 0 &&
	       strstr(err, "image_cache_max=10 is set without image_cache=; "
			   "add image_cache=DIR"),
	   "image_cache_max without image_cache is refused: %s", err);
	{
		char *zero[] = {"image_cache=/c", "image_cache_max=0"};
		char *big[] = {"image_cache=/c", "image_cache_max=9999999"};

		ok(site_parse(2, zero, &s, err, sizeof(err)) < 0 &&
		       strstr(err, "image_cache_max=0: not a whole number"),
		   "image_cache_max=0 is refused: %s", err);
		ok(site_parse(2, big, &s, err, sizeof(err)) < 0 &&
		       strstr(err, "image_cache_max=9999999: not a whole "
				   "number from 1 to 1048576"),
		   "image_cache_max above its limit is refused: %s", err);
	}
#ifdef HAVE_VERBS
	ok(parse("fabric=verbs", &s, err) == 0 && !strcmp(s.fabric, "verbs"),
	   "fabric=verbs is taken (this build has the verbs transport)");
#else
	ok(parse("fabric=verbs", &s, err) < 0 && strstr(err, "no verbs"),
	   "fabric=verbs is refused in a build without libibverbs: %s", err);
#endif
	return done_testing();
}
