/*
 * nft_eval_diff.c - fn-nft-eval-diff: the evaluator against the kernel's
 * nf_tables, packet by packet (run by test_nft_eval_diff.sh).
 *
 *   ns A: fnev-a-<pid> (sender)  fneva ═veth═ fnevb  ns B: fnev-b-<pid>
 *                                                   ruleset under test
 *
 * 1. Dump the ruleset of ns B from the kernel (tables, chains, sets with
 *    elements, rules) with libnftnl, into the model of src/nft/nft.h, as
 *    the netlink server would hold it after the same `nft -f`; compile it.
 * 2. Generate --count frames from --seed: TCP (all sorts of flags), UDP,
 *    ICMP queries and errors about earlier flows, GRE, fragments, IP
 *    options, odd lengths, bad sums, replies faked from B's own address
 *    (the kernel's conntrack sees them at prerouting before routing drops
 *    them as martians), and to other addresses.
 * 3. Send each frame from ns A (AF_PACKET) and judge it locally as the
 *    kernel path goes: ingress (netdev), prerouting, and input only if it
 *    is addressed to B and prerouting accepted it.
 * 4. Dump the kernel's rules again and compare every counter expression
 *    with fn_nft_expr_state(), and its named counters and quotas with
 *    fn_nft_obj_state().  Every mismatch is printed; exit 1.
 *
 * Tables whose name starts with "kernel_" are left out of the model: the
 * script uses one to stop B's own replies from reaching conntrack.
 *
 * usage: fn-nft-eval-diff --netns-a PATH --netns-b PATH --dev-a IF
 *          --dev-b IF --mac-b MAC --ip-a A.B.C.D --ip-b A.B.C.D
 *          [--seed N] [--count N] [--no-frags] [--stepwise] [--tx]
 *          [--tcp-options]
 *
 * --tcp-options gives a third of the TCP segments options (MSS, window
 * scale, SACK-permitted, timestamps, NOPs, EOL, broken lengths) for
 * rulesets with `tcp option` rules; off by default, so that the corpus
 * of the other rulesets (and of the stack-level test) stays as it was.
 *
 * --generate-only FILE writes the frames A would send (no --tx) to a
 * pcap file and stops: the same corpus can then be replayed into a
 * fragnet stack (through its tap) and into the kernel, for the
 * stack-level differential test.
 *
 * --tx has B send some packets of earlier flows itself (a raw socket in
 * ns B, IP_HDRINCL), judged on output and postrouting.
 *
 * --stepwise compares after every frame and stops at the first one that
 * disagrees, printing it (to debug a mismatch).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "fragnet/clock.h"
#include "nft.h"
#include "nft_pkt_bytes.h"

static void die(const char *what)
{
	fprintf(stderr, "fn-nft-eval-diff: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- dumping the kernel's ruleset ---------------------------------------- */

static struct mnl_socket *nl;
static uint32_t nl_seq = 1;

static void dump(uint16_t type, uint16_t family, struct nftnl_set *elems_of,
		 mnl_cb_t cb, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, family,
						     NLM_F_DUMP, nl_seq);
	uint32_t seq = nl_seq++;
	ssize_t n;
	int rc;

	if (elems_of)
		nftnl_set_elems_nlmsg_build_payload(nlh, elems_of);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		die("netlink send");
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			die("netlink recv");
		rc = mnl_cb_run(buf, (size_t)n, seq,
				mnl_socket_get_portid(nl), cb, arg);
	} while (rc > 0);
	if (rc < 0)
		die("netlink dump");
}

#define PUSH(arr, n, cap, v) do {					\
	if ((n) == (cap)) {						\
		(cap) = (cap) ? (cap) * 2 : 8;				\
		(arr) = realloc((arr), (cap) * sizeof(*(arr)));		\
		if (!(arr))						\
			die("realloc");					\
	}								\
	(arr)[(n)++] = (v);						\
} while (0)

static struct fn_nft_table *find_table(struct fn_nft_ruleset *rs,
				       uint32_t family, const char *name)
{
	for (uint32_t i = 0; i < rs->ntables; i++) {
		struct nftnl_table *t = rs->tables[i]->nl;

		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == family &&
		    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), name))
			return rs->tables[i];
	}
	return NULL;
}

