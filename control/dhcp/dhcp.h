/* DHCPv4 control plane: codec, lease journal, PXE policy and server engine.
 *
 * Nothing here touches a socket. The codec turns (buf, len) into a struct
 * and back; the server engine takes a datagram, where it came from and a
 * clock, and returns replies with a delivery decision (RFC 2131 4.1). The
 * daemon moves the bytes.
 *
 * Conventions: every IPv4 address in these structs is in network byte
 * order (as struct in_addr and dataplane/transport.h); ports, secs and
 * flags are in host order.
 */
#ifndef PXECAST_CONTROL_DHCP_H
#define PXECAST_CONTROL_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Wire constants (RFC 2131, 2132, 4578) ---- */

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_PXE_PORT 4011

#define DHCP_FIXED_LEN 236    /* op .. file */
#define DHCP_MIN_LEN 240      /* fixed part + magic cookie */
#define DHCP_MAGIC 0x63825363u
#define DHCP_SNAME_LEN 64
#define DHCP_FILE_LEN 128
#define DHCP_CHADDR_LEN 16
#define DHCP_MIN_MAXSIZE 576  /* smallest legal option 57 */
#define DHCP_IPUDP_LEN 28     /* option 57 counts the IP and UDP headers */
#define DHCP_DEFAULT_MAXLEN (DHCP_MIN_MAXSIZE - DHCP_IPUDP_LEN) /* 548 */
#define DHCP_PARSE_MAX 4096   /* longer datagrams are refused */
#define DHCP_REPLY_MAX 1472   /* largest reply we build: 1500-byte MTU */
#define DHCP_CLIENTID_MAX 136 /* type + IAID + the longest DUID (RFC 4361) */
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_op { DHCP_BOOTREQUEST = 1, DHCP_BOOTREPLY = 2 };

enum dhcp_msgtype {
	DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPDECLINE = 4,
	DHCPACK = 5, DHCPNAK = 6, DHCPRELEASE = 7, DHCPINFORM = 8,
};

enum dhcp_option {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_BROADCAST = 28,
	DHCP_OPT_VENDOR = 43,        /* PXE sub-options when 60 is PXEClient */
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSGTYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PRL = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAXSIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_TFTP_SERVER = 66,
	DHCP_OPT_BOOTFILE = 67,
	DHCP_OPT_USER_CLASS = 77,
	DHCP_OPT_RELAY_AGENT = 82,
	DHCP_OPT_CLIENT_ARCH = 93,
	DHCP_OPT_CLIENT_NDI = 94,
	DHCP_OPT_UUID = 97,
	DHCP_OPT_IPXE = 175,
	DHCP_OPT_END = 255,
};

/* Option 52 values. */
enum { DHCP_OVERLOAD_FILE = 1, DHCP_OVERLOAD_SNAME = 2, DHCP_OVERLOAD_BOTH = 3 };

