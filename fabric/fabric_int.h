/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the fabric: the state shared by the event loop and the guest's
 * side (fabric.c) and the peer connections (link.c). Not for other users.
 */
#ifndef SLURM_VM_FABRIC_INT_H
#define SLURM_VM_FABRIC_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fabric/boot.h"
#include "fabric/ctl.h"
#include "fabric/fabric.h"
#include "fabric/frame.h"
#include "fabric/handshake.h"
#include "fabric/pcap.h"
#include "fabric/queue.h"

#define PEER_QUEUE (256 * 1024)
#define GUEST_QUEUE (1024 * 1024)
#define FABRIC_TCP_BUF (4 * 1024 * 1024) /* SO_SNDBUF, SO_RCVBUF (link.c) */
#define HANDSHAKE_TIMEOUT_MS 10000	 /* either side of a handshake */
/* Unauthenticated connections waiting for their handshake: the step's
 * ranks each get one, plus room; when full, the oldest is closed for the
 * newest (a peer of the step finishes in one round trip, so an idle
 * stranger is what goes). */
#define HANDSHAKE_SLACK 64
/* From a host that is no node of the step, at most this many at once. */
#define STRANGER_HANDSHAKES 8
/* A failed connection is tried again after RETRY_FIRST_MS, doubling up to
 * RETRY_MAX_MS (each +-25 % at random); a peer that cannot be reached for
 * GIVE_UP_MS is given up on until it connects itself. A try costs one
 * connect every RETRY_MAX_MS at most, so the wait is long: a launcher
 * short of descriptors, or a peer's, may need minutes to reach everyone. */
#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 2000
#define GIVE_UP_MS 600000
/* Out of descriptors, the listeners rest this long instead of spinning. */
#define LISTEN_PAUSE_MS 200

enum ref_kind {
	REF_GUEST,
	REF_LISTEN,
	REF_CONN,
	REF_VERBS,
	REF_STOP,
	REF_CMD,
	REF_DEAD
};

struct ref {
	enum ref_kind kind;
	uint32_t events; /* as last given to epoll for its one fd */
};

/* C_VERBS: authenticated, swapping queue-pair cards (link_verbs.c). */
/*
 * A connection's place in the handshake (handshake.h). An incoming one
 * holds one of the max_handshakes slots only in C_AUTH; in C_CONFIRM it is
 * a member of the step that has our PROOF but has not said it took it:
 * until CONFIRM comes it carries nothing of ours, and it is never closed
 * for time or a slot (its connector may already send frames on it).
 */
enum conn_state {
	C_CONNECTING,
	C_HELLO,
	C_AUTH,
	C_PROOF,
	C_CONFIRM,
	C_VERBS,
	C_READY
};

struct conn {
	struct ref ref;
	int fd;
	enum conn_state state;
	int outgoing;
	int is_local;  /* the node-local shortcut, not TCP */
	uint32_t peer; /* known from the start when outgoing */
	uint32_t src;  /* incoming over TCP: the source's IPv4 address */
	uint8_t challenge[HS_CHALLENGE_LEN];
	uint8_t hs[HS_AUTH_LEN];
	size_t hs_len;
	long started_ms;
	int reading; /* frames are taken from it (not while the guest's
		      * queue is full) */
	struct fabric_rx *rx;
	struct conn *next; /* all connections, or the dead ones */
	/* Verbs: the queue pair, its completion channel's epoll reference
	 * and a credit grant read in part from the TCP connection. */
	struct vlink *v;
	struct ref vref;
	uint8_t grant[4];
	size_t grant_len;
	uint32_t marker; /* the last snapshot marker it brought */
};

struct peer {
	struct conn *tx; /* the connection frames to this rank go on */
	struct queue q;	 /* frames for this rank (allocated on first use) */
	int gone; /* unreachable for GIVE_UP_MS: frames for it are dropped
		   * until it connects itself */
	int lost; /* a connection from it closed: its launcher is gone */
	unsigned failures;     /* connection attempts failed in a row */
	long retry_ms;	       /* when to connect again (0: not waiting) */
	long failing_since_ms; /* the first of those failures */
};

