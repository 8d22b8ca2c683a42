/*
 * fn-udp-load - a checking UDP load generator and a kernel UDP echo server,
 * for the NIC integration tests and bench/driver.
 *
 *   fn-udp-load --dst IP --port P (--count C | --duration S)
 *               [--sources N] [--window W] [--size B] [--bind IP]
 *               [--timeout-ms T] [--drain-ms D] [--time-limit S]
 *               [--progress FILE] [--json]
 *   fn-udp-load --echo-server --bind IP --port P [--duration S]
 *
 * LOAD: N kernel UDP sockets, each on its own ephemeral source port (so the
 * flows spread over a NIC's queues by RSS or the tap's flow hashing), send
 * datagrams to IP:P round-robin, at most W in flight over all of them.
 * Every datagram is B bytes of payload (at least HDR_LEN):
 *
 *     0  magic  "FNUL"        8  seq     (u64, per source, from 0)
 *     4  source (u32 index)  16  len     (u32, = B)
 *    20  csum (FNV-1a of every other byte)   24.. pattern(source, seq)
 *
 * A reply must come back on the socket that sent it, from IP:P, with the
 * same bytes.  Each one is classed:
 *
 *   received    first reply of a datagram in flight, content right
 *   late        first reply of a datagram already declared lost (it then
 *               counts as received, not lost)
 *   duplicates  a second reply of a datagram
 *   bad         wrong length, magic, source, checksum, pattern or sender,
 *               or a seq never sent
 *   stale       a seq so old that its bookkeeping slot was reused
 *
 * A datagram is LOST when no reply came within T ms (--timeout-ms, default
 * 2000; its window place is then given back, so that a restart under load
 * does not stall the run), or when it is still in flight at the end, after
 * the drain (--drain-ms, default 1000).  So at the end
 *     sent == received + lost
 * and send_errors counts datagrams the kernel refused (never sent).
 *
 * Every run is bounded in time: --duration S sends for S seconds; --count C
 * sends C datagrams but stops sending after --time-limit seconds (default
 * 300: "time_limited" in the report, exit 3).  --progress FILE rewrites
 * FILE (atomically, by rename) every 100 ms with the report so far.
 *
 * ECHO SERVER: one socket on --bind:--port sends every datagram back to
 * its sender (recvmmsg/sendmmsg), until SIGTERM/SIGINT or --duration
 * (default 3600 s).  It is the kernel-stack baseline of bench/driver.
 *
 * Exit: 0 when the run completed (whatever was lost: read the report), 1
 * on a setup error, 2 on a usage error, 3 when --time-limit cut it short.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/clock.h"

#define MAGIC		0x4c554e46u	/* "FNUL" */
#define HDR_LEN		24
#define MAX_SIZE	8192
#define MAX_SOURCES	4096
#define MAX_WINDOW	65536
#define BATCH		32
#define SOCK_BUF	(4 << 20)
#define PROGRESS_NS	100000000ll
#define HIST_FINE	20000		/* rtt histogram: 1 us buckets to 20 ms, */
#define HIST_STEP	100		/* then 100 us buckets */
#define HIST_N		(HIST_FINE + 20000)	/* to 2.02 s, then one more */
#define NS		1000000000ll

enum slot_state { S_FREE, S_INFLIGHT, S_DONE, S_LOST };

/* Bookkeeping of one datagram, at seq & mask of its source. */
struct slot {
	uint32_t seq;		/* low bits: which seq holds the slot */
	uint32_t sent_us;	/* since the start */
	uint8_t state;
};

struct source {
	int fd;
	uint64_t next_seq;
	uint64_t received;
	struct slot *slot;	/* [ring] */
};

/* Send order, for the timeouts: a growing ring of (source, seq). */
struct fifo_ent {
	uint32_t src;
	uint32_t seq;
};

struct opts {
	struct sockaddr_in dst, bind;
	bool have_dst, have_bind, echo, json;
	unsigned sources, window, size;
	uint64_t count;
	double duration, time_limit;
	unsigned timeout_ms, drain_ms;
	const char *progress;
};

