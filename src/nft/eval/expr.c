/*
 * src/nft/eval/expr.c - executing one compiled operation, with the
 * semantics of the kernel's eval functions (net/netfilter/nft_*.c):
 * a failed match or a load outside the packet sets NFT_BREAK.  Register
 * indices and lengths were checked at compile time (cexpr.c); packet
 * bounds are checked here, against the packet info eval.c prepared.
 * A run of rules index.c indexed runs only the rules of the packet's key
 * (run_indexed).
 * Called by eval.c for each operation of a rule; never allocates.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "fragnet/log.h"
#include "nfe.h"

#define BRK(r)	((r)->verdict.code = NFE_BREAK)

/* The hot path in one function, as when each was called once: run_rule
 * is used by the linear walk and by run_indexed, the loads by run_rule
 * and by run_load_key, and compilers stop inlining them when they are
 * used twice (30% slower a rule when they do not). */
#define HOT	__attribute__((always_inline)) inline

static const uint32_t *pool(const struct fn_nft_prog *p, uint32_t idx)
{
	return &p->pool[idx];
}

/* Zero-padded to whole words, as the kernel's loads.  Short values are
 * built in a local word and stored once: a byte store followed by a word
 * load would stall store-to-load forwarding. */
static inline void store(uint32_t *dst, const void *src, uint32_t len)
{
	if (len <= 4) {
		uint32_t w = 0;

		memcpy(&w, src, len);
		*dst = w;
		return;
	}
	if (len % 4)
		dst[len / 4] = 0;
	memcpy(dst, src, len);
}

/* nft_payload_eval(). */
static HOT void do_payload(const struct nfe_op *op, struct nfe_regs *r,
			   const struct nfe_pkt *pk)
{
	const uint8_t *base;
	uint64_t avail;

	switch (op->sub) {
	case NFT_PAYLOAD_LL_HEADER:
		base = pk->ll;
		avail = pk->ll_len;
		break;
	case NFT_PAYLOAD_NETWORK_HEADER:
		base = pk->net;
		avail = pk->len;
		break;
	default:	/* transport: none in non-first fragments, but for
			 * the kernel's fast loads (cexpr.c) */
		if (!pk->l4 || (pk->fragoff && !op->size) ||
		    pk->thoff > pk->len) {	/* IPv6 headers past the end */
			BRK(r);
			return;
		}
		base = pk->net + pk->thoff;
		avail = pk->len - pk->thoff;
		break;
	}
	if (!base || (uint64_t)op->arg + op->len > avail) {
		BRK(r);
		return;
	}
	const uint8_t *src = base + op->arg;
	uint32_t w = 0;

	switch (op->len) {	/* the usual widths without a call */
	case 1: w = src[0]; break;
	case 2: memcpy(&w, src, 2); break;
	case 4: memcpy(&w, src, 4); break;
	default:
		store(&r->data[op->dreg], src, op->len);
		return;
	}
	r->data[op->dreg] = w;
}

/* nft_cmp_eval(). */
static void do_cmp(const struct fn_nft_prog *p, const struct nfe_op *op,
		   struct nfe_regs *r)
{
	int d = nfe_memcmp(&r->data[op->sreg], pool(p, op->arg), op->len);
	bool ok;

	switch (op->sub) {
	case NFT_CMP_EQ:  ok = d == 0; break;
	case NFT_CMP_NEQ: ok = d != 0; break;
	case NFT_CMP_LT:  ok = d < 0; break;
	case NFT_CMP_LTE: ok = d <= 0; break;
	case NFT_CMP_GT:  ok = d > 0; break;
	default:          ok = d >= 0; break;
	}
	if (!ok)
		BRK(r);
}

/* nft_range_eval(). */
__attribute__((noinline))
static void do_range(const struct fn_nft_prog *p, const struct nfe_op *op,
		     struct nfe_regs *r)
{
	int d1 = nfe_memcmp(&r->data[op->sreg], pool(p, op->arg), op->len);
	int d2 = nfe_memcmp(&r->data[op->sreg], pool(p, (uint32_t)op->arg2),
			op->len);
	bool in = d1 >= 0 && d2 <= 0;

	if (in != (op->sub == NFT_RANGE_EQ))
		BRK(r);
}

/* nft_bitwise_eval_bool(): word by word, mask and xor zero-padded. */
__attribute__((noinline))
static void do_bitwise(const struct fn_nft_prog *p, const struct nfe_op *op,
		       struct nfe_regs *r)
{
	const uint32_t *m = pool(p, op->arg), *x = pool(p, (uint32_t)op->arg2);
	uint32_t *dst = &r->data[op->dreg];
	const uint32_t *src = &r->data[op->sreg];

