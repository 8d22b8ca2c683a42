/*
 * cap_sup.c - the supervisor's side of packet capture (fragnet/capture.h):
 * a capture region per stack, made once at `up` and kept across
 * restarts; handed to `fragnet capture` over the control socket (ctl.h,
 * "capture N"); its dead owner's capture switched off on the timer.
 *
 * Called from supervisor.c: cap_init() from sup_prepare(), cap_channels()
 * from channels_make(), cap_tick() from on_timer(), cap_serve() from
 * ctl_dispatch(), cap_close() from channels_close(); spawn.c passes
 * s->capture_fd[i] to stack i (comp->capture_fd).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/ctl.h"
#include "fragnet/log.h"
#include "sup.h"

#define CAP_CHECK_NS	1000000000ull	/* how often owners are looked at */

void cap_init(struct sup *s)
{
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++)
		s->capture_fd[i] = -1;
}

/* One region per stack; the supervisor maps it too, to clear a dead
 * client's points (capture.h PROTOCOL 5). */
int cap_channels(struct sup *s)
{
	for (unsigned i = 0; i < s->cfg->npipelines; i++) {
		const char *why = NULL;
		int err;

		if (s->control_fd[i] < 0)
			continue;	/* no stack in pipeline i */
		s->capture_fd[i] = fn_cap_create(i, FN_CAP_SLOTS,
						 FN_CAP_SLOT_SIZE);
		err = s->capture_fd[i];
		if (err >= 0)
			err = fn_cap_attach(&s->cap[i], s->capture_fd[i], false,
					    &why);
		if (err < 0) {
			sup_fail(s, "cannot create capture region %u: %s", i,
				 why ? why : strerror(-err));
			return err;
		}
	}
	return 0;
}

static bool pid_alive(int32_t pid)
{
	return topo_pid_alive((pid_t)pid);
}

/* While any region has an owner, a look once a second (timer_arm). */
uint64_t cap_deadline(struct sup *s)
{
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		if (!s->cap[i].hdr || !fn_cap_owner(&s->cap[i]))
			continue;
		if (!s->cap_check_ns)
			s->cap_check_ns = sup_now_ns() + CAP_CHECK_NS;
		return s->cap_check_ns;
	}
	return UINT64_MAX;
}

/* A client killed without fn_cap_stop(): its points off, the region free. */
void cap_tick(struct sup *s, uint64_t now)
{
	if (!s->cap_check_ns || now < s->cap_check_ns)
		return;
	s->cap_check_ns = 0;
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		struct fn_cap *c = &s->cap[i];
		int32_t owner;

		if (!c->hdr)
			continue;
		owner = fn_cap_owner(c);
		if (owner == 0 || (owner > 0 && pid_alive(owner)))
			continue;
		/* a client that claimed it since keeps it: the CAS fails */
		if (fn_cap_stop(c, owner))
			fn_info("capture %u: client %d is gone; capture off",
				i, (int)owner);
	}
}

/* "capture N": the region of stack N by SCM_RIGHTS (ctl.h). */
void cap_serve(struct sup *s, int fd, const char *arg)
{
	char msg[128], *end;
	unsigned long i = arg ? strtoul(arg, &end, 10) : 0;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (!arg || *end || i >= FN_MAX_PIPELINES || s->capture_fd[i] < 0) {
		snprintf(msg, sizeof(msg), FN_CTL_ERR_PREFIX
			 "capture: no stack in pipeline %s\n", arg ? arg : "");
		ctl_reply(fd, msg, strlen(msg));
		return;
	}
	snprintf(msg, sizeof(msg), "capture %lu\n", i);
	iov = (struct iovec){ msg, strlen(msg) };
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s->capture_fd[i], sizeof(int));
	/* one short message: the socket buffer takes it without waiting */
	if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		fn_warn("control: capture %lu: %s", i, strerror(errno));
}

void cap_close(struct sup *s)
{
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		fn_cap_detach(&s->cap[i]);
		if (s->capture_fd[i] >= 0)
			close(s->capture_fd[i]);
		s->capture_fd[i] = -1;
	}
}