static int table_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fn_nft_ruleset *rs = arg;
	struct nftnl_table *t = nftnl_table_alloc();
	struct fn_nft_table *ft;

	if (nftnl_table_nlmsg_parse(nlh, t) < 0)
		die("table parse");
	if (!strncmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "kernel_", 7)) {
		nftnl_table_free(t);
		return MNL_CB_OK;
	}
	ft = calloc(1, sizeof(*ft));
	ft->nl = t;
	PUSH(rs->tables, rs->ntables, rs->ctables, ft);
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fn_nft_ruleset *rs = arg;
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct fn_nft_table *t;

	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		die("chain parse");
	t = find_table(rs, nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY),
		       nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE));
	if (!t) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	struct fn_nft_chain *fc = calloc(1, sizeof(*fc));
	fc->nl = c;
	PUSH(t->chains, t->nchains, t->cchains, fc);
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fn_nft_ruleset *rs = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct fn_nft_table *t;

	if (nftnl_set_nlmsg_parse(nlh, s) < 0)
		die("set parse");
	t = find_table(rs, nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
		       nftnl_set_get_str(s, NFTNL_SET_TABLE));
	if (!t) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	struct fn_nft_set *fs = calloc(1, sizeof(*fs));
	fs->nl = s;
	PUSH(t->sets, t->nsets, t->csets, fs);
	return MNL_CB_OK;
}

static int elem_cb(const struct nlmsghdr *nlh, void *arg)
{
	if (nftnl_set_elems_nlmsg_parse(nlh, arg) < 0)
		die("element parse");
	return MNL_CB_OK;
}

struct rules {
	struct nftnl_rule **r;
	size_t n, cap;
};

static int rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct rules *rl = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		die("rule parse");
	PUSH(rl->r, rl->n, rl->cap, r);
	return MNL_CB_OK;
}

static void place_rules(struct fn_nft_ruleset *rs, struct rules *rl)
{
	for (size_t i = 0; i < rl->n; i++) {
		struct nftnl_rule *r = rl->r[i];
		struct fn_nft_table *t = find_table(rs,
			nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
			nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
		const char *cn = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);

		for (uint32_t j = 0; t && j < t->nchains; j++) {
			struct fn_nft_chain *c = t->chains[j];

			if (strcmp(nftnl_chain_get_str(c->nl, NFTNL_CHAIN_NAME),
				   cn))
				continue;
			PUSH(c->rules, c->nrules, c->crules, r);
			rl->r[i] = NULL;
			break;
		}
		if (rl->r[i])
			nftnl_rule_free(rl->r[i]);
	}
	rl->n = 0;
}

static int obj_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fn_nft_ruleset *rs = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct fn_nft_table *t;

	if (nftnl_obj_nlmsg_parse(nlh, o) < 0)
		die("object parse");
	t = find_table(rs, nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY),
		       nftnl_obj_get_str(o, NFTNL_OBJ_TABLE));
	if (!t) {
		nftnl_obj_free(o);
		return MNL_CB_OK;
	}
	PUSH(t->objs, t->nobjs, t->cobjs, ((struct fn_nft_obj){ o }));
	return MNL_CB_OK;
}

static void load_model(struct fn_nft_ruleset *rs)
{
	struct rules rl = { 0 };

	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, table_cb, rs);
	dump(NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NULL, chain_cb, rs);
	dump(NFT_MSG_GETSET, NFPROTO_UNSPEC, NULL, set_cb, rs);
	for (uint32_t i = 0; i < rs->ntables; i++)
		for (uint32_t j = 0; j < rs->tables[i]->nsets; j++) {
			struct nftnl_set *s = rs->tables[i]->sets[j]->nl;

			dump(NFT_MSG_GETSETELEM,
			     (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
			     s, elem_cb, s);
		}
	dump(NFT_MSG_GETOBJ, NFPROTO_UNSPEC, NULL, obj_cb, rs);
	dump(NFT_MSG_GETRULE, NFPROTO_UNSPEC, NULL, rule_cb, &rl);
	place_rules(rs, &rl);
	free(rl.r);
}

/* ---- packets ------------------------------------------------------------- */

struct opts {
	const char *ns_a, *ns_b, *dev_a, *dev_b;
	uint8_t mac_b[6];
	uint32_t ip_a, ip_b;
	uint32_t seed, count;
	bool frags, stepwise, tx, tcpopts;
	const char *pcap;	/* --generate-only: frames to this file */
};

static uint32_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return n ? rng % n : rng;
}

