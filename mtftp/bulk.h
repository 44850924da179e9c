/* The bulk stream: one object multicast to many receivers, slices protected
 * by a Reed-Solomon code (mtftp/rs.h), losses reported by NAK counts and
 * answered with new repair symbols.
 *
 * Codec over (buf, len), a sender engine and a receiver engine that know no
 * sockets and no files (DESIGN.md): packets and a clock in, actions and a
 * deadline out.
 *
 * Wire (big-endian), every packet starts with
 *   'P' 'B' version(1) type(1) session(4)
 * DATA     tag(4) slice(4) esi(2) burst(1) flags(1) seq(4) payload[symbol]
 * ANNOUNCE tag(4) size(8) sha256(32) symbol(2) k(1) state(1) nslices(4)
 *          rate_kbps(4) front(4) members(2) interleave(2) next_seq(4)
 * HELLO    receiver(4) tag(4)                     receiver -> sender, repeated
 * WELCOME  receiver(4)                            until WELCOME
 * NAK      receiver(4) loss_permille(2) overflows(2) seen_seq(4) base(4) count(2)
 *          missing[count](1 each); seen_seq: the last DATA the receiver took in
 * STATUS   receiver(4) slices_done(4) bytes(8) loss_permille(2) overflows(2)
 *          seen_seq(4)
 *          overflows (NAK, STATUS): times the receiver's socket dropped
 *          datagrams for want of room since its last report
 * DONE     receiver(4) result(1)                  repeated until DONE_ACK
 * DONE_ACK receiver(4)
 * FETCH    receiver(4, 0 = everyone not done) url_len(2) url[url_len]
 */
#ifndef PXECAST_MTFTP_BULK_H
#define PXECAST_MTFTP_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BULK_VERSION 3 /* 2: NAKs carry seen_seq, ANNOUNCE next_seq; 3: STATUS seen_seq */
#define BULK_HDR 8
#define BULK_DATA_HDR 24
#define BULK_ANNOUNCE_LEN 76
#define BULK_NAK_HDR 26
#define BULK_NAK_MAX 1024       /* slices in one NAK */
#define BULK_URL_MAX 255
#define BULK_CTL_MAX (BULK_NAK_HDR + BULK_NAK_MAX)
#define BULK_SYMBOL_MIN 16
#define BULK_SYMBOL_MAX 8192
#define BULK_SYMBOL_DEFAULT 1448 /* 24 + 1448 + 28 = 1500 */
#define BULK_K_DEFAULT 64
/* The first pass sends symbol i of `interleave` slices before symbol i+1 of
 * any, so a run of lost packets (a GSO batch of 16 lost whole on a software
 * bridge, a switch queue overflowing) costs each slice one symbol or so:
 * the worst of N receivers per slice, which the repairs must cover, then
 * grows slowly with N (1% loss, 32 receivers: 8,400 repairs for 256 MiB
 * against 35,000 unleaved). Receivers finish a stripe's slices all at once;
 * that burst of work overflowed the sockets of receivers short of CPU until
 * the rate followed how far behind they are (bench/README.md, "Interleave
 * width"). */
#define BULK_INTERLEAVE_DEFAULT 16
#define BULK_INTERLEAVE_MAX 256

enum bulk_type {
	BULK_DATA = 1,
	BULK_ANNOUNCE = 2,
	BULK_HELLO = 3,
	BULK_WELCOME = 4,
	BULK_NAK = 5,
	BULK_STATUS = 6,
	BULK_DONE = 7,
	BULK_DONE_ACK = 8,
	BULK_FETCH = 9,
};

enum bulk_data_flags {
	BULK_F_REPAIR = 1 << 0,   /* answers a NAK */
	BULK_F_CAROUSEL = 1 << 1, /* a late joiner's catch-up */
};

enum bulk_sender_state {
	BULK_SS_WAITING = 0,  /* announcing, collecting receivers */
	BULK_SS_RUNNING = 1,  /* first pass over the slices */
	BULK_SS_DRAINING = 2, /* repairs and carousel until receivers are done */
	BULK_SS_FINISHED = 3,
};

enum bulk_done_result {
	BULK_RESULT_OK = 0,
	BULK_RESULT_DIGEST = 1,  /* SHA-256 mismatch */
	BULK_RESULT_ERROR = 2,   /* local failure (write error) */
	BULK_RESULT_FETCHED = 3, /* completed over HTTP */
};