	for (uint32_t i = 0; i < (op->len + 3u) / 4; i++)
		dst[i] = (src[i] & m[i]) ^ x[i];
}

/* nft_bitwise_eval_lshift/_rshift(): host-order words, carries between
 * them.  A shift of 0 copies (the kernel's carry would shift by 32). */
__attribute__((noinline))
static void do_shift(const struct nfe_op *op, struct nfe_regs *r)
{
	uint32_t n = (op->len + 3u) / 4, s = op->arg, carry = 0;
	uint32_t *dst = &r->data[op->dreg];
	const uint32_t *src = &r->data[op->sreg];

	if (s == 0) {
		memmove(dst, src, n * 4);
		return;
	}
	if (op->sub) {			/* left */
		for (uint32_t i = n; i > 0; i--) {
			uint32_t v = src[i - 1];

			dst[i - 1] = (v << s) | carry;
			carry = v >> (32 - s);
		}
	} else {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t v = src[i];

			dst[i] = carry | (v >> s);
			carry = v << (32 - s);
		}
	}
}

/* nft_byteorder_eval(): on x86 (little endian) both directions swap. */
__attribute__((noinline))
static void do_byteorder(const struct nfe_op *op, struct nfe_regs *r)
{
	uint8_t *dst = (uint8_t *)&r->data[op->dreg];
	const uint8_t *src = (const uint8_t *)&r->data[op->sreg];
	uint32_t n = op->len / op->size;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t tmp[8];

		for (uint32_t b = 0; b < op->size; b++)
			tmp[b] = src[i * op->size + op->size - 1 - b];
		if (htonl(1) == 1)	/* big endian host: no swap */
			memcpy(tmp, src + i * op->size, op->size);
		memcpy(dst + i * op->size, tmp, op->size);
	}
}

static void store_ifname(uint32_t *dst, const char *name)
{
	char buf[NFE_IFNAMSIZ] = { 0 };

	if (name)
		strncpy(buf, name, sizeof(buf) - 1);
	memcpy(dst, buf, sizeof(buf));
}

static void store8(uint32_t *dst, uint8_t v)
{
	store(dst, &v, 1);
}

/* CLOCK_REALTIME in ns: the packet's, or the clock's (ktime_get_real_ns). */
static uint64_t wall_ns(const struct fn_nft_pkt *p)
{
	struct timespec ts;

	if (p->wall_ns)
		return p->wall_ns;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The rarer keys of nft_meta_get_eval().  The stack's devices are all in
 * group 0 ("default"); skb->priority is what a rule set (0 before: lwIP
 * has no SO_PRIORITY); the time keys as nft_meta_weekday/_hour with the
 * kernel's sys_tz at 0 (UTC; nft converts local times when it loads the
 * rule). */
__attribute__((noinline))
static void do_meta_more(const struct nfe_op *op, struct nfe_regs *r,
			 const struct nfe_pkt *pk, struct fn_nft_prog *prog)
{
	uint32_t *dst = &r->data[op->dreg];
	bool in = pk->hook <= FN_NFT_INPUT;

	switch (op->sub) {
	case NFT_META_PRIORITY:
		*dst = pk->p->priority;
		break;
	case NFT_META_CPU: {
		int cpu = sched_getcpu();

		*dst = cpu < 0 ? 0 : (uint32_t)cpu;
		break;
	}
	case NFT_META_IIFGROUP:
	case NFT_META_OIFGROUP:
		if (in != (op->sub == NFT_META_IIFGROUP))
			BRK(r);	/* no such device at this hook */
		else
			*dst = 0;
		break;
	case NFT_META_SKUID:	/* nft_meta_get_eval_skugid() */
	case NFT_META_SKGID:
		if (!pk->p->sk)
			BRK(r);
		else
			*dst = op->sub == NFT_META_SKUID ? pk->p->sk_uid :
							   pk->p->sk_gid;
		break;
	case NFT_META_SDIF:	/* no VRF (l3mdev) in a stack: 0, "" */
		*dst = 0;
		break;
	case NFT_META_SDIFNAME:
		memset(dst, 0, 16);
		break;
	case NFT_META_CGROUP:	/* nft_meta_get_eval_cgroup(): the socket's
				 * net_cls classid, 0 without net_cls, and
				 * the stack's sockets are in no cgroup */
		if (!pk->p->sk)
			BRK(r);
		else
			*dst = 0;
		break;
	case NFT_META_PRANDOM: {
		uint32_t x = prog->rnd;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		prog->rnd = x;
		*dst = x;
		break;
	}
	case NFT_META_TIME_NS: {
		uint64_t ns = wall_ns(pk->p);

		memcpy(dst, &ns, 8);	/* nft_reg_store64: host order */
		break;
	}
	case NFT_META_TIME_DAY:
		store8(dst, (uint8_t)((4 + wall_ns(pk->p) / 1000000000u /
				       86400u) % 7));
		break;
	default:	/* NFT_META_TIME_HOUR: seconds into the UTC day */
		*dst = (uint32_t)(wall_ns(pk->p) / 1000000000u % 86400u);
		break;
	}
}

