/*
 * fragnet/env.h - reading the spawn contract (names.h) in a component.
 */
#ifndef FRAGNET_ENV_H
#define FRAGNET_ENV_H

#include "fragnet/stream.h"	/* enum fn_poll */

/* The fd number in environment variable var: >= 0, -ENOENT if unset or
 * empty, -EINVAL if it is not a number in 0..65535. */
int fn_env_fd(const char *var);

/* FRAGNET_CPU if it names a cpu, else the first cpu we may run on. */
int fn_env_cpu(void);

/* FRAGNET_POLL, or dflt when it is unset or empty; a value that is not
 * busy, adaptive or event gives dflt too, with a warning. */
enum fn_poll fn_env_poll(enum fn_poll dflt);

#endif /* FRAGNET_ENV_H */
