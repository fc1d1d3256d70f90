/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Snapshot manifests and directories: round trips, refusals, publishing. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/snapdir/manifest.h"
#include "launcher/snapdir/snapdir.h"
#include "tap.h"

static char top[] = "/tmp/slurm-vm-test-manifest.XXXXXX";

static void put(const char *dir, const char *name, const char *content)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		ok(0, "create %s", path);
		return;
	}
	fputs(content, f);
	fclose(f);
}

static const char *in_top(const char *name)
{
	static char buf[4][4200];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", top, name);
	return buf[next];
}

/* A snapshot of ntasks ranks in dir, files written and hashed. */
static void make_snapshot(const char *dir, uint32_t ntasks,
			  struct snap_manifest *m)
{
	char name[64], content[64], path[4400], err[512] = "";
	uint32_t i;

	mkdir(dir, 0700);
	memset(m, 0, sizeof(*m));
	m->job = 42;
	m->step = 0;
	m->ntasks = ntasks;
	m->seq = 1;
	snprintf(m->cut_time, sizeof(m->cut_time), "2026-11-22T10:00:00.123Z");
	m->pause_ms = 250;
	snprintf(m->qemu_version, sizeof(m->qemu_version), "8.2.2");
	for (i = 0; i < ntasks; i++) {
		struct snap_rank r = {0};

		r.rank = i;
		snprintf(r.node, sizeof(r.node), "n%u", i % 2 + 1);
		snap_ident_of(in_top("vmlinux"), &r.kernel);
		if (i == 0)
			snap_ident_of(in_top("disk.qcow2"), &r.image);
		r.mem_mb = 1;
		r.cpus = 1;
		r.has_disk = i == 0;
		snap_file_name(i, SNAP_VMSTATE, name, sizeof(name));
		snprintf(content, sizeof(content), "devices of rank %u", i);
		put(dir, name, content);
		snap_file_hash(dir, name, &r.vmstate);
		snap_file_name(i, SNAP_MEMORY, name, sizeof(name));
		snprintf(content, sizeof(content), "memory of rank %u", i);
		put(dir, name, content);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (truncate(path, 1 << 20) < 0)
			ok(0, "set-up: a 1 MiB memory file");
		snap_file_hash(dir, name, &r.memory);
		snap_file_name(i, SNAP_FRAMES, name, sizeof(name));
		put(dir, name, "");
		snap_file_hash(dir, name, &r.frames);
		snap_file_name(i, SNAP_AGENT, name, sizeof(name));
		put(dir, name, "{}");
		snap_file_hash(dir, name, &r.agent);
		if (r.has_disk) {
			snap_file_name(i, SNAP_DISK, name, sizeof(name));
			put(dir, name, "QFI\xfb overlay");
			snap_file_hash(dir, name, &r.disk);
		}
		ok(snap_rank_write(dir, &r, err, sizeof(err)) == 0,
		   "rank %u writes its entry", i);
	}
	ok(manifest_collect(dir, m, err, sizeof(err)) == 0,
	   "rank 0 collects every entry: %s", err);
}

static void test_hash(void)
{
	struct snap_file f;
	char err[512];

	put(top, "abc", "abc");
	ok(snap_file_hash(top, "abc", &f) == 0 && f.size == 3,
	   "a file hashes, with its size");
	is_str(
	    f.sha256,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "SHA-256 of 'abc' (the standard's test vector)");
	put(top, "empty", "");
	ok(snap_file_hash(top, "empty", &f) == 0 && f.size == 0 &&
	       !strcmp(f.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
				 "934ca495991b7852b855"),
	   "an empty file hashes too");
	ok(snap_file_hash(top, "nofile", &f) == -ENOENT,
	   "a missing file is -ENOENT");
	ok(snap_file_hash(top, "../etc/passwd", &f) == -ENAMETOOLONG,
	   "a name with a slash is refused");
	snap_file_hash(top, "abc", &f);
	ok(snap_file_verify(top, &f, 1, err, sizeof(err)) == 0,
	   "an unchanged file verifies");
	put(top, "abc", "abd");
	ok(snap_file_verify(top, &f, 0, err, sizeof(err)) == 0,
	   "same size passes the size check");
	ok(snap_file_verify(top, &f, 1, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "SHA-256") && strstr(err, "the manifest says"),
	   "a changed byte fails the checksum: %s", err);
	put(top, "abc", "ab");
	ok(snap_file_verify(top, &f, 0, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "2 bytes, the manifest says 3"),
	   "a short file fails the size check: %s", err);
}

