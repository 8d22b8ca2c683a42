/*
 * restart.c - the life of one component: start, exit, backoff, restart,
 * crash loop, and the parent relation.
 *
 * State machine (enum comp_state; `status` shows RUNNING as "starting"
 * during its first SUP_SETTLE_MS):
 *
 *   RUNNING --exit--> BACKOFF --next_ns--> RUNNING        (restart)
 *        \                \--crash loop--> FAILED          (given up)
 *         \--parent died--> STOPPING --exit--> WAITING --parent up--> RUNNING
 *   exec failure on a restart --> FAILED (a restart would fail the same way)
 *
 * Backoff: the first restart waits restart.backoff_ms, each next one twice
 * as long, up to backoff_max_ms; a component that ran longer than the crash
 * loop window before it exited starts again from backoff_ms.
 *
 * Crash loop: when a component exits and has already been restarted
 * crash_loop_limit times within the last crash_loop_window_s, a further
 * restart would be one too many: it goes FAILED and the rest keeps going.
 *
 * Parents: a component with children (today: the nic, parent of every
 * driver, because DPDK secondaries die with their primary's hugepage state)
 * takes them down when it dies and brings them back after it restarts, in
 * spawn order.  Those restarts are counted for the children but are not
 * their fault, so they do not feed the children's crash loop check.
 *
 * Cluster apps: an app of a [cluster] with replicas that dies has its
 * replica asked to take over (failover.c), and its restart is held
 * (BACKOFF with next_ns UINT64_MAX) until comp_release() has the outcome.
 *
 * Called from supervisor.c's main loop only: comp_exited() from the SIGCHLD
 * handler, comp_tick() from the timer, comp_release() from failover.c's
 * reaping.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/confine.h"
#include "fragnet/log.h"
#include "fragnet/stream.h"
#include "sup.h"

#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull

/* How often a parent due to restart checks whether its children are gone. */
#define PARENT_RECHECK_MS	20

/* Signal the component's process group (setsid made it the leader), so
 * that its own children go too; fall back to the pid if it left it. */
void comp_signal(const struct comp *c, int sig)
{
	if (c->pid <= 0)
		return;
	if (kill(-c->pid, sig) < 0)
		kill(c->pid, sig);
}

int comp_start(struct sup *s, struct comp *c, uint64_t now)
{
	char err[PATH_MAX + 128], cpus[64];
	int ret = spawn_comp(s, c, err, sizeof(err));

	if (ret < 0) {
		sup_fail(s, "%s", err);
		return ret;
	}
	c->state = CS_RUNNING;
	c->started_ns = now;
	place_read_back(c->pid, cpus, sizeof(cpus));
	fn_info("%s started: pid %d, cpu %s", c->label, (int)c->pid, cpus);
	if (c->role == FN_ROLE_STACK && c->control_fd >= 0)
		nft_replay(s, (unsigned)c->pipeline);
	return 0;
}

/* A wait status for the log: "exit status 1", "killed by signal SIGSYS
 * (seccomp)". */
void exit_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == FN_CONFINE_EXIT) {
		/* c->last_exit is short: docs/security.md says more. */
		snprintf(buf, len, "exit status %d (could not confine)",
			 FN_CONFINE_EXIT);
	} else if (WIFEXITED(status)) {
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		snprintf(buf, len, "killed by signal SIGSYS (seccomp)");
	} else if (WIFSIGNALED(status)) {
		const char *abbr = sigabbrev_np(WTERMSIG(status));

		if (abbr)
			snprintf(buf, len, "killed by signal SIG%s", abbr);
		else
			snprintf(buf, len, "killed by signal %d",
				 WTERMSIG(status));
	} else {
		snprintf(buf, len, "status 0x%x", status);
	}
}

/* Restarts of c within the crash loop window, from its history ring. */
static unsigned restarts_in_window(const struct comp *c,
				   const struct fn_restart_conf *rc,
				   uint64_t now)
{
	uint64_t window = (uint64_t)rc->crash_loop_window_s * NS_PER_S;
	unsigned size = rc->crash_loop_limit;
	unsigned n = 0, have = c->nhistory < size ? c->nhistory : size;

	for (unsigned i = 0; i < have; i++)
		if (now - c->history[i] <= window)
			n++;
	return n;
}

static void history_push(struct comp *c, unsigned size, uint64_t now)
{
	if (size > 0)
		c->history[c->nhistory % size] = now;
	c->nhistory++;
}

static bool is_child_of(const struct comp *c, const struct comp *parent)
{
	return c->parent == parent;
}

