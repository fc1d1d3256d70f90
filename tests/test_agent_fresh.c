/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FRESH (agent_proto.h, agent_fresh.h): its codec, the launcher's side
 * that makes it, and the machine-id the agent writes. The clock and the
 * random pool are the running kernel's: not set here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/agent/agent_fresh.h"
#include "launcher/agent/agent_proto.h"
#include "tap.h"

static const struct agent_fresh sample = {
    .sec = 0x123456789aULL,
    .nsec = 999999999,
    .seed = {1, 2, 3},
    .machine_id = "0123456789abcdef0123456789abcdef",
};

static int parse_fresh(const uint8_t *p, size_t len, struct agent_fresh *f)
{
	uint8_t frame[AGENT_HDR_LEN + AGENT_FRESH_LEN + 1];
	struct agent_msg m;

	agent_msg_header(frame, AGENT_FRESH, (uint32_t)len);
	memcpy(frame + AGENT_HDR_LEN, p, len);
	if (agent_msg_parse(frame, AGENT_HDR_LEN + len, &m) <= 0)
		return -EPROTO;
	return agent_fresh_decode(&m, f);
}

static void test_codec(void)
{
	uint8_t p[AGENT_FRESH_LEN + 1] = {0}, hdr[AGENT_HDR_LEN];
	struct agent_fresh f = sample, back;
	struct agent_msg m;

	ok(agent_fresh_encode(p, &f) == 0, "FRESH encodes");
	ok(parse_fresh(p, AGENT_FRESH_LEN, &back) == 0 && back.sec == f.sec &&
	       back.nsec == f.nsec &&
	       !memcmp(back.seed, f.seed, sizeof(f.seed)) &&
	       !strcmp(back.machine_id, f.machine_id),
	   "and decodes to the same clock, seed and machine-id");
	agent_msg_header(hdr, AGENT_FRESH, AGENT_FRESH_LEN + 1);
	ok(agent_msg_parse(hdr, sizeof(hdr), &m) == -EPROTO,
	   "a FRESH of another length is refused from its header");
	agent_msg_header(hdr, AGENT_FRESH, AGENT_FRESH_LEN - 1);
	ok(agent_msg_parse(hdr, sizeof(hdr), &m) == -EPROTO,
	   "a shorter one too");
	hdr[0] = AGENT_FRESH + 1;
	ok(agent_msg_parse(hdr, sizeof(hdr), &m) == -EPROTO,
	   "the type after FRESH is unknown");

	f.nsec = 1000000000;
	ok(agent_fresh_encode(p, &f) == -EINVAL,
	   "10^9 nanoseconds are not encoded");
	f = sample;
	agent_fresh_encode(p, &f);
	p[8] = 0xff; /* nanoseconds far above 10^9 */
	ok(parse_fresh(p, AGENT_FRESH_LEN, &back) == -EPROTO, "nor decoded");

	f = sample;
	f.machine_id[5] = 'A';
	ok(agent_fresh_encode(p, &f) == -EINVAL,
	   "an upper-case machine-id is not encoded");
	agent_fresh_encode(p, &sample);
	p[12 + AGENT_FRESH_SEED + 5] = 'A';
	ok(parse_fresh(p, AGENT_FRESH_LEN, &back) == -EPROTO, "nor decoded");
	agent_fresh_encode(p, &sample);
	p[12 + AGENT_FRESH_SEED + 31] = '/';
	ok(parse_fresh(p, AGENT_FRESH_LEN, &back) == -EPROTO,
	   "a machine-id with a slash is refused (it is written to a file)");
	agent_fresh_encode(p, &sample);
	memset(p + 12 + AGENT_FRESH_SEED, '0', AGENT_MACHINE_ID_LEN);
	ok(parse_fresh(p, AGENT_FRESH_LEN, &back) == -EPROTO,
	   "an all-zero machine-id is refused");
	f = sample;
	f.machine_id[20] = 0;
	ok(agent_fresh_encode(p, &f) == -EINVAL,
	   "a short machine-id is not encoded");
}