static void test_ident(void)
{
	struct snap_ident id;
	struct timespec ts[2];
	char err[512];

	put(top, "img", "image one");
	ok(snap_ident_of(in_top("img"), &id) == 0 && id.size == 9,
	   "an identity is the file's size and time");
	ok(snap_ident_check(&id, "image", err, sizeof(err)) == 0,
	   "an unchanged file passes");
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[1] = ts[0];
	ts[1].tv_sec += 10;
	utimensat(AT_FDCWD, in_top("img"), ts, 0);
	ok(snap_ident_check(&id, "image", err, sizeof(err)) == -ESTALE &&
	       strstr(err, "image ") &&
	       strstr(err, "changed since the snapshot"),
	   "a touched file is stale: %s", err);
	put(top, "img", "image number two");
	ok(snap_ident_check(&id, "image", err, sizeof(err)) == -ESTALE &&
	       strstr(err, "size 9 -> 16 bytes"),
	   "a rewritten file is stale, sizes given: %s", err);
	unlink(in_top("img"));
	ok(snap_ident_check(&id, "kernel", err, sizeof(err)) == -ENOENT &&
	       strstr(err, "kernel ") && strstr(err, "No such file"),
	   "a removed file is named: %s", err);
	id.path[0] = 0;
	ok(snap_ident_check(&id, "initrd", err, sizeof(err)) == 0,
	   "no file is nothing to check");
	ok(snap_ident_of("relative", &id) == -EINVAL,
	   "a relative path is refused");
}

static void test_round_trip(void)
{
	struct snap_manifest m, back;
	char dir[4200], err[1024];
	struct snap_rank one;

	snprintf(dir, sizeof(dir), "%s/.partial.42.0.1", top);
	make_snapshot(dir, 3, &m);
	ok(manifest_write(dir, &m, err, sizeof(err)) == 0,
	   "the manifest writes: %s", err);
	ok(manifest_read(dir, &back, err, sizeof(err)) == 0,
	   "and reads back: %s", err);
	ok(back.job == 42 && back.step == 0 && back.ntasks == 3 &&
	       back.seq == 1 && back.pause_ms == 250 &&
	       !strcmp(back.cut_time, m.cut_time) &&
	       !strcmp(back.qemu_version, "8.2.2"),
	   "the header survives");
	ok(back.ranks && !memcmp(back.ranks, m.ranks, 3 * sizeof(*m.ranks)),
	   "every rank entry survives, byte for byte");
	ok(!back.at_ready, "a snapshot of a command says so");
	manifest_free(&back);
	m.at_ready = 1;
	ok(manifest_write(dir, &m, err, sizeof(err)) == 0 &&
	       manifest_read(dir, &back, err, sizeof(err)) == 0 &&
	       back.at_ready,
	   "a snapshot taken at ready says so too: %s", err);
	ok(back.ranks[0].has_disk && !back.ranks[1].has_disk &&
	       !strcmp(back.ranks[0].disk.name, "rank-0.disk.qcow2"),
	   "the disk is kept only where there was one");
	ok(manifest_verify(dir, &back, 1, err, sizeof(err)) == 0,
	   "every file verifies: %s", err);
	ok(manifest_bytes(&back) == m.ranks[0].vmstate.size * 3 + 2 * 3 +
					m.ranks[0].disk.size + 3 * (1 << 20),
	   "the bytes add up (%" PRIu64 ")", manifest_bytes(&back));
	put(dir, "rank-2.vmstate", "memory of rank 2 but more");
	ok(manifest_verify(dir, &back, 0, err, sizeof(err)) == -EBADMSG &&
	       strstr(err, "rank 2 (saved on n1)") &&
	       strstr(err, "rank-2.vmstate"),
	   "a damaged rank file names the rank and the node: %s", err);
	manifest_free(&back);
	manifest_free(&m);
	manifest_free(&m);
	ok(m.ranks == NULL, "freeing twice is harmless");
	ok(snap_rank_read(dir, 7, &one, err, sizeof(err)) == -ENOENT,
	   "a rank that wrote nothing is -ENOENT");
}

