/*
 * fragnet/confine.h - a component confines itself before it reads any input.
 *
 * STATUS: fn_confine() is used by fragnet-stack, fragnet-vswitch and
 * `fragnet metrics-serve` ([topology] metrics), fn_confine_caps() by
 * fragnet-nic and fragnet-driver (docs/security.md
 * has the table of what each component holds and why).
 *
 * THE CONTRACT
 *   The supervisor starts the component as root and puts FRAGNET_CONFINE
 *   (names.h) in its environment: "UID:GID", the unprivileged service user
 *   it must become, or "off" ([stack] confine = no, for measuring the cost
 *   only).  The component sets itself up with everything it holds as fds
 *   (links mapped, stats page, tables read), and then, before its loop
 *   touches a frame, a request or a control message, calls fn_confine():
 *
 *     1. unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS):
 *        an empty network namespace (not even lo up), a mount namespace
 *        of its own;
 *     2. every mount private, an empty read-only tmpfs made the root
 *        (pivot_root to it, the old root unmounted): no file of the host
 *        can be named any more;
 *     3. rlimits: RLIMIT_AS (what is mapped now plus spec->as_margin),
 *        RLIMIT_NOFILE, RLIMIT_NPROC 0, RLIMIT_CORE 0, RLIMIT_MEMLOCK 0;
 *     4. the capability bounding set emptied, the ambient set cleared,
 *        setgroups(0), setresgid, setresuid to the service user: no
 *        capability is left in any set (checked), and no way back to 0;
 *     5. PR_SET_DUMPABLE 0 (no /proc/PID access by its own uid),
 *        PR_SET_NO_NEW_PRIVS 1;
 *     6. the seccomp filter: spec->filter's allow-list, all else kills
 *        the process (SIGSYS), or fails with spec->deny_errno where the
 *        list says so (see fn_confine_filter).
 *
 *   Every step must succeed; fn_confine() returns a negative errno and
 *   fills why otherwise, and the component exits with FN_CONFINE_EXIT so
 *   that the supervisor can tell "the kernel refused to confine" from an
 *   ordinary crash.
 *
 * SANITIZERS: an ASan or UBSan build keeps steps 1-5 but skips RLIMIT_AS
 * (ASan reserves terabytes of shadow) and turns the filter's kill into
 * ENOSYS, so that a sanitizer's own report can still be written.  The
 * normal build always kills.
 */
#ifndef FRAGNET_CONFINE_H
#define FRAGNET_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define FN_CONFINE_EXIT		3	/* exit status: confinement failed */
#define FN_CONFINE_OFF		"off"
/* The service user of every confined component (scripts/setup makes it). */
#define FN_CONFINE_USER		"fragnet-stack"

/* The filter's outcome for a system call (fn_confine_filter). */
enum fn_confine_act {
	FN_SC_ALLOW,		/* allowed (its argument checks, if any) */
	FN_SC_EACCES,		/* fails with EACCES: tried by library code
				 * that copes with a failure */
	FN_SC_KILL,		/* kills the process (a deny-list's entry) */
};

/* One entry of an allow-list: the call, and up to two argument checks:
 * argument arg[i].idx masked with arg[i].mask equals arg[i].val. */
struct fn_sc_rule {
	int nr;
	enum fn_confine_act act;
	unsigned nargs;
	struct { unsigned idx; unsigned long long mask, val; } arg[2];
};

struct fn_confine_spec {
	const char *who;		/* "stack", for the messages */
	uid_t uid;
	gid_t gid;
	rlim_t as_margin;		/* bytes above what is mapped now */
	rlim_t nofile;			/* RLIMIT_NOFILE */
	const struct fn_sc_rule *rules;	/* the allow-list */
	size_t nrules;
};

/* FRAGNET_CONFINE: 1 and *uid, *gid set for "UID:GID"; 0 for "off" or
 * unset (the component was not started by a supervisor); -EINVAL for
 * anything else. */
int fn_confine_env(uid_t *uid, gid_t *gid);

/* Steps 1-6 of the contract.  0, or a negative errno with why filled. */
int fn_confine(const struct fn_confine_spec *spec, char *why, size_t whylen);

/* What a component calls: fn_confine_env(), then fn_confine() unless
 * "off" or unset (a warning: not confined), logging what it did or why it
 * failed.  0, or a negative errno: the component must exit with
 * FN_CONFINE_EXIT. */
int fn_confine_self(struct fn_confine_spec *spec);

/*
 * For the DPDK processes, which cannot confine themselves as a stack does
 * (docs/security.md says why): keep only the capabilities in keep (a mask
 * of 1 << CAP_*) in the bounding, permitted and effective sets, clear the
 * inheritable and ambient ones; with uid != 0 become uid:gid first (as
 * step 4 of fn_confine(): no supplementary group, every thread's ids,
 * PR_SET_PDEATHSIG again, non-dumpable), which only works with keep == 0;
 * set NoNewPrivs; then, if nrules, a seccomp deny-list: every call allowed
 * but those in rules (FN_SC_KILL, FN_SC_EACCES), and tgkill only on
 * ourselves.  Capability sets are per thread: every other thread is made
 * to do the same to its own (a signal; the caller waits for each), and
 * the filter (and with it NoNewPrivs) goes to every thread (TSYNC).  0,
 * or a negative errno with why filled.
 */
int fn_confine_caps(unsigned long long keep, uid_t uid, gid_t gid,
		    const struct fn_sc_rule *rules, size_t nrules, char *why,
		    size_t whylen);

/* The service user of the drivers (scripts/setup makes it): drivers
 * become it; the nic gives its group access to the DPDK files the drivers
 * still open after that. */
#define FN_DPDK_USER		"fragnet-driver"

/* The calls every confined component needs (exit, signals, memory without
 * PROT_EXEC, time, futex, read/write/close on the fds it holds, poll),
 * appended by fn_confine() to spec->rules. */
extern const struct fn_sc_rule fn_confine_base_rules[];
extern const size_t fn_confine_nbase_rules;

/* May this kernel confine?  0, or a negative errno with why filled:
 * seccomp filters with SECCOMP_RET_KILL_PROCESS, network and mount
 * namespaces.  The supervisor asks before it starts anything. */
int fn_confine_probe(char *why, size_t whylen);

#endif /* FRAGNET_CONFINE_H */
