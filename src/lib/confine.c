/*
 * confine.c - fn_confine(): a component gives up everything but its fds
 * (fragnet/confine.h has the contract, docs/security.md the table).
 *
 * Called once by fragnet-stack and fragnet-vswitch, as root, after their
 * setup and before their loop.  Each step either succeeds or the whole
 * call fails with the step named in why: a half-confined component must
 * not run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>

#include "fragnet/confine.h"
#include "fragnet/log.h"
#include "fragnet/names.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define CONFINE_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define CONFINE_SANITIZED	1
#endif
#endif
#ifndef CONFINE_SANITIZED
#define CONFINE_SANITIZED	0
#endif

/* The empty root is mounted here first, in our own mount namespace. */
#define CONFINE_MNT		"/tmp"

#define ALLOW(name)	{ SCMP_SYS(name), FN_SC_ALLOW, 0, { { 0, 0, 0 } } }
/* Memory may be mapped and protected, never executable. */
#define NOEXEC(name)	{ SCMP_SYS(name), FN_SC_ALLOW, 1, \
			  { { 2, PROT_EXEC, 0 } } }

const struct fn_sc_rule fn_confine_base_rules[] = {
	ALLOW(read), ALLOW(write), ALLOW(writev), ALLOW(close),
	ALLOW(poll), ALLOW(ppoll),
	ALLOW(futex), ALLOW(sched_yield),
	ALLOW(nanosleep), ALLOW(clock_nanosleep),
	ALLOW(clock_gettime), ALLOW(gettimeofday),
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise),
	NOEXEC(mmap), NOEXEC(mprotect),
	ALLOW(rt_sigreturn), ALLOW(rt_sigprocmask), ALLOW(restart_syscall),
	ALLOW(exit), ALLOW(exit_group), ALLOW(getpid), ALLOW(gettid),
	ALLOW(fstat), ALLOW(newfstatat), ALLOW(getrandom),
	/* glibc's qsort() sizes its buffer by the physical memory */
	ALLOW(sysinfo),
	/* glibc and the nf_tables server may try a file (/proc/PID/comm)
	 * and cope with a failure: say no, do not kill. */
	{ SCMP_SYS(openat), FN_SC_EACCES, 0, { { 0, 0, 0 } } },
	{ SCMP_SYS(open), FN_SC_EACCES, 0, { { 0, 0, 0 } } },
#if CONFINE_SANITIZED
	/* ASan checks the signal stack before every noreturn call. */
	ALLOW(sigaltstack),
#endif
};
const size_t fn_confine_nbase_rules =
	sizeof(fn_confine_base_rules) / sizeof(fn_confine_base_rules[0]);

int fn_confine_env(uid_t *uid, gid_t *gid)
{
	const char *v = getenv(FN_ENV_CONFINE);
	unsigned long u, g;
	char *end;

	if (!v || !*v || strcmp(v, FN_CONFINE_OFF) == 0)
		return 0;
	errno = 0;
	u = strtoul(v, &end, 10);
	if (errno || end == v || *end != ':')
		return -EINVAL;
	v = end + 1;
	g = strtoul(v, &end, 10);
	if (errno || end == v || *end || u == 0 || g == 0 ||
	    u > 0xfffffffeul || g > 0xfffffffeul)
		return -EINVAL;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 1;
}

static int fail(char *why, size_t len, const char *step)
{
	int err = errno ? errno : EPERM;

	snprintf(why, len, "%s: %s", step, strerror(err));
	return -err;
}

/* Steps 1 and 2: empty namespaces, an empty read-only root. */
static int confine_ns(char *why, size_t len)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
		    CLONE_NEWUTS) < 0)
		return fail(why, len, "unshare(CLONE_NEWNET|CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(why, len, "making every mount private");
	if (mount("fragnet-empty", CONFINE_MNT, "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0)
		return fail(why, len, "mounting an empty tmpfs on " CONFINE_MNT);
	if (chdir(CONFINE_MNT) < 0)
		return fail(why, len, "chdir to the empty root");
	/* pivot_root(2): new and old root the same directory, then the old
	 * one, stacked underneath, is unmounted. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(why, len, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(why, len, "unmounting the old root");
	if (chdir("/") < 0)
		return fail(why, len, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(why, len, "making the empty root read-only");
	return 0;
}

/* What is mapped now (VmSize), before /proc goes away. */
static rlim_t vm_size(void)
{
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &pages) != 1)
		pages = 0;
	fclose(f);
	return (rlim_t)(pages * (unsigned long long)sysconf(_SC_PAGESIZE));
}

static int limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	return setrlimit(res, &rl);
}

