/*
 * supervisor.c - the supervisor: `fragnet up CONFIG` once it is past its
 * checks.  It owns every channel and every component of one topology.
 *
 * Call sequence (from up.c):
 *   sup_prepare()  no side effects: component table, argv, the app's user,
 *                  cpu placement.  Any error here is a config error.
 *   sup_run()      signals -> run dir (refuse a live one, clean a stale one)
 *                  -> control socket -> channels -> pid file -> spawn all
 *                  -> main loop -> stop all -> remove everything.
 *   sup_fini()     frees what sup_prepare() allocated.
 *
 * Main loop: one epoll over a signalfd (SIGCHLD, SIGINT, SIGTERM), a timerfd
 * armed to the earliest restart / kill / settle deadline, the listening
 * control socket and its accepted connections, and with [topology] metrics
 * the channel of `fragnet metrics-serve` (metrics.c).  Single-threaded: every
 * state change happens here, so nothing is locked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/ctl.h"
#include "fragnet/log.h"
#include "fragnet/sockchan.h"
#include "fragnet/stream.h"
#include "sup.h"

#define NS_PER_MS	1000000ull

/* epoll data: a tag in the high half, an fd in the low half. */
enum { TAG_SIGNAL = 1, TAG_TIMER, TAG_LISTEN, TAG_CONN, TAG_METRICS };
#define EP_DATA(tag, fd)	(((uint64_t)(tag) << 32) | (uint32_t)(fd))
#define EP_TAG(d)		((unsigned)((d) >> 32))
#define EP_FD(d)		((int)(uint32_t)(d))

/* The supervisor's clock; a function of its own so that tests of
 * report.c can fix "now" (tests/unit/test_report.c). */
uint64_t sup_now_ns(void)
{
	return (uint64_t)fn_clock_ns();
}

/* Log an error and keep it for `up -d`, whose parent prints it. */
void sup_fail(struct sup *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	fn_err("%s", s->error);
}

const char *comp_state_name(const struct comp *c, uint64_t now)
{
	switch (c->state) {
	case CS_RUNNING:
		return now - c->started_ns < SUP_SETTLE_MS * NS_PER_MS ?
		       "starting" : "running";
	case CS_BACKOFF:	return "backoff";
	case CS_STOPPING:	return "stopping";
	case CS_WAITING:	return "waiting";
	case CS_FAILED:		return "failed";
	case CS_STOPPED:	break;
	}
	return "stopped";
}

/* ---- sup_prepare: the component table ------------------------------------ */

static bool role_runs(const struct fn_component_conf *cc)
{
	return cc->exec[0] != '\0';
}

/* {address} of component c: its pipeline's uplink address, or "". */
static const char *comp_address(const struct sup *s, const struct comp *c,
				char buf[INET_ADDRSTRLEN])
{
	uint32_t a = c->pipeline >= 0 ?
		     s->cfg->pipeline[c->pipeline].stack_address.addr : 0;

	buf[0] = '\0';
	if (a)
		inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
	return buf;
}

/* argv[0] is the exec's basename, then the split args. */
static int comp_argv(const struct sup *s, struct comp *c, char *err,
		     size_t errlen)
{
	const char *base = strrchr(c->conf->exec, '/');
	char addr[INET_ADDRSTRLEN];
	size_t n;
	int argc;

	base = base ? base + 1 : c->conf->exec;
	n = strlen(base) + 1;
	memcpy(c->argbuf, base, n);
	c->argv[0] = c->argbuf;
	argc = fn_config_split_args(c->conf->args, c->pipeline >= 0 ?
				    (unsigned)c->pipeline : c->network >= 0 ?
				    (unsigned)c->network : 0,
				    s->cfg->run_dir, comp_address(s, c, addr),
				    c->argbuf + n,
				    sizeof(c->argbuf) - n, c->argv + 1,
				    FN_MAX_ARGS + 1);
	if (argc < 0)
		snprintf(err, errlen, "%s: args: %s", c->label,
			 argc == -E2BIG ? "too many or too long" :
			 "bad quoting");
	return argc < 0 ? argc : 0;
}

