/*
 * test_preload_table.c - unit tests of libfragnet-preload.so's bookkeeping
 * (src/preload/table.c): the fd table, socket references, and the epoll
 * emulation's entries: epoll_ctl's errors, level- and edge-triggered
 * reports, EPOLLONESHOT, masks, round robin, and removal of a closed
 * socket from every instance.  Readiness comes from a fake (ready[] by
 * socket handle) instead of the channel.  Every test frees what it made
 * (the sanitizer run of the unit suite checks for leaks).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "preload.h"

#define NH	128
static uint32_t ready[NH];	/* readiness by socket handle */
static uint64_t since[NH];	/* when it became readable, by handle */
static uint64_t clock_now = 1;	/* the readiness clock: odd, as the preload's */

static uint32_t fake_ready(struct pl_sock *s, void *ctx, uint64_t *when)
{
	(void)ctx;
	*when = since[s->h];
	return ready[s->h];
}

static struct epoll_event epev(uint32_t events, uint64_t id)
{
	struct epoll_event e = { .events = events, .data.u64 = id };
	return e;
}

static int collect(struct pl_ep *ep, struct epoll_event *out, int max)
{
	int n = pl_ep_collect(ep, fake_ready, NULL, clock_now, out, max);

	clock_now += 2;
	return n;
}

static void free_ep(struct pl_ep *ep)
{
	for (unsigned i = 0; i < ep->n; i++)
		ep->ent[i].s->refs--;
	assert_true(pl_ep_put(ep));
	pl_ep_free(ep);
}

static int teardown(void **state)
{
	(void)state;
	memset(ready, 0, sizeof(ready));
	memset(since, 0, sizeof(since));
	clock_now = 1;
	pl_ep_reset_all();
	return 0;
}

static void test_fd_table(void **state)
{
	struct pl_sock *s = pl_sock_new(1, SOCK_STREAM);
	int dummy;

	(void)state;
	assert_int_equal(pl_tab_kind(5), PL_NONE);
	assert_null(pl_tab_ptr(5));
	assert_int_equal(pl_tab_set(5, PL_SOCK, s), 0);
	assert_int_equal(pl_tab_kind(5), PL_SOCK);
	assert_ptr_equal(pl_tab_ptr(5), s);
	assert_int_equal(pl_tab_set(PL_MAX_FD, PL_SOCK, s), -EMFILE);
	assert_int_equal(pl_tab_set(-1, PL_EP, &dummy), -EMFILE);
	assert_int_equal(pl_tab_kind(-1), PL_NONE);
	assert_int_equal(pl_tab_kind(PL_MAX_FD), PL_NONE);
	assert_ptr_equal(pl_tab_clear(5), s);
	assert_null(pl_tab_clear(5));
	assert_int_equal(pl_tab_kind(5), PL_NONE);
	assert_int_equal(s->refs, 1);
	assert_int_equal(s->nfds, 1);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
}

static void test_ctl_errors(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s = pl_sock_new(1, SOCK_STREAM);
	struct epoll_event e = epev(EPOLLIN, 1);

	(void)state;
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_MOD, 7, s, &e), -ENOENT);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_DEL, 7, s, NULL), -ENOENT);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 7, s, NULL), -EFAULT);
	assert_int_equal(pl_ep_ctl(ep, 99, 7, s, &e), -EINVAL);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 7, s, &e), 0);
	assert_int_equal(s->refs, 2);	/* the entry holds the socket */
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 7, s, &e), -EEXIST);
	/* the same socket under another fd (a dup) is another entry */
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 8, s, &e), 0);
	assert_int_equal(s->refs, 3);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_MOD, 7, s, NULL), -EFAULT);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_DEL, 8, s, NULL), 0);
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_DEL, 7, s, NULL), 0);
	assert_int_equal(s->refs, 1);
	assert_int_equal(ep->n, 0);
	free_ep(ep);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
}

static void test_level_triggered(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s = pl_sock_new(1, SOCK_STREAM);
	struct epoll_event e = epev(EPOLLIN, 41), out[4];

	(void)state;
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 3, s, &e), 0);
	assert_int_equal(collect(ep, out, 4), 0);
	ready[1] = EPOLLIN | EPOLLOUT;
	for (int i = 0; i < 3; i++) {	/* reported while it stays ready */
		assert_int_equal(collect(ep, out, 4), 1);
		assert_int_equal(out[0].events, EPOLLIN);	/* OUT masked */
		assert_int_equal(out[0].data.u64, 41);
	}
	ready[1] = EPOLLOUT;
	assert_int_equal(collect(ep, out, 4), 0);
	ready[1] = EPOLLERR | EPOLLHUP;	/* always reported */
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(out[0].events, EPOLLERR | EPOLLHUP);
	free_ep(ep);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
}