/* nft_meta_get_eval(): the input device exists at ingress, prerouting
 * and input; the output device at output and postrouting. */
static HOT void do_meta(const struct nfe_op *op, struct nfe_regs *r,
			const struct nfe_pkt *pk, struct fn_nft_prog *prog)
{
	uint32_t *dst = &r->data[op->dreg];
	const struct fn_nft_pkt *p = pk->p;
	bool in = pk->hook <= FN_NFT_INPUT, out = !in;

	switch (op->sub) {
	case NFT_META_LEN:
		*dst = pk->len;
		break;
	case NFT_META_PROTOCOL: {
		uint16_t be = htons(pk->hook == FN_NFT_INGRESS ?
				    p->ethertype : 0x0800);
		store(dst, &be, 2);
		break;
	}
	case NFT_META_NFPROTO:
		store8(dst, pk->pf);
		break;
	case NFT_META_L4PROTO:
		if (!pk->l4) {
			BRK(r);
			return;
		}
		store8(dst, pk->tprot);
		break;
	case NFT_META_MARK:
		*dst = p->mark;
		break;
	case NFT_META_IIF:
		*dst = in ? p->iif : 0;
		break;
	case NFT_META_OIF:
		*dst = out ? p->oif : 0;
		break;
	case NFT_META_IIFTYPE:	/* the stack's devices are Ethernet */
	case NFT_META_OIFTYPE: {
		uint16_t ether = 1;	/* ARPHRD_ETHER */

		if (in != (op->sub == NFT_META_IIFTYPE)) {
			BRK(r);	/* no such device at this hook */
			return;
		}
		store(dst, &ether, 2);
		break;
	}
	case NFT_META_IIFNAME:
		store_ifname(dst, in ? p->iifname : NULL);
		break;
	case NFT_META_OIFNAME:
		store_ifname(dst, out ? p->oifname : NULL);
		break;
	case NFT_META_PKTTYPE:
		store8(dst, p->pkttype);
		break;
	default:
		do_meta_more(op, r, pk, prog);
		break;
	}
}

/* nft_lookup_eval(), catch-all included. */
__attribute__((noinline))
static void do_lookup(const struct fn_nft_prog *p, const struct nfe_op *op,
		      struct nfe_regs *r)
{
	const struct nfe_set *s = &p->sets[op->arg];
	const uint8_t *data = NULL;
	const struct nfe_verdict *vd = NULL;
	bool hit = nfe_set_lookup(s, (const uint8_t *)&r->data[op->sreg],
				  &data, &vd);

	if (hit == (bool)op->sub) {	/* not found (after inversion) */
		if (!s->catchall) {
			BRK(r);
			return;
		}
		data = s->ca_data;
		vd = &s->ca_verdict;
	} else if (op->sub) {
		return;			/* inverted: nothing to copy */
	}
	if (!op->size)
		return;
	if (s->vmap) {
		r->verdict.code = vd->code;
		r->verdict.chain = vd->chain;
	} else {
		store(&r->data[op->dreg], data, s->dlen);
	}
}

/* nft_limit_eval(): true when over the limit. */
static bool limit_over(struct nfe_state *s, uint64_t now, uint64_t cost)
{
	uint64_t tokens;

	if (!s->b)
		s->b = now;
	tokens = s->a + (now > s->b ? now - s->b : 0);
	if (tokens > s->tokens_max)
		tokens = s->tokens_max;
	s->b = now;
	if (tokens >= cost) {
		s->a = tokens - cost;
		return s->invert;
	}
	s->a = tokens;
	return !s->invert;
}

__attribute__((noinline))
static void do_limit(struct fn_nft_prog *p, const struct nfe_op *op,
		     struct nfe_regs *r, const struct nfe_pkt *pk)
{
	struct nfe_state *s = &p->states[op->arg];
	uint64_t cost = s->cost;

