/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fabric/pcap.h"

/* Enough for many frames per write; a record larger goes out alone. */
#define PCAP_BUF (256 * 1024)

struct fabric_pcap {
	int fd;
	int err;	    /* -errno of the first failed write, or 0 */
	int full;	    /* the cap was reached: nothing more is kept */
	uint64_t cap, size; /* the bound, and the bytes kept so far */
	uint64_t kept, dropped;
	size_t len; /* bytes in buf */
	uint8_t buf[PCAP_BUF];
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* pcap: the writer's byte order */
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void flush(struct fabric_pcap *p)
{
	int r;

	if (!p->len || p->err)
		return;
	r = write_all(p->fd, p->buf, p->len);
	p->len = 0;
	if (r < 0)
		p->err = r;
}

struct fabric_pcap *fabric_pcap_open(int fd, uint64_t cap)
{
	struct fabric_pcap *p;

	if (cap < FABRIC_PCAP_HDR_LEN || !(p = calloc(1, sizeof(*p)))) {
		close(fd);
		return NULL;
	}
	p->fd = fd;
	p->cap = cap;
	put32(p->buf, 0xa1b2c3d4u);
	memcpy(p->buf + 4, &(uint16_t){2}, 2); /* version 2.4 */
	memcpy(p->buf + 6, &(uint16_t){4}, 2);
	put32(p->buf + 8, 0);  /* time zone: UTC */
	put32(p->buf + 12, 0); /* accuracy */
	put32(p->buf + 16, FABRIC_PCAP_SNAPLEN);
	put32(p->buf + 20, 1); /* Ethernet */
	p->len = p->size = FABRIC_PCAP_HDR_LEN;
	return p;
}

void fabric_pcap_frame(struct fabric_pcap *p, const uint8_t *frame, size_t len)
{
	size_t keep = len > FABRIC_PCAP_SNAPLEN ? FABRIC_PCAP_SNAPLEN : len;
	uint8_t *h;
	struct timespec ts;

	if (p->full || p->err ||
	    p->size + FABRIC_PCAP_REC_LEN + keep > p->cap) {
		p->full = 1;
		p->dropped++;
		return;
	}
	if (p->len + FABRIC_PCAP_REC_LEN + keep > sizeof(p->buf))
		flush(p);
	if (p->err) {
		p->dropped++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h = p->buf + p->len;
	put32(h, (uint32_t)ts.tv_sec);
	put32(h + 4, (uint32_t)(ts.tv_nsec / 1000));
	put32(h + 8, (uint32_t)keep);
	put32(h + 12, (uint32_t)len);
	p->len += FABRIC_PCAP_REC_LEN;
	memcpy(p->buf + p->len, frame, keep); /* keep <= buf - a record */
	p->len += keep;
	p->size += FABRIC_PCAP_REC_LEN + keep;
	p->kept++;
}

void fabric_pcap_counts(const struct fabric_pcap *p, uint64_t *kept,
			uint64_t *dropped)
{
	*kept = p ? p->kept : 0;
	*dropped = p ? p->dropped : 0;
}

int fabric_pcap_close(struct fabric_pcap *p)
{
	int r;

	if (!p)
		return 0;
	flush(p);
	r = p->err;
	if (close(p->fd) < 0 && !r)
		r = -errno;
	free(p);
	return r;
}
