/*
 * cap_sup.c - the supervisor's side of packet capture (fragnet/capture.h):
 * a capture region per stack and per vswitch, made once at `up` and kept
 * across restarts; handed to `fragnet capture` over the control socket
 * (ctl.h, "capture N" and "capture-vsw NET"); its dead owner's capture
 * switched off on the timer.
 *
 * Called from supervisor.c: cap_init() from sup_prepare() (after
 * net_init()), cap_channels() from channels_make() (after
 * net_channels()), cap_tick() from on_timer(), cap_serve() and
 * cap_serve_vsw() from ctl_dispatch(), cap_close() from channels_close();
 * spawn.c passes s->capture_fd[i] to stack i and s->net[n].capture_fd to
 * vswitch n (comp->capture_fd).
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
	for (unsigned n = 0; n < FN_MAX_NETWORKS; n++)
		s->net[n].capture_fd = -1;
}

/* One region called name into *fd, mapped at *c: the supervisor maps it
 * too, to clear a dead client's points (capture.h PROTOCOL 5). */
static int region_make(struct sup *s, const char *name, int *fd,
		       struct fn_cap *c)
{
	const char *why = NULL;
	int err;

	*fd = fn_cap_create(name, FN_CAP_SLOTS, FN_CAP_SLOT_SIZE);
	err = *fd;
	if (err >= 0)
		err = fn_cap_attach(c, *fd, false, &why);
	if (err < 0)
		sup_fail(s, "cannot create capture region %s: %s", name,
			 why ? why : strerror(-err));
	return err;
}

/* One region per stack and one per network's switch. */
int cap_channels(struct sup *s)
{
	char name[64];
	int err;

	for (unsigned i = 0; i < s->cfg->npipelines; i++) {
		if (s->control_fd[i] < 0)
			continue;	/* no stack in pipeline i */
		snprintf(name, sizeof(name), FN_MEMFD_CAPTURE_FMT, i);
		err = region_make(s, name, &s->capture_fd[i], &s->cap[i]);
		if (err < 0)
			return err;
	}
	for (unsigned n = 0; n < s->cfg->nnetworks; n++) {
		snprintf(name, sizeof(name), FN_MEMFD_CAPTURE_VSW_FMT,
			 s->cfg->network[n].name);
		err = region_make(s, name, &s->net[n].capture_fd,
				  &s->net[n].cap);
		if (err < 0)
			return err;
	}
	return 0;
}

static bool pid_alive(int32_t pid)
{
	return topo_pid_alive((pid_t)pid);
}

static bool owned(const struct fn_cap *c)
{
	return c->hdr && fn_cap_owner(c) != 0;
}

/* While any region has an owner, a look once a second (timer_arm). */
uint64_t cap_deadline(struct sup *s)
{
	bool any = false;

	for (unsigned i = 0; i < FN_MAX_PIPELINES && !any; i++)
		any = owned(&s->cap[i]);
	for (unsigned n = 0; n < FN_MAX_NETWORKS && !any; n++)
		any = owned(&s->net[n].cap);
	if (!any)
		return UINT64_MAX;
	if (!s->cap_check_ns)
		s->cap_check_ns = sup_now_ns() + CAP_CHECK_NS;
	return s->cap_check_ns;
}

/* A client of region `what` killed without fn_cap_stop(): its points
 * off, the region free. */
static void region_check(struct fn_cap *c, const char *what)
{
	int32_t owner;

	if (!c->hdr)
		return;
	owner = fn_cap_owner(c);
	if (owner == 0 || (owner > 0 && pid_alive(owner)))
		return;
	/* a client that claimed it since keeps it: the CAS fails */
	if (fn_cap_stop(c, owner))
		fn_info("capture %s: client %d is gone; capture off", what,
			(int)owner);
}

void cap_tick(struct sup *s, uint64_t now)
{
	char what[48];

	if (!s->cap_check_ns || now < s->cap_check_ns)
		return;
	s->cap_check_ns = 0;
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		snprintf(what, sizeof(what), "%u", i);
		region_check(&s->cap[i], what);
	}
	for (unsigned n = 0; n < s->cfg->nnetworks; n++) {
		snprintf(what, sizeof(what), FN_VSW_COMPONENT "/%s",
			 s->cfg->network[n].name);
		region_check(&s->net[n].cap, what);
	}
}

/* The reply msg with region fd cap_fd by SCM_RIGHTS (ctl.h). */
static void send_region(int fd, const char *msg, int cap_fd)
{
	int err = ctl_send_fd(fd, msg, cap_fd);

	if (err < 0)
		fn_warn("control: %.*s: %s", (int)strcspn(msg, "\n"), msg,
			strerror(-err));
}

static void refuse(int fd, const char *why, const char *arg)
{
	char msg[128];

	snprintf(msg, sizeof(msg), FN_CTL_ERR_PREFIX "%s %s\n", why,
		 arg ? arg : "");
	ctl_reply(fd, msg, strlen(msg));
}

/* "capture N": the region of stack N. */
void cap_serve(struct sup *s, int fd, const char *arg)
{
	char msg[64], *end = NULL;
	unsigned long i = 0;

	if (arg && arg[0] >= '0' && arg[0] <= '9')
		i = strtoul(arg, &end, 10);
	if (!end || *end || i >= FN_MAX_PIPELINES || s->capture_fd[i] < 0) {
		refuse(fd, "capture: no stack in pipeline", arg);
		return;
	}
	snprintf(msg, sizeof(msg), FN_CTL_CAPTURE " %lu\n", i);
	send_region(fd, msg, s->capture_fd[i]);
}

/* "capture-vsw NET": the region of network NET's switch. */
void cap_serve_vsw(struct sup *s, int fd, const char *arg)
{
	char msg[64];

	for (unsigned n = 0; arg && n < s->cfg->nnetworks; n++) {
		if (strcmp(arg, s->cfg->network[n].name) != 0 ||
		    s->net[n].capture_fd < 0)
			continue;
		snprintf(msg, sizeof(msg), FN_CTL_CAPTURE_VSW " %s\n", arg);
		send_region(fd, msg, s->net[n].capture_fd);
		return;
	}
	refuse(fd, "capture: no network", arg);
}

static void region_close(int *fd, struct fn_cap *c)
{
	fn_cap_detach(c);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void cap_close(struct sup *s)
{
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++)
		region_close(&s->capture_fd[i], &s->cap[i]);
	for (unsigned n = 0; n < FN_MAX_NETWORKS; n++)
		region_close(&s->net[n].capture_fd, &s->net[n].cap);
}
