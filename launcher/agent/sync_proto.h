/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The barrier and value protocol between the guests of a step
 * (slurm-vm-sync), served by rank 0's agent (sync_server.h) on TCP port
 * SYNC_PORT of its fabric address (fabric/addr.h: 10.0.0.1).
 *
 * One request per connection, one line, at most SYNC_LINE_MAX bytes with
 * its newline; the server answers with one line and closes:
 *
 *	BARRIER NAME MS		wait until every rank of the step has reached
 *				barrier NAME, at most MS milliseconds
 *	SET NAME VALUE		store VALUE (the rest of the line) as NAME
 *	GET NAME MS		wait at most MS ms until NAME is set, then
 *				its value; MS 0: only if it is set now
 *
 *	OK			passed (BARRIER) or stored (SET)
 *	VALUE VALUE		GET's answer
 *	TIMEOUT [A N R...]	the wait ran out; for BARRIER: A of N ranks
 *				arrived, R the first missing ranks ("..."
 *				after SYNC_MISSING_SHOWN of them)
 *	ERR TEXT		the request is refused (TEXT says why)
 *	BUSY			the server holds SYNC_CLIENTS_MAX clients
 *				that all wait for their request: try again
 *	AGAIN			a waiting client made room for a new one:
 *				send the request again (arrivals are kept)
 *
 * Names are 1 to SYNC_NAME_MAX of [A-Za-z0-9._-]; values 0 to
 * SYNC_VALUE_MAX printable ASCII bytes (space to '~'); MS at most
 * SYNC_TIMEOUT_MAX_S * 1000.
 */
#ifndef SLURM_VM_SYNC_PROTO_H
#define SLURM_VM_SYNC_PROTO_H

#include <stddef.h>

#define SYNC_PORT 7219
#define SYNC_NAME_MAX 64
#define SYNC_VALUE_MAX 1024
/* "BARRIER " (the longest verb), a name, a space, a value or a number,
 * the newline. */
#define SYNC_LINE_MAX (8 + SYNC_NAME_MAX + 1 + SYNC_VALUE_MAX + 1)
#define SYNC_TIMEOUT_MAX_S 604800 /* a week */
#define SYNC_TIMEOUT_DEFAULT_S 600
#define SYNC_MISSING_SHOWN 8

enum sync_op {
	SYNC_BARRIER = 1,
	SYNC_SET = 2,
	SYNC_GET = 3,
};

struct sync_req {
	enum sync_op op;
	char name[SYNC_NAME_MAX + 1];
	char value[SYNC_VALUE_MAX + 1]; /* SET only */
	unsigned long ms;		/* BARRIER and GET */
};

/* 1 when s[0..len) is a valid name, else 0. */
int sync_name_ok(const char *s, size_t len);

/* 1 when s[0..len) is a valid value, else 0. */
int sync_value_ok(const char *s, size_t len);

/*
 * Parses one request line (line[0..len), without its newline; any bytes).
 * Returns 0 and fills r, or -EPROTO (a verb, name, value or number out of
 * the rules above); r is then unspecified.
 */
int sync_req_parse(const char *line, size_t len, struct sync_req *r);

/*
 * Writes r as a request line with its newline and NUL into buf[0..size).
 * Returns its length without the NUL, or -EINVAL (r breaks the rules
 * above) or -ENOSPC.
 */
int sync_req_format(const struct sync_req *r, char *buf, size_t size);

#endif
