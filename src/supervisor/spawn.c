/*
 * spawn.c - start one component under the spawn contract of names.h.
 *
 * spawn_comp() builds everything the child needs (environment, fd map,
 * cpu set) in the parent, forks, and waits on a close-on-exec pipe: EOF
 * means the exec succeeded; a struct child_err means the child failed at
 * some step before it, and the parent reports it as a failed start.
 *
 * In the child, in this order:
 *   1. PR_SET_PDEATHSIG SIGKILL, then getppid(): the parent may have died
 *      between fork and prctl, and no signal would ever come;
 *   2. setsid(): its own session and process group, so that a terminal's
 *      ^C reaches only the supervisor, which stops things in order, and
 *      the supervisor can signal the component's whole group;
 *   3. default signal dispositions and an empty mask (both survive exec);
 *   4. sched_setaffinity to its cpu, and sched_setscheduler to its role's
 *      `sched` (SCHED_OTHER or SCHED_BATCH; config.h enum fn_sched), or,
 *      with a `slice_us`, sched_setattr with that policy, the nice value
 *      it has, and the slice as sched_runtime;
 *   5. stdin from /dev/null;
 *   6. fds: every capability is first copied to >= 64, so that no source
 *      number can collide with a target; everything from 3 up is marked
 *      close-on-exec; then each copy is dup2()ed to its FN_FD_* number
 *      (dup2 clears close-on-exec on the target only);
 *   7. for an app with `[app] netns = own` (the default): a network
 *      namespace of its own, with only lo (brought up), so that the
 *      program cannot reach the kernel's network past its stack even with
 *      raw system calls (docs/preload.md); for a driver too, which needs
 *      none (docs/security.md).  A stack and a vswitch make their own
 *      namespaces when they confine themselves (fragnet/confine.h);
 *   8. for an app with a user: setgroups, setgid, setuid, and step 1
 *      again (a change of uid clears the parent-death signal);
 *   9. execve with exactly the environment names.h lists (plus, for an
 *      app with `preload = yes`, LD_PRELOAD: see preload_path()).
 *
 * The parent is single-threaded (the supervisor), so the child may call
 * anything; it still does no allocation and no NSS look-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/confine.h"
#include "fragnet/log.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"
#include "sup.h"

#define SPAWN_FD_HIGH		64
/* The most a component gets: a vswitch, its stats page and table, and
 * three fds for each of FN_VSW_MAX_PORTS ports. */
#define SPAWN_MAX_FDS		(2 + 3 * FN_VSW_MAX_PORTS)
#define SPAWN_MAX_ENV		20
#define SPAWN_PATH		"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum child_stage {
	ST_PDEATHSIG, ST_SETSID, ST_SIGNALS, ST_AFFINITY, ST_SCHED, ST_STDIN,
	ST_FDS, ST_NETNS, ST_LO, ST_GROUPS, ST_SETGID, ST_SETUID, ST_EXEC,
};

