/*
 * src/nft/eval/eval.c - fn_nft_eval(): one packet through one hook's
 * base chains, as the kernel's nf_hook_slow() and nft_do_chain().
 *
 *   - The packet info is what the kernel's nft_pktinfo would hold at
 *     that hook: at the IP hooks only IPv4 packets are judged (others
 *     never reach the kernel's IP hooks: accepted here), trimmed to the
 *     IPv4 total length as ip_rcv() trims, with a link-layer header only
 *     on the receive side; a packet ip_rcv() would have discarded (bad
 *     version, header length, total length or header checksum) is
 *     dropped before any chain.  At ingress (netdev) the whole frame
 *     after the Ethernet header is the packet, IPv4 validated as
 *     nft_set_pktinfo_ipv4_validate() does.
 *   - Base chains run by priority; a DROP ends the hook, an ACCEPT goes
 *     on to the next chain (a chain itself: expr.c, nfe_run_chain).
 *   - Connection tracking runs at prerouting and output between the
 *     chains of priority <= -200 and the others (NF_IP_PRI_CONNTRACK)
 *     when the program uses `ct`; the entry of a new connection is
 *     confirmed when input or postrouting accepts the packet.
 * Called by the stack for each packet at each hook; never allocates.
 */
#include <string.h>

#include <linux/netfilter.h>

#include "nfe.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool ipv4_csum_ok(const uint8_t *h, uint32_t hl)
{
	return nfe_csum(h, hl) == 0xffff;
}

/* The l4 fields of nft_set_pktinfo_ipv4(_validate); false: not IPv4 as
 * the kernel would accept it. */
static bool ipv4_info(struct nfe_pkt *pk, const uint8_t *h, uint32_t avail)
{
	if (avail < 20 || (h[0] >> 4) != 4 || (h[0] & 15) < 5)
		return false;
	uint32_t hl = (h[0] & 15) * 4u, tot = rd16(h + 2);

	if (tot > avail || tot < hl)
		return false;
	pk->l4 = true;
	pk->tprot = h[9];
	pk->thoff = hl;
	pk->fragoff = rd16(h + 6) & 0x1fff;
	return true;
}

static bool ipv6_ext(uint8_t nh)	/* ipv6_ext_hdr() */
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 59 ||
	       nh == 60;
}

/* ipv6_find_hdr(target -1, flags IP6_FH_F_AUTH) as
 * __nft_set_pktinfo_ipv6_validate() calls it: the transport protocol
 * after the extension headers; an AH header ends the walk; a non-first
 * fragment returns its next header with thoff left at 0 (as the kernel
 * does).  false: not IPv6 as the kernel would accept it. */
static bool ipv6_info(struct nfe_pkt *pk, const uint8_t *h, uint32_t avail)
{
	if (avail < 40 || (h[0] >> 4) != 6 || rd16(h + 4) + 40u > avail)
		return false;
	uint8_t nh = h[6];
	uint32_t off = 40;
	uint16_t fo = 0;

	while (ipv6_ext(nh) && nh != 59) {
		const uint8_t *hp = h + off;
		uint32_t hl;

		if (off + 2 > avail)
			return false;
		if (nh == 51)
			break;
		if (off + (nh == 43 || nh == 44 ? 4u : 2u) > avail)
			return false;
		if (nh == 44) {
			fo = rd16(hp + 2) & ~7u;
			if (fo) {
				if (ipv6_ext(hp[0]) && hp[0] != 59)
					return false;
				nh = hp[0];
				off = 0;
				break;
			}
			hl = 8;
		} else {
			hl = (hp[1] + 1u) * 8;
		}
		nh = hp[0];
		off += hl;
	}
	if (off > 65535)
		return false;
	pk->l4 = true;
	pk->tprot = nh;
	pk->thoff = off;
	pk->fragoff = fo;
	return true;
}

static bool setup_ingress(struct nfe_pkt *pk, const struct fn_nft_pkt *p)
{
	pk->pf = NFPROTO_NETDEV;
	if (p->l2 && p->l2_len >= 14) {
		pk->ll = p->l2;
		pk->ll_len = p->l2_len;
		pk->net = p->l2 + 14;
		if (p->nh && p->nh >= pk->net && p->nh <= p->l2 + p->l2_len)
			pk->net = p->nh;
		pk->len = (uint32_t)(p->l2 + p->l2_len - pk->net);
	} else if (p->nh) {
		pk->net = p->nh;
		pk->len = p->nh_len;
	} else {
		return false;
	}
	if (p->ethertype == 0x0800)
		ipv4_info(pk, pk->net, pk->len);
	else if (p->ethertype == 0x86dd)
		ipv6_info(pk, pk->net, pk->len);
	return true;
}