/* Refusals that left something in the manifest. */
static int not_empty;

/* Parses text as a manifest; returns the message or "(accepted)". */
static const char *refusal(const char *text)
{
	static char err[1024];
	struct snap_manifest m;

	if (manifest_parse(text, strlen(text), 0, "m.json", &m, err,
			   sizeof(err)) == 0) {
		manifest_free(&m);
		return "(accepted)";
	}
	if (m.ranks || m.ntasks)
		not_empty++;
	return err;
}

#define HEAD                                                                   \
	"{\"format\":\"slurm-vm-snapshot\",\"version\":2,\"job\":7,"           \
	"\"step\":0,\"ntasks\":1,\"seq\":1,\"cut_time\":\"t\","                \
	"\"pause_ms\":5,\"qemu_version\":\"8.2.2\","
#define SHA "\"" HEX "\""
#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FILES                                                                  \
	"\"files\":{\"vmstate\":{\"name\":\"rank-0.vmstate\",\"size\":1,"      \
	"\"sha256\":" SHA "},\"memory\":{\"name\":\"rank-0.memory\","          \
	"\"size\":268435456,\"stored\":4096,\"sha256\":" SHA "},"              \
	"\"frames\":{\"name\":\"rank-0.frames\","                              \
	"\"size\":0,\"sha256\":" SHA "},\"agent\":{\"name\":\"rank-0.agent\"," \
	"\"size\":0,\"sha256\":" SHA "}}"
#define RANK0                                                                  \
	"{\"rank\":0,\"node\":\"n1\",\"mem_mb\":256,\"cpus\":1,"               \
	"\"image\":null,\"kernel\":{\"path\":\"/k\",\"size\":1,"               \
	"\"mtime_ns\":-5},\"initrd\":null," FILES "}"

