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
#include <fcntl.h>
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
	char in[CONTROL_LINE_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	int closing; /* no more requests: go once the output is written */
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
	if (k->e.fd < 0)
		return;
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

	if (k->outoff < k->outlen)
		ev |= EPOLLOUT;
	if (!ev) {
		client_close(k);
		return;
	}
	if (loop_mod(&k->e, ev) < 0)
		client_close(k);
}

/* Writes what the socket takes now. Returns 0, or -1 when k is gone. */
static int client_flush(struct client *k)
{
	while (k->outoff < k->outlen) {
		ssize_t n = send(k->e.fd, k->out + k->outoff,
				 k->outlen - k->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			client_close(k);
			return -1;
		}
		k->outoff += (size_t)n;
		loop_timer_in(k->c->l, &k->idle, CONTROL_IDLE_MS);
	}
	k->outoff = k->outlen = 0;
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
				   "status, pause, resume and qmp JSON",
				   line);
	}
	if (!r)
		r = error_reply("%s", err[0] ? err : "failed");
	return r;
}

/* Answers every complete line in the input. Returns 0 or -1 (k gone). */
static int client_requests(struct client *k)
{
	char *nl;

	while (!k->closing && (nl = memchr(k->in, '\n', k->inlen))) {
		size_t used = (size_t)(nl - k->in) + 1;

		*nl = 0;
		if (client_reply(k, answer(k->c, k->in)) < 0)
			return -1;
		memmove(k->in, k->in + used, k->inlen - used);
		k->inlen -= used;
	}
	if (!k->closing && k->inlen == sizeof(k->in)) {
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
		n = recv(e->fd, k->in + k->inlen, sizeof(k->in) - k->inlen,
			 MSG_DONTWAIT);
		if (n > 0) {
			k->inlen += (size_t)n;
			loop_timer_in(k->c->l, &k->idle, CONTROL_IDLE_MS);
			if (client_requests(k) < 0)
				return;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			k->closing = 1; /* EOF: what is asked is answered */
		}
	}
	client_arm(k);
}

static void on_idle(struct loop_timer *t)
{
	client_close(CLIENT_OF(t, idle));
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

unsigned control_clients(const struct control *c)
{
	return c ? c->n : 0;
}

int control_parse_stat(const char *line, unsigned long long *ticks)
{
	const char *p = strrchr(line, ')');
	unsigned long long ut, st;
	int field;

	if (!p)
		return -EPROTO;
	/* After the name: state (field 3) ... utime (14), stime (15). */
	p++;
	for (field = 2; field < 14 && *p; p++)
		if (*p == ' ')
			field++;
	if (field != 14 || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return -EPROTO;
	*ticks = ut + st;
	return 0;
}

int control_cpu_time(pid_t pid, double *seconds)
{
	char path[64], line[1024];
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, line, sizeof(line) - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	line[n] = 0;
	rc = control_parse_stat(line, &ticks);
	if (rc < 0)
		return rc;
	*seconds = (double)ticks / (double)(hz > 0 ? hz : 100);
	return 0;
}
