/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Theory of operation.
 *
 * One thread, one epoll loop, no busy polling. Every fd carries a typed
 * reference (struct ref) saying what it is: the guest's QEMU stream
 * socket, a listener, a peer connection or the stop eventfd.
 *
 * Guest -> peers. One read from the guest holds many frames. Each frame is
 * routed (route.c): ARP, DHCP and DNS are answered here and never leave;
 * unicast goes to the owning rank's queue, broadcast and multicast to
 * every other rank's; anything else is dropped and counted. Queues are
 * flushed once per batch. A frame that finds a full queue waits: the
 * guest socket is not read again until that queue drains, so a slow
 * receiver slows the sender's guest and memory stays bounded.
 *
 * Peers -> guest. Frames from a peer connection are checked (the source
 * MAC must be that peer's, the destination this guest or a group) and
 * queued for the guest. When the guest's queue is full, peer connections
 * are not read until it drains.
 *
 * Connections are made on first use: the first frame for a rank opens the
 * connection (the shortcut on the same node, TCP otherwise) and waits in
 * the rank's queue while the handshake (handshake.h) runs. A connection
 * accepted from a peer is used for sending to it too, unless this side's
 * own has got past the peer's first word (link.c: link_ready()); each side
 * keeps sending on one connection, so frames between two guests stay in
 * order.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "arp.h"
#include "boot.h"
#include "dhcp.h"
#include "dns.h"
#include "fabric.h"
#include "fabric_int.h"
#include "frame.h"
#include "handshake.h"
#include "queue.h"
#include "route.h"
#ifdef HAVE_VERBS
#include "verbs.h"
#endif

long fabric_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int fabric_watch(struct fabric *f, int op, int fd, struct ref *ref,
		 uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = ref};

	return epoll_ctl(f->epfd, op, fd, &ev);
}

void fabric_unix_name(const struct fabric_config *cfg, uint32_t rank,
		      uint64_t tag, struct sockaddr_un *sa, socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract: nothing on the filesystem to leave behind. The random
	 * tag (in the card) means no one can bind the name first. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "slurm-vm.%u.%u.%u.%016" PRIx64, cfg->job, cfg->step, rank,
		     tag);
	*len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The first IPv4 address of this host's name, for the card. */
static void host_addr(char *buf, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_INET}, *ai = NULL;
	char name[256];

	snprintf(buf, len, "127.0.0.1");
	if (gethostname(name, sizeof(name)) < 0 ||
	    getaddrinfo(name, NULL, &hints, &ai) != 0 || !ai)
		return;
	inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, buf,
		  (socklen_t)len);
	freeaddrinfo(ai);
}