/* network: a vswitch's network index, else -1. */
static int comp_init(struct sup *s, struct comp *c, enum fn_role role,
		     int pipeline, int network,
		     const struct fn_component_conf *conf)
{
	unsigned hist = s->cfg->restart.crash_loop_limit;

	c->role = role;
	c->pipeline = pipeline;
	c->network = network;
	c->conf = conf;
	if (network >= 0)
		snprintf(c->label, sizeof(c->label), "%s/%s",
			 fn_role_name(role), s->cfg->network[network].name);
	else if (pipeline < 0)
		snprintf(c->label, sizeof(c->label), "%s", fn_role_name(role));
	else
		snprintf(c->label, sizeof(c->label), "%s/%d",
			 fn_role_name(role), pipeline);
	c->link_fd = c->control_fd = c->stats_fd = -1;
	c->sockchan_fd = c->stack_bell_fd = c->app_bell_fd = -1;
	c->driver_bell_fd = c->capture_fd = -1;
	c->backoff_ms = s->cfg->restart.backoff_ms;
	c->history = calloc(hist ? hist : 1, sizeof(*c->history));
	if (!c->history)
		return -ENOMEM;
	return comp_argv(s, c, s->error, sizeof(s->error));
}

static unsigned comps_count(const struct fn_config *cfg)
{
	unsigned n = role_runs(&cfg->role[FN_ROLE_NIC]) + cfg->nnetworks;

	for (unsigned i = 0; i < cfg->npipelines; i++)
		for (int r = FN_ROLE_DRIVER; r <= FN_ROLE_APP; r++)
			n += role_runs(&cfg->pipeline[i].comp[r]);
	return n;
}

/* A vswitch per network: "vswitch/<network>", FRAGNET_PIPELINE its
 * network's index (vswitch.h). */
static int comps_build_vswitches(struct sup *s)
{
	for (unsigned n = 0; n < s->cfg->nnetworks; n++) {
		struct comp *c = &s->comp[s->ncomp++];
		int err = comp_init(s, c, FN_ROLE_VSWITCH, -1, (int)n,
				    &s->cfg->network[n].vswitch);

		if (err < 0)
			return err;
	}
	return 0;
}

/* Spawn order: nic, every driver, every vswitch, every stack, every app. */
static int comps_build(struct sup *s)
{
	const struct fn_config *cfg = s->cfg;
	struct comp *nic = NULL;
	int err;

	s->comp = calloc(comps_count(cfg) + 1, sizeof(*s->comp));
	if (!s->comp)
		return -ENOMEM;
	if (role_runs(&cfg->role[FN_ROLE_NIC])) {
		nic = &s->comp[s->ncomp++];
		err = comp_init(s, nic, FN_ROLE_NIC, -1, -1,
				&cfg->role[FN_ROLE_NIC]);
		if (err < 0)
			return err;
	}
	for (int r = FN_ROLE_DRIVER; r <= FN_ROLE_APP; r++) {
		if (r == FN_ROLE_STACK && (err = comps_build_vswitches(s)) < 0)
			return err;
		for (unsigned i = 0; i < cfg->npipelines; i++) {
			const struct fn_component_conf *cc =
				&cfg->pipeline[i].comp[r];
			struct comp *c = &s->comp[s->ncomp];

			if (!role_runs(cc))
				continue;
			s->ncomp++;
			err = comp_init(s, c, (enum fn_role)r, (int)i, -1, cc);
			if (err < 0)
				return err;
			if (r == FN_ROLE_DRIVER)
				c->parent = nic;
		}
	}
	return 0;
}

/*
 * Everything that can be checked before anything is created.  Returns 0,
 * or a negative errno with the reason in s->error (a config error).
 */
