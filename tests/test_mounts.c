/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --vm-mount: the syntax, the checks, the site's policy and defaults. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spank/mounts.h"
#include "spank/request.h"
#include "tap.h"

static char dir[] = "/tmp/slurm-vm-mounts.XXXXXX";
static struct site_config site;

static void site_set(const char *a, const char *b)
{
	char *av[2] = {(char *)a, (char *)b};
	char err[512];

	if (site_parse(a ? (b ? 2 : 1) : 0, av, &site, err, sizeof(err)) < 0)
		ok(0, "site_parse: %s", err);
}

/*
 * Validates a kernel-booting request with the given --vm-mount options
 * (each a separate option; NULL: none) and extra fields; returns the
 * checked SLURMVM_MOUNTS value, "(unset)" or "(refused)".
 */
static const char *mounts(char *err, const char *m1, const char *m2,
			  enum request_field f, const char *v)
{
	static char value[4096];
	struct request r = {0};

	if (f != REQ_EXEC || strcmp(v, "endpoint"))
		request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	if (m1)
		request_add(&r, REQ_MOUNT, m1, NULL);
	if (m2)
		request_add(&r, REQ_MOUNT, m2, NULL);
	if (v)
		request_set(&r, f, v, NULL);
	err[0] = 0;
	if (request_validate(&r, &site, dir, err, 1024) < 0)
		snprintf(value, sizeof(value), "(refused)");
	else
		snprintf(value, sizeof(value), "%s",
			 r.value[REQ_MOUNT] ? r.value[REQ_MOUNT] : "(unset)");
	request_clear(&r);
	return value;
}

/* fmt with every %s replaced by the test directory. */
static const char *in_dir(const char *fmt)
{
	static char buf[4][2048];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), fmt, dir, dir, dir, dir, dir,
		 dir);
	return buf[next];
}

static void test_syntax(char *err)
{
	struct mount_entry m;
	char p[64];

	ok(mount_parse("a", &m, err, 256) == 0 && !strcmp(m.src, "a") &&
	       !m.dst[0] && !m.ro,
	   "SRC alone: same path, read-write");
	ok(mount_parse("a:ro", &m, err, 256) == 0 && !strcmp(m.src, "a") &&
	       !m.dst[0] && m.ro,
	   "SRC:ro is a mode, not a guest path");
	ok(mount_parse("a:/d:ro", &m, err, 256) == 0 && !strcmp(m.dst, "/d") &&
	       m.ro,
	   "SRC:DST:ro");
	ok(mount_parse("a:/d:rw", &m, err, 256) == 0 && !m.ro, "SRC:DST:rw");
	ok(mount_parse("a:/d:rx", &m, err, 256) < 0 &&
	       strstr(err, "'rx' is neither ro"),
	   "a bad mode is refused: %s", err);
	ok(mount_parse("a:/d:ro:x", &m, err, 256) < 0 &&
	       strstr(err, "too many ':'"),
	   "a fourth field is refused: %s", err);
	ok(mount_parse(":/d", &m, err, 256) < 0 && strstr(err, "no host"),
	   "an empty SRC is refused: %s", err);
	ok(mount_parse("a::ro", &m, err, 256) < 0 && strstr(err, "empty"),
	   "an empty DST is refused: %s", err);
	strcpy(p, "//data//x/");
	ok(mount_guest_path(p, err, 256) == 0 && !strcmp(p, "/data/x"),
	   "a guest path is normalized: %s", p);
	strcpy(p, "/data/./x/../etc/..");
	ok(mount_guest_path(p, err, 256) == 0 && !strcmp(p, "/data"),
	   "'.' and '..' in a guest path are taken lexically: %s", p);
	strcpy(p, "/procfs");
	ok(mount_guest_path(p, err, 256) == 0, "/procfs is not /proc");
}

