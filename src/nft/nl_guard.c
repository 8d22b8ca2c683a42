/*
 * nl_guard.c - libnftnl's parsers must not end the stack.
 *
 * libnftnl (1.2.4) validates attributes with libmnl and, when one has the
 * wrong type or length, calls its abi_breakage(): a message on stderr and
 * exit(EXIT_FAILURE).  It was written for the client side, where that
 * means a broken kernel; here the bytes come from a control-socket client,
 * and one malformed attribute would stop the stack (fuzz_nft_netlink found
 * it at once).
 *
 * So every libnftnl parse of client bytes runs under nl_guarded(): exit()
 * is defined here, exported so that it interposes on libc's for libnftnl's
 * call too (an executable's definition comes first in symbol lookup), and
 * while a guarded parse runs it jumps back out of the parser instead; the
 * caller then refuses the message with EINVAL.  Outside a guarded parse it
 * is libc's exit().  libnftnl's parsers are plain C with no locks, and the
 * object being parsed stays consistent (the check comes before the
 * assignment), so leaving through longjmp and freeing the object is safe.
 *
 * Single-threaded: the stack loop only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nl.h"

static jmp_buf *armed;
static unsigned long trapped;

__attribute__((visibility("default"), noreturn))
void exit(int status)
{
	typedef void exit_fn(int);
	exit_fn *real;

	if (armed) {
		jmp_buf *j = armed;

		armed = NULL;
		trapped++;
		longjmp(*j, 1);
	}
	real = (exit_fn *)dlsym(RTLD_NEXT, "exit");
	if (real)
		real(status);	/* does not return */
	_exit(status);
}

/* fn(arg) with libnftnl's exit() turned into a return of -EINVAL. */
int nl_guarded(int (*fn)(void *arg), void *arg)
{
	jmp_buf j;
	volatile int r = -EINVAL;

	if (setjmp(j) == 0) {
		armed = &j;
		r = fn(arg);
	}
	armed = NULL;
	return r;
}

unsigned long nl_guard_trapped(void)
{
	return trapped;
}

struct parse_arg {
	enum nl_parse what;
	const struct nlmsghdr *nlh;
	void *obj;
};

static int parse_one(void *arg)
{
	struct parse_arg *a = arg;

	switch (a->what) {
	case NL_P_TABLE: return nftnl_table_nlmsg_parse(a->nlh, a->obj);
	case NL_P_CHAIN: return nftnl_chain_nlmsg_parse(a->nlh, a->obj);
	case NL_P_RULE: return nftnl_rule_nlmsg_parse(a->nlh, a->obj);
	case NL_P_SET: return nftnl_set_nlmsg_parse(a->nlh, a->obj);
	case NL_P_ELEMS: return nftnl_set_elems_nlmsg_parse(a->nlh, a->obj);
	case NL_P_OBJ: return nftnl_obj_nlmsg_parse(a->nlh, a->obj);
	}
	return -1;
}

/* libnftnl's nftnl_<what>_nlmsg_parse(nlh, obj), guarded: 0 or < 0. */
int nl_parse(enum nl_parse what, const struct nlmsghdr *nlh, void *obj)
{
	struct parse_arg a = { what, nlh, obj };

	return nl_guarded(parse_one, &a);
}