enum bulk_parse_status {
	BULK_PARSE_OK = 0,
	BULK_PARSE_SHORT,     /* shorter than its type's fixed part */
	BULK_PARSE_MAGIC,
	BULK_PARSE_VERSION,
	BULK_PARSE_TYPE,
	BULK_PARSE_FIELD,     /* a value out of its range */
	BULK_PARSE_LENGTH,    /* variable part disagrees with the length */
};

struct bulk_announce {
	uint32_t tag;
	uint64_t size;
	uint8_t sha256[32];
	uint16_t symbol;
	uint8_t k;
	uint8_t state;
	uint32_t nslices;
	uint32_t rate_kbps;
	uint32_t front;      /* slices below were sent in full (first pass) */
	uint16_t members;
	uint16_t interleave; /* slices sent together in the first pass, >= 1 */
	uint32_t next_seq;   /* the seq of the next DATA: all before it were sent */
};

struct bulk_packet {
	uint8_t type;
	uint32_t session;
	union {
		struct {
			uint32_t tag, slice, seq;
			uint16_t esi;
			uint8_t burst, flags;
			const uint8_t *payload;
			size_t len;
		} data;
		struct bulk_announce ann;
		struct { uint32_t receiver, tag; } hello;
		struct { uint32_t receiver; } welcome, done_ack;
		struct {
			uint32_t receiver, base, seen_seq;
			uint16_t loss_permille, overflows, count;
			const uint8_t *missing;
		} nak;
		struct {
			uint32_t receiver, slices_done;
			uint64_t bytes;
			uint16_t loss_permille, overflows;
			uint32_t seen_seq;
		} status;
		struct { uint32_t receiver; uint8_t result; } done;
		struct { uint32_t receiver; uint16_t url_len; const char *url; } fetch;
	} u;
};

enum bulk_parse_status bulk_parse(const uint8_t *buf, size_t len, struct bulk_packet *out);
const char *bulk_parse_strerror(enum bulk_parse_status st);
/* Slices of an object: ceil(size / (k * symbol)). */
uint32_t bulk_nslices(uint64_t size, unsigned k, unsigned symbol);
/* Source symbols in slice s (the last one may be shorter). */
unsigned bulk_slice_k(uint64_t size, unsigned k, unsigned symbol, uint32_t s);

/* Builders: each returns the length written, or 0 when cap is too small. */
size_t bulk_build_data_hdr(uint8_t *buf, size_t cap, uint32_t session, uint32_t tag,
			   uint32_t slice, uint16_t esi, uint8_t burst, uint8_t flags, uint32_t seq);
size_t bulk_build_announce(uint8_t *buf, size_t cap, uint32_t session,
			   const struct bulk_announce *a);
size_t bulk_build_hello(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			uint32_t tag);
size_t bulk_build_id(uint8_t *buf, size_t cap, uint8_t type, uint32_t session,
		     uint32_t receiver); /* WELCOME, DONE_ACK */
size_t bulk_build_nak(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
		      uint16_t loss_permille, uint16_t overflows, uint32_t seen_seq, uint32_t base,
		      uint16_t count, const uint8_t *missing);
size_t bulk_build_status(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			 uint32_t slices_done, uint64_t bytes, uint16_t loss_permille,
			 uint16_t overflows, uint32_t seen_seq);
size_t bulk_build_done(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
		       uint8_t result);
size_t bulk_build_fetch(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			const char *url);

/* ---- engines: what they ask their I/O wrapper to do ---- */

enum bulk_action_kind {
	BULK_ACT_GROUP,   /* send pkt[0..len) to the multicast group */
	BULK_ACT_UNICAST, /* send pkt[0..len) to `to` */
	BULK_ACT_DATA,    /* sender: pkt = DATA header; payload = symbol esi of slice */
	BULK_ACT_WRITE,   /* receiver: store data[0..len) at offset */
};

struct bulk_addr {
	uint32_t ip;   /* network order */
	uint16_t port; /* network order */
};

struct bulk_action {
	enum bulk_action_kind kind;
	struct bulk_addr to;
	uint32_t slice;
	uint16_t esi;
	uint16_t len;
	uint64_t offset;       /* WRITE */
	const uint8_t *data;   /* WRITE: valid until the next engine call */
	uint32_t write_len;    /* WRITE */
	uint8_t pkt[BULK_CTL_MAX];
};

#define BULK_ACTIONS_MAX 64