static const char *const stage_names[] = {
	[ST_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[ST_SETSID] = "setsid",
	[ST_SIGNALS] = "sigprocmask",
	[ST_AFFINITY] = "sched_setaffinity",
	[ST_SCHED] = "sched_setscheduler (or sched_setattr, for slice_us)",
	[ST_STDIN] = "open /dev/null",
	[ST_FDS] = "passing fds",
	[ST_NETNS] = "unshare(CLONE_NEWNET) (or set [app] netns = host)",
	[ST_LO] = "bringing up lo in the app's network namespace",
	[ST_GROUPS] = "setgroups",
	[ST_SETGID] = "setgid",
	[ST_SETUID] = "setuid",
	[ST_EXEC] = "exec",
};

/* sched_setattr(2)'s struct as far as SCHED_ATTR_SIZE_VER0: the uapi
 * header's own, <linux/sched/types.h>, redefines glibc's sched_param. */
struct fn_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;		/* a fair task's slice, ns (6.12+) */
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/* What the child sends up the pipe when it cannot exec. */
struct child_err {
	int stage;
	int err;
};

struct spawn_env {
	char buf[8192];
	size_t used;
	char *envp[SPAWN_MAX_ENV + 1];
	unsigned n;
};

/* Everything the child needs, built by the parent before fork. */
struct child_args {
	const char *path;
	char *const *argv;
	char *const *envp;
	struct sup_fd fds[SPAWN_MAX_FDS];
	unsigned nfds;
	const cpu_set_t *cpus;		/* NULL: keep the inherited affinity */
	const struct sup_user *user;	/* NULL: stay root */
	bool own_netns;			/* a network namespace with only lo */
	int policy;			/* SCHED_OTHER or SCHED_BATCH */
	unsigned slice_us;		/* 0: the kernel's own slice */
	pid_t parent;
	int errfd;
};

/* ---- child --------------------------------------------------------------- */

static void __attribute__((noreturn)) child_fail(int errfd, enum child_stage st)
{
	struct child_err ce = { .stage = st, .err = errno };
	ssize_t w = write(errfd, &ce, sizeof(ce));

	(void)w;
	_exit(127);
}

static int child_signals(void)
{
	sigset_t none;

	/* SIG_IGN survives exec: the supervisor ignores SIGHUP and SIGPIPE. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);	/* fails for KILL, STOP: harmless */
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

static int child_stdin(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd < 0)
		return -1;
	if (fd != STDIN_FILENO) {
		if (dup2(fd, STDIN_FILENO) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* Step 6 of the file comment.  errfd is moved high as well, so that it
 * cannot be overwritten by a target either. */
static int child_fds(struct child_args *a)
{
	int high[SPAWN_MAX_FDS];

	for (unsigned i = 0; i < a->nfds; i++) {
		high[i] = fcntl(a->fds[i].src, F_DUPFD_CLOEXEC, SPAWN_FD_HIGH);
		if (high[i] < 0)
			return -1;
	}
	a->errfd = fcntl(a->errfd, F_DUPFD_CLOEXEC, SPAWN_FD_HIGH);
	if (a->errfd < 0)
		return -1;
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		return -1;
	for (unsigned i = 0; i < a->nfds; i++)
		if (dup2(high[i], a->fds[i].dst) < 0)
			return -1;
	return 0;
}

static void child_drop(const struct child_args *a)
{
	const struct sup_user *u = a->user;

	if (setgroups((size_t)u->ngroups, u->groups) < 0)
		child_fail(a->errfd, ST_GROUPS);
	if (setgid(u->gid) < 0)
		child_fail(a->errfd, ST_SETGID);
	if (setuid(u->uid) < 0)
		child_fail(a->errfd, ST_SETUID);
	/* Paranoia: the drop must be irreversible. */
	if (u->uid != 0 && setuid(0) == 0) {
		errno = EPERM;
		child_fail(a->errfd, ST_SETUID);
	}
	/* The change of uid cleared the parent-death signal of step 1. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(a->errfd, ST_PDEATHSIG);
	if (getppid() != a->parent)
		_exit(127);
}

/* A new network namespace, its lo up. */
static void child_netns(const struct child_args *a)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		child_fail(a->errfd, ST_NETNS);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(a->errfd, ST_LO);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(a->errfd, ST_LO);
	close(fd);
}

/* The policy, and with slice_us the slice: glibc 2.36 has no wrapper for
 * sched_setattr.  sched_setscheduler keeps the nice value; so does this. */
static int child_sched(const struct child_args *a)
{
	struct fn_sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = (uint32_t)a->policy,
		.sched_runtime = (uint64_t)a->slice_us * 1000,
	};

	if (!a->slice_us)
		return sched_setscheduler(0, a->policy,
					  &(struct sched_param){ 0 });
	errno = 0;
	attr.sched_nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		return -1;
	return (int)syscall(SYS_sched_setattr, 0, &attr, 0u);
}

static void __attribute__((noreturn)) child_main(struct child_args *a)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(a->errfd, ST_PDEATHSIG);
	if (getppid() != a->parent)
		_exit(127);
	if (setsid() < 0)
		child_fail(a->errfd, ST_SETSID);
	if (child_signals() < 0)
		child_fail(a->errfd, ST_SIGNALS);
	if (a->cpus && sched_setaffinity(0, sizeof(*a->cpus), a->cpus) < 0)
		child_fail(a->errfd, ST_AFFINITY);
	if (child_sched(a) < 0)
		child_fail(a->errfd, ST_SCHED);
	if (child_stdin() < 0)
		child_fail(a->errfd, ST_STDIN);
	if (child_fds(a) < 0)
		child_fail(a->errfd, ST_FDS);
	if (a->own_netns)
		child_netns(a);
	if (a->user)
		child_drop(a);
	execve(a->path, a->argv, a->envp);
	child_fail(a->errfd, ST_EXEC);
}

/* ---- parent -------------------------------------------------------------- */

static int env_add(struct spawn_env *e, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int env_add(struct spawn_env *e, const char *key, const char *fmt, ...)
{
	size_t room = sizeof(e->buf) - e->used;
	char *p = e->buf + e->used;
	va_list ap;
	int k, v;

	if (e->n >= SPAWN_MAX_ENV)
		return -E2BIG;
	k = snprintf(p, room, "%s=", key);
	if (k < 0 || (size_t)k >= room)
		return -E2BIG;
	va_start(ap, fmt);
	v = vsnprintf(p + k, room - (size_t)k, fmt, ap);
	va_end(ap);
	if (v < 0 || (size_t)(k + v) >= room)
		return -E2BIG;
	e->used += (size_t)(k + v) + 1;
	e->envp[e->n++] = p;
	e->envp[e->n] = NULL;
	return 0;
}

static void fd_pass(struct child_args *a, int src, int dst, const char *env)
{
	if (src >= 0)
		a->fds[a->nfds++] = (struct sup_fd){ src, dst, env };
}

/* The capabilities of c: stats for all; link for driver and stack when the
 * pipeline has both; control for the stack; the socket channel and the app's
 * bell for stack and app when the pipeline has both; the stack's bell for
 * the stack, its driver and its app; the driver's bell for the driver and
 * its stack; a vswitch's and a stack's fds on internal networks (net.c).
 * Each env var only with its fd. */
static void build_fds(const struct sup *s, const struct comp *c,
		      struct child_args *a)
{
	a->nfds = 0;
	a->fds[a->nfds++] = (struct sup_fd){ c->stats_fd, FN_FD_STATS,
					     FN_ENV_STATS_FD };
	if (c->link_fd >= 0)
		a->fds[a->nfds++] = (struct sup_fd){ c->link_fd, FN_FD_LINK,
						     FN_ENV_LINK_FD };
	if (c->control_fd >= 0)
		a->fds[a->nfds++] = (struct sup_fd){ c->control_fd,
						     FN_FD_CONTROL,
						     FN_ENV_CONTROL_FD };
	fd_pass(a, c->sockchan_fd, FN_FD_SOCKCHAN, FN_ENV_SOCKCHAN_FD);
	fd_pass(a, c->stack_bell_fd, FN_FD_STACK_BELL, FN_ENV_STACK_BELL_FD);
	fd_pass(a, c->app_bell_fd, FN_FD_APP_BELL, FN_ENV_APP_BELL_FD);
	fd_pass(a, c->driver_bell_fd, FN_FD_DRIVER_BELL, FN_ENV_DRIVER_BELL_FD);
	fd_pass(a, c->capture_fd, FN_FD_CAPTURE, FN_ENV_CAPTURE_FD);
	a->nfds += net_fds(s, c, a->fds + a->nfds, SPAWN_MAX_FDS - a->nfds);
}

static int build_env_user(const struct sup_user *u, struct spawn_env *e)
{
	int err = env_add(e, "HOME", "%s", u->home);

	if (!err)
		err = env_add(e, "USER", "%s", u->name);
	if (!err)
		err = env_add(e, "LOGNAME", "%s", u->name);
	return err;
}

/*
 * libfragnet-preload.so for apps with `preload = yes`: the build tree's
 * (FN_PRELOAD_BUILD_PATH) when this fragnet is the build tree's own
 * binary, else the installed one (FN_PRELOAD_INSTALL_PATH, under
 * <libdir>/fragnet).  Both are absolute paths fixed at build time.
 */
static const char *preload_path(void)
{
	static const char root[] = FN_BUILD_ROOT "/";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		if (strncmp(exe, root, sizeof(root) - 1) == 0)
			return FN_PRELOAD_BUILD_PATH;
	}
	return FN_PRELOAD_INSTALL_PATH;
}

/* May user u (NULL: root) read path, with search rights on every
 * directory above it?  ld.so skips an unreadable LD_PRELOAD with only a
 * warning, and the app would run on the kernel stack: refuse instead. */
static bool preload_readable(const char *path, const struct sup_user *u)
{
	char dir[PATH_MAX];
	struct stat sb;
	char *slash;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return false;
	if (!u || u->uid == 0)
		return true;
	if (!(sb.st_mode & S_IROTH) && !(sb.st_uid == u->uid &&
					 (sb.st_mode & S_IRUSR)))
		return false;
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (stat(dir, &sb) < 0)
			return false;
		if (!(sb.st_mode & S_IXOTH) && !(sb.st_uid == u->uid &&
						 (sb.st_mode & S_IXUSR)))
			return false;
	}
	return true;
}

/* The cpu that the stack of driver c's pipeline is pinned to, or -1. */
static int stack_cpu(const struct sup *s, const struct comp *c)
{
	for (unsigned i = 0; i < s->ncomp; i++) {
		const struct comp *o = &s->comp[i];

		if (o->role == FN_ROLE_STACK && o->pipeline == c->pipeline)
			return o->cpu;
	}
	return -1;
}

/* Exactly the names.h list (apps get neither CONFIG nor RUN_DIR: they must
 * not learn where the control sockets are), plus PATH, plus the identity
 * variables for an app run as a user. */
static int build_env(const struct sup *s, const struct comp *c,
		     const struct child_args *a, struct spawn_env *e)
{
	bool app = c->role == FN_ROLE_APP;
	bool confined = c->role == FN_ROLE_STACK || c->role == FN_ROLE_VSWITCH;
	int err = 0;

	err |= env_add(e, "PATH", "%s", SPAWN_PATH);
	err |= env_add(e, FN_ENV_COMPONENT, "%s", fn_role_name(c->role));
	if (c->pipeline >= 0 || c->network >= 0)
		err |= env_add(e, FN_ENV_PIPELINE, "%d",
			       c->pipeline >= 0 ? c->pipeline : c->network);
	else
		err |= env_add(e, FN_ENV_PIPELINE, "-");
	if (!app) {
		err |= env_add(e, FN_ENV_CONFIG, "%s", s->cfg->path);
		err |= env_add(e, FN_ENV_RUN_DIR, "%s", s->cfg->run_dir);
	}
	err |= env_add(e, FN_ENV_POLL, "%s", fn_poll_name(c->conf->poll));
	if (c->cpu >= 0)
		err |= env_add(e, FN_ENV_CPU, "%d", c->cpu);
	else
		err |= env_add(e, FN_ENV_CPU, "-");
	if (c->role == FN_ROLE_DRIVER) {
		int cpu = stack_cpu(s, c);

		if (cpu >= 0)
			err |= env_add(e, FN_ENV_STACK_CPU, "%d", cpu);
		else
			err |= env_add(e, FN_ENV_STACK_CPU, "-");
	}
	err |= env_add(e, FN_ENV_LOG_LEVEL, "%s",
		       fn_log_level_name(s->log_level));
	for (unsigned i = 0; i < a->nfds; i++)
		if (a->fds[i].env)	/* else a table names it */
			err |= env_add(e, a->fds[i].env, "%d", a->fds[i].dst);
	if ((c->role == FN_ROLE_NIC || c->role == FN_ROLE_DRIVER) &&
	    s->dpdk.set)
		err |= env_add(e, FN_ENV_CONFINE, "%u:%u",
			       (unsigned)s->dpdk.uid, (unsigned)s->dpdk.gid);
	else if (confined && s->confined.set)
		err |= env_add(e, FN_ENV_CONFINE, "%u:%u",
			       (unsigned)s->confined.uid,
			       (unsigned)s->confined.gid);
	else if (confined)
		err |= env_add(e, FN_ENV_CONFINE, "%s", FN_CONFINE_OFF);
	if (app && s->user.set)
		err |= build_env_user(&s->user, e);
	if (app && s->cfg->app.preload)
		err |= env_add(e, "LD_PRELOAD", "%s", preload_path());
	return err ? -E2BIG : 0;
}

/* Wait for the child to exec or to report why it could not; label and
 * path name it in the message. */
static int spawn_wait_exec(int rfd, pid_t pid, const char *label,
			   const char *path, char *err, size_t errlen)
{
	struct child_err ce;
	ssize_t n;

	do
		n = read(rfd, &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(ce) || ce.stage < 0 || ce.stage > ST_EXEC) {
		snprintf(err, errlen, "cannot start %s: child died before exec",
			 label);
		return -ECHILD;
	}
	if (ce.stage == ST_EXEC)
		snprintf(err, errlen, "cannot exec %s: %s", path,
			 strerror(ce.err));
	else
		snprintf(err, errlen, "cannot start %s: %s: %s", label,
			 stage_names[ce.stage], strerror(ce.err));
	return ce.err > 0 ? -ce.err : -EIO;
}

static int spawn_fork(struct child_args *a, const char *label, pid_t *pidp,
		      char *err, size_t errlen)
{
	int pfd[2], ret;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto err_sys;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		goto err_sys;
	}
	if (pid == 0) {
		close(pfd[0]);
		a->errfd = pfd[1];
		child_main(a);
	}
	close(pfd[1]);
	ret = spawn_wait_exec(pfd[0], pid, label, a->path, err, errlen);
	close(pfd[0]);
	if (ret == 0)
		*pidp = pid;
	return ret;

err_sys:
	ret = -errno;
	snprintf(err, errlen, "cannot start %s: %s", label, strerror(errno));
	return ret;
}

