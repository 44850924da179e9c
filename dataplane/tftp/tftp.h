/* TFTP: codec (RFC 1350, 2347, 2348, 2349, 7440) and the per-transfer
 * engine. Neither touches a socket or a file: the codec reads and writes
 * byte arrays, the engine takes packets and a clock and says what to send,
 * what to write and when it next wants to be woken (DESIGN.md).
 */
#ifndef PXECAST_DATAPLANE_TFTP_H
#define PXECAST_DATAPLANE_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

/* RFC 1350 and RFC 2347 error codes. */
enum tftp_error {
	TFTP_ERR_UNDEFINED = 0,
	TFTP_ERR_NOT_FOUND = 1,
	TFTP_ERR_ACCESS = 2,
	TFTP_ERR_DISK_FULL = 3,
	TFTP_ERR_ILLEGAL_OP = 4,
	TFTP_ERR_UNKNOWN_TID = 5,
	TFTP_ERR_EXISTS = 6,
	TFTP_ERR_NO_USER = 7,
	TFTP_ERR_OPTION = 8,
};

enum tftp_mode { TFTP_MODE_OCTET, TFTP_MODE_NETASCII };

#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8
#define TFTP_BLKSIZE_MAX 65464
#define TFTP_WINDOW_MAX 64     /* hard cap; config may lower it */
#define TFTP_MAX_NAME 511      /* longer names are refused */
#define TFTP_MAX_OPTIONS 16
#define TFTP_OACK_MAX 512      /* an OACK must fit a 512-byte client buffer */
#define TFTP_ERROR_MAX 128     /* error packet: 4 + message + NUL */

/* Parse results: one distinct code per failed check. */
enum tftp_parse_status {
	TFTP_PARSE_OK = 0,
	TFTP_PARSE_SHORT,          /* under 4 bytes (2 for a request opcode) */
	TFTP_PARSE_BAD_OPCODE,
	TFTP_PARSE_UNTERMINATED,   /* a string without its NUL */
	TFTP_PARSE_EMPTY_NAME,
	TFTP_PARSE_NAME_TOO_LONG,
	TFTP_PARSE_BAD_MODE,
	TFTP_PARSE_OPTION_NO_VALUE,
	TFTP_PARSE_TOO_MANY_OPTIONS,
};

struct tftp_option {
	const char *name;  /* NUL-terminated, inside the parsed buffer */
	const char *value;
};

struct tftp_request {
	const char *filename; /* NUL-terminated, inside the parsed buffer */
	size_t filename_len;
	enum tftp_mode mode;
	unsigned nopts;
	struct tftp_option opts[TFTP_MAX_OPTIONS];
};

struct tftp_packet {
	uint16_t opcode;
	union {
		struct tftp_request req;                                 /* RRQ, WRQ */
		struct { uint16_t block; const uint8_t *data; size_t len; } data;
		struct { uint16_t block; } ack;
		struct { uint16_t code; const char *msg; } error;        /* msg may be "" */
	} u;
};

/* Parse one datagram. Pointers in *out point into buf. */
enum tftp_parse_status tftp_parse(const uint8_t *buf, size_t len, struct tftp_packet *out);
const char *tftp_parse_strerror(enum tftp_parse_status st);

/* Build packets into buf (cap bytes). Each returns the length, or 0 when it
 * does not fit. */
size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);
size_t tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, const char *mode,
		      const struct tftp_option *opts, unsigned nopts);
void tftp_build_data_header(uint8_t hdr[4], uint16_t block);

/* ---- option negotiation (RFC 2347-2349, 7440) ---- */

struct tftp_limits {
	uint16_t max_blksize;    /* <= TFTP_BLKSIZE_MAX */
	uint16_t max_window;     /* 1..TFTP_WINDOW_MAX */
	uint32_t max_file_size;  /* WRQ tsize above this is refused; 0 = no cap */
};

struct tftp_params {
	uint16_t blksize;
	uint16_t windowsize;
	uint8_t timeout_s;       /* 0 = server default */
	bool has_options;        /* an OACK is due */
	uint64_t tsize;
};

enum tftp_negotiate_status {
	TFTP_NEG_OK = 0,
	TFTP_NEG_DUPLICATE,      /* an option given twice: ambiguous, refused */
	TFTP_NEG_TOO_LARGE,      /* WRQ tsize over the limit */
};

