/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNS answer on queries laid out as a stub resolver sends them, the
 * answers checked field by field with this file's own checksum, and on
 * malformed, truncated and spoofed queries.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fabric/addr.h"
#include "fabric/dns.h"
#include "tap.h"
#include "wire.h"

#define NRANKS 12346 /* the last rank is n12345: five digits */
#define RANK 3	     /* 52:55:00:00:00:03, 10.0.0.4 */
#define SPORT 41234
#define HDRS (14 + 20 + 8)

static uint8_t msg[700], out[FABRIC_DNS_FRAME_MAX + 64];
static size_t msg_len;
/* The DNS message last built, for comparing the question. */
static uint8_t dns[600];
static size_t dns_len, qlen;

/* Wraps dns[0..dns_len) in a frame from RANK's guest to the fabric:
 * Ethernet to the fabric's MAC, IPv4 10.0.0.4 -> 10.255.255.254, UDP
 * SPORT -> 53 with checksum 0. */
static void wrap(void)
{
	uint8_t *ip = msg + 14, *udp = ip + 20;

	memset(msg, 0, sizeof(msg));
	memcpy(msg, "\x52\x55\xff\xff\xff\xfe\x52\x55\x00\x00\x00\x03", 12);
	put16(msg + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + dns_len);
	ip[6] = 0x40; /* DF, as Linux sends it */
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0x0a000004);
	put32(ip + 16, 0x0afffffe);
	set_ip_csum(ip, 20);
	put16(udp, SPORT);
	put16(udp + 2, 53);
	put16(udp + 4, 8 + dns_len);
	memcpy(udp + 8, dns, dns_len);
	msg_len = HDRS + dns_len;
}

/* Writes name ("n0001.vm", "" for the root) as labels at p. Returns the
 * bytes written. */
static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0, l;
	const char *dot;

	while (*name) {
		dot = strchr(name, '.');
		l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* A query with ID id for name, qtype, qclass and header byte 2 flags2
 * (RD is 0x01), in dns[] and wrapped in msg[]. */
static void query_full(uint16_t id, uint8_t flags2, const char *name,
		       uint16_t qtype, uint16_t qclass)
{
	size_t n;

	memset(dns, 0, sizeof(dns));
	put16(dns, id);
	dns[2] = flags2;
	put16(dns + 4, 1);
	n = put_name(dns + 12, name);
	put16(dns + 12 + n, qtype);
	put16(dns + 14 + n, qclass);
	qlen = n + 4;
	dns_len = 12 + qlen;
	wrap();
}

static void query(const char *name, uint16_t qtype)
{
	query_full(0x1234, 0x01, name, qtype, 1);
}

static ssize_t answer_in(uint32_t nranks, size_t out_size)
{
	memset(out, 0xcc, sizeof(out));
	return fabric_dns_reply(msg, msg_len, RANK, nranks, out, out_size);
}

static ssize_t answer(void)
{
	return answer_in(NRANKS, sizeof(out));
}

/*
 * Checks an answer of n bytes to the query in dns[]: the headers, the
 * flags with rcode, the question echoed, and one A record for ip when ip
 * is not 0. Returns 1 when all is right, printing what is not.
 */
static int check(ssize_t n, unsigned int rcode, uint32_t ip)
{
	const uint8_t *ipf = out + 14, *udp = ipf + 20, *d = udp + 8;
	const uint8_t *a = d + 12 + qlen;
	size_t want = HDRS + 12 + qlen + (ip ? 16 : 0);
	int good = 1;

#define CHECK(cond, what)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("#   wrong: %s\n", what);                       \
			good = 0;                                              \
		}                                                              \
	} while (0)

	if (n != (ssize_t)want) {
		printf("#   length %zd, want %zu\n", n, want);
		return 0;
	}
	CHECK(!memcmp(out, "\x52\x55\x00\x00\x00\x03\x52\x55\xff\xff\xff\xfe",
		      12) &&
		  get16(out + 12) == 0x0800,
	      "Ethernet from the fabric's MAC to the guest's");
	CHECK(ipf[0] == 0x45 && get16(ipf + 2) == n - 14 && ipf[8] > 0 &&
		  ipf[9] == 17 && !(get16(ipf + 6) & 0x3fff),
	      "IPv4 header: length, UDP, unfragmented");
	CHECK(csum(ipf, 20) == 0, "the IPv4 checksum");
	CHECK(get32(ipf + 12) == 0x0afffffe && get32(ipf + 16) == 0x0a000004,
	      "10.255.255.254 -> 10.0.0.4");
	CHECK(get16(udp) == 53 && get16(udp + 2) == SPORT &&
		  get16(udp + 4) == n - 34 && get16(udp + 6) == 0,
	      "UDP 53 -> the query's port, length, checksum 0");
	CHECK(get16(d) == get16(dns), "the ID is echoed");
	CHECK(d[2] == (0x80 | (rcode == 0 || rcode == 3 ? 0x04 : 0) |
		       (dns[2] & 0x79)),
	      "QR, AA (for an answer of the fabric's zone), the OPCODE and "
	      "RD echoed");
	CHECK(d[3] == (0x80 | rcode), "RA and the RCODE");
	CHECK(get16(d + 4) == 1 && get16(d + 6) == (ip ? 1 : 0) &&
		  get16(d + 8) == 0 && get16(d + 10) == 0,
	      "the section counts");
	CHECK(!memcmp(d + 12, dns + 12, qlen), "the question as asked");
	if (ip)
		CHECK(!memcmp(a,
			      "\xc0\x0c\x00\x01\x00\x01\x00\x01\x51\x80"
			      "\x00\x04",
			      12) &&
			  get32(a + 12) == ip,
		      "the A record: name pointer, IN, TTL 86400, address");
	CHECK(out[n] == 0xcc, "nothing written past the answer");
