/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sessions beside the task's command, in the guest (agent_exec.h).
 *
 * A session's life: SPAWN forks its command in its own process group
 * (pipes, or the slave of a new pseudo-terminal as its controlling
 * terminal); its output is read only while the launcher's credit lasts
 * and sent as STDOUT/STDERR of its session; STDIN bytes wait in the
 * session's window until the command takes them, and what it took is
 * credited back. Once the command is reaped, what its pipes still hold
 * is sent (without waiting for writers it left behind), then EXIT, and
 * the session is free again. A pseudo-terminal's process group is hung
 * up when its command ends, as a terminal's would be.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "launcher/agent/agent_exec.h"
#include "launcher/agent/agent_setup.h"

struct xs {
	int used;
	pid_t pid;
	int reaped, status, pty;
	int in, out, err; /* -1 when closed; a pty's master is in and out */
	uint32_t credit;  /* output bytes the launcher takes now */
	uint8_t win[AGENT_WINDOW]; /* stdin not yet written */
	size_t off, len;
	int eof;
};

struct agent_execs {
	int port;
	char *const *env;
	const struct agent_setup *setup;
	struct xs x[AGENT_SESSIONS]; /* [0] unused: the task's own */
};

struct agent_execs *agent_execs_create(int port, char *const *env,
				       const struct agent_setup *setup)
{
	struct agent_execs *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->port = port;
	e->env = env;
	e->setup = setup;
	return e;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void xs_close(struct xs *x)
{
	if (x->pty)
		x->out = -1; /* the same fd as in */
	close_fd(&x->in);
	close_fd(&x->out);
	close_fd(&x->err);
	x->used = 0;
}

void agent_execs_destroy(struct agent_execs *e)
{
	int i;

	if (!e)
		return;
	for (i = 1; i < AGENT_SESSIONS; i++)
		if (e->x[i].used) {
			if (!e->x[i].reaped)
				kill(-e->x[i].pid, SIGKILL);
			xs_close(&e->x[i]);
		}
	free(e);
}

unsigned agent_execs_open(const struct agent_execs *e)
{
	unsigned n = 0;
	int i;

	if (!e)
		return 0;
	for (i = 1; i < AGENT_SESSIONS; i++)
		n += e->x[i].used != 0;
	return n;
}

static int name_is(const char *entry, const char *other)
{
	size_t n = strcspn(other, "=");

	return !strncmp(entry, other, n) && entry[n] == '=';
}

/* The SPAWN's entries, then the task's not named by them. */
static char **command_env(const struct agent_execs *e, char **add)
{
	size_t n = 0, m = 0, i, j, k = 0;
	char **env;

	while (e->env && e->env[n])
		n++;
	while (add[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (j = 0; j < m; j++)
		env[k++] = add[j];
	for (i = 0; i < n; i++) {
		for (j = 0; j < m && !name_is(e->env[i], add[j]); j++)
			;
		if (j == m)
			env[k++] = e->env[i];
	}
	return env;
}

/* In the child: never returns. */
static void child(const struct agent_execs *e, const struct agent_spawn *sp,
		  char **env, int fd[3], const char *slave)
{
	extern char **environ;
	sigset_t none;

	setsid();
	if (slave) {
		int t = open(slave, O_RDWR);

		if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
			_exit(126);
		if (e->setup->has_user && fchown(t, e->setup->uid, (gid_t)-1))
			_exit(126);
		fd[0] = fd[1] = fd[2] = t;
	}
	dup2(fd[0], 0);
	dup2(fd[1], 1);
	dup2(fd[2], 2);
	if (slave && fd[0] > 2)
		close(fd[0]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A command's signals as a fresh process has them. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (agent_setup_become(e->setup) < 0) {
		fprintf(stderr, "slurm-vm-agent: cannot become the job's user "
				"in the guest\n");
		_exit(126);
	}
	environ = env;
	execvp(sp->argv[0], sp->argv);
	fprintf(stderr, "slurm-vm-agent: cannot run '%s' in the guest: %s\n",
		sp->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* A pseudo-terminal of sp's size: its master (into x) and slave's name. */
static int open_pty(struct xs *x, const struct agent_spawn *sp, char *slave,
		    size_t len)
{
	struct winsize ws = {.ws_row = (unsigned short)sp->rows,
			     .ws_col = (unsigned short)sp->cols};
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, slave, len) != 0) {
		if (m >= 0)
			close(m);
		return -1;
	}
	if (ws.ws_row && ws.ws_col)
		ioctl(m, TIOCSWINSZ, &ws);
	x->in = x->out = m;
	x->err = -1;
	x->pty = 1;
	return 0;
}

static int open_pipes(struct xs *x, int fd[3])
{
	int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, i;

	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			while (i--) {
				close(p[i][0]);
				close(p[i][1]);
			}
			return -1;
		}
	fd[0] = p[0][0];
	fd[1] = p[1][1];
	fd[2] = p[2][1];
	x->in = p[0][1];
	x->out = p[1][0];
	x->err = p[2][0];
	return 0;
}

/* Says why session sid could not start: ERROR, then EXIT 125. */
static int refuse(struct agent_execs *e, uint8_t sid, const char *why)
{
	uint8_t code[AGENT_EXIT_LEN];

	agent_exit_encode(code, AGENT_EXITED, 125);
	if (agent_send_to(e->port, sid, AGENT_ERROR, why, strlen(why)) < 0 ||
	    agent_send_to(e->port, sid, AGENT_EXIT, code, sizeof(code)) < 0)
		return -1;
	return 0;
}

static int spawn(struct agent_execs *e, const struct agent_msg *m)
{
	struct xs *x = &e->x[m->session];
	int fd[3] = {-1, -1, -1}, i;
	struct agent_spawn sp;
	char slave[128];
	char **env;

	if (x->used)
		return 0; /* the launcher never does this: dropped */
	if (agent_spawn_decode(m, &sp) < 0)
		return refuse(e, m->session,
			      "slurm-vm-agent: a malformed SPAWN message");
	memset(x, 0, sizeof(*x));
	x->in = x->out = x->err = -1;
	env = command_env(e, sp.env);
	if (!env || ((sp.flags & AGENT_SPAWN_PTY)
			 ? open_pty(x, &sp, slave, sizeof(slave))
			 : open_pipes(x, fd)) < 0) {
		free(env);
		agent_spawn_free(&sp);
		xs_close(x);
		return refuse(e, m->session,
			      "slurm-vm-agent: cannot create the command's "
			      "pipes or terminal");
	}
	x->pid = fork();
	if (!x->pid)
		child(e, &sp, env, fd, x->pty ? slave : NULL);
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(env);
	agent_spawn_free(&sp);
	if (x->pid < 0) {
		xs_close(x);
		return refuse(e, m->session,
			      "slurm-vm-agent: cannot fork the command");
	}
	fcntl(x->in, F_SETFL, O_NONBLOCK);
	if (!x->pty) {
		fcntl(x->out, F_SETFL, O_NONBLOCK);
		fcntl(x->err, F_SETFL, O_NONBLOCK);
	}
	x->used = 1;
	x->credit = AGENT_WINDOW;
	return 0;
}

static void take_stdin(struct xs *x, const struct agent_msg *m)
{
	if (x->in < 0)
		return; /* the command closed its stdin: dropped */
	if (x->off && x->len + m->len > sizeof(x->win)) {
		memmove(x->win, x->win + x->off, x->len - x->off);
		x->len -= x->off;
		x->off = 0;
	}
	/* More than the window: the launcher broke the protocol. */
	if (x->len + m->len > sizeof(x->win))
		return;
	memcpy(x->win + x->len, m->data, m->len);
	x->len += m->len;
}

int agent_execs_frame(struct agent_execs *e, const struct agent_msg *m)
{
	struct xs *x;
	unsigned rows, cols;
	uint32_t n;
	int sig;

	if (!e || m->session < 1 || m->session >= AGENT_SESSIONS)
		return 0;
	x = &e->x[m->session];
	if (m->type == AGENT_SPAWN)
		return spawn(e, m);
	if (!x->used)
		return 0; /* a session that ended meanwhile */
	switch (m->type) {
	case AGENT_STDIN:
		take_stdin(x, m);
		break;
	case AGENT_STDIN_EOF:
		x->eof = 1;
		break;
	case AGENT_SIGNAL:
		sig = agent_signal_decode(m);
		if (sig > 0 && sig < NSIG && !x->reaped)
			kill(-x->pid, sig);
		break;
	case AGENT_WINCH:
		if (x->pty && agent_winch_decode(m, &rows, &cols) == 0) {
			struct winsize ws = {.ws_row = (unsigned short)rows,
					     .ws_col = (unsigned short)cols};

			ioctl(x->in, TIOCSWINSZ, &ws);
		}
		break;
	case AGENT_CREDIT:
		if (agent_credit_decode(m, &n) == 0 &&
		    x->credit + n <= AGENT_WINDOW)
			x->credit += n;
		break;
	default:
		break;
	}
	return 0;
}

void agent_execs_pollfds(const struct agent_execs *e, struct pollfd *p)
{
	int i;

	for (i = 1; i < AGENT_SESSIONS; i++, p += 3) {
		static const struct xs none;
		const struct xs *x = e ? &e->x[i] : &none;
		int can = x->used && x->credit > 0;

		p[0] =
		    (struct pollfd){.fd = can ? x->out : -1, .events = POLLIN};
		p[1] =
		    (struct pollfd){.fd = can ? x->err : -1, .events = POLLIN};
		p[2] = (struct pollfd){.fd = x->used && x->off < x->len ? x->in
									: -1,
				       .events = POLLOUT};
	}
}

/* Sends what fd holds, within the credit. Returns the bytes sent, 0 at
 * its end, -EAGAIN when nothing is there now, -EPIPE when the port
 * failed. */
static ssize_t forward(struct agent_execs *e, int sid, struct xs *x, int fd,
		       uint8_t type)
{
	static uint8_t buf[AGENT_CHUNK];
	size_t want = x->credit < sizeof(buf) ? x->credit : sizeof(buf);
	ssize_t n;

	if (!want)
		return -EAGAIN;
	n = read(fd, buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n <= 0) /* its end; a pty's master says EIO */
		return 0;
	x->credit -= (uint32_t)n;
	if (agent_send_to(e->port, (uint8_t)sid, type, buf, (size_t)n) < 0)
		return -EPIPE;
	return n;
}

static int write_stdin(struct agent_execs *e, int sid, struct xs *x)
{
	uint8_t c[AGENT_CREDIT_LEN];
	ssize_t n = write(x->in, x->win + x->off, x->len - x->off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) { /* the command closed its stdin: what is left goes */
		n = (ssize_t)(x->len - x->off);
		if (!x->pty)
			close_fd(&x->in);
	}
	x->off += (size_t)n;
	if (x->off == x->len)
		x->off = x->len = 0;
	agent_credit_encode(c, (uint32_t)n);
	return n ? agent_send_to(e->port, (uint8_t)sid, AGENT_CREDIT, c,
				 sizeof(c))
		 : 0;
}

/* The command was reaped and its output is out: EXIT, the session ends. */
static int finish(struct agent_execs *e, int sid, struct xs *x)
{
	uint8_t code[AGENT_EXIT_LEN];
	int st = x->status;

	if (x->pty)
		kill(-x->pid, SIGHUP);
	agent_exit_encode(code, WIFSIGNALED(st) ? AGENT_SIGNALED : AGENT_EXITED,
			  WIFSIGNALED(st) ? (uint32_t)WTERMSIG(st)
					  : (uint32_t)WEXITSTATUS(st));
	xs_close(x);
	return agent_send_to(e->port, (uint8_t)sid, AGENT_EXIT, code,
			     sizeof(code));
}

/* Output of session sid: what poll found, or after its command ended all
 * that is there now. Returns 1 when both outputs are done, 0, -1. */
static int drain(struct agent_execs *e, int sid, struct xs *x,
		 const struct pollfd *p)
{
	int *fd[2] = {&x->out, &x->err}, i;

	for (i = 0; i < 2; i++) {
		ssize_t n;

		if (*fd[i] < 0 || (!x->reaped && !p[i].revents))
			continue;
		do
			n = forward(e, sid, x, *fd[i],
				    i ? AGENT_STDERR : AGENT_STDOUT);
		while (x->reaped && n > 0);
		if (n == -EPIPE)
			return -1;
		/* Ended, or nothing more now from a command that is gone. */
		if (!n || (x->reaped && n == -EAGAIN && x->credit)) {
			if (x->pty && !i)
				x->in = -1; /* the same fd */
			close_fd(fd[i]);
		}
	}
	return x->out < 0 && x->err < 0;
}

int agent_execs_step(struct agent_execs *e, const struct pollfd *p)
{
	int i, r;

	if (!e)
		return 0;
	for (i = 1; i < AGENT_SESSIONS; i++, p += 3) {
		struct xs *x = &e->x[i];

		if (!x->used)
			continue;
		if (p[2].revents && x->in >= 0 && write_stdin(e, i, x) < 0)
			return -1;
		if (x->eof && x->off == x->len && x->in >= 0 && !x->pty)
			close_fd(&x->in);
		r = drain(e, i, x, p);
		if (r < 0)
			return -1;
		if (r == 1 && x->reaped && finish(e, i, x) < 0)
			return -1;
	}
	return 0;
}

int agent_execs_reaped(struct agent_execs *e, pid_t pid, int status)
{
	int i;

	if (!e)
		return 0;
	for (i = 1; i < AGENT_SESSIONS; i++)
		if (e->x[i].used && !e->x[i].reaped && e->x[i].pid == pid) {
			e->x[i].reaped = 1;
			e->x[i].status = status;
			return 1;
		}
	return 0;
}
