/*
 * filter.c - the stack's nf_tables hooks on its packet path (src/nft,
 * nft.h: fn_nft_eval with the program the netlink server committed).
 *
 *   receive  linkif.c hands every frame it copied out of the link (private
 *            memory: what is judged is what lwIP parses) to stk_filter_rx:
 *            ingress (netdev family, every frame), then for IPv4
 *            prerouting, then input when the packet is for this stack
 *            (our address, broadcast or multicast; lwIP forwards nothing);
 *   defrag   IPv4 fragments are reassembled where the kernel does it, with
 *            lwIP's own ip4_reass (bounded by IP_REASS_MAX_PBUFS), and lwIP
 *            gets the whole datagram (its ip4_input never reassembles
 *            twice: the offset is 0): before input always
 *            (ip_local_deliver), and before prerouting when the program
 *            uses conntrack (nf_defrag_ipv4 at priority -400, which the
 *            kernel loads with `ct`).  Ingress sees every fragment.
 *   send     netif->output hands every IPv4 packet lwIP sends to
 *            stk_filter_output, before ARP: output, then postrouting,
 *            then etharp_output.  Fragments are held until lwIP has cut
 *            the whole datagram, which is judged whole (the kernel's
 *            hooks run before ip_fragment), then all go or none.  No
 *            link-layer header yet: `ether` matches nothing there, as in
 *            the kernel.
 *   reject   on prerouting/input the stack answers itself: ICMP
 *            destination unreachable with the rule's code (lwIP's
 *            icmp_dest_unreach), or a TCP reset (tcp_rst: RST+ACK, seq =
 *            the segment's ack when it had one, ack = its seq + length),
 *            then drops the packet.  On output a reject is a drop.  As
 *            the kernel's nf_reject, nothing answers a later fragment or
 *            a transport checksum that is wrong (reject_csum_ok), and a
 *            reset answers neither a reset nor a broadcast/multicast.
 *
 * capture  a packet dropped on either path is copied to the capture
 *          region with the hook and the handle of the rule that dropped
 *          it (cap.c), when `fragnet capture` asks for filter drops.
 *
 * Each hook sees the netif the frame came in on or goes out of (stack.h,
 * struct stk_if): the uplink is STK_IFNAME ("fn0", ifindex 1), a netif on
 * an internal network has the network's name and ifindex 2 + the
 * network's index: what `iifname`, `oifname`, `meta iif`, `meta oif` and
 * an ingress chain's `device` match.  "For this stack" is what lwIP's
 * ip4_input takes, whichever netif it came in on: an address of any of its
 * netifs (the weak host model, as Linux's), a broadcast, a multicast.
 * Without a committed program (no ruleset) nothing is evaluated.
 * Called from the stack loop only; never allocates (lwIP does, for a
 * reject).
 */
#include <string.h>

#include "lwip/icmp.h"
#include "lwip/ip4_frag.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "netif/etharp.h"
#if LWIP_TCP
#include "lwip/priv/tcp_priv.h"	/* tcp_rst(), as lwIP answers stray segments */
#include "lwip/prot/tcp.h"
#endif

#include "fragnet/clock.h"
#include "nl.h"
#include "stack.h"

#define ETH_P_IP	0x0800
#define ETH_P_8021Q	0x8100
#define PKT_HOST	0	/* linux/if_packet.h PACKET_* */
#define PKT_BROADCAST	1
#define PKT_MULTICAST	2
#define FRAME_MAX	(STK_MTU_MAX + STK_ETH_HLEN + STK_VLAN_HLEN)
#define DGRAM_MAX	(0xffff + STK_ETH_HLEN)	/* a reassembled datagram */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The coarse clock of this loop turn, read when its first packet is
 * judged; 0 until then (stk_filter_turn starts a turn): a turn without
 * a packet, as most of a polling stack's are, reads no clock. */
static uint64_t turn_ns;

void stk_filter_turn(void)
{
	turn_ns = 0;
}