struct flow {
	uint32_t a, b;
	uint16_t sa, sb;
	uint8_t proto;
};

#define NFLOWS 64
static struct flow flows[NFLOWS];
static uint32_t nflows;

static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2000, 6379,
				  8080, 9999, 40000, 65535 };
static const uint8_t tcp_flags[] = { 0x02, 0x12, 0x10, 0x18, 0x11, 0x04,
				     0x14, 0x03, 0x00, 0x29, 0x01, 0x3f };

/* TCP options into o (n bytes, n a multiple of 4): a random mix of MSS,
 * window scale, SACK-permitted, timestamps, NOPs, EOL and broken ones
 * (a zero length, one past the header), for the `tcp option` rules. */
static void tcp_opts(uint8_t *o, uint32_t n)
{
	for (uint32_t i = 0; i < n;) {
		uint32_t left = n - i;

		switch (rnd(9)) {
		case 0:
			if (left < 4)
				break;
			o[i] = 2, o[i + 1] = 4;
			wr16(o + i + 2, (uint16_t)(536 + rnd(1000)));
			i += 4;
			continue;
		case 1:
			if (left < 3)
				break;
			o[i] = 3, o[i + 1] = 3, o[i + 2] = (uint8_t)rnd(15);
			i += 3;
			continue;
		case 2:
			if (left < 2)
				break;
			o[i] = 4, o[i + 1] = 2;
			i += 2;
			continue;
		case 3:
			if (left < 10)
				break;
			o[i] = 8, o[i + 1] = 10;
			wr32(o + i + 2, rnd(0));
			wr32(o + i + 6, rnd(0));
			i += 10;
			continue;
		case 4:
			o[i++] = 0;	/* EOL, and what follows it */
			continue;
		case 5:
			if (left < 2)
				break;
			o[i] = (uint8_t)(2 + rnd(30));	/* broken */
			o[i + 1] = rnd(2) ? 0 : (uint8_t)(left + 1);
			i += 2;
			continue;
		}
		o[i++] = 1;	/* NOP */
	}
}

/* The L4 part at l4 (room for len bytes); returns its length. */
static uint32_t make_l4(uint8_t *l4, uint8_t proto, uint32_t payload,
			const struct flow *f, bool reverse, uint32_t dst,
			bool tcpopts)
{
	uint16_t sp = reverse ? f->sb : f->sa, dp = reverse ? f->sa : f->sb;

	(void)dst;
	switch (proto) {
	case 6:
		wr16(l4, sp);
		wr16(l4 + 2, dp);
		wr32(l4 + 4, rnd(0));
		wr32(l4 + 8, rnd(0));
		l4[12] = 5 << 4;
		l4[13] = tcp_flags[rnd(sizeof(tcp_flags))];
		wr16(l4 + 14, 65535);
		if (tcpopts && payload >= 4 && !rnd(3)) {	/* from the payload */
			uint32_t k = 1 + rnd(payload / 4 < 10 ? payload / 4 : 10);

			l4[12] = (uint8_t)((5 + k) << 4);
			tcp_opts(l4 + 20, 4 * k);
		}
		return 20 + payload;
	case 17:
		wr16(l4, sp);
		wr16(l4 + 2, dp);
		wr16(l4 + 4, (uint16_t)(8 + payload));
		return 8 + payload;
	case 1:
		l4[0] = reverse ? 0 : (rnd(4) ? 8 : (uint8_t)rnd(20));
		l4[1] = 0;
		wr16(l4 + 4, f->sa);
		return 8 + payload;
	default:
		return payload;
	}
}

static void l4_sum(uint8_t *ip, uint8_t *l4, uint32_t l4len)
{
	uint32_t ph = 0;
	int off = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : ip[9] == 1 ? 2 : -1;

	if (off < 0)
		return;
	if (ip[9] != 1) {
		for (int i = 12; i < 20; i += 2)
			ph += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		ph += ip[9] + l4len;
	}
	wr16(l4 + off, 0);
	wr16(l4 + off, csum(l4, l4len, ph));
}

/* An ICMP error from A to B quoting a packet B sent for flow f. */
static uint32_t make_icmp_err(uint8_t *l4, const struct flow *f)
{
	uint8_t *in = l4 + 8;

	l4[0] = rnd(2) ? 3 : 11;
	l4[1] = (uint8_t)rnd(4);
	memset(in, 0, 28);
	in[0] = 0x45;
	wr16(in + 2, 28);
	in[8] = 64;
	in[9] = f->proto;
	wr32(in + 12, f->b);
	wr32(in + 16, f->a);
	wr16(in + 20, f->sb);
	wr16(in + 22, f->sa);
	if (f->proto == 1) {
		in[20] = 0;
		wr16(in + 24, f->sa);
	}
	return 36;
}

