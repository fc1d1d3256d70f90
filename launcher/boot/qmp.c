/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP speaks one JSON object per line. Replies are parsed with jansson and
 * checked for shape: QEMU is trusted more than the guest, but a malformed
 * line is still an error, not a crash.
 *
 * Every command carries an "id", a counter, and QEMU copies it into the
 * reply. A command waits only for the reply with its own id: a reply that
 * comes after its command timed out, or one with another or no id, is
 * discarded and counted, so it is never taken as the answer to a later
 * command. Events may come at any time, between replies too; no caller
 * waits for one (the migration wait polls query-migrate), so they are
 * skipped here and by qmp_drain().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "launcher/common/clock.h"
#include "launcher/common/io.h"
#include "launcher/boot/qmp.h"

#define QMP_LINE_MAX (256 * 1024)
#define QMP_DRAIN_MAX 256 /* messages per qmp_drain(), so a flood ends */

struct qmp {
	int fd;
	json_int_t last_id;	 /* the id of the last command sent */
	unsigned long discarded; /* replies that were not awaited */
	char buf[QMP_LINE_MAX];
	size_t len;
};

/* Reads one line into a parsed JSON object. NULL with errno on failure;
 * waits until deadline (now_ms() time), and only takes what is ready when
 * it has passed. */
static json_t *read_object(struct qmp *q, long deadline)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		long left;
		ssize_t n;

		if (nl) {
			size_t line = (size_t)(nl - q->buf) + 1;
			json_t *o = json_loadb(q->buf, line, 0, NULL);

			memmove(q->buf, q->buf + line, q->len - line);
			q->len -= line;
			if (!json_is_object(o)) {
				json_decref(o);
				errno = EPROTO;
				return NULL;
			}
			return o;
		}
		if (q->len == sizeof(q->buf)) {
			errno = EPROTO;
			return NULL;
		}
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0) {
			errno = ETIMEDOUT;
			return NULL;
		}
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? EPIPE : errno;
			return NULL;
		}
		q->len += (size_t)n;
	}
}

enum qmp_kind {
	QMP_OTHER,   /* an event, or an object of no known kind */
	QMP_FOREIGN, /* a reply, but not to the command awaited */
	QMP_RETURN,  /* the awaited reply: its "return" value */
	QMP_ERROR,   /* the awaited reply: an error, its "desc" */
};

/*
 * Sorts one message for the command whose id is want. For QMP_RETURN,
 * *val is the "return" member (borrowed from o); for QMP_ERROR, *desc is
 * the error's text or NULL. No I/O: the shape checks in one place.
 */
static enum qmp_kind classify(json_t *o, json_int_t want, json_t **val,
			      const char **desc)
{
	json_t *id = json_object_get(o, "id");
	json_t *ret = json_object_get(o, "return");
	json_t *e = json_object_get(o, "error");

	if (!ret && !e)
		return QMP_OTHER;
	if (!json_is_integer(id) || json_integer_value(id) != want)
		return QMP_FOREIGN;
	if (ret) {
		*val = ret;
		return QMP_RETURN;
	}
	*desc = json_string_value(json_object_get(e, "desc"));
	return QMP_ERROR;
}

struct qmp *qmp_open(int fd, int timeout_ms)
{
	struct qmp *q = calloc(1, sizeof(*q));
	json_t *greeting, *r;
	int e;

