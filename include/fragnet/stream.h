/*
 * fragnet/stream.h - packet streams and links (driver <-> stack,
 * stack <-> vswitch).
 *
 * A packet stream carries frames one way, from a SOURCE to a SINK, as in
 * Genode's os/packet_stream.h.  It is a bulk buffer of fixed-size slots and
 * two fn_rings (see ring.h):
 *
 *     source                                              sink
 *       |  1. take a free slot from its private free list    |
 *       |  2. write the frame into the slot                  |
 *       |  3. submit {off, len} on the SUBMIT ring --------> |
 *       |                       4. validate off and len, read the frame
 *       |  <-------- 5. hand the slot back on the ACK ring   |
 *       |  6. validate the ack, put the slot on its free list |
 *       |  7. the slot is free for step 1 again               |
 *
 * A slot always has exactly one owner: the source (free or being filled),
 * or the sink (submitted, not yet acked).  Each side tracks the owner of
 * every slot in private memory and refuses a descriptor that contradicts it.
 * Both rings have as many entries as there are slots, so a well-behaved
 * source never finds SUBMIT full and a well-behaved sink never finds ACK
 * full.
 *
 * A LINK is two streams in one memfd, one per direction.  Side A (driver,
 * or vswitch port) is the source of stream 0 and the sink of stream 1;
 * side B (stack) is the sink of stream 0 and the source of stream 1.
 *
 * LAYOUT of a link memfd (all offsets from the start, all fixed at create):
 *
 *     0                       struct fn_link_hdr      (const after create)
 *     ctl_off                 struct fn_link_ctl_shm  epoch, ready[2]
 *     stream[s].rings_off     struct fn_stream_shm    submit + ack rings
 *     stream[s].submit_off    struct fn_desc[nslots]  (P = source)
 *     stream[s].ack_off       struct fn_desc[nslots]  (P = sink)
 *     stream[s].bulk_off      nslots * slot_size bytes, page aligned
 *
 * The creator (the supervisor) writes the header; each side checks magic,
 * version and every size and offset against the memfd's real size and
 * against the layout it computes itself, then keeps a private copy.  The
 * shared header is never read again.
 *
 * TRUST
 *   The peer is hostile.  A sink checks that off is slot aligned, inside the
 *   bulk buffer and not already held; that len <= slot_size.  A source checks
 *   that an acked slot is one it submitted.  Any violation drops the frame
 *   (or ack), counts it by cause, and CUTS THE PEER OFF: the endpoint turns
 *   broken, every later call returns -EPIPE until the link is reset (the
 *   supervisor restarts the peer, or a new holder of the peer's side takes
 *   the link: RESET, TAKEN), and the counters show why.  Frame bytes remain writable by the peer while the sink
 *   reads them: parsers must copy what they check before they use it.
 *
 * RESET (a side died; docs/architecture.md, "Restarts")
 *   Ring indices and slot ownership are private knowledge of each side,
 *   so a restarted side cannot pick up where the dead one stopped.  The
 *   link therefore lives in EPOCHS:
 *     1. The supervisor reaps a side and calls fn_link_reset(): epoch += 1,
 *        and every sleeper on the link is woken.
 *     2. A side JOINS an epoch when it attaches, or, if it survived, at the
 *        start of its next call that sees the new epoch.  Joining forgets
 *        every slot in hand (that call returns -ECONNRESET, once per link:
 *        pkts held from before are void) and publishes ready[side] = epoch
 *        (release).  A side joins only between calls, so all its ring
 *        writes of the old epoch are done by then.
 *     3. The first side that sees both ready[] == epoch (acquire) claims
 *        the zeroing (CAS on claim), zeroes the ring indices and publishes
 *        go = epoch (release).
 *     4. A side uses the rings only once go == epoch (acquire); until then
 *        alloc and recv give 0 and wait waits.
 *   The zeroing happens after both sides stopped writing the old epoch and
 *   before either writes the new one, so no stale index survives it (a
 *   survivor stalled inside a call while its peer restarts joins only
 *   after that call).  A source then owns every slot again and a sink
 *   none.  The epoch is written by the supervisor (S), ready[X] by side X,
 *   claim and go by the claimer.  A peer that writes them can only stall or
 *   reset its own link.
 *     A side held by a process that can end without the supervisor seeing
 *   it (side A of a socket channel: the app's main process lives on while
 *   a program it ran, which had the channel, is gone) is TAKEN, not
 *   attached, by the next process: fn_link_take() finds ready[X] == epoch
 *   (someone held side X in this epoch, and its slots in hand are
 *   unknown) and starts the next epoch itself (CAS epoch from E to E + 1;
 *   if the CAS fails, somebody else just did), as step 1 would.
 *
 * POLL MODES (per endpoint, the side that waits):
 *   busy      spin; yield the cpu every few thousand empty polls, so that a
 *             peer on the same core still runs.
 *   adaptive  spin for spin_ns (default FN_ADAPTIVE_SPIN_NS), yielding the
 *             cpu every few dozen polls, then sleep on the ring's futex.
 *   event     sleep on the futex at once.
 *   The producer side wakes a sleeping peer, whatever its own mode.
 */
