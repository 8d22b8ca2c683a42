/*
 * failover.c - the supervisor's fast failover, for a [cluster] with
 * replicas: when an app dies, a replica of its slots takes over at once
 * rather than after Redis's failure detection (about twice the node
 * timeout: PFAIL, the masters' FAIL agreement, the election delay).
 *
 *   failover_start()   from comp_exited(), before its restart is
 *                      scheduled: with replicas and the cluster made, fork
 *                      `fragnet cluster failover --timeout-ms T DEAD
 *                      NODE...` (cluster.c), DEAD the app's address, the
 *                      NODEs every other pipeline's.  The child asks the
 *                      survivors what DEAD was (roles change with each
 *                      failover, node ids when a node loses its nodes
 *                      file), and sends CLUSTER FAILOVER FORCE to its best
 *                      replica.
 *   failover_holds()   restart.c: the app's restart waits for the outcome
 *   failover_reaped()  from reap_all(): log the outcome, release the
 *                      restart (comp_release(): after the backoff if a
 *                      replica took over, else no sooner than [cluster]
 *                      restart_delay_ms after the death, as without us)
 *   failover_tick()    a child past T + FAILOVER_GRACE_MS is killed (it
 *                      bounds itself; this is the backstop)
 *   failover_stop()    at stop: kill and reap the children
 *
 * The supervisor never waits on the network: the child does the Redis
 * conversation, and its exit is one more SIGCHLD.  Its own lines (which
 * replica, how long) go to our log.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cluster.h"
#include "fragnet/log.h"
#include "sup.h"

#define FAILOVER_GRACE_MS	5000
#define NS_PER_MS		1000000ull

/* argv of the child: 5 words, one node per pipeline, NULL. */
struct failover_args {
	char *argv[6 + FN_MAX_PIPELINES];
	char timeout[16];
	char node[FN_MAX_PIPELINES][POSTUP_NODE_LEN];
};

/* An app of a cluster with replicas, once the cluster is made. */
static bool failover_wanted(const struct sup *s, const struct comp *c)
{
	const struct fn_cluster_conf *cl = &s->cfg->cluster;

	return c->role == FN_ROLE_APP && c->pipeline >= 0 && cl->enabled &&
	       cl->masters < s->cfg->npipelines &&
	       s->cluster_state == SUP_CLUSTER_OK;
}

static void failover_argv(const struct sup *s, unsigned dead,
			  struct failover_args *a)
{
	unsigned k = 0;

	snprintf(a->timeout, sizeof(a->timeout), "%u",
		 s->cfg->cluster.timeout_ms);
	a->argv[k++] = (char *)"fragnet";
	a->argv[k++] = (char *)"cluster";
	a->argv[k++] = (char *)"failover";
	a->argv[k++] = (char *)"--timeout-ms";
	a->argv[k++] = a->timeout;
	postup_node(s, dead, a->node[dead], sizeof(a->node[dead]));
	a->argv[k++] = a->node[dead];
	for (unsigned p = 0; p < s->cfg->npipelines; p++) {
		if (p == dead)
			continue;
		postup_node(s, p, a->node[p], sizeof(a->node[p]));
		a->argv[k++] = a->node[p];
	}
	a->argv[k] = NULL;
}

void failover_start(struct sup *s, const struct comp *c, uint64_t now)
{
	struct sup_failover *f;
	struct failover_args a;
	pid_t pid;

	if (!failover_wanted(s, c))
		return;
	f = &s->failover[c->pipeline];
	if (f->pid > 0)
		return;		/* one at a time; the app cannot die twice */
	failover_argv(s, (unsigned)c->pipeline, &a);
	pid = postup_spawn_self(a.argv);
	if (pid < 0) {
		fn_err("%s died: cannot run fragnet cluster failover: %s",
		       c->label, strerror((int)-pid));
		return;
	}
	f->pid = pid;
	f->died_ns = now;
	f->deadline_ns = now + (uint64_t)(s->cfg->cluster.timeout_ms +
					  FAILOVER_GRACE_MS) * NS_PER_MS;
	fn_info("%s died: if it was a master, its replica takes over "
		"(fragnet cluster failover %s, pid %d)", c->label,
		a.node[c->pipeline], (int)pid);
}

bool failover_holds(const struct sup *s, const struct comp *c)
{
	return c->role == FN_ROLE_APP && c->pipeline >= 0 &&
	       s->failover[c->pipeline].pid > 0;
}

static struct comp *app_of(struct sup *s, unsigned p)
{
	for (unsigned i = 0; i < s->ncomp; i++)
		if (s->comp[i].role == FN_ROLE_APP &&
		    s->comp[i].pipeline == (int)p)
			return &s->comp[i];
	return NULL;
}

/* Log child p's outcome; true if a replica took over. */
static bool failover_report(struct sup *s, unsigned p, int status,
			    uint64_t now)
{
	unsigned long long ms = (now - s->failover[p].died_ns) / NS_PER_MS;
	char why[48];

	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_OK) {
		fn_info("app/%u died: its replica took over: ok in %llu ms",
			p, ms);
		snprintf(s->failover_msg, sizeof(s->failover_msg),
			 "app/%u taken over in %llu ms", p, ms);
		return true;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CL_EXIT_NOT_MASTER) {
		fn_info("app/%u died: it was no master, nothing to take over",
			p);
		return false;
	}
	exit_describe(status, why, sizeof(why));
	fn_err("app/%u died: no replica took over (fragnet cluster failover "
	       "%s after %llu ms, see above); Redis's own failure detection "
	       "may still promote one", p, why, ms);
	snprintf(s->failover_msg, sizeof(s->failover_msg),
		 "app/%u takeover failed", p);
	return false;
}

bool failover_reaped(struct sup *s, pid_t pid, int status)
{
	uint64_t now = sup_now_ns();
	struct comp *c;
	bool took;

	for (unsigned p = 0; pid > 0 && p < s->cfg->npipelines; p++) {
		if (s->failover[p].pid != pid)
			continue;
		s->failover[p].pid = 0;
		took = failover_report(s, p, status, now);
		c = app_of(s, p);
		if (c && !s->stop)
			comp_release(s, c, took, now);
		return true;
	}
	return false;
}

uint64_t failover_deadline(const struct sup *s)
{
	uint64_t when = UINT64_MAX;

	for (unsigned p = 0; p < s->cfg->npipelines; p++)
		if (s->failover[p].pid > 0 && s->failover[p].deadline_ns < when)
			when = s->failover[p].deadline_ns;
	return when;
}

static void failover_kill(pid_t pid)
{
	if (kill(-pid, SIGKILL) < 0)	/* before its setpgid */
		kill(pid, SIGKILL);
}

void failover_tick(struct sup *s, uint64_t now)
{
	for (unsigned p = 0; p < s->cfg->npipelines; p++) {
		struct sup_failover *f = &s->failover[p];

		if (f->pid <= 0 || now < f->deadline_ns)
			continue;
		fn_warn("app/%u: fragnet cluster failover overran its %u ms: "
			"SIGKILL", p, s->cfg->cluster.timeout_ms);
		failover_kill(f->pid);
		f->deadline_ns = UINT64_MAX;	/* reaped by SIGCHLD */
	}
}

void failover_stop(struct sup *s)
{
	int status;

	for (unsigned p = 0; p < s->cfg->npipelines; p++) {
		struct sup_failover *f = &s->failover[p];

		if (f->pid <= 0)
			continue;
		failover_kill(f->pid);
		while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
			;
		f->pid = 0;
	}
}
