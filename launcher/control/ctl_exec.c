/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec and shell, the node side (ctl.h): one connection to each guest's
 * launcher, opened with an exec request, then frames both ways
 * (control.h). One poll loop over the connections, stdin and a signalfd;
 * every write is non-blocking and what a connection has not taken waits
 * in its own buffer, and stdin is read only once every connection it
 * goes to has taken the last of it: a guest that does not read stdin
 * holds back stdin only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "launcher/agent/agent_proto.h"
#include "launcher/common/clock.h"
#include "launcher/control/control.h"
#include "launcher/control/ctl.h"

#define OPEN_MS 10000
#define LINE_MAX_OUT 4096
#define RX_MAX (AGENT_HDR_LEN + AGENT_CHUNK)

struct conn {
	unsigned long rank;
	int fd; /* -1 once ended */
	int code;
	uint8_t rx[RX_MAX];
	size_t rxlen;
	uint8_t tx[AGENT_HDR_LEN + CONTROL_EXEC_CHUNK + 64];
	size_t txlen;
	char line[2][LINE_MAX_OUT]; /* stdout's and stderr's partial line */
	size_t linelen[2];
	int want_stdin;
};

static void say(const struct conn *c, const char *what)
{
	fprintf(stderr, "slurm-vm-control: rank %lu: %s\n", c->rank, what);
}

/* Sends the exec request and reads its one-line reply. Returns 0. */
static int open_session(struct conn *c, const struct ctl_guest *g,
			const struct ctl_exec *x)
{
	json_t *req = json_object(), *argv = json_array(), *reply;
	struct winsize ws = {0};
	long until = now_ms() + OPEN_MS;
	char *text, buf[1024];
	size_t len = 0, i;

	for (i = 0; x->argv[i]; i++)
		json_array_append_new(argv, json_string(x->argv[i]));
	json_object_set_new(req, "argv", argv);
	if (x->pty) {
		const char *term = getenv("TERM");
		char env[256];

		snprintf(env, sizeof(env), "TERM=%s", term ? term : "vt100");
		json_object_set_new(req, "env", json_pack("[s]", env));
		json_object_set_new(req, "pty", json_true());
		if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
			json_object_set_new(req, "rows",
					    json_integer(ws.ws_row));
			json_object_set_new(req, "cols",
					    json_integer(ws.ws_col));
		}
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	c->fd = text ? ctl_dial(g) : -ENOMEM;
	if (c->fd < 0) {
		free(text);
		say(c, "its launcher does not answer");
		return -1;
	}
	if (strlen(text) + 7 > CONTROL_LINE_MAX ||
	    dprintf(c->fd, "exec %s\n", text) < 0) {
		free(text);
		say(c, "the command is longer than a request may be (4 KiB)");
		return -1;
	}
	free(text);
	/* Byte by byte up to the newline: what follows is the session's. */
	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		long left = until - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) != 1 ||
		    read(c->fd, buf + len, 1) != 1)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = 0;
	reply = json_loads(buf, 0, NULL);
	if (!json_is_object(json_object_get(reply, "return"))) {
		const char *e =
		    json_string_value(json_object_get(reply, "error"));

		say(c, e ? e : "no answer to exec in time");
		json_decref(reply);
		return -1;
	}
	json_decref(reply);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Writes a labelled line (or its part when the line is too long). */
static void flush_line(struct conn *c, int i, int pty)
{
	FILE *f = i ? stderr : stdout;

	if (!c->linelen[i])
		return;
	if (pty)
		fwrite(c->line[i], 1, c->linelen[i], f);
	else
		fprintf(f, "%lu: %.*s%s", c->rank, (int)c->linelen[i],
			c->line[i],
			c->line[i][c->linelen[i] - 1] == '\n' ? "" : "\n");
	fflush(f);
	c->linelen[i] = 0;
}

static void output(struct conn *c, int i, const uint8_t *p, size_t n, int pty)
{
	if (pty) { /* a terminal's bytes, as they come */
		if (write(1, p, n) < 0)
			return;
		return;
	}
	while (n--) {
		c->line[i][c->linelen[i]++] = (char)*p;
		if (*p++ == '\n' || c->linelen[i] == LINE_MAX_OUT)
			flush_line(c, i, 0);
	}
}

/* The frames received. Returns 1 when the session ended. */
static int frames(struct conn *c, int pty)
{
	struct agent_msg m;
	size_t off = 0;
	ssize_t n;
	char text[512];

	while ((n = agent_msg_parse(c->rx + off, c->rxlen - off, &m)) > 0) {
		off += (size_t)n;
		if (m.type == AGENT_STDOUT || m.type == AGENT_STDERR) {
			output(c, m.type == AGENT_STDERR, m.data, m.len, pty);
		} else if (m.type == AGENT_ERROR) {
			agent_error_text(&m, text, sizeof(text));
			text[strcspn(text, "\n")] = 0;
			say(c, text);
		} else if (m.type == AGENT_EXIT) {
			c->code = agent_exit_decode(&m);
			return 1;
		}
	}
	memmove(c->rx, c->rx + off, c->rxlen - off);
	c->rxlen -= off;
	return n < 0 ? -1 : 0;
}

static void queue(struct conn *c, uint8_t type, const void *d, size_t n)
{
	if (c->fd < 0 || c->txlen + AGENT_HDR_LEN + n > sizeof(c->tx))
		return;
	agent_msg_header_to(c->tx + c->txlen, EXEC_LINK_SESSION, type,
			    (uint32_t)n);
	memcpy(c->tx + c->txlen + AGENT_HDR_LEN, d, n);
	c->txlen += AGENT_HDR_LEN + n;
}