/* Decide the transfer parameters for a request and write the OACK (only
 * the options we accept, RFC 2347: unknown or malformed ones are left out,
 * so the client falls back to defaults) into oack[TFTP_OACK_MAX].
 * file_size is the object's size for RRQ (reported through tsize). Counts
 * options that were ignored because malformed in *ignored. */
enum tftp_negotiate_status tftp_negotiate(const struct tftp_request *req, bool is_write,
					  uint64_t file_size, const struct tftp_limits *lim,
					  struct tftp_params *out, uint8_t *oack,
					  size_t *oack_len, unsigned *ignored);

/* ---- per-transfer engine ---- */

/* What the engine asks its server to do; filled by each call. */
enum tftp_action_kind {
	TFTP_ACT_PACKET,   /* send ctl[0..ctl_len) */
	TFTP_ACT_DATA,     /* send DATA: hdr + object bytes [offset, offset+len) */
	TFTP_ACT_WRITE,    /* store data[0..len) at offset (upload) */
};

struct tftp_action {
	enum tftp_action_kind kind;
	uint8_t hdr[4];
	uint64_t offset;
	uint32_t len;
	const uint8_t *data;    /* TFTP_ACT_WRITE: inside the input packet */
};

#define TFTP_ACTIONS_MAX (TFTP_WINDOW_MAX + 1)

struct tftp_output {
	unsigned n;
	struct tftp_action act[TFTP_ACTIONS_MAX];
	uint8_t ctl[TFTP_OACK_MAX]; /* at most one control packet per call */
	size_t ctl_len;
};

enum tftp_state {
	TFTP_STATE_RUNNING,
	TFTP_STATE_DONE,       /* completed; may still linger to re-ACK (WRQ) */
	TFTP_STATE_FAILED,     /* error sent or received, or timed out */
};

enum tftp_end_reason {
	TFTP_END_NONE,
	TFTP_END_OK,
	TFTP_END_PEER_ERROR,   /* client sent ERROR (e.g. 8 after tsize probe) */
	TFTP_END_TIMEOUT,
	TFTP_END_TOO_LONG,     /* transfer exceeded its time cap */
	TFTP_END_LOCAL_ERROR,  /* server aborted (disk full, ...) */
};

struct tftp_timing {
	uint32_t retransmit_ms;   /* first retransmission; doubles per retry */
	uint32_t retransmit_max_ms;
	unsigned max_retries;
	uint64_t max_transfer_us; /* 0 = unbounded */
};

struct tftp_session;

/* A read session sends object bytes [0, size); a write session receives.
 * Returns NULL on allocation failure. */
struct tftp_session *tftp_session_new(bool is_write, const struct tftp_params *p,
				      uint64_t size, const struct tftp_timing *t);
void tftp_session_free(struct tftp_session *s);

/* First transmission: OACK when options were negotiated, else DATA 1 (RRQ)
 * or ACK 0 (WRQ). oack/oack_len from tftp_negotiate. */
void tftp_session_start(struct tftp_session *s, uint64_t now_us, const uint8_t *oack,
			size_t oack_len, struct tftp_output *out);
/* A datagram from the session's peer (TID already checked by the caller). */
void tftp_session_input(struct tftp_session *s, uint64_t now_us, const uint8_t *pkt,
			size_t len, struct tftp_output *out);
/* Timers: retransmission with backoff, give-up, transfer time cap. */
void tftp_session_tick(struct tftp_session *s, uint64_t now_us, struct tftp_output *out);
/* Server-side failure (e.g. disk full while writing): sends ERROR, ends. */
void tftp_session_abort(struct tftp_session *s, uint16_t code, const char *msg,
			struct tftp_output *out);

uint64_t tftp_session_deadline(const struct tftp_session *s); /* UINT64_MAX: none */
enum tftp_state tftp_session_state(const struct tftp_session *s);
enum tftp_end_reason tftp_session_end_reason(const struct tftp_session *s);
uint64_t tftp_session_bytes(const struct tftp_session *s);  /* acknowledged payload */
/* The client read the OACK and ended with error 8 before any data: the
 * tsize probe UEFI firmware makes before every download. */
