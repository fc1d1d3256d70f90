/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DHCP server on messages laid out as a Linux client sends them, the
 * answers checked field by field with this file's own parser and
 * checksum, and on malformed and spoofed messages.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/dhcp.h"
#include "tap.h"
#include "wire.h"

#define NRANKS 8
#define RANK 3 /* 52:55:00:00:00:03, 10.0.0.4, n0003 */
#define MTU 1500

static uint8_t msg[600], out[400];
static size_t msg_len;

struct req {
	uint8_t type;
	uint32_t req_ip, server, ciaddr, giaddr; /* 0: left out / zero */
	uint8_t src_rank, chaddr_rank;
};

/* Builds the message r describes into msg: Ethernet broadcast from
 * src_rank, IPv4 0.0.0.0 -> 255.255.255.255, UDP 68 -> 67, BOOTP. */
static void build(const struct req *r)
{
	uint8_t *ip = msg + 14, *udp = ip + 20, *b = udp + 8, *o;
	size_t blen;

	memset(msg, 0, sizeof(msg));
	memset(msg, 0xff, 6);
	memcpy(msg + 6, "\x52\x55\x00\x00\x00", 5);
	msg[11] = r->src_rank;
	put16(msg + 12, 0x0800);

	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	put32(b + 4, 0x3903f326); /* xid */
	put16(b + 10, 0x8000);	  /* broadcast flag */
	put32(b + 12, r->ciaddr);
	put32(b + 24, r->giaddr);
	memcpy(b + 28, "\x52\x55\x00\x00\x00", 5);
	b[33] = r->chaddr_rank;
	put32(b + 236, 0x63825363);
	o = b + 240;
	*o++ = 53;
	*o++ = 1;
	*o++ = r->type;
	*o++ = 61; /* client id: type 1 + MAC, ignored by the server */
	*o++ = 7;
	*o++ = 1;
	memcpy(o, b + 28, 6);
	o += 6;
	if (r->req_ip) {
		*o++ = 50;
		*o++ = 4;
		put32(o, r->req_ip);
		o += 4;
	}
	if (r->server) {
		*o++ = 54;
		*o++ = 4;
		put32(o, r->server);
		o += 4;
	}
	memcpy(o, "\x37\x05\x01\x03\x0c\x1a\x33", 7); /* parameter list */
	o += 7;
	*o++ = 0; /* a pad, as some clients send */
	*o++ = 255;
	blen = (size_t)(o - b) < 300 ? 300 : (size_t)(o - b);

	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + blen);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + blen);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 16, 0xffffffff);
	set_ip_csum(ip, 20);
	msg_len = 14 + 20 + 8 + blen;
}

static const struct req discover = {1, 0, 0, 0, 0, RANK, RANK};

/* Finds option code in the answer's options; returns its length or -1. */
static int opt(uint8_t code, const uint8_t **val)
{
	const uint8_t *p = out + 14 + 20 + 8 + 240, *end = out + 342;

	while (p < end && *p != 255) {
		if (*p == 0) {
			p++;
			continue;
		}
		if (end - p < 2 || p[1] > end - p - 2)
			return -1;
		if (*p == code) {
			*val = p + 2;
			return p[1];
		}
		p += 2 + p[1];
	}
	return -1;
}

static ssize_t answer(uint16_t mtu, uint8_t *type)
{
	memset(out, 0xcc, sizeof(out));
	*type = 0;
	return fabric_dhcp_reply(msg, msg_len, RANK, NRANKS, mtu, out,
				 sizeof(out), type);
}