#ifndef FRAGNET_STREAM_H
#define FRAGNET_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "fragnet/ring.h"

#define FN_LINK_MAGIC		0x4b4c4e46u	/* "FNLK" */
#define FN_LINK_VERSION		2u	/* 2: epochs (RESET) */
#define FN_LINK_MAX_SLOTS	(1u << 16)
#define FN_LINK_MIN_SLOT	64u
#define FN_LINK_MAX_SLOT	(64u * 1024)
#define FN_ADAPTIVE_SPIN_NS	20000

enum fn_poll {
	FN_POLL_BUSY,
	FN_POLL_ADAPTIVE,
	FN_POLL_EVENT,
};

enum fn_link_side {
	FN_LINK_A,	/* driver / vswitch: source of stream 0, sink of stream 1 */
	FN_LINK_B,	/* stack: sink of stream 0, source of stream 1 */
};

struct fn_stream_layout {
	uint64_t rings_off;
	uint64_t submit_off;
	uint64_t ack_off;
	uint64_t bulk_off;
};

struct fn_link_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t total_size;
	uint32_t nslots;	/* per stream, power of two */
	uint32_t slot_size;	/* bytes, multiple of 64 */
	uint64_t ctl_off;	/* struct fn_link_ctl_shm */
	struct fn_stream_layout stream[2];
};

/* Read-mostly: every call of either side loads epoch (relaxed); it changes
 * only when a side dies. */
struct fn_link_ctl_shm {
	alignas(FN_CACHE_LINE) _Atomic uint32_t epoch;	/* S, or a taker: starts at 1 */
	_Atomic uint32_t ready[2];	/* side X: the epoch X has joined */
	_Atomic uint32_t claim;		/* either: the epoch it zeroes (CAS) */
	_Atomic uint32_t go;		/* the claimer: epoch zeroed, go */
};

struct fn_stream_shm {
	struct fn_ring_shm submit;	/* source -> sink */
	struct fn_ring_shm ack;		/* sink -> source */
};

/* Counters of one endpoint; index into fn_endpoint.ctr. */
enum fn_stream_ctr {
	FN_SC_PKTS,		/* frames submitted (source) or received (sink) */
	FN_SC_BYTES,
	FN_SC_BURSTS,		/* non-empty bursts */
	FN_SC_NOSLOT,		/* source: alloc found no free slot */
	FN_SC_BAD_RING,		/* peer index impossible */
	FN_SC_BAD_OFF,		/* descriptor offset not a slot of ours */
	FN_SC_BAD_LEN,		/* descriptor length > slot size */
	FN_SC_BAD_OWNER,	/* slot not owned by the peer (dup, forged ack) */
	FN_SC_WAKEUPS,		/* FUTEX_WAKE calls we issued */
	FN_SC_SLEEPS,		/* times we slept on the futex */
	FN_SC_COUNT
};

