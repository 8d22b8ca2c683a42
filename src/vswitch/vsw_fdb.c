/*
 * vsw_fdb.c - the switch's MAC table (forwarding database).
 *
 * VSW_FDB_BUCKETS buckets of VSW_FDB_WAYS entries, fixed at build time:
 * nothing is allocated, ever.  A MAC lives in the bucket its keyed hash
 * picks; a full bucket gives its least recently seen entry to a new MAC
 * (counted as an eviction), so the table never refuses to learn.  Port
 * security keeps one MAC per port, so in practice the table holds nports
 * entries; the fixed size and the seeded hash are for the day a port may
 * carry more (an uplink).
 *
 * AGING: an entry is valid while now - seen < age_ns, with the caller's
 * CLOCK_MONOTONIC (so tests set the time).  Lookups ignore expired
 * entries; vsw_fdb_age() empties them, for the counter.
 *
 * Called from vsw_fwd.c (learn, lookup, flush on a port's reset) and the
 * loop (age).
 */
#include <string.h>

#include "vsw.h"

static uint64_t mac_key(const uint8_t mac[6])
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

/* A multiplicative hash of the keyed MAC: its high bits pick a bucket. */
static struct vsw_fdb_ent *bucket(struct vsw_fdb *f, uint64_t key)
{
	uint64_t h = (key ^ f->seed) * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	return f->ent[(h >> 32) & (VSW_FDB_BUCKETS - 1)];
}

static bool live(const struct vsw_fdb *f, const struct vsw_fdb_ent *e,
		 int64_t now)
{
	return e->port != VSW_FDB_NONE && now - e->seen_ns < f->age_ns;
}

void vsw_fdb_init(struct vsw_fdb *f, int64_t age_ns, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->age_ns = age_ns > 0 ? age_ns : 1;
	f->seed = seed;
	for (unsigned b = 0; b < VSW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < VSW_FDB_WAYS; w++)
			f->ent[b][w].port = VSW_FDB_NONE;
}

/* The entry of key in its bucket b, live or not, or NULL. */
static struct vsw_fdb_ent *find(struct vsw_fdb_ent *b, uint64_t key)
{
	for (unsigned w = 0; w < VSW_FDB_WAYS; w++)
		if (b[w].port != VSW_FDB_NONE && b[w].mac == key)
			return &b[w];
	return NULL;
}

/* A place for a new key: an empty or expired entry, else the oldest. */
static struct vsw_fdb_ent *victim(struct vsw_fdb *f, struct vsw_fdb_ent *b,
				  int64_t now, bool *evict)
{
	struct vsw_fdb_ent *old = &b[0];

	for (unsigned w = 0; w < VSW_FDB_WAYS; w++) {
		if (!live(f, &b[w], now)) {
			*evict = false;
			return &b[w];
		}
		if (b[w].seen_ns < old->seen_ns)
			old = &b[w];
	}
	*evict = true;
	return old;
}

enum vsw_fdb_event vsw_fdb_learn(struct vsw_fdb *f, const uint8_t mac[6],
				 unsigned port, int64_t now_ns)
{
	uint64_t key = mac_key(mac);
	struct vsw_fdb_ent *b = bucket(f, key), *e = find(b, key);
	enum vsw_fdb_event ev = VSW_FDB_REFRESHED;
	bool evict;

	if (e && !live(f, e, now_ns))
		ev = VSW_FDB_LEARNED;	/* expired: as good as new */
	else if (e && e->port != port)
		ev = VSW_FDB_MOVED;
	if (!e) {
		e = victim(f, b, now_ns, &evict);
		ev = evict ? VSW_FDB_EVICTED : VSW_FDB_LEARNED;
	}
	e->mac = key;
	e->port = (uint16_t)port;
	e->seen_ns = now_ns;
	return ev;
}

int vsw_fdb_lookup(struct vsw_fdb *f, const uint8_t mac[6], int64_t now_ns)
{
	uint64_t key = mac_key(mac);
	struct vsw_fdb_ent *e = find(bucket(f, key), key);

	return e && live(f, e, now_ns) ? e->port : -1;
}

unsigned vsw_fdb_age(struct vsw_fdb *f, int64_t now_ns)
{
	unsigned n = 0;

	for (unsigned b = 0; b < VSW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < VSW_FDB_WAYS; w++) {
			struct vsw_fdb_ent *e = &f->ent[b][w];
			if (e->port != VSW_FDB_NONE && !live(f, e, now_ns)) {
				e->port = VSW_FDB_NONE;
				n++;
			}
		}
	return n;
}

unsigned vsw_fdb_flush_port(struct vsw_fdb *f, unsigned port)
{
	unsigned n = 0;

	for (unsigned b = 0; b < VSW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < VSW_FDB_WAYS; w++)
			if (f->ent[b][w].port == port) {
				f->ent[b][w].port = VSW_FDB_NONE;
				n++;
			}
	return n;
}