struct bulk_output {
	unsigned n;
	struct bulk_action act[BULK_ACTIONS_MAX];
};

/* ---- sender ---- */

struct bulk_sender_config {
	uint32_t session;
	uint64_t size;
	uint8_t sha256[32];
	uint16_t symbol;             /* payload bytes per symbol */
	uint8_t k;                   /* source symbols per slice */
	uint8_t proactive;           /* repair symbols sent with each slice */
	uint16_t interleave;         /* slices sent together in the first pass */
	uint8_t send_batch;          /* DATA leaves in runs of this many packets */
	uint64_t max_rate;           /* bytes per second on the wire */
	uint64_t min_rate;
	unsigned min_receivers;
	uint64_t max_wait_us;        /* start after this even with fewer */
	uint64_t deadline_us;        /* after the start: laggards fetch by HTTP; 0 = none */
	uint64_t member_timeout_us;  /* silent receivers are dropped */
	uint64_t announce_us;        /* ANNOUNCE period */
	unsigned loss_threshold_permille; /* AIMD: decrease above this */
	uint32_t lag_limit;          /* AIMD: decrease when a receiver is this many DATA behind */
	unsigned max_members;
	unsigned nak_per_second;     /* per receiver; beyond: dropped, counted */
	const char *fetch_url;       /* told to laggards; may be NULL */
};

void bulk_sender_defaults(struct bulk_sender_config *c);

struct bulk_sender_counters {
	uint64_t data_sent, source_sent, repair_sent, carousel_sent, bytes_sent;
	uint64_t ctl_sent, announces;
	uint64_t naks, nak_entries, nak_suppressed, nak_past_end, nak_early, nak_ratelimited;
	uint64_t bad_packets, truncated, unknown_session, nonmember, members_full;
	uint64_t joins, timeouts, fetch_told, done_ok, done_failed;
	uint64_t rate_decreases;
	uint64_t overflow_reports;   /* NAKs and STATUS naming socket overflows */
	uint64_t revived;            /* receivers heard again after their timeout */
	uint64_t lag_max;            /* most DATA a receiver was behind (seen_seq of NAK, STATUS) */
};

struct bulk_member_info {
	uint32_t id;
	struct bulk_addr addr;
	uint32_t slices_done;
	uint64_t bytes;
	uint16_t loss_permille;
	uint8_t state; /* enum bulk_member_state */
	uint8_t result;
	uint64_t naks;
};

enum bulk_member_state {
	BULK_M_ACTIVE,
	BULK_M_DONE,
	BULK_M_FETCH, /* told to fetch by HTTP */
	BULK_M_GONE,  /* timed out */
};

struct bulk_sender;

struct bulk_sender *bulk_sender_new(const struct bulk_sender_config *c, uint64_t now_us);
void bulk_sender_free(struct bulk_sender *s);
/* A datagram from `from` (to the sender's control socket). */
void bulk_sender_input(struct bulk_sender *s, uint64_t now_us, struct bulk_addr from,
		       const uint8_t *buf, size_t len, struct bulk_output *out);
/* Timers and as much DATA as the rate allows (at most BULK_ACTIONS_MAX). */
void bulk_sender_tick(struct bulk_sender *s, uint64_t now_us, struct bulk_output *out);
uint64_t bulk_sender_deadline(const struct bulk_sender *s);
enum bulk_sender_state bulk_sender_state(const struct bulk_sender *s);
const struct bulk_sender_counters *bulk_sender_counters(const struct bulk_sender *s);
uint64_t bulk_sender_rate(const struct bulk_sender *s);
unsigned bulk_sender_members(const struct bulk_sender *s);
bool bulk_sender_member(const struct bulk_sender *s, unsigned i, struct bulk_member_info *out);
const char *bulk_member_state_name(uint8_t st);

/* ---- receiver ---- */

struct bulk_receiver_config {
	uint32_t receiver;          /* random, nonzero */
	uint32_t session;           /* 0: the first announced */
	uint64_t hello_us;          /* HELLO/DONE repeat period */
	uint64_t nak_us;            /* NAK slot; the real period is random in [0.5, 1.5) x */
	uint64_t nak_holdoff_us;    /* after a NAK or an adequate repair */
	uint64_t status_us;
	uint64_t idle_timeout_us;   /* sender silent this long: fetch (or fail) */
	size_t max_buffer;          /* bytes of partial slices held; must fit a stripe */
	unsigned done_retries;
};

