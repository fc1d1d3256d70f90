/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capture writer (pcap.h): the file header, a frame's record, a frame
 * cut to the snap length, the cap (the file stops before a record that
 * would pass it, later frames counted), and a write error.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fabric/pcap.h"
#include "tap.h"

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The file's bytes (at most max) into buf; its size. */
static size_t slurp(const char *path, uint8_t *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, max, f) : 0;

	if (f)
		fclose(f);
	return n;
}

static int new_file(const char *path)
{
	unlink(path);
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int main(void)
{
	static uint8_t frame[70000], buf[200000];
	char path[] = "/tmp/test_fabric_pcap.XXXXXX";
	struct fabric_pcap *p;
	uint64_t kept, dropped;
	time_t t0 = time(NULL);
	size_t n, i;
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;

	/* A header and one frame of 60 bytes. */
	p = fabric_pcap_open(new_file(path), 1 << 20);
	ok(p != NULL, "a writer opens");
	fabric_pcap_frame(p, frame, 60);
	ok(fabric_pcap_close(p) == 0, "and closes");
	n = slurp(path, buf, sizeof(buf));
	ok(n == 24 + 16 + 60, "the file is its header, a record and the frame");
	ok(u32(buf) == 0xa1b2c3d4u && u16(buf + 4) == 2 && u16(buf + 6) == 4,
	   "magic in this host's order, version 2.4");
	ok(u32(buf + 16) == FABRIC_PCAP_SNAPLEN && u32(buf + 20) == 1,
	   "the snap length, and link type 1 (Ethernet)");
	ok(u32(buf + 24) >= (uint32_t)t0 && u32(buf + 24) <= (uint32_t)t0 + 5 &&
	       u32(buf + 28) < 1000000,
	   "the record's time is now, microseconds below a second");
	ok(u32(buf + 32) == 60 && u32(buf + 36) == 60,
	   "bytes kept and on the wire");
	ok(!memcmp(buf + 40, frame, 60), "then the frame itself");

	/* A frame past the snap length is cut, saying its length. */
	p = fabric_pcap_open(new_file(path), 1 << 20);
	fabric_pcap_frame(p, frame, 70000);
	fabric_pcap_close(p);
	n = slurp(path, buf, sizeof(buf));
	ok(n == 24 + 16 + FABRIC_PCAP_SNAPLEN && u32(buf + 32) == 65535 &&
	       u32(buf + 36) == 70000,
	   "a long frame is kept cut to the snap length, its length said");

	/* The cap: 24 + 3 * (16 + 100) = 372; a cap of 400 keeps three. */
	p = fabric_pcap_open(new_file(path), 400);
	for (i = 0; i < 5; i++)
		fabric_pcap_frame(p, frame, 100);
	fabric_pcap_frame(p, frame, 1); /* would fit, but the cap was hit */
	fabric_pcap_counts(p, &kept, &dropped);
	ok(kept == 3 && dropped == 3,
	   "at the cap: 3 kept, 3 counted (%llu, %llu)",
	   (unsigned long long)kept, (unsigned long long)dropped);
	fabric_pcap_close(p);
	n = slurp(path, buf, sizeof(buf));
	ok(n == 372,
	   "the file stops before the record that would pass it (%zu)", n);

	/* Many frames: the buffer goes out as it fills, none lost. */
	p = fabric_pcap_open(new_file(path), 1 << 30);
	for (i = 0; i < 2000; i++)
		fabric_pcap_frame(p, frame, 1500);
	fabric_pcap_close(p);
	{
		struct stat st;

		ok(stat(path, &st) == 0 &&
		       st.st_size == 24 + 2000 * (16 + 1500),
		   "2000 frames of 1500 bytes, all written (%lld bytes)",
		   (long long)st.st_size);
	}

	/* A write that fails (a read-only descriptor): later frames are
	 * counted, close says why. */
	p = fabric_pcap_open(open(path, O_RDONLY | O_CLOEXEC), 1 << 30);
	for (i = 0; i < 200; i++)
		fabric_pcap_frame(p, frame, 1500);
	fabric_pcap_counts(p, &kept, &dropped);
	ok(dropped > 0, "after a failed write, frames are counted, not kept");
	ok(fabric_pcap_close(p) < 0, "and closing says the write failed");

	ok(fabric_pcap_open(new_file(path), 10) == NULL,
	   "a cap below the file header is refused");
	ok(fabric_pcap_close(NULL) == 0, "closing none does nothing");
	unlink(path);
	return done_testing();
}
