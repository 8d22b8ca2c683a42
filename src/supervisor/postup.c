/*
 * postup.c - the supervisor's [cluster] step: once the topology is up, run
 * `fragnet cluster create` (cluster.c) on every pipeline's app, as a child
 * of ours, and report its outcome.
 *
 *   postup_start()    from startup_done(): with a tap NIC, wait (on the
 *                     timer, every POSTUP_TAP_POLL_MS) until the tap's
 *                     kernel side is up with its address: before that
 *                     the nodes' addresses would route out of the host's
 *                     default route.  Then fork + exec our own binary as
 *                     `fragnet cluster create --timeout-ms T --masters M
 *                     ADDR:PORT...`, one node per pipeline at its uplink
 *                     address.  The child waits for the apps to listen
 *                     itself, so "up" needs no more than the settle time.
 *   postup_reaped()   from reap_all(): logs the outcome, sets the state
 *                     that `status` shows, tells a waiting `up -d`
 *   postup_tick()     from the timer: a child past T + POSTUP_GRACE_MS is
 *                     killed (it bounds itself; this is the backstop)
 *   postup_stop()     at stop: kill and reap a child still running
 *
 *   postup_spawn_self()  the fork + exec of such a child, for failover.c
 *                     too
 *
 * The supervisor never waits for the child: its exit is one more SIGCHLD.
 * Run once per `up`: a restarted app rejoins with its nodes.conf, and a
 * cluster that already exists is left alone by the tool itself.  The
 * child's progress and errors go to our stderr (the log).
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/close_range.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "sup.h"

#define POSTUP_GRACE_MS		5000
#define POSTUP_TAP_POLL_MS	50
#define POSTUP_ARGV_MAX		(7 + FN_MAX_PIPELINES)

/* Our argv for the child; strings in buf (one "A.B.C.D:PORT" each). */
struct postup_args {
	char *argv[POSTUP_ARGV_MAX + 1];
	char timeout[16], masters[16];
	char node[FN_MAX_PIPELINES][POSTUP_NODE_LEN];
};

void postup_node(const struct sup *s, unsigned p, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr in = { .s_addr = s->cfg->pipeline[p].stack_address.addr };

	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, s->cfg->cluster.port);
}

static void postup_argv(const struct sup *s, struct postup_args *a)
{
	const struct fn_config *cfg = s->cfg;
	unsigned k = 0;

	snprintf(a->timeout, sizeof(a->timeout), "%u", cfg->cluster.timeout_ms);
	snprintf(a->masters, sizeof(a->masters), "%u", cfg->cluster.masters);
	a->argv[k++] = (char *)"fragnet";
	a->argv[k++] = (char *)"cluster";
	a->argv[k++] = (char *)"create";
	a->argv[k++] = (char *)"--timeout-ms";
	a->argv[k++] = a->timeout;
	a->argv[k++] = (char *)"--masters";
	a->argv[k++] = a->masters;
	for (unsigned p = 0; p < cfg->npipelines; p++) {
		postup_node(s, p, a->node[p], sizeof(a->node[p]));
		a->argv[k++] = a->node[p];
	}
	a->argv[k] = NULL;
}

/* The child: signals as at birth, stdin /dev/null, our stdout and stderr,
 * no other fd; dies with us. */
static void postup_child(const char *exe, char *const argv[])
{
	extern char **environ;
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (null >= 0 && null != STDIN_FILENO)
		dup2(null, STDIN_FILENO);
	close_range(3, ~0u, 0);
	execve(exe, argv, environ);
	fprintf(stderr, "fragnet: cannot run %s %s %s: %s\n", exe, argv[1],
		argv[2], strerror(errno));
	_exit(127);
}

pid_t postup_spawn_self(char *const argv[])
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	pid = fork();
	if (pid == 0)
		postup_child(exe, argv);
	return pid < 0 ? -errno : pid;
}

static void postup_done(struct sup *s, bool ok, const char *why)
{
	char msg[sizeof(s->cluster_msg) + 64];

	s->cluster_state = ok ? SUP_CLUSTER_OK : SUP_CLUSTER_FAILED;
	snprintf(s->cluster_msg, sizeof(s->cluster_msg), "%s", why);
	if (ok)
		fn_info("cluster: ok, every node reports cluster_state:ok");
	else
		fn_err("cluster: creation failed (%s); the topology keeps "
		       "running without a cluster", why);
	if (s->notify_fd < 0)
		return;
	if (ok)
		snprintf(msg, sizeof(msg), "ok\n");
	else
		snprintf(msg, sizeof(msg), SUP_NOTIFY_CLUSTER_FAILED "%s\n", why);
	ssize_t w = write(s->notify_fd, msg, strlen(msg));
	(void)w;
	close(s->notify_fd);
	s->notify_fd = -1;
}

