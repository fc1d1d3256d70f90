/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's DHCP server (dhcp.h): parse a client's message with every
 * length checked against the bytes received, then build the whole answer
 * frame in the caller's buffer. No state, no allocation.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/be.h"
#include "fabric/dhcp.h"
#include "fabric/frame.h"
#include "fabric/ip.h"

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define BOOTP_HTYPE_ETHER 1
#define BOOTP_FIXED 236 /* op .. file, before the options */
#define BOOTP_MIN 300	/* RFC 1542 */
#define DHCP_OPTS (BOOTP_FIXED + 4)

/* Offsets in the BOOTP message (RFC 2131, section 2). */
#define B_OP 0
#define B_HTYPE 1
#define B_HLEN 2
#define B_XID 4
#define B_FLAGS 10
#define B_CIADDR 12
#define B_YIADDR 16
#define B_GIADDR 24
#define B_CHADDR 28
#define B_CHADDR_LEN 16
#define B_COOKIE BOOTP_FIXED

#define DHCP_COOKIE 0x63825363u

/* Option codes (RFC 2132). */
#define OPT_PAD 0
#define OPT_NETMASK 1
#define OPT_DNS 6
#define OPT_HOSTNAME 12
#define OPT_DOMAIN 15
#define OPT_MTU 26
#define OPT_BCAST 28
#define OPT_REQ_IP 50
#define OPT_LEASE 51
#define OPT_TYPE 53
#define OPT_SERVER 54
#define OPT_END 255

#define MTU_MIN 68 /* RFC 791: every IPv4 host takes 68-byte datagrams */

struct dhcp_req {
	const uint8_t *bootp; /* at least DHCP_OPTS bytes */
	uint8_t type;
	int has_req_ip, has_server;
	uint32_t req_ip, server;
};

/* Each option we act on appears once with its fixed length; options we do
 * not know are skipped, but only within the message's bounds. */
static int parse_options(const uint8_t *p, size_t n, struct dhcp_req *r)
{
	size_t i = 0, olen;
	const uint8_t *d;

	while (i < n) {
		if (p[i] == OPT_PAD) {
			i++;
			continue;
		}
		if (p[i] == OPT_END)
			break;
		if (n - i < 2 || p[i + 1] > n - i - 2)
			return -EPROTO;
		olen = p[i + 1];
		d = p + i + 2;
		switch (p[i]) {
		case OPT_TYPE:
			if (olen != 1 || r->type || !d[0])
				return -EPROTO;
			r->type = d[0];
			break;
		case OPT_REQ_IP:
			if (olen != 4 || r->has_req_ip)
				return -EPROTO;
			r->has_req_ip = 1;
			r->req_ip = fabric_get_be32(d);
			break;
		case OPT_SERVER:
			if (olen != 4 || r->has_server)
				return -EPROTO;
			r->has_server = 1;
			r->server = fabric_get_be32(d);
			break;
		}
		i += 2 + olen;
	}
	return r->type ? 0 : -EPROTO;
}

static int parse_request(const uint8_t *frame, size_t len,
			 const uint8_t own[FABRIC_MAC_LEN], struct dhcp_req *r)
{
	struct fabric_eth eth;
	struct fabric_udp udp;
	const uint8_t *b;

	memset(r, 0, sizeof(*r));
	if (fabric_eth_parse(frame, len, &eth) < 0 ||
	    eth.type != FABRIC_ETH_P_IP ||
	    fabric_udp4_parse(eth.payload, eth.payload_len, 1, &udp) < 0 ||
	    udp.dport != FABRIC_DHCP_SERVER_PORT || udp.payload_len < DHCP_OPTS)
		return -EPROTO;
	b = udp.payload;
	if (b[B_OP] != BOOTREQUEST || b[B_HTYPE] != BOOTP_HTYPE_ETHER ||
	    b[B_HLEN] != FABRIC_MAC_LEN ||
	    fabric_get_be32(b + B_COOKIE) != DHCP_COOKIE)
		return -EPROTO;
	/* The answer is keyed on the sender's rank: a guest asking for
	 * another MAC is spoofing, and a relay is not part of this segment. */
	if (memcmp(eth.src, own, FABRIC_MAC_LEN) ||
	    memcmp(b + B_CHADDR, own, FABRIC_MAC_LEN) ||
	    fabric_get_be32(b + B_GIADDR))
		return -EPERM;
	r->bootp = b;
	return parse_options(b + DHCP_OPTS, udp.payload_len - DHCP_OPTS, r);
}

static uint8_t *put_opt(uint8_t *p, uint8_t code, uint8_t len, const void *d)
{
	p[0] = code;
	p[1] = len;
	memcpy(p + 2, d, len);
	return p + 2 + len;
}

static uint8_t *put_opt32(uint8_t *p, uint8_t code, uint32_t v)
{
	uint8_t d[4];

	fabric_put_be32(d, v);
	return put_opt(p, code, 4, d);
}

/* The options fit in 300 - 240 bytes: at most 3+6+6+6+6+(2+9)+6+(2+d)+4+1
 * = 51 + d with d the domain's length, 53 for "vm". */
