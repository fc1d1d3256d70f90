/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slurm-vm-agent: the guest side of the launcher's agent channel.
 *
 * Theory of operation. The guest's /init execs this program as PID 1 (it
 * also runs as an ordinary service). It lives through these stages:
 *
 *  1. find the virtio-serial port named AGENT_PORT_NAME and open it;
 *  2. send READY with the guest kernel's release;
 *  3. (restored from a snapshot taken at ready: read FRESH and make this
 *     clone fresh, agent_fresh.h) read one EXEC: set the hostname, mount the
 * host directories and add the job's user (agent_setup.h), enter the working
 * directory (or / when it does not exist here), start the command in its own
 *     process group, as that user, with pipes for stdin, stdout and
 *     stderr;
 *  4. relay: stdout and stderr become STDOUT/STDERR frames as they are
 *     produced; STDIN frames feed the command's stdin; SIGNAL frames are
 *     delivered to its process group; the command's PMI socket (when EXEC
 *     asks for one with PMI_RANK) and PMI frames carry each other's bytes;
 *     sessions beside the command (slurm-vm exec and shell: SPAWN and
 *     the frames of sessions 1..) run and relay meanwhile, each within
 *     its own windows (agent_exec.h);
 *  5. when the command ends, send what is left of its output, then EXIT;
 *  6. wait for the launcher to power the guest off, reaping orphans.
 *
 * Writes to the port block while the launcher is not reading: that is the
 * back-pressure that keeps the guest from outrunning srun. Static, libc
 * only, so it runs in any guest.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/agent/agent_exec.h"
#include "launcher/agent/agent_fresh.h"
#include "launcher/agent/agent_port.h"
#include "launcher/agent/agent_proc.h"
#include "launcher/agent/agent_proto.h"
#include "launcher/agent/agent_setup.h"
#include "launcher/agent/sync_client.h"
#include "launcher/agent/sync_server.h"
#include "launcher/common/clock.h"

static struct agent_rx rx;
static struct agent_setup setup;
/* An EXEC that came while a command ran: a guest restored from a snapshot
 * saved at fail runs the restoring step's command in place of the saved
 * one, which is ended. */
static struct agent_exec next_ex;
static int have_next;

