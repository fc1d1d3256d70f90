/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's loop: descriptors, timers, removal during a round, stop. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "launcher/common/clock.h"
#include "launcher/common/loop.h"
#include "tap.h"

struct ent {
	struct loop_fd e;
	struct ent *victim; /* removed by this one's callback */
	int calls, stop_at;
};

static struct loop *L;

static void on_fd(struct loop_fd *e, uint32_t ev)
{
	struct ent *x = (struct ent *)e;
	char c;

	(void)ev;
	x->calls++;
	if (x->victim)
		loop_del(&x->victim->e);
	if (read(e->fd, &c, 1) <= 0)
		loop_del(e);
	if (x->stop_at && x->calls == x->stop_at)
		loop_stop(L, 42);
}

static char order[8];
static int norder;

struct tick {
	struct loop_timer t;
	char name;
};

static void on_tick(struct loop_timer *t)
{
	struct tick *k = (struct tick *)t;

	order[norder++] = k->name;
	if (k->name == 'c')
		loop_stop(L, 7);
}

int main(void)
{
	struct tick a = {.t.fn = on_tick, .name = 'a'},
		    b = {.t.fn = on_tick, .name = 'b'},
		    c = {.t.fn = on_tick, .name = 'c'},
		    d = {.t.fn = on_tick, .name = 'd'};
	struct ent x = {.e.fn = on_fd}, y = {.e.fn = on_fd};
	int p[2], q[2];
	long t0;

	L = loop_create();
	ok(L != NULL, "a loop");

	loop_timer_in(L, &b.t, 40);
	loop_timer_in(L, &a.t, 10);
	loop_timer_in(L, &c.t, 60);
	loop_timer_in(L, &d.t, 50);
	loop_timer_stop(L, &d.t);
	t0 = now_ms();
	ok(loop_run(L) == 7, "loop_run returns loop_stop's code");
	order[norder] = 0;
	is_str(order, "abc", "timers fire in time order; a stopped one never");
	ok(now_ms() - t0 >= 55, "and not early (%ld ms)", now_ms() - t0);

	if (pipe(p) < 0 || pipe(q) < 0)
		abort();
	x.e.fd = p[0];
	y.e.fd = q[0];
	x.victim = &y;
	x.stop_at = 2;
	ok(loop_add(L, &x.e, EPOLLIN) == 0 && loop_add(L, &y.e, EPOLLIN) == 0,
	   "two descriptors");
	if (write(p[1], "ab", 2) != 2 || write(q[1], "z", 1) != 1)
		abort();
	ok(loop_run(L) == 42, "a callback stops the loop");
	ok(x.calls == 2, "a readable fd is called until drained (%d)", x.calls);
	ok(y.calls == 0, "one removed during the round is not called");
	ok(loop_mod(&y.e, EPOLLIN) == -EBADF, "a removed entry cannot change");
	ok(loop_add(L, &y.e, EPOLLIN) == 0, "and may come back");
	x.victim = NULL;
	close(p[1]);
	loop_timer_in(L, &c.t, 100);
	ok(loop_run(L) == 7, "end of file and a timer");
	ok(x.e.loop == NULL, "an entry may remove itself");
	ok(y.calls == 1, "the one that came back is called");
	loop_del(&y.e);
	close(p[0]);
	close(q[0]);
	close(q[1]);
	ok(loop_add(L, &x.e, EPOLLIN) == -EBADF, "a closed fd: -EBADF");
	loop_destroy(L);
	return done_testing();
}
