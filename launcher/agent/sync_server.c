/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The step's barriers and values, served by rank 0's agent (sync_server.h).
 *
 * A client's life: accepted (its rank from its address), READ until its
 * request line is whole or its SYNC_REQUEST_MS deadline passes (then it is
 * dropped without a word), then answered at once, or WAIT until what it
 * waits for happens or its own deadline passes (then TIMEOUT). Every
 * answer is one short line on a socket that has had nothing else written
 * to it, so it fits in the socket's buffer: a send that does not take it
 * whole means the client is gone. After its answer the client is closed.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fabric/addr.h"
#include "launcher/agent/sync_proto.h"
#include "launcher/agent/sync_server.h"

enum client_state { C_FREE, C_READ, C_WAIT };

struct client {
	int fd;
	enum client_state state;
	uint32_t rank;
	long deadline;
	size_t len;
	char line[SYNC_LINE_MAX];
	struct sync_req req;
};

struct barrier {
	char name[SYNC_NAME_MAX + 1];
	uint8_t *seen; /* a bit per rank */
	uint32_t count;
	int passed;
};

struct value {
	char name[SYNC_NAME_MAX + 1];
	char text[SYNC_VALUE_MAX + 1];
};

struct sync_server {
	int lfd;
	uint32_t nranks;
	size_t nbarriers, nvalues;
	struct client c[SYNC_CLIENTS_MAX];
	struct barrier b[SYNC_BARRIERS_MAX];
	struct value v[SYNC_KEYS_MAX];
};

struct sync_server *sync_server_create(int lfd, uint32_t nranks)
{
	struct sync_server *srv;
	size_t i;

	if (!nranks || nranks > FABRIC_RANKS_MAX) {
		if (lfd >= 0)
			close(lfd);
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		if (lfd >= 0)
			close(lfd);
		return NULL;
	}
	srv->lfd = lfd;
	srv->nranks = nranks;
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		srv->c[i].fd = -1;
	return srv;
}

static void drop(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_FREE;
}

/* One answer line, then the client is closed. */
static void answer(struct client *c, const char *text)
{
	size_t n = strlen(text);

	/* A short send means the client is gone: nothing more to do. */
	(void)send(c->fd, text, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	drop(c);
}

void sync_server_destroy(struct sync_server *srv)
{
	size_t i;

	if (!srv)
		return;
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		drop(&srv->c[i]);
	for (i = 0; i < srv->nbarriers; i++)
		free(srv->b[i].seen);
	if (srv->lfd >= 0)
		close(srv->lfd);
	free(srv);
}

int sync_server_add(struct sync_server *srv, int fd, uint32_t rank, long now)
{
	struct client *c = NULL;
	size_t i;

	for (i = 0; i < SYNC_CLIENTS_MAX && !c; i++)
		if (srv->c[i].state == C_FREE)
			c = &srv->c[i];
	for (i = 0; i < SYNC_CLIENTS_MAX && !c; i++)
		if (srv->c[i].state == C_WAIT) {
			c = &srv->c[i];
			answer(c, "AGAIN\n");
		}
	if (!c || rank >= srv->nranks) {
		struct client tmp = {.fd = fd};

		answer(&tmp, c ? "ERR not a rank of this step\n" : "BUSY\n");
		return c ? -EINVAL : -EBUSY;
	}
	c->fd = fd;
	c->state = C_READ;
	c->rank = rank;
	c->len = 0;
	c->deadline = now + SYNC_REQUEST_MS;
	return 0;
}

static struct barrier *barrier_of(struct sync_server *srv, const char *name,
				  int create)
{
	struct barrier *b;
	size_t i;

	for (i = 0; i < srv->nbarriers; i++)
		if (!strcmp(srv->b[i].name, name))
			return &srv->b[i];
	if (!create || srv->nbarriers == SYNC_BARRIERS_MAX)
		return NULL;
	b = &srv->b[srv->nbarriers];
	b->seen = calloc(srv->nranks / 8 + 1, 1);
	if (!b->seen)
		return NULL;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->count = 0;
	b->passed = 0;
	srv->nbarriers++;
	return b;
}

static struct value *value_of(struct sync_server *srv, const char *name,
			      int create)
{
	size_t i;

	for (i = 0; i < srv->nvalues; i++)
		if (!strcmp(srv->v[i].name, name))
			return &srv->v[i];
	if (!create || srv->nvalues == SYNC_KEYS_MAX)
		return NULL;
	snprintf(srv->v[srv->nvalues].name, SYNC_NAME_MAX + 1, "%s", name);
	return &srv->v[srv->nvalues++];
}

/* "TIMEOUT A N R..." for a barrier whose wait ran out. */
static void barrier_timeout(const struct sync_server *srv, struct client *c)
{
	const struct barrier *b =
	    barrier_of((struct sync_server *)srv, c->req.name, 0);
	char text[64 + SYNC_MISSING_SHOWN * 12];
	size_t off, shown = 0;
	uint32_t r;

	off = (size_t)snprintf(text, sizeof(text), "TIMEOUT %u %u",
			       b ? b->count : 0, srv->nranks);
	for (r = 0; r < srv->nranks && shown <= SYNC_MISSING_SHOWN; r++) {
		if (b && (b->seen[r / 8] >> (r % 8) & 1))
			continue;
		if (shown++ == SYNC_MISSING_SHOWN)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						" ...");
		else
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						" %u", r);
	}
	snprintf(text + off, sizeof(text) - off, "\n");
	answer(c, text);
}