static void test_malformed(void)
{
	is_str(refusal(HEAD "\"ranks\":[" RANK0 "]}"), "(accepted)",
	       "a minimal manifest is taken");
	is_str(refusal(HEAD "\"at\":\"ready\",\"ranks\":[" RANK0 "]}"),
	       "(accepted)", "\"at\": \"ready\" is taken");
	is_str(refusal(HEAD "\"at\":\"command\",\"ranks\":[" RANK0 "]}"),
	       "(accepted)", "\"at\": \"command\" is taken");
	ok(strstr(refusal(HEAD "\"at\":\"boot\",\"ranks\":[" RANK0 "]}"),
		  "m.json: at is not \"command\", \"ready\" or \"fail\""),
	   "another \"at\" is refused: %s",
	   refusal(HEAD "\"at\":\"boot\",\"ranks\":[" RANK0 "]}"));
	ok(strstr(refusal(HEAD "\"at\":1,\"ranks\":[" RANK0 "]}"), "at is not"),
	   "so is a number");
	is_str(refusal(HEAD "\"at\":\"fail\",\"failed_rank\":0,"
			    "\"failed_code\":3,\"ranks\":[" RANK0 "]}"),
	       "(accepted)",
	       "\"at\": \"fail\" with its rank and code is taken");
	ok(strstr(refusal(HEAD "\"at\":\"fail\",\"failed_code\":3,"
			       "\"ranks\":[" RANK0 "]}"),
		  "failed_rank is missing"),
	   "at fail without the failed rank is refused");
	ok(strstr(refusal(HEAD "\"at\":\"fail\",\"failed_rank\":1,"
			       "\"failed_code\":3,\"ranks\":[" RANK0 "]}"),
		  "failed_rank is not"),
	   "a failed rank outside the step is refused: %s",
	   refusal(HEAD "\"at\":\"fail\",\"failed_rank\":1,"
			"\"failed_code\":3,\"ranks\":[" RANK0 "]}"));
	ok(strstr(refusal(HEAD "\"at\":\"fail\",\"failed_rank\":0,"
			       "\"failed_code\":256,\"ranks\":[" RANK0 "]}"),
		  "failed_code is not"),
	   "an exit code above 255 is refused");
	{
		struct snap_manifest m;
		char err[256];
		const char *t = HEAD "\"at\":\"ready\",\"ranks\":[" RANK0 "]}";
		const char *u = HEAD "\"ranks\":[" RANK0 "]}";

		ok(manifest_parse(t, strlen(t), 0, "m", &m, err, sizeof(err)) ==
			   0 &&
		       m.at_ready,
		   "\"at\": \"ready\" reads as a snapshot at ready");
		manifest_free(&m);
		ok(manifest_parse(u, strlen(u), 0, "m", &m, err, sizeof(err)) ==
			   0 &&
		       !m.at_ready,
		   "no \"at\" (an older snapshot) reads as one of a command");
		manifest_free(&m);
	}
	ok(strstr(refusal("{\"format\":"), "m.json: not valid JSON (line 1"),
	   "truncated JSON is refused: %s", refusal("{\"format\":"));
	ok(strstr(refusal(""), "not valid JSON"), "an empty file is refused");
	ok(strstr(refusal("[1]"), "m.json: the top level is not an object"),
	   "an array is refused");
	ok(strstr(refusal("{\"format\":\"other\"}"),
		  "format is not slurm-vm-snapshot"),
	   "another format is refused");
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":1}"),
		  "version 1, this slurm-vm reads version 2 only"),
	   "another version is refused: %s",
	   refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":1}"));
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2}"),
		  "m.json: job is missing; the snapshot is damaged"),
	   "a missing field is named: %s",
	   refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2}"));
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2,"
			  "\"job\":-1}"),
		  "job is not a number in range"),
	   "a negative job is refused");
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2,"
			  "\"job\":\"7\"}"),
		  "job is not a number in range"),
	   "a job as a string is refused");
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2,"
			  "\"job\":1,\"job\":2}"),
		  "not valid JSON"),
	   "a duplicate key is refused");
	ok(strstr(refusal(HEAD "\"ranks\":[]}"),
		  "ranks has 0 entries for ntasks 1"),
	   "too few ranks are refused");
	ok(strstr(refusal(HEAD "\"ranks\":[" RANK0 "," RANK0 "]}"),
		  "ranks has 2 entries for ntasks 1"),
	   "too many ranks are refused");
	ok(strstr(refusal(HEAD "\"ranks\":{}}"), "ranks is missing or not an "
						 "array"),
	   "ranks as an object is refused");
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2,"
			  "\"job\":7,\"step\":0,\"ntasks\":0}"),
		  "ntasks is 0"),
	   "no tasks is refused");
	ok(strstr(refusal("{\"format\":\"slurm-vm-snapshot\",\"version\":2,"
			  "\"job\":7,\"step\":0,\"ntasks\":99999999}"),
		  "ntasks is not a number in range"),
	   "more tasks than Slurm has is refused");
	ok(strstr(refusal(HEAD "\"ranks\":[" RANK0 "]}"
			       "x"),
		  "not valid JSON"),
	   "trailing bytes are refused");

	/* Rank entries. */
	{
		char text[4096];
		const struct {
			const char *from, *to, *want, *what;
		} cases[] = {
		    {"\"rank\":0", "\"rank\":1", "ranks[0] is rank 1",
		     "a rank out of order"},
		    {"\"node\":\"n1\"", "\"node\":7",
		     "ranks[0].node is not a "
		     "string",
		     "a node that is not a string"},
		    {"\"mem_mb\":256", "\"mem_mb\":0", "has no memory",
		     "no memory"},
		    {"\"cpus\":1", "\"cpus\":4096",
		     "ranks[0].cpus is not a "
		     "number in range",
		     "too many vCPUs"},
		    {"\"path\":\"/k\"", "\"path\":\"k\"",
		     "path is not absolute", "a relative kernel path"},
		    {"\"kernel\":{\"path\":\"/k\",\"size\":1,\"mtime_ns\":-5}",
		     "\"kernel\":null", "has neither image nor kernel",
		     "nothing to boot"},
		    {"\"mtime_ns\":-5", "\"mtime_ns\":1.5",
		     "mtime_ns is "
		     "missing or not a "
		     "number",
		     "a fractional time"},
		    {"\"name\":\"rank-0.vmstate\"",
		     "\"name\":\"../../etc/shadow\"",
		     "ranks[0].files.vmstate name is not rank-0.vmstate",
		     "a file name leading out of the snapshot"},
		    {"\"name\":\"rank-0.frames\"", "\"name\":\"rank-1.frames\"",
		     "name is not rank-0.frames", "another rank's file"},
		    {"\"sha256\":" SHA, "\"sha256\":\"ABC\"",
		     "sha256 is not 64 lowercase hex digits", "a bad checksum"},
		    {",\"agent\":{\"name\":\"rank-0.agent\",\"size\":0,"
		     "\"sha256\":" SHA "}",
		     "", "ranks[0].files.agent is missing", "a missing file"},
		    {"\"size\":1,\"sha256\"", "\"size\":-1,\"sha256\"",
		     "files.vmstate.size is not a number in range",
		     "a negative size"},
		    {"\"stored\":4096", "\"stored\":268435457",
		     "files.memory.stored is not a number in range",
		     "more data stored than the memory holds"},
		    {"\"stored\":4096,", "", "files.memory.stored is missing",
		     "memory without its stored bytes"},
		    {"\"mem_mb\":256", "\"mem_mb\":512",
		     "files.memory.size is not mem_mb MiB",
		     "a memory file of another size than the guest's"},
		    {"\"cpus\":1,", "\"cpus\":1,\"cpus\":2,", "not valid JSON",
		     "a duplicate key in a rank"},
		    {"\"node\":\"n1\"", "\"node\":\"n\\u0000x\"",
		     "not valid JSON", "a NUL in a string"},
		};
		size_t i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *full = HEAD "\"ranks\":[" RANK0 "]}";
			const char *at = strstr(full, cases[i].from);
			const char *got;

			if (!at) {
				ok(0, "case %zu: '%s' not in the template", i,
				   cases[i].from);
				continue;
			}
			snprintf(text, sizeof(text), "%.*s%s%s",
				 (int)(at - full), full, cases[i].to,
				 at + strlen(cases[i].from));
			got = refusal(text);
			ok(strstr(got, cases[i].want) != NULL,
			   "%s is refused: %s", cases[i].what, got);
		}
	}
	ok(not_empty == 0, "every refused manifest is left empty");
}