/* fine: the program has a `limit` (nanosecond token buckets, as the
 * kernel's ktime_get_ns()), read per packet.  Else the turn's coarse
 * time is as good and costs no call per packet (~7 ns each on the
 * development VM): conntrack's timeouts count jiffies in the kernel too,
 * the log refills per 100 ms, and a turn takes far less than the coarse
 * clock's step of a few ms. */
static uint64_t now_ns(bool fine)
{
	if (fine)
		return (uint64_t)fn_clock_ns();
	if (!turn_ns)
		turn_ns = (uint64_t)fn_clock_coarse_ns();
	return turn_ns;
}

/* The frame in p as one run of bytes: p itself, or a copy into buf (cap
 * bytes). */
static uint8_t *linear(struct pbuf *p, uint8_t *buf, uint32_t cap,
		       uint32_t *len)
{
	*len = p->tot_len;
	if (p->len == p->tot_len)
		return p->payload;
	if (p->tot_len > cap)
		return NULL;
	pbuf_copy_partial(p, buf, p->tot_len, 0);
	return buf;
}

/* Zero the packet info of one packet, in 32-byte stores.  Not memset():
 * for its 152 bytes, gcc's generic tuning picks `rep stos`, whose start
 * costs more than the stores themselves (67% of judge_out()'s samples in
 * perf's annotation); the stores of the loop are what it emits for
 * memsets of 32 bytes. */
static inline void pkt_zero(struct fn_nft_pkt *k)
{
	char *c = (char *)k;
	size_t n = sizeof(*k);

	for (; n >= 32; c += 32, n -= 32)
		memset(c, 0, 32);
	if (n)
		memset(c, 0, n);
}

/* Offset of the network header; the ethertype in *et. */
static uint32_t pkt_fill(struct fn_nft_pkt *k, const uint8_t *f, uint32_t len,
			 bool fine)
{
	uint32_t off = STK_ETH_HLEN;
	uint16_t et = len >= STK_ETH_HLEN ? rd16(f + 12) : 0;

	if (et == ETH_P_8021Q && len >= STK_ETH_HLEN + STK_VLAN_HLEN) {
		et = rd16(f + 16);
		off += STK_VLAN_HLEN;
	}
	pkt_zero(k);
	k->l2 = f;
	k->l2_len = len;
	k->ethertype = et;
	if (et == ETH_P_IP && len >= off + 20) {
		k->nh = f + off;
		k->nh_len = len - off;
	}
	k->now_ns = now_ns(fine);
	return off;
}

/* dst: network order, as the header holds it; so are the netif's
 * address and mask (OR and NOT do not care for the byte order). */
static bool for_if(const struct stk_if *ifc, uint32_t dst)
{
	const struct netif *n = &ifc->netif;
	uint32_t me = ip4_addr_get_u32(netif_ip4_addr(n));
	uint32_t mask = ip4_addr_get_u32(netif_ip4_netmask(n));

	return dst == me || (mask != 0xffffffffu && dst == (me | ~mask));
}

static bool for_us(const struct stack *s, const uint8_t *nh)
{
	uint32_t dst;

	if (nh[16] == 0xff && nh[17] == 0xff && nh[18] == 0xff &&
	    nh[19] == 0xff)
		return true;		/* broadcast */
	if ((nh[16] & 0xf0) == 0xe0)
		return true;		/* multicast */
	memcpy(&dst, nh + 16, 4);
	for (unsigned i = 0; i < s->nifs; i++)
		if (for_if(&s->ifs[i], dst))
			return true;
	return false;
}

/* ---- rejects ------------------------------------------------------------ */

/* The transport checksum of the IPv4 packet at nh (nh_len bytes), checked
 * as the kernel's nf_reject does before it answers (nf_reject_verify_csum,
 * nf_ip_checksum): TCP and UDP (unless its sum is 0) with the
 * pseudo-header, ICMP and other protocols as a plain sum; GRE, AH, ESP,
 * SCTP, UDP-Lite and DCCP not checked.  False as well for a header that
 * does not fit. */
