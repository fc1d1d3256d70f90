/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ARP responder on requests as a Linux guest sends them, and on lies. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/arp.h"
#include "tap.h"

#define NRANKS 4

/*
 * Rank 1 (52:55:00:00:00:01, 10.0.0.2) asks who has tip, as Linux sends
 * it: broadcast, 42 bytes, no padding (the wire facts in DESIGN.md).
 */
static const uint8_t request[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* Ethernet dst: broadcast */
    0x52, 0x55, 0x00, 0x00, 0x00, 0x01, /* Ethernet src: rank 1 */
    0x08, 0x06,				/* ARP */
    0x00, 0x01,				/* htype Ethernet */
    0x08, 0x00,				/* ptype IPv4 */
    0x06, 0x04,				/* hlen, plen */
    0x00, 0x01,				/* op: request */
    0x52, 0x55, 0x00, 0x00, 0x00, 0x01, /* sha: rank 1 */
    0x0a, 0x00, 0x00, 0x02,		/* spa: 10.0.0.2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* tha: unknown */
    0x0a, 0x00, 0x00, 0x03,		/* tpa: 10.0.0.3 (rank 2) */
};

static uint8_t req[64], out[64];

static void reset(void)
{
	memset(req, 0, sizeof(req));
	memcpy(req, request, sizeof(request));
	memset(out, 0xcc, sizeof(out));
}

static int untouched(void)
{
	size_t i;

	for (i = 0; i < sizeof(out); i++)
		if (out[i] != 0xcc)
			return 0;
	return 1;
}

static void set_tpa(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	req[38] = a;
	req[39] = b;
	req[40] = c;
	req[41] = d;
}

static void test_reply(void)
{
	reset();
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42,
	   "a request for rank 2 is answered with 42 bytes");
	ok(!memcmp(out, "\x52\x55\x00\x00\x00\x01", 6),
	   "the reply goes to the requester only");
	ok(!memcmp(out + 6, "\x52\x55\x00\x00\x00\x02", 6),
	   "it comes from rank 2's MAC");
	ok(out[12] == 0x08 && out[13] == 0x06, "it is ARP");
	ok(!memcmp(out + 14, "\x00\x01\x08\x00\x06\x04", 6),
	   "Ethernet/IPv4 with 6- and 4-byte addresses");
	ok(out[20] == 0 && out[21] == 2, "opcode 2 (reply)");
	ok(!memcmp(out + 22, "\x52\x55\x00\x00\x00\x02", 6) &&
	       !memcmp(out + 28, "\x0a\x00\x00\x03", 4),
	   "sender is rank 2: 52:55:00:00:00:02, 10.0.0.3");
	ok(!memcmp(out + 32, "\x52\x55\x00\x00\x00\x01", 6) &&
	       !memcmp(out + 38, "\x0a\x00\x00\x02", 4),
	   "target is the requester: 52:55:00:00:00:01, 10.0.0.2");
	ok(out[42] == 0xcc, "nothing is written past the reply");

	reset();
	set_tpa(10, 0, 0, 1);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42 &&
	       !memcmp(out + 22, "\x52\x55\x00\x00\x00\x00", 6),
	   "rank 0 (10.0.0.1) is answered");
	reset();
	set_tpa(10, 0, 0, 4);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42 &&
	       !memcmp(out + 22, "\x52\x55\x00\x00\x00\x03", 6),
	   "the last rank (10.0.0.4) is answered");
	reset();
	set_tpa(10, 255, 255, 254);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42 &&
	       !memcmp(out + 22, fabric_server_mac, 6),
	   "the fabric's own address is answered with its MAC");
	reset();
	memcpy(req, "\x52\x55\x00\x00\x00\x02", 6);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42,
	   "a unicast request (Linux re-checking a neighbour) is answered");
	reset();
	ok(fabric_arp_reply(req, 60, 1, NRANKS, out, sizeof(out)) == 42,
	   "a request padded to 60 bytes is answered");
	reset();
	memset(req + 28, 0, 4); /* RFC 5227 probe from a DHCP client */
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 42 &&
	       !memcmp(out + 38, "\0\0\0\0", 4),
	   "a probe for another rank's address is answered: it is in use");
}

static void test_no_answer(void)
{
	reset();
	set_tpa(10, 0, 0, 5);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -ENOENT &&
	       untouched(),
	   "rank 4 (10.0.0.5) does not exist in a step of 4: no answer");
	reset();
	set_tpa(192, 168, 0, 1);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -ENOENT,
	   "an address outside 10/8 gets no answer");
	reset();
	set_tpa(10, 255, 255, 255);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -ENOENT,
	   "the broadcast address gets no answer");
	reset();
	set_tpa(10, 0, 0, 2);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 0 &&
	       untouched(),
	   "a gratuitous ARP for its own address needs no answer");
	reset();
	set_tpa(10, 0, 0, 2);
	memset(req + 28, 0, 4);
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 0 &&
	       untouched(),
	   "a probe for its own address is not answered (no false conflict)");
	reset();
	req[21] = 2;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == 0 &&
	       untouched(),
	   "an ARP reply from a guest needs no answer");
}

static void test_refused(void)
{
	size_t n;
	int all = 1;

	for (n = 0; n < 42; n++) {
		reset();
		if (fabric_arp_reply(req, n, 1, NRANKS, out, sizeof(out)) !=
			-EPROTO ||
		    !untouched())
			all = 0;
	}
	ok(all, "every truncation (0..41 bytes) is refused");
	reset();
	req[15] = 6;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPROTO,
	   "a non-Ethernet htype is refused");
	reset();
	req[16] = 0x86;
	req[17] = 0xdd;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPROTO,
	   "a non-IPv4 ptype is refused");
	reset();
	req[19] = 16;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPROTO,
	   "a wrong plen is refused");
	reset();
	req[21] = 3;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPROTO,
	   "opcode 3 (RARP) is refused");
	reset();
	req[13] = 0x00;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPROTO,
	   "a non-ARP EtherType is refused");
	reset();
	req[27] = 3;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPERM &&
	       untouched(),
	   "a sender MAC of another rank is refused");
	reset();
	req[11] = 3;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPERM,
	   "an Ethernet source of another rank is refused");
	reset();
	req[31] = 9;
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, sizeof(out)) == -EPERM,
	   "a sender IP of another rank is refused (cache poisoning)");
	reset();
	ok(fabric_arp_reply(req, 42, 1, NRANKS, out, 41) == -ENOSPC &&
	       untouched(),
	   "a short out buffer is refused");
	ok(fabric_arp_reply(req, 42, 4, NRANKS, out, sizeof(out)) == -EINVAL,
	   "a sender rank outside the step is a caller bug");
	ok(fabric_arp_reply(req, 42, 1, FABRIC_RANKS_MAX + 1, out,
			    sizeof(out)) == -EINVAL,
	   "a step larger than the scheme is a caller bug");
}

int main(void)
{
	test_reply();
	test_no_answer();
	test_refused();
	return done_testing();
}
