/*
 * vsw_port.c - a switch port: attaching its link, its counters, and the
 * port security check of every frame it sends (vswitch.h, PORT SECURITY).
 *
 * Call sequence: vsw_port_attach() per table entry, vsw_bind_counters()
 * once, then vsw_frame_check() and vsw_frame_copy() from the forwarding
 * turn (vsw_fwd.c) for every frame received.
 *
 * THE CHECK READS ONLY A COPY.  The frame lies in a slot that its stack
 * can still write (stream.h TRUST).  vsw_frame_check() copies the first
 * VSW_HDR_COPY bytes out once, judges the copy, and vsw_frame_copy()
 * writes that same copy into the destination: what was checked is what
 * is sent.  The bytes after the header come from the slot; a stack that
 * changes them only garbles its own payload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "vsw.h"

#define ETH_P_IPV4	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ_OLD	0x9100	/* pre-802.1ad double tagging */
#define IPV4_MIN_HLEN	20
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4: a whole version 4 header whose source is the port's. */
static bool check_ipv4(const struct vsw_id *id, const struct vsw_frame *f,
		       enum fn_vsw_port_ctr *why)
{
	const uint8_t *ip = f->hdr + VSW_ETH_HLEN;
	uint32_t src;

	if (f->len < VSW_ETH_HLEN + IPV4_MIN_HLEN || ip[0] >> 4 != 4 ||
	    (ip[0] & 0x0f) * 4 < IPV4_MIN_HLEN) {
		*why = FN_VSW_P_DROP_MALFORMED;
		return false;
	}
	memcpy(&src, ip + 12, 4);	/* both in network order */
	if (src != id->ipv4) {
		*why = FN_VSW_P_DROP_SRC_IP;
		return false;
	}
	return true;
}

/* ARP for Ethernet and IPv4; sender MAC the port's, sender IPv4 the
 * port's or 0.0.0.0 (RFC 5227 probe). */
static bool check_arp(const struct vsw_id *id, const struct vsw_frame *f,
		      enum fn_vsw_port_ctr *why)
{
	const uint8_t *a = f->hdr + VSW_ETH_HLEN;
	uint16_t op;
	uint32_t spa;

	if (f->len < VSW_ETH_HLEN + VSW_ARP_LEN || rd16(a) != 1 ||
	    rd16(a + 2) != ETH_P_IPV4 || a[4] != 6 || a[5] != 4) {
		*why = FN_VSW_P_DROP_MALFORMED;
		return false;
	}
	op = rd16(a + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
		*why = FN_VSW_P_DROP_MALFORMED;
		return false;
	}
	memcpy(&spa, a + 14, 4);
	if (memcmp(a + 8, id->mac, 6) != 0 || (spa != id->ipv4 && spa != 0)) {
		*why = FN_VSW_P_DROP_ARP_SPOOF;
		return false;
	}
	return true;
}

/* The ethertype decides which checks apply; tags and others are dropped. */
static bool check_type(const struct vsw_id *id, const struct vsw_frame *f,
		       enum fn_vsw_port_ctr *why)
{
	switch (rd16(f->hdr + 12)) {
	case ETH_P_IPV4:
		return check_ipv4(id, f, why);
	case ETH_P_ARP:
		return check_arp(id, f, why);
	case ETH_P_8021Q:
	case ETH_P_8021AD:
	case ETH_P_QINQ_OLD:
		*why = FN_VSW_P_DROP_VLAN;
		return false;
	default:
		*why = FN_VSW_P_DROP_ETHERTYPE;
		return false;
	}
}

bool vsw_frame_check(const struct vsw_id *id, const uint8_t *data,
		     uint32_t len, struct vsw_frame *f,
		     enum fn_vsw_port_ctr *why)
{
	f->len = len;
	f->data = data;
	f->hdr_len = len < VSW_HDR_COPY ? len : VSW_HDR_COPY;
	memset(f->hdr, 0, sizeof(f->hdr));
	memcpy(f->hdr, data, f->hdr_len);
	/* The peer writes data concurrently: keep the compiler from reading
	 * a checked byte from the slot again instead of from our copy. */
	atomic_signal_fence(memory_order_seq_cst);
	if (len < VSW_ETH_HLEN) {
		*why = FN_VSW_P_DROP_RUNT;
		return false;
	}
	if (memcmp(f->hdr + 6, id->mac, 6) != 0) {
		*why = FN_VSW_P_DROP_SRC_MAC;
		return false;
	}
	return check_type(id, f, why);
}

