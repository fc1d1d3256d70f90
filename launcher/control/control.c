/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket on the launcher's loop (control.h has the protocol).
 *
 * A connection's life: accepted (its peer's uid checked, or one error
 * line and closed), then read into a line buffer; each complete line is
 * one request, answered at once into the connection's output buffer,
 * which is written as the socket takes it. Its idle timer is re-armed by
 * every byte read or written; when it fires, or at EOF with nothing left
 * to write, or after an error line that ends it, the connection goes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/control/control.h"

/* At most this many connections taken per wake-up of the listener. */
#define ACCEPT_BATCH 16

struct client {
	struct loop_fd e; /* fd -1: the slot is free */
	struct loop_timer idle;
	struct control *c;
	char in[CONTROL_EXEC_IN];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	int closing; /* no more requests: go once the output is written */
	int exec;    /* a session's handle once it carries one, else -1 */
};

struct control {
	struct loop *l;
	struct loop_fd lst;
	struct control_ops ops;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client cl[CONTROL_CLIENTS];
	unsigned n;
};

#define CLIENT_OF(p, member)                                                   \
	((struct client *)((char *)(p)-offsetof(struct client, member)))

static void client_close(struct client *k)
{
	int h = k->exec;

	if (k->e.fd < 0)
		return;
	k->exec = -1;
	if (h >= 0 && k->c->ops.exec_gone)
		k->c->ops.exec_gone(k->c->ops.arg, h);
	loop_del(&k->e);
	loop_timer_stop(k->c->l, &k->idle);
	close(k->e.fd);
	k->e.fd = -1;
	free(k->out);
	k->out = NULL;
	k->inlen = k->outlen = k->outoff = 0;
	k->closing = 0;
	k->c->n--;
}

/* What the connection waits for now. */
static void client_arm(struct client *k)
{
	uint32_t ev = k->closing ? 0 : EPOLLIN;

	if (k->exec >= 0 && k->inlen == sizeof(k->in))
		ev = 0; /* the launcher takes no more now */
	if (k->outoff < k->outlen)
		ev |= EPOLLOUT;
	if (!ev && k->exec < 0) {
		client_close(k);
		return;
	}
	if (loop_mod(&k->e, ev) < 0)
		client_close(k);
}

/* Writes what the socket takes now. Returns 0, or -1 when k is gone. */
static int client_flush(struct client *k)
{
	size_t was = k->outoff;

	while (k->outoff < k->outlen) {
		ssize_t n = send(k->e.fd, k->out + k->outoff,
				 k->outlen - k->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_close(k);
			return -1;
		}
		k->outoff += (size_t)n;
		loop_timer_in(k->c->l, &k->idle,
			      k->exec >= 0 ? CONTROL_EXEC_STALL_MS
					   : CONTROL_IDLE_MS);
	}
	if (k->outoff == k->outlen) {
		k->outoff = k->outlen = 0;
		if (k->exec >= 0)
			loop_timer_stop(k->c->l, &k->idle);
	}
	if (k->exec >= 0 && k->outoff != was && k->c->ops.exec_written)
		k->c->ops.exec_written(k->c->ops.arg, k->exec);
	return 0;
}

/* Queues one reply line (takes j). A client whose buffer would overflow
 * is dropped: it does not read what it asked for. Returns 0 or -1. */
static int client_reply(struct client *k, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;
	char *p;

	json_decref(j);
	if (!s || k->outlen - k->outoff + n + 1 > CONTROL_OUT_MAX) {
		free(s);
		client_close(k);
		return -1;
	}
	if (k->outoff) { /* keep what is unwritten at the start */
		memmove(k->out, k->out + k->outoff, k->outlen - k->outoff);
		k->outlen -= k->outoff;
		k->outoff = 0;
	}
	p = realloc(k->out, k->outlen + n + 1);
	if (!p) {
		free(s);
		client_close(k);
		return -1;
	}
	k->out = p;
	memcpy(p + k->outlen, s, n);
	p[k->outlen + n] = '\n';
	k->outlen += n + 1;
	free(s);
	return client_flush(k);
}

