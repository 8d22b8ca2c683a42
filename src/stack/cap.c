/*
 * cap.c - the stack's capture points (fragnet/capture.h): the producer
 * end of its capture region.
 *
 *   stk_cap_open()   at start, before the stack confines itself: maps
 *                    FRAGNET_CAPTURE_FD and publishes the netifs' names.
 *   stk_cap_on()     (stack.h) at each point: one relaxed load, all that
 *                    capture costs while it is off.
 *   stk_cap_frame()  rx (linkif.c, each frame from a link before the
 *                    filter) and tx (each frame submitted to a link).
 *   stk_cap_drop_rx(), stk_cap_drop_tx()  filter.c, each packet the
 *                    ruleset drops, with the handle of the rule.
 *
 * Every call copies into a free slot, or counts `dropped` in the region
 * when the ring is full: never a wait, never a system call.  Called from
 * the stack loop only.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lwip/pbuf.h"

#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"

#include "stack.h"

#define ETH_P_IP	0x0800

/* No region (an old supervisor, a test): capture stays off. */
void stk_cap_open(struct stack *s)
{
	int fd = fn_env_fd(FN_ENV_CAPTURE_FD), err;
	const char *why = NULL;

	if (fd == -ENOENT)
		return;
	if (fd < 0) {
		fn_warn("%s is malformed: no capture", FN_ENV_CAPTURE_FD);
		return;
	}
	err = fn_cap_attach(&s->cap, fd, true, &why);
	close(fd);	/* the mapping stays */
	if (err < 0) {
		fn_warn("capture region: %s: no capture",
			why ? why : strerror(-err));
		return;
	}
	for (unsigned i = 0; i < s->nifs; i++)
		if (s->ifs[i].index >= 1)
			fn_cap_set_ifname(&s->cap, s->ifs[i].index - 1,
					  s->ifs[i].name);
}

void stk_cap_frame(struct stk_if *ifc, unsigned point, const void *f,
		   uint32_t len)
{
	fn_cap_put(&ifc->stack->cap, point, ifc->index, f, len);
}

static struct fn_cap_rec *drop_rec(struct stk_if *ifc, unsigned hook,
				   uint64_t rule, uint32_t origlen,
				   uint32_t *room)
{
	struct fn_cap_rec *r = fn_cap_reserve(&ifc->stack->cap, room);

	if (!r)
		return NULL;
	r->rule = rule;
	r->point = FN_CAP_FILTER_DROP;
	r->hook = (uint16_t)hook;
	r->ifindex = ifc->index;
	r->origlen = origlen;
	r->caplen = origlen < *room ? origlen : *room;
	return r;
}

/* A received frame (p: from its Ethernet header) the ruleset dropped. */
void stk_cap_drop_rx(struct stk_if *ifc, unsigned hook, uint64_t rule,
		     struct pbuf *p)
{
	uint32_t room;
	struct fn_cap_rec *r = drop_rec(ifc, hook, rule, p->tot_len, &room);

	if (!r)
		return;
	pbuf_copy_partial(p, r->data, (u16_t)r->caplen, 0);
	fn_cap_commit(&ifc->stack->cap, r);
}

/* An IPv4 packet being sent (nh, len bytes: no link-layer header yet, the
 * hooks run before ARP) that the ruleset dropped: recorded behind an
 * Ethernet header from our MAC to 00:00:00:00:00:00, so that the capture
 * stays one link type. */
void stk_cap_drop_tx(struct stk_if *ifc, unsigned hook, uint64_t rule,
		     const uint8_t *nh, uint32_t len)
{
	uint32_t room;
	struct fn_cap_rec *r = drop_rec(ifc, hook, rule, len + STK_ETH_HLEN,
					&room);

	if (!r)
		return;
	memset(r->data, 0, 6);
	memcpy(r->data + 6, ifc->mac, 6);
	r->data[12] = ETH_P_IP >> 8;
	r->data[13] = ETH_P_IP & 0xff;
	if (r->caplen > STK_ETH_HLEN)
		memcpy(r->data + STK_ETH_HLEN, nh, r->caplen - STK_ETH_HLEN);
	fn_cap_commit(&ifc->stack->cap, r);
}
