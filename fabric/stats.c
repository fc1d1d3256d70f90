/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-task fabric counters (stats.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fabric/addr.h"
#include "fabric/dhcp.h"
#include "fabric/stats.h"

void fabric_stats_route(struct fabric_stats *st, int action, size_t len)
{
	st->frames_out++;
	st->bytes_out += len;
	if (fabric_action_is_drop(action))
		st->drops[action]++;
}

void fabric_stats_deliver(struct fabric_stats *st, size_t len)
{
	st->frames_in++;
	st->bytes_in += len;
}

/* A failed local answer is a drop of the request, by the same reasons the
 * route uses. */
static void count_local_error(struct fabric_stats *st, ssize_t ret)
{
	switch (ret) {
	case -EPROTO:
		st->drops[FABRIC_DROP_MALFORMED]++;
		break;
	case -EPERM:
		st->drops[FABRIC_DROP_BAD_SOURCE]++;
		break;
	case -ENOENT:
		st->drops[FABRIC_DROP_NO_RANK]++;
		break;
	}
}

void fabric_stats_arp(struct fabric_stats *st, ssize_t ret)
{
	if (ret > 0)
		st->arp_replies++;
	else
		count_local_error(st, ret);
}

void fabric_stats_dhcp(struct fabric_stats *st, ssize_t ret, uint8_t type)
{
	if (ret <= 0) {
		count_local_error(st, ret);
		return;
	}
	if (type == FABRIC_DHCPOFFER)
		st->dhcp_offers++;
	else if (type == FABRIC_DHCPACK)
		st->dhcp_acks++;
	else if (type == FABRIC_DHCPNAK)
		st->dhcp_naks++;
}

void fabric_stats_dns(struct fabric_stats *st, ssize_t ret)
{
	if (ret > 0)
		st->dns_answers++;
	else
		count_local_error(st, ret);
}

uint64_t fabric_stats_drops(const struct fabric_stats *st)
{
	uint64_t n = 0;
	int a;

	for (a = 0; a < FABRIC_NACTIONS; a++)
		if (fabric_action_is_drop(a))
			n += st->drops[a];
	return n;
}

static void append(char *line, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to line[*off..]; the line is big enough for every counter at
 * its maximum (the test checks), so truncation only guards against a
 * miscount here. */
static void append(char *line, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= FABRIC_STATS_LINE_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line + *off, FABRIC_STATS_LINE_MAX - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

int fabric_stats_summary(const struct fabric_stats *st, uint32_t rank,
			 char *buf, size_t size)
{
	char line[FABRIC_STATS_LINE_MAX], host[FABRIC_HOSTNAME_MAX];
	const char *sep = " (";
	size_t off = 0;
	int a;

	if (fabric_addr_hostname(rank, host, sizeof(host)) < 0)
		return -EINVAL;
	append(line, &off,
	       "%s: out %" PRIu64 " frames %" PRIu64 " B, in %" PRIu64
	       " frames %" PRIu64 " B, arp %" PRIu64 ", dhcp %" PRIu64
	       "/%" PRIu64 "/%" PRIu64 " offer/ack/nak, dns %" PRIu64
	       ", links %" PRIu64 "/%" PRIu64 "/%" PRIu64
	       " local/tcp/verbs, dropped %" PRIu64,
	       host, st->frames_out, st->bytes_out, st->frames_in, st->bytes_in,
	       st->arp_replies, st->dhcp_offers, st->dhcp_acks, st->dhcp_naks,
	       st->dns_answers, st->links[FABRIC_LINK_LOCAL],
	       st->links[FABRIC_LINK_TCP], st->links[FABRIC_LINK_VERBS],
	       fabric_stats_drops(st));
	for (a = 0; a < FABRIC_NACTIONS; a++) {
		if (!fabric_action_is_drop(a) || !st->drops[a])
			continue;
		append(line, &off, "%s%s %" PRIu64, sep, fabric_action_name(a),
		       st->drops[a]);
		sep = ", ";
	}
	if (sep[0] == ',')
		append(line, &off, ")");
	/* A link that closes is how every step ends (peers finish at their
	 * own pace): said only beside real trouble. */
	if (st->link_failures || st->link_retries || st->lost_frames ||
	    st->lost_bytes || st->conns_refused || st->handshake_timeouts ||
	    st->listen_rests)
		append(line, &off,
		       ", link trouble: failed %" PRIu64 ", retried %" PRIu64
		       ", closed %" PRIu64 ", lost %" PRIu64 " frames (%" PRIu64
		       " B), refused %" PRIu64 ", timed out %" PRIu64
		       ", rested %" PRIu64,
		       st->link_failures, st->link_retries, st->links_lost,
		       st->lost_frames, st->lost_bytes, st->conns_refused,
		       st->handshake_timeouts, st->listen_rests);
	if (off >= sizeof(line) || off >= size)
		return -ENOSPC;
	memcpy(buf, line, off + 1);
	return (int)off;
}

/* JSON integers are signed 64-bit: a counter cannot reach 2^63 in a step's
 * life, but clamp rather than wrap if one ever does. */
static int set_counter(json_t *o, const char *key, uint64_t v)
{
	/* json_object_set_new() takes the value, or frees it on failure,
	 * and fails on a NULL value: one check covers both allocations. */
	return json_object_set_new(
	    o, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

json_t *fabric_stats_json(const struct fabric_stats *st, uint32_t rank)
{
	char host[FABRIC_HOSTNAME_MAX];
	json_t *o, *dhcp, *drops, *links;
	int err = 0, a;

	if (fabric_addr_hostname(rank, host, sizeof(host)) < 0)
		return NULL;
	o = json_object();
	if (!o)
		return NULL;
	err |= set_counter(o, "rank", rank);
	err |= json_object_set_new(o, "hostname", json_string(host));
	err |= set_counter(o, "frames_out", st->frames_out);
	err |= set_counter(o, "bytes_out", st->bytes_out);
	err |= set_counter(o, "frames_in", st->frames_in);
	err |= set_counter(o, "bytes_in", st->bytes_in);
	err |= set_counter(o, "arp_replies", st->arp_replies);
	err |= set_counter(o, "dns_answers", st->dns_answers);
	dhcp = json_object();
	err |= json_object_set_new(o, "dhcp", dhcp);
	drops = json_object();
	err |= json_object_set_new(o, "drops", drops);
	links = json_object();
	err |= json_object_set_new(o, "links", links);
	if (err)
		goto fail;
	/* o holds dhcp, drops and links now: freeing o frees them. */
	err |= set_counter(links, "local", st->links[FABRIC_LINK_LOCAL]);
	err |= set_counter(links, "tcp", st->links[FABRIC_LINK_TCP]);
	err |= set_counter(links, "verbs", st->links[FABRIC_LINK_VERBS]);
	err |= set_counter(links, "failed", st->link_failures);
	err |= set_counter(links, "retried", st->link_retries);
	err |= set_counter(links, "closed", st->links_lost);
	err |= set_counter(links, "lost_frames", st->lost_frames);
	err |= set_counter(links, "lost_bytes", st->lost_bytes);
	err |= set_counter(links, "refused", st->conns_refused);
	err |= set_counter(links, "timed_out", st->handshake_timeouts);
	err |= set_counter(links, "rested", st->listen_rests);
	err |= set_counter(dhcp, "offers", st->dhcp_offers);
	err |= set_counter(dhcp, "acks", st->dhcp_acks);
	err |= set_counter(dhcp, "naks", st->dhcp_naks);
	for (a = 0; a < FABRIC_NACTIONS; a++)
		if (fabric_action_is_drop(a))
			err |= set_counter(drops, fabric_action_name(a),
					   st->drops[a]);
	if (err)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int fabric_stats_write_json(const struct fabric_stats *st, uint32_t rank,
			    int fd)
{
	json_t *o;
	int err = 0;

	if (rank > FABRIC_RANK_MAX)
		return -EINVAL;
	o = fabric_stats_json(st, rank);
	if (!o)
		return -ENOMEM;
	errno = 0;
	if (json_dumpfd(o, fd, JSON_COMPACT | JSON_SORT_KEYS) < 0 ||
	    write(fd, "\n", 1) != 1)
		err = errno ? -errno : -EIO;
	json_decref(o);
	return err;
}