int sup_prepare(struct sup *s, const struct fn_config *cfg, int log_level)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->log_level = log_level;
	s->epfd = s->sigfd = s->timerfd = s->listen_fd = -1;
	s->down_fd = s->notify_fd = -1;
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++)
		s->link_fd[i] = s->control_fd[i] = s->sockchan_fd[i] =
			s->stack_bell_fd[i] = s->app_bell_fd[i] =
			s->driver_bell_fd[i] = -1;
	net_init(s);
	cap_init(s);
	metrics_init(s);
	for (unsigned i = 0; i < SUP_MAX_CONN; i++)
		s->conn[i] = -1;
	if (sched_getaffinity(0, sizeof(s->allowed), &s->allowed) < 0) {
		snprintf(s->error, sizeof(s->error), "sched_getaffinity: %s",
			 strerror(errno));
		return -errno;
	}
	err = comps_build(s);
	if (err == -ENOMEM)
		snprintf(s->error, sizeof(s->error), "out of memory");
	if (err < 0)
		return err;
	if (s->ncomp == 0) {
		snprintf(s->error, sizeof(s->error),
			 "%s: no component to run (every exec is none)",
			 cfg->path);
		return -EINVAL;
	}
	err = spawn_resolve_user(&s->user, cfg->app.user, s->error,
				 sizeof(s->error));
	if (err < 0)
		return err;
	err = spawn_resolve_confined(s);
	if (err < 0)
		return err;
	err = spawn_resolve_metrics(s);
	if (err < 0)
		return err;
	return place_all(s, s->error, sizeof(s->error));
}

void sup_fini(struct sup *s)
{
	for (unsigned i = 0; s->comp && i < s->ncomp; i++)
		free(s->comp[i].history);
	free(s->comp);
	s->comp = NULL;
	spawn_user_fini(&s->user);
	spawn_user_fini(&s->confined);
	spawn_user_fini(&s->metrics_user);
}

/* ---- run directory and channels ------------------------------------------ */

static int rundir_make(struct sup *s)
{
	const char *dir = s->cfg->run_dir;
	pid_t pid = topo_live_pid(dir);
	int err;

	if (pid > 0) {
		sup_fail(s, "topology %s is already running (supervisor pid %d)",
			 s->cfg->name, (int)pid);
		return -EEXIST;
	}
	err = topo_clean(dir);
	if (err == -ENOTEMPTY) {
		sup_fail(s, "stale run dir %s holds files fragnet did not make; "
			 "not touching it", dir);
		return err;
	}
	if (err < 0) {
		sup_fail(s, "cannot clean stale %s: %s", dir, strerror(-err));
		return err;
	}
	if (mkdir(FN_RUN_ROOT, 0755) < 0 && errno != EEXIST) {
		sup_fail(s, "cannot create " FN_RUN_ROOT ": %s", strerror(errno));
		return -errno;
	}
	/* mkdir is the lock: of two concurrent `up`s only one gets here. */
	if (mkdir(dir, 0700) < 0) {
		err = -errno;
		sup_fail(s, "cannot create %s: %s", dir, strerror(errno));
		return err;
	}
	s->run_dir_made = true;
	return chmod(dir, 0700) < 0 ? -errno : 0;
}

static int listen_make(struct sup *s, const char *name, int flags)
{
	char path[PATH_MAX];
	int fd = ctl_sock_path(s->cfg->run_dir, name, path, sizeof(path));

	if (fd >= 0)
		fd = ctl_listen(path, flags);
	if (fd < 0)
		sup_fail(s, "cannot listen on %s/%s: %s", s->cfg->run_dir, name,
			 strerror(-fd));
	return fd;
}

static int bell_make(struct sup *s, unsigned i, const char *who)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), err = errno;

	if (fd >= 0)
		return fd;
	sup_fail(s, "cannot create the %s bell of pipeline %u: %s", who, i,
		 strerror(err));
	return -err;
}

/* The socket channel and the app's bell, for a pipeline whose stack and app
 * both run (sockchan.h, TRANSPORT). */
static int pipeline_sockchan(struct sup *s, unsigned i)
{
	char name[64];

	snprintf(name, sizeof(name), FN_MEMFD_SOCKCHAN_FMT, i);
	s->sockchan_fd[i] = fn_link_create(name, FN_SOCKCHAN_SLOTS,
					   FN_SOCKCHAN_SLOT);
	if (s->sockchan_fd[i] < 0) {
		sup_fail(s, "cannot create socket channel %u: %s", i,
			 strerror(-s->sockchan_fd[i]));
		return s->sockchan_fd[i];
	}
	s->app_bell_fd[i] = bell_make(s, i, "app");
	return s->app_bell_fd[i] < 0 ? s->app_bell_fd[i] : 0;
}