	if (s->bytes_mode)
		cost = (uint64_t)((unsigned __int128)s->nsecs * pk->len /
				  s->rate);
	if (limit_over(s, pk->p->now_ns ? pk->p->now_ns : 1, cost))
		BRK(r);
}

/* nft_quota_do_eval(). */
__attribute__((noinline))
static void do_quota(struct fn_nft_prog *p, const struct nfe_op *op,
		     struct nfe_regs *r, const struct nfe_pkt *pk)
{
	struct nfe_state *s = &p->states[op->arg];

	s->a += pk->len;
	if ((s->a >= s->b) ^ s->invert)
		BRK(r);
}

/* nft_objref_map_eval(): the object of the key's element (or the
 * catch-all's), its own eval; none: NFT_BREAK. */
__attribute__((noinline))
static void do_objref_map(struct fn_nft_prog *p, const struct nfe_op *op,
			  struct nfe_regs *r, const struct nfe_pkt *pk)
{
	const struct nfe_set *s = &p->sets[op->arg];
	const uint8_t *data = NULL;
	const struct nfe_verdict *vd = NULL;
	struct nfe_op o = *op;
	uint32_t si;

	if (!nfe_set_lookup(s, (const uint8_t *)&r->data[op->sreg], &data,
			    &vd)) {
		if (!s->catchall) {
			BRK(r);
			return;
		}
		data = s->ca_data;
	}
	memcpy(&si, data, sizeof(si));
	o.arg = si;
	switch (p->states[si].kind) {
	case ST_COUNTER:
		p->states[si].a++;
		p->states[si].b += pk->len;
		break;
	case ST_LIMIT:
		do_limit(p, &o, r, pk);
		break;
	case ST_QUOTA:
		do_quota(p, &o, r, pk);
		break;
	}
}

static int log_level(uint8_t syslog)
{
	if (syslog <= 3)
		return FN_LOG_ERROR;
	if (syslog == 4)
		return FN_LOG_WARN;
	/* 8: audit (NFT_LOGLEVEL_AUDIT), the stack's log standing in for
	 * the audit log */
	return syslog <= 6 || syslog == 8 ? FN_LOG_INFO : FN_LOG_DEBUG;
}

/* To the stack's log, at most 10 lines a second (burst 20). */
__attribute__((noinline))
static void do_log(struct fn_nft_prog *p, const struct nfe_op *op,
		   const struct nfe_pkt *pk)
{
	const struct fn_nft_pkt *k = pk->p;
	uint64_t now = k->now_ns, add;
	char l4[48] = "";

	add = (now > p->log_last ? now - p->log_last : 0) / 100000000u;
	if (add) {
		p->log_tokens = p->log_tokens + add > 20 ? 20 :
				p->log_tokens + add;
		p->log_last = now;
	}
	if (!p->log_tokens) {
		p->log_suppressed++;
		return;
	}
	p->log_tokens--;
	if (!pk->net || pk->len < 20 || !pk->l4 || k->ethertype != 0x0800) {
		fn_log(log_level(op->size), "%sIN=%s OUT=%s LEN=%u",
		       p->logs[op->arg], pk->hook <= FN_NFT_INPUT &&
		       k->iifname ? k->iifname : "", pk->hook > FN_NFT_INPUT &&
		       k->oifname ? k->oifname : "", pk->len);
		return;
	}
	const uint8_t *ip = pk->net, *t = ip + pk->thoff;
	if ((pk->tprot == 6 || pk->tprot == 17) && !pk->fragoff &&
	    pk->len >= pk->thoff + 4)
		snprintf(l4, sizeof(l4), " SPT=%u DPT=%u",
			 t[0] << 8 | t[1], t[2] << 8 | t[3]);
	fn_log(log_level(op->size),
	       "%sIN=%s OUT=%s SRC=%u.%u.%u.%u DST=%u.%u.%u.%u LEN=%u TTL=%u PROTO=%u%s (%llu suppressed)",
	       p->logs[op->arg],
	       pk->hook <= FN_NFT_INPUT && k->iifname ? k->iifname : "",
	       pk->hook > FN_NFT_INPUT && k->oifname ? k->oifname : "",
	       ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19],
	       pk->len, ip[8], pk->tprot, l4,
	       (unsigned long long)p->log_suppressed);
	p->log_suppressed = 0;
}

/* nft_reject_{ipv4,inet,netdev}_eval(): drop, and say what to send.
 * As nf_send_unreach/nf_send_reset: nothing for non-first fragments;
 * a reset only answers TCP that is not a reset itself. */