static bool reject_csum_ok(const uint8_t *nh, uint32_t nh_len)
{
	uint32_t ihl = (uint32_t)(nh[0] & 0x0f) * 4, tot = rd16(nh + 2), sum;
	uint8_t proto = nh[9];

	if (ihl < 20 || tot < ihl || tot > nh_len || tot > 0xffff)
		return false;
	switch (proto) {
	case 47: case 50: case 51: case 132: case 136: case 33:
		return true;
	case 17:	/* UDP */
		if (tot - ihl >= 8 && rd16(nh + ihl + 6) == 0)
			return true;
		break;
	}
	/* inet_chksum: the complement of the folded sum, in network order */
	sum = lwip_ntohs((u16_t)~inet_chksum(nh + ihl, (u16_t)(tot - ihl)));
	if (proto == 6 || proto == 17)
		sum += rd16(nh + 12) + rd16(nh + 14) + rd16(nh + 16) +
		       rd16(nh + 18) + proto + (tot - ihl);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

#if LWIP_TCP
static void reject_tcp(const uint8_t *nh, uint32_t nh_len)
{
	uint32_t ihl = (uint32_t)(nh[0] & 0x0f) * 4, tot = rd16(nh + 2);
	const uint8_t *th = nh + ihl;
	ip_addr_t src, dst;
	uint32_t seq, ack, dlen;
	uint8_t fl;

	if (nh[9] != IP_PROTO_TCP || ihl < 20 || tot > nh_len ||
	    tot < ihl + 20 || (rd16(nh + 6) & 0x1fff) != 0)
		return;
	if ((nh[16] & 0xf0) == 0xe0 || rd32(nh + 16) == 0xffffffffu)
		return;		/* multicast, broadcast */
	fl = th[13];
	if (fl & TCP_RST)
		return;		/* never answer a reset */
	dlen = tot - ihl - (uint32_t)(th[12] >> 4) * 4;
	seq = (fl & TCP_ACK) ? rd32(th + 8) : 0;
	ack = rd32(th + 4) + dlen + !!(fl & TCP_SYN) + !!(fl & TCP_FIN);
	ip_addr_set_ip4_u32(&src, lwip_htonl(rd32(nh + 12)));
	ip_addr_set_ip4_u32(&dst, lwip_htonl(rd32(nh + 16)));
	tcp_rst(NULL, seq, ack, &dst, &src, rd16(th + 2), rd16(th));
}
#endif

/* p: the received frame (ours); off: where its IPv4 header starts. */
static void reject(struct stack *s, struct pbuf *p, uint32_t off,
		   const struct fn_nft_pkt *k, const struct fn_nft_result *r)
{
	stk_count(s, STK_FILTER_REJECTS, 1);
	if ((rd16(k->nh + 6) & 0x1fff) != 0 ||
	    !reject_csum_ok(k->nh, k->nh_len))
		return;		/* nf_reject answers neither */
	if (r->reject == FN_NFT_REJECT_TCP_RST) {
#if LWIP_TCP
		reject_tcp(k->nh, k->nh_len);
#else
		(void)k;	/* no TCP in this profile: a plain drop */
#endif
		return;
	}
	/* icmp_dest_unreach wants the IP header at payload; it never
	 * answers an ICMP error or a broadcast (RFC 1122 3.2.2) */
	if (pbuf_remove_header(p, off) == 0) {
		icmp_dest_unreach(p, (enum icmp_dur_type)r->reject_code);
		pbuf_add_header(p, off);
	}
}

/* ---- hooks ------------------------------------------------------------------ */

static bool judge(struct nl_server *srv, enum fn_nft_hook h,
		  struct fn_nft_pkt *k, struct fn_nft_result *r)
{
	fn_nft_eval(srv->prog, srv->ct, h, k, r);
	return r->verdict == FN_NFT_ACCEPT;
}

/* ---- sockets (meta skuid, skgid) ----------------------------------------- */

static bool owner_set;
static uint32_t owner_uid, owner_gid;

void stk_filter_set_owner(uint32_t uid, uint32_t gid)
{
	owner_set = true;
	owner_uid = uid;
	owner_gid = gid;
}

/* A UDP socket of ours for the datagram: on the way in a connected one
 * (the kernel's early demux finds no other), on the way out any bound
 * to its source port (and, connected, to its destination). */
static bool udp_owned(uint16_t lport, uint32_t raddr, uint16_t rport, bool rx)
{
	for (const struct udp_pcb *u = udp_pcbs; u; u = u->next) {
		bool conn = u->flags & UDP_FLAGS_CONNECTED;

		if (u->local_port != lport || (rx && !conn))
			continue;
		if (conn && (u->remote_port != rport ||
			     lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&u->remote_ip)))
			     != raddr))
			continue;
		return true;
	}
	return false;
}

