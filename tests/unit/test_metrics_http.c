/*
 * test_metrics_http.c - the HTTP of `fragnet metrics-serve`
 * (src/supervisor/metrics_http.c): when a request head is complete, where
 * each request goes, and the response head.  Hostile heads come from a
 * table; then every prefix of a good request and random bytes, which
 * must never be routed to 200 nor read out of bounds (the sanitizer
 * build of the unit suite sees to the latter).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sup.h"

struct route_row {
	const char *req;
	int status;
};

static const struct route_row routes[] = {
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
	{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },
	{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200 },
	{ "GET /metrics HTTP/1.1\n\n", 200 },
	{ "GET / HTTP/1.1\r\n\r\n", 404 },
	{ "GET /metricsx HTTP/1.1\r\n\r\n", 404 },
	{ "GET /metric HTTP/1.1\r\n\r\n", 404 },
	{ "GET /metrics/ HTTP/1.1\r\n\r\n", 404 },
	{ "GET http://127.0.0.1/metrics HTTP/1.1\r\n\r\n", 404 },
	{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405 },
	{ "HEAD /metrics HTTP/1.1\r\n\r\n", 405 },
	{ "DELETE /x HTTP/1.1\r\n\r\n", 405 },
	{ "get /metrics HTTP/1.1\r\n\r\n", 405 },
	{ "GETX /metrics HTTP/1.1\r\n\r\n", 405 },
	{ "GET /metrics HTTP/2.0\r\n\r\n", 400 },
	{ "GET /metrics\r\n\r\n", 400 },
	{ "GET  /metrics HTTP/1.1\r\n\r\n", 400 },
	{ "GET /metrics  HTTP/1.1\r\n\r\n", 400 },
	{ "GET /metrics HTTP/1.1 \r\n\r\n", 400 },
	{ " GET /metrics HTTP/1.1\r\n\r\n", 400 },
	{ "GET\t/metrics HTTP/1.1\r\n\r\n", 400 },
	{ "G(T /metrics HTTP/1.1\r\n\r\n", 400 },
	{ "GET /met\x01rics HTTP/1.1\r\n\r\n", 400 },
	{ "GET /met\xffrics HTTP/1.1\r\n\r\n", 400 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400 },
	{ "\r\n\r\n", 400 },
	{ "\n", 400 },
	{ "", 400 },
};

static void test_routes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route_row *r = &routes[i];
		int got = metrics_http_route(r->req, strlen(r->req));

		if (got != r->status)
			fail_msg("row %zu: %d, want %d", i, got, r->status);
	}
}

static void test_head(void **state)
{
	static const char good[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n"
				   "Accept: */*\r\n\r\n";
	size_t n = sizeof(good) - 1;

	(void)state;
	/* every proper prefix wants more, the whole is done */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(metrics_http_head(good, i), METRICS_HEAD_MORE);
	assert_int_equal(metrics_http_head(good, n), METRICS_HEAD_DONE);
	assert_int_equal(metrics_http_route(good, n), 200);
	/* a bad request line is known before the headers end */
	assert_int_equal(metrics_http_head("garbage\r\n", 9), METRICS_HEAD_BAD);
	assert_int_equal(metrics_http_head("GET /x HTTP/1.1\r\nA: b\r\n", 23),
			 METRICS_HEAD_MORE);
	assert_int_equal(metrics_http_head("GET /x HTTP/1.1\n\n", 17),
			 METRICS_HEAD_DONE);
	assert_int_equal(metrics_http_head("GET /x HTTP/1.1\r\n\r", 18),
			 METRICS_HEAD_MORE);
}

/* Random heads: never 200 unless they start with the one good line. */
static void test_random(void **state)
{
	static const char line[] = "GET /metrics HTTP/1.1\r\n";
	static const char alpha[] = "GET /mtrics HP1.\r\n?";
	char buf[256];

	(void)state;
	srand(18);
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)rand() % sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = (char)(rand() % 4 ?
					alpha[rand() % (sizeof(alpha) - 1)] :
					rand());
		(void)metrics_http_head(buf, n);
		if (metrics_http_route(buf, n) == 200)
			assert_memory_equal(buf, "GET /metrics", 12);
	}
	assert_int_equal(metrics_http_route(line, sizeof(line) - 1), 200);
}

static void test_status_head(void **state)
{
	char out[512];
	int n;

	(void)state;
	n = metrics_http_status_head(out, sizeof(out), 200, 1234, true);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Type: text/plain; "
			       "version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Length: 1234\r\n"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(out, "Allow:"));

	n = metrics_http_status_head(out, sizeof(out), 405, 10, false);
	assert_true(n > 0);
	assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(out, "\r\nAllow: GET\r\n"));
	assert_null(strstr(out, "version=0.0.4"));
	assert_non_null(strstr(metrics_http_body(405), "GET /metrics"));

	assert_int_equal(metrics_http_status_head(out, 20, 404, 1, false), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_status_head),
	};

	return cmocka_run_group_tests_name("metrics_http", tests, NULL, NULL);
}
