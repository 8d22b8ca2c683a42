/*
 * fragnet/sock.h - the client side of the socket channel (sockchan.h):
 * BSD-like, non-blocking sockets served by the app's own fragnet-stack.
 *
 * A native app (or libfragnet-preload.so) opens the channel once, then
 * calls these like socket(2) & co.  Every call is NON-BLOCKING: a call that
 * needs the stack's answer (socket, bind, listen, connect, shutdown, close,
 * setsockopt, getsockname/getpeername) sends its request and processes
 * events until its FN_SEV_DONE arrives (a round trip to the stack, bounded
 * by FN_SOCK_RPC_TIMEOUT_MS, -ETIMEDOUT after it); send/recv/accept never
 * wait for the stack: they answer -EAGAIN when no credit, data or
 * connection is there.  Sends are PIPELINED (sockchan.h FLOW CONTROL): a
 * send posts its request and returns the bytes taken at once; the stack
 * guarantees they reach TCP, in order.  An error the stack finds later
 * (the peer reset the connection: -ECONNRESET, -EPIPE) is returned by a
 * later call on that socket, as POSIX does.  Only when every request slot
 * is in use does a call wait (bounded) for the stack to free one.
 *
 *     struct fn_sock_chan c;
 *     fn_sock_open(&c);                       // from names.h env vars
 *     int s = fn_sock_socket(&c, SOCK_STREAM);
 *     fn_sock_bind(&c, s, &sin); fn_sock_listen(&c, s, 128);
 *     for (;;) {
 *             fn_sock_poll(&c, -1);           // or epoll on fn_sock_wait_fd
 *             int n = fn_sock_accept(&c, s, &peer);   // -EAGAIN: none yet
 *             ...fn_sock_events(&c, n) & POLLIN -> fn_sock_recv(...)
 *     }
 *
 * Socket handles are small ints >= 1 of the library's own, valid only with
 * their channel (mapped to the stack's socket ids inside, so that a handle
 * that survived a reset of the channel never names a new socket).  Every call returns >= 0 or a negative errno with
 * POSIX meaning (-EBADF unknown socket, -EAGAIN, -EINPROGRESS, -ENOTCONN,
 * -ECONNRESET, -EPIPE, ...).  After the channel is cut off or reset (the
 * stack died), every call returns -EPIPE / -ECONNRESET for old sockets.
 *
 * WAITING: fn_sock_wait_fd() is the app bell eventfd: put it in your own
 * epoll (EPOLLIN).  The stack rings it only when the app said it sleeps:
 * call fn_sock_arm(c) right before epoll_wait (0 = events are already
 * there: do not block), then, awake, fn_sock_disarm(c), read the eventfd
 * (it is the caller's to drain) and fn_sock_process(c).  fn_sock_poll(c, timeout) processes events and, if
 * there were none, arms the bell, blocks on it up to timeout_ms (-1 =
 * forever), disarms, and processes again.  Without a bell (fd < 0) it waits
 * on the events ring's futex instead.
 *
 * Not thread-safe: one thread per channel, or your own lock.
 */
#ifndef FRAGNET_SOCK_H
#define FRAGNET_SOCK_H

#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fragnet/sockchan.h"
#include "fragnet/stream.h"

#define FN_SOCK_RPC_TIMEOUT_MS	5000

struct fn_sock_ent;	/* per socket, private to sock.c */
struct fn_sock_held;	/* per event slot we hold, private to sock.c */

struct fn_sock_chan {
	struct fn_link link;		/* side A */
	int app_bell_fd;		/* we wait on it, or -1 */
	int stack_bell_fd;		/* we ring it, or -1 */
	uint64_t next_cookie;
	uint64_t want_cookie;		/* the request rpc() waits for */
	uint64_t done_cookie;		/* cookie of its DONE, once seen */
	int32_t done_result;
	struct fn_sock_addr done_addr;
	uint32_t done_arg;		/* arg[0] of that DONE */
	struct fn_sock_held *held;	/* [link.rx.nslots] */
	struct fn_sock_ent *sock;	/* growable array, indexed by handle */
	uint32_t nsock;			/* entries allocated in sock[] */
	uint32_t nhand;			/* handles handed out so far + 1 */
	uint32_t free_h;		/* free list of handles, 0 = none */
	uint32_t *rev;			/* stack id -> handle, 0 = none */
	uint32_t nrev;
	uint32_t *orph;			/* stack ids to abort (orphans) */
	uint32_t norph, corph;
	int dead;			/* 0, or -EPIPE / -ECONNRESET */
	uint64_t bad_events;		/* events from the stack we refused */
	uint64_t send_errors;		/* pipelined SENDs the stack failed */
	uint64_t ev_seq;		/* events handled: fn_sock_ready_seq's clock */
	int64_t deadline_ms;		/* fn_sock_set_deadline; 0 = none */
};

/* Bound the waits of every later call that waits for the stack (a
 * request slot, a DONE) by until_ms, a fn_clock_ms() time, besides
 * FN_SOCK_RPC_TIMEOUT_MS: they answer -ETIMEDOUT after it.  0 lifts the
 * bound.  For an app on its way out (the preload library's exit). */
void fn_sock_set_deadline(struct fn_sock_chan *c, int64_t until_ms);

/* Attach from FRAGNET_SOCKCHAN_FD, FRAGNET_APP_BELL_FD and
 * FRAGNET_STACK_BELL_FD (the bells optional).  0 or -errno. */
int fn_sock_open(struct fn_sock_chan *c);
/* Attach to explicit fds (bells may be -1).  The fds are not closed by
 * fn_sock_close_chan; chan_fd is not kept. */
int fn_sock_attach(struct fn_sock_chan *c, int chan_fd, int app_bell_fd,
		   int stack_bell_fd);