#undef CHECK
	return good;
}

static void test_a(void)
{
	query("n0000", 1);
	ok(check(answer(), 0, 0x0a000001), "A n0000 is 10.0.0.1");
	query_full(0xbeef, 0x01, "n0001", 1, 1);
	ok(check(answer(), 0, 0x0a000002) && out[42] == 0xbe && out[43] == 0xef,
	   "A n0001 is 10.0.0.2, ID 0xbeef echoed");
	query("N0001.vm", 1);
	ok(check(answer(), 0, 0x0a000002) && !memcmp(out + 55, "N0001", 5),
	   "A N0001.vm is 10.0.0.2, the name's case kept");
	query("n0001.VM", 1);
	ok(check(answer(), 0, 0x0a000002), "A n0001.VM is 10.0.0.2");
	query("n0003", 1);
	ok(check(answer(), 0, 0x0a000004), "the guest's own name resolves");
	query("n12345", 1);
	ok(check(answer(), 0, 0x0a00303a),
	   "A n12345 (the last rank) is 10.0.48.58");
	query("n12345.vm", 1);
	ok(check(answer(), 0, 0x0a00303a), "so is n12345.vm");
	query("n0002", 255);
	ok(check(answer(), 0, 0x0a000003), "ANY n0002 gives its A record");
	query_full(0x0001, 0x00, "n0002", 1, 255);
	ok(check(answer(), 0, 0x0a000003),
	   "class ANY is IN; RD 0 is echoed as 0");
	query_full(0x0002, 0x01 | 0x02, "n0002", 1, 1);
	ok(check(answer(), 0, 0x0a000003), "a TC bit in the query is ignored");

	query("n16777212", 1);
	ok(check(answer_in(FABRIC_RANKS_MAX, sizeof(out)), 0, 0x0afffffd),
	   "the highest rank of the largest step is 10.255.255.253");
	query("n16777213", 1);
	ok(check(answer_in(FABRIC_RANKS_MAX, sizeof(out)), 3, 0),
	   "one past it is NXDOMAIN");
	query("n99999999", 1);
	ok(check(answer_in(FABRIC_RANKS_MAX, sizeof(out)), 3, 0),
	   "eight nines are NXDOMAIN");
	query("n4294967297", 1);
	ok(check(answer_in(FABRIC_RANKS_MAX, sizeof(out)), 3, 0),
	   "2^32 + 1 does not wrap to rank 1");
}

static void test_nodata(void)
{
	query("n0001", 28);
	ok(check(answer(), 0, 0), "AAAA n0001 is NOERROR with no answer");
	query("n0001.vm", 28);
	ok(check(answer(), 0, 0), "AAAA n0001.vm too");
	query("n0001", 15);
	ok(check(answer(), 0, 0), "MX n0001 too");
}

static void test_nxdomain(void)
{
	/* The last is a full-width digit zero, in UTF-8. */
	static const char *const names[] = {
	    "n12346",	  "n1",	       "n00001",
	    "n012345",	  "n0001x",    "nabcd",
	    "n",	  "x0001",     "foo",
	    "vm",	  "",	       "n0001.vm.vm",
	    "x.n0001.vm", "n-001",     "n+001",
	    "n 001",	  "localhost", "n\357\274\220001",
	};
	/* Not the fabric's zone: for the next server (the NAT's). */
	static const char *const outside[] = {
	    "n0001.example", "vm.n0001",    "n0001.v",
	    "n0001.vmx",     "example.com", "N0001.vm.example",
	};
	char what[64];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		query(names[i], 1);
		snprintf(what, sizeof(what), "A \"%s\" is NXDOMAIN", names[i]);
		ok(check(answer(), 3, 0), "%s", what);
	}
	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		query(outside[i], 1);
		snprintf(what, sizeof(what), "A \"%s\" is REFUSED", outside[i]);
		ok(check(answer(), 5, 0), "%s", what);
	}
	query("foo", 28);
	ok(check(answer(), 3, 0), "AAAA foo is NXDOMAIN");
	query("n0004", 1);
	ok(check(answer_in(4, sizeof(out)), 3, 0),
	   "n0004 in a step of 4 is NXDOMAIN");
	query("n0003.vm", 1);
	ok(check(answer_in(4, sizeof(out)), 0, 0x0a000004),
	   "n0003.vm in a step of 4 is its last rank");
}