static int pipeline_channels(struct sup *s, unsigned i)
{
	const struct fn_pipeline_conf *pc = &s->cfg->pipeline[i];
	char name[64];

	if (role_runs(&pc->comp[FN_ROLE_DRIVER]) &&
	    role_runs(&pc->comp[FN_ROLE_STACK])) {
		snprintf(name, sizeof(name), FN_MEMFD_LINK_FMT, i);
		s->link_fd[i] = fn_link_create(name, s->cfg->link.slots,
					       s->cfg->link.slot_size);
		if (s->link_fd[i] < 0) {
			sup_fail(s, "cannot create link %u: %s", i,
				 strerror(-s->link_fd[i]));
			return s->link_fd[i];
		}
		s->driver_bell_fd[i] = bell_make(s, i, "driver");
		if (s->driver_bell_fd[i] < 0)
			return s->driver_bell_fd[i];
	}
	if (role_runs(&pc->comp[FN_ROLE_STACK])) {
		snprintf(name, sizeof(name), FN_CONTROL_SOCK_FMT, i);
		s->control_fd[i] = listen_make(s, name, 0);
		if (s->control_fd[i] < 0)
			return s->control_fd[i];
		s->stack_bell_fd[i] = bell_make(s, i, "stack");
		if (s->stack_bell_fd[i] < 0)
			return s->stack_bell_fd[i];
		if (role_runs(&pc->comp[FN_ROLE_APP]))
			return pipeline_sockchan(s, i);
	}
	return 0;
}

static int comp_stats(struct sup *s, struct comp *c)
{
	c->stats_fd = fn_stats_create(fn_role_name(c->role),
				      c->network >= 0 ? c->network : c->pipeline,
				      FN_STATS_PAGE_SIZE);
	if (c->stats_fd < 0) {
		sup_fail(s, "%s: cannot create stats page: %s", c->label,
			 strerror(-c->stats_fd));
		return c->stats_fd;
	}
	c->stats = fn_stats_map_ro(c->stats_fd, FN_STATS_PAGE_SIZE);
	if (!c->stats) {
		int err = -errno;

		sup_fail(s, "%s: cannot map stats page: %s", c->label,
			 strerror(-err));
		return err;
	}
	return 0;
}

/* Links, control sockets, socket channels and doorbells per pipeline,
 * then the internal networks (net.c), a stats page per component.  They
 * outlive restarts: a restarted component gets the same ones. */
static int channels_make(struct sup *s)
{
	int err;

	for (unsigned i = 0; i < s->cfg->npipelines; i++) {
		err = pipeline_channels(s, i);
		if (err < 0)
			return err;
	}
	err = net_channels(s);
	if (err < 0)
		return err;
	err = cap_channels(s);
	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];

		err = comp_stats(s, c);
		if (err < 0)
			return err;
		/* The stack rings the driver's bell, as the driver rings the
		 * stack's (names.h). */
		if (c->role == FN_ROLE_DRIVER || c->role == FN_ROLE_STACK) {
			c->link_fd = s->link_fd[c->pipeline];
			c->driver_bell_fd = s->driver_bell_fd[c->pipeline];
		}
		if (c->role == FN_ROLE_STACK) {
			c->control_fd = s->control_fd[c->pipeline];
			c->capture_fd = s->capture_fd[c->pipeline];
		}
		if (c->role == FN_ROLE_VSWITCH)
			c->capture_fd = s->net[c->network].capture_fd;
		if (c->role == FN_ROLE_STACK || c->role == FN_ROLE_APP) {
			c->sockchan_fd = s->sockchan_fd[c->pipeline];
			c->app_bell_fd = s->app_bell_fd[c->pipeline];
		}
		/* The driver rings the stack; an app without a channel has
		 * nothing to ring it for. */
		if (c->role == FN_ROLE_STACK || c->role == FN_ROLE_DRIVER ||
		    (c->role == FN_ROLE_APP && c->sockchan_fd >= 0))
			c->stack_bell_fd = s->stack_bell_fd[c->pipeline];
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void channels_close(struct sup *s)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		fn_stats_unmap(s->comp[i].stats, FN_STATS_PAGE_SIZE);
		s->comp[i].stats = NULL;
		close_fd(&s->comp[i].stats_fd);
	}
	net_close(s);
	cap_close(s);
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		close_fd(&s->link_fd[i]);
		close_fd(&s->control_fd[i]);
		close_fd(&s->sockchan_fd[i]);
		close_fd(&s->stack_bell_fd[i]);
		close_fd(&s->app_bell_fd[i]);
		close_fd(&s->driver_bell_fd[i]);
	}
}

