/*
 * metrics.c - the supervisor's side of [topology] metrics
 * (docs/observe.md): a loopback TCP socket it binds itself, and `fragnet
 * metrics-serve` (metrics_serve.c), a confined child of ours that holds
 * that socket and one end of a channel on which it asks for the
 * exposition (fragnet/ctl.h, THE METRICS CHANNEL).  The supervisor parses
 * no HTTP: on the channel it answers one command word, with a memfd.
 *
 *   metrics_init()      sup_prepare(): nothing open
 *   metrics_open()      sup_start(), before any component: bind and
 *                       listen (an address in use fails the `up`).  The
 *                       socket outlives restarts of the child: a scrape
 *                       during one waits in the backlog
 *   metrics_start()     after the components: a channel, then the child
 *   metrics_on_chan()   from the loop: requests, each answered with a
 *                       frozen memfd of the exposition, never waiting
 *   metrics_reaped()    from reap_all(): a restart after a backoff, as a
 *   metrics_tick()      component's (restart.c), given up after
 *   metrics_deadline()  crash_loop_limit restarts within the window
 *   metrics_stop()      stop_all(), first: SIGKILL and reap the child
 *   metrics_close()     the socket, the channel, the cached exposition
 *
 * Called from supervisor.c's loop only; nothing here blocks on the child.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/ctl.h"
#include "fragnet/log.h"
#include "fragnet/memfd.h"
#include "sup.h"

#define NS_PER_MS		1000000ull
#define NS_PER_S		1000000000ull
#define METRICS_BACKLOG		16

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void metrics_init(struct sup *s)
{
	s->metrics = (struct sup_metrics){
		.listen_fd = -1, .chan_fd = -1, .cache_fd = -1,
	};
}

/* The configured address as a sockaddr; its length. */
static socklen_t metrics_addr(const struct fn_metrics_conf *m,
			      struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (m->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(m->port);
		memcpy(&a->sin_addr, m->addr, 4);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(m->port);
	memcpy(&a6->sin6_addr, m->addr, 16);
	return sizeof(*a6);
}

int metrics_open(struct sup *s)
{
	const struct fn_metrics_conf *m = &s->cfg->metrics;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	if (!m->family)
		return 0;
	len = metrics_addr(m, &ss);
	/* O_NONBLOCK for the child's accept4() after poll(): a client that
	 * went away in between must not block it.  We never accept. */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, METRICS_BACKLOG) < 0) {
		err = -errno;
		sup_fail(s, "[topology] metrics: cannot listen on %s: %s",
			 m->text, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	s->metrics.listen_fd = fd;
	s->metrics.backoff_ms = s->cfg->restart.backoff_ms;
	fn_info("metrics: listening on http://%s/metrics", m->text);
	return 0;
}

/* Our end of the channel goes; a child still alive with a broken
 * channel is of no use: it dies, and is restarted when reaped. */
static void chan_close(struct sup *s)
{
	struct sup_metrics *m = &s->metrics;

	/* Out of the set first: a child of ours between fork and exec may
	 * still hold a copy, which would keep the registration alive. */
	if (m->chan_fd >= 0 && s->epfd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, m->chan_fd, NULL);
	close_fd(&m->chan_fd);
	if (m->pid > 0 && kill(-m->pid, SIGKILL) < 0)
		kill(m->pid, SIGKILL);
}

int metrics_start(struct sup *s, uint64_t now)
{
	char *argv[] = { (char *)"fragnet", (char *)FN_METRICS_SUBCOMMAND,
			 NULL };
	struct sup_metrics *m = &s->metrics;
	char confine[32], lfd[8], cfd[8], err[PATH_MAX + 128];
	const char *env[] = {
		FN_ENV_COMPONENT, FN_METRICS_COMPONENT,
		FN_ENV_METRICS_LISTEN_FD, lfd, FN_ENV_METRICS_CHAN_FD, cfd,
		FN_ENV_CONFINE, confine, NULL,
	};
	int sv[2], ret;

	if (m->listen_fd < 0 || m->failed)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0, sv) < 0) {
		ret = -errno;
		sup_fail(s, "metrics: cannot make its channel: %s",
			 strerror(-ret));
		return ret;
	}
	struct sup_fd fds[] = {
		{ m->listen_fd, FN_FD_METRICS_LISTEN, NULL },
		{ sv[1], FN_FD_METRICS_CHAN, NULL },
	};

	snprintf(lfd, sizeof(lfd), "%d", FN_FD_METRICS_LISTEN);
	snprintf(cfd, sizeof(cfd), "%d", FN_FD_METRICS_CHAN);
	snprintf(confine, sizeof(confine), "%u:%u",
		 (unsigned)s->metrics_user.uid, (unsigned)s->metrics_user.gid);
	ret = spawn_helper(s, FN_METRICS_COMPONENT, argv, fds, 2, env,
			   &m->pid, err, sizeof(err));
	close(sv[1]);
	if (ret < 0) {
		close(sv[0]);
		sup_fail(s, "metrics: %s", err);
		return ret;
	}
	m->chan_fd = sv[0];
	m->started_ns = now;
	ret = sup_watch_metrics(s, m->chan_fd);
	if (ret < 0) {
		sup_fail(s, "metrics: cannot watch its channel: %s",
			 strerror(-ret));
		chan_close(s);
		return ret;
	}
	fn_info("metrics: %s %s started: pid %d", argv[0], argv[1],
		(int)m->pid);
	return 0;
}

/* A refusal (ctl.h), never waiting. */
static void metrics_refuse(int fd, const char *why)
{
	char msg[128];
	ssize_t n;

	snprintf(msg, sizeof(msg), FN_CTL_ERR_PREFIX "%s\n", why);
	n = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
}