static void test_defaults(char *err)
{
	site_set(NULL, NULL);
	is_str(mounts(err, NULL, NULL, 0, NULL), in_dir("%s:%s:rw"),
	       "by default the directory srun runs in is mounted at its path");
	is_str(mounts(err, "none", NULL, 0, NULL), "none",
	       "--vm-mount=none turns the default off");
	is_str(mounts(err, "adir", NULL, 0, NULL),
	       in_dir("%s:%s:rw\n%s/adir:%s/adir:rw"),
	       "a relative SRC is made absolute; the default is kept, and "
	       "mounted first, as the parent");
	is_str(mounts(err, "adir:/data:ro,none", "sub:ro", 0, NULL),
	       in_dir("none\n%s/adir:/data:ro\n%s/adir:%s/sub:ro"),
	       "comma-separated and repeated options add up");
	is_str(mounts(err, "adir:/d,adir:/d", NULL, REQ_MOUNT, NULL),
	       in_dir("%s/adir:/d:rw\n%s:%s:rw"),
	       "one mount given twice is mounted once");
	is_str(mounts(err, "sub", NULL, 0, NULL),
	       in_dir("%s:%s:rw\n%s/adir:%s/sub:rw"),
	       "a symbolic link SRC is passed resolved, at the path given");
	is_str(mounts(err, in_dir("adir:%s"), NULL, 0, NULL),
	       in_dir("%s/adir:%s:rw"),
	       "a mount on the directory srun runs in replaces the default");
	site_set("mount_cwd=no", NULL);
	is_str(mounts(err, NULL, NULL, 0, NULL), "(unset)",
	       "plugstack mount_cwd=no: no default mount");
	site_set(in_dir("mounts=%s/adir:/site:ro,%s/images"), NULL);
	is_str(mounts(err, "none", NULL, 0, NULL),
	       in_dir("none\n%s/adir:/site:ro\n%s/images:%s/images:rw"),
	       "plugstack mounts= are mounted for every job");
	is_str(mounts(err, "images:/site", NULL, 0, NULL), "(refused)",
	       "a user's mount on a site mount's guest path is refused");
	ok(strstr(err, "the guest path /site is taken by plugstack.conf "
		       "mounts="),
	   "  and the message names the site's: %s", err);
	site_set("mounts=/nonexistent-slurm-vm", NULL);
	ok(!strcmp(mounts(err, NULL, NULL, 0, NULL), "(refused)") &&
	       strstr(err, "plugstack.conf mounts=/nonexistent-slurm-vm: "
			   "/nonexistent-slurm-vm is missing"),
	   "a broken site mount names the plugstack line: %s", err);
}

static void refused(const char *m, enum request_field f, const char *v,
		    const char *want, const char *what)
{
	char err[1024];
	const char *got = mounts(err, m, NULL, f, v);

	ok(!strcmp(got, "(refused)") && strstr(err, want), "%s: %s", what, err);
}

static void test_refusals(void)
{
	site_set(NULL, NULL);
	refused("nope", 0, NULL, "--vm-mount=nope: " /* the value as given */,
		"missing SRC");
	refused("nope", 0, NULL, "is missing; give an existing directory",
		"missing SRC, the fix");
	refused("vmlinux:/k", 0, NULL, "is not a directory", "a file as SRC");
	refused("adir:data", 0, NULL,
		"--vm-mount=adir:data: the guest path data is relative",
		"relative DST");
	refused("adir:/", 0, NULL, "would hide the guest's whole system",
		"DST /");
	refused("adir:/proc", 0, NULL, "the guest's own /proc", "DST /proc");
	refused("adir:/sys/fs", 0, NULL, "the guest's own /sys",
		"DST below /sys");
	refused("adir://dev/", 0, NULL, "the guest's own /dev",
		"DST //dev/ (normalized first)");
	refused("adir:/d/../proc", 0, NULL, "the guest's own /proc",
		"DST /d/../proc (taken lexically)");
	refused("adir:/..", 0, NULL, "the guest's whole system", "DST /..");
	refused("adir:/d,images:/d", 0, NULL,
		"--vm-mount=images:/d: the guest path /d is taken by "
		"--vm-mount=adir:/d",
		"two mounts on one DST");
	refused("adir:/d,adir:/d:ro", 0, NULL, "is taken by",
		"one SRC twice on one DST with other modes");
	refused("adir", REQ_EXEC, "endpoint",
		"--vm-mount=adir: --vm-exec=endpoint runs no guest",
		"--vm-mount with --vm-exec=endpoint");
	refused("adir", REQ_EXEC, "host", "--vm-exec=host runs the command",
		"--vm-mount with --vm-exec=host");
	refused("adir", REQ_SNAPSHOT, "adir",
		"QEMU cannot save or restore a guest with a directory",
		"--vm-mount with --vm-snapshot");
}

