/*
 * src/nft/eval/ct.c - connection tracking for `ct state`: a bounded table
 * of flows keyed by the 5-tuple (ICMP queries: identifier), all entries allocated by fn_nft_ct_new().
 *
 * ICMP queries are keyed by their identifier alone (not also the type).
 * As the kernel's nf_conntrack, simplified:
 *   - a packet that starts a flow gets NEW and an unconfirmed entry, held
 *     per path (receive, send) until input or postrouting accepts the
 *     packet (__nf_conntrack_confirm); a drop discards it;
 *   - original-direction packets are NEW until a reply was seen, then
 *     ESTABLISHED; reply-direction packets are ESTABLISHED;
 *   - TCP: invalid flag combinations (tcp_valid_flags), truncated
 *     headers, and packets that cannot open a flow (SYN-ACK, FIN, RST
 *     without an entry) are INVALID; a bare ACK opens one (the default
 *     nf_conntrack_tcp_loose); after RST or both FINs a SYN starts anew;
 *     sequence windows are not tracked;
 *   - UDP and other protocols: NEW, then ESTABLISHED once answered;
 *   - ICMP queries open flows, their replies are ESTABLISHED, a reply
 *     without a query is INVALID; an ICMP error quoting a tracked flow is
 *     RELATED, else INVALID;
 *   - TCP, UDP and ICMP checksums are checked at prerouting (the default
 *     nf_conntrack_checksum=1): a bad one is INVALID;
 *   - the kernel tracks reassembled datagrams: here the first fragment
 *     is tracked and later fragments of the same datagram (source,
 *     destination, protocol, IP id) get its state from a small cache;
 *   - timeouts as the kernel's defaults (TCP 120 s opening and closing,
 *     5 days established, 10 s after RST; UDP 30 s, 120 s answered; ICMP
 *     30 s; others 600 s); when full, the least recently used entry goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"

#define SEC	1000000000ull
#define FRAG_CACHE	64

enum {
	E_SEEN_REPLY = 1, E_FIN_ORIG = 2, E_FIN_REPLY = 4, E_CLOSED = 8,
	E_CONFIRMED = 16,
};

struct ct_tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

struct ct_entry {
	struct ct_tuple t;		/* original direction */
	uint8_t flags;
	uint32_t hnext;			/* entry + 1; free list too */
	uint32_t prev, next;		/* LRU, entry + 1 */
	uint64_t expires;
};

struct frag {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto, state;
	uint64_t expires;
};

struct fn_nft_ct {
	uint32_t max, mask;
	struct ct_entry *e;
	uint32_t *bucket;		/* entry + 1 */
	uint32_t free;			/* entry + 1 */
	uint32_t head, tail;		/* LRU: head most recent */
	uint32_t pending[2];		/* receive, send: entry + 1 */
	struct frag frags[FRAG_CACHE];
	uint32_t frag_next;
};

struct fn_nft_ct *fn_nft_ct_new(uint32_t max_entries)
{
	struct fn_nft_ct *ct;
	uint32_t nb = 16;

	if (max_entries == 0 || max_entries > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max_entries)
		nb *= 2;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return NULL;
	ct->e = calloc(max_entries, sizeof(*ct->e));
	ct->bucket = calloc(nb, sizeof(*ct->bucket));
	if (!ct->e || !ct->bucket) {
		fn_nft_ct_free(ct);
		errno = ENOMEM;
		return NULL;
	}
	ct->max = max_entries;
	ct->mask = nb - 1;
	for (uint32_t i = 0; i < max_entries; i++)
		ct->e[i].hnext = i + 1 < max_entries ? i + 2 : 0;
	ct->free = 1;
	return ct;
}

void fn_nft_ct_free(struct fn_nft_ct *ct)
{
	if (!ct)
		return;
	free(ct->e);
	free(ct->bucket);
	free(ct);
}

/* ---- table --------------------------------------------------------------- */

static uint32_t tuple_hash(const struct fn_nft_ct *ct, const struct ct_tuple *t)
{
	uint64_t a = (uint64_t)t->src << 16 | t->sport;
	uint64_t b = (uint64_t)t->dst << 16 | t->dport;
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint64_t h = (lo * 0x9e3779b97f4a7c15ull) ^ (hi + t->proto);

	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 32) & ct->mask;
}

