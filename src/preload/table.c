/*
 * table.c - the bookkeeping of libfragnet-preload.so, free of I/O so that
 * tests/unit/test_preload_table.c can drive it alone.
 *
 * The fd table maps a kernel fd number (below PL_MAX_FD) to what the
 * library knows about it: nothing (PL_NONE: the fd is libc's), a stack
 * socket (PL_SOCK; the kernel fd is a placeholder eventfd that reserves
 * the number), or an epoll instance that holds stack sockets (PL_EP).
 * The kinds are atomics, read without the lock by the fast path; the
 * pointers and everything else are guarded by pl_lock (init.c).
 *
 * epoll: an instance's stack sockets are entries here; its kernel fds stay
 * in the real epoll set.  pl_ep_collect() reports the ready entries as
 * epoll would: level-triggered by default; EPOLLET reports a bit when it
 * rises, or again once s->edge moved (the app consumed from the socket,
 * or more data arrived: wait.c), which may report more often than the
 * kernel but never misses an edge;
 * EPOLLONESHOT disables the entry after one report until EPOLL_CTL_MOD.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

static _Atomic uint8_t kinds[PL_MAX_FD];
static void *ptrs[PL_MAX_FD];
static struct pl_ep *all_eps;

enum pl_kind pl_tab_kind(int fd)
{
	if (fd < 0 || fd >= PL_MAX_FD)
		return PL_NONE;
	return (enum pl_kind)atomic_load_explicit(&kinds[fd],
						  memory_order_acquire);
}

void *pl_tab_ptr(int fd)
{
	return pl_tab_kind(fd) == PL_NONE ? NULL : ptrs[fd];
}

/* -EMFILE: the number is beyond the table (the caller closes the fd). */
int pl_tab_set(int fd, enum pl_kind kind, void *p)
{
	if (fd < 0 || fd >= PL_MAX_FD)
		return -EMFILE;
	ptrs[fd] = p;
	atomic_store_explicit(&kinds[fd], (uint8_t)kind, memory_order_release);
	return 0;
}

void *pl_tab_clear(int fd)
{
	void *p = pl_tab_ptr(fd);

	if (p) {
		atomic_store_explicit(&kinds[fd], PL_NONE, memory_order_release);
		ptrs[fd] = NULL;
	}
	return p;
}

/* ---- sockets ------------------------------------------------------------- */

struct pl_sock *pl_sock_new(int h, int type)
{
	struct pl_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = h;
	s->refs = 1;
	s->nfds = 1;
	s->type = type;
	return s;
}

bool pl_sock_put(struct pl_sock *s)
{
	return --s->refs == 0;
}

void pl_sock_free(struct pl_sock *s)
{
	free(s);
}

/* ---- epoll --------------------------------------------------------------- */

struct pl_ep *pl_ep_new(void)
{
	struct pl_ep *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	ep->refs = 1;
	ep->next = all_eps;
	all_eps = ep;
	return ep;
}

/* Drop a reference: true when it was the last.  The caller then drops
 * the entries' socket references and calls pl_ep_free. */
bool pl_ep_put(struct pl_ep *ep)
{
	return --ep->refs == 0;
}

void pl_ep_free(struct pl_ep *ep)
{
	struct pl_ep **pp;

	for (pp = &all_eps; *pp; pp = &(*pp)->next) {
		if (*pp == ep) {
			*pp = ep->next;
			break;
		}
	}
	free(ep->ent);
	free(ep);
}

static struct pl_epent *ep_find(struct pl_ep *ep, int fd, struct pl_sock *s)
{
	for (unsigned i = 0; i < ep->n; i++)
		if (ep->ent[i].fd == fd && ep->ent[i].s == s)
			return &ep->ent[i];
	return NULL;
}

static void ent_set(struct pl_epent *e, const struct epoll_event *ev)
{
	e->events = ev->events;
	e->data = ev->data;
	e->last = 0;
	e->edge = e->s->edge;
	e->disabled = false;
}

