/*
 * fragnet/ctl.h - the control protocol between the `fragnet` CLI and a
 * running supervisor.
 *
 * STATUS: the server is src/supervisor/supervisor.c (dispatch) with
 * src/supervisor/ctl.c (socket, reading, replying); the client is
 * src/supervisor/cli.c through ctl_request() in ctl.c.  Both ends are the
 * `fragnet` binary, but of different runs (and versions) of it, so this is
 * a contract like any other.  Keep this comment the whole protocol.
 *
 * TRANSPORT
 *   An AF_UNIX SOCK_SEQPACKET socket at RUN_DIR/FN_SUPERVISOR_SOCK
 *   (names.h), mode 0600 in a 0700 directory.  The server also refuses a
 *   peer whose SO_PEERCRED uid is not 0: it closes the connection without
 *   a word.  One connection carries one request.
 *
 *       client (fragnet status|stats|down)                 supervisor
 *        | connect ------------------------------------------>| uid 0?
 *        | REQUEST: "status" -------------------------------->|
 *        | <------------------------- REPLY text, message 1   |
 *        | <------------------------- ... message n           |
 *        | <------------------------------------------- EOF   |
 *
 *   1. The client connects and sends ONE message: a command word (below),
 *      its bytes only, no NUL, and for a command that takes one an
 *      argument: one space and a pipeline's number or a network's name.
 *      The server takes at most FN_CTL_REQ_MAX - 1 bytes of
 *      [a-z-]+ ( [A-Za-z0-9_-]{1,15})?, after
 *      dropping one trailing '\n' (a client typed by hand may send one);
 *      an argument to a command that takes none is refused.
 *   2. The server answers with one or more messages of at most
 *      FN_CTL_MSG_MAX bytes each.  They carry text with no framing of their
 *      own: the reply is their concatenation, and a message boundary may
 *      fall anywhere, even inside a line.  A reply whose first message
 *      starts with FN_CTL_ERR_PREFIX is a refusal: one line saying why
 *      ("bad request", "unknown command 'x'", "out of memory").
 *   3. The server closes the connection: EOF is the end of the reply.  For
 *      FN_CTL_DOWN it closes only when every component has stopped and the
 *      run directory is gone, so the client's EOF means "stopped".
 *
 *   The server writes each reply blocking, but gives up on a client that
 *   does not read for FN_CTL_SEND_TIMEOUT_MS; a slow client costs the
 *   supervisor's loop at most that long.  A client waits as long as it
 *   likes (the CLI: 5 s, 30 s for down).  The server never trusts a
 *   request: it reads with MSG_TRUNC to learn the real length, and refuses
 *   an oversized, empty or non-word one.  A request that has not arrived
 *   stays pending; a supervisor holds a bounded number of pending
 *   connections and closes further ones unanswered.
 *
 * COMMANDS (the CLI subcommand that sends each)
 *   status      `fragnet status`: the component table (report.h)
 *   stats       `fragnet stats`: every counter, as text for people
 *   stats-json  `fragnet stats --json`: every counter, one JSON document
 *               (report.h)
 *   stats-prom  `fragnet stats --prometheus`: every counter in Prometheus'
 *               text exposition format 0.0.4 (src/supervisor/report.c,
 *               docs/observe.md)
 *   capture N   `fragnet capture N`: the capture region of stack N
 *               (capture.h).  The reply is ONE message, "capture N\n",
 *               carrying the region's fd as SCM_RIGHTS ancillary data,
 *               then EOF; or a refusal ("no stack in pipeline N").  The
 *               client takes exactly one fd, checks it as capture.h
 *               TRUST says and closes any other it was given.
 *   capture-vsw NET  `fragnet capture vswitch/NET`: the capture region
 *               of network NET's switch, as "capture" does ("capture-vsw
 *               NET\n" and the fd; or "no network NET").
 *   down        `fragnet down`: the reply is "stopping topology NAME\n",
 *               then EOF once the topology is gone.  One down at a time:
 *               while one is under way, another is refused (as an
 *               unknown command).
 *
 * THE METRICS CHANNEL ([topology] metrics; src/supervisor/metrics.c is the
 * server, src/supervisor/metrics_serve.c the client)
 *   An AF_UNIX SOCK_SEQPACKET socketpair per start of `fragnet
 *   metrics-serve`: the supervisor keeps one end in its loop, the child
 *   gets the other at FN_FD_METRICS_CHAN (names.h).  No path, no
 *   SO_PEERCRED check: holding the fd is the right to ask, and the only
 *   thing it lets one ask for is the exposition.  Unlike supervisor.sock
 *   the connection carries many requests, one at a time:
 *
 *       fragnet metrics-serve (per GET /metrics)          supervisor
 *        | REQUEST: "stats-prom" ----------------------------->|
 *        | <----- ONE message "stats-prom\n" + SCM_RIGHTS fd    | frozen memfd
 *        |        or ONE message "error: WHY\n", no fd          |
 *
 *   1. The request is the command word FN_CTL_STATS_PROM, checked as on
 *      supervisor.sock (REQUEST above); any other word is refused.
 *   2. The reply is always one message.  Its fd is a frozen memfd
 *      (memfd.h, FN_MEMFD_METRICS) holding exactly the text that
 *      `stats-prom` sends on supervisor.sock; its size is the text's
 *      length (fstat).  The client reads it with pread or sendfile at
 *      explicit offsets: the supervisor may send the same memfd to
 *      several requests within FN_CTL_METRICS_CACHE_MS (one snapshot),
 *      and they share its file offset.
 *   3. The supervisor never waits for the client: it reads requests
 *      with MSG_DONTWAIT, at most FN_CTL_METRICS_BURST per wake-up, and
 *      sends each reply with MSG_DONTWAIT; a reply that does not fit in
 *      the socket's queue is dropped (the client times out and answers
 *      its HTTP client 503).  A client that wants no stale reply drains
 *      the channel before it asks.
 *   4. EOF on either end ends the channel: the child exits when the
 *      supervisor's end closes; the supervisor closes its end when the
 *      child exits or breaks the protocol (kills it, and restarts it).
 */
#ifndef FRAGNET_CTL_H
#define FRAGNET_CTL_H

#define FN_CTL_REQ_MAX		32		/* longest request + 1 */
#define FN_CTL_MSG_MAX		(32 * 1024)	/* bytes per reply message */
#define FN_CTL_ERR_PREFIX	"error: "	/* starts a refusal */
#define FN_CTL_SEND_TIMEOUT_MS	1000		/* server's patience */

/* The command words. */
#define FN_CTL_STATUS		"status"
#define FN_CTL_STATS		"stats"
#define FN_CTL_STATS_JSON	"stats-json"
#define FN_CTL_STATS_PROM	"stats-prom"
#define FN_CTL_DOWN		"down"
#define FN_CTL_CAPTURE		"capture"	/* takes a pipeline index */
#define FN_CTL_CAPTURE_VSW	"capture-vsw"	/* takes a network's name */
#define FN_CTL_METRICS_CACHE_MS	100		/* one snapshot serves all
						 * requests this close */
#define FN_CTL_METRICS_BURST	8		/* requests per wake-up */
#define FN_CTL_ARG_MAX		16		/* longest argument + 1: a
						 * network's name (config.h
						 * FN_IFNAME_MAX) */

#endif /* FRAGNET_CTL_H */