/*
 * A kernel before 6.12 takes sched_runtime for a fair task and ignores it;
 * since, sched_getattr reports the task's slice.  Said once, as a warning:
 * the component runs all the same.
 */
static void slice_check(const char *label, pid_t pid, unsigned slice_us)
{
	static bool warned;
	struct fn_sched_attr attr = { .size = sizeof(attr) };

	if (warned || syscall(SYS_sched_getattr, pid, &attr, sizeof(attr), 0u) < 0)
		return;	/* gone already: its exit is reported elsewhere */
	if (attr.sched_runtime == (uint64_t)slice_us * 1000)
		return;
	warned = true;
	fn_warn("%s: slice_us = %u is not in effect (the kernel reports a slice "
		"of %llu ns; a fair task's slice needs Linux 6.12 or later)",
		label, slice_us, (unsigned long long)attr.sched_runtime);
}

/*
 * Start c.  On success c->pid is set and 0 returned; otherwise a negative
 * errno with the reason in err ("cannot exec PATH: ..."), and nothing is
 * left running.
 */
int spawn_comp(struct sup *s, struct comp *c, char *err, size_t errlen)
{
	struct child_args a = { .path = c->conf->exec, .argv = c->argv };
	struct spawn_env *env = calloc(1, sizeof(*env));
	cpu_set_t cpus;
	pid_t pid = 0;
	int ret;

	if (!env) {
		snprintf(err, errlen, "cannot start %s: out of memory", c->label);
		return -ENOMEM;
	}
	build_fds(s, c, &a);
	ret = build_env(s, c, &a, env);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start %s: environment too big",
			 c->label);
		goto out;
	}
	a.envp = env->envp;
	if (c->cpu >= 0) {
		CPU_ZERO(&cpus);
		CPU_SET(c->cpu, &cpus);
		a.cpus = &cpus;
	}
	if (c->role == FN_ROLE_APP && s->user.set)
		a.user = &s->user;
	a.policy = c->conf->sched == FN_SCHED_BATCH ? SCHED_BATCH : SCHED_OTHER;
	a.slice_us = c->conf->slice_us;
	/* A driver reaches its queue through fds and EAL's AF_UNIX
	 * channel, never the kernel's network (docs/security.md). */
	a.own_netns = (c->role == FN_ROLE_APP &&
		       s->cfg->app.netns == FN_NETNS_OWN) ||
		      c->role == FN_ROLE_DRIVER;
	if (c->role == FN_ROLE_APP && s->cfg->app.preload &&
	    !preload_readable(preload_path(), a.user)) {
		snprintf(err, errlen, "cannot start %s: the preload library %s "
			 "is missing or not readable by %s (build it, or set "
			 "[app] preload = no)", c->label, preload_path(),
			 a.user ? a.user->name : "root");
		ret = -EACCES;
		goto out;
	}
	a.parent = getpid();
	ret = spawn_fork(&a, c->label, &pid, err, errlen);
	if (ret == 0) {
		c->pid = pid;
		if (a.slice_us)
			slice_check(c->label, pid, a.slice_us);
	}