/* Everyone waiting at barrier name (it passed), or for value name. */
static void wake(struct sync_server *srv, enum sync_op op, const char *name,
		 const char *text)
{
	size_t i;

	for (i = 0; i < SYNC_CLIENTS_MAX; i++) {
		struct client *c = &srv->c[i];

		if (c->state == C_WAIT && c->req.op == op &&
		    !strcmp(c->req.name, name))
			answer(c, text);
	}
}

static void do_barrier(struct sync_server *srv, struct client *c, long now)
{
	struct barrier *b = barrier_of(srv, c->req.name, 1);
	uint32_t r = c->rank;

	if (!b) {
		answer(c, "ERR too many barriers in this step\n");
		return;
	}
	if (!(b->seen[r / 8] >> (r % 8) & 1)) {
		b->seen[r / 8] |= (uint8_t)(1u << (r % 8));
		b->count++;
	}
	if (b->count == srv->nranks)
		b->passed = 1;
	if (b->passed) {
		answer(c, "OK\n");
		wake(srv, SYNC_BARRIER, b->name, "OK\n");
		return;
	}
	if (!c->req.ms) {
		barrier_timeout(srv, c);
		return;
	}
	c->state = C_WAIT;
	c->deadline = now + (long)c->req.ms;
}

/* "VALUE " and the text, or NULL when name is not set. */
static const char *value_line(struct sync_server *srv, const char *name,
			      char *buf, size_t len)
{
	struct value *v = value_of(srv, name, 0);

	if (!v)
		return NULL;
	snprintf(buf, len, "VALUE %s\n", v->text);
	return buf;
}

static void do_request(struct sync_server *srv, struct client *c, long now)
{
	char buf[SYNC_VALUE_MAX + 16];
	struct value *v;
	const char *line;

	switch (c->req.op) {
	case SYNC_BARRIER:
		do_barrier(srv, c, now);
		return;
	case SYNC_SET:
		v = value_of(srv, c->req.name, 1);
		if (!v) {
			answer(c, "ERR too many values in this step\n");
			return;
		}
		snprintf(v->text, sizeof(v->text), "%s", c->req.value);
		answer(c, "OK\n");
		wake(srv, SYNC_GET, v->name,
		     value_line(srv, v->name, buf, sizeof(buf)));
		return;
	case SYNC_GET:
		line = value_line(srv, c->req.name, buf, sizeof(buf));
		if (line)
			answer(c, line);
		else if (!c->req.ms)
			answer(c, "TIMEOUT\n");
		else {
			c->state = C_WAIT;
			c->deadline = now + (long)c->req.ms;
		}
		return;
	}
}

/* Bytes from a client: its request line, or (once it has sent it) only
 * its end. */
static void client_input(struct sync_server *srv, struct client *c, long now)
{
	char *nl;
	ssize_t n;

	if (c->state == C_WAIT) {
		char junk[64];

		n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			drop(c); /* gone; its arrival stays */
		else if (n > 0)
			answer(c, "ERR one request per connection\n");
		return;
	}
	n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	c->len += (size_t)n;
	nl = memchr(c->line, '\n', c->len);
	if (!nl) {
		if (c->len == sizeof(c->line))
			answer(c, "ERR request line too long\n");
		return;
	}
	if (sync_req_parse(c->line, (size_t)(nl - c->line), &c->req) < 0) {
		answer(c, "ERR bad request (a name of 1 to 64 of A-Z a-z "
			  "0-9 . _ -, a value of printable ASCII)\n");
		return;
	}
	do_request(srv, c, now);
}

