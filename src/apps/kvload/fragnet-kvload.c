/* fragnet-kvload - a UDP load generator for the redis-udp module.
 *
 * Speaks the protocol of src/apps/redis-udp/kvu_req.h: every request
 * datagram is `UDP.TAG <seq>` followed by --pipeline commands (SET or GET,
 * formatted by hiredis' redisFormatCommand), and every reply datagram is
 * parsed by hiredis' redisReader: the tag first, then one reply per
 * command. The tag matches replies to requests, so loss, duplicates and
 * reordering are all seen.
 *
 * N flows (one UDP socket, one source port each) are spread over T
 * threads; each thread waits for its flows in one epoll.
 *   closed loop (--window W): each flow keeps W datagrams in flight; a
 *     reply or a timeout (counted as lost) frees the slot for the next;
 *   open loop (--rate R): the flows together send R datagrams/s on a fixed
 *     schedule whatever comes back; latency counts from the scheduled time
 *     (no coordinated omission), a reply later than --timeout-ms is lost.
 * Output: one line of key=value (bench/kvs-udp parses it), and with
 * --verbose a short human summary on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvu_req.h"

#define HIST_US 200000		/* 1 µs buckets up to 200 ms */
#define MAX_WINDOW 4096
#define DGRAM_MAX 65535

struct opts {
	struct sockaddr_in server;
	int threads, flows, window, pipeline, value_size, timeout_ms;
	double rate, duration, warmup, get_ratio;
	long keys;
	int verbose;
};

struct slot {
	uint64_t seq;		/* 0: free */
	uint64_t t_ns;		/* sent (closed) or scheduled (open) */
};

struct flow {
	int fd;
	uint64_t next_seq;
	uint64_t next_send_ns;	/* open loop */
	struct slot *ring;	/* cap entries, by seq % cap */
	unsigned cap;
	unsigned inflight;
};

/* SIGINT or SIGTERM: stop early, report what was measured. */
static volatile sig_atomic_t stop_req;

static void on_stop(int sig)
{
	(void)sig;
	stop_req = 1;
}

struct stats {
	double seconds;		/* measured */
	uint64_t dgrams_tx, dgrams_rx, ops, lost, errors, bad_replies,
		 late, dup, send_fail;
	uint32_t *hist;
	uint64_t hist_over;
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	struct flow *flows;
	int nflows;
	unsigned seed;
	struct stats st;
	char *value;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: fragnet-kvload --server IP:PORT [options]\n"
"  UDP load for the redis-udp module (docs/kvs-udp.md).\n"
"  --threads T        threads (default 1)\n"
"  --flows N          client flows, one UDP port each (default 1)\n"
"  --window W         closed loop: datagrams in flight per flow (default 1)\n"
"  --rate R           open loop: datagrams/s over all flows (overrides --window)\n"
"  --pipeline P       commands per datagram, after the tag (default 1)\n"
"  --get-ratio F      fraction of GETs, the rest SETs (default 0.9)\n"
"  --keys K           key space key:0..K-1 (default 100000)\n"
"  --value-size V     SET value bytes (default 16)\n"
"  --duration S       seconds measured (default 5)\n"
"  --warmup S         seconds run before measuring (default 1)\n"
"  --timeout-ms MS    a reply later than this is lost (default 200)\n"
"  --verbose          a human summary on stderr\n"
"  --help\n"
"SIGINT or SIGTERM stops it early; it reports the time measured so far.\n"
"Output: one line, kvload: key=value ... (ops = commands answered/s).\n");
}

