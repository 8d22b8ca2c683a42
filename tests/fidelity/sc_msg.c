/*
 * sc_msg.c - recv and send flags: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT,
 * MSG_NOSIGNAL; SIGPIPE and EPIPE after a reset; SO_RCVTIMEO.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fidelity.h"

static volatile sig_atomic_t pipes;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

/* Count SIGPIPEs from here on (run_one sets SIG_IGN again after). */
static void count_pipes(void)
{
	struct sigaction sa = { .sa_handler = on_pipe };

	pipes = 0;
	sigaction(SIGPIPE, &sa, NULL);
}

static void peek(void)
{
	peer_start("listen ready accept send:10 drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 4, MSG_PEEK);
	rcv(s, 100, MSG_PEEK);
	rcv(s, 100, 0);
	R(close(s));
}

static void peek_empty(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	rcv(s, 10, MSG_PEEK | MSG_DONTWAIT);
	R(close(s));
}

static void peek_eof(void)
{
	peer_start("listen ready accept close");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 10, MSG_PEEK);
	rcv(s, 10, 0);
	R(close(s));
}

/* MSG_WAITALL over two writes 300 ms apart. */
static void waitall(void)
{
	peer_start("listen ready accept send:100 sleep:300 send:100 drain");
	int s = tcp_to_peer();
	rcv(s, 200, MSG_WAITALL);
	R(close(s));
}

/* MSG_WAITALL cut short by EOF. */
static void waitall_eof(void)
{
	peer_start("listen ready accept send:50 sleep:100 close");
	int s = tcp_to_peer();
	rcv(s, 100, MSG_WAITALL);
	rcv(s, 100, MSG_WAITALL);
	R(close(s));
}

static void dontwait_empty(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	long long t = ms_now();
	rcv(s, 10, MSG_DONTWAIT);
	out("timing %s", tclass(ms_now() - t, 500, 500));
	R(close(s));
}

static void dontwait_data(void)
{
	peer_start("listen ready accept send:64 drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 100, MSG_DONTWAIT);
	rcv(s, 100, MSG_DONTWAIT);
	R(close(s));
}

/* A send after the peer's reset: ECONNRESET first, then EPIPE. */
static void nosignal_reset(void)
{
	count_pipes();
	peer_start("listen ready accept sleep:200 rst");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	snd(s, 10, MSG_NOSIGNAL);
	snd(s, 10, MSG_NOSIGNAL);
	out("SIGPIPE x%d", (int)pipes);
	R(close(s));
}

static void sigpipe_reset(void)
{
	count_pipes();
	peer_start("listen ready accept sleep:200 rst");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	snd(s, 10, 0);
	out("SIGPIPE x%d", (int)pipes);
	snd(s, 10, 0);
	out("SIGPIPE x%d", (int)pipes);
	R(write(s, "x", 1));
	out("SIGPIPE x%d", (int)pipes);
	R(close(s));
}

static void sigpipe_shutwr(void)
{
	count_pipes();
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(shutdown(s, SHUT_WR));
	snd(s, 10, 0);
	out("SIGPIPE x%d", (int)pipes);
	snd(s, 10, MSG_NOSIGNAL);
	out("SIGPIPE x%d", (int)pipes);
	R(close(s));
}

/* The peer closes (FIN); the app's first write is taken and answered by
 * a reset, the next meets the reset. */
static void write_after_peer_close(void)
{
	count_pipes();
	peer_start("listen ready accept close");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 10, 0);
	snd(s, 10, MSG_NOSIGNAL);
	msleep(300);
	snd(s, 10, MSG_NOSIGNAL);
	snd(s, 10, MSG_NOSIGNAL);
	out("SIGPIPE x%d", (int)pipes);
	R(close(s));
}

static void rcvtimeo(void)
{
	struct timeval tv = { 0, 300000 };

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	long long t = ms_now();
	rcv(s, 10, 0);
	out("timing %s", tclass(ms_now() - t, 150, 250));
	R(close(s));
}

/* A send larger than any buffer completes on a blocking socket. */
static void send_big_blocking(void)
{
	peer_start("listen ready accept sleep:300 drain");
	int s = tcp_to_peer();
	snd(s, 4 << 20, 0);
	R(close(s));
}

/* A non-blocking send into a peer that does not read: partial, then
 * EAGAIN. */
static void send_nonblock_full(void)
{
	static char buf[65536];
	long total = 0, r;
	int eagain = 0;

	peer_start("listen ready accept wait");
	int s = tcp_to_peer();
	set_nonblock(s);
	for (int i = 0; i < 1000 && !eagain; i++) {
		r = send(s, buf, sizeof buf, 0);
		if (r < 0)
			eagain = errno == EAGAIN;
		else
			total += r;
		if (i % 16 == 15)
			msleep(10);
	}
	out("filled: EAGAIN %d, more than 16 KiB %d", eagain, total > 16384);
	R(close(s));
}

/* recv on a listening socket: ENOTCONN at once, blocking or not. */
static void recv_listener(void)
{
	int l = tcp_listen(4);

	rcv(l, 10, MSG_DONTWAIT);
	rcv(l, 10, 0);
	R(close(l));
}

const struct fid_scenario fid_msg[] = {
	{ "peek", peek, "MSG_PEEK, twice, then read" },
	{ "peek-empty", peek_empty, "MSG_PEEK|MSG_DONTWAIT with nothing" },
	{ "peek-eof", peek_eof, "MSG_PEEK at EOF" },
	{ "waitall", waitall, "MSG_WAITALL across two writes" },
	{ "waitall-eof", waitall_eof, "MSG_WAITALL cut short by EOF" },
	{ "dontwait-empty", dontwait_empty, "MSG_DONTWAIT: EAGAIN at once" },
	{ "dontwait-data", dontwait_data, "MSG_DONTWAIT with data" },
	{ "nosignal-reset", nosignal_reset, "MSG_NOSIGNAL after a reset" },
	{ "sigpipe-reset", sigpipe_reset, "SIGPIPE and EPIPE after a reset" },
	{ "sigpipe-shutwr", sigpipe_shutwr, "send after SHUT_WR: SIGPIPE" },
	{ "write-after-peer-close", write_after_peer_close,
	  "writes after the peer closed" },
	{ "rcvtimeo", rcvtimeo, "SO_RCVTIMEO: EAGAIN after the timeout" },
	{ "send-big-blocking", send_big_blocking, "a 4 MiB blocking send" },
	{ "send-nonblock-full", send_nonblock_full,
	  "non-blocking sends until EAGAIN" },
	{ "recv-listener", recv_listener, "recv on a listener: ENOTCONN" },
	{ NULL, NULL, NULL },
};