static void test_modes_without_default(char *err)
{
	site_set(in_dir("mounts=%s/adir"), NULL);
	is_str(mounts(err, NULL, NULL, REQ_EXEC, "endpoint"), "(unset)",
	       "an endpoint gets no default or site mount");
	is_str(mounts(err, NULL, NULL, REQ_SNAPSHOT, "adir"), "(unset)",
	       "a snapshot job gets no default or site mount (README)");
}

static void test_policy(char *err)
{
	char link[1100];

	site_set(in_dir("mount_dirs=%s/images"), NULL);
	is_str(mounts(err, "images/a", "none", 0, NULL),
	       in_dir("none\n%s/images/a:%s/images/a:rw"),
	       "a directory inside mount_dirs is fine");
	refused("adir,none", 0, NULL,
		in_dir("--vm-mount=adir: outside the site's mount directories "
		       "(plugstack.conf: mount_dirs=%s/images); use a "
		       "directory from one of them"),
		"a directory outside mount_dirs");
	refused("images/../adir,none", 0, NULL,
		in_dir("(it resolves to %s/adir)"), "'..' out of mount_dirs");
	snprintf(link, sizeof(link), "%s/images/out", dir);
	ok(symlink("../adir", link) == 0, "symlink images/out -> ../adir");
	refused("images/out,none", 0, NULL,
		in_dir("--vm-mount=images/out: outside the site's mount "
		       "directories (it resolves to %s/adir)"),
		"a symbolic link out of mount_dirs");
	refused(NULL, 0, NULL,
		in_dir("the directory you run in (%s, mounted by default; "
		       "--vm-mount=none turns that off): outside the site's "
		       "mount directories"),
		"the default mount is held to mount_dirs too");
	site_set(in_dir("mount_dirs=%s/images"), in_dir("mounts=%s/adir"));
	is_str(mounts(err, "none", NULL, 0, NULL),
	       in_dir("none\n%s/adir:%s/adir:rw"),
	       "the site's own mounts are exempt from mount_dirs");
}

static void test_user(char *err)
{
	site_set(NULL, NULL);
	ok(strcmp(mounts(err, "none", NULL, REQ_USER, "root"), "(refused)") !=
	       0,
	   "--vm-user=root is taken");
	ok(!strcmp(mounts(err, "none", NULL, REQ_USER, "bob"), "(refused)") &&
	       strstr(err, "--vm-user=bob: the command runs as you in the "
			   "guest; the one other choice is root"),
	   "--vm-user=bob is refused: %s", err);
}

