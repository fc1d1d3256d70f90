/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher <-> guest agent protocol, spoken over one virtio-serial port
 * named AGENT_PORT_NAME.
 *
 * Every message is a frame: an 8-byte header, then the payload.
 *
 *	offset 0  u8   type (enum agent_msg_type)
 *	offset 1  u8   session: 0 the task's own command, 1 to
 *		       AGENT_SESSIONS - 1 a command run beside it (below)
 *	offset 2  u8   zero[2]
 *	offset 4  u32  payload length, big-endian, at most AGENT_MAX_PAYLOAD
 *
 * Guest -> launcher
 *	READY	payload: the guest kernel's release (uname -r), no NUL.
 *		Sent once, when the agent has opened its port.
 *	STDOUT	payload: bytes the command wrote to its stdout, in order.
 *	STDERR	payload: bytes the command wrote to its stderr, in order.
 *	EXIT	payload: 8 bytes, u32 how (0: exited, 1: killed by a signal)
 *		then u32 code (exit status or signal number), big-endian.
 *		Sent after the command's last STDOUT/STDERR frame.
 *	ERROR	payload: text for the user (the command could not start).
 *		An EXIT frame follows (status 126 or 127).
 *	PMI	payload: at most AGENT_CHUNK bytes the command wrote on its
 *		PMI socket, in order; empty: the command closed it.
 *
 * Launcher -> guest
 *	EXEC	payload: u32 argc, u32 envc (big-endian), then exactly
 *		2 + argc + envc NUL-terminated strings: hostname, working
 *		directory, argv[0..argc), env[0..envc) ("NAME=value").
 *		The payload ends at the last NUL; argc >= 1.
 *	STDIN	payload: bytes for the command's stdin.
 *	STDIN_EOF  empty: close the command's stdin.
 *	SIGNAL	payload: u32 signal number, delivered to the command's
 *		process group.
 *	POWEROFF  empty: end every process (SIGTERM, then SIGKILL after
 *		2 s), sync the disks and power the guest off. Valid at
 *		any time, also after EXIT.
 *	PMI	payload: at most AGENT_CHUNK bytes for the command's PMI
 *		socket; empty: close it (the service gave up on it).
 *	FRESH	payload: AGENT_FRESH_LEN bytes: u64 seconds and u32
 *		nanoseconds of the host's clock (CLOCK_REALTIME, big-endian,
 *		nanoseconds below 10^9), AGENT_FRESH_SEED random bytes, then
 *		the new machine-id, 32 lowercase hex digits, not all zero.
 *		Sent only to a guest restored from a snapshot taken at ready,
 *		before its EXEC: the agent sets the clock, mixes the bytes
 *		into the kernel's random pool and writes /etc/machine-id, so
 *		that no two clones of one snapshot share them.
 *
 * The PMI socket: when EXEC's env holds PMI_RANK, the agent gives the
 * command one end of a stream socket pair and adds its number as PMI_FD;
 * the PMI frames carry the bytes of the other end both ways. The launcher
 * serves the PMI wire protocol on them (launcher/pmi/).
 *
 * EXEC environment entries whose name starts with AGENT_SETUP_PREFIX are
 * for the agent (agent_setup.h): it acts on them before the command starts
 * and removes them from the command's environment.
 *
 * Sessions beside the task's command (slurm-vm exec and shell). The
 * launcher opens session N (1 to AGENT_SESSIONS - 1, not in use) with
 * SPAWN; then STDIN, STDIN_EOF, SIGNAL (launcher -> guest) and STDOUT,
 * STDERR, ERROR, EXIT (guest -> launcher) carry N in their header, with
 * the same meaning as for the task's command; after EXIT the launcher may
 * open N again. Only these, CREDIT and WINCH may name a session other
 * than 0, and CREDIT, SPAWN and WINCH name one always.
 *	SPAWN	payload: u32 flags (AGENT_SPAWN_PTY), u16 rows, u16 columns,
 *		u32 argc, u32 envc, then argc + envc NUL-terminated strings:
 *		argv, then env entries added to the task's environment.
 *		Runs as the task's command does (its user, its directory),
 *		in a pseudo-terminal of that window size with AGENT_SPAWN_PTY
 *		(its stdout carries the terminal's bytes, STDERR is unused),
 *		else with pipes. At most AGENT_SPAWN_MAX bytes.
 *	WINCH	payload: u16 rows, u16 columns: the terminal's new size.
 *	CREDIT	payload: u32 bytes, both ways: flow control. Each side may
 *		have at most AGENT_WINDOW payload bytes of STDOUT and STDERR
 *		(guest) or STDIN (launcher) of a session sent and not yet
 *		credited back; the other side credits what it has passed on.
 *		So a session whose reader is slow waits alone: the channel
 *		and the task's command never do. Bytes beyond the window,
 *		or a credit beyond what was sent, break the protocol.
 *
 * One EXEC per boot. Either side treats any other byte sequence (an
 * unknown type, a non-zero pad, an oversized length, a malformed payload)
 * as a protocol error and ends the session.
 */
#ifndef SLURM_VM_AGENT_PROTO_H
#define SLURM_VM_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_PORT_NAME "slurmvm.agent"
#define AGENT_HDR_LEN 8
#define AGENT_MAX_PAYLOAD (1024 * 1024)
/* STDOUT/STDERR/STDIN payloads are sent in chunks of at most this size. */
#define AGENT_CHUNK (64 * 1024)
/* Sessions: the task's command (0) and at most AGENT_SESSIONS - 1 beside. */
#define AGENT_SESSIONS 5
#define AGENT_WINDOW (64 * 1024)
#define AGENT_SPAWN_MAX (64 * 1024)
#define AGENT_SPAWN_PTY 1u
#define AGENT_WINCH_LEN 4  /* u16 rows, u16 columns */
#define AGENT_CREDIT_LEN 4 /* u32 bytes */

enum agent_msg_type {
	AGENT_READY = 1,
	AGENT_STDOUT = 2,
	AGENT_STDERR = 3,
	AGENT_EXIT = 4,
	AGENT_ERROR = 5,
	AGENT_PMI = 6,	  /* both ways */
	AGENT_CREDIT = 7, /* both ways */
	AGENT_EXEC = 16,
	AGENT_STDIN = 17,
	AGENT_STDIN_EOF = 18,
	AGENT_SIGNAL = 19,
	AGENT_POWEROFF = 20,
	AGENT_FRESH = 21,
	AGENT_SPAWN = 22,
	AGENT_WINCH = 23,
};

enum agent_exit_how {
	AGENT_EXITED = 0,
	AGENT_SIGNALED = 1,
};
#define AGENT_EXIT_LEN 8   /* u32 how, u32 status or signal */
#define AGENT_SIGNAL_LEN 4 /* u32 signal */
#define AGENT_FRESH_SEED 64
#define AGENT_MACHINE_ID_LEN 32
#define AGENT_FRESH_LEN (12 + AGENT_FRESH_SEED + AGENT_MACHINE_ID_LEN)

/* A parsed frame; data points into the caller's buffer. */
struct agent_msg {
	uint8_t type;
	uint8_t session;
	uint32_t len;
	const uint8_t *data;
};

/* A decoded EXEC payload. The strings point into the payload; argv and env
 * are allocated, NULL-terminated arrays freed by agent_exec_free(). */
struct agent_exec {
	const char *hostname;
	const char *cwd;
	char **argv;
	char **env;
};

/* A decoded FRESH payload. */
struct agent_fresh {
	uint64_t sec;
	uint32_t nsec;
	uint8_t seed[AGENT_FRESH_SEED];
	char machine_id[AGENT_MACHINE_ID_LEN + 1]; /* NUL-terminated */
};

/* A decoded SPAWN payload; argv and env as in struct agent_exec. */
struct agent_spawn {
	uint32_t flags;
	unsigned rows, cols;
	char **argv;
	char **env;
};

/* Receive buffer with the partial frame kept across reads. */
struct agent_rx {
	uint8_t buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD];
	size_t start; /* first byte not yet consumed */
	size_t len;   /* end of the bytes read */
};