/* The parent gave up: its children will not be brought back. */
static void children_orphan(struct sup *s, const struct comp *parent)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];

		if (!is_child_of(c, parent))
			continue;
		if (c->state == CS_BACKOFF || c->state == CS_WAITING) {
			c->state = CS_STOPPED;
			fn_warn("%s stopped: %s failed", c->label, parent->label);
		}
	}
}

/* The parent died: stop its children; they come back after it does. */
static void children_hold(struct sup *s, const struct comp *parent,
			  uint64_t now)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];

		if (!is_child_of(c, parent))
			continue;
		if (c->state == CS_RUNNING) {
			fn_info("%s stopping: %s exited", c->label, parent->label);
			comp_signal(c, SIGTERM);
			c->state = CS_STOPPING;
			c->next_ns = now + s->cfg->restart.stop_timeout_ms * NS_PER_MS;
		} else if (c->state == CS_BACKOFF) {
			c->state = CS_WAITING;
		}
	}
}

static bool children_alive(const struct sup *s, const struct comp *parent)
{
	for (unsigned i = 0; i < s->ncomp; i++)
		if (is_child_of(&s->comp[i], parent) && s->comp[i].pid > 0)
			return true;
	return false;
}

static void comp_restart(struct sup *s, struct comp *c, uint64_t now,
			 bool own_fault);

static void children_restart(struct sup *s, const struct comp *parent,
			     uint64_t now)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];

		if (is_child_of(c, parent) && c->state == CS_WAITING)
			comp_restart(s, c, now, false);
	}
}

static void comp_restart(struct sup *s, struct comp *c, uint64_t now,
			 bool own_fault)
{
	if (own_fault)
		history_push(c, s->cfg->restart.crash_loop_limit, now);
	c->restarts++;
	s->restarts++;
	if (comp_start(s, c, now) < 0) {
		/* The same exec would fail again: no restart loop. */
		c->state = CS_FAILED;
		fn_err("%s failed: %s; not restarting", c->label, s->error);
		children_orphan(s, c);
		return;
	}
	children_restart(s, c, now);
}

/* The backoff, or for a cluster's app at least [cluster]
 * restart_delay_ms: a master must stay away until its replica took over
 * (config/README.md, [cluster]). */
static unsigned restart_delay_ms(const struct sup *s, const struct comp *c,
				 unsigned backoff_ms)
{
	const struct fn_cluster_conf *cl = &s->cfg->cluster;

	if (c->role == FN_ROLE_APP && cl->enabled &&
	    cl->restart_delay_ms > backoff_ms)
		return cl->restart_delay_ms;
	return backoff_ms;
}

/* failover.c has the outcome of the takeover that held c's restart: with
 * a replica in its place c may come back after its backoff (Redis makes
 * it a replica of the new master: its slots have a newer epoch); else as
 * if nobody had tried, restart_delay_ms after its death. */
void comp_release(struct sup *s, struct comp *c, bool took_over,
		  uint64_t now)
{
	unsigned ms;

	if (c->state != CS_BACKOFF || c->next_ns != UINT64_MAX)
		return;
	ms = took_over ? c->held_backoff_ms :
	     restart_delay_ms(s, c, c->held_backoff_ms);
	c->next_ns = c->exited_ns + ms * NS_PER_MS;
	if (c->next_ns < now)
		c->next_ns = now;
	fn_info("%s restarting in %llu ms", c->label,
		(unsigned long long)((c->next_ns - now) / NS_PER_MS));
}

static void comp_schedule_restart(struct sup *s, struct comp *c, uint64_t now)
{
	const struct fn_restart_conf *rc = &s->cfg->restart;
	unsigned n = restarts_in_window(c, rc, now);

	if (now - c->started_ns > (uint64_t)rc->crash_loop_window_s * NS_PER_S)
		c->backoff_ms = rc->backoff_ms;
	if (n >= rc->crash_loop_limit) {
		c->state = CS_FAILED;
		fn_err("%s failed: crash loop, %u restarts in %u s, last: %s; "
		       "not restarting", c->label, n, rc->crash_loop_window_s,
		       c->last_exit);
		children_orphan(s, c);
		return;
	}
	c->state = CS_BACKOFF;
	if (failover_holds(s, c)) {
		/* comp_release() sets the time */
		c->next_ns = UINT64_MAX;
		c->held_backoff_ms = c->backoff_ms;
		fn_info("%s restarting once its replica took over, or failed "
			"to", c->label);
	} else {
		c->next_ns = now + restart_delay_ms(s, c, c->backoff_ms) *
				   NS_PER_MS;
		fn_info("%s restarting in %u ms", c->label,
			restart_delay_ms(s, c, c->backoff_ms));
	}
	c->backoff_ms = c->backoff_ms * 2 < rc->backoff_max_ms ?
			c->backoff_ms * 2 : rc->backoff_max_ms;
}

