/*
 * fragnet/capture.h - a capture region: copies of the frames a stack or
 * a vswitch receives, sends and drops, for `fragnet capture`
 * (docs/observe.md).
 *
 *   object              created by    mapped by                 writes
 *   ------------------  ------------  ------------------------  -----------
 *   memfd fragnet-cap<i>  supervisor  stack i (fd FN_FD_CAPTURE,  P fields,
 *   (sealed size,       at `up`,      names.h) read-write       the slots
 *   memfd.h)            kept across   `fragnet capture i`: the  C fields
 *                       restarts      fd over supervisor.sock
 *                                     (ctl.h "capture")
 *                                     the supervisor, rw        clears C
 *                                                               fields of a
 *                                                               dead owner
 *   memfd fragnet-cap-  supervisor    vswitch/NET (fd           P fields,
 *   vsw-NET (the same,  at `up`,      FN_FD_CAPTURE) rw         the slots
 *   one per [network])  kept across   `fragnet capture          C fields
 *                       restarts      vswitch/NET` (ctl.h
 *                                     "capture-vsw")
 *                                     the supervisor, rw        as above
 *
 * The stack or the switch is the producer (P), one capture client at a
 * time the consumer (C).  S: the supervisor, before anyone else sees the
 * region.  A switch's interface k + 1 is its port k (vswitch.h), named
 * after what is attached ("stack/1", or the host port's tap); its points
 * are rx, tx and FN_CAP_SWITCH_DROP.
 *
 * LAYOUT (offsets in bytes; slot i at data_off + i * slot_size):
 *
 *     +---------------- cache line 0: geometry (S, const) -----------+ 0
 *     | magic, version, nslots (power of 2), slot_size, data_off,    |
 *     | size                                                         |
 *     +---------------- cache line 1: control (C) -------------------+ 64
 *     | ctl      owner << 32 | points: the capture client's pid (0:   |
 *     |          none) and its enable mask, 1 << FN_CAP_* (0: off),   |
 *     |          one word so that each changes with the other         |
 *     | window   slots the producer may fill, 1..nslots (0: nslots)  |
 *     | snaplen  bytes of a frame to copy (0: all that fit a slot)    |
 *     +---------------- cache line 2: head (P) ----------------------+ 128
 *     | head     records published, free-running uint32              |
 *     | dropped  records lost to a full ring (P), uint64              |
 *     | nifs, ifname[FN_CAP_IFS][16]  (P, written at the producer's   |
 *     |          start: interface index k + 1 is named ifname[k])     |
 *     +---------------- its own cache line: tail (C) ----------------+
 *     | tail     records consumed, free-running uint32               |
 *     +--------------------------------------------------------------+ data_off
 *     | slot[0 .. nslots-1]: struct fn_cap_rec, then caplen bytes     |
 *     +--------------------------------------------------------------+ size
 *
 * PROTOCOL
 *   1. The client gets the fd (ctl.h), maps it, checks magic, version and
 *      the geometry against the memfd's size, and claims it: a CAS of ctl
 *      from {0, 0} to {its pid, 0}.  A live owner means another capture
 *      runs: the client refuses.  An owner that is dead is the
 *      supervisor's to clear (its timer, once a second: a CAS of ctl from
 *      what it read to 0), or the next client's (a CAS from {the dead
 *      pid, any points}).  A CAS never undoes a newer claim.
 *   2. It sets tail = head (older records are not its business), window
 *      and snaplen, then ctl = {pid, points} (R3).
 *   3. The producer, at each capture point, loads ctl relaxed (the whole
 *      cost when capture is off).  With the point's bit set it takes the
 *      slot head & (nslots - 1) if head - tail < window (A2), writes the
 *      record and publishes head + 1 (R1); else it adds 1 to dropped.  It
 *      never waits and never makes a system call.
 *   4. The client polls head (A1), copies each record out of its slot and
 *      checks it, then publishes tail (R2).  It sleeps a few milliseconds
 *      when the ring is empty: nobody wakes it.
 *   5. On exit (SIGINT, SIGTERM, -c, --timeout) the client sets ctl to 0
 *      (a CAS from {its pid, any}).  Killed, the supervisor does it.
 *
 *   empty: head == tail.  full: head - tail >= window (never > nslots).
 *   A restarted stack keeps publishing from the head it finds.
 *
 * ORDERING (C11, pairs named as in ring.h)
 *   R1: the producer stores head with release after writing the record;
 *       pairs with A1, the consumer's acquire load of head.
 *   R2: the consumer stores tail with release after copying a record out;
 *       pairs with A2, the producer's acquire load of tail, so a slot is
 *       never rewritten while it is read.
 *   R3: the consumer stores ctl with release after tail, window and
 *       snaplen; the producer's relaxed load of ctl is followed, when
 *       a bit is set, by A2, which orders the rest.  window and snaplen
 *       are read relaxed: any value is checked (clamped).
 *
 * TRUST
 *   Neither side trusts the other's fields: each keeps its own geometry
 *   (from the memfd's size, checked at attach) and its own index, and
 *   only publishes it.  The producer clamps window and snaplen and treats
 *   a tail more than nslots behind head, or ahead of it, as a full ring.
 *   The consumer copies each record out once and checks point, caplen
 *   (<= the slot's payload, <= origlen) and the interface index before it
 *   uses them; a head more than nslots ahead of its tail makes it skip to
 *   head and count the loss.  Interface names are copied with a
 *   terminator and only printable characters.  A hostile stack (or a
 *   switch taken over) can fill the capture with garbage frames, nothing
 *   more; a hostile client can stop or slow the capture, never the
 *   producer (tests/unit/test_vswitch.c test_capture_hostile_client).
 */