/* ---- event sources ------------------------------------------------------- */

static int epoll_add(struct sup *s, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* The metrics child's channel (metrics.c): its input goes to
 * metrics_on_chan().  Closing the fd takes it out of the set. */
int sup_watch_metrics(struct sup *s, int fd)
{
	return epoll_add(s, fd, EP_DATA(TAG_METRICS, fd));
}

/* Blocked before the first fork, so no SIGCHLD can be missed; the child
 * resets its mask before exec. */
static int events_open(struct sup *s)
{
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		goto err_sys;
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sigfd < 0 || s->timerfd < 0 || s->epfd < 0)
		goto err_sys;
	if (epoll_add(s, s->sigfd, EP_DATA(TAG_SIGNAL, s->sigfd)) < 0 ||
	    epoll_add(s, s->timerfd, EP_DATA(TAG_TIMER, s->timerfd)) < 0)
		goto err_sys;
	return 0;
err_sys:
	err = -errno;
	sup_fail(s, "cannot set up the event loop: %s", strerror(-err));
	return err;
}

static void events_close(struct sup *s)
{
	for (unsigned i = 0; i < SUP_MAX_CONN; i++)
		close_fd(&s->conn[i]);
	close_fd(&s->epfd);
	close_fd(&s->timerfd);
	close_fd(&s->sigfd);
}

static void timer_arm(struct sup *s)
{
	struct itimerspec its = { 0 };
	uint64_t when = s->ready ? postup_deadline(s) : s->ready_ns;

	for (unsigned i = 0; i < s->ncomp; i++) {
		uint64_t d = comp_deadline(&s->comp[i]);
		if (d < when)
			when = d;
	}
	if (cap_deadline(s) < when)
		when = cap_deadline(s);
	if (metrics_deadline(s) < when)
		when = metrics_deadline(s);
	if (failover_deadline(s) < when)
		when = failover_deadline(s);
	if (when != UINT64_MAX) {
		/* 0 would disarm: a deadline already past fires at once. */
		when = when ? when : 1;
		its.it_value.tv_sec = (time_t)(when / 1000000000ull);
		its.it_value.tv_nsec = (long)(when % 1000000000ull);
	}
	timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- children ------------------------------------------------------------ */

static struct comp *comp_by_pid(struct sup *s, pid_t pid)
{
	for (unsigned i = 0; i < s->ncomp; i++)
		if (s->comp[i].pid == pid)
			return &s->comp[i];
	return NULL;
}

static void reap_all(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct comp *c = comp_by_pid(s, pid);

		if (c)
			comp_exited(s, c, status, sup_now_ns());
		else if (!nft_reaped(s, pid, status) &&
			 !metrics_reaped(s, pid, status) &&
			 !failover_reaped(s, pid, status))
			postup_reaped(s, pid, status);
	}
}

static void startup_done(struct sup *s);

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	/* A late timer must not turn an exit after the settle time into a
	 * failed start. */
	if (!s->ready && !s->stop && sup_now_ns() >= s->ready_ns)
		startup_done(s);

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_all(s);
		} else if (!s->stop) {
			fn_info("%s: stopping topology %s",
				strsignal((int)si.ssi_signo), s->cfg->name);
			s->stop = true;
		}
	}
}

/* The topology has settled: tell the waiting `up -d` parent, or with
 * [cluster] make the cluster first (postup.c tells the parent). */
