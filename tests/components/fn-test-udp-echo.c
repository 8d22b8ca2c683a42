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
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fragnet/log.h"
#include "fragnet/sock.h"
#include "fragnet/stats.h"

#include "echo_app.h"

#define DGRAM_MAX	(FN_SOCKCHAN_SLOT - sizeof(struct fn_sock_msg))

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
	if (echo_chan_dead(n))
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

/* Echo everything there is now: 0, or the channel's death (echo_run). */
static int echo_drain(void *arg)
{
	struct udp_echo *u = arg;

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

int main(int argc, char **argv)
{
	static struct udp_echo u;
	uint16_t port;
	int ret = echo_start(argc, argv, "test-udp-echo", &port);

	if (ret)
		return ret;
	u.ctr = echo_counters("udp_echo", udp_names, U_COUNT);
	if (!u.ctr)
		return 1;
	u.sock = echo_socket(&u.chan, SOCK_DGRAM, port, 0);
	if (u.sock < 0)
		return 1;
	ret = echo_run(&u.chan, echo_drain, &u);
	fn_sock_close_chan(&u.chan);
	return ret;
}