/* The exposition as a frozen memfd: the cached one when it is recent
 * (ctl.h: one snapshot per FN_CTL_METRICS_CACHE_MS, so that a child that
 * asks in a loop costs us a send per request, not a report), else a new
 * one.  The fd (ours: do not close), or -errno. */
static int metrics_snapshot(struct sup *s, uint64_t now)
{
	struct sup_metrics *m = &s->metrics;
	struct sbuf b = { 0 };
	int fd;

	if (m->cache_fd >= 0 &&
	    now - m->cache_ns < FN_CTL_METRICS_CACHE_MS * NS_PER_MS)
		return m->cache_fd;
	report_stats_prom(s, &b);
	fd = b.oom || b.len == 0 ? -ENOMEM :
	     fn_memfd_freeze(FN_MEMFD_METRICS, b.p, b.len);
	sb_free(&b);
	if (fd < 0)
		return fd;
	close_fd(&m->cache_fd);
	m->cache_fd = fd;
	m->cache_ns = now;
	return fd;
}

static void metrics_reply(struct sup *s)
{
	int fd = metrics_snapshot(s, sup_now_ns()), err;

	if (fd < 0) {
		metrics_refuse(s->metrics.chan_fd, "cannot make the exposition");
		return;
	}
	/* -EAGAIN: the child does not read its replies; it times out. */
	err = ctl_send_fd(s->metrics.chan_fd, FN_CTL_STATS_PROM "\n", fd);
	if (err < 0)
		fn_debug("metrics: reply dropped: %s", strerror(-err));
}

void metrics_on_chan(struct sup *s)
{
	struct sup_metrics *m = &s->metrics;

	for (unsigned i = 0; i < FN_CTL_METRICS_BURST && m->chan_fd >= 0;
	     i++) {
		char cmd[FN_CTL_REQ_MAX];
		int err = ctl_read_request(m->chan_fd, cmd, sizeof(cmd));

		if (err == -EAGAIN || err == -EINTR)
			return;
		if (err == -EBADMSG ||
		    (err == 0 && strcmp(cmd, FN_CTL_STATS_PROM) != 0)) {
			metrics_refuse(m->chan_fd, "the metrics channel serves "
				       "only " FN_CTL_STATS_PROM);
			continue;
		}
		if (err < 0) {	/* EOF: the child is gone or going */
			chan_close(s);
			return;
		}
		metrics_reply(s);
	}
}

/* A restart after the backoff, or given up after a crash loop (the
 * rules of restart.c, with a window that starts at its first restart). */
static void metrics_schedule(struct sup *s, const char *how, uint64_t now)
{
	const struct fn_restart_conf *rc = &s->cfg->restart;
	struct sup_metrics *m = &s->metrics;
	uint64_t window = (uint64_t)rc->crash_loop_window_s * NS_PER_S;

	if (now - m->started_ns > window)
		m->backoff_ms = rc->backoff_ms;
	if (now - m->window_ns > window) {
		m->window_ns = now;
		m->in_window = 0;
	}
	if (m->in_window >= rc->crash_loop_limit) {
		m->failed = true;
		close_fd(&m->listen_fd);	/* refuse, do not queue */
		fn_err("metrics: fragnet metrics-serve %s, %u restarts in %u s: "
		       "not restarting; %s is closed", how, m->in_window,
		       rc->crash_loop_window_s, s->cfg->metrics.text);
		return;
	}
	m->in_window++;
	m->restart_ns = now + m->backoff_ms * NS_PER_MS;
	fn_warn("metrics: fragnet metrics-serve %s; restarting in %u ms", how,
		m->backoff_ms);
	m->backoff_ms = m->backoff_ms * 2 < rc->backoff_max_ms ?
			m->backoff_ms * 2 : rc->backoff_max_ms;
}

bool metrics_reaped(struct sup *s, pid_t pid, int status)
{
	struct sup_metrics *m = &s->metrics;
	char how[64];

	if (pid <= 0 || pid != m->pid)
		return false;
	m->pid = 0;
	chan_close(s);
	exit_describe(status, how, sizeof(how));
	if (s->stop) {
		fn_info("metrics: fragnet metrics-serve pid %d %s", (int)pid,
			how);
		return true;
	}
	metrics_schedule(s, how, sup_now_ns());
	return true;
}

uint64_t metrics_deadline(const struct sup *s)
{
	return s->metrics.restart_ns ? s->metrics.restart_ns : UINT64_MAX;
}

void metrics_tick(struct sup *s, uint64_t now)
{
	struct sup_metrics *m = &s->metrics;

	if (!m->restart_ns || now < m->restart_ns || s->stop)
		return;
	m->restart_ns = 0;
	m->restarts++;
	if (metrics_start(s, now) < 0) {
		/* The same exec would fail again: no restart loop. */
		m->failed = true;
		close_fd(&m->listen_fd);
		fn_err("metrics: %s; not restarting; %s is closed", s->error,
		       s->cfg->metrics.text);
	}
}

/* Before the components stop: it holds nothing worth a graceful exit. */
void metrics_stop(struct sup *s)
{
	struct sup_metrics *m = &s->metrics;
	pid_t pid = m->pid;
	int status;

	m->restart_ns = 0;
	if (pid <= 0)
		return;
	chan_close(s);		/* and SIGKILL */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	metrics_reaped(s, pid, status);
}

void metrics_close(struct sup *s)
{
	close_fd(&s->metrics.listen_fd);
	close_fd(&s->metrics.chan_fd);
	close_fd(&s->metrics.cache_fd);
}