/* An IPv6 packet with 0-2 extension headers (hop-by-hop, routing,
 * destination options, fragment, AH) before TCP, UDP, ICMPv6 or none;
 * now and then a payload length past the end.  Returns its length. */
static uint32_t make_ipv6(uint8_t *v6)
{
	static const uint8_t exts[] = { 0, 43, 60, 44, 51 };
	static const uint8_t l4s[] = { 6, 17, 58, 59 };
	uint8_t *nhp = v6 + 6;
	uint32_t off = 40;

	memset(v6, 0, 40);
	v6[0] = 0x60;
	v6[7] = 64;
	v6[8] = 0xfe;
	v6[9] = 0x80;
	v6[23] = (uint8_t)(1 + rnd(4));
	v6[24] = 0xfe;
	v6[25] = 0x80;
	v6[39] = 2;
	for (uint32_t n = rnd(3); n > 0; n--) {
		uint8_t t = exts[rnd(sizeof(exts))], *h = v6 + off;
		uint32_t len = t == 44 ? 8 : t == 51 ? 12 : 8 * (1 + rnd(2));

		*nhp = t;
		memset(h, 0, len);
		if (t == 44)
			wr16(h + 2, (uint16_t)(rnd(3) ? 0 : rnd(100) << 3 | rnd(2)));
		else
			h[1] = (uint8_t)(t == 51 ? 1 : len / 8 - 1);
		nhp = h;
		off += len;
	}
	uint8_t t = l4s[rnd(sizeof(l4s))], *l4 = v6 + off;
	uint32_t l4len = t == 6 ? 20 : t == 59 ? 0 : 8;
	*nhp = t;
	memset(l4, 0, l4len + 16);
	if (t == 6 || t == 17) {
		wr16(l4, ports[rnd(12)]);
		wr16(l4 + 2, ports[rnd(12)]);
		if (t == 6)
			l4[12] = 0x50, l4[13] = 0x02;
	} else if (t == 58) {
		l4[0] = (uint8_t)(128 + rnd(2));
	}
	off += l4len + rnd(16);
	wr16(v6 + 4, (uint16_t)(off - 40 + (rnd(15) ? 0 : 1 + rnd(8))));
	return off;
}

/* B sends to A's side of the flow: only A's own subnet is routed. */
static bool can_tx(const struct opts *o, const struct flow *f)
{
	return f->b == o->ip_b && (f->a >> 8) == (o->ip_b >> 8);
}

/* One frame into buf; returns its length.  *to_b: addressed to B;
 * *tx: B sends it (the IP packet from buf + 14 on, a raw socket). */
