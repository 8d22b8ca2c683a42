/*
 * src/nft/eval/nat.c - NAT where a stack gives it a meaning: `dnat` to
 * one of the stack's own addresses and `redirect`, on prerouting, for
 * TCP and UDP over IPv4 (docs/nft-eval.md, "NAT").
 *
 *   bind     OP_NAT (nfe_nat_eval) runs in a nat chain, so for a flow's
 *            first packet only: it picks the new destination (redirect:
 *            the address of the netif the packet came in on, as
 *            nf_nat_redirect_ipv4; dnat: the address register, which
 *            must be one of fn_nft_pkt.local; the port register or the
 *            packet's port; of a range, the first) and binds the flow's
 *            unconfirmed conntrack entry to it (ct.c, nfe_ct_dnat);
 *   rewrite  at the NAT point of each IP hook (eval.c: where the
 *            kernel's NAT hook runs, -100 on prerouting and output, 100
 *            on input and postrouting), every packet of a bound flow gets
 *            what nf_nat_packet gives it (nfe_ct_nat_target): the
 *            original direction its new destination, the reply its
 *            original destination back as source.  nfe_nat_rewrite
 *            writes fn_nft_pkt.nh_w in place: the address, the port, the
 *            IPv4 header sum and the TCP/UDP sum (pseudo-header and
 *            port), incrementally (RFC 1624, eqn. 3); a UDP sum of 0
 *            (none) stays 0, a computed 0 is sent as 0xffff (RFC 768).
 *
 * Everything else a nat statement asks for (snat, masquerade but its
 * identity, dnat elsewhere, output's redirect and dnat, ICMP and other
 * protocols, netmap and port offsets) would have the stack forward or
 * answer as another host: dropped, as before NAT was built.
 * Called from expr.c (OP_NAT) and eval.c (the NAT point); never
 * allocates.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>

#include "nfe.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), over the 16-bit words that
 * change from old to now (len even, at most 16 bytes: no overflow). */
static void csum_fix(uint8_t *sum, const uint8_t *old, const uint8_t *now,
		     uint32_t len, bool udp)
{
	uint32_t s = (uint16_t)~rd16(sum);
	uint16_t v;

	for (uint32_t i = 0; i < len; i += 2)
		s += (uint16_t)~rd16(old + i) + (uint32_t)rd16(now + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	v = (uint16_t)~s;
	wr16(sum, udp && v == 0 ? 0xffff : v);
}

/* Rewrite the destination (dst) or source of the TCP/UDP packet pk to
 * addr:port (host order), in fn_nft_pkt.nh_w.  False when it cannot be:
 * nothing writable, a later fragment, a transport header cut short. */
static bool nat_rewrite(struct nfe_pkt *pk, bool dst, uint32_t addr,
			uint16_t port)
{
	uint32_t need = pk->tprot == 6 ? 20 : pk->tprot == 17 ? 8 : 0;
	uint32_t aoff = dst ? 16 : 12, poff = dst ? 2 : 0;
	uint8_t old[6], now[6], *ip = pk->p->nh_w, *l4, *sum;

	if (!ip || pk->net != pk->p->nh || pk->fragoff || !need ||
	    pk->thoff + need > pk->len)
		return false;
	l4 = ip + pk->thoff;
	memcpy(old, ip + aoff, 4);
	memcpy(old + 4, l4 + poff, 2);
	now[0] = (uint8_t)(addr >> 24);
	now[1] = (uint8_t)(addr >> 16);
	now[2] = (uint8_t)(addr >> 8);
	now[3] = (uint8_t)addr;
	wr16(now + 4, port);
	if (!memcmp(old, now, 6))
		return true;	/* the identity binding */
	sum = l4 + (pk->tprot == 6 ? 16 : 6);
	if (pk->tprot == 6 || rd16(sum))
		csum_fix(sum, old, now, 6, pk->tprot == 17);
	csum_fix(ip + 10, old, now, 4, false);
	memcpy(ip + aoff, now, 4);
	memcpy(l4 + poff, now + 4, 2);
	pk->p->natted = 1;
	return true;
}

bool nfe_nat_packet(struct fn_nft_ct *ct, struct nfe_pkt *pk)
{
	uint32_t addr;
	uint16_t port;
	bool dst;
	int k = nfe_ct_nat_target(ct, pk->p, pk->hook, &dst, &addr, &port);

	if (k <= 0)
		return k == 0;
	return nat_rewrite(pk, dst, addr, port);
}

static bool is_local(const struct fn_nft_pkt *p, uint32_t addr)
{
	for (uint32_t i = 0; p->local && i < p->nlocal; i++)
		if (rd32((const uint8_t *)&p->local[i]) == addr)
			return true;
	return false;
}

/* A masquerade (len 1: no port mapping or randomizing) of a packet whose
 * source already is the outgoing netif's address: the kernel's binding
 * is the identity (nf_nat_masquerade_ipv4 picks that address, and no
 * other flow holds the tuple: the stack binds no source), and its
 * verdict accept. */
static bool masq_identity(const struct nfe_op *op, const struct nfe_pkt *pk)
{
	uint32_t a = pk->p->oif_addr;

	return op->len == 1 && pk->hook == FN_NFT_POSTROUTING &&
	       pk->pf == NFPROTO_IPV4 && a && pk->len >= 20 &&
	       !memcmp(pk->net + 12, &a, 4);
}

/* dnat and redirect on prerouting: the new destination, bound to the
 * flow (nft_nat_eval, nft_redir_eval).  A range gives its first address
 * and port; `random`, `fully-random` and `persistent` choose among
 * nothing then.  Netmap and a port offset map from the packet's own
 * values: not built, dropped. */
static int32_t dnat_eval(const struct nfe_op *op, const struct nfe_regs *r,
			 struct nfe_pkt *pk)
{
	const uint32_t unbuilt = NF_NAT_RANGE_NETMAP | NF_NAT_RANGE_PROTO_OFFSET;
	uint32_t addr;
	uint16_t port;

	if (pk->hook != FN_NFT_PREROUTING || pk->pf != NFPROTO_IPV4 ||
	    ((uint32_t)op->arg2 & unbuilt) || pk->fragoff ||
	    (pk->tprot != 6 && pk->tprot != 17) || pk->thoff + 4 > pk->len)
		return NFE_NF_DROP;
	port = rd16(pk->net + pk->thoff + 2);
	if (op->sub == NFE_NAT_REDIR)
		addr = rd32((const uint8_t *)&pk->p->iif_addr);
	else if (op->sreg)
		addr = rd32((const uint8_t *)&r->data[op->sreg]);
	else
		addr = rd32(pk->net + 16);
	if (op->dreg)
		port = rd16((const uint8_t *)&r->data[op->dreg]);
	if (!addr || !is_local(pk->p, addr))
		return NFE_NF_DROP;	/* forwarded by the kernel */
	return nfe_ct_dnat(pk->ct, pk->p, addr, port, pk->p->now_ns) ?
	       NFE_NF_ACCEPT : NFE_NF_DROP;
}

int32_t nfe_nat_eval(const struct nfe_op *op, const struct nfe_regs *r,
		     struct nfe_pkt *pk)
{
	switch (op->sub) {
	case NFE_NAT_DNAT:
	case NFE_NAT_REDIR:
		return dnat_eval(op, r, pk);
	case NFE_NAT_MASQ:
		return masq_identity(op, pk) ? NFE_NF_ACCEPT : NFE_NF_DROP;
	default:		/* snat: the stack forwards nothing */
		return NFE_NF_DROP;
	}
}
