/*
 * sc_close.c - closing: close with unread data, SO_LINGER 0, shutdown in
 * each direction, half-close, what a reset leaves behind.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fidelity.h"

/* The app closes with 100 bytes unread: the kernel resets. */
static void close_unread(void)
{
	peer_start("listen ready accept send:100 wait drain");
	int s = tcp_to_peer();
	out("readable = %d", readable(s));
	msleep(100);
	R(close(s));
	peer_go();
}

/* Everything read, then close: an orderly FIN. */
static void close_read_all(void)
{
	peer_start("listen ready accept send:100 wait drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 100, MSG_WAITALL);
	R(close(s));
	peer_go();
}

/* SO_LINGER {1, 0}: close resets at once. */
static void linger_zero(void)
{
	struct linger l = { 1, 0 }, g;
	socklen_t gl = sizeof g;

	peer_start("listen ready accept wait drain");
	int s = tcp_to_peer();
	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l));
	R(getsockopt(s, SOL_SOCKET, SO_LINGER, &g, &gl));
	out("linger = %d %d", g.l_onoff, g.l_linger);
	snd(s, 10, 0);
	msleep(200);
	R(close(s));
	peer_go();
}

/* SO_LINGER {1, 1} with everything acknowledged: an orderly close. */
static void linger_one(void)
{
	struct linger l = { 1, 1 };

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l));
	snd(s, 1000, 0);
	R(close(s));
}

/* shutdown(SHUT_WR): the peer reads EOF and may still answer. */
static void shut_wr(void)
{
	peer_start("listen ready accept drain send:5 close");
	int s = tcp_to_peer();
	snd(s, 20, 0);
	R(shutdown(s, SHUT_WR));
	readable(s);
	msleep(100);
	rcv(s, 100, 0);
	rcv(s, 100, 0);
	snd(s, 5, MSG_NOSIGNAL);
	R(close(s));
}

/* shutdown(SHUT_RD) with nothing queued: recv answers 0 at once. */
static void shut_rd(void)
{
	peer_start("listen ready accept wait send:7 sleep:200 tell");
	int s = tcp_to_peer();
	R(shutdown(s, SHUT_RD));
	rcv(s, 100, MSG_DONTWAIT);
	snd(s, 3, 0);
	R(close(s));
}

/* shutdown(SHUT_RDWR): both directions; send then EPIPE. */
static void shut_rdwr(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(shutdown(s, SHUT_RDWR));
	snd(s, 5, MSG_NOSIGNAL);
	rcv(s, 100, MSG_DONTWAIT);
	msleep(200);
	R(close(s));
}

/* Shutting down twice in the same direction. */
static void shut_twice(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(shutdown(s, SHUT_WR));
	R(shutdown(s, SHUT_WR));
	R(close(s));
}

static void shut_notconn(void)
{
	int s = tcp();

	R(shutdown(s, SHUT_WR));
	R(shutdown(s, SHUT_RDWR));
	R(close(s));
}

/* The peer sends and shuts down; the app reads to EOF and shuts down
 * its side too: a clean end, no error once its FIN is acked (SO_ERROR 0,
 * recv 0, send EPIPE). */
static void shut_after_peer_fin(void)
{
	int e = -1;
	socklen_t l = sizeof e;

	peer_start("listen ready accept send:10 shutwr drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(200);
	rcv(s, 100, 0);
	rcv(s, 100, 0);
	R(shutdown(s, SHUT_WR));
	msleep(300);
	R(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l));
	out("SO_ERROR %d", e);
	rcv(s, 100, 0);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(close(s));
}

static void shut_badhow(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(shutdown(s, 7));
	R(close(s));
}

/* The peer half-closes after 50 bytes; the app reads to EOF, answers,
 * and the peer still reads the answer. */
static void half_close_peer(void)
{
	peer_start("listen ready accept send:50 shutwr recv:20 drain");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 100, 0);
	rcv(s, 100, 0);
	rcv(s, 100, 0);
	snd(s, 20, 0);
	R(close(s));
}

/* EOF stays: recv keeps answering 0, poll keeps saying readable. */
static void eof_sticky(void)
{
	peer_start("listen ready accept close");
	int s = tcp_to_peer();
	readable(s);
	rcv(s, 10, 0);
	rcv(s, 10, 0);
	out("readable = %d", readable(s));
	rcv(s, 10, MSG_DONTWAIT);
	R(close(s));
}

/* The app closed; the peer's writes meet a reset, then EPIPE. */
static void peer_writes_after_close(void)
{
	peer_start("listen ready accept wait send:10 sleep:300 send:10 sleep:100 send:10");
	int s = tcp_to_peer();
	R(close(s));
	msleep(100);
	peer_go();
}

/* The peer resets: recv gives ECONNRESET once, then EOF. */
static void recv_after_reset(void)
{
	peer_start("listen ready accept sleep:200 rst");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	rcv(s, 10, 0);
	rcv(s, 10, 0);
	R(close(s));
}

/* Unread data when the peer resets: the data is thrown away. */
static void reset_with_data(void)
{
	peer_start("listen ready accept send:30 sleep:200 rst");
	int s = tcp_to_peer();
	msleep(500);
	rcv(s, 100, 0);
	rcv(s, 100, 0);
	R(close(s));
}

const struct fid_scenario fid_close[] = {
	{ "close-unread", close_unread, "close with unread data resets" },
	{ "close-read-all", close_read_all, "close after reading: FIN" },
	{ "linger-zero", linger_zero, "SO_LINGER 0: close resets" },
	{ "linger-one", linger_one, "SO_LINGER 1 s, all acked: FIN" },
	{ "shut-wr", shut_wr, "shutdown(SHUT_WR), then read the answer" },
	{ "shut-rd", shut_rd, "shutdown(SHUT_RD): recv answers 0" },
	{ "shut-rdwr", shut_rdwr, "shutdown(SHUT_RDWR): EPIPE, EOF" },
	{ "shut-twice", shut_twice, "shutdown(SHUT_WR) twice" },
	{ "shut-notconn", shut_notconn, "shutdown of a fresh socket" },
	{ "shut-after-peer-fin", shut_after_peer_fin,
	  "SHUT_WR after the peer's FIN: a clean end, no error" },
	{ "shut-badhow", shut_badhow, "shutdown(7): EINVAL" },
	{ "half-close-peer", half_close_peer, "peer half-closes, app answers" },
	{ "eof-sticky", eof_sticky, "recv after EOF keeps answering 0" },
	{ "peer-writes-after-close", peer_writes_after_close,
	  "the peer writes to a closed connection" },
	{ "recv-after-reset", recv_after_reset, "ECONNRESET once, then 0" },
	{ "reset-with-data", reset_with_data, "a reset discards queued data" },
	{ NULL, NULL, NULL },
};