	if (!q) {
		close(fd);
		return NULL;
	}
	q->fd = fd;
	/* Writes wait for room until the command's deadline, never longer
	 * (send_text()); reads poll first. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	greeting = read_object(q, now_ms() + timeout_ms);
	if (!greeting)
		goto fail;
	if (!json_object_get(greeting, "QMP")) {
		json_decref(greeting);
		errno = EPROTO;
		goto fail;
	}
	json_decref(greeting);
	r = qmp_execute(q, "qmp_capabilities", NULL, timeout_ms, NULL, 0);
	if (!r)
		goto fail;
	json_decref(r);
	return q;
fail:
	e = errno;
	qmp_close(q);
	errno = e;
	return NULL;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	free(q);
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

/* Waits until q's socket takes bytes or deadline passes (-1, errno set). */
static int wait_room(struct qmp *q, long deadline)
{
	struct pollfd p = {.fd = q->fd, .events = POLLOUT};
	long left = deadline - now_ms();

	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
		       errno != EINTR
		   ? -1
		   : 0;
}

/*
 * Writes the command's text by deadline; with fd >= 0 the first bytes
 * carry it. Returns 0, or -1 with errno set (ETIMEDOUT: QEMU did not take
 * it in time).
 */
static int send_text(struct qmp *q, const char *text, size_t len, int fd,
		     long deadline)
{
	size_t off = 0;
	int r;

	if (fd >= 0) {
		char ctl[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec iov = {.iov_base = (void *)text, .iov_len = len};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		ssize_t n;

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		while ((n = sendmsg(q->fd, &mh, MSG_NOSIGNAL)) < 0)
			if ((errno != EINTR && errno != EAGAIN) ||
			    wait_room(q, deadline) < 0)
				return -1;
		off = (size_t)n;
	}
	r = write_until(q->fd, (const uint8_t *)text + off, len - off,
			deadline);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

json_t *qmp_execute(struct qmp *q, const char *cmd, json_t *args,
		    int timeout_ms, char *err, size_t errlen)
{
	return qmp_execute_fd(q, cmd, args, -1, timeout_ms, err, errlen);
}

json_t *qmp_execute_fd(struct qmp *q, const char *cmd, json_t *args, int fd,
		       int timeout_ms, char *err, size_t errlen)
{
	long deadline = now_ms() + timeout_ms;
	json_int_t id = ++q->last_id;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", id);
	char *text;
	size_t len;

	if (!req) {
		json_decref(args);
		errno = ENOMEM;
		return NULL;
	}
	if (args)
		json_object_set_new(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text) {
		errno = ENOMEM;
		return NULL;
	}
	len = strlen(text);
	text[len++] = '\n'; /* replaces the NUL; len counts the newline */
	if (send_text(q, text, len, fd, deadline) < 0) {
		int e = errno == ETIMEDOUT ? ETIMEDOUT : EPIPE;

		if (err)
			snprintf(err, errlen, "%s: %s", cmd,
				 e == ETIMEDOUT ? "QEMU took no command in time"
						: "QEMU's QMP socket is gone");
		free(text);
		errno = e;
		return NULL;
	}
	free(text);
	for (;;) {
		json_t *o = read_object(q, deadline), *ret = NULL;
		const char *desc = NULL;

		if (!o)
			return NULL;
		switch (classify(o, id, &ret, &desc)) {
		case QMP_RETURN:
			json_incref(ret);
			json_decref(o);
			return ret;
		case QMP_ERROR:
			if (err)
				snprintf(err, errlen, "%s: %s", cmd,
					 desc ? desc : "error");
			json_decref(o);
			errno = EIO;
			return NULL;
		case QMP_FOREIGN:
			q->discarded++; /* late, or not ours */
			break;
		case QMP_OTHER:
			break; /* an event */
		}
		json_decref(o);
	}
}

int qmp_vcpu_threads(struct qmp *q, pid_t *tid, unsigned max, char *err,
		     size_t errlen)
{
	json_t *cpus =
	    qmp_execute(q, "query-cpus-fast", NULL, 30000, err, errlen);
	json_t *cpu;
	size_t i;
	unsigned n = 0;

	if (!cpus) {
		if (errno != EIO)
			snprintf(err, errlen, "query-cpus-fast: %s",
				 strerror(errno));
		return -EIO;
	}
	json_array_foreach(cpus, i, cpu)
	{
		json_int_t idx =
		    json_integer_value(json_object_get(cpu, "cpu-index"));
		json_int_t t =
		    json_integer_value(json_object_get(cpu, "thread-id"));

		if (!json_is_integer(json_object_get(cpu, "thread-id")) ||
		    idx < 0 || (json_int_t)max <= idx || t <= 0) {
			json_decref(cpus);
			snprintf(err, errlen,
				 "query-cpus-fast: unexpected reply");
			return -EPROTO;
		}
		tid[idx] = (pid_t)t;
		if ((unsigned)idx + 1 > n)
			n = (unsigned)idx + 1;
	}
	json_decref(cpus);
	return (int)n;
}

int qmp_migrate_without_memory(struct qmp *q, char *err, size_t errlen)
{
	json_t *r =
	    qmp_execute(q, "migrate-set-capabilities",
			json_pack("{s:[{s:s, s:b}]}", "capabilities",
				  "capability", "x-ignore-shared", "state", 1),
			10000, err, errlen);

	if (!r)
		return -(errno ? errno : EIO);
	json_decref(r);
	return 0;
}

int qmp_migration_wait(struct qmp *q, const char *what, int timeout_ms,
		       char *err, size_t errlen)
{
	long until = now_ms() + timeout_ms;

	while (now_ms() < until) {
		long left = until - now_ms();
		json_t *r = qmp_execute(q, "query-migrate", NULL,
					left < 10000 ? (int)left + 1 : 10000,
					err, errlen);
		const char *st, *why;

		if (!r && errno != EIO) /* EIO: err has QEMU's reason */
			snprintf(err, errlen, "%s: query-migrate: %s", what,
				 strerror(errno));
		if (!r)
			return -EIO;
		st = json_string_value(json_object_get(r, "status"));
		if (st && !strcmp(st, "completed")) {
			json_decref(r);
			return 0;
		}
		if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			why =
			    json_string_value(json_object_get(r, "error-desc"));
			snprintf(err, errlen, "%s: %s", what, why ? why : st);
			json_decref(r);
			return -EIO;
		}
		json_decref(r);
		usleep(5 * 1000);
	}
	snprintf(err, errlen, "%s took over %d s", what, timeout_ms / 1000);
	return -ETIMEDOUT;
}

int qmp_version(struct qmp *q, char *buf, size_t len)
{
	json_t *v = qmp_execute(q, "query-version", NULL, 10000, NULL, 0);
	json_t *n;

	if (!v)
		return -errno;
	n = json_object_get(v, "qemu");
	snprintf(buf, len,
		 "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT
		 ".%" JSON_INTEGER_FORMAT " %s",
		 json_integer_value(json_object_get(n, "major")),
		 json_integer_value(json_object_get(n, "minor")),
		 json_integer_value(json_object_get(n, "micro")),
		 json_string_value(json_object_get(v, "package")) ?: "");
	json_decref(v);
	return 0;
}

int qmp_drain(struct qmp *q)
{
	int i;

	for (i = 0; i < QMP_DRAIN_MAX; i++) {
		json_t *o = read_object(q, 0), *ret = NULL;
		const char *desc = NULL;

		if (!o)
			return errno == EPIPE ? -EPIPE : 0;
		/* no command waits now: any reply is a late one */
		if (classify(o, 0, &ret, &desc) != QMP_OTHER)
			q->discarded++;
		json_decref(o);
	}
	return 0;
}

unsigned long qmp_discarded(const struct qmp *q)
{
	return q->discarded;
}
