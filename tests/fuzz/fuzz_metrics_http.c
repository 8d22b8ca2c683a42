/*
 * fuzz_metrics_http.c - libFuzzer entry point for the request parser of
 * `fragnet metrics-serve` (src/supervisor/metrics_http.c): the input is
 * what a client sent, cut where the server would stop reading.
 *
 * Checks what the server relies on: no read outside the input (ASan),
 * a route that is one of 200, 400, 404, 405, and 200 only for a request
 * line that starts "GET /metrics"; a head the parser calls DONE routes to
 * something other than 400, one it calls BAD to 400.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_metrics_http
 *   build-fuzz/tests/fuzz/fuzz_metrics_http /tmp/corpus \
 *       tests/fuzz/corpus/metrics_http
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *req = (const char *)data;
	enum metrics_head h;
	int route;

	if (size > METRICS_REQ_MAX)
		size = METRICS_REQ_MAX;
	h = metrics_http_head(req, size);
	route = metrics_http_route(req, size);
	if (route != 200 && route != 400 && route != 404 && route != 405)
		abort();
	if (route == 200 && (size < 12 || memcmp(req, "GET /metrics", 12)))
		abort();
	if ((h == METRICS_HEAD_DONE && route == 400) ||
	    (h == METRICS_HEAD_BAD && route != 400))
		abort();
	return 0;
}
