/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fabric's DNS answer (dns.h): parse the query's header and question
 * with every length checked against the bytes received, look the name up
 * in the addressing scheme, then build the whole answer frame in the
 * caller's buffer. No state, no allocation.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/be.h"
#include "fabric/dns.h"
#include "fabric/frame.h"
#include "fabric/ip.h"

#define DNS_HLEN 12
#define DNS_LABEL_MAX 63 /* 0x40 and up are pointers or obsolete types */
#define DNS_NAME_MAX 255 /* on the wire, the root label included */
#define DNS_A_LEN 16	 /* pointer, type, class, TTL, length, address */

/* The flags (RFC 1035, section 4.1.1), as the two bytes at offset 2. */
#define F2_QR 0x80
#define F2_OPCODE 0x78
#define F2_AA 0x04
#define F2_RD 0x01
#define F3_RA 0x80

#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5

#define TYPE_A 1
#define TYPE_ANY 255
#define CLASS_IN 1
#define CLASS_ANY 255
#define PTR_QNAME 0xc00c /* a compression pointer to the question's name */

/* A query: every pointer is into the caller's frame, inside its bounds. */
struct dns_query {
	const uint8_t *msg; /* the DNS message, at least DNS_HLEN bytes */
	uint32_t saddr;
	uint16_t sport;
	int standard; /* OPCODE 0: the question below was parsed */
	size_t qlen;  /* the question: name, type and class */
	uint16_t qtype, qclass;
	/* The name's first two labels, its last, and how many it has. */
	const uint8_t *label[2], *last;
	size_t label_len[2], last_len;
	size_t nlabels;
};

/* Walks the question at p[0..n): a name of plain labels, then type and
 * class. Returns 0 and fills q, or -EPROTO. */
static int parse_question(const uint8_t *p, size_t n, struct dns_query *q)
{
	size_t i = 0, l;

	for (;;) {
		if (i >= n)
			return -EPROTO;
		l = p[i];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX || l > n - i - 1)
			return -EPROTO;
		if (q->nlabels < 2) {
			q->label[q->nlabels] = p + i + 1;
			q->label_len[q->nlabels] = l;
		}
		q->last = p + i + 1;
		q->last_len = l;
		q->nlabels++;
		i += 1 + l;
	}
	i++; /* the root label */
	if (i > DNS_NAME_MAX || n - i < 4)
		return -EPROTO;
	q->qtype = fabric_get_be16(p + i);
	q->qclass = fabric_get_be16(p + i + 2);
	q->qlen = i + 4;
	return 0;
}

static int parse_query(const uint8_t *frame, size_t len, uint32_t src,
		       struct dns_query *q)
{
	uint8_t own[FABRIC_MAC_LEN];
	struct fabric_eth eth;
	struct fabric_udp udp;
	const uint8_t *m;

	memset(q, 0, sizeof(*q));
	if (fabric_eth_parse(frame, len, &eth) < 0 ||
	    eth.type != FABRIC_ETH_P_IP ||
	    fabric_udp4_parse(eth.payload, eth.payload_len, 1, &udp) < 0 ||
	    udp.daddr != FABRIC_SERVER_IP || udp.dport != FABRIC_DNS_PORT)
		return -EPROTO;
	/* The answer goes to src's guest: a query from another address is
	 * spoofed, or from an address DHCP did not give. */
	fabric_addr_mac(src, own);
	if (memcmp(eth.src, own, FABRIC_MAC_LEN) ||
	    udp.saddr != fabric_addr_ip(src))
		return -EPERM;
	if (udp.payload_len < DNS_HLEN)
		return -EPROTO;
	m = udp.payload;
	q->msg = m;
	q->saddr = udp.saddr;
	q->sport = udp.sport;
	if (m[2] & F2_QR)
		return 0;
	if (m[2] & F2_OPCODE)
		return 0; /* not standard: answered by the header alone */
	if (fabric_get_be16(m + 4) != 1)
		return -EPROTO;
	q->standard = 1;
	return parse_question(m + DNS_HLEN, udp.payload_len - DNS_HLEN, q);
}

/* ASCII only: DNS names compare without regard to case (RFC 4343), and
 * the locale must not change that. */
static int label_eq(const uint8_t *l, size_t n, const char *s)
{
	size_t i;
	uint8_t c;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++) {
		c = l[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)s[i])
			return 0;
	}
	return 1;
}

/*
 * The rank whose hostname the question names: "nNNNN" or "nNNNN.vm".
 * The digits are read as a rank, which must then print back as exactly
 * the label (n%04u), so "n1" and "n00001" name no one and "n12345" names
 * rank 12345. Returns the rank, or -ENOENT.
 */
