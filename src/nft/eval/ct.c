/*
 * src/nft/eval/ct.c - connection tracking for `ct state`: a bounded table
 * of flows keyed by the 5-tuple (ICMP queries: identifier, type and code,
 * as the kernel's tuple), all entries allocated by fn_nft_ct_new().
 *
 * As the kernel's nf_conntrack, simplified:
 *   - a packet that starts a flow gets NEW and an unconfirmed entry, held
 *     per path (receive, send) until input or postrouting accepts the
 *     packet (__nf_conntrack_confirm); a drop discards it, and so does
 *     the next packet on that path if this one never got to input
 *     (routed away).  So a packet's hooks must run back to back;
 *   - original-direction packets are NEW until a reply was seen, then
 *     ESTABLISHED; reply-direction packets are ESTABLISHED;
 *   - TCP: invalid flag combinations (tcp_valid_flags), truncated
 *     headers and bad sums are INVALID; then the kernel's state table
 *     (tcp_conntracks: 10 states, 6 flag classes, 2 directions) decides:
 *     a transition to sIV is INVALID, sIG leaves the flow as it was, a
 *     SYN after TIME_WAIT/CLOSE reopens the flow when the kernel would
 *     (close initiated, or a RST from the same side), a flow whose only
 *     answer is a RST is forgotten; a bare ACK picks a flow up (the
 *     default nf_conntrack_tcp_loose).  Sequence windows are not
 *     tracked: as the kernel with nf_conntrack_tcp_be_liberal=1 and
 *     nf_conntrack_tcp_ignore_invalid_rst=1;
 *   - UDP and other protocols: NEW, then ESTABLISHED once answered;
 *   - ICMP queries open flows, their replies are ESTABLISHED, a reply
 *     without a query is INVALID; an ICMP error quoting a tracked flow is
 *     RELATED, else INVALID;
 *   - TCP, UDP and ICMP checksums are checked at prerouting (the default
 *     nf_conntrack_checksum=1): a bad one is INVALID;
 *   - the kernel tracks reassembled datagrams: here the first fragment
 *     is tracked and later fragments of the same datagram (source,
 *     destination, protocol, IP id) get its state from a small cache;
 *   - NAT (nat.c): a dnat or redirect binds a TCP/UDP flow's unconfirmed
 *     entry to a new destination (nfe_ct_dnat); its reply tuple is then
 *     the translated one, as the kernel's (new destination -> original
 *     source), linked in a second hash table (nat_bucket) on confirm, so
 *     a reply is found as the flow's reply, and the untranslated reverse
 *     of the original tuple is not.  A SYN that reopens a bound flow
 *     kills it and starts a new one, which the nat chains see again;
 *   - timeouts as the kernel's defaults (TCP by state: 120 s SYN_SENT,
 *     5 days ESTABLISHED, 10 s CLOSE...; UDP 30 s, 120 s answered; ICMP
 *     30 s; others 600 s); when full, a flow not used since the clock
 *     hand last passed goes (CLOCK, second chance: an approximation of
 *     least recently used whose hit writes the flow's own entry only).
 * A flow's entry is at its home, the entry its hash names, when that one
 * is free as the flow begins, so that most lookups read the entry's
 * line alone; the hash chains find the others.  An entry also keeps its
 * flow's verdicts for a program the table adopted (fn_nft_ct_adopt,
 * docs/nft-eval.md "A flow's verdict, kept"), which the kernel has not.
 * Checked against the kernel by tests/integration/test_nft_eval_diff.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nfe.h"

#define SEC	1000000000ull
#define FRAG_CACHE	64

enum {
	E_SEEN_REPLY = 1, E_CLOSE_INIT = 2, E_SIMOPEN = 4, E_ACCT = 8,
	E_CONFIRMED = 16, E_ASSURED = 32, E_DYING = 64,
	E_DNAT = 128,		/* a destination binding: nat_addr, nat_port */
};

struct ct_tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};

/* Everything a packet of a tracked flow reads or writes, but its
 * accounting, in one cache line: a lookup that hits touches its bucket's
 * word and this line. */
struct ct_entry {
	struct ct_tuple t;		/* original direction */
	uint8_t flags;
	uint8_t tcp_state, last_index, last_dir;
	uint32_t hnext;			/* entry + 1 */
	uint8_t ref;			/* used since the hand passed */
	uint8_t listed;			/* on the free list (fnext) */
	uint8_t vc;			/* kept verdicts: bit 2 * path + dir
					 * (nfe_ct_vc_hit), if vgen is
					 * fn_nft_ct.gen */
	uint32_t id;			/* ct id; fn_nft_pkt.ct_id */
	uint32_t mark;			/* ct mark (set) */
	uint64_t expires;
	uint64_t created;		/* UDP: a stream after 2 s */
	uint32_t nat_addr;		/* E_DNAT: the new destination */
	uint16_t nat_port;		/* and port (host order) */
	uint16_t vgen;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct ct_entry) == 64, "one cache line a flow");

/* A flow's accounting (the kernel's nf_conn_acct extension), kept beside
 * the table: only an entry with E_ACCT, made while the ruleset counted
 * (fn_nft_ct.acct), has it in use. */
struct ct_acct {
	uint64_t packets[2], bytes[2];	/* per direction */
};

/* A flow's ct labels (nf_conn_labels), beside the table too: 128 bits
 * that only `ct label set` writes, so the hot line stays 64 bytes. */
struct ct_labels {
	uint32_t w[4];
};

struct frag {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto, state;
	uint64_t expires;
};