static int open_listeners(struct fabric *f, struct boot_card *mine, char *err,
			  size_t errlen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct sockaddr_un sun;
	socklen_t ulen;
	int tries = 0;

	f->tcp_fd =
	    socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->tcp_fd < 0 ||
	    bind(f->tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->tcp_fd, SOMAXCONN) < 0 ||
	    getsockname(f->tcp_fd, (struct sockaddr *)&sin, &len) < 0) {
		snprintf(err, errlen, "fabric: TCP listener: %s",
			 strerror(errno));
		return -errno;
	}
	mine->port = ntohs(sin.sin_port);
	f->unix_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->unix_fd < 0) {
		snprintf(err, errlen, "fabric: node-local listener: %s",
			 strerror(errno));
		return -errno;
	}
	/* A name taken already (by chance, it is random) is drawn anew. */
	do {
		if (hs_random((uint8_t *)&mine->tag, sizeof(mine->tag)) < 0) {
			snprintf(err, errlen, "fabric: no random numbers");
			return -EIO;
		}
		fabric_unix_name(&f->cfg, f->cfg.rank, mine->tag, &sun, &ulen);
	} while (bind(f->unix_fd, (struct sockaddr *)&sun, ulen) < 0 &&
		 errno == EADDRINUSE && ++tries < 8);
	f->unix_tag = mine->tag;
	/* Listen with the system's longest backlog: a large step's peers
	 * all connect at once (a full unix backlog refuses them). */
	if (tries == 8 || listen(f->unix_fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "fabric: node-local listener @%s: %s",
			 sun.sun_path + 1, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * A full mesh needs a connection each way per peer: raise the soft limit
 * on descriptors toward the hard one for that. Where the hard limit is
 * lower, links beyond it fail, rest and are tried again; say so once.
 */
static void raise_fd_limit(uint32_t nranks)
{
	rlim_t need = 2 * (rlim_t)nranks + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
			  ? need
			  : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need)
		fprintf(stderr,
			"slurm-vm: fabric: a step of %u tasks needs about %lu "
			"open files per task, the limit is %lu (ulimit -Hn): "
			"links beyond it wait and are tried again; ask for a "
			"higher limit to connect every pair at once\n",
			nranks, (unsigned long)need,
			(unsigned long)rl.rlim_cur);
}

struct fabric *fabric_create(const struct fabric_config *cfg, int guest_fd,
			     char *err, size_t errlen)
{
	struct fabric *f = calloc(1, sizeof(*f));
	struct boot_card mine = {0};
	uint32_t rank, n;
	long t0 = fabric_now_ms();

	if (!f) {
		close(guest_fd);
		snprintf(err, errlen, "fabric: out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	f->guest_fd = guest_fd;
	f->max_handshakes = (int)cfg->nranks + HANDSHAKE_SLACK;
	raise_fd_limit(cfg->nranks);
	f->epfd = f->stop_fd = f->tcp_fd = f->unix_fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->cmd_fd < 0 || f->event_fd < 0) {
		snprintf(err, errlen, "fabric: eventfd: %s", strerror(errno));
		goto fail;
	}
	f->guest_rx = malloc(sizeof(*f->guest_rx));
	if (!f->guest_rx || queue_init(&f->guest_q, GUEST_QUEUE) < 0 ||
	    !(f->peers = calloc(cfg->nranks, sizeof(*f->peers)))) {
		snprintf(err, errlen, "fabric: out of memory");
		goto fail;
	}
	fabric_rx_init(f->guest_rx);
	if (!strcmp(cfg->transport, "verbs")) {
#ifdef HAVE_VERBS
		if (verbs_open(cfg->verbs_device, &f->verbs, err, errlen) < 0)
			goto fail;
#else
		snprintf(err, errlen,
			 "fabric: this build has no verbs transport (use auto "
			 "or tcp)");
		goto fail;
#endif
	} else if (strcmp(cfg->transport, "auto") &&
		   strcmp(cfg->transport, "tcp")) {
		snprintf(err, errlen,
			 "fabric: unknown transport '%s' (use auto, tcp or "
			 "verbs)",
			 cfg->transport);
		goto fail;
	}
	snprintf(mine.node, sizeof(mine.node), "%s", cfg->node);
	if (cfg->addr)
		snprintf(mine.addr, sizeof(mine.addr), "%s", cfg->addr);
	else
		host_addr(mine.addr, sizeof(mine.addr));
	if (hs_random(mine.secret, sizeof(mine.secret)) < 0 ||
	    open_listeners(f, &mine, err, errlen) < 0)
		goto fail;
	if (cfg->nranks > 1) {
		if ((cfg->exchange
			 ? cfg->exchange(cfg->exchange_arg, &mine, &rank, &n,
					 &f->cards, err, errlen)
			 : boot_exchange(&mine, &rank, &n, &f->cards, err,
					 errlen)) < 0)
			goto fail;
		if (rank != cfg->rank || n != cfg->nranks) {
			snprintf(err, errlen,
				 "fabric: the bootstrap says rank %u of %u, "
				 "Slurm says %u of %u",
				 rank, n, cfg->rank, cfg->nranks);
			goto fail;
		}
	} else {
		f->cards = calloc(1, sizeof(*f->cards));
		if (!f->cards)
			goto fail;
		f->cards[0] = mine;
	}
	/* PMIx has done the fabric's part: it drops its reference. The PMI
	 * service may hold one of its own (launcher/pmi/pmi_step.h); without
	 * it, a launcher that dies later is not a PMIx client lost mid-job,
	 * for which Slurm would cancel the whole step. */
	boot_finalize();
	f->bootstrap_ms = fabric_now_ms() - t0;
	return f;
fail:
	fabric_destroy(f);
	return NULL;
}

const struct fabric_stats *fabric_get_stats(const struct fabric *f)
{
	return &f->stats;
}

long fabric_bootstrap_ms(const struct fabric *f)
{
	return f->bootstrap_ms;
}

void fabric_guest_arm(struct fabric *f)
{
	uint32_t ev = f->guest_reading ? EPOLLIN : 0;

	if (queue_len(&f->guest_q) && !f->held)
		ev |= EPOLLOUT;
	fabric_watch(f, EPOLL_CTL_MOD, f->guest_fd, &f->guest_ref, ev);
}

/* Queues a frame for the guest. Returns 0, or -ENOSPC when full. */
int fabric_to_guest(struct fabric *f, const uint8_t *frame, size_t len)
{
	/* Held for a snapshot, what is in flight is kept whatever its size:
	 * the senders are paused, so it is bounded by their queues. */
	if (!queue_room(&f->guest_q, len) &&
	    (!f->held || queue_grow(&f->guest_q, len) < 0))
		return -ENOSPC;
	queue_put(&f->guest_q, frame, len);
	fabric_stats_deliver(&f->stats, len);
	return 0;
}

static void answer_locally(struct fabric *f, int action, const uint8_t *frame,
			   size_t len)
{
	uint8_t out[FABRIC_DHCP_FRAME_LEN + FABRIC_DNS_FRAME_MAX];
	ssize_t n;
	uint8_t type = 0;

	if (action == FABRIC_LOCAL_ARP) {
		n = fabric_arp_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				     out, sizeof(out));
		fabric_stats_arp(&f->stats, n);
	} else if (action == FABRIC_LOCAL_DNS) {
		n = fabric_dns_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				     out, sizeof(out));
		fabric_stats_dns(&f->stats, n);
	} else {
		n = fabric_dhcp_reply(frame, len, f->cfg.rank, f->cfg.nranks,
				      f->cfg.mtu, out, sizeof(out), &type);
		fabric_stats_dhcp(&f->stats, n, type);
	}
	/* An answer that finds the guest's queue full is dropped: the guest
	 * asks again, as it would on a real network. */
	if (n > 0)
		fabric_to_guest(f, out, (size_t)n);
}

