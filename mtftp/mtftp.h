/* Multicast TFTP: one transfer of a file to every client that asks for
 * it, on a multicast group, in the two dialects boot ROMs speak:
 *
 * - RFC 2090 (iPXE's tftm://): the RRQ on the TFTP port carries the
 *   "multicast" option; each client gets an OACK with
 *   multicast=addr,port,mc. One client, the master (mc=1), ACKs; the
 *   others listen. When the master finishes or goes silent the server
 *   promotes the next client with a unicast OACK mc=1, and that client
 *   ACKs the first block it is missing, so the server goes back for it.
 * - PXE MTFTP (PXE 2.1): clients learn the group, ports and timeouts from
 *   DHCP option 43 and listen first; the one that hears nothing opens with
 *   a plain RRQ on the MTFTP server port and becomes master: the first
 *   block goes to it by unicast (so it knows) and to the group. A client
 *   that missed blocks opens again when the transfer ends: a new cycle.
 *
 * The engine (mtftp_session.c) knows no sockets, like the TFTP one: a
 * transfer takes requests, packets and a clock and says what to send, to
 * whom, and when it next wants to be woken. The server (mtftp_server.c)
 * wires it to the transport, the content store and the TFTP server.
 */
#ifndef PXECAST_MTFTP_MTFTP_H
#define PXECAST_MTFTP_MTFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/tftp/tftp.h"
#include "dataplane/transport.h"

/* Block numbers are 16-bit and never roll over: iPXE places a multicast
 * block by the 64k range of its own first gap, so listeners at different
 * points of a larger file would misplace data. Larger files are served
 * by unicast TFTP. */
#define MTFTP_MAX_BLOCKS 65535u
#define MTFTP_WINDOW_MAX 32
#define MTFTP_ACTIONS_MAX (2 * MTFTP_WINDOW_MAX + 2) /* a deaf master's copies */
#define MTFTP_OACK_BASE_MAX 64   /* a client's blksize/tsize part of the OACK */
#define MTFTP_PROMOTE_TRIES 3    /* OACK mc=1 sent this often before moving on */
#define MTFTP_FAST_RETRANSMIT 3  /* duplicate ACKs that resend the missing block */
#define MTFTP_PROMOTE_ROUNDS 2   /* promotions a client may leave unanswered */

/* ---- codec (mtftp_codec.c) ---- */

/* Append the multicast option "addr,port,mc" to an OACK holding a client's
 * other options (base, starting with the OACK opcode). Returns the length,
 * 0 when it does not fit cap. */
size_t mtftp_build_oack(uint8_t *out, size_t cap, const uint8_t *base, size_t base_len,
			const struct net_addr *group, bool master);

/* Parse an OACK multicast value "addr,port,mc" as iPXE does: addr and port
 * may be empty (a promotion that keeps the group); mc is 0 or 1. Returns 0,
 * or -1 when malformed. ip and port in network order, 0 when empty. */
int mtftp_parse_multicast(const char *value, size_t len, struct net_addr *group, bool *master);

/* ---- one transfer: the engine (mtftp_session.c) ---- */

enum mtftp_mode { MTFTP_MODE_RFC2090, MTFTP_MODE_PXE };

struct mtftp_params {
	enum mtftp_mode mode;
	uint16_t blksize;
	uint16_t window;         /* blocks in flight past the master's ACK, 1..MTFTP_WINDOW_MAX */
	uint64_t size;           /* at most MTFTP_MAX_BLOCKS blocks */
	struct net_addr group;   /* where DATA goes */
	unsigned max_clients;    /* RFC 2090 client list cap */
	uint32_t keepalive_ms;   /* RFC 2090: an OACK "multicast=,,0" to every listener
				  * this often (0: never), see mtftp_session.c */
};

/* What to send: TFTP_ACT_PACKET is ctl[0..ctl_len) (one packet per call,
 * possibly to several clients), TFTP_ACT_DATA an object block; each to
 * to[i] (the group, or a client). */
struct mtftp_output {
	unsigned n;
	struct tftp_action act[MTFTP_ACTIONS_MAX];
	struct net_addr to[MTFTP_ACTIONS_MAX];
	uint8_t ctl[TFTP_OACK_MAX];
	size_t ctl_len;
};

/* Every packet the engine did not act on is counted under one reason. */
struct mtftp_stats {
	uint64_t blocks_sent;
	uint64_t bytes_sent;
	uint64_t retransmits;        /* blocks sent again (timeout or duplicate ACKs) */
	uint64_t deaf_masters;       /* masters that got their blocks by unicast too */
	uint64_t promotions;         /* a listener made master */
	uint64_t masters_done;       /* masters that ACKed the last block */
	uint64_t masters_lost;       /* masters dropped: silent through the retries, or ERROR */
	uint64_t dropped_not_member; /* ACK or ERROR from an address not in the transfer */
	uint64_t dropped_not_master; /* ACK from a listener */
	uint64_t dropped_past_end;   /* ACK beyond the last block */
	uint64_t dropped_malformed;  /* truncated, or an opcode a client never sends here */
	uint64_t opens_ignored;      /* PXE open while a live master is served */
};

struct mtftp_xfer;

/* NULL on allocation failure or invalid parameters (size over
 * MTFTP_MAX_BLOCKS blocks, blksize under 8). Timing: retransmit_ms,
 * doubling to retransmit_max_ms, max_retries for a master that stopped
 * ACKing; max_transfer_us is not used (a shared transfer runs as long as
 * clients keep coming). */