/* What every packet reads comes first, in the struct's first cache line
 * (the struct is 64-byte aligned): the tables, the paths' pending
 * entries, the packet's entry.  The rest is for new flows, fragments,
 * eviction and the dying entry. */
struct fn_nft_ct {
	struct ct_entry *e;
	uint32_t *bucket;		/* entry + 1 */
	struct ct_acct *acct;		/* per entry */
	uint32_t max, mask;
	uint32_t pending[2];		/* receive, send: entry + 1 */
	int64_t cur;			/* the packet's entry, or -1 ... */
	uint8_t cur_dir;		/* ... and its direction (track) */
	bool acct_on;			/* nf_ct_set_acct(): a ruleset has
					 * had ct packets/bytes/avgpkt */
	uint16_t gen;			/* fn_nft_ct_adopt(): of vprog */
	uint32_t nnat;			/* entries linked in nat_bucket */
	const struct fn_nft_prog *vprog;	/* the program adopted */
	uint32_t next_id;
	uint32_t *nat_bucket;		/* entry + 1, by reply tuple: the
					 * confirmed entries with E_DNAT */
	uint32_t *nat_next;		/* per entry: next in nat_bucket */
	struct ct_labels *labels;	/* per entry */
	uint32_t free;			/* entry + 1; every free entry is
					 * on this list, and so may be one
					 * taken as its home (entry_alloc) */
	uint32_t *fnext;		/* per entry: next on it */
	uint32_t hand;			/* CLOCK: the next entry it looks at */
	uint32_t frag_next;
	struct frag frags[FRAG_CACHE];
	struct ct_entry dying;		/* entry max: one killed by the
					 * packet that is being judged */
	struct ct_acct dying_acct;
	struct ct_labels dying_labels;
};

_Static_assert(offsetof(struct fn_nft_ct, vprog) + 8 <= 64,
	       "a packet's fields in the first cache line");

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
	ct = aligned_alloc(_Alignof(struct fn_nft_ct), sizeof(*ct));
	if (!ct)
		return NULL;
	memset(ct, 0, sizeof(*ct));
	ct->e = aligned_alloc(_Alignof(struct ct_entry),
			      (size_t)max_entries * sizeof(*ct->e));
	if (ct->e)
		memset(ct->e, 0, (size_t)max_entries * sizeof(*ct->e));
	ct->acct = calloc(max_entries, sizeof(*ct->acct));
	ct->labels = calloc(max_entries, sizeof(*ct->labels));
	ct->bucket = calloc(nb, sizeof(*ct->bucket));
	ct->nat_bucket = calloc(nb, sizeof(*ct->nat_bucket));
	ct->nat_next = calloc(max_entries, sizeof(*ct->nat_next));
	ct->fnext = calloc(max_entries, sizeof(*ct->fnext));
	if (!ct->e || !ct->acct || !ct->labels || !ct->bucket ||
	    !ct->nat_bucket || !ct->nat_next || !ct->fnext) {
		fn_nft_ct_free(ct);
		errno = ENOMEM;
		return NULL;
	}
	ct->max = max_entries;
	ct->mask = nb - 1;
	for (uint32_t i = 0; i < max_entries; i++) {
		ct->fnext[i] = i + 1 < max_entries ? i + 2 : 0;
		ct->e[i].listed = 1;
	}
	ct->free = 1;
	return ct;
}

void fn_nft_ct_free(struct fn_nft_ct *ct)
{
	if (!ct)
		return;
	free(ct->e);
	free(ct->acct);
	free(ct->labels);
	free(ct->bucket);
	free(ct->nat_bucket);
	free(ct->nat_next);
	free(ct->fnext);
	free(ct);
}

/* The entry's accounting, NULL without (nf_conn_acct_find). */
static struct ct_acct *acct_of(struct fn_nft_ct *ct, const struct ct_entry *e)
{
	if (!(e->flags & E_ACCT))
		return NULL;
	return e == &ct->dying ? &ct->dying_acct : &ct->acct[e - ct->e];
}

/* nf_ct_acct_update(): one packet of len bytes in direction dir. */
static void acct_add(struct fn_nft_ct *ct, const struct ct_entry *e, int dir,
		     uint32_t len)
{
	struct ct_acct *a = acct_of(ct, e);

	if (a) {
		a->packets[dir]++;
		a->bytes[dir] += len;
	}
}

/* A new conntrack in e (init_conntrack): accounting if the ruleset
 * counts, starting with its first packet of len bytes. */
static void acct_start(struct fn_nft_ct *ct, struct ct_entry *e, uint32_t len)
{
	if (!ct->acct_on)
		return;
	e->flags |= E_ACCT;
	ct->acct[e - ct->e] = (struct ct_acct){ { 1, 0 }, { len, 0 } };
}

/* The entry's labels (the dying copy for the dying entry). */
static struct ct_labels *labels_of(struct fn_nft_ct *ct,
				   const struct ct_entry *e)
{
	return e == &ct->dying ? &ct->dying_labels : &ct->labels[e - ct->e];
}

void nfe_ct_acct_on(struct fn_nft_ct *ct)
{
	ct->acct_on = true;
}

void fn_nft_ct_adopt(struct fn_nft_ct *ct, struct fn_nft_prog *p)
{
	if (!ct)
		return;
	if (!++ct->gen) {	/* the tags went round: forget every one */
		for (uint32_t i = 0; i < ct->max; i++) {
			ct->e[i].vc = 0;
			ct->e[i].vgen = 0;
		}
		ct->gen = 1;
	}
	ct->vprog = p;
	if (p)
		p->vgen = ct->gen;
}