/* Step 3. */
static int confine_rlimits(const struct fn_confine_spec *spec, rlim_t vm,
			   char *why, size_t len)
{
	if (!CONFINE_SANITIZED && limit(RLIMIT_AS, vm + spec->as_margin) < 0)
		return fail(why, len, "setrlimit(RLIMIT_AS)");
	if (limit(RLIMIT_NOFILE, spec->nofile) < 0)
		return fail(why, len, "setrlimit(RLIMIT_NOFILE)");
	if (limit(RLIMIT_NPROC, 0) < 0)
		return fail(why, len, "setrlimit(RLIMIT_NPROC)");
	if (limit(RLIMIT_CORE, 0) < 0)
		return fail(why, len, "setrlimit(RLIMIT_CORE)");
	if (limit(RLIMIT_MEMLOCK, 0) < 0)
		return fail(why, len, "setrlimit(RLIMIT_MEMLOCK)");
	return 0;
}

static bool caps_empty(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	return true;
}

/*
 * Become uid:gid: no supplementary group, real, effective and saved ids
 * changed in every thread (glibc applies set*id to all of them), which
 * clears each thread's capabilities (no PR_SET_KEEPCAPS); no way back to
 * 0 (checked).  A change of uid clears the parent-death signal
 * (commit_creds()): the spawn contract's is set again, and a parent that
 * died meanwhile is caught.  The process becomes non-dumpable: its
 * /proc/PID is root's, so no process of the same uid can read it.
 */