__attribute__((noinline))
static void do_reject(const struct nfe_op *op, struct nfe_regs *r,
		      const struct nfe_pkt *pk)
{
	static const uint8_t icmpx[] = { 0, 3, 1, 13 };
	struct fn_nft_result *res = pk->res;
	bool ipv4 = pk->p->ethertype == 0x0800;

	r->verdict.code = NFE_NF_DROP;
	res->reject = FN_NFT_REJECT_NONE;
	if (!ipv4 || !pk->l4 || pk->fragoff)
		return;
	switch (op->sub) {
	case NFT_REJECT_ICMP_UNREACH:
		res->reject = FN_NFT_REJECT_ICMP;
		res->reject_code = op->size;
		break;
	case NFT_REJECT_ICMPX_UNREACH:
		if (op->arg == NFPROTO_IPV4)
			break;	/* the ip family has no icmpx: drop only */
		res->reject = FN_NFT_REJECT_ICMP;
		res->reject_code = icmpx[op->size & 3];
		break;
	default:
		if (pk->tprot == 6 && pk->len >= pk->thoff + 20 &&
		    !(pk->net[pk->thoff + 13] & 0x04))
			res->reject = FN_NFT_REJECT_TCP_RST;
		break;
	}
}

/* nft_ct_get_eval() but state: registers zeroed to the key's length,
 * as the kernel's stores of 1 and 2 bytes zero their word. */
__attribute__((noinline))
static void do_ct(const struct nfe_op *op, struct nfe_regs *r,
		  const struct nfe_pkt *pk)
{
	uint32_t *dst = &r->data[op->dreg], v[4] = { 0 };

	if (!nfe_ct_get(pk->ct, pk->p, op->sub, op->size, v, pk->p->now_ns)) {
		BRK(r);
		return;
	}
	if (op->len == 1)
		store8(dst, (uint8_t)v[0]);
	else
		memcpy(dst, v, (op->len + 3u) / 4 * 4);
}

/* A TCP option's length as the kernel's optlen(): EOL and NOP, and a
 * zero length, are one byte (finite progress). */
static uint32_t tcp_optlen(const uint8_t *opt, uint32_t i)
{
	return opt[i] <= 1 || opt[i + 1] == 0 ? 1 : opt[i + 1];
}

/* nft_exthdr_tcp_eval(): the options of a first fragment's whole TCP
 * header; *at the option's offset from net, false if none (or broken). */
static bool tcp_option_at(const struct nfe_op *op, const struct nfe_pkt *pk,
			  uint32_t *at)
{
	if (!pk->l4 || pk->tprot != 6 || pk->fragoff ||
	    pk->thoff > pk->len || pk->len - pk->thoff < 20)
		return false;
	const uint8_t *th = pk->net + pk->thoff;
	uint32_t hl = (th[12] >> 4) * 4u;

	if (hl < 20 || hl > pk->len - pk->thoff)
		return false;
	for (uint32_t i = 20, optl; i + 1 < hl; i += optl) {
		optl = tcp_optlen(th, i);
		if (th[i] != op->size)
			continue;
		if (i + optl > hl || op->len + op->arg > optl)
			return false;
		*at = pk->thoff + i + op->arg;
		return true;
	}
	return false;
}

/* nft_exthdr_sctp_eval(): the chunks after the common header (12
 * bytes); as the kernel, no fragment check. */
static bool sctp_chunk_at(const struct nfe_op *op, const struct nfe_pkt *pk,
			  uint32_t *at, bool present)
{
	if (!pk->l4 || pk->tprot != 132)
		return false;
	for (uint64_t off = (uint64_t)pk->thoff + 12; off < pk->len;) {
		if (off + 4 > pk->len)
			return false;
		const uint8_t *ch = pk->net + off;
		uint32_t clen = (uint32_t)(ch[2] << 8 | ch[3]);

		if (!clen)
			return false;
		if (ch[0] == op->size) {
			if (present)
				return true;
			if (op->arg + op->len > clen || off + clen > pk->len)
				return false;
			*at = (uint32_t)(off + op->arg);
			return true;
		}
		off += (clen + 3u) & ~3u;
	}
	return false;
}

/* The option's or chunk's bytes, or with NFT_EXTHDR_F_PRESENT whether
 * there is one (1 or 0, never a break). */