static void startup_done(struct sup *s)
{
	s->ready = true;
	fn_info("topology %s up: %u components, run dir %s", s->cfg->name,
		s->ncomp, s->cfg->run_dir);
	if (s->cfg->cluster.enabled) {
		postup_start(s);
		return;
	}
	if (s->notify_fd >= 0) {
		ssize_t w = write(s->notify_fd, "ok\n", 3);
		(void)w;
		close_fd(&s->notify_fd);
	}
}

static void on_timer(struct sup *s)
{
	uint64_t ticks, now = sup_now_ns();
	ssize_t r = read(s->timerfd, &ticks, sizeof(ticks));

	(void)r;
	if (!s->ready && !s->stop && now >= s->ready_ns)
		startup_done(s);
	for (unsigned i = 0; i < s->ncomp; i++)
		comp_tick(s, &s->comp[i], now);
	postup_tick(s, now);
	failover_tick(s, now);
	cap_tick(s, now);
	metrics_tick(s, now);
}

/* Start every component in spawn order.  Any failure fails the `up`. */
static int spawn_all(struct sup *s)
{
	uint64_t now = sup_now_ns();

	for (unsigned i = 0; i < s->ncomp; i++) {
		int err = comp_start(s, &s->comp[i], now);
		if (err < 0)
			return err;
		s->comp[i].backoff_ms = s->cfg->restart.backoff_ms;
	}
	s->ready_ns = sup_now_ns() + SUP_SETTLE_MS * NS_PER_MS;
	return 0;
}

/* ---- control connections ------------------------------------------------- */

static void conn_close(struct sup *s, int fd)
{
	for (unsigned i = 0; i < SUP_MAX_CONN; i++)
		if (s->conn[i] == fd)
			s->conn[i] = -1;
	close(fd);
}

static void on_listen(struct sup *s)
{
	for (;;) {
		int fd = ctl_accept(s->listen_fd);
		unsigned i;

		if (fd == -EPERM) {
			fn_warn("control: refused a non-root client");
			continue;
		}
		if (fd == -ECONNABORTED || fd == -EINTR)
			continue;
		if (fd < 0)
			return;		/* -EAGAIN: all accepted */
		for (i = 0; i < SUP_MAX_CONN && s->conn[i] >= 0; i++)
			;
		if (i == SUP_MAX_CONN ||
		    epoll_add(s, fd, EP_DATA(TAG_CONN, fd)) < 0) {
			close(fd);
			continue;
		}
		s->conn[i] = fd;
	}
}

static void reply_text(int fd, void (*fn)(const struct sup *, struct sbuf *),
		       const struct sup *s)
{
	struct sbuf b = { 0 };

	fn(s, &b);
	if (b.oom) {
		const char *m = FN_CTL_ERR_PREFIX "out of memory\n";
		ctl_reply(fd, m, strlen(m));
	} else {
		ctl_reply(fd, b.p, b.len);
	}
	sb_free(&b);
}

/* Returns true when fd stays open (the `down` client, told at the end). */
static bool ctl_dispatch(struct sup *s, int fd, char *cmd)
{
	char msg[128], *arg = strchr(cmd, ' ');

	if (arg)	/* ctl_read_request let only "WORD [A-Za-z0-9_-]+" */
		*arg++ = '\0';
	if (strcmp(cmd, FN_CTL_CAPTURE) == 0) {
		cap_serve(s, fd, arg);
	} else if (strcmp(cmd, FN_CTL_CAPTURE_VSW) == 0) {
		cap_serve_vsw(s, fd, arg);
	} else if (arg) {
		snprintf(msg, sizeof(msg), FN_CTL_ERR_PREFIX
			 "'%s' takes no argument\n", cmd);
		ctl_reply(fd, msg, strlen(msg));
	} else if (strcmp(cmd, FN_CTL_STATUS) == 0) {
		reply_text(fd, report_status, s);
	} else if (strcmp(cmd, FN_CTL_STATS) == 0) {
		reply_text(fd, report_stats, s);
	} else if (strcmp(cmd, FN_CTL_STATS_JSON) == 0) {
		reply_text(fd, report_stats_json, s);
	} else if (strcmp(cmd, FN_CTL_STATS_PROM) == 0) {
		reply_text(fd, report_stats_prom, s);
	} else if (strcmp(cmd, FN_CTL_DOWN) == 0 && s->down_fd < 0) {
		fn_info("control: down: stopping topology %s", s->cfg->name);
		snprintf(msg, sizeof(msg), "stopping topology %s\n",
			 s->cfg->name);
		ctl_reply(fd, msg, strlen(msg));
		s->down_fd = fd;
		s->stop = true;
		return true;
	} else {
		snprintf(msg, sizeof(msg),
			 FN_CTL_ERR_PREFIX "unknown command '%s'\n", cmd);
		ctl_reply(fd, msg, strlen(msg));
	}
	return false;
}