_Static_assert(51 + sizeof(FABRIC_DOMAIN) - 1 <= BOOTP_MIN - DHCP_OPTS,
	       "the domain name must fit in the BOOTP options");

static void build_answer(uint8_t *out, const struct dhcp_req *r, uint8_t type,
			 uint32_t src, uint16_t mtu)
{
	uint8_t *ip = out + FABRIC_ETH_HLEN;
	uint8_t *udp = ip + FABRIC_IP_HLEN;
	uint8_t *b = udp + FABRIC_UDP_HLEN, *o;
	char host[FABRIC_HOSTNAME_MAX];
	uint8_t d[2];
	int hlen;

	memset(out, 0, FABRIC_DHCP_FRAME_LEN);
	memcpy(out, fabric_bcast_mac, FABRIC_MAC_LEN);
	memcpy(out + 6, fabric_server_mac, FABRIC_MAC_LEN);
	fabric_put_be16(out + 12, FABRIC_ETH_P_IP);

	b[B_OP] = BOOTREPLY;
	b[B_HTYPE] = BOOTP_HTYPE_ETHER;
	b[B_HLEN] = FABRIC_MAC_LEN;
	memcpy(b + B_XID, r->bootp + B_XID, 4);
	memcpy(b + B_FLAGS, r->bootp + B_FLAGS, 2);
	if (type == FABRIC_DHCPACK)
		memcpy(b + B_CIADDR, r->bootp + B_CIADDR, 4);
	if (type != FABRIC_DHCPNAK)
		fabric_put_be32(b + B_YIADDR, fabric_addr_ip(src));
	memcpy(b + B_CHADDR, r->bootp + B_CHADDR, B_CHADDR_LEN);
	fabric_put_be32(b + B_COOKIE, DHCP_COOKIE);

	o = put_opt(b + DHCP_OPTS, OPT_TYPE, 1, &type);
	o = put_opt32(o, OPT_SERVER, FABRIC_SERVER_IP);
	if (type != FABRIC_DHCPNAK) {
		o = put_opt32(o, OPT_LEASE, FABRIC_DHCP_LEASE_INFINITE);
		o = put_opt32(o, OPT_NETMASK, FABRIC_NETMASK);
		o = put_opt32(o, OPT_BCAST, FABRIC_BCAST_IP);
		hlen = fabric_addr_hostname(src, host, sizeof(host));
		o = put_opt(o, OPT_HOSTNAME, (uint8_t)hlen, host);
		o = put_opt32(o, OPT_DNS, FABRIC_SERVER_IP);
		o = put_opt(o, OPT_DOMAIN, sizeof(FABRIC_DOMAIN) - 1,
			    FABRIC_DOMAIN);
		if (mtu) {
			fabric_put_be16(d, mtu);
			o = put_opt(o, OPT_MTU, 2, d);
		}
	}
	*o = OPT_END; /* the rest is already zero: padding */

	fabric_udp4_header(ip, FABRIC_SERVER_IP, 0xffffffffu,
			   FABRIC_DHCP_SERVER_PORT, FABRIC_DHCP_CLIENT_PORT,
			   BOOTP_MIN);
}

/* What to answer to a valid message: an enum fabric_dhcp_type, or 0. */
static uint8_t answer_type(const struct dhcp_req *r, uint32_t src)
{
	uint32_t want;

	switch (r->type) {
	case FABRIC_DHCPDISCOVER:
		return FABRIC_DHCPOFFER;
	case FABRIC_DHCPREQUEST:
		/* SELECTING names the server it chose; there is no other
		 * server here, but the RFC says to stay silent. */
		if (r->has_server && r->server != FABRIC_SERVER_IP)
			return 0;
		/* INIT-REBOOT and SELECTING ask in option 50; RENEWING and
		 * REBINDING in ciaddr. */
		want = r->has_req_ip ? r->req_ip
				     : fabric_get_be32(r->bootp + B_CIADDR);
		return want == fabric_addr_ip(src) ? FABRIC_DHCPACK
						   : FABRIC_DHCPNAK;
	default:
		/* DECLINE, RELEASE: nothing to free. INFORM: a client with
		 * a static address, which ours never have. */
		return 0;
	}
}

ssize_t fabric_dhcp_reply(const uint8_t *frame, size_t len, uint32_t src,
			  uint32_t nranks, uint16_t mtu, uint8_t *out,
			  size_t out_size, uint8_t *type)
{
	uint8_t own[FABRIC_MAC_LEN], t;
	struct dhcp_req r;
	int err;

	if (nranks > FABRIC_RANKS_MAX || src >= nranks ||
	    (mtu && mtu < MTU_MIN))
		return -EINVAL;
	fabric_addr_mac(src, own);
	err = parse_request(frame, len, own, &r);
	if (err < 0)
		return err;
	t = answer_type(&r, src);
	if (!t)
		return 0;
	if (out_size < FABRIC_DHCP_FRAME_LEN)
		return -ENOSPC;
	build_answer(out, &r, t, src, mtu);
	if (type)
		*type = t;
	return FABRIC_DHCP_FRAME_LEN;
}