/* What the launcher sends: now, random, and never twice the same. */
static void test_send(void)
{
	struct agent_fresh a, b;
	struct agent_rx *rx = calloc(1, sizeof(*rx));
	struct agent_msg m;
	struct timespec ts;
	char why[256] = "";
	int sv[2], ra = -1, rb = -1;

	if (!rx || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	ok(agent_fresh_send(sv[0], why, sizeof(why)) == 0 &&
	       agent_fresh_send(sv[0], why, sizeof(why)) == 0,
	   "FRESH is sent twice: %s", why);
	clock_gettime(CLOCK_REALTIME, &ts);
	agent_rx_fill(rx, sv[1]);
	if (agent_rx_next(rx, &m) == 1)
		ra = agent_fresh_decode(&m, &a);
	if (agent_rx_next(rx, &m) == 1)
		rb = agent_fresh_decode(&m, &b);
	ok(ra == 0 && rb == 0, "both are whole, valid FRESH frames");
	ok(ra == 0 && (int64_t)ts.tv_sec - (int64_t)a.sec <= 1 &&
	       (int64_t)a.sec <= (int64_t)ts.tv_sec,
	   "the clock sent is the host's present (%lld, now %lld)",
	   (long long)a.sec, (long long)ts.tv_sec);
	ok(ra == 0 && rb == 0 && strcmp(a.machine_id, b.machine_id) &&
	       memcmp(a.seed, b.seed, sizeof(a.seed)),
	   "each clone gets its own machine-id and random bytes");
	close(sv[0]);
	close(sv[1]);
	free(rx);
}

static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
}

/* The machine-id, and what a hostile /etc could hold in its place. */
static void test_machine_id(void)
{
	char dir[] = "/tmp/test_agent_fresh.XXXXXX", path[128], victim[128],
	     tmp[128], buf[128], why[256], cmd[160];
	struct stat st;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/machine-id", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(tmp, sizeof(tmp), "%s/.machine-id.new", dir);
	put(path, "ffffffffffffffffffffffffffffffff\n");
	ok(agent_fresh_machine_id(dir, sample.machine_id, why, sizeof(why)) ==
	       0,
	   "the machine-id is written: %s", why);
	slurp(path, buf, sizeof(buf));
	is_str(buf, "0123456789abcdef0123456789abcdef\n",
	       "it replaces the snapshot's");
	ok(lstat(tmp, &st) < 0, "no temporary file is left");

	put(victim, "keep\n");
	unlink(path);
	if (symlink(victim, path) < 0)
		abort();
	ok(agent_fresh_machine_id(dir, sample.machine_id, why, sizeof(why)) ==
	       0,
	   "a machine-id that is a link is replaced: %s", why);
	slurp(victim, buf, sizeof(buf));
	is_str(buf, "keep\n", "the link's target is not written");
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode),
	   "machine-id is a file of its own now");

	if (symlink(victim, tmp) < 0)
		abort();
	ok(agent_fresh_machine_id(dir, sample.machine_id, why, sizeof(why)) ==
	       0,
	   "a link planted at the temporary name is not written through");
	slurp(victim, buf, sizeof(buf));
	is_str(buf, "keep\n", "its target is untouched");

	snprintf(buf, sizeof(buf), "%s/none", dir);
	ok(agent_fresh_machine_id(buf, sample.machine_id, why, sizeof(why)) ==
		   -ENOENT &&
	       strstr(why, "none/machine-id"),
	   "a guest without the directory is told so: %s", why);
	ok(agent_fresh_machine_id(dir, "abc", why, sizeof(why)) == -EINVAL,
	   "a short machine-id is refused");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		abort();
}

int main(void)
{
	test_codec();
	test_send();
	test_machine_id();
	return done_testing();
}