out:
	free(env);
	return ret;
}

/*
 * A helper of the supervisor's own that is no component (today `fragnet
 * metrics-serve`): our own binary (/proc/self/exe: the same file even if
 * it was replaced on disk since) with argv, steps 1-3, 5, 6 and 9 of the
 * file comment (no cpu, no namespace, no user: it confines itself), fds
 * as given, and the environment PATH, FRAGNET_LOG_LEVEL and env (KEY,
 * VALUE, KEY, VALUE, ..., NULL; at most SPAWN_MAX_ENV - 2 pairs).  0 and
 * *pid, or a negative errno with the reason in err.
 */
int spawn_helper(struct sup *s, const char *label, char *const argv[],
		 const struct sup_fd *fds, unsigned nfds,
		 const char *const env[], pid_t *pid, char *err, size_t errlen)
{
	struct child_args a = { .path = "/proc/self/exe", .argv = argv };
	struct spawn_env *e = calloc(1, sizeof(*e));
	int ret = 0;

	if (!e || nfds > SPAWN_MAX_FDS) {
		free(e);
		snprintf(err, errlen, "cannot start %s: %s", label,
			 e ? "too many fds" : "out of memory");
		return e ? -E2BIG : -ENOMEM;
	}
	for (unsigned i = 0; i < nfds; i++)
		a.fds[a.nfds++] = fds[i];
	ret |= env_add(e, "PATH", "%s", SPAWN_PATH);
	ret |= env_add(e, FN_ENV_LOG_LEVEL, "%s",
		       fn_log_level_name(s->log_level));
	for (unsigned i = 0; env[i] && env[i + 1]; i += 2)
		ret |= env_add(e, env[i], "%s", env[i + 1]);
	if (ret) {
		snprintf(err, errlen, "cannot start %s: environment too big",
			 label);
		free(e);
		return -E2BIG;
	}
	a.envp = e->envp;
	a.parent = getpid();
	ret = spawn_fork(&a, label, pid, err, errlen);
	free(e);
	return ret;
}