static uint32_t make_frame(const struct opts *o, uint8_t *buf, bool *to_b,
			   bool *tx)
{
	uint8_t *eth = buf, *ip = buf + 14;
	uint32_t kind = rnd(100), hl = 20, payload = rnd(5) ? rnd(64) : rnd(600);
	struct flow fl, *f = &fl;
	bool reverse = false;
	uint8_t proto;

	*tx = false;
	memset(buf, 0, 1600);
	memcpy(eth, o->mac_b, 6);
	memcpy(eth + 6, "\x02\x00\x00\x00\x00\x01", 6);
	wr16(eth + 12, 0x0800);
	if (kind < 2) {				/* not IP */
		wr16(eth + 12, 0x0806);
		memset(ip, 0, 28);
		*to_b = false;
		return 14 + 28;
	}
	if (kind < 6) {				/* IPv6: ingress only */
		*to_b = false;
		return 14 + make_ipv6(ip);
	}
	if (nflows && kind < 55) {		/* an earlier flow */
		f = &flows[rnd(nflows)];
		reverse = kind < 20;
		*tx = o->tx && kind < 12 && can_tx(o, f);
	} else {
		static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1, 47 };

		fl.proto = protos[rnd(sizeof(protos))];
		fl.a = rnd(8) ? o->ip_a + (rnd(3) ? 0 : 100 + rnd(3)) :
				0x01020304u + rnd(4);
		fl.b = rnd(10) ? o->ip_b : o->ip_b + 1 + rnd(3);
		fl.sa = (uint16_t)(rnd(3) ? 30000 + rnd(64) : ports[rnd(12)]);
		fl.sb = ports[rnd(sizeof(ports) / 2)];
		if (fl.proto != 47 && nflows < NFLOWS)
			flows[nflows++] = fl;
		else if (fl.proto != 47)
			flows[rnd(NFLOWS)] = fl;
	}
	proto = f->proto;
	if (rnd(15) == 0)
		hl = 24 + 4 * rnd(3);		/* options: NOPs */
	memset(ip, 0, hl);
	memset(ip + 20, 1, hl - 20);
	ip[0] = (uint8_t)(0x40 | hl / 4);
	wr16(ip + 4, (uint16_t)(1 + rnd(65535)));	/* raw sends keep it */
	ip[8] = (uint8_t)(1 + rnd(255));
	if (ip[8] == 200)	/* B's own packets: kernel_notrack */
		ip[8] = 201;
	ip[9] = proto;
	wr32(ip + 12, reverse ? f->b : f->a);
	wr32(ip + 16, reverse ? f->a : f->b);
	uint8_t *l4 = ip + hl;
	uint32_t l4len;
	if (kind >= 45 && kind < 55 && !reverse) {	/* ICMP error */
		ip[9] = 1;
		l4len = make_icmp_err(l4, f);
	} else {
		l4len = make_l4(l4, proto, payload, f, reverse, 0, o->tcpopts);
	}
	wr16(ip + 2, (uint16_t)(hl + l4len));
	l4_sum(ip, l4, l4len);
	if (o->frags && rnd(12) == 0)		/* a fragment */
		wr16(ip + 6, (uint16_t)(rnd(2) ? 0x2000 : rnd(3) * 0x20 +
					(rnd(2) ? 0x2000 : 0)));
	/* the kernel sets the total length and the sum of raw sends */
	if (!*tx && rnd(20) == 0)		/* truncated transport */
		wr16(ip + 2, (uint16_t)(hl + rnd(l4len + 1)));
	wr16(ip + 10, csum(ip, hl, 0));
	if (!*tx && rnd(40) == 0)
		ip[10] ^= 0x40;			/* bad header sum */
	if (!*tx && rnd(60) == 0) {		/* a malformed header */
		switch (rnd(4)) {
		case 0: ip[0] = (uint8_t)(0x60 | (ip[0] & 15)); break;
		case 1: ip[0] = 0x44; break;
		case 2: wr16(ip + 2, (uint16_t)(hl + l4len + 1 + rnd(100)));
			break;
		default: wr16(ip + 2, (uint16_t)(rnd(hl))); break;
		}
		wr16(ip + 10, 0);
		wr16(ip + 10, csum(ip, hl, 0));
	}
	if (rnd(40) == 0 && l4len > 8)
		l4[l4len - 1] ^= 0x10;		/* bad l4 sum */
	*to_b = (reverse ? f->a : f->b) == o->ip_b;
	uint32_t len = 14 + hl + l4len;
	if (*tx)
		return len;
	if (len < 60 && rnd(2))			/* Ethernet padding */
		len = 60;
	return len;
}

/* The evaluator's ct state of each frame (prerouting), for --stepwise. */
static uint8_t *hist_state;
static uint8_t (*hist_frame)[64];

/* MF or a fragment offset in the IPv4 header at ip. */
static bool is_frag(const uint8_t *ip)
{
	return (ip[6] & 0x3f) || ip[7];
}

/* The kernel's path for a received frame, with the evaluator. */
static uint8_t judge(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		  const struct opts *o, uint32_t ifindex, uint8_t *frame,
		  uint32_t len, bool to_b)
{
	struct fn_nft_pkt pk = {
		.l2 = frame, .l2_len = len,
		.ethertype = (uint16_t)(frame[12] << 8 | frame[13]),
		.iif = ifindex, .iifname = o->dev_b, .pkttype = 0,
	};
	struct fn_nft_result res;

	pk.now_ns = (uint64_t)fn_clock_ns();
	if (pk.ethertype == 0x0800) {
		pk.nh = frame + 14;
		pk.nh_len = len - 14;
	}
	fn_nft_eval(p, ct, FN_NFT_INGRESS, &pk, &res);
	if (res.verdict != FN_NFT_ACCEPT || !pk.nh)
		return 0;
	/* With conntrack, nf_defrag_ipv4 (prerouting -400, before every
	 * chain of the corpus) holds a lone fragment. */
	if (is_frag(pk.nh) && fn_nft_prog_uses_ct(p))
		return 0;
	fn_nft_eval(p, ct, FN_NFT_PREROUTING, &pk, &res);
	if (res.verdict != FN_NFT_ACCEPT || !to_b)
		return pk.ct_state;
	/* ip_local_deliver() reassembles before the input hook: a lone
	 * fragment never gets there. */
	if (is_frag(pk.nh))
		return pk.ct_state;
	fn_nft_eval(p, ct, FN_NFT_INPUT, &pk, &res);
	return pk.ct_state;
}