/* A TCP connection of the app's past SYN_RCVD (the kernel's SYN_RECV is
 * a request socket, TIME_WAIT a timewait one: no full socket, and lwIP
 * keeps TIME_WAIT on a list of its own), and not closed by the app: the
 * socket server unhooks a pcb it closes (sock_serv.c pcb_close), as the
 * kernel's orphaned socket loses its file. */
static bool tcp_owned(uint16_t lport, uint32_t raddr, uint16_t rport)
{
#if LWIP_TCP
	for (const struct tcp_pcb *t = tcp_active_pcbs; t; t = t->next)
		if (t->state != SYN_RCVD && t->errf && t->local_port == lport &&
		    t->remote_port == rport &&
		    lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&t->remote_ip))) ==
		    raddr)
			return true;
#else
	(void)lport, (void)raddr, (void)rport;
#endif
	return false;
}

/* The kernel's skb->sk as nft_meta_get_eval_skugid() reads it: a full
 * socket of the app's for a packet on the way out (output, postrouting),
 * or one the early demux found for a packet for us (input only: after
 * prerouting).  lwIP's own RSTs and ICMP messages have none (the
 * kernel's control sockets have no file).  Only when the ruleset asks
 * (FN_NFT_PROG_SK). */
static void sk_fill(struct fn_nft_pkt *k, bool rx)
{
	const uint8_t *nh = k->nh;

	if (!owner_set || !nh ||
	    (rx && k->pkttype != PKT_HOST))
		return;
	uint32_t hl = (nh[0] & 15) * 4u;
	if (k->nh_len < hl + 4 || (rd16(nh + 6) & 0x1fff))
		return;
	uint16_t sport = rd16(nh + hl), dport = rd16(nh + hl + 2);
	uint16_t lport = rx ? dport : sport, rport = rx ? sport : dport;
	uint32_t raddr = rd32(nh + (rx ? 12 : 16));

	if (nh[9] == 6)
		k->sk = tcp_owned(lport, raddr, rport);
	else if (nh[9] == 17)
		k->sk = udp_owned(lport, raddr, rport, rx);
	k->sk_uid = owner_uid;
	k->sk_gid = owner_gid;
}

/* ---- NAT ------------------------------------------------------------------ */

/* dnat and redirect to the stack itself (docs/nft.md, NAT): the
 * evaluator rewrites the bytes it judges (fn_nft_pkt.nh_w) and says so
 * (natted); here those bytes become what lwIP parses (receive) or what
 * leaves (send). */

static uint32_t local_addrs[STK_MAX_IFS];	/* network order */

/* k's addresses for a dnat: the stack's, and the netif's it came in
 * on (redirect's). */
static void nat_fill(const struct stk_if *ifc, struct fn_nft_pkt *k)
{
	const struct stack *s = ifc->stack;

	for (unsigned i = 0; i < s->nifs; i++)
		local_addrs[i] =
			ip4_addr_get_u32(netif_ip4_addr(&s->ifs[i].netif));
	k->local = local_addrs;
	k->nlocal = s->nifs;
	k->iif_addr = ip4_addr_get_u32(netif_ip4_addr(&ifc->netif));
}