/* A dead side takes its slots and ring positions with it: start a new
 * link epoch so that the survivor resets its side and the restarted
 * component can join (stream.h, RESET).  The reset wakes futex sleepers;
 * a survivor asleep in its own epoll (a driver sleeps without a timeout)
 * hears of it by its bell. */
static void link_side_died(const struct comp *c)
{
	int err;

	if (c->link_fd < 0)
		return;
	err = fn_link_reset(c->link_fd);
	if (err < 0)
		fn_warn("%s: cannot reset its link: %s", c->label, strerror(-err));
	else
		fn_debug("%s: link reset for a new epoch", c->label);
	sup_bell_ring(c->driver_bell_fd);
	sup_bell_ring(c->stack_bell_fd);
}

/* Wake whoever waits on bell fd (-1: none). */
void sup_bell_ring(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, &one, sizeof(one));	/* EAGAIN: already rung */
	(void)n;
}

/* Likewise for the socket channel when its app or its stack dies
 * (sockchan.h): the survivor learns of the new epoch on its next call, and
 * both bells are rung so that neither sleeps through the reset. */
static void sockchan_side_died(const struct comp *c)
{
	int err;

	if (c->sockchan_fd < 0)
		return;
	err = fn_link_reset(c->sockchan_fd);
	if (err < 0)
		fn_warn("%s: cannot reset its socket channel: %s", c->label,
			strerror(-err));
	else
		fn_debug("%s: socket channel reset for a new epoch", c->label);
	sup_bell_ring(c->stack_bell_fd);
	sup_bell_ring(c->app_bell_fd);
}

/* c's process was reaped with status. */
void comp_exited(struct sup *s, struct comp *c, int status, uint64_t now)
{
	int level = s->stop || c->state == CS_STOPPING ? FN_LOG_INFO :
		    FN_LOG_WARN;

	exit_describe(status, c->last_exit, sizeof(c->last_exit));
	fn_log(level, "%s pid %d %s%s", c->label, (int)c->pid,
	       WIFEXITED(status) ? "exited with " : "", c->last_exit);
	c->pid = 0;
	c->exited_ns = now;
	c->exits++;
	s->exits++;
	link_side_died(c);
	sockchan_side_died(c);
	net_side_died(s, c);
	if (s->stop) {
		c->state = CS_STOPPED;
	} else if (!s->ready) {
		/* Dying while the topology comes up is a failed `up`. */
		sup_fail(s, "%s exited during startup with %s", c->label,
			 c->last_exit);
		c->state = CS_STOPPED;
		s->stop = true;
		s->exit_code = EXIT_RUNTIME;
	} else if (c->state == CS_STOPPING) {
		c->state = c->parent && c->parent->state == CS_FAILED ?
			   CS_STOPPED : CS_WAITING;
	} else {
		children_hold(s, c, now);
		failover_start(s, c, now);
		comp_schedule_restart(s, c, now);
	}
}

/* The timer fired: act on c if its deadline has passed. */
void comp_tick(struct sup *s, struct comp *c, uint64_t now)
{
	if (c->next_ns > now)
		return;
	if (c->state == CS_STOPPING) {
		fn_warn("%s did not stop in %u ms: SIGKILL", c->label,
			s->cfg->restart.stop_timeout_ms);
		comp_signal(c, SIGKILL);
		c->next_ns = UINT64_MAX;
	} else if (c->state == CS_BACKOFF) {
		if (c->parent && c->parent->state == CS_FAILED)
			c->state = CS_STOPPED;
		else if (c->parent && c->parent->state != CS_RUNNING)
			c->state = CS_WAITING;	/* the parent brings us back */
		else if (children_alive(s, c))
			c->next_ns = now + PARENT_RECHECK_MS * NS_PER_MS;
		else
			comp_restart(s, c, now, true);
	}
}

/* When comp_tick() wants to run next for c, or UINT64_MAX. */
uint64_t comp_deadline(const struct comp *c)
{
	if (c->state == CS_STOPPING || c->state == CS_BACKOFF)
		return c->next_ns;
	return UINT64_MAX;
}