/* ---- the app's user --------------------------------------------------------- */

static int user_groups(struct sup_user *u)
{
	int n = 32;

	for (;;) {
		gid_t *g = realloc(u->groups, (size_t)n * sizeof(*g));
		int want = n;

		if (!g)
			return -ENOMEM;
		u->groups = g;
		if (getgrouplist(u->name, u->gid, g, &want) >= 0) {
			u->ngroups = want;
			return 0;
		}
		if (want <= n || want > 65536)
			return -E2BIG;
		n = want;
	}
}

/* Resolve the app's user once, at startup: an unknown user is an error
 * before anything is spawned, and the child needs no NSS look-up. */
int spawn_resolve_user(struct sup_user *u, const char *name, char *err,
		       size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (!name || !*name)
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "[app] user: no such user '%s'%s", name,
			 strcmp(name, FN_APP_USER_DEFAULT) ? "" :
			 " (the default: scripts/setup makes it)");
		return errno ? -errno : -ENOENT;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->home, sizeof(u->home), "%s", pw->pw_dir);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if (user_groups(u) < 0) {
		snprintf(err, errlen, "[app] user: cannot list the groups of '%s'",
			 name);
		spawn_user_fini(u);
		return -EINVAL;
	}
	u->set = true;
	return 0;
}