/* The kernel's path for a packet B sends: output, postrouting. */
static uint8_t judge_tx(struct fn_nft_prog *p, struct fn_nft_ct *ct,
			const struct opts *o, uint32_t ifindex, uint8_t *ip,
			uint32_t len)
{
	struct fn_nft_pkt pk = {
		.nh = ip, .nh_len = len, .ethertype = 0x0800,
		.oif = ifindex, .oifname = o->dev_b,
	};
	struct fn_nft_result res;

	/* nf_defrag_ipv4 holds it at output -400 too, with conntrack */
	if (is_frag(ip) && fn_nft_prog_uses_ct(p))
		return 0;
	pk.now_ns = (uint64_t)fn_clock_ns();
	fn_nft_eval(p, ct, FN_NFT_OUTPUT, &pk, &res);
	if (res.verdict == FN_NFT_ACCEPT)
		fn_nft_eval(p, ct, FN_NFT_POSTROUTING, &pk, &res);
	return pk.ct_state;
}

/* Earlier frames between the same two addresses, with their states. */
static void history(uint32_t upto)
{
	const uint8_t *f = hist_frame[upto];

	for (uint32_t i = 0; i <= upto; i++) {
		const uint8_t *g = hist_frame[i];

		if (g[14 + 9] != f[14 + 9] ||
		    !((!memcmp(g + 26, f + 26, 4) && !memcmp(g + 30, f + 30, 4)) ||
		      (!memcmp(g + 26, f + 30, 4) && !memcmp(g + 30, f + 26, 4))))
			continue;
		printf("  #%u ct %u:", i, hist_state[i]);
		for (int b = 14; b < 64; b++)
			printf(" %02x", g[b]);
		printf("\n");
	}
}

/* ---- comparing ----------------------------------------------------------- */

struct cmp_ctx {
	struct fn_nft_prog *p;
	struct nftnl_rule *r;
	unsigned idx, checked, bad;
};

static int expr_cmp(struct nftnl_expr *e, void *arg)
{
	struct cmp_ctx *c = arg;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint64_t pk = 0, by = 0;

	if (!strcmp(name, "counter")) {
		uint64_t kp = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		uint64_t kb = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		int rc = fn_nft_expr_state(c->p, c->r, c->idx, &pk, &by);

		c->checked++;
		if (rc || pk != kp || by != kb) {
			c->bad++;
			printf("MISMATCH table %s chain %s handle %llu expr %u: kernel %llu packets %llu bytes, evaluator %llu packets %llu bytes\n",
			       nftnl_rule_get_str(c->r, NFTNL_RULE_TABLE),
			       nftnl_rule_get_str(c->r, NFTNL_RULE_CHAIN),
			       (unsigned long long)nftnl_rule_get_u64(c->r,
							NFTNL_RULE_HANDLE),
			       c->idx, (unsigned long long)kp,
			       (unsigned long long)kb, (unsigned long long)pk,
			       (unsigned long long)by);
		}
	}
	c->idx++;
	return 0;
}

/* A named counter (packets, bytes) or quota (bytes consumed, which the
 * kernel lists capped at the quota). */