/* One code per failed check, numbered in the order they are made. */
enum dhcp_err {
	DHCP_OK = 0,
	DHCP_ERR_SHORT,           /* under 240 bytes */
	DHCP_ERR_TOO_LONG,        /* over DHCP_PARSE_MAX */
	DHCP_ERR_OP,              /* op neither BOOTREQUEST nor BOOTREPLY */
	DHCP_ERR_HLEN,            /* hlen over 16 */
	DHCP_ERR_COOKIE,          /* bad magic cookie */
	DHCP_ERR_OPT_NOLEN,       /* a tag in the last byte, no length byte */
	DHCP_ERR_OPT_TRUNC,       /* an option running past the end */
	DHCP_ERR_NO_END,          /* options field without END */
	DHCP_ERR_OVERLOAD_LEN,    /* option 52 not exactly one byte */
	DHCP_ERR_OVERLOAD_VAL,    /* option 52 not 1, 2 or 3 */
	DHCP_ERR_OVERLOAD_NESTED, /* option 52 inside sname or file */
	DHCP_ERR_OVL_FILE,        /* overloaded file holds malformed options */
	DHCP_ERR_OVL_SNAME,       /* overloaded sname holds malformed options */
	DHCP_ERR_MSGTYPE_DUP,     /* option 53 more than once */
	DHCP_ERR_MSGTYPE_LEN,     /* option 53 not one byte */
	DHCP_ERR_MAXSIZE_LEN,     /* option 57 not two bytes */
	DHCP_ERR_MAXSIZE_SMALL,   /* option 57 under 576 */
	DHCP_ERR_CLIENTID_SHORT,  /* option 61 under two bytes */
	DHCP_ERR_CLIENTID_LONG,   /* option 61 over DHCP_CLIENTID_MAX */
	DHCP_ERR_ADDR_LEN,        /* 50/54 not four bytes */
	DHCP_ERR_TIME_LEN,        /* 51/58/59 not four bytes */
	DHCP_ERR_RELAY_SUBOPT,    /* option 82 sub-option longer than its parent */
	DHCP_ERR_VENDOR_SUBOPT,   /* PXE option 43 sub-option past its parent */
	DHCP_ERR_VENDOR_CLASS,    /* option 60 empty */
	DHCP_ERR_ARCH_LEN,        /* option 93 empty or odd length */
	DHCP_ERR_NDI_LEN,         /* option 94 not three bytes */
	DHCP_ERR_UUID_LEN,        /* option 97 not 17 bytes (or empty) */
	DHCP_ERR__COUNT
};

/* A stable lower-case name for logs and counters ("opt_trunc"). */
const char *dhcp_err_name(enum dhcp_err err);

/* ---- Parsed message ---- */

/* The fixed BOOTP header, shared by parsed requests and built replies.
 * xid is kept as the four wire bytes (a uint32 copied with memcpy). */
struct dhcp_hdr {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	uint8_t sname[DHCP_SNAME_LEN];
	uint8_t file[DHCP_FILE_LEN];
};

/* A message after parsing. Repeated instances of a code are joined
 * (RFC 3396) in the order options, file, sname, so every option is one
 * contiguous run in data[]. When option 52 overloads a field, hdr.sname
 * or hdr.file still hold its raw bytes; callers must not read them as
 * names (has_sname/has_file say whether they are names). */
struct dhcp_msg {
	struct dhcp_hdr hdr;
	uint8_t overload;  /* option 52, 0 when absent */
	uint8_t msgtype;   /* option 53, 0 for plain BOOTP */
	uint16_t maxsize;  /* option 57, 0 when absent */
	bool has_sname, has_file;
	uint8_t present[32];        /* bitmap by code */
	uint16_t opt_off[256];
	uint16_t opt_len[256];
	uint16_t data_len;
	uint8_t data[DHCP_PARSE_MAX];
};

/* Parse (buf, len). Every length is checked before the byte it covers
 * is read. Returns DHCP_OK, or the first failed check (see enum
 * dhcp_err); *m is then unspecified. */
enum dhcp_err dhcp_msg_parse(struct dhcp_msg *m, const uint8_t *buf, size_t len);

/* The joined value of option code, or NULL when absent (a present
 * zero-length option returns a non-NULL pointer and *len = 0). */
const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len);
bool dhcp_msg_has(const struct dhcp_msg *m, uint8_t code);
/* A four-byte option (50, 54: network order as on the wire; 51, 58, 59:
 * converted to host order). false when absent. */
bool dhcp_msg_opt_addr(const struct dhcp_msg *m, uint8_t code, uint32_t *addr);
bool dhcp_msg_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *val);
/* Option 93: the first architecture listed, or -1. */
int dhcp_msg_client_arch(const struct dhcp_msg *m);
/* Option 60 starts with prefix (e.g. "PXEClient", "HTTPClient"). */
bool dhcp_msg_vendor_class_is(const struct dhcp_msg *m, const char *prefix);
/* Option 77 equals name, either raw (as iPXE sends it) or as one entry of
 * an RFC 3004 list. */