/* -1 not IPv4 (accept), 0 invalid (drop), 1 ready.  At prerouting and
 * output a valid header sets p->nh_ok for the packet's next hook. */
static int setup_ip(struct nfe_pkt *pk, struct fn_nft_pkt *p, bool checked)
{
	if (!p->nh || p->ethertype != 0x0800)
		return -1;
	if (!ipv4_info(pk, p->nh, p->nh_len))
		return 0;
	/* Received packets only: output may leave the sum to the NIC. */
	if (pk->hook <= FN_NFT_INPUT && !checked) {
		if (!ipv4_csum_ok(p->nh, pk->thoff))
			return 0;
		if (pk->hook == FN_NFT_PREROUTING)
			p->sums |= FN_NFT_SUM_IP;
	}
	p->nh_ok = pk->hook == FN_NFT_PREROUTING || pk->hook == FN_NFT_OUTPUT;
	pk->pf = NFPROTO_IPV4;
	pk->net = p->nh;
	pk->len = rd16(p->nh + 2);
	if (p->l2 && (pk->hook == FN_NFT_PREROUTING ||
		      pk->hook == FN_NFT_INPUT) &&
	    p->nh >= p->l2 && p->nh <= p->l2 + p->l2_len) {
		pk->ll = p->l2;
		pk->ll_len = (uint32_t)(p->nh - p->l2) + pk->len;
	}
	return 1;
}

static bool dev_match(const struct nfe_chain *ch, const struct fn_nft_pkt *p)
{
	return ch->dev[0] && p->iifname && !strncmp(ch->dev, p->iifname,
						      NFE_IFNAMSIZ);
}

/* nft_do_chain_inet_ingress(): IPv4 and IPv6 (others pass), checked as
 * nft_set_pktinfo_ipv{4,6}_ingress() (versions and lengths; a bad one is
 * dropped; the IPv4 header sum is not looked at, as the kernel's
 * differential test shows), judged as NFPROTO_IPV4/IPV6.  false: skip
 * the chain. */
static bool inet_ingress(struct nfe_pkt *pk, bool *drop)
{
	uint16_t et = pk->p->ethertype;

	*drop = false;
	if (et != 0x0800 && et != 0x86dd)
		return false;
	if (!pk->l4) {
		*drop = true;
		return false;
	}
	pk->pf = et == 0x0800 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	return true;
}

/* The nat chains of hook h run for the packet: its flow's first packet
 * (the unconfirmed entry), until one of them bound its destination
 * (nf_nat_inet_fn: nf_nat_initialized, per manip type). */
static bool nat_chains_run(struct fn_nft_ct *ct, const struct nfe_pkt *pk)
{
	enum fn_nft_hook h = pk->hook;

	if (!nfe_ct_unconfirmed(ct, pk->p, h >= FN_NFT_OUTPUT))
		return false;
	return !((h == FN_NFT_PREROUTING || h == FN_NFT_OUTPUT) &&
		 nfe_ct_bound(ct, pk->p));
}

