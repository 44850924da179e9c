/* The lease table (chained hashes by hardware address and by IP) and the
 * queue of journal rows waiting for a group commit.
 *
 * The engine changes the table and queues rows as requests come in; the
 * daemon calls dhcp_leases_flush once per burst, so one write and one
 * fdatasync cover every ACK of the burst. Sequence numbers let the server
 * hold each ACK until the row it depends on is durable.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NIL UINT32_MAX

struct entry {
	struct dhcp_lease lease;
	uint32_t next_mac, next_ip; /* hash chains; next free when unused */
	bool used, in_mac;
};

struct dhcp_leases {
	size_t cap, count;
	struct entry *e;
	uint32_t *mac_head, *ip_head;
	uint32_t mask;  /* buckets - 1 */
	uint32_t free_head;
	char *q;        /* journal rows not yet durable */
	size_t qcap, qlen, qwritten;
	uint64_t queued_seq, durable_seq;
	struct dhcp_leases_stats st;
};

static uint32_t hash_mac(const uint8_t *mac, uint8_t hlen)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (uint8_t i = 0; i < hlen; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h ^ (h >> 15);
}

static uint32_t hash_ip(uint32_t ip)
{
	uint32_t h = ip * 2654435761u;

	return h ^ (h >> 16);
}

struct dhcp_leases *dhcp_leases_create(size_t capacity, size_t queue_bytes)
{
	struct dhcp_leases *l;
	size_t buckets = 16;

	if (capacity == 0 || capacity >= NIL / 2 || queue_bytes < DHCP_JOURNAL_ROW_MAX)
		return NULL;
	while (buckets < capacity)
		buckets *= 2;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->cap = capacity;
	l->mask = (uint32_t)(buckets - 1);
	l->e = calloc(capacity, sizeof(*l->e));
	l->mac_head = malloc(buckets * sizeof(uint32_t));
	l->ip_head = malloc(buckets * sizeof(uint32_t));
	l->q = malloc(queue_bytes);
	l->qcap = queue_bytes;
	if (l->e == NULL || l->mac_head == NULL || l->ip_head == NULL || l->q == NULL) {
		dhcp_leases_destroy(l);
		return NULL;
	}
	memset(l->mac_head, 0xff, buckets * sizeof(uint32_t));
	memset(l->ip_head, 0xff, buckets * sizeof(uint32_t));
	for (size_t i = 0; i < capacity; i++)
		l->e[i].next_mac = i + 1 < capacity ? (uint32_t)(i + 1) : NIL;
	l->free_head = 0;
	return l;
}

void dhcp_leases_destroy(struct dhcp_leases *l)
{
	if (l == NULL)
		return;
	free(l->e);
	free(l->mac_head);
	free(l->ip_head);
	free(l->q);
	free(l);
}

const struct dhcp_leases_stats *dhcp_leases_stats(const struct dhcp_leases *l)
{
	return &l->st;
}

struct dhcp_leases_stats *dhcp_leases_stats_mut(struct dhcp_leases *l)
{
	return &l->st;
}

static uint32_t find_mac(const struct dhcp_leases *l, const uint8_t *mac, uint8_t hlen)
{
	if (hlen == 0 || hlen > DHCP_CHADDR_LEN)
		return NIL;
	for (uint32_t i = l->mac_head[hash_mac(mac, hlen) & l->mask]; i != NIL;
	     i = l->e[i].next_mac)
		if (l->e[i].lease.hlen == hlen && memcmp(l->e[i].lease.mac, mac, hlen) == 0)
			return i;
	return NIL;
}

static uint32_t find_ip(const struct dhcp_leases *l, uint32_t ip)
{
	for (uint32_t i = l->ip_head[hash_ip(ip) & l->mask]; i != NIL; i = l->e[i].next_ip)
		if (l->e[i].lease.ip == ip)
			return i;
	return NIL;
}