void vsw_frame_copy(const struct vsw_frame *f, uint8_t *dst)
{
	memcpy(dst, f->hdr, f->hdr_len);
	memcpy(dst + f->hdr_len, f->data + f->hdr_len, f->len - f->hdr_len);
}

/* Is fd an eventfd?  A bell that is not cannot be waited on sanely. */
static bool is_eventfd(int fd)
{
	char path[32], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* Both bells must be eventfds; ours non-blocking, so that a stack that
 * reads it first (it can: it holds the same file) never blocks us. */
static int bells_check(int bell_fd, int peer_bell_fd)
{
	int fl;

	if (!is_eventfd(bell_fd) ||
	    (peer_bell_fd >= 0 && !is_eventfd(peer_bell_fd)))
		return -EBADF;
	fl = fcntl(bell_fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(bell_fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return -errno;
	return 0;
}

int vsw_port_attach(struct vsw *sw, int link_fd, const struct vsw_id *id,
		    int bell_fd, int peer_bell_fd, enum fn_poll poll)
{
	struct vsw_port *p;
	int err;

	if (sw->nports >= FN_VSW_MAX_PORTS)
		return -ENOSPC;
	err = bells_check(bell_fd, peer_bell_fd);
	if (err < 0)
		return err;
	p = &sw->port[sw->nports];
	memset(p, 0, sizeof(*p));
	p->ctr = p->own_ctr;
	err = fn_link_attach(&p->link, link_fd, FN_LINK_A, poll);
	if (err < 0)
		return err;
	/* Our submits (tx) and acks (rx) wake a stack asleep in its epoll;
	 * and it is rung once now, for our join (a restarted switch: the
	 * stack looks at its link again at once). */
	fn_link_set_bell(&p->link, peer_bell_fd);
	p->id = *id;
	p->idx = sw->nports;
	p->bell_fd = bell_fd;
	p->tap_fd = -1;
	p->reset_epoch = p->link.epoch;
	p->attached = true;
	sw->nports++;
	if (sw->epfd >= 0) {
		/* vsw_sleep() makes the set again, with this bell. */
		close(sw->epfd);
		sw->epfd = -1;
	}
	return 0;
}

/* Move counters onto a stats page block, carrying their values over;
 * NULL (no page, or a full one) keeps them where they are. */
static _Atomic uint64_t *ctr_move(_Atomic uint64_t *cur, _Atomic uint64_t *blk,
				  unsigned n)
{
	if (!blk)
		return cur;
	for (unsigned i = 0; i < n; i++)
		atomic_store_explicit(&blk[i], fn_ctr_get(&cur[i]),
				      memory_order_relaxed);
	return blk;
}

static void port_bind(struct vsw_port *p, struct fn_stats_page *page)
{
	char pfx[3][24];

	snprintf(pfx[0], sizeof(pfx[0]), "port%u", p->idx);
	snprintf(pfx[1], sizeof(pfx[1]), "port%u.link.tx", p->idx);
	snprintf(pfx[2], sizeof(pfx[2]), "port%u.link.rx", p->idx);
	p->ctr = ctr_move(p->ctr, fn_stats_block(page, pfx[0],
			  fn_vsw_port_ctr_names, FN_VSW_P_COUNT), FN_VSW_P_COUNT);
	if (vsw_port_is_host(p))
		return;		/* a tap: no link, no stream counters */
	fn_stream_bind_counters(&p->link.tx, fn_stats_block(page, pfx[1],
				fn_stream_ctr_names, FN_SC_COUNT));
	fn_stream_bind_counters(&p->link.rx, fn_stats_block(page, pfx[2],
				fn_stream_ctr_names, FN_SC_COUNT));
}

void vsw_bind_counters(struct vsw *sw, struct fn_stats_page *page)
{
	/* fn_stats_block(NULL, ...) would calloc a private block: we have
	 * our own already. */
	if (!page)
		return;
	sw->ctr = ctr_move(sw->ctr, fn_stats_block(page, "vsw",
			   fn_vsw_ctr_names, FN_VSW_COUNT), FN_VSW_COUNT);
	for (unsigned i = 0; i < sw->nports; i++)
		port_bind(&sw->port[i], page);
	if (sw->ctr == sw->own_ctr)
		fn_warn("stats page full: some counters stay private");
}