bool dhcp_msg_user_class_is(const struct dhcp_msg *m, const char *name);

/* Check a run of sub-options (code, len, data). pad_end: PAD (0) is a
 * single byte and END (255) stops the walk, as in option 43; without it
 * every byte belongs to a TLV, as in option 82. */
bool dhcp_subopts_valid(const uint8_t *buf, size_t len, bool pad_end);
/* Find sub-option code in such a run; NULL when absent or malformed. */
const uint8_t *dhcp_subopt_find(const uint8_t *buf, size_t len, bool pad_end,
				uint8_t code, size_t *sublen);

/* ---- PXE vendor options (option 43, PXE 2.1 spec) ---- */

enum dhcp_pxe_subopt {
	DHCP_PXE_MTFTP_IP = 1, DHCP_PXE_MTFTP_CPORT = 2, DHCP_PXE_MTFTP_SPORT = 3,
	DHCP_PXE_MTFTP_TMOUT = 4, DHCP_PXE_MTFTP_DELAY = 5,
	DHCP_PXE_DISCOVERY_CONTROL = 6, DHCP_PXE_BOOT_SERVERS = 8,
	DHCP_PXE_BOOT_MENU = 9, DHCP_PXE_MENU_PROMPT = 10, DHCP_PXE_BOOT_ITEM = 71,
};

/* Discovery control bits. */
enum {
	DHCP_PXE_DC_NO_BROADCAST = 1, DHCP_PXE_DC_NO_MULTICAST = 2,
	DHCP_PXE_DC_SERVERS_ONLY = 4, DHCP_PXE_DC_USE_BOOTFILE = 8,
};

#define DHCP_PXE_MAX_SERVERS 4
#define DHCP_PXE_MAX_SERVER_IPS 4
#define DHCP_PXE_MAX_MENU 8

/* Strings point into the caller's memory (build) or into the parsed
 * buffer (parse); they are not NUL terminated. */
struct dhcp_pxe43 {
	bool has_discovery_control;
	uint8_t discovery_control;
	bool has_boot_item;          /* 71: chosen by the client, echoed */
	uint16_t boot_item_type, boot_item_layer;
	unsigned nservers;
	struct {
		uint16_t type;
		uint8_t nip;
		uint32_t ip[DHCP_PXE_MAX_SERVER_IPS];
	} servers[DHCP_PXE_MAX_SERVERS];
	unsigned nmenu;
	struct {
		uint16_t type;
		uint8_t desc_len;
		const uint8_t *desc;
	} menu[DHCP_PXE_MAX_MENU];
	bool has_prompt;
	uint8_t prompt_timeout;
	uint8_t prompt_len;
	const uint8_t *prompt;
	bool has_mtftp;
	uint32_t mtftp_ip;
	uint16_t mtftp_cport, mtftp_sport;
	uint8_t mtftp_tmout, mtftp_delay;
};

/* Encode into out (ending with END). Returns the length or -ENOSPC. */
int dhcp_pxe43_build(const struct dhcp_pxe43 *p, uint8_t *out, size_t cap);
/* Decode; unknown sub-options are skipped. Returns 0, or -EINVAL when a
 * sub-option runs past the buffer or has the wrong length. */
int dhcp_pxe43_parse(struct dhcp_pxe43 *p, const uint8_t *buf, size_t len);

/* ---- Reply builder ---- */

#define DHCP_BUILD_MAX_OPTS 40
#define DHCP_BUILD_DATA 2048

enum { DHCP_OPTF_REQUIRED = 1 }; /* sent even when not in option 55 */

/* Options are collected first, then laid out by dhcp_build_encode:
 * 53 first, 54 next, then what option 55 asked for in its order, then
 * the required ones, and 82 last (RFC 3046). */
