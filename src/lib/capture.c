/*
 * capture.c - a capture region, both ends (fragnet/capture.h).
 *
 * Supervisor: fn_cap_create() at `up`, fn_cap_attach() to clear a dead
 * owner.  Stack or vswitch (producer): fn_cap_attach(),
 * fn_cap_set_ifname(), then fn_cap_on() and fn_cap_put() or
 * fn_cap_reserve()/fn_cap_commit() on its packet path.  `fragnet capture`
 * (consumer): fn_cap_attach(), fn_cap_claim(), fn_cap_start(),
 * fn_cap_next() until done, fn_cap_stop().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "fragnet/capture.h"
#include "fragnet/memfd.h"
#include "fragnet/names.h"

#define CAP_SIZE_MAX	(1ull << 30)

static uint32_t cap_data_off(void)
{
	return (uint32_t)((sizeof(struct fn_cap_hdr) + FN_CACHE_LINE - 1) &
			  ~(size_t)(FN_CACHE_LINE - 1));
}

int fn_cap_create(const char *name, uint32_t nslots, uint32_t slot_size)
{
	struct fn_cap_hdr *h;
	void *head;
	uint64_t size;
	int fd;

	if (!nslots || (nslots & (nslots - 1)) || slot_size < FN_CAP_SLOT_MIN ||
	    slot_size % 8)
		return -EINVAL;
	size = cap_data_off() + (uint64_t)nslots * slot_size;
	if (size > CAP_SIZE_MAX)
		return -EINVAL;
	fd = fn_memfd_create(name, size, sizeof(*h), &head);
	if (fd < 0)
		return fd;
	h = head;
	h->magic = FN_CAP_MAGIC;
	h->version = FN_CAP_VERSION;
	h->nslots = nslots;
	h->slot_size = slot_size;
	h->data_off = cap_data_off();
	h->size = size;
	munmap(h, sizeof(*h));
	return fd;
}

static int attach_fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EBADMSG;
}

/* Our geometry from the memfd's size; the header must agree with it. */
static int cap_check(struct fn_cap *c, const struct fn_cap_hdr *h,
		     const char **why)
{
	uint32_t n = h->nslots, ss = h->slot_size;

	if (h->magic != FN_CAP_MAGIC || h->version != FN_CAP_VERSION)
		return attach_fail(why, "bad magic or version");
	if (!n || (n & (n - 1)) || ss < FN_CAP_SLOT_MIN || ss % 8 ||
	    h->data_off != cap_data_off() || h->size != c->size ||
	    (uint64_t)h->data_off + (uint64_t)n * ss != c->size)
		return attach_fail(why, "geometry does not match the memfd");
	c->nslots = n;
	c->mask = n - 1;
	c->slot_size = ss;
	c->payload = ss - (uint32_t)sizeof(struct fn_cap_rec);
	return 0;
}

int fn_cap_attach(struct fn_cap *c, int fd, bool producer, const char **why)
{
	struct stat st;
	void *m;
	int err;

	memset(c, 0, sizeof(*c));
	if (why)
		*why = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)cap_data_off() ||
	    (uint64_t)st.st_size > CAP_SIZE_MAX)
		return attach_fail(why, "not the size of a capture region");
	c->size = (uint64_t)st.st_size;
	m = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	err = cap_check(c, m, why);
	if (err < 0) {
		munmap(m, c->size);
		c->size = 0;
		return err;
	}
	c->hdr = m;
	c->data = (uint8_t *)m + cap_data_off();
	c->producer = producer;
	c->idx = atomic_load_explicit(&c->hdr->head, memory_order_acquire);
	return 0;
}

void fn_cap_detach(struct fn_cap *c)
{
	if (c->hdr)
		munmap(c->hdr, c->size);
	memset(c, 0, sizeof(*c));
}

/* ---- producer ----------------------------------------------------------- */

static struct fn_cap_rec *slot_at(const struct fn_cap *c, uint32_t i)
{
	return (struct fn_cap_rec *)(c->data +
				     (size_t)(i & c->mask) * c->slot_size);
}

struct fn_cap_rec *fn_cap_reserve(struct fn_cap *c, uint32_t *room)
{
	struct fn_cap_hdr *h = c->hdr;
	uint32_t tail = atomic_load_explicit(&h->tail,
					     memory_order_acquire); /* A2 */
	uint32_t win = atomic_load_explicit(&h->window, memory_order_relaxed);
	uint32_t snap = atomic_load_explicit(&h->snaplen, memory_order_relaxed);
	uint32_t used = c->idx - tail;

	if (win == 0 || win > c->nslots)
		win = c->nslots;
	/* A tail ahead of head shows as a huge `used`: full. */
	if (used >= win) {
		atomic_store_explicit(&h->dropped, atomic_load_explicit(
			&h->dropped, memory_order_relaxed) + 1,
			memory_order_relaxed);
		return NULL;
	}
	*room = snap && snap < c->payload ? snap : c->payload;
	return slot_at(c, c->idx);
}

void fn_cap_commit(struct fn_cap *c, struct fn_cap_rec *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	r->ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->idx++;
	atomic_store_explicit(&c->hdr->head, c->idx,
			      memory_order_release);	/* R1 */
}

