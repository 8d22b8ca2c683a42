/*
 * vsw_cap.c - the switch's capture points (fragnet/capture.h): the
 * producer end of its network's capture region, for `fragnet capture
 * vswitch/NET` (docs/observe.md).
 *
 *   vsw_cap_attach()  at start, before the switch confines itself: maps
 *                     the region and names interface k + 1 after port k.
 *   vsw_cap_on()      (vsw.h) at each point: one relaxed load, all that
 *                     capture costs while it is off.
 *   vsw_cap_raw()     rx: each frame from a port as the port wrote it,
 *                     before port security; tx: each copy given to a port.
 *   vsw_cap_frame()   a drop: the frame as the switch judged it (its
 *                     header from our copy, vsw_port.c), with the cause.
 *
 * Every call copies into a free slot, or counts `dropped` in the region
 * when the ring is full: never a wait, never a system call (the clock is
 * the vDSO's).  The client's fields are checked by fn_cap_reserve()
 * (capture.h TRUST): a hostile client can stop the capture, never the
 * switch.  Called from the switch's loop only.
 */
#include <string.h>

#include "vsw.h"

int vsw_cap_attach(struct vsw *sw, int fd, const char *const names[],
		   const char **why)
{
	int err = fn_cap_attach(&sw->cap, fd, true, why);

	if (err < 0)
		return err;
	for (unsigned i = 0; i < sw->nports && i < FN_CAP_IFS; i++)
		fn_cap_set_ifname(&sw->cap, i, names[i]);
	return 0;
}

void vsw_cap_detach(struct vsw *sw)
{
	fn_cap_detach(&sw->cap);
}

void vsw_cap_raw(struct vsw *sw, unsigned point, const struct vsw_port *p,
		 const uint8_t *data, uint32_t len)
{
	fn_cap_put(&sw->cap, point, p->idx + 1, data, len);
}

void vsw_cap_frame(struct vsw *sw, const struct vsw_port *p,
		   enum fn_vsw_port_ctr cause, const struct vsw_frame *f)
{
	uint32_t room, hdr;
	struct fn_cap_rec *r = fn_cap_reserve(&sw->cap, &room);

	if (!r)
		return;
	r->rule = 0;
	r->point = FN_CAP_SWITCH_DROP;
	r->hook = (uint16_t)cause;
	r->ifindex = p->idx + 1;
	r->origlen = f->len;
	r->caplen = f->len < room ? f->len : room;
	hdr = f->hdr_len < r->caplen ? f->hdr_len : r->caplen;
	memcpy(r->data, f->hdr, hdr);
	memcpy(r->data + hdr, f->data + hdr, r->caplen - hdr);
	fn_cap_commit(&sw->cap, r);
}