static json_t *error_reply(const char *fmt, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, what);
	return json_pack("{ss}", "error", msg);
}

static json_t *status_reply(struct control *c, char *err, size_t errlen)
{
	struct control_status st = {0};
	double cpu = -1;
	int rc = c->ops.status(c->ops.arg, &st, err, errlen);

	if (rc < 0)
		return NULL;
	if (st.qemu_pid > 0 && control_cpu_time(st.qemu_pid, &cpu) < 0)
		cpu = -1;
	return json_pack("{s{sIsIsIsssssssIsIsIsfssss}}", "return", "job",
			 (json_int_t)st.job, "step", (json_int_t)st.step,
			 "rank", (json_int_t)st.rank, "state",
			 st.state ? st.state : "unknown", "hostname",
			 st.hostname, "address", st.addr, "cpus",
			 (json_int_t)st.cpus, "mem_mb", (json_int_t)st.mem_mb,
			 "uptime_s", (json_int_t)st.uptime_s, "cpu_s", cpu,
			 "console", st.console, "node", st.node ? st.node : "");
}

/* "qmp {"execute": "x", "arguments": {...}}" */
static json_t *qmp_reply(struct control *c, const char *text, char *err,
			 size_t errlen)
{
	json_t *req = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	json_t *cmd = json_object_get(req, "execute");
	json_t *args = json_object_get(req, "arguments");
	json_t *ret = NULL;

	if (!json_is_object(req) || !json_is_string(cmd) ||
	    (args && !json_is_object(args))) {
		snprintf(err, errlen,
			 "qmp: not a QMP command: give one JSON object "
			 "{\"execute\": NAME, \"arguments\": {...}}");
	} else if (c->ops.qmp(c->ops.arg, json_string_value(cmd), args, &ret,
			      err, errlen) == 0) {
		json_decref(req);
		return json_pack("{so}", "return", ret ? ret : json_object());
	}
	json_decref(req);
	return NULL;
}

/* Answers one request line (NUL-terminated, without its newline). */
static json_t *answer(struct control *c, char *line)
{
	char err[512] = "";
	json_t *r = NULL;
	size_t n = strlen(line);

	if (n && line[n - 1] == '\r')
		line[--n] = 0;
	if (!strcmp(line, "status")) {
		r = status_reply(c, err, sizeof(err));
	} else if (!strcmp(line, "pause")) {
		if (c->ops.pause(c->ops.arg, err, sizeof(err)) == 0)
			r = json_pack("{s{}}", "return");
	} else if (!strcmp(line, "resume")) {
		if (c->ops.resume(c->ops.arg, err, sizeof(err)) == 0)
			r = json_pack("{s{}}", "return");
	} else if (!strncmp(line, "qmp ", 4)) {
		r = qmp_reply(c, line + 4, err, sizeof(err));
	} else {
		return error_reply("unknown request '%.64s': the requests are "
				   "status, pause, resume, qmp JSON and exec "
				   "JSON",
				   line);
	}
	if (!r)
		r = error_reply("%s", err[0] ? err : "failed");
	return r;
}

/* Offers the session's input that waits. Returns 0 or -1 (k gone). */
static int client_offer(struct client *k)
{
	ssize_t n;

	if (k->exec < 0 || !k->inlen)
		return 0;
	n = k->c->ops.exec_input(k->c->ops.arg, k->exec, k->in, k->inlen);
	if (n < 0 || (size_t)n > k->inlen) {
		client_close(k);
		return -1;
	}
	memmove(k->in, k->in + n, k->inlen - (size_t)n);
	k->inlen -= (size_t)n;
	return 0;
}

/* "exec {...}": the reply, and the connection carries the session. */
static json_t *exec_open(struct client *k, const char *text)
{
	struct control *c = k->c;
	json_t *req = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	char err[512] = "";
	int h = -ENOSYS;

	if (!c->ops.exec_open)
		snprintf(err, sizeof(err), "exec: not served here");
	else if (!json_is_object(req))
		snprintf(err, sizeof(err), "exec: give one JSON object");
	else
		h = c->ops.exec_open(c->ops.arg, req, (unsigned)(k - c->cl),
				     err, sizeof(err));
	json_decref(req);
	if (h < 0)
		return error_reply("%s", err[0] ? err : "exec failed");
	k->exec = h;
	loop_timer_stop(c->l, &k->idle);
	return json_pack("{s{si}}", "return", "session", h);
}