static int parse_server(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"server", 1, 0, 's'}, {"threads", 1, 0, 't'},
		{"flows", 1, 0, 'n'}, {"window", 1, 0, 'w'},
		{"rate", 1, 0, 'r'}, {"pipeline", 1, 0, 'P'},
		{"get-ratio", 1, 0, 'g'}, {"keys", 1, 0, 'k'},
		{"value-size", 1, 0, 'v'}, {"duration", 1, 0, 'd'},
		{"warmup", 1, 0, 'W'}, {"timeout-ms", 1, 0, 'T'},
		{"verbose", 0, 0, 'V'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	int c, have_server = 0;

	*o = (struct opts){ .threads = 1, .flows = 1, .window = 1,
		.pipeline = 1, .value_size = 16, .timeout_ms = 200,
		.duration = 5, .warmup = 1, .get_ratio = 0.9, .keys = 100000 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_server(optarg, &o->server) < 0)
				return -1;
			have_server = 1;
			break;
		case 't': o->threads = atoi(optarg); break;
		case 'n': o->flows = atoi(optarg); break;
		case 'w': o->window = atoi(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 'P': o->pipeline = atoi(optarg); break;
		case 'g': o->get_ratio = atof(optarg); break;
		case 'k': o->keys = atol(optarg); break;
		case 'v': o->value_size = atoi(optarg); break;
		case 'd': o->duration = atof(optarg); break;
		case 'W': o->warmup = atof(optarg); break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		case 'V': o->verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (!have_server || optind != argc || o->threads < 1 ||
	    o->flows < o->threads || o->window < 1 ||
	    o->window > MAX_WINDOW || o->pipeline < 1 ||
	    o->pipeline > 50 || o->keys < 1 || o->value_size < 0 ||
	    o->value_size > 60000 || o->duration <= 0 || o->warmup < 0 ||
	    o->timeout_ms < 1 || o->rate < 0 || o->get_ratio < 0 ||
	    o->get_ratio > 1)
		return -1;
	return 0;
}

/* One request datagram into buf: the tag, then P commands. */
static size_t build_req(struct worker *w, uint64_t seq, char *buf)
{
	const struct opts *o = w->o;
	char tag[24], key[32];
	size_t len = 0;
	char *cmd;
	int n;

	snprintf(tag, sizeof(tag), "%" PRIu64, seq);
	n = redisFormatCommand(&cmd, "UDP.TAG %s", tag);
	if (n < 0)
		return 0;
	memcpy(buf, cmd, (size_t)n);
	len = (size_t)n;
	redisFreeCommand(cmd);
	for (int i = 0; i < o->pipeline; i++) {
		long k = (long)(rand_r(&w->seed) % (unsigned long)o->keys);
		int get = rand_r(&w->seed) < o->get_ratio * RAND_MAX;

		snprintf(key, sizeof(key), "key:%ld", k);
		if (get)
			n = redisFormatCommand(&cmd, "GET %s", key);
		else
			n = redisFormatCommand(&cmd, "SET %s %b", key, w->value,
					       (size_t)o->value_size);
		if (n < 0 || len + (size_t)n > DGRAM_MAX)
			return 0;
		memcpy(buf + len, cmd, (size_t)n);
		len += (size_t)n;
		redisFreeCommand(cmd);
	}
	return len;
}

static void flow_send(struct worker *w, struct flow *f, uint64_t t_ns)
{
	static __thread char buf[DGRAM_MAX];
	uint64_t seq = f->next_seq++;
	struct slot *s = &f->ring[seq % f->cap];
	size_t len = build_req(w, seq, buf);

	if (s->seq != 0) {	/* open loop wrapped onto an old request */
		w->st.lost++;
		f->inflight--;
	}
	if (len == 0 || send(f->fd, buf, len, MSG_DONTWAIT) < 0) {
		w->st.send_fail++;
		s->seq = 0;
		return;
	}
	s->seq = seq;
	s->t_ns = t_ns;
	f->inflight++;
	w->st.dgrams_tx++;
}

static void record(struct stats *st, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < HIST_US)
		st->hist[us]++;
	else
		st->hist_over++;
}

/* Checks a reply datagram; returns the slot it answers or NULL. */
static struct slot *take_reply(struct worker *w, struct flow *f,
			       redisReader **rdp, const char *buf, size_t len)
{
	redisReader *rd = *rdp;
	redisReply *r = NULL;
	struct slot *s = NULL;
	int n = 0, errors = 0;

	redisReaderFeed(rd, buf, len);
	while (redisReaderGetReply(rd, (void **)&r) == REDIS_OK && r != NULL) {
		if (n == 0 && r->type == REDIS_REPLY_STRING) {
			char *end;
			uint64_t seq = strtoull(r->str, &end, 10);

			if (*end == '\0' && seq != 0 && f->ring[seq % f->cap].seq == seq)
				s = &f->ring[seq % f->cap];
		} else if (n > 0 && r->type == REDIS_REPLY_ERROR) {
			errors++;
		}
		n++;
		freeReplyObject(r);
		r = NULL;
	}
	if (rd->err || kvu_reader_partial(rd) ||
	    n != 1 + w->o->pipeline) {
		redisReaderFree(rd);
		*rdp = redisReaderCreate();
		w->st.bad_replies++;
		return NULL;
	}
	if (s == NULL)
		w->st.dup++;	/* unknown, already timed out, or repeated */
	else
		w->st.errors += (uint64_t)errors;
	return s;
}

