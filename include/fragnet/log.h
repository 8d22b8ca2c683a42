/*
 * fragnet/log.h - leveled logging with component names.
 *
 * Every line goes to stderr as
 *     2026-11-27T02:51:04.123Z fragnet-stack/1[4242] warn: text
 * (component, pipeline or "-", pid), so that the interleaved output of all
 * components of a topology stays readable.  The level comes from
 * fn_log_init() or, if that was given FN_LOG_DEFAULT, FRAGNET_LOG_LEVEL.
 */
#ifndef FRAGNET_LOG_H
#define FRAGNET_LOG_H

enum fn_log_level {
	FN_LOG_ERROR,
	FN_LOG_WARN,
	FN_LOG_INFO,
	FN_LOG_DEBUG,
	FN_LOG_DEFAULT = -1,
};

/* pipeline < 0: not part of a pipeline. */
void fn_log_init(const char *component, int pipeline, int level);
void fn_log_set_level(int level);
int fn_log_level(void);
int fn_log_level_parse(const char *s, int *out);
const char *fn_log_level_name(int level);

void fn_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define fn_err(...)	fn_log(FN_LOG_ERROR, __VA_ARGS__)
#define fn_warn(...)	fn_log(FN_LOG_WARN, __VA_ARGS__)
#define fn_info(...)	fn_log(FN_LOG_INFO, __VA_ARGS__)
#define fn_debug(...)	fn_log(FN_LOG_DEBUG, __VA_ARGS__)

#endif /* FRAGNET_LOG_H */