static void check_headers(const char *what)
{
	const uint8_t *ip = out + 14, *udp = ip + 20, *b = udp + 8;

	ok(!memcmp(out, "\xff\xff\xff\xff\xff\xff", 6) &&
	       !memcmp(out + 6, "\x52\x55\xff\xff\xff\xfe", 6) &&
	       out[12] == 8 && out[13] == 0,
	   "%s: Ethernet broadcast from the fabric's MAC, IPv4", what);
	ok(ip[0] == 0x45 && ip[2] == 0x01 && ip[3] == 0x48 && ip[9] == 17 &&
	       ip[8] > 0 && !(ip[6] & 0x3f) && !ip[7],
	   "%s: IPv4, 328 bytes, UDP, unfragmented", what);
	ok(get32(ip + 12) == 0x0afffffe && get32(ip + 16) == 0xffffffff,
	   "%s: 10.255.255.254 -> 255.255.255.255", what);
	ok(csum(ip, 20) == 0, "%s: the IPv4 checksum verifies", what);
	ok(udp[0] == 0 && udp[1] == 67 && udp[2] == 0 && udp[3] == 68 &&
	       udp[4] == 0x01 && udp[5] == 0x34 && !udp[6] && !udp[7],
	   "%s: UDP 67 -> 68, 308 bytes, checksum 0", what);
	ok(b[0] == 2 && b[1] == 1 && b[2] == 6 && get32(b + 4) == 0x3903f326 &&
	       b[10] == 0x80 && !memcmp(b + 28, "\x52\x55\0\0\0\x03", 6) &&
	       get32(b + 236) == 0x63825363,
	   "%s: BOOTREPLY with the xid, flags and chaddr echoed", what);
	ok(out[342] == 0xcc, "%s: nothing is written past 342 bytes", what);
}

static void check_lease_opts(const char *what, uint8_t want_type)
{
	const uint8_t *v = NULL, *b = out + 42;

	ok(opt(53, &v) == 1 && v[0] == want_type, "%s: message type %u", what,
	   want_type);
	ok(get32(b + 16) == 0x0a000004, "%s: yiaddr 10.0.0.4", what);
	ok(opt(54, &v) == 4 && get32(v) == 0x0afffffe,
	   "%s: server id 10.255.255.254", what);
	ok(opt(1, &v) == 4 && get32(v) == 0xff000000, "%s: netmask 255.0.0.0",
	   what);
	ok(opt(12, &v) == 5 && !memcmp(v, "n0003", 5), "%s: hostname n0003",
	   what);
	ok(opt(26, &v) == 2 && v[0] == 0x05 && v[1] == 0xdc, "%s: MTU 1500",
	   what);
	ok(opt(51, &v) == 4 && get32(v) == 0xffffffff, "%s: infinite lease",
	   what);
	ok(opt(28, &v) == 4 && get32(v) == 0x0affffff,
	   "%s: broadcast 10.255.255.255", what);
	ok(opt(6, &v) == 4 && get32(v) == 0x0afffffe,
	   "%s: DNS server 10.255.255.254", what);
	ok(opt(15, &v) == 2 && !memcmp(v, "vm", 2), "%s: domain name vm", what);
	ok(opt(3, &v) < 0, "%s: no router", what);
}