static void say(const char *fmt, const char *arg)
{
	fprintf(stderr, "slurm-vm-agent: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* Blocks until a whole frame arrives. Returns 1, 0 at EOF or -errno. */
static int recv_msg(int port, struct agent_msg *m)
{
	for (;;) {
		int r = agent_rx_next(&rx, m);
		ssize_t n;

		if (r)
			return r;
		n = agent_rx_fill(&rx, port);
		if (n <= 0)
			return (int)n;
	}
}

static void fail(int port, const char *what)
{
	uint8_t code[AGENT_EXIT_LEN];

	agent_exit_encode(code, AGENT_EXITED, 125);
	agent_send(port, AGENT_ERROR, what, strlen(what));
	agent_send(port, AGENT_EXIT, code, sizeof(code));
}

/* Sends everything readable on fd as frames of type. Returns bytes read,
 * 0 at EOF, -1 on a port error. */
static ssize_t forward_output(int fd, int port, uint8_t type)
{
	static uint8_t buf[AGENT_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : 0;
	if (n > 0 && agent_send(port, type, buf, (size_t)n) < 0)
		return -1;
	return n;
}

struct session {
	int port, sfd;
	int in, out, err; /* parent ends of the pipes; -1 when closed */
	pid_t pid;
	int status, done;
	const uint8_t *pending; /* stdin bytes not yet written */
	size_t pending_len;
	int stdin_eof;
	int pmi; /* our end of the command's PMI socket, or -1 */
	const uint8_t *pmi_pending; /* PMI bytes not yet written */
	size_t pmi_pending_len;
	struct sync_server *sync;  /* rank 0's barriers and values, or NULL */
	struct agent_execs *execs; /* the sessions beside the command */
};

/* Frames wait in rx while bytes of the last one are not written. */
static int busy(const struct session *s)
{
	return s->pending_len || s->pmi_pending_len;
}

static void close_pmi(struct session *s)
{
	if (s->pmi >= 0)
		close(s->pmi);
	s->pmi = -1;
	s->pmi_pending_len = 0;
}

static void reap(struct session *s)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;

	while (read(s->sfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == s->pid) {
			s->status = st;
			s->done = 1;
		} else {
			agent_execs_reaped(s->execs, p, st);
		}
}

static int handle_frame(struct session *s, const struct agent_msg *m)
{
	if (m->session)
		return agent_execs_frame(s->execs, m);
	switch (m->type) {
	case AGENT_STDIN:
		if (s->in < 0) /* the command closed its stdin */
			return 0;
		s->pending = m->data;
		s->pending_len = m->len;
		return 0;
	case AGENT_STDIN_EOF:
		s->stdin_eof = 1;
		return 0;
	case AGENT_PMI:
		if (!m->len)
			close_pmi(s);
		else if (s->pmi >= 0) {
			s->pmi_pending = m->data;
			s->pmi_pending_len = m->len;
		}
		return 0;
	case AGENT_POWEROFF:
		agent_power_off();
		return -1;
	case AGENT_EXEC: /* restored at fail: this one runs next */
		if (!have_next &&
		    agent_exec_decode(m->data, m->len, &next_ex) == 0)
			have_next = 1;
		return -1;
	case AGENT_SIGNAL: {
		int sig = agent_signal_decode(m);

		if (sig > 0 && sig < NSIG)
			kill(-s->pid, sig);
		return 0;
	}
	default:
		return -EPROTO;
	}
}

static void write_stdin(struct session *s)
{
	ssize_t n = write(s->in, s->pending, s->pending_len);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) { /* the command closed its stdin: drop the rest */
		s->pending_len = 0;
		close(s->in);
		s->in = -1;
		return;
	}
	s->pending += n;
	s->pending_len -= (size_t)n;
}

static void write_pmi(struct session *s)
{
	ssize_t n = write(s->pmi, s->pmi_pending, s->pmi_pending_len);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) { /* the command closed its PMI socket */
		close_pmi(s);
		return;
	}
	s->pmi_pending += n;
	s->pmi_pending_len -= (size_t)n;
}

/* The command wrote on its PMI socket, or closed it. Returns -1 on a port
 * error. */
static int forward_pmi(struct session *s)
{
	static uint8_t buf[4096];
	ssize_t n = read(s->pmi, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close_pmi(s);
		return agent_send(s->port, AGENT_PMI, NULL, 0);
	}
	return agent_send(s->port, AGENT_PMI, buf, (size_t)n);
}

/* Handles the frames already buffered, as far as stdin takes them. */
static int take_buffered(struct session *s)
{
	struct agent_msg m;

	while (!busy(s) && agent_rx_next(&rx, &m) == 1)
		if (handle_frame(s, &m) < 0)
			return -1;
	return 0;
}

static int relay(struct session *s)
{
	/* STDIN and its EOF may have come in the same read as EXEC (srun's
	 * stdin a short pipe): poll would not wake for them, and a command
	 * waiting on its stdin would wait for ever. */
	if (take_buffered(s) < 0)
		return -1;
	while (!s->done || s->out >= 0 || s->err >= 0) {
		struct pollfd p[7 + SYNC_POLL_COUNT + AGENT_EXEC_POLL] = {
		    {.fd = s->sfd, .events = POLLIN},
		    {.fd = s->out, .events = POLLIN},
		    {.fd = s->err, .events = POLLIN},
		    {.fd = s->pending_len ? s->in : -1, .events = POLLOUT},
		    {.fd = busy(s) ? -1 : s->port, .events = POLLIN},
		    {.fd = s->done ? -1 : s->pmi, .events = POLLIN},
		    {.fd = s->pmi_pending_len ? s->pmi : -1, .events = POLLOUT},
		};
		struct agent_msg m;
		int r;

		if (s->in >= 0 && !s->pending_len && s->stdin_eof) {
			close(s->in);
			s->in = -1;
		}
		/* After the command ended, take what its pipes still hold
		 * without waiting for writers it left behind. */
		sync_server_pollfds(s->sync, p + 7);
		agent_execs_pollfds(s->execs, p + 7 + SYNC_POLL_COUNT);
		if (poll(p, 7 + SYNC_POLL_COUNT + AGENT_EXEC_POLL,
			 s->done ? 0 : sync_server_timeout(s->sync, now_ms())) <
			0 &&
		    errno != EINTR)
			return -1;
		sync_server_step(s->sync, p + 7, now_ms());
		if (s->done && !(p[1].revents | p[2].revents))
			break;
		if (p[0].revents)
			reap(s);
		if (agent_execs_step(s->execs, p + 7 + SYNC_POLL_COUNT) < 0)
			return -1;
		if (p[1].revents) {
			ssize_t n =
			    forward_output(s->out, s->port, AGENT_STDOUT);
			if (n < 0)
				return -1;
			if (!n) {
				close(s->out);
				s->out = -1;
			}
		}
		if (p[2].revents) {
			ssize_t n =
			    forward_output(s->err, s->port, AGENT_STDERR);
			if (n < 0)
				return -1;
			if (!n) {
				close(s->err);
				s->err = -1;
			}
		}
		if (p[3].revents)
			write_stdin(s);
		if (p[5].revents && forward_pmi(s) < 0)
			return -1;
		if (p[6].revents)
			write_pmi(s);
		if (p[4].revents) {
			if (agent_rx_fill(&rx, s->port) <= 0)
				return -1; /* the launcher is gone */
			while (!busy(s) && (r = agent_rx_next(&rx, &m)) == 1)
				if (handle_frame(s, &m) < 0)
					return -1;
		}
		/* Frames already buffered when stdin drains. */
		if (take_buffered(s) < 0)
			return -1;
	}
	return 0;
}

/* The saved command gives way to a new one: it and its process group are
 * killed and reaped (for at most 5 s), its output dropped. */
static void end_command(struct session *s)
{
	int i;

	kill(-s->pid, SIGKILL);
	for (i = 0; i < 50 && !s->done; i++) {
		struct pollfd p = {.fd = s->sfd, .events = POLLIN};

		poll(&p, 1, 100);
		reap(s);
	}
	if (s->in >= 0)
		close(s->in);
	if (s->out >= 0)
		close(s->out);
	if (s->err >= 0)
		close(s->err);
	close_pmi(s);
}

/* The hostname, the job's mounts and user (before the working directory:
 * it may be on a mount). Returns 0, or -1 after telling the launcher. */
static int set_up(int port, const struct agent_exec *ex)
{
	char why[512], msg[600];
	int r;

	if (ex->hostname[0] &&
	    sethostname(ex->hostname, strlen(ex->hostname)) < 0)
		say("sethostname: %s", strerror(errno));
	if (agent_setup_take(ex->env, &setup, why, sizeof(why)) < 0 ||
	    (r = agent_setup_apply(&setup, why, sizeof(why))) < 0) {
		snprintf(msg, sizeof(msg), "slurm-vm-agent: %s\n", why);
		fail(port, msg);
		return -1;
	}
	if (r == 1) { /* no 9p in this guest: said, and the command runs */
		snprintf(msg, sizeof(msg), "slurm-vm-agent: %s", why);
		agent_send(port, AGENT_ERROR, msg, strlen(msg));
	}
	return 0;
}

static int run(int port, int sfd, const struct agent_exec *ex)
{
	struct session s = {.port = port, .sfd = sfd, .pmi = -1};
	int in[2], out[2], err[2], pmi[2], r;
	uint8_t code[AGENT_EXIT_LEN];
	uint32_t how, val;
	struct agent_exec cmd = *ex;
	char fdvar[32];
	char why[512];

	if (set_up(port, ex) < 0)
		return -1;
	s.execs = agent_execs_create(port, ex->env, &setup);
	s.sync = sync_server_start(ex->env, why, sizeof(why));
	if (why[0])
		say("slurm-vm-sync: %s", why);
	if (chdir(ex->cwd) < 0 && chdir("/") < 0)
		say("chdir: %s", strerror(errno));
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0 ||
	    agent_pmi_socket(ex, pmi, &cmd.env, fdvar, sizeof(fdvar)) < 0) {
		fail(port, "slurm-vm-agent: cannot create pipes");
		return -1;
	}
	s.pid = fork();
	if (s.pid < 0) {
		fail(port, "slurm-vm-agent: cannot fork the command");
		return -1;
	}
	if (!s.pid)
		agent_run_command(&cmd, &setup, in[0], out[1], err[1], pmi[1]);
	if (cmd.env != ex->env)
		free(cmd.env);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (pmi[1] >= 0) {
		close(pmi[1]);
		s.pmi = pmi[0];
		fcntl(s.pmi, F_SETFL, O_NONBLOCK);
	}
	s.in = in[1];
	s.out = out[0];
	s.err = err[0];
	fcntl(s.in, F_SETFL, O_NONBLOCK);
	fcntl(s.out, F_SETFL, O_NONBLOCK);
	fcntl(s.err, F_SETFL, O_NONBLOCK);
	r = relay(&s);
	sync_server_destroy(s.sync);
	agent_execs_destroy(s.execs);
	s.execs = NULL;
	if (r < 0 && have_next) {
		end_command(&s);
		return 2;
	}
	if (r < 0)
		return -1;
	while (!s.done) { /* the pipes closed before the command exited */
		struct pollfd p = {.fd = sfd, .events = POLLIN};

		poll(&p, 1, -1);
		reap(&s);
	}
	if (s.in >= 0)
		close(s.in);
	close_pmi(&s);
	how = WIFSIGNALED(s.status) ? AGENT_SIGNALED : AGENT_EXITED;
	val = how == AGENT_SIGNALED ? (uint32_t)WTERMSIG(s.status)
				    : (uint32_t)WEXITSTATUS(s.status);
	agent_exit_encode(code, how, val);
	return agent_send(port, AGENT_EXIT, code, sizeof(code));
}