__attribute__((noinline))
static void do_exthdr(const struct nfe_op *op, struct nfe_regs *r,
		      const struct nfe_pkt *pk)
{
	uint32_t *dst = &r->data[op->dreg], at = 0;
	bool present = op->arg2 & NFT_EXTHDR_F_PRESENT, found;

	if (op->sub == NFT_EXTHDR_OP_TCPOPT)
		found = tcp_option_at(op, pk, &at);
	else
		found = sctp_chunk_at(op, pk, &at, present);
	if (present) {
		*dst = found;
		return;
	}
	if (!found) {
		BRK(r);
		return;
	}
	store(dst, pk->net + at, op->len);
}

/* ---- numgen, hash ---------------------------------------------------------- */

static uint32_t rol32(uint32_t w, unsigned s)
{
	return w << s | w >> (32 - s);
}

/* The kernel's jhash() (include/linux/jhash.h, Bob Jenkins' lookup3),
 * words read in host order as __get_unaligned_cpu32: the same values as
 * the kernel's on the same machine. */
static uint32_t jhash(const uint8_t *k, uint32_t len, uint32_t seed)
{
	uint32_t a, b, c, w[3];

	a = b = c = 0xdeadbeef + len + seed;
	for (; len > 12; len -= 12, k += 12) {
		memcpy(w, k, 12);
		a += w[0];
		b += w[1];
		c += w[2];
		a -= c; a ^= rol32(c, 4); c += b;
		b -= a; b ^= rol32(a, 6); a += c;
		c -= b; c ^= rol32(b, 8); b += a;
		a -= c; a ^= rol32(c, 16); c += b;
		b -= a; b ^= rol32(a, 19); a += c;
		c -= b; c ^= rol32(b, 4); b += a;
	}
	if (!len)
		return c;
	uint8_t t[12] = { 0 };
	memcpy(t, k, len);	/* the tail's switch, zero bytes added */
	a += (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
	     (uint32_t)t[3] << 24;
	b += (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
	     (uint32_t)t[7] << 24;
	c += (uint32_t)t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 |
	     (uint32_t)t[11] << 24;
	c ^= b; c -= rol32(b, 14);
	a ^= c; a -= rol32(c, 11);
	b ^= a; b -= rol32(a, 25);
	c ^= b; c -= rol32(b, 16);
	a ^= c; a -= rol32(c, 4);
	b ^= a; b -= rol32(a, 14);
	c ^= b; c -= rol32(b, 24);
	return c;
}

uint32_t nfe_jhash(const void *k, uint32_t len, uint32_t seed)
{
	return jhash(k, len, seed);
}

/* reciprocal_scale(): val into [0, n). */
static uint32_t rscale(uint32_t val, uint32_t n)
{
	return (uint32_t)(((uint64_t)val * n) >> 32);
}

/* The flow, the same both ways (addresses and ports ordered), for
 * symhash: the kernel's flow dissector keys, hashed with a seed. */
static uint32_t sym_hash(const struct nfe_pkt *pk, uint32_t seed)
{
	uint32_t k[4] = { 0 };

	if (pk->pf != NFPROTO_IPV4 || pk->len < 20)
		return 0;	/* the kernel's hash of no flow keys */
	memcpy(&k[0], pk->net + 12, 4);
	memcpy(&k[1], pk->net + 16, 4);
	if (k[0] > k[1]) {
		uint32_t x = k[0];

		k[0] = k[1];
		k[1] = x;
	}
	k[2] = pk->tprot;
	if (pk->l4 && !pk->fragoff && (pk->tprot == 6 || pk->tprot == 17 ||
				       pk->tprot == 132 || pk->tprot == 136) &&
	    pk->len >= pk->thoff + 4) {
		const uint8_t *t = pk->net + pk->thoff;
		uint16_t sp = (uint16_t)(t[0] << 8 | t[1]);
		uint16_t dp = (uint16_t)(t[2] << 8 | t[3]);

		k[3] = sp < dp ? (uint32_t)sp << 16 | dp : (uint32_t)dp << 16 | sp;
	}
	return jhash((const uint8_t *)k, sizeof(k), seed);
}

__attribute__((noinline))
static void do_gen(struct fn_nft_prog *p, const struct nfe_op *op,
		   struct nfe_regs *r, const struct nfe_pkt *pk)
{
	uint32_t *w = &p->pool[op->arg], v;

	if (op->type == OP_NUMGEN && op->sub == NFT_NG_INCREMENTAL) {
		v = w[0] + 1 < w[1] ? w[0] + 1 : 0;	/* nft_ng_inc_gen */
		w[0] = v;
	} else if (op->type == OP_NUMGEN) {
		uint32_t x = p->rnd;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p->rnd = x;
		v = rscale(x, w[1]);
	} else if (op->sub == NFT_HASH_JENKINS) {
		v = rscale(jhash((const uint8_t *)&r->data[op->sreg], op->len,
				 w[0]), w[1]);
	} else {
		v = rscale(sym_hash(pk, w[0]), w[1]);
	}
	r->data[op->dreg] = v + w[2];
}

/* One rule: its verdict code, NFT_CONTINUE if it did not decide. */
static HOT int32_t run_rule(struct fn_nft_prog *p, const struct nfe_op *op,
			    uint32_t nops, struct nfe_regs *r,
			    struct nfe_pkt *pk)
{
	r->verdict.code = NFE_CONTINUE;
	for (const struct nfe_op *end = op + nops; op < end; op++) {
		pk->vary |= op->vary;	/* a pair's cmp never varies */
		switch (op->type) {
		case OP_PAYLOAD:
			do_payload(op, r, pk);
			if (op->then_cmp && r->verdict.code == NFE_CONTINUE) {
				op++;	/* the usual pair in one dispatch */
				goto cmp_fast;
			}
			break;
		case OP_CMP_FAST:
cmp_fast:
			if (((r->data[op->sreg] & (uint32_t)op->arg2) == op->arg) ==
			    (bool)op->sub)
				BRK(r);
			break;
		case OP_CMP:
			do_cmp(p, op, r);
			break;
		case OP_BITWISE:
			do_bitwise(p, op, r);
			break;
		case OP_SHIFT:
			do_shift(op, r);
			break;
		case OP_BYTEORDER:
			do_byteorder(op, r);
			break;
		case OP_RANGE:
			do_range(p, op, r);
			break;
		case OP_META:
			do_meta(op, r, pk, p);
			if (op->then_cmp && r->verdict.code == NFE_CONTINUE) {
				op++;
				goto cmp_fast;
			}
			break;
		case OP_META_SET:
			if (op->sub == NFT_META_MARK)
				pk->p->mark = r->data[op->sreg];
			else
				pk->p->priority = r->data[op->sreg];
			break;
		case OP_IMM_DATA:
			store(&r->data[op->dreg], pool(p, op->arg), op->len);
			break;
		case OP_IMM_VERDICT:
			r->verdict.code = op->arg2;
			r->verdict.chain = op->arg;
			break;
		case OP_LOOKUP:
			do_lookup(p, op, r);
			break;
		case OP_COUNTER:
			p->states[op->arg].a++;
			p->states[op->arg].b += pk->len;
			break;
		case OP_LIMIT:
			do_limit(p, op, r, pk);
			break;
		case OP_QUOTA:
			do_quota(p, op, r, pk);
			break;
		case OP_OBJREF_MAP:
			do_objref_map(p, op, r, pk);
			break;
		case OP_LOG:
			do_log(p, op, pk);
			break;
		case OP_REJECT:
			do_reject(op, r, pk);
			break;
		case OP_CT_STATE:
			r->data[op->dreg] = pk->p->ct_state ? pk->p->ct_state :
							      NFE_CT_INVALID;
			break;
		case OP_CT:
			do_ct(op, r, pk);
			break;
		case OP_EXTHDR:
			do_exthdr(op, r, pk);
			break;
		case OP_CT_SET_MARK:
			if (op->sub == NFT_CT_MARK)
				nfe_ct_set_mark(pk->ct, pk->p, r->data[op->sreg]);
			else if (op->sub == NFT_CT_LABELS)
				nfe_ct_set_labels(pk->ct, pk->p, &r->data[op->sreg]);
			else if (op->sub == NFT_CT_ZONE && !pk->p->ct_entry)
				pk->p->ct_state = NFE_CT_NEW;	/* template */
			break;
		case OP_NOTRACK:	/* "already tracked: ignore" */
			if (!pk->p->ct_entry)
				pk->p->ct_state = NFE_CT_UNTRACKED;
			break;
		case OP_QUEUE:	/* nobody listens: nf_queue's -ESRCH */
			r->verdict.code = op->arg ? NFE_NF_ACCEPT : NFE_NF_DROP;
			break;
		case OP_NUMGEN:
		case OP_HASH:
			do_gen(p, op, r, pk);
			break;
		case OP_LOG_GROUP:
			break;
		case OP_NAT:	/* the kernel's nft_nat_inet_eval family test */
			if (op->arg == NFPROTO_INET || op->arg == pk->pf)
				r->verdict.code = nfe_nat_eval(op, r, pk);
			break;
		}
		if (r->verdict.code != NFE_CONTINUE)
			break;
	}
	return r->verdict.code == NFE_BREAK ? NFE_CONTINUE : r->verdict.code;
}

/* The key of `run` for this packet into k (kwords words): false when
 * its load fails, which fails every rule of the run. */
static inline bool run_load_key(struct fn_nft_prog *p,
				const struct nfe_run *run,
				const struct nfe_pkt *pk, struct nfe_regs *k)
{
	k->verdict.code = NFE_CONTINUE;
	if (run->load.type == OP_PAYLOAD)
		do_payload(&run->load, k, pk);
	else
		do_meta(&run->load, k, pk, p);
	if (k->verdict.code == NFE_BREAK)
		return false;
	k->data[4 + run->kwords - 1] &= run->lastmask;
	return true;
}

/* The candidates of this packet's key, or none (*n = 0). */
static inline const uint32_t *run_find(const struct nfe_run *run,
				       const uint32_t *key, uint32_t *n)
{
	uint32_t kw = run->kwords, h = nfe_key_hash(key, kw) & run->mask;

	for (uint32_t s; (s = run->slots[h]); h = (h + 1) & run->mask) {
		const uint32_t *k = &run->keys[(s - 1) * kw];

		if (k[0] == key[0] && (kw == 1 || !memcmp(k, key, kw * 4))) {
			*n = run->first[s] - run->first[s - 1];
			return &run->cand[run->first[s - 1]];
		}
	}
	*n = 0;
	return NULL;
}

/* The rules of an indexed run from chain position *rule on: only those
 * whose key is the packet's, in order.  On a verdict *rule is the rule
 * that gave it, else the run's last. */
__attribute__((noinline))
static int32_t run_indexed(struct fn_nft_prog *p, const struct nfe_chain *ch,
			   uint32_t *rule, struct nfe_regs *r,
			   struct nfe_pkt *pk)
{
	const struct nfe_run *run = &p->runs[p->rules[ch->first_rule +
						     *rule].run - 1];
	struct nfe_regs k;
	const uint32_t *cand = NULL;
	uint32_t n = 0;

	pk->vary |= run->load.vary;
	if (run_load_key(p, run, pk, &k))
		cand = run_find(run, &k.data[4], &n);
	for (uint32_t i = 0; i < n; i++) {
		if (cand[i] < *rule)	/* back from a jump, inside the run */
			continue;
		const struct nfe_rule *ru = &p->rules[ch->first_rule + cand[i]];
		int32_t v = run_rule(p, &p->ops[ru->first_op], ru->nops, r, pk);

		if (v != NFE_CONTINUE) {
			*rule = cand[i];
			return v;
		}
	}
	*rule = run->end - 1;
	return NFE_CONTINUE;
}

struct jump {
	uint32_t chain, rule;
};

/* nft_do_chain(): the verdict of base chain `base`.  Jumps push on a
 * 16-entry stack (compile proved the depth), goto does not, return
 * pops, the end of a base chain applies its policy. */
int nfe_run_chain(struct fn_nft_prog *p, uint32_t base, struct nfe_pkt *pk)
{
	struct jump stack[NFE_JUMP_STACK];
	uint32_t sp = 0, chain = base, rule = 0;
	struct nfe_regs r;

	memset(&r, 0, sizeof(r));
	for (;;) {
		const struct nfe_chain *ch = &p->chains[chain];
		int32_t v = NFE_CONTINUE;

		for (; rule < ch->nrules; rule++) {
			const struct nfe_rule *ru =
				&p->rules[ch->first_rule + rule];

			if (ru->run && !p->no_index)
				v = run_indexed(p, ch, &rule, &r, pk);
			else
				v = run_rule(p, &p->ops[ru->first_op],
					     ru->nops, &r, pk);
			if (v != NFE_CONTINUE)
				break;
		}
		switch (v) {
		case NFE_NF_DROP:	/* for a capture's comment */
			pk->res->rule = p->rules[ch->first_rule + rule].handle;
			return v;
		case NFE_NF_ACCEPT:
			return v;
		case NFE_JUMP:
			if (sp == NFE_JUMP_STACK)
				return NFE_NF_DROP;	/* compile forbids */
			stack[sp++] = (struct jump){ chain, rule + 1 };
			/* fall through */
		case NFE_GOTO:
			chain = r.verdict.chain;
			rule = 0;
			continue;
		default:	/* continue (end of chain) or return */
			break;
		}
		if (!sp)
			return p->chains[base].policy;
		sp--;
		chain = stack[sp].chain;
		rule = stack[sp].rule;
	}
}
