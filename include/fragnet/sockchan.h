/*
 * fragnet/sockchan.h - the socket channel between an app and its stack.
 *
 * STATUS: implemented by fragnet-stack's socket service (src/stack/
 * sock_serv.c) and the client library (src/lib/sock.c, fragnet/sock.h).
 * Keep this comment the whole protocol.
 *
 * TRANSPORT
 *   A socket channel is a packet link (stream.h) in a memfd of its own,
 *   created by the supervisor and given to exactly one app and its stack:
 *   side A is the app (libfragnet-preload.so, or a native app through
 *   fn_sock_*), side B the stack.  Stream 0 carries REQUESTS, stream 1
 *   EVENTS.  Each slot holds one message: struct fn_sock_msg, then `len`
 *   payload bytes.  Everything the link guarantees holds here: each slot has
 *   one owner, every descriptor is checked, a peer that breaks the protocol
 *   is cut off and counted, and epochs: when the app dies the supervisor
 *   resets the channel, and when a process of the app takes the channel
 *   over from one that ended (fn_link_take(), stream.h RESET) it starts
 *   the next epoch itself; the stack, on -ECONNRESET, aborts every open
 *   socket of the old holder (RST to TCP peers, UDP pcbs removed,
 *   counted).  No open socket outlives its holder; one it had closed
 *   still sends what it holds, at most 60 s, as in the kernel.
 *
 *       app                                                   stack
 *        | socket/bind/listen/connect/send/close ...  REQ -->  |
 *        |                                                     | lwIP raw API
 *        | <-- EV  completions, data, accepted, writable,      |
 *        |         peer closed, errors                         |
 *
 * MESSAGES
 *   A request carries a cookie of the app's choosing; the stack answers
 *   every request with exactly one FN_SEV_DONE event with that cookie, the
 *   request's op in DONE.flags, and a result (>= 0, or a negative errno as
 *   POSIX would set it), in request order - except a SEND flagged
 *   FN_SREQ_F_QUIET that was taken whole, which is answered by nothing
 *   (its DONE would only cost an event slot; a quiet SEND that fails or is
 *   taken in part does get its DONE).  The app need not wait for a DONE
 *   before its next request: SENDs are pipelined (FLOW CONTROL).  Request
 *   flags other than FN_SREQ_F_QUIET on a SEND are ignored.  Unsolicited events (data, accepted, writable, ...) may come
 *   between completions.  Socket ids are the stack's: small integers, never
 *   reused while the app could still name the old socket (an id is freed
 *   only after FN_SEV_CLOSED has been acked).
 *
 *   request          sock  addr      arg                 payload  DONE.result
 *   FN_SREQ_SOCKET   -     -         [0] SOCK_STREAM|DGRAM -     new sock id
 *   FN_SREQ_BIND     s     local     -                   -        0
 *   FN_SREQ_LISTEN   s     -         [0] backlog         -        0
 *   FN_SREQ_CONNECT  s     remote    -                   -        -EINPROGRESS
 *                                        (then FN_SEV_CONNECTED or ERROR)
 *   FN_SREQ_SEND     s     remote*   -                   bytes    bytes taken,
 *                                          DONE.arg[0] credit, [1] taken (stream)
 *   FN_SREQ_SHUTDOWN s     -         [0] SHUT_RD|WR|RDWR -        0
 *   FN_SREQ_CLOSE    s     -         [0] 1 = abort (RST) -        0
 *   FN_SREQ_SETOPT   s     -         [0] level [1] name  value    0
 *   FN_SREQ_GETNAME  s     -         [0] 0 local, 1 peer -        0, addr set
 *     * remote only for an unconnected datagram socket (sendto).
 *   Values on the wire are Linux's: SOCK_STREAM/SOCK_DGRAM, SHUT_*, and
 *   SETOPT's level and name (SOL_SOCKET SO_KEEPALIVE, SO_REUSEADDR,
 *   SO_RCVBUF, SO_SNDBUF; IPPROTO_TCP TCP_NODELAY), whose value is the
 *   payload (an int, 4..64 bytes); other options answer -ENOPROTOOPT.
 *   SHUTDOWN SHUT_RD drops data that arrives later; SHUT_WR sends FIN
 *   after every byte already taken.
 *   Only SEND and SETOPT carry a payload; LISTEN's backlog is 1..255.
 *   GETNAME on a listening socket's peer answers -ENOTCONN.
 *
 *   event              sock  addr     arg                 payload
 *   FN_SEV_DONE        s     (name)   -                   -
 *   FN_SEV_DATA        s     from*    -                   bytes received
 *   FN_SEV_ACCEPTED    new   peer     [0] listening sock  -
 *   FN_SEV_CONNECTED   s     -        -                   -
 *   FN_SEV_WRITABLE    s     -        [0] credit [1] taken -
 *   FN_SEV_PEER_CLOSED s     -        -                   - (FIN: EOF after data)
 *   FN_SEV_ERROR       s     -        result = -errno     - (ECONNRESET, ...)
 *   FN_SEV_CLOSED      s     -        -                   - (id may be reused)
 *     * from only for datagram sockets (recvfrom).
 *   A stream socket's DATA payload is at most slot - header bytes; a TCP
 *   pbuf chain larger than that takes several DATA slots, all or none.  A
 *   datagram larger than a slot is dropped (counted).  CONNECTED is
 *   followed by WRITABLE; an accepted socket gets WRITABLE after ACCEPTED.
 *   ERROR reports -ECONNREFUSED for an RST to our SYN, -ECONNRESET for an
 *   RST later, -ETIMEDOUT, -ECONNABORTED: the stack's pcb is gone then.
 *   CLOSE: the stack answers DONE, then CLOSED, and frees the id when
 *   CLOSED is acked; after CLOSE's DONE no other event names the socket.
 *   Socket ids are the stack's; the client library maps them to handles of
 *   its own (a handle that outlived a reset must not name a new socket).
 *
 * FLOW CONTROL, end to end, no unbounded buffer anywhere
 *   Receive: the stack copies received data into event slots.  A slot comes
 *   back (acked) only when the app has consumed it, and the stack calls
 *   tcp_recved() for a DATA slot's bytes when its ack arrives - so an app
 *   that stops reading stops acking, the stack runs out of event slots,
 *   refuses lwIP's data (kept by lwIP, not by us), and the TCP window
 *   closes.  The stack keeps 32 event slots (sock_serv.c SLOT_RESERVE)
 *   free of DATA and ACCEPTED, so that an app holding all its data still
 *   gets its DONEs and control events; it takes a request only with an
 *   event slot free for its DONE.
 *
 *   Send, PIPELINED: the app posts SENDs without waiting for their DONEs.
 *   For each stream socket the stack counts `taken`, the payload bytes of
 *   every SEND of that socket it has consumed (mod 2^32), and `credit`,
 *   the bytes it will still take: lwIP's tcp_sndbuf less what it holds
 *   (below).  Both go, as one snapshot, in every FN_SEV_WRITABLE and every
 *   SEND's DONE (arg[0] credit, arg[1] taken); the client library posts
 *   its SENDs quiet, so WRITABLE (posted as acks free lwIP's buffer) is
 *   where its credit grows.  The app counts `sent`, the
 *   bytes it posted; on each such event its credit is
 *       credit - (sent - taken)        (0 if negative)
 *   - exact, since events are ordered and the stack's credit grows only by
 *   acks, shrinking only by the SENDs the app has already counted.  The
 *   app never posts beyond its credit and answers EAGAIN (or blocks)
 *   instead; a request slot is another bound.
 *     The stack HONOURS every byte of credit it gave: an honest SEND is
 *   taken whole (DONE.result = len) and reaches TCP, in order.  When
 *   tcp_write refuses for lwIP's queue limit (TCP_SND_QUEUELEN segments,
 *   not the byte buffer), the stack copies the rest into the socket's hold
 *   and writes it, before anything newer, as acks free the queue; held
 *   bytes count against the credit, so hold + lwIP's queued bytes <=
 *   TCP_SND_BUF per socket: the hold never grows the send-side bound.  A
 *   SHUT_WR or a graceful CLOSE with bytes held sends its FIN after them
 *   (a closed socket's hold drains for at most 60 s, then RST).  Bytes
 *   beyond the credit (a broken app) are dropped and counted
 *   (sock.send_over_credit), DONE.result < len: not a violation.
 *     A SEND that fails (the connection was reset, or shut down) answers
 *   -EPIPE / -ECONNRESET in its DONE; the app reports it on a later call,
 *   as POSIX does for an error found after send(2) returned.  Datagrams
 *   are pipelined too (the request ring bounds them); a failed one is
 *   reported later only on a connected socket, as Linux does.
 *
 * WAKE-UPS (docs/architecture.md, "Wake-ups")
 *   The app waits in its own epoll: the stack rings the app's doorbell, an
 *   eventfd (FN_FD_APP_BELL), when it posts events while the app's events
 *   ring says it sleeps.  The stack waits on its own doorbell eventfd,
 *   which the app and the driver ring the same way, so one epoll_wait
 *   covers the link, the socket channel and the control socket.  The ring
 *   protocol is ring.h's (sleeping flag, F1/F2), with write(eventfd) in
 *   place of FUTEX_WAKE.
 *
 * TRUST
 *   The stack treats the app as hostile: the message header is copied out of
 *   the slot before any check; op, sock, len (<= slot_size - header), the
 *   address family and every arg are validated; a request with a bad op,
 *   len (> slot, or a payload on an op without one), family or arg, or on
 *   a socket the app does not own (or has closed) is a violation: counted
 *   (sock.violations, sock.cutoffs), the channel cut off (both endpoints
 *   broken, nothing read or posted) and the app's sockets aborted, until
 *   the supervisor resets the channel.  A flood cannot exceed the ring;
 *   requests wait there while the stack has no event slot for their DONE.  The app treats the stack as trusted but still checks lengths
 *   before it copies into its own buffers.
 */