/*
 * Sends the run straight from the guest's receive buffer; what the socket
 * does not take now goes into the peer's queue (empty when the run began,
 * and the run is never longer than the queue) and waits for EPOLLOUT.
 */
static void run_send(struct fabric *f)
{
	struct peer *pr = f->run.pr;
	ssize_t n;

	if (!pr)
		return;
	f->run.pr = NULL;
	do
		n = write(pr->tx->fd, f->run.start, f->run.len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		link_close(f, pr->tx);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n < f->run.len) {
		queue_put_raw(&pr->q, f->run.start + n, f->run.len - (size_t)n);
		link_arm(f, pr->tx);
	}
}

/*
 * Adds a unicast frame for pr to the run, when it can be: pr's stream
 * connection is ready and its queue empty, and the frame follows the run
 * in the buffer. Returns 1 when taken, 0 when the frame must be queued
 * (the run has been sent first, so frames stay in order).
 */
static int run_take(struct fabric *f, struct peer *pr, const uint8_t *frame,
		    size_t len)
{
	const uint8_t *hdr = frame - FABRIC_LEN_HDR;

	if (f->run.pr && (f->run.pr != pr || f->run.start + f->run.len != hdr ||
			  f->run.len + FABRIC_LEN_HDR + len > pr->q.cap))
		run_send(f);
	if (!f->run.pr) {
		if (!pr->tx || pr->tx->state != C_READY || pr->tx->v ||
		    queue_len(&pr->q))
			return 0;
		f->run.pr = pr;
		f->run.start = hdr;
		f->run.len = 0;
	}
	f->run.len += FABRIC_LEN_HDR + len;
	return 1;
}

