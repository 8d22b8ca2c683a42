/*
 * fn-test-crash - a component that fails: it runs for MS milliseconds
 * (default 300) and exits with status 1.  The integration tests use it to
 * drive the supervisor's backoff and crash loop detection.
 *
 *   fn-test-crash [MS]
 */
#include <stdlib.h>
#include <time.h>

#include "fragnet/log.h"
#include "fragnet/names.h"

int main(int argc, char **argv)
{
	const char *pl = getenv(FN_ENV_PIPELINE);
	long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
	struct timespec ts;

	if (ms < 0 || ms > 3600000)
		ms = 300;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	fn_log_init("test-crash", pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	while (nanosleep(&ts, &ts) < 0)
		;
	fn_err("crashing on purpose after %ld ms", ms);
	return 1;
}