/* The packet's entry if the packet may have a kept verdict: prog is
 * the one ct adopted, the packet is ESTABLISHED, of a live TCP or UDP
 * entry (not the dying one). */
static struct ct_entry *vc_entry(const struct fn_nft_ct *ct,
				 const struct fn_nft_prog *prog,
				 const struct fn_nft_pkt *p)
{
	struct ct_entry *e;

	if (!prog->vgen || prog->vgen != ct->gen || ct->vprog != prog ||
	    p->ct_state != NFE_CT_ESTABLISHED || !p->ct_entry ||
	    p->ct_entry > ct->max)
		return NULL;
	e = &ct->e[p->ct_entry - 1];
	if (e->id != p->ct_id || (e->t.proto != 6 && e->t.proto != 17))
		return NULL;
	return e;
}

bool nfe_ct_vc_hit(const struct fn_nft_ct *ct, const struct fn_nft_prog *prog,
		   const struct fn_nft_pkt *p, unsigned path)
{
	const struct ct_entry *e = vc_entry(ct, prog, p);

	return e && e->vgen == ct->gen &&
	       (e->vc & (1u << (2 * path + (p->ct_dir & 1))));
}

void nfe_ct_vc_set(struct fn_nft_ct *ct, const struct fn_nft_prog *prog,
		   const struct fn_nft_pkt *p, unsigned path)
{
	struct ct_entry *e = vc_entry(ct, prog, p);

	if (!e)
		return;
	if (e->vgen != ct->gen) {
		e->vgen = ct->gen;
		e->vc = 0;
	}
	e->vc |= (uint8_t)(1u << (2 * path + (p->ct_dir & 1)));
}

/* ---- table --------------------------------------------------------------- */