struct dhcp_build {
	struct dhcp_hdr hdr;
	unsigned nopt;
	struct {
		uint8_t code, flags;
		uint16_t off, len;
	} opt[DHCP_BUILD_MAX_OPTS];
	uint16_t used;
	int err; /* first add that failed (-ENOSPC, -EEXIST), sticky */
	uint8_t data[DHCP_BUILD_DATA];
};

/* A reply to req: op BOOTREPLY, and xid, flags, giaddr, htype, hlen and
 * chaddr copied; option 53 added. */
void dhcp_build_reply(struct dhcp_build *b, const struct dhcp_msg *req,
		      uint8_t msgtype);
/* Add an option (len may exceed 255: it is split on output, RFC 3396).
 * Each code once. Failures are remembered in b->err. */
int dhcp_build_add(struct dhcp_build *b, uint8_t code, const void *data,
		   size_t len, unsigned flags);
int dhcp_build_add_u8(struct dhcp_build *b, uint8_t code, uint8_t v, unsigned flags);
int dhcp_build_add_u32(struct dhcp_build *b, uint8_t code, uint32_t host_v,
		       unsigned flags);
int dhcp_build_add_addr(struct dhcp_build *b, uint8_t code, uint32_t net_addr,
			unsigned flags);

/* Lay the message out in out[cap]. prl/prl_len is the client's option 55
 * (NULL: send every option added). maxsize is the client's option 57 (0
 * when absent: 576). Options that do not fit in the options field spill
 * into file and sname when those are empty (option 52); an optional
 * option that still does not fit is left out. Returns the length, or
 * -ENOSPC when a required option does not fit, or b->err. */
int dhcp_build_encode(const struct dhcp_build *b, const uint8_t *prl,
		      size_t prl_len, uint16_t maxsize, uint8_t *out, size_t cap);

/* ---- Leases: in-memory table and append-only journal ----
 *
 * Leases are keyed by hardware address, so the ROM, iPXE and the
 * installed system of one machine share its address whatever client-id
 * each sends. Every state change except an offer queues one journal row:
 *
 *   L1 <state> <mac> <ip> <expiry> <hostname> <crc32>\n
 *
 * state is bound, free or declined; mac is aa:bb:.. (or "-" for a
 * quarantined address); expiry is Unix seconds; hostname is sanitised
 * ("-" when none); crc32 (8 hex digits) covers the bytes before it.
 * Lines starting with '#' are comments. Later rows win.
 */

#define DHCP_HOSTNAME_MAX 63

enum dhcp_lease_state {
	DHCP_LEASE_FREE = 0,  /* released or expired; kept to reuse the address */
	DHCP_LEASE_OFFERED,   /* held for the client; memory only */
	DHCP_LEASE_BOUND,
	DHCP_LEASE_DECLINED,  /* quarantined; no owner */
};

struct dhcp_lease {
	uint8_t mac[DHCP_CHADDR_LEN];
	uint8_t hlen;        /* 0: no owner (declined) */
	uint8_t state;       /* enum dhcp_lease_state */
	uint32_t ip;
	int64_t expiry;      /* Unix seconds */
	char hostname[DHCP_HOSTNAME_MAX + 1];
};

struct dhcp_leases_stats {
	uint64_t rows_loaded, rows_bad, rows_stale, rows_dropped;
	uint64_t rows_queued, rows_flushed, flushes, flush_errors;
	uint64_t compactions, table_full, queue_full;
};

struct dhcp_leases;

/* capacity: leases held in memory; queue_bytes: journal rows waiting for
 * a flush (about 80 bytes each). NULL on allocation failure. */
struct dhcp_leases *dhcp_leases_create(size_t capacity, size_t queue_bytes);
void dhcp_leases_destroy(struct dhcp_leases *l);
const struct dhcp_leases_stats *dhcp_leases_stats(const struct dhcp_leases *l);

const struct dhcp_lease *dhcp_leases_by_mac(const struct dhcp_leases *l,
					    const uint8_t *mac, uint8_t hlen);
