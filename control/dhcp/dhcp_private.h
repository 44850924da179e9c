/* Functions shared between the files of control/dhcp; not public API. */
#ifndef PXECAST_CONTROL_DHCP_PRIVATE_H
#define PXECAST_CONTROL_DHCP_PRIVATE_H

#include "control/dhcp/dhcp.h"

/* Content checks of the known options after joining (dhcp_options.c):
 * fills m->msgtype and m->maxsize, returns the first failed check. */
enum dhcp_err dhcp_msg_check_options(struct dhcp_msg *m);

/* Lease journal rows (dhcp_journal.c). */
#define DHCP_JOURNAL_ROW_MAX 256
/* Format e as one row with its newline; returns the length (< cap). */
size_t dhcp_journal_format(char *buf, size_t cap, const struct dhcp_lease *e);

/* Table internals used by the journal (dhcp_leases.c). */
int dhcp_leases_apply(struct dhcp_leases *l, int64_t now,
		      const struct dhcp_lease *e, bool journal);
void dhcp_leases_mark_durable(struct dhcp_leases *l);
struct dhcp_leases_stats *dhcp_leases_stats_mut(struct dhcp_leases *l);

/* Boot fields of a reply from one choice (dhcp_pxe.c): siaddr, sname,
 * file, 66, 67, 60, 43 (discovery control, 71 echoed, MTFTP 1-5 when the
 * file is served by multicast), 97 echoed. mtftp may be NULL. */
void dhcp_pxe_add(struct dhcp_build *b, const struct dhcp_boot_choice *c,
		  const struct dhcp_msg *req, uint32_t server_ip, const struct dhcp_mtftp *mtftp);

/* Lookup tables built once from the config (dhcp_pool.c). */
struct dhcp_index {
	const struct dhcp_config *cfg;
	const struct dhcp_host **hosts;       /* sorted by MAC */
	const struct dhcp_profile **profiles; /* parallel to hosts */
	uint32_t *reserved;                   /* host-order IPs, sorted */
	size_t nreserved;
	uint32_t *cursor;                     /* per subnet: next pool address */
	int64_t *full_logged;                 /* per subnet: last pool-full log */
};

int dhcp_index_init(struct dhcp_index *x, const struct dhcp_config *cfg);
void dhcp_index_free(struct dhcp_index *x);
const struct dhcp_host *dhcp_index_host(const struct dhcp_index *x,
					 const uint8_t *mac, uint8_t hlen,
					 const struct dhcp_profile **profile);
bool dhcp_subnet_contains(const struct dhcp_subnet *sn, uint32_t ip);
bool dhcp_pool_contains(const struct dhcp_subnet *sn, uint32_t ip);
/* The subnet a request belongs to: the relay's (giaddr), else the one on
 * the interface or local address it came in on. NULL when none. */
const struct dhcp_subnet *dhcp_subnet_select(const struct dhcp_index *x,
					     const struct dhcp_meta *meta,
					     const struct dhcp_msg *req);
/* May mac (with its reservation host, or NULL) hold ip on sn now? */
bool dhcp_pool_may_hold(const struct dhcp_index *x, const struct dhcp_leases *l,
			const struct dhcp_subnet *sn, const struct dhcp_host *host,
			const uint8_t *mac, uint8_t hlen, uint32_t ip, int64_t now);
/* An address to offer: the reservation, the client's previous address,
 * the one it asks for (50), else the next free one in the pool (never
 * used before preferred over given back). 0 when the pool is full. */
uint32_t dhcp_pool_choose(struct dhcp_index *x, const struct dhcp_leases *l,
			  const struct dhcp_subnet *sn, const struct dhcp_host *host,
			  const struct dhcp_msg *req, int64_t now);

/* Per-MAC token buckets (dhcp_ratelimit.c). */
struct dhcp_ratelimit;
struct dhcp_ratelimit *dhcp_ratelimit_create(size_t slots, unsigned burst,
					     unsigned per_sec);
void dhcp_ratelimit_destroy(struct dhcp_ratelimit *r);
bool dhcp_ratelimit_allow(struct dhcp_ratelimit *r, const uint8_t *mac,
			  uint8_t hlen, uint64_t now_us);

/* ---- server internals (dhcp_server.c, dhcp_reply.c, dhcp_dora.c,
 * dhcp_proxy.c) ---- */

struct dhcp_pending {
	uint64_t seq; /* journal row the ACK waits for */
	struct dhcp_reply r;
};

struct dhcp_server {
	const struct dhcp_config *cfg;
	struct dhcp_leases *leases;
	struct dhcp_index idx;
	struct dhcp_ratelimit *rl;
	struct dhcp_counters c;
	uint32_t offer_hold, decline_hold;
	uint64_t mono_base_us;
	int64_t wall_base;
	struct dhcp_pending *pend; /* ring of held ACKs, oldest at head */
	size_t pend_cap, pend_head, pend_count;
	struct dhcp_msg req;       /* scratch: the request being handled */
	struct dhcp_build b;       /* scratch: the reply being built */
};

/* One request on its way through the engine. */
struct dhcp_ctx {
	struct dhcp_server *s;
	const struct dhcp_meta *meta;
	const struct dhcp_msg *req;
	const struct dhcp_subnet *sn;      /* NULL in proxy mode without one */
	const struct dhcp_host *host;      /* inventory entry or NULL */
	const struct dhcp_profile *profile;
	uint32_t server_id;
	int64_t now;                       /* wall seconds */
};

/* dhcp_reply.c: start a reply in s->b (53, 54, 61 and 82 echoed). */
void dhcp_reply_begin(struct dhcp_ctx *c, uint8_t msgtype);
/* Subnet options: mask, router, DNS, domain, host name; with lease time
 * and T1/T2 when lease is set. */
void dhcp_reply_add_net(struct dhcp_ctx *c, bool lease);
/* Boot fields for this client (client_ip for ${ip}); returns its kind. */
enum dhcp_boot_kind dhcp_reply_add_boot(struct dhcp_ctx *c, uint32_t client_ip);
/* Encode s->b into out and decide where it goes (RFC 2131 4.1). Returns
 * true on success; counts build_failed otherwise. */
bool dhcp_reply_finish(struct dhcp_ctx *c, struct dhcp_reply *out);
uint32_t dhcp_lease_time(const struct dhcp_subnet *sn);

/* dhcp_dora.c: server mode handlers; return 1 when out is to be sent. */
int dhcp_dora_discover(struct dhcp_ctx *c, struct dhcp_reply *out);
int dhcp_dora_request(struct dhcp_ctx *c, struct dhcp_reply *out);
int dhcp_dora_decline(struct dhcp_ctx *c);
int dhcp_dora_release(struct dhcp_ctx *c);
int dhcp_dora_inform(struct dhcp_ctx *c, struct dhcp_reply *out);

/* dhcp_proxy.c: proxyDHCP on 67 and boot-server requests on 4011. */
int dhcp_proxy_input(struct dhcp_ctx *c, struct dhcp_reply *out);
int dhcp_proxy_boot_server(struct dhcp_ctx *c, struct dhcp_reply *out);

/* dhcp_server.c: the slot the next held ACK is built in, and commit it
 * once its lease row is queued. NULL when the ring is full. */
struct dhcp_reply *dhcp_server_pending_slot(struct dhcp_server *s);
void dhcp_server_pending_commit(struct dhcp_server *s);

#endif
