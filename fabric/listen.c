/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The accepting side of the links between launchers, and the links'
 * timers.
 *
 * Anyone can connect: any host to the TCP listener, any local process to
 * the node-local one. So an unauthenticated connection costs little and
 * cannot keep a peer of the step out: a local one from another uid is
 * refused at once (SO_PEERCRED); one from a host that is no node of the
 * step may hold only STRANGER_HANDSHAKES slots; and when every slot
 * (nranks + HANDSHAKE_SLACK) is taken, the oldest waiting connection is
 * closed for the new one. A peer of the step answers the challenge within
 * a round trip, so what waits longest is a connection that says nothing;
 * a peer closed by mistake connects again (link.c). Out of descriptors,
 * the listeners rest for LISTEN_PAUSE_MS instead of spinning on a backlog
 * they cannot take.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "fabric/fabric_int.h"
#include "fabric/stats.h"

static int cmp_addr(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int link_index_nodes(struct fabric *f)
{
	struct in_addr a;
	size_t i, n = 0;
	uint32_t r;

	f->node_addrs = calloc(f->cfg.nranks, sizeof(*f->node_addrs));
	if (!f->node_addrs)
		return -ENOMEM;
	for (r = 0; r < f->cfg.nranks; r++)
		if (inet_pton(AF_INET, f->cards[r].addr, &a) == 1)
			f->node_addrs[n++] = a.s_addr;
	qsort(f->node_addrs, n, sizeof(*f->node_addrs), cmp_addr);
	for (i = 0, f->nnode_addrs = 0; i < n; i++)
		if (!f->nnode_addrs ||
		    f->node_addrs[f->nnode_addrs - 1] != f->node_addrs[i])
			f->node_addrs[f->nnode_addrs++] = f->node_addrs[i];
	return 0;
}

/* True when addr (network order) is the address of a node of the step. */
static int of_step(const struct fabric *f, uint32_t addr)
{
	return bsearch(&addr, f->node_addrs, f->nnode_addrs,
		       sizeof(*f->node_addrs), cmp_addr) != NULL;
}

/* Waiting connections from addr. */
static int waiting_from(const struct fabric *f, uint32_t addr)
{
	const struct conn *c;
	int n = 0;

	for (c = f->conns; c; c = c->next)
		n += !c->outgoing && c->state == C_AUTH && !c->is_local &&
		     c->src == addr;
	return n;
}

/* Closes the incoming connection that has waited longest. */
static void evict_oldest(struct fabric *f)
{
	struct conn *c, *old = NULL;

	for (c = f->conns; c; c = c->next)
		if (!c->outgoing && c->state == C_AUTH &&
		    (!old || c->started_ms < old->started_ms))
			old = c;
	if (old) {
		f->stats.conns_refused++;
		link_close(f, old);
	}
}

/* Whether a new connection on lfd may start a handshake. */
static int admit(struct fabric *f, int lfd, int fd, uint32_t *src)
{
	*src = 0;
	if (lfd == f->unix_fd) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		/* Only the job's own user's processes, as the launchers are. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    cr.uid != geteuid())
			return 0;
	} else {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);

		if (getpeername(fd, (struct sockaddr *)&sin, &len) < 0 ||
		    sin.sin_family != AF_INET)
			return 0;
		*src = sin.sin_addr.s_addr;
		if (!of_step(f, *src) &&
		    waiting_from(f, *src) >= STRANGER_HANDSHAKES)
			return 0;
	}
	if (f->nhandshakes >= f->max_handshakes)
		evict_oldest(f);
	return 1;
}

static void rest_listeners(struct fabric *f)
{
	f->listen_rest_ms = fabric_now_ms() + LISTEN_PAUSE_MS;
	fabric_watch(f, EPOLL_CTL_MOD, f->tcp_fd, &f->listen_ref, 0);
	fabric_watch(f, EPOLL_CTL_MOD, f->unix_fd, &f->listen_ref, 0);
	f->stats.listen_rests++;
}

static void wake_listeners(struct fabric *f)
{
	f->listen_rest_ms = 0;
	fabric_watch(f, EPOLL_CTL_MOD, f->tcp_fd, &f->listen_ref, EPOLLIN);
	fabric_watch(f, EPOLL_CTL_MOD, f->unix_fd, &f->listen_ref, EPOLLIN);
}

static void accept_on(struct fabric *f, int lfd)
{
	uint8_t hello[HS_HELLO_LEN];
	struct conn *c;
	uint32_t src;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	       0) {
		if (!admit(f, lfd, fd, &src)) {
			f->stats.conns_refused++;
			close(fd);
			continue;
		}
		c = conn_new_in(f, fd, lfd == f->unix_fd, src);
		if (!c) {
			close(fd);
			continue;
		}
		if (hs_hello(f->cfg.rank, c->challenge, hello) < 0 ||
		    link_hs_write(fd, hello, sizeof(hello)) < 0 ||
		    fabric_watch(f, EPOLL_CTL_ADD, fd, &c->ref, EPOLLIN) < 0)
			link_close(f, c);
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM)
		rest_listeners(f);
}

void link_accept(struct fabric *f, int lfd)
{
	(void)lfd;
	if (f->listen_rest_ms)
		return;
	accept_on(f, f->tcp_fd);
	if (!f->listen_rest_ms)
		accept_on(f, f->unix_fd);
}

void link_timers(struct fabric *f)
{
	long now = fabric_now_ms(), limit = now - HANDSHAKE_TIMEOUT_MS;
	struct conn *c, *next;
	uint32_t r;

	for (c = f->conns; f->npending && c; c = next) {
		next = c->next;
		if (c->state != C_READY && c->state != C_CONFIRM &&
		    c->started_ms < limit) {
			f->stats.handshake_timeouts++;
			link_close(f, c);
		}
	}
	for (r = 0; f->nretry && r < f->cfg.nranks; r++) {
		struct peer *pr = &f->peers[r];

		if (!pr->retry_ms || now < pr->retry_ms)
			continue;
		if (pr->q.buf && queue_len(&pr->q)) {
			link_peer(f, r);
			link_flush(f, pr);
		} else { /* nothing to send: the next frame connects */
			pr->retry_ms = 0;
			f->nretry--;
		}
	}
	if (f->listen_rest_ms && now >= f->listen_rest_ms) {
		wake_listeners(f);
		link_accept(f, f->tcp_fd);
	}
}

int link_timeout(const struct fabric *f)
{
	if (f->nretry || f->listen_rest_ms)
		return RETRY_FIRST_MS / 2;
	return f->npending ? 1000 : -1;
}