/* A request from the launcher's thread to the fabric's (cut.c). */
enum cut_req { CUT_NONE, CUT_HOLD, CUT_CUT, CUT_SAVE, CUT_RELEASE };

#define MSG_RING 256
struct msg_ring {
	struct fabric_msg m[MSG_RING];
	unsigned head, tail;
};

struct fabric {
	struct fabric_config cfg;
	struct boot_card *cards;
	uint32_t *node_addrs; /* the cards' IPv4 addresses (network order),
			       * sorted, each once (listen.c) */
	size_t nnode_addrs;
	struct peer *peers;
	struct conn *conns;
	struct conn *dead;	 /* closed this epoll round, freed after it */
	struct verbs_dev *verbs; /* the RDMA device, for --vm-fabric=verbs */
	int nhandshakes;	 /* incoming in C_AUTH */
	int max_handshakes;	 /* nranks + HANDSHAKE_SLACK */
	int npending;		 /* connections of either side not ready */
	int nretry;		 /* peers waiting to connect again */
	long listen_rest_ms;	 /* listeners paused until then (0: not) */
	uint64_t unix_tag;	 /* this launcher's listener name (boot.h) */
	int epfd, stop_fd, tcp_fd, unix_fd, guest_fd;
	struct ref guest_ref, listen_ref, stop_ref;
	struct fabric_rx *guest_rx;
	struct queue guest_q;
	/* A frame from the guest waiting for room in its queues. */
	const uint8_t *pending;
	size_t pending_len;
	uint32_t pending_dst;
	int pending_action;
	/* Frames read from the guest that go, as they lie in guest_rx, to
	 * one peer whose queue was empty: one write, no copy (fabric.c). */
	struct {
		struct peer *pr; /* NULL: no run */
		const uint8_t *start;
		size_t len;
	} run;
	int guest_reading, peers_blocked;
	pthread_t thread;
	int running;
	long bootstrap_ms; /* listeners, PMIx exchange */
	struct fabric_stats stats;
	/* --vm-capture: the guest's frames both ways, or NULL; its counts
	 * once closed (fabric_stop()). */
	struct fabric_pcap *pcap;
	uint64_t pcap_kept, pcap_dropped;
	int pcap_err;
	/* Snapshots (cut.c): messages in and out, and the request being
	 * worked on, all under mu; cmd_fd wakes the loop, event_fd the
	 * launcher. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cmd_fd, event_fd;
	struct ref cmd_ref;
	struct msg_ring inbox, outbox;
	enum cut_req req;
	int req_done, req_result, req_fd;
	uint64_t req_bytes;
	uint32_t cut_seq;
	long cut_deadline;
	int cut_flushed; /* markers sent */
	char cut_err[256];
	int held; /* frames for the guest are kept, not delivered */
};

/* guest.c: routes what the guest sent, until a queue fills or the input
 * ends; reads the guest's socket and routes it. */
void fabric_route_guest(struct fabric *f);
void fabric_read_guest(struct fabric *f);

/* fabric.c */
long fabric_now_ms(void);
/*
 * fabric_watch(EPOLL_CTL_MOD) unless ref's fd already waits for exactly
 * events: the data path re-arms after every batch, and most of the time
 * nothing changed (a system call saved per wake-up). Only for a ref that
 * belongs to one fd (not the listeners' shared one).
 */
int fabric_rearm(struct fabric *f, int fd, struct ref *ref, uint32_t events);
int fabric_watch(struct fabric *f, int op, int fd, struct ref *ref,
		 uint32_t events);
/* The abstract unix address of the node-local listener of rank, whose
 * card carries tag. */
void fabric_unix_name(const struct fabric_config *cfg, uint32_t rank,
		      uint64_t tag, struct sockaddr_un *sa, socklen_t *len);
/* Queues a frame for the guest. Returns 0, or -ENOSPC when full. */
int fabric_to_guest(struct fabric *f, const uint8_t *frame, size_t len);
void fabric_write_guest(struct fabric *f);
/* Reads and routes everything the guest has sent (it is paused). */
void fabric_drain_guest(struct fabric *f);
void fabric_guest_arm(struct fabric *f);