struct stats {
	uint64_t sent, received, late, dup, bad, stale, lost_timeout;
	uint64_t lost_end, send_errors, inflight;
	uint64_t hist[HIST_N + 1];
	uint32_t rtt_max_us;
	int64_t first_send_ns, last_send_ns, last_recv_ns;
	bool time_limited;
};

struct load {
	struct opts o;
	struct source *src;
	uint32_t ring;		/* slots per source, a power of two */
	struct fifo_ent *fifo;
	size_t fifo_cap, fifo_head, fifo_tail;	/* free-running */
	unsigned cursor;	/* next source to send from */
	int epfd;
	int64_t start_ns;
	struct stats st;
	uint8_t buf[BATCH][MAX_SIZE];
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* ---- the payload -------------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t payload_csum(const uint8_t *p, uint32_t len)
{
	return fnv1a(fnv1a(2166136261u, p, 20), p + HDR_LEN, len - HDR_LEN);
}

static uint8_t pattern_byte(uint32_t src, uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131 + src * 7 + i);
}

static void payload_fill(uint8_t *p, uint32_t len, uint32_t src, uint64_t seq)
{
	uint32_t magic = MAGIC, csum;

	memcpy(p, &magic, 4);
	memcpy(p + 4, &src, 4);
	memcpy(p + 8, &seq, 8);
	memcpy(p + 16, &len, 4);
	for (uint32_t i = HDR_LEN; i < len; i++)
		p[i] = pattern_byte(src, seq, i);
	csum = payload_csum(p, len);
	memcpy(p + 20, &csum, 4);
}

/* A reply of len bytes that came on socket src: its seq, or -1 if bad. */
static int64_t payload_check(const uint8_t *p, uint32_t len, uint32_t src,
			     uint32_t want_len)
{
	uint32_t magic, s, l, csum;
	uint64_t seq;

	if (len != want_len || len < HDR_LEN)
		return -1;
	memcpy(&magic, p, 4);
	memcpy(&s, p + 4, 4);
	memcpy(&seq, p + 8, 8);
	memcpy(&l, p + 16, 4);
	memcpy(&csum, p + 20, 4);
	if (magic != MAGIC || s != src || l != len || seq > INT64_MAX ||
	    csum != payload_csum(p, len))
		return -1;
	for (uint32_t i = HDR_LEN; i < len; i++)
		if (p[i] != pattern_byte(src, seq, i))
			return -1;
	return (int64_t)seq;
}

/* ---- bookkeeping -------------------------------------------------------- */

