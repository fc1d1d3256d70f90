/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A packet capture of one guest's frames on the fabric, in the classic
 * pcap file format (what tcpdump -r and every capture reader take): a
 * 24-byte file header (magic 0xa1b2c3d4 in this host's byte order,
 * version 2.4, link type 1, Ethernet), then per frame a 16-byte record
 * header (seconds, microseconds, bytes kept, bytes on the wire) and the
 * frame.
 *
 * The writer is a buffer on the fabric's thread: a frame is one copy into
 * it (no system call), and the buffer goes to the file when full and at
 * the end. The file is bounded: once the next record would take it past
 * the cap, capturing stops (the file holds the first frames, whole, never
 * a cut record) and later frames are only counted. A write error stops it
 * too.
 */
#ifndef SLURM_VM_FABRIC_PCAP_H
#define SLURM_VM_FABRIC_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define FABRIC_PCAP_HDR_LEN 24
#define FABRIC_PCAP_REC_LEN 16
/* Frames longer than this are kept cut to it (the record says so). */
#define FABRIC_PCAP_SNAPLEN 65535u

struct fabric_pcap;

/*
 * A writer on fd (a new, empty file; the writer owns fd from now on,
 * also on failure), bounded to cap bytes in all (at least the file
 * header). Returns NULL (fd closed) when out of memory or cap is too
 * small.
 */
struct fabric_pcap *fabric_pcap_open(int fd, uint64_t cap);

/* Adds one frame, stamped now; at the cap or after a write error, only
 * counts it. */
void fabric_pcap_frame(struct fabric_pcap *p, const uint8_t *frame, size_t len);

/* Frames kept and frames not kept (the cap, or a write error). */
void fabric_pcap_counts(const struct fabric_pcap *p, uint64_t *kept,
			uint64_t *dropped);

/*
 * Writes what is buffered, closes the file and frees p; NULL-safe.
 * Returns 0, or -errno of the first write that failed.
 */
int fabric_pcap_close(struct fabric_pcap *p);

#endif