static int become(uid_t uid, gid_t gid, char *why, size_t len)
{
	pid_t parent = getppid();
	int pdeath = 0;

	if (prctl(PR_GET_PDEATHSIG, &pdeath) < 0)
		return fail(why, len, "prctl(PR_GET_PDEATHSIG)");
	if (setgroups(0, NULL) < 0)
		return fail(why, len, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return fail(why, len, "setresgid");
	if (setresuid(uid, uid, uid) < 0)
		return fail(why, len, "setresuid");
	errno = EPERM;
	if (setuid(0) == 0 || !caps_empty())
		return fail(why, len, "still privileged after setresuid");
	if (pdeath && prctl(PR_SET_PDEATHSIG, pdeath) < 0)
		return fail(why, len, "prctl(PR_SET_PDEATHSIG)");
	errno = ESRCH;
	if (getppid() != parent)
		return fail(why, len, "the parent died");
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return fail(why, len, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

/* Step 4: the bounding set needs CAP_SETPCAP, so it goes first. */
static int confine_user(const struct fn_confine_spec *spec, char *why,
			size_t len)
{
	int err;

	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap) < 0)
			return fail(why, len, "emptying the bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(why, len, "clearing the ambient set");
	err = become(spec->uid, spec->gid, why, len);
	if (err)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(why, len, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}

static int rule_add(scmp_filter_ctx ctx, const struct fn_sc_rule *r)
{
	uint32_t act = r->act == FN_SC_EACCES ? SCMP_ACT_ERRNO(EACCES) :
		       r->act == FN_SC_KILL ? SCMP_ACT_KILL_PROCESS :
					      SCMP_ACT_ALLOW;
	struct scmp_arg_cmp cmp[2];

	for (unsigned i = 0; i < r->nargs && i < 2; i++)
		cmp[i] = (struct scmp_arg_cmp){ r->arg[i].idx,
			SCMP_CMP_MASKED_EQ, r->arg[i].mask, r->arg[i].val };
	return seccomp_rule_add_array(ctx, act, r->nr, r->nargs, cmp);
}

/*
 * Build and load a filter: default action dflt, the rules of a and of b,
 * and tgkill with tg_act when its thread group compared by tg_op with
 * ours holds (allow-list: allow on ourselves; deny-list: kill on others).
 */
static int filter_load(uint32_t dflt, const struct fn_sc_rule *a, size_t na,
		       const struct fn_sc_rule *b, size_t nb, uint32_t tg_act,
		       enum scmp_compare tg_op, char *why, size_t len)
{
	scmp_filter_ctx ctx = seccomp_init(dflt);
	int err = 0;

	if (!ctx) {
		errno = ENOMEM;
		return fail(why, len, "seccomp_init");
	}
	/* A binary tree of the calls, not a list: fewer comparisons on
	 * the calls the kernel's cache does not decide alone (those with
	 * argument checks).  Best effort: older libseccomp has no tree. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* Every thread, not only the caller: a DPDK process has EAL's
	 * threads (TSYNC also gives them our NoNewPrivs). */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; !err && i < na; i++)
		err = rule_add(ctx, &a[i]);
	for (size_t i = 0; !err && i < nb; i++)
		err = rule_add(ctx, &b[i]);
	if (!err)
		err = seccomp_rule_add(ctx, tg_act, SCMP_SYS(tgkill), 1,
				       SCMP_A0(tg_op, (scmp_datum_t)getpid()));
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err) {
		errno = -err;
		return fail(why, len, "loading the seccomp filter");
	}
	return 0;
}

/* Step 6.  tgkill only on ourselves (abort(), raise()). */
static int confine_filter(const struct fn_confine_spec *spec, char *why,
			  size_t len)
{
	uint32_t deny = CONFINE_SANITIZED ? SCMP_ACT_ERRNO(ENOSYS) :
					    SCMP_ACT_KILL_PROCESS;

	return filter_load(deny, fn_confine_base_rules, fn_confine_nbase_rules,
			   spec->rules, spec->nrules, SCMP_ACT_ALLOW,
			   SCMP_CMP_EQ, why, len);
}

int fn_confine(const struct fn_confine_spec *spec, char *why, size_t whylen)
{
	rlim_t vm = vm_size();
	int err;

	if (vm == 0) {
		errno = ENOENT;
		return fail(why, whylen, "reading /proc/self/statm");
	}
	err = confine_ns(why, whylen);
	if (!err)
		err = confine_rlimits(spec, vm, why, whylen);
	if (!err)
		err = confine_user(spec, why, whylen);
	if (!err)
		err = confine_filter(spec, why, whylen);
	return err;
}

int fn_confine_probe(char *why, size_t whylen)
{
	uint32_t act = SECCOMP_RET_KILL_PROCESS;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) < 0)
		return fail(why, whylen, "the kernel has no seccomp filter "
			    "with SECCOMP_RET_KILL_PROCESS (CONFIG_SECCOMP_FILTER, "
			    "Linux >= 4.14)");
	if (access("/proc/self/ns/net", F_OK) < 0)
		return fail(why, whylen, "no network namespaces "
			    "(CONFIG_NET_NS)");
	if (access("/proc/self/ns/mnt", F_OK) < 0)
		return fail(why, whylen, "no mount namespaces");
	if (access(CONFINE_MNT, F_OK) < 0)
		return fail(why, whylen, "no " CONFINE_MNT " to mount the "
			    "empty root on");
	return 0;
}

int fn_confine_self(struct fn_confine_spec *spec)
{
	char why[256];
	int r = fn_confine_env(&spec->uid, &spec->gid);

	if (r < 0) {
		fn_err("%s is malformed: want UID:GID or %s", FN_ENV_CONFINE,
		       FN_CONFINE_OFF);
		return r;
	}
	if (r == 0) {
		fn_warn("not confined (%s %s): for measuring only",
			FN_ENV_CONFINE, getenv(FN_ENV_CONFINE) ? "is off" :
			"is unset: not started by fragnet up");
		return 0;
	}
	r = fn_confine(spec, why, sizeof(why));
	if (r < 0) {
		fn_err("cannot confine myself: %s", why);
		return r;
	}
	fn_info("confined: uid %u, no capability, empty network and mount "
		"namespaces, seccomp allow-list%s", (unsigned)spec->uid,
		CONFINE_SANITIZED ? " (sanitizer build: ENOSYS, no RLIMIT_AS)"
				  : "");
	return 0;
}

static int caps_set(unsigned long long keep)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)keep, .permitted = (uint32_t)keep },
		{ .effective = (uint32_t)(keep >> 32),
		  .permitted = (uint32_t)(keep >> 32) },
	};

	return (int)syscall(SYS_capset, &h, d);
}