static void on_conn(struct sup *s, int fd)
{
	char cmd[FN_CTL_REQ_MAX];
	int err = ctl_read_request(fd, cmd, sizeof(cmd));

	if (err == -EAGAIN || err == -EINTR)
		return;
	if (err == -EBADMSG) {
		const char *m = FN_CTL_ERR_PREFIX "bad request\n";
		ctl_reply(fd, m, strlen(m));
	}
	if (err < 0) {
		conn_close(s, fd);
		return;
	}
	/* The down client leaves the epoll set but stays open. */
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (ctl_dispatch(s, fd, cmd)) {
		for (unsigned i = 0; i < SUP_MAX_CONN; i++)
			if (s->conn[i] == fd)
				s->conn[i] = -1;
		return;
	}
	conn_close(s, fd);
}

static void dispatch(struct sup *s, uint64_t data)
{
	switch (EP_TAG(data)) {
	case TAG_SIGNAL:
		on_signal(s);
		break;
	case TAG_TIMER:
		on_timer(s);
		break;
	case TAG_LISTEN:
		on_listen(s);
		break;
	case TAG_CONN:
		on_conn(s, EP_FD(data));
		break;
	case TAG_METRICS:
		metrics_on_chan(s);
		break;
	}
}

static void loop_run(struct sup *s)
{
	struct epoll_event ev[16];

	while (!s->stop) {
		timer_arm(s);
		int n = epoll_wait(s->epfd, ev, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sup_fail(s, "epoll_wait: %s", strerror(errno));
			s->exit_code = EXIT_RUNTIME;
			return;
		}
		for (int i = 0; i < n && !s->stop; i++)
			dispatch(s, ev[i].data.u64);
	}
}

/* ---- stop ---------------------------------------------------------------- */

static bool roles_alive(const struct sup *s, unsigned role_mask)
{
	for (unsigned i = 0; i < s->ncomp; i++)
		if ((role_mask & (1u << s->comp[i].role)) && s->comp[i].pid > 0)
			return true;
	return false;
}

/* Reap until no component of role_mask is left or the deadline passes. */
static void wait_roles(struct sup *s, unsigned role_mask, uint64_t deadline)
{
	while (roles_alive(s, role_mask)) {
		uint64_t now = sup_now_ns();
		struct pollfd pfd = { .fd = s->sigfd, .events = POLLIN };

		if (now >= deadline)
			return;
		int ms = (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
		if (poll(&pfd, 1, ms) > 0)
			on_signal(s);
	}
}

static void kill_and_reap_all(struct sup *s)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];
		int status;

		if (c->pid <= 0)
			continue;
		fn_warn("%s pid %d did not stop in time: SIGKILL", c->label,
			(int)c->pid);
		comp_signal(c, SIGKILL);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		comp_exited(s, c, status, sup_now_ns());
	}
}

/*
 * Stop in reverse spawn order: apps, stacks, vswitches, drivers, nic, so
 * that nobody loses its peer while it still works.  Each role gets SIGTERM
 * and a turn of a fifth of stop_timeout_ms to exit; a role that overruns
 * its turn does not hold the next one back (a stuck app must not cost its
 * stack a clean stop).  Whatever is left when the whole stop_timeout_ms
 * has passed gets SIGKILL.
 */