/* link.c: connections to the step's other launchers. */
/* Frees the connections closed during this epoll round. */
void link_reap(struct fabric *f);
/* A connection is authenticated: on to verbs or ready. */
void link_ready(struct fabric *f, struct conn *c);
/* Reads exactly want handshake bytes into c->hs; 1 when complete, 0 for
 * more to come, -1 when c was closed. */
int link_hs_read(struct fabric *f, struct conn *c, size_t want);
int link_hs_write(int fd, const uint8_t *buf, size_t len);
/* An accepted connection, waiting for the connector's AUTH (listen.c);
 * NULL when out of memory. */
struct conn *conn_new_in(struct fabric *f, int fd, int is_local, uint32_t src);
/* The wait before the next try after failures in a row (without jitter):
 * RETRY_FIRST_MS, doubling, at most RETRY_MAX_MS. */
long link_backoff_ms(unsigned failures);
/* The peer for rank, connecting on first use; NULL when it is gone. */
struct peer *link_peer(struct fabric *f, uint32_t rank);
/* Sends what the peer's queue holds, as far as its connection takes. */
void link_flush(struct fabric *f, struct peer *pr);
void link_arm(struct fabric *f, struct conn *c);
void link_close(struct fabric *f, struct conn *c);
/* Delivers a ready connection's frames to the guest, reading as it goes. */
void link_read(struct fabric *f, struct conn *c);
/* listen.c: accepts what the listeners hold (unless they rest). */
/* Notes the step's node addresses from the cards. Returns 0 or -ENOMEM. */
int link_index_nodes(struct fabric *f);
void link_accept(struct fabric *f, int lfd);
/* Timers: closes handshakes that take too long, connects again to peers
 * whose wait is over, wakes rested listeners. */
void link_timers(struct fabric *f);
/* How long the loop may sleep for link_timers() (-1: no timer). */
int link_timeout(const struct fabric *f);
void link_event(struct fabric *f, struct conn *c, uint32_t events);

/* cut.c */
/* A control record came on c. */
void cut_on_ctl(struct fabric *f, struct conn *c, const struct fabric_ctl *ctl);
/* The loop woke on cmd_fd, or a request is under way: move it on. */
void cut_progress(struct fabric *f);
/* How long the loop may sleep while a request is under way (-1: any). */
int cut_timeout(const struct fabric *f);
/* A ready connection from rank closed. */
void cut_lost(struct fabric *f, uint32_t rank);
/* Appends a control record to a peer's queue; 0 or -ENOSPC. */
int cut_queue_ctl(struct fabric *f, struct peer *pr, uint8_t type, uint32_t seq,
		  uint32_t arg);

/* link_verbs.c: the verbs transport's side of a connection. */
#ifdef HAVE_VERBS
/* True when frames to c's peer go over verbs (another node). */
int link_verbs_wanted(struct fabric *f, struct conn *c);
/* Creates the queue pair and sends its card: state C_VERBS. */
void link_verbs_begin(struct fabric *f, struct conn *c);
/* C_VERBS: the peer's card arrived (or part of it). */
void link_verbs_card(struct fabric *f, struct conn *c);
/* READY: credit grants or a hang-up on the TCP connection. */
void link_verbs_control(struct fabric *f, struct conn *c);
/* The completion channel fired. */
void link_verbs_event(struct fabric *f, struct conn *c);
/* Moves received slots into c->rx; returns bytes moved, -1 if c closed. */
long link_verbs_recv(struct fabric *f, struct conn *c);
/* Sends what pr's queue holds; -1 when the link failed. */
int link_verbs_flush(struct fabric *f, struct peer *pr);
void link_verbs_free(struct conn *c);
#else /* never called: without verbs no connection is c->v */
static inline int link_verbs_wanted(struct fabric *f, struct conn *c)
{
	(void)f;
	(void)c;
	return 0;
}
#define link_verbs_begin(f, c) ((void)(f), (void)(c))
#define link_verbs_card(f, c) ((void)(f), (void)(c))
#define link_verbs_control(f, c) ((void)(f), (void)(c))
#define link_verbs_event(f, c) ((void)(f), (void)(c))
#define link_verbs_recv(f, c) ((void)(f), (void)(c), -1L)
#define link_verbs_flush(f, pr) ((void)(f), (void)(pr), -1)
#define link_verbs_free(c) ((void)(c))
#endif

#endif