static int ep_add(struct pl_ep *ep, int fd, struct pl_sock *s,
		  const struct epoll_event *ev)
{
	struct pl_epent *e;

	if (ep_find(ep, fd, s))
		return -EEXIST;
	if (ep->n == ep->cap) {
		unsigned cap = ep->cap ? ep->cap * 2 : 8;
		struct pl_epent *t = realloc(ep->ent, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		ep->ent = t;
		ep->cap = cap;
	}
	e = &ep->ent[ep->n++];
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->s = s;
	s->refs++;		/* the registration keeps it, as epoll does */
	ent_set(e, ev);
	return 0;
}

/* Remove entry i; the caller drops the socket's reference. */
static struct pl_sock *ep_del(struct pl_ep *ep, unsigned i)
{
	struct pl_sock *s = ep->ent[i].s;

	ep->ent[i] = ep->ent[--ep->n];
	return s;
}

/*
 * EPOLL_CTL_ADD / MOD / DEL of stack socket s under fd.  0 or -errno as
 * epoll_ctl(2).  DEL drops the entry's reference: it returns 1 if that was
 * the last one, and the caller frees the socket.
 */
int pl_ep_ctl(struct pl_ep *ep, int op, int fd, struct pl_sock *s,
	      const struct epoll_event *ev)
{
	struct pl_epent *e = ep_find(ep, fd, s);

	switch (op) {
	case EPOLL_CTL_ADD:
		if (!ev)
			return -EFAULT;
		return ep_add(ep, fd, s, ev);
	case EPOLL_CTL_MOD:
		if (!ev)
			return -EFAULT;
		if (!e)
			return -ENOENT;
		ent_set(e, ev);
		return 0;
	case EPOLL_CTL_DEL:
		if (!e)
			return -ENOENT;
		return pl_sock_put(ep_del(ep, (unsigned)(e - ep->ent))) ? 1 : 0;
	default:
		return -EINVAL;
	}
}

/* s is being closed for good: out of every epoll instance, as the kernel
 * removes a file from every set when its last fd is closed.  The caller
 * holds the last reference other than the entries'. */
void pl_ep_drop_sock(struct pl_sock *s)
{
	for (struct pl_ep *ep = all_eps; ep; ep = ep->next) {
		for (unsigned i = 0; i < ep->n;) {
			if (ep->ent[i].s == s) {
				ep_del(ep, i);
				s->refs--;
			} else {
				i++;
			}
		}
	}
}

/* The bits of entry e to report now (0: none), updating its ET state. */
static uint32_t ent_report(struct pl_epent *e, uint32_t ready)
{
	uint32_t want = (e->events & ~(EPOLLET | EPOLLONESHOT |
				       EPOLLEXCLUSIVE | EPOLLWAKEUP)) |
			EPOLLERR | EPOLLHUP;
	uint32_t bits = ready & want;

	if (e->disabled || !bits)
		return e->last = 0;
	if (e->events & EPOLLET) {
		uint32_t fresh = bits & ~e->last;

		e->last = bits;
		if (!fresh && e->edge == e->s->edge)
			return 0;
		e->edge = e->s->edge;
	}
	if (e->events & EPOLLONESHOT)
		e->disabled = true;
	return bits;
}

/* A ready entry of a collect, and where it stands in the ready list.
 * Candidates are made in round-robin order from after ep->rr. */
struct ep_cand {
	uint64_t key;		/* the later of became-ready and reported */
	unsigned i;		/* entry index */
	uint32_t ready;
};

static struct ep_cand *cands;	/* scratch of pl_ep_collect, lock held */
static struct ep_cand *cands_tmp;	/* and the radix sort's other half */
static unsigned ncands_cap;

/*
 * A collect's ready entries by key, ties round robin: they come in
 * round-robin order, so any stable sort by key keeps it for ties.  Up to
 * CANDS_INSERTION are sorted by insertion, in place; more by a stable
 * radix sort, a byte a pass, over only the bytes in which the keys differ
 * (two or three passes: the keys are recent readiness times).  glibc's qsort (a merge
 * sort through a copy, a call per compare) was 10% of redis-server's
 * samples under redis-benchmark -c 50 (30 to 50 sockets ready at most
 * epoll_waits) and 39% at -c 1000.
 */
#define CANDS_INSERTION	32

static void cands_insertion(struct ep_cand *c, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct ep_cand v = c[i];
		unsigned j = i;

		for (; j > 0 && v.key < c[j - 1].key; j--)
			c[j] = c[j - 1];
		c[j] = v;
	}
}