const struct dhcp_lease *dhcp_leases_by_ip(const struct dhcp_leases *l, uint32_t ip);
/* Offered, bound or declined, and not yet expired. */
bool dhcp_lease_active(const struct dhcp_lease *e, int64_t now);
void dhcp_leases_foreach(const struct dhcp_leases *l,
			 void (*fn)(const struct dhcp_lease *e, void *ctx), void *ctx);

/* Record that ip is in state for mac (hlen 0 with DECLINED: a quarantine
 * owned by nobody). Any other entry for ip is dropped, the mac's previous
 * address is forgotten. Every state but OFFERED queues a journal row.
 * hostname is sanitised here (NULL: none). A full table reuses an
 * inactive entry. Returns 0; -EINVAL; -ENOSPC when the table holds only
 * active leases or the row queue is full (nothing is changed then). */
int dhcp_leases_set(struct dhcp_leases *l, int64_t now, const uint8_t *mac,
		    uint8_t hlen, uint32_t ip, enum dhcp_lease_state state,
		    int64_t expiry, const char *hostname);

/* Group commit. Every queued row has a sequence number; a row is durable
 * once dhcp_leases_durable_seq() reaches it. */
uint64_t dhcp_leases_queued_seq(const struct dhcp_leases *l);
uint64_t dhcp_leases_durable_seq(const struct dhcp_leases *l);
/* Write every queued row in one write (continued after a short write)
 * and one fdatasync. Returns the rows made durable (0: none queued), or
 * -errno; rows then stay queued. After a failed fdatasync the file is
 * suspect: compact (which rewrites the whole table) rather than retry. */
int dhcp_leases_flush(struct dhcp_leases *l, int fd);

/* Load a journal from (buf, len). Never fails: rows that do not parse,
 * fail their checksum, are torn (no final newline) or overlong are
 * skipped and counted in rows_bad; expired quarantines in rows_stale. */
void dhcp_leases_load(struct dhcp_leases *l, const uint8_t *buf, size_t len,
		      int64_t now);

/* Rewrite the journal: one row per lease into name.tmp in dirfd, fsync,
 * rename over name, fsync dirfd. Queued rows are covered and become
 * durable. Returns a descriptor of the new journal open for appending
 * (the caller closes the old one), or -errno (nothing changed). */
int dhcp_leases_compact(struct dhcp_leases *l, int dirfd, const char *name,
			int64_t now);

/* Copy a client-supplied host name keeping [A-Za-z0-9._-]; other bytes
 * (newline, comma, space, ...) become '-', a NUL ends it (some clients
 * send one). At most DHCP_HOSTNAME_MAX bytes, always NUL terminated.
 * Returns the length. Safe for logs and the journal. */
size_t dhcp_hostname_sanitize(char *dst, size_t cap, const uint8_t *src, size_t len);

/* ---- Configuration (plain structs; the INI parser fills them) ----
 *
 * Strings and arrays are borrowed: they must outlive the server. */

/* Boot files and URLs. NULL fields inherit: host, then profile, then
 * the global [boot] section. ${server}, ${mac} (aa:bb:cc:dd:ee:ff) and
 * ${ip} are expanded when a reply is built. */
struct dhcp_boot {
	const char *bios;           /* arch 0 */
	const char *efi32;          /* arch 6 */
	const char *efi64;          /* arch 7, 9 */
	const char *arm32;          /* arch 10 */
	const char *arm64;          /* arch 11 */
	const char *ipxe;           /* user class "iPXE": the script URL */
	const char *httpboot;       /* arch 16 (and 19 without httpboot_arm64) */
	const char *httpboot_arm64; /* arch 19 */
};

struct dhcp_subnet {
	uint32_t network, netmask;
	uint32_t pool_start, pool_end; /* inclusive; both 0: reservations only */
	uint32_t router;               /* 0: none */
	uint32_t dns[4];
	unsigned ndns;
	const char *domain;            /* NULL: none */
	uint32_t lease_time;           /* seconds; 0: 3600 */
	uint32_t t1, t2;               /* 0: 50% and 87.5% of lease_time */
	int ifindex;                   /* directly attached on it; 0: match by address */
	uint32_t server_ip;            /* our address here; 0: the one the packet came to */
};