/* The same for both directions of a flow. */
static inline __attribute__((always_inline))
uint32_t tuple_hash(const struct fn_nft_ct *ct, const struct ct_tuple *t)
{
	uint64_t a = (uint64_t)t->src << 16 | t->sport;
	uint64_t b = (uint64_t)t->dst << 16 | t->dport;

	if (t->proto == 1) {	/* ICMP: identifier and code, both ways */
		a = (uint64_t)t->src << 16 | (t->dport & 0xff);
		b = (uint64_t)t->dst << 16 | (t->dport & 0xff);
		a ^= (uint64_t)t->sport << 48;
		b ^= (uint64_t)t->sport << 48;
	}
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

/* ICMP query types and their replies (nf_conntrack_proto_icmp.c
 * invmap): 0xff for none. */
static uint8_t icmp_inverse(uint8_t type)
{
	switch (type) {
	case 8: return 0;
	case 0: return 8;
	case 13: return 14;
	case 14: return 13;
	case 15: return 16;
	case 16: return 15;
	case 17: return 18;
	case 18: return 17;
	}
	return 0xff;
}

/* The tuple of the other direction.  ICMP: sport is the identifier,
 * dport type << 8 | code, and the type turns into its reply. */
static struct ct_tuple tuple_rev(const struct ct_tuple *t)
{
	if (t->proto == 1)
		return (struct ct_tuple){ t->dst, t->src, t->sport,
			(uint16_t)(icmp_inverse((uint8_t)(t->dport >> 8)) << 8 |
				   (t->dport & 0xff)), 1 };
	return (struct ct_tuple){ t->dst, t->src, t->dport, t->sport,
				  t->proto };
}

/* The entry's reply tuple: the translated one of a bound flow. */
static struct ct_tuple tuple_reply(const struct ct_entry *e)
{
	if (!(e->flags & E_DNAT))
		return tuple_rev(&e->t);
	return (struct ct_tuple){ e->nat_addr, e->t.src, e->nat_port,
				  e->t.sport, e->t.proto };
}

static void entry_free(struct fn_nft_ct *ct, uint32_t i)
{
	ct->e[i].flags = 0;
	ct->e[i].id = 0;	/* a packet's reference to it is stale; free */
	if (!ct->e[i].listed) {
		ct->e[i].listed = 1;
		ct->fnext[i] = ct->free;
		ct->free = i + 1;
	}
}

/* A bound entry out of nat_bucket. */
static void nat_unlink(struct fn_nft_ct *ct, uint32_t i)
{
	struct ct_tuple r = tuple_reply(&ct->e[i]);
	uint32_t *pp = &ct->nat_bucket[tuple_hash(ct, &r)];

	while (*pp && *pp != i + 1)
		pp = &ct->nat_next[*pp - 1];
	if (*pp) {
		*pp = ct->nat_next[i];
		ct->nnat--;
	}
}

/* Unlink a confirmed entry from its bucket, free it. */
static void entry_remove(struct fn_nft_ct *ct, uint32_t i)
{
	uint32_t *pp = &ct->bucket[tuple_hash(ct, &ct->e[i].t)];

	while (*pp && *pp != i + 1)
		pp = &ct->e[*pp - 1].hnext;
	if (*pp)
		*pp = ct->e[i].hnext;
	if (ct->e[i].flags & E_DNAT)
		nat_unlink(ct, i);
	entry_free(ct, i);
}

/* 0: e is t's original direction, 1: its reply, -1: another flow.
 * Only ICMP needs the reversed tuple built (the type turns). */
static int tuple_dir(const struct ct_tuple *e, const struct ct_tuple *t)
{
	if (e->proto != t->proto)
		return -1;
	if (e->src == t->src && e->dst == t->dst && e->sport == t->sport &&
	    e->dport == t->dport)
		return 0;
	if (t->proto == 1) {
		struct ct_tuple r = tuple_rev(t);

		return tuple_eq(e, &r) ? 1 : -1;
	}
	return e->src == t->dst && e->dst == t->src && e->sport == t->dport &&
	       e->dport == t->sport ? 1 : -1;
}

/* tuple_dir for an entry: a bound one's reply is its translated tuple
 * (the reverse of its original tuple is another flow). */
static int entry_dir(const struct ct_entry *e, const struct ct_tuple *t)
{
	struct ct_tuple r;

	if (!(e->flags & E_DNAT))
		return tuple_dir(&e->t, t);
	if (tuple_eq(&e->t, t))
		return 0;
	r = tuple_reply(e);
	return tuple_eq(&r, t) ? 1 : -1;
}

/* The entry + 1 of t on the chain from i (nat: nat_bucket's), or 0. */
static uint32_t chain_find(const struct fn_nft_ct *ct, uint32_t i, bool nat,
			   const struct ct_tuple *t, int *dir)
{
	while (i) {
		int d = entry_dir(&ct->e[i - 1], t);

		if (d >= 0) {
			*dir = d;
			return i;
		}
		i = nat ? ct->nat_next[i - 1] : ct->e[i - 1].hnext;
	}
	return 0;
}

/* Entry index of t in either direction (*dir 1 = reply), or -1.  A hit
 * is marked used, for the clock.
 * A flow's entry is at its home, the entry of its hash, when that was
 * free as the flow began (entry_alloc): there a hit reads one line, the
 * entry's, and not the bucket's.  A confirmed entry that holds t is the
 * one its chain holds too (a tuple is in one confirmed entry at most).
 * The replies of bound flows are in nat_bucket, looked at only when
 * there are some. */
static int64_t lookup(struct fn_nft_ct *ct, const struct ct_tuple *t,
		      uint64_t now, int *dir)
{
	uint32_t h = tuple_hash(ct, t);
	uint32_t i = 0;

	if (h < ct->max && (ct->e[h].flags & E_CONFIRMED)) {
		int d = entry_dir(&ct->e[h], t);

		if (d >= 0) {
			*dir = d;
			i = h + 1;
		}
	}
	if (!i)
		i = chain_find(ct, ct->bucket[h], false, t, dir);

	if (!i && ct->nnat)
		i = chain_find(ct, ct->nat_bucket[h], true, t, dir);
	if (!i)
		return -1;
	if (now >= ct->e[i - 1].expires) {
		entry_remove(ct, i - 1);
		return -1;
	}
	ct->e[i - 1].ref = 1;
	return i - 1;
}

/* A full table makes room (CLOCK): the hand goes round the confirmed
 * entries, a used one loses its mark and is passed, the first unused
 * one goes.  Two rounds at most.  False: none confirmed (only the
 * pending ones of a tiny table). */
static bool clock_evict(struct fn_nft_ct *ct)
{
	for (uint64_t n = 0; n < 2ull * ct->max; n++) {
		uint32_t i = ct->hand;
		struct ct_entry *e = &ct->e[i];

		ct->hand = i + 1 < ct->max ? i + 1 : 0;
		if (!(e->flags & E_CONFIRMED))
			continue;
		if (e->ref) {
			e->ref = 0;
			continue;
		}
		entry_remove(ct, i);
		return true;
	}
	return false;
}

/* The first free entry on the list, -1 if none: entries taken as homes
 * while listed are passed (and unlisted) on the way. */
static int64_t free_pop(struct fn_nft_ct *ct)
{
	while (ct->free) {
		uint32_t i = ct->free - 1;

		ct->free = ct->fnext[i];
		ct->e[i].listed = 0;
		if (!ct->e[i].id)
			return i;
	}
	return -1;
}

/* A new entry for the flow of hash h: its home, entry h, if free; else
 * one from the free list; else one the clock evicts. */
static int64_t entry_alloc(struct fn_nft_ct *ct, uint32_t h)
{
	int64_t i = -1;
	uint8_t listed = 0;

	if (h < ct->max && !ct->e[h].id) {
		i = h;
		listed = ct->e[h].listed;
	}
	if (i < 0)
		i = free_pop(ct);
	if (i < 0 && clock_evict(ct))
		i = free_pop(ct);
	if (i < 0)
		return -1;
	memset(&ct->e[i], 0, sizeof(ct->e[i]));	/* no kept verdict */
	ct->e[i].listed = listed;
	ct->labels[i] = (struct ct_labels){ { 0 } };
	if (!++ct->next_id)
		ct->next_id = 1;
	ct->e[i].id = ct->next_id;
	return i;
}

/* With bindings, a new flow's tuples may be a bound flow's: its
 * reverse the bound flow's original tuple, or its reply the bound one's
 * translated reply (either way, the lookup that made it missed).  The
 * kernel's __nf_conntrack_confirm then finds a tuple taken and drops
 * the packet. */
static bool confirm_clash(struct fn_nft_ct *ct, uint32_t i)
{
	struct ct_tuple t = ct->e[i].t, r = tuple_reply(&ct->e[i]);
	int dir;

	if (!ct->nnat && !(ct->e[i].flags & E_DNAT))
		return false;
	return lookup(ct, &t, ct->e[i].created, &dir) >= 0 ||
	       lookup(ct, &r, ct->e[i].created, &dir) >= 0;
}

/* nfe_ct_confirm with an entry pending: kept out of line, so that the
 * common call, with none, costs a test and no saved registers. */
static __attribute__((noinline)) bool confirm_pending(struct fn_nft_ct *ct,
						       bool out_path,
						       bool accepted)
{
	uint32_t i = ct->pending[out_path];
	uint32_t h;

	ct->pending[out_path] = 0;
	i--;
	if (!accepted || confirm_clash(ct, i)) {
		entry_free(ct, i);
		return !accepted;
	}
	h = tuple_hash(ct, &ct->e[i].t);
	ct->e[i].flags |= E_CONFIRMED;
	ct->e[i].hnext = ct->bucket[h];
	ct->bucket[h] = i + 1;
	if (ct->e[i].flags & E_DNAT) {
		struct ct_tuple r = tuple_reply(&ct->e[i]);

		h = tuple_hash(ct, &r);
		ct->nat_next[i] = ct->nat_bucket[h];
		ct->nat_bucket[h] = i + 1;
		ct->nnat++;
	}
	ct->e[i].ref = 0;	/* used from its next packet on */
	return true;
}

bool nfe_ct_confirm(struct fn_nft_ct *ct, bool out_path, bool accepted)
{
	if (!ct->pending[out_path])
		return true;
	return confirm_pending(ct, out_path, accepted);
}

/* The packet opened its flow and the entry is not confirmed yet: the
 * kernel's !nf_nat_initialized(), for which nf_nat_inet_fn runs the nat
 * chains (a confirmed entry has its binding, a null one at least). */
bool nfe_ct_unconfirmed(const struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
			bool out_path)
{
	return ct && p->ct_entry && p->ct_dir == 0 &&
	       ct->pending[out_path] == p->ct_entry;
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

static bool csum_ok(const struct nfe_pkt *pk)
{
	const uint8_t *ip = pk->net, *l4 = ip + pk->thoff;
	uint32_t len = pk->len - pk->thoff, sum = 0;

	if (pk->tprot == 17 && rd16(l4 + 6) == 0)
		return true;		/* UDP without checksum */
	if (pk->tprot != 1)	/* the pseudo-header */
		sum = nfe_csum(ip + 12, 8) + pk->tprot + len;
	sum += nfe_csum(l4, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* A query (true, *reply false) or a reply (true, *reply true). */
static bool icmp_query(uint8_t type, bool *reply)
{
	*reply = type == 0 || type == 14 || type == 16 || type == 18;
	return icmp_inverse(type) != 0xff;
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
		t->sport = rd16(l4 + 4);
		t->dport = (uint16_t)(l4[0] << 8 | l4[1]);
		return icmp_query(l4[0], reply);
	default:
		return true;
	}
}

/* ICMP error: RELATED if the quoted packet belongs to a flow. */
static uint8_t icmp_related(struct fn_nft_ct *ct, const struct nfe_pkt *pk,
			    uint64_t now)
{
	const uint8_t *in = pk->net + pk->thoff + 8;
	uint32_t avail = pk->len - pk->thoff - 8, hl;
	struct ct_tuple t;
	bool reply;
	int dir;

	if (avail < 20 || (in[0] >> 4) != 4 || (in[0] & 15) < 5)
		return NFE_CT_INVALID;
	hl = (in[0] & 15) * 4u;
	/* the ports (4 bytes) or the ICMP header (8) are enough */
	if (!make_tuple(in, hl, avail, &t, &reply))
		return NFE_CT_INVALID;
	/* the error goes the other way than the packet it quotes: its
	 * inverted tuple is looked up (icmp_error_message), which finds a
	 * bound flow's original tuple from its translated reply too */
	t = tuple_rev(&t);
	int64_t i = lookup(ct, &t, now, &dir);

	if (i < 0)
		return NFE_CT_INVALID;
	ct->cur = i;
	ct->cur_dir = (uint8_t)dir;
	return NFE_CT_RELATED;
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

/* Protocol checks before any lookup: false = INVALID.  A TCP sum found
 * right goes into fn_nft_pkt.sums. */
static bool l4_valid(const struct nfe_pkt *pk, bool frag)
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
	if (frag || pk->hook != FN_NFT_PREROUTING ||
	    (pk->tprot != 6 && pk->tprot != 17 && pk->tprot != 1))
		return true;
	if (!csum_ok(pk))
		return false;
	if (pk->tprot == 6)
		pk->p->sums |= FN_NFT_SUM_TCP;
	return true;
}

/* ---- TCP: the kernel's state table (nf_conntrack_proto_tcp.c) ---------- */

enum { sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2, sIV, sIG };
enum { I_SYN, I_SYNACK, I_FIN, I_ACK, I_RST, I_NONE };

static const uint8_t tcp_table[2][6][10] = {
	{	/* original:  sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
		/* syn */    { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
		/* synack */ { sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
		/* fin */    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		/* ack */    { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
		/* rst */    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* none */   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	}, {	/* reply */
		/* syn */    { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
		/* synack */ { sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
		/* fin */    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		/* ack */    { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
		/* rst */    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* none */   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
};

/* Default timeouts in seconds, by state. */
static const uint32_t tcp_timeout[10] = {
	[sSS] = 120, [sSR] = 60, [sES] = 432000, [sFW] = 120, [sCW] = 60,
	[sLA] = 30, [sTW] = 120, [sCL] = 10, [sS2] = 120,
};

/* get_conntrack_index() */
static uint8_t tcp_index(uint8_t f)
{
	if (f & 0x04)
		return I_RST;
	if (f & 0x02)
		return f & 0x10 ? I_SYNACK : I_SYN;
	if (f & 0x01)
		return I_FIN;
	return f & 0x10 ? I_ACK : I_NONE;
}

static uint64_t timeout(const struct ct_entry *e)
{
	switch (e->t.proto) {
	case 6:		/* tcp_packet(): a picked-up flow gets UNACK's */
		if (e->tcp_state == sES && !(e->flags & E_SEEN_REPLY))
			return 300 * SEC;
		return (uint64_t)tcp_timeout[e->tcp_state] * SEC;
	case 17:	/* nf_conntrack_udp_packet(): a stream */
		return (e->flags & E_ASSURED ? 120 : 30) * SEC;
	case 1:
		return 30 * SEC;
	default:
		return 600 * SEC;
	}
}

/* tcp_packet() without sequence windows (as nf_conntrack_tcp_be_liberal
 * and _ignore_invalid_rst): -1 INVALID, 0 accepted unchanged (ignored),
 * 1 accepted, 2 a closed flow reopened by this SYN (a new one). */
static int tcp_update(struct ct_entry *e, const struct ct_tuple *t,
		      uint8_t f, int dir)
{
	uint8_t index = tcp_index(f), old = e->tcp_state;
	uint8_t st = tcp_table[dir][index][old];

	switch (st) {
	case sSS:
		if (old < sTW)
			break;
		if ((e->flags & E_CLOSE_INIT) ||
		    (e->last_dir == dir && e->last_index == I_RST)) {
			e->t = *t;	/* nf_ct_kill + a new lookup */
			e->flags &= E_CONFIRMED;
			e->tcp_state = sSS;
			e->last_index = index;
			e->last_dir = 0;
			return 2;
		}
		/* fall through */
	case sIG:
		e->last_index = index;
		e->last_dir = (uint8_t)dir;
		return 0;
	case sIV:
		return -1;
	case sS2:
		e->flags |= E_SIMOPEN;
		break;
	case sSR:
		if (dir && index == I_ACK && (e->flags & E_SIMOPEN))
			st = sES;
		break;
	}
	e->last_index = index;
	e->last_dir = (uint8_t)dir;
	if (st == sFW && old != sFW)
		e->flags |= E_CLOSE_INIT;
	e->tcp_state = st;
	return 1;
}

/* IPS_ASSURED, before this packet's SEEN_REPLY: TCP when an answered
 * flow goes on ESTABLISHED from SYN_RECV or ESTABLISHED (tcp_packet),
 * UDP when answered and still active 2 s after it began (udp_packet). */
static void assure(struct ct_entry *e, uint8_t old, uint64_t now)
{
	if (!(e->flags & E_SEEN_REPLY))
		return;
	if (e->t.proto == 6 ? (old == sSR || old == sES) &&
			      e->tcp_state == sES :
	    e->t.proto == 17 && now > e->created + 2 * SEC)
		e->flags |= E_ASSURED;
}

static bool may_open(const struct nfe_pkt *pk, bool reply)
{
	if (pk->tprot == 6) {
		uint8_t f = pk->net[pk->thoff + 13] & 0x17;

		return f == 0x02 || f == 0x10;
	}
	return pk->tprot != 1 || !reply;
}

static uint8_t track_new(struct fn_nft_ct *ct, const struct nfe_pkt *pk,
			 const struct ct_tuple *t, uint64_t now)
{
	bool out = pk->hook == FN_NFT_OUTPUT;
	int64_t i;

	if (ct->pending[out])
		nfe_ct_confirm(ct, out, false);
	i = entry_alloc(ct, tuple_hash(ct, t));
	if (i < 0)
		return NFE_CT_INVALID;
	ct->e[i].t = *t;
	if (t->proto == 6)	/* tcp_new(): SYN_SENT, or a picked-up flow */
		ct->e[i].tcp_state = tcp_index(pk->net[pk->thoff + 13]) ==
				     I_SYN ? sSS : sES;
	ct->e[i].expires = now + timeout(&ct->e[i]);
	ct->e[i].created = now;
	acct_start(ct, &ct->e[i], pk->len);
	ct->pending[out] = (uint32_t)i + 1;
	ct->cur = i;
	ct->cur_dir = 0;
	return NFE_CT_NEW;
}

static uint8_t track(struct fn_nft_ct *ct, const struct nfe_pkt *pk,
		     uint64_t now)
{
	const uint8_t *l4 = pk->net + pk->thoff;
	struct ct_tuple t;
	bool reply;
	int dir = 0;

	if (!make_tuple(pk->net, pk->thoff, pk->len, &t, &reply)) {
		if (pk->tprot == 1 && icmp_is_error(l4[0]))
			return icmp_related(ct, pk, now);
		return NFE_CT_INVALID;
	}
	int64_t i = lookup(ct, &t, now, &dir);
	if (i < 0)
		return may_open(pk, reply) ? track_new(ct, pk, &t, now) :
					     NFE_CT_INVALID;
	struct ct_entry *e = &ct->e[i];

	/* Most packets: an ACK without SYN, FIN or RST of an answered
	 * ESTABLISHED TCP flow, either way.  What the general path below
	 * comes to for it: tcp_conntracks keeps ESTABLISHED, assure() marks
	 * it assured, the timeout is ESTABLISHED's. */
	if (t.proto == 6 && e->tcp_state == sES &&
	    (e->flags & E_SEEN_REPLY) && tcp_index(l4[13]) == I_ACK) {
		e->last_index = I_ACK;
		e->last_dir = (uint8_t)dir;
		e->flags |= E_ASSURED;
		e->expires = now + (uint64_t)tcp_timeout[sES] * SEC;
		acct_add(ct, e, dir, pk->len);
		ct->cur = i;
		ct->cur_dir = (uint8_t)dir;
		return NFE_CT_ESTABLISHED;
	}
	uint8_t old = e->tcp_state, flags = e->flags;
	struct ct_tuple was = e->t;
	int rc = t.proto == 6 ? tcp_update(e, &t, l4[13], dir) : 1;

	if (rc < 0)
		return NFE_CT_INVALID;
	if (rc == 2 && (flags & E_DNAT)) {
		/* nf_ct_kill and a new lookup: a new flow, whose first
		 * packet the nat chains bind again (the binding is the
		 * old flow's, and so is its place in the tables) */
		e->t = was;
		e->flags = flags;
		entry_remove(ct, (uint32_t)i);
		return track_new(ct, pk, &t, now);
	}
	ct->cur = i;
	ct->cur_dir = (uint8_t)dir;
	if (rc == 2) {		/* a new conntrack: a new id, mark, count */
		e->expires = now + timeout(e);
		e->created = now;
		e->mark = 0;
		*labels_of(ct, e) = (struct ct_labels){ { 0 } };
		if (!++ct->next_id)
			ct->next_id = 1;
		e->id = ct->next_id;
		acct_start(ct, e, pk->len);
		return NFE_CT_NEW;
	}
	if (rc && t.proto == 6 && (l4[13] & 0x04) &&
	    !(e->flags & E_SEEN_REPLY)) {
		/* tcp_packet(): "if only reply is a RST ... delete the
		 * conntrack immediately" (and so a RST of a flow that never
		 * had a reply, too) */
		acct_add(ct, e, dir, pk->len);	/* nf_ct_kill_acct() */
		if (acct_of(ct, e))
			ct->dying_acct = *acct_of(ct, e);
		ct->dying_labels = *labels_of(ct, e);
		ct->dying = *e;		/* the packet keeps it (dying) */
		ct->dying.flags |= E_DYING | (dir ? E_SEEN_REPLY : 0);
		entry_remove(ct, (uint32_t)i);
		ct->cur = ct->max;
		ct->cur_dir = (uint8_t)dir;
		return dir ? NFE_CT_ESTABLISHED : NFE_CT_NEW;
	}
	if (rc && t.proto == 6 && !(e->flags & E_SEEN_REPLY) && old == sSS &&
	    tcp_index(l4[13]) == I_SYN)
		rc = 0;		/* tcp_packet(): a SYN retransmit renews
				 * nothing and is not counted */
	if (rc)
		assure(e, old, now);
	if (rc) {		/* an ignored packet does not refresh */
		acct_add(ct, e, dir, pk->len);
		e->expires = now + timeout(e);
	}
	if (dir)		/* nf_conntrack_in(), after the protocol's */
		e->flags |= E_SEEN_REPLY;
	return dir || (e->flags & E_SEEN_REPLY) ? NFE_CT_ESTABLISHED :
						  NFE_CT_NEW;
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

uint8_t nfe_ct_track(struct fn_nft_ct *ct, struct nfe_pkt *pk)
{
	const uint8_t *ip = pk->net;
	uint64_t now = pk->p->now_ns;
	bool more = rd16(ip + 6) & 0x2000;
	uint8_t st;

	ct->cur = -1;
	pk->p->ct_entry = 0;
	pk->p->ct_id = 0;
	pk->p->ct_dir = 0;
	if (pk->fragoff) {
		struct frag *f = frag_find(ct, ip, now);

		return f ? f->state : NFE_CT_INVALID;
	}
	st = l4_valid(pk, more) ? track(ct, pk, now) : NFE_CT_INVALID;
	if (ct->cur >= 0) {
		pk->p->ct_entry = (uint32_t)ct->cur + 1;
		pk->p->ct_id = ct->cur == ct->max ? ct->dying.id :
			       ct->e[ct->cur].id;
		pk->p->ct_dir = ct->cur_dir;
	}
	if (more) {
		struct frag *f = &ct->frags[ct->frag_next++ % FRAG_CACHE];

		*f = (struct frag){ rd32(ip + 12), rd32(ip + 16), rd16(ip + 4),
				    ip[9], st, now + 30 * SEC };
	}
	return st;
}

/* ---- ct keys ------------------------------------------------------------- */

/* The packet's entry: the one tracking gave it, if it is still that
 * flow's (its id), else NULL (untracked, invalid: the kernel's ct ==
 * NULL). */
static struct ct_entry *pkt_entry(struct fn_nft_ct *ct,
				  const struct fn_nft_pkt *p)
{
	if (!ct || !p->ct_entry || p->ct_entry > ct->max + 1)
		return NULL;
	struct ct_entry *e = p->ct_entry == ct->max + 1 ? &ct->dying :
			     &ct->e[p->ct_entry - 1];

	return e->id && e->id == p->ct_id ? e : NULL;
}

static void wr16(uint32_t *dst, uint16_t v)	/* network order */
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	*dst = 0;
	memcpy(dst, b, 2);
}

static void wr32(uint32_t *dst, uint32_t v)	/* network order */
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	memcpy(dst, b, 4);
}

/* IPS_* bits of the kernel's ct->status. */
static uint32_t entry_status(const struct ct_entry *e)
{
	return (e->flags & E_SEEN_REPLY ? 1u << 1 : 0) |
	       (e->flags & E_ASSURED ? 1u << 2 : 0) |
	       (e->flags & E_CONFIRMED ? 1u << 3 : 0) |
	       (e->flags & E_DYING ? 1u << 9 : 0);
}

/* A counter of direction dir (2: both), nft_ct_get_eval_counter(). */
static uint64_t entry_count(const uint64_t c[2], uint8_t dir)
{
	return dir < 2 ? c[dir] : c[0] + c[1];
}

/* nft_ct_get_eval() for the keys but state: false = NFT_BREAK.  dir is
 * the rule's direction (2: none); len the register bytes (compile). */
bool nfe_ct_get(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		uint8_t key, uint8_t dir, uint32_t *dst, uint64_t now)
{
	struct ct_entry *e = pkt_entry(ct, p);

	if (!e)
		return false;
	struct ct_tuple t = dir == 1 ? tuple_reply(e) : e->t;

	switch (key) {
	case NFT_CT_DIRECTION:
		*dst = p->ct_dir;
		return true;
	case NFT_CT_STATUS:
		*dst = entry_status(e);
		return true;
	case NFT_CT_MARK:
		*dst = e->mark;
		return true;
	case NFT_CT_EXPIRATION:	/* an unconfirmed entry's timeout is
				 * relative in the kernel: 0 in practice */
		*dst = !(e->flags & E_CONFIRMED) || e->expires <= now ? 0 :
		       (uint32_t)((e->expires - now) / 1000000u);
		return true;
	case NFT_CT_L3PROTOCOL:
		*dst = NFPROTO_IPV4;
		return true;
	case NFT_CT_PROTOCOL:
		*dst = t.proto;
		return true;
	case NFT_CT_SRC:
	case NFT_CT_SRC_IP:
		wr32(dst, t.src);
		return true;
	case NFT_CT_DST:
	case NFT_CT_DST_IP:
		wr32(dst, t.dst);
		return true;
	case NFT_CT_PROTO_SRC:
		wr16(dst, t.sport);
		return true;
	case NFT_CT_PROTO_DST:
		wr16(dst, t.dport);
		return true;
	case NFT_CT_PKTS:
	case NFT_CT_BYTES: {
		const struct ct_acct *a = acct_of(ct, e);
		uint64_t v = !a ? 0 : entry_count(key == NFT_CT_PKTS ?
						  a->packets : a->bytes, dir);

		memcpy(dst, &v, 8);
		return true;
	}
	case NFT_CT_AVGPKT: {
		const struct ct_acct *a = acct_of(ct, e);
		uint64_t n = a ? entry_count(a->packets, dir) : 0;
		uint64_t v = n ? entry_count(a->bytes, dir) / n : 0;

		memcpy(dst, &v, 8);
		return true;
	}
	case NFT_CT_ZONE:
		*dst = 0;	/* one zone: 0 */
		return true;
	case NFT_CT_ID:
		*dst = e->id;
		return true;
	case NFT_CT_LABELS:
		memcpy(dst, labels_of(ct, e)->w, 16);
		return true;
	default:		/* NFT_CT_HELPER, NFT_CT_SRC_IP6/DST_IP6:
				 * no helpers, no IPv6 flows */
		return false;
	}
}

/* nft_ct_set_eval() for the mark. */
void nfe_ct_set_labels(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		       const uint32_t labels[4])
{
	struct ct_entry *e = pkt_entry(ct, p);

	for (int i = 0; e && i < 4; i++)
		labels_of(ct, e)->w[i] |= labels[i];
}

void nfe_ct_set_mark(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		     uint32_t mark)
{
	struct ct_entry *e = pkt_entry(ct, p);

	if (e)
		e->mark = mark;
}

/* ---- NAT bindings (nat.c rewrites) ---------------------------------------- */

/* nf_nat_setup_info() for NF_NAT_MANIP_DST, one address and port: the
 * reply tuple becomes new destination -> original source.  If another
 * flow holds that tuple (either way), get_unique_tuple would find no
 * other in a range of one: the kernel's confirm then fails and drops
 * the packet; here the binding fails. */
bool nfe_ct_dnat(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		 uint32_t addr, uint16_t port, uint64_t now)
{
	struct ct_entry *e = pkt_entry(ct, p);
	int dir;

	if (!e || e == &ct->dying || (e->flags & (E_DNAT | E_CONFIRMED)) ||
	    (e->t.proto != 6 && e->t.proto != 17))
		return false;
	struct ct_tuple r = { addr, e->t.src, port, e->t.sport, e->t.proto };

	if ((addr != e->t.dst || port != e->t.dport) &&
	    lookup(ct, &r, now, &dir) >= 0)
		return false;
	e->nat_addr = addr;
	e->nat_port = port;
	e->flags |= E_DNAT;
	return true;
}

bool nfe_ct_bound(struct fn_nft_ct *ct, const struct fn_nft_pkt *p)
{
	const struct ct_entry *e = pkt_entry(ct, p);

	return e && (e->flags & E_DNAT);
}

/* nf_nat_packet(): the destination is rewritten where the kernel's
 * NF_NAT_MANIP_DST runs (prerouting, output) on the original direction,
 * the source where NF_NAT_MANIP_SRC runs (input, postrouting) on the
 * reply direction (IPS_DST_NAT, reversed for replies).  An ICMP error
 * about a bound flow would need its quoted packet translated
 * (nf_nat_icmp_reply_translation): dropped instead. */
int nfe_ct_nat_target(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		      enum fn_nft_hook hook, bool *dst, uint32_t *addr,
		      uint16_t *port)
{
	const struct ct_entry *e = pkt_entry(ct, p);

	if (!e || !(e->flags & E_DNAT))
		return 0;
	*dst = hook == FN_NFT_PREROUTING || hook == FN_NFT_OUTPUT;
	if (p->ct_dir != !*dst)
		return 0;
	if (p->ct_state == NFE_CT_RELATED)
		return -1;
	*addr = *dst ? e->nat_addr : e->t.dst;
	*port = *dst ? e->nat_port : e->t.dport;
	return 1;
}