void bulk_receiver_defaults(struct bulk_receiver_config *c);

enum bulk_receiver_state {
	BULK_RX_LISTENING,  /* no ANNOUNCE yet */
	BULK_RX_RECEIVING,  /* joined or joining, collecting symbols */
	BULK_RX_VERIFY,     /* every byte written: the wrapper hashes the object */
	BULK_RX_FETCH,      /* fetch the missing ranges by HTTP, then bulk_receiver_fetched */
	BULK_RX_REPORTING,  /* sending DONE until DONE_ACK */
	BULK_RX_DONE,
	BULK_RX_FAILED,
};

struct bulk_receiver_counters {
	uint64_t packets, data, duplicates, useless, bad_packets, truncated, other_session;
	uint64_t naks_sent, nak_suppressed, hellos_sent, slices_decoded, buffer_full;
	uint64_t bytes_written, buffer_peak; /* bytes of partial slices held, at most */
};

struct bulk_receiver;

struct bulk_receiver *bulk_receiver_new(const struct bulk_receiver_config *c, uint64_t now_us);
void bulk_receiver_free(struct bulk_receiver *r);
void bulk_receiver_input(struct bulk_receiver *r, uint64_t now_us, struct bulk_addr from,
			 const uint8_t *buf, size_t len, struct bulk_output *out);
void bulk_receiver_tick(struct bulk_receiver *r, uint64_t now_us, struct bulk_output *out);
/* In VERIFY: the SHA-256 of what was written. Success or failure is
 * reported to the sender; the state goes to REPORTING. */
void bulk_receiver_verified(struct bulk_receiver *r, uint64_t now_us, const uint8_t sha[32],
			    struct bulk_output *out);
/* In FETCH: the missing ranges are now written; goes to VERIFY. */
void bulk_receiver_fetched(struct bulk_receiver *r);
/* Missing byte ranges, one slice at a time: slice index >= *cursor with
 * its range; false when none is left. */
bool bulk_receiver_next_missing(const struct bulk_receiver *r, uint32_t *cursor, uint64_t *off,
				uint64_t *len);
/* The receiving socket has dropped `total` datagrams for want of room since
 * it was opened (SO_RXQ_OVFL). The next NAK or STATUS tells the sender,
 * which slows down: this receiver cannot keep up. */
void bulk_receiver_socket_drops(struct bulk_receiver *r, uint32_t total);
uint64_t bulk_receiver_deadline(const struct bulk_receiver *r);
enum bulk_receiver_state bulk_receiver_state(const struct bulk_receiver *r);
const struct bulk_receiver_counters *bulk_receiver_counters(const struct bulk_receiver *r);
/* Bytes [0, n) are all written (slices complete from the start). */
uint64_t bulk_receiver_contiguous(const struct bulk_receiver *r);
/* The announced object (valid once past LISTENING). */
const struct bulk_announce *bulk_receiver_object(const struct bulk_receiver *r);
uint32_t bulk_receiver_slices_done(const struct bulk_receiver *r);
/* Why the session ended badly, or the URL FETCH named ("" when none). */
const char *bulk_receiver_message(const struct bulk_receiver *r);
const char *bulk_receiver_fetch_url(const struct bulk_receiver *r);
bool bulk_receiver_digest_ok(const struct bulk_receiver *r);

/* ---- the sender over a UDP socket (bulk_send_io.c) ---- */

struct store_object;

struct bulk_run_config {
	const char *name;          /* for progress lines and logs */
	uint32_t group_ip;         /* network order */
	uint16_t group_port;       /* network order */
	const char *ifname;        /* NULL: the routing table decides */
	unsigned ttl;
	bool loop;                 /* IP_MULTICAST_LOOP: receivers on this host */
	bool gso;                  /* DATA in UDP GSO batches (UDP_SEGMENT) */
	unsigned gso_segments;     /* packets per batch (a batch is lost whole
				    * where loss is per frame before segmentation) */
	unsigned progress_ms;      /* per-receiver progress on stderr; 0: none */
	uint64_t linger_us;        /* after the end, keep acknowledging DONE */
	struct bulk_sender_config engine;
};

/* Run one session in the foreground until it finishes. Returns 0 when
 * every receiver that joined reported success (by multicast or HTTP), 1
 * when some failed or timed out or nobody joined, -errno on a socket or
 * store error. */
int bulk_send_run(const struct bulk_run_config *rc, struct store_object *obj);

#endif
