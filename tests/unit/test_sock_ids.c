/*
 * test_sock_ids.c - the client library's socket ids (src/lib/sock.c)
 * against a scripted stack: side B of a real sockchan link, played by
 * the test itself, one thread, no lwIP.  Every event the stack would
 * post is posted before the call that reads it (an rpc() finds its DONE
 * by the cookie, which is the channel's next), so the interleavings are
 * exact, not timed.
 *
 *     fn_sock_* (side A) ---- link (memfd) ---- fake_*() (side B)
 *
 * The race (commit cb3387b): close() posts CLOSE and processes events
 * until its DONE.  The stack frees a socket id when the library acks its
 * CLOSED, which the library does at once, and may then accept a new
 * connection on that very id, whose ACCEPTED (and DATA) can come before
 * close()'s DONE.  The library must give the id to the new connection,
 * not refuse it as an id it still holds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/sock.h"
#include "fragnet/stream.h"

#define HDR	((uint32_t)sizeof(struct fn_sock_msg))

static struct {
	int fd;
	struct fn_link stack;		/* side B: ours */
	struct fn_sock_chan c;		/* side A: the library */
	uint32_t closes[8];		/* sids of the CLOSEs received */
	unsigned nclose;
} T;

/* ---- the scripted stack -------------------------------------------------- */

/* Post one event, with len payload bytes. */
static void fake_post(uint16_t op, uint32_t sock, int32_t result,
		      uint32_t arg0, const void *payload, uint32_t len)
{
	struct fn_sock_msg m = { .op = op, .sock = sock, .result = result,
				 .len = len, .arg = { arg0 } };
	struct fn_pkt p;

	assert_int_equal(fn_stream_alloc_burst(&T.stack.tx, &p, 1), 1);
	if (op == FN_SEV_ACCEPTED) {
		m.addr.family = 2;	/* AF_INET */
		m.addr.addr = 0x0100000a;
		m.addr.port = 0x3930;
	}
	memcpy(p.data, &m, HDR);
	if (len)
		memcpy(p.data + HDR, payload, len);
	p.len = HDR + len;
	assert_int_equal(fn_stream_submit_burst(&T.stack.tx, &p, 1), 1);
}

/* The DONE of the library's next request. */
static void fake_done(int32_t result)
{
	struct fn_sock_msg m = { .op = FN_SEV_DONE, .result = result,
				 .cookie = T.c.next_cookie + 1 };
	struct fn_pkt p;

	assert_int_equal(fn_stream_alloc_burst(&T.stack.tx, &p, 1), 1);
	memcpy(p.data, &m, HDR);
	p.len = HDR;
	assert_int_equal(fn_stream_submit_burst(&T.stack.tx, &p, 1), 1);
}

/* Take the requests posted so far (and note the CLOSEs). */
static void fake_drain(void)
{
	struct fn_pkt p[32];
	int n;

	while ((n = fn_stream_recv_burst(&T.stack.rx, p, 32)) > 0) {
		for (int i = 0; i < n; i++) {
			struct fn_sock_msg m;

			assert_true(p[i].len >= HDR);
			memcpy(&m, p[i].data, HDR);
			if (m.op == FN_SREQ_CLOSE && T.nclose < 8)
				T.closes[T.nclose++] = m.sock;
		}
		assert_int_equal(fn_stream_ack_burst(&T.stack.rx, p,
						     (unsigned)n), n);
	}
	assert_true(n == 0);
}

/* Every event slot back from the library: nothing held, nothing lost. */
static void fake_all_acked(void)
{
	assert_int_equal(fn_stream_reclaim(&T.stack.tx),
			 (int)T.stack.tx.nslots);
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.fd = fn_link_create("test-sock-ids", FN_SOCKCHAN_SLOTS,
			      FN_SOCKCHAN_SLOT);
	if (T.fd < 0)
		return -1;
	if (fn_link_attach(&T.stack, T.fd, FN_LINK_B, FN_POLL_EVENT) < 0)
		return -1;
	return fn_sock_attach(&T.c, T.fd, -1, -1) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	fn_sock_close_chan(&T.c);
	fn_link_detach(&T.stack);
	close(T.fd);
	return 0;
}

/* A listener of stack id 1 (the library's handle returned). */
static int listener(void)
{
	int l;

	fake_done(1);		/* SOCKET: stack id 1 */
	l = fn_sock_socket(&T.c, SOCK_STREAM);
	assert_true(l > 0);
	fake_done(0);		/* LISTEN */
	assert_int_equal(fn_sock_listen(&T.c, l, 8), 0);
	fake_drain();
	return l;
}