#ifndef FRAGNET_CAPTURE_H
#define FRAGNET_CAPTURE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragnet/ring.h"	/* FN_CACHE_LINE */

#define FN_CAP_MAGIC		0x50414346u	/* "FCAP" */
#define FN_CAP_VERSION		2u	/* 2: FN_CAP_SWITCH_DROP */
#define FN_CAP_IFS		32	/* netifs: ifindex 1..FN_CAP_IFS */
#define FN_CAP_IFNAME		16

/* Capture points: bit 1 << point of ctl's points. */
enum fn_cap_point {
	FN_CAP_RX,		/* every frame from a netif's link, before the
				 * filter; a switch: from a port, before
				 * port security */
	FN_CAP_TX,		/* every frame to a netif's link; a switch:
				 * every copy it gave a port */
	FN_CAP_FILTER_DROP,	/* stack: each packet the ruleset dropped;
				 * rule is the handle of the rule that did,
				 * 0 for a chain's policy or a malformed
				 * packet */
	FN_CAP_SWITCH_DROP,	/* vswitch: each frame (or copy) it dropped;
				 * hook is the cause, the port counter that
				 * counted it (enum fn_vsw_port_ctr), ifindex
				 * the port that counted it */
	FN_CAP_NPOINTS
};

#define FN_CAP_ALL	((1u << FN_CAP_NPOINTS) - 1)
/* The points each kind of producer has. */
#define FN_CAP_STACK_POINTS	(1u << FN_CAP_RX | 1u << FN_CAP_TX | \
				 1u << FN_CAP_FILTER_DROP)
#define FN_CAP_VSW_POINTS	(1u << FN_CAP_RX | 1u << FN_CAP_TX | \
				 1u << FN_CAP_SWITCH_DROP)

struct fn_cap_hdr {
	/* cache line 0: S, const */
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t data_off;
	uint32_t pad0;
	uint64_t size;
	/* cache line 1: C */
	alignas(FN_CACHE_LINE) _Atomic uint64_t ctl;	/* C: owner << 32 |
							   points */
	_Atomic uint32_t window;			/* C */
	_Atomic uint32_t snaplen;			/* C */
	/* cache line 2: P */
	alignas(FN_CACHE_LINE) _Atomic uint32_t head;	/* P */
	uint32_t nifs;					/* P */
	_Atomic uint64_t dropped;			/* P */
	char ifname[FN_CAP_IFS][FN_CAP_IFNAME];		/* P */
	alignas(FN_CACHE_LINE) _Atomic uint32_t tail;	/* C */
};