/* Is the tap's kernel side up with [nic] address?  (Always, without a
 * tap: a PCI NIC's route to the pipelines is the host's business.) */
static bool tap_ready(const struct sup *s)
{
	const struct fn_nic_conf *nic = &s->cfg->nic;
	struct ifaddrs *ifa, *i;
	bool ok = false;

	if (nic->pmd != FN_PMD_TAP || !nic->address.addr ||
	    !s->cfg->role[FN_ROLE_NIC].exec[0])
		return true;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !ok; i = i->ifa_next)
		ok = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		     (i->ifa_flags & IFF_UP) &&
		     strcmp(i->ifa_name, nic->ifname) == 0 &&
		     ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr
		     == nic->address.addr;
	freeifaddrs(ifa);
	return ok;
}

static void postup_fork(struct sup *s);

void postup_start(struct sup *s)
{
	s->cluster_state = SUP_CLUSTER_OFF;	/* "waiting" */
	s->cluster_deadline_ns = sup_now_ns() +
		(uint64_t)s->cfg->cluster.timeout_ms * 1000000ull;
	s->cluster_poll_ns = sup_now_ns();
	postup_tick(s, s->cluster_poll_ns);
}

static void postup_fork(struct sup *s)
{
	struct postup_args *a = calloc(1, sizeof(*a));
	pid_t pid;

	if (!a) {
		postup_done(s, false, "out of memory");
		return;
	}
	postup_argv(s, a);
	pid = postup_spawn_self(a->argv);
	if (pid < 0) {
		postup_done(s, false, "cannot run our own binary");
		goto out;
	}
	s->cluster_pid = pid;
	s->cluster_state = SUP_CLUSTER_CREATING;
	s->cluster_deadline_ns = sup_now_ns() +
		(uint64_t)(s->cfg->cluster.timeout_ms + POSTUP_GRACE_MS) *
		1000000ull;
	fn_info("cluster: creating it over %u pipelines, %u of them masters "
		"(fragnet cluster create, pid %d)", s->cfg->npipelines,
		s->cfg->cluster.masters, (int)pid);
out:
	free(a);
}

bool postup_reaped(struct sup *s, pid_t pid, int status)
{
	char why[64];

	if (pid <= 0 || pid != s->cluster_pid)
		return false;
	s->cluster_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		postup_done(s, true, "ok");
		return true;
	}
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit status %d, see the log",
			 WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "killed by signal %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	postup_done(s, false, why);
	return true;
}

uint64_t postup_deadline(const struct sup *s)
{
	if (s->cluster_poll_ns)
		return s->cluster_poll_ns;
	return s->cluster_pid > 0 ? s->cluster_deadline_ns : UINT64_MAX;
}

/* Waiting for the tap: look again, or give up at the deadline. */
static void postup_poll(struct sup *s, uint64_t now)
{
	if (now < s->cluster_poll_ns)
		return;
	if (tap_ready(s)) {
		s->cluster_poll_ns = 0;
		postup_fork(s);
	} else if (now >= s->cluster_deadline_ns) {
		s->cluster_poll_ns = 0;
		postup_done(s, false, "the tap never got its address");
	} else {
		s->cluster_poll_ns = now + POSTUP_TAP_POLL_MS * 1000000ull;
	}
}

void postup_tick(struct sup *s, uint64_t now)
{
	if (s->cluster_poll_ns) {
		postup_poll(s, now);
		return;
	}
	if (s->cluster_pid <= 0 || now < s->cluster_deadline_ns)
		return;
	fn_warn("cluster: fragnet cluster create overran its %u ms: SIGKILL",
		s->cfg->cluster.timeout_ms);
	if (kill(-s->cluster_pid, SIGKILL) < 0)
		kill(s->cluster_pid, SIGKILL);
	s->cluster_deadline_ns = UINT64_MAX;	/* reaped by SIGCHLD */
}

void postup_stop(struct sup *s)
{
	int status;

	if (s->cluster_pid <= 0)
		return;
	if (kill(-s->cluster_pid, SIGKILL) < 0)	/* before its setpgid */
		kill(s->cluster_pid, SIGKILL);
	while (waitpid(s->cluster_pid, &status, 0) < 0 && errno == EINTR)
		;
	s->cluster_pid = 0;
	s->cluster_state = SUP_CLUSTER_FAILED;
	snprintf(s->cluster_msg, sizeof(s->cluster_msg), "stopped");
}

const char *postup_state_name(const struct sup *s)
{
	switch (s->cluster_state) {
	case SUP_CLUSTER_CREATING:	return "creating";
	case SUP_CLUSTER_OK:		return "ok";
	case SUP_CLUSTER_FAILED:	return "failed";
	default:			return "off";
	}
}