static int fifo_push(struct load *l, uint32_t src, uint64_t seq)
{
	if (l->fifo_tail - l->fifo_head == l->fifo_cap) {
		size_t cap = l->fifo_cap ? l->fifo_cap * 2 : 4096;
		struct fifo_ent *f = malloc(cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		for (size_t i = 0; i < l->fifo_cap; i++)
			f[i] = l->fifo[(l->fifo_head + i) % l->fifo_cap];
		free(l->fifo);
		l->fifo = f;
		l->fifo_tail -= l->fifo_head;
		l->fifo_head = 0;
		l->fifo_cap = cap;
	}
	l->fifo[l->fifo_tail++ % l->fifo_cap] =
		(struct fifo_ent){ src, (uint32_t)seq };
	return 0;
}

static uint32_t us_since_start(const struct load *l, int64_t t)
{
	return (uint32_t)((t - l->start_ns) / 1000);
}

/* Declare lost every datagram in flight for longer than the timeout. */
static void expire(struct load *l, int64_t now)
{
	uint32_t now_us = us_since_start(l, now);
	uint32_t limit_us = l->o.timeout_ms * 1000u;

	while (l->fifo_head != l->fifo_tail) {
		struct fifo_ent e = l->fifo[l->fifo_head % l->fifo_cap];
		struct slot *s = &l->src[e.src].slot[e.seq & (l->ring - 1)];

		if (s->seq == e.seq && s->state == S_INFLIGHT) {
			if (now_us - s->sent_us < limit_us)
				return;
			s->state = S_LOST;
			l->st.inflight--;
			l->st.lost_timeout++;
		}
		l->fifo_head++;
	}
}

static uint32_t hist_bucket(uint32_t us)
{
	uint32_t b = us < HIST_FINE ? us : HIST_FINE + (us - HIST_FINE) / HIST_STEP;

	return b < HIST_N ? b : HIST_N;
}

/* The lowest rtt of bucket b, in us. */
static uint32_t hist_us(uint32_t b)
{
	return b < HIST_FINE ? b : HIST_FINE + (b - HIST_FINE) * HIST_STEP;
}

static void rtt_sample(struct load *l, uint32_t us)
{
	l->st.hist[hist_bucket(us)]++;
	if (us > l->st.rtt_max_us)
		l->st.rtt_max_us = us;
}

/* A well-formed reply for seq on source i. */
static void account_reply(struct load *l, uint32_t i, uint64_t seq, int64_t t)
{
	struct source *so = &l->src[i];
	struct slot *s = &so->slot[seq & (l->ring - 1)];

	if (seq >= so->next_seq) {
		l->st.bad++;
		return;
	}
	if (so->next_seq - seq > l->ring || s->seq != (uint32_t)seq) {
		l->st.stale++;
		return;
	}
	switch (s->state) {
	case S_INFLIGHT:
		l->st.inflight--;
		break;
	case S_LOST:
		l->st.lost_timeout--;
		l->st.late++;
		break;
	default:
		l->st.dup++;
		return;
	}
	s->state = S_DONE;
	so->received++;
	l->st.received++;
	l->st.last_recv_ns = t;
	rtt_sample(l, us_since_start(l, t) - s->sent_us);
}

/* ---- sending and receiving ---------------------------------------------- */

/* How many source i may send now (its slots must be free to reuse). */
static unsigned send_room(const struct load *l, uint32_t i, unsigned want)
{
	const struct source *so = &l->src[i];
	unsigned n = 0;

	while (n < want &&
	       so->slot[(so->next_seq + n) & (l->ring - 1)].state != S_INFLIGHT)
		n++;
	return n;
}

static int send_batch(struct load *l, uint32_t i, unsigned n, int64_t t)
{
	struct source *so = &l->src[i];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int sent;

	memset(mm, 0, sizeof(mm));
	for (unsigned k = 0; k < n; k++) {
		payload_fill(l->buf[k], l->o.size, i, so->next_seq + k);
		iov[k] = (struct iovec){ l->buf[k], l->o.size };
		mm[k].msg_hdr.msg_name = &l->o.dst;
		mm[k].msg_hdr.msg_namelen = sizeof(l->o.dst);
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
	}
	sent = sendmmsg(so->fd, mm, n, MSG_DONTWAIT);
	if (sent < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			l->st.send_errors++;	/* e.g. the tap is gone */
		return 0;
	}
	for (int k = 0; k < sent; k++) {
		uint64_t seq = so->next_seq++;
		struct slot *s = &so->slot[seq & (l->ring - 1)];

		*s = (struct slot){ (uint32_t)seq, us_since_start(l, t),
				    S_INFLIGHT };
		if (fifo_push(l, i, seq) < 0)
			return -ENOMEM;
	}
	l->st.sent += (uint64_t)sent;
	l->st.inflight += (uint64_t)sent;
	if (!l->st.first_send_ns)
		l->st.first_send_ns = t;
	l->st.last_send_ns = t;
	return sent;
}

/* Fill the window, round-robin over the sources, a few per source. */
static int send_some(struct load *l, uint64_t budget)
{
	int64_t t = fn_clock_ns();
	unsigned tried = 0, per = l->o.window / l->o.sources;
	int total = 0;

	per = per < 1 ? 1 : per > 8 ? 8 : per;
	while (tried < l->o.sources && l->st.inflight < l->o.window &&
	       budget > 0) {
		uint64_t room = l->o.window - l->st.inflight;
		unsigned want = (unsigned)(room < per ? room : per), n;
		uint32_t i = l->cursor;

		l->cursor = (l->cursor + 1) % l->o.sources;
		tried++;
		want = want > budget ? (unsigned)budget : want;
		n = send_room(l, i, want);
		int s = n ? send_batch(l, i, n, t) : 0;
		if (s < 0)
			return s;
		total += s;
		budget -= (uint64_t)s;
	}
	return total;
}

static bool same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == AF_INET && a->sin_port == b->sin_port &&
	       a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Drain source i's socket (a bounded number of batches). */
static void recv_source(struct load *l, uint32_t i)
{
	struct sockaddr_in from[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];

	for (int round = 0; round < 8; round++) {
		memset(mm, 0, sizeof(mm));
		for (int k = 0; k < BATCH; k++) {
			iov[k] = (struct iovec){ l->buf[k], MAX_SIZE };
			mm[k].msg_hdr.msg_name = &from[k];
			mm[k].msg_hdr.msg_namelen = sizeof(from[k]);
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(l->src[i].fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		int64_t t = fn_clock_ns();
		for (int k = 0; k < n; k++) {
			int64_t seq = payload_check(l->buf[k], mm[k].msg_len, i,
						    l->o.size);
			if (seq < 0 || (mm[k].msg_hdr.msg_flags & MSG_TRUNC) ||
			    !same_peer(&from[k], &l->o.dst))
				l->st.bad++;
			else
				account_reply(l, i, (uint64_t)seq, t);
		}
		if (n < BATCH)
			return;
	}
}

static void recv_some(struct load *l, int timeout_ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(l->epfd, ev, 64, timeout_ms);

	for (int k = 0; k < n; k++)
		recv_source(l, ev[k].data.u32);
}

/* ---- reports ------------------------------------------------------------ */

static uint32_t percentile(const struct stats *st, double q)
{
	uint64_t total = 0, acc = 0;

	for (uint32_t i = 0; i <= HIST_N; i++)
		total += st->hist[i];
	if (!total)
		return 0;
	for (uint32_t i = 0; i <= HIST_N; i++) {
		acc += st->hist[i];
		if ((double)acc >= q * (double)total)
			return hist_us(i);
	}
	return hist_us(HIST_N);
}

/* The figures of a report that are derived from the stats. */
struct summary {
	double elapsed, pps;
	uint64_t lost, min_received;
	unsigned with_replies;
};

static void summarize(const struct load *l, struct summary *s)
{
	const struct stats *st = &l->st;
	int64_t end = st->last_recv_ns ? st->last_recv_ns : st->last_send_ns;

	s->elapsed = st->first_send_ns && end > st->first_send_ns ?
		     (double)(end - st->first_send_ns) / NS : 0;
	s->pps = s->elapsed > 0 ? (double)st->received / s->elapsed : 0;
	s->lost = st->lost_timeout + st->lost_end;
	s->min_received = UINT64_MAX;
	s->with_replies = 0;
	for (unsigned i = 0; i < l->o.sources; i++) {
		uint64_t r = l->src[i].received;

		s->min_received = r < s->min_received ? r : s->min_received;
		s->with_replies += r > 0;
	}
}

static void report_json(FILE *f, const struct load *l, bool running)
{
	const struct stats *st = &l->st;
	struct summary s;

	summarize(l, &s);
	const struct { const char *name; uint64_t v; } n[] = {
		{ "sent", st->sent }, { "received", st->received },
		{ "lost", s.lost }, { "lost_timeout", st->lost_timeout },
		{ "lost_end", st->lost_end }, { "inflight", st->inflight },
		{ "bad", st->bad }, { "duplicates", st->dup },
		{ "late", st->late }, { "stale", st->stale },
		{ "send_errors", st->send_errors },
		{ "rtt_p50_us", percentile(st, 0.5) },
		{ "rtt_p99_us", percentile(st, 0.99) },
		{ "rtt_max_us", st->rtt_max_us },
		{ "sources", l->o.sources },
		{ "sources_with_replies", s.with_replies },
		{ "min_source_received", s.min_received },
		{ "window", l->o.window }, { "size", l->o.size },
	};

	fprintf(f, "{\"running\": %s", running ? "true" : "false");
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		fprintf(f, ", \"%s\": %llu", n[i].name, (unsigned long long)n[i].v);
	fprintf(f, ", \"elapsed_s\": %.6f, \"pps\": %.1f, \"time_limited\": %s}\n",
		s.elapsed, s.pps, st->time_limited ? "true" : "false");
}

static void report_text(FILE *f, const struct load *l)
{
	const struct stats *st = &l->st;
	struct summary s;

	summarize(l, &s);
	fprintf(f, "sent %llu received %llu lost %llu (timed out %llu, in "
		"flight at the end %llu) bad %llu duplicates %llu late %llu "
		"stale %llu send_errors %llu\n",
		(unsigned long long)st->sent, (unsigned long long)st->received,
		(unsigned long long)s.lost, (unsigned long long)st->lost_timeout,
		(unsigned long long)st->lost_end, (unsigned long long)st->bad,
		(unsigned long long)st->dup, (unsigned long long)st->late,
		(unsigned long long)st->stale,
		(unsigned long long)st->send_errors);
	fprintf(f, "%.3f s, %.0f replies/s, rtt p50 %u us p99 %u us max %u us, "
		"%u/%u sources answered%s\n", s.elapsed, s.pps,
		percentile(st, 0.5), percentile(st, 0.99), st->rtt_max_us,
		s.with_replies, l->o.sources,
		st->time_limited ? ", CUT SHORT by --time-limit" : "");
}

static void progress(const struct load *l, bool running)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", l->o.progress);
	f = fopen(tmp, "w");
	if (!f)
		return;
	report_json(f, l, running);
	if (fclose(f) == 0)
		rename(tmp, l->o.progress);
}

/* ---- the load run ------------------------------------------------------- */

static int open_source(struct load *l, uint32_t i)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int buf = SOCK_BUF;
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

	if (fd < 0)
		return -errno;
	l->src[i].fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (l->o.have_bind) {
		any = l->o.bind;
		any.sin_port = 0;
	}
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static int load_init(struct load *l)
{
	uint32_t ring = 1024;

	while (ring < 2 * l->o.window)
		ring *= 2;
	l->ring = ring;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->src = calloc(l->o.sources, sizeof(*l->src));
	if (l->epfd < 0 || !l->src)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->o.sources; i++) {
		l->src[i].fd = -1;
		l->src[i].slot = calloc(ring, sizeof(struct slot));
		if (!l->src[i].slot)
			return -ENOMEM;
		int err = open_source(l, i);
		if (err < 0)
			return err;
	}
	return 0;
}

static void load_fini(struct load *l)
{
	for (uint32_t i = 0; l->src && i < l->o.sources; i++) {
		if (l->src[i].fd >= 0)
			close(l->src[i].fd);
		free(l->src[i].slot);
	}
	free(l->src);
	free(l->fifo);
	if (l->epfd >= 0)
		close(l->epfd);
}

/* Still sending?  Sets time_limited when --time-limit ends the sending. */
static bool sending(struct load *l, int64_t now)
{
	double el = (double)(now - l->start_ns) / NS;

	if (stopping)
		return false;
	if (l->o.duration > 0)
		return el < l->o.duration;
	if (l->st.sent >= l->o.count)
		return false;
	if (el >= l->o.time_limit) {
		l->st.time_limited = true;
		return false;
	}
	return true;
}

static int load_run(struct load *l)
{
	int64_t now, next_progress, drain_end = 0;

	l->start_ns = fn_clock_ns();
	next_progress = l->start_ns + PROGRESS_NS;
	for (;;) {
		now = fn_clock_ns();
		expire(l, now);
		bool more = sending(l, now);
		if (!more && !drain_end)
			drain_end = now + (int64_t)l->o.drain_ms * 1000000;
		if (!more && (l->st.inflight == 0 || now >= drain_end))
			break;
		uint64_t budget = more ? (l->o.count ? l->o.count - l->st.sent :
					  UINT64_MAX) : 0;
		int s = budget ? send_some(l, budget) : 0;
		if (s < 0)
			return s;
		recv_some(l, s > 0 ? 0 : 1);
		if (l->o.progress && now >= next_progress) {
			progress(l, true);
			next_progress = now + PROGRESS_NS;
		}
	}
	l->st.lost_end = l->st.inflight;
	l->st.inflight = 0;
	return 0;
}

/* ---- echo server -------------------------------------------------------- */

static int echo_socket(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int buf = SOCK_BUF;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (const struct sockaddr *)&o->bind, sizeof(o->bind)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One batch in, the same batch back.  Returns datagrams echoed. */
static int echo_batch(int fd, uint8_t (*buf)[MAX_SIZE], uint64_t *errors)
{
	struct sockaddr_in from[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int n, s;

	memset(mm, 0, sizeof(mm));
	for (int k = 0; k < BATCH; k++) {
		iov[k] = (struct iovec){ buf[k], MAX_SIZE };
		mm[k].msg_hdr.msg_name = &from[k];
		mm[k].msg_hdr.msg_namelen = sizeof(from[k]);
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int k = 0; k < n; k++)
		iov[k].iov_len = mm[k].msg_len;
	s = sendmmsg(fd, mm, (unsigned)n, 0);
	if (s < n)
		*errors += (uint64_t)(n - (s > 0 ? s : 0));
	return n;
}

static int echo_server(struct load *l)
{
	int fd = echo_socket(&l->o);
	double limit = l->o.duration > 0 ? l->o.duration : 3600;
	int64_t end = fn_clock_ns() + (int64_t)(limit * NS);
	uint64_t echoed = 0, errors = 0;
	struct epoll_event ev = { .events = EPOLLIN };
	char a[INET_ADDRSTRLEN];

	if (fd < 0) {
		fprintf(stderr, "fn-udp-load: echo server: %s\n", strerror(-fd));
		return 1;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
	inet_ntop(AF_INET, &l->o.bind.sin_addr, a, sizeof(a));
	fprintf(stderr, "fn-udp-load: echo server on %s:%u\n", a,
		ntohs(l->o.bind.sin_port));
	while (!stopping && fn_clock_ns() < end) {
		int n = echo_batch(fd, l->buf, &errors);

		echoed += (uint64_t)n;
		if (n == 0)
			epoll_wait(l->epfd, &ev, 1, 100);
	}
	fprintf(stderr, "fn-udp-load: echo server: echoed %llu, send errors "
		"%llu\n", (unsigned long long)echoed, (unsigned long long)errors);
	close(fd);
	close(l->epfd);
	return 0;
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: fn-udp-load --dst IP --port P (--count C | --duration S)\n"
"                   [--sources N] [--window W] [--size B] [--bind IP]\n"
"                   [--timeout-ms T] [--drain-ms D] [--time-limit S]\n"
"                   [--progress FILE] [--json]\n"
"       fn-udp-load --echo-server --bind IP --port P [--duration S]\n"
"defaults: --sources 64 --window 256 --size 64 --timeout-ms 2000\n"
"          --drain-ms 1000 --time-limit 300; sizes %u..%u, sources 1..%u,\n"
"          window 1..%u\n", HDR_LEN, MAX_SIZE, MAX_SOURCES, MAX_WINDOW);
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_ip(const char *s, struct sockaddr_in *a)
{
	a->sin_family = AF_INET;
	return inet_pton(AF_INET, s, &a->sin_addr) == 1;
}

enum { O_DST = 256, O_PORT, O_SOURCES, O_COUNT, O_DURATION, O_WINDOW,
       O_SIZE, O_BIND, O_JSON, O_ECHO, O_TIMEOUT, O_DRAIN, O_LIMIT,
       O_PROGRESS, O_HELP };

static const struct option longopts[] = {
	{ "dst", required_argument, NULL, O_DST },
	{ "port", required_argument, NULL, O_PORT },
	{ "sources", required_argument, NULL, O_SOURCES },
	{ "count", required_argument, NULL, O_COUNT },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "size", required_argument, NULL, O_SIZE },
	{ "bind", required_argument, NULL, O_BIND },
	{ "json", no_argument, NULL, O_JSON },
	{ "echo-server", no_argument, NULL, O_ECHO },
	{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
	{ "drain-ms", required_argument, NULL, O_DRAIN },
	{ "time-limit", required_argument, NULL, O_LIMIT },
	{ "progress", required_argument, NULL, O_PROGRESS },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Numeric options: their range and the field of struct opts they set. */
static const struct num_opt {
	int opt;
	double lo, hi;
	size_t off;
	char type;		/* 'u' unsigned, 'q' uint64_t, 'd' double */
} num_opts[] = {
	{ O_SOURCES, 1, MAX_SOURCES, offsetof(struct opts, sources), 'u' },
	{ O_COUNT, 1, 1e12, offsetof(struct opts, count), 'q' },
	{ O_DURATION, 0.001, 86400, offsetof(struct opts, duration), 'd' },
	{ O_WINDOW, 1, MAX_WINDOW, offsetof(struct opts, window), 'u' },
	{ O_SIZE, HDR_LEN, MAX_SIZE, offsetof(struct opts, size), 'u' },
	{ O_TIMEOUT, 1, 3600000, offsetof(struct opts, timeout_ms), 'u' },
	{ O_DRAIN, 0, 3600000, offsetof(struct opts, drain_ms), 'u' },
	{ O_LIMIT, 0.001, 86400, offsetof(struct opts, time_limit), 'd' },
};

static bool parse_num_opt(struct opts *o, const struct num_opt *n,
			  const char *arg)
{
	char *field = (char *)o + n->off;
	double v;

	if (!parse_num(arg, n->lo, n->hi, &v))
		return false;
	if (n->type == 'u')
		*(unsigned *)field = (unsigned)v;
	else if (n->type == 'q')
		*(uint64_t *)field = (uint64_t)v;
	else
		*(double *)field = v;
	return true;
}

/* One option; false if its value is bad. */
static bool parse_opt(struct opts *o, int c, const char *arg)
{
	double v = 0;

	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++)
		if (num_opts[i].opt == c)
			return parse_num_opt(o, &num_opts[i], arg);
	switch (c) {
	case O_DST:
		return (o->have_dst = parse_ip(arg, &o->dst));
	case O_BIND:
		return (o->have_bind = parse_ip(arg, &o->bind));
	case O_PORT:
		if (!parse_num(arg, 1, 65535, &v))
			return false;
		o->dst.sin_port = o->bind.sin_port = htons((uint16_t)v);
		return true;
	case O_JSON:
		o->json = true;
		return true;
	case O_ECHO:
		o->echo = true;
		return true;
	case O_PROGRESS:
		o->progress = arg;
		return true;
	default:
		return false;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .sources = 64, .window = 256, .size = 64,
			    .timeout_ms = 2000, .drain_ms = 1000,
			    .time_limit = 300 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (!parse_opt(o, c, optarg)) {
			if (c != '?')
				fprintf(stderr, "fn-udp-load: bad value for "
					"--%s: %s\n", longopts[c - O_DST].name,
					optarg);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->dst.sin_port)
		return -EINVAL;
	if (o->echo)
		return o->have_bind ? 0 : -EINVAL;
	if (!o->have_dst || (o->count > 0) == (o->duration > 0))
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static struct load l;
	struct sigaction sa = { .sa_handler = on_term };
	int err;

	l.epfd = -1;
	if (parse_args(argc, argv, &l.o) < 0) {
		usage(stderr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (l.o.echo)
		return echo_server(&l);
	err = load_init(&l);
	if (err == 0)
		err = load_run(&l);
	if (err < 0) {
		fprintf(stderr, "fn-udp-load: %s\n", strerror(-err));
		load_fini(&l);
		return 1;
	}
	if (l.o.json)
		report_json(stdout, &l, false);
	else
		report_text(stdout, &l);
	if (l.o.progress)
		progress(&l, false);
	load_fini(&l);
	return l.st.time_limited ? 3 : 0;
}