bool tftp_session_was_probe(const struct tftp_session *s);
const struct tftp_params *tftp_session_params(const struct tftp_session *s);
const char *tftp_end_reason_name(enum tftp_end_reason r);


/* ---- the server: engine sessions over a transport and the content store ---- */

struct transport;
struct transport_meta;
struct store;
struct store_object;
struct net_addr;

/* Sending, shared by the TFTP and MTFTP servers (tftp_send.c): buffers
 * are pooled and held until the transport is done with them; DATA comes
 * from the store's pinned chunks, full blocks grouped into GSO sends. */
struct tftp_sender;

struct tftp_sender *tftp_sender_new(struct transport *t);
/* Waits for sends still in flight, then frees. */
void tftp_sender_free(struct tftp_sender *s);
void tftp_send_packet(struct tftp_sender *s, int sock, const struct net_addr *to,
		      const uint8_t *pkt, size_t len);
void tftp_send_error(struct tftp_sender *s, int sock, const struct net_addr *to, uint16_t code,
		     const char *msg);
/* DATA actions act[0..n) of obj to `to`. Returns the payload bytes
 * queued, or -errno when the object could not be read. */
int64_t tftp_send_data(struct tftp_sender *s, int sock, const struct net_addr *to,
		       struct store_object *obj, const struct tftp_action *act, unsigned n,
		       unsigned blksize);

/* Files made per request (a host's pxelinux.cfg/01-MAC, grub.cfg-01-MAC),
 * asked before the tree. Returns false when name is not such a file; true
 * with *body (malloc'd, the server takes it) and *len, or with *body NULL
 * when it is one but there is nothing for this client (file not found). */
typedef bool (*tftp_render_fn)(void *user, const char *name, size_t name_len, uint32_t peer_ip,
			       uint32_t local_ip, char **body, size_t *len);

struct tftp_server_config {
	uint32_t listen_ip;        /* network order */
	uint16_t listen_port;      /* network order */
	unsigned max_sessions;
	struct tftp_limits limits;
	struct tftp_timing timing;
	const char *upload_dir;    /* NULL: WRQ refused */
	tftp_render_fn render;     /* NULL: files only */
	void *render_user;
};

struct tftp_counters {
	uint64_t requests;          /* RRQ + WRQ accepted for processing */
	uint64_t sessions_active;
	uint64_t transfers_ok;
	uint64_t transfers_failed;
	uint64_t size_probes;       /* OACK read, then error 8 (UEFI tsize query) */
	uint64_t bytes_sent;
	uint64_t dropped_short;     /* 0-1 byte datagrams */
	uint64_t bad_requests;      /* malformed, answered with ERROR */
	uint64_t denied;            /* escape attempts, non-regular files */
	uint64_t not_found;
	uint64_t busy;              /* refused: max-sessions reached */
	uint64_t wrong_tid;         /* answered with error 5 */
	uint64_t duplicate_requests;
	uint64_t options_ignored;   /* malformed option values */
	uint64_t timeouts;
	uint64_t uploads;
};

struct tftp_server;

/* Opens the listening socket; NULL with errno on failure. */
struct tftp_server *tftp_server_new(struct transport *t, struct store *st,
				    const struct tftp_server_config *cfg);
void tftp_server_free(struct tftp_server *srv);
/* Apply new limits to later transfers (SIGHUP). Returns -errno when the
 * new upload directory cannot be opened (the old one is kept). */
int tftp_server_reconfigure(struct tftp_server *srv, const struct tftp_server_config *cfg);
/* Run due timers; returns the next deadline (UINT64_MAX: none). */
uint64_t tftp_server_tick(struct tftp_server *srv, uint64_t now_us);
void tftp_server_counters(const struct tftp_server *srv, struct tftp_counters *out);
/* RRQs carrying the RFC 2090 "multicast" option are offered to fn first
 * (the MTFTP server); when it returns false, or without fn, they are
 * served by unicast with the option left out of the OACK, as RFC 2090
 * allows. */
typedef bool (*tftp_multicast_fn)(void *ctx, const struct transport_meta *meta,
				  const struct tftp_request *req);
void tftp_server_set_multicast(struct tftp_server *srv, tftp_multicast_fn fn, void *ctx);
/* The request's option `name` (case-insensitive), or NULL. */
const char *tftp_request_option(const struct tftp_request *req, const char *name);

#endif