const struct dhcp_lease *dhcp_leases_by_mac(const struct dhcp_leases *l,
					    const uint8_t *mac, uint8_t hlen)
{
	uint32_t i = find_mac(l, mac, hlen);

	return i == NIL ? NULL : &l->e[i].lease;
}

const struct dhcp_lease *dhcp_leases_by_ip(const struct dhcp_leases *l, uint32_t ip)
{
	uint32_t i = find_ip(l, ip);

	return i == NIL ? NULL : &l->e[i].lease;
}

bool dhcp_lease_active(const struct dhcp_lease *e, int64_t now)
{
	return e != NULL && e->state != DHCP_LEASE_FREE && e->expiry > now;
}

void dhcp_leases_foreach(const struct dhcp_leases *l,
			 void (*fn)(const struct dhcp_lease *e, void *ctx), void *ctx)
{
	for (size_t i = 0; i < l->cap; i++)
		if (l->e[i].used)
			fn(&l->e[i].lease, ctx);
}

static void unlink_mac(struct dhcp_leases *l, uint32_t idx)
{
	struct dhcp_lease *e = &l->e[idx].lease;
	uint32_t *pp = &l->mac_head[hash_mac(e->mac, e->hlen) & l->mask];

	if (!l->e[idx].in_mac)
		return;
	while (*pp != idx)
		pp = &l->e[*pp].next_mac;
	*pp = l->e[idx].next_mac;
	l->e[idx].in_mac = false;
}

static void unlink_ip(struct dhcp_leases *l, uint32_t idx)
{
	uint32_t *pp = &l->ip_head[hash_ip(l->e[idx].lease.ip) & l->mask];

	while (*pp != idx)
		pp = &l->e[*pp].next_ip;
	*pp = l->e[idx].next_ip;
}

static void link_mac(struct dhcp_leases *l, uint32_t idx)
{
	struct dhcp_lease *e = &l->e[idx].lease;
	uint32_t b = hash_mac(e->mac, e->hlen) & l->mask;

	l->e[idx].next_mac = l->mac_head[b];
	l->mac_head[b] = idx;
	l->e[idx].in_mac = true;
}

static void link_ip(struct dhcp_leases *l, uint32_t idx)
{
	uint32_t b = hash_ip(l->e[idx].lease.ip) & l->mask;

	l->e[idx].next_ip = l->ip_head[b];
	l->ip_head[b] = idx;
}

static void entry_free(struct dhcp_leases *l, uint32_t idx)
{
	unlink_mac(l, idx);
	unlink_ip(l, idx);
	l->e[idx].used = false;
	l->e[idx].next_mac = l->free_head;
	l->free_head = idx;
	l->count--;
}

/* A free slot, or an inactive lease given up for it; prefer giving up
 * the longest-expired one so recent owners keep their address. */
static uint32_t entry_alloc(struct dhcp_leases *l, int64_t now, uint32_t keep)
{
	uint32_t idx = l->free_head, best = NIL;

	if (idx == NIL) {
		for (uint32_t i = 0; i < l->cap; i++) {
			const struct dhcp_lease *e = &l->e[i].lease;
			if (i == keep || dhcp_lease_active(e, now))
				continue;
			if (best == NIL || e->expiry < l->e[best].lease.expiry)
				best = i;
		}
		if (best == NIL)
			return NIL;
		entry_free(l, best);
		idx = l->free_head;
	}
	l->free_head = l->e[idx].next_mac;
	l->e[idx].used = true;
	l->e[idx].in_mac = false;
	l->count++;
	return idx;
}