/*
 * Parses one frame from buf[0..n). Returns the bytes it spans (> 0) and
 * fills msg, 0 when buf holds only part of a frame, or -EPROTO when the
 * bytes are not a valid frame. Never reads outside buf.
 */
ssize_t agent_msg_parse(const uint8_t *buf, size_t n, struct agent_msg *msg);

/* Writes the header of a frame of type and payload length len to hdr. */
void agent_msg_header(uint8_t hdr[AGENT_HDR_LEN], uint8_t type, uint32_t len);
/* The same for session sid. */
void agent_msg_header_to(uint8_t hdr[AGENT_HDR_LEN], uint8_t sid, uint8_t type,
			 uint32_t len);

/*
 * Reads from fd into rx. Returns the bytes read (> 0), 0 at end of file,
 * or -errno (-EAGAIN for a non-blocking fd with nothing to read).
 */
ssize_t agent_rx_fill(struct agent_rx *rx, int fd);

/*
 * Takes the next complete frame from rx. Returns 1 and fills msg (valid
 * until the next agent_rx_fill() or agent_rx_next()), 0 when no complete
 * frame is buffered, or -EPROTO.
 */
int agent_rx_next(struct agent_rx *rx, struct agent_msg *msg);

/*
 * Writes one whole frame to a blocking fd, retrying partial writes.
 * Returns 0 or -errno.
 */