static int obj_cmp(const struct nlmsghdr *nlh, void *arg)
{
	struct cmp_ctx *c = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	uint32_t type;
	uint64_t kp = 0, kb = 0, pk = 0, by = 0, quota;
	int rc;

	if (nftnl_obj_nlmsg_parse(nlh, o) < 0)
		die("object parse");
	type = nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE);
	if ((type != NFT_OBJECT_COUNTER && type != NFT_OBJECT_QUOTA) ||
	    !strncmp(nftnl_obj_get_str(o, NFTNL_OBJ_TABLE), "kernel_", 7))
		goto out;
	if (type == NFT_OBJECT_COUNTER) {
		kp = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		kb = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	} else {
		kb = nftnl_obj_get_u64(o, NFTNL_OBJ_QUOTA_CONSUMED);
	}
	rc = fn_nft_obj_state(c->p, nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY),
			      nftnl_obj_get_str(o, NFTNL_OBJ_TABLE), type,
			      nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
			      nftnl_obj_get_u64(o, NFTNL_OBJ_HANDLE), false,
			      &pk, &by);
	quota = type == NFT_OBJECT_QUOTA ?
		nftnl_obj_get_u64(o, NFTNL_OBJ_QUOTA_BYTES) : UINT64_MAX;
	if (by > quota)
		by = quota;
	c->checked++;
	if (rc || pk != kp || by != kb) {
		c->bad++;
		printf("MISMATCH table %s %s %s: kernel %llu packets %llu bytes, evaluator %llu packets %llu bytes\n",
		       nftnl_obj_get_str(o, NFTNL_OBJ_TABLE),
		       type == NFT_OBJECT_COUNTER ? "counter" : "quota",
		       nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
		       (unsigned long long)kp, (unsigned long long)kb,
		       (unsigned long long)pk, (unsigned long long)by);
	}
out:
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

static unsigned compare(struct fn_nft_prog *p, unsigned *checked)
{
	struct rules rl = { 0 };
	struct cmp_ctx c = { .p = p };

	dump(NFT_MSG_GETOBJ, NFPROTO_UNSPEC, NULL, obj_cmp, &c);
	dump(NFT_MSG_GETRULE, NFPROTO_UNSPEC, NULL, rule_cb, &rl);
	for (size_t i = 0; i < rl.n; i++) {
		if (strncmp(nftnl_rule_get_str(rl.r[i], NFTNL_RULE_TABLE),
			    "kernel_", 7)) {
			c.r = rl.r[i];
			c.idx = 0;
			nftnl_expr_foreach(rl.r[i], expr_cmp, &c);
		}
		nftnl_rule_free(rl.r[i]);
	}
	free(rl.r);
	*checked = c.checked;
	return c.bad;
}

/* ---- main ---------------------------------------------------------------- */

static void enter(const char *ns)
{
	int fd = open(ns, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die(ns);
	close(fd);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "netns-a", 1, NULL, 'a' }, { "netns-b", 1, NULL, 'b' },
		{ "dev-a", 1, NULL, 'x' }, { "dev-b", 1, NULL, 'y' },
		{ "mac-b", 1, NULL, 'm' }, { "ip-a", 1, NULL, 'i' },
		{ "ip-b", 1, NULL, 'j' }, { "seed", 1, NULL, 's' },
		{ "count", 1, NULL, 'c' }, { "help", 0, NULL, 'h' },
		{ "no-frags", 0, NULL, 'f' }, { "stepwise", 0, NULL, 'w' },
		{ "tx", 0, NULL, 't' }, { "generate-only", 1, NULL, 'g' },
		{ "tcp-options", 0, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct in_addr in;
	int c;

	o->seed = 1;
	o->count = 2000;
	o->frags = true;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': o->ns_a = optarg; break;
		case 'b': o->ns_b = optarg; break;
		case 'x': o->dev_a = optarg; break;
		case 'y': o->dev_b = optarg; break;
		case 'm':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
				   &o->mac_b[0], &o->mac_b[1], &o->mac_b[2],
				   &o->mac_b[3], &o->mac_b[4], &o->mac_b[5]) != 6)
				goto usage;
			break;
		case 'i':
		case 'j':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				goto usage;
			*(c == 'i' ? &o->ip_a : &o->ip_b) = ntohl(in.s_addr);
			break;
		case 's': o->seed = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': o->count = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': o->frags = false; break;
		case 'w': o->stepwise = true; break;
		case 't': o->tx = true; break;
		case 'o': o->tcpopts = true; break;
		case 'g': o->pcap = optarg; break;
		case 'h':
			printf("usage: fn-nft-eval-diff --netns-a PATH --netns-b PATH --dev-a IF --dev-b IF\n"
			       "         --mac-b MAC --ip-a ADDR --ip-b ADDR [--seed N] [--count N]\n"
			       "         [--no-frags] [--stepwise] [--tx] [--tcp-options]\n"
			       "   or: fn-nft-eval-diff --generate-only FILE.pcap --mac-b MAC --ip-a ADDR\n"
			       "         --ip-b ADDR [--seed N] [--count N] [--no-frags]\n"
			       "Compare the evaluator's rule counters with the kernel's for the\n"
			       "ruleset loaded in netns B, over generated frames sent from A.\n");
			exit(0);
		default:
			goto usage;
		}
	}
	if (o->ip_a && o->ip_b &&
	    (o->pcap || (o->ns_a && o->ns_b && o->dev_a && o->dev_b)))
		return;