/*
 * Whether a full queue for pr holds its sender back: over a link that is
 * up (the receiver's back-pressure) or being made for the first time (the
 * frames that open a link wait for it).
 */
static int pushes_back(const struct peer *pr)
{
	return pr->tx && (pr->tx->state == C_READY || !pr->failures);
}

/*
 * A frame for pr finds its queue full. Where pr pushes back, the frame
 * waits (-EAGAIN) and the guest is not read meanwhile. Once a link to pr
 * has failed, waiting could stop the guest's whole network for a peer
 * that may never come back: until a link is up again, the frame is
 * dropped and counted instead (returns 0).
 */
static int unsent(struct fabric *f, const struct peer *pr, size_t len)
{
	if (pushes_back(pr))
		return -EAGAIN;
	f->stats.lost_frames++;
	f->stats.lost_bytes += len;
	return 0;
}

/*
 * Sends one routed frame. Returns 0 when done (sent, queued or dropped),
 * -EAGAIN when a queue is full and the frame must wait.
 */
static int forward(struct fabric *f, int action, uint32_t dst,
		   const uint8_t *frame, size_t len)
{
	uint32_t r;

	if (action == FABRIC_UNICAST) {
		struct peer *pr = link_peer(f, dst);

		if (!pr) {
			f->stats.drops[FABRIC_DROP_NO_RANK]++;
			return 0;
		}
		if (run_take(f, pr, frame, len))
			return 0;
		if (pr->gone) { /* sending the run failed: as link_peer() */
			f->stats.drops[FABRIC_DROP_NO_RANK]++;
			return 0;
		}
		if (!queue_room(&pr->q, len))
			return unsent(f, pr, len);
		queue_put(&pr->q, frame, len);
		return 0;
	}
	/* Broadcast: all queues that push back must have room, or none is
	 * used, so a retry never delivers twice. */
	run_send(f);
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = r == f->cfg.rank ? NULL : link_peer(f, r);

		if (pr && !queue_room(&pr->q, len) && pushes_back(pr))
			return -EAGAIN;
	}
	for (r = 0; r < f->cfg.nranks; r++) {
		struct peer *pr = &f->peers[r];

		if (r == f->cfg.rank || pr->gone || !pr->q.buf)
			continue;
		if (queue_room(&pr->q, len))
			queue_put(&pr->q, frame, len);
		else
			unsent(f, pr, len);
	}
	return 0;
}

static void flush_all(struct fabric *f)
{
	uint32_t r;

	for (r = 0; r < f->cfg.nranks; r++)
		if (f->peers[r].q.buf && queue_len(&f->peers[r].q))
			link_flush(f, &f->peers[r]);
}

/*
 * forward(), flushing the full queues once before giving up: a queue that
 * drains completely arms no EPOLLOUT, so waiting for one would wait
 * forever.
 */
static int forward_or_flush(struct fabric *f, int action, uint32_t dst,
			    const uint8_t *frame, size_t len)
{
	if (forward(f, action, dst, frame, len) == 0)
		return 0;
	flush_all(f);
	return forward(f, action, dst, frame, len);
}