void spawn_user_fini(struct sup_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->set = false;
}

/* ---- the confined components' service user -------------------------------- */

/*
 * With [stack] confine = yes (the default) and a stack to run: the kernel
 * can confine (fn_confine_probe) and FN_CONFINE_USER exists, or the
 * topology does not start at all.  A stack confines itself after exec
 * (fragnet/confine.h); here only what it will need is checked, loudly.
 */
/* The service user name into u, or an error for "cannot WHAT". */
static int resolve_service(struct sup *s, struct sup_user *u,
			   const char *name, const char *what)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw || pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(s->error, sizeof(s->error), "cannot %s: no "
			 "unprivileged system user '%s' (run scripts/setup)",
			 what, name);
		return errno ? -errno : -ENOENT;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->set = true;
	return 0;
}

/*
 * A topology with a nic: FN_DPDK_USER exists, or it does not start.  Its
 * drivers become that user once EAL has joined, and the nic opens the
 * DPDK files they still need to its group (docs/security.md); [stack]
 * confine does not change that.
 */
static int resolve_dpdk(struct sup *s)
{
	bool nic = false;

	memset(&s->dpdk, 0, sizeof(s->dpdk));
	for (unsigned i = 0; i < s->ncomp; i++)
		nic |= s->comp[i].role == FN_ROLE_NIC;
	return nic ? resolve_service(s, &s->dpdk, FN_DPDK_USER,
				     "run the drivers unprivileged") : 0;
}