/* The received frame p was judged in a copy (k->nh is not p's own byte
 * at off) that NAT rewrote: the IPv4 header and the first 20 bytes of
 * transport (ports, sums) into p, for lwIP. */
static void nat_back(struct pbuf *p, const struct fn_nft_pkt *k, uint32_t off)
{
	uint32_t ihl, tot, n;

	if (!k->natted || (const uint8_t *)p->payload + off == k->nh)
		return;
	ihl = (uint32_t)(k->nh[0] & 0x0f) * 4;
	tot = rd16(k->nh + 2);
	n = ihl + 20 < tot ? ihl + 20 : tot;
	pbuf_take_at(p, k->nh, (u16_t)n, (u16_t)off);
}

/* ---- reassembly ------------------------------------------------------------ */

/* An untagged IPv4 fragment (MF or an offset) whose header ip4_input
 * would take (ip_rcv_core's checks: version, lengths, header sum), the
 * header in p's first pbuf. */
static bool is_fragment(const struct pbuf *p, uint32_t off,
			const struct fn_nft_pkt *k)
{
	const uint8_t *nh = k->nh;
	uint32_t ihl = (uint32_t)(nh[0] & 0x0f) * 4, tot = rd16(nh + 2);

	if (off != STK_ETH_HLEN || (nh[0] >> 4) != 4 || ihl < 20 ||
	    tot < ihl || tot > k->nh_len || p->len < off + ihl)
		return false;
	if ((rd16(nh + 6) & 0x3fff) == 0)
		return false;
	return inet_chksum(nh, (u16_t)ihl) == 0;
}

/* ip4_reass() takes the fragment p: NULL while its datagram is incomplete
 * (p held) or when lwIP drops it (IP options, overlap, no room); else the
 * whole datagram, as a frame behind the first fragment's Ethernet header
 * (ip4_reass leaves it in place: its helper overlays the IP header). */
static struct pbuf *reassemble(struct stack *s, struct pbuf *p, uint16_t tot)
{
	struct pbuf *q;

	if (pbuf_remove_header(p, STK_ETH_HLEN) != 0) {
		pbuf_free(p);
		return NULL;
	}
	pbuf_realloc(p, tot);		/* padding off, as ip4_input */
	q = ip4_reass(p);
	if (!q)
		return NULL;
	if (pbuf_add_header(q, STK_ETH_HLEN) != 0) {
		pbuf_free(q);
		return NULL;
	}
	stk_count(s, STK_FILTER_REASSEMBLED, 1);
	return q;
}

/* k for the frame p received on ifc, copied into buf when p is a chain.
 * The IPv4 header's offset, or 0 when p does not fit buf. */
static uint32_t rx_fill(struct fn_nft_pkt *k, const struct stk_if *ifc,
			struct pbuf *p, uint8_t *buf, bool fine, bool nat)
{
	uint8_t *f;
	uint32_t len, off;

	f = linear(p, buf, DGRAM_MAX, &len);
	if (!f)
		return 0;
	off = pkt_fill(k, f, len, fine);
	if (nat && k->nh) {
		k->nh_w = f + off;
		nat_fill(ifc, k);
	}
	k->iif = ifc->index;
	k->iifname = ifc->name;
	k->pkttype = !(f[0] & 1) ? PKT_HOST :
		     memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) ? PKT_MULTICAST
							     : PKT_BROADCAST;
	return off;
}

/* A frame received on ifc; takes p.  The frame for lwIP, or NULL: dropped
 * (and freed) or held for reassembly.  *sums: what prerouting checked on
 * that frame (not on a fragment reassembled after it).
 * The common packet (IPv4 for this stack, no fragment, no nat chain that
 * could move its destination, no socket match, whose skb->sk input alone
 * may see) goes through all its hooks in one call (fn_nft_eval_in);
 * others hook by hook, with reassembly and the routing decision between
 * them. */
