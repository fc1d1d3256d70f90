/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/loop.h"

#define BATCH 16
#define GONE_MAX 64

struct loop {
	int epfd;
	struct loop_timer *timers; /* sorted by at, soonest first */
	int stopping, code;
	/* Entries removed during the current round: their events, still in
	 * the batch, are skipped. */
	struct loop_fd *gone[GONE_MAX];
	int ngone, flush; /* flush: too many to track; end the round */
};

struct loop *loop_create(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, struct loop_fd *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, e->fd, &ev) < 0)
		return -errno;
	e->loop = l;
	e->events = events;
	return 0;
}

int loop_mod(struct loop_fd *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};

	if (!e->loop)
		return -EBADF;
	if (e->events == events)
		return 0;
	if (epoll_ctl(e->loop->epfd, EPOLL_CTL_MOD, e->fd, &ev) < 0)
		return -errno;
	e->events = events;
	return 0;
}

void loop_del(struct loop_fd *e)
{
	struct loop *l = e->loop;

	if (!l)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	if (l->ngone < GONE_MAX)
		l->gone[l->ngone++] = e;
	else
		l->flush = 1; /* level-triggered: the rest comes again */
	e->loop = NULL;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **p;

	for (p = &l->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->at = 0;
	t->next = NULL;
}

void loop_timer_in(struct loop *l, struct loop_timer *t, long ms)
{
	struct loop_timer **p;

	loop_timer_stop(l, t);
	t->at = now_ms() + (ms > 0 ? ms : 0);
	if (!t->at)
		t->at = 1;
	for (p = &l->timers; *p && (*p)->at <= t->at; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
}

void loop_stop(struct loop *l, int code)
{
	if (l->stopping)
		return; /* the first reason stands */
	l->stopping = 1;
	l->code = code;
}

int loop_stopping(const struct loop *l)
{
	return l->stopping;
}

/* Fires the timers that are due. */
static void fire_timers(struct loop *l)
{
	long now = now_ms();

	while (!l->stopping && l->timers && l->timers->at <= now) {
		struct loop_timer *t = l->timers;

		l->timers = t->next;
		t->next = NULL;
		t->at = 0;
		t->fn(t);
	}
}

static int removed(const struct loop *l, const struct loop_fd *e)
{
	int i;

	for (i = 0; i < l->ngone; i++)
		if (l->gone[i] == e)
			return 1;
	return 0;
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[BATCH];

	while (!l->stopping) {
		int timeout = -1, n, i;

		if (l->timers) {
			long left = l->timers->at - now_ms();

			timeout = left < 0	 ? 0
				  : left > 60000 ? 60000
						 : (int)left;
		}
		n = epoll_wait(l->epfd, ev, BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			l->code = -errno;
			break;
		}
		l->ngone = l->flush = 0;
		for (i = 0; i < n && !l->stopping && !l->flush; i++) {
			struct loop_fd *e = ev[i].data.ptr;

			if (!removed(l, e))
				e->fn(e, ev[i].events);
		}
		fire_timers(l);
	}
	l->stopping = 0; /* the next run starts afresh */
	return l->code;
}
