/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-task counters: counting, the summary line and the JSON file. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fabric/dhcp.h"
#include "fabric/stats.h"
#include "tap.h"

static struct fabric_stats st;

static void count(void)
{
	memset(&st, 0, sizeof(st));
	fabric_stats_route(&st, FABRIC_UNICAST, 1514);
	fabric_stats_route(&st, FABRIC_BROADCAST, 60);
	fabric_stats_route(&st, FABRIC_LOCAL_ARP, 42);
	fabric_stats_route(&st, FABRIC_LOCAL_DHCP, 342);
	fabric_stats_route(&st, FABRIC_LOCAL_DHCP, 342);
	fabric_stats_route(&st, FABRIC_LOCAL_DNS, 70);
	fabric_stats_route(&st, FABRIC_LOCAL_DNS, 70);
	fabric_stats_route(&st, FABRIC_DROP_BAD_SOURCE, 60);
	fabric_stats_route(&st, FABRIC_DROP_NO_RANK, 60);
	fabric_stats_route(&st, -EINVAL, 10);
	fabric_stats_arp(&st, 42);
	fabric_stats_arp(&st, -ENOENT);
	fabric_stats_arp(&st, 0);
	fabric_stats_dhcp(&st, 342, FABRIC_DHCPOFFER);
	fabric_stats_dhcp(&st, 342, FABRIC_DHCPACK);
	fabric_stats_dhcp(&st, -EPROTO, 0);
	fabric_stats_dhcp(&st, 0, 0);
	fabric_stats_dns(&st, 86);
	fabric_stats_dns(&st, -EPERM);
	fabric_stats_dns(&st, 0);
	fabric_stats_deliver(&st, 1514);
	fabric_stats_deliver(&st, 42);
	st.links[FABRIC_LINK_LOCAL] = 1;
	st.links[FABRIC_LINK_TCP] = 2;
}

static void test_count(void)
{
	count();
	ok(st.frames_out == 10 && st.bytes_out == 2570,
	   "10 frames, 2570 bytes out");
	ok(st.frames_in == 2 && st.bytes_in == 1556, "2 frames, 1556 bytes in");
	ok(st.arp_replies == 1 && st.dhcp_offers == 1 && st.dhcp_acks == 1 &&
	       st.dhcp_naks == 0 && st.dns_answers == 1,
	   "1 ARP reply, 1 offer, 1 ack, 1 DNS answer");
	ok(st.drops[FABRIC_DROP_BAD_SOURCE] == 2 &&
	       st.drops[FABRIC_DROP_NO_RANK] == 2 &&
	       st.drops[FABRIC_DROP_MALFORMED] == 1,
	   "drops by reason, local answers' failures included");
	ok(fabric_stats_drops(&st) == 5, "5 drops in all");
	ok(st.drops[FABRIC_UNICAST] == 0 && st.drops[FABRIC_LOCAL_ARP] == 0 &&
	       st.drops[FABRIC_LOCAL_DNS] == 0,
	   "forwarded and answered frames are no drops");
}