void fn_sock_close_chan(struct fn_sock_chan *c);

/* type: SOCK_STREAM or SOCK_DGRAM (SOCK_NONBLOCK/CLOEXEC ignored). */
int fn_sock_socket(struct fn_sock_chan *c, int type);
int fn_sock_bind(struct fn_sock_chan *c, int s, const struct sockaddr_in *a);
int fn_sock_listen(struct fn_sock_chan *c, int s, int backlog);
/* New socket id, or -EAGAIN if no connection is queued. */
int fn_sock_accept(struct fn_sock_chan *c, int s, struct sockaddr_in *peer);
/* Stream: -EINPROGRESS, then POLLOUT (connected) or POLLERR (see
 * fn_sock_error).  Datagram: sets the default peer, 0. */
int fn_sock_connect(struct fn_sock_chan *c, int s,
		    const struct sockaddr_in *a);
/* Bytes taken (maybe fewer than len), or -EAGAIN / -errno.  Taken bytes
 * are sent (pipelined: see above); errors come on a later call. */
ssize_t fn_sock_send(struct fn_sock_chan *c, int s, const void *buf,
		     size_t len);
ssize_t fn_sock_sendto(struct fn_sock_chan *c, int s, const void *buf,
		       size_t len, const struct sockaddr_in *a);
/* Bytes read, 0 at EOF, -EAGAIN, -errno.  A datagram longer than len is
 * truncated (the rest is dropped, as recv(2) does). */
ssize_t fn_sock_recv(struct fn_sock_chan *c, int s, void *buf, size_t len);
/* As fn_sock_recvfrom, but what it copies stays queued (MSG_PEEK). */
ssize_t fn_sock_peek(struct fn_sock_chan *c, int s, void *buf, size_t len,
		     struct sockaddr_in *from);
ssize_t fn_sock_recvfrom(struct fn_sock_chan *c, int s, void *buf,
			 size_t len, struct sockaddr_in *from);
int fn_sock_shutdown(struct fn_sock_chan *c, int s, int how);
/* Graceful close; with unread data the stack sends RST.  Frees the id
 * locally at once (the stack frees its own on our ack of FN_SEV_CLOSED). */
int fn_sock_close(struct fn_sock_chan *c, int s);
/* Close with a reset at once (SO_LINGER {1, 0}); otherwise as above. */
int fn_sock_close_rst(struct fn_sock_chan *c, int s);
int fn_sock_getsockname(struct fn_sock_chan *c, int s, struct sockaddr_in *a);
int fn_sock_getpeername(struct fn_sock_chan *c, int s, struct sockaddr_in *a);
int fn_sock_setsockopt(struct fn_sock_chan *c, int s, int level, int name,
		       const void *val, socklen_t len);
/* Pending error of s (SO_ERROR), cleared by the call: 0 or -errno. */
int fn_sock_error(struct fn_sock_chan *c, int s);

/* POLLIN | POLLOUT | POLLHUP | POLLERR of s now (POLLNVAL if unknown). */
unsigned fn_sock_events(struct fn_sock_chan *c, int s);
/* The app bell eventfd to wait on, or -1 if none. */
int fn_sock_wait_fd(struct fn_sock_chan *c);
/* Events processed (>= 0) or -errno; see WAITING. */
int fn_sock_poll(struct fn_sock_chan *c, int timeout_ms);
int fn_sock_process(struct fn_sock_chan *c);
/* Before blocking in your own epoll on fn_sock_wait_fd(): 1 = armed,
 * block; 0 = events wait, process them first; -errno.  See WAITING. */
int fn_sock_arm(struct fn_sock_chan *c);
void fn_sock_disarm(struct fn_sock_chan *c);
/* Block until fn_sock_events(c, s) & events, or timeout_ms: the bits, 0 on
 * timeout, -errno. */
int fn_sock_wait(struct fn_sock_chan *c, int s, unsigned events,
		 int timeout_ms);

/*
 * Additions for libfragnet-preload.so (appended; nothing above changed).
 * fn_sock_nread: the bytes a recv would return now without waiting (a
 * stream socket's queued bytes; a datagram socket's next datagram size, 0
 * if none): FIONREAD, and MSG_TRUNC for recvmsg.  fn_sock_rd_closed: 1
 * once nothing more will arrive after the queue (FIN, SHUT_RD, error):
 * EPOLLRDHUP.  Neither processes events; both -EBADF for an unknown s.
 */
ssize_t fn_sock_nread(struct fn_sock_chan *c, int s);
int fn_sock_rd_closed(struct fn_sock_chan *c, int s);
/* 1 if s died with a reset of the channel (its stack restarted; every call
 * on it answers -ECONNRESET until closed), 0 if not, -EBADF if unknown. */
int fn_sock_is_reset(struct fn_sock_chan *c, int s);
/* The ev_seq (events handled so far, counting this one) of the event that
 * last made s readable from not readable: data into an empty queue, a
 * connection into an empty accept queue, EOF or an error with nothing
 * queued; 0 if never, or if s is unknown.  The kernel's epoll reports
 * ready files in the order they became ready; libfragnet-preload.so sorts
 * by this to do the same (docs/preload.md, epoll). */
uint64_t fn_sock_ready_seq(struct fn_sock_chan *c, int s);
/* The bytes a send on stream socket s takes now: the stack's credit as
 * last heard (a send of 0 bytes processes events and reports an error
 * first).  0 if none, or s is no connected stream open for writing;
 * -EBADF if unknown.  libfragnet-preload.so's splice takes no more from
 * a pipe, so that the rest stays there. */
ssize_t fn_sock_credit(struct fn_sock_chan *c, int s);

#endif /* FRAGNET_SOCK_H */
