/*
 * fragnet/trace.h - per-hop frame timestamps, for latency attribution.
 *
 * Off unless a component is started with `--trace DIR` (fragnet-driver and
 * fragnet-stack; put it in the role's `args`).  When off, the hot paths
 * pay one test of fn_trace_on per burst, nothing else.  When on, the
 * component maps DIR/ROLE-PIPELINE.trace (a file of its own, created
 * 0600, no other process writes it) and appends one record per frame and
 * trace point, with CLOCK_MONOTONIC time, which every process on the host
 * shares.  bench/trace-report joins the files of a topology by frame.
 *
 * FILE LAYOUT (one writer: the component; read after the run):
 *     +------------------------------------------------------+ 0
 *     | magic, version, record size, capacity     (const)    |
 *     | count: records written so far (wraps the ring)       |
 *     +------------------------------------------------------+ 64
 *     | rec[0..capacity-1]: record i lives at i % capacity   |
 *     +------------------------------------------------------+
 *
 * A record names its frame by a hash of the IPv4 header fields that stay
 * the same from hop to hop (addresses, id, protocol, length; for TCP also
 * ports, sequence, ack and flags), so the driver's copy and the stack's
 * copy of one frame get the same key.  Frames that are not IPv4 are not
 * recorded.  For TCP the record also keeps the flow (a hash of the two
 * endpoints, the same for both directions), seq + payload length and ack:
 * enough to pair a request with the reply that acknowledges it.
 */
#ifndef FRAGNET_TRACE_H
#define FRAGNET_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FN_TRACE_MAGIC		0x63727466u	/* "ftrc" */
#define FN_TRACE_VERSION	1u
#define FN_TRACE_CAPACITY	(1u << 20)	/* records per file: 32 MiB */

/* Where a frame was seen.  RX: the client's frames toward the app; TX: the
 * app's frames toward the client. */
enum fn_trace_point {
	FN_TP_DRV_RX = 1,	/* driver: out of rte_eth_rx_burst */
	FN_TP_DRV_TO_LINK,	/* driver: copied, submitted to the link */
	FN_TP_STK_RX,		/* stack: received from the link */
	FN_TP_STK_FILTER,	/* stack: the ruleset accepted it */
	FN_TP_STK_DELIVERED,	/* stack: lwIP done (TCP, data queued for the app) */
	FN_TP_STK_TX,		/* stack: submitted to the link */
	FN_TP_DRV_FROM_LINK,	/* driver: received from the link */
	FN_TP_DRV_TX,		/* driver: copied, handed to rte_eth_tx_burst */
	FN_TP_MAX
};

struct fn_trace_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t rec_size;
	uint32_t capacity;
	_Atomic uint64_t count;	/* relaxed; read when the writer is gone */
	uint8_t pad[40];
};

struct fn_trace_rec {
	int64_t t_ns;		/* CLOCK_MONOTONIC: fn_clock_ns() */
	uint32_t key;		/* the frame */
	uint16_t point;		/* enum fn_trace_point */
	uint16_t payload;	/* TCP payload bytes, 0 otherwise */
	uint32_t flow;		/* TCP: both directions alike; 0 otherwise */
	uint32_t seq_end;	/* TCP: seq + payload */
	uint32_t ack;		/* TCP: ack */
	uint32_t pad;
};

/* Set by fn_trace_open(); the only thing the hot path reads when off. */
extern bool fn_trace_on;
#define fn_trace_enabled()	__builtin_expect(fn_trace_on, 0)

/* Map DIR/ROLE-PIPELINE.trace and turn tracing on.  0 or -errno. */
int fn_trace_open(const char *dir, const char *role, int pipeline);
void fn_trace_close(void);

/* Record one frame (Ethernet, len bytes) seen at point at time t
 * (fn_clock_ns(), fragnet/clock.h). */
void fn_trace_frame(unsigned point, const void *frame, uint32_t len, int64_t t);

#endif
