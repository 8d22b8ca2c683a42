/*
 * fragnet/nlctl.h - nf_tables netlink over a stack's control socket.
 *
 * STATUS: implemented by libfragnet-netlink.so (src/netlink-shim/, the
 * client, preloaded into the real `nft` by `fragnet nft`) and by the
 * stack's control socket (src/stack/control.c, the server, which hands the
 * netlink bytes to src/nft/nl_*.c).  Keep this comment the whole protocol.
 *
 * TRANSPORT
 *   The control socket of stack i is an AF_UNIX SOCK_SEQPACKET socket at
 *   FN_RUN_ROOT/<topology>/stack<i>.ctl (names.h), mode 0600 in a 0700
 *   directory (`fragnet nft` hands the shim that path in
 *   FRAGNET_NFT_CONTROL, names.h); the stack also refuses a peer whose
 *   SO_PEERCRED uid is not 0.  One connection carries the netlink traffic
 *   of one netlink socket of the client.  Every SEQPACKET message starts
 *   with struct fn_nlctl_hdr; `len` payload bytes follow and the message
 *   is exactly sizeof(hdr) + len bytes long (anything else: the server
 *   closes the connection).
 *
 *       client (nft + shim)                              stack
 *        | NETLINK [MORE] chunk ... NETLINK chunk (last) -->|  reassemble,
 *        |                                                 |  handle as one
 *        | <-- REPLY (whole netlink messages) ...          |  netlink datagram
 *        | <-- DONE                                        |
 *
 *   1. The client sends what its netlink socket's sendmsg() carried (one
 *      netlink datagram: one request, or one whole batch) as FN_NLCTL_NETLINK
 *      chunks of at most FN_NLCTL_CHUNK bytes; every chunk but the last has
 *      FN_NLCTL_F_MORE.  A datagram is at most FN_NLCTL_REQ_MAX bytes.
 *      flags also carry the socket options the client set on its netlink
 *      socket (FN_NLCTL_F_CAP_ACK, FN_NLCTL_F_EXT_ACK): they shape errors.
 *   2. The server answers with zero or more FN_NLCTL_REPLY messages, each
 *      holding one or more whole netlink messages (nlmsg_pid 0: the client
 *      puts in its own port id), then exactly one FN_NLCTL_DONE (len 0):
 *      everything the kernel would have queued on the socket by the time
 *      sendmsg() returned has been sent.
 *   3. The client sends its next datagram only after DONE: one request in
 *      flight per connection.
 *
 *   The server never blocks on a client: a client that does not read its
 *   replies stalls only its own connection.  EOF from either side ends the
 *   conversation; a half-sent batch is dropped, as the kernel would.
 */
#ifndef FRAGNET_NLCTL_H
#define FRAGNET_NLCTL_H

#include <stdint.h>

#define FN_NLCTL_CHUNK		(60u * 1024)	/* payload bytes per message */
#define FN_NLCTL_REQ_MAX	(64u << 20)	/* one reassembled datagram */
#define FN_NLCTL_REPLY_MAX	(512u * 1024)	/* payload of one REPLY */

enum fn_nlctl_type {
	FN_NLCTL_NETLINK = 1,	/* client -> server: datagram bytes */
	FN_NLCTL_REPLY = 2,	/* server -> client: whole netlink messages,
				 * at most FN_NLCTL_REPLY_MAX bytes */
	FN_NLCTL_DONE = 3,	/* server -> client: end of replies */
};

#define FN_NLCTL_F_MORE		0x0001	/* NETLINK: more chunks follow */
#define FN_NLCTL_F_CAP_ACK	0x0002	/* NETLINK: client set NETLINK_CAP_ACK */
#define FN_NLCTL_F_EXT_ACK	0x0004	/* NETLINK: client set NETLINK_EXT_ACK */

struct fn_nlctl_hdr {
	uint16_t type;		/* enum fn_nlctl_type */
	uint16_t flags;		/* FN_NLCTL_F_* */
	uint32_t len;		/* payload bytes after the header */
};

#endif /* FRAGNET_NLCTL_H */