static void test_summary(void)
{
	char buf[FABRIC_STATS_LINE_MAX], small[16] = "keep";
	int n;

	count();
	n = fabric_stats_summary(&st, 3, buf, sizeof(buf));
	is_str(buf,
	       "n0003: out 10 frames 2570 B, in 2 frames 1556 B, arp 1, "
	       "dhcp 1/1/0 offer/ack/nak, dns 1, links 1/2/0 local/tcp/verbs, "
	       "dropped 5 (malformed 1, bad_source 2, no_rank 2)",
	       "the summary line");
	ok(n == (int)strlen(buf), "its length is returned");
	memset(&st, 0, sizeof(st));
	fabric_stats_summary(&st, 0, buf, sizeof(buf));
	is_str(buf,
	       "n0000: out 0 frames 0 B, in 0 frames 0 B, arp 0, "
	       "dhcp 0/0/0 offer/ack/nak, dns 0, links 0/0/0 local/tcp/verbs, "
	       "dropped 0",
	       "no parentheses without drops");
	fabric_stats_route(&st, FABRIC_DROP_SPOOFED, 60);
	fabric_stats_route(&st, FABRIC_DROP_SPOOFED, 60);
	fabric_stats_route(&st, FABRIC_DROP_TAGGED, 64);
	fabric_stats_summary(&st, 0, buf, sizeof(buf));
	is_str(buf,
	       "n0000: out 3 frames 184 B, in 0 frames 0 B, arp 0, "
	       "dhcp 0/0/0 offer/ack/nak, dns 0, links 0/0/0 local/tcp/verbs, "
	       "dropped 3 (spoofed 2, tagged 1)",
	       "the guard's drops are named in the line");
	memset(&st, 0, sizeof(st));
	st.links_lost = 3;
	fabric_stats_summary(&st, 0, buf, sizeof(buf));
	ok(!strstr(buf, "link trouble"),
	   "links that closed as peers finished are no trouble: %s", buf);
	st.link_failures = 2;
	st.link_retries = 1;
	st.conns_refused = 64;
	st.lost_frames = 4;
	st.lost_bytes = 512;
	fabric_stats_summary(&st, 0, buf, sizeof(buf));
	ok(strstr(buf,
		  ", link trouble: failed 2, retried 1, closed 3, lost 4 "
		  "frames (512 B), refused 64, timed out 0, rested 0") != NULL,
	   "link trouble is said in full: %s", buf);
	memset(&st, 0, sizeof(st));
	ok(fabric_stats_summary(&st, 0, small, sizeof(small)) == -ENOSPC &&
	       !strcmp(small, "keep"),
	   "a short buffer is refused and untouched");
	ok(fabric_stats_summary(&st, FABRIC_RANK_MAX + 1, buf, sizeof(buf)) ==
	       -EINVAL,
	   "a rank outside the scheme is refused");
	memset(&st, 0xff, sizeof(st));
	n = fabric_stats_summary(&st, FABRIC_RANK_MAX, buf, sizeof(buf));
	ok(n > 0 && n < (int)sizeof(buf),
	   "every counter at its maximum fits the line (%d bytes)", n);
}

static json_int_t get(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_json(void)
{
	json_error_t jerr;
	json_t *o;
	int fds[2];

	count();
	if (pipe(fds) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	ok(fabric_stats_write_json(&st, 3, fds[1]) == 0, "the JSON is written");
	close(fds[1]);
	o = json_loadfd(fds[0], 0, &jerr);
	close(fds[0]);
	ok(o != NULL, "it parses back (%s)", o ? "ok" : jerr.text);
	ok(get(o, "rank", NULL) == 3 &&
	       !strcmp(json_string_value(json_object_get(o, "hostname")) ?: "",
		       "n0003"),
	   "rank and hostname");
	ok(get(o, "frames_out", NULL) == 10 &&
	       get(o, "bytes_out", NULL) == 2570 &&
	       get(o, "frames_in", NULL) == 2 &&
	       get(o, "bytes_in", NULL) == 1556,
	   "frames and bytes in and out");
	ok(get(o, "arp_replies", NULL) == 1 && get(o, "dhcp", "offers") == 1 &&
	       get(o, "dhcp", "acks") == 1 && get(o, "dhcp", "naks") == 0 &&
	       get(o, "dns_answers", NULL) == 1,
	   "ARP, DHCP and DNS answers");
	ok(get(o, "links", "local") == 1 && get(o, "links", "tcp") == 2 &&
	       get(o, "links", "verbs") == 0,
	   "connections by kind");
	ok(get(o, "drops", "no_rank") == 2 &&
	       get(o, "drops", "bad_source") == 2 &&
	       get(o, "drops", "malformed") == 1 &&
	       get(o, "drops", "loop") == 0 &&
	       get(o, "drops", "rogue_dhcp") == 0 &&
	       get(o, "drops", "spoofed") == 0 &&
	       get(o, "drops", "tagged") == 0 &&
	       json_object_size(json_object_get(o, "drops")) == 7,
	   "every drop reason, zeros included");
	json_decref(o);

	memset(&st, 0xff, sizeof(st));
	o = fabric_stats_json(&st, 0);
	ok(o && get(o, "bytes_in", NULL) == INT64_MAX,
	   "a counter past 2^63 is clamped, not wrapped");
	json_decref(o);
	ok(fabric_stats_json(&st, FABRIC_RANK_MAX + 1) == NULL,
	   "no JSON for a rank outside the scheme");
	ok(fabric_stats_write_json(&st, 0, -1) == -EBADF,
	   "a write error is returned");
}

int main(void)
{
	test_count();
	test_summary();
	test_json();
	return done_testing();
}