static void run_hook(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		     struct nfe_pkt *pk)
{
	bool track = p->uses_ct && ct && !pk->tracked &&
		     (pk->hook == FN_NFT_PREROUTING ||
		      pk->hook == FN_NFT_OUTPUT);
	enum fn_nft_hook h = pk->hook;
	/* the NAT point (docs/nft-eval.md): after the chains at or before
	 * the kernel's NAT hook, where bindings are applied */
	int32_t nat_prio = h == FN_NFT_PREROUTING || h == FN_NFT_OUTPUT ?
			   -100 : 100;
	bool nat = p->nat_chains && ct && h != FN_NFT_INGRESS;

	if (track && p->uses_acct)
		nfe_ct_acct_on(ct);	/* sticky, as the kernel's per netns */
	for (uint32_t i = 0; i < p->nhook[h]; i++) {
		const struct nfe_chain *ch = &p->chains[p->hooks[h][i]];

		if (h == FN_NFT_INGRESS && !dev_match(ch, pk->p))
			continue;
		if (h == FN_NFT_INGRESS) {
			bool drop;

			pk->pf = NFPROTO_NETDEV;
			if (ch->family == NFPROTO_INET &&
			    !inet_ingress(pk, &drop)) {
				if (!drop)
					continue;
				pk->res->verdict = FN_NFT_DROP;
				return;
			}
		}
		if (track && ch->prio > NFE_CT_PRIO) {
			if (pk->p->ct_state != NFE_CT_UNTRACKED)	/* notrack */
				pk->p->ct_state = nfe_ct_track(ct, pk);
			track = false;
		}
		if (nat && ch->hook_prio > nat_prio) {
			nat = false;
			if (!nfe_nat_packet(ct, pk))
				goto drop;
		}
		if (ch->nat && !nat_chains_run(ct, pk))
			continue;
		if (nfe_run_chain(p, p->hooks[h][i], pk) == NFE_NF_DROP)
			goto drop;
	}
	if (track && pk->p->ct_state != NFE_CT_UNTRACKED)
		pk->p->ct_state = nfe_ct_track(ct, pk);
	if (!nat || nfe_nat_packet(ct, pk))
		return;
drop:
	pk->res->verdict = FN_NFT_DROP;
}

bool fn_nft_prog_idle(const struct fn_nft_prog *p)
{
	return !p || p->idle;
}

bool fn_nft_prog_uses_ct(const struct fn_nft_prog *p)
{
	return p && p->uses_ct;
}

bool fn_nft_prog_uses_nat(const struct fn_nft_prog *p)
{
	return p && p->nat_chains;
}

bool fn_nft_prog_uses_sk(const struct fn_nft_prog *p)
{
	return p && p->uses_sk;
}

bool fn_nft_prog_fine_clock(const struct fn_nft_prog *p)
{
	return p && p->uses_limit;
}

unsigned fn_nft_prog_flags(const struct fn_nft_prog *p)
{
	if (!p || p->idle)
		return FN_NFT_PROG_IDLE;
	return (p->uses_ct ? FN_NFT_PROG_CT : 0) |
	       (p->nat_chains ? FN_NFT_PROG_NAT : 0) |
	       (p->uses_sk ? FN_NFT_PROG_SK : 0) |
	       (p->uses_limit ? FN_NFT_PROG_FINE_CLOCK : 0);
}

/* After an IP hook: input or postrouting confirms the unconfirmed entry
 * of a new flow if it accepts the packet, a drop anywhere discards it
 * (__nf_conntrack_confirm, nf_conntrack_destroy); a confirm that finds
 * the flow's tuples taken (NAT) drops the packet. */
static void ct_after(struct fn_nft_ct *ct, enum fn_nft_hook hook,
		     struct fn_nft_result *res)
{
	bool last = hook == FN_NFT_INPUT || hook == FN_NFT_POSTROUTING;

	if (ct && (last || res->verdict == FN_NFT_DROP) &&
	    !nfe_ct_confirm(ct, hook >= FN_NFT_OUTPUT,
			    res->verdict == FN_NFT_ACCEPT && last))
		res->verdict = FN_NFT_DROP;
}

static void res_init(struct fn_nft_result *res, enum fn_nft_hook hook)
{
	res->verdict = FN_NFT_ACCEPT;
	res->reject = FN_NFT_REJECT_NONE;
	res->reject_code = 0;
	res->rule = 0;
	res->hook = hook;
	res->kept = false;
}

/* The IP hook a, then b, of one packet (prerouting and input, output
 * and postrouting): fn_nft_eval at a, then at b if a accepted, without
 * the calls' second set-up.  The packet info of a serves b (the pairs
 * see the same link-layer header), unless a nat chain may have
 * rewritten the bytes (the only writer: payload statements are
 * refused at compile): then b is fn_nft_eval itself, with the header
 * a checked (nh_ok).
 * Where the path may keep a flow's verdict (vc_ok: every chain of a
 * runs after conntrack), conntrack runs first, as it would before a's
 * first chain; a packet whose flow has its verdict kept is accepted
 * there, without the chains, and an accepted one whose chains read
 * nothing that varies (nfe_pkt.vary) keeps it. */
static void eval_pair(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		      enum fn_nft_hook a, enum fn_nft_hook b,
		      struct fn_nft_pkt *pkt, struct fn_nft_result *res)
{
	struct nfe_pkt pk = { .p = pkt, .hook = a, .res = res, .ct = ct };
	unsigned path = a == FN_NFT_OUTPUT;
	int ok;

