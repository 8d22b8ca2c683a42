/*
 * confine.c - the stack's allow-list and limits for fn_confine()
 * (fragnet/confine.h; docs/security.md has the table and the reasons).
 *
 * main() calls stk_confine() once, after stack_setup() has mapped every
 * link, the stats page and the socket channel and has read the tables,
 * and before the loop touches the first frame, request or control
 * message.  Besides fn_confine_base_rules, the loop needs only the
 * control socket's calls: accept4 (a new nft client), recvfrom/sendto
 * (recv/send on it), getsockopt (SO_PEERCRED) and setsockopt (its send
 * buffer; SO_SNDBUFFORCE now fails with EPERM and SO_SNDBUF is used).
 */
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "fragnet/confine.h"
#include "fragnet/config.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/vswitch.h"

#include "stack.h"

#define RULE(name)	{ SCMP_SYS(name), FN_SC_ALLOW, 0, { { 0, 0, 0 } } }

static const struct fn_sc_rule stack_rules[] = {
	RULE(accept4), RULE(recvfrom), RULE(sendto),
	RULE(getsockopt), RULE(setsockopt),
	/* sched_getcpu() for meta cpu, should glibc have neither rseq nor
	 * the vDSO at hand */
	RULE(getcpu),
};

/*
 * Memory beyond what is mapped at confinement: lwIP mallocs per PCB
 * (TCP_SND_BUF and TCP_OOSEQ_MAX_BYTES, about 90 KiB at most with the
 * full profile's options, rounded up to STK_AS_PER_TCP with the pbufs'
 * overhead), the control socket's reassembly (at most FN_NLCTL_REQ_MAX per
 * connection, STK_CONTROL_CONNS of them) and the compiled ruleset, and
 * STK_AS_BASE for the rest (lwIP's ARP table, reassembly, stdio).
 */
#define STK_AS_PER_TCP		(128u << 10)
#define STK_AS_BASE		(128ull << 20)
#define STK_AS_CONTROL		(8ull * (64ull << 20))
/* fds: 3..10, a network's two each from 16, the control clients. */
#define STK_NOFILE		(FN_FD_STACK_NET_BASE + 2 * FN_STACK_MAX_NETS + 32)

int stk_confine(unsigned max_tcp)
{
	struct fn_confine_spec spec = {
		.who = "stack",
		.as_margin = STK_AS_BASE + STK_AS_CONTROL +
			     (rlim_t)max_tcp * STK_AS_PER_TCP,
		.nofile = STK_NOFILE,
		.rules = stack_rules,
		.nrules = sizeof(stack_rules) / sizeof(stack_rules[0]),
	};

	return fn_confine_self(&spec);
}
