/* Inside the MTFTP server: shared by mtftp_server.c (requests, transfers)
 * and mtftp_reload.c (SIGHUP). Not public API. */
#ifndef PXECAST_MTFTP_MTFTP_SERVER_PRIVATE_H
#define PXECAST_MTFTP_MTFTP_SERVER_PRIVATE_H

#include "mtftp/mtftp.h"

#include "dataplane/timer_heap.h"

#define GROUPS_MAX 4096

/* The part of [mtftp] a running transfer depends on, besides its file's
 * group: a transfer keeps taking clients while these stay the same. */
struct mtftp_settings {
	uint32_t group_first;
	unsigned group_count;
	uint16_t port;
	uint8_t ttl;
	uint16_t window;
	uint16_t max_blksize;
	unsigned max_clients;
	uint32_t retransmit_ms, retransmit_max_ms;
	unsigned max_retries;
	uint32_t pxe_listen_ip;
	uint16_t pxe_client_port;
};

struct xfer {
	struct mtftp_server *srv;
	struct mtftp_xfer *eng;
	struct timer_node timer;
	int sock;
	struct store_object *obj;
	int pxe;                 /* index in cfg.pxe, -1 for RFC 2090 */
	int group_slot;          /* pool slot, -1 when its group is not in the pool */
	bool retired;            /* started under settings a reload replaced: it
				  * serves its clients to the end, takes no new one */
	struct mtftp_settings settings;
	char name[TFTP_MAX_NAME + 1];
	char logname[96];
	uint64_t started_us;
	struct xfer *next;
};

struct mtftp_server {
	struct transport *t;
	struct store *store;
	struct tftp_server *tftp;
	struct mtftp_server_config cfg;
	struct tftp_sender *tx;
	int pxe_sock;
	struct timer_heap timers;
	struct xfer *xfers;
	uint8_t group_used[GROUPS_MAX];
	struct mtftp_counters c;   /* c.s: transfers that ended */
};

/* mtftp_server.c */
int mtftp_pxe_socket_open(struct mtftp_server *srv, const struct mtftp_server_config *cfg);
/* Take RFC 2090 requests from the TFTP server, or stop. */
void mtftp_hook_tftp(struct mtftp_server *srv, bool on);

/* mtftp_reload.c */
struct mtftp_settings mtftp_settings_of(const struct mtftp_server_config *cfg);

#endif