static void test_answers(void)
{
	struct req r = discover;
	const uint8_t *v;
	uint8_t type;

	build(&r);
	ok(answer(MTU, &type) == FABRIC_DHCP_FRAME_LEN &&
	       type == FABRIC_DHCPOFFER,
	   "DISCOVER gets an OFFER of 342 bytes");
	check_headers("OFFER");
	check_lease_opts("OFFER", 2);
	ok(get32(out + 42 + 12) == 0, "OFFER: ciaddr 0");

	r.type = 3;
	r.req_ip = 0x0a000004;
	r.server = 0x0afffffe;
	build(&r);
	ok(answer(MTU, &type) == FABRIC_DHCP_FRAME_LEN &&
	       type == FABRIC_DHCPACK,
	   "REQUEST (selecting) for its address gets an ACK");
	check_headers("ACK");
	check_lease_opts("ACK", 5);

	r.server = 0;
	build(&r);
	ok(answer(MTU, &type) > 0 && type == FABRIC_DHCPACK,
	   "REQUEST (init-reboot) for its address gets an ACK");
	r.req_ip = 0;
	r.ciaddr = 0x0a000004;
	build(&r);
	ok(answer(MTU, &type) > 0 && type == FABRIC_DHCPACK &&
	       get32(out + 42 + 12) == 0x0a000004,
	   "REQUEST (renewing, ciaddr) gets an ACK echoing ciaddr");

	r = discover;
	r.type = 3;
	r.req_ip = 0x0a000009;
	build(&r);
	ok(answer(MTU, &type) == FABRIC_DHCP_FRAME_LEN &&
	       type == FABRIC_DHCPNAK,
	   "REQUEST for another address gets a NAK");
	check_headers("NAK");
	ok(opt(53, &v) == 1 && v[0] == 6 && opt(54, &v) == 4 &&
	       get32(out + 42 + 16) == 0 && opt(1, &v) < 0 && opt(12, &v) < 0 &&
	       opt(51, &v) < 0 && opt(6, &v) < 0 && opt(15, &v) < 0,
	   "NAK: type 6, server id, yiaddr 0, no lease options");
	r.req_ip = 0;
	build(&r);
	ok(answer(MTU, &type) > 0 && type == FABRIC_DHCPNAK,
	   "REQUEST naming no address gets a NAK");

	r = discover;
	build(&r);
	ok(answer(0, &type) > 0 && opt(26, &v) < 0 && opt(12, &v) == 5,
	   "with MTU 0 the MTU option is left out");
	ok(fabric_dhcp_reply(msg, msg_len, RANK, NRANKS, MTU, out, sizeof(out),
			     NULL) > 0,
	   "type may be NULL");
	memset(msg + msg_len, 0, 20);
	msg_len += 20;
	ok(answer(MTU, &type) > 0, "Ethernet padding after the packet is fine");
}

static void test_silence(void)
{
	static const uint8_t types[] = {4, 7, 8, 2, 5, 13};
	struct req r = discover;
	uint8_t type;
	size_t i;

	r.type = 3;
	r.req_ip = 0x0a000004;
	r.server = 0x0a010203;
	build(&r);
	ok(answer(MTU, &type) == 0 && out[0] == 0xcc,
	   "REQUEST choosing another server gets no answer");
	for (i = 0; i < sizeof(types); i++) {
		r = discover;
		r.type = types[i];
		build(&r);
		ok(answer(MTU, &type) == 0 && out[0] == 0xcc,
		   "message type %u gets no answer", types[i]);
	}
}

