/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU `-netdev stream` framing and the Ethernet header.
 *
 * On QEMU's stream socket every frame is a 4-byte big-endian length, then
 * the raw Ethernet frame: no vnet header, no FCS, ARP not padded to 60
 * bytes (measured on QEMU 7.2). The fabric uses the same framing between
 * launchers.
 *
 * A length outside [FABRIC_FRAME_MIN, FABRIC_FRAME_MAX] is a protocol
 * error: the stream can no longer be resynchronised, so the caller closes
 * it.
 *
 *	FABRIC_FRAME_MIN  14: an Ethernet header and nothing else. Shorter is
 *			  not Ethernet.
 *	FABRIC_FRAME_MAX  65535 + 14 + 4: the largest MTU Linux lets a NIC
 *			  have (ETH_MAX_MTU, virtio-net allows it), its
 *			  Ethernet header and one 802.1Q tag. Without a vnet
 *			  header the guest cannot hand QEMU a GSO super-frame,
 *			  so nothing larger is a real frame; QEMU itself
 *			  accepts up to 69632 bytes (NET_BUFSIZE), so every
 *			  frame we pass on is deliverable.
 *
 * The receive side, struct fabric_rx, does no I/O: the caller reads into
 * the space it offers (one read may bring many frames; the DESIGN's "move
 * batches"), then takes whole frames out. A partial frame stays in the
 * buffer across reads. Nothing is allocated.
 */
#ifndef SLURM_VM_FABRIC_FRAME_H
#define SLURM_VM_FABRIC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FABRIC_LEN_HDR 4
#define FABRIC_ETH_HLEN 14
#define FABRIC_FRAME_MIN FABRIC_ETH_HLEN
#define FABRIC_FRAME_MAX (65535 + FABRIC_ETH_HLEN + 4)
/* Holds many small frames per read and always one whole largest frame. */
#define FABRIC_RX_SIZE (256 * 1024)

#define FABRIC_ETH_P_IP 0x0800
#define FABRIC_ETH_P_ARP 0x0806

/* An Ethernet header; the pointers point into the caller's frame. */
struct fabric_eth {
	const uint8_t *dst;
	const uint8_t *src;
	/* The outer EtherType; 802.1Q tags are not looked into. */
	uint16_t type;
	const uint8_t *payload;
	size_t payload_len;
};

struct fabric_rx {
	uint8_t buf[FABRIC_RX_SIZE];
	size_t start; /* first byte not yet consumed */
	size_t len;   /* end of the bytes received */
};

_Static_assert(FABRIC_RX_SIZE >= FABRIC_LEN_HDR + FABRIC_FRAME_MAX,
	       "a full receive buffer must hold a whole frame");

/* Writes the length prefix of a frame of len bytes to hdr. */
void fabric_frame_header(uint8_t hdr[FABRIC_LEN_HDR], uint32_t len);

/*
 * Parses one length-prefixed frame from buf[0..n). Returns the bytes it
 * spans (> 0) and points *frame, *len at the Ethernet frame; 0 when buf
 * holds only part of it; -EPROTO when the length is out of bounds (known
 * from the prefix alone). Never reads outside buf.
 */
ssize_t fabric_frame_parse(const uint8_t *buf, size_t n, const uint8_t **frame,
			   size_t *len);

/* Makes rx empty. */
void fabric_rx_init(struct fabric_rx *rx);

/*
 * Returns where the next read may write and sets *room to how many bytes
 * (> 0 whenever the stream is valid). Moves the partial frame to the
 * start of the buffer, so frames returned by fabric_rx_next() before this
 * call are no longer valid.
 */
uint8_t *fabric_rx_space(struct fabric_rx *rx, size_t *room);

/* Records n bytes written at fabric_rx_space(). Returns 0, or -EINVAL if
 * n exceeds the room (nothing recorded). */
int fabric_rx_commit(struct fabric_rx *rx, size_t n);

/* Copies as much of data[0..n) as fits (space + commit). Returns the bytes
 * taken. For tests, fuzzing and transports that already hold the bytes. */
size_t fabric_rx_feed(struct fabric_rx *rx, const void *data, size_t n);

/*
 * Takes the next whole frame. Returns 1 and points *frame, *len at it
 * (valid until the next fabric_rx_space() or fabric_rx_feed()), 0 when
 * no whole frame is buffered, or -EPROTO for a length out of bounds (and
 * again on every later call: the stream is lost).
 */
int fabric_rx_next(struct fabric_rx *rx, const uint8_t **frame, size_t *len);

/*
 * Reads the Ethernet header of frame[0..len). Returns 0 and fills eth, or
 * -EPROTO if len < FABRIC_ETH_HLEN.
 */
int fabric_eth_parse(const uint8_t *frame, size_t len, struct fabric_eth *eth);

#endif