/*
 * The caller's capability sets are its own thread's: a process that stays
 * uid 0 (the nic) must make every other thread drop its own.  Each is sent
 * a signal whose handler does what the caller did (bounding set, ambient
 * set, capset, NoNewPrivs: raw system calls, async-signal-safe), and the
 * caller waits for every handler, at most ALL_THREADS_WAIT_MS.
 */
#define ALL_THREADS_WAIT_MS	2000

static struct {
	unsigned long long keep;
	bool bounding_only;
	atomic_int done, failed;
} all_threads;

/* bounding_only: before a change of uid, which needs CAP_SETUID in every
 * thread (glibc's set*id runs in each) and then clears the rest. */
static int thread_caps(unsigned long long keep, bool bounding_only)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap) < 0)
			return -1;
	if (bounding_only)
		return 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    caps_set(keep) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return 0;
}

static void on_all_threads(int sig)
{
	int saved = errno;

	(void)sig;
	if (thread_caps(all_threads.keep, all_threads.bounding_only) < 0)
		atomic_fetch_add(&all_threads.failed, 1);
	atomic_fetch_add(&all_threads.done, 1);
	errno = saved;
}

/* A real-time signal nobody handles, or -1. */
static int free_signal(void)
{
	struct sigaction old;

	for (int sig = SIGRTMAX; sig >= SIGRTMIN; sig--)
		if (sigaction(sig, NULL, &old) == 0 &&
		    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			return sig;
	return -1;
}

/* Signal every thread but ours; the number signalled, or -1. */
static int signal_threads(int sig)
{
	DIR *dir = opendir("/proc/self/task");
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0 || tid == self)
			continue;
		if (syscall(SYS_tgkill, pid, tid, sig) == 0) {
			n++;
		} else if (errno != ESRCH) {	/* ESRCH: it just ended */
			n = -1;
			break;
		}
	}
	closedir(dir);
	return n;
}

static int caps_other_threads(unsigned long long keep, bool bounding_only,
			      char *why, size_t len)
{
	struct sigaction sa = { .sa_handler = on_all_threads,
				.sa_flags = SA_RESTART };
	struct timespec nap = { 0, 1000000 };
	int sig = free_signal(), n;

	if (sig < 0) {
		errno = EBUSY;
		return fail(why, len, "no free signal to reach the threads");
	}
	all_threads.keep = keep;
	all_threads.bounding_only = bounding_only;
	atomic_store(&all_threads.done, 0);
	atomic_store(&all_threads.failed, 0);
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		return fail(why, len, "sigaction");
	n = signal_threads(sig);
	if (n < 0)
		return fail(why, len, "signalling the other threads");
	for (int ms = 0; atomic_load(&all_threads.done) < n; ms++) {
		if (ms >= ALL_THREADS_WAIT_MS) {
			/* The handler stays: a late signal must not kill. */
			errno = ETIMEDOUT;
			return fail(why, len, "waiting for the other threads");
		}
		nanosleep(&nap, NULL);
	}
	signal(sig, SIG_DFL);
	errno = EPERM;
	if (atomic_load(&all_threads.failed))
		return fail(why, len, "a thread could not drop its capabilities");
	return 0;
}

int fn_confine_caps(unsigned long long keep, uid_t uid, gid_t gid,
		    const struct fn_sc_rule *rules, size_t nrules, char *why,
		    size_t whylen)
{
	int err;

	if (uid != 0 && keep) {
		errno = EINVAL;
		return fail(why, whylen, "keeping a capability as a user");
	}
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap) < 0)
			return fail(why, whylen, "shrinking the bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(why, whylen, "clearing the ambient set");
	/* Every thread's bounding set, while they still may. */
	if (uid != 0 && ((err = caps_other_threads(keep, true, why, whylen)) < 0 ||
			 (err = become(uid, gid, why, whylen)) < 0))
		return err;
	if (caps_set(keep) < 0)
		return fail(why, whylen, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(why, whylen, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* A uid change has already emptied every thread's sets. */
	if (uid == 0 && (err = caps_other_threads(keep, false, why, whylen)) < 0)
		return err;
	/* The deny-list: default allow, each rule's own action. */
	return nrules ? filter_load(SCMP_ACT_ALLOW, rules, nrules, NULL, 0,
				    SCMP_ACT_KILL_PROCESS, SCMP_CMP_NE, why,
				    whylen) : 0;
}
