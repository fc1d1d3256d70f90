/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PMI-1 service for one rank: the state of one client connection and
 * the step's key-value space as this rank sees it. Pure: bytes in,
 * replies out; the barrier's exchange between ranks is the caller's.
 *
 * Lifecycle:
 *  1. pmi_server_create() with the rank, the size and the kvs name; the
 *     space already holds PMI_process_mapping (every rank on a node of
 *     its own: each guest is one).
 *  2. pmi_server_feed() the client's bytes; send what pmi_server_out()
 *     holds, then pmi_server_out_done().
 *  3. In PMI_IN_BARRIER, the caller exchanges pmi_server_puts() of every
 *     rank (in rank order) and gives the concatenation to
 *     pmi_server_barrier_done(); the client then gets barrier_out, and
 *     feeding goes on.
 *  4. PMI_FINALIZED, PMI_ABORTED (pmi_server_abort_code()) or PMI_FAILED
 *     (the client broke the protocol) end it; pmi_server_destroy().
 *
 * Supported: init (version 1), initack, get_maxes, get_appnum,
 * get_my_kvsname, get_universe_size, put, get, barrier_in, finalize,
 * abort. Refused with rc=-1 and a reason: spawn (single- or multi-line),
 * publish_name, unpublish_name, lookup_name, puts of PMI_ keys and any
 * other command.
 */
#ifndef SLURM_VM_PMI_SERVER_H
#define SLURM_VM_PMI_SERVER_H

#include <stddef.h>
#include <sys/types.h>

/* Default bound of one rank's view of the space (keys + values). */
#define PMI_KVS_BYTES_DEFAULT (16u << 20)
/* Replies waiting to be sent, past which feeding pauses. */
#define PMI_OUT_MAX (64 * 1024)
/* Lines in one multi-line command (spawn), which is refused anyway. */
#define PMI_MULTI_LINES_MAX 256

struct pmi_server_config {
	unsigned rank, size, appnum;
	const char *kvsname;  /* 1..PMI_KVSNAME_MAX bytes, no spaces */
	size_t kvs_bytes_max; /* 0: PMI_KVS_BYTES_DEFAULT */
};

enum pmi_state {
	PMI_RUNNING,
	PMI_IN_BARRIER,
	PMI_FINALIZED,
	PMI_ABORTED,
	PMI_FAILED,
};

struct pmi_server;

/* Returns a new server, or NULL with errno (EINVAL: rank >= size, a bad
 * kvs name; ENOMEM). */
struct pmi_server *pmi_server_create(const struct pmi_server_config *c);
void pmi_server_destroy(struct pmi_server *s);

/*
 * Takes up to LEN bytes the client sent, handles every complete line and
 * queues the replies. Returns the number of bytes taken: fewer than LEN
 * while a barrier waits, after finalize or abort, or while PMI_OUT_MAX of
 * replies wait (give the rest again later; LEN 0 handles what is held).
 * Returns -E2BIG (a line longer than PMI_LINE_MAX, a multi-line command
 * longer than PMI_MULTI_LINES_MAX lines) or -EPROTO (a malformed line)
 * with the reason in ERR: the server is then PMI_FAILED for good.
 */
ssize_t pmi_server_feed(struct pmi_server *s, const char *buf, size_t len,
			char *err, size_t errlen);

enum pmi_state pmi_server_state(const struct pmi_server *s);

/* The exit code the client gave with abort (PMI_ABORTED only). */
int pmi_server_abort_code(const struct pmi_server *s);

/* The replies waiting to be sent (owned by S, valid until the next call
 * on S), and how many of them were sent. */
const char *pmi_server_out(const struct pmi_server *s, size_t *len);
void pmi_server_out_done(struct pmi_server *s, size_t n);

/* This rank's puts since the last barrier, as an exchange blob
 * (pmi_wire.h; owned by S). */
const char *pmi_server_puts(const struct pmi_server *s, size_t *len);

/*
 * Ends the barrier S waits in: ALL (LEN bytes) is every rank's puts blob,
 * concatenated in rank order (untrusted: it crossed the network). Its
 * entries join the space (a later one replaces an earlier one of the same
 * key) and the client gets barrier_out. Returns 0; -EINVAL when S is not
 * in a barrier; -EPROTO for a malformed blob; -ENOSPC when the space
 * would pass its bound (these change nothing); -ENOMEM (some entries may
 * have joined; the step should fail).
 */
int pmi_server_barrier_done(struct pmi_server *s, const char *all, size_t len,
			    char *err, size_t errlen);

#endif
