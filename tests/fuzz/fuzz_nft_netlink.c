/*
 * fuzz_nft_netlink.c - libFuzzer entry point for the stack's nf_tables
 * netlink server (src/nft/nl_*.c), the parser a control-socket client
 * reaches.
 *
 * The input is a sequence of datagrams, each a 4-byte little-endian
 * length then that many bytes (the last one takes what is left); they go
 * to one server in order, so that a batch that built tables is followed
 * by dumps and deletes of them.  Every reply must be a well-formed
 * netlink stream (each message's length within the output, aligned).
 * One server lives across inputs (its connection table is megabytes:
 * made once); after each input a `flush ruleset` batch empties it, so
 * that every input starts from nothing and the model's memory is freed
 * (LeakSanitizer checks at exit).  Seeds
 * are real nft 1.0.6 datagrams, recorded with the shim
 * (FRAGNET_NETLINK_RECORD=DIR fragnet nft ...) and framed as above.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_nft_netlink
 *   build-fuzz/tests/fuzz/fuzz_nft_netlink /tmp/corpus \
 *       tests/fuzz/corpus/nft
 */
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fragnet/nlctl.h"

#include "nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_replies(const struct nl_out *out)
{
	size_t off = 0;

	while (off < out->len) {
		const struct nlmsghdr *nlh = (const void *)(out->buf + off);

		if (out->len - off < sizeof(*nlh) ||
		    nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > out->len - off)
			abort();
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	if (off != out->len)
		abort();
}

static struct nl_server srv;
static bool srv_up;

/* One reply buffer for the whole run, emptied before each datagram: a
 * fresh one is a 1 MiB allocation, which ASan maps and unmaps each time
 * (most of the run's time went there). */
static struct nl_out out;

static struct nl_out *out_empty(void)
{
	out.len = 0;
	out.oom = false;
	return &out;
}

/* BATCH_BEGIN, DELTABLE (no name: every table), BATCH_END. */
static void flush_ruleset(void)
{
	static const uint16_t types[3] = {
		NFNL_MSG_BATCH_BEGIN, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE,
		NFNL_MSG_BATCH_END,
	};
	uint8_t buf[3 * (sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg))];
	size_t off = 0;

	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = (void *)(buf + off);
		struct nfgenmsg *g = (void *)(nlh + 1);

		nlh->nlmsg_len = sizeof(*nlh) + sizeof(*g);
		nlh->nlmsg_type = types[i];
		nlh->nlmsg_flags = NLM_F_REQUEST;
		nlh->nlmsg_seq = (uint32_t)i;
		g->res_id = htons(NFNL_SUBSYS_NFTABLES);
		off += nlh->nlmsg_len;
	}
	nl_server_handle(&srv, buf, off, 0, out_empty());
	if (srv.rs.ntables != 0)
		abort();	/* flush ruleset must empty the model */
}

static void at_exit(void)
{
	if (srv_up)
		nl_server_fini(&srv);
	nl_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv_up) {
		if (nl_server_init(&srv) < 0)
			abort();
		srv_up = true;
		atexit(at_exit);
	}
	while (size > 0) {
		uint32_t n = (uint32_t)size;
		uint8_t *dg;

		if (size >= 4) {
			memcpy(&n, data, 4);
			data += 4;
			size -= 4;
			if (n > size)
				n = (uint32_t)size;
		}
		/* a private copy, n bytes and the NUL the stack's control.c
		 * puts after every datagram: ASan sees any overread */
		dg = malloc(n + 1);
		if (!dg)
			break;
		memcpy(dg, data, n);
		dg[n] = 0;
		nl_server_handle(&srv, dg, n,
				 FN_NLCTL_F_EXT_ACK | (n & 1 ? FN_NLCTL_F_CAP_ACK : 0),
				 out_empty());
		check_replies(&out);
		free(dg);
		data += n;
		size -= n;
	}
	flush_ruleset();
	return 0;
}