extern const char *const fn_stream_ctr_names[FN_SC_COUNT];

/* A frame in hand: a local view, never stored in shared memory. */
struct fn_pkt {
	uint8_t *data;		/* into the bulk buffer */
	uint32_t len;		/* bytes of frame */
	uint32_t slot;		/* slot index */
};

/* Slot states, private to each side. */
enum { FN_SLOT_PEER = 0, FN_SLOT_FREE, FN_SLOT_ALLOC, FN_SLOT_HELD };

/* One end of one stream: a source or a sink. */
struct fn_endpoint {
	struct fn_ring data;	/* submit ring: producer if source */
	struct fn_ring ret;	/* ack ring: producer if sink */
	uint8_t *bulk;
	uint32_t nslots;
	uint32_t slot_size;
	bool is_source;
	bool broken;
	enum fn_poll poll;
	uint32_t spin_ns;
	uint32_t idle_polls;	/* empty polls since the last sched_yield() */
	int bell_fd;		/* peer's doorbell eventfd, or -1: futex */
	uint8_t *state;		/* per slot, FN_SLOT_* */
	uint32_t *free;		/* source: stack of free slots */
	uint32_t nfree;
	struct fn_link *link;	/* the link this endpoint belongs to */
	uint32_t epoch;		/* epoch of our last call; != link's: reset */
	_Atomic uint64_t *ctr;	/* FN_SC_COUNT counters: own or stats page */
	_Atomic uint64_t own_ctr[FN_SC_COUNT];
};

struct fn_link {
	void *base;
	uint64_t size;
	struct fn_link_hdr hdr;		/* private, validated copy */
	struct fn_link_ctl_shm *ctl;
	enum fn_link_side side;
	uint32_t epoch;			/* the epoch we joined */
	bool joined;			/* the peer has joined it too */
	struct fn_endpoint tx;		/* we are its source */
	struct fn_endpoint rx;		/* we are its sink */
};

/* Bytes of a link memfd for this geometry, or 0 if the geometry is bad. */
uint64_t fn_link_size(uint32_t nslots, uint32_t slot_size);

/*
 * Create a link memfd (name for /proc), sized and initialised.  Returns the
 * fd (O_CLOEXEC, sealed against shrinking and growing) or a negative errno.
 */
int fn_link_create(const char *name, uint32_t nslots, uint32_t slot_size);

/*
 * Supervisor: a side of link fd died.  Start a new epoch (see RESET) and
 * wake both sides.  Returns 0 or a negative errno.
 */
int fn_link_reset(int fd);

/* Has the peer joined our epoch (rings usable)?  Follows a reset. */
bool fn_link_peer_ready(struct fn_link *l);

/*
 * Map link fd and attach as side.  The fd is not kept.  Returns 0 or a
 * negative errno: -EBADMSG for a bad magic, version, size or layout.
 */
int fn_link_attach(struct fn_link *l, int fd, enum fn_link_side side,
		   enum fn_poll poll);

/*
 * fn_link_attach() for a new holder of side, after another one (see RESET,
 * TAKEN): if side joined the current epoch already, start the next one,
 * and wake every futex sleeper (the caller rings the peer's doorbell:
 * fn_link_set_bell()).  The peer then hears -ECONNRESET, as after a
 * death.  On a link whose side nobody held in this epoch it is
 * fn_link_attach().
 */
int fn_link_take(struct fn_link *l, int fd, enum fn_link_side side,
		 enum fn_poll poll);
void fn_link_detach(struct fn_link *l);