static void flow_recv(struct worker *w, struct flow *f, redisReader **rdp,
		      int open_loop)
{
	static __thread char buf[DGRAM_MAX];

	for (;;) {
		ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct slot *s;

		if (n < 0)
			return;
		w->st.dgrams_rx++;
		s = take_reply(w, f, rdp, buf, (size_t)n);
		if (s == NULL)
			continue;
		record(&w->st, now_ns() - s->t_ns);
		w->st.ops += (uint64_t)w->o->pipeline;
		s->seq = 0;
		f->inflight--;
		if (!open_loop)
			flow_send(w, f, now_ns());
	}
}

/* Timeouts: a slot older than timeout is lost (closed loop: resend). */
static void flow_expire(struct worker *w, struct flow *f, uint64_t t,
			int open_loop)
{
	uint64_t tmo = (uint64_t)w->o->timeout_ms * 1000000u;

	for (unsigned i = 0; i < f->cap && f->inflight > 0; i++) {
		struct slot *s = &f->ring[i];

		if (s->seq == 0 || t - s->t_ns < tmo)
			continue;
		s->seq = 0;
		f->inflight--;
		w->st.lost++;
		if (!open_loop)
			flow_send(w, f, t);
	}
}

static void stats_reset(struct stats *st)
{
	uint32_t *h = st->hist;

	memset(h, 0, HIST_US * sizeof(*h));
	*st = (struct stats){ .hist = h };
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	int open_loop = o->rate > 0, ep = epoll_create1(EPOLL_CLOEXEC);
	redisReader *rd = redisReaderCreate();
	uint64_t t0 = now_ns(), t, last_expire = t0;
	uint64_t t_meas = t0 + (uint64_t)(o->warmup * 1e9);
	uint64_t t_end = t_meas + (uint64_t)(o->duration * 1e9);
	/* Open loop: each flow's share of the rate, as a period. */
	double period = open_loop ? 1e9 * o->flows / o->rate : 0;
	int measuring = 0;

	for (int i = 0; i < w->nflows; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		epoll_ctl(ep, EPOLL_CTL_ADD, w->flows[i].fd, &ev);
		w->flows[i].next_send_ns = t0 + (uint64_t)(period * i / w->nflows);
		if (!open_loop)
			for (int k = 0; k < o->window; k++)
				flow_send(w, &w->flows[i], t0);
	}
	while (!stop_req && (t = now_ns()) < t_end) {
		struct epoll_event evs[64];
		int n;

		if (!measuring && t >= t_meas) {
			stats_reset(&w->st);
			measuring = 1;
		}
		for (int i = 0; open_loop && i < w->nflows; i++) {
			struct flow *f = &w->flows[i];

			while (f->next_send_ns <= t) {
				flow_send(w, f, f->next_send_ns);
				f->next_send_ns += (uint64_t)period;
			}
		}
		n = epoll_wait(ep, evs, 64, 1);
		for (int i = 0; i < n; i++)
			flow_recv(w, &w->flows[evs[i].data.u32], &rd, open_loop);
		t = now_ns();
		if (t - last_expire > 1000000u) {
			for (int i = 0; i < w->nflows; i++)
				flow_expire(w, &w->flows[i], t, open_loop);
			last_expire = t;
		}
	}
	/* Still in flight at the end: neither answered nor lost. */
	t = now_ns();
	w->st.seconds = measuring && t > t_meas ? (double)(t - t_meas) / 1e9 : 0;
	redisReaderFree(rd);
	close(ep);
	return NULL;
}

static int flow_open(struct flow *f, const struct opts *o)
{
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || connect(f->fd, (const struct sockaddr *)&o->server,
				 sizeof(o->server)) < 0)
		return -1;
	f->cap = 1;
	while (f->cap < (unsigned)(o->rate > 0 ? 65536 : o->window))
		f->cap <<= 1;
	f->ring = calloc(f->cap, sizeof(*f->ring));
	f->next_seq = 1;
	return f->ring == NULL ? -1 : 0;
}