/* ---- tests --------------------------------------------------------------- */

/* The stack reuses the id of the socket being closed before close()'s
 * DONE: the new connection and its data reach the app. */
static void test_accept_on_closing_id(void **state)
{
	char b[8];
	int l, a, n;

	(void)state;
	l = listener();
	fake_post(FN_SEV_ACCEPTED, 2, 0, 1, NULL, 0);
	a = fn_sock_accept(&T.c, l, NULL);
	assert_true(a > 0);

	/* close(a): CLOSED, acked at once; the stack frees id 2 and
	 * accepts a new connection on it; then close()'s DONE */
	fake_post(FN_SEV_CLOSED, 2, 0, 0, NULL, 0);
	fake_post(FN_SEV_ACCEPTED, 2, 0, 1, NULL, 0);
	fake_post(FN_SEV_DATA, 2, 0, 0, "hi", 2);
	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, a), 0);
	fake_drain();
	assert_int_equal(T.nclose, 1);
	assert_int_equal(T.closes[0], 2);
	assert_int_equal(T.c.bad_events, 0);

	/* the new connection is the app's, with its data */
	n = fn_sock_accept(&T.c, l, NULL);
	assert_true(n > 0);
	assert_int_equal(fn_sock_recv(&T.c, n, b, sizeof(b)), 2);
	assert_memory_equal(b, "hi", 2);
	assert_int_equal(fn_sock_recv(&T.c, a, b, sizeof(b)), -EBADF);
	/* id 2 is its: later events too */
	fake_post(FN_SEV_PEER_CLOSED, 2, 0, 0, NULL, 0);
	assert_int_equal(fn_sock_recv(&T.c, n, b, sizeof(b)), 0);
	assert_int_equal(T.c.bad_events, 0);

	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, n), 0);
	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, l), 0);
	fake_drain();
	assert_int_equal(T.nclose, 3);
	assert_int_equal(T.closes[1], 2);
	assert_int_equal(T.closes[2], 1);
	fn_sock_process(&T.c);
	fake_all_acked();
}

/* An id the library holds, for a socket not being closed, is still a
 * protocol error: counted, acked, the first socket untouched. */
static void test_accept_on_open_id(void **state)
{
	char b[8];
	int l, a;

	(void)state;
	l = listener();
	fake_post(FN_SEV_ACCEPTED, 2, 0, 1, NULL, 0);
	a = fn_sock_accept(&T.c, l, NULL);
	assert_true(a > 0);
	fake_post(FN_SEV_ACCEPTED, 2, 0, 1, NULL, 0);
	fake_post(FN_SEV_DATA, 2, 0, 0, "ok", 2);
	assert_int_equal(fn_sock_accept(&T.c, l, NULL), -EAGAIN);
	assert_int_equal(T.c.bad_events, 1);
	assert_int_equal(fn_sock_recv(&T.c, a, b, sizeof(b)), 2);
	assert_memory_equal(b, "ok", 2);

	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, a), 0);
	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, l), 0);
	fake_drain();
	fn_sock_process(&T.c);
	fake_all_acked();
}

/* The listener itself is being closed when its id comes back for a new
 * connection of another listener: that one gets it. */
static void test_accept_on_closing_listener_id(void **state)
{
	int l, l2, n;

	(void)state;
	l = listener();
	fake_done(3);		/* SOCKET: stack id 3 */
	l2 = fn_sock_socket(&T.c, SOCK_STREAM);
	assert_true(l2 > 0);
	fake_done(0);
	assert_int_equal(fn_sock_listen(&T.c, l2, 8), 0);

	fake_post(FN_SEV_CLOSED, 1, 0, 0, NULL, 0);
	fake_post(FN_SEV_ACCEPTED, 1, 0, 3, NULL, 0);	/* on l2 */
	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, l), 0);
	assert_int_equal(T.c.bad_events, 0);
	n = fn_sock_accept(&T.c, l2, NULL);
	assert_true(n > 0);

	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, n), 0);
	fake_done(0);
	assert_int_equal(fn_sock_close(&T.c, l2), 0);
	fake_drain();
	fn_sock_process(&T.c);
	fake_all_acked();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_on_closing_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_on_open_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_accept_on_closing_listener_id, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
