/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --vm-keep's writer (launcher/boot/keep.c) against a scratch directory:
 * what it keeps, and the links and files another user may plant. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/boot/keep.h"
#include "tap.h"

#define OTHER_UID 65534

static char dir[] = "/tmp/slurm-vm-test-keep.XXXXXX";

static const char *in(const char *name)
{
	static char buf[4][4200];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", dir, name);
	return buf[next];
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ok(0, "write %s", path);
	if (fd >= 0)
		close(fd);
}

/* The file's text ("" when it cannot be read). */
static const char *text_of(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_path(void)
{
	char buf[4200], want[4200], cwd[4096];

	ok(keep_path("/r/res.%j.%s", 12, 3, buf, sizeof(buf)) == 0,
	   "an absolute pattern expands");
	is_str(buf, "/r/res.12.3", "%%j is the job, %%s the step");
	ok(keep_path("/r/100%%.%j", 7, 0, buf, sizeof(buf)) == 0 &&
	       !strcmp(buf, "/r/100%.7"),
	   "%%%% is a %%: %s", buf);
	ok(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
	snprintf(want, sizeof(want), "%s/slurm-vm-results.5.1", cwd);
	ok(keep_path("slurm-vm-results.%j.%s", 5, 1, buf, sizeof(buf)) == 0,
	   "the default pattern expands");
	is_str(buf, want, "a relative pattern is in the working directory");
	ok(keep_path("/r/x.%t", 1, 1, buf, sizeof(buf)) == -EINVAL,
	   "an unknown pattern is refused");
	ok(keep_path("/r/x.%", 1, 1, buf, sizeof(buf)) == -EINVAL,
	   "a lone %% at the end is refused");
	ok(keep_path("/r/%j%j%j%j", 4294967295UL, 1, buf, 20) == -ENAMETOOLONG,
	   "a path past the buffer is refused, not cut");
}

static void test_write(void)
{
	char err[4400], capture[4200], console[4200];
	struct stat st;
	struct fabric_stats fs;
	struct keep_evidence e = {
	    .rank = 3,
	    .code = 124,
	    .timed_out = 1,
	    .timeout = 3,
	    .console = in("console.log"),
	    .out = "last out\n",
	    .err = "last err\n",
	};

	put(in("console.log"), "Linux version x\nlogin:\n");
	put(in("capture.pcap"), "\xd4\xc3\xb2\xa1 frames");
	snprintf(capture, sizeof(capture), "%s", in("capture.pcap"));
	snprintf(console, sizeof(console), "%s", in("console.log"));
	e.capture = capture; /* in()'s buffers are reused */
	e.console = console;
	ok(keep_write(in("res"), &e, err, sizeof(err)) == 0,
	   "a rank's evidence is written: %s", err);
	is_str(text_of(in("res/n0003/status")),
	       "timeout after 3 s (exit 124)\n", "status says timeout");
	is_str(text_of(in("res/n0003/console.log")),
	       "Linux version x\nlogin:\n", "the console log is copied");
	is_str(text_of(in("res/n0003/capture.pcap")), "\xd4\xc3\xb2\xa1 frames",
	       "the capture is copied");
	is_str(text_of(in("res/n0003/stdout.tail")), "last out\n",
	       "the stdout tail is kept");
	is_str(text_of(in("res/n0003/stderr.tail")), "last err\n",
	       "the stderr tail is kept");
	ok(!exists(in("res/n0003/stats.json")), "no stats without --vm-stats");
	ok(stat(in("res/n0003"), &st) == 0 && (st.st_mode & 0777) == 0700,
	   "the rank's directory is the user's alone");

	memset(&fs, 0, sizeof(fs));
	e = (struct keep_evidence){.rank = 4, .code = 3, .stats = &fs};
	ok(keep_write(in("res"), &e, err, sizeof(err)) == 0,
	   "a second rank shares the results directory: %s", err);
	is_str(text_of(in("res/n0004/status")), "exit 3\n",
	       "status says the exit code");
	ok(strstr(text_of(in("res/n0004/stats.json")), "\"rank\": 4") ||
	       strstr(text_of(in("res/n0004/stats.json")), "\"rank\":4"),
	   "stats.json holds the fabric's counters: %s",
	   text_of(in("res/n0004/stats.json")));
	ok(!exists(in("res/n0004/console.log")) &&
	       !exists(in("res/n0004/stdout.tail")),
	   "what was not given is not made");

	e.console = in("gone.log");
	e.rank = 5;
	ok(keep_write(in("res"), &e, err, sizeof(err)) == 0 &&
	       !exists(in("res/n0005/console.log")),
	   "a guest that left no console log is no error");
}

static void test_attacks(void)
{
	char err[4400];
	struct keep_evidence e = {.rank = 1, .code = 1, .out = "secret\n"};

	/* The rank's directory planted as a link to another directory. */
	mkdir(in("a1"), 0755);
	mkdir(in("elsewhere"), 0777);
	ok(symlink(in("elsewhere"), in("a1/n0001")) == 0, "plant a link");
	ok(keep_write(in("a1"), &e, err, sizeof(err)) == -EEXIST &&
	       strstr(err, "n0001 exists already"),
	   "a link at the rank's directory is refused: %s", err);
	ok(!exists(in("elsewhere/stdout.tail")) &&
	       !exists(in("elsewhere/status")),
	   "nothing was written through it");

	/* A file of another user's at the rank's directory. */
	mkdir(in("a2"), 0777);
	put(in("a2/n0001"), "theirs\n");
	ok(chown(in("a2/n0001"), OTHER_UID, OTHER_UID) == 0, "chown");
	ok(keep_write(in("a2"), &e, err, sizeof(err)) == -EEXIST,
	   "a pre-existing file at the rank's directory is refused: %s", err);
	is_str(text_of(in("a2/n0001")), "theirs\n", "it is left as it was");

	/* A directory of another user's at the rank's name: not adopted. */
	mkdir(in("a3"), 0777);
	mkdir(in("a3/n0001"), 0777);
	ok(chown(in("a3/n0001"), OTHER_UID, OTHER_UID) == 0, "chown");
	ok(keep_write(in("a3"), &e, err, sizeof(err)) == -EEXIST &&
	       !exists(in("a3/n0001/status")),
	   "an existing rank directory is never adopted: %s", err);

	/* The results directory itself planted as a link. */
	mkdir(in("elsewhere2"), 0777);
	ok(symlink(in("elsewhere2"), in("a4")) == 0, "plant a link");
	ok(keep_write(in("a4"), &e, err, sizeof(err)) == -ELOOP &&
	       strstr(err, "symbolic link"),
	   "a link at the results directory is refused: %s", err);
	ok(!exists(in("elsewhere2/n0001")), "nothing was made through it");

	/* The results directory made by another user first. */
	mkdir(in("a5"), 0777);
	ok(chown(in("a5"), OTHER_UID, OTHER_UID) == 0, "chown");
	ok(keep_write(in("a5"), &e, err, sizeof(err)) == -EPERM &&
	       strstr(err, "not by you"),
	   "another user's results directory is refused: %s", err);
	ok(!exists(in("a5/n0001")), "nothing was made in it");

	/* A regular file where the results directory goes. */
	put(in("a6"), "x");
	ok(keep_write(in("a6"), &e, err, sizeof(err)) < 0 &&
	       !strcmp(text_of(in("a6")), "x"),
	   "a file at the results directory is refused and kept: %s", err);

	/* The console log a link (to a file the user may not read), or a
	 * FIFO that would block a reader. */
	put(in("private"), "root's\n");
	ok(symlink(in("private"), in("console-link")) == 0, "plant a link");
	e.console = in("console-link");
	ok(keep_write(in("a7"), &e, err, sizeof(err)) == -ELOOP &&
	       !exists(in("a7/n0001/console.log")),
	   "a console log that is a link is not copied: %s", err);
	/* The capture a link: not followed either. */
	e.console = NULL;
	ok(symlink(in("private"), in("capture-link")) == 0, "plant a link");
	e.capture = in("capture-link");
	ok(keep_write(in("a9"), &e, err, sizeof(err)) == -ELOOP &&
	       !exists(in("a9/n0001/capture.pcap")),
	   "a capture that is a link is not copied: %s", err);
	e.capture = NULL;
	ok(mkfifo(in("console-fifo"), 0600) == 0, "make a FIFO");
	e.console = in("console-fifo");
	ok(keep_write(in("a8"), &e, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "FIFO"),
	   "a console log that is a FIFO is refused without blocking: %s", err);
}

int main(void)
{
	char cmd[256];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (chdir(dir) < 0)
		ok(0, "chdir");
	test_path();
	test_write();
	if (geteuid() == 0)
		test_attacks();
	else
		ok(1, "# SKIP the attacks need root (chown to another user)");
	if (chdir("/") < 0)
		ok(0, "chdir /");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