struct mtftp_xfer *mtftp_xfer_new(const struct mtftp_params *p, const struct tftp_timing *t);
void mtftp_xfer_free(struct mtftp_xfer *x);

/* RFC 2090: a client's RRQ. oack/oack_len: its negotiated options
 * (tftp_negotiate, at this transfer's blksize); the engine appends the
 * multicast option. The first client, or any while the master does not
 * answer, becomes master. A client already listed (its OACK was lost) is
 * answered again. Returns false when the list is full. */
bool mtftp_xfer_join(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *client,
		     const uint8_t *oack, size_t oack_len, struct mtftp_output *out);
/* PXE: an open (RRQ on the MTFTP port). With no master, or one that stopped
 * answering, the opener becomes master and block 1 goes to it and to the
 * group. Returns false when ignored (a live master is being served). */
bool mtftp_xfer_open(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *client,
		     struct mtftp_output *out);
/* A datagram on the transfer's port (ACK or ERROR from a client). */
void mtftp_xfer_input(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *from,
		      const uint8_t *pkt, size_t len, struct mtftp_output *out);
/* Timers: retransmission, promotion retries, dropping a silent master. */
void mtftp_xfer_tick(struct mtftp_xfer *x, uint64_t now_us, struct mtftp_output *out);

uint64_t mtftp_xfer_deadline(const struct mtftp_xfer *x); /* UINT64_MAX: none */
/* Nobody is left to serve: the server frees the transfer. */
bool mtftp_xfer_finished(const struct mtftp_xfer *x);
unsigned mtftp_xfer_clients(const struct mtftp_xfer *x);
/* The master's address, or NULL when there is none. */
const struct net_addr *mtftp_xfer_master(const struct mtftp_xfer *x);
const struct mtftp_stats *mtftp_xfer_stats(const struct mtftp_xfer *x);
const struct mtftp_params *mtftp_xfer_params(const struct mtftp_xfer *x);

/* ---- the server (mtftp_server.c) ---- */

#define MTFTP_PXE_FILES_MAX 16
#define MTFTP_PXE_NAME_MAX 128

struct mtftp_pxe_file {
	char name[MTFTP_PXE_NAME_MAX];
	uint32_t group;              /* network order */
};

/* [mtftp] in pxecast.conf (appliance/config_mtftp.c). */
struct mtftp_server_config {
	bool enabled;
	/* RFC 2090 */
	uint32_t group_first;        /* pool of groups, network order */
	unsigned group_count;
	uint16_t port;               /* data port on the group, network order */
	uint8_t ttl;
	uint16_t window;
	uint16_t max_blksize;
	unsigned max_clients;        /* per transfer */
	struct tftp_timing timing;
	/* PXE MTFTP: off without files */
	uint32_t pxe_listen_ip;      /* network order */
	uint16_t pxe_server_port;    /* MTFTP-SPORT, network order */
	uint16_t pxe_client_port;    /* MTFTP-CPORT, network order */
	uint8_t pxe_open_timeout;    /* MTFTP-TMOUT, seconds */
	uint8_t pxe_reopen_delay;    /* MTFTP-DELAY, seconds */
	unsigned npxe;
	struct mtftp_pxe_file pxe[MTFTP_PXE_FILES_MAX];
};

struct mtftp_counters {
	uint64_t requests;           /* RFC 2090 RRQs taken */
	uint64_t pxe_opens;          /* PXE open requests taken */
	uint64_t transfers_started;
	uint64_t transfers_active;
	uint64_t unicast_fallbacks;  /* left to unicast TFTP: too large, netascii, no group, full */
	uint64_t unknown_files;      /* not in the store, or not a PXE MTFTP file */
	uint64_t bad_requests;       /* malformed on the PXE port */
	struct mtftp_stats s;        /* summed over all transfers */
};

struct mtftp_server;
struct store;

/* Takes RFC 2090 requests from tftp (through its multicast hook) and, with
 * PXE files configured, listens on the MTFTP server port. NULL with errno. */
struct mtftp_server *mtftp_server_new(struct transport *t, struct store *st,
				      struct tftp_server *tftp,
				      const struct mtftp_server_config *cfg);
void mtftp_server_free(struct mtftp_server *srv);
/* SIGHUP (mtftp_reload.c): new requests get cfg's settings (none when
 * cfg->enabled is false: RFC 2090 requests go to unicast TFTP, the PXE
 * port closes); running transfers finish on their own. Returns 0, or a
 * negative errno (the new PXE port cannot be opened) with nothing changed. */
int mtftp_server_reconfigure(struct mtftp_server *srv, const struct mtftp_server_config *cfg);
/* Run due timers; returns the next deadline (UINT64_MAX: none, or srv NULL). */
uint64_t mtftp_server_tick(struct mtftp_server *srv, uint64_t now_us);
void mtftp_server_counters(const struct mtftp_server *srv, struct mtftp_counters *out);
/* Prometheus lines pxecast_mtftp_*; nothing when srv is NULL. */
void mtftp_server_write_metrics(const struct mtftp_server *srv, FILE *f);

/* The group of a PXE MTFTP file (as DHCP advertises it), 0 when none. */
uint32_t mtftp_pxe_group(const struct mtftp_server_config *cfg, const char *name);

#endif