static bool tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return a->src == b->src && a->dst == b->dst && a->sport == b->sport &&
	       a->dport == b->dport && a->proto == b->proto;
}

static struct ct_tuple tuple_rev(const struct ct_tuple *t)
{
	return (struct ct_tuple){ t->dst, t->src, t->dport, t->sport,
				  t->proto };
}

static void lru_unlink(struct fn_nft_ct *ct, uint32_t i)
{
	struct ct_entry *e = &ct->e[i];

	if (e->prev)
		ct->e[e->prev - 1].next = e->next;
	else
		ct->head = e->next;
	if (e->next)
		ct->e[e->next - 1].prev = e->prev;
	else
		ct->tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push(struct fn_nft_ct *ct, uint32_t i)
{
	struct ct_entry *e = &ct->e[i];

	e->prev = 0;
	e->next = ct->head;
	if (ct->head)
		ct->e[ct->head - 1].prev = i + 1;
	ct->head = i + 1;
	if (!ct->tail)
		ct->tail = i + 1;
}

static void entry_free(struct fn_nft_ct *ct, uint32_t i)
{
	ct->e[i].flags = 0;
	ct->e[i].hnext = ct->free;
	ct->free = i + 1;
}

/* Unlink a confirmed entry from its bucket and the LRU, free it. */
static void entry_remove(struct fn_nft_ct *ct, uint32_t i)
{
	uint32_t *pp = &ct->bucket[tuple_hash(ct, &ct->e[i].t)];

	while (*pp && *pp != i + 1)
		pp = &ct->e[*pp - 1].hnext;
	if (*pp)
		*pp = ct->e[i].hnext;
	lru_unlink(ct, i);
	entry_free(ct, i);
}

/* Entry index of t in either direction (*dir 1 = reply), or -1. */
static int64_t lookup(struct fn_nft_ct *ct, const struct ct_tuple *t,
		      uint64_t now, int *dir)
{
	struct ct_tuple r = tuple_rev(t);
	uint32_t i = ct->bucket[tuple_hash(ct, t)];

	while (i) {
		struct ct_entry *e = &ct->e[i - 1];
		uint32_t next = e->hnext;

		if (tuple_eq(&e->t, t) || tuple_eq(&e->t, &r)) {
			if (now >= e->expires) {
				entry_remove(ct, i - 1);
				return -1;
			}
			*dir = !tuple_eq(&e->t, t);
			lru_unlink(ct, i - 1);
			lru_push(ct, i - 1);
			return i - 1;
		}
		i = next;
	}
	return -1;
}

static int64_t entry_alloc(struct fn_nft_ct *ct)
{
	uint32_t i;

	if (!ct->free) {
		if (!ct->tail)
			return -1;
		entry_remove(ct, ct->tail - 1);
	}
	i = ct->free - 1;
	ct->free = ct->e[i].hnext;
	memset(&ct->e[i], 0, sizeof(ct->e[i]));
	return i;
}

void ev_ct_confirm(struct fn_nft_ct *ct, bool out_path, bool accepted)
{
	uint32_t i = ct->pending[out_path];
	uint32_t h;

	if (!i)
		return;
	ct->pending[out_path] = 0;
	i--;
	if (!accepted) {
		entry_free(ct, i);
		return;
	}
	h = tuple_hash(ct, &ct->e[i].t);
	ct->e[i].flags |= E_CONFIRMED;
	ct->e[i].hnext = ct->bucket[h];
	ct->bucket[h] = i + 1;
	lru_push(ct, i);
}

/* ---- packets ------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static bool csum_ok(const struct ev_pkt *pk)
{
	const uint8_t *ip = pk->net, *l4 = ip + pk->thoff;
	uint32_t len = pk->len - pk->thoff, sum = 0;

	if (pk->tprot == 17 && rd16(l4 + 6) == 0)
		return true;		/* UDP without checksum */
	if (pk->tprot != 1) {
		sum = sum16(ip + 12, 8, 0) + pk->tprot + len;
	}
	sum = sum16(l4, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static uint8_t icmp_request_of(uint8_t type, bool *reply)
{
	*reply = true;
	switch (type) {
	case 0: return 8;
	case 14: return 13;
	case 16: return 15;
	case 18: return 17;
	}
	*reply = false;
	return (type == 8 || type == 13 || type == 15 || type == 17) ?
	       type : 0xff;
}

static bool icmp_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* The tuple of the IPv4 packet at ip (len bytes; l4 at hl); false when
 * too short or not a flow (ICMP other than queries and their replies).
 * *reply: an ICMP reply. */
static bool make_tuple(const uint8_t *ip, uint32_t hl, uint32_t len,
		       struct ct_tuple *t, bool *reply)
{
	const uint8_t *l4 = ip + hl;

	*t = (struct ct_tuple){ rd32(ip + 12), rd32(ip + 16), 0, 0, ip[9] };
	*reply = false;
	switch (t->proto) {
	case 6:
	case 17:
		if (len < hl + 4)
			return false;
		t->sport = rd16(l4);
		t->dport = rd16(l4 + 2);
		return true;
	case 1:
		if (len < hl + 8)
			return false;
		/* identifier both ways, so that the reply is the reverse */
		t->sport = t->dport = rd16(l4 + 4);
		return icmp_request_of(l4[0], reply) != 0xff;
	default:
		return true;
	}
}

/* ICMP error: RELATED if the quoted packet belongs to a flow. */
static uint8_t icmp_related(struct fn_nft_ct *ct, const struct ev_pkt *pk,
			    uint64_t now)
{
	const uint8_t *in = pk->net + pk->thoff + 8;
	uint32_t avail = pk->len - pk->thoff - 8, hl;
	struct ct_tuple t;
	bool reply;
	int dir;

	if (avail < 20 || (in[0] >> 4) != 4 || (in[0] & 15) < 5)
		return EV_CT_INVALID;
	hl = (in[0] & 15) * 4u;
	if (avail < hl + 8 || !make_tuple(in, hl, avail, &t, &reply))
		return EV_CT_INVALID;
	return lookup(ct, &t, now, &dir) >= 0 ? EV_CT_RELATED : EV_CT_INVALID;
}

static bool tcp_flags_valid(uint8_t f)
{
	switch (f & 0x37) {	/* FIN SYN RST ACK URG; PSH ignored */
	case 0x02: case 0x22: case 0x12: case 0x04: case 0x14:
	case 0x11: case 0x31: case 0x10: case 0x30:
		return true;
	}
	return false;
}

/* Protocol checks before any lookup: false = INVALID. */
static bool l4_valid(const struct ev_pkt *pk, bool frag)
{
	uint32_t l4len = pk->len - pk->thoff;
	const uint8_t *l4 = pk->net + pk->thoff;

	switch (pk->tprot) {
	case 6:
		if (l4len < 20 || (l4[12] >> 4) < 5 ||
		    (uint32_t)(l4[12] >> 4) * 4 > l4len ||
		    !tcp_flags_valid(l4[13]))
			return false;
		break;
	case 17:
		if (l4len < 8 || (!frag && (rd16(l4 + 4) < 8 ||
					    rd16(l4 + 4) > l4len)))
			return false;
		break;
	case 1:
		if (l4len < 8 || l4[0] > 18)
			return false;
		break;
	}
	if (frag || pk->hook != FN_NFT_PREROUTING)
		return true;
	return (pk->tprot != 6 && pk->tprot != 17 && pk->tprot != 1) ||
	       csum_ok(pk);
}

static uint64_t timeout(const struct ct_entry *e)
{
	switch (e->t.proto) {
	case 6:
		if (e->flags & E_CLOSED)
			return 10 * SEC;
		if (!(e->flags & E_SEEN_REPLY) ||
		    (e->flags & (E_FIN_ORIG | E_FIN_REPLY)))
			return 120 * SEC;
		return 432000 * SEC;
	case 17:
		return (e->flags & E_SEEN_REPLY ? 120 : 30) * SEC;
	case 1:
		return 30 * SEC;
	default:
		return 600 * SEC;
	}
}

/* TCP on an existing entry; false = INVALID. */
static bool tcp_update(struct ct_entry *e, uint8_t f, int dir)
{
	bool syn = f & 0x02, ack = f & 0x10;

	if (f & 0x04) {
		e->flags |= E_CLOSED;
		return true;
	}
	if (syn && !ack && !dir && ((e->flags & E_CLOSED) ||
	    (e->flags & (E_FIN_ORIG | E_FIN_REPLY)) ==
	    (E_FIN_ORIG | E_FIN_REPLY))) {
		e->flags &= E_CONFIRMED;	/* a new connection */
		return true;
	}
	if (syn && ack && !dir)
		return false;
	if (f & 0x01)
		e->flags |= dir ? E_FIN_REPLY : E_FIN_ORIG;
	return true;
}

static bool may_open(const struct ev_pkt *pk, bool reply)
{
	if (pk->tprot == 6) {
		uint8_t f = pk->net[pk->thoff + 13] & 0x17;

		return f == 0x02 || f == 0x10;
	}
	return pk->tprot != 1 || !reply;
}

static uint8_t track_new(struct fn_nft_ct *ct, const struct ev_pkt *pk,
			 const struct ct_tuple *t, uint64_t now)
{
	bool out = pk->hook == FN_NFT_OUTPUT;
	int64_t i;

	if (ct->pending[out])
		ev_ct_confirm(ct, out, false);
	i = entry_alloc(ct);
	if (i < 0)
		return EV_CT_INVALID;
	ct->e[i].t = *t;
	ct->e[i].expires = now + timeout(&ct->e[i]);
	ct->pending[out] = (uint32_t)i + 1;
	return EV_CT_NEW;
}

static uint8_t track(struct fn_nft_ct *ct, const struct ev_pkt *pk,
		     uint64_t now)
{
	const uint8_t *l4 = pk->net + pk->thoff;
	struct ct_tuple t;
	bool reply;
	int dir = 0;

	if (!make_tuple(pk->net, pk->thoff, pk->len, &t, &reply)) {
		if (pk->tprot == 1 && icmp_is_error(l4[0]))
			return icmp_related(ct, pk, now);
		return EV_CT_INVALID;
	}
	int64_t i = lookup(ct, &t, now, &dir);
	if (i < 0)
		return may_open(pk, reply) ? track_new(ct, pk, &t, now) :
					     EV_CT_INVALID;
	struct ct_entry *e = &ct->e[i];
	if (t.proto == 6 && !tcp_update(e, l4[13], dir))
		return EV_CT_INVALID;
	if (dir)
		e->flags |= E_SEEN_REPLY;
	e->expires = now + timeout(e);
	return dir || (e->flags & E_SEEN_REPLY) ? EV_CT_ESTABLISHED :
						  EV_CT_NEW;
}

static struct frag *frag_find(struct fn_nft_ct *ct, const uint8_t *ip,
			      uint64_t now)
{
	for (uint32_t i = 0; i < FRAG_CACHE; i++) {
		struct frag *f = &ct->frags[i];

		if (f->expires > now && f->src == rd32(ip + 12) &&
		    f->dst == rd32(ip + 16) && f->id == rd16(ip + 4) &&
		    f->proto == ip[9])
			return f;
	}
	return NULL;
}

uint8_t ev_ct_track(struct fn_nft_ct *ct, struct ev_pkt *pk)
{
	const uint8_t *ip = pk->net;
	uint64_t now = pk->p->now_ns;
	bool more = rd16(ip + 6) & 0x2000;
	uint8_t st;

	if (pk->fragoff) {
		struct frag *f = frag_find(ct, ip, now);

		return f ? f->state : EV_CT_INVALID;
	}
	st = l4_valid(pk, more) ? track(ct, pk, now) : EV_CT_INVALID;
	if (more) {
		struct frag *f = &ct->frags[ct->frag_next++ % FRAG_CACHE];

		*f = (struct frag){ rd32(ip + 12), rd32(ip + 16), rd16(ip + 4),
				    ip[9], st, now + 30 * SEC };
	}
	return st;
}