/* One slot: a record, its bytes after it. */
struct fn_cap_rec {
	uint64_t ts_ns;		/* CLOCK_REALTIME, ns */
	uint64_t rule;		/* FN_CAP_FILTER_DROP: the rule's handle */
	uint16_t point;		/* enum fn_cap_point */
	uint16_t hook;		/* FN_CAP_FILTER_DROP: 0 ingress, 1
				 * prerouting, 2 input, 3 output, 4
				 * postrouting (enum fn_nft_hook);
				 * FN_CAP_SWITCH_DROP: the cause, enum
				 * fn_vsw_port_ctr (the consumer checks it) */
	uint32_t ifindex;	/* the stack's netif, 1 + its index; a
				 * switch's port, 1 + its index */
	uint32_t caplen;	/* bytes in data */
	uint32_t origlen;	/* bytes of the frame */
	uint8_t data[];
};

/* The smallest slot: a record and a minimal Ethernet frame. */
#define FN_CAP_SLOT_MIN		(sizeof(struct fn_cap_rec) + 64)

/* One end of a region, in the private memory of its process. */
struct fn_cap {
	struct fn_cap_hdr *hdr;
	uint8_t *data;
	uint64_t size;		/* mapped bytes (the memfd's) */
	uint32_t nslots, mask, slot_size, payload;
	uint32_t idx;		/* our index: head (P) or tail (C) */
	bool producer;
};

/* Supervisor: a sealed memfd called name (FN_MEMFD_CAPTURE_FMT for a
 * stack, FN_MEMFD_CAPTURE_VSW_FMT for a switch), its header written.  The
 * fd (close-on-exec) or -errno. */
int fn_cap_create(const char *name, uint32_t nslots, uint32_t slot_size);

/* Either end: map fd read-write and check it against its size; idx starts
 * from the published head (producer) or head (consumer: older records are
 * skipped).  0 or -errno (-EBADMSG: not a capture region; *why says what
 * when why is not NULL). */
int fn_cap_attach(struct fn_cap *c, int fd, bool producer, const char **why);
void fn_cap_detach(struct fn_cap *c);

/* ---- producer (the stack or the switch) -------------------------------- */

/* Is point on?  One relaxed load: the cost of capture when it is off. */
static inline bool fn_cap_on(const struct fn_cap *c, unsigned point)
{
	return c->hdr && (atomic_load_explicit(&c->hdr->ctl,
					       memory_order_relaxed) >>
			  point & 1u);
}

/* A free slot's record, its data room in *room (snaplen applied), or NULL
 * when the ring is full (dropped counted).  Fill it, then commit. */
struct fn_cap_rec *fn_cap_reserve(struct fn_cap *c, uint32_t *room);
/* Publish the record reserve gave (R1); ts_ns is set here. */
void fn_cap_commit(struct fn_cap *c, struct fn_cap_rec *r);
/* Reserve, copy len bytes of data, commit.  false when full. */
bool fn_cap_put(struct fn_cap *c, unsigned point, uint32_t ifindex,
		const void *data, uint32_t len);
/* Producer: publish interface name k (index k + 1). */
void fn_cap_set_ifname(struct fn_cap *c, unsigned k, const char *name);

/* ---- consumer (the capture client) ------------------------------------- */

/* Claim the region for pid: 0, or -EBUSY with *other the live owner.
 * alive(pid) says whether a pid lives (a dead owner is taken over). */
int fn_cap_claim(struct fn_cap *c, int32_t pid, int32_t *other,
		 bool (*alive)(int32_t pid));
/* Start capturing points (mask) for pid, which claimed the region, with
 * window slots and snaplen bytes (0: the most). */
void fn_cap_start(struct fn_cap *c, int32_t pid, uint32_t points,
		  uint32_t window, uint32_t snaplen);
/* The owner's pid, 0 for none. */
int32_t fn_cap_owner(const struct fn_cap *c);
/* Stop, if pid owns the region: ctl = 0.  false: pid did not own it. */
bool fn_cap_stop(struct fn_cap *c, int32_t pid);

/* The next record, checked and copied to *rec and buf (c->payload bytes
 * at least): 1, 0 when empty, or -EBADMSG for a record that broke the
 * protocol (skipped; the caller counts it).  *lost grows by the records a
 * head that ran too far ahead made us skip. */
int fn_cap_next(struct fn_cap *c, struct fn_cap_rec *rec, uint8_t *buf,
		uint64_t *lost);
/* Interface name of index (1-based), sanitised into buf; false: none. */
bool fn_cap_ifname(const struct fn_cap *c, uint32_t ifindex, char *buf,
		   size_t len);
/* The producer's dropped count. */
uint64_t fn_cap_dropped(const struct fn_cap *c);

#endif /* FRAGNET_CAPTURE_H */
