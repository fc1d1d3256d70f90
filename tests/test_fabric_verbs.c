/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verbs transport's queue-pair card, and its clear refusal where this
 * host has no RDMA device (real verbs run in tests/t90-verbs.sh). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "tap.h"
#include "fabric/verbs.h"

int main(void)
{
	struct vlink_card c = {.qpn = 0x123456,
			       .psn = 0xabcdef,
			       .lid = 7,
			       .mtu = IBV_MTU_1024,
			       .is_global = 1},
			  d;
	uint8_t wire[VLINK_CARD_LEN];
	struct verbs_dev *dev = NULL;
	char err[256] = "";
	int i, r;

	for (i = 0; i < 16; i++)
		c.gid[i] = (uint8_t)(i * 17);
	vlink_card_pack(&c, wire);
	ok(!memcmp(wire, "SVQP", 4), "the card starts with its magic");
	ok(wire[4] == 0 && wire[5] == 0x12 && wire[6] == 0x34 &&
	       wire[7] == 0x56,
	   "the queue pair number is big-endian");
	ok(vlink_card_unpack(wire, &d) == 0 && d.qpn == c.qpn &&
	       d.psn == c.psn && d.lid == 7 && d.mtu == IBV_MTU_1024 &&
	       d.is_global == 1 && !memcmp(d.gid, c.gid, 16),
	   "a card comes back as it went");
	wire[0] = 'X';
	ok(vlink_card_unpack(wire, &d) == -EPROTO, "a wrong magic is refused");
	vlink_card_pack(&c, wire);
	wire[4] = 1; /* qpn above 24 bits */
	ok(vlink_card_unpack(wire, &d) == -EPROTO,
	   "a queue pair number above 24 bits is refused");
	vlink_card_pack(&c, wire);
	wire[14] = 9;
	ok(vlink_card_unpack(wire, &d) == -EPROTO, "an unknown MTU is refused");
	vlink_card_pack(&c, wire);
	wire[15] = 2;
	ok(vlink_card_unpack(wire, &d) == -EPROTO,
	   "a global flag other than 0 or 1 is refused");

	r = verbs_open("no-such-device", &dev, err, sizeof(err));
	ok(r == -ENODEV && strstr(err, "no-such-device") &&
	       strstr(err, "--vm-fabric=auto or tcp"),
	   "an absent device is refused, naming it and the fix: %s", err);
	return done_testing();
}