static int name_rank(const struct dns_query *q, uint32_t nranks)
{
	char host[FABRIC_HOSTNAME_MAX];
	const uint8_t *l = q->label[0];
	size_t i, n = q->label_len[0];
	uint32_t rank = 0;

	if (q->nlabels < 1 || q->nlabels > 2)
		return -ENOENT;
	if (q->nlabels == 2 &&
	    !label_eq(q->label[1], q->label_len[1], FABRIC_DOMAIN))
		return -ENOENT;
	if (n < 2 || (l[0] != 'n' && l[0] != 'N'))
		return -ENOENT;
	for (i = 1; i < n; i++) {
		if (l[i] < '0' || l[i] > '9')
			return -ENOENT;
		rank = rank * 10 + (uint32_t)(l[i] - '0');
		/* stops long before uint32_t overflows */
		if (rank >= nranks)
			return -ENOENT;
	}
	if (fabric_addr_hostname(rank, host, sizeof(host)) < 0 ||
	    !label_eq(l, n, host))
		return -ENOENT;
	return (int)rank;
}

/* The fabric's zone: a name of one label, or one whose last label is
 * FABRIC_DOMAIN; others are for a server beyond the segment (dns.h). */
static int in_zone(const struct dns_query *q)
{
	return q->nlabels <= 1 || label_eq(q->last, q->last_len, FABRIC_DOMAIN);
}

/* Decides the answer: sets *rcode, and returns the rank for an A record
 * or -1 for none. */
static int decide(const struct dns_query *q, uint32_t nranks, uint8_t *rcode)
{
	int rank;

	if (!q->standard) {
		*rcode = RCODE_NOTIMP;
		return -1;
	}
	if (q->qclass != CLASS_IN && q->qclass != CLASS_ANY) {
		*rcode = RCODE_REFUSED;
		return -1;
	}
	if (!in_zone(q)) {
		*rcode = RCODE_REFUSED;
		return -1;
	}
	rank = name_rank(q, nranks);
	if (rank < 0) {
		*rcode = RCODE_NXDOMAIN;
		return -1;
	}
	*rcode = RCODE_NOERROR;
	return q->qtype == TYPE_A || q->qtype == TYPE_ANY ? rank : -1;
}

static void build_answer(uint8_t *out, size_t dns_len,
			 const struct dns_query *q, uint32_t src, uint8_t rcode,
			 int rank)
{
	uint8_t *ip = out + FABRIC_ETH_HLEN;
	uint8_t *udp = ip + FABRIC_IP_HLEN;
	uint8_t *d = udp + FABRIC_UDP_HLEN, *a;
	size_t qlen = q->standard ? q->qlen : 0;

	memset(out, 0,
	       FABRIC_ETH_HLEN + FABRIC_IP_HLEN + FABRIC_UDP_HLEN + DNS_HLEN);
	fabric_addr_mac(src, out);
	memcpy(out + 6, fabric_server_mac, FABRIC_MAC_LEN);
	fabric_put_be16(out + 12, FABRIC_ETH_P_IP);

	memcpy(d, q->msg, 2); /* ID */
	d[2] = F2_QR | (q->msg[2] & (F2_OPCODE | F2_RD));
	if (rcode == RCODE_NOERROR || rcode == RCODE_NXDOMAIN)
		d[2] |= F2_AA;
	d[3] = F3_RA | rcode;
	if (q->standard) {
		fabric_put_be16(d + 4, 1);
		memcpy(d + DNS_HLEN, q->msg + DNS_HLEN, qlen);
	}
	if (rank >= 0) {
		fabric_put_be16(d + 6, 1);
		a = d + DNS_HLEN + qlen;
		fabric_put_be16(a, PTR_QNAME);
		fabric_put_be16(a + 2, TYPE_A);
		fabric_put_be16(a + 4, CLASS_IN);
		fabric_put_be32(a + 6, FABRIC_DNS_TTL);
		fabric_put_be16(a + 10, 4);
		fabric_put_be32(a + 12, fabric_addr_ip((uint32_t)rank));
	}

	fabric_udp4_header(ip, FABRIC_SERVER_IP, q->saddr, FABRIC_DNS_PORT,
			   q->sport, dns_len);
}

ssize_t fabric_dns_reply(const uint8_t *frame, size_t len, uint32_t src,
			 uint32_t nranks, uint8_t *out, size_t out_size)
{
	struct dns_query q;
	size_t dns_len, total;
	uint8_t rcode;
	int err, rank;

	if (nranks > FABRIC_RANKS_MAX || src >= nranks)
		return -EINVAL;
	err = parse_query(frame, len, src, &q);
	if (err < 0)
		return err;
	if (q.msg[2] & F2_QR)
		return 0;
	rank = decide(&q, nranks, &rcode);
	dns_len =
	    DNS_HLEN + (q.standard ? q.qlen : 0) + (rank >= 0 ? DNS_A_LEN : 0);
	total = FABRIC_ETH_HLEN + FABRIC_IP_HLEN + FABRIC_UDP_HLEN + dns_len;
	if (out_size < total)
		return -ENOSPC;
	build_answer(out, dns_len, &q, src, rcode, rank);
	return (ssize_t)total;
}