usage:
	fprintf(stderr, "fn-nft-eval-diff: bad arguments (--help)\n");
	exit(2);
}

/* pcap (microseconds, Ethernet) of the frames for --generate-only. */
static int generate(const struct opts *o)
{
	FILE *f = fopen(o->pcap, "wb");
	static const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535,
					 1 };
	uint8_t frame[2048];

	if (!f)
		die(o->pcap);
	fwrite(hdr, sizeof(hdr), 1, f);
	for (uint32_t i = 0; i < o->count; i++) {
		bool to_b, tx;
		uint32_t len = make_frame(o, frame, &to_b, &tx);
		uint32_t rec[4] = { i / 1000000, i % 1000000, len, len };

		fwrite(rec, sizeof(rec), 1, f);
		fwrite(frame, len, 1, f);
	}
	if (fclose(f))
		die(o->pcap);
	return 0;
}

int main(int argc, char **argv)
{
	struct fn_nft_ruleset rs = { 0 };
	struct opts o = { 0 };
	char msg[256];
	int err = 0, pfd;
	unsigned checked, bad;

	parse(argc, argv, &o);
	rng = o.seed ? o.seed : 1;
	if (o.pcap)
		return generate(&o);
	enter(o.ns_a);
	pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pfd < 0)
		die("packet socket");
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
				  .sll_ifindex = (int)if_nametoindex(o.dev_a),
				  .sll_halen = 6 };
	if (!ll.sll_ifindex)
		die(o.dev_a);
	memcpy(ll.sll_addr, o.mac_b, 6);
	enter(o.ns_b);
	int rfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (rfd < 0)
		die("raw socket");
	uint32_t ifb = if_nametoindex(o.dev_b);
	if (!ifb)
		die(o.dev_b);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink");
	load_model(&rs);
	struct fn_nft_prog *p = fn_nft_compile(&rs, NULL, &err, msg, sizeof(msg));
	if (!p) {
		printf("REFUSED %d: %s\n", err, msg);
		return 3;
	}
	struct fn_nft_ct *ct = fn_nft_ct_new(4096);
	uint8_t frame[2048];

	hist_state = calloc(o.count + 1, 1);
	hist_frame = calloc(o.count + 1, 64);
	for (uint32_t i = 0; i < o.count; i++) {
		bool to_b, tx;
		uint32_t len = make_frame(&o, frame, &to_b, &tx);
		uint8_t st;

		if (tx) {
			struct sockaddr_in to = { .sin_family = AF_INET };

			memcpy(&to.sin_addr, frame + 14 + 16, 4);
			/* EPERM when output drops it: the kernel judged it */
			(void)sendto(rfd, frame + 14, len - 14, 0,
				     (struct sockaddr *)&to, sizeof(to));
			st = judge_tx(p, ct, &o, ifb, frame + 14, len - 14);
		} else {
			if (sendto(pfd, frame, len, 0, (struct sockaddr *)&ll,
				   sizeof(ll)) != (ssize_t)len)
				die("sendto");
			st = judge(p, ct, &o, ifb, frame, len, to_b);
		}
		if (o.stepwise) {
			hist_state[i] = st;
			memcpy(hist_frame[i], frame, 64);
			usleep(3000);
			if (compare(p, &checked)) {
				printf("frame %u (%u bytes, to B %d):", i, len, to_b);
				for (uint32_t b = 0; b < len && b < 80; b++)
					printf("%s%02x", b % 16 ? " " : "\n  ",
					       frame[b]);
				printf("\n");
				history(i);
				return 1;
			}
		} else if (i % 64 == 63)
			usleep(2000);	/* let the backlog drain in order */
	}
	usleep(300000);
	bad = compare(p, &checked);
	printf("%u frames, %u counters compared, %u mismatches\n", o.count,
	       checked, bad);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	mnl_socket_close(nl);
	close(pfd);
	close(rfd);
	return bad ? 1 : 0;
}