static void test_layout(void)
{
	struct snap_name n;
	char buf[64], err[1024], out[4300], dir[4200];
	struct snap_manifest m;
	long seq;

	ok(snap_name_parse("snap.42.0.3", &n) == 0 &&
	       n.state == SNAP_COMPLETE && n.job == 42 && n.step == 0 &&
	       n.seq == 3,
	   "a complete snapshot's name parses");
	ok(snap_name_parse(".partial.42.1.12", &n) == 0 &&
	       n.state == SNAP_PARTIAL && n.step == 1 && n.seq == 12,
	   "a partial one's too");
	ok(snap_name_parse("snap.42.0", &n) < 0 &&
	       snap_name_parse("snap.42.0.3.4", &n) < 0 &&
	       snap_name_parse("snap.42.0.03", &n) < 0 &&
	       snap_name_parse("snap.-1.0.3", &n) < 0 &&
	       snap_name_parse("snap.4294967296.0.1", &n) < 0 &&
	       snap_name_parse("snap.42.0.3/x", &n) < 0 &&
	       snap_name_parse("latest", &n) < 0 &&
	       snap_name_parse("snap..0.1", &n) < 0,
	   "anything else does not");
	n.state = SNAP_PARTIAL;
	n.job = 7;
	n.step = 2;
	n.seq = 9;
	ok(snap_name_format(&n, buf, sizeof(buf)) == 0 &&
	       !strcmp(buf, ".partial.7.2.9"),
	   "names format: %s", buf);

	snprintf(dir, sizeof(dir), "%s/snaps", top);
	mkdir(dir, 0700);
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -ENOENT &&
	       strstr(err, "holds no complete snapshot"),
	   "an empty directory has no snapshot: %s", err);
	seq = snap_next_seq(dir, 42, 0);
	ok(seq == 1, "the first sequence number is 1 (%ld)", seq);

	/* A save that never wrote its manifest is never published. */
	snprintf(out, sizeof(out), "%s/.partial.42.0.1", dir);
	mkdir(out, 0700);
	put(out, "rank-0.vmstate", "half");
	ok(snap_publish(dir, ".partial.42.0.1", "snap.42.0.1", err,
			sizeof(err)) == -EINVAL &&
	       strstr(err, "has no manifest.json"),
	   "a partial save without manifest is not published: %s", err);
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -ENOENT,
	   "and nothing is the latest");
	ok(snap_next_seq(dir, 42, 0) == 2 && snap_next_seq(dir, 42, 1) == 1,
	   "a partial one uses up its number, per step");
	snprintf(out, sizeof(out), "%s/.partial.42.0.1", dir);
	ok(snap_remove_tree(out) == 0 && access(out, F_OK) < 0,
	   "a partial one is removed whole");

	/* The first good one. */
	snprintf(out, sizeof(out), "%s/.partial.42.0.2", dir);
	make_snapshot(out, 2, &m);
	manifest_write(out, &m, err, sizeof(err));
	manifest_free(&m);
	ok(snap_publish(dir, ".partial.42.0.2", "snap.42.0.2", err,
			sizeof(err)) == 0,
	   "a complete save is published: %s", err);
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == 0 &&
	       !strcmp(out, in_top("snaps/snap.42.0.2")),
	   "latest names it: %s", out);
	ok(snap_resolve(dir, out, sizeof(out), err, sizeof(err)) == 0 &&
	       !strcmp(out, in_top("snaps/snap.42.0.2")),
	   "a directory resolves to its latest");
	ok(snap_resolve(in_top("snaps/snap.42.0.2"), out, sizeof(out), err,
			sizeof(err)) == 0 &&
	       !strcmp(out, in_top("snaps/snap.42.0.2")),
	   "a snapshot resolves to itself");

	/* A second save in progress leaves the first the latest, untouched. */
	snprintf(out, sizeof(out), "%s/.partial.42.0.3", dir);
	make_snapshot(out, 2, &m);
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == 0 &&
	       strstr(out, "snap.42.0.2"),
	   "while the next save runs, the previous stays the latest");
	ok(snap_publish(dir, ".partial.42.0.3", "snap.42.0.3", err,
			sizeof(err)) == -EINVAL &&
	       access(in_top("snaps/snap.42.0.2/manifest.json"), F_OK) == 0,
	   "publishing it before its manifest fails, the old one intact");
	snprintf(out, sizeof(out), "%s/.partial.42.0.3", dir);
	manifest_write(out, &m, err, sizeof(err));
	manifest_free(&m);
	mkdir(in_top("snaps/snap.42.0.3"), 0700);
	ok(snap_publish(dir, ".partial.42.0.3", "snap.42.0.3", err,
			sizeof(err)) == -EEXIST &&
	       access(in_top("snaps/snap.42.0.2/manifest.json"), F_OK) == 0,
	   "a final name in the way is refused, not replaced: %s", err);
	rmdir(in_top("snaps/snap.42.0.3"));
	ok(snap_publish(dir, ".partial.42.0.3", "snap.42.0.3", err,
			sizeof(err)) == 0,
	   "with the manifest, it is published");
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == 0 &&
	       strstr(out, "snap.42.0.3") &&
	       access(in_top("snaps/snap.42.0.2"), F_OK) < 0,
	   "latest moved, and only then was the previous removed");
	ok(snap_next_seq(dir, 42, 0) == 4, "the next number follows");
	ok(snap_publish(dir, "x/../y", "snap.42.0.9", err, sizeof(err)) ==
		   -EINVAL &&
	       snap_publish(dir, ".partial.42.0.9", "../snap.1.1.1", err,
			    sizeof(err)) == -EINVAL,
	   "names with a slash are refused");

	/* A damaged latest. */
	unlink(in_top("snaps/latest"));
	if (symlink("/etc", in_top("snaps/latest")) < 0)
		ok(0, "symlink");
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -EINVAL &&
	       strstr(err, "points to '/etc', not to a snapshot"),
	   "latest pointing elsewhere is refused: %s", err);
	unlink(in_top("snaps/latest"));
	if (symlink("snap.42.0.2", in_top("snaps/latest")) < 0)
		ok(0, "symlink");
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -ENOENT &&
	       strstr(err, "which has no manifest.json"),
	   "a dangling latest is refused: %s", err);
	unlink(in_top("snaps/latest"));
	mkdir(in_top("snaps/latest"), 0700);
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -EINVAL &&
	       strstr(err, "symbolic link"),
	   "a directory as latest is refused: %s", err);
	rmdir(in_top("snaps/latest"));
	unlink(in_top("snaps/snap.42.0.3/manifest.json"));
	if (symlink("snap.42.0.3", in_top("snaps/latest")) < 0)
		ok(0, "symlink");
	ok(snap_latest(dir, out, sizeof(out), err, sizeof(err)) == -ENOENT,
	   "a snapshot whose manifest is gone is never returned");
}