struct pbuf *stk_filter_rx(struct stk_if *ifc, struct pbuf *p,
			   unsigned *sums)
{
	struct stack *s = ifc->stack;
	struct nl_server *srv = stk_nft();
	static uint8_t buf[DGRAM_MAX];
	struct fn_nft_result r = { .verdict = FN_NFT_ACCEPT };
	struct fn_nft_pkt k;
	enum fn_nft_hook h;
	uint32_t off;
	unsigned fl;
	bool frag, fine, nat;

	*sums = 0;
	fl = srv ? srv->prog_flags : FN_NFT_PROG_IDLE;
	if (fl & FN_NFT_PROG_IDLE)
		return p;	/* no chain: lwIP reassembles itself */
	fine = fl & FN_NFT_PROG_FINE_CLOCK;
	nat = fl & FN_NFT_PROG_NAT;
	off = rx_fill(&k, ifc, p, buf, fine, nat);
	if (!off)
		return p;	/* longer than any frame we take: lwIP drops */
	if (!(fl & (FN_NFT_PROG_NAT | FN_NFT_PROG_SK)) && k.nh &&
	    !(rd16(k.nh + 6) & 0x3fff) && for_us(s, k.nh)) {
		fn_nft_eval_in(srv->prog, srv->ct, &k, &r);
		h = r.hook;
		if (h == FN_NFT_INPUT)	/* it reached input (below) */
			stk_count(s, STK_FILTER_JUDGED_RX, 1);
		if (r.kept)
			stk_count(s, STK_FILTER_KEPT_RX, 1);
		if (r.verdict != FN_NFT_ACCEPT)
			goto drop;
		*sums = k.sums;
		return p;
	}
	if (!judge(srv, h = FN_NFT_INGRESS, &k, &r))
		goto drop;
	if (!k.nh)
		return p;
	frag = is_fragment(p, off, &k);
	if (frag && (fl & FN_NFT_PROG_CT)) {	/* nf_defrag_ipv4, -400 */
		p = reassemble(s, p, rd16(k.nh + 2));
		if (!p)
			return NULL;
		if (!(off = rx_fill(&k, ifc, p, buf, fine, nat)))
			goto unjudged;
		frag = false;
	}
	if (!judge(srv, h = FN_NFT_PREROUTING, &k, &r))
		goto drop;
	if (!for_us(s, k.nh)) {
		nat_back(p, &k, off);
		return p;
	}
	if (frag) {			/* ip_local_deliver: ip_defrag */
		p = reassemble(s, p, rd16(k.nh + 2));
		if (!p)
			return NULL;
		if (!(off = rx_fill(&k, ifc, p, buf, fine, nat)))
			goto unjudged;
	}
	/* once per packet (a whole datagram) that reaches input: the
	 * hot-reload test proves with it that each was judged by exactly
	 * one ruleset version */
	stk_count(s, STK_FILTER_JUDGED_RX, 1);
	if (fl & FN_NFT_PROG_SK)
		sk_fill(&k, true);
	if (!judge(srv, h = FN_NFT_INPUT, &k, &r))
		goto drop;
	nat_back(p, &k, off);
	*sums = frag ? 0 : k.sums;
	return p;
drop:
	stk_count(s, STK_FILTER_DROP_RX, 1);
	if (stk_cap_on(s, FN_CAP_FILTER_DROP))
		stk_cap_drop_rx(ifc, h, r.rule, p);
	if (r.reject != FN_NFT_REJECT_NONE && k.nh)
		reject(s, p, off, &k, &r);
unjudged:
	pbuf_free(p);
	return NULL;
}

/* ---- output ------------------------------------------------------------------ */

/* The fragments of the datagram lwIP is sending, held until the last one:
 * ip4_frag() hands them to netif->output one after another, in order, in
 * one call, so at most one datagram is ever held.  The kernel's output
 * and postrouting hooks see a datagram before ip_fragment() cuts it;
 * judged fragment by fragment, a rule on ports would drop the first and
 * let the others out. */
#define OUT_FRAGS_MAX	128	/* 65535 bytes in fragments of >= 512 */

