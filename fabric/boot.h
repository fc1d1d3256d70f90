/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bootstrap: every launcher of a step publishes its address card through
 * PMIx (Put, Commit), one Fence collects them all, then each reads its
 * peers' cards. Nothing else goes through PMIx.
 */
#ifndef SLURM_VM_FABRIC_BOOT_H
#define SLURM_VM_FABRIC_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_SECRET_LEN 32
#define BOOT_NAME_MAX 64

/* How to reach one launcher's fabric. */
struct boot_card {
	char node[BOOT_NAME_MAX]; /* Slurm node name: same node, shortcut */
	char addr[BOOT_NAME_MAX]; /* IPv4 address for TCP */
	uint16_t port;		  /* TCP port */
	uint64_t tag; /* random: names its node-local listener, so that no
		       * other process can take the name first */
	uint8_t secret[BOOT_SECRET_LEN]; /* proves step membership */
};

/* Card text: "v2 <node> <addr> <port> <tag as 16 hex digits> <secret as 64
 * hex digits>". */
#define BOOT_CARD_TEXT_MAX                                                     \
	(8 + 2 * BOOT_NAME_MAX + 8 + 17 + 2 * BOOT_SECRET_LEN)

/* Formats a card; returns its length or -ENAMETOOLONG. */
int boot_card_format(const struct boot_card *c, char *buf, size_t len);

/* Parses a card from untrusted text. Returns 0 or -EPROTO. */
int boot_card_parse(const char *text, struct boot_card *c);

/*
 * Publishes mine under PMIx and fences with the whole step. On success
 * returns 0, sets *rank and *nranks, and *cards to a malloc'd array of
 * nranks cards (the caller frees it; its own is included). Returns -errno
 * with a message in err otherwise; PMIx is finalized again on failure.
 */
int boot_exchange(const struct boot_card *mine, uint32_t *rank,
		  uint32_t *nranks, struct boot_card **cards, char *err,
		  size_t errlen);

/* Leaves PMIx; safe when boot_exchange() was not called. */
void boot_finalize(void);

#endif