static void count(const char *dir, void *arg)
{
	char *seen = arg;

	strcat(seen, dir);
	strcat(seen, "|");
}

static void test_record(void)
{
	char seen[1024] = "", path[4200], text[4096];
	const char *rec =
	    "/a\nrelative\n\n/b\n/a\n/c with space\n/trailing-no-newline";
	ssize_t n;
	int fd;

	ok(snap_record_parse(rec, strlen(rec), count, seen) == 4,
	   "four distinct absolute directories");
	is_str(seen, "/a|/b|/c with space|/trailing-no-newline|",
	       "in order, each once, others skipped");
	ok(snap_record_dir(top, 42, "/x/snaps") == 0 &&
	       snap_record_dir(top, 42, "/y") == 0 &&
	       snap_record_dir(top, 42, "/x/snaps") == 0,
	   "directories are recorded");
	ok(snap_record_dir(top, 42, "rel") == -EINVAL &&
	       snap_record_dir(top, 42, "/a\nb") == -EINVAL,
	   "a relative path or a newline is refused");
	snprintf(path, sizeof(path), "%s/slurm-vm.42.snapdirs", top);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	text[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	is_str(text, "/x/snaps\n/y\n",
	       "each once, in <rundir>/slurm-vm.<job>."
	       "snapdirs");
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(top))
		return 1;
	put(top, "vmlinux", "ELF kernel");
	put(top, "disk.qcow2", "QFI\xfb base");
	test_hash();
	test_ident();
	test_round_trip();
	test_malformed();
	test_layout();
	test_record();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return done_testing();
}