/* Answers every complete line in the input. Returns 0 or -1 (k gone). */
static int client_requests(struct client *k)
{
	char *nl;

	while (!k->closing && k->exec < 0 &&
	       (nl = memchr(k->in, '\n', k->inlen))) {
		size_t used = (size_t)(nl - k->in) + 1;
		json_t *r;

		*nl = 0;
		r = strncmp(k->in, "exec ", 5) ? answer(k->c, k->in)
					       : exec_open(k, k->in + 5);
		if (client_reply(k, r) < 0)
			return -1;
		memmove(k->in, k->in + used, k->inlen - used);
		k->inlen -= used;
	}
	if (k->exec >= 0)
		return client_offer(k);
	if (!k->closing && k->inlen >= CONTROL_LINE_MAX) {
		k->closing = 1;
		return client_reply(k, error_reply("request longer than %s "
						   "bytes: dropped",
						   "4096"));
	}
	return 0;
}

static void on_client(struct loop_fd *e, uint32_t events)
{
	struct client *k = CLIENT_OF(e, e);
	ssize_t n;

	if (events & EPOLLERR) {
		client_close(k);
		return;
	}
	if ((events & EPOLLOUT) && client_flush(k) < 0)
		return;
	if (!k->closing && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		size_t room =
		    (k->exec >= 0 ? sizeof(k->in) : CONTROL_LINE_MAX) -
		    k->inlen;

		n = room ? recv(e->fd, k->in + k->inlen, room, MSG_DONTWAIT)
			 : -1;
		if (n > 0) {
			k->inlen += (size_t)n;
			if (k->exec < 0)
				loop_timer_in(k->c->l, &k->idle,
					      CONTROL_IDLE_MS);
			if (client_requests(k) < 0)
				return;
		} else if (k->exec >= 0 && room &&
			   (n == 0 || (errno != EAGAIN && errno != EINTR))) {
			client_close(k); /* the session's client is gone */
			return;
		} else if (room &&
			   (n == 0 || (errno != EAGAIN && errno != EINTR))) {
			k->closing = 1; /* EOF: what is asked is answered */
		}
	}
	client_arm(k);
}

static void on_idle(struct loop_timer *t)
{
	struct client *k = CLIENT_OF(t, idle);

	/* A session's client: only output that does not leave ends it. */
	if (k->exec >= 0 && k->outoff == k->outlen)
		return;
	client_close(k);
}

/* A line for a connection that is refused, without waiting. */
static void refuse(int fd, const char *msg)
{
	ssize_t n = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;
	close(fd);
}

static struct client *free_slot(struct control *c)
{
	unsigned i;

	for (i = 0; i < CONTROL_CLIENTS; i++)
		if (c->cl[i].e.fd < 0)
			return &c->cl[i];
	return NULL;
}

static void take(struct control *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct client *k;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    cr.uid != geteuid()) {
		refuse(fd, "{\"error\": \"refused: this guest is another "
			   "user's\"}\n");
		return;
	}
	k = free_slot(c);
	if (!k) {
		refuse(fd, "{\"error\": \"busy: too many connections to this "
			   "launcher, try again\"}\n");
		return;
	}
	k->e = (struct loop_fd){.fd = fd, .fn = on_client};
	k->exec = -1;
	if (loop_add(c->l, &k->e, EPOLLIN) < 0) {
		k->e.fd = -1;
		close(fd);
		return;
	}
	c->n++;
	loop_timer_in(c->l, &k->idle, CONTROL_IDLE_MS);
}

static void on_accept(struct loop_fd *e, uint32_t events)
{
	struct control *c =
	    (struct control *)((char *)e - offsetof(struct control, lst));
	int i, fd;

	(void)events;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(e->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a connection that went: later */
		take(c, fd);
	}
}