static double pct(const uint32_t *h, uint64_t over, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total), acc = 0;

	if (total == 0)
		return 0;
	for (unsigned i = 0; i < HIST_US; i++) {
		acc += h[i];
		if (acc > want)
			return i;
	}
	(void)over;
	return HIST_US;
}

static void report(const struct opts *o, struct worker *ws)
{
	struct stats sum = { .hist = calloc(HIST_US, sizeof(uint32_t)) };
	uint64_t n = 0;
	double loss, secs = 0;

	for (int i = 0; i < o->threads; i++) {
		struct stats *s = &ws[i].st;

		sum.dgrams_tx += s->dgrams_tx; sum.dgrams_rx += s->dgrams_rx;
		sum.ops += s->ops; sum.lost += s->lost; sum.errors += s->errors;
		sum.bad_replies += s->bad_replies; sum.dup += s->dup;
		sum.send_fail += s->send_fail; sum.hist_over += s->hist_over;
		if (s->seconds > secs)
			secs = s->seconds;
		for (unsigned k = 0; sum.hist && k < HIST_US; k++)
			sum.hist[k] += s->hist[k];
	}
	if (sum.hist == NULL)
		return;
	if (secs <= 0)
		secs = 1e-9;	/* stopped during the warm-up: nothing measured */
	for (unsigned k = 0; k < HIST_US; k++)
		n += sum.hist[k];
	n += sum.hist_over;
	loss = sum.dgrams_tx ? 100.0 * (double)sum.lost / (double)sum.dgrams_tx : 0;
	printf("kvload: mode=%s flows=%d threads=%d window=%d rate=%.0f pipeline=%d"
	       " duration=%.1f dgrams_tx=%" PRIu64 " dgrams_rx=%" PRIu64
	       " ops=%" PRIu64 " ops_per_s=%.0f lost=%" PRIu64 " loss_pct=%.3f"
	       " errors=%" PRIu64 " bad_replies=%" PRIu64 " dup=%" PRIu64
	       " send_fail=%" PRIu64 " p50_us=%.0f p90_us=%.0f p99_us=%.0f"
	       " p999_us=%.0f\n",
	       o->rate > 0 ? "open" : "closed", o->flows, o->threads,
	       o->window, o->rate, o->pipeline, secs, sum.dgrams_tx,
	       sum.dgrams_rx, sum.ops, (double)sum.ops / secs, sum.lost,
	       loss, sum.errors, sum.bad_replies, sum.dup, sum.send_fail,
	       pct(sum.hist, sum.hist_over, n, 0.5),
	       pct(sum.hist, sum.hist_over, n, 0.9),
	       pct(sum.hist, sum.hist_over, n, 0.99),
	       pct(sum.hist, sum.hist_over, n, 0.999));
	if (o->verbose)
		fprintf(stderr, "%.0f commands/s, %.2f%% datagrams lost, "
			"p50 %.0f us, p99 %.0f us\n",
			(double)sum.ops / secs, loss,
			pct(sum.hist, sum.hist_over, n, 0.5),
			pct(sum.hist, sum.hist_over, n, 0.99));
	free(sum.hist);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct worker *ws;
	int next = 0;

	if (parse_opts(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	ws = calloc((size_t)o.threads, sizeof(*ws));
	if (ws == NULL)
		return 1;
	for (int i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		w->o = &o;
		w->seed = 0x9e3779b9u * (unsigned)(i + 1);
		w->nflows = o.flows / o.threads + (i < o.flows % o.threads);
		w->flows = calloc((size_t)w->nflows, sizeof(*w->flows));
		w->st.hist = calloc(HIST_US, sizeof(uint32_t));
		w->value = malloc((size_t)o.value_size + 1);
		if (w->flows == NULL || w->st.hist == NULL || w->value == NULL)
			return 1;
		memset(w->value, 'v', (size_t)o.value_size);
		for (int k = 0; k < w->nflows; k++, next++)
			if (flow_open(&w->flows[k], &o) < 0) {
				perror("fragnet-kvload: socket");
				return 1;
			}
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	for (int i = 0; i < o.threads; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]) != 0)
			return 1;
	for (int i = 0; i < o.threads; i++)
		pthread_join(ws[i].tid, NULL);
	report(&o, ws);
	return 0;
}