static void test_edge_triggered(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s = pl_sock_new(2, SOCK_STREAM);
	struct epoll_event e = epev(EPOLLIN | EPOLLOUT | EPOLLET, 5), out[4];

	(void)state;
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 3, s, &e), 0);
	ready[2] = EPOLLOUT;
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(out[0].events, EPOLLOUT);
	assert_int_equal(collect(ep, out, 4), 0);	/* no new edge */
	ready[2] = EPOLLOUT | EPOLLIN;			/* IN rises */
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(out[0].events, EPOLLIN | EPOLLOUT);
	assert_int_equal(collect(ep, out, 4), 0);
	s->edge++;			/* the app consumed: re-armed */
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(collect(ep, out, 4), 0);
	ready[2] = 0;			/* drops ... */
	assert_int_equal(collect(ep, out, 4), 0);
	ready[2] = EPOLLIN;		/* ... and rises again */
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(out[0].events, EPOLLIN);
	free_ep(ep);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
}

static void test_oneshot(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s = pl_sock_new(3, SOCK_STREAM);
	struct epoll_event e = epev(EPOLLIN | EPOLLONESHOT, 9), out[4];

	(void)state;
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 4, s, &e), 0);
	ready[3] = EPOLLIN;
	assert_int_equal(collect(ep, out, 4), 1);
	assert_int_equal(collect(ep, out, 4), 0);	/* disabled */
	ready[3] = EPOLLIN | EPOLLERR;
	assert_int_equal(collect(ep, out, 4), 0);	/* even for errors */
	assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_MOD, 4, s, &e), 0);
	assert_int_equal(collect(ep, out, 4), 1);	/* re-armed */
	assert_int_equal(collect(ep, out, 4), 0);
	free_ep(ep);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
}

static void test_round_robin(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s[3];
	struct epoll_event out[4];
	uint64_t seen = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct epoll_event e = epev(EPOLLIN, (uint64_t)i);

		s[i] = pl_sock_new(4 + i, SOCK_STREAM);
		ready[4 + i] = EPOLLIN;
		assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 10 + i, s[i], &e), 0);
	}
	/* two at a time: within two calls every socket is reported */
	for (int k = 0; k < 2; k++) {
		int n = collect(ep, out, 2);

		assert_int_equal(n, 2);
		for (int i = 0; i < n; i++)
			seen |= 1u << out[i].data.u64;
	}
	assert_int_equal(seen, 7);
	assert_int_equal(collect(ep, out, 0), 0);
	free_ep(ep);
	for (int i = 0; i < 3; i++) {
		assert_true(pl_sock_put(s[i]));
		pl_sock_free(s[i]);
	}
}

/*
 * The kernel's order: sockets come out in the order they became ready,
 * whatever their order in the set; one reported level-triggered goes to
 * the back while it stays ready; one that becomes ready again comes after
 * those that were ready before it (issue 17: an UNSUBSCRIBE on one
 * connection, then a PUBLISH on another, must reach Redis in that order).
 */
static void test_ready_order(void **state)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s[3];
	struct epoll_event out[4];

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct epoll_event e = epev(EPOLLIN, (uint64_t)i);

		s[i] = pl_sock_new(4 + i, SOCK_STREAM);
		assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, 10 + i, s[i], &e), 0);
	}
	/* ready in the order 2, 0, 1 (times 10, 12, 14; the clock is past) */
	clock_now = 21;
	ready[6] = ready[4] = ready[5] = EPOLLIN;
	since[6] = 10;
	since[4] = 12;
	since[5] = 14;
	assert_int_equal(collect(ep, out, 4), 3);
	assert_int_equal(out[0].data.u64, 2);
	assert_int_equal(out[1].data.u64, 0);
	assert_int_equal(out[2].data.u64, 1);
	/* one at a time: still 2, 0, 1, each to the back once reported */
	for (int k = 0; k < 6; k++) {
		assert_int_equal(collect(ep, out, 1), 1);
		assert_int_equal(out[0].data.u64, (uint64_t)(2 + k) % 3);
	}
	/* 0 is drained and becomes ready again after everything: last */
	ready[4] = 0;
	assert_int_equal(collect(ep, out, 4), 2);
	ready[4] = EPOLLIN;
	since[4] = clock_now + 1;
	clock_now += 2;
	assert_int_equal(collect(ep, out, 4), 3);
	assert_int_equal(out[2].data.u64, 0);
	free_ep(ep);
	for (int i = 0; i < 3; i++) {
		assert_true(pl_sock_put(s[i]));
		pl_sock_free(s[i]);
	}
}