/*
 * Every call below may also return -ECONNRESET, once per link after it was
 * reset (see RESET): drop every pkt of the link in hand (both endpoints),
 * then go on as on a fresh link.  Calls that would give slots or frames
 * give 0 while the peer has not joined; submit and ack, which need pkts of
 * the current epoch, return -EAGAIN then.
 */

/* --- source side --------------------------------------------------------- */

/* Take up to n free slots (reclaims acks first).  Each pkt gets data,
 * slot, and len = slot_size (its capacity).  Returns how many, possibly 0,
 * or -EPIPE if the peer was cut off. */
int fn_stream_alloc_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n);

/* Submit allocated pkts with their len set (<= slot_size).  All n go in,
 * in order; ownership passes to the sink.  Wakes a sleeping sink.  Returns
 * n, -EINVAL if a pkt is not allocated or too long (nothing submitted), or
 * -EPIPE if the peer was cut off. */
int fn_stream_submit_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n);

/* Give allocated, unsubmitted pkts back to the free list. */
void fn_stream_release(struct fn_endpoint *e, struct fn_pkt *p, unsigned n);

/* Process pending acks.  Returns free slots now, or -EPIPE. */
int fn_stream_reclaim(struct fn_endpoint *e);

/* --- sink side ------------------------------------------------------------ */

/* Receive up to n frames.  Returns how many, possibly 0, or -EPIPE.  Frames
 * with bad descriptors are never returned. */
int fn_stream_recv_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n);

/* Hand received frames back to the source.  Wakes it if it sleeps. Returns
 * n, -EINVAL if a pkt is not held by us (nothing acked), or -EPIPE. */
int fn_stream_ack_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n);

/* --- both ---------------------------------------------------------------- */

/*
 * Wait, per the endpoint's poll mode, until there is work: frames to
 * receive (sink) or acks to reclaim (source).  timeout_ns < 0 waits
 * forever, 0 only polls.  Returns 1 when there is work, 0 on timeout or
 * signal, -EPIPE, or -ECONNRESET (a reset, reported here instead of by the
 * next call).  Asleep on the futex it also returns 0 after at most
 * 100 ms, so that its caller can check on a peer that died silently.
 */
int fn_stream_wait(struct fn_endpoint *e, int64_t timeout_ns);

/*
 * Doorbells (ring.h, DOORBELLS), for a process that waits in its own epoll.
 * Producer side: fn_stream_set_bell(e, fd) makes e's submits (source) or
 * acks (sink) write eventfd fd when the peer sleeps, instead of a futex
 * wake.  Consumer side: fn_stream_arm() before blocking: 1 = armed, block
 * on your eventfd; 0 = work is already there, do not block; -EPIPE or
 * -ECONNRESET as elsewhere.  fn_stream_disarm() when you wake.
 */
void fn_stream_set_bell(struct fn_endpoint *e, int fd);
int fn_stream_arm(struct fn_endpoint *e);
void fn_stream_disarm(struct fn_endpoint *e);

/* Source side: is the sink of our frames awake (ring.h,
 * fn_ring_peer_awake)?  False once the stream is cut off.  A hint only. */
bool fn_stream_peer_awake(const struct fn_endpoint *e);

/* Both endpoints of l ring the peer's doorbell fd, and it is rung once now:
 * the join in fn_link_attach() could not ring it, and a peer asleep on it
 * since must look at the link again (it may have been reset meanwhile). */
void fn_link_set_bell(struct fn_link *l, int fd);

/* Frames (sink) or acks (source) ready now; 0 while a reset is pending. */
unsigned fn_stream_pending(struct fn_endpoint *e);

/* Point the endpoint's counters at ctr[FN_SC_COUNT] (a stats page block),
 * carrying the current values over.  NULL (a full stats page) is ignored. */
void fn_stream_bind_counters(struct fn_endpoint *e, _Atomic uint64_t *ctr);

const char *fn_poll_name(enum fn_poll p);
int fn_poll_parse(const char *s, enum fn_poll *out);

#endif /* FRAGNET_STREAM_H */