static void test_refused(void)
{
	struct req r = discover;
	uint8_t type, *ip = msg + 14, *b = msg + 42;
	size_t n, full;
	int all = 1;

	r.src_rank = 2;
	build(&r);
	ok(answer(MTU, &type) == -EPERM && out[0] == 0xcc,
	   "a frame from another rank's MAC is refused");
	r = discover;
	r.chaddr_rank = 2;
	build(&r);
	ok(answer(MTU, &type) == -EPERM, "chaddr of another rank is refused");
	r = discover;
	r.giaddr = 0x0a000001;
	build(&r);
	ok(answer(MTU, &type) == -EPERM, "a relayed message is refused");

	build(&discover);
	full = msg_len;
	for (n = 0; n < full; n++) {
		msg_len = n;
		if (answer(MTU, &type) != -EPROTO || out[0] != 0xcc)
			all = 0;
	}
	ok(all, "every truncation (0..%zu bytes) is refused", full - 1);

	build(&discover);
	ip[11] ^= 1;
	ok(answer(MTU, &type) == -EPROTO, "a bad IPv4 checksum is refused");
	build(&discover);
	ip[6] = 0x20; /* more fragments */
	set_ip_csum(ip, 20);
	ok(answer(MTU, &type) == -EPROTO, "a fragment is refused");
	build(&discover);
	msg[14 + 20 + 3] = 68;
	ok(answer(MTU, &type) == -EPROTO, "UDP to port 68 is refused");
	build(&discover);
	b[0] = 2;
	ok(answer(MTU, &type) == -EPROTO, "a BOOTREPLY is refused");
	build(&discover);
	b[239] = 0x64;
	ok(answer(MTU, &type) == -EPROTO, "a bad magic cookie is refused");
	build(&discover);
	b[241] = 2; /* type option claims 2 bytes */
	ok(answer(MTU, &type) == -EPROTO, "a type option of length 2");
	build(&discover);
	b[240] = 12; /* the type option becomes a hostname: no type left */
	ok(answer(MTU, &type) == -EPROTO, "no message type is refused");
	build(&discover);
	b[243] = 53; /* client id becomes a second type option */
	b[244] = 1;
	ok(answer(MTU, &type) == -EPROTO, "two message types are refused");
	build(&discover);
	memset(b + 240, 0, 300 - 240);
	b[240] = 53;
	b[241] = 1;
	b[242] = 1;
	b[298] = 12; /* an option running past the message's end */
	b[299] = 9;
	ok(answer(MTU, &type) == -EPROTO, "an option past the end is refused");
	b[299] = 0;
	ok(answer(MTU, &type) > 0, "an empty option at the very end is fine");
	b[299] = 12;
	b[298] = 0;
	ok(answer(MTU, &type) == -EPROTO, "a lone option code at the end");

	build(&discover);
	ok(answer(67, &type) == -EINVAL, "an MTU below 68 is refused");
	ok(fabric_dhcp_reply(msg, msg_len, NRANKS, NRANKS, MTU, out,
			     sizeof(out), &type) == -EINVAL,
	   "a sender rank outside the step is a caller bug");
	ok(fabric_dhcp_reply(msg, msg_len, RANK, NRANKS, MTU, out, 341,
			     &type) == -ENOSPC,
	   "a short out buffer is refused");
}

/* The longest host name (the highest rank's) with every option: they all
 * still fit before the end of the 300-byte message. */
static void test_longest(void)
{
	static const uint8_t mac[6] = {0x52, 0x55, 0x00, 0xff, 0xff, 0xfc};
	const uint8_t *v, *p = out + 42 + 240, *end = out + 342;
	uint8_t type;
	int ended = 0;

	build(&discover);
	memcpy(msg + 6, mac, 6);
	memcpy(msg + 42 + 28, mac, 6);
	memset(out, 0xcc, sizeof(out));
	ok(fabric_dhcp_reply(msg, msg_len, FABRIC_RANK_MAX, FABRIC_RANKS_MAX,
			     MTU, out, sizeof(out), &type) > 0 &&
	       type == FABRIC_DHCPOFFER,
	   "the highest rank gets an OFFER");
	ok(opt(12, &v) == 9 && !memcmp(v, "n16777212", 9) && opt(6, &v) == 4 &&
	       opt(15, &v) == 2 && opt(26, &v) == 2,
	   "with a 9-byte host name, DNS server, domain and MTU");
	while (p < end && !ended) {
		if (*p == 255)
			ended = 1;
		else
			p += *p ? 2 + p[1] : 1;
	}
	ok(ended, "the end option is inside the message");
}

/* IPv4 options move the UDP header: the parser must follow the IHL. */
static void test_ip_options(void)
{
	uint8_t type;

	build(&discover);
	memmove(msg + 38, msg + 34, msg_len - 34);
	memset(msg + 34, 1, 4); /* four NOP options */
	msg[14] = 0x46;
	put16(msg + 16, (uint32_t)(msg_len - 14 + 4));
	msg_len += 4;
	set_ip_csum(msg + 14, 24);
	ok(answer(MTU, &type) > 0 && type == FABRIC_DHCPOFFER,
	   "a DISCOVER with IPv4 options is answered");
	/* A 60-byte header in a 56-byte packet, its checksum right. */
	msg[14] = 0x4f;
	put16(msg + 16, 56);
	set_ip_csum(msg + 14, 60);
	ok(answer(MTU, &type) == -EPROTO, "an IHL past the packet is refused");
}

int main(void)
{
	test_answers();
	test_silence();
	test_refused();
	test_ip_options();
	test_longest();
	return done_testing();
}
