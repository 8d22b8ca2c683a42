/*
 * fn-test-udp-echo - a native app: a UDP echo server on fragnet sockets.
 *
 *   fn-test-udp-echo PORT
 *
 * Spawned by the supervisor in the app role (names.h): it opens its socket
 * channel (fn_sock_open, sock.h), binds a datagram socket to 0.0.0.0:PORT
 * on its stack and sends every datagram back to its sender, unchanged.
 * It waits in fn_sock_poll() (the app doorbell) and never drops a
 * datagram it has read: when the stack takes no more requests (-EAGAIN) it
 * keeps the datagram and reads nothing until it could send it.
 *
 * Counters on its stats page, "udp_echo.*": rx, tx, tx_again (sends that
 * had to wait), errors (sends refused otherwise: the datagram is dropped).
 *
 * SIGTERM ends it (exit 0).  When the channel dies (its stack died and the
 * supervisor reset the channel) it exits 3, and the supervisor restarts it
 * against the restarted stack; a setup failure exits 1, usage 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/sock.h"
#include "fragnet/stats.h"

#include "echo_start.h"

#define DGRAM_MAX	(FN_SOCKCHAN_SLOT - sizeof(struct fn_sock_msg))
#define POLL_MS		100

enum { U_RX, U_TX, U_TX_AGAIN, U_ERRORS, U_COUNT };
static const char *const udp_names[U_COUNT] = {
	"rx", "tx", "tx_again", "errors",
};

struct udp_echo {
	struct fn_sock_chan chan;
	int sock;
	_Atomic uint64_t *ctr;		/* U_COUNT */
	/* a datagram read but not yet sent back */
	uint8_t buf[DGRAM_MAX];
	size_t len;
	struct sockaddr_in from;
	bool pending;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static bool chan_dead(int err)
{
	return err == -EPIPE || err == -ECONNRESET;
}

/* Send the pending datagram back: 0 done (or dropped), -EAGAIN not yet,
 * or the channel's death. */
static int echo_flush(struct udp_echo *u)
{
	ssize_t n;

	if (!u->pending)
		return 0;
	n = fn_sock_sendto(&u->chan, u->sock, u->buf, u->len, &u->from);
	if (n == -EAGAIN || n == -ENOBUFS || n == -ENOMEM) {
		fn_ctr_add(&u->ctr[U_TX_AGAIN], 1);
		return -EAGAIN;
	}
	if (chan_dead((int)n))
		return (int)n;
	u->pending = false;
	if (n < 0) {
		fn_ctr_add(&u->ctr[U_ERRORS], 1);
		fn_debug("sendto: %s", strerror((int)-n));
	} else {
		fn_ctr_add(&u->ctr[U_TX], 1);
	}
	return 0;
}

/* Echo everything there is now: 0, or the channel's death. */
static int echo_drain(struct udp_echo *u)
{
	for (;;) {
		int err = echo_flush(u);
		ssize_t n;

		if (err == -EAGAIN)
			return 0;
		if (err < 0)
			return err;
		n = fn_sock_recvfrom(&u->chan, u->sock, u->buf, sizeof(u->buf),
				     &u->from);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		fn_ctr_add(&u->ctr[U_RX], 1);
		u->len = (size_t)n;
		u->pending = true;
	}
}

static int echo_open(struct udp_echo *u, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int err = fn_sock_open(&u->chan);

	if (err < 0) {
		fn_err("cannot open the socket channel: %s", strerror(-err));
		return err;
	}
	u->sock = fn_sock_socket(&u->chan, SOCK_DGRAM);
	if (u->sock < 0) {
		fn_err("socket: %s", strerror(-u->sock));
		return u->sock;
	}
	err = fn_sock_bind(&u->chan, u->sock, &a);
	if (err < 0) {
		fn_err("bind 0.0.0.0:%u: %s", port, strerror(-err));
		return err;
	}
	fn_info("echoing UDP on port %u", port);
	return 0;
}

static int echo_loop(struct udp_echo *u)
{
	while (!stopping) {
		int err = echo_drain(u);

		if (err == 0)
			err = fn_sock_poll(&u->chan, POLL_MS);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			fn_warn("socket channel lost: %s", strerror(-err));
			return 3;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct udp_echo u;
	uint16_t port;
	int ret = echo_start(argc, argv, "test-udp-echo", on_term, &port);

	if (ret)
		return ret;
	u.ctr = fn_stats_block(fn_stats_attach_env(), "udp_echo", udp_names, U_COUNT);
	if (!u.ctr) {
		fn_err("cannot register counters");
		return 1;
	}
	if (echo_open(&u, port) < 0)
		return 1;
	ret = echo_loop(&u);
	fn_sock_close_chan(&u.chan);
	return ret;
}