bool fn_cap_put(struct fn_cap *c, unsigned point, uint32_t ifindex,
		const void *data, uint32_t len)
{
	uint32_t room;
	struct fn_cap_rec *r = fn_cap_reserve(c, &room);

	if (!r)
		return false;
	r->rule = 0;
	r->point = (uint16_t)point;
	r->hook = 0;
	r->ifindex = ifindex;
	r->origlen = len;
	r->caplen = len < room ? len : room;
	memcpy(r->data, data, r->caplen);
	fn_cap_commit(c, r);
	return true;
}

void fn_cap_set_ifname(struct fn_cap *c, unsigned k, const char *name)
{
	if (!c->hdr || k >= FN_CAP_IFS)
		return;
	snprintf(c->hdr->ifname[k], FN_CAP_IFNAME, "%s", name);
	if (k + 1 > c->hdr->nifs)
		c->hdr->nifs = k + 1;
}

/* ---- consumer ----------------------------------------------------------- */

static uint64_t ctl_of(int32_t pid, uint32_t points)
{
	return (uint64_t)(uint32_t)pid << 32 | points;
}

static int32_t ctl_owner(uint64_t v)
{
	return (int32_t)(uint32_t)(v >> 32);
}

int32_t fn_cap_owner(const struct fn_cap *c)
{
	return ctl_owner(atomic_load_explicit(&c->hdr->ctl,
					      memory_order_relaxed));
}

int fn_cap_claim(struct fn_cap *c, int32_t pid, int32_t *other,
		 bool (*alive)(int32_t pid))
{
	uint64_t cur = 0;

	while (!atomic_compare_exchange_strong(&c->hdr->ctl, &cur,
					       ctl_of(pid, 0))) {
		int32_t o = ctl_owner(cur);

		if (o == pid)
			return 0;
		if (o > 0 && alive(o)) {
			*other = o;
			return -EBUSY;
		}
		/* a dead owner (or none, with points left, or nonsense):
		 * take it over from exactly what we saw */
	}
	return 0;
}

void fn_cap_start(struct fn_cap *c, int32_t pid, uint32_t points,
		  uint32_t window, uint32_t snaplen)
{
	struct fn_cap_hdr *h = c->hdr;

	c->idx = atomic_load_explicit(&h->head, memory_order_acquire);
	atomic_store_explicit(&h->tail, c->idx, memory_order_release);
	atomic_store_explicit(&h->window, window, memory_order_relaxed);
	atomic_store_explicit(&h->snaplen, snaplen, memory_order_relaxed);
	atomic_store_explicit(&h->ctl, ctl_of(pid, points & FN_CAP_ALL),
			      memory_order_release);		/* R3 */
}

bool fn_cap_stop(struct fn_cap *c, int32_t pid)
{
	uint64_t cur = atomic_load_explicit(&c->hdr->ctl,
					    memory_order_relaxed);

	while (ctl_owner(cur) == pid)
		if (atomic_compare_exchange_strong(&c->hdr->ctl, &cur, 0))
			return true;
	return false;
}

/* A record copied out of shared memory: is it one the protocol allows? */
static bool rec_valid(const struct fn_cap *c, const struct fn_cap_rec *r)
{
	return r->point < FN_CAP_NPOINTS && r->caplen <= c->payload &&
	       r->caplen <= r->origlen && r->ifindex >= 1 &&
	       r->ifindex <= FN_CAP_IFS;
}

int fn_cap_next(struct fn_cap *c, struct fn_cap_rec *rec, uint8_t *buf,
		uint64_t *lost)
{
	struct fn_cap_hdr *h = c->hdr;
	uint32_t head = atomic_load_explicit(&h->head,
					     memory_order_acquire);	/* A1 */
	const struct fn_cap_rec *s;
	int ret = 1;

	if (head == c->idx)
		return 0;
	if (head - c->idx > c->nslots) {
		/* a head we cannot believe: what lies between is not ours */
		*lost += head - c->idx;
		c->idx = head;
		atomic_store_explicit(&h->tail, c->idx, memory_order_release);
		return 0;
	}
	s = slot_at(c, c->idx);
	memcpy(rec, s, sizeof(*rec));
	if (rec_valid(c, rec))
		memcpy(buf, s->data, rec->caplen);
	else
		ret = -EBADMSG;
	c->idx++;
	atomic_store_explicit(&h->tail, c->idx, memory_order_release);	/* R2 */
	return ret;
}

bool fn_cap_ifname(const struct fn_cap *c, uint32_t ifindex, char *buf,
		   size_t len)
{
	char name[FN_CAP_IFNAME];
	size_t i;

	if (ifindex < 1 || ifindex > FN_CAP_IFS || len == 0)
		return false;
	memcpy(name, c->hdr->ifname[ifindex - 1], sizeof(name));
	for (i = 0; i < sizeof(name) - 1 && i < len - 1 && name[i]; i++)
		buf[i] = name[i] > ' ' && name[i] < 0x7f ? name[i] : '_';
	buf[i] = '\0';
	return i > 0;
}

uint64_t fn_cap_dropped(const struct fn_cap *c)
{
	return atomic_load_explicit(&c->hdr->dropped, memory_order_relaxed);
}