static struct {
	unsigned n;
	struct stk_if *ifc;		/* the netif they go out of */
	struct pbuf *p[OUT_FRAGS_MAX];	/* referenced */
	ip4_addr_t dst[OUT_FRAGS_MAX];
	uint32_t next;		/* payload bytes so far */
	uint32_t ihl;
	uint8_t dgram[0xffff];	/* the first fragment's header, payloads */
} out;

/* Send (true) or drop the fragments held. */
static void out_release(bool send)
{
	for (unsigned i = 0; i < out.n; i++) {
		if (send)
			etharp_output(&out.ifc->netif, out.p[i], &out.dst[i]);
		pbuf_free(out.p[i]);
	}
	out.n = 0;
}

/* Output, then postrouting, for the IPv4 datagram at nh (len bytes)
 * going out of ifc; fl: the program's FN_NFT_PROG_*.  nh_w: nh, writable
 * (NAT), or NULL; *natted: NAT rewrote it. */
static bool judge_out(struct stk_if *ifc, struct nl_server *srv, unsigned fl,
		      const uint8_t *nh, uint8_t *nh_w, uint32_t len,
		      bool *natted)
{
	struct fn_nft_result r = { .verdict = FN_NFT_ACCEPT };
	struct fn_nft_pkt k;

	pkt_zero(&k);
	k.nh = nh;
	k.nh_len = len;
	k.ethertype = ETH_P_IP;
	k.oif = ifc->index;
	k.oifname = ifc->name;
	k.oif_addr = ip4_addr_get_u32(netif_ip4_addr(&ifc->netif));
	k.now_ns = now_ns(fl & FN_NFT_PROG_FINE_CLOCK);
	if (nh_w) {
		k.nh_w = nh_w;
		nat_fill(ifc, &k);
		k.iif_addr = 0;
	}
	if (fl & FN_NFT_PROG_SK)
		sk_fill(&k, false);
	fn_nft_eval_out(srv->prog, srv->ct, &k, &r);
	if (r.kept)
		stk_count(ifc->stack, STK_FILTER_KEPT_TX, 1);
	if (r.verdict == FN_NFT_ACCEPT) {
		*natted = k.natted;
		return true;
	}
	stk_count(ifc->stack, STK_FILTER_DROP_TX, 1);
	if (stk_cap_on(ifc->stack, FN_CAP_FILTER_DROP))
		stk_cap_drop_tx(ifc, r.hook, r.rule, nh, len);
	return false;
}

/* Fragment p (header at nh, ihl bytes) of the datagram being sent out of
 * ifc: held; the last one judges the datagram and sends or drops them
 * all. */
static void out_fragment(struct stk_if *ifc, struct nl_server *srv,
			 unsigned fl, struct pbuf *p, const uint8_t *nh,
			 uint32_t ihl, const ip4_addr_t *dst)
{
	struct stack *s = ifc->stack;

	uint16_t fo = rd16(nh + 6);
	uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
	uint32_t plen = rd16(nh + 2) - ihl;

	if (off == 0) {
		if (out.n)	/* an earlier datagram lwIP gave up on */
			out_release(false);
		memcpy(out.dgram, nh, ihl);
		out.ihl = ihl;
		out.next = 0;
		out.ifc = ifc;
	} else if (!out.n || off != out.next || ihl != out.ihl ||
		   ifc != out.ifc ||
		   memcmp(nh + 4, out.dgram + 4, 2) ||	/* id */
		   nh[9] != out.dgram[9] ||
		   memcmp(nh + 12, out.dgram + 12, 8)) {
		out_release(false);
		stk_count(s, STK_FILTER_DROP_TX, 1);
		return;
	}
	if (out.n == OUT_FRAGS_MAX || ihl + off + plen > sizeof(out.dgram) ||
	    pbuf_copy_partial(p, out.dgram + ihl + off, (u16_t)plen,
			      (u16_t)ihl) != plen) {
		out_release(false);
		stk_count(s, STK_FILTER_DROP_TX, 1);
		return;
	}
	pbuf_ref(p);
	out.p[out.n] = p;
	out.dst[out.n++] = *dst;
	out.next = off + plen;
	if (fo & 0x2000)
		return;		/* more to come */
	/* the header as ip_local_out had it: whole, not fragmented */
	out.dgram[2] = (uint8_t)((ihl + out.next) >> 8);
	out.dgram[3] = (uint8_t)(ihl + out.next);
	out.dgram[6] = out.dgram[7] = 0;
	out.dgram[10] = out.dgram[11] = 0;
	{
		uint16_t sum = inet_chksum(out.dgram, (u16_t)ihl);

		memcpy(out.dgram + 10, &sum, 2);
	}
	/* no nh_w: the fragments are lwIP's; a reply NAT must rewrite is
	 * dropped (docs/nft.md, NAT) */
	bool natted;

	out_release(judge_out(ifc, srv, fl, out.dgram, NULL, ihl + out.next,
			      &natted));
}

