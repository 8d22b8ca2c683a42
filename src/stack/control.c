/*
 * control.c - the stack's control socket (names.h: FN_FD_CONTROL).
 *
 * The supervisor creates a listening AF_UNIX SOCK_SEQPACKET socket per
 * stack, under the root-only run directory, and hands it over blocking
 * (O_NONBLOCK lives in the open file description that every copy of the fd
 * shares, so each holder chooses for itself).  We make it non-blocking and
 * poll it from the loop at most every CONTROL_PERIOD_MS, so that a client
 * can never stall packet processing.
 *
 * For now a connection is accepted, its peer credentials are checked
 * (SO_PEERCRED uid 0: the directory's mode is the first fence, this the
 * second), counted, and closed: the client sees EOF.  The filter issue adds
 * the protocol (nf_tables netlink, stats, shutdown): accepted connections
 * will then stay open, non-blocking, in the loop's poll set.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/log.h"

#include "stack.h"

#define CONTROL_ACCEPTS_PER_POLL	16

/* Make the listening socket non-blocking.  0 or a negative errno. */
int stk_control_init(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	int type = 0;
	socklen_t len = sizeof(type);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	return type == SOCK_SEQPACKET ? 0 : -ENOTSOCK;
}

/* One accepted connection: who is it? */
static void control_serve(struct stack *s, int cfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		stk_count(s, STK_CONTROL_ERRORS, 1);
		fn_warn("control: SO_PEERCRED: %s", strerror(errno));
	} else if (cred.uid != 0) {
		stk_count(s, STK_CONTROL_REFUSED, 1);
		fn_warn("control: refused pid %d uid %u: not root",
			(int)cred.pid, (unsigned)cred.uid);
	} else {
		stk_count(s, STK_CONTROL_ACCEPTED, 1);
		fn_debug("control: pid %d connected; no protocol yet: closed",
			 (int)cred.pid);
	}
	close(cfd);
}

/* Accept what is pending, never waiting.  fd < 0: no control socket. */
void stk_control_poll(struct stack *s, int fd)
{
	for (int i = 0; fd >= 0 && i < CONTROL_ACCEPTS_PER_POLL; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd >= 0) {
			control_serve(s, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* EMFILE and friends: try again next period. */
			stk_count(s, STK_CONTROL_ERRORS, 1);
			fn_debug("control: accept: %s", strerror(errno));
		}
		return;
	}
}
