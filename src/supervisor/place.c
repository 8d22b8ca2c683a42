/*
 * place.c - which cpu each component is pinned to.
 *
 * The cpus we may use are the supervisor's own affinity at startup (a
 * cpuset or taskset around `fragnet up` is respected).  With n of them:
 *
 *   explicit   a cpu from the config always wins; one outside the allowed
 *              set is a startup error naming the component.
 *   compact    every component of pipeline i on allowed[i % n] (the
 *              paper: driver, stack and app of one pipeline share a core);
 *              a vswitch with the first pipeline attached to its network.
 *   spread     auto-placed components round-robin over the allowed cpus,
 *              in spawn order (drivers, vswitches, stacks, apps).
 *   nic        unpinned unless explicit: it sets the port up and does no
 *              packet I/O, so it should not steal a pipeline's core.
 *
 * Called once by sup_prepare(), before anything is created.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sup.h"

static unsigned allowed_list(const cpu_set_t *set, int *cpus)
{
	unsigned n = 0;

	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			cpus[n++] = cpu;
	return n;
}

static int place_explicit(const struct sup *s, struct comp *c, char *err,
			  size_t errlen)
{
	int cpu = c->conf->cpu;
	char allowed[256];

	if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &s->allowed)) {
		c->cpu = cpu;
		return 0;
	}
	place_format_set(&s->allowed, allowed, sizeof(allowed));
	snprintf(err, errlen, "%s: cpu %d is not available (allowed cpus: %s)",
		 c->label, cpu, allowed);
	return -EINVAL;
}

/* The pipeline c's cpu follows with compact placement: its own, or a
 * vswitch's first attached pipeline (config.c makes sure there is one). */
static unsigned home_pipeline(const struct fn_config *cfg, const struct comp *c)
{
	if (c->role != FN_ROLE_VSWITCH)
		return (unsigned)c->pipeline;
	for (unsigned p = 0; p < cfg->npipelines; p++)
		for (unsigned j = 0; j < cfg->pipeline[p].nnets; j++)
			if (cfg->pipeline[p].net[j].network ==
			    (unsigned)c->network)
				return p;
	return 0;
}

int place_all(struct sup *s, char *err, size_t errlen)
{
	static int cpus[CPU_SETSIZE];
	unsigned n = allowed_list(&s->allowed, cpus), rr = 0;

	if (n == 0) {
		snprintf(err, errlen, "no cpu in the supervisor's affinity");
		return -EINVAL;
	}
	for (unsigned i = 0; i < s->ncomp; i++) {
		struct comp *c = &s->comp[i];

		if (c->conf->cpu != FN_CPU_AUTO) {
			int ret = place_explicit(s, c, err, errlen);
			if (ret < 0)
				return ret;
		} else if (c->role == FN_ROLE_NIC) {
			c->cpu = FN_CPU_AUTO;
		} else if (s->cfg->placement == FN_PLACE_COMPACT) {
			c->cpu = cpus[home_pipeline(s->cfg, c) % n];
		} else {
			c->cpu = cpus[rr++ % n];
		}
	}
	return 0;
}

/* "0-3,6" style, as in /proc/PID/status Cpus_allowed_list. */
int place_format_set(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int last = cpu;

		if (!CPU_ISSET(cpu, set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		int w = last > cpu ?
			snprintf(buf + used, len - used, "%s%d-%d",
				 used ? "," : "", cpu, last) :
			snprintf(buf + used, len - used, "%s%d",
				 used ? "," : "", cpu);
		if (w < 0 || (size_t)w >= len - used)
			return -ENOSPC;
		used += (size_t)w;
		cpu = last;
	}
	return 0;
}

/* The affinity pid really has (what `status` shows), not what we asked. */
int place_read_back(pid_t pid, char *buf, size_t len)
{
	cpu_set_t set;

	if (sched_getaffinity(pid, sizeof(set), &set) < 0) {
		snprintf(buf, len, "?");
		return -errno;
	}
	return place_format_set(&set, buf, len);
}
