/*
 * vsw_host.c - the host port of a network with `host = yes` (vswitch.h,
 * HOST PORT): a tap device whose other side is the host's kernel, in
 * place of a link to a stack.
 *
 * Call sequence: vsw_port_attach_host() once, from the table; then, in
 * every turn of vsw_fwd.c, vsw_host_serve() for the port's own frames
 * and vsw_host_deliver() for every copy that goes to it (captured as rx
 * and tx there, vsw_cap.c).
 *
 * The kernel is as untrusted as a stack: every frame read from the tap
 * goes through the same check (vsw_frame_check) against the MAC and
 * address that the supervisor gave the tap.  Frames are read into the
 * switch's own buffer, so, unlike a stack's slot, nobody rewrites them
 * while they are judged.  Nothing waits on the tap: read() and write()
 * are non-blocking, a full tap queue drops the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "vsw.h"

int vsw_port_attach_host(struct vsw *sw, int tap_fd, const struct vsw_id *id)
{
	struct vsw_port *p;
	int fl;

	if (sw->nports >= FN_VSW_MAX_PORTS)
		return -ENOSPC;
	if (tap_fd < 0)
		return -EBADF;
	fl = fcntl(tap_fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(tap_fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return -errno;
	p = &sw->port[sw->nports];
	memset(p, 0, sizeof(*p));
	p->ctr = p->own_ctr;
	p->id = *id;
	p->idx = sw->nports;
	p->bell_fd = -1;
	p->tap_fd = tap_fd;
	p->attached = true;
	sw->nports++;
	if (sw->epfd >= 0) {
		close(sw->epfd);	/* vsw_sleep() makes it again */
		sw->epfd = -1;
	}
	return 0;
}

/* One frame from the tap into sw->tap_buf: its length, 0 when there is
 * none, -1 after an error (logged once per kind, counted as a drop). */
static int tap_read(struct vsw *sw, struct vsw_port *s)
{
	ssize_t n = read(s->tap_fd, sw->tap_buf, sizeof(sw->tap_buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		vsw_port_count(s, FN_VSW_P_DROP_LINK_DOWN, 1);
		fn_debug("port %u: tap read: %s", s->idx, strerror(errno));
		return 0;
	}
	if (n > VSW_TAP_FRAME) {	/* cut short by our buffer */
		vsw_port_count(s, FN_VSW_P_DROP_MALFORMED, 1);
		return -1;
	}
	return (int)n;
}

unsigned vsw_host_serve(struct vsw *sw, struct vsw_port *s)
{
	uint64_t bytes = 0;
	unsigned got = 0;

	for (unsigned k = 0; k < FN_VSW_BURST; k++) {
		int n = tap_read(sw, s);

		if (n == 0)
			break;
		got++;
		if (n < 0)
			continue;
		bytes += (uint64_t)n;
		if (vsw_cap_on(sw, FN_CAP_RX))
			vsw_cap_raw(sw, FN_CAP_RX, s, sw->tap_buf, (uint32_t)n);
		vsw_forward(sw, s, sw->tap_buf, (uint32_t)n);
	}
	if (!got)
		return 0;
	vsw_port_count(s, FN_VSW_P_RX_PKTS, got);
	vsw_port_count(s, FN_VSW_P_RX_BYTES, bytes);
	vsw_flush_all(sw);
	return got;
}

/* A copy written: captured as tx, from our header copy and the rest. */
static void cap_tx(struct vsw *sw, const struct vsw_port *d,
		   const struct vsw_frame *f)
{
	uint8_t buf[VSW_TAP_FRAME];

	vsw_frame_copy(f, buf);
	vsw_cap_raw(sw, FN_CAP_TX, d, buf, f->len);
}

void vsw_host_deliver(struct vsw *sw, struct vsw_port *d,
		      const struct vsw_frame *f)
{
	struct iovec iov[2] = {
		{ (void *)f->hdr, f->hdr_len },
		{ (void *)(f->data + f->hdr_len), f->len - f->hdr_len },
	};
	ssize_t n;

	if (f->len > VSW_TAP_FRAME) {
		vsw_drop(sw, d, FN_VSW_P_DROP_TOO_BIG, f);
		return;
	}
	n = writev(d->tap_fd, iov, 2);
	if (n == (ssize_t)f->len) {
		vsw_port_count(d, FN_VSW_P_TX_PKTS, 1);
		vsw_port_count(d, FN_VSW_P_TX_BYTES, f->len);
		if (vsw_cap_on(sw, FN_CAP_TX))
			cap_tx(sw, d, f);
		return;
	}
	/* A full queue (or a tap that is down) drops, as a full link does. */
	vsw_drop(sw, d, n < 0 && (errno == EAGAIN || errno == ENOBUFS) ?
		 FN_VSW_P_DROP_NO_SLOT : FN_VSW_P_DROP_LINK_DOWN, f);
}