/* sbatch's list, inherited by a step that cannot mount, is dropped. */
static void test_inherited(char *err)
{
	struct request r = {0};

	site_set(NULL, NULL);
	request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	request_set(&r, REQ_SNAPSHOT, "adir", NULL);
	request_add(&r, REQ_MOUNT, in_dir("%s:%s:rw"), "SLURMVM_MOUNTS");
	ok(request_validate(&r, &site, dir, err, 1024) == 0 &&
	       !r.value[REQ_MOUNT],
	   "a snapshot step drops the list it inherits in SLURMVM_MOUNTS: %s",
	   err);
	request_clear(&r);
	request_set(&r, REQ_KERNEL, "vmlinux", NULL);
	request_set(&r, REQ_SNAPSHOT, "adir", NULL);
	request_add(&r, REQ_MOUNT, in_dir("%s:%s:rw"), "SLURMVM_MOUNTS");
	request_add(&r, REQ_MOUNT, "adir", NULL);
	ok(request_validate(&r, &site, dir, err, 1024) < 0 &&
	       strstr(err, "QEMU cannot save"),
	   "but not a --vm-mount given beside it: %s", err);
	request_clear(&r);
}

/* On the node: the list from the job's environment, checked again. */
static void test_node(char *err)
{
	struct request r = {0};

	site_set(in_dir("mount_dirs=%s/images"), NULL);
	request_set(&r, REQ_MOUNT, in_dir("none\n%s/adir:/d:rw"),
		    "SLURMVM_MOUNTS");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "SLURMVM_MOUNTS=") &&
	       strstr(err, "outside the site's mount directories"),
	   "the node refuses a forged list outside mount_dirs: %s", err);
	request_clear(&r);
	request_set(&r, REQ_MOUNT, in_dir("%s/images/a:/x:ro"),
		    "SLURMVM_MOUNTS");
	ok(request_check_policy(&r, &site, err, 1024) == 0 &&
	       !strcmp(r.value[REQ_MOUNT], in_dir("%s/images/a:/x:ro")),
	   "a canonical list passes the node unchanged: %s",
	   r.value[REQ_MOUNT]);
	request_clear(&r);
	site_set(in_dir("mount_dirs=%s/images"), in_dir("mounts=%s/adir"));
	request_set(&r, REQ_MOUNT, in_dir("%s/adir:%s/adir:rw"),
		    "SLURMVM_MOUNTS");
	ok(request_check_policy(&r, &site, err, 1024) == 0,
	   "a site mount carried in the job's list stays exempt: %s", err);
	request_clear(&r);
	request_set(&r, REQ_MOUNT, in_dir("%s/adir:/elsewhere:rw"),
		    "SLURMVM_MOUNTS");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "outside the site's mount directories"),
	   "the site's directory at another guest path is the user's: %s", err);
	request_clear(&r);
	request_set(&r, REQ_MOUNT, "images/a:/x:ro", "SLURMVM_MOUNTS");
	ok(request_check_policy(&r, &site, err, 1024) == -EINVAL &&
	       strstr(err, "not absolute"),
	   "the node refuses a relative host path: %s", err);
	request_clear(&r);
}

/* A directory the user cannot read is refused at submit time. */
static void test_unreadable(void)
{
	char err[1024], path[1100];
	int st = -1;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/secret", dir);
	if (getuid() != 0) {
		ok(1, "# SKIP needs root to act as another user");
		return;
	}
	mkdir(path, 0700);
	pid = fork();
	if (pid == 0) {
		const char *got;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		site_set(NULL, NULL);
		got = mounts(err, "secret,none", NULL, 0, NULL);
		printf("# %s\n", err);
		_exit(!strcmp(got, "(refused)") &&
			      strstr(err, "not readable by you")
			  ? 0
			  : 1);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a directory the user cannot read is refused");
}

int main(void)
{
	char err[1024], path[1100];
	FILE *f;

	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/vmlinux", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("ELF", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/adir", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/images", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/images/a", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sub", dir);
	if (symlink("adir", path) < 0)
		ok(0, "symlink sub");
	test_syntax(err);
	test_defaults(err);
	test_refusals();
	test_modes_without_default(err);
	test_policy(err);
	test_node(err);
	test_inherited(err);
	test_user(err);
	test_unreadable();
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		ok(0, "clean up %s", dir);
	return done_testing();
}