/* Routes what the guest sent, until a queue fills or the input ends. */
static void from_guest(struct fabric *f)
{
	const uint8_t *frame;
	size_t len;
	int r;

	if (f->pending) {
		if (forward_or_flush(f, f->pending_action, f->pending_dst,
				     f->pending, f->pending_len) < 0)
			return;
		fabric_stats_route(&f->stats, f->pending_action,
				   f->pending_len);
		f->pending = NULL;
	}
	while ((r = fabric_rx_next(f->guest_rx, &frame, &len)) == 1) {
		uint32_t dst = 0;
		int action =
		    fabric_route(frame, len, f->cfg.rank, f->cfg.nranks, &dst);

		if (action == FABRIC_LOCAL_ARP || action == FABRIC_LOCAL_DHCP ||
		    action == FABRIC_LOCAL_DNS) {
			fabric_stats_route(&f->stats, action, len);
			answer_locally(f, action, frame, len);
			continue;
		}
		if (fabric_action_is_drop(action)) {
			fabric_stats_route(&f->stats, action, len);
			continue;
		}
		if (forward_or_flush(f, action, dst, frame, len) < 0) {
			f->pending = frame;
			f->pending_len = len;
			f->pending_dst = dst;
			f->pending_action = action;
			break;
		}
		fabric_stats_route(&f->stats, action, len);
	}
	run_send(f); /* before the buffer it points into moves */
	/*
	 * Send the batch. Not while a frame waits: a flush that empties the
	 * queue it waits for would disarm EPOLLOUT, and with it the only
	 * event that retries the frame. forward_or_flush() has flushed.
	 */
	if (!f->pending)
		flush_all(f);
	if (r < 0) { /* QEMU broke the stream: nothing sane can follow */
		f->guest_reading = 0;
		return;
	}
	f->guest_reading = !f->pending;
}

static void read_guest(struct fabric *f)
{
	size_t room;
	uint8_t *p = fabric_rx_space(f->guest_rx, &room);
	ssize_t n = read(f->guest_fd, p, room);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			f->guest_reading = 0; /* QEMU is gone */
		return;
	}
	fabric_rx_commit(f->guest_rx, (size_t)n);
	from_guest(f);
}

void fabric_drain_guest(struct fabric *f)
{
	while (f->guest_reading && !f->pending) {
		size_t room;
		uint8_t *p = fabric_rx_space(f->guest_rx, &room);
		ssize_t n = read(f->guest_fd, p, room);

		if (n <= 0)
			return;
		fabric_rx_commit(f->guest_rx, (size_t)n);
		from_guest(f);
	}
}

void fabric_write_guest(struct fabric *f)
{
	struct conn *c, *next;

	if (f->held)
		return;
	if (queue_flush(&f->guest_q, f->guest_fd) < 0)
		f->guest_q.head = f->guest_q.tail = 0; /* QEMU is gone */
	if (f->peers_blocked && queue_len(&f->guest_q) < GUEST_QUEUE / 2) {
		f->peers_blocked = 0;
		/* link_read() may close c: keep its successor first. */
		for (c = f->conns; c; c = next) {
			next = c->next;
			if (c->state == C_READY && !c->reading) {
				c->reading = 1;
				link_arm(f, c);
				link_read(f, c);
				if (f->peers_blocked)
					break;
			}
		}
	}
}

static void *loop(void *arg)
{
	struct fabric *f = arg;
	struct epoll_event ev[64];

	for (;;) {
		int i, n, cmd = 0, timeout = link_timeout(f);

		if (cut_timeout(f) >= 0 &&
		    (timeout < 0 || cut_timeout(f) < timeout))
			timeout = cut_timeout(f);

		n = epoll_wait(f->epfd, ev, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			struct ref *ref = ev[i].data.ptr;

			switch (ref->kind) {
			case REF_STOP:
				return NULL;
			case REF_GUEST:
				if (ev[i].events & EPOLLOUT)
					fabric_write_guest(f);
				if (ev[i].events & (EPOLLIN | EPOLLHUP))
					read_guest(f);
				fabric_guest_arm(f);
				break;
			case REF_LISTEN:
				link_accept(f, f->tcp_fd);
				link_accept(f, f->unix_fd);
				break;
			case REF_CONN:
				link_event(f, (struct conn *)ref, ev[i].events);
				fabric_guest_arm(f);
				break;
			case REF_VERBS:
				link_verbs_event(
				    f, (struct conn *)((char *)ref -
						       offsetof(struct conn,
								vref)));
				fabric_guest_arm(f);
				break;
			case REF_CMD: {
				uint64_t v;

				cmd = 1;
				if (read(f->cmd_fd, &v, sizeof(v)) < 0) {
					/* spurious: progress anyway */
				}
				break;
			}
			case REF_DEAD:
				break;
			}
		}
		/* Snapshot work only when asked or under way: not a lock
		 * taken for every batch of frames. */
		if (cmd || cut_timeout(f) >= 0)
			cut_progress(f);
		if (f->npending || f->nretry || f->listen_rest_ms)
			link_timers(f);
		link_reap(f);
		/* A queue may have drained (a flush, a finished handshake):
		 * the guest's waiting frame goes on, and reading resumes. */
		if (f->pending) {
			from_guest(f);
			fabric_guest_arm(f);
		}
	}
	return NULL;
}