static void cands_radix(struct ep_cand *c, struct ep_cand *tmp, unsigned n)
{
	struct ep_cand *src = c, *dst = tmp, *t;
	uint64_t lo = c[0].key, hi = c[0].key;

	for (unsigned i = 1; i < n; i++) {
		lo = c[i].key < lo ? c[i].key : lo;
		hi = c[i].key > hi ? c[i].key : hi;
	}
	for (unsigned shift = 0; shift < 64 && (hi - lo) >> shift; shift += 8) {
		unsigned pos[256] = { 0 }, sum = 0;

		for (unsigned i = 0; i < n; i++)
			pos[((src[i].key - lo) >> shift) & 0xff]++;
		for (unsigned d = 0; d < 256; d++) {
			unsigned k = pos[d];

			pos[d] = sum;
			sum += k;
		}
		for (unsigned i = 0; i < n; i++)
			dst[pos[((src[i].key - lo) >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != c)
		memcpy(c, src, n * sizeof(*c));
}

static void cands_sort(unsigned n)
{
	if (n <= CANDS_INSERTION)
		cands_insertion(cands, n);
	else
		cands_radix(cands, cands_tmp, n);
}

static bool cands_fit(unsigned n)
{
	struct ep_cand *c, *t;

	if (n <= ncands_cap)
		return true;
	c = realloc(cands, n * sizeof(*c));
	if (!c)
		return false;
	cands = c;
	t = realloc(cands_tmp, n * sizeof(*t));
	if (!t)
		return false;
	cands_tmp = t;
	ncands_cap = n;
	return true;
}

/*
 * Up to max ready entries of ep into out, in the order the kernel's epoll
 * would give them: its ready list is in the order files became ready, and
 * a level-triggered file reported stays ready at the tail.  So each entry
 * goes by the later of when its socket became readable (ready()'s since)
 * and when it was last reported (now, stamped here); ties go round robin
 * from after the last entry reported.  Without memory for the sort: the
 * round robin alone, as before (no order, but nothing lost).
 */
int pl_ep_collect(struct pl_ep *ep, pl_ready_fn *ready, void *ctx,
		  uint64_t now, struct epoll_event *out, int max)
{
	unsigned n = ep->n, start = n ? ep->rr % n : 0, nc = 0;
	bool sorted = cands_fit(n);
	int got = 0;

	for (unsigned k = 0; k < n && (sorted || got < max); k++) {
		unsigned i = (start + k) % n;
		struct pl_epent *e = &ep->ent[i];
		uint64_t since = 0;
		uint32_t r = e->disabled ? 0 : ready(e->s, ctx, &since);

		if (!r || !sorted) {
			uint32_t bits = ent_report(e, r);

			if (bits) {
				out[got].events = bits;
				out[got++].data = e->data;
				e->reported = now;
				ep->rr = i + 1;
			}
			continue;
		}
		cands[nc++] = (struct ep_cand){
			.key = since > e->reported ? since : e->reported,
			.i = i, .ready = r,
		};
	}
	if (!sorted)
		return got;
	cands_sort(nc);
	for (unsigned k = 0; k < nc && got < max; k++) {
		struct pl_epent *e = &ep->ent[cands[k].i];
		uint32_t bits = ent_report(e, cands[k].ready);

		if (!bits)
			continue;
		out[got].events = bits;
		out[got++].data = e->data;
		e->reported = now;
		ep->rr = cands[k].i + 1;
	}
	return got;
}

void pl_ep_reset_all(void)
{
	free(cands);
	free(cands_tmp);
	cands = cands_tmp = NULL;
	ncands_cap = 0;
	while (all_eps)
		pl_ep_free(all_eps);
	memset(kinds, 0, sizeof(kinds));
	memset(ptrs, 0, sizeof(ptrs));
}
