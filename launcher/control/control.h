/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher's control socket: control.sock in its private run directory
 * (0700, the job's user), served from the launcher's loop, for the
 * node-side program of slurm-vm(1) (launcher/control/ctl_main.c).
 *
 * The protocol, one line each way per request:
 *   request  "status" | "pause" | "resume" | "qmp {...}"  and "\n",
 *            at most CONTROL_LINE_MAX bytes with its newline;
 *   reply    one JSON object and "\n": {"return": ...} on success,
 *            {"error": "text"} on failure (as QMP's own replies).
 * A connection may carry several requests, one after the other.
 *
 * "exec {JSON}" opens a session beside the task's command (the launcher
 * says what JSON it takes). Its reply {"return": {"session": N}} is the
 * last line: the connection then carries the session's frames both ways,
 * in the launcher's agent format (its header's session EXEC_LINK_SESSION),
 * which
 * this layer passes on without reading them: the client's bytes go to
 * ops.exec_input as the launcher takes them (at most CONTROL_EXEC_IN
 * bytes wait here), the launcher's go out through control_exec_output()
 * (at most CONTROL_EXEC_OUT_MAX bytes wait). The connection has no idle
 * limit then; output not taken for CONTROL_EXEC_STALL_MS drops it. Its
 * end (EOF, an error, a drop) is the session's end (ops.exec_gone), and
 * the session's end (control_exec_end()) is the connection's.
 *
 * Bounds: at most CONTROL_CLIENTS connections (one more is closed at
 * once); a connection idle (nothing read or written) for CONTROL_IDLE_MS
 * is dropped; replies wait in a buffer of at most CONTROL_OUT_MAX bytes,
 * written without blocking, and a client that lets it overflow is
 * dropped. A peer whose SO_PEERCRED uid is not the launcher's gets one
 * error line and is closed. The launcher's own work never waits for a
 * client.
 *
 * The handlers the requests reach (the guest's status, QMP) are the
 * launcher's, given as ops by run.c: this layer never calls another.
 */
#ifndef SLURM_VM_CONTROL_H
#define SLURM_VM_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "launcher/common/loop.h"

#define CONTROL_SOCKET "control.sock"
#define CONTROL_LINE_MAX 4096
#define CONTROL_CLIENTS 8
#define CONTROL_IDLE_MS 5000
#define CONTROL_OUT_MAX (256 * 1024)
/* A client's STDIN frame carries at most this many bytes; every frame on
 * a session's connection names this session in its header. */
#define CONTROL_EXEC_CHUNK 4096
#define EXEC_LINK_SESSION 1
#define CONTROL_EXEC_IN (CONTROL_LINE_MAX + 16)
#define CONTROL_EXEC_OUT_MAX (1024 * 1024)
#define CONTROL_EXEC_STALL_MS 60000

/* What "status" reports, filled by the launcher. */
struct control_status {
	unsigned long job, step, rank;
	const char *state; /* booting, running, paused, saving, stopping */
	char hostname[64];
	char addr[32]; /* the guest's fabric address, "" without a fabric */
	unsigned long cpus, mem_mb;
	long uptime_s;
	pid_t qemu_pid;	    /* 0: gone; else its CPU time is read from /proc */
	char console[4352]; /* the guest's console log */
	const char *node;   /* Slurm's name for the launcher's node */
};

/*
 * The launcher's side. Each returns 0 or -errno with a message in err;
 * none may block for longer than a QMP command's time limit.
 */
struct control_ops {
	int (*status)(void *arg, struct control_status *st, char *err,
		      size_t errlen);
	int (*pause)(void *arg, char *err, size_t errlen);
	int (*resume)(void *arg, char *err, size_t errlen);
	/* One QMP command (args NULL or an object, borrowed): *ret gets its
	 * "return" value (a new reference). */
	int (*qmp)(void *arg, const char *cmd, json_t *args, json_t **ret,
		   char *err, size_t errlen);
	void *arg;
	/*
	 * exec (all NULL: refused). exec_open gets the request's JSON
	 * (borrowed) and the connection's number (client, for the
	 * control_exec_*() calls) and returns the session's handle (>= 0)
	 * or -errno with a message in err. exec_input returns how many of
	 * the len bytes it took (0: none now, ask again after
	 * control_exec_kick()), or -1 to drop the connection. exec_written:
	 * output left for the client. exec_gone: the connection is gone
	 * (the handle is dead). None of them may call control_close().
	 */
	int (*exec_open)(void *arg, json_t *req, unsigned client, char *err,
			 size_t errlen);
	ssize_t (*exec_input)(void *arg, int h, const void *buf, size_t len);
	void (*exec_written)(void *arg, int h);
	void (*exec_gone)(void *arg, int h);
};

struct control;

/*
 * Binds dir/control.sock (dir: the launcher's own 0700 run directory; a
 * file already there is an error) and serves it on l with ops (copied).
 * Returns the server, or NULL with errno set and a message in err.
 */
struct control *control_open(struct loop *l, const char *dir,
			     const struct control_ops *ops, char *err,
			     size_t errlen);

/* Closes every connection and the socket and removes its file;
 * NULL-safe. */
void control_close(struct control *c);

/*
 * A session's bytes for connection client: queued and written as the
 * socket takes them. Returns 0, -ENOBUFS when more than
 * CONTROL_EXEC_OUT_MAX would wait (nothing queued), -ENOTCONN when the
 * connection is not a session's.
 */
int control_exec_output(struct control *c, unsigned client, const void *buf,
			size_t len);
/* The bytes waiting for client (0 for a connection that is gone). */
size_t control_exec_pending(const struct control *c, unsigned client);
/* The session ended: client closes once its output is written (no
 * exec_gone). */
void control_exec_end(struct control *c, unsigned client);
/* The launcher takes input again: what waits is offered at once. */
void control_exec_kick(struct control *c, unsigned client);

/* How many connections are open (for tests). */
unsigned control_clients(const struct control *c);

/*
 * The host CPU time of process pid, user and system, in seconds, from
 * /proc/<pid>/stat. Returns 0 or -errno (-EPROTO for a line of the wrong
 * shape).
 */
int control_cpu_time(pid_t pid, double *seconds);

/*
 * Parses a /proc/<pid>/stat line (pure; the command name may hold spaces
 * and parentheses). Returns 0 with utime+stime in clock ticks, or
 * -EPROTO.
 */
int control_parse_stat(const char *line, unsigned long long *ticks);

#endif