/*
 * The same order with many sockets ready at once: a few are sorted in
 * place, many by a radix sort over the bytes in which the keys differ
 * (table.c CANDS_INSERTION); both give the order they became ready in,
 * ties in the set's order; then, all reported together, the set's order
 * from after the last one reported.  stride spreads the times (over 2^16:
 * three radix passes); pairs gives every time to two sockets.
 */
static uint64_t when_of(unsigned i)
{
	return since[4 + i];
}

static int by_when(const void *x, const void *y)
{
	unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

	if (when_of(a) != when_of(b))
		return when_of(a) < when_of(b) ? -1 : 1;
	return a < b ? -1 : a > b;
}

static void ready_order_n(unsigned n, uint64_t stride, bool pairs)
{
	struct pl_ep *ep = pl_ep_new();
	struct pl_sock *s[NH];
	struct epoll_event out[NH];
	unsigned perm[NH], want[NH];

	assert_true(n + 4 <= NH);
	for (unsigned i = 0; i < n; i++)
		perm[i] = i;
	srand(n + (unsigned)stride);
	for (unsigned i = n - 1; i > 0; i--) {	/* a shuffle */
		unsigned j = (unsigned)rand() % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event e = epev(EPOLLIN, i);

		s[i] = pl_sock_new((int)(4 + i), SOCK_STREAM);
		assert_int_equal(pl_ep_ctl(ep, EPOLL_CTL_ADD, (int)(200 + i),
					   s[i], &e), 0);
		ready[4 + i] = EPOLLIN;
		since[4 + i] = 10 + stride * (pairs ? perm[i] / 2 : perm[i]);
		want[i] = i;
	}
	qsort(want, n, sizeof(*want), by_when);
	clock_now = (10 + stride * n) | 1;
	assert_int_equal(collect(ep, out, (int)n), (int)n);
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(out[k].data.u64, want[k]);
	/* all reported at once: ties, round robin after the last one */
	uint64_t last = out[n - 1].data.u64;

	assert_int_equal(collect(ep, out, (int)n), (int)n);
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(out[k].data.u64, (last + 1 + k) % n);
	free_ep(ep);
	for (unsigned i = 0; i < n; i++) {
		assert_true(pl_sock_put(s[i]));
		pl_sock_free(s[i]);
	}
}

static void test_ready_order_many(void **state)
{
	static const struct { unsigned n; uint64_t stride; bool pairs; } c[] = {
		{ 20, 2, false }, { 20, 2, true },		/* in place */
		{ 100, 2, false }, { 100, 2, true },		/* radix */
		{ 120, 1001, false }, { 120, 1u << 20, true },	/* more passes */
		{ 33, (uint64_t)1 << 50, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ready_order_n(c[i].n, c[i].stride, c[i].pairs);
		teardown(NULL);
	}
}

static void test_drop_sock(void **state)
{
	struct pl_ep *a = pl_ep_new(), *b = pl_ep_new();
	struct pl_sock *s = pl_sock_new(1, SOCK_STREAM);
	struct pl_sock *t = pl_sock_new(2, SOCK_DGRAM);
	struct epoll_event e = epev(EPOLLIN, 1), out[4];

	(void)state;
	assert_int_equal(pl_ep_ctl(a, EPOLL_CTL_ADD, 3, s, &e), 0);
	assert_int_equal(pl_ep_ctl(a, EPOLL_CTL_ADD, 4, t, &e), 0);
	assert_int_equal(pl_ep_ctl(b, EPOLL_CTL_ADD, 3, s, &e), 0);
	assert_int_equal(pl_ep_ctl(b, EPOLL_CTL_ADD, 5, s, &e), 0);
	assert_int_equal(s->refs, 4);
	/* the last fd of s is closed: it leaves every instance */
	pl_ep_drop_sock(s);
	assert_int_equal(s->refs, 1);
	assert_int_equal(a->n, 1);
	assert_ptr_equal(a->ent[0].s, t);
	assert_int_equal(b->n, 0);
	ready[1] = ready[2] = EPOLLIN;
	assert_int_equal(collect(a, out, 4), 1);
	assert_int_equal(collect(b, out, 4), 0);
	free_ep(a);
	free_ep(b);
	assert_true(pl_sock_put(s));
	pl_sock_free(s);
	assert_true(pl_sock_put(t));
	pl_sock_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_fd_table, teardown),
		cmocka_unit_test_teardown(test_ctl_errors, teardown),
		cmocka_unit_test_teardown(test_level_triggered, teardown),
		cmocka_unit_test_teardown(test_edge_triggered, teardown),
		cmocka_unit_test_teardown(test_oneshot, teardown),
		cmocka_unit_test_teardown(test_round_robin, teardown),
		cmocka_unit_test_teardown(test_ready_order, teardown),
		cmocka_unit_test_teardown(test_ready_order_many, teardown),
		cmocka_unit_test_teardown(test_drop_sock, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