/* With a nat chain: p is judged in a copy, which NAT may rewrite (the
 * source of a reply of a redirected flow); a rewritten copy is what
 * goes out, never lwIP's p: a TCP segment stays on lwIP's
 * retransmission queue as lwIP built it. */
static err_t output_nat(struct stk_if *ifc, struct nl_server *srv,
			unsigned fl, struct pbuf *p, const ip4_addr_t *dst,
			uint8_t *buf, uint32_t cap)
{
	struct pbuf *q;
	bool natted = false;
	err_t err;

	if (p->tot_len > cap ||
	    pbuf_copy_partial(p, buf, p->tot_len, 0) != p->tot_len)
		return ERR_VAL;	/* not one frame: the link refuses it */
	if (!judge_out(ifc, srv, fl, buf, buf, p->tot_len, &natted))
		return ERR_OK;
	if (!natted)
		return etharp_output(&ifc->netif, p, dst);
	q = pbuf_alloc(PBUF_LINK, p->tot_len, PBUF_RAM);
	if (!q)
		return ERR_MEM;
	pbuf_take(q, buf, p->tot_len);
	err = etharp_output(&ifc->netif, q, dst);
	pbuf_free(q);
	return err;
}

/* netif->output: an IPv4 packet lwIP sends, before ARP (as the kernel's
 * output and postrouting hooks, before the neighbour layer); then
 * etharp_output, which the frame reaches the link from. */
err_t stk_filter_output(struct stk_if *ifc, struct pbuf *p,
			const ip4_addr_t *dst)
{
	struct nl_server *srv = stk_nft();
	static uint8_t buf[FRAME_MAX];
	const uint8_t *nh;
	uint32_t len, ihl;
	unsigned fl;
	bool natted;

	fl = srv ? srv->prog_flags : FN_NFT_PROG_IDLE;
	if (fl & FN_NFT_PROG_IDLE) {
		if (out.n)
			out_release(false);
		return etharp_output(&ifc->netif, p, dst);
	}
	if (p->len < 20)
		return ERR_VAL;		/* lwIP builds its header in one pbuf */
	nh = p->payload;
	ihl = (uint32_t)(nh[0] & 0x0f) * 4;
	if (ihl < 20 || p->len < ihl || rd16(nh + 2) != p->tot_len)
		return ERR_VAL;
	if (rd16(nh + 6) & 0x3fff) {
		out_fragment(ifc, srv, fl, p, nh, ihl, dst);
		return ERR_OK;
	}
	if (fl & FN_NFT_PROG_NAT)
		return output_nat(ifc, srv, fl, p, dst, buf, sizeof(buf));
	nh = linear(p, buf, sizeof(buf), &len);
	if (!nh)
		return ERR_VAL;	/* not one frame: the link refuses it */
	if (!judge_out(ifc, srv, fl, nh, NULL, len, &natted))
		return ERR_OK;	/* dropped by the ruleset, as if sent */
	return etharp_output(&ifc->netif, p, dst);
}
