/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Theory of operation.
 *
 * One thread, one epoll loop, no busy polling. Every fd carries a typed
 * reference (struct ref) saying what it is: the guest's QEMU stream
 * socket, a listener, a peer connection or the stop eventfd.
 *
 * Guest -> peers (guest.c). One read from the guest holds many frames. Each
 * frame is routed (route.c): ARP, DHCP and DNS are answered here and never
 * leave; unicast goes to the owning rank's queue, broadcast and multicast to
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

#include "fabric/addr.h"
#include "fabric/boot.h"
#include "fabric/fabric.h"
#include "fabric/fabric_int.h"
#include "fabric/frame.h"
#include "fabric/handshake.h"
#include "fabric/queue.h"
#ifdef HAVE_VERBS
#include "fabric/verbs.h"
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
	int r = epoll_ctl(f->epfd, op, fd, &ev);

	if (r == 0)
		ref->events = events;
	return r;
}

int fabric_rearm(struct fabric *f, int fd, struct ref *ref, uint32_t events)
{
	if (ref->events == events)
		return 0;
	return fabric_watch(f, EPOLL_CTL_MOD, fd, ref, events);
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

/* Checks cfg's transport; opens the RDMA device for verbs. */
static int open_transport(struct fabric *f, const struct fabric_config *cfg,
			  char *err, size_t errlen)
{
	if (!strcmp(cfg->transport, "verbs")) {
#ifdef HAVE_VERBS
		if (verbs_open(cfg->verbs_device, &f->verbs, err, errlen) < 0)
			return -1;
#else
		snprintf(err, errlen,
			 "fabric: this build has no verbs transport (use auto "
			 "or tcp)");
		return -1;
#endif
	} else if (strcmp(cfg->transport, "auto") &&
		   strcmp(cfg->transport, "tcp")) {
		snprintf(err, errlen,
			 "fabric: unknown transport '%s' (use auto, tcp or "
			 "verbs)",
			 cfg->transport);
		return -1;
	}
	return 0;
}

/* Swaps cards with the step (a step of one has its own only). */
static int swap_cards(struct fabric *f, const struct boot_card *mine, char *err,
		      size_t errlen)
{
	const struct fabric_config *cfg = &f->cfg;
	uint32_t rank, n;

	if (cfg->nranks > 1) {
		if ((cfg->exchange
			 ? cfg->exchange(cfg->exchange_arg, mine, &rank, &n,
					 &f->cards, err, errlen)
			 : boot_exchange(mine, &rank, &n, &f->cards, err,
					 errlen)) < 0)
			return -1;
		if (rank != cfg->rank || n != cfg->nranks) {
			snprintf(err, errlen,
				 "fabric: the bootstrap says rank %u of %u, "
				 "Slurm says %u of %u",
				 rank, n, cfg->rank, cfg->nranks);
			return -1;
		}
	} else {
		f->cards = calloc(1, sizeof(*f->cards));
		if (!f->cards) {
			snprintf(err, errlen, "fabric: out of memory");
			return -1;
		}
		f->cards[0] = *mine;
	}
	return 0;
}

struct fabric *fabric_create(const struct fabric_config *cfg, int guest_fd,
			     char *err, size_t errlen)
{
	struct fabric *f = calloc(1, sizeof(*f));
	struct boot_card mine = {0};
	long t0 = fabric_now_ms();

	if (!f) {
		close(guest_fd);
		snprintf(err, errlen, "fabric: out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	f->guest_fd = guest_fd;
	if (cfg->capture_cap &&
	    !(f->pcap = fabric_pcap_open(cfg->capture_fd, cfg->capture_cap))) {
		snprintf(err, errlen,
			 "fabric: cannot start the capture: out "
			 "of memory");
		close(guest_fd);
		free(f);
		return NULL;
	}
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
	if (open_transport(f, cfg, err, errlen) < 0)
		goto fail;
	snprintf(mine.node, sizeof(mine.node), "%s", cfg->node);
	if (cfg->addr)
		snprintf(mine.addr, sizeof(mine.addr), "%s", cfg->addr);
	else
		host_addr(mine.addr, sizeof(mine.addr));
	if (hs_random(mine.secret, sizeof(mine.secret)) < 0 ||
	    open_listeners(f, &mine, err, errlen) < 0)
		goto fail;
	if (swap_cards(f, &mine, err, errlen) < 0)
		goto fail;
	if (link_index_nodes(f) < 0) {
		snprintf(err, errlen, "fabric: out of memory");
		goto fail;
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
					fabric_read_guest(f);
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
			fabric_route_guest(f);
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
	/* Named, so the thread can be told apart (top -H, /proc). */
	pthread_setname_np(f->thread, "slurmvm-fabric");
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
	if (f->pcap) { /* complete before the launcher keeps a copy */
		fabric_pcap_counts(f->pcap, &f->pcap_kept, &f->pcap_dropped);
		f->pcap_err = fabric_pcap_close(f->pcap);
		f->pcap = NULL;
	}
	/* What still waits for a peer that could not be reached is lost
	 * with the launcher: counted, never silently. */
	for (r = 0; f->peers && r < f->cfg.nranks; r++)
		if (f->peers[r].q.buf &&
		    !(f->peers[r].tx && f->peers[r].tx->state == C_READY))
			f->stats.lost_bytes += queue_len(&f->peers[r].q);
}

int fabric_capture_counts(const struct fabric *f, uint64_t *kept,
			  uint64_t *dropped)
{
	*kept = f->pcap_kept;
	*dropped = f->pcap_dropped;
	return f->pcap_err;
}

void fabric_destroy(struct fabric *f)
{
	uint32_t r;

	if (!f)
		return;
	fabric_stop(f);
	fabric_pcap_close(f->pcap); /* one that never ran */
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
	free(f->node_addrs);
	free(f);
}
