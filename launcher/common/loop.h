/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher's one event loop: descriptors and timers, each owned by a
 * handler (the agent session, the snapshot coordinator, the launcher's
 * own signals and QMP events) that embeds the entry in its own struct and
 * gets it back in the callback. Handlers never call each other; what one
 * must tell another goes through the launcher, which registered both.
 *
 * One thread only. A callback may add, change or remove any entry
 * (its own included) and may stop the loop; an entry removed during a
 * round gets no more callbacks in that round.
 */
#ifndef SLURM_VM_LOOP_H
#define SLURM_VM_LOOP_H

#include <stdint.h>

struct loop;

/* A descriptor to watch: fd and fn are the owner's; events are EPOLL*. */
struct loop_fd {
	int fd;
	void (*fn)(struct loop_fd *e, uint32_t events);
	/* The loop's: */
	struct loop *loop;
	uint32_t events;
};

/* A one-shot timer; armed while at != 0. */
struct loop_timer {
	void (*fn)(struct loop_timer *t);
	/* The loop's: */
	long at; /* ms on the monotonic clock */
	struct loop_timer *next;
};

/* NULL with errno set. */
struct loop *loop_create(void);
/* Every entry must be removed first (or no longer be used). NULL-safe. */
void loop_destroy(struct loop *l);

/* Watches e->fd for events (0: none for now, but keep it). Returns 0 or
 * -errno. */
int loop_add(struct loop *l, struct loop_fd *e, uint32_t events);
/* Changes what e waits for. Returns 0 or -errno. */
int loop_mod(struct loop_fd *e, uint32_t events);
/* Stops watching e (e->loop NULL: not added, a no-op). */
void loop_del(struct loop_fd *e);

/* Arms t to fire in ms milliseconds (re-arming moves it). */
void loop_timer_in(struct loop *l, struct loop_timer *t, long ms);
/* Disarms t (a no-op when it is not armed). */
void loop_timer_stop(struct loop *l, struct loop_timer *t);

/*
 * Runs callbacks until loop_stop() (at once when it was called since the
 * last run). Returns the code given to loop_stop(), or -errno when
 * waiting fails.
 */
int loop_run(struct loop *l);
/* Makes loop_run() return code after the current callback. */
void loop_stop(struct loop *l, int code);
/* True between loop_stop() and the return of loop_run(). */
int loop_stopping(const struct loop *l);

#endif