static int listen_at(struct control *c, const char *dir, char *err,
		     size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, n;

	n = snprintf(a.sun_path, sizeof(a.sun_path), "%s/" CONTROL_SOCKET, dir);
	if (n < 0 || (size_t)n >= sizeof(a.sun_path)) {
		snprintf(err, errlen,
			 "control socket: the run directory %s is too long "
			 "for a socket path (set a shorter rundir=)",
			 dir);
		return -ENAMETOOLONG;
	}
	strcpy(c->path, a.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(a.sun_path, 0600) < 0 || listen(fd, CONTROL_CLIENTS) < 0) {
		n = -errno;
		snprintf(err, errlen, "control socket %s: %s", a.sun_path,
			 strerror(-n));
		if (fd >= 0)
			close(fd);
		return n;
	}
	return fd;
}

struct control *control_open(struct loop *l, const char *dir,
			     const struct control_ops *ops, char *err,
			     size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	unsigned i;
	int fd, rc;

	if (!c) {
		snprintf(err, errlen, "control socket: out of memory");
		return NULL;
	}
	c->l = l;
	c->ops = *ops;
	for (i = 0; i < CONTROL_CLIENTS; i++) {
		c->cl[i].e.fd = -1;
		c->cl[i].c = c;
		c->cl[i].idle.fn = on_idle;
	}
	fd = listen_at(c, dir, err, errlen);
	if (fd < 0) {
		free(c);
		errno = -fd;
		return NULL;
	}
	c->lst = (struct loop_fd){.fd = fd, .fn = on_accept};
	rc = loop_add(l, &c->lst, EPOLLIN);
	if (rc < 0) {
		snprintf(err, errlen, "control socket: epoll: %s",
			 strerror(-rc));
		unlink(c->path);
		close(fd);
		free(c);
		errno = -rc;
		return NULL;
	}
	return c;
}

void control_close(struct control *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < CONTROL_CLIENTS; i++)
		client_close(&c->cl[i]);
	loop_del(&c->lst);
	close(c->lst.fd);
	unlink(c->path);
	free(c);
}

static struct client *exec_client(const struct control *c, unsigned client)
{
	struct client *k;

	if (!c || client >= CONTROL_CLIENTS)
		return NULL;
	k = (struct client *)&c->cl[client];
	return k->e.fd >= 0 && k->exec >= 0 ? k : NULL;
}

int control_exec_output(struct control *c, unsigned client, const void *buf,
			size_t len)
{
	struct client *k = exec_client(c, client);
	size_t left;
	char *p;

	if (!k)
		return -ENOTCONN;
	left = k->outlen - k->outoff;
	if (left + len > CONTROL_EXEC_OUT_MAX)
		return -ENOBUFS;
	if (k->outoff) {
		memmove(k->out, k->out + k->outoff, left);
		k->outlen = left;
		k->outoff = 0;
	}
	p = realloc(k->out, k->outlen + len + 1);
	if (!p)
		return -ENOBUFS;
	k->out = p;
	memcpy(p + k->outlen, buf, len);
	k->outlen += len;
	if (!left)
		loop_timer_in(c->l, &k->idle, CONTROL_EXEC_STALL_MS);
	if (client_flush(k) == 0)
		client_arm(k);
	return 0;
}

size_t control_exec_pending(const struct control *c, unsigned client)
{
	const struct client *k = exec_client(c, client);

	return k ? k->outlen - k->outoff : 0;
}

void control_exec_end(struct control *c, unsigned client)
{
	struct client *k = exec_client(c, client);

	if (!k)
		return;
	k->exec = -1;
	k->closing = 1;
	loop_timer_in(c->l, &k->idle, CONTROL_IDLE_MS);
	client_arm(k);
}

void control_exec_kick(struct control *c, unsigned client)
{
	struct client *k = exec_client(c, client);

	if (k && client_offer(k) == 0)
		client_arm(k);
}

unsigned control_clients(const struct control *c)
{
	return c ? c->n : 0;
}
