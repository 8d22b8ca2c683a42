/*
 * log.c - leveled logging for every fragnet process.
 *
 * Call fn_log_init() once at start; then fn_err/fn_warn/fn_info/fn_debug.
 * One write(2) per line, so lines of different processes sharing a stderr
 * do not interleave mid-line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "fragnet/names.h"

static char log_component[FN_NAME_MAX] = "fragnet";
static int log_pipeline = -1;
static int log_level_cur = FN_LOG_INFO;

static const char *const level_names[] = {
	[FN_LOG_ERROR] = "error",
	[FN_LOG_WARN] = "warn",
	[FN_LOG_INFO] = "info",
	[FN_LOG_DEBUG] = "debug",
};

int fn_log_level_parse(const char *s, int *out)
{
	for (int i = 0; i <= FN_LOG_DEBUG; i++) {
		if (s && strcasecmp(s, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fn_log_level_name(int level)
{
	if (level < FN_LOG_ERROR || level > FN_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void fn_log_init(const char *component, int pipeline, int level)
{
	snprintf(log_component, sizeof(log_component), "%s",
		 component ? component : "fragnet");
	log_pipeline = pipeline;
	if (level == FN_LOG_DEFAULT &&
	    fn_log_level_parse(getenv(FN_ENV_LOG_LEVEL), &level) < 0)
		level = FN_LOG_INFO;
	fn_log_set_level(level);
}

void fn_log_set_level(int level)
{
	if (level >= FN_LOG_ERROR && level <= FN_LOG_DEBUG)
		log_level_cur = level;
}

int fn_log_level(void)
{
	return log_level_cur;
}

static size_t log_prefix(char *buf, size_t size, int level)
{
	struct timespec ts;
	struct tm tm;
	char pl[16] = "-";

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (log_pipeline >= 0)
		snprintf(pl, sizeof(pl), "%d", log_pipeline);
	int n = snprintf(buf, size,
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ fragnet-%s/%s[%d] %s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			 log_component, pl, (int)getpid(), fn_log_level_name(level));
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

void fn_log(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int saved = errno;

	if (level > log_level_cur)
		return;
	size_t n = log_prefix(buf, sizeof(buf), level);
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof(buf) - n - 1 ? (size_t)m : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	/* Best effort: a log line that cannot be written is not an error. */
	ssize_t w = write(STDERR_FILENO, buf, n);
	(void)w;
	errno = saved;
}