struct dhcp_profile {
	const char *name;
	struct dhcp_boot boot;
};

/* [host aa:bb:cc:dd:ee:ff] */
struct dhcp_host {
	uint8_t mac[6];
	uint32_t ip;                /* 0: from the pool */
	const char *hostname;       /* NULL: the client's own (option 12) */
	const char *profile;        /* NULL: none */
	struct dhcp_boot boot;
};

enum dhcp_mode { DHCP_MODE_SERVER, DHCP_MODE_PROXY };
enum dhcp_unknown_policy { DHCP_UNKNOWN_SERVE, DHCP_UNKNOWN_IGNORE };

/* PXE MTFTP (PXE 2.1): a boot file served by multicast is advertised to
 * PXE clients in option 43 sub-options 1-5. group_of(ctx, file) is the
 * file's group (network order), 0 for a file served by plain TFTP. */
struct dhcp_mtftp {
	uint32_t (*group_of)(const void *ctx, const char *file); /* NULL: no MTFTP */
	const void *ctx;
	uint16_t cport, sport;  /* network order */
	uint8_t tmout, delay;   /* seconds */
};

struct dhcp_config {
	enum dhcp_mode mode;
	enum dhcp_unknown_policy unknown;
	const struct dhcp_subnet *subnets;
	size_t nsubnets;
	const struct dhcp_host *hosts;
	size_t nhosts;
	const struct dhcp_profile *profiles;
	size_t nprofiles;
	struct dhcp_boot boot;
	uint32_t offer_hold;   /* seconds an offered address waits; 0: 60 */
	uint32_t decline_hold; /* seconds a declined address rests; 0: 600 */
	unsigned rate_burst;   /* packets a MAC may send at once; 0: 8 */
	unsigned rate_per_sec; /* then this many per second; 0: 2 */
	unsigned max_pending;  /* ACKs waiting for the journal; 0: 256 */
	struct dhcp_mtftp mtftp;
};

/* ---- PXE boot policy (dhcp_pxe.c) ---- */

enum dhcp_boot_kind { DHCP_BOOT_NONE, DHCP_BOOT_PXE, DHCP_BOOT_HTTP, DHCP_BOOT_IPXE };

#define DHCP_BOOTFILE_MAX 256

struct dhcp_boot_choice {
	enum dhcp_boot_kind kind;
	const char *vendor;          /* "PXEClient" or "HTTPClient" to echo in 60 */
	char file[DHCP_BOOTFILE_MAX]; /* expanded */
};

/* What this client boots: iPXE (user class) gets the script URL so the
 * chain ROM -> iPXE -> script ends; HTTPClient / arch 16, 19 the HTTP
 * URL; PXEClient the file for its arch (93, else the ":Arch:" field of
 * 60, else BIOS). layers are searched in order for each field (host,
 * profile, global; NULL entries skipped). kind NONE when the client is
 * not a boot client or nothing is configured for it. */
void dhcp_pxe_choose(struct dhcp_boot_choice *out, const struct dhcp_msg *req,
		     const struct dhcp_boot *const *layers, size_t nlayers,
		     uint32_t server_ip, uint32_t client_ip);
/* Expand ${server}, ${mac}, ${ip} in tmpl. Returns the length, or -1
 * when the result does not fit (out is then ""). Unknown ${...} stay. */
int dhcp_pxe_expand(char *out, size_t cap, const char *tmpl, uint32_t server_ip,
		    const uint8_t *mac, uint8_t hlen, uint32_t client_ip);

/* ---- Server engine (dhcp_server.c) ---- */

/* Where a datagram came from, as the transport saw it. */
struct dhcp_meta {
	uint32_t src_ip;
	uint16_t src_port;
	uint32_t local_ip;   /* our address it arrived on (IP_PKTINFO) */
	uint16_t local_port; /* 67, or 4011 for boot-server requests */
	int ifindex;
};