	res_init(res, a);
	pkt->nh_ok = 0;
	if (ct)		/* as fn_nft_eval at a first hook */
		nfe_ct_confirm(ct, a == FN_NFT_OUTPUT, false);
	ok = p ? setup_ip(&pk, pkt, false) : -1;
	if (ok <= 0) {	/* dropped at a, or accepted by both untouched */
		if (ok == 0)
			res->verdict = FN_NFT_DROP;
		else
			res->hook = b;
		return;
	}
	if (p->vc_ok[path] && p->vgen && ct) {
		if (p->uses_acct)
			nfe_ct_acct_on(ct);
		if (pkt->ct_state != NFE_CT_UNTRACKED)
			pkt->ct_state = nfe_ct_track(ct, &pk);
		pk.tracked = true;
		if (nfe_ct_vc_hit(ct, p, pkt, path)) {
			/* a accepted: its ct_after has nothing to do */
			res_init(res, b);
			pkt->nh_ok = 0;
			ct_after(ct, b, res);
			res->kept = res->verdict == FN_NFT_ACCEPT;
			return;
		}
	}
	run_hook(p, ct, &pk);
	ct_after(ct, a, res);
	if (res->verdict != FN_NFT_ACCEPT)
		return;
	if (p->nat_chains) {	/* the bytes may have changed */
		fn_nft_eval(p, ct, b, pkt, res);
		return;
	}
	res_init(res, b);
	pkt->nh_ok = 0;
	if (p->nhook[b]) {
		pk.hook = b;	/* the same bytes: the same packet info */
		run_hook(p, ct, &pk);
	}
	ct_after(ct, b, res);
	if (pk.tracked && !pk.vary && res->verdict == FN_NFT_ACCEPT)
		nfe_ct_vc_set(ct, p, pkt, path);
}

void fn_nft_eval_in(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		    struct fn_nft_pkt *pkt, struct fn_nft_result *res)
{
	if (p && p->nhook[FN_NFT_INGRESS]) {
		fn_nft_eval(p, ct, FN_NFT_INGRESS, pkt, res);
		if (res->verdict != FN_NFT_ACCEPT)
			return;
	}
	if (!pkt->nh || pkt->ethertype != 0x0800) {
		res_init(res, FN_NFT_INGRESS);	/* the IP hooks never see it */
		return;
	}
	eval_pair(p, ct, FN_NFT_PREROUTING, FN_NFT_INPUT, pkt, res);
}

void fn_nft_eval_out(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		     struct fn_nft_pkt *pkt, struct fn_nft_result *res)
{
	eval_pair(p, ct, FN_NFT_OUTPUT, FN_NFT_POSTROUTING, pkt, res);
}

void fn_nft_eval(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		 enum fn_nft_hook hook, struct fn_nft_pkt *pkt,
		 struct fn_nft_result *res)
{
	bool first = hook == FN_NFT_PREROUTING || hook == FN_NFT_OUTPUT;
	bool checked = !first && pkt->nh_ok;

	res_init(res, hook);
	if ((unsigned)hook >= FN_NFT_NHOOKS)
		return;
	if (hook != FN_NFT_INGRESS)
		pkt->nh_ok = 0;
	/* A new packet on this path: the previous one's unconfirmed entry
	 * never reached input/postrouting (routed away, not local). */
	if (ct && first)
		nfe_ct_confirm(ct, hook == FN_NFT_OUTPUT, false);
	if (!p || (hook == FN_NFT_INGRESS && !p->nhook[hook]))
		return;
	/* No chain on input or postrouting, and the header was checked at
	 * the hook before: nothing to judge, only a new flow to confirm
	 * (and, with nat chains, bindings to apply).
	 * The common case of a ruleset with one input chain. */
	if (checked && !p->nhook[hook] && !p->nat_chains) {
		ct_after(ct, hook, res);
		return;
	}

	struct nfe_pkt pk = { .p = pkt, .hook = hook, .res = res, .ct = ct };

	if (hook == FN_NFT_INGRESS) {
		if (setup_ingress(&pk, pkt))
			run_hook(p, ct, &pk);
		return;
	}
	int ok = setup_ip(&pk, pkt, checked);
	if (ok < 0)
		return;
	if (ok == 0) {
		res->verdict = FN_NFT_DROP;
		return;
	}
	run_hook(p, ct, &pk);
	ct_after(ct, hook, res);
}
