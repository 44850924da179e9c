/* Per-MAC token buckets: a client may send rate_burst packets at once,
 * then rate_per_sec per second. One slot per hash bucket; a MAC that
 * lands on a busy slot takes it over with a full bucket, so a flood of
 * random MACs costs memory nothing and only ever errs on the lenient
 * side (the pool-exhaustion counter shows that flood instead).
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t mac[DHCP_CHADDR_LEN];
	uint8_t hlen;
	uint64_t tokens_us; /* tokens scaled by 1e6 so refill stays integral */
	uint64_t last_us;
};

struct dhcp_ratelimit {
	size_t mask;
	uint64_t burst_us, per_sec;
	struct slot *slots;
};

struct dhcp_ratelimit *dhcp_ratelimit_create(size_t slots, unsigned burst,
					     unsigned per_sec)
{
	struct dhcp_ratelimit *r = calloc(1, sizeof(*r));
	size_t n = 64;

	if (r == NULL)
		return NULL;
	while (n < slots)
		n *= 2;
	r->slots = calloc(n, sizeof(*r->slots));
	if (r->slots == NULL) {
		free(r);
		return NULL;
	}
	r->mask = n - 1;
	r->burst_us = (uint64_t)(burst ? burst : 1) * 1000000u;
	r->per_sec = per_sec;
	return r;
}

void dhcp_ratelimit_destroy(struct dhcp_ratelimit *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r);
}

bool dhcp_ratelimit_allow(struct dhcp_ratelimit *r, const uint8_t *mac,
			  uint8_t hlen, uint64_t now_us)
{
	uint32_t h = 2166136261u;
	struct slot *s;

	if (hlen > DHCP_CHADDR_LEN)
		hlen = DHCP_CHADDR_LEN;
	for (uint8_t i = 0; i < hlen; i++)
		h = (h ^ mac[i]) * 16777619u;
	s = &r->slots[(h ^ (h >> 13)) & r->mask];
	if (s->hlen != hlen || memcmp(s->mac, mac, hlen) != 0 || s->last_us == 0) {
		memcpy(s->mac, mac, hlen);
		s->hlen = hlen;
		s->tokens_us = r->burst_us;
		s->last_us = now_us ? now_us : 1;
	} else if (now_us > s->last_us) {
		uint64_t dt = now_us - s->last_us;
		/* dt * per_sec stays far below 2^64 for any sane clock gap. */
		uint64_t add = dt > 3600000000u ? r->burst_us : dt * r->per_sec;
		s->tokens_us = s->tokens_us + add > r->burst_us ? r->burst_us
								: s->tokens_us + add;
		s->last_us = now_us;
	}
	if (s->tokens_us < 1000000u)
		return false;
	s->tokens_us -= 1000000u;
	return true;
}
