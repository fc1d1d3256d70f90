/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-task fabric counters, a one-line summary for --vm-stats and a JSON
 * object for the machine-readable file.
 *
 * "out" is what the task's guest sent into the fabric, "in" what the
 * fabric delivered to the guest (its local ARP, DHCP and DNS answers
 * included), as the guest's own NIC counters would say. Drops are counted
 * by the route action that dropped the frame (route.h); a local answer
 * that fails counts as the drop it amounts to (see fabric_stats_arp()).
 * Single-threaded: the launcher owns one struct per task.
 */
#ifndef SLURM_VM_FABRIC_STATS_H
#define SLURM_VM_FABRIC_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "fabric/route.h"

/* Room for the summary with every counter at its maximum. */
#define FABRIC_STATS_LINE_MAX 1024

/* The kinds of connection to other launchers. */
enum fabric_link {
	FABRIC_LINK_LOCAL,
	FABRIC_LINK_TCP,
	FABRIC_LINK_VERBS,
	FABRIC_NLINKS
};

struct fabric_stats {
	uint64_t frames_out, bytes_out;
	uint64_t frames_in, bytes_in;
	uint64_t drops[FABRIC_NACTIONS]; /* only FABRIC_DROP_* are used */
	uint64_t arp_replies;
	uint64_t dhcp_offers, dhcp_acks, dhcp_naks;
	uint64_t dns_answers;
	uint64_t links[FABRIC_NLINKS]; /* connections made, by kind */
	/* The links' troubles: attempts that failed, tries again, ready
	 * links that closed and the bytes queued on them then, connections
	 * refused (another uid, a stranger over its share, the oldest
	 * closed for a newer one, a failed proof), handshakes timed out,
	 * and times the listeners rested for want of descriptors. */
	uint64_t link_failures, link_retries, links_lost;
	/* Frames dropped for a peer being reconnected whose queue was full,
	 * and the bytes of those, of queues a lost link held, and of what
	 * still waited for an unreachable peer when the fabric stopped. */
	uint64_t lost_frames, lost_bytes;
	uint64_t conns_refused, handshake_timeouts, listen_rests;
};

/* Counts a frame of len bytes from the guest and what fabric_route() made
 * of it (a negative action counts the frame only). */
void fabric_stats_route(struct fabric_stats *st, int action, size_t len);

/* Counts a frame of len bytes delivered to the guest. */
void fabric_stats_deliver(struct fabric_stats *st, size_t len);

/*
 * Counts the result of fabric_arp_reply(): a reply, or a drop for -EPROTO
 * (malformed), -EPERM (bad_source) and -ENOENT (no_rank). 0 and other
 * errors count nothing.
 */
void fabric_stats_arp(struct fabric_stats *st, ssize_t ret);

/* Counts the result of fabric_dhcp_reply() with the type it set: an
 * offer, ack or nak, or drops as fabric_stats_arp(). */
void fabric_stats_dhcp(struct fabric_stats *st, ssize_t ret, uint8_t type);

/* Counts the result of fabric_dns_reply(): an answer (whatever its
 * RCODE), or drops as fabric_stats_arp(). */
void fabric_stats_dns(struct fabric_stats *st, ssize_t ret);

/* Total of all drops. */
uint64_t fabric_stats_drops(const struct fabric_stats *st);

/*
 * Writes one line without a newline to buf, e.g.
 *   n0003: out 12 frames 3456 B, in 10 frames 3000 B, arp 2,
 *   dhcp 1/1/0 offer/ack/nak, dns 4, links 1/2/0 local/tcp/verbs,
 *   dropped 3 (bad_source 1, no_rank 2), link trouble: failed 2,
 *   retried 2, closed 1, lost 3 frames (512 B), refused 64, timed out 1,
 *   rested 0
 * (on one line; drop reasons that are 0 are left out, and the link
 * trouble part when nothing but closed links would be in it). It always fits
 * in FABRIC_STATS_LINE_MAX bytes. Returns its length, -EINVAL if rank >
 * FABRIC_RANK_MAX, or -ENOSPC if it does not fit in size bytes (buf is then
 * untouched).
 */
int fabric_stats_summary(const struct fabric_stats *st, uint32_t rank,
			 char *buf, size_t size);

/*
 * Builds {"rank", "hostname", "frames_out", "bytes_out", "frames_in",
 * "bytes_in", "arp_replies", "dhcp": {"offers", "acks", "naks"},
 * "dns_answers", "links": {"local", "tcp", "verbs"},
 * "drops": {<every drop reason>: n}}. Returns a new reference
 * the caller decrefs, or NULL when out of memory or rank > FABRIC_RANK_MAX.
 */
json_t *fabric_stats_json(const struct fabric_stats *st, uint32_t rank);

/* Writes fabric_stats_json() and a newline to fd. Returns 0 or -errno
 * (-ENOMEM, -EINVAL, or the write's error). */
int fabric_stats_write_json(const struct fabric_stats *st, uint32_t rank,
			    int fd);

#endif
