/* Hosts: who a machine is (inventory from [host] and [profile]), where its
 * installation stands (a durable state journal), and what it is served
 * (per-host boot scripts and installer answers rendered from templates).
 *
 *   GET  /boot/MAC.ipxe          the iPXE script; marks the host "booting"
 *   GET  /ks/MAC                 kickstart / preseed / ignition / user-data
 *   GET  /ks/MAC/user-data       (cloud-init nocloud-net: Ubuntu autoinstall;
 *   GET  /ks/MAC/meta-data        also /ks/MAC/TOKEN/..., the seed_url form)
 *   GET  /grub/MAC.cfg           GRUB netboot menu (also .../grub.cfg-01-MAC)
 *   GET  .../pxelinux.cfg/01-MAC PXELINUX config (MAC with dashes)
 * The GRUB and PXELINUX names (and the boot script) are served over TFTP
 * too: those loaders look for them beside themselves.
 *   POST /api/hosts/MAC/state    booting|installing|installed|failed
 *   GET  /api/hosts              every host, JSON
 *
 * Tokens: HMAC-SHA256(secret, mac | expiry), written "EXPIRY-HEX". The
 * boot script is where a token is minted (firmware has none to give);
 * with require_token, installer answers and state reports need one.
 *
 * The journal is a text file, one row per state change:
 *   "aa:bb:cc:dd:ee:ff installed 1700000000\n"
 * appended and fdatasync'ed before the reply leaves; read back row by row,
 * a damaged row is skipped and counted, never a reason not to start.
 */
#ifndef PXECAST_CONTROL_HOSTS_HOSTS_H
#define PXECAST_CONTROL_HOSTS_HOSTS_H

#include "control/render/render.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- install state ---- */

enum host_state {
	HOST_STATE_NONE = 0,  /* never seen */
	HOST_STATE_BOOTING,
	HOST_STATE_INSTALLING,
	HOST_STATE_INSTALLED,
	HOST_STATE_FAILED,
	HOST_STATE__COUNT
};

const char *host_state_name(enum host_state s);
/* "installed" (exact, lowercase) -> HOST_STATE_INSTALLED; false if unknown
 * or "none" (a client cannot reset a host to never-seen). */
bool host_state_parse(const char *s, size_t len, enum host_state *out);

/* "aa:bb:cc:dd:ee:ff" or "aa-bb-..." (either case) -> 6 bytes. */
bool host_mac_parse(const char *s, size_t len, uint8_t mac[6]);
void host_mac_format(const uint8_t mac[6], char sep, char out[18]);

/* ---- tokens ---- */

#define HOST_SECRET_LEN 32
#define HOST_TOKEN_MAX 64 /* "EXPIRY-" + 32 hex digits + NUL, with room */

/* The token for mac, valid until expiry (seconds since the epoch). */
size_t host_token_make(const uint8_t secret[HOST_SECRET_LEN], const uint8_t mac[6],
		       int64_t expiry, char out[HOST_TOKEN_MAX]);
/* Whether tok (len bytes, from a client) is a token for mac not expired at
 * now. Compared in constant time. */
bool host_token_check(const uint8_t secret[HOST_SECRET_LEN], const uint8_t mac[6],
		      const char *tok, size_t len, int64_t now);

/* ---- the state journal ---- */

struct host_record {
	uint8_t mac[6];
	enum host_state state;
	int64_t time;
};

/* Call fn for each well-formed row of buf, in order; returns the number of
 * damaged rows skipped (an unterminated last row counts: a crash mid-write). */
size_t host_journal_parse(const char *buf, size_t len,
			  void (*fn)(void *user, const struct host_record *r), void *user);
/* One row, with its newline; returns its length (< 64). */
size_t host_journal_format(const struct host_record *r, char *out, size_t size);

/* Per host, what the journal says: the state now, when it changed, and
 * when each state was last entered (0: never). */
struct host_status {
	uint8_t mac[6];
	enum host_state state;
	int64_t since;
	int64_t entered[HOST_STATE__COUNT];
};

/* Every host of the journal, last row wins (sorted by MAC). Reads the file
 * whole; a missing file is an empty table. Returns 0 or -errno; *bad gets
 * the damaged rows. Used by the daemon at start and by `pxecast hosts`. */
int host_journal_load(const char *path, struct host_status **out, size_t *n, size_t *bad);

/* ---- provisioning (per-host rendering, the state API) ---- */

/* A host's or a profile's own keys: kernel, initrd, append,
 * script-template, install-template, grub-template, pxelinux-template, and
 * var.NAME lines (as NAME). Host keys win over its profile's. */
struct provision_vars {
	const struct render_kv *kv;
	size_t n;
};

struct provision_host {
	uint8_t mac[6];
	uint32_t ip;                /* network order; 0: the requester's */
	const char *hostname;       /* NULL: "host-" + MAC digits */
	const char *profile;        /* NULL: none */
	struct provision_vars vars;
};

struct provision_profile {
	const char *name;
	struct provision_vars vars;
};

struct provision_config {
	const char *templates_dir;
	const char *state_file;     /* NULL: states are kept in memory only */
	const char *default_profile; /* unknown MACs; NULL: 404 */
	bool require_token;
	uint32_t token_lifetime;    /* seconds; 0: 86400 */
	uint8_t secret[HOST_SECRET_LEN];
	const struct provision_host *hosts;
	size_t nhosts;
	const struct provision_profile *profiles;
	size_t nprofiles;
};

struct provision_counters {
	uint64_t rendered;          /* scripts and answers served */
	uint64_t not_found;         /* unknown MAC, no default profile */
	uint64_t token_refused;     /* missing, forged or expired tokens */
	uint64_t render_errors;     /* a template failed on a host's values */
	uint64_t state_changes;     /* rows written to the journal */
	uint64_t journal_bad_rows;  /* skipped at load */
};

struct provision;

/* Load every template the profiles and hosts name (and the defaults) from
 * templates_dir and compile them, open the journal. cfg's arrays and
 * strings are borrowed and must outlive the result. NULL with a message
 * "file:line: why" in err on failure. */
struct provision *provision_new(const struct provision_config *cfg, char *err, size_t errlen);
void provision_free(struct provision *p);

struct provision_request {
	bool post;
	const char *path;           /* decoded, relative: "boot/aa:bb:...ipxe" */
	size_t path_len;
	const char *query;          /* raw, after '?' */
	size_t query_len;
	const char *body;
	size_t body_len;
	const char *server;         /* host[:port] the client used, for URLs */
	bool tls;
	uint32_t peer_ip;           /* network order */
	int64_t now;                /* seconds since the epoch */
};

struct provision_reply {
	int status;                 /* 0: not ours */
	const char *content_type;
	char *body;                 /* malloc'd, the caller frees */
	size_t len;
	bool gzip_ok;
};

void provision_handle(struct provision *p, const struct provision_request *rq,
		      struct provision_reply *out);
void provision_counters(const struct provision *p, struct provision_counters *out);
/* A reloaded provision continues from the counters of the one it replaces
 * (Prometheus counters never go back). */
void provision_carry_counters(struct provision *to, const struct provision *from);

#endif
