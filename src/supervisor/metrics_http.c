/*
 * metrics_http.c - the little HTTP/1.x that `fragnet metrics-serve`
 * speaks (metrics_serve.c): is a request head complete, where does it go,
 * and the head of the response.  No I/O, no allocation, no state: a
 * client's bytes are only compared, so that tests/unit/test_metrics_http.c
 * can throw anything at it.
 *
 * One request per connection, answered and closed (Connection: close).
 * Only the request line is parsed (RFC 9112 §3): METHOD SP TARGET SP
 * HTTP/1.0 or HTTP/1.1; headers are skipped up to the empty line, never
 * interpreted.  GET /metrics (with any query) is 200, another GET 404,
 * any other method 405 (Allow: GET), anything malformed 400.
 */
#include <stdio.h>
#include <string.h>

#include "sup.h"

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A target's characters: visible ASCII (no space, no control, no 8-bit). */
static bool is_vchar(char c)
{
	return c > ' ' && c < 0x7f;
}

/* The request line, without its CRLF or LF: its length, or -1 when no
 * line end has come yet. */
static long request_line(const char *buf, size_t len)
{
	const char *eol = memchr(buf, '\n', len);
	size_t n;

	if (!eol)
		return -1;
	n = (size_t)(eol - buf);
	return (long)(n && buf[n - 1] == '\r' ? n - 1 : n);
}

int metrics_http_route(const char *buf, size_t len)
{
	long n = request_line(buf, len);
	size_t m, t, ts, path;
	const char *v, *q;

	if (n < 0)
		return 400;
	for (m = 0; m < (size_t)n && is_tchar(buf[m]); m++)
		;
	if (m == 0 || m >= (size_t)n || buf[m] != ' ')
		return 400;
	for (ts = t = m + 1; t < (size_t)n && is_vchar(buf[t]); t++)
		;
	if (t == ts || t >= (size_t)n || buf[t] != ' ')
		return 400;
	v = buf + t + 1;
	if ((size_t)n - t - 1 != 8 || (memcmp(v, "HTTP/1.1", 8) != 0 &&
				       memcmp(v, "HTTP/1.0", 8) != 0))
		return 400;
	if (m != 3 || memcmp(buf, "GET", 3) != 0)
		return 405;
	q = memchr(buf + ts, '?', t - ts);
	path = q ? (size_t)(q - (buf + ts)) : t - ts;
	return path == 8 && memcmp(buf + ts, "/metrics", 8) == 0 ? 200 : 404;
}

enum metrics_head metrics_http_head(const char *buf, size_t len)
{
	long n = request_line(buf, len);

	if (n < 0)
		return METRICS_HEAD_MORE;
	if (metrics_http_route(buf, len) == 400)
		return METRICS_HEAD_BAD;
	/* The empty line: a line end right after another one. */
	for (size_t i = (size_t)n; i + 1 < len; i++)
		if (buf[i] == '\n' &&
		    (buf[i + 1] == '\n' ||
		     (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			return METRICS_HEAD_DONE;
	return METRICS_HEAD_MORE;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 431:	return "Request Header Fields Too Large";
	default:	return "Service Unavailable";
	}
}

const char *metrics_http_body(int status)
{
	switch (status) {
	case 400:	return "bad request: only GET /metrics is served here\n";
	case 404:	return "not found: only GET /metrics is served here\n";
	case 405:	return "method not allowed: only GET /metrics is served "
			       "here\n";
	case 431:	return "request too large: at most 4096 bytes of request "
			       "line and headers\n";
	default:	return "the supervisor did not answer in time; try "
			       "again\n";
	}
}

/*
 * The status line and headers of a response with a body of body_len
 * bytes: the exposition's content type (Prometheus' text format 0.0.4)
 * or plain text.  Its length, or -1 when cap is too small.
 */
int metrics_http_status_head(char *out, size_t cap, int status,
			     size_t body_len, bool exposition)
{
	int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n"
			 "Content-Type: text/plain; %scharset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Cache-Control: no-store\r\n"
			 "Connection: close\r\n\r\n",
			 status, reason(status),
			 exposition ? "version=0.0.4; " : "", body_len,
			 status == 405 ? "Allow: GET\r\n" : "");

	return n < 0 || (size_t)n >= cap ? -1 : n;
}