int fabric_start(struct fabric *f, char *err, size_t errlen)
{
	int r;

	f->guest_ref.kind = REF_GUEST;
	f->listen_ref.kind = REF_LISTEN;
	f->stop_ref.kind = REF_STOP;
	f->cmd_ref.kind = REF_CMD;
	f->guest_reading = 1;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fcntl(f->guest_fd, F_SETFL, O_NONBLOCK);
	if (f->epfd < 0 || f->stop_fd < 0 ||
	    fabric_watch(f, EPOLL_CTL_ADD, f->guest_fd, &f->guest_ref,
			 EPOLLIN) ||
	    fabric_watch(f, EPOLL_CTL_ADD, f->tcp_fd, &f->listen_ref,
			 EPOLLIN) ||
	    fabric_watch(f, EPOLL_CTL_ADD, f->unix_fd, &f->listen_ref,
			 EPOLLIN) ||
	    fabric_watch(f, EPOLL_CTL_ADD, f->stop_fd, &f->stop_ref, EPOLLIN) ||
	    fabric_watch(f, EPOLL_CTL_ADD, f->cmd_fd, &f->cmd_ref, EPOLLIN)) {
		snprintf(err, errlen, "fabric: epoll: %s", strerror(errno));
		return -errno;
	}
	r = pthread_create(&f->thread, NULL, loop, f);
	if (r) {
		snprintf(err, errlen, "fabric: thread: %s", strerror(r));
		return -r;
	}
	f->running = 1;
	return 0;
}

void fabric_stop(struct fabric *f)
{
	uint64_t one = 1;
	uint32_t r;

	if (!f || !f->running)
		return;
	if (write(f->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(f->thread, NULL);
	f->running = 0;
	/* What still waits for a peer that could not be reached is lost
	 * with the launcher: counted, never silently. */
	for (r = 0; f->peers && r < f->cfg.nranks; r++)
		if (f->peers[r].q.buf &&
		    !(f->peers[r].tx && f->peers[r].tx->state == C_READY))
			f->stats.lost_bytes += queue_len(&f->peers[r].q);
}

void fabric_destroy(struct fabric *f)
{
	uint32_t r;

	if (!f)
		return;
	fabric_stop(f);
	while (f->conns)
		link_close(f, f->conns);
	link_reap(f);
#ifdef HAVE_VERBS
	verbs_close(f->verbs);
#endif
	for (r = 0; f->peers && r < f->cfg.nranks; r++)
		queue_free(&f->peers[r].q);
	boot_finalize();
	if (f->epfd >= 0)
		close(f->epfd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	if (f->tcp_fd >= 0)
		close(f->tcp_fd);
	if (f->unix_fd >= 0)
		close(f->unix_fd);
	if (f->cmd_fd > 0)
		close(f->cmd_fd);
	if (f->event_fd > 0)
		close(f->event_fd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	close(f->guest_fd);
	queue_free(&f->guest_q);
	free(f->guest_rx);
	free(f->peers);
	free(f->cards);
	free(f);
}