static void stop_all(struct sup *s)
{
	static const enum fn_role order[] = {
		FN_ROLE_APP, FN_ROLE_STACK, FN_ROLE_VSWITCH, FN_ROLE_DRIVER,
		FN_ROLE_NIC,
	};
	const unsigned nstages = sizeof(order) / sizeof(order[0]);
	uint64_t start = sup_now_ns();
	uint64_t budget = s->cfg->restart.stop_timeout_ms * NS_PER_MS;

	s->stop = true;
	metrics_stop(s);
	postup_stop(s);
	failover_stop(s);
	for (unsigned r = 0; r < nstages; r++) {
		for (unsigned i = 0; i < s->ncomp; i++)
			if (s->comp[i].role == order[r])
				comp_signal(&s->comp[i], SIGTERM);
		wait_roles(s, 1u << order[r], start + budget * (r + 1) / nstages);
	}
	wait_roles(s, ~0u, start + budget);
	kill_and_reap_all(s);
	for (unsigned i = 0; i < s->ncomp; i++)
		if (s->comp[i].state != CS_FAILED)
			s->comp[i].state = CS_STOPPED;
}

/* Everything is reaped: a nic killed with -9 (now or earlier) may have
 * left hugepage files and EAL's runtime directory; remove them. */
static void dpdk_leftovers_clean(struct sup *s)
{
	if (role_runs(&s->cfg->role[FN_ROLE_NIC]))
		sup_dpdk_clean(s->cfg->name);
}

/* Remove the run directory; the `down` client learns it is done by EOF. */
static void rundir_remove(struct sup *s)
{
	int err;

	if (!s->run_dir_made)
		return;
	err = topo_clean(s->cfg->run_dir);
	if (err < 0)
		fn_warn("cannot remove %s: %s", s->cfg->run_dir, strerror(-err));
	s->run_dir_made = false;
}

static void notify_result(struct sup *s)
{
	const char *msg = s->error[0] ? s->error : "stopped during startup";

	if (s->notify_fd < 0)
		return;
	ssize_t w = write(s->notify_fd, msg, strlen(msg));
	(void)w;
	close_fd(&s->notify_fd);
}

static void down_done(struct sup *s)
{
	char msg[128];

	if (s->down_fd < 0)
		return;
	snprintf(msg, sizeof(msg), "topology %s stopped\n", s->cfg->name);
	send(s->down_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	close_fd(&s->down_fd);
}

/* ---- sup_run ------------------------------------------------------------- */

static int sup_start(struct sup *s)
{
	int err = events_open(s);

	if (!err)
		err = rundir_make(s);
	if (!err) {
		s->listen_fd = listen_make(s, FN_SUPERVISOR_SOCK, SOCK_NONBLOCK);
		err = s->listen_fd < 0 ? s->listen_fd :
		      epoll_add(s, s->listen_fd,
				EP_DATA(TAG_LISTEN, s->listen_fd));
	}
	if (!err)
		err = metrics_open(s);
	if (!err)
		err = channels_make(s);
	if (!err && (err = topo_write_pid(s->cfg->run_dir)) < 0)
		sup_fail(s, "cannot write the pid file: %s", strerror(-err));
	if (!err)
		err = spawn_all(s);
	if (!err)
		err = metrics_start(s, sup_now_ns());
	return err;
}

/*
 * Run the topology until SIGINT, SIGTERM or `down`.  notify_fd (or -1)
 * receives "ok\n" once everything has settled, or the error that stopped
 * the start.  Returns an exit code.
 */
int sup_run(struct sup *s, int notify_fd)
{
	int err;

	s->notify_fd = notify_fd;
	s->started_ns = sup_now_ns();
	fn_info("starting topology %s from %s", s->cfg->name, s->cfg->path);
	err = sup_start(s);
	if (err < 0)
		s->exit_code = EXIT_RUNTIME;
	else
		loop_run(s);
	stop_all(s);
	dpdk_leftovers_clean(s);
	close_fd(&s->listen_fd);
	metrics_close(s);
	channels_close(s);
	rundir_remove(s);
	notify_result(s);
	down_done(s);
	events_close(s);
	fn_info("topology %s stopped", s->cfg->name);
	return s->exit_code;
}