int agent_send(int fd, uint8_t type, const void *data, size_t len);
/* The same for session sid. */
int agent_send_to(int fd, uint8_t sid, uint8_t type, const void *data,
		  size_t len);

/*
 * Encodes an EXEC payload into a malloc'd buffer (*out, *out_len; the
 * caller frees it). Returns 0, -E2BIG when it would exceed
 * AGENT_MAX_PAYLOAD, or -ENOMEM.
 */
int agent_exec_encode(const char *hostname, const char *cwd, char *const argv[],
		      char *const env[], uint8_t **out, size_t *out_len);

/*
 * Decodes an EXEC payload. Returns 0 and fills ex (pointing into data, so
 * data must outlive ex), -EPROTO on a malformed payload, or -ENOMEM.
 */
int agent_exec_decode(const uint8_t *data, size_t len, struct agent_exec *ex);

/* Frees what agent_exec_decode() allocated; NULL-safe. */
void agent_exec_free(struct agent_exec *ex);

/* EXIT's payload: how (AGENT_EXITED, AGENT_SIGNALED) and the status or
 * the signal. */
void agent_exit_encode(uint8_t out[AGENT_EXIT_LEN], enum agent_exit_how how,
		       uint32_t val);
/* The task's exit code an EXIT frame carries: its status (0-255), or 128+N
 * for signal N. Returns it, or -EPROTO for anything else. */
int agent_exit_decode(const struct agent_msg *m);

/* ERROR's text (a message from the agent for the user) made printable
 * into out (len bytes, NUL-terminated): other bytes than printable ASCII
 * and newlines become '?'. */
void agent_error_text(const struct agent_msg *m, char *out, size_t len);

/* SIGNAL's payload, and the signal a SIGNAL frame carries (1 to 127), or
 * -EPROTO. */
void agent_signal_encode(uint8_t out[AGENT_SIGNAL_LEN], int sig);
int agent_signal_decode(const struct agent_msg *m);

/* FRESH's payload from f (its machine_id: 32 lowercase hex digits, not
 * all zero). Returns 0, or -EINVAL for a bad f (nsec, machine_id). */
int agent_fresh_encode(uint8_t out[AGENT_FRESH_LEN],
		       const struct agent_fresh *f);
/* The FRESH frame m decoded into f. Returns 0 or -EPROTO (a bad length,
 * nanoseconds of 10^9 or more, a machine-id not 32 lowercase hex digits
 * or all zero). */
int agent_fresh_decode(const struct agent_msg *m, struct agent_fresh *f);

/*
 * Encodes a SPAWN payload into a malloc'd buffer (*out, *out_len). Returns
 * 0, -EINVAL (no argv[0], a size over 65535), -E2BIG beyond
 * AGENT_SPAWN_MAX, or -ENOMEM.
 */
int agent_spawn_encode(uint32_t flags, unsigned rows, unsigned cols,
		       char *const argv[], char *const env[], uint8_t **out,
		       size_t *out_len);
/* Decodes a SPAWN frame (pointing into its data). Returns 0, -EPROTO or
 * -ENOMEM; agent_spawn_free() it. */
int agent_spawn_decode(const struct agent_msg *m, struct agent_spawn *sp);
void agent_spawn_free(struct agent_spawn *sp);

/* WINCH's and CREDIT's payloads, and their decoders: 0, or -EPROTO (a
 * wrong type or length, a credit of 0 or over AGENT_WINDOW). */
void agent_winch_encode(uint8_t out[AGENT_WINCH_LEN], unsigned rows,
			unsigned cols);
int agent_winch_decode(const struct agent_msg *m, unsigned *rows,
		       unsigned *cols);
void agent_credit_encode(uint8_t out[AGENT_CREDIT_LEN], uint32_t n);
int agent_credit_decode(const struct agent_msg *m, uint32_t *n);

#endif