static void flush_tx(struct conn *c)
{
	ssize_t n;

	if (c->fd < 0 || !c->txlen)
		return;
	n = send(c->fd, c->tx, c->txlen, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		memmove(c->tx, c->tx + n, c->txlen - (size_t)n);
		c->txlen -= (size_t)n;
	}
}

static void end(struct conn *c, int pty, const char *why)
{
	flush_line(c, 0, pty);
	flush_line(c, 1, pty);
	if (why)
		say(c, why);
	close(c->fd);
	c->fd = -1;
}

/* Reads a connection. */
static void on_conn(struct conn *c, int pty)
{
	ssize_t n = read(c->fd, c->rx + c->rxlen, sizeof(c->rx) - c->rxlen);
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		end(c, pty,
		    "the guest or its launcher ended before the command "
		    "did");
		return;
	}
	c->rxlen += (size_t)n;
	r = frames(c, pty);
	if (r)
		end(c, pty,
		    r < 0 ? "a malformed frame from the launcher" : NULL);
}

/* stdin: to the connections that want it, once they took the last. */
static int stdin_ready(struct conn *c, size_t n)
{
	size_t i;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (c[i].fd < 0 || !c[i].want_stdin)
			continue;
		if (c[i].txlen)
			return 0;
		any = 1;
	}
	return any;
}

static void read_stdin(struct conn *c, size_t n, int *open_in)
{
	uint8_t buf[CONTROL_EXEC_CHUNK];
	ssize_t r = read(0, buf, sizeof(buf));
	size_t i;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (i = 0; i < n; i++)
		if (c[i].want_stdin)
			queue(&c[i], r > 0 ? AGENT_STDIN : AGENT_STDIN_EOF, buf,
			      r > 0 ? (size_t)r : 0);
	if (r <= 0)
		*open_in = 0;
}

static void on_signal(int sfd, struct conn *c, size_t n, int pty)
{
	struct signalfd_siginfo si;
	struct winsize ws;
	uint8_t b[AGENT_SIGNAL_LEN > AGENT_WINCH_LEN ? AGENT_SIGNAL_LEN
						     : AGENT_WINCH_LEN];
	size_t i;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			if (!pty || ioctl(0, TIOCGWINSZ, &ws) < 0)
				continue;
			agent_winch_encode(b, ws.ws_row, ws.ws_col);
			queue(&c[0], AGENT_WINCH, b, AGENT_WINCH_LEN);
			continue;
		}
		agent_signal_encode(b, (int)si.ssi_signo);
		for (i = 0; i < n; i++)
			queue(&c[i], AGENT_SIGNAL, b, AGENT_SIGNAL_LEN);
	}
}

/* The poll loop, until every connection ended. */
static void relay(struct conn *c, size_t n, int sfd, int pty)
{
	int open_in = 1;
	struct pollfd *p = calloc(n + 2, sizeof(*p));
	size_t i, live = 0;

	for (i = 0; i < n; i++)
		live += c[i].fd >= 0;
	while (p && live) {
		p[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[1] =
		    (struct pollfd){.fd = open_in && stdin_ready(c, n) ? 0 : -1,
				    .events = POLLIN};
		for (i = 0; i < n; i++)
			p[i + 2] = (struct pollfd){
			    .fd = c[i].fd,
			    .events = POLLIN | (c[i].txlen ? POLLOUT : 0)};
		if (poll(p, n + 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			on_signal(sfd, c, n, pty);
		if (p[1].revents)
			read_stdin(c, n, &open_in);
		for (i = 0, live = 0; i < n; i++) {
			if (c[i].fd >= 0 && (p[i + 2].revents & ~POLLOUT))
				on_conn(&c[i], pty);
			flush_tx(&c[i]);
			live += c[i].fd >= 0;
		}
	}
	free(p);
}

int ctl_exec_run(const struct ctl_exec *x, const struct ctl_guest *g, size_t n)
{
	struct termios saved, raw;
	int tty = x->pty && isatty(0) && tcgetattr(0, &saved) == 0;
	struct conn *c = calloc(n ? n : 1, sizeof(*c));
	sigset_t mask;
	int sfd, code = 125;
	size_t i;

	if (!c || (x->pty && n != 1)) {
		free(c);
		fprintf(stderr, "slurm-vm-control: shell: %s\n",
			c ? "name one rank" : "out of memory");
		return c ? 2 : 125;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	for (i = 0; i < n; i++) {
		c[i].rank = g[i].rank;
		c[i].code = 125;
		c[i].want_stdin = x->stdin_rank < 0 ||
				  (unsigned long)x->stdin_rank == g[i].rank;
		if (open_session(&c[i], &g[i], x) < 0 && c[i].fd >= 0) {
			close(c[i].fd);
			c[i].fd = -1;
		}
		if (!c[i].want_stdin) /* as /dev/null */
			queue(&c[i], AGENT_STDIN_EOF, NULL, 0);
	}
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	relay(c, n, sfd, x->pty);
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	if (x->code_of >= 0)
		code = 0; /* another node's rank: srun takes the highest */
	for (i = 0; i < n; i++)
		if (x->code_of < 0 || (unsigned long)x->code_of == c[i].rank)
			code = c[i].code; /* g is sorted by rank */
	fflush(stdout);
	close(sfd);
	free(c);
	return code;
}