static void accept_clients(struct sync_server *srv, long now)
{
	int i;

	for (i = 0; i < 16; i++) { /* then the others get their turn */
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		int fd, rank;

		fd = accept4(srv->lfd, (struct sockaddr *)&a, &alen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		rank = a.sin_family == AF_INET
			   ? fabric_addr_ip_rank(ntohl(a.sin_addr.s_addr),
						 srv->nranks)
			   : -EINVAL;
		/* A rank that is not of this step is refused by add. */
		sync_server_add(srv, fd,
				rank < 0 ? srv->nranks : (uint32_t)rank, now);
	}
}

void sync_server_pollfds(const struct sync_server *srv, struct pollfd *p)
{
	size_t i;

	for (i = 0; i < SYNC_POLL_COUNT; i++) {
		p[i].fd = -1;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	if (!srv)
		return;
	p[0].fd = srv->lfd;
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		p[1 + i].fd = srv->c[i].fd;
}

int sync_server_timeout(const struct sync_server *srv, long now)
{
	long next = -1;
	size_t i;

	for (i = 0; srv && i < SYNC_CLIENTS_MAX; i++) {
		long d = srv->c[i].deadline - now;

		if (srv->c[i].state == C_FREE)
			continue;
		if (d < 0)
			d = 0;
		if (next < 0 || d < next)
			next = d;
	}
	return next > 1000000 ? 1000000 : (int)next;
}

void sync_server_step(struct sync_server *srv, const struct pollfd *p, long now)
{
	size_t i;

	if (!srv)
		return;
	for (i = 0; i < SYNC_CLIENTS_MAX; i++)
		if (p[1 + i].fd >= 0 && p[1 + i].fd == srv->c[i].fd &&
		    p[1 + i].revents)
			client_input(srv, &srv->c[i], now);
	for (i = 0; i < SYNC_CLIENTS_MAX; i++) {
		struct client *c = &srv->c[i];

		if (c->state == C_FREE || c->deadline > now)
			continue;
		if (c->state == C_READ)
			drop(c); /* said nothing (whole) in time */
		else if (c->req.op == SYNC_BARRIER)
			barrier_timeout(srv, c);
		else
			answer(c, "TIMEOUT\n");
	}
	if (p[0].fd >= 0 && p[0].revents)
		accept_clients(srv, now);
}

size_t sync_server_clients(const struct sync_server *srv)
{
	size_t i, n = 0;

	for (i = 0; srv && i < SYNC_CLIENTS_MAX; i++)
		n += srv->c[i].state != C_FREE;
	return n;
}

/* SYNC_CLIENT_LINK -> this program, replacing whatever is there (the
 * guest is the step's own; a new link is renamed over the old one). */
static int link_client(char *why, size_t len)
{
	static const char tmp[] = SYNC_CLIENT_LINK ".new";
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(why, len, "readlink /proc/self/exe: %s",
			 strerror(errno));
		return -1;
	}
	self[n] = '\0';
	mkdir("/usr/local", 0755);
	mkdir("/usr/local/bin", 0755);
	unlink(tmp);
	if (symlink(self, tmp) < 0 || rename(tmp, SYNC_CLIENT_LINK) < 0) {
		snprintf(why, len, "cannot link %s to %s: %s", SYNC_CLIENT_LINK,
			 self, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* A listener on rank 0's fabric address, bound before DHCP has given the
 * guest that address (IP_FREEBIND). Returns the fd or -errno. */
static int listen_fabric(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(SYNC_PORT),
				.sin_addr.s_addr = htonl(fabric_addr_ip(0))};
	int one = 1, fd, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 128) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static const char *env_get(char *const env[], const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

struct sync_server *sync_server_start(char *const env[], char *why, size_t len)
{
	const char *rank = env_get(env, "SLURM_PROCID");
	const char *size = env_get(env, "SLURM_STEP_NUM_TASKS");
	unsigned long n;
	char *end;
	struct sync_server *srv;
	int fd;

	why[0] = '\0';
	if (link_client(why, len) < 0)
		return NULL;
	if (!rank || strcmp(rank, "0") || !size)
		return NULL;
	errno = 0;
	n = strtoul(size, &end, 10);
	if (errno || *end || !n || n > FABRIC_RANKS_MAX) {
		snprintf(why, len, "SLURM_STEP_NUM_TASKS=%s is not a step size",
			 size);
		return NULL;
	}
	fd = listen_fabric();
	if (fd < 0) {
		snprintf(why, len, "cannot listen on port %d: %s", SYNC_PORT,
			 strerror(-fd));
		return NULL;
	}
	srv = sync_server_create(fd, (uint32_t)n);
	if (!srv)
		snprintf(why, len, "no memory for the sync server");
	return srv;
}