int dhcp_leases_apply(struct dhcp_leases *l, int64_t now,
		      const struct dhcp_lease *in, bool journal)
{
	char row[DHCP_JOURNAL_ROW_MAX];
	size_t rowlen = 0;
	uint32_t by_mac, by_ip, idx;

	if (in->hlen > DHCP_CHADDR_LEN || in->state > DHCP_LEASE_DECLINED ||
	    (in->hlen == 0 && in->state != DHCP_LEASE_DECLINED))
		return -EINVAL;
	if (journal && in->state != DHCP_LEASE_OFFERED) {
		rowlen = dhcp_journal_format(row, sizeof(row), in);
		if (rowlen > l->qcap - l->qlen) {
			l->st.queue_full++;
			return -ENOSPC;
		}
	}
	by_mac = find_mac(l, in->mac, in->hlen);
	by_ip = find_ip(l, in->ip);
	if (by_mac != NIL) {
		idx = by_mac;
	} else {
		idx = entry_alloc(l, now, by_ip);
		if (idx == NIL) {
			l->st.table_full++;
			return -ENOSPC;
		}
		/* A full table may have given up by_ip's slot itself. */
		by_ip = find_ip(l, in->ip);
		l->e[idx].lease = *in;
		if (in->hlen > 0)
			link_mac(l, idx);
		link_ip(l, idx);
	}
	if (by_ip != NIL && by_ip != idx)
		entry_free(l, by_ip);
	if (by_mac != NIL && l->e[idx].lease.ip != in->ip) {
		unlink_ip(l, idx);
		l->e[idx].lease.ip = in->ip;
		link_ip(l, idx);
	}
	l->e[idx].lease.state = in->state;
	l->e[idx].lease.expiry = in->expiry;
	memcpy(l->e[idx].lease.hostname, in->hostname, sizeof(in->hostname));
	l->e[idx].lease.hostname[DHCP_HOSTNAME_MAX] = '\0';
	if (rowlen > 0) {
		memcpy(l->q + l->qlen, row, rowlen);
		l->qlen += rowlen;
		l->queued_seq++;
		l->st.rows_queued++;
	}
	return 0;
}

int dhcp_leases_set(struct dhcp_leases *l, int64_t now, const uint8_t *mac,
		    uint8_t hlen, uint32_t ip, enum dhcp_lease_state state,
		    int64_t expiry, const char *hostname)
{
	struct dhcp_lease e;

	if (hlen > DHCP_CHADDR_LEN || (hlen > 0 && mac == NULL))
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	if (hlen > 0)
		memcpy(e.mac, mac, hlen);
	e.hlen = hlen;
	e.state = (uint8_t)state;
	e.ip = ip;
	e.expiry = expiry;
	if (hostname != NULL)
		dhcp_hostname_sanitize(e.hostname, sizeof(e.hostname),
				       (const uint8_t *)hostname, strlen(hostname));
	return dhcp_leases_apply(l, now, &e, true);
}

uint64_t dhcp_leases_queued_seq(const struct dhcp_leases *l)
{
	return l->queued_seq;
}

uint64_t dhcp_leases_durable_seq(const struct dhcp_leases *l)
{
	return l->durable_seq;
}

void dhcp_leases_mark_durable(struct dhcp_leases *l)
{
	l->st.rows_flushed += l->queued_seq - l->durable_seq;
	l->durable_seq = l->queued_seq;
	l->qlen = 0;
	l->qwritten = 0;
}

int dhcp_leases_flush(struct dhcp_leases *l, int fd)
{
	int rows = (int)(l->queued_seq - l->durable_seq);

	if (rows == 0)
		return 0;
	/* A short write continues where it stopped: rewriting from the
	 * start would leave a torn row in front of its own copy. */
	while (l->qwritten < l->qlen) {
		ssize_t n = write(fd, l->q + l->qwritten, l->qlen - l->qwritten);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			l->st.flush_errors++;
			return n < 0 ? -errno : -EIO;
		}
		l->qwritten += (size_t)n;
	}
	if (fdatasync(fd) < 0) {
		l->st.flush_errors++;
		return -errno;
	}
	l->st.flushes++;
	dhcp_leases_mark_durable(l);
	return rows;
}