#ifndef FRAGNET_SOCKCHAN_H
#define FRAGNET_SOCKCHAN_H

#include <stdint.h>

#define FN_SOCKCHAN_VERSION	1u
#define FN_SOCKCHAN_SLOTS	256u		/* per direction */
#define FN_SOCKCHAN_SLOT	16384u		/* bytes per message slot */

enum fn_sock_req {
	FN_SREQ_SOCKET = 1,
	FN_SREQ_BIND,
	FN_SREQ_LISTEN,
	FN_SREQ_CONNECT,
	FN_SREQ_SEND,
	FN_SREQ_SHUTDOWN,
	FN_SREQ_CLOSE,
	FN_SREQ_SETOPT,
	FN_SREQ_GETNAME,
	FN_SREQ_MAX
};

/* Request flags (fn_sock_msg.flags of a request). */
#define FN_SREQ_F_QUIET	0x1	/* SEND: no DONE if taken whole */

enum fn_sock_ev {
	FN_SEV_DONE = 0x100,
	FN_SEV_DATA,
	FN_SEV_ACCEPTED,
	FN_SEV_CONNECTED,
	FN_SEV_WRITABLE,
	FN_SEV_PEER_CLOSED,
	FN_SEV_ERROR,
	FN_SEV_CLOSED,
	FN_SEV_MAX
};

/* An IPv4 endpoint, network byte order: the only family lwIP serves here. */
struct fn_sock_addr {
	uint32_t addr;
	uint16_t port;
	uint16_t family;	/* AF_INET, or 0 for none */
};

/* Every message starts with this header; payload follows at offset 64. */
struct fn_sock_msg {
	uint16_t op;		/* enum fn_sock_req or enum fn_sock_ev */
	uint16_t flags;
	uint32_t sock;		/* stack's socket id; 0 = none */
	uint64_t cookie;	/* request: app's; DONE: echoed */
	int32_t result;		/* events: >= 0 or -errno */
	uint32_t len;		/* payload bytes after the header */
	struct fn_sock_addr addr;
	uint32_t arg[4];
	uint8_t pad[64 - 48];
};

_Static_assert(sizeof(struct fn_sock_msg) == 64, "one cache line");

#endif /* FRAGNET_SOCKCHAN_H */