/* FRESH: this guest is a clone of a snapshot taken at ready. What could
 * not be made fresh is said to the user; the command runs all the same. */
static void refresh(int port, const struct agent_msg *m)
{
	struct agent_fresh f;
	char why[300], msg[400];

	if (agent_fresh_decode(m, &f) < 0)
		snprintf(why, sizeof(why), "a malformed FRESH message");
	else if (agent_fresh_apply(&f, why, sizeof(why)) == 0)
		return;
	snprintf(msg, sizeof(msg), "slurm-vm-agent: restored guest: %s", why);
	agent_send(port, AGENT_ERROR, msg, strlen(msg));
}

/*
 * Between commands: reaps orphans and waits for the launcher's word:
 * POWEROFF, or (a guest restored from a snapshot saved at fail) an EXEC,
 * after a FRESH or not. Returns 0 with *ex filled, or -1 when the launcher
 * is gone or sent a malformed EXEC.
 */
static int next_command(int port, int sfd, struct agent_exec *ex)
{
	struct agent_msg m;

	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = port, .events = POLLIN}};
		struct signalfd_siginfo si;
		ssize_t n;

		while (agent_rx_next(&rx, &m) == 1) {
			if (m.type == AGENT_POWEROFF)
				agent_power_off();
			else if (m.type == AGENT_FRESH)
				refresh(port, &m);
			else if (m.type == AGENT_EXEC)
				return agent_exec_decode(m.data, m.len, ex);
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		n = p[1].revents ? agent_rx_fill(&rx, port) : -EAGAIN;
		if (n != -EAGAIN && n != -EINTR && n <= 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	struct agent_exec ex;
	struct agent_msg m;
	struct utsname u;
	sigset_t mask;
	int port, sfd, r;

	if (argc > 0 && sync_client_called(argv[0]))
		return sync_client_main(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	port = agent_open_port();
	if (port < 0 || sfd < 0) {
		say("no virtio-serial port named %s", AGENT_PORT_NAME);
		goto out;
	}
	uname(&u);
	if (agent_send(port, AGENT_READY, u.release, strlen(u.release)) < 0)
		goto out;
	say("ready on port %s", AGENT_PORT_NAME);
	r = recv_msg(port, &m);
	if (r == 1 && m.type == AGENT_FRESH) {
		refresh(port, &m);
		r = recv_msg(port, &m);
	}
	if (r == 1 && m.type == AGENT_POWEROFF)
		agent_power_off(); /* host mode: no command for the agent */
	if (r != 1 || m.type != AGENT_EXEC ||
	    agent_exec_decode(m.data, m.len, &ex) < 0) {
		say("%s", "expected an EXEC message; giving up");
		goto out;
	}
	for (;;) { /* each command, then the next (restored at fail) */
		r = run(port, sfd, &ex);
		agent_exec_free(&ex);
		if (r == 2) {
			ex = next_ex;
			have_next = 0;
		} else if (next_command(port, sfd, &ex) < 0) {
			break;
		}
	}
out:
	if (getpid() != 1)
		return 0;
	/* PID 1 must not exit: reap until the launcher powers us off. */
	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = port, .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, 2, 60 * 1000) == 0 && port < 0)
			reboot(RB_POWER_OFF);
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (p[1].revents) {
			if (agent_rx_fill(&rx, port) <= 0) {
				close(port); /* the launcher is gone */
				port = -1;
			}
			while (port >= 0 && agent_rx_next(&rx, &m) == 1)
				if (m.type == AGENT_POWEROFF)
					agent_power_off();
		}
	}
}