/* The question with a name of exactly 255 bytes is the longest there is. */
static void test_long_names(void)
{
	char name[300];
	ssize_t n;

	/* three 63-byte labels and one of 61: 3 * 64 + 62 + 1 = 255 */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = 0;
	query(name, 1);
	n = answer();
	ok(check(n, 5, 0) && qlen == 259 && n + 16 == FABRIC_DNS_FRAME_MAX,
	   "a 255-byte name is answered (REFUSED: not the fabric's zone, "
	   "%zd bytes)",
	   n);
	ok(answer_in(NRANKS, (size_t)n) == n && out[n] == 0xcc,
	   "the answer fits a buffer of exactly its size");
	ok(answer_in(NRANKS, (size_t)n - 1) == -ENOSPC && out[0] == 0xcc,
	   "and not one byte less (nothing written)");
	name[253] = 'a';
	name[254] = 0;
	query(name, 1);
	ok(answer() == -EPROTO && out[0] == 0xcc, "a 256-byte name is refused");
	memset(name, 'a', 64);
	strcpy(name + 64, ".vm");
	query(name, 1);
	ok(answer() == -EPROTO, "a 64-byte label is refused");
}

static void test_edns_and_opcodes(void)
{
	uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};
	ssize_t n;

	/* As glibc and dig send it: an OPT record in the additional section
	 * (buffer size 1232, DO). */
	query("n0001", 1);
	memcpy(dns + dns_len, opt, sizeof(opt));
	dns_len += sizeof(opt);
	put16(dns + 10, 1);
	wrap();
	ok(check(answer(), 0, 0x0a000002),
	   "a query with EDNS is answered, without OPT");

	query("n0001", 1);
	dns[2] |= 0x80;
	wrap();
	ok(answer() == 0 && out[0] == 0xcc, "a response is never answered");

	query_full(0x4242, 0x10 | 0x01, "n0001", 1, 1); /* OPCODE 2 */
	n = answer();
	ok(n == HDRS + 12 && out[42] == 0x42 && out[43] == 0x42 &&
	       out[44] == (0x80 | 0x10 | 0x01) && out[45] == (0x80 | 4) &&
	       !memcmp(out + 46, "\0\0\0\0\0\0\0\0", 8) &&
	       csum(out + 14, 20) == 0 && out[n] == 0xcc,
	   "OPCODE 2 gets NOTIMP, the header alone");
	query_full(0x4242, 0x28, "n0001", 1, 1); /* UPDATE */
	put16(dns + 4, 3); /* its zone count, no question count */
	wrap();
	ok(answer() == HDRS + 12 && (out[45] & 0x0f) == 4,
	   "UPDATE gets NOTIMP whatever its counts");

	query_full(0x0001, 0x01, "n0001", 16, 3); /* version.bind-style CH */
	n = answer();
	ok(n == (ssize_t)(HDRS + 12 + qlen) && out[44] == (0x80 | 0x01) &&
	       out[45] == (0x80 | 5) && !memcmp(out + 54, dns + 12, qlen),
	   "class CH is REFUSED, not authoritative, the question echoed");
}

