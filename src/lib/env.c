/*
 * env.c - a component's view of its spawn contract (fragnet/env.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"

static int env_num(const char *var, long max, long *out)
{
	const char *v = getenv(var);
	char *end;

	if (!v || !*v)
		return -ENOENT;
	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno || *end || *out < 0 || *out > max)
		return -EINVAL;
	return 0;
}

int fn_env_fd(const char *var)
{
	long fd;
	int err = env_num(var, 65535, &fd);

	return err < 0 ? err : (int)fd;
}

int fn_env_cpu(void)
{
	cpu_set_t set;
	long cpu;

	if (env_num(FN_ENV_CPU, CPU_SETSIZE - 1, &cpu) == 0)
		return (int)cpu;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				return c;
	return 0;
}

enum fn_poll fn_env_poll(enum fn_poll dflt)
{
	const char *v = getenv(FN_ENV_POLL);
	enum fn_poll p = dflt;

	if (v && *v && fn_poll_parse(v, &p) < 0) {
		fn_warn("%s=%s is not busy, adaptive or event: %s", FN_ENV_POLL,
			v, fn_poll_name(dflt));
		p = dflt;
	}
	return p;
}