/* The kernel can confine (fn_confine_probe) and FN_CONFINE_USER exists,
 * into u; else "cannot WHAT: why" and the hint in s->error. */
static int resolve_confinable(struct sup *s, struct sup_user *u,
			      const char *what, const char *hint)
{
	char why[200];
	int err = fn_confine_probe(why, sizeof(why));

	if (err < 0) {
		snprintf(s->error, sizeof(s->error), "cannot %s: %s%s", what,
			 why, hint);
		return err;
	}
	return resolve_service(s, u, FN_CONFINE_USER, what);
}

int spawn_resolve_confined(struct sup *s)
{
	bool stacks = false;
	int err;

	memset(&s->confined, 0, sizeof(s->confined));
	err = resolve_dpdk(s);
	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->ncomp; i++)
		stacks |= s->comp[i].role == FN_ROLE_STACK ||
			  s->comp[i].role == FN_ROLE_VSWITCH;
	if (!s->cfg->stack.confine || !stacks)
		return 0;
	return resolve_confinable(s, &s->confined, "confine the stacks",
				  " ([stack] confine = no only to measure)");
}

/*
 * [topology] metrics: `fragnet metrics-serve` confines itself as a stack
 * does, whatever [stack] confine says (that key only exists to measure
 * the stacks), so the kernel must be able to, and FN_CONFINE_USER must
 * exist, or the topology does not start.
 */
int spawn_resolve_metrics(struct sup *s)
{
	memset(&s->metrics_user, 0, sizeof(s->metrics_user));
	if (!s->cfg->metrics.family)
		return 0;
	return resolve_confinable(s, &s->metrics_user,
				  "run the [topology] metrics server "
				  "unprivileged", "");
}