enum dhcp_dest {
	DHCP_DEST_BROADCAST, /* 255.255.255.255:68 out of ifindex */
	DHCP_DEST_UNICAST,   /* ip:port through the routing table (client, relay) */
	DHCP_DEST_LINK,      /* ip:68 at link address chaddr: the client has no
			      * ARP yet (packet socket, or an ARP entry first) */
};

struct dhcp_reply {
	enum dhcp_dest dest;
	uint32_t ip;
	uint16_t port;
	uint32_t src_ip;     /* send from this address (the server identifier) */
	uint16_t src_port;
	int ifindex;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	uint8_t hlen;
	uint8_t msgtype;
	uint16_t len;
	uint8_t buf[DHCP_REPLY_MAX];
};

struct dhcp_counters {
	uint64_t rx;
	uint64_t parse[DHCP_ERR__COUNT]; /* drops by codec check */
	uint64_t not_request;   /* op not BOOTREQUEST */
	uint64_t bad_hlen;      /* hlen 0: no key to lease by */
	uint64_t bootp;         /* no option 53 */
	uint64_t bad_msgtype;   /* unknown or server-side message type */
	uint64_t rate_limited;
	uint64_t unknown_host;  /* not in the inventory, policy says ignore */
	uint64_t no_subnet;
	uint64_t foreign_server; /* 54 names another server */
	uint64_t outside_pool;  /* requested address not ours to give (NAKed) */
	uint64_t pool_exhausted;
	uint64_t not_leased;    /* RELEASE/DECLINE for an address the client lacks */
	uint64_t bad_request;   /* REQUEST with neither 50 nor ciaddr */
	uint64_t journal_full;  /* lease could not be recorded: no reply */
	uint64_t pending_full;  /* too many ACKs waiting for the journal */
	uint64_t not_boot_client; /* proxy mode / 4011: not a PXE client */
	uint64_t proxy_ignored; /* proxy mode: not a DISCOVER */
	uint64_t build_failed;
	uint64_t offers, acks, naks, informs, releases, declines;
	uint64_t proxy_offers, boot_acks;
};

struct dhcp_server;

/* cfg and leases are borrowed and must outlive the server. NULL when a
 * table cannot be allocated or the config is inconsistent (errno set). */
struct dhcp_server *dhcp_server_create(const struct dhcp_config *cfg,
				       struct dhcp_leases *leases);
void dhcp_server_destroy(struct dhcp_server *s);

/* Engines run on the monotonic clock (transport_now_us); leases live on
 * disk in wall-clock seconds. Tie the two: call at start and whenever the
 * wall clock may have stepped. Without it, now_us is taken as wall time. */
void dhcp_server_set_clock(struct dhcp_server *s, uint64_t now_us, int64_t wall_s);

/* One datagram in. Returns 1 when *out holds a reply to send now
 * (OFFER, NAK, INFORM and proxy answers), 0 when there is nothing to
 * send now: the datagram was dropped (and counted), needed no answer, or
 * produced an ACK that waits for its journal row (see below). */
int dhcp_server_input(struct dhcp_server *s, uint64_t now_us,
		      const struct dhcp_meta *meta, const uint8_t *pkt, size_t len,
		      struct dhcp_reply *out);

/* Group commit: write and sync every queued lease row (one write, one
 * fdatasync; dhcp_leases_flush), return its result. */
int dhcp_server_flush(struct dhcp_server *s, int journal_fd);
/* Copy out the next ACK whose lease row is durable; false when none.
 * Held ACKs are only reachable through here, so none leaves before its
 * lease is on disk. */
bool dhcp_server_take_durable(struct dhcp_server *s, struct dhcp_reply *out);
size_t dhcp_server_pending(const struct dhcp_server *s);

const struct dhcp_counters *dhcp_server_counters(const struct dhcp_server *s);

#endif