static void test_malformed(void)
{
	size_t full, i;
	int all = 1;

	query("n0001.vm", 1);
	full = msg_len;
	for (i = 0; i < full; i++) {
		msg_len = i;
		if (answer() != -EPROTO || out[0] != 0xcc)
			all = 0;
	}
	ok(all, "every truncated frame (0..%zu bytes) is refused", full - 1);
	all = 1;

	/* Cut the DNS message short inside well-formed IPv4 and UDP. */
	query("n0001.vm", 1);
	full = dns_len;
	for (i = 0; i < full; i++) {
		dns_len = i;
		wrap();
		if (answer() != -EPROTO || out[0] != 0xcc)
			all = 0;
	}
	ok(all, "every truncated DNS message (0..%zu bytes) is refused",
	   full - 1);

	query("n0001", 1);
	dns[12] = 63; /* the first label runs past the end of the message */
	wrap();
	ok(answer() == -EPROTO, "a label length beyond the end is refused");
	query("n0001", 1);
	dns_len -= 4; /* no type and class */
	wrap();
	ok(answer() == -EPROTO, "a question without type and class");
	query("n0001", 1);
	dns[18] = 1; /* the root label is now a label running off the end */
	wrap();
	ok(answer() == -EPROTO, "a name without its root label");

	query("", 1);
	memmove(dns + 14, dns + 13, 4); /* type and class after a pointer */
	dns[12] = 0xc0; /* the question's name is a pointer to offset 12 */
	dns[13] = 0x0c;
	dns_len += 1;
	qlen += 1;
	wrap();
	ok(answer() == -EPROTO && out[0] == 0xcc,
	   "a compression pointer in the question is refused");
	query("n0001.vm", 1);
	dns[18] = 0xc0; /* "n0001" then a pointer in place of "vm" */
	dns[19] = 0x0c;
	wrap();
	ok(answer() == -EPROTO, "a pointer after a label is refused");
	query("n0001", 1);
	dns[12] = 0x45; /* 0x40: the obsolete extended label type */
	wrap();
	ok(answer() == -EPROTO, "an extended label type is refused");

	query("n0001", 1);
	put16(dns + 4, 2);
	wrap();
	ok(answer() == -EPROTO && out[0] == 0xcc, "QDCOUNT 2 is refused");
	put16(dns + 4, 0);
	wrap();
	ok(answer() == -EPROTO, "QDCOUNT 0 is refused");
}

static void test_frame(void)
{
	uint8_t *ip = msg + 14;

	query("n0001", 1);
	ip[11] ^= 1;
	ok(answer() == -EPROTO, "a bad IPv4 checksum is refused");
	query("n0001", 1);
	msg[14 + 20 + 3] = 54;
	ok(answer() == -EPROTO, "UDP to port 54 is refused");
	query("n0001", 1);
	ip[19] = 0xfd; /* to 10.255.255.253 */
	set_ip_csum(ip, 20);
	ok(answer() == -EPROTO, "a query to another address is refused");
	query("n0001", 1);
	ip[6] = 0x20; /* more fragments */
	set_ip_csum(ip, 20);
	ok(answer() == -EPROTO, "a fragment is refused");
	query("n0001", 1);
	msg[12] = 0x86;
	msg[13] = 0xdd;
	ok(answer() == -EPROTO, "IPv6 is refused");

	query("n0001", 1);
	msg[11] = 2;
	ok(answer() == -EPERM && out[0] == 0xcc,
	   "a query from another rank's MAC is refused");
	query("n0001", 1);
	ip[15] = 3; /* from 10.0.0.3, rank 2's address */
	set_ip_csum(ip, 20);
	ok(answer() == -EPERM, "a query from another rank's address");
	query("n0001", 1);
	memset(ip + 12, 0, 4);
	set_ip_csum(ip, 20);
	ok(answer() == -EPERM, "a query from 0.0.0.0 is refused");

	query("n0001", 1);
	memcpy(msg, "\xff\xff\xff\xff\xff\xff", 6);
	ok(check(answer(), 0, 0x0a000002),
	   "a query to the broadcast MAC is answered to the guest's");
	memset(msg + msg_len, 0, 20);
	msg_len += 20;
	ok(check(answer(), 0, 0x0a000002),
	   "Ethernet padding after the packet is fine");

	/* IPv4 options move the UDP header: follow the IHL. */
	query("n0001", 1);
	memmove(msg + 38, msg + 34, msg_len - 34);
	memset(msg + 34, 1, 4); /* four NOP options */
	msg[14] = 0x46;
	put16(msg + 16, (uint32_t)(msg_len - 14 + 4));
	msg_len += 4;
	set_ip_csum(msg + 14, 24);
	ok(check(answer(), 0, 0x0a000002), "a query with IPv4 options");

	query("n0001", 1);
	ok(fabric_dns_reply(msg, msg_len, NRANKS, NRANKS, out, sizeof(out)) ==
	       -EINVAL,
	   "a sender rank outside the step is a caller bug");
	ok(fabric_dns_reply(msg, msg_len, RANK, FABRIC_RANKS_MAX + 1, out,
			    sizeof(out)) == -EINVAL,
	   "a step larger than the scheme is a caller bug");
	ok(answer_in(NRANKS, HDRS + 12 + qlen + 15) == -ENOSPC &&
	       out[0] == 0xcc,
	   "a buffer one byte short is refused, nothing written");
	ok(check(answer_in(NRANKS, HDRS + 12 + qlen + 16), 0, 0x0a000002),
	   "a buffer of exactly the answer's size is enough");
}

int main(void)
{
	test_a();
	test_nodata();
	test_nxdomain();
	test_long_names();
	test_edns_and_opcodes();
	test_malformed();
	test_frame();
	return done_testing();
}
